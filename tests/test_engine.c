/* The arena, the tape, and a whole-graph directional-derivative check. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

enum { V = 7, T = 5, C = 8, H = 2, F = 12, B = 2 };

/* A miniature transformer block as one flat parameter block, the way the
 * model keeps its parameters. */
typedef struct {
    real *theta, *grad;
    size_t n;
    tensor emb, pos, gamma, beta, wq, wk, wv, wo, w1, w2;
} mini;

static tensor take(mini *m, size_t *off, int ndim, const int *shape) {
    tensor t = tensor_view(m->theta + *off, m->grad + *off, ndim, shape);
    *off += t.n;
    return t;
}

static void mini_init(mini *m) {
    m->n = V * C + T * C + 2 * C + 4 * C * C + 2 * C * F;
    m->theta = calloc(m->n, sizeof(real));
    m->grad = calloc(m->n, sizeof(real));
    size_t off = 0;
    m->emb = take(m, &off, 2, (int[]){V, C});
    m->pos = take(m, &off, 2, (int[]){T, C});
    m->gamma = take(m, &off, 1, (int[]){C});
    m->beta = take(m, &off, 1, (int[]){C});
    m->wq = take(m, &off, 2, (int[]){C, C});
    m->wk = take(m, &off, 2, (int[]){C, C});
    m->wv = take(m, &off, 2, (int[]){C, C});
    m->wo = take(m, &off, 2, (int[]){C, C});
    m->w1 = take(m, &off, 2, (int[]){C, F});
    m->w2 = take(m, &off, 2, (int[]){F, C});
    assert_int_equal(off, m->n);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1234);
    for (size_t i = 0; i < m->n; i++) m->theta[i] = (real)(0.5 * (2 * gsl_rng_uniform(r) - 1));
    for (int c = 0; c < C; c++) m->gamma.data[c] = 1;
    gsl_rng_free(r);
}

static const int IDS[B * T] = {1, 3, 3, 0, 6, 2, 2, 5, 4, 1};
static const int TARGETS[B * T] = {3, 3, -1, 6, 2, 2, 5, 4, -1, 0};

static tensor *mini_loss(graph *g, mini *m, attn_norm norm) {
    int pos_ids[B * T];
    for (int i = 0; i < B * T; i++) pos_ids[i] = i % T;
    tensor *x = op_add(g, op_embedding(g, &m->emb, IDS, B * T), op_embedding(g, &m->pos, pos_ids, B * T)); /* (N, C) */
    x = op_reshape(g, x, 3, (int[]){B, T, C});
    tensor *h = op_layernorm(g, x, &m->gamma, &m->beta, (real)1e-5);
    tensor *q = op_split_heads(g, op_linear(g, h, &m->wq, NULL), H);                  /* (B*H, T, D) */
    tensor *k = op_split_heads(g, op_linear(g, h, &m->wk, NULL), H);
    tensor *v = op_split_heads(g, op_linear(g, h, &m->wv, NULL), H);
    attn_opts o = {(real)(1 / sqrt(C / H)), MASK_CAUSAL, norm, T, H, 0, 0};
    tensor *att;
    if (norm == NORM_COS1)   /* linear attention (8265): the model's feature maps, no rotation here */
        att = op_linear_attention(g, op_unit_rows(g, q), op_unit_rows(g, k), v, NULL, NULL, 1, &o);
    else if (attn_norm_is_linear(norm))
        att = op_linear_attention(g, op_elu1(g, q), op_elu1(g, k), v, NULL, NULL, 0, &o);
    else
        att = op_attention(g, q, k, v, NULL, &o);
    tensor *a = op_merge_heads(g, att, H);                                            /* (B, T, C) */
    x = op_add(g, x, op_linear(g, a, &m->wo, NULL));
    x = op_add(g, x, op_linear(g, op_gelu(g, op_linear(g, x, &m->w1, NULL)), &m->w2, NULL));
    tensor *logits = op_reshape(g, x, 2, (int[]){B * T, C});                         /* C >= V classes */
    return op_cross_entropy(g, logits, TARGETS);
}

static double loss_at(mini *m, arena *ar, attn_norm norm) {
    graph g;
    graph_init(&g, ar, 0);
    double L = mini_loss(&g, m, norm)->data[0];
    graph_reset(&g);
    return L;
}

/* kann-style: g.d against the 4-point difference of L along d. */
static void test_directional_derivative(void **state) {
    (void)state;
    for (int norm = 0; norm < NORM_COUNT; norm++) {
        mini m;
        mini_init(&m);
        arena ar;
        arena_init(&ar, 0);
        graph g;
        graph_init(&g, &ar, 1);
        graph_backward(&g, mini_loss(&g, &m, (attn_norm)norm));
        graph_reset(&g);
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 77 + (unsigned long)norm);
        double *d = malloc(m.n * sizeof *d), gd = 0, nrm = 0;
        for (size_t i = 0; i < m.n; i++) { d[i] = 2 * gsl_rng_uniform(r) - 1; nrm += d[i] * d[i]; }
        for (size_t i = 0; i < m.n; i++) { d[i] /= sqrt(nrm); gd += d[i] * m.grad[i]; }
        real *theta0 = malloc(m.n * sizeof(real));
        memcpy(theta0, m.theta, m.n * sizeof(real));
        double f[4];
        const double hs[4] = {2 * GC_STEP, GC_STEP, -GC_STEP, -2 * GC_STEP};
        for (int s = 0; s < 4; s++) {
            for (size_t i = 0; i < m.n; i++) m.theta[i] = (real)(theta0[i] + hs[s] * d[i]);
            f[s] = loss_at(&m, &ar, (attn_norm)norm);
        }
        double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * GC_STEP);
        double err = fabs(numeric - gd) / fmax(fmax(fabs(gd), fabs(numeric)), GC_FLOOR);
        if (!(err <= GC_TOL))
            fail_msg("%s: directional derivative %.12g, numeric %.12g (error %.3g)", attn_norm_name(norm), gd, numeric, err);
        free(theta0);
        free(d);
        gsl_rng_free(r);
        arena_free(&ar);
        free(m.theta);
        free(m.grad);
    }
}

/* After the first step, the arena neither grows nor mallocs. */
static void test_arena_reused_without_growth(void **state) {
    (void)state;
    mini m;
    mini_init(&m);
    arena ar;
    arena_init(&ar, 4096);   /* deliberately small: the first step must grow it */
    graph g;
    graph_init(&g, &ar, 1);
    size_t high = 0, mallocs = 0, cap = 0;
    for (int step = 0; step < 6; step++) {
        graph_backward(&g, mini_loss(&g, &m, NORM_SOFTMAX));
        graph_reset(&g);
        if (step == 0) {
            high = ar.high_water;
            mallocs = ar.n_mallocs;
            cap = ar.capacity;
            assert_true(mallocs > 1);
        } else {
            assert_int_equal(ar.high_water, high);
            assert_int_equal(ar.n_mallocs, mallocs);
            assert_int_equal(ar.capacity, cap);
        }
    }
    assert_true(cap >= high);
    arena_free(&ar);
    free(m.theta);
    free(m.grad);
}

/* Evaluation records no tape and allocates no gradients. */
static void test_eval_records_nothing(void **state) {
    (void)state;
    mini m;
    mini_init(&m);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *L = mini_loss(&g, &m, NORM_SOFTMAX);
    assert_null(L->grad);
    assert_int_equal(g.n_nodes, 0);
    graph_reset(&g);
    g.record_grad = 1;
    L = mini_loss(&g, &m, NORM_SOFTMAX);
    assert_non_null(L->grad);
    assert_true(g.n_nodes > 10);
    /* creation order: the last node is the loss */
    assert_string_equal(g.last->op, "cross_entropy");
    arena_free(&ar);
    free(m.theta);
    free(m.grad);
}

/* Gradients accumulate (+=): two backward passes give twice the gradient. */
static void test_gradients_accumulate(void **state) {
    (void)state;
    mini m;
    mini_init(&m);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    graph_backward(&g, mini_loss(&g, &m, NORM_L2));
    graph_reset(&g);
    real *once = malloc(m.n * sizeof(real));
    memcpy(once, m.grad, m.n * sizeof(real));
    graph_backward(&g, mini_loss(&g, &m, NORM_L2));
    graph_reset(&g);
    for (size_t i = 0; i < m.n; i++) assert_true(fabs(m.grad[i] - 2 * once[i]) <= 1e-5 * fmax(1, fabs(once[i])));
    free(once);
    arena_free(&ar);
    free(m.theta);
    free(m.grad);
}

static void test_names_parse(void **state) {
    (void)state;
    for (int k = 0; k < NORM_COUNT; k++) {
        attn_norm n;
        assert_int_equal(attn_norm_parse(attn_norm_name((attn_norm)k), &n), 0);
        assert_int_equal(n, k);
    }
    attn_norm n;
    assert_int_equal(attn_norm_parse("softmax2", &n), -1);
    attn_mask mk;
    assert_int_equal(attn_mask_parse("causal", &mk), 0);
    assert_int_equal(mk, MASK_CAUSAL);
    assert_int_equal(attn_mask_parse("Causal", &mk), -1);
}

/* vec_exp / vec_erf (libmvec): within 4 ulp of the scalar functions over the
 * range training meets, exact at the edges (overflow to inf, underflow to 0,
 * NaN through), and an element's value independent of its place in the array
 * (full vectors and the padded tail give the same bits). */
static double ulps(real a, real b) {
    if (a == b) return 0;
#ifdef POSPROBE_DOUBLE
    real next = nextafter(b, a > b ? INFINITY : -INFINITY);
#else
    real next = nextafterf(b, a > b ? INFINITY : -INFINITY);
#endif
    return fabs((double)a - b) / fabs((double)next - b);
}

/* max_real (eight lanes) finds the maximum wherever it is, for lengths that
 * exercise the lanes and the tail; -INFINITY for an empty row. */
static void test_row_max(void **state) {
    (void)state;
    real x[40];
    assert_true(max_real(x, 0) == -INFINITY);
    for (int n = 1; n <= 40; n++)
        for (int at = 0; at < n; at++) {
            for (int j = 0; j < n; j++) x[j] = (real)(-3 - (j * 7 % 11));   /* all below -2 */
            x[at] = (real)-1.5;
            if (max_real(x, n) != (real)-1.5) fail_msg("n = %d, maximum at %d: got %g", n, at, (double)max_real(x, n));
        }
}

static void test_vector_exp_erf(void **state) {
    (void)state;
    enum { N = 4001 };
    real *x = malloc(N * sizeof(real)), *y = malloc(N * sizeof(real));
    for (int i = 0; i < N; i++) x[i] = (real)(-80 + 160.0 * i / (N - 1));   /* -80 .. 80 */
    vec_exp(x, y, N);
    for (int i = 0; i < N; i++) if (ulps(y[i], real_exp(x[i])) > 4) fail_msg("exp(%g): %.17g vs %.17g", (double)x[i], (double)y[i], (double)real_exp(x[i]));
    for (int i = 0; i < N; i++) x[i] = (real)(-6 + 12.0 * i / (N - 1));
    vec_erf(x, y, N);
    for (int i = 0; i < N; i++) if (ulps(y[i], real_erf(x[i])) > 4) fail_msg("erf(%g): %.17g vs %.17g", (double)x[i], (double)y[i], (double)real_erf(x[i]));
    real edge[5] = {(real)1e4, (real)-1e4, (real)NAN, 0, (real)-INFINITY}, out[5];
    vec_exp(edge, out, 5);
    assert_true(isinf(out[0]) && out[0] > 0);
    assert_true(out[1] == 0 && out[4] == 0 && out[3] == 1);
    assert_true(isnan(out[2]));
    for (int n = 1; n <= 19; n++) {            /* every tail length, every position */
        vec_exp(x + 1000, y, (size_t)n);
        for (int i = 0; i < n; i++) {
            real one;
            vec_exp(x + 1000 + i, &one, 1);
            assert_true(one == y[i]);
        }
    }
    free(x);
    free(y);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_vector_exp_erf),
    cmocka_unit_test(test_row_max),
    cmocka_unit_test(test_directional_derivative),
    cmocka_unit_test(test_arena_reused_without_growth),
    cmocka_unit_test(test_eval_records_nothing),
    cmocka_unit_test(test_gradients_accumulate),
    cmocka_unit_test(test_names_parse),
};
const test_group test_group_engine = {"engine", TESTS, sizeof TESTS / sizeof *TESTS};
