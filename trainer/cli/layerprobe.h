/* posprobe layerprobe (Haviv et al. 2022): where in the network does absolute
 * position appear? A softmax classifier of the token's absolute position is
 * fitted on each layer's hidden states of the frozen model. */
#ifndef POSPROBE_LAYERPROBE_H
#define POSPROBE_LAYERPROBE_H

#include <stddef.h>

#include "config.h"
#include "errors.h"

typedef struct layerprobe_opts {
    int_list lens;       /* task lengths (empty: the run's evaluation lengths) */
    int train_size;      /* sequences per length to fit on */
    int test_size;       /* held-out sequences per length */
    int steps;           /* optimizer steps of the classifier */
    long seed;           /* data seed (-1: derived from the run's seed) */
    int quiet;           /* no progress on stderr (else shown over the layers after 3 s) */
} layerprobe_opts;

void layerprobe_defaults(layerprobe_opts *o);
/* CSV rows (run_id, layer, length, probe_acc, mean_abs_dist, n_tokens) to
 * out_path, or stdout when NULL. ERR_USAGE when the checkpoint cannot take the
 * lengths, ERR_IO when it cannot be read (or is too large) or the output
 * cannot be written. */
err_kind layerprobe_run(const char *dir, const layerprobe_opts *o, const char *out_path, char *err, size_t errlen);

#endif
