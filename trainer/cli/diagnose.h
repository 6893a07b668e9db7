/* posprobe diagnose: article 9105's argument checked numerically, without
 * training. A constant input ([0]*n, optionally with markers) goes through
 * randomly initialised models; we measure how far apart the positions' final
 * hidden states are. */
#ifndef POSPROBE_DIAGNOSE_H
#define POSPROBE_DIAGNOSE_H

#include <stddef.h>

#include "config.h"
#include "errors.h"

typedef struct diag_result {
    double spread_min, spread_max;  /* over seeds: max_i ||h_i - mean h|| / max_i ||h_i|| */
    double mirror_max;              /* over seeds: max_i ||h_i - h_{n+1-i}|| / max_i ||h_i|| */
    const char *verdict;            /* indistinguishable | mirror-tied | distinguishable | mixed */
} diag_result;

/* Relative differences below this are rounding. */
double diagnose_tolerance(void);

/* -1 with a message in err when the configuration cannot run (a usage error). */
int diagnose_one(const run_config *c, int seeds, diag_result *out, char *err, size_t errlen);

/* The verdict that follows from the symmetry argument (docs/articles.md),
 * or NULL where the argument predicts nothing. */
const char *diagnose_expected(const run_config *c);

/* One configuration, or with all != 0 every encoding x normalizer x mask x
 * markers, as CSV to out_path (stdout when NULL), with progress on stderr
 * (unless c->quiet). After run_install_signal_handlers, SIGINT or SIGTERM stop
 * it after the current model: ERR_INTERRUPTED, the output file not written
 * (its temporary file removed), the reason in err. ERR_USAGE when a
 * configuration cannot run (checked before any output), ERR_IO when the
 * output cannot be written. */
err_kind diagnose_run(const run_config *c, int all, int seeds, const char *out_path, char *err, size_t errlen);

#endif
