/* xPos (Sun et al. 2023): RoPE with an exponential scale, q_m scaled by
 * zeta_k^(m/gamma) and k_n by zeta_k^(-n/gamma), so q.k decays with m - n.
 * zeta_k = (2k/D + z) / (1 + z); --xpos-zeta z (0.4), --xpos-gamma (512). */
#include <stdlib.h>

#include <stdio.h>

#include "rotary.h"

static void *xpos_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    int K = d->D / 2;
    rope_state *s = rope_state_new(ps, d, K, K, d->cfg->rope_trainable);
    double z = d->cfg->xpos_zeta;
    s->zeta = calloc((size_t)K, sizeof(real));
    for (int k = 0; k < K; k++) s->zeta[k] = (real)((2.0 * k / d->D + z) / (1 + z));
    s->gamma = d->cfg->xpos_gamma;
    return s;
}

static void xpos_rotate(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos) {
    rope_state *s = st;
    (void)layer; (void)v;
    *q = rope_apply(s, g, *q, pos->p + pos->q0, NULL, 1 / s->gamma);
    *k = rope_apply(s, g, *k, pos->p + pos->q0, NULL, -1 / s->gamma);
}

const encoding_def enc_xpos = {
    .name = "xpos",
    .summary = "rotary with an exponential decay scale on q and k (--xpos-zeta, --xpos-gamma)",
    .where = "rotation",
    .flags = ENC_RELATIVE,
    .create = xpos_create,
    .init = rope_state_init,
    .rotate = xpos_rotate,
    .destroy = rope_state_free,
};
