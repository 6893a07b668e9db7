/* posprobe summarize: statistics over seeds for every run under a directory. */
#ifndef POSPROBE_SUMMARIZE_H
#define POSPROBE_SUMMARIZE_H

#include <stddef.h>

#include "errors.h"

/* Reads every run directory below dir (a directory with config.csv), and
 * writes dir/summary.csv (per group and length), dir/horizons.csv (per group)
 * and dir/runs.csv (one row per run with its status). Unreadable or partial
 * runs are listed in runs.csv and on stderr, never averaged in; so is a
 * second run of one setting and seed (status duplicate, counted nowhere). With
 * fitted_only, finished runs that did not fit their training lengths
 * (summary.csv fitted = 0) are counted per group (n_not_fitted), never
 * averaged in: an extrapolation measure of a model that never learned its
 * task says nothing about its encoding. ERR_USAGE when dir is not a
 * directory or holds no run, ERR_IO when an output cannot be written. */
err_kind summarize_run(const char *dir, int quiet, int fitted_only, char *err, size_t errlen);

#endif
