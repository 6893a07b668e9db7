/* TUPE-style absolute positions inside the logits only (Ke et al. 2021):
 * a bias (p_i U_Q)(p_j U_K)^T / sqrt(D) per head from a learned table p shared
 * by the layers and per-layer U_Q, U_K. Absolute information, yet only in the
 * logits: 9105's argument still blocks the probe (derived). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "encoding.h"

typedef struct {
    tensor *table;             /* (max_pos, C) */
    tensor **uq, **uk;         /* (L) (C, C) */
    int C, H, D;
} tupe_state;

static void *tupe_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    tupe_state *s = xcalloc(1, sizeof *s);
    s->C = d->C; s->H = d->H; s->D = d->D;
    s->table = params_declare(ps, "enc.pos", 2, (int[]){d->max_pos, d->C}, INIT_NORMAL, d->opt.init_scale, 0);
    s->uq = xcalloc((size_t)d->L, sizeof *s->uq);
    s->uk = xcalloc((size_t)d->L, sizeof *s->uk);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.u_q", l);
        s->uq[l] = params_declare(ps, name, 2, (int[]){d->C, d->C}, INIT_NORMAL, d->opt.init_scale, 1);
        snprintf(name, sizeof name, "enc.block%d.u_k", l);
        s->uk[l] = params_declare(ps, name, 2, (int[]){d->C, d->C}, INIT_NORMAL, d->opt.init_scale, 1);
    }
    return s;
}

static tensor *tupe_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    tupe_state *s = st;
    (void)q; (void)k;
    int Tq = pos->Tq, S = pos->T;
    tensor *p = op_embedding(g, s->table, pos->p, S);                                  /* (S, C) */
    /* the query rows' own embeddings; over all rows p itself (one node, so training's tape is unchanged) */
    tensor *p_q = Tq == S ? p : op_embedding(g, s->table, pos->p + pos->q0, Tq);       /* (Tq, C) */
    tensor *pq = op_split_heads(g, op_reshape(g, op_linear(g, p_q, s->uq[layer], NULL), 3, (int[]){1, Tq, s->C}), s->H);
    tensor *pk = op_split_heads(g, op_reshape(g, op_linear(g, p, s->uk[layer], NULL), 3, (int[]){1, S, s->C}), s->H);
    return op_scale(g, op_bmm(g, pq, pk, 0, 1), (real)(1 / sqrt((double)s->D)));       /* (H, Tq, S) */
}

static void tupe_free(void *st) {
    tupe_state *s = st;
    free(s->uq); free(s->uk);
    free(s);
}

const encoding_def enc_tupe = {
    .name = "tupe",
    .summary = "TUPE-like: absolute positions only inside the logits, (p_i U_Q)(p_j U_K)^T",
    .where = ENC_AT_LOGITS,
    .flags = ENC_TABLE,
    .create = tupe_create,
    .scores = tupe_scores,
    .destroy = tupe_free,
};
