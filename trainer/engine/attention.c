/* Fused attention scores: b = scale q.k + bias, a causal or bidirectional
 * mask, and one of the normalizers of article 9105 (docs/engine.md).
 * Visible keys of a row always form a prefix [0, n_vis), so masked entries are
 * simply skipped and set to 0. */
#include "engine.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name, *describe;
} NORMS[NORM_COUNT] = {
    [NORM_SOFTMAX] = {"softmax", "e^b / sum_j e^b (rows sum to 1: blocked by the 9105 argument)"},
    [NORM_L2] = {"l2", "e^b / sqrt(sum_j e^2b) (9105 countermeasure C)"},
    [NORM_NODENOM] = {"nodenom", "e^b, no denominator (9105 countermeasure B)"},
    [NORM_RELU2N] = {"relu2n", "relu(b)^2 / n, n = visible keys (GAU)"},
    [NORM_SWISHL2] = {"swishl2", "swish(b) / ||swish(b)||_2 (9105 extension)"},
    [NORM_LOGSCALED] = {"logscaled", "softmax(b log n / log n_train) (entropy-invariant, 8823)"},
    [NORM_LINEAR] = {"linear", "phi(q).phi(k) / sum_j, phi = elu+1, RoPE in numerator and denominator (8265)"},
    [NORM_LINEAR_NUM] = {"linear-num", "phi(q).phi(k) / sum_j, phi = elu+1, RoPE in the numerator only (8265)"},
    [NORM_COS1] = {"cos1", "(1 + cos(q, k)) / sum_j (1 + cos(q, k)), q, k rotated: weights in [0, 2] (8265)"},
};

const char *attn_norm_name(attn_norm k) { return k < NORM_COUNT ? NORMS[k].name : "?"; }
const char *attn_norm_describe(attn_norm k) { return k < NORM_COUNT ? NORMS[k].describe : "?"; }

int attn_norm_parse(const char *s, attn_norm *out) {
    for (int k = 0; k < NORM_COUNT; k++)
        if (strcmp(s, NORMS[k].name) == 0) { *out = (attn_norm)k; return 0; }
    return -1;
}

int attn_norm_is_linear(attn_norm k) { return k == NORM_LINEAR || k == NORM_LINEAR_NUM || k == NORM_COS1; }

const char *attn_mask_name(attn_mask m) { return m == MASK_CAUSAL ? "causal" : "bidir"; }

int attn_mask_parse(const char *s, attn_mask *out) {
    if (strcmp(s, "bidir") == 0) { *out = MASK_BIDIR; return 0; }
    if (strcmp(s, "causal") == 0) { *out = MASK_CAUSAL; return 0; }
    return -1;
}

static int visible_keys(attn_mask mask, int i, int T, int S) {
    if (mask == MASK_BIDIR) return S;
    int n = i + S - T + 1;
    return n < 0 ? 0 : (n > S ? S : n);
}

/* Head p = (b, h) of q, k or v: where its (T, D) matrix starts and its row
 * stride, x's last dimension either way. (B*H, T, D) holds heads one after
 * another; merged (B, T, H*D) holds them side by side in every row. rows:
 * the rows per head (per sequence when merged) in memory, 0 for x's own T. */
typedef struct { int merged, H, rows; } head_layout;

static int head_count(const tensor *x, head_layout L) { return L.merged ? x->shape[0] * L.H : x->shape[0]; }
static int head_dim(const tensor *x, head_layout L) { return L.merged ? x->shape[2] / L.H : x->shape[2]; }

static size_t head_offset(const tensor *x, int p, head_layout L) {
    size_t rows = L.rows ? (size_t)L.rows : (size_t)x->shape[1];
    if (!L.merged) return (size_t)p * rows * x->shape[2];
    int b = p / L.H, h = p % L.H;
    return (size_t)b * rows * x->shape[2] + (size_t)h * head_dim(x, L);
}

/* k and v under o: their rows may be a cache's (attn_opts.kv_rows) */
static head_layout kv_layout(head_layout L, int kv_rows) { L.rows = kv_rows; return L; }

static double sigmoid(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

/* One row: scores b (n visible of S) -> a. *stat keeps what backward needs
 * besides a and b (the l2 norm of swish(b); the temperature of logscaled). */
static void normalize_row(attn_norm norm, const real *b, real *a, int n, int S, int n_train, real *stat) {
    double acc = 0;
    switch (norm) {
    case NORM_LOGSCALED: /* softmax of temp * b */
    case NORM_SOFTMAX: {
        real temp = norm == NORM_LOGSCALED ? (real)(log((double)n) / log((double)n_train)) : 1;
        if (temp != 1) {
            for (int j = 0; j < n; j++) a[j] = temp * b[j];
            b = a;
        }
        real mx = max_real(b, n);
        for (int j = 0; j < n; j++) a[j] = b[j] - mx;
        vec_exp(a, a, n);
        real inv = (real)(1 / sum_real_d(a, n));
        for (int j = 0; j < n; j++) a[j] *= inv;
        *stat = temp;
        break;
    }
    case NORM_L2: { /* shift by the max: e^(b-m) / ||e^(b-m)|| is the same ratio */
        real mx = max_real(b, n);
        for (int j = 0; j < n; j++) a[j] = b[j] - mx;
        vec_exp(a, a, n);
        real inv = (real)(1 / sqrt(dot_real_d(a, a, n)));
        for (int j = 0; j < n; j++) a[j] *= inv;
        break;
    }
    case NORM_NODENOM:
        /* No denominator, so no shift: e^(b-m) e^m is e^b again and overflows
         * exactly when e^b does; overflow shows up as a non-finite loss. */
        vec_exp(b, a, n);
        break;
    case NORM_RELU2N:
        for (int j = 0; j < n; j++) a[j] = b[j] > 0 ? (real)((double)b[j] * b[j] / n) : 0;
        break;
    case NORM_SWISHL2:
        for (int j = 0; j < n; j++) { double s = b[j] * sigmoid(b[j]); a[j] = (real)s; acc += s * s; }
        acc = sqrt(acc);
        for (int j = 0; j < n; j++) a[j] = acc > 0 ? (real)(a[j] / acc) : 0;
        *stat = (real)acc;
        break;
    default:
        engine_fail("attention", "unknown normalizer %d", (int)norm);
    }
    for (int j = n; j < S; j++) a[j] = 0;
}

/* dA -> dB for one row (visible entries; masked entries get 0). */
static void normalize_row_backward(attn_norm norm, const real *b, const real *a, const real *da, real *db,
                                   int n, int S, real stat) {
    double dot = 0;
    real dotr;
    switch (norm) {
    case NORM_SOFTMAX:
    case NORM_LOGSCALED: /* a = softmax(t b): db = t a (da - a.da) */
        dotr = (real)dot_real_d(a, da, n);
        for (int j = 0; j < n; j++) db[j] = stat * a[j] * (da[j] - dotr);
        break;
    case NORM_L2: /* da_k/db_j = delta_kj a_k - a_k a_j^2 */
        dotr = (real)dot_real_d(a, da, n);
        for (int j = 0; j < n; j++) db[j] = a[j] * (da[j] - a[j] * dotr);
        break;
    case NORM_NODENOM: /* a = e^b */
        for (int j = 0; j < n; j++) db[j] = a[j] * da[j];
        break;
    case NORM_RELU2N: /* a = relu(b)^2 / n */
        for (int j = 0; j < n; j++) db[j] = b[j] > 0 ? (real)(2.0 * b[j] / n * da[j]) : 0;
        break;
    case NORM_SWISHL2: /* a = s / ||s||: ds = (da - a (a.da)) / ||s||; db = ds swish'(b) */
        if (stat <= 0) { for (int j = 0; j < n; j++) db[j] = 0; break; }
        for (int j = 0; j < n; j++) dot += (double)a[j] * da[j];
        for (int j = 0; j < n; j++) {
            double sg = sigmoid(b[j]);
            db[j] = (real)((da[j] - a[j] * dot) / stat * sg * (1 + b[j] * (1 - sg)));
        }
        break;
    default:
        engine_fail("attention", "unknown normalizer %d", (int)norm);
    }
    for (int j = n; j < S; j++) db[j] = 0;
}

/* saved: scores b (P, T, S) then one stat per row (P, T). */
static void attn_probs_backward(node *nd) {
    tensor *q = nd->in[0], *k = nd->in[1], *bias = nd->in[2], *A = nd->out;
    int P = A->shape[0], T = A->shape[1], S = A->shape[2];
    attn_norm norm = (attn_norm)nd->iarg[0];
    attn_mask mask = (attn_mask)nd->iarg[1];
    int bias_lead = nd->iarg[2];
    head_layout L = {nd->iarg[3], nd->iarg[4], 0}, Lk = kv_layout(L, nd->iarg[5]);
    int D = head_dim(q, L), ldq = q->shape[2], ldk = k->shape[2];
    real scale = nd->rarg[0];
    const real *scores = nd->saved, *stat = scores + (size_t)P * T * S;
    real *dB = nd->saved ? (real *)(stat + (size_t)P * T) : NULL;       /* (T, S) scratch */
    size_t ts = (size_t)T * S;
    tensor_grad_ready(bias);                                           /* per-head biases sum over the batch */
    /* one product per head p of each; when q and k are one tensor, dq comes first and dk adds to it */
    real beta_q = tensor_grad_beta(q), beta_k = tensor_grad_beta(k);
    for (int p = 0; p < P; p++) {
        for (int i = 0; i < T; i++) {
            size_t r = (size_t)p * ts + (size_t)i * S;
            normalize_row_backward(norm, scores + r, A->data + r, A->grad + r, dB + (size_t)i * S,
                                   visible_keys(mask, i, T, S), S, stat[(size_t)p * T + i]);
        }
        if (bias && bias->grad) {                                  /* b = ... + bias */
            real *gb = bias->grad + (size_t)(p % bias_lead) * ts;
            for (size_t x = 0; x < ts; x++) gb[x] += dB[x];
        }
        size_t oq = head_offset(q, p, L), ok = head_offset(k, p, Lk);
        if (q->grad) blas_gemm_ld(0, 0, T, D, S, scale, dB, S, k->data + ok, ldk, beta_q, q->grad + oq, ldq);  /* dq = scale dB k */
        if (k->grad) blas_gemm_ld(1, 0, S, D, T, scale, dB, S, q->data + oq, ldq, beta_k, k->grad + ok, ldk);  /* dk = scale dB^T q */
    }
}

tensor *op_attn_probs(graph *g, tensor *q, tensor *k, tensor *bias, const attn_opts *o) {
    char s1[64], s2[64];
    head_layout L = {o->merged, o->heads, 0}, Lk = kv_layout(L, o->kv_rows);
    if (q->ndim != 3 || k->ndim != 3 || q->shape[0] != k->shape[0] || q->shape[2] != k->shape[2])
        engine_fail("attention", "q %s and k %s must be (P, T, D) and (P, S, D)", tensor_shape_str(q, s1, sizeof s1),
                    tensor_shape_str(k, s2, sizeof s2));
    if (L.merged && (L.H <= 0 || q->shape[2] % L.H))
        engine_fail("attention", "merged heads: width %d must be a multiple of heads %d", q->shape[2], L.H);
    if (o->norm < 0 || o->norm >= NORM_COUNT) engine_fail("attention", "unknown normalizer %d", (int)o->norm);
    if (attn_norm_is_linear(o->norm))
        engine_fail("attention", "%s is linear attention: it has no scores (op_linear_attn_sum)", attn_norm_name(o->norm));
    if (o->kv_rows && o->kv_rows < k->shape[1]) engine_fail("attention", "kv_rows %d < %d keys", o->kv_rows, k->shape[1]);
    if (o->norm == NORM_LOGSCALED && o->n_train < 2)
        engine_fail("attention", "logscaled needs a training length >= 2, got %d", o->n_train);
    int P = head_count(q, L), T = q->shape[1], S = k->shape[1], D = head_dim(q, L), ld = q->shape[2];
    int bias_lead = 1;
    if (bias) {
        bias_lead = bias->shape[0];
        if (bias->ndim != 3 || bias->shape[1] != T || bias->shape[2] != S || P % bias_lead ||
            (bias_lead != P && bias_lead != (o->heads > 0 ? o->heads : -1)))
            engine_fail("attention", "bias %s must be (H, %d, %d) or (%d, %d, %d) with H = %d heads",
                        tensor_shape_str(bias, s1, sizeof s1), T, S, P, T, S, o->heads);
    }
    int grad = graph_needs_grad(g, q, k, bias, NULL);
    tensor *A = tensor_new3(g, P, T, S, grad);
    size_t ts = (size_t)T * S;
    /* scores (P, T, S), stat (P, T), and when training a dB scratch (T, S) */
    real *scores = arena_alloc(g->mem, ((size_t)P * ts + (size_t)P * T + (grad ? ts : 0)) * sizeof(real));
    real *stat = scores + (size_t)P * ts;
    for (int p = 0; p < P; p++) {
        real *sc = scores + (size_t)p * ts;
        if (bias) memcpy(sc, bias->data + (size_t)(p % bias_lead) * ts, ts * sizeof(real));
        const real *qp = q->data + head_offset(q, p, L), *kp = k->data + head_offset(k, p, Lk);
        if (T == 1 && o->kv_rows) /* one cached-decoding row (full passes keep GEMM, and their bits) */
            blas_gemv_ld(0, S, D, o->scale, kp, ld, qp, bias ? 1 : 0, sc);
        else
            blas_gemm_ld(0, 1, T, S, D, o->scale, qp, ld, kp, ld, bias ? 1 : 0, sc, S);   /* b = scale q k^T (+ bias) */
        for (int i = 0; i < T; i++) {
            stat[(size_t)p * T + i] = 1;
            normalize_row(o->norm, sc + (size_t)i * S, A->data + (size_t)p * ts + (size_t)i * S,
                          visible_keys(o->mask, i, T, S), S, o->n_train, &stat[(size_t)p * T + i]);
        }
    }
    node *nd = graph_record(g, "attn_probs", attn_probs_backward, A, q, k, bias, NULL);
    if (nd) {
        nd->claims_grads = 1;
        nd->iarg[0] = (int)o->norm;
        nd->iarg[1] = (int)o->mask;
        nd->iarg[2] = bias_lead;
        nd->iarg[3] = L.merged;
        nd->iarg[4] = L.H;
        nd->iarg[5] = o->kv_rows;
        nd->rarg[0] = o->scale;
        nd->saved = scores;
    }
    return A;
}

/* ---- A V per head; v and the output in v's head layout */
static void attn_values_backward(node *nd) {
    tensor *A = nd->in[0], *v = nd->in[1], *out = nd->out;
    head_layout L = {nd->iarg[0], nd->iarg[1], 0}, Lv = kv_layout(L, nd->iarg[2]);
    int P = A->shape[0], T = A->shape[1], S = A->shape[2];
    int Dv = head_dim(v, L), ld = v->shape[2];
    real beta_a = tensor_grad_beta(A), beta_v = tensor_grad_beta(v);
    for (int p = 0; p < P; p++) {
        const real *dO = out->grad + head_offset(out, p, L);
        size_t ov = head_offset(v, p, Lv), oa = (size_t)p * T * S;
        if (A->grad) blas_gemm_ld(0, 1, T, S, Dv, 1, dO, ld, v->data + ov, ld, beta_a, A->grad + oa, S);  /* dA = dO v^T */
        if (v->grad) blas_gemm_ld(1, 0, S, Dv, T, 1, A->data + oa, S, dO, ld, beta_v, v->grad + ov, ld);  /* dv = A^T dO */
    }
}

tensor *op_attn_values(graph *g, tensor *A, tensor *v, const attn_opts *o) {
    char s1[64], s2[64];
    head_layout L = {o->merged, o->heads, 0}, Lv = kv_layout(L, o->kv_rows);
    int P = A->ndim == 3 ? A->shape[0] : -1;
    if (A->ndim != 3 || v->ndim != 3 || v->shape[1] != A->shape[2] || (L.merged && (L.H <= 0 || v->shape[2] % L.H)) ||
        head_count(v, L) != P)
        engine_fail("attention", "A %s and v %s must be (P, T, S) and (P, S, Dv), or (B, S, H*Dv) with merged heads",
                    tensor_shape_str(A, s1, sizeof s1), tensor_shape_str(v, s2, sizeof s2));
    int T = A->shape[1], S = A->shape[2], ld = v->shape[2], Dv = head_dim(v, L);
    if (o->kv_rows && o->kv_rows < S) engine_fail("attention", "kv_rows %d < %d values", o->kv_rows, S);
    tensor *out = tensor_new3(g, v->shape[0], T, ld, graph_needs_grad(g, A, v, NULL, NULL));
    for (int p = 0; p < P; p++) {                                       /* out = A v */
        const real *ap = A->data + (size_t)p * T * S, *vp = v->data + head_offset(v, p, Lv);
        real *op = out->data + head_offset(out, p, L);
        if (T == 1 && o->kv_rows) blas_gemv_ld(1, S, Dv, 1, vp, ld, ap, 0, op);   /* as in op_attn_probs */
        else blas_gemm_ld(0, 0, T, Dv, S, 1, ap, S, vp, ld, 0, op, ld);
    }
    node *nd = graph_record(g, "attn_values", attn_values_backward, out, A, v, NULL, NULL);
    if (nd) { nd->claims_grads = 1; nd->iarg[0] = L.merged; nd->iarg[1] = L.H; nd->iarg[2] = o->kv_rows; }
    return out;
}

tensor *op_attention(graph *g, tensor *q, tensor *k, tensor *v, tensor *bias, const attn_opts *o) {
    return op_attn_values(g, op_attn_probs(g, q, k, bias, o), v, o);
}
