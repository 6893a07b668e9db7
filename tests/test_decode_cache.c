/* Cached (incremental) forward passes against the full forward pass: for
 * every encoding x normalizer, with markers, shifted and randomized positions,
 * 2-D positions, the decoder form, pre- and post-norm, every logit of the
 * prompt and of each later row run one at a time equals the full pass's; and
 * greedy decoding gives the same tokens cached and recomputed. A model that
 * reads earlier rows the cache does not keep (an embed hook with
 * ENC_READS_PRIOR_ROWS: conv; --norm linear-num's un-rotated keys) gets no
 * cache, and its decoding recomputes the prefix. */
#include "check.h"
#include "config_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "decode.h"
#include "kvcache.h"
#include "model.h"
#include "run.h"

/* Relative error bound of a logit (floor 1 below |logit| = 1). Double: only
 * the summation order of differently shaped products differs. */
#ifdef POSPROBE_DOUBLE
#define CACHE_TOL 1e-9
#else
#define CACHE_TOL 1e-4
#endif

typedef struct {
    const char *task, *encoding, *norm, *markers, *positions, *ln, *ln_kind;
    int len, prompt;   /* task length; rows of the first incremental pass (0: the decoder's prompt) */
} cache_case;

/* A tiny causal model whose attention is far from uniform, and one batch of
 * varied tokens (marker tokens kept), with positions for greedy decoding's
 * rows when decoding. Returns -1 when the config is invalid, 1 (nothing
 * built) for an encoding a linear-attention normalizer does not take. */
static int build(model *m, batch *b, const cache_case *cc, unsigned long seed, int decoding) {
    run_config c;
    config_defaults(&c);
    char err[512];
    snprintf(c.task, sizeof c.task, "%s", cc->task);
    snprintf(c.encoding, sizeof c.encoding, "%s", cc->encoding);
    set_choice(&c, "norm", cc->norm);
    set_choice(&c, "markers", cc->markers);
    set_choice(&c, "positions", cc->positions);
    set_choice(&c, "ln", cc->ln);
    set_choice(&c, "ln-kind", cc->ln_kind);
    c.mask = MASK_CAUSAL;
    c.layers = 2;
    c.heads = 2;
    c.dim = 8;
    c.ff_mult = 2;
    c.max_pos = 64;
    c.clip_min = -3;
    c.clip_max = 2;
    c.t5_buckets = 8;
    c.t5_max_distance = 16;
    c.init_scale = 0.3;
    c.len = c.len_min = c.len_max = cc->len;
    if (config_validate(&c, err, sizeof err)) return -1;
    if (!model_norm_accepts(encoding_find(cc->encoding), c.norm)) return 1;
    if (model_build(m, &c, cc->len, err, sizeof err)) fail_msg("%s: %s", cc->encoding, err);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    model_init_params(m, r);
    /* norm gains and biases away from 1 and 0 */
    for (size_t i = 0; i < m->ps.n; i++) m->ps.data[i] += (real)(0.1 * (gsl_rng_uniform(r) - 0.5));
    int rows = decoding ? layout_decode_rows(&m->lo, cc->len) : layout_seq_len(&m->lo, cc->len);
    batch_alloc(b, 3, rows);
    b->decode_rows = decoding ? rows : 0;
    layout_fill(&m->lo, b, cc->len, r, c.positions, c.max_pos, r);
    for (int i = 0; i < b->B * b->T; i++)
        if (b->tokens[i] < m->lo.info.vocab) b->tokens[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m->V);
    gsl_rng_free(r);
    return 0;
}

/* Rows [t0, t0 + Tn) of every sequence of b: (B, Tn) */
static void rows_of(const batch *b, int B, int t0, int Tn, int *dst) {
    for (int s = 0; s < B; s++) memcpy(dst + (size_t)s * Tn, b->tokens + (size_t)s * b->T + t0, (size_t)Tn * sizeof(int));
}

/* Prompt, then one row at a time, for the first B sequences of b; returns
 * the largest error against full (B*T, K) and checks the logits' shapes. */
static double cached_error(model *m, kv_cache *kc, arena *ar, const batch *b, int B, int prompt, const real *full) {
    graph g;
    graph_init(&g, ar, 0);
    int T = b->T, K = m->K, two_d = (m->lo.task->flags & TASK_2D) != 0;
    int *tok = malloc((size_t)B * T * sizeof(int));
    double worst = 0;
    kv_cache_reset(kc, B);
    for (int t0 = 0; t0 < T;) {
        int Tn = t0 == 0 ? prompt : 1;
        rows_of(b, B, t0, Tn, tok);
        tensor *out = model_forward_incremental(m, &g, kc, tok, t0, Tn, b->pos, two_d ? b->pos_x : NULL,
                                                two_d ? b->pos_y : NULL);
        assert_int_equal(out->shape[0], B * Tn);
        assert_int_equal(out->shape[1], K);
        for (int s = 0; s < B; s++)
            for (int i = 0; i < Tn; i++)
                for (int k = 0; k < K; k++) {
                    double a = out->data[((size_t)s * Tn + i) * K + k], f = full[((size_t)s * T + t0 + i) * K + k];
                    double err = fabs(a - f) / fmax(fmax(fabs(a), fabs(f)), 1);
                    if (!(err <= worst)) worst = isnan(err) ? INFINITY : err;
                }
        graph_reset(&g);
        t0 += Tn;
    }
    assert_int_equal(kc->len, T);
    free(tok);
    return worst;
}

static void check_case(const cache_case *cc, unsigned long seed) {
    model m;
    batch b;
    int built = build(&m, &b, cc, seed, 0);
    if (built == 1) return;
    if (built) fail_msg("%s %s %s: invalid config", cc->task, cc->encoding, cc->norm);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *out = model_forward(&m, &g, &b, 0);                        /* (B*T, K) */
    real *full = malloc(out->n * sizeof(real));
    memcpy(full, out->data, out->n * sizeof(real));
    graph_reset(&g);
    int prompt = cc->prompt ? cc->prompt : b.answer_at + 1;
    kv_cache kc;
    if (!kv_cache_keeps_enough(&m)) {   /* conv's embed, linear-num's un-rotated keys: no cache (kvcache.h) */
        assert_int_equal(kv_cache_init(&kc, &m, b.B, b.T), -1);
        free(full);
        arena_free(&ar);
        batch_free(&b);
        model_free(&m);
        return;
    }
    if (kv_cache_init(&kc, &m, b.B, b.T)) fail_msg("kv_cache_init failed");
    double err = cached_error(&m, &kc, &ar, &b, b.B, prompt, full);
    if (!(err <= CACHE_TOL))
        fail_msg("%s %s %s markers %s positions %s %s-%s: cached logits off by %.3g (relative)", cc->task, cc->encoding,
                 cc->norm, cc->markers, cc->positions, cc->ln, cc->ln_kind, err);
    /* fewer sequences after a reset, same rows; the second pass allocates nothing new */
    size_t mallocs = ar.n_mallocs;
    err = cached_error(&m, &kc, &ar, &b, 1, 1, full);
    if (!(err <= CACHE_TOL)) fail_msg("%s %s after reset: off by %.3g", cc->task, cc->encoding, err);
    err = cached_error(&m, &kc, &ar, &b, b.B, prompt, full);
    if (!(err <= CACHE_TOL)) fail_msg("%s %s after reset: off by %.3g", cc->task, cc->encoding, err);
    assert_int_equal(ar.n_mallocs, mallocs);
    kv_cache_free(&kc);
    free(full);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
}

static const char *const NORMS[] = {"softmax", "l2", "nodenom", "relu2n", "swishl2", "logscaled", "linear", "linear-num", "cos1"};
#define N_NORMS 9
static const char *const MARKERS[] = {"none", "bos", "cls-sep"};
static const char *const POSITIONS[] = {"sequential", "shifted", "randomized"};

/* Every encoding x normalizer on the causal probe; markers, positions, norm
 * placement and prompt length vary from case to case. */
static void test_cache_every_encoding_norm(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++)
        for (int n = 0; n < N_NORMS; n++) {
            int v = e * N_NORMS + n;
            cache_case cc = {"probe", encoding_at(e)->name, NORMS[n], MARKERS[v % 3], POSITIONS[(v / 3) % 3],
                             v % 2 ? "post" : "pre", (v / 2) % 2 ? "rms" : "layer", 9, 1 + v % 4};
            check_case(&cc, 10 + (unsigned long)v);
        }
}

/* Every encoding x markers x positions (softmax). */
static void test_cache_markers_positions(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++)
        for (int mk = 0; mk < 3; mk++)
            for (int p = 0; p < 3; p++) {
                cache_case cc = {"probe", encoding_at(e)->name, "softmax", MARKERS[mk], POSITIONS[p], "pre", "layer", 7, 2};
                check_case(&cc, 200 + (unsigned long)(e * 9 + mk * 3 + p));
            }
}

/* The decoder form as greedy decoding runs it: the prompt [BOS] in [SEP],
 * then the answer one token at a time. */
static void test_cache_decoder_form(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++) {
        cache_case cc = {"copy", encoding_at(e)->name, NORMS[e % N_NORMS], "none", POSITIONS[e % 3], "pre", "layer", 5, 0};
        check_case(&cc, 300 + (unsigned long)e);
    }
}

/* 2-D positions: rope2d (and an absolute encoding beside it) on probe2d. */
static void test_cache_2d(void **state) {
    (void)state;
    const char *const enc[] = {"rope2d", "learned", "alibi"};
    for (int i = 0; i < 3; i++)
        for (int p = 0; p < 2; p++) {
            cache_case cc = {"probe2d", enc[i], NORMS[i], "none", POSITIONS[p], "pre", "layer", 3, 2};
            check_case(&cc, 400 + (unsigned long)(i * 2 + p));
        }
}

/* Greedy decoding, cached and recomputed, of every encoding x normalizer:
 * the same tokens, lengths and stops, and the last step's logits. [EOS] gets
 * a bias so that some sequences stop before the cap and others do not. */
static void test_greedy_cached_equals_recompute(void **state) {
    (void)state;
    for (int e = 0; encoding_at(e); e++)
        for (int n = 0; n < N_NORMS; n++) {
            int v = e * N_NORMS + n;
            cache_case cc = {"copy", encoding_at(e)->name, NORMS[n], "none", POSITIONS[v % 3], "pre", "layer", 3, 0};
            model m;
            batch b;
            int built = build(&m, &b, &cc, 500 + (unsigned long)v, 1);
            if (built == 1) continue;
            if (built) fail_msg("%s %s: invalid config", cc.encoding, cc.norm);
            m.head_b->data[m.lo.eos_class] += (real)0.5;
            int cap = layout_decode_cap(&m.lo, cc.len);
            decoder d[2];
            arena ar;
            arena_init(&ar, 0);
            graph g;
            graph_init(&g, &ar, 0);
            const decode_mode modes[2] = {DECODE_RECOMPUTE, DECODE_CACHED};
            for (int md = 0; md < 2; md++) {
                decoder_init(&d[md], &m, b.B, b.pos_rows, cap, modes[md]);
                decoder_run(&d[md], &m, &g, &b);
            }
            /* a model that reads earlier rows the cache does not keep decodes by recomputing */
            assert_int_equal(d[1].mode, kv_cache_keeps_enough(&m) ? DECODE_CACHED : DECODE_RECOMPUTE);
            assert_int_equal(d[0].steps, d[1].steps);
            for (int s = 0; s < b.B; s++) {
                assert_int_equal(d[0].len[s], d[1].len[s]);
                assert_int_equal(d[0].stopped[s], d[1].stopped[s]);
                for (int j = 0; j < d[0].len[s]; j++)
                    assert_int_equal(d[0].gen[(size_t)s * cap + j], d[1].gen[(size_t)s * cap + j]);
            }
            for (int x = 0; x < b.B * m.K; x++) {
                double a = d[0].logits[x], c = d[1].logits[x];
                if (!(fabs(a - c) <= CACHE_TOL * fmax(fmax(fabs(a), fabs(c)), 1)))
                    fail_msg("%s %s: last logits %.17g cached, %.17g recomputed", cc.encoding, cc.norm, c, a);
            }
            for (int md = 0; md < 2; md++) decoder_free(&d[md]);
            arena_free(&ar);
            batch_free(&b);
            model_free(&m);
        }
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

/* posprobe eval of a trained decoder: the same eval.csv rows cached and
 * recomputed, at lengths past training. */
static void test_eval_rows_cached_equal_recompute(void **state) {
    (void)state;
    const char *const enc[] = {"rope", "t5", "cope", "conv", "rope", "rope", "rope-v"};
    const char *const norm[] = {"softmax", "softmax", "softmax", "softmax", "linear", "linear-num", "cos1"};
    for (int e = 0; e < 7; e++) {
        run_config c;
        config_defaults(&c);
        char err[512], out[2][300];
        if (config_set(&c, "norm", norm[e], err, sizeof err)) fail_msg("%s", err);
        snprintf(c.task, sizeof c.task, "copy");
        c.mask = MASK_CAUSAL;
        snprintf(c.encoding, sizeof c.encoding, "%s", enc[e]);
        c.dim = 16;
        c.len_min = 1;
        c.len_max = 4;
        c.len = 0;
        c.steps = 40;
        c.eval_size = 16;
        c.quiet = 1;
        snprintf(c.out, sizeof c.out, "%s/%s-%s", test_tmpdir, enc[e], norm[e]);
        run_result res;
        if (run_train(&c, &res, err, sizeof err)) fail_msg("%s", err);
        int_list lens;
        if (int_list_parse("1-7", &lens, err, sizeof err)) fail_msg("%s", err);
        const char *const modes[2] = {"cached", "recompute"};
        for (int md = 0; md < 2; md++) {
            snprintf(out[md], sizeof out[md], "%s/%s.csv", test_tmpdir, modes[md]);
            if (run_eval_checkpoint(c.out, &lens, out[md], NULL, modes[md], 1, err, sizeof err)) fail_msg("%s", err);
        }
        char *a = read_all(out[0]), *b = read_all(out[1]);
        assert_true(strstr(a, ",greedy,") != NULL);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

/* The cache is only for causal models. */
static void test_cache_needs_causal(void **state) {
    (void)state;
    run_config c;
    config_defaults(&c);
    char err[512];
    if (config_validate(&c, err, sizeof err)) fail_msg("%s", err);
    model m;
    if (model_build(&m, &c, c.len, err, sizeof err)) fail_msg("%s", err);
    kv_cache kc;
    assert_int_equal(kv_cache_init(&kc, &m, 2, 8), -1);
    model_free(&m);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_cache_every_encoding_norm),
    cmocka_unit_test(test_cache_markers_positions),
    cmocka_unit_test(test_cache_decoder_form),
    cmocka_unit_test(test_cache_2d),
    cmocka_unit_test(test_greedy_cached_equals_recompute),
    cmocka_unit_test_setup_teardown(test_eval_rows_cached_equal_recompute, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test(test_cache_needs_causal),
};
const test_group test_group_decode_cache = {"decode_cache", TESTS, sizeof TESTS / sizeof *TESTS};
