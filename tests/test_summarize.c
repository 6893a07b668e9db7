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
    snprintf(text, sizeof text, "run_id,status,fitted,fit_step\n%s,finished,%d,%s\n", name, fitted, fitted ? "100" : "");
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

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test_setup_teardown(test_summarize_fitted_only, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_groups_are_settings, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_summarize = {"summarize", TESTS, sizeof TESTS / sizeof *TESTS};
