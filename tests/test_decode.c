/* The decoder form with [EOS]: how generated answers are scored, greedy
 * decoding that stops at [EOS] or at the cap, and stopping a run once it fits
 * its training lengths. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "csvio.h"
#include "decode.h"
#include "model.h"
#include "run.h"

/* Each case: a generated answer (len tokens before [EOS], or never stopped)
 * against a gold answer, and the expected counts. */
static void test_answer_scoring(void **state) {
    (void)state;
    static const struct {
        const char *what;
        int gen[12], len, stopped, gold[8], m, eos;
        long tok_ok, tok_n, exact, length_ok;
    } cases[] = {
        {"exact", {1, 2, 3}, 3, 1, {1, 2, 3}, 3, 1, 3, 3, 1, 1},
        {"one token wrong", {1, 0, 3}, 3, 1, {1, 2, 3}, 3, 1, 2, 3, 0, 1},
        {"stops early: missing tokens are wrong", {1, 2}, 2, 1, {1, 2, 3}, 3, 1, 2, 3, 0, 0},
        {"stops at once", {0}, 0, 1, {1, 2, 3}, 3, 1, 0, 3, 0, 0},
        {"too long: extra tokens are wrong", {1, 2, 3, 3, 3}, 5, 1, {1, 2, 3}, 3, 1, 3, 5, 0, 0},
        {"never stops (cap 2m + 4 = 10)", {1, 2, 3, 1, 2, 3, 1, 2, 3, 1}, 10, 0, {1, 2, 3}, 3, 1, 3, 10, 0, 0},
        {"the right tokens without [EOS] are not exact", {1, 2, 3}, 3, 0, {1, 2, 3}, 3, 1, 3, 3, 0, 0},
        {"given length (--eos 0)", {1, 0, 3}, 3, 0, {1, 2, 3}, 3, 0, 2, 3, 0, 1},
        {"given length, exact", {1, 2, 3}, 3, 0, {1, 2, 3}, 3, 0, 3, 3, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        answer_score s = {0, 0, 0, 0, 0};
        answer_score_add(&s, cases[i].gen, cases[i].len, cases[i].stopped, cases[i].gold, cases[i].m, cases[i].eos);
        if (s.tok_ok != cases[i].tok_ok || s.tok_n != cases[i].tok_n || s.exact != cases[i].exact ||
            s.length_ok != cases[i].length_ok || s.n != 1)
            fail_msg("%s: tok %ld/%ld exact %ld length %ld, expected %ld/%ld %ld %ld", cases[i].what, s.tok_ok, s.tok_n,
                     s.exact, s.length_ok, cases[i].tok_ok, cases[i].tok_n, cases[i].exact, cases[i].length_ok);
    }
}

static void decoder_config(run_config *c, const char *encoding) {
    config_defaults(c);
    snprintf(c->task, sizeof c->task, "copy");
    c->mask = MASK_CAUSAL;
    snprintf(c->encoding, sizeof c->encoding, "%s", encoding);
    c->vocab = 5;
    c->dim = 16;
    c->heads = 2;
    c->layers = 1;
    c->len = c->len_min = c->len_max = 4;
    c->init_scale = 0.3;
}

/* A model whose [EOS] logit is forced far above (below) every other stops
 * after its first token (never stops, and ends at the cap), in both modes. */
static void test_decoder_stops_at_eos_or_cap(void **state) {
    (void)state;
    const decode_mode modes[2] = {DECODE_RECOMPUTE, DECODE_CACHED};
    for (int md = 0; md < 2; md++)
        for (int force = -1; force <= 1; force += 2) {
            run_config c;
            decoder_config(&c, "rope");
            model m;
            char err[256];
            if (model_build(&m, &c, 4, err, sizeof err)) fail_msg("%s", err);
            gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(r, 7);
            model_init_params(&m, r);
            assert_int_equal(m.lo.eos_class, m.K - 1);
            m.head_b->data[m.lo.eos_class] = (real)(force * 1e4);
            int n = 4, cap = layout_decode_cap(&m.lo, n), rows = layout_decode_rows(&m.lo, n);
            assert_int_equal(cap, 2 * n + 4);
            batch b;
            batch_alloc(&b, 3, rows);
            b.decode_rows = rows;
            layout_fill(&m.lo, &b, n, r, POS_SEQUENTIAL, c.max_pos, r);
            assert_int_equal(b.pos_rows, rows);
            decoder d;
            decoder_init(&d, &m, 3, rows, cap, modes[md]);
            arena ar;
            arena_init(&ar, 1 << 16);
            graph g;
            graph_init(&g, &ar, 0);
            decoder_run(&d, &m, &g, &b);
            for (int s = 0; s < b.B; s++) {
                answer_score sc = {0, 0, 0, 0, 0};
                answer_score_add(&sc, d.gen + (size_t)s * d.max_cap, d.len[s], d.stopped[s], b.answer + (size_t)s * n,
                                 n, 1);
                if (force > 0) {           /* [EOS] first: an empty answer, every gold token missing */
                    assert_int_equal(d.stopped[s], 1);
                    assert_int_equal(d.len[s], 0);
                    assert_int_equal(d.gen[(size_t)s * d.max_cap], m.lo.eos_class);
                    assert_int_equal(sc.tok_n, n);
                } else {                   /* never: the cap, and no [EOS] among the tokens */
                    assert_int_equal(d.stopped[s], 0);
                    assert_int_equal(d.len[s], cap);
                    for (int j = 0; j < cap; j++) assert_true(d.gen[(size_t)s * d.max_cap + j] != m.lo.eos_class);
                    assert_int_equal(sc.tok_n, cap);
                }
                assert_int_equal(sc.exact, 0);
                assert_int_equal(sc.length_ok, 0);
            }
            assert_int_equal(d.steps, force > 0 ? b.B : b.B * cap);   /* decoding ended as soon as all had stopped */
            decoder_free(&d);
            arena_free(&ar);
            batch_free(&b);
            gsl_rng_free(r);
            model_free(&m);
        }
}


static const char *cell(const csv_table *t, const char *col) {
    const char *v = csv_get(t, 0, col);
    if (!v) fail_msg("no column %s", col);
    return v;
}

/* --stop-at-fit ends a run at the first evaluation whose mean exact match over
 * the training lengths reaches --fit-acc; the final rows then hold every
 * length once, also when the evaluation lengths are just the training
 * lengths (nothing is left to evaluate after the stop). Without it the run
 * trains to --steps and still records when it first fitted. */
static void test_stop_at_fit(void **state) {
    (void)state;
    for (int k = 0; k < 3; k++) {
        int stop = k < 2, max_len = k == 1 ? 3 : 5;
        run_config c;
        decoder_config(&c, "learned");
        snprintf(c.task, sizeof c.task, "repeat");
        c.init_scale = 0.02;
        c.len_min = 1;
        c.len_max = 3;
        c.len = 0;
        int_list_parse(max_len == 3 ? "1-3" : "1-5", &c.eval_lens, (char[64]){0}, 64);
        c.dim = 32;
        c.steps = 400;
        c.eval_every = 50;
        c.eval_size = 16;
        c.stop_at_fit = stop;
        c.quiet = 1;
        c.lr = 3e-3;
        snprintf(c.out, sizeof c.out, "%s/run%d", test_tmpdir, k);
        run_result res;
        char err[512], path[1200];
        if (run_train(&c, &res, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(res.status, RUN_FINISHED);
        if (!res.fitted) fail_msg("stop %d: fit_seq_acc %.3f after %d steps", stop, res.fit_seq_acc, res.steps_done);
        csv_table sum, ev;
        snprintf(path, sizeof path, "%s/summary.csv", c.out);
        assert_int_equal(csv_read(path, &sum, err, sizeof err), 0);
        assert_string_equal(cell(&sum, "fitted"), "1");
        int fit_step = atoi(cell(&sum, "fit_step")), done = atoi(cell(&sum, "steps_done"));
        assert_true(fit_step > 0 && fit_step % c.eval_every == 0);
        assert_true(strtod(cell(&sum, "fit_seq_acc"), NULL) >= c.fit_acc);
        if (stop) {
            assert_int_equal(done, fit_step);
            assert_true(done < c.steps);
        } else {
            assert_int_equal(done, c.steps);
            assert_true(fit_step < c.steps);
        }
        csv_table_free(&sum);
        snprintf(path, sizeof path, "%s/eval.csv", c.out);
        assert_int_equal(csv_read(path, &ev, err, sizeof err), 0);
        int seen[6][2] = {{0}};
        for (int r = 0; r < ev.n_rows; r++) {
            if (atoi(csv_get(&ev, r, "step")) != done) continue;
            int len = atoi(csv_get(&ev, r, "length")), greedy = strcmp(csv_get(&ev, r, "eval_mode"), "greedy") == 0;
            assert_in_range(len, 1, max_len);
            seen[len][greedy]++;
            assert_true(*csv_get(&ev, r, "length_acc"));   /* [EOS]: the share of right lengths is reported */
        }
        for (int len = 1; len <= max_len; len++) {
            assert_int_equal(seen[len][0], 1);
            assert_int_equal(seen[len][1], 1);
        }
        csv_table_free(&ev);
    }
}

/* posprobe eval checks positions like train does, before writing anything:
 * greedy decoding of a longer answer needs more rows than the table has. */
static void test_eval_checks_positions(void **state) {
    (void)state;
    run_config c;
    decoder_config(&c, "learned");
    c.len_min = 1;
    c.len_max = c.len = 3;
    c.max_pos = 20;              /* length 3 decodes into 5 + 10 - 1 = 14 rows; length 6 would need 23 */
    c.steps = 5;
    c.quiet = 1;
    int_list_parse("1-3", &c.eval_lens, (char[64]){0}, 64);
    snprintf(c.out, sizeof c.out, "%s/run", test_tmpdir);
    run_result res;
    char err[512], out[1200];
    if (run_train(&c, &res, err, sizeof err)) fail_msg("%s", err);
    int_list lens;
    int_list_parse("6", &lens, err, sizeof err);
    snprintf(out, sizeof out, "%s/eval6.csv", test_tmpdir);
    assert_int_equal(run_eval_checkpoint(c.out, &lens, out, NULL, NULL, 1, err, sizeof err), ERR_USAGE);
    assert_non_null(strstr(err, "length 6 needs 23 positions"));
    assert_int_equal(access(out, F_OK), -1);    /* nothing written */
    int_list_parse("3", &lens, err, sizeof err);
    assert_int_equal(run_eval_checkpoint(c.out, &lens, out, NULL, NULL, 1, err, sizeof err), 0);
}

/* Reals print as the shortest text that reads back the same, and -0 is 0, so
 * one setting has one config.csv text (and one config_id in summarize). */
static void test_config_reals_one_text(void **state) {
    (void)state;
    static const struct { const char *key, *in, *out; } cases[] = {
        {"lr", "0.003", "0.003"}, {"fit-acc", "-0", "0"}, {"fit-acc", "0.99", "0.99"}, {"lr", "1e-3", "0.001"},
        {"init-scale", "0.1", "0.1"}, {"wd", "0.30000000000000004", "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_config c;
        config_defaults(&c);
        char err[256], value[64];
        const char *name;
        if (config_set(&c, cases[i].key, cases[i].in, err, sizeof err)) fail_msg("%s", err);
        for (int k = 0; config_option(&c, k, &name, value, sizeof value); k++)
            if (strcmp(name, cases[i].key) == 0) {
                if (strcmp(value, cases[i].out)) fail_msg("--%s %s prints as %s, not %s", cases[i].key, cases[i].in, value, cases[i].out);
            }
    }
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_answer_scoring),
    cmocka_unit_test(test_config_reals_one_text),
    cmocka_unit_test(test_decoder_stops_at_eos_or_cap),
    cmocka_unit_test_setup_teardown(test_stop_at_fit, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_eval_checks_positions, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_decode = {"decode", TESTS, sizeof TESTS / sizeof *TESTS};
