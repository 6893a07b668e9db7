/* Transformer-XL (8130 (f)): logits
 *   q_i.k_j + q_i.(W_KR R_{i-j}) + u.k_j + v.(W_KR R_{i-j}),
 * R the untruncated sinusoid of the offset, W_KR a per-layer projection, u, v
 * learned per head. Implemented as (q_i + u).k_j + (q_i + u + w).RK_{i-j}
 * with w = v - u: the rotate hook adds u to q, the scores hook adds w. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    tensor **w_kr, **u, **w;   /* (L): (C, C), (H, 1, D), (H, 1, D) */
    int C, H, D;
    double base;
    rope_schedule sched;
} xl_state;

static void *xl_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    xl_state *s = xcalloc(1, sizeof *s);
    s->C = d->C; s->H = d->H; s->D = d->D;
    s->base = d->opt.rope_base;
    s->sched = d->opt.rope_schedule;
    s->w_kr = xcalloc((size_t)d->L, sizeof *s->w_kr);
    s->u = xcalloc((size_t)d->L, sizeof *s->u);
    s->w = xcalloc((size_t)d->L, sizeof *s->w);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.w_kr", l);
        s->w_kr[l] = params_declare(ps, name, 2, (int[]){d->C, d->C}, INIT_NORMAL, d->opt.init_scale, 1);
        snprintf(name, sizeof name, "enc.block%d.u", l);
        s->u[l] = params_declare(ps, name, 3, (int[]){d->H, 1, d->D}, INIT_NORMAL, d->opt.init_scale, 0);
        snprintf(name, sizeof name, "enc.block%d.v_minus_u", l);
        s->w[l] = params_declare(ps, name, 3, (int[]){d->H, 1, d->D}, INIT_NORMAL, d->opt.init_scale, 0);
    }
    return s;
}

static void xl_rotate(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos) {
    xl_state *s = st;
    (void)k; (void)v;
    *q = op_add(g, *q, op_tile(g, s->u[layer], pos->Tq));           /* q + u, (B*H, Tq, D) */
}

static int xl_map(int offset, const void *ctx) { return offset - *(const int *)ctx; }

static tensor *xl_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    xl_state *s = st;
    (void)k;
    int lo, hi;
    relpos_offset_range(pos, &lo, &hi);
    int R = hi - lo + 1;
    tensor *rk = op_linear(g, relpos_sinusoid_table(g, lo, R, s->C, s->base, s->sched), s->w_kr[layer], NULL);  /* (R, C) */
    rk = op_split_heads(g, op_reshape(g, rk, 3, (int[]){1, R, s->C}), s->H);                        /* (H, R, D) */
    tensor *qv = op_add(g, q, op_tile(g, s->w[layer], pos->Tq));                                       /* q + v */
    int *lo_copy = arena_alloc(g->mem, sizeof(int));
    *lo_copy = lo;
    return op_rel_scores(g, qv, rk, relpos_index(g, pos, xl_map, lo_copy), pos->T, (real)(1 / sqrt((double)s->D)));
}

static void xl_free(void *st) {
    xl_state *s = st;
    free(s->w_kr); free(s->u); free(s->w);
    free(s);
}

const encoding_def enc_xl = {
    .name = "xl",
    .options = "rope-base rope-schedule",
    .summary = "Transformer-XL: sinusoidal R_{i-j} through W_KR, global biases u, v (logits only)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_DIRECTIONAL,
    .create = xl_create,
    .rotate = xl_rotate,
    .scores = xl_scores,
    .destroy = xl_free,
};
