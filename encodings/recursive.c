/* Recursive positions, a discrete FLOATER (8130 (c)): p_0 learned and
 * p_{k+1} = p_k + f(p_k), f(p) = tanh(p W1 + b1) W2 + b2, added to the input
 * as s p_k, s = --rec-scale, by default init-scale. Defined for every position; the recurrence runs up to
 * the largest id. The states start at unit scale (p_0 ~ N(0, 1)), where tanh
 * is not merely linear; added unscaled they drowned the token embeddings
 * (init-scale 0.02: 50 times smaller) and the decoder study's recursive
 * models fitted no copy, reverse or duplicate run in 5000 steps, where
 * scaled they fit copy and reverse by step 2200 (seed 1). The same fix as
 * sinusoidal.c's, for the same reason. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

typedef struct {
    tensor *p0, *w1, *w2, *b;   /* (C), (C, C), (C, C), (2, C): rows b1, b2 */
    int C;
    real scale;                 /* the states' weight at the input: init-scale, the token embeddings' */
} rec_state;

/* op: (K, C) states. saved: hidden tanh values (K-1, C) and a (C) scratch. */
static void recurrence_backward(node *nd) {
    tensor *p0 = nd->in[0], *w1 = nd->in[1], *w2 = nd->in[2], *b = nd->in[3], *out = nd->out;
    int K = out->shape[0], C = out->shape[1];
    real *db1 = b->grad, *db2 = b->grad ? b->grad + C : NULL;
    real *hid = nd->saved, *dP = hid + (size_t)(K > 1 ? K - 1 : 0) * C, *dh = dP + C, *tmp = dh + C;
    memcpy(dP, out->grad + (size_t)(K - 1) * C, C * sizeof(real));          /* dP[K-1] */
    for (int k = K - 2; k >= 0; k--) {
        const real *h = hid + (size_t)k * C, *Pk = out->data + (size_t)k * C;
        /* P[k+1] = P[k] + h_k W2 + b2 */
        if (w2->grad) blas_gemm(1, 0, C, C, 1, 1, h, dP, 1, w2->grad);         /* dW2 += h^T dP */
        if (db2) for (int c = 0; c < C; c++) db2[c] += dP[c];
        blas_gemm(0, 1, 1, C, C, 1, dP, w2->data, 0, dh);                       /* dh = dP W2^T */
        for (int c = 0; c < C; c++) dh[c] *= 1 - h[c] * h[c];                   /* h = tanh(P W1 + b1) */
        if (w1->grad) blas_gemm(1, 0, C, C, 1, 1, Pk, dh, 1, w1->grad);          /* dW1 += P^T dh */
        if (db1) for (int c = 0; c < C; c++) db1[c] += dh[c];
        blas_gemm(0, 1, 1, C, C, 1, dh, w1->data, 0, tmp);                       /* through h to P[k] */
        for (int c = 0; c < C; c++) dP[c] += tmp[c] + out->grad[(size_t)k * C + c];
    }
    if (p0->grad) for (int c = 0; c < C; c++) p0->grad[c] += dP[c];
}

static tensor *op_recurrence(graph *g, rec_state *s, int K) {
    int C = s->C;
    int grad = graph_needs_grad(g, s->p0, s->w1, s->w2, s->b);
    const real *b1 = s->b->data, *b2 = s->b->data + C;
    tensor *out = tensor_new2(g, K, C, grad);
    real *hid = arena_alloc(g->mem, ((size_t)(K > 1 ? K - 1 : 0) * C + 3 * (size_t)C) * sizeof(real));
    memcpy(out->data, s->p0->data, C * sizeof(real));
    for (int k = 0; k + 1 < K; k++) {
        real *h = hid + (size_t)k * C, *next = out->data + (size_t)(k + 1) * C;
        const real *Pk = out->data + (size_t)k * C;
        blas_gemm(0, 0, 1, C, C, 1, Pk, s->w1->data, 0, h);
        for (int c = 0; c < C; c++) h[c] = (real)tanh(h[c] + b1[c]);
        blas_gemm(0, 0, 1, C, C, 1, h, s->w2->data, 0, next);
        for (int c = 0; c < C; c++) next[c] += Pk[c] + b2[c];
    }
    node *nd = graph_record(g, "recurrence", recurrence_backward, out, s->p0, s->w1, s->w2, s->b);
    if (nd) nd->saved = hid;
    return out;
}

static void *rec_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    rec_state *s = xcalloc(1, sizeof *s);
    int C = d->C;
    double sc = d->opt.init_scale;
    s->C = C;
    s->scale = (real)(d->opt.rec_scale > 0 ? d->opt.rec_scale : sc);
    s->p0 = params_declare(ps, "enc.p0", 1, (int[]){C}, INIT_NORMAL, 1.0, 0);
    s->w1 = params_declare(ps, "enc.f.w1", 2, (int[]){C, C}, INIT_NORMAL, 1 / sqrt((double)C), 1);
    s->w2 = params_declare(ps, "enc.f.w2", 2, (int[]){C, C}, INIT_NORMAL, sc, 1);
    s->b = params_declare(ps, "enc.f.b", 2, (int[]){2, C}, INIT_NORMAL, sc, 0);
    return s;
}

static tensor *rec_embed(void *st, graph *g, tensor *x, const positions *pos) {
    rec_state *s = st;
    const int *qp = pos->p + pos->q0;                                     /* (Tq) the query rows' positions */
    int K = 1;
    for (int t = 0; t < pos->Tq; t++) if (qp[t] + 1 > K) K = qp[t] + 1;
    tensor *states = op_recurrence(g, s, K);                              /* (K, C) */
    tensor *p = op_embedding(g, states, qp, pos->Tq);                     /* (Tq, C) p_{pos[t]} */
    return op_add(g, x, op_scale(g, p, s->scale));
}

const encoding_def enc_recursive = {
    .name = "recursive",
    .summary = "FLOATER-style recursion p_{k+1} = p_k + f(p_k) added to the input, any length",
    .where = ENC_AT_INPUT,
    .options = "rec-scale",
    .create = rec_create,
    .embed = rec_embed,
    .destroy = free,
};
