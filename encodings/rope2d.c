/* 2-D RoPE (Su, 8397): R_{x,y} = blockdiag(R(x th), R(y th)). The first
 * half of each head's pairs rotates by the row x, the second half by the
 * column y, each half with its own ladder theta_k = base^(-2k/(D/2)).
 * On 1-D tasks x = 0 and y = the position id. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "rotary.h"

static void *rope2d_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    if (d->D % 4) { snprintf(err, errlen, "rope2d needs a head size divisible by 4, got %d", d->D); return NULL; }
    int K = d->D / 2;
    rope_state *s = rope_state_new(ps, d, K, K / 2, d->opt.rope_trainable);
    s->which = xcalloc((size_t)K, 1);
    for (int k = K / 2; k < K; k++) s->which[k] = 1;
    return s;
}

static void rope2d_init(void *st, gsl_rng *r) {
    rope_state *s = st;
    (void)r;
    if (s->theta != &s->fixed) {
        rotary_ladder(s->theta->data, s->K / 2, s->base, s->sched);
        rotary_ladder(s->theta->data + s->K / 2, s->K - s->K / 2, s->base, s->sched);
    }
}

static void rope2d_rotate(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos) {
    (void)layer; (void)v;
    const int *x, *y;                   /* (Tq) the query rows' coordinates */
    if (pos->x) {
        x = pos->x + pos->q0;
        y = pos->y + pos->q0;
    } else { /* 1-D task: x = 0, y = position */
        x = arena_calloc(g->mem, (size_t)pos->Tq * sizeof(int));
        y = pos->p + pos->q0;
    }
    *q = rope_apply(st, g, *q, x, y, 0);
    *k = rope_apply(st, g, *k, x, y, 0);
}

const encoding_def enc_rope2d = {
    .name = "rope2d",
    .options = "rope-base rope-schedule rope-trainable",
    .summary = "2-D rotary: half the pairs rotated by the row, half by the column (8397)",
    .where = ENC_AT_ROTATION,
    .flags = ENC_RELATIVE | ENC_2D | ENC_DIRECTIONAL,
    .create = rope2d_create,
    .init = rope2d_init,
    .rotate = rope2d_rotate,
    .destroy = rope_state_free,
};
