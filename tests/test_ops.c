/* Every plain op: forward values against direct formulas, and gradients
 * against finite differences (see check.h for the metric and bounds). */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#define NIN(a) ((int)(sizeof(a) / sizeof *(a)))

static void check_op(const char *what, gc_build_fn build, tensor **in, int n, void *ctx) {
    assert_gradcheck(what, gradcheck(build, in, n, ctx, 11));
}

/* ---- add / sub / mul, same shape and broadcast */
static tensor *b_add(graph *g, tensor **x, void *c) { (void)c; return op_add(g, x[0], x[1]); }
static tensor *b_sub(graph *g, tensor **x, void *c) { (void)c; return op_sub(g, x[0], x[1]); }
static tensor *b_mul(graph *g, tensor **x, void *c) { (void)c; return op_mul(g, x[0], x[1]); }
static tensor *b_scale(graph *g, tensor **x, void *c) { (void)c; return op_scale(g, x[0], (real)-1.7); }
static tensor *b_sum(graph *g, tensor **x, void *c) { (void)c; return op_sum(g, x[0]); }
static tensor *b_mean(graph *g, tensor **x, void *c) { (void)c; return op_mean(g, x[0]); }

static void test_binary_ops(void **state) {
    (void)state;
    gc_build_fn fns[3] = {b_add, b_sub, b_mul};
    const char *names[3] = {"add", "sub", "mul"};
    for (int f = 0; f < 3; f++) {
        for (int bc = 0; bc < 3; bc++) {
            int sa[3] = {2, 3, 5};
            tensor *a = pt_new(3, sa, 1);
            /* b: same shape, trailing (3, 5), trailing (5) */
            tensor *b = bc == 0 ? pt_new(3, sa, 1) : bc == 1 ? pt_new2(3, 5, 1) : pt_new(1, &sa[2], 1);
            pt_fill(a, 1 + bc, -1, 1, 0);
            pt_fill(b, 2 + bc, -1, 1, 0);
            tensor *in[2] = {a, b};
            check_op(names[f], fns[f], in, 2, NULL);
            pt_free(a);
            pt_free(b);
        }
    }
}

static void test_unary_reductions(void **state) {
    (void)state;
    tensor *a = pt_new2(1, 7, 1);
    pt_fill(a, 3, -2, 2, 0);
    tensor *in[1] = {a};
    check_op("scale", b_scale, in, 1, NULL);
    check_op("sum", b_sum, in, 1, NULL);
    check_op("mean", b_mean, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    double s = 0;
    for (int i = 0; i < 7; i++) s += a->data[i];
    assert_true(fabs(op_sum(&g, a)->data[0] - s) < 1e-5);
    assert_true(fabs(op_mean(&g, a)->data[0] - s / 7) < 1e-5);
    arena_free(&ar);
    pt_free(a);
}

/* ---- matmul / bmm, every transpose combination, odd sizes */
typedef struct { int ta, tb; } trans_ctx;
static tensor *b_matmul(graph *g, tensor **x, void *c) { trans_ctx *t = c; return op_matmul(g, x[0], x[1], t->ta, t->tb); }
static tensor *b_bmm(graph *g, tensor **x, void *c) { trans_ctx *t = c; return op_bmm(g, x[0], x[1], t->ta, t->tb); }

static void test_matmul(void **state) {
    (void)state;
    const int M = 3, K = 5, N = 2;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            tensor *a = ta ? pt_new2(K, M, 1) : pt_new2(M, K, 1);
            tensor *b = tb ? pt_new2(N, K, 1) : pt_new2(K, N, 1);
            pt_fill(a, 5, -1, 1, 0);
            pt_fill(b, 6, -1, 1, 0);
            trans_ctx t = {ta, tb};
            tensor *in[2] = {a, b};
            check_op("matmul", b_matmul, in, 2, &t);
            /* forward against the definition */
            arena ar; graph g;
            arena_init(&ar, 0);
            graph_init(&g, &ar, 0);
            tensor *c = op_matmul(&g, a, b, ta, tb);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? a->data[k * M + i] : a->data[i * K + k]) *
                             (tb ? b->data[j * K + k] : b->data[k * N + j]);
                    assert_true(fabs(c->data[i * N + j] - s) < 1e-5);
                }
            arena_free(&ar);
            pt_free(a);
            pt_free(b);
        }
}

static void test_bmm(void **state) {
    (void)state;
    const int P = 3, M = 1, K = 4, N = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            tensor *a = ta ? pt_new3(P, K, M, 1) : pt_new3(P, M, K, 1);
            tensor *b = tb ? pt_new3(P, N, K, 1) : pt_new3(P, K, N, 1);
            pt_fill(a, 7, -1, 1, 0);
            pt_fill(b, 8, -1, 1, 0);
            trans_ctx t = {ta, tb};
            tensor *in[2] = {a, b};
            check_op("bmm", b_bmm, in, 2, &t);
            pt_free(a);
            pt_free(b);
        }
}

static tensor *b_linear(graph *g, tensor **x, void *c) { (void)c; return op_linear(g, x[0], x[1], x[2]); }

static void test_linear(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 3, 4, 1), *w = pt_new2(4, 5, 1), *bias = pt_new(1, (int[]){5}, 1);
    pt_fill(x, 9, -1, 1, 0);
    pt_fill(w, 10, -1, 1, 0);
    pt_fill(bias, 11, -1, 1, 0);
    tensor *in[3] = {x, w, bias};
    check_op("linear", b_linear, in, 3, NULL);
    pt_free(x); pt_free(w); pt_free(bias);
}

/* ---- embedding (repeated ids exercise the scatter-add) */
static const int EMB_IDS[6] = {2, 0, 2, 4, 1, 2};
static tensor *b_embedding(graph *g, tensor **x, void *c) { (void)c; return op_embedding(g, x[0], EMB_IDS, 6); }

static void test_embedding(void **state) {
    (void)state;
    tensor *table = pt_new2(5, 3, 1);
    pt_fill(table, 12, -1, 1, 0);
    tensor *in[1] = {table};
    check_op("embedding", b_embedding, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *e = op_embedding(&g, table, EMB_IDS, 6);
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++) assert_true(e->data[i * 3 + c] == table->data[EMB_IDS[i] * 3 + c]);
    arena_free(&ar);
    pt_free(table);
}

/* ---- depthwise convolution: zero and circular padding, causal and centred,
 * a kernel wider than the sequence (every row reads the padding) */
typedef struct { int left, circular; } conv_ctx;
static tensor *b_dwconv(graph *g, tensor **x, void *c) {
    conv_ctx *cc = c;
    return op_dwconv1d(g, x[0], x[1], cc->left, cc->circular);
}

static void test_dwconv1d(void **state) {
    (void)state;
    const int K[] = {3, 3, 2, 7, 7}, LEFT[] = {1, 1, 1, 6, 3}, CIRC[] = {0, 1, 0, 0, 1};
    for (int v = 0; v < 5; v++) {
        tensor *x = pt_new3(2, 5, 3, 1), *w = pt_new2(K[v], 3, 1);
        pt_fill(x, 40 + (unsigned long)v, -1, 1, 0);
        pt_fill(w, 50 + (unsigned long)v, -1, 1, 0.1);
        tensor *in[2] = {x, w};
        conv_ctx cc = {LEFT[v], CIRC[v]};
        char what[64];
        snprintf(what, sizeof what, "dwconv1d K=%d left=%d circular=%d", K[v], LEFT[v], CIRC[v]);
        check_op(what, b_dwconv, in, 2, &cc);
        /* the values against the sum written out */
        arena ar; graph g;
        arena_init(&ar, 0);
        graph_init(&g, &ar, 0);
        tensor *y = op_dwconv1d(&g, x, w, LEFT[v], CIRC[v]);
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 5; t++)
                for (int c = 0; c < 3; c++) {
                    double want = 0;
                    for (int k = 0; k < K[v]; k++) {
                        int s = t + k - LEFT[v];
                        if (CIRC[v]) s = (s + 5 * K[v]) % 5;
                        if (s >= 0 && s < 5) want += w->data[k * 3 + c] * x->data[(b * 5 + s) * 3 + c];
                    }
                    assert_true(fabs(y->data[(b * 5 + t) * 3 + c] - want) <= EXACT_TOL);
                }
        /* zero padding: the first row differs from the others on a constant input, circular: no row does */
        for (size_t i = 0; i < x->n; i++) x->data[i] = (real)0.5;
        graph_reset(&g);
        y = op_dwconv1d(&g, x, w, LEFT[v], CIRC[v]);
        double d0 = fabs(y->data[0] - y->data[2 * 3]);
        if (CIRC[v]) assert_true(d0 <= EXACT_TOL);
        else assert_true(d0 > 1e-3);
        arena_free(&ar);
        pt_free(x); pt_free(w);
    }
}

/* ---- reshape, split/merge heads */
static tensor *b_reshape(graph *g, tensor **x, void *c) {
    (void)c;
    int s[2] = {3, 4};
    return op_mul(g, op_reshape(g, x[0], 2, s), op_reshape(g, x[0], 2, s));  /* x^2: grad flows through views */
}
static tensor *b_split(graph *g, tensor **x, void *c) { (void)c; return op_split_heads(g, x[0], 3); }
static tensor *b_merge(graph *g, tensor **x, void *c) { (void)c; return op_merge_heads(g, x[0], 3); }

static void test_reshape_heads(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 2, 3, 1);
    pt_fill(x, 13, -1, 1, 0);
    tensor *in[1] = {x};
    check_op("reshape", b_reshape, in, 1, NULL);
    pt_free(x);
    x = pt_new3(2, 5, 6, 1);   /* B=2, T=5, H=3, D=2 */
    pt_fill(x, 14, -1, 1, 0);
    in[0] = x;
    check_op("split_heads", b_split, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *h = op_split_heads(&g, x, 3);
    assert_int_equal(h->shape[0], 6);
    assert_int_equal(h->shape[2], 2);
    /* element (b=1, t=4, h=2, d=1) */
    assert_true(h->data[((1 * 3 + 2) * 5 + 4) * 2 + 1] == x->data[(1 * 5 + 4) * 6 + 2 * 2 + 1]);
    tensor *back = op_merge_heads(&g, h, 3);
    for (size_t i = 0; i < x->n; i++) assert_true(back->data[i] == x->data[i]);
    arena_free(&ar);
    pt_free(x);
    x = pt_new3(6, 5, 2, 1);
    pt_fill(x, 15, -1, 1, 0);
    in[0] = x;
    check_op("merge_heads", b_merge, in, 1, NULL);
    pt_free(x);
}

/* ---- norms */
static tensor *b_layernorm(graph *g, tensor **x, void *c) { (void)c; return op_layernorm(g, x[0], x[1], x[2], (real)1e-5); }
static tensor *b_rmsnorm(graph *g, tensor **x, void *c) { (void)c; return op_rmsnorm(g, x[0], x[1], (real)1e-5); }

static tensor *b_unit_rows(graph *g, tensor **x, void *c) { (void)c; return op_unit_rows(g, x[0]); }
static tensor *b_elu1(graph *g, tensor **x, void *c) { (void)c; return op_elu1(g, x[0]); }

/* The feature maps of linear attention (8265): elu + 1 (positive, and e^x
 * below 0) and unit rows (cos1), against finite differences and their formulas;
 * a zero row stays zero. */
static void test_linear_feature_maps(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 3, 5, 1);
    pt_fill(x, 19, -2, 2, 0);
    tensor *in[1] = {x};
    check_op("unit_rows", b_unit_rows, in, 1, NULL);
    pt_fill(x, 20, -2, 2, 0);
    check_op("elu1", b_elu1, in, 1, NULL);
    for (int c = 0; c < 5; c++) x->data[5 + c] = 0;            /* row 1: zero */
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *e = op_elu1(&g, x), *u = op_unit_rows(&g, x);
    for (size_t i = 0; i < x->n; i++) {
        double want = x->data[i] > 0 ? x->data[i] + 1 : exp(x->data[i]);
        assert_true(e->data[i] > 0 && fabs(e->data[i] - want) < 1e-6);
    }
    for (int r = 0; r < 6; r++) {
        double n2 = 0;
        for (int c = 0; c < 5; c++) n2 += u->data[r * 5 + c] * u->data[r * 5 + c];
        assert_true(r == 1 ? n2 == 0 : fabs(n2 - 1) < 1e-6);
    }
    arena_free(&ar);
    pt_free(x);
}

static void test_norms(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 3, 7, 1), *gm = pt_new(1, (int[]){7}, 1), *bt = pt_new(1, (int[]){7}, 1);
    pt_fill(x, 16, -2, 2, 0);
    pt_fill(gm, 17, 0.5, 1.5, 0);
    pt_fill(bt, 18, -1, 1, 0);
    tensor *in[3] = {x, gm, bt};
    check_op("layernorm", b_layernorm, in, 3, NULL);
    check_op("rmsnorm", b_rmsnorm, in, 2, NULL);
    /* forward: with gamma = 1, beta = 0 each row has mean 0 and variance 1 */
    for (int c = 0; c < 7; c++) { gm->data[c] = 1; bt->data[c] = 0; }
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *y = op_layernorm(&g, x, gm, bt, (real)1e-5);
    for (int r = 0; r < 6; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < 7; c++) m += y->data[r * 7 + c];
        for (int c = 0; c < 7; c++) v += (y->data[r * 7 + c] - m / 7) * (y->data[r * 7 + c] - m / 7);
        assert_true(fabs(m / 7) < 1e-5);
        assert_true(fabs(v / 7 - 1) < 1e-3);
    }
    tensor *z = op_rmsnorm(&g, x, gm, (real)1e-5);
    for (int r = 0; r < 6; r++) {
        double ms = 0;
        for (int c = 0; c < 7; c++) ms += z->data[r * 7 + c] * z->data[r * 7 + c];
        assert_true(fabs(ms / 7 - 1) < 1e-3);
    }
    arena_free(&ar);
    pt_free(x); pt_free(gm); pt_free(bt);
}

/* ---- activations and small elementwise ops */
static tensor *b_relu(graph *g, tensor **x, void *c) { (void)c; return op_relu(g, x[0]); }
static tensor *b_gelu(graph *g, tensor **x, void *c) { (void)c; return op_gelu(g, x[0]); }
static tensor *b_swish(graph *g, tensor **x, void *c) { (void)c; return op_swish(g, x[0]); }
static tensor *b_exp(graph *g, tensor **x, void *c) { (void)c; return op_exp(g, x[0]); }
static tensor *b_sqrt(graph *g, tensor **x, void *c) { (void)c; return op_sqrt(g, x[0]); }
static tensor *b_rows_sum(graph *g, tensor **x, void *c) { (void)c; return op_rows_sum(g, x[0]); }
static tensor *b_rows_div(graph *g, tensor **x, void *c) { (void)c; return op_rows_div(g, x[0], x[1]); }

static void test_activations(void **state) {
    (void)state;
    tensor *x = pt_new2(3, 5, 1);
    pt_fill(x, 19, -3, 3, 0.1);   /* away from relu's kink at 0 */
    tensor *in[2] = {x, NULL};
    check_op("relu", b_relu, in, 1, NULL);
    check_op("gelu", b_gelu, in, 1, NULL);
    check_op("swish", b_swish, in, 1, NULL);
    check_op("exp", b_exp, in, 1, NULL);
    check_op("rows_sum", b_rows_sum, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *ge = op_gelu(&g, x), *sw = op_swish(&g, x), *re = op_relu(&g, x);
    for (size_t i = 0; i < x->n; i++) {
        double v = x->data[i];
        assert_true(fabs(ge->data[i] - v * 0.5 * (1 + erf(v / sqrt(2)))) < 1e-5);
        assert_true(fabs(sw->data[i] - v / (1 + exp(-v))) < 1e-5);
        assert_true(re->data[i] == (v > 0 ? x->data[i] : 0));
    }
    arena_free(&ar);
    pt_fill(x, 20, 0.5, 3, 0);
    check_op("sqrt", b_sqrt, in, 1, NULL);
    tensor *r = pt_new2(3, 1, 1);
    pt_fill(r, 21, 0.5, 2, 0);
    in[1] = r;
    check_op("rows_div", b_rows_div, in, 2, NULL);
    pt_free(r);
    pt_free(x);
}

static tensor *b_tanh(graph *g, tensor **x, void *c) { (void)c; return op_tanh(g, x[0]); }
static tensor *b_sigmoid(graph *g, tensor **x, void *c) { (void)c; return op_sigmoid(g, x[0]); }
static tensor *b_softplus(graph *g, tensor **x, void *c) { (void)c; return op_softplus(g, x[0]); }
static tensor *b_tile(graph *g, tensor **x, void *c) { (void)c; return op_tile(g, x[0], 4); }
static tensor *b_transpose(graph *g, tensor **x, void *c) { (void)c; return op_transpose(g, x[0]); }

static void test_more_elementwise(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 3, 5, 1);
    pt_fill(x, 27, -3, 3, 0);
    tensor *in[2] = {x, NULL};
    check_op("tanh", b_tanh, in, 1, NULL);
    check_op("sigmoid", b_sigmoid, in, 1, NULL);
    check_op("softplus", b_softplus, in, 1, NULL);
    check_op("transpose", b_transpose, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *t = op_transpose(&g, x), *sp = op_softplus(&g, x);
    assert_int_equal(t->shape[1], 5);
    assert_true(t->data[(1 * 5 + 4) * 3 + 2] == x->data[(1 * 3 + 2) * 5 + 4]);
    for (size_t i = 0; i < x->n; i++) assert_true(fabs(sp->data[i] - log1p(exp(x->data[i]))) < 1e-5);
    arena_free(&ar);
    pt_free(x);
    x = pt_new3(3, 1, 2, 1);
    pt_fill(x, 28, -1, 1, 0);
    in[0] = x;
    check_op("tile", b_tile, in, 1, NULL);
    pt_free(x);
}

/* per-head tables broadcast over the batch: (H, T, S) over (B*H, T, S) */
static void test_head_broadcast(void **state) {
    (void)state;
    tensor *a = pt_new3(6, 2, 3, 1), *b = pt_new3(3, 2, 3, 1);
    pt_fill(a, 29, -1, 1, 0);
    pt_fill(b, 30, -1, 1, 0);
    tensor *in[2] = {a, b};
    check_op("mul per head", b_mul, in, 2, NULL);
    check_op("add per head", b_add, in, 2, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *y = op_mul(&g, a, b);
    /* element (p=4, i=1, j=2) pairs with head p % 3 = 1 */
    assert_true(y->data[(4 * 2 + 1) * 3 + 2] == a->data[(4 * 2 + 1) * 3 + 2] * b->data[(1 * 2 + 1) * 3 + 2]);
    arena_free(&ar);
    pt_free(a);
    pt_free(b);
}

typedef struct { unsigned long seed; } dropout_ctx;
static double rng_uniform(void *r) { return gsl_rng_uniform(r); }
static tensor *b_dropout(graph *g, tensor **x, void *c) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, ((dropout_ctx *)c)->seed);   /* the same mask on every forward */
    tensor *y = op_dropout(g, x[0], (real)0.3, rng_uniform, r);
    gsl_rng_free(r);
    return y;
}

static void test_dropout(void **state) {
    (void)state;
    tensor *x = pt_new2(4, 50, 1);
    pt_fill(x, 22, 0.5, 1, 0);
    dropout_ctx c = {99};
    tensor *in[1] = {x};
    check_op("dropout", b_dropout, in, 1, &c);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *y = b_dropout(&g, in, &c);
    int zeros = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (y->data[i] == 0) zeros++;
        else assert_true(fabs(y->data[i] - x->data[i] / 0.7) < 1e-5);
    }
    assert_in_range(zeros, 30, 90);   /* 30% of 200, a generous band */
    arena_free(&ar);
    pt_free(x);
}

/* ---- softmax with an additive mask, including a fully masked row */
static tensor *g_mask;
static tensor *b_softmax(graph *g, tensor **x, void *c) { (void)c; return op_softmax(g, x[0], g_mask); }

static void test_softmax(void **state) {
    (void)state;
    tensor *x = pt_new3(2, 3, 4, 1);
    pt_fill(x, 23, -2, 2, 0);
    g_mask = pt_new2(3, 4, 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) g_mask->data[i * 4 + j] = (i == 2 || j <= i) ? 0 : (real)-INFINITY;
    for (int j = 0; j < 4; j++) g_mask->data[2 * 4 + j] = (real)-INFINITY;  /* row 2 fully masked */
    tensor *in[1] = {x};
    check_op("softmax", b_softmax, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *y = op_softmax(&g, x, g_mask);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++) {
            double s = 0;
            for (int j = 0; j < 4; j++) {
                s += y->data[(b * 3 + i) * 4 + j];
                if (g_mask->data[i * 4 + j] < 0) assert_true(y->data[(b * 3 + i) * 4 + j] == 0);
            }
            assert_true(fabs(s - (i == 2 ? 0 : 1)) < 1e-5);
        }
    arena_free(&ar);
    pt_free(g_mask);
    g_mask = NULL;
    pt_free(x);
}

/* ---- losses */
static const int CE_TARGETS[5] = {2, -1, 0, 3, -1};
static tensor *b_ce(graph *g, tensor **x, void *c) { (void)c; return op_cross_entropy(g, x[0], CE_TARGETS); }
static const real MSE_T[5] = {1, -2, 0.5, 3, 0};
static const real MSE_W[5] = {1, 0, 2, 1, 0.5};
static tensor *b_mse(graph *g, tensor **x, void *c) { (void)c; return op_mse(g, x[0], MSE_T, MSE_W); }

static void test_losses(void **state) {
    (void)state;
    tensor *z = pt_new2(5, 4, 1);
    pt_fill(z, 24, -2, 2, 0);
    tensor *in[1] = {z};
    check_op("cross_entropy", b_ce, in, 1, NULL);
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    double expect = 0;
    for (int r = 0; r < 5; r++) {
        if (CE_TARGETS[r] < 0) continue;
        double s = 0;
        for (int c = 0; c < 4; c++) s += exp(z->data[r * 4 + c]);
        expect += log(s) - z->data[r * 4 + CE_TARGETS[r]];
    }
    assert_true(fabs(op_cross_entropy(&g, z, CE_TARGETS)->data[0] - expect / 3) < 1e-5);
    int none[5] = {-1, -1, -1, -1, -1};
    assert_true(op_cross_entropy(&g, z, none)->data[0] == 0);
    tensor *p = pt_new(1, (int[]){5}, 1);
    pt_fill(p, 25, -2, 2, 0);
    in[0] = p;
    check_op("mse", b_mse, in, 1, NULL);
    double num = 0, den = 0;
    for (int i = 0; i < 5; i++) { num += MSE_W[i] * (p->data[i] - MSE_T[i]) * (p->data[i] - MSE_T[i]); den += MSE_W[i]; }
    assert_true(fabs(op_mse(&g, p, MSE_T, MSE_W)->data[0] - num / den) < 1e-5);
    arena_free(&ar);
    pt_free(p);
    pt_free(z);
}

/* ---- lazily zeroed gradients (engine.h, tensor_grad_beta): every op that
 * writes its inputs' grads itself, fed arena intermediates whose grads are
 * still unset, some used twice, so both the overwrite and the add paths run. */
static tensor *fresh(graph *g, tensor *x) { return op_scale(g, x, 1); }

static tensor *b_lazy_add(graph *g, tensor **x, void *c) {   /* x0 (2, 3, 5), x1 (3, 5) */
    (void)c;
    tensor *y = fresh(g, x[0]), *z = fresh(g, x[1]);
    return op_sub(g, op_add(g, op_add(g, y, y), y), z);      /* a == b; broadcast b */
}
static tensor *b_lazy_products(graph *g, tensor **x, void *c) {   /* x0 (2, 3, 5) w (5, 4) b (4) */
    (void)c;
    tensor *y = fresh(g, x[0]);
    tensor *lin = op_linear(g, y, fresh(g, x[1]), fresh(g, x[2]));   /* (2, 3, 4) */
    tensor *sq = op_bmm(g, y, y, 0, 1);                               /* (2, 3, 3), a == b */
    return op_bmm(g, sq, op_gelu(g, lin), 0, 0);                      /* (2, 3, 4) */
}
static tensor *b_lazy_norm_heads(graph *g, tensor **x, void *c) {   /* x0 (2, 3, 4) gamma, beta (4) */
    (void)c;
    tensor *y = fresh(g, x[0]);
    tensor *n = op_layernorm(g, y, fresh(g, x[1]), fresh(g, x[2]), (real)1e-5);
    tensor *h = op_split_heads(g, op_add(g, n, op_gelu(g, y)), 2);   /* (4, 3, 2) */
    attn_opts o = {(real)0.7, MASK_CAUSAL, NORM_SOFTMAX, 3, 2, 0, 0};
    tensor *bias = fresh(g, x[3]);                                   /* (2, 3, 3) per head */
    tensor *A = op_attn_probs(g, h, h, bias, &o);                    /* q == k */
    return op_merge_heads(g, op_bmm(g, A, h, 0, 0), 2);              /* (2, 3, 4) */
}

static void test_lazy_gradients(void **state) {
    (void)state;
    tensor *a = pt_new3(2, 3, 5, 1), *b = pt_new2(3, 5, 1);
    pt_fill(a, 31, -1, 1, 0);
    pt_fill(b, 32, -1, 1, 0);
    check_op("add/sub on unset grads", b_lazy_add, (tensor *[]){a, b}, 2, NULL);
    tensor *w = pt_new2(5, 4, 1), *bias = pt_new(1, (int[]){4}, 1);
    pt_fill(w, 33, -1, 1, 0);
    pt_fill(bias, 34, -1, 1, 0);
    check_op("linear/bmm/gelu on unset grads", b_lazy_products, (tensor *[]){a, w, bias}, 3, NULL);
    tensor *x = pt_new3(2, 3, 4, 1), *gam = pt_new(1, (int[]){4}, 1), *bet = pt_new(1, (int[]){4}, 1);
    tensor *hb = pt_new3(2, 3, 3, 1);
    pt_fill(x, 35, -1, 1, 0);
    pt_fill(gam, 36, 0.5, 1.5, 0);
    pt_fill(bet, 37, -1, 1, 0);
    pt_fill(hb, 38, -1, 1, 0);
    check_op("layernorm/heads/attention on unset grads", b_lazy_norm_heads, (tensor *[]){x, gam, bet, hb}, 4, NULL);

    /* after backward every grad is complete: one no node reached is zero */
    arena ar;
    graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 1);
    tensor *unused = fresh(&g, a);
    for (size_t i = 0; i < a->n; i++) a->grad[i] = 0;
    graph_backward(&g, op_sum(&g, fresh(&g, a)));
    for (size_t i = 0; i < unused->n; i++) assert_true(unused->grad[i] == 0);
    for (size_t i = 0; i < a->n; i++) assert_true(a->grad[i] == 1);
    arena_free(&ar);
    pt_free(a); pt_free(b); pt_free(w); pt_free(bias); pt_free(x); pt_free(gam); pt_free(bet); pt_free(hb);
}

/* ---- the checker itself must fail on a wrong backward */
static void wrong_backward(node *nd) {
    for (size_t i = 0; i < nd->out->n; i++) nd->in[0]->grad[i] += (real)1.05 * nd->out->grad[i];  /* 5% off */
}
static tensor *b_wrong(graph *g, tensor **x, void *c) {
    (void)c;
    tensor *out = tensor_new(g, x[0]->ndim, x[0]->shape, graph_needs_grad(g, x[0], NULL, NULL, NULL));
    for (size_t i = 0; i < out->n; i++) out->data[i] = x[0]->data[i];
    graph_record(g, "wrong", wrong_backward, out, x[0], NULL, NULL, NULL);
    return out;
}

static void test_gradcheck_catches_wrong_backward(void **state) {
    (void)state;
    tensor *x = pt_new2(2, 3, 1);
    pt_fill(x, 26, -1, 1, 0);
    tensor *in[1] = {x};
    gc_result r = gradcheck(b_wrong, in, 1, NULL, 5);
    assert_true(r.max_err > GC_TOL);
    pt_free(x);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_binary_ops),
    cmocka_unit_test(test_unary_reductions),
    cmocka_unit_test(test_matmul),
    cmocka_unit_test(test_bmm),
    cmocka_unit_test(test_linear),
    cmocka_unit_test(test_embedding),
    cmocka_unit_test(test_dwconv1d),
    cmocka_unit_test(test_reshape_heads),
    cmocka_unit_test(test_norms),
    cmocka_unit_test(test_linear_feature_maps),
    cmocka_unit_test(test_activations),
    cmocka_unit_test(test_dropout),
    cmocka_unit_test(test_more_elementwise),
    cmocka_unit_test(test_head_broadcast),
    cmocka_unit_test(test_softmax),
    cmocka_unit_test(test_losses),
    cmocka_unit_test(test_gradcheck_catches_wrong_backward),
    cmocka_unit_test(test_lazy_gradients),
};
const test_group test_group_ops = {"ops", TESTS, sizeof TESTS / sizeof *TESTS};
