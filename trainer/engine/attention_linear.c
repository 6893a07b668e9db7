/* Linear attention (Su, 8265 "RoPE for linear attention"; Katharopoulos et
 * al. 2020): out_i = sum_j (c + q_i.k_j) v_j over the visible keys j, in the
 * linear form. With M_n = sum_{j<n} k_j v_j^T (D x Dv) and s_n = sum_{j<n} v_j,
 *   out_i = c s_{n_i} + q_i^T M_{n_i},   n_i = the visible keys of row i,
 * so a head costs O((T + S) D Dv) and nothing of size (T, S) exists. The
 * causal mask makes M a running sum over the keys in key order (n_i grows
 * with i); the bidirectional one a full sum. The quadratic form, the same
 * weights materialised, is op_linear_attn_probs: plain ops composed, the
 * reference the tests hold this one to. */
#include "engine.h"

#include <string.h>

static int visible(attn_mask mask, int i, int T, int S) {
    if (mask == MASK_BIDIR) return S;
    int n = i + S - T + 1;
    return n < 0 ? 0 : (n > S ? S : n);
}

/* Scratch of one head: M (D, Dv) and s (Dv), in double so that the running
 * sums lose nothing to cancellation (the denominators of 8265 can). */
typedef struct {
    int D, Dv, kv_rows;
    attn_mask mask;
    real c;
    double *M, *s;
} lin_saved;

/* Where head p of k (or v, width W) starts: rows per head are kv_rows when set. */
static const real *head_rows(const tensor *x, int p, int kv_rows) {
    size_t rows = kv_rows ? (size_t)kv_rows : (size_t)x->shape[1];
    return x->data + (size_t)p * rows * x->shape[2];
}

/* Adds key j to M and s; v NULL stands for a value of 1 (Dv = 1). */
static void add_key(lin_saved *ls, const real *kj, const real *vj) {
    for (int d = 0; d < ls->D; d++) {
        double kd = kj[d];
        double *Md = ls->M + (size_t)d * ls->Dv;
        if (vj) for (int e = 0; e < ls->Dv; e++) Md[e] += kd * vj[e];
        else Md[0] += kd;
    }
    if (vj) for (int e = 0; e < ls->Dv; e++) ls->s[e] += vj[e];
    else ls->s[0] += 1;
}

static void lin_backward(node *nd) {
    tensor *q = nd->in[0], *k = nd->in[1], *v = nd->in[2], *out = nd->out;
    lin_saved *ls = nd->saved;
    int P = q->shape[0], T = q->shape[1], S = k->shape[1], D = ls->D, Dv = ls->Dv;
    for (int p = 0; p < P; p++) {
        const real *qp = q->data + (size_t)p * T * D, *kp = head_rows(k, p, ls->kv_rows);
        const real *vp = v ? head_rows(v, p, ls->kv_rows) : NULL, *dO = out->grad + (size_t)p * T * Dv;
        if (q->grad) { /* dq_i = M_{n_i} dO_i: the forward's running sums again */
            real *dq = q->grad + (size_t)p * T * D;
            memset(ls->M, 0, (size_t)D * Dv * sizeof(double));
            memset(ls->s, 0, (size_t)Dv * sizeof(double));
            for (int i = 0, j = 0; i < T; i++) {
                for (int n = visible(ls->mask, i, T, S); j < n; j++) add_key(ls, kp + (size_t)j * D, vp ? vp + (size_t)j * Dv : NULL);
                for (int d = 0; d < D; d++) {
                    double a = 0;
                    for (int e = 0; e < Dv; e++) a += ls->M[(size_t)d * Dv + e] * dO[(size_t)i * Dv + e];
                    dq[(size_t)i * D + d] += (real)a;
                }
            }
        }
        if (!k->grad && !(v && v->grad)) continue;
        /* key j gets G_j = sum_{i: n_i > j} q_i dO_i^T and g_j = sum_{i: n_i > j} dO_i, summed from the last row:
         * dk_j = G_j v_j, dv_j = G_j^T k_j + c g_j */
        memset(ls->M, 0, (size_t)D * Dv * sizeof(double));
        memset(ls->s, 0, (size_t)Dv * sizeof(double));
        real *dk = k->grad ? k->grad + (size_t)p * S * D : NULL, *dv = v && v->grad ? v->grad + (size_t)p * S * Dv : NULL;
        for (int j = S - 1, i = T - 1; j >= 0; j--) {
            for (; i >= 0 && visible(ls->mask, i, T, S) > j; i--) {
                const real *qi = qp + (size_t)i * D, *gi = dO + (size_t)i * Dv;
                for (int d = 0; d < D; d++)
                    for (int e = 0; e < Dv; e++) ls->M[(size_t)d * Dv + e] += (double)qi[d] * gi[e];
                for (int e = 0; e < Dv; e++) ls->s[e] += gi[e];
            }
            const real *kj = kp + (size_t)j * D;
            if (dk)
                for (int d = 0; d < D; d++) {
                    double a = 0;
                    for (int e = 0; e < Dv; e++) a += ls->M[(size_t)d * Dv + e] * (vp ? vp[(size_t)j * Dv + e] : 1);
                    dk[(size_t)j * D + d] += (real)a;
                }
            if (dv)
                for (int e = 0; e < Dv; e++) {
                    double a = ls->c * ls->s[e];
                    for (int d = 0; d < D; d++) a += ls->M[(size_t)d * Dv + e] * kj[d];
                    dv[(size_t)j * Dv + e] += (real)a;
                }
        }
    }
}

tensor *op_linear_attn_sum(graph *g, tensor *q, tensor *k, tensor *v, real c, const attn_opts *o) {
    char s1[64], s2[64], s3[64];
    if (o->merged) engine_fail("linear attention", "heads must be split (P, T, D), not merged");
    if (q->ndim != 3 || k->ndim != 3 || q->shape[0] != k->shape[0] || q->shape[2] != k->shape[2] ||
        (v && (v->ndim != 3 || v->shape[0] != k->shape[0] || v->shape[1] != k->shape[1])))
        engine_fail("linear attention", "q %s, k %s, v %s must be (P, T, D), (P, S, D), (P, S, Dv)",
                    tensor_shape_str(q, s1, sizeof s1), tensor_shape_str(k, s2, sizeof s2),
                    v ? tensor_shape_str(v, s3, sizeof s3) : "none");
    if (o->kv_rows && o->kv_rows < k->shape[1]) engine_fail("linear attention", "kv_rows %d < %d keys", o->kv_rows, k->shape[1]);
    if (o->kv_rows && (k->grad || (v && v->grad)))   /* a cache is read in evaluation only */
        engine_fail("linear attention", "keys and values read from a cache (kv_rows) take no gradient");
    int P = q->shape[0], T = q->shape[1], S = k->shape[1], D = q->shape[2], Dv = v ? v->shape[2] : 1;
    tensor *out = tensor_new3(g, P, T, Dv, graph_needs_grad(g, q, k, v, NULL));
    lin_saved *ls = arena_alloc(g->mem, sizeof *ls);
    *ls = (lin_saved){D, Dv, o->kv_rows, o->mask, c, NULL, NULL};
    ls->M = arena_alloc(g->mem, ((size_t)D * Dv + Dv) * sizeof(double));
    ls->s = ls->M + (size_t)D * Dv;
    for (int p = 0; p < P; p++) {
        const real *qp = q->data + (size_t)p * T * D, *kp = head_rows(k, p, o->kv_rows);
        const real *vp = v ? head_rows(v, p, o->kv_rows) : NULL;
        real *op = out->data + (size_t)p * T * Dv;
        memset(ls->M, 0, ((size_t)D * Dv + Dv) * sizeof(double));
        for (int i = 0, j = 0; i < T; i++) {
            for (int n = visible(o->mask, i, T, S); j < n; j++) add_key(ls, kp + (size_t)j * D, vp ? vp + (size_t)j * Dv : NULL);
            for (int e = 0; e < Dv; e++) {
                double a = c * ls->s[e];
                for (int d = 0; d < D; d++) a += (double)qp[(size_t)i * D + d] * ls->M[(size_t)d * Dv + e];
                op[(size_t)i * Dv + e] = (real)a;
            }
        }
    }
    node *nd = graph_record(g, "linear_attn_sum", lin_backward, out, q, k, v, NULL);
    if (nd) nd->saved = ls;
    return out;
}

tensor *op_linear_attention(graph *g, tensor *q, tensor *k, tensor *v, tensor *qd, tensor *kd, real c,
                            const attn_opts *o) {
    tensor *num = op_linear_attn_sum(g, q, k, v, c, o);                         /* (P, T, Dv) */
    tensor *den = op_linear_attn_sum(g, qd ? qd : q, kd ? kd : k, NULL, c, o);  /* (P, T, 1) */
    return op_rows_div(g, num, den);
}

tensor *op_linear_attn_probs(graph *g, tensor *q, tensor *k, tensor *qd, tensor *kd, real c, const attn_opts *o) {
    if (o->merged || o->kv_rows) engine_fail("linear attention", "the quadratic form takes split heads and no cache");
    int T = q->shape[1], S = k->shape[1];
    tensor *mask = tensor_new2(g, T, S, 0), *plus = tensor_new2(g, T, S, 0);   /* 1 and c where visible, else 0 */
    for (int i = 0; i < T; i++)
        for (int j = 0; j < S; j++) {
            int vis = j < visible(o->mask, i, T, S);
            mask->data[(size_t)i * S + j] = (real)vis;
            plus->data[(size_t)i * S + j] = vis ? c : 0;
        }
    tensor *w = op_add(g, op_mul(g, op_bmm(g, q, k, 0, 1), mask), plus);      /* (P, T, S) */
    tensor *wd = qd || kd ? op_add(g, op_mul(g, op_bmm(g, qd ? qd : q, kd ? kd : k, 0, 1), mask), plus) : w;
    return op_rows_div(g, w, op_rows_sum(g, wd));
}
