/* The encoding catalogue: gradients of every encoding inside a one-layer
 * model, shift invariance of the relative ones, and the articles' properties
 * and reference numbers (docs/articles.md, CLAIMS.md). */
#include "check.h"
#include "config_helpers.h"
#include "rope_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "csvio.h"
#include "curves.h"
#include "diagnose.h"
#include "layerprobe.h"
#include "model.h"
#include "rotary.h"
#include "run.h"

/* A one-layer model of `encoding` with random tokens and targets. */
static const char *g_extra_key, *g_extra_value;   /* one more option for a variant */
static int g_bidir_only;                           /* the variant is refused under the causal mask */

static int build(model *m, batch *b, const char *encoding, const char *mask, int T, unsigned long seed) {
    run_config c;
    config_defaults(&c);
    char err[512];
    if (g_extra_key && config_set(&c, g_extra_key, g_extra_value, err, sizeof err)) fail_msg("%s", err);
    snprintf(c.encoding, sizeof c.encoding, "%s", encoding);
    set_choice(&c, "mask", mask);
    c.layers = 1;
    c.heads = 2;
    c.dim = 8;
    c.ff_mult = 1;
    c.max_pos = 24;
    c.clip_min = -3;
    c.clip_max = 2;
    c.t5_buckets = 8;
    c.t5_max_distance = 16;
    c.init_scale = 0.4;
    c.len = c.len_min = c.len_max = T;
    if (config_validate(&c, err, sizeof err)) fail_msg("%s: %s", encoding, err);
    if (model_build(m, &c, T, err, sizeof err)) { model_free(m); return -1; }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    model_init_params(m, r);
    for (size_t i = 0; i < m->ps.n; i++) m->ps.data[i] += (real)(0.05 * (gsl_rng_uniform(r) - 0.5));
    batch_alloc(b, 2, T);
    layout_fill(&m->lo, b, T, r, POS_SEQUENTIAL, c.max_pos, r);
    for (int i = 0; i < 2 * T; i++) {
        b->tokens[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m->V);
        b->targets[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m->K);
    }
    gsl_rng_free(r);
    return 0;
}

static tensor *g_forward_loss(graph *g, tensor **in, void *ctx) {
    (void)in;
    void **p = ctx;
    return model_loss(p[0], g, p[1], model_forward(p[0], g, p[1], 0));
}

/* Every encoding's own parameters, element by element, and the whole model
 * along a random direction, for each mask the encoding allows. */
static void check_encoding_gradients(const encoding_def *enc, int e) {
    const char *masks[2] = {"bidir", "causal"};
    {
        for (int mk = 0; mk < 2; mk++) {
            if ((enc->flags & ENC_CAUSAL_ONLY) && mk == 0) continue;
            if (g_bidir_only && mk == 1) continue;
            model m;
            batch b;
            if (build(&m, &b, enc->name, masks[mk], 5, 40 + (unsigned long)e)) fail_msg("%s: build failed", enc->name);
            void *ctx[2] = {&m, &b};
            /* encoding parameters: one view per declared "enc." tensor */
            for (int i = 0; i < m.ps.n_entries; i++) {
                param_entry *pe = &m.ps.entries[i];
                if (strncmp(pe->name, "enc.", 4) != 0) continue;
                tensor *t = pe->t;
                char what[128];
                snprintf(what, sizeof what, "%s %s: %s", enc->name, masks[mk], pe->name);
                gc_result r = gradcheck(g_forward_loss, &t, 1, ctx, 7);
                assert_gradcheck(what, r);
            }
            /* all parameters at once, and so q, k, v through every hook */
            tensor *theta = malloc(sizeof *theta);
            *theta = tensor_view(m.ps.data, m.ps.grad, 1, (int[]){(int)m.ps.n});
            double L0 = gc_loss_and_grad(g_forward_loss, &theta, 1, ctx, 7);
            gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(r, 99);
            double *d = malloc(m.ps.n * sizeof *d), nrm = 0, gd = 0;
            for (size_t i = 0; i < m.ps.n; i++) { d[i] = gsl_rng_uniform(r) - 0.5; nrm += d[i] * d[i]; }
            for (size_t i = 0; i < m.ps.n; i++) { d[i] /= sqrt(nrm); gd += d[i] * m.ps.grad[i]; }
            real *th0 = malloc(m.ps.n * sizeof(real));
            memcpy(th0, m.ps.data, m.ps.n * sizeof(real));
            double f[4];
            const double hs[4] = {2 * GC_STEP, GC_STEP, -GC_STEP, -2 * GC_STEP};
            for (int s = 0; s < 4; s++) {
                for (size_t i = 0; i < m.ps.n; i++) m.ps.data[i] = (real)(th0[i] + hs[s] * d[i]);
                f[s] = gc_loss_and_grad(g_forward_loss, &theta, 1, ctx, 7);
            }
            memcpy(m.ps.data, th0, m.ps.n * sizeof(real));
            double num = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * GC_STEP);
            double err = fabs(num - gd) / fmax(fmax(fabs(num), fabs(gd)), GC_FLOOR);
            if (!(err <= GC_TOL) || !isfinite(L0))
                fail_msg("%s %s: directional derivative %.10g, numeric %.10g (error %.3g)", enc->name, masks[mk], gd, num, err);
            free(th0); free(d); free(theta);
            gsl_rng_free(r);
            batch_free(&b);
            model_free(&m);
        }
    }
}

static void test_encoding_gradients(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++) check_encoding_gradients(encoding_at(e), e);
    /* option variants that change the computation */
    static const char *const variants[][3] = {
        {"rope", "rope-trainable", "1"}, {"rope", "rope-fraction", "0.5"}, {"rope2d", "rope-trainable", "1"},
        {"xpos", "rope-trainable", "1"}, {"alibi", "alibi-asym", "1"}, {"multiplicative", "mult-pos", "sinusoidal"},
        {"conv", "conv-kernel", "7"}, {"conv", "conv-circular", "1"},
        /* frequency schedules (8231): every encoding that takes one, each schedule somewhere */
        {"rope", "rope-schedule", "power2"}, {"rope-v", "rope-schedule", "linear"}, {"rope2d", "rope-schedule", "power4"},
        {"xpos", "rope-schedule", "constant"}, {"sinusoidal", "rope-schedule", "linear"}, {"xl", "rope-schedule", "power2"},
        {"complex", "rope-schedule", "constant"},
    };
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        g_extra_key = variants[v][1];
        g_extra_value = variants[v][2];
        g_bidir_only = strcmp(variants[v][1], "conv-circular") == 0;   /* circular padding would read later rows */
        check_encoding_gradients(encoding_find(variants[v][0]), 100 + (int)v);
    }
    g_extra_key = g_extra_value = NULL;
    g_bidir_only = 0;
}

/* The logits of a one-layer model of encoding (copy task, random tokens, a
 * fixed seed) with option key set to value (key NULL: the defaults), into
 * out (n reals), and its parameter count; -1 when the model is refused. */
static int options_model(const char *encoding, const char *key, const char *value, real **out, size_t *n, size_t *n_params) {
    run_config c;
    config_defaults(&c);
    char err[512];
    snprintf(c.encoding, sizeof c.encoding, "%s", encoding);
    snprintf(c.task, sizeof c.task, "copy");
    const encoding_def *e = encoding_find(encoding);
    set_choice(&c, "mask", e->flags & ENC_CAUSAL_ONLY ? "causal" : "bidir");
    if (strcmp(encoding, "multiplicative") == 0) set_choice(&c, "mult-pos", "sinusoidal");   /* where base and schedule matter */
    c.layers = 1;
    c.heads = 2;
    c.dim = 16;   /* heads of 8: two rotated pairs in each half of rope2d, so its base matters */
    c.ff_mult = 1;
    c.len = 12;   /* offsets past T5's exact buckets, so --t5-max-distance matters */
    c.init_scale = 0.4;
    if (key && config_set(&c, key, value, err, sizeof err)) fail_msg("--%s %s: %s", key, value, err);
    if (config_validate(&c, err, sizeof err)) fail_msg("%s: %s", encoding, err);
    model m;
    if (model_build(&m, &c, c.len, err, sizeof err)) { model_free(&m); return -1; }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    model_init_params(&m, r);
    batch b;
    batch_alloc(&b, 2, layout_seq_len(&m.lo, c.len));
    layout_fill(&m.lo, &b, c.len, r, POS_SEQUENTIAL, c.max_pos, r);
    gsl_rng_free(r);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *y = model_forward(&m, &g, &b, 0);
    *n = y->n;
    *out = malloc(y->n * sizeof(real));
    memcpy(*out, y->data, y->n * sizeof(real));
    *n_params = m.ps.n;
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    return 0;
}

/* Each encoding's options list (encoding_def.options, which training holds
 * options to) is what its model depends on: an encoding option it lists,
 * set away from its default, changes the model's parameters or logits (or is
 * refused by the encoding itself); one it does not list changes neither. */
static void test_encoding_options_used(void **state) {
    (void)state;
    static const char *const alt[][2] = {   /* a value away from the default, for every encoding option */
        {"rope-base", "100"}, {"rope-schedule", "linear"}, {"sin-scale", "0.5"}, {"rec-scale", "0.5"}, {"rope-fraction", "0.5"},
        {"rope-trainable", "1"}, {"clip-min", "-2"}, {"clip-max", "2"}, {"t5-buckets", "8"},
        {"t5-max-distance", "16"}, {"xpos-gamma", "64"}, {"xpos-zeta", "0.2"}, {"mult-pos", "learned"},
        {"alibi-asym", "1"}, {"conv-kernel", "5"}, {"conv-circular", "1"},
    };
    const size_t n_alt = sizeof alt / sizeof *alt;
    int n_options = 0, listed = 0;
    const char *name, *meta, *help, *choices;
    for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++) {
        int users = 0;
        for (int e = 0; encoding_at(e); e++) users += encoding_uses_option(encoding_at(e), name);
        if (!users) continue;   /* not an encoding option */
        n_options++;
        const char *value = NULL;
        for (size_t k = 0; k < n_alt; k++)
            if (strcmp(alt[k][0], name) == 0) value = alt[k][1];
        if (!value) fail_msg("--%s is an encoding option: give this test a value for it", name);
        for (int e = 0; encoding_at(e); e++) {
            const char *enc = encoding_at(e)->name;
            real *y0, *y1;
            size_t n0, n1, p0, p1;
            if (options_model(enc, NULL, NULL, &y0, &n0, &p0)) fail_msg("%s: the defaults are refused", enc);
            int refused = options_model(enc, name, value, &y1, &n1, &p1) != 0;
            int changed = refused || p0 != p1 || n0 != n1 || memcmp(y0, y1, n0 * sizeof(real)) != 0;
            int uses = encoding_uses_option(encoding_at(e), name);
            listed += uses;
            if (uses && !changed) fail_msg("%s lists --%s, but --%s %s changes nothing", enc, name, name, value);
            if (!uses && changed) fail_msg("%s does not list --%s, but --%s %s changes its model", enc, name, name, value);
            free(y0);
            if (!refused) free(y1);
        }
    }
    assert_int_equal(n_options, (int)n_alt);   /* no stale entry in alt */
    assert_true(listed >= 30);
}

/* Attention probabilities of layer 0 at positions p and p + shift. */
static double max_attn_change(const char *encoding, const char *mask, int shift) {
    model m;
    batch b;
    if (build(&m, &b, encoding, mask, 6, 5)) fail_msg("%s: build failed", encoding);
    tensor *attn[1];
    m.attn = attn;
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    model_forward(&m, &g, &b, 0);
    size_t n = attn[0]->n;
    real *a0 = malloc(n * sizeof(real));
    memcpy(a0, attn[0]->data, n * sizeof(real));
    graph_reset(&g);
    for (int t = 0; t < b.T; t++) b.pos[t] += shift;
    model_forward(&m, &g, &b, 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(attn[0]->data[i] - a0[i]));
    free(a0);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    return worst;
}

static void test_relative_shift_invariance(void **state) {
    (void)state;
    int n_relative = 0;
    for (int e = 0; encoding_at(e); e++) {
        const encoding_def *enc = encoding_at(e);
        const char *mask = enc->flags & ENC_CAUSAL_ONLY ? "causal" : "bidir";
        double change = max_attn_change(enc->name, mask, 7);
        if (enc->flags & ENC_RELATIVE) {
            if (!(change <= EXACT_TOL)) fail_msg("%s: attention changed by %.3g when positions shifted", enc->name, change);
            n_relative++;
        }
    }
    assert_true(n_relative >= 14);
    /* and the absolute ones do see the shift */
    assert_true(max_attn_change("learned", "bidir", 7) > 1e-4);
    assert_true(max_attn_change("fire", "causal", 7) > 1e-6);
    assert_true(max_attn_change("tupe", "bidir", 7) > 1e-4);
}

/* ---- rotations */

static void test_rope_properties(void **state) {
    (void)state;
    const int D = 8;
    rope_state *s = new_rope(D, 0);
    double Rm[64], Rn[64], Rd[64];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    double q[8], k[8];
    for (int i = 0; i < D; i++) { q[i] = gsl_rng_uniform(r) - 0.5; k[i] = gsl_rng_uniform(r) - 0.5; }
    int ms[3] = {3, 17, 40}, ns[3] = {11, 2, 40};
    for (int t = 0; t < 3; t++) {
        rotation_matrix(s, D, ms[t], 0, Rm);
        rotation_matrix(s, D, ns[t], 0, Rn);
        rotation_matrix(s, D, ns[t] - ms[t], 0, Rd);
        /* (R_m q).(R_n k) = q . R_{n-m} k */
        double lhs = 0, rhs = 0;
        for (int a = 0; a < D; a++) {
            double rq = 0, rk = 0, rdk = 0;
            for (int b = 0; b < D; b++) { rq += Rm[a * D + b] * q[b]; rk += Rn[a * D + b] * k[b]; rdk += Rd[a * D + b] * k[b]; }
            lhs += rq * rk;
            rhs += q[a] * rdk;
        }
        assert_true(fabs(lhs - rhs) < EXACT_TOL * 10);
        /* orthogonal: R^T R = I */
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) {
                double dot = 0;
                for (int c = 0; c < D; c++) dot += Rm[c * D + a] * Rm[c * D + b];
                assert_true(fabs(dot - (a == b)) < EXACT_TOL * 10);
            }
        /* the elementwise form equals the 2x2 block matrix of 8265 */
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) {
                int pa = a / 2, pb = b / 2;
                double th = pow(10000.0, -2.0 * pa / D) * ms[t], expect = 0;
                if (pa == pb) {
                    if (a % 2 == 0) expect = b % 2 == 0 ? cos(th) : -sin(th);
                    else expect = b % 2 == 0 ? sin(th) : cos(th);
                }
                assert_true(fabs(Rm[a * D + b] - expect) < EXACT_TOL * 10);
            }
    }
    gsl_rng_free(r);
    rope_state_free(s);
}

/* Q1, Q2: relativity and invertibility of 2-D RoPE; R((x+y) th) is not invertible. */
static void test_rope2d_properties(void **state) {
    (void)state;
    const int D = 8;
    rope_state *s = new_rope(D, 1);
    double A[64], Bm[64], C[64], P[64];
    int pts[4][2] = {{1, 2}, {5, -3}, {0, 7}, {12, 4}};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            rotation_matrix(s, D, pts[a][0], pts[a][1], A);
            rotation_matrix(s, D, pts[b][0], pts[b][1], Bm);
            rotation_matrix(s, D, pts[b][0] - pts[a][0], pts[b][1] - pts[a][1], C);
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++) {
                    double v = 0;
                    for (int k = 0; k < D; k++) v += A[k * D + i] * Bm[k * D + j];   /* A^T B */
                    P[i * D + j] = v;
                }
            assert_true(max_diff(P, C, D * D) < EXACT_TOL * 10);
        }
    /* invertible: distinct (x, y) on a 16 x 16 grid give distinct matrices */
    double *all = malloc(sizeof(double) * 256 * 64);
    for (int x = 0; x < 16; x++)
        for (int y = 0; y < 16; y++) rotation_matrix(s, D, x, y, all + (x * 16 + y) * 64);
    for (int i = 0; i < 256; i++)
        for (int j = i + 1; j < 256; j++) assert_true(max_diff(all + i * 64, all + j * 64, 64) > 1e-3);
    free(all);
    rope_state_free(s);
    /* the counterexample R((x + y) th): (1, 0) and (0, 1) collide */
    rope_state *one = new_rope(D, 0);
    rotation_matrix(one, D, 1 + 0, 0, A);
    rotation_matrix(one, D, 0 + 1, 0, Bm);
    assert_true(max_diff(A, Bm, 64) == 0);
    rope_state_free(one);
}

/* S2: <p_m, p_n> depends only on m - n. */
static void test_sinusoid_relative_inner_product(void **state) {
    (void)state;
    const int C = 16;
    real pm[16], pn[16];
    for (int r = -20; r <= 20; r += 5) {
        double first = 0;
        for (int m = 0; m < 60; m += 13) {
            sinusoid_fill(pm, C, m + r, 10000, ROPE_SCHEDULE_GEOMETRIC);
            sinusoid_fill(pn, C, m, 10000, ROPE_SCHEDULE_GEOMETRIC);
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double)pm[c] * pn[c];
            if (m == 0) first = dot;
            else assert_true(fabs(dot - first) < EXACT_TOL * 100);
        }
        assert_true(fabs(first - curve_sinusoid_inner(C, r, 10000, ROPE_SCHEDULE_GEOMETRIC)) < EXACT_TOL * 100);
    }
}

/* S1: without positions and without a mask, permuting the input permutes the output. */
static void test_none_permutation_equivariant(void **state) {
    (void)state;
    model m;
    batch b;
    if (build(&m, &b, "none", "bidir", 6, 3)) fail_msg("build");
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *y = model_forward(&m, &g, &b, 0);
    int K = m.K, T = b.T;
    real *y0 = malloc(y->n * sizeof(real));
    memcpy(y0, y->data, y->n * sizeof(real));
    graph_reset(&g);
    const int perm[6] = {3, 0, 5, 1, 4, 2};
    int tok[12];
    memcpy(tok, b.tokens, sizeof tok);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < T; t++) b.tokens[s * T + t] = tok[s * T + perm[t]];
    y = model_forward(&m, &g, &b, 0);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < K; c++)
                assert_true(fabs(y->data[((size_t)s * T + t) * K + c] - y0[((size_t)s * T + perm[t]) * K + c]) < EXACT_TOL * 10);
    free(y0);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
}

/* T5: the bucket table of 8130 (g) (32 buckets, max distance 128, bidirectional). */
static void test_t5_buckets(void **state) {
    (void)state;
    const int table[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 9, 9, 9, 9};
    for (int r = 0; r < 16; r++) {
        assert_int_equal(t5_bucket(-r, 32, 128, 1), table[r]);
        assert_int_equal(t5_bucket(r, 32, 128, 1), table[r] + (r > 0 ? 16 : 0));
    }
    for (int r = 16; r <= 22; r++) assert_int_equal(t5_bucket(-r, 32, 128, 1), 10);
    for (int r = 23; r <= 31; r++) assert_int_equal(t5_bucket(-r, 32, 128, 1), 11);
    assert_int_equal(t5_bucket(-32, 32, 128, 1), 12);
    assert_int_equal(t5_bucket(-90, 32, 128, 1), 14);
    assert_int_equal(t5_bucket(-91, 32, 128, 1), 15);
    assert_int_equal(t5_bucket(-5000, 32, 128, 1), 15);
    /* unidirectional: 0..15 exact, 16..18 -> 16, future positions -> 0 */
    for (int r = 0; r < 16; r++) assert_int_equal(t5_bucket(-r, 32, 128, 0), r);
    for (int r = 16; r <= 18; r++) assert_int_equal(t5_bucket(-r, 32, 128, 0), 16);
    assert_int_equal(t5_bucket(7, 32, 128, 0), 0);
}

/* ALiBi: 1/2 ... 1/256 for 8 heads; the official interleaving for 6 and 12. */
static void test_alibi_slopes(void **state) {
    (void)state;
    double s[16];
    alibi_slopes(8, s);
    for (int h = 0; h < 8; h++) assert_true(fabs(s[h] - pow(2, -(h + 1))) < 1e-15);
    alibi_slopes(6, s);
    const double six[6] = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
    for (int h = 0; h < 6; h++) assert_true(fabs(s[h] - six[h]) < 1e-15);
    alibi_slopes(12, s);
    for (int h = 0; h < 8; h++) assert_true(fabs(s[h] - pow(2, -(h + 1))) < 1e-15);
    for (int h = 0; h < 4; h++) assert_true(fabs(s[8 + h] - pow(2, -(0.5 + h))) < 1e-15);
}

/* The decay curves of docs/articles.md, to the printed digits (within 0.006: two of the
 * printed values round up from ...495 and ...5248). */
static void test_decay_curves(void **state) {
    (void)state;
    const double r1[14] = {0, 1, 2, 4, 8, 16, 32, 64, 96, 128, 160, 192, 224, 256};
    const double f1[14] = {32.5, 31.54, 28.96, 22.60, 19.82, 15.78, 13.38, 10.09, 9.75, 9.27, 9.80, 7.33, 7.38, 6.54};
    for (int i = 0; i < 14; i++) assert_true(fabs(curve_rope_decay_bound(128, r1[i], 10000, ROPE_SCHEDULE_GEOMETRIC) - f1[i]) < 0.006);
    const double r2[11] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    const double v2[11] = {64, 62.09, 57.38, 48.59, 45.72, 39.70, 35.68, 30.52, 21.30, 20.53, 14.04};
    for (int i = 0; i < 11; i++) assert_true(fabs(curve_sinusoid_inner(128, r2[i], 10000, ROPE_SCHEDULE_GEOMETRIC) - v2[i]) < 0.006);
    const double x3[9] = {0, 1, 2, 4, 8, 16, 32, 64, 128};
    const double b4[9] = {1.0, 0.974, 0.908, 0.772, 0.725, 0.635, 0.563, 0.487, 0.411};
    const double b3[9] = {1.0, 0.965, 0.877, 0.695, 0.633, 0.513, 0.417, 0.317, 0.216};
    for (int i = 0; i < 9; i++) {
        assert_true(fabs(curve_sinusoid_integral(x3[i], 10000, ROPE_SCHEDULE_GEOMETRIC) - b4[i]) < 0.0006);
        assert_true(fabs(curve_sinusoid_integral(x3[i], 1000, ROPE_SCHEDULE_GEOMETRIC) - b3[i]) < 0.0011);
    }
    /* Sandwich is 0 at distance 0 and negative elsewhere */
    assert_true(sandwich_bias(0, 0, 4, 10000) == 0);
    for (int d = 1; d < 50; d++) assert_true(sandwich_bias(d, 1, 4, 10000) < 0);
}

/* --rope-schedule reaches the frequencies: every name the option accepts is a
 * schedule; rope's theta_k and the sinusoidal table follow rope_schedule_theta
 * at t = 2k/d (geometric: base^-t, the values of before, to the bit); the
 * schedules differ from each other; sandwich refuses all but geometric. */
static void test_rope_schedules(void **state) {
    (void)state;
    const char *name, *meta, *help, *choices = NULL;
    for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++)
        if (strcmp(name, "rope-schedule") == 0) break;
    assert_non_null(choices);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", choices);
    int n = 0;
    for (char *tok = strtok(buf, "|"); tok; tok = strtok(NULL, "|"), n++) {
        assert_int_equal(rope_schedule_parse(tok), n);   /* in the enum's order */
        assert_string_equal(rope_schedule_name((rope_schedule)n), tok);
    }
    assert_int_equal(n, ROPE_SCHEDULE_COUNT);
    assert_int_equal(rope_schedule_parse("geometrical"), -1);
    const int D = 8, K = D / 2;
    double first[ROPE_SCHEDULE_COUNT][4];
    for (int s = 0; s < ROPE_SCHEDULE_COUNT; s++) {
        run_config c;
        config_defaults(&c);
        char err[256];
        if (config_set(&c, "rope-schedule", rope_schedule_name((rope_schedule)s), err, sizeof err)) fail_msg("%s", err);
        enc_dims d = {D, 1, D, 1, 4, 64, MASK_BIDIR, model_enc_options(&c), 0};
        assert_int_equal(d.opt.rope_schedule, s);
        param_store ps;
        params_init(&ps);
        rope_state *st = rope_state_new(&ps, &d, K, K, 0);
        for (int k = 0; k < K; k++) {
            double want = rope_schedule_theta((rope_schedule)s, 2.0 * k / D, 10000);
            assert_true(st->theta->data[k] == (real)want);
            if (s == ROPE_SCHEDULE_GEOMETRIC) assert_true(st->theta->data[k] == (real)pow(10000, -2.0 * k / D));
            first[s][k] = want;
        }
        real row[8];
        sinusoid_fill(row, D, 3, 10000, (rope_schedule)s);
        for (int k = 0; k < K; k++) assert_true(row[2 * k] == (real)sin(3 * first[s][k]));
        rope_state_free(st);
        param_store ps2;
        params_init(&ps2);
        void *sw = encoding_find("sandwich")->create(&ps2, &d, err, sizeof err);
        if (s == ROPE_SCHEDULE_GEOMETRIC) { assert_non_null(sw); free(sw); }
        else { assert_null(sw); assert_non_null(strstr(err, "geometric")); }
        params_free(&ps2);
        params_free(&ps);
    }
    for (int a = 0; a < ROPE_SCHEDULE_COUNT; a++)
        for (int b = a + 1; b < ROPE_SCHEDULE_COUNT; b++)
            assert_true(memcmp(first[a], first[b], sizeof first[a]) != 0);
    assert_true(first[ROPE_SCHEDULE_CONSTANT][0] == first[ROPE_SCHEDULE_CONSTANT][3]);   /* one common theta */
}

/* The declared classes agree with the hooks (diagnose's predictions, checked
 * numerically below, and the report's claims read these flags). */
static void test_encoding_flags_consistent(void **state) {
    (void)state;
    /* The built-in encodings by symmetry class, checked by name: an encoding added later (docs/encodings.md's
     * myenc) is in no list and may carry either flag or neither. */
    static const char *classes[][14] = {
        {"rope", "rope2d", "xpos", "t5", "shaw-k", "xl", "deberta"},   /* ENC_DIRECTIONAL */
        {"alibi", "kerple-log", "kerple-power", "sandwich"},         /* ENC_SYMMETRIC */
        {"none", "learned", "sinusoidal", "multiplicative", "recursive", "complex", "conv", "shaw", "tupe", "fire",
         "cope", "rope-v", "urpe"}};                                  /* neither */
    const unsigned flag[] = {ENC_DIRECTIONAL, ENC_SYMMETRIC, 0};
    int found = 0;
    for (int i = 0; encoding_at(i); i++) {
        const encoding_def *e = encoding_at(i);
        unsigned f = e->flags;
        if (e->values && !(f & ENC_VALUE_SIDE)) fail_msg("%s has a values hook but not ENC_VALUE_SIDE", e->name);
        if ((f & ENC_DIRECTIONAL) && (f & ENC_SYMMETRIC)) fail_msg("%s: directional and symmetric", e->name);
        if ((f & (ENC_DIRECTIONAL | ENC_SYMMETRIC)) && !(f & ENC_RELATIVE))
            fail_msg("%s: a symmetry class without ENC_RELATIVE", e->name);
        if ((e->where == ENC_AT_INPUT) != (e->embed != NULL)) fail_msg("%s: where input and the embed hook disagree", e->name);
        if (e->where == ENC_AT_ROTATION && !e->rotate) fail_msg("%s: where rotation without a rotate hook", e->name);
        if ((e->where == ENC_AT_NONE) != !(e->embed || e->rotate || e->scores || e->values))
            fail_msg("%s: where none and its hooks disagree", e->name);
        assert_string_not_equal(enc_where_name(e->where), "?");
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 14 && classes[c][k]; k++)
                if (strcmp(e->name, classes[c][k]) == 0) {
                    if ((f & (ENC_DIRECTIONAL | ENC_SYMMETRIC)) != flag[c])
                        fail_msg("%s: flags %#x, not its class's (directional %#x, symmetric %#x)", e->name, f,
                                 ENC_DIRECTIONAL, ENC_SYMMETRIC);
                    found++;
                }
    }
    assert_int_equal(found, 24);   /* every built-in is registered */
}

/* Claim T1 (8130): a clipped relative encoding (Shaw et al.) handles any
 * length with a fixed number of parameters. A model is built for 16 and for
 * 4096 positions: the encodings with a position table (ENC_TABLE, whose ids
 * must stay below --max-pos) grow by its rows, CoPE's interpolation table
 * (clipped, so any length runs) grows too, and shaw and the other clipped or
 * functional relative encodings keep the same parameters (at 65536 too). */
/* A model of the default configuration with this encoding (and the causal
 * mask if the encoding needs it) for tasks up to length n. */
static void build_default(model *m, run_config *c, const char *encoding, int n) {
    char err[512];
    snprintf(c->encoding, sizeof c->encoding, "%s", encoding);
    if (encoding_find(encoding)->flags & ENC_CAUSAL_ONLY) c->mask = MASK_CAUSAL;
    c->len = c->len_min = c->len_max = n;
    if (config_validate(c, err, sizeof err)) fail_msg("%s: %s", encoding, err);
    if (model_build(m, c, n, err, sizeof err)) fail_msg("%s: %s", encoding, err);
}

static size_t params_at(const char *encoding, int max_pos) {
    run_config c;
    config_defaults(&c);
    c.layers = 1;
    c.heads = 2;
    c.dim = 8;
    c.max_pos = max_pos;
    model m;
    build_default(&m, &c, encoding, 4);
    size_t n = m.ps.n;
    model_free(&m);
    return n;
}

static void test_parameters_fixed_at_any_length(void **state) {
    (void)state;
    for (int i = 0; encoding_at(i); i++) {
        const encoding_def *e = encoding_at(i);
        size_t small = params_at(e->name, 16), large = params_at(e->name, 4096);
        if (large < small) fail_msg("%s: fewer parameters at 4096 positions than at 16", e->name);
        if ((e->flags & ENC_TABLE) && large == small) fail_msg("%s has a position table of fixed size", e->name);
    }
    static const char *const fixed[] = {"shaw", "shaw-k", "t5", "alibi", "rope", "xl", "fire", "none"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (params_at(fixed[i], 16) != params_at(fixed[i], 1 << 16)) fail_msg("%s: parameters grow with --max-pos", fixed[i]);
    assert_true(params_at("cope", 4096) > params_at("cope", 16));   /* its table is clipped, not fixed */
    assert_true(params_at("learned", 4096) - params_at("learned", 16) == (4096 - 16) * 8);   /* (max-pos, C) */
}

/* diagnose --all agrees with the expected verdicts wherever the symmetry argument predicts. */
static void test_diagnose_matches_symmetry_argument(void **state) {
    (void)state;
    const char *dir = test_tmpdir;   /* removed by the teardown, also when the test fails */
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/diagnose.csv", dir);
    run_config c;
    config_defaults(&c);
    c.init_scale = 0.3;
    c.len = 12;
    c.quiet = 1;   /* no progress lines in the test log */
    if (diagnose_run(&c, 1, 2, path, err, sizeof err)) fail_msg("%s", err);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    int predicted = 0, n_ind = 0, n_mir = 0, n_dis = 0;
    for (int r = 0; r < t.n_rows; r++) {
        const char *exp = csv_get(&t, r, "expected"), *got = csv_get(&t, r, "verdict");
        if (!*exp) continue;
        predicted++;
        if (strcmp(exp, got) != 0)
            fail_msg("%s %s %s %s: %s, expected %s (spread %s)", csv_get(&t, r, "encoding"), csv_get(&t, r, "norm"),
                     csv_get(&t, r, "mask"), csv_get(&t, r, "markers"), got, exp, csv_get(&t, r, "spread_max"));
        n_ind += strcmp(exp, "indistinguishable") == 0;
        n_mir += strcmp(exp, "mirror-tied") == 0;
        n_dis += strcmp(exp, "distinguishable") == 0;
    }
    /* every encoding x normalizer it takes (linear attention: no scores or values hook) x 2 masks x 3 markers,
     * causal-only ones once */
    int rows = 0;
    for (int e = 0; encoding_at(e); e++)
        for (int nm = 0; nm < NORM_COUNT; nm++)
            if (model_norm_accepts(encoding_at(e), (attn_norm)nm)) rows += (encoding_at(e)->flags & ENC_CAUSAL_ONLY) ? 3 : 6;
    assert_int_equal(t.n_rows, rows);
    assert_true(predicted > 400 && n_ind > 50 && n_mir == 8 && n_dis > 300);
    /* the cases the issue names */
    static const char *const cases[][3] = {{"rope", "softmax", "indistinguishable"}, {"shaw", "softmax", "distinguishable"},
                                           {"urpe", "softmax", "distinguishable"}, {"learned", "softmax", "distinguishable"},
                                           {"rope", "l2", "distinguishable"}, {"alibi", "l2", "mirror-tied"},
                                           /* 8265's linear attention: rows summing to 1 (RoPE in both, 1 + cos) are
                                            * blocked like softmax; the un-rotated denominator is not */
                                           {"rope", "linear", "indistinguishable"}, {"rope", "cos1", "indistinguishable"},
                                           {"rope", "linear-num", "distinguishable"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int found = 0;
        for (int r = 0; r < t.n_rows; r++)
            if (strcmp(csv_get(&t, r, "encoding"), cases[k][0]) == 0 && strcmp(csv_get(&t, r, "norm"), cases[k][1]) == 0 &&
                strcmp(csv_get(&t, r, "mask"), "bidir") == 0 && strcmp(csv_get(&t, r, "markers"), "none") == 0) {
                assert_string_equal(csv_get(&t, r, "verdict"), cases[k][2]);
                found = 1;
            }
        assert_true(found);
    }
    csv_table_free(&t);
}

/* The sinusoidal table at the token embeddings' scale (the default) lets a
 * small decoder copy short inputs; the unscaled table (--sin-scale 1) drowns
 * the tokens and the same run stays near chance even at length 1. */
static void test_sinusoidal_scale_lets_tokens_through(void **state) {
    (void)state;
    double exact1[2];
    for (int k = 0; k < 2; k++) {
        run_config c;
        config_defaults(&c);
        snprintf(c.task, sizeof c.task, "copy");
        snprintf(c.encoding, sizeof c.encoding, "sinusoidal");
        c.mask = MASK_CAUSAL;
        c.schedule = SCHED_COSINE;
        c.len_min = 1;
        c.len_max = c.len = 3;
        c.steps = 400;
        c.warmup = 40;
        c.lr = 1e-3;
        c.batch = 32;
        c.eval_size = 32;
        c.sin_scale = k == 0 ? 0 : 1;
        c.quiet = 1;
        snprintf(c.out, sizeof c.out, "%s/s%d", test_tmpdir, k);
        int_list_parse("1", &c.eval_lens, (char[64]){0}, 64);
        run_result res;
        char err[512];
        if (run_train(&c, &res, err, sizeof err)) fail_msg("%s", err);
        char path[1200];
        snprintf(path, sizeof path, "%s/eval.csv", c.out);
        csv_table t;
        assert_int_equal(csv_read(path, &t, err, sizeof err), 0);
        exact1[k] = -1;
        for (int r = 0; r < t.n_rows; r++)
            if (strcmp(csv_get(&t, r, "eval_mode"), "greedy") == 0 && strcmp(csv_get(&t, r, "length"), "1") == 0)
                exact1[k] = strtod(csv_get(&t, r, "seq_acc"), NULL);
        csv_table_free(&t);
    }
    if (!(exact1[0] >= 0.9 && exact1[1] <= 0.5))
        fail_msg("exact match at length 1: scaled %.3f (want >= 0.9), unscaled %.3f (want <= 0.5)", exact1[0], exact1[1]);
}

/* Input-side encodings add positions at the token embeddings' scale, so at
 * initialisation neither drowns the other (issue 13: the unit-scale
 * sinusoid table, and the recursion's unit-scale states, drowned tokens
 * initialised at 0.02, and those models could not copy). For every encoding
 * applied at the input, on 16 positions: RMS(embedded - tokens) / RMS(tokens)
 * is at most 8 (sinusoidal at --sin-scale 1 is at ~35, recursive unscaled at
 * ~50; multiplicative, x (.) p with p near 1, is at ~0.02 by design). */
static double position_to_token_ratio(const char *encoding, double sin_scale) {
    run_config c;
    config_defaults(&c);
    c.sin_scale = sin_scale;
    const int T = 16;
    model m;
    build_default(&m, &c, encoding, T);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    model_init_params(&m, r);
    batch b;
    batch_alloc(&b, 4, T);
    layout_fill(&m.lo, &b, T, r, POS_SEQUENTIAL, c.max_pos, r);
    for (int i = 0; i < b.B * b.T; i++) b.tokens[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m.V);
    gsl_rng_free(r);
    tensor *hidden[16] = {0};
    assert_true(m.L < 16);
    m.hidden = hidden;
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    model_forward(&m, &g, &b, 0);
    double dpos = 0, dtok = 0;
    for (int i = 0; i < b.B * b.T; i++)
        for (int k = 0; k < m.C; k++) {
            double tok = m.tok_emb->data[(size_t)b.tokens[i] * m.C + k], x = hidden[0]->data[(size_t)i * m.C + k];
            dpos += (x - tok) * (x - tok);
            dtok += tok * tok;
        }
    arena_free(&ar);
    m.hidden = NULL;
    batch_free(&b);
    model_free(&m);
    return sqrt(dpos / dtok);
}

static void test_input_encodings_keep_tokens_visible(void **state) {
    (void)state;
    int n = 0;
    for (int i = 0; encoding_at(i); i++) {
        const encoding_def *e = encoding_at(i);
        /* complex replaces the token embedding by its own (per-token amplitude, frequency and phase): there
         * is no token embedding beside it to drown */
        if (e->where != ENC_AT_INPUT || strcmp(e->name, "complex") == 0) continue;
        double q = position_to_token_ratio(e->name, 0);
        printf("  %-15s position / token RMS at initialisation: %.3f\n", e->name, q);
        if (!(q <= 8)) fail_msg("%s: position / token RMS %.3f at initialisation, more than 8: the positions drown "
                                "the tokens (scale them as sinusoidal.c does)", e->name, q);
        n++;
    }
    assert_true(n >= 5);
    assert_true(position_to_token_ratio("sinusoidal", 1) > 8);   /* the unscaled table: the check can fail */
}

/* Under the causal mask no row sees a later token: changing the last token
 * of each sequence leaves every earlier row's logits as they were (and
 * changes the last row's), for every encoding and for conv's wider kernel. */
static void check_no_future_leak(const encoding_def *enc, int e) {
    model m;
    batch b;
    const int T = 6;
    if (build(&m, &b, enc->name, "causal", T, 700 + (unsigned long)e)) fail_msg("%s: build failed", enc->name);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *out = model_forward(&m, &g, &b, 0);                       /* (B*T, K) */
    size_t n = out->n;
    int K = m.K;
    real *before = malloc(n * sizeof(real));
    memcpy(before, out->data, n * sizeof(real));
    graph_reset(&g);
    for (int s = 0; s < b.B; s++) b.tokens[s * T + T - 1] = (b.tokens[s * T + T - 1] + 1) % m.V;
    out = model_forward(&m, &g, &b, 0);
    double earlier = 0, last = 0;
    for (int s = 0; s < b.B; s++)
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++) {
                size_t i = ((size_t)s * T + t) * K + k;
                double d = fabs(out->data[i] - before[i]);
                if (t < T - 1) earlier = fmax(earlier, d);
                else last = fmax(last, d);
            }
    if (!(earlier <= EXACT_TOL)) fail_msg("%s causal: a later token moved an earlier row by %.3g", enc->name, earlier);
    if (!(last > 1e-6)) fail_msg("%s causal: the changed token did not reach its own row", enc->name);
    free(before);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
}

static void test_causal_no_future_leak(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++) check_no_future_leak(encoding_at(e), e);
    g_extra_key = "conv-kernel";
    g_extra_value = "4";
    check_no_future_leak(encoding_find("conv"), 99);
    g_extra_key = g_extra_value = NULL;
}

/* conv on a constant input, untrained: with zero padding the rows within
 * reach of the padding ((K - 1) / 2 of either end bidirectionally, K - 1
 * from the start causally) differ from the rest, which are all equal; with
 * circular padding every row is equal. */
static void test_conv_padding_boundary(void **state) {
    (void)state;
    static const struct { const char *mask, *kernel, *circular; int head, tail; } cases[] = {
        {"bidir", "3", "0", 1, 1}, {"bidir", "5", "0", 2, 2}, {"causal", "3", "0", 2, 0},
        {"bidir", "3", "1", 0, 0}, {"bidir", "5", "1", 0, 0},
    };
    const int T = 9;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        run_config c;
        config_defaults(&c);
        char err[512];
        snprintf(c.encoding, sizeof c.encoding, "conv");
        set_choice(&c, "mask", cases[k].mask);
        if (config_set(&c, "conv-kernel", cases[k].kernel, err, sizeof err) ||
            config_set(&c, "conv-circular", cases[k].circular, err, sizeof err))
            fail_msg("%s", err);
        c.dim = 8;
        c.heads = 2;
        c.init_scale = 0.3;
        c.len = c.len_min = c.len_max = T;
        model m;
        if (config_validate(&c, err, sizeof err) || model_build(&m, &c, T, err, sizeof err)) fail_msg("%s", err);
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 5 + k);
        model_init_params(&m, r);
        batch b;
        batch_alloc(&b, 1, T);
        layout_fill(&m.lo, &b, T, r, POS_SEQUENTIAL, c.max_pos, r);   /* the probe: identical tokens */
        gsl_rng_free(r);
        for (int t = 1; t < T; t++) assert_int_equal(b.tokens[t], b.tokens[0]);
        tensor *hidden[3];
        m.hidden = hidden;
        arena ar;
        model_forward_frozen(&m, &ar, &b);
        const real *h = hidden[0]->data, *mid = h + (size_t)(T / 2) * m.C;   /* after the encoding */
        for (int t = 0; t < T; t++) {
            double d = 0;
            for (int i = 0; i < m.C; i++) d = fmax(d, fabs(h[(size_t)t * m.C + i] - mid[i]));
            int reached = t < cases[k].head || t >= T - cases[k].tail;
            if (reached ? !(d > 1e-3) : !(d <= EXACT_TOL))
                fail_msg("conv %s K=%s circular=%s: row %d differs from the middle row by %.3g", cases[k].mask,
                         cases[k].kernel, cases[k].circular, t, d);
        }
        m.hidden = NULL;
        arena_free(&ar);
        batch_free(&b);
        model_free(&m);
    }
    /* refused: circular padding under the causal mask, an even kernel under the bidirectional one */
    static const char *const refused[][3] = {{"causal", "3", "1"}, {"bidir", "4", "0"}};
    for (int k = 0; k < 2; k++) {
        run_config c;
        config_defaults(&c);
        char err[512] = "";
        snprintf(c.encoding, sizeof c.encoding, "conv");
        set_choice(&c, "mask", refused[k][0]);
        c.conv_kernel = atoi(refused[k][1]);
        c.conv_circular = atoi(refused[k][2]);
        model m;
        assert_int_equal(config_validate(&c, err, sizeof err), 0);
        assert_int_not_equal(model_build(&m, &c, c.len, err, sizeof err), 0);
        assert_non_null(strstr(err, "conv"));
        model_free(&m);
    }
}

/* Claim T6 (8130): position reaches a convolutional model through zero
 * padding. A short probe run (n = 8, bidirectional) of conv with a kernel
 * that reaches the middle from both ends (K = 9) fits with zero padding, and
 * the layer probe reads every position from the embedded input (layer 0);
 * with circular padding the same run stays at chance (1/n) at every layer;
 * with K = 3 only the rows next to an end are told apart (at most 3 classes
 * of 8). */
static void conv_probe_run(const char *name, int kernel, int circular, double *acc, double *layer0) {
    run_config c;
    config_defaults(&c);
    char err[512];
    snprintf(c.task, sizeof c.task, "probe");
    snprintf(c.encoding, sizeof c.encoding, "conv");
    c.mask = MASK_BIDIR;
    c.conv_kernel = kernel;
    c.conv_circular = circular;
    c.len = c.len_min = c.len_max = 8;
    c.dim = 16;
    c.steps = 150;
    c.lr = 0.003;
    c.batch = 16;
    c.eval_size = 16;
    c.quiet = 1;
    snprintf(c.out, sizeof c.out, "%s/%s", test_tmpdir, name);
    run_result res;
    if (config_validate(&c, err, sizeof err) || run_train(&c, &res, err, sizeof err)) fail_msg("%s", err);
    char path[1200];
    snprintf(path, sizeof path, "%s/eval.csv", c.out);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    *acc = strtod(csv_get(&t, t.n_rows - 1, "token_acc"), NULL);
    csv_table_free(&t);
    layerprobe_opts o;
    layerprobe_defaults(&o);
    snprintf(path, sizeof path, "%s/%s.layers.csv", test_tmpdir, name);
    if (layerprobe_run(c.out, &o, path, err, sizeof err)) fail_msg("%s", err);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(csv_get(&t, 0, "layer"), "0");
    *layer0 = strtod(csv_get(&t, 0, "probe_acc"), NULL);
    for (int r = 0; r < t.n_rows && circular; r++)   /* circular: no layer knows any position */
        if (!(strtod(csv_get(&t, r, "probe_acc"), NULL) <= 0.125 + 1e-9))
            fail_msg("conv circular: layer %s probe accuracy %s", csv_get(&t, r, "layer"), csv_get(&t, r, "probe_acc"));
    csv_table_free(&t);
}

static void test_conv_zero_padding_passes_probe(void **state) {
    (void)state;
    double zero, circ, narrow, zero0, circ0, narrow0;
    conv_probe_run("zero", 9, 0, &zero, &zero0);
    conv_probe_run("circular", 9, 1, &circ, &circ0);
    conv_probe_run("narrow", 3, 0, &narrow, &narrow0);
    if (!(zero >= 0.9 && zero0 >= 0.9 && circ <= 0.125 + 1e-9 && narrow <= 3.0 / 8 + 1e-9 && narrow0 <= 3.0 / 8 + 1e-9))
        fail_msg("probe accuracy (layer-0 probe): zero padding K=9 %.3f (%.3f), want >= 0.9; circular %.3f (%.3f), "
                 "want 1/8; zero padding K=3 %.3f (%.3f), want <= 3/8",
                 zero, zero0, circ, circ0, narrow, narrow0);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_encoding_flags_consistent),
    cmocka_unit_test(test_parameters_fixed_at_any_length),
    cmocka_unit_test(test_input_encodings_keep_tokens_visible),
    cmocka_unit_test_setup_teardown(test_diagnose_matches_symmetry_argument, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test(test_encoding_gradients),
    cmocka_unit_test(test_encoding_options_used),
    cmocka_unit_test(test_relative_shift_invariance),
    cmocka_unit_test(test_causal_no_future_leak),
    cmocka_unit_test(test_conv_padding_boundary),
    cmocka_unit_test_setup_teardown(test_conv_zero_padding_passes_probe, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test(test_rope_properties),
    cmocka_unit_test(test_rope2d_properties),
    cmocka_unit_test(test_sinusoid_relative_inner_product),
    cmocka_unit_test(test_none_permutation_equivariant),
    cmocka_unit_test(test_t5_buckets),
    cmocka_unit_test(test_alibi_slopes),
    cmocka_unit_test(test_decay_curves),
    cmocka_unit_test(test_rope_schedules),
    cmocka_unit_test_setup_teardown(test_sinusoidal_scale_lets_tokens_through, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_encodings = {"encodings", TESTS, sizeof TESTS / sizeof *TESTS};
