/* Task generators and the layout: golden examples, invariants at every
 * length from 1 up in both forms, bad parameters, and short training runs
 * that learn above chance. */
#include "check.h"
#include "config_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "model.h"
#include "run.h"
#include "layout.h"

static void config_for(run_config *c, const char *task, const char *mask, const char *markers, int max_n) {
    config_defaults(c);
    snprintf(c->task, sizeof c->task, "%s", task);
    set_choice(c, "mask", mask);
    set_choice(c, "markers", markers);
    c->vocab = 5;
    c->grid_w = 3;
    c->len = c->len_min = c->len_max = max_n;
}

/* What each task's answer must be, from its input alone. */
static void check_semantics(const layout *lo, const int *in, int k, const int *out, int m, int n) {
    const char *t = lo->task->name;
    int V = lo->info.vocab;
    if (strcmp(t, "probe") == 0) for (int i = 0; i < k; i++) assert_int_equal(out[i], i + 1);
    if (strcmp(t, "copy") == 0 || strcmp(t, "repeat") == 0) for (int i = 0; i < k; i++) assert_int_equal(out[i], in[i]);
    if (strcmp(t, "repeat") == 0) for (int i = 1; i < k; i++) assert_int_equal(in[i], in[0]);
    if (strcmp(t, "repeat2") == 0) for (int i = 0; i < k; i++) assert_int_equal(out[i], (in[i] + 1) % V);
    if (strcmp(t, "reverse") == 0) for (int i = 0; i < k; i++) assert_int_equal(out[i], in[k - 1 - i]);
    if (strcmp(t, "duplicate") == 0) {
        assert_int_equal(m, 2 * k);
        for (int i = 0; i < k; i++) { assert_int_equal(out[i], in[i]); assert_int_equal(out[k + i], in[i]); }
    }
    if (strcmp(t, "sort") == 0) {
        int hist[64] = {0};
        for (int i = 0; i < k; i++) hist[in[i]]++;
        for (int i = 0; i < m; i++) { hist[out[i]]--; if (i) assert_true(out[i - 1] <= out[i]); }
        for (int v = 0; v < V; v++) assert_int_equal(hist[v], 0);
    }
    if (strcmp(t, "parity") == 0) {
        int p = 0;
        for (int i = 0; i < k; i++) p ^= in[i];
        assert_int_equal(out[0], p);
    }
    if (strcmp(t, "even_pairs") == 0) assert_int_equal(out[0], in[0] == in[k - 1]);
    if (strcmp(t, "missing_duplicate") == 0) {
        int h = k / 2, blanks = 0;
        for (int i = 0; i < h; i++)
            if (in[h + i] == V - 1) { blanks++; assert_int_equal(out[0], in[i]); }
            else assert_int_equal(in[h + i], in[i]);
        assert_int_equal(blanks, 1);
    }
    if (strcmp(t, "recall") == 0) {
        int found = 0;
        for (int i = 0; i < n; i++)
            if (in[2 * i] == in[2 * n]) { found++; assert_int_equal(out[0], in[2 * i + 1]); }
        assert_int_equal(found, 1);   /* keys are distinct */
    }
    if (strcmp(t, "flipflop") == 0) {
        int last = -1;
        for (int i = 0; i < n; i++) if (in[2 * i] == 2) last = in[2 * i + 1];
        assert_int_equal(in[0], 2);
        assert_int_equal(in[2 * n], 4);
        assert_int_equal(out[0], last);
    }
    if (strcmp(t, "offset") == 0) {
        int a = -1;
        for (int i = 0; i < k; i++) if (in[i] == 1) { assert_int_equal(a, -1); a = i; }
        assert_true(a >= 0);
        for (int i = 0; i < k; i++) assert_int_equal(out[i], i - a + lo->info.max_n - 1);
    }
}

/* Every task, both masks, all markers, every valid n in 1..12: layout and answers. */
static void test_layout_invariants(void **state) {
    (void)state;
    const char *masks[2] = {"bidir", "causal"}, *markers[3] = {"none", "bos", "cls-sep"};
    const int max_n = 12;
    for (int ti = 0; task_at(ti); ti++)
        for (int mk = 0; mk < 2; mk++)
            for (int mr = 0; mr < 3; mr++) {
                run_config c;
                config_for(&c, task_at(ti)->name, masks[mk], markers[mr], max_n);
                layout lo;
                char err[256];
                if (task_at(ti)->shape == TASK_SEQ2SEQ && mk == 1 && mr != 0) {   /* the decoder has its own markers */
                    assert_int_equal(layout_init(&lo, &c, max_n, err, sizeof err), -1);
                    assert_non_null(strstr(err, "decoder form always has its own"));
                    continue;
                }
                if (layout_init(&lo, &c, max_n, err, sizeof err)) fail_msg("%s", err);
                batch b;
                batch_alloc(&b, 3, layout_seq_len(&lo, max_n));
                gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
                int tested = 0;
                for (int n = 1; n <= max_n; n++) {
                    if (layout_check_len(&lo, n, err, sizeof err)) continue;
                    tested++;
                    layout_fill(&lo, &b, n, r, POS_SEQUENTIAL, 256, r);
                    int k = task_input_len(&lo, n), V = lo.info.vocab, T = b.T;
                    assert_int_equal(T, layout_seq_len(&lo, n));
                    for (int s = 0; s < b.B; s++) {
                        const int *tok = b.tokens + (size_t)s * T, *tg = b.targets + (size_t)s * T;
                        int scored = 0, in[512], out[512], m = 0;
                        for (int t = 0; t < T; t++) {
                            assert_in_range(tok[t], 0, lo.vocab - 1);
                            assert_true(tg[t] >= -1 && tg[t] < lo.classes);
                            assert_true((tg[t] >= 0) == (b.weights[(size_t)s * T + t] > 0));
                            scored += tg[t] >= 0;
                        }
                        if (lo.task->shape == TASK_ALIGNED) {
                            int at = lo.markers == MARK_NONE ? 0 : 1;
                            assert_int_equal(scored, k);
                            if (lo.markers != MARK_NONE) assert_int_equal(tok[0], V + TOK_BOS);
                            if (lo.markers == MARK_CLS_SEP) assert_int_equal(tok[T - 1], V + TOK_SEP);
                            for (int i = 0; i < k; i++) { in[i] = tok[at + i]; out[i] = tg[at + i]; }
                            m = k;
                        } else if (lo.form == FORM_ENCODER) {
                            m = lo.task->answer_len(&lo.info, n);
                            assert_int_equal(scored, m);
                            for (int j = 0; j < m; j++) {   /* answer slots at the end, all blank */
                                assert_int_equal(tok[T - m + j], V + TOK_BLANK);
                                out[j] = tg[T - m + j];
                            }
                            int at = lo.markers == MARK_NONE ? 0 : 1;
                            for (int i = 0; i < k; i++) in[i] = tok[at + i];
                        } else {                              /* [BOS] in [SEP] answer, then [EOS] is scored */
                            m = lo.task->answer_len(&lo.info, n);
                            assert_int_equal(lo.eos, 1);
                            assert_int_equal(lo.eos_class, lo.classes - 1);
                            assert_int_equal(scored, m + 1);
                            assert_int_equal(T, k + m + 2);
                            assert_int_equal(tok[0], V + TOK_BOS);
                            assert_int_equal(tok[k + 1], V + TOK_SEP);
                            for (int i = 0; i < k; i++) in[i] = tok[1 + i];
                            for (int j = 0; j < m; j++) {
                                out[j] = tg[k + 1 + j];
                                assert_true(out[j] != lo.eos_class);
                                assert_int_equal(b.answer[(size_t)s * m + j], out[j]);
                                assert_int_equal(tok[k + 2 + j], out[j]);   /* teacher forcing, the whole answer */
                            }
                            assert_int_equal(tg[k + 1 + m], lo.eos_class);   /* the row after the answer predicts [EOS] */
                            assert_int_equal(layout_decode_cap(&lo, n), 2 * m + 4);
                            assert_int_equal(layout_decode_rows(&lo, n), k + 2 + 2 * m + 3);
                        }
                        check_semantics(&lo, in, k, out, m, n);
                    }
                    if (lo.task->flags & TASK_2D) {
                        int at = lo.markers == MARK_NONE ? 0 : 1;
                        for (int i = 0; i < k; i++) {
                            assert_int_equal(b.pos_x[at + i], i / c.grid_w);
                            assert_int_equal(b.pos_y[at + i], i % c.grid_w);
                        }
                    }
                }
                assert_true(tested >= max_n / 2);
                gsl_rng_free(r);
                batch_free(&b);
            }
}

/* Bad parameters give clear errors. */
static void test_bad_task_parameters(void **state) {
    (void)state;
    run_config c;
    layout lo;
    char err[256];
    config_for(&c, "copy", "bidir", "none", 8);
    assert_int_equal(layout_init(&lo, &c, 8, err, sizeof err), 0);
    assert_int_equal(layout_check_len(&lo, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "lengths start at 1"));
    config_for(&c, "offset", "bidir", "none", 8);
    assert_int_equal(layout_init(&lo, &c, 8, err, sizeof err), 0);
    assert_int_equal(layout_check_len(&lo, 9, err, sizeof err), -1);
    assert_non_null(strstr(err, "exceeds"));
    config_for(&c, "probe2d", "bidir", "none", 100);
    c.grid_w = 100;
    assert_int_equal(layout_init(&lo, &c, 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "exceeds the maximum"));
    config_for(&c, "probe", "bidir", "none", 8);
    assert_int_equal(layout_init(&lo, &c, 8, err, sizeof err), 0);
    assert_int_equal(layout_check_len(&lo, 9, err, sizeof err), -1);
    config_for(&c, "copy", "bidir", "none", 8);
    c.head = HEAD_REGRESSION;
    assert_int_equal(layout_init(&lo, &c, 8, err, sizeof err), -1);
    assert_non_null(strstr(err, "no numeric outputs"));
    config_for(&c, "recall", "bidir", "none", 4);   /* keys from max(4, vocab 5) tokens: 6 pairs cannot be distinct */
    assert_int_equal(layout_init(&lo, &c, 4, err, sizeof err), 0);
    assert_int_equal(layout_check_len(&lo, 5, err, sizeof err), 0);
    assert_int_equal(layout_check_len(&lo, 6, err, sizeof err), -1);
    assert_non_null(strstr(err, "distinct keys"));
    config_for(&c, "nosuch", "bidir", "none", 8);
    assert_int_equal(layout_init(&lo, &c, 8, err, sizeof err), -1);
}

/* One short run per task in each form: above chance. Chance is 1/classes per
 * token for most tasks; the bar is set well above it and below what the run
 * reaches, measured at these settings. */
static void test_tasks_learn_above_chance(void **state) {
    (void)state;
    const char *dir = test_tmpdir;   /* removed by the teardown, also when the test fails */
    /* dim 16 and 150 steps where that suffices; the two bit tasks need dim 32 and 300 */
    static const struct { const char *task; int n, dim, steps; double bar; } cases[] = {
        {"probe", 6, 16, 150, 0.9}, {"probe2d", 2, 16, 150, 0.9}, {"offset", 6, 16, 150, 0.5},
        {"repeat", 5, 16, 150, 0.9}, {"repeat2", 5, 16, 150, 0.9}, {"copy", 4, 16, 150, 0.6},
        {"reverse", 4, 16, 150, 0.6}, {"duplicate", 3, 16, 150, 0.6}, {"sort", 5, 16, 150, 0.6},
        {"parity", 2, 32, 300, 0.75}, {"even_pairs", 5, 32, 300, 0.75}, {"missing_duplicate", 2, 16, 300, 0.5},
        {"recall", 2, 16, 150, 0.4}, {"flipflop", 3, 16, 150, 0.7},
    };
    const char *masks[2] = {"bidir", "causal"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int mk = 0; mk < 2; mk++) {
            run_config c;
            config_for(&c, cases[i].task, masks[mk], "none", cases[i].n);
            c.steps = cases[i].steps;
            c.dim = cases[i].dim;
            c.lr = cases[i].dim == 16 ? 5e-3 : 3e-3;
            if (mk == 1 && cases[i].dim == 32) {
                /* with [EOS], the decoder form of the bit tasks stayed at the majority class with width 32 at
                 * lr 3e-3 (even_pairs: 5 of 6 seeds); width 64, 4 heads and lr 1e-3 learn it in 600 steps */
                c.dim = 64;
                c.heads = 4;
                c.lr = 1e-3;
                c.steps = 600;
            }
            c.quiet = 1;
            c.eval_size = 32;
            snprintf(c.out, sizeof c.out, "%s/%s-%s", dir, cases[i].task, masks[mk]);
            run_result res;
            char err[512];
            if (run_train(&c, &res, err, sizeof err)) fail_msg("%s: %s", cases[i].task, err);
            if (!(res.eval_token_acc >= cases[i].bar))
                fail_msg("%s %s: token accuracy %.3f below %.2f", cases[i].task, masks[mk], res.eval_token_acc, cases[i].bar);
        }
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_layout_invariants),
    cmocka_unit_test(test_bad_task_parameters),
    cmocka_unit_test_setup_teardown(test_tasks_learn_above_chance, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_tasks = {"tasks", TESTS, sizeof TESTS / sizeof *TESTS};
