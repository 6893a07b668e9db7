/* posprobe summarize: statistics over seeds for every run under a directory. */
#ifndef POSPROBE_SUMMARIZE_H
#define POSPROBE_SUMMARIZE_H

#include <stddef.h>

/* Reads every run directory below dir (a directory with config.csv), and
 * writes dir/summary.csv (per group and length), dir/horizons.csv (per group)
 * and dir/runs.csv (one row per run with its status). Unreadable or partial
 * runs are listed in runs.csv and on stderr, never averaged in. */
int summarize_run(const char *dir, int quiet, char *err, size_t errlen);

#endif
