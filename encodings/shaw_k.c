/* Shaw et al. with relative keys only: q_i . (k_j + R^K_ij). Position enters
 * only the logits, so 9105's argument applies (claim R1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    clip_range clip;
    tensor **pk;         /* (L) tables (1, R, D) */
    int D;
} shaw_k_state;

static void *shaw_k_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    shaw_k_state *s = xcalloc(1, sizeof *s);
    s->clip = (clip_range){d->opt.clip_min, d->opt.clip_max};
    s->D = d->D;
    s->pk = xcalloc((size_t)d->L, sizeof *s->pk);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.rel_k", l);
        s->pk[l] = params_declare(ps, name, 3, (int[]){1, s->clip.hi - s->clip.lo + 1, d->D}, INIT_NORMAL,
                                  d->opt.init_scale, 0);
    }
    return s;
}

static tensor *shaw_k_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    shaw_k_state *s = st;
    (void)k;
    return op_rel_scores(g, q, s->pk[layer], relpos_index(g, pos, relpos_clip, &s->clip), pos->T,
                         (real)(1 / sqrt((double)s->D)));                                     /* (P, Tq, S) */
}

static void shaw_k_free(void *st) {
    free(((shaw_k_state *)st)->pk);
    free(st);
}

const encoding_def enc_shaw_k = {
    .name = "shaw-k",
    .options = "clip-min clip-max",
    .summary = "Shaw et al. with relative keys only (logits only: blocked by 9105)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_DIRECTIONAL,
    .create = shaw_k_create,
    .scores = shaw_k_scores,
    .destroy = shaw_k_free,
};
