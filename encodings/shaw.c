/* Shaw et al. 2018 (NEZHA; 8130 (e)): clipped relative keys AND values,
 *   a_ij = softmax(q_i . (k_j + R^K_ij) / sqrt(D)),  o_i = sum_j a_ij (v_j + R^V_ij),
 *   R_ij = p[clip(i - j, clip-min, clip-max)], tables shared by the heads of a layer.
 * The value term is what 9105 exempts from the flaw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    clip_range clip;
    tensor **pk, **pv;   /* (L) tables (1, R, D) */
    int D;
} shaw_state;

static void *shaw_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    shaw_state *s = xcalloc(1, sizeof *s);
    s->clip = (clip_range){d->opt.clip_min, d->opt.clip_max};
    s->D = d->D;
    int R = s->clip.hi - s->clip.lo + 1;
    s->pk = xcalloc((size_t)d->L, sizeof *s->pk);
    s->pv = xcalloc((size_t)d->L, sizeof *s->pv);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.rel_k", l);
        s->pk[l] = params_declare(ps, name, 3, (int[]){1, R, d->D}, INIT_NORMAL, d->opt.init_scale, 0);
        snprintf(name, sizeof name, "enc.block%d.rel_v", l);
        s->pv[l] = params_declare(ps, name, 3, (int[]){1, R, d->D}, INIT_NORMAL, d->opt.init_scale, 0);
    }
    return s;
}

static tensor *shaw_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    shaw_state *s = st;
    (void)k;
    const int *idx = relpos_index(g, pos, relpos_clip, &s->clip);
    return op_rel_scores(g, q, s->pk[layer], idx, pos->T, (real)(1 / sqrt((double)s->D)));   /* (P, Tq, S) */
}

static tensor *shaw_values(void *st, graph *g, int layer, tensor *A, tensor *v, const positions *pos) {
    shaw_state *s = st;
    const int *idx = relpos_index(g, pos, relpos_clip, &s->clip);
    return op_add(g, op_bmm(g, A, v, 0, 0), op_rel_values(g, A, s->pv[layer], idx));  /* (P, Tq, D) */
}

static void shaw_free(void *st) {
    shaw_state *s = st;
    free(s->pk);
    free(s->pv);
    free(s);
}

const encoding_def enc_shaw = {
    .name = "shaw",
    .options = "clip-min clip-max",
    .summary = "Shaw et al.: clipped relative keys and values (--clip-min, --clip-max); not blocked by 9105",
    .where = ENC_AT_LOGITS_VALUES,
    .flags = ENC_RELATIVE | ENC_VALUE_SIDE,
    .create = shaw_create,
    .scores = shaw_scores,
    .values = shaw_values,
    .destroy = shaw_free,
};
