/* Products and data movement: matmul, bmm, linear, embedding, reshape,
 * split/merge heads, the depthwise convolution. */
#include "engine.h"

#include <string.h>

static void shape_fail(const char *op, const tensor *a, const tensor *b, const char *why) {
    char sa[64], sb[64];
    engine_fail(op, "%s: %s and %s", why, tensor_shape_str(a, sa, sizeof sa), tensor_shape_str(b, sb, sizeof sb));
}

/* ---- matmul: out (M, N) = op(a) (M, K) op(b) (K, N) */
static void matmul_backward(node *nd) {
    tensor *a = nd->in[0], *b = nd->in[1], *out = nd->out;
    int ta = nd->iarg[0], tb = nd->iarg[1], M = nd->iarg[2], N = nd->iarg[3], K = nd->iarg[4];
    int P = nd->iarg[5];                 /* batch count (1 for matmul) */
    size_t sa = (size_t)M * K, sb = (size_t)K * N, so = (size_t)M * N;
    /* each slice p of a grad is written by one product per operand; when a and
     * b are one tensor, a's product comes first and b's adds to it */
    real beta_a = tensor_grad_beta(a), beta_b = tensor_grad_beta(b);
    for (int p = 0; p < P; p++) {
        const real *dC = out->grad + p * so;
        if (a->grad) { /* dA = dC op(B)^T, stored in A's layout */
            if (!ta) blas_gemm(0, !tb, M, K, N, 1, dC, b->data + p * sb, beta_a, a->grad + p * sa);
            else     blas_gemm(tb, 1, K, M, N, 1, b->data + p * sb, dC, beta_a, a->grad + p * sa);
        }
        if (b->grad) { /* dB = op(A)^T dC, stored in B's layout */
            if (!tb) blas_gemm(!ta, 0, K, N, M, 1, a->data + p * sa, dC, beta_b, b->grad + p * sb);
            else     blas_gemm(1, ta, N, K, M, 1, dC, a->data + p * sa, beta_b, b->grad + p * sb);
        }
    }
}

static tensor *matmul_batched(graph *g, const char *name, tensor *a, tensor *b, int ta, int tb, int P,
                              int ar, int ac, int br, int bc, int out_ndim) {
    int M = ta ? ac : ar, Ka = ta ? ar : ac;
    int Kb = tb ? bc : br, N = tb ? br : bc;
    if (Ka != Kb) shape_fail(name, a, b, "inner dimensions differ");
    int shape[3] = {P, M, N};
    tensor *out = out_ndim == 2 ? tensor_new2(g, M, N, graph_needs_grad(g, a, b, NULL, NULL))
                                : tensor_new(g, 3, shape, graph_needs_grad(g, a, b, NULL, NULL));
    size_t sa = (size_t)ar * ac, sb = (size_t)br * bc, so = (size_t)M * N;
    for (int p = 0; p < P; p++)
        blas_gemm(ta, tb, M, N, Ka, 1, a->data + p * sa, b->data + p * sb, 0, out->data + p * so);
    node *nd = graph_record(g, name, matmul_backward, out, a, b, NULL, NULL);
    if (nd) {
        nd->claims_grads = 1;
        nd->iarg[0] = ta; nd->iarg[1] = tb; nd->iarg[2] = M; nd->iarg[3] = N; nd->iarg[4] = Ka; nd->iarg[5] = P;
    }
    return out;
}

tensor *op_matmul(graph *g, tensor *a, tensor *b, int trans_a, int trans_b) {
    if (a->ndim != 2 || b->ndim != 2) shape_fail("matmul", a, b, "both operands must be 2-D");
    return matmul_batched(g, "matmul", a, b, trans_a, trans_b, 1, a->shape[0], a->shape[1],
                          b->shape[0], b->shape[1], 2);
}

tensor *op_bmm(graph *g, tensor *a, tensor *b, int trans_a, int trans_b) {
    if (a->ndim != 3 || b->ndim != 3) shape_fail("bmm", a, b, "both operands must be 3-D");
    if (a->shape[0] != b->shape[0]) shape_fail("bmm", a, b, "batch dimensions differ");
    return matmul_batched(g, "bmm", a, b, trans_a, trans_b, a->shape[0], a->shape[1], a->shape[2],
                          b->shape[1], b->shape[2], 3);
}

/* ---- linear: y (N, F) = x (N, C) w (C, F) + bias (F), x's leading
 * dimensions flattened into N. One op rather than matmul + add: the bias is
 * written into y first and the product added onto it (beta = 1), which saves
 * a pass over y and the zeroing OpenBLAS does for beta = 0. */
static void linear_backward(node *nd) {
    tensor *x = nd->in[0], *w = nd->in[1], *bias = nd->in[2], *y = nd->out;
    int N = nd->iarg[0], C = nd->iarg[1], F = nd->iarg[2];
    if (bias && bias->grad) {                                           /* db = sum over rows of dy */
        tensor_grad_ready(bias);
        for (size_t i = 0; i < (size_t)N; i++)
            for (int j = 0; j < F; j++) bias->grad[j] += y->grad[i * F + j];
    }
    if (x->grad) blas_gemm(0, 1, N, C, F, 1, y->grad, w->data, tensor_grad_beta(x), x->grad);   /* dx = dy w^T */
    if (w->grad) blas_gemm(1, 0, C, F, N, 1, x->data, y->grad, tensor_grad_beta(w), w->grad);   /* dw = x^T dy */
}

tensor *op_linear(graph *g, tensor *x, tensor *w, tensor *bias) {
    int C = x->shape[x->ndim - 1];
    if (w->ndim != 2 || w->shape[0] != C) shape_fail("linear", x, w, "w must be (C, F) with C the last dimension of x");
    int F = w->shape[1], N = (int)(x->n / (size_t)(C ? C : 1));
    if (bias && (int)bias->n != F) shape_fail("linear", w, bias, "bias must have F values");
    int shape[TENSOR_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = F;
    tensor *y = tensor_new(g, x->ndim, shape, graph_needs_grad(g, x, w, bias, NULL));   /* (.., F) */
    if (bias)
        for (size_t i = 0; i < (size_t)N; i++) memcpy(y->data + i * F, bias->data, (size_t)F * sizeof(real));
    blas_gemm(0, 0, N, F, C, 1, x->data, w->data, bias ? 1 : 0, y->data);          /* y = x w (+ bias) */
    node *nd = graph_record(g, "linear", linear_backward, y, x, w, bias, NULL);
    if (nd) { nd->claims_grads = 1; nd->iarg[0] = N; nd->iarg[1] = C; nd->iarg[2] = F; }
    return y;
}

/* ---- embedding: out[i] = table[ids[i]] */
static void embedding_backward(node *nd) {
    tensor *table = nd->in[0], *out = nd->out;
    int C = table->shape[1], n = out->shape[0];
    for (int i = 0; i < n; i++) {                                       /* scatter-add */
        real *dst = table->grad + (size_t)nd->ids[i] * C;
        const real *src = out->grad + (size_t)i * C;
        for (int c = 0; c < C; c++) dst[c] += src[c];
    }
}

tensor *op_embedding(graph *g, tensor *table, const int *ids, int n) {
    if (table->ndim != 2) engine_fail("embedding", "the table must be 2-D (V, C)");
    int V = table->shape[0], C = table->shape[1];
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) engine_fail("embedding", "id %d at row %d is outside [0, %d)", ids[i], i, V);
    tensor *out = tensor_new2(g, n, C, graph_needs_grad(g, table, NULL, NULL, NULL));
    for (int i = 0; i < n; i++) memcpy(out->data + (size_t)i * C, table->data + (size_t)ids[i] * C, C * sizeof(real));
    node *nd = graph_record(g, "embedding", embedding_backward, out, table, NULL, NULL, NULL);
    if (nd) nd->ids = graph_copy_ints(g, ids, (size_t)n);
    return out;
}

/* ---- reshape: a view; gradients flow through the shared grad buffer */
tensor *op_reshape(graph *g, tensor *a, int ndim, const int *shape) {
    tensor_grad_ready(a);   /* two tensors share the grad memory; neither may zero it later */
    tensor *t = arena_alloc(g->mem, sizeof *t);
    *t = tensor_view(a->data, a->grad, ndim, shape);
    if (t->n != a->n) {
        char sa[64], sb[64];
        engine_fail("reshape", "%s has %zu values, %s has %zu", tensor_shape_str(a, sa, sizeof sa), a->n,
                    tensor_shape_str(t, sb, sizeof sb), t->n);
    }
    return t;
}

/* ---- split / merge heads: (B, T, H*D) <-> (B*H, T, D) */

/* One head's D values: for the usual head sizes a copy of constant size,
 * which the compiler inlines (a memcpy call per 64 bytes cost more than the copy). */
static inline void copy_head(real *d, const real *s, int D) {
    switch (D) {
    case 8: memcpy(d, s, 8 * sizeof(real)); break;
    case 16: memcpy(d, s, 16 * sizeof(real)); break;
    case 32: memcpy(d, s, 32 * sizeof(real)); break;
    case 64: memcpy(d, s, 64 * sizeof(real)); break;
    default: memcpy(d, s, (size_t)D * sizeof(real));
    }
}

static void permute_heads(const real *src, real *dst, int B, int T, int H, int D, int split, int accumulate) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                size_t merged = (((size_t)b * T + t) * H + h) * D;
                size_t heads = (((size_t)b * H + h) * T + t) * D;
                const real *s = src + (split ? merged : heads);
                real *d = dst + (split ? heads : merged);
                if (accumulate) for (int i = 0; i < D; i++) d[i] += s[i];
                else copy_head(d, s, D);
            }
}

static void heads_backward(node *nd) {
    int B = nd->iarg[0], T = nd->iarg[1], H = nd->iarg[2], D = nd->iarg[3], split = nd->iarg[4];
    permute_heads(nd->out->grad, nd->in[0]->grad, B, T, H, D, !split,
                  tensor_grad_beta(nd->in[0]) != 0);                   /* the inverse permutation */
}

static tensor *heads_permute(graph *g, const char *name, tensor *x, int heads, int split) {
    if (x->ndim != 3 || heads <= 0) engine_fail(name, "needs a 3-D tensor and heads > 0");
    int B, T = x->shape[1], H = heads, D;
    if (split) {
        if (x->shape[2] % H) engine_fail(name, "width %d is not divisible by %d heads", x->shape[2], H);
        B = x->shape[0]; D = x->shape[2] / H;
    } else {
        if (x->shape[0] % H) engine_fail(name, "leading dimension %d is not divisible by %d heads", x->shape[0], H);
        B = x->shape[0] / H; D = x->shape[2];
    }
    tensor *out = split ? tensor_new3(g, B * H, T, D, graph_needs_grad(g, x, NULL, NULL, NULL))
                        : tensor_new3(g, B, T, H * D, graph_needs_grad(g, x, NULL, NULL, NULL));
    permute_heads(x->data, out->data, B, T, H, D, split, 0);
    node *nd = graph_record(g, name, heads_backward, out, x, NULL, NULL, NULL);
    if (nd) { nd->claims_grads = 1; nd->iarg[0] = B; nd->iarg[1] = T; nd->iarg[2] = H; nd->iarg[3] = D; nd->iarg[4] = split; }
    return out;
}

tensor *op_split_heads(graph *g, tensor *x, int heads) { return heads_permute(g, "split_heads", x, heads, 1); }
tensor *op_merge_heads(graph *g, tensor *x, int heads) { return heads_permute(g, "merge_heads", x, heads, 0); }

/* ---- depthwise 1-D convolution over the rows of x (B, T, C), kernel w (K, C):
 * y[b, t, c] = sum_k w[k, c] x[b, t + k - left, c], a row outside [0, T)
 * being zero (zero padding) or row (t + k - left) mod T (circular). */
static int conv_src(int t, int k, int left, int T, int circular) {
    int s = t + k - left;
    if (circular) return ((s % T) + T) % T;
    return s >= 0 && s < T ? s : -1;
}

static void dwconv1d_backward(node *nd) {
    tensor *x = nd->in[0], *w = nd->in[1], *y = nd->out;
    int B = x->shape[0], T = x->shape[1], C = x->shape[2], K = w->shape[0], left = nd->iarg[0], circ = nd->iarg[1];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const real *dy = y->grad + ((size_t)b * T + t) * C;
            for (int k = 0; k < K; k++) {
                int s = conv_src(t, k, left, T, circ);
                if (s < 0) continue;                                        /* a zero of the padding */
                size_t xs = ((size_t)b * T + s) * C;
                const real *wk = w->data + (size_t)k * C;
                if (x->grad) for (int c = 0; c < C; c++) x->grad[xs + c] += wk[c] * dy[c];            /* dx[s] += w[k] dy[t] */
                if (w->grad) for (int c = 0; c < C; c++) w->grad[(size_t)k * C + c] += x->data[xs + c] * dy[c];   /* dw[k] += x[s] dy[t] */
            }
        }
}

tensor *op_dwconv1d(graph *g, tensor *x, tensor *w, int left, int circular) {
    if (x->ndim != 3 || w->ndim != 2 || w->shape[1] != x->shape[2])
        shape_fail("dwconv1d", x, w, "x must be (B, T, C) and w (K, C)");
    int B = x->shape[0], T = x->shape[1], C = x->shape[2], K = w->shape[0];
    if (left < 0 || left >= K) engine_fail("dwconv1d", "left padding %d outside [0, %d)", left, K);
    tensor *y = tensor_new3(g, B, T, C, graph_needs_grad(g, x, w, NULL, NULL));
    memset(y->data, 0, y->n * sizeof(real));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            real *yt = y->data + ((size_t)b * T + t) * C;
            for (int k = 0; k < K; k++) {
                int s = T > 0 ? conv_src(t, k, left, T, circular) : -1;
                if (s < 0) continue;
                const real *xs = x->data + ((size_t)b * T + s) * C, *wk = w->data + (size_t)k * C;
                for (int c = 0; c < C; c++) yt[c] += wk[c] * xs[c];
            }
        }
    node *nd = graph_record(g, "dwconv1d", dwconv1d_backward, y, x, w, NULL, NULL);
    if (nd) { nd->iarg[0] = left; nd->iarg[1] = circular; }
    return y;
}
