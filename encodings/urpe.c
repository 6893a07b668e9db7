/* URPE (Luo et al. 2022; 9105 remedy A): O = (A (.) C) V
 * with a learned Toeplitz C per head and layer, c_ij = g(clip(i - j)),
 * starting near 1 (plain attention). Rows of A (.) C need not sum to 1. */
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "relpos.h"

typedef struct {
    clip_range clip;
    tensor **g;          /* (L) (H, R) */
    int L;
    double init_scale;
} urpe_state;

static void *urpe_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    urpe_state *s = xcalloc(1, sizeof *s);
    s->clip = (clip_range){d->opt.clip_min, d->opt.clip_max};
    s->g = xcalloc((size_t)d->L, sizeof *s->g);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.toeplitz", l);
        s->g[l] = params_declare(ps, name, 2, (int[]){d->H, s->clip.hi - s->clip.lo + 1}, INIT_CUSTOM, 0, 0);
    }
    s->L = d->L;
    s->init_scale = d->opt.init_scale;
    return s;
}

/* g starts at 1 + noise: near plain attention, but not exactly, so a random
 * model already shows what the Toeplitz factor can do. */
static void urpe_init(void *st, gsl_rng *r) {
    urpe_state *s = st;
    for (int l = 0; l < s->L; l++)
        for (size_t i = 0; i < s->g[l]->n; i++) s->g[l]->data[i] = (real)(1 + gsl_ran_gaussian(r, s->init_scale));
}

static tensor *urpe_values(void *st, graph *g, int layer, tensor *A, tensor *v, const positions *pos) {
    urpe_state *s = st;
    tensor *C = op_gather_offsets(g, s->g[layer], relpos_index(g, pos, relpos_clip, &s->clip), pos->Tq, pos->T); /* (H, Tq, S) */
    return op_bmm(g, op_mul(g, A, C), v, 0, 0);                         /* (A (.) C) V, C tiled over the batch */
}

static void urpe_free(void *st) {
    free(((urpe_state *)st)->g);
    free(st);
}

const encoding_def enc_urpe = {
    .name = "urpe",
    .options = "clip-min clip-max",
    .summary = "URPE: attention reweighted by a learned Toeplitz matrix after the normalizer, O = (A .* C) V",
    .where = ENC_AT_VALUES,
    .flags = ENC_RELATIVE | ENC_VALUE_SIDE,
    .create = urpe_create,
    .init = urpe_init,
    .values = urpe_values,
    .destroy = urpe_free,
};
