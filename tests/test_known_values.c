/* Values checked against numbers computed by hand, where a mistake would
 * otherwise only move an accuracy bar: AdamW's first two steps (bias
 * correction, epsilon outside the root, decoupled weight decay on matrices
 * only, gradient clipping), and the softmaxes at logits whose exponentials
 * overflow without the max shift. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "model.h"
#include "run.h"

#ifdef POSPROBE_DOUBLE
#define STEP_TOL 1e-13
#else
#define STEP_TOL 1e-6
#endif

/* Decay applies to the weight matrices (attn.wq .. wo, mlp.w1, w2, head.w)
 * and nothing else (biases, norm gains and shifts, the token embedding): the
 * rule, written here by name, not read from the flags the model declares. */
static int decays(const char *name) {
    const char *last = strrchr(name, '.');
    return last && last[1] == 'w';
}

/* Two run_step calls against AdamW written out:
 *   g' = g min(1, clip / ||g||)
 *   m_t = b1 m + (1 - b1) g',  v_t = b2 v + (1 - b2) g'^2
 *   w_t = w (1 - lr wd [matrix]) - lr (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)
 * with eps large enough (1e-3) that putting it inside the root, dropping the
 * bias correction, or decaying a bias or a norm gain moves some weight by far
 * more than the tolerance. */
static void test_adamw_two_steps_by_hand(void **state) {
    (void)state;
    run_config c;
    config_defaults(&c);
    snprintf(c.encoding, sizeof c.encoding, "learned");
    c.dim = 8;
    c.heads = 2;
    c.layers = 1;
    c.len = c.len_min = c.len_max = 4;
    c.lr = 0.05;
    c.wd = 0.3;
    c.beta1 = 0.8;
    c.beta2 = 0.9;
    c.eps = 1e-3;
    c.clip = 0.05;
    c.warmup = 0;
    c.schedule = SCHED_CONSTANT;
    char err[512];
    if (config_validate(&c, err, sizeof err)) fail_msg("config: %s", err);
    model m;
    if (model_build(&m, &c, 4, err, sizeof err)) fail_msg("model_build: %s", err);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    model_init_params(&m, r);
    batch b;
    batch_alloc(&b, 4, layout_seq_len(&m.lo, 4));
    layout_fill(&m.lo, &b, 4, r, POS_SEQUENTIAL, c.max_pos, r);
    gsl_rng_free(r);
    size_t n = m.ps.n;
    double *w = calloc(n, sizeof *w), *mo = calloc(n, sizeof *mo), *v = calloc(n, sizeof *v);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    int n_decayed = 0, n_kept = 0, clipped = 0;
    for (int t = 1; t <= 2; t++) {
        for (size_t i = 0; i < n; i++) w[i] = m.ps.data[i];
        step_result sr = run_step(&m, &g, &b, t);
        assert_false(sr.diverged);
        double norm = 0;   /* run_step leaves the step's gradient in ps.grad */
        for (size_t i = 0; i < n; i++) norm += (double)m.ps.grad[i] * m.ps.grad[i];
        norm = sqrt(norm);
        double scale = norm > c.clip ? c.clip / norm : 1;
        clipped += scale < 1;
        double c1 = 1 - pow(c.beta1, t), c2 = 1 - pow(c.beta2, t);
        for (int e = 0; e < m.ps.n_entries; e++) {
            const param_entry *pe = &m.ps.entries[e];
            int decay = decays(pe->name);
            if (t == 1) { n_decayed += decay; n_kept += !decay; }
            for (size_t i = pe->offset; i < pe->offset + pe->t->n; i++) {
                double gi = m.ps.grad[i] * scale;
                mo[i] = c.beta1 * mo[i] + (1 - c.beta1) * gi;
                v[i] = c.beta2 * v[i] + (1 - c.beta2) * gi * gi;
                double expect = w[i] * (1 - (decay ? c.lr * c.wd : 0)) - c.lr * (mo[i] / c1) / (sqrt(v[i] / c2) + c.eps);
                if (!(fabs(m.ps.data[i] - expect) <= STEP_TOL * fmax(1, fabs(expect))))
                    fail_msg("step %d: %s[%zu] = %.15g, by hand %.15g (decay %s)", t, pe->name, i - pe->offset,
                             (double)m.ps.data[i], expect, decay ? "on" : "off");
            }
        }
    }
    assert_true(n_decayed >= 7 && n_kept >= 10);   /* wq wk wv wo w1 w2 head.w; biases, gains, embeddings */
    assert_int_equal(clipped, 2);                  /* the clip was active in both steps */
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    free(w); free(mo); free(v);
}

/* softmax of logits 1000 + s: e^1000 overflows in double (and e^89 in float),
 * so only a max-shifted softmax gives softmax(s). */
static void expect_softmax(const real *got, const double *s, int n, const char *what) {
    double mx = s[0], z = 0;
    for (int j = 1; j < n; j++) mx = fmax(mx, s[j]);
    for (int j = 0; j < n; j++) z += exp(s[j] - mx);
    for (int j = 0; j < n; j++)
        if (!(fabs(got[j] - exp(s[j] - mx) / z) <= EXACT_TOL))
            fail_msg("%s: entry %d is %g, expected %.12g", what, j, (double)got[j], exp(s[j] - mx) / z);
}

static void test_softmax_large_logits(void **state) {
    (void)state;
    const double s[4] = {0.5, 2, -1, 1.25};
    arena ar;
    graph g;
    arena_init(&ar, 0);
    graph_init(&g, &ar, 0);
    /* op_softmax */
    tensor *x = pt_new2(1, 4, 0);
    for (int j = 0; j < 4; j++) x->data[j] = (real)(1000 + s[j]);
    expect_softmax(op_softmax(&g, x, NULL)->data, s, 4, "op_softmax");
    /* the attention normalizers that shift: softmax, logscaled (temperature 1 at n = n_train), l2 */
    tensor *q = pt_new3(1, 1, 1, 0), *k = pt_new3(1, 4, 1, 0), *bias = pt_new3(1, 1, 4, 0);
    q->data[0] = 0;
    for (int j = 0; j < 4; j++) { k->data[j] = 0; bias->data[j] = (real)(1000 + s[j]); }
    attn_opts o = {1, MASK_BIDIR, NORM_SOFTMAX, 4, 1, 0, 0};
    expect_softmax(op_attn_probs(&g, q, k, bias, &o)->data, s, 4, "attention softmax");
    o.norm = NORM_LOGSCALED;
    expect_softmax(op_attn_probs(&g, q, k, bias, &o)->data, s, 4, "attention logscaled");
    o.norm = NORM_L2;   /* e^b / ||e^b|| = softmax(2 b)^(1/2) */
    const real *a = op_attn_probs(&g, q, k, bias, &o)->data;
    double s2[4], a2[4];
    real a2r[4];
    for (int j = 0; j < 4; j++) { s2[j] = 2 * s[j]; a2[j] = (double)a[j] * a[j]; a2r[j] = (real)a2[j]; }
    expect_softmax(a2r, s2, 4, "attention l2 (squared)");
    /* cross-entropy: logsumexp(1000 + s) - (1000 + s[t]) = log sum_j e^(s_j - s_t) */
    tensor *z = pt_new2(1, 4, 0);
    for (int j = 0; j < 4; j++) z->data[j] = (real)(1000 + s[j]);
    int target = 2;
    double got = op_cross_entropy(&g, z, &target)->data[0];
    assert_true(fabs(got - 3.556917167794674) < (sizeof(real) == 8 ? 1e-12 : 1e-6));   /* log(e^1.5 + e^3 + 1 + e^2.25) */
    arena_free(&ar);
    pt_free(x); pt_free(q); pt_free(k); pt_free(bias); pt_free(z);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_adamw_two_steps_by_hand),
    cmocka_unit_test(test_softmax_large_logits),
};
const test_group test_group_known_values = {"known_values", TESTS, sizeof TESTS / sizeof *TESTS};
