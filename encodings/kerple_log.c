/* KERPLE-log (Chi et al. 2022): a conditionally positive definite kernel of
 * the distance as the bias, with learned per-head r1, r2 kept in their valid
 * ranges (see op_distance_kernel). Starts at r1 = r2 = 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    tensor **raw;        /* (L) per-layer (H, 2) */
    int H, L;
} kerple_state;

static void *kerple_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    kerple_state *s = calloc(1, sizeof *s);
    s->H = d->H;
    s->L = d->L;
    s->raw = calloc((size_t)d->L, sizeof *s->raw);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.kerple", l);
        s->raw[l] = params_declare(ps, name, 2, (int[]){d->H, 2}, INIT_CUSTOM, 0, 0);
    }
    return s;
}

static void kerple_init(void *st, gsl_rng *r) {
    kerple_state *s = st;
    (void)r;
    for (int l = 0; l < s->L; l++)
        for (int h = 0; h < s->H; h++) {
            s->raw[l]->data[2 * h] = (real)log(expm1(1.0));                          /* r1 = softplus(raw) = 1 */
            s->raw[l]->data[2 * h + 1] = (real)log(expm1(1.0));                     /* r2 = softplus(raw) = 1 */
        }
}

static tensor *kerple_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    kerple_state *s = st;
    (void)q; (void)k;
    return op_distance_kernel(g, s->raw[layer], pos, KERNEL_LOG);                     /* (H, T, T) */
}

static void kerple_free(void *st) {
    free(((kerple_state *)st)->raw);
    free(st);
}

const encoding_def enc_kerple_log = {
    .name = "kerple-log",
    .summary = "KERPLE logarithmic: -r1 log(1 + r2 |i-j|), learned r1, r2 > 0 per head",
    .where = "logits",
    .flags = ENC_RELATIVE,
    .create = kerple_create,
    .init = kerple_init,
    .scores = kerple_scores,
    .destroy = kerple_free,
};
