/* CoPE, contextual position encoding (Golovneva et al. 2024), causal only:
 * gates g_ij = sigmoid(q_i . k_j) for j <= i, positions p_ij = sum_{t=j..i} g_it
 * (counting what the gates let through), and the logit term q_i . e[p_ij]
 * with e linearly interpolated between integer positions, clipped at
 * --max-pos - 1; e is a (max-pos, D) table per layer shared by the heads. The
 * term is scaled by 1/sqrt(D) like the content term. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

typedef struct {
    tensor **e;          /* (L) (npos, D) */
    int npos, D;
} cope_state;

typedef struct {
    real *gate, *pos, *qe;   /* (P, Tq, S), (P, Tq, S), (P, Tq, npos) */
    real *scratch;           /* backward: (Tq, npos) + (Tq, S) */
    int npos, q0;            /* q0: the first query row's index among the keys */
    real scale;
} cope_saved;

static void cope_backward(node *nd) {
    tensor *q = nd->in[0], *k = nd->in[1], *E = nd->in[2], *out = nd->out;
    const cope_saved *s = nd->saved;
    int P = q->shape[0], T = q->shape[1], S = k->shape[1], D = q->shape[2], N = s->npos;
    real *dqe = s->scratch, *dz = dqe + (size_t)T * N;
    for (int p = 0; p < P; p++) {
        const real *g = s->gate + (size_t)p * T * S, *pp = s->pos + (size_t)p * T * S, *qe = s->qe + (size_t)p * T * N;
        const real *dout = out->grad + (size_t)p * T * S;
        memset(dqe, 0, (size_t)T * N * sizeof(real));
        memset(dz, 0, (size_t)T * S * sizeof(real));
        for (int i = 0; i < T; i++) {
            double acc = 0;   /* dg_ik = sum_{j <= k} dp_ij: a running prefix sum over j */
            for (int j = 0; j <= s->q0 + i; j++) {
                double pv = pp[(size_t)i * S + j], go = dout[(size_t)i * S + j] * s->scale;
                int fl = (int)floor(pv), ce = fl + 1 < N ? fl + 1 : N - 1;
                double w = pv - fl;
                dqe[(size_t)i * N + fl] += (real)(go * (1 - w));
                dqe[(size_t)i * N + ce] += (real)(go * w);
                double dp = pv < N - 1 ? go * (qe[(size_t)i * N + ce] - qe[(size_t)i * N + fl]) : 0;  /* clipped: flat */
                acc += dp;
                double gk = g[(size_t)i * S + j];
                dz[(size_t)i * S + j] = (real)(acc * gk * (1 - gk));      /* gate k = j, through sigmoid */
            }
        }
        const real *qp = q->data + (size_t)p * T * D, *kp = k->data + (size_t)p * S * D;
        if (q->grad) {
            blas_gemm(0, 0, T, D, N, 1, dqe, E->data, 1, q->grad + (size_t)p * T * D);   /* via q e^T */
            blas_gemm(0, 0, T, D, S, 1, dz, kp, 1, q->grad + (size_t)p * T * D);         /* via gates q k^T */
        }
        if (k->grad) blas_gemm(1, 0, S, D, T, 1, dz, qp, 1, k->grad + (size_t)p * S * D);
        if (E->grad) blas_gemm(1, 0, N, D, T, 1, dqe, qp, 1, E->grad);
    }
}

/* q (P, Tq, D) for the query rows [q0, q0 + Tq), k (P, S, D) -> (P, Tq, S). A
 * query's positions count the gates of its own row over every key up to it,
 * so a new row needs nothing from earlier rows but their keys. */
static tensor *op_cope(graph *g, tensor *q, tensor *k, tensor *E, int q0, real scale) {
    int P = q->shape[0], T = q->shape[1], S = k->shape[1], D = q->shape[2], N = E->shape[0];
    if (k->shape[0] != P || k->shape[2] != D || q0 + T > S) engine_fail("cope", "q (P, Tq, D) rows from %d must fit k (P, S, D)", q0);
    int grad = graph_needs_grad(g, q, k, E, NULL);
    tensor *out = tensor_new3(g, P, T, S, grad);
    cope_saved *s = arena_alloc(g->mem, sizeof *s);
    s->npos = N;
    s->q0 = q0;
    s->scale = scale;
    s->gate = arena_alloc(g->mem, (size_t)P * T * S * sizeof(real));
    s->pos = arena_alloc(g->mem, (size_t)P * T * S * sizeof(real));
    s->qe = arena_alloc(g->mem, (size_t)P * T * N * sizeof(real));
    s->scratch = grad ? arena_alloc(g->mem, ((size_t)T * N + (size_t)T * S) * sizeof(real)) : NULL;
    for (int p = 0; p < P; p++) {
        const real *qp = q->data + (size_t)p * T * D, *kp = k->data + (size_t)p * S * D;
        real *gt = s->gate + (size_t)p * T * S, *pp = s->pos + (size_t)p * T * S, *qe = s->qe + (size_t)p * T * N;
        real *o = out->data + (size_t)p * T * S;
        blas_gemm(0, 1, T, S, D, 1, qp, kp, 0, gt);                       /* z = q k^T */
        blas_gemm(0, 1, T, N, D, 1, qp, E->data, 0, qe);                  /* q e^T */
        for (int i = 0; i < T; i++) {
            double sum = 0;
            for (int j = S - 1; j >= 0; j--) {
                size_t x = (size_t)i * S + j;
                if (j > q0 + i) { gt[x] = 0; pp[x] = 0; o[x] = 0; continue; }
                gt[x] = (real)(1 / (1 + exp(-(double)gt[x])));
                sum += gt[x];
                double pv = sum < N - 1 ? sum : N - 1;
                pp[x] = (real)pv;
                int fl = (int)floor(pv), ce = fl + 1 < N ? fl + 1 : N - 1;
                double w = pv - fl;
                o[x] = (real)(scale * ((1 - w) * qe[(size_t)i * N + fl] + w * qe[(size_t)i * N + ce]));
            }
        }
    }
    node *nd = graph_record(g, "cope", cope_backward, out, q, k, E, NULL);
    if (nd) nd->saved = s;
    return out;
}

static void *cope_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    cope_state *s = xcalloc(1, sizeof *s);
    s->npos = d->max_pos;
    s->D = d->D;
    s->e = xcalloc((size_t)d->L, sizeof *s->e);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.cope_pos", l);
        s->e[l] = params_declare(ps, name, 2, (int[]){s->npos, d->D}, INIT_NORMAL, d->opt.init_scale, 0);
    }
    return s;
}

static tensor *cope_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    cope_state *s = st;
    return op_cope(g, q, k, s->e[layer], pos->q0, (real)(1 / sqrt((double)s->D)));
}

static void cope_free(void *st) {
    free(((cope_state *)st)->e);
    free(st);
}

/* Gates and counted positions per query and key, and q against the max-pos position vectors. */
static double cope_step_reals(const enc_dims *d, int B, int T) {
    double N = d->max_pos;
    return (double)B * d->H * T * (3 * N + 8.0 * T) + (double)T * (N + T);
}

const encoding_def enc_cope = {
    .name = "cope",
    .summary = "CoPE: contextual positions counted by sigmoid gates, interpolated position vectors (causal only)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_CAUSAL_ONLY | ENC_RELATIVE | ENC_READS_KEYS,
    .create = cope_create,
    .scores = cope_scores,
    .destroy = cope_free,
    .step_reals = cope_step_reals,
};
