/* DeBERTa (He et al. 2021; 8130 (h)): content-to-position and
 * position-to-content terms with clipped offsets,
 *   q_i.k_j + q_i.Kr[d(i,j)] + k_j.Qr[d(j,i)],  d(i,j) = clip(i - j),
 * Kr = P W_Kr and Qr = P W_Qr per layer from one shared relative table P,
 * each term scaled by 1/sqrt(D). Logits only (no EMD absolute layers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    clip_range clip;
    tensor *table;             /* (R, C) shared relative embeddings */
    tensor **w_kr, **w_qr;     /* (L) (C, C) */
    int C, H, D;
} deberta_state;

static void *deberta_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    deberta_state *s = xcalloc(1, sizeof *s);
    s->clip = (clip_range){d->opt.clip_min, d->opt.clip_max};
    s->C = d->C; s->H = d->H; s->D = d->D;
    int R = s->clip.hi - s->clip.lo + 1;
    s->table = params_declare(ps, "enc.rel_table", 2, (int[]){R, d->C}, INIT_NORMAL, d->opt.init_scale, 0);
    s->w_kr = xcalloc((size_t)d->L, sizeof *s->w_kr);
    s->w_qr = xcalloc((size_t)d->L, sizeof *s->w_qr);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.w_kr", l);
        s->w_kr[l] = params_declare(ps, name, 2, (int[]){d->C, d->C}, INIT_NORMAL, d->opt.init_scale, 1);
        snprintf(name, sizeof name, "enc.block%d.w_qr", l);
        s->w_qr[l] = params_declare(ps, name, 2, (int[]){d->C, d->C}, INIT_NORMAL, d->opt.init_scale, 1);
    }
    return s;
}

/* (R, C) W (C, C) -> (H, R, D) */
static tensor *project_heads(deberta_state *s, graph *g, tensor *w) {
    int R = s->table->shape[0];
    tensor *r = op_linear(g, s->table, w, NULL);
    return op_split_heads(g, op_reshape(g, r, 3, (int[]){1, R, s->C}), s->H);
}

static tensor *deberta_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    deberta_state *s = st;
    const int *idx = relpos_index(g, pos, relpos_clip, &s->clip);      /* (Tq, S): clip(p_i - p_j) */
    /* (S, Tq): clip(p_j - p_i); over all rows it is idx itself */
    const int *idx_k = pos->Tq == pos->T ? idx : relpos_index_keys(g, pos, relpos_clip, &s->clip);
    real scale = (real)(1 / sqrt((double)s->D));
    tensor *c2p = op_rel_scores(g, q, project_heads(s, g, s->w_kr[layer]), idx, pos->T, scale);      /* [i, j] */
    tensor *p2c = op_transpose(g, op_rel_scores(g, k, project_heads(s, g, s->w_qr[layer]), idx_k, pos->Tq,
                                                scale));                                            /* [j, i] -> [i, j] */
    return op_add(g, c2p, p2c);
}

static void deberta_free(void *st) {
    deberta_state *s = st;
    free(s->w_kr); free(s->w_qr);
    free(s);
}

/* Content-to-position and position-to-content scores beside the content scores. */
static double deberta_step_reals(const enc_dims *d, int B, int T) { return 8.0 * B * d->H * T * T; }

const encoding_def enc_deberta = {
    .name = "deberta",
    .options = "clip-min clip-max",
    .summary = "DeBERTa: content-to-position and position-to-content terms, clipped offsets (logits only)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_READS_KEYS | ENC_DIRECTIONAL,
    .create = deberta_create,
    .scores = deberta_scores,
    .destroy = deberta_free,
    .step_reals = deberta_step_reals,
};
