/* Row softmax under an additive mask, cross-entropy with ignored rows, MSE. */
#include "engine.h"

#include <math.h>

/* ---- softmax over the last dimension of x + mask */
static void softmax_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    for (size_t r = 0; r < N; r++) {
        const real *y = out->data + r * C, *dy = out->grad + r * C;
        double dot = 0;
        for (int c = 0; c < C; c++) dot += (double)y[c] * dy[c];
        for (int c = 0; c < C; c++) x->grad[r * C + c] += (real)(y[c] * (dy[c] - dot));  /* y (dy - y.dy) */
    }
}

tensor *op_softmax(graph *g, tensor *x, tensor *mask) {
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    if (mask && (mask->n == 0 || x->n % mask->n || mask->shape[mask->ndim - 1] != C))
        engine_fail("softmax", "the mask must match the trailing dimensions of the input");
    tensor *out = tensor_new(g, x->ndim, x->shape, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C;
        const real *mr = mask ? mask->data + (r * C) % mask->n : NULL;
        real *y = out->data + r * C;
        double mx = -INFINITY;
        for (int c = 0; c < C; c++) {
            double v = xr[c] + (mr ? mr[c] : 0);
            if (v > mx) mx = v;
        }
        if (mx == -INFINITY) { /* every entry masked: no distribution, zeros */
            for (int c = 0; c < C; c++) y[c] = 0;
            continue;
        }
        double z = 0;
        for (int c = 0; c < C; c++) {
            double e = exp(xr[c] + (mr ? mr[c] : 0) - mx);
            y[c] = (real)e;
            z += e;
        }
        for (int c = 0; c < C; c++) y[c] = (real)(y[c] / z);
    }
    graph_record(g, "softmax", softmax_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- cross-entropy: mean over scored rows of logsumexp(z) - z[target].
 * saved: softmax probabilities (N, K). iarg[0]: scored row count. */
static void cross_entropy_backward(node *nd) {
    tensor *z = nd->in[0];
    int N = z->shape[0], K = z->shape[1], scored = nd->iarg[0];
    if (!scored) return;
    const real *p = nd->saved;
    real d = nd->out->grad[0] / (real)scored;
    for (int r = 0; r < N; r++) {
        int t = nd->ids[r];
        if (t < 0) continue;
        for (int c = 0; c < K; c++) z->grad[(size_t)r * K + c] += d * (p[(size_t)r * K + c] - (c == t));  /* p - onehot */
    }
}

tensor *op_cross_entropy(graph *g, tensor *logits, const int *targets) {
    if (logits->ndim != 2) engine_fail("cross_entropy", "logits must be 2-D (N, K)");
    int N = logits->shape[0], K = logits->shape[1], scored = 0;
    int one = 1;
    int grad = graph_needs_grad(g, logits, NULL, NULL, NULL);
    tensor *out = tensor_new(g, 1, &one, grad);
    real *p = grad ? arena_alloc(g->mem, logits->n * sizeof(real)) : NULL;
    double total = 0;
    for (int r = 0; r < N; r++) {
        int t = targets[r];
        if (t < 0) continue;
        if (t >= K) engine_fail("cross_entropy", "target %d at row %d is outside [0, %d)", t, r, K);
        const real *zr = logits->data + (size_t)r * K;
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < K; c++) if (zr[c] > mx) mx = zr[c];
        for (int c = 0; c < K; c++) s += exp(zr[c] - mx);
        double lse = mx + log(s);
        total += lse - zr[t];
        if (p) for (int c = 0; c < K; c++) p[(size_t)r * K + c] = (real)exp(zr[c] - lse);
        scored++;
    }
    out->data[0] = scored ? (real)(total / scored) : 0;
    node *nd = graph_record(g, "cross_entropy", cross_entropy_backward, out, logits, NULL, NULL, NULL);
    if (nd) {
        nd->saved = p;
        nd->ids = graph_copy_ints(g, targets, (size_t)N);
        nd->iarg[0] = scored;
    }
    return out;
}

/* ---- mse: sum w (p - t)^2 / sum w. saved: target (N), weight (N). rarg[0]: 1/sum w */
static void mse_backward(node *nd) {
    tensor *pred = nd->in[0];
    const real *t = nd->saved, *w = t + pred->n;
    real d = nd->out->grad[0] * nd->rarg[0];
    for (size_t i = 0; i < pred->n; i++) pred->grad[i] += 2 * d * w[i] * (pred->data[i] - t[i]);
}

tensor *op_mse(graph *g, tensor *pred, const real *target, const real *weight) {
    int one = 1;
    tensor *out = tensor_new(g, 1, &one, graph_needs_grad(g, pred, NULL, NULL, NULL));
    real *saved = arena_alloc(g->mem, 2 * pred->n * sizeof(real));
    double num = 0, den = 0;
    for (size_t i = 0; i < pred->n; i++) {
        real w = weight ? weight[i] : 1;
        if (w < 0) engine_fail("mse", "weight %g at %zu is negative", (double)w, i);
        saved[i] = target[i];
        saved[pred->n + i] = w;
        double e = (double)pred->data[i] - target[i];
        num += w * e * e;
        den += w;
    }
    out->data[0] = den > 0 ? (real)(num / den) : 0;
    node *nd = graph_record(g, "mse", mse_backward, out, pred, NULL, NULL, NULL);
    if (nd) {
        nd->saved = saved;
        nd->rarg[0] = den > 0 ? (real)(1 / den) : 0;
    }
    return out;
}
