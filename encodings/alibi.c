/* ALiBi (Press et al. 2022): bias -m_h |i - j| with the official slopes
 * (a geometric sequence from 2^(-8/n), and for a head count that is not a
 * power of two the closest power's slopes plus every other slope of twice
 * that). Causal: -m_h (i - j). Bidirectional: symmetric, or with
 * --alibi-asym 1 the keys right of the query use the interleaved other half of
 * the 2H slope sequence, so left and right differ. No parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"
#include "encoding.h"

static void slopes_pow2(int n, double *out) {
    double start = pow(2.0, -pow(2.0, -(log2((double)n) - 3)));
    for (int i = 0; i < n; i++) out[i] = start * pow(start, i);
}

void alibi_slopes(int n, double *out) {
    int p = 1;
    while (p * 2 <= n) p *= 2;
    slopes_pow2(p, out);
    if (p == n) return;
    double *extra = xmalloc(sizeof(double) * (size_t)(2 * p));
    alibi_slopes(2 * p, extra);
    for (int i = 0; i < n - p; i++) out[p + i] = extra[2 * i];
    free(extra);
}

typedef struct {
    int H, causal, asym;
    double *left, *right;
} alibi_state;

static void *alibi_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)ps; (void)err; (void)errlen;
    alibi_state *s = xcalloc(1, sizeof *s);
    s->H = d->H;
    s->causal = d->mask == MASK_CAUSAL;
    s->asym = d->opt.alibi_asym;
    s->left = xmalloc(sizeof(double) * (size_t)d->H);
    s->right = xmalloc(sizeof(double) * (size_t)d->H);
    alibi_slopes(d->H, s->left);
    memcpy(s->right, s->left, sizeof(double) * (size_t)d->H);
    if (s->asym) {
        double *both = xmalloc(sizeof(double) * (size_t)(2 * d->H));
        alibi_slopes(2 * d->H, both);
        for (int h = 0; h < d->H; h++) { s->left[h] = both[2 * h]; s->right[h] = both[2 * h + 1]; }
        free(both);
    }
    return s;
}

static tensor *alibi_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    alibi_state *s = st;
    (void)layer; (void)q; (void)k;
    int Tq = pos->Tq, S = pos->T;
    tensor *b = tensor_new3(g, s->H, Tq, S, 0);                    /* (H, Tq, S), fixed */
    for (int h = 0; h < s->H; h++)
        for (int i = 0; i < Tq; i++)
            for (int j = 0; j < S; j++) {
                int off = pos->p[pos->q0 + i] - pos->p[j];            /* > 0: key left of the query */
                double m = off >= 0 ? s->left[h] : s->right[h];
                b->data[((size_t)h * Tq + i) * S + j] = (real)(-m * abs(off));
            }
    return b;
}

static void alibi_free(void *st) {
    alibi_state *s = st;
    free(s->left);
    free(s->right);
    free(s);
}

const encoding_def enc_alibi = {
    .name = "alibi",
    .options = "alibi-asym",
    .summary = "ALiBi: fixed linear distance penalty per head (official slopes; --alibi-asym for bidirectional)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_SYMMETRIC,
    .create = alibi_create,
    .scores = alibi_scores,
    .destroy = alibi_free,
};
