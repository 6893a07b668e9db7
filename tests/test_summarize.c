/* summarize: groups are settings, not-fitted runs are counted and (with
 * --fitted-only) never averaged in. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csvio.h"
#include "summarize.h"

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* One hand-made finished run: exact match acc at lengths 1, 2 (trained) and 4;
 * extra: more config.csv lines ("dim,64\n"). */
static void fake_run_named(const char *root, const char *name, int seed, int fitted, double acc_in, double acc_out,
                           const char *extra) {
    char dir[256], path[300], text[1024];
    snprintf(dir, sizeof dir, "%s/runs/%s", root, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/config.csv", dir);
    snprintf(text, sizeof text,
             "key,value\ntask,copy\nencoding,rope\nnorm,softmax\nmask,causal\nmarkers,none\npositions,sequential\n"
             "head,auto\nseed,%d\nlen-max,2\nrun-id,%s\nquiet,1\nversion,0.1.0\n%s", seed, name, extra);
    write_text(path, text);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    snprintf(text, sizeof text, "run_id,status,fitted,fit_step,fit_seq_acc,steps_done,train_s\n%s,finished,%d,%s,%s,%d,%s\n",
             name, fitted, fitted ? "100" : "", fitted ? "1" : "0.40625", fitted ? 100 : 200, fitted ? "1.5" : "3.25");
    write_text(path, text);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    snprintf(text, sizeof text,
             "run_id,step,length,eval_mode,loss,token_acc,seq_acc,length_acc,n_sequences\n"
             "%s,200,1,greedy,0,%g,%g,1,8\n%s,200,2,greedy,0,%g,%g,1,8\n%s,200,4,greedy,0,%g,%g,0.5,8\n",
             name, acc_in, acc_in, name, acc_in, acc_in, name, acc_out, acc_out);
    write_text(path, text);
}

static void fake_run(const char *root, int seed, int fitted, double acc_in, double acc_out) {
    char name[32];
    snprintf(name, sizeof name, "r%d", seed);
    fake_run_named(root, name, seed, fitted, acc_in, acc_out, "");
}

static double horizon_cell(const char *root, const char *col, csv_table *h) {
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/horizons.csv", root);
    if (csv_read(path, h, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(h->n_rows, 1);
    return strtod(csv_get(h, 0, col), NULL);
}

/* --fitted-only: a run that did not fit is counted in n_not_fitted and
 * changes no mean; without the flag it is averaged like any finished run. */
static void test_summarize_fitted_only(void **state) {
    (void)state;
    char root[128], runs[160], err[512];
    snprintf(root, sizeof root, "%s/sum", test_tmpdir);
    snprintf(runs, sizeof runs, "%s/runs", root);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(runs, 0755), 0);
    fake_run(root, 1, 1, 1.0, 0.5);
    fake_run(root, 2, 1, 1.0, 0.25);
    fake_run(root, 3, 0, 0.0, 0.0);
    csv_table h;
    if (summarize_run(root, 1, 1, err, sizeof err)) fail_msg("%s", err);
    assert_true(fabs(horizon_cell(root, "seq_acc_beyond_train", &h) - 0.375) < 1e-12);
    assert_string_equal(csv_get(&h, 0, "n_seeds"), "2");
    assert_string_equal(csv_get(&h, 0, "n_not_fitted"), "1");
    assert_string_equal(csv_get(&h, 0, "seq_horizon_90"), "2");
    assert_true(fabs(strtod(csv_get(&h, 0, "length_acc_beyond_train"), NULL) - 0.5) < 1e-12);
    csv_table_free(&h);
    if (summarize_run(root, 1, 0, err, sizeof err)) fail_msg("%s", err);
    assert_true(fabs(horizon_cell(root, "seq_acc_beyond_train", &h) - 0.25) < 1e-12);
    assert_string_equal(csv_get(&h, 0, "n_seeds"), "3");
    assert_string_equal(csv_get(&h, 0, "seq_horizon_90"), "0");   /* the mean at length 1 is 2/3 */
    csv_table_free(&h);
    char path[300];
    csv_table r;
    snprintf(path, sizeof path, "%s/runs.csv", root);
    assert_int_equal(csv_read(path, &r, err, sizeof err), 0);
    assert_int_equal(r.n_rows, 3);
    assert_string_equal(csv_get(&r, 2, "fitted"), "0");
    assert_string_equal(csv_get(&r, 0, "fit_step"), "100");
    assert_string_equal(csv_get(&r, 2, "fit_seq_acc"), "0.40625");   /* how far the run that did not fit got */
    csv_table_free(&r);
}

/* Groups are settings: runs that differ in any option but the seed are never
 * averaged as seeds of one another (variant names the difference), and the
 * same setting and seed twice counts once. */
static void test_summarize_groups_are_settings(void **state) {
    (void)state;
    char root[128], runs[160], err[512], path[300];
    snprintf(root, sizeof root, "%s/sum", test_tmpdir);
    snprintf(runs, sizeof runs, "%s/runs", root);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(runs, 0755), 0);
    fake_run_named(root, "a1", 1, 1, 1.0, 0.5, "dim,32\nlr,0.001\n");
    fake_run_named(root, "a2", 2, 1, 1.0, 0.5, "dim,32\nlr,0.001\n");
    fake_run_named(root, "b1", 1, 1, 1.0, 0.0, "dim,64\nlr,0.001\n");
    fake_run_named(root, "c1", 1, 1, 1.0, 1.0, "dim,32\nlr,0.001\n");   /* a1 again under another run id */
    if (summarize_run(root, 1, 1, err, sizeof err)) fail_msg("%s", err);
    csv_table h;
    snprintf(path, sizeof path, "%s/horizons.csv", root);
    assert_int_equal(csv_read(path, &h, err, sizeof err), 0);
    assert_int_equal(h.n_rows, 2);                   /* dim 32 and dim 64: two settings */
    for (int r = 0; r < h.n_rows; r++) {
        int wide = strcmp(csv_get(&h, r, "variant"), "dim=64") == 0;
        if (!wide) assert_string_equal(csv_get(&h, r, "variant"), "dim=32");
        assert_string_equal(csv_get(&h, r, "n_seeds"), wide ? "1" : "2");   /* c1 repeats a1: counted once */
        assert_true(fabs(strtod(csv_get(&h, r, "seq_acc_beyond_train"), NULL) - (wide ? 0.0 : 0.5)) < 1e-12);
        assert_int_equal((int)strlen(csv_get(&h, r, "config_id")), 16);
    }
    csv_table_free(&h);
    csv_table rr;
    snprintf(path, sizeof path, "%s/runs.csv", root);
    assert_int_equal(csv_read(path, &rr, err, sizeof err), 0);
    int dup = 0;
    for (int r = 0; r < rr.n_rows; r++)
        if (strcmp(csv_get(&rr, r, "status"), "duplicate") == 0) {
            dup++;
            assert_string_equal(csv_get(&rr, r, "run_id"), "c1");
            assert_non_null(strstr(csv_get(&rr, r, "reason"), "a1"));
        }
    assert_int_equal(dup, 1);
    csv_table_free(&rr);
}

/* Overwrites one file of a fake run. */
static void write_run_file(const char *root, const char *name, const char *file, const char *text) {
    char path[400];
    snprintf(path, sizeof path, "%s/runs/%s/%s", root, name, file);
    write_text(path, text);
}

static void make_root(char *root, size_t len) {
    char runs[300];
    snprintf(root, len, "%s/sum", test_tmpdir);
    snprintf(runs, sizeof runs, "%s/runs", root);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(runs, 0755), 0);
}

static void read_out(const char *root, const char *file, csv_table *t) {
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/%s", root, file);
    if (csv_read(path, t, err, sizeof err)) fail_msg("%s", err);
}

/* A row of runs.csv by run_id; fails when absent. */
static int run_row(const csv_table *t, const char *id) {
    for (int r = 0; r < t->n_rows; r++)
        if (strcmp(csv_get(t, r, "run_id"), id) == 0) return r;
    fail_msg("no run %s in runs.csv", id);
    return -1;
}

/* An eval.csv without a needed column, with a step or length that is not an
 * integer, with one (length, eval_mode) twice at the final step, or a
 * summary.csv whose fitted is not 0/1: the run is unreadable, with a reason,
 * and the others are summarized. */
static void test_summarize_bad_eval(void **state) {
    (void)state;
    static const struct { const char *name, *file, *text; } bad[] = {
        {"b_no_token", "eval.csv", "run_id,step,length,eval_mode,seq_acc\nx,200,1,greedy,1\n"},
        {"b_no_seq", "eval.csv", "run_id,step,length,eval_mode,token_acc\nx,200,1,greedy,1\n"},
        {"b_no_step", "eval.csv", "run_id,length,eval_mode,token_acc,seq_acc\nx,1,greedy,1,1\n"},
        {"b_no_length", "eval.csv", "run_id,step,eval_mode,token_acc,seq_acc\nx,200,greedy,1,1\n"},
        {"b_no_mode", "eval.csv", "run_id,step,length,token_acc,seq_acc\nx,200,1,1,1\n"},
        {"b_step_abc", "eval.csv", "run_id,step,length,eval_mode,token_acc,seq_acc\nx,100,1,greedy,1,1\n"
                                   "x,abc,1,greedy,0,0\n"},
        {"b_len_abc", "eval.csv", "run_id,step,length,eval_mode,token_acc,seq_acc\nx,200,abc,greedy,1,1\n"},
        {"b_twice", "eval.csv", "run_id,step,length,eval_mode,token_acc,seq_acc\nx,200,1,greedy,1,1\n"
                                "x,200,1,greedy,1,1\n"},
        {"b_fitted", "summary.csv", "run_id,status,fitted,fit_step\nx,finished,yes,\n"},
    };
    char root[128], err[512];
    make_root(root, sizeof root);
    fake_run_named(root, "a_ok", 1, 1, 1.0, 0.5, "");
    size_t n = sizeof bad / sizeof *bad;
    for (size_t i = 0; i < n; i++) {
        fake_run_named(root, bad[i].name, (int)i + 2, 1, 1.0, 1.0, "");
        write_run_file(root, bad[i].name, bad[i].file, bad[i].text);
    }
    if (summarize_run(root, 1, 0, err, sizeof err)) fail_msg("%s", err);
    csv_table t;
    read_out(root, "runs.csv", &t);
    assert_int_equal(t.n_rows, (int)n + 1);
    for (size_t i = 0; i < n; i++) {
        int r = run_row(&t, bad[i].name);
        if (strcmp(csv_get(&t, r, "status"), "unreadable") != 0 || !*csv_get(&t, r, "reason"))
            fail_msg("%s: status %s, reason '%s'", bad[i].name, csv_get(&t, r, "status"), csv_get(&t, r, "reason"));
    }
    csv_table_free(&t);
    double v = horizon_cell(root, "seq_acc_beyond_train", &t);
    assert_true(fabs(v - 0.5) < 1e-12);
    assert_string_equal(csv_get(&t, 0, "n_seeds"), "1");
    assert_int_equal(atoi(csv_get(&t, 0, "n_unfinished")), (int)n);   /* unreadable runs of the group */
    csv_table_free(&t);
}

/* A duplicate is neither a failure nor a second seed: not in n_unfinished,
 * and with --fitted-only an unfitted duplicate is not counted again in
 * n_not_fitted (the first run read, in path order, is kept). */
static void test_summarize_duplicates(void **state) {
    (void)state;
    char root[128], err[512];
    make_root(root, sizeof root);
    fake_run_named(root, "a1", 1, 0, 0.0, 0.0, "");
    fake_run_named(root, "a2", 2, 1, 1.0, 0.5, "");
    fake_run_named(root, "c1", 1, 0, 0.0, 0.0, "");   /* a1 again */
    fake_run_named(root, "c2", 2, 1, 1.0, 1.0, "");   /* a2 again */
    for (int fitted_only = 0; fitted_only <= 1; fitted_only++) {
        if (summarize_run(root, 1, fitted_only, err, sizeof err)) fail_msg("%s", err);
        csv_table t;
        horizon_cell(root, "n_seeds", &t);
        assert_string_equal(csv_get(&t, 0, "n_seeds"), fitted_only ? "1" : "2");
        assert_string_equal(csv_get(&t, 0, "n_not_fitted"), "1");
        assert_string_equal(csv_get(&t, 0, "n_unfinished"), "0");
        csv_table_free(&t);
        read_out(root, "summary.csv", &t);
        for (int r = 0; r < t.n_rows; r++) assert_string_equal(csv_get(&t, r, "n_unfinished"), "0");
        csv_table_free(&t);
        read_out(root, "runs.csv", &t);
        assert_string_equal(csv_get(&t, run_row(&t, "c1"), "status"), "duplicate");
        assert_string_equal(csv_get(&t, run_row(&t, "c2"), "status"), "duplicate");
        assert_string_equal(csv_get(&t, run_row(&t, "a1"), "status"), "finished");
        csv_table_free(&t);
    }
}

/* runs.csv names each run's directory (two directories may share a run id);
 * an empty summary.csv says so; an unreadable config has no fitted value. */
static void test_summarize_runs_csv(void **state) {
    (void)state;
    char root[128], err[512], want[300];
    make_root(root, sizeof root);
    fake_run_named(root, "a1", 1, 1, 1.0, 0.5, "");
    fake_run_named(root, "a2", 2, 1, 1.0, 0.5, "");
    write_run_file(root, "a2", "config.csv",
                   "key,value\ntask,copy\nencoding,rope\nnorm,softmax\nmask,causal\nmarkers,none\npositions,sequential\n"
                   "head,auto\nseed,2\nlen-max,2\nrun-id,a1\nquiet,1\nversion,0.1.0\n");   /* run id a1 twice */
    fake_run_named(root, "e1", 3, 1, 1.0, 0.5, "");
    write_run_file(root, "e1", "summary.csv", "");
    fake_run_named(root, "j1", 4, 1, 1.0, 0.5, "");
    write_run_file(root, "j1", "config.csv", "garbage\n");
    if (summarize_run(root, 1, 0, err, sizeof err)) fail_msg("%s", err);
    csv_table t;
    read_out(root, "runs.csv", &t);
    assert_int_equal(t.n_rows, 4);
    assert_string_equal(t.header[t.n_cols - 1], "path");
    static const char *const dirs[] = {"a1", "a2", "e1", "j1"};   /* path order */
    for (int r = 0; r < 4; r++) {
        snprintf(want, sizeof want, "%s/runs/%s", root, dirs[r]);
        assert_string_equal(csv_get(&t, r, "path"), want);
    }
    assert_string_equal(csv_get(&t, 1, "run_id"), "a1");
    assert_string_equal(csv_get(&t, 0, "steps_done"), "100");   /* copied from the run's summary.csv */
    assert_string_equal(csv_get(&t, 0, "train_s"), "1.5");
    assert_string_equal(csv_get(&t, 2, "status"), "unfinished");
    assert_string_equal(csv_get(&t, 2, "steps_done"), "");
    assert_string_equal(csv_get(&t, 2, "train_s"), "");
    assert_string_equal(csv_get(&t, 2, "reason"), "summary.csv is empty or has no row");
    assert_string_equal(csv_get(&t, 3, "status"), "unreadable");
    assert_string_equal(csv_get(&t, 3, "fitted"), "");
    assert_string_equal(csv_get(&t, 3, "fit_step"), "");
    csv_table_free(&t);
}

/* mean, sd and the 95% interval against numbers computed by hand: sequence
 * accuracies 0.5, 0.6, 0.7, 0.6 at length 4 over four seeds give mean 0.6,
 * sd sqrt(0.02 / 3) = 0.0816496580927726 (divided by n - 1; by n it would be
 * 0.0707), and mean -+ t sd / sqrt(4) with t = t_{0.975, 3} = 3.18244630528371
 * (z = 1.96 would give -+ 0.0800). */
static void test_summarize_statistics_known_values(void **state) {
    (void)state;
    char root[128], err[512];
    make_root(root, sizeof root);
    const double acc[4] = {0.5, 0.6, 0.7, 0.6};
    for (int s = 0; s < 4; s++) fake_run(root, s + 1, 1, 1.0, acc[s]);
    if (summarize_run(root, 1, 0, err, sizeof err)) fail_msg("%s", err);
    csv_table t;
    read_out(root, "summary.csv", &t);
    int row = -1;
    for (int r = 0; r < t.n_rows; r++) if (strcmp(csv_get(&t, r, "length"), "4") == 0) row = r;
    assert_true(row >= 0);
    assert_string_equal(csv_get(&t, row, "n_seeds"), "4");
    static const struct { const char *col; double want; } cells[] = {
        {"seq_acc_mean", 0.6}, {"seq_acc_sd", 0.0816496580927726},
        {"seq_acc_ci_lo", 0.6 - 0.129922826362534}, {"seq_acc_ci_hi", 0.6 + 0.129922826362534},
        {"seq_acc_min", 0.5}, {"seq_acc_max", 0.7},
    };
    for (size_t k = 0; k < sizeof cells / sizeof *cells; k++) {
        double got = strtod(csv_get(&t, row, cells[k].col), NULL);
        if (!(fabs(got - cells[k].want) < 1e-9)) fail_msg("%s = %.15g, by hand %.15g", cells[k].col, got, cells[k].want);
    }
    csv_table_free(&t);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test_setup_teardown(test_summarize_fitted_only, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_groups_are_settings, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_bad_eval, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_duplicates, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_runs_csv, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_statistics_known_values, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_summarize = {"summarize", TESTS, sizeof TESTS / sizeof *TESTS};
