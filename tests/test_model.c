/* The whole model: gradient checks across architecture options, and a
 * training smoke test on the position probe. */
#include "check.h"
#include "config_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "model.h"
#include "run.h"

/* Builds a tiny model and one batch for config c at length n. */
static void tiny(model *m, batch *b, run_config *c, int n) {
    char err[512];
    if (config_validate(c, err, sizeof err)) fail_msg("config: %s", err);
    if (model_build(m, c, n, err, sizeof err)) fail_msg("model_build: %s", err);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    c->init_scale = 0.3;
    m->cfg.init_scale = 0.3;
    model_init_params(m, r);
    /* non-trivial norm gains and biases, so their gradients are exercised */
    for (size_t i = 0; i < m->ps.n; i++)
        if (m->ps.data[i] == 0 || m->ps.data[i] == 1) m->ps.data[i] += (real)(0.2 * (gsl_rng_uniform(r) - 0.5));
    batch_alloc(b, 2, layout_seq_len(&m->lo, n));
    layout_fill(&m->lo, b, n, r, POS_SEQUENTIAL, c->max_pos, r);
    gsl_rng_free(r);
}

static double model_loss_at(model *m, batch *b, arena *ar) {
    graph g;
    graph_init(&g, ar, 0);
    double L = model_loss(m, &g, b, model_forward(m, &g, b, 0))->data[0];
    graph_reset(&g);
    return L;
}

/* Directional derivative of the loss along a random direction, 4-point. */
static double model_directional_error(model *m, batch *b, unsigned long seed) {
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    params_zero_grad(&m->ps);
    graph_backward(&g, model_loss(m, &g, b, model_forward(m, &g, b, 0)));
    graph_reset(&g);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    size_t n = m->ps.n;
    double *d = malloc(n * sizeof *d), nrm = 0, gd = 0;
    for (size_t i = 0; i < n; i++) { d[i] = 2 * gsl_rng_uniform(r) - 1; nrm += d[i] * d[i]; }
    for (size_t i = 0; i < n; i++) { d[i] /= sqrt(nrm); gd += d[i] * m->ps.grad[i]; }
    real *theta = malloc(n * sizeof(real));
    memcpy(theta, m->ps.data, n * sizeof(real));
    const double hs[4] = {2 * GC_STEP, GC_STEP, -GC_STEP, -2 * GC_STEP};
    double f[4];
    for (int s = 0; s < 4; s++) {
        for (size_t i = 0; i < n; i++) m->ps.data[i] = (real)(theta[i] + hs[s] * d[i]);
        f[s] = model_loss_at(m, b, &ar);
    }
    memcpy(m->ps.data, theta, n * sizeof(real));
    double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * GC_STEP);
    free(theta);
    free(d);
    gsl_rng_free(r);
    arena_free(&ar);
    return fabs(numeric - gd) / fmax(fmax(fabs(gd), fabs(numeric)), GC_FLOOR);
}

static void small_config(run_config *c, const char *encoding) {
    config_defaults(c);
    snprintf(c->encoding, sizeof c->encoding, "%s", encoding);
    c->layers = 2;
    c->heads = 2;
    c->dim = 8;
    c->ff_mult = 2;
    c->len = c->len_min = c->len_max = 5;
}

/* Every mask x norm placement x normalizer x head, through the whole model. */
static void test_model_gradients(void **state) {
    (void)state;
    const char *masks[2] = {"bidir", "causal"}, *lns[2] = {"pre", "post"}, *heads[2] = {"classification", "regression"};
    for (int mk = 0; mk < 2; mk++)
        for (int ln = 0; ln < 2; ln++)
            for (int norm = 0; norm < NORM_COUNT; norm++)
                for (int hd = 0; hd < 2; hd++) {
                    run_config c;
                    small_config(&c, "learned");
                    set_choice(&c, "mask", masks[mk]);
                    set_choice(&c, "ln", lns[ln]);
                    set_choice(&c, "norm", attn_norm_name((attn_norm)norm));
                    set_choice(&c, "head", heads[hd]);
                    if (norm % 2) c.ln_kind = LN_RMS;
                    set_choice(&c, "act", norm % 3 == 0 ? "gelu" : norm % 3 == 1 ? "swish" : "relu");
                    model m;
                    batch b;
                    tiny(&m, &b, &c, 5);
                    double err = model_directional_error(&m, &b, 17 + (unsigned long)norm);
                    if (!(err <= GC_TOL))
                        fail_msg("model %s %s %s %s: directional error %.3g", masks[mk], lns[ln],
                                 attn_norm_name((attn_norm)norm), heads[hd], err);
                    batch_free(&b);
                    model_free(&m);
                }
}

/* The linear-attention normalizers (8265) through the whole model with the
 * encodings that rotate q and k (and v: rope-v), an absolute one and none,
 * both masks: phi before the rotation, the un-rotated denominator of
 * linear-num, unit rows after it for cos1. Encodings with a scores or values
 * hook are refused, with a message that says why. */
static void test_model_gradients_linear_attention(void **state) {
    (void)state;
    const char *encs[] = {"rope", "rope-v", "xpos", "rope2d", "sinusoidal", "none"};
    const attn_norm norms[] = {NORM_LINEAR, NORM_LINEAR_NUM, NORM_COS1};
    for (int e = 0; e < 6; e++)
        for (int n = 0; n < 3; n++)
            for (int mk = 0; mk < 2; mk++) {
                run_config c;
                small_config(&c, encs[e]);
                c.mask = (attn_mask)mk;
                c.norm = norms[n];
                c.ln = (e + n) % 2 ? LN_POST : LN_PRE;
                model m;
                batch b;
                tiny(&m, &b, &c, 5);
                double err = model_directional_error(&m, &b, 31 + (unsigned long)(e * 6 + n * 2 + mk));
                if (!(err <= GC_TOL))
                    fail_msg("model %s %s %s: directional error %.3g", encs[e], attn_norm_name(norms[n]),
                             attn_mask_name((attn_mask)mk), err);
                batch_free(&b);
                model_free(&m);
            }
    /* which encodings a linear-attention normalizer takes: those without a scores or values hook */
    for (int i = 0; encoding_at(i); i++) {
        const encoding_def *enc = encoding_at(i);
        run_config c;
        small_config(&c, enc->name);
        c.mask = MASK_CAUSAL;
        c.norm = NORM_COS1;
        char err[512];
        model m;
        int rc = model_build(&m, &c, 5, err, sizeof err);
        model_free(&m);
        assert_int_equal(rc == 0, model_norm_accepts(enc, NORM_COS1));
        assert_int_equal(model_norm_accepts(enc, NORM_COS1), !enc->scores && !enc->values);
        if (rc) assert_non_null(strstr(err, "--norm cos1 is linear attention"));
    }
}

/* Element-by-element finite differences over every parameter of one tiny model. */
static tensor *g_model_loss(graph *g, tensor **in, void *ctx) {
    (void)in;
    void **p = ctx;
    model *m = p[0];
    batch *b = p[1];
    return model_loss(m, g, b, model_forward(m, g, b, 0));
}

static void test_model_full_gradcheck(void **state) {
    (void)state;
    run_config c;
    small_config(&c, "learned");
    c.layers = 1;
    c.dim = 4;
    c.max_pos = 6;
    c.mask = MASK_CAUSAL;
    model m;
    batch b;
    tiny(&m, &b, &c, 4);
    /* the whole parameter block as one input tensor */
    tensor *theta = malloc(sizeof *theta);
    *theta = tensor_view(m.ps.data, m.ps.grad, 1, (int[]){(int)m.ps.n});
    void *ctx[2] = {&m, &b};
    /* the gradient lands in m.ps.grad through the parameter views */
    gc_result r = gradcheck(g_model_loss, &theta, 1, ctx, 3);
    assert_gradcheck("whole model, every parameter", r);
    assert_int_equal(r.n_checked, m.ps.n);
    free(theta);
    batch_free(&b);
    model_free(&m);
    /* and a rope model with linear attention, the denominator un-rotated (linear-num) */
    small_config(&c, "rope");
    c.layers = 1;
    c.dim = 4;
    c.mask = MASK_CAUSAL;
    c.norm = NORM_LINEAR_NUM;
    tiny(&m, &b, &c, 4);
    theta = malloc(sizeof *theta);
    *theta = tensor_view(m.ps.data, m.ps.grad, 1, (int[]){(int)m.ps.n});
    r = gradcheck(g_model_loss, &theta, 1, ctx, 4);
    assert_gradcheck("rope linear-num model, every parameter", r);
    free(theta);
    batch_free(&b);
    model_free(&m);
}

/* The probe is learnable with a learned absolute encoding: 100% in seconds. */
static void test_probe_smoke_learned(void **state) {
    (void)state;
    run_config c;
    config_defaults(&c);
    const char *dir = test_tmpdir;   /* removed by the teardown, also when the test fails */
    snprintf(c.out, sizeof c.out, "%s/run", dir);
    c.len = c.len_min = c.len_max = 12;
    c.steps = 250;
    c.quiet = 1;
    run_result res;
    char err[512];
    if (run_train(&c, &res, err, sizeof err)) fail_msg("run_train: %s", err);
    assert_int_equal(res.status, RUN_FINISHED);
    assert_true(res.eval_token_acc == 1.0);
    assert_true(res.eval_seq_acc == 1.0);
    /* and NoPE cannot get past chance (1/n) with the same budget */
    snprintf(c.encoding, sizeof c.encoding, "none");
    snprintf(c.out, sizeof c.out, "%s/none", dir);
    if (run_train(&c, &res, err, sizeof err)) fail_msg("run_train: %s", err);
    assert_true(res.eval_token_acc <= 1.0 / 12 + 1e-9);
}

/* Every choice option is an enum in its choices' order: the name each value
 * prints as is the name that sets it, and the last value is the last choice. */
static void test_choice_enums_match_names(void **state) {
    (void)state;
    for (int k = 0; k < NORM_COUNT; k++) assert_string_equal(config_choice_name("norm", k), attn_norm_name((attn_norm)k));
    assert_null(config_choice_name("norm", NORM_COUNT));
    for (int k = 0; k < ROPE_SCHEDULE_COUNT; k++)
        assert_string_equal(config_choice_name("rope-schedule", k), rope_schedule_name((rope_schedule)k));
    assert_null(config_choice_name("rope-schedule", ROPE_SCHEDULE_COUNT));
    static const struct { const char *key; int last; const char *name; } cases[] = {
        {"mask", MASK_CAUSAL, "causal"},          {"head", HEAD_REGRESSION, "regression"},
        {"markers", MARK_CLS_SEP, "cls-sep"},     {"positions", POS_SHIFTED, "shifted"},
        {"eval-positions", EVAL_POS_SEQUENTIAL, "sequential"}, {"act", ACT_SWISH, "swish"},
        {"ln", LN_POST, "post"},                  {"ln-kind", LN_RMS, "rms"},
        {"mult-pos", MULT_SINUSOIDAL, "sinusoidal"}, {"len-sampling", LEN_CURRICULUM, "curriculum"},
        {"decode", DECODE_RECOMPUTE, "recompute"}, {"schedule", SCHED_LINEAR, "linear"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_string_equal(config_choice_name(cases[i].key, cases[i].last), cases[i].name);
        assert_null(config_choice_name(cases[i].key, cases[i].last + 1));
        run_config c;
        config_defaults(&c);
        char err[256], value[64];
        const char *name;
        assert_int_equal(config_set(&c, cases[i].key, cases[i].name, err, sizeof err), 0);
        for (int k = 0; config_option(&c, k, &name, value, sizeof value); k++)
            if (strcmp(name, cases[i].key) == 0) assert_string_equal(value, cases[i].name);
    }
    assert_int_equal(config_choice_name("mask", MASK_BIDIR)[0], 'b');
    assert_null(config_choice_name("layers", 0));   /* not a choice option */
    run_config c;
    config_defaults(&c);
    char err[256];
    assert_int_equal(config_set(&c, "mask", "causal", err, sizeof err), 0);
    assert_int_equal(c.mask, MASK_CAUSAL);
    assert_int_equal(config_set(&c, "norm", "logscaled", err, sizeof err), 0);
    assert_int_equal(c.norm, NORM_LOGSCALED);
    assert_int_equal(config_set(&c, "mask", "Causal", err, sizeof err), -1);
    assert_int_equal(c.mask, MASK_CAUSAL);   /* a refused value changes nothing */
}

/* Randomized and shifted positions are drawn once per batch: evaluation
 * splits each length's held-out set into RUN_EVAL_POSITION_DRAWS batches so
 * its accuracy does not rest on one draw; sequential positions keep one batch
 * of up to 64. */
static void test_eval_sub_batches_per_position_draw(void **state) {
    (void)state;
    static const struct { const char *positions, *eval_positions; int eval_size, expect; } cases[] = {
        {"sequential", "same", 32, 32}, {"sequential", "same", 100, 64},
        {"randomized", "same", 32, 4},  {"randomized", "same", 100, 13},
        {"randomized", "same", 5, 1},   {"shifted", "same", 32, 4},
        {"randomized", "sequential", 32, 32},   /* evaluated on 0..n-1: nothing drawn */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_config c;
        config_defaults(&c);
        set_choice(&c, "positions", cases[i].positions);
        set_choice(&c, "eval-positions", cases[i].eval_positions);
        c.eval_size = cases[i].eval_size;
        assert_int_equal(run_eval_sub_batch(&c), cases[i].expect);
    }
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_eval_sub_batches_per_position_draw),
    cmocka_unit_test(test_choice_enums_match_names),
    cmocka_unit_test(test_model_gradients),
    cmocka_unit_test(test_model_gradients_linear_attention),
    cmocka_unit_test(test_model_full_gradcheck),
    cmocka_unit_test_setup_teardown(test_probe_smoke_learned, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_model = {"model", TESTS, sizeof TESTS / sizeof *TESTS};
