/* RoPE on values too (8130's fusion remark, entry (k)): q, k and v rotated
 * by their positions, so o_i = sum_j a_ij R_j v_j carries absolute position. */
#include <stdio.h>

#include "rotary.h"

static void *rope_v_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    int K = (int)(d->opt.rope_fraction * d->D / 2);
    if (K < 1) { snprintf(err, errlen, "--rope-fraction %g rotates no pair of a %d-dim head", d->opt.rope_fraction, d->D); return NULL; }
    return rope_state_new(ps, d, K, K, d->opt.rope_trainable);
}

static void rope_v_rotate(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos) {
    (void)layer;
    const int *qp = pos->p + pos->q0;   /* (Tq) */
    *q = rope_apply(st, g, *q, qp, NULL, 0);
    *k = rope_apply(st, g, *k, qp, NULL, 0);
    *v = rope_apply(st, g, *v, qp, NULL, 0);
}

const encoding_def enc_rope_v = {
    .name = "rope-v",
    .options = "rope-base rope-schedule rope-fraction rope-trainable",
    .summary = "rotary on q, k and v: values carry absolute position (8130)",
    .where = ENC_AT_ROTATION,
    .flags = ENC_VALUE_SIDE,
    .create = rope_v_create,
    .init = rope_state_init,
    .rotate = rope_v_rotate,
    .destroy = rope_state_free,
};
