/* Elementwise and reduction ops: add, sub, mul (broadcast), scale, sum, mean,
 * relu, elu1, gelu, swish, dropout, exp, sqrt, tanh, sigmoid, softplus, tile, transpose. */
#include "engine.h"

#include <math.h>
#include <string.h>

/* b broadcasts over a when its shape equals a's trailing dimensions, or when
 * it has a's shape but a leading dimension that divides a's (per-head tables
 * (H, T, S) over (B*H, T, S)). Either way b's element for a's element i is
 * b[i % b->n]. */
static int broadcasts(const tensor *a, const tensor *b) {
    if (b->ndim > a->ndim) return 0;
    for (int i = 0; i < b->ndim; i++) {
        int da = a->shape[a->ndim - 1 - i], db = b->shape[b->ndim - 1 - i];
        int leading = i == b->ndim - 1 && b->ndim == a->ndim;
        if (db != da && !(leading && db > 0 && da % db == 0)) return 0;
    }
    return 1;
}

static void check_broadcast(const char *op, const tensor *a, const tensor *b) {
    if (!broadcasts(a, b)) {
        char sa[64], sb[64];
        engine_fail(op, "shape %s does not broadcast over %s (it must equal the trailing dimensions)",
                    tensor_shape_str(b, sb, sizeof sb), tensor_shape_str(a, sa, sizeof sa));
    }
}

static tensor *new_like(graph *g, const tensor *a, int grad) {
    return tensor_new(g, a->ndim, a->shape, grad);
}

/* ---- add / sub: out = a + sign * b */
static void add_backward(node *nd) {
    tensor *a = nd->in[0], *b = nd->in[1], *out = nd->out;
    real sign = nd->rarg[0];
    if (a->grad) {                                                                /* da = dout */
        if (tensor_grad_beta(a)) for (size_t i = 0; i < out->n; i++) a->grad[i] += out->grad[i];
        else memcpy(a->grad, out->grad, out->n * sizeof(real));
    }
    if (b->grad) {                                                                /* db = sign * sum over repeats */
        if (b->n == out->n && !tensor_grad_beta(b))
            for (size_t j = 0; j < b->n; j++) b->grad[j] = sign * out->grad[j];
        else {
            tensor_grad_ready(b);
            for (size_t o = 0; o < out->n; o += b->n)
                for (size_t j = 0; j < b->n; j++) b->grad[j] += sign * out->grad[o + j];
        }
    }
}

static tensor *add_signed(graph *g, const char *name, tensor *a, tensor *b, real sign) {
    check_broadcast(name, a, b);
    tensor *out = new_like(g, a, graph_needs_grad(g, a, b, NULL, NULL));
    for (size_t o = 0; o < out->n; o += b->n)   /* b repeats every b->n elements */
        for (size_t j = 0; j < b->n; j++) out->data[o + j] = a->data[o + j] + sign * b->data[j];
    node *nd = graph_record(g, name, add_backward, out, a, b, NULL, NULL);
    if (nd) { nd->claims_grads = 1; nd->rarg[0] = sign; }
    return out;
}

tensor *op_add(graph *g, tensor *a, tensor *b) { return add_signed(g, "add", a, b, 1); }
tensor *op_sub(graph *g, tensor *a, tensor *b) { return add_signed(g, "sub", a, b, -1); }

/* ---- mul: out = a * b (b broadcast) */
static void mul_backward(node *nd) {
    tensor *a = nd->in[0], *b = nd->in[1], *out = nd->out;
    for (size_t o = 0; o < out->n; o += b->n)
        for (size_t j = 0; j < b->n; j++) {
            if (a->grad) a->grad[o + j] += out->grad[o + j] * b->data[j];
            if (b->grad) b->grad[j] += out->grad[o + j] * a->data[o + j];
        }
}

tensor *op_mul(graph *g, tensor *a, tensor *b) {
    check_broadcast("mul", a, b);
    tensor *out = new_like(g, a, graph_needs_grad(g, a, b, NULL, NULL));
    for (size_t o = 0; o < out->n; o += b->n)
        for (size_t j = 0; j < b->n; j++) out->data[o + j] = a->data[o + j] * b->data[j];
    graph_record(g, "mul", mul_backward, out, a, b, NULL, NULL);
    return out;
}

/* ---- scale: out = s * a */
static void scale_backward(node *nd) {
    tensor *a = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) a->grad[i] += nd->rarg[0] * out->grad[i];
}

tensor *op_scale(graph *g, tensor *a, real s) {
    tensor *out = new_like(g, a, graph_needs_grad(g, a, NULL, NULL, NULL));
    for (size_t i = 0; i < out->n; i++) out->data[i] = s * a->data[i];
    node *nd = graph_record(g, "scale", scale_backward, out, a, NULL, NULL, NULL);
    if (nd) nd->rarg[0] = s;
    return out;
}

/* ---- sum / mean: out = w * sum(a), w = 1 or 1/n */
static void sum_backward(node *nd) {
    tensor *a = nd->in[0];
    real d = nd->rarg[0] * nd->out->grad[0];
    for (size_t i = 0; i < a->n; i++) a->grad[i] += d;
}

static tensor *sum_weighted(graph *g, const char *name, tensor *a, real w) {
    int one = 1;
    tensor *out = tensor_new(g, 1, &one, graph_needs_grad(g, a, NULL, NULL, NULL));
    double s = 0; /* accumulate in double: the order is fixed, so results stay deterministic */
    for (size_t i = 0; i < a->n; i++) s += a->data[i];
    out->data[0] = (real)(w * s);
    node *nd = graph_record(g, name, sum_backward, out, a, NULL, NULL, NULL);
    if (nd) nd->rarg[0] = w;
    return out;
}

tensor *op_sum(graph *g, tensor *a) { return sum_weighted(g, "sum", a, 1); }
tensor *op_mean(graph *g, tensor *a) { return sum_weighted(g, "mean", a, a->n ? (real)1 / (real)a->n : 0); }

/* ---- activations */
static void relu_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++)
        if (x->data[i] > 0) x->grad[i] += out->grad[i];
}

tensor *op_relu(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = x->data[i] > 0 ? x->data[i] : 0;
    graph_record(g, "relu", relu_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- elu1: y = x + 1 for x > 0, e^x otherwise; dy/dx = 1, or e^x = y */
static void elu1_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += x->data[i] > 0 ? out->grad[i] : out->grad[i] * out->data[i];
}

tensor *op_elu1(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = x->data[i] > 0 ? x->data[i] + 1 : real_exp(x->data[i]);
    graph_record(g, "elu1", elu1_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* gelu(x) = x Phi(x), Phi the standard normal CDF; saved: the derivative
 * Phi(x) + x phi(x), so backward is one multiply per element. */
static void gelu_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    const real *dgelu = nd->saved;
    if (tensor_grad_beta(x)) for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * dgelu[i];
    else for (size_t i = 0; i < out->n; i++) x->grad[i] = out->grad[i] * dgelu[i];
}

tensor *op_gelu(graph *g, tensor *x) {
    int grad = graph_needs_grad(g, x, NULL, NULL, NULL);
    tensor *out = new_like(g, x, grad);
    size_t n = x->n;
    real *o = out->data;
    for (size_t i = 0; i < n; i++) o[i] = x->data[i] * (real)M_SQRT1_2;
    vec_erf(o, o, n);                                                     /* o = erf(x / sqrt 2) */
    real *dgelu = NULL;
    if (grad) {
        const real k = (real)(0.5 * M_2_SQRTPI * M_SQRT1_2);               /* 1/sqrt(2 pi) */
        dgelu = arena_alloc(g->mem, n * sizeof(real));
        for (size_t i = 0; i < n; i++) dgelu[i] = -(real)0.5 * x->data[i] * x->data[i];
        vec_exp(dgelu, dgelu, n);                                         /* e^(-x^2/2) */
        for (size_t i = 0; i < n; i++)                                    /* Phi + x phi */
            dgelu[i] = (real)0.5 * (1 + o[i]) + x->data[i] * dgelu[i] * k;
    }
    for (size_t i = 0; i < n; i++) o[i] = x->data[i] * ((real)0.5 * (1 + o[i]));   /* x Phi */
    node *nd = graph_record(g, "gelu", gelu_backward, out, x, NULL, NULL, NULL);
    if (nd) { nd->claims_grads = 1; nd->saved = dgelu; }
    return out;
}

static double sigmoid(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

static void swish_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) {
        double s = sigmoid(x->data[i]);
        x->grad[i] += out->grad[i] * (real)(s * (1 + x->data[i] * (1 - s)));  /* d/dx x s(x) */
    }
}

tensor *op_swish(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = (real)(x->data[i] * sigmoid(x->data[i]));
    graph_record(g, "swish", swish_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- dropout: out = x * keep / (1-p); the mask is saved for backward */
static void dropout_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    const real *mask = nd->saved;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * mask[i];
}

tensor *op_dropout(graph *g, tensor *x, real p, double (*uniform01)(void *), void *rng) {
    if (p <= 0) return x;
    if (p >= 1) engine_fail("dropout", "probability %g must be below 1", (double)p);
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    real *mask = arena_alloc(g->mem, x->n * sizeof(real));
    real keep_scale = 1 / (1 - p);
    for (size_t i = 0; i < x->n; i++) {
        mask[i] = uniform01(rng) >= p ? keep_scale : 0;
        out->data[i] = x->data[i] * mask[i];
    }
    node *nd = graph_record(g, "dropout", dropout_backward, out, x, NULL, NULL, NULL);
    if (nd) nd->saved = mask;
    return out;
}

/* ---- exp, sqrt */
static void exp_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * out->data[i];      /* d e^x = e^x */
}

tensor *op_exp(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = (real)exp(x->data[i]);
    graph_record(g, "exp", exp_backward, out, x, NULL, NULL, NULL);
    return out;
}

static void sqrt_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++)
        if (out->data[i] > 0) x->grad[i] += out->grad[i] / (2 * out->data[i]);           /* 1 / (2 sqrt x) */
}

tensor *op_sqrt(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) {
        if (x->data[i] < 0) engine_fail("sqrt", "negative input %g at %zu", (double)x->data[i], i);
        out->data[i] = (real)sqrt(x->data[i]);
    }
    graph_record(g, "sqrt", sqrt_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- rows_sum: (.., C) -> (.., 1) */
static void rows_sum_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    size_t C = x->n / out->n;
    for (size_t i = 0; i < x->n; i++) x->grad[i] += out->grad[i / C];
}

tensor *op_rows_sum(graph *g, tensor *x) {
    int shape[TENSOR_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    int C = shape[x->ndim - 1];
    shape[x->ndim - 1] = 1;
    tensor *out = tensor_new(g, x->ndim, shape, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t r = 0; r < out->n; r++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += x->data[r * C + c];
        out->data[r] = (real)s;
    }
    graph_record(g, "rows_sum", rows_sum_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- rows_div: x (.., C) / r (.., 1); a zero divisor gives 0 (an empty row) */
static void rows_div_backward(node *nd) {
    tensor *x = nd->in[0], *r = nd->in[1], *out = nd->out;
    size_t C = x->n / r->n;
    for (size_t i = 0; i < x->n; i++) {
        real d = r->data[i / C];
        if (d == 0) continue;
        if (x->grad) x->grad[i] += out->grad[i] / d;                                   /* d(x/r)/dx = 1/r */
        if (r->grad) r->grad[i / C] -= out->grad[i] * out->data[i] / d;                  /* d(x/r)/dr = -x/r^2 */
    }
}

tensor *op_rows_div(graph *g, tensor *x, tensor *r) {
    if (r->ndim != x->ndim || r->shape[r->ndim - 1] != 1 || r->n * (size_t)x->shape[x->ndim - 1] != x->n)
        engine_fail("rows_div", "the divisor must have the input's shape with a last dimension of 1");
    tensor *out = new_like(g, x, graph_needs_grad(g, x, r, NULL, NULL));
    size_t C = x->n / r->n;
    for (size_t i = 0; i < x->n; i++) out->data[i] = r->data[i / C] != 0 ? x->data[i] / r->data[i / C] : 0;
    graph_record(g, "rows_div", rows_div_backward, out, x, r, NULL, NULL);
    return out;
}

/* ---- tanh, sigmoid, softplus */
static void tanh_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * (1 - out->data[i] * out->data[i]);
}

tensor *op_tanh(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = (real)tanh(x->data[i]);
    graph_record(g, "tanh", tanh_backward, out, x, NULL, NULL, NULL);
    return out;
}

static void sigmoid_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * out->data[i] * (1 - out->data[i]);
}

tensor *op_sigmoid(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) out->data[i] = (real)sigmoid(x->data[i]);
    graph_record(g, "sigmoid", sigmoid_backward, out, x, NULL, NULL, NULL);
    return out;
}

static void softplus_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    for (size_t i = 0; i < out->n; i++) x->grad[i] += out->grad[i] * (real)sigmoid(x->data[i]);   /* d log(1+e^x) */
}

tensor *op_softplus(graph *g, tensor *x) {
    tensor *out = new_like(g, x, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t i = 0; i < x->n; i++) {
        double v = x->data[i];
        out->data[i] = (real)(v > 30 ? v : log1p(exp(v)));
    }
    graph_record(g, "softplus", softplus_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- tile: (A, 1, C) -> (A, n, C) */
static void tile_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    int A = out->shape[0], n = out->shape[1], C = out->shape[2];
    for (int a = 0; a < A; a++)
        for (int t = 0; t < n; t++)
            for (int c = 0; c < C; c++) x->grad[(size_t)a * C + c] += out->grad[((size_t)a * n + t) * C + c];
}

tensor *op_tile(graph *g, tensor *x, int n) {
    if (x->ndim != 3 || x->shape[1] != 1) engine_fail("tile", "needs an (A, 1, C) tensor");
    int A = x->shape[0], C = x->shape[2];
    tensor *out = tensor_new3(g, A, n, C, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (int a = 0; a < A; a++)
        for (int t = 0; t < n; t++) memcpy(out->data + ((size_t)a * n + t) * C, x->data + (size_t)a * C, C * sizeof(real));
    graph_record(g, "tile", tile_backward, out, x, NULL, NULL, NULL);
    return out;
}

/* ---- transpose of the last two dimensions: (P, M, N) -> (P, N, M) */
static void transpose_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    int P = x->shape[0], M = x->shape[1], N = x->shape[2];
    for (int p = 0; p < P; p++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                x->grad[((size_t)p * M + i) * N + j] += out->grad[((size_t)p * N + j) * M + i];
}

tensor *op_transpose(graph *g, tensor *x) {
    if (x->ndim != 3) engine_fail("transpose", "needs a 3-D tensor");
    int P = x->shape[0], M = x->shape[1], N = x->shape[2];
    tensor *out = tensor_new3(g, P, N, M, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (int p = 0; p < P; p++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                out->data[((size_t)p * N + j) * M + i] = x->data[((size_t)p * M + i) * N + j];
    graph_record(g, "transpose", transpose_backward, out, x, NULL, NULL, NULL);
    return out;
}
