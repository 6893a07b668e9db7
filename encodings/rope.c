/* RoPE (Su, 8265): q and k rotated by their positions in
 * interleaved pairs, theta_k = base^(-2k/d_rot). Options: --rope-base,
 * --rope-fraction (share of head dimensions rotated), --rope-trainable. */
#include <stdio.h>

#include "rotary.h"

static void *rope_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    int K = (int)(d->opt.rope_fraction * d->D / 2);
    if (K < 1) { snprintf(err, errlen, "--rope-fraction %g rotates no pair of a %d-dim head", d->opt.rope_fraction, d->D); return NULL; }
    return rope_state_new(ps, d, K, K, d->opt.rope_trainable);
}

static void rope_rotate(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos) {
    (void)layer; (void)v;
    *q = rope_apply(st, g, *q, pos->p + pos->q0, NULL, 0);
    *k = rope_apply(st, g, *k, pos->p + pos->q0, NULL, 0);
}

const encoding_def enc_rope = {
    .name = "rope",
    .options = "rope-base rope-schedule rope-fraction rope-trainable",
    .summary = "rotary: q, k rotated by position (interleaved pairs; --rope-base, --rope-fraction, --rope-trainable)",
    .where = ENC_AT_ROTATION,
    .flags = ENC_RELATIVE | ENC_DIRECTIONAL,
    .create = rope_create,
    .init = rope_state_init,
    .rotate = rope_rotate,
    .destroy = rope_state_free,
};
