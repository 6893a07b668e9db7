/* Fused attention: every normalizer x mask against finite differences and
 * against the same attention composed from plain ops. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    attn_opts o;
    int with_bias;
} attn_ctx;

static tensor *b_attention(graph *g, tensor **x, void *c) {
    attn_ctx *a = c;
    return op_attention(g, x[0], x[1], x[2], a->with_bias ? x[3] : NULL, &a->o);
}

/* The same computation from plain ops (softmax, exp, sqrt, rows_sum, ...). */
static tensor *b_composed(graph *g, tensor **x, void *c) {
    attn_ctx *a = c;
    tensor *q = x[0], *k = x[1], *v = x[2], *bias = x[3];
    int P = q->shape[0], T = q->shape[1], S = k->shape[1];
    tensor *b = op_scale(g, op_bmm(g, q, k, 0, 1), a->o.scale);               /* (P, T, S) */
    if (a->with_bias) b = op_add(g, b, bias);
    tensor *add_mask = tensor_new2(g, T, S, 0), *mul_mask = tensor_new2(g, T, S, 0);
    tensor *inv_n = tensor_new2(g, T, S, 0), *temp = tensor_new2(g, T, S, 0);
    for (int i = 0; i < T; i++) {
        int n = a->o.mask == MASK_CAUSAL ? i + S - T + 1 : S;
        for (int j = 0; j < S; j++) {
            int vis = j < n;
            add_mask->data[i * S + j] = vis ? 0 : (real)-INFINITY;
            mul_mask->data[i * S + j] = (real)vis;
            inv_n->data[i * S + j] = vis ? (real)(1.0 / n) : 0;
            temp->data[i * S + j] = (real)(log((double)n) / log((double)a->o.n_train));
        }
    }
    tensor *A = NULL;
    switch (a->o.norm) {
    case NORM_SOFTMAX: A = op_softmax(g, b, add_mask); break;
    case NORM_LOGSCALED: A = op_softmax(g, op_mul(g, b, temp), add_mask); break;
    case NORM_NODENOM: A = op_exp(g, op_add(g, b, add_mask)); break;
    case NORM_L2: {
        tensor *e = op_exp(g, op_add(g, b, add_mask));
        A = op_rows_div(g, e, op_sqrt(g, op_rows_sum(g, op_mul(g, e, e))));
        break;
    }
    case NORM_RELU2N: {
        tensor *r = op_relu(g, b);
        A = op_mul(g, op_mul(g, r, r), inv_n);
        break;
    }
    case NORM_SWISHL2: {
        tensor *s = op_mul(g, op_swish(g, b), mul_mask);
        A = op_rows_div(g, s, op_sqrt(g, op_rows_sum(g, op_mul(g, s, s))));
        break;
    }
    default: fail_msg("unknown normalizer");
    }
    (void)P;
    return op_bmm(g, A, v, 0, 0);
}

static void fill_inputs(tensor **x, unsigned long seed) {
    for (int i = 0; i < 4; i++) pt_fill(x[i], seed + (unsigned long)i, -1, 1, 0);
}

/* shapes: B=2, H=2 (P=4), D=3 (odd), T=S in {1, 5}; plus T=2 < S=5 (a causal
 * query block at the end of a longer key sequence). */
static void check_all_norms(int T, int S, int bias_per_batch) {
    const int H = 2, P = 4, D = 3;
    for (int mask = 0; mask < 2; mask++)
        for (int norm = 0; norm < NORM_COUNT; norm++) {
            if (mask == MASK_BIDIR && T != S) continue;
            if (attn_norm_is_linear((attn_norm)norm)) continue;   /* no scores: test_linear_attention_* */
            tensor *x[4] = {pt_new3(P, T, D, 1), pt_new3(P, S, D, 1), pt_new3(P, S, 2, 1),
                            pt_new3(bias_per_batch ? P : H, T, S, 1)};
            fill_inputs(x, 100 + (unsigned long)(norm * 7 + mask));
            attn_ctx c = {{(real)(1 / sqrt(D)), (attn_mask)mask, (attn_norm)norm, 4, H, 0, 0}, 1};
            char what[96];
            snprintf(what, sizeof what, "attention %s %s T=%d S=%d", attn_norm_name(norm), attn_mask_name(mask), T, S);
            assert_gradcheck(what, gradcheck(b_attention, x, 4, &c, 3));
            c.with_bias = 0;
            assert_gradcheck(what, gradcheck(b_attention, x, 3, &c, 4));
            for (int i = 0; i < 4; i++) pt_free(x[i]);
        }
}

static void test_attention_gradients(void **state) {
    (void)state;
    check_all_norms(5, 5, 0);
    check_all_norms(1, 1, 1);
    check_all_norms(2, 5, 1);
}

/* Two builds of one function agree in the loss and in every input gradient. */
static void assert_same_loss_and_grads(const char *what, gc_build_fn f1, gc_build_fn f2, tensor **x, int n, void *ctx) {
#ifdef POSPROBE_DOUBLE
    const double tol = 1e-10;
#else
    const double tol = 2e-4;
#endif
    real *g1[8];
    if (n > 8) fail_msg("%s: at most 8 inputs", what);
    double L1 = gc_loss_and_grad(f1, x, n, ctx, 9);
    for (int i = 0; i < n; i++) {
        g1[i] = malloc(x[i]->n * sizeof(real));
        memcpy(g1[i], x[i]->grad, x[i]->n * sizeof(real));
    }
    double L2 = gc_loss_and_grad(f2, x, n, ctx, 9);
    if (fabs(L1 - L2) > tol * fmax(1, fabs(L2))) fail_msg("%s: loss %.12g against %.12g", what, L1, L2);
    for (int i = 0; i < n; i++) {
        for (size_t e = 0; e < x[i]->n; e++)
            if (fabs(g1[i][e] - x[i]->grad[e]) > tol * fmax(1, fabs(x[i]->grad[e])))
                fail_msg("%s: input %d element %zu: grad %.12g against %.12g", what, i, e, (double)g1[i][e],
                         (double)x[i]->grad[e]);
        free(g1[i]);
    }
}

/* Fused and composed agree in value and in every input gradient. */
static void test_attention_matches_composition(void **state) {
    (void)state;
    const int P = 4, T = 6, S = 6, D = 4;
    for (int mask = 0; mask < 2; mask++)
        for (int norm = 0; norm < NORM_COUNT; norm++) {
            if (attn_norm_is_linear((attn_norm)norm)) continue;
            tensor *x[4] = {pt_new3(P, T, D, 1), pt_new3(P, S, D, 1), pt_new3(P, S, 3, 1), pt_new3(P, T, S, 1)};
            fill_inputs(x, 200 + (unsigned long)norm);
            attn_ctx c = {{(real)0.5, (attn_mask)mask, (attn_norm)norm, 3, 2, 0, 0}, 1};
            char what[96];
            snprintf(what, sizeof what, "fused against composed, %s %s", attn_norm_name(norm), attn_mask_name(mask));
            assert_same_loss_and_grads(what, b_attention, b_composed, x, 4, &c);
            for (int i = 0; i < 4; i++) pt_free(x[i]);
        }
}

/* Merged heads (attn_opts.merged): q, k, v (B, T, H*D) as a linear layer
 * writes them. Against finite differences, and against split_heads ->
 * attention -> merge_heads. */
static tensor *b_attention_split(graph *g, tensor **x, void *c) {
    attn_ctx a = *(attn_ctx *)c;
    int H = a.o.heads;
    a.o.merged = 0;
    tensor *out = op_attention(g, op_split_heads(g, x[0], H), op_split_heads(g, x[1], H), op_split_heads(g, x[2], H),
                               a.with_bias ? x[3] : NULL, &a.o);
    return op_merge_heads(g, out, H);
}

static void test_attention_merged_heads(void **state) {
    (void)state;
    const int B = 2, H = 2, D = 3, Dv = 2;
    const int TS[3][2] = {{5, 5}, {1, 1}, {2, 5}};
    for (int shape = 0; shape < 3; shape++)
        for (int mask = 0; mask < 2; mask++)
            for (int norm = 0; norm < NORM_COUNT; norm++) {
                int T = TS[shape][0], S = TS[shape][1];
                if (mask == MASK_BIDIR && T != S) continue;
                if (attn_norm_is_linear((attn_norm)norm)) continue;
                tensor *x[4] = {pt_new3(B, T, H * D, 1), pt_new3(B, S, H * D, 1), pt_new3(B, S, H * Dv, 1),
                                pt_new3(H, T, S, 1)};
                fill_inputs(x, 300 + (unsigned long)(norm * 7 + mask));
                attn_ctx c = {{(real)(1 / sqrt(D)), (attn_mask)mask, (attn_norm)norm, 4, H, 1, 0}, 1};
                char what[96];
                snprintf(what, sizeof what, "merged heads %s %s T=%d S=%d", attn_norm_name(norm), attn_mask_name(mask), T, S);
                assert_gradcheck(what, gradcheck(b_attention, x, 4, &c, 3));
                assert_same_loss_and_grads(what, b_attention, b_attention_split, x, 4, &c);
                c.with_bias = 0;
                assert_same_loss_and_grads(what, b_attention, b_attention_split, x, 3, &c);
                for (int i = 0; i < 4; i++) pt_free(x[i]);
            }
}

/* The 9105 argument in its smallest form: identical values, any logits.
 * Softmax rows sum to 1, so every output equals v; l2 and nodenom do not. */
static void test_constant_values_row_sums(void **state) {
    (void)state;
    const int T = 8;
    arena ar; graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *q = tensor_new3(&g, 1, T, 1, 0), *k = tensor_new3(&g, 1, T, 1, 0), *v = tensor_new3(&g, 1, T, 1, 0);
    tensor *bias = tensor_new3(&g, 1, T, T, 0);
    for (int i = 0; i < T; i++) { q->data[i] = 0; k->data[i] = 0; v->data[i] = 1; }
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) bias->data[i * T + j] = (real)(-0.5 * fabs((double)(i - j)));
    /* docs/articles.md, reference numbers: row sums for b_ij = -0.5 |i - j|, n = 8 */
    const double l2[8] = {1.984, 2.200, 2.349, 2.422, 2.422, 2.349, 2.200, 1.984};
    const double nd[8] = {2.495, 3.071, 3.389, 3.530, 3.530, 3.389, 3.071, 2.495};
    attn_opts o = {1, MASK_BIDIR, NORM_SOFTMAX, 2, 1, 0, 0};
    tensor *out = op_attention(&g, q, k, v, bias, &o);
    for (int i = 0; i < T; i++) assert_true(fabs(out->data[i] - 1) < 1e-6);
    o.norm = NORM_L2;
    out = op_attention(&g, q, k, v, bias, &o);
    for (int i = 0; i < T; i++) assert_true(fabs(out->data[i] - l2[i]) < 5e-4);
    o.norm = NORM_NODENOM;
    out = op_attention(&g, q, k, v, bias, &o);
    for (int i = 0; i < T; i++) assert_true(fabs(out->data[i] - nd[i]) < 5e-4);
    arena_free(&ar);
}

/* ---- linear attention (8265): the linear form against finite differences and against the quadratic one */
typedef struct {
    attn_opts o;
    real c;
    int with_v, with_den;   /* op_linear_attn_sum with v or without; op_linear_attention with qd, kd */
} lin_ctx;

static tensor *b_lin_sum(graph *g, tensor **x, void *ctx) {
    lin_ctx *a = ctx;
    return op_linear_attn_sum(g, x[0], x[1], a->with_v ? x[2] : NULL, a->c, &a->o);
}

static tensor *b_lin_attention(graph *g, tensor **x, void *ctx) {
    lin_ctx *a = ctx;
    return op_linear_attention(g, x[0], x[1], x[2], a->with_den ? x[3] : NULL, a->with_den ? x[4] : NULL, a->c, &a->o);
}

static tensor *b_lin_quadratic(graph *g, tensor **x, void *ctx) {
    lin_ctx *a = ctx;
    tensor *A = op_linear_attn_probs(g, x[0], x[1], a->with_den ? x[3] : NULL, a->with_den ? x[4] : NULL, a->c, &a->o);
    return op_attn_values(g, A, x[2], &a->o);
}

/* shapes as check_all_norms: T = S in {5, 1}, and a causal block of 2 query rows over 5 keys */
static const int LIN_TS[3][2] = {{5, 5}, {1, 1}, {2, 5}};

static void test_linear_attention_gradients(void **state) {
    (void)state;
    const int P = 4, D = 3, Dv = 2;
    for (int shape = 0; shape < 3; shape++)
        for (int mask = 0; mask < 2; mask++)
            for (int ci = 0; ci < 2; ci++) {
                int T = LIN_TS[shape][0], S = LIN_TS[shape][1];
                if (mask == MASK_BIDIR && T != S) continue;
                /* numerators: any signs; the denominators of op_linear_attention from positive features */
                tensor *x[5] = {pt_new3(P, T, D, 1), pt_new3(P, S, D, 1), pt_new3(P, S, Dv, 1), pt_new3(P, T, D, 1),
                                pt_new3(P, S, D, 1)};
                for (int i = 0; i < 5; i++) pt_fill(x[i], 400 + (unsigned long)(shape * 20 + mask * 10 + ci * 5 + i),
                                                    i >= 3 ? 0.2 : -1, 1, 0);
                lin_ctx c = {{1, (attn_mask)mask, NORM_LINEAR, 2, 2, 0, 0}, (real)ci, 1, 1};
                char what[128];
                snprintf(what, sizeof what, "linear attention sum %s T=%d S=%d c=%d", attn_mask_name(mask), T, S, ci);
                assert_gradcheck(what, gradcheck(b_lin_sum, x, 3, &c, 5));
                c.with_v = 0;
                assert_gradcheck(what, gradcheck(b_lin_sum, x, 2, &c, 6));
                snprintf(what, sizeof what, "linear attention %s T=%d S=%d c=%d", attn_mask_name(mask), T, S, ci);
                assert_gradcheck(what, gradcheck(b_lin_attention, x, 5, &c, 7));
                for (int i = 0; i < 5; i++) pt_free(x[i]);
            }
}

/* The linear form (running sums, never (T, S)) equals the quadratic form
 * (the weights materialised from plain ops, then A V) in value and in every
 * input gradient: denominators from the same features or from others,
 * c = 0 (elu + 1) and 1 (cos1), both masks and a causal query block. */
static void test_linear_attention_matches_quadratic(void **state) {
    (void)state;
    const int P = 4, D = 4, Dv = 3;
    for (int shape = 0; shape < 3; shape++)
        for (int mask = 0; mask < 2; mask++)
            for (int ci = 0; ci < 2; ci++)
                for (int den = 0; den < 2; den++) {
                    int T = LIN_TS[shape][0] + 1, S = LIN_TS[shape][1] + 1;
                    if (mask == MASK_BIDIR && T != S) continue;
                    tensor *x[5] = {pt_new3(P, T, D, 1), pt_new3(P, S, D, 1), pt_new3(P, S, Dv, 1),
                                    pt_new3(P, T, D, 1), pt_new3(P, S, D, 1)};
                    /* with the same features (den = 0) they must keep the denominator away from 0 */
                    for (int i = 0; i < 5; i++)
                        pt_fill(x[i], 500 + (unsigned long)(shape * 40 + mask * 20 + ci * 10 + den * 5 + i),
                                i == 2 || (den && i < 2) ? -1 : 0.1, 1, 0);
                    lin_ctx c = {{1, (attn_mask)mask, NORM_LINEAR, 2, 2, 0, 0}, (real)ci, 1, den};
                    char what[128];
                    snprintf(what, sizeof what, "linear against quadratic %s T=%d S=%d c=%d den=%d", attn_mask_name(mask),
                             T, S, ci, den);
                    assert_same_loss_and_grads(what, b_lin_attention, b_lin_quadratic, x, den ? 5 : 3, &c);
                    for (int i = 0; i < 5; i++) pt_free(x[i]);
                }
}

/* The linear form reads keys and values in place from a cache with room for
 * more rows (attn_opts.kv_rows), as the quadratic form reads compact ones. */
static void test_linear_attention_kv_rows(void **state) {
    (void)state;
    const int P = 3, T = 2, S = 5, D = 3, Dv = 2, R = 7;   /* R rows per head in the cache */
    arena ar;
    graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    tensor *q = tensor_new3(&g, P, T, D, 0), *k = tensor_new3(&g, P, S, D, 0), *v = tensor_new3(&g, P, S, Dv, 0);
    tensor *kc = tensor_new3(&g, P, R, D, 0), *vc = tensor_new3(&g, P, R, Dv, 0);
    for (size_t i = 0; i < q->n; i++) q->data[i] = (real)(0.1 + 0.05 * (double)(i % 7));
    for (size_t i = 0; i < k->n; i++) k->data[i] = (real)(0.2 + 0.03 * (double)(i % 5));
    for (size_t i = 0; i < v->n; i++) v->data[i] = (real)(-0.5 + 0.1 * (double)(i % 9));
    for (int p = 0; p < P; p++) {
        memcpy(kc->data + (size_t)p * R * D, k->data + (size_t)p * S * D, (size_t)S * D * sizeof(real));
        memcpy(vc->data + (size_t)p * R * Dv, v->data + (size_t)p * S * Dv, (size_t)S * Dv * sizeof(real));
    }
    tensor kview = tensor_view(kc->data, NULL, 3, (int[]){P, S, D}), vview = tensor_view(vc->data, NULL, 3, (int[]){P, S, Dv});
    attn_opts o = {1, MASK_CAUSAL, NORM_LINEAR, 2, 1, 0, 0};
    tensor *want = op_attn_values(&g, op_linear_attn_probs(&g, q, k, NULL, NULL, 1, &o), v, &o);
    o.kv_rows = R;
    tensor *got = op_linear_attention(&g, q, &kview, &vview, NULL, NULL, 1, &o);
    for (size_t i = 0; i < want->n; i++) assert_true(fabs(got->data[i] - want->data[i]) <= EXACT_TOL);
    arena_free(&ar);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_attention_gradients),
    cmocka_unit_test(test_attention_matches_composition),
    cmocka_unit_test(test_attention_merged_heads),
    cmocka_unit_test(test_constant_values_row_sums),
    cmocka_unit_test(test_linear_attention_gradients),
    cmocka_unit_test(test_linear_attention_matches_quadratic),
    cmocka_unit_test(test_linear_attention_kv_rows),
};
const test_group test_group_attention = {"attention", TESTS, sizeof TESTS / sizeof *TESTS};
