/* xPos (Sun et al. 2023): RoPE with an exponential scale, q_m scaled by
 * zeta_k^(m/gamma) and k_n by zeta_k^(-n/gamma), so q.k decays with m - n.
 * zeta_k = (2k/D + z) / (1 + z); --xpos-zeta z (0.4), --xpos-gamma (512). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotary.h"

/* The largest |log| of a scale zeta_k^(+-n/gamma): zeta_0 = z/(1+z) is the
 * smallest zeta, n the largest position. Beyond XPOS_MAX_LOG_SCALE keys
 * overflow (and queries underflow) in float, e^88. */
#define XPOS_MAX_LOG_SCALE 40.0

static void *xpos_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    int K = d->D / 2;
    double z = d->opt.xpos_zeta, gamma = d->opt.xpos_gamma;
    int sequential = d->opt.sequential_positions;
    int n = d->max_T > 0 ? d->max_T : d->max_pos;   /* positions: 0..T-1, or below max-pos when drawn */
    if (!sequential && d->max_pos > n) n = d->max_pos;
    n -= 1;
    double log_scale = -log(z / (1 + z)) * n / gamma;
    if (z <= 0 || !((real)(z / (1 + z)) > 0) || !(log_scale <= XPOS_MAX_LOG_SCALE)) {   /* zeta_0 0 in this precision: NaN */
        snprintf(err, errlen, "--xpos-zeta %g with --xpos-gamma %g scales keys at position %d by e^%.3g (zeta_0^(-n/gamma), "
                 "zeta_0 = z/(1+z)), beyond e^%g, or zeta_0 is 0 in this precision: raise --xpos-zeta (above 0) or --xpos-gamma",
                 z, gamma, n, z > 0 ? log_scale : INFINITY, XPOS_MAX_LOG_SCALE);
        return NULL;
    }
    rope_state *s = rope_state_new(ps, d, K, K, d->opt.rope_trainable);
    s->zeta = xcalloc((size_t)K, sizeof(real));
    for (int k = 0; k < K; k++) s->zeta[k] = (real)((2.0 * k / d->D + z) / (1 + z));
    s->gamma = gamma;
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
    .options = "rope-base rope-schedule rope-trainable xpos-gamma xpos-zeta",
    .summary = "rotary with an exponential decay scale on q and k (--xpos-zeta, --xpos-gamma)",
    .where = ENC_AT_ROTATION,
    .flags = ENC_RELATIVE | ENC_DIRECTIONAL,
    .create = xpos_create,
    .init = rope_state_init,
    .rotate = xpos_rotate,
    .destroy = rope_state_free,
};
