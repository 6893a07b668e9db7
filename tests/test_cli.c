/* The posprobe command line, run as a process: determinism, checkpoints,
 * config files, errors. The binary comes from $POSPROBE_BIN (set by make). */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csvio.h"
#include "engine.h"
#include "progress.h"

static const char *bin(void) {
    const char *b = getenv("POSPROBE_BIN");
    if (!b) fail_msg("POSPROBE_BIN is not set (run the tests through make)");
    return b;
}

/* Runs `posprobe ARGS`; returns the exit status; stderr goes to err_path. */
static int run(const char *args, const char *err_path) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>'%s'", bin(), args, err_path ? err_path : "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len) {
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    if (len) *len = got;
    return s;
}

/* Overwrites path with len bytes (a checkpoint edited in memory). */
static void spit(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}


#define TRAIN "train --quiet --len 8 --eval-lens 4,8 --eval-every 20 --steps 40 --dim 16 --batch 8 --eval-size 16"

/* Same seed: identical eval.csv and train.csv but for timing; another seed differs. */
static void test_determinism(void **state) {
    (void)state;
    char args[1024], a[256], b[256];
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, TRAIN " --run-id same --seed %d --out '%s/det%d'", i == 2 ? 2 : 1, test_tmpdir, i);
        assert_int_equal(run(args, NULL), 0);
    }
    snprintf(a, sizeof a, "%s/det0/eval.csv", test_tmpdir);
    snprintf(b, sizeof b, "%s/det1/eval.csv", test_tmpdir);
    assert_true(same_file(a, b));
    csv_table t[3];
    char err[512];
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s/det%d/train.csv", test_tmpdir, i);
        if (csv_read(a, &t[i], err, sizeof err)) fail_msg("%s", err);
    }
    assert_int_equal(t[0].n_rows, 40);
    assert_int_equal(t[0].n_rows, t[1].n_rows);
    int differs = 0;
    for (int r = 0; r < t[0].n_rows; r++)
        for (int c = 0; c < t[0].n_cols; c++) {
            const char *col = t[0].header[c];
            if (strcmp(col, "elapsed_s") == 0 || strcmp(col, "tokens_per_s") == 0) continue;
            assert_string_equal(t[0].rows[r][c], t[1].rows[r][c]);
            if (strcmp(t[0].rows[r][c], t[2].rows[r][c]) != 0) differs = 1;
        }
    assert_true(differs);
    for (int i = 0; i < 3; i++) csv_table_free(&t[i]);
}

/* posprobe eval on the checkpoint reproduces the final eval rows byte for byte. */
static void test_checkpoint_eval_reproduces(void **state) {
    (void)state;
    char args[1024], path[256], out[256];
    snprintf(args, sizeof args, TRAIN " --encoding sinusoidal --mask causal --out '%s/ck'", test_tmpdir);
    assert_int_equal(run(args, NULL), 0);
    snprintf(out, sizeof out, "%s/ck-eval.csv", test_tmpdir);
    snprintf(args, sizeof args, "eval --checkpoint '%s/ck' --eval-lens 4,8 --out '%s'", test_tmpdir, out);
    assert_int_equal(run(args, NULL), 0);
    csv_table run_t, ev;
    char err[512];
    snprintf(path, sizeof path, "%s/ck/eval.csv", test_tmpdir);
    if (csv_read(path, &run_t, err, sizeof err) || csv_read(out, &ev, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(ev.n_rows, 2);
    int matched = 0;
    for (int r = 0; r < run_t.n_rows; r++) {
        if (strcmp(csv_get(&run_t, r, "step"), "40") != 0) continue;
        for (int c = 0; c < run_t.n_cols; c++) assert_string_equal(run_t.rows[r][c], ev.rows[matched][c]);
        matched++;
    }
    assert_int_equal(matched, 2);
    /* the intermediate evaluation at step 20 is there too */
    assert_string_equal(csv_get(&run_t, 0, "step"), "20");
    csv_table_free(&run_t);
    csv_table_free(&ev);
    /* a flipped byte is rejected */
    snprintf(path, sizeof path, "%s/ck/checkpoint.bin", test_tmpdir);
    size_t len = 0;
    char *data = slurp(path, &len);
    data[len / 2] ^= 0x40;
    spit(path, data, len);
    free(data);
    snprintf(args, sizeof args, "eval --checkpoint '%s/ck' --eval-lens 4", test_tmpdir);
    snprintf(path, sizeof path, "%s/ck-err.txt", test_tmpdir);
    assert_int_equal(run(args, path), 1);
    char *msg = slurp(path, NULL);
    assert_non_null(strstr(msg, "checksum mismatch"));
    free(msg);
    /* truncated */
    snprintf(path, sizeof path, "%s/ck/checkpoint.bin", test_tmpdir);
    assert_int_equal(truncate(path, (off_t)(len / 3)), 0);
    snprintf(path, sizeof path, "%s/ck-err.txt", test_tmpdir);
    assert_int_equal(run(args, path), 1);
    msg = slurp(path, NULL);
    assert_non_null(strstr(msg, "checkpoint.bin"));
    free(msg);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

/* A checkpoint whose stored config no longer matches its parameters (edited,
 * with a valid checksum) is rejected, naming the mismatch. */
static void test_checkpoint_mismatch(void **state) {
    (void)state;
    char args[1024], path[256], errp[256];
    snprintf(args, sizeof args, "train --quiet --len 4 --steps 2 --dim 16 --out '%s/mm'", test_tmpdir);
    assert_int_equal(run(args, NULL), 0);
    snprintf(path, sizeof path, "%s/mm/checkpoint.bin", test_tmpdir);
    size_t len = 0;
    char *data = slurp(path, &len);
    char *hit = NULL;
    for (size_t i = 0; i + 7 < len && !hit; i++)
        if (memcmp(data + i, "\ndim=16\n", 8) == 0) hit = data + i;
    assert_non_null(hit);
    memcpy(hit, "\ndim=32\n", 8);   /* same length: only the meaning changes */
    uint64_t h = fnv1a((unsigned char *)data, len - 8);
    memcpy(data + len - 8, &h, 8);
    spit(path, data, len);
    free(data);
    snprintf(args, sizeof args, "eval --checkpoint '%s/mm' --eval-lens 4", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/mm-err.txt", test_tmpdir);
    assert_int_equal(run(args, errp), 1);
    char *msg = slurp(errp, NULL);
    assert_non_null(strstr(msg, "posprobe: error: "));
    assert_non_null(strstr(msg, "shape"));
    free(msg);
}

/* --config FILE, with the command line overriding it. */
static void test_config_file_precedence(void **state) {
    (void)state;
    char cfg[256], args[1024], path[256];
    snprintf(cfg, sizeof cfg, "%s/run.cfg", test_tmpdir);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "# a config file\nsteps = 7\nlr = 0.002\n--heads = 4\nencoding = sinusoidal\n\n");
    fclose(f);
    snprintf(args, sizeof args, "train --quiet --config '%s' --steps 5 --len 6 --dim 16 --out '%s/cf'", cfg, test_tmpdir);
    assert_int_equal(run(args, NULL), 0);
    snprintf(path, sizeof path, "%s/cf/config.csv", test_tmpdir);
    csv_table t;
    char err[512];
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    int seen = 0;
    for (int r = 0; r < t.n_rows; r++) {
        const char *k = t.rows[r][0], *v = t.rows[r][1];
        if (strcmp(k, "steps") == 0) { assert_string_equal(v, "5"); seen++; }
        if (strcmp(k, "lr") == 0) { assert_string_equal(v, "0.002"); seen++; }
        if (strcmp(k, "heads") == 0) { assert_string_equal(v, "4"); seen++; }
        if (strcmp(k, "encoding") == 0) { assert_string_equal(v, "sinusoidal"); seen++; }
        if (strcmp(k, "precision") == 0) { assert_string_equal(v, REAL_NAME); seen++; }
    }
    assert_int_equal(seen, 5);
    csv_table_free(&t);
}

/* Bad input: a one-line error, exit status 2, nothing written. */
static void test_cli_errors(void **state) {
    (void)state;
    static const char *const bad[] = {
        "train --out D --lr abc",
        "train --out D --lr",
        "train --out D --steps -5",
        "train --out D --steps 1.5",
        "train --out D --lr nan",
        "train --out D --encoding nosuch",
        "train --out D --task nosuch",
        "train --out D --norm softmax2",
        "train --out D --mask sideways",
        "train --out D --frobnicate 3",
        "train --out D --eval-lens 8,,16",
        "train --out D --eval-lens 16-8",
        "train --out D --eval-lens 0",
        "train --out D --eval-lens ''",
        "train --out D --dim 30 --heads 4",
        "train --out D --len-min 9 --len-max 4",
        "train --out D --len 300",
        "train --out D --len 0",            /* trained at length 1 before */
        "diagnose --len 0",
        "train --out D --len-min 3",        /* set len-max to 3 silently before */
        "diagnose --all --encoding rope",   /* --encoding was ignored */
        "inspect --encoding rope --what decay --dim 3",   /* wrote rows for half a pair before */
        "train --out D --head regression --task probe --encoding learned --eval-lens 400",
        "train --out D --lr 0.1 --lr 0.2",
        "train --out D --config /nonexistent/file.cfg",
        "train --out D stray",
        "train --out D --warmup 10 --steps 5",
        "train",
        "nosuchcommand",
        "list colours",
        "eval --eval-lens 4",
        "eval --checkpoint /nonexistent --eval-lens 4",
        "train --out D --seed -1",
        "train --out D --dropout 1.5",
        "train --out D --heads 0",
        "train --out D --layers 1000",
        "train --out D --eval-lens 1-70000",
        "train --out D --positions randomized --len 300",
        "train --out D --task missing_duplicate --head regression",
        "train --out D --encoding cope --mask bidir",
        "summarize /nonexistent/dir",
        "inspect --encoding rope",
        "layerprobe --checkpoint /nonexistent",
    };
    char args[1024], errp[256], dir[256];
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(dir, sizeof dir, "%s/bad%zu", test_tmpdir, i);
        /* substitute D with a fresh directory path */
        const char *d = strstr(bad[i], " D");
        if (d) snprintf(args, sizeof args, "%.*s '%s'%s", (int)(d - bad[i]), bad[i], dir, d + 2);
        else snprintf(args, sizeof args, "%s", bad[i]);
        int st = run(args, errp);
        char *msg = slurp(errp, NULL);
        if (st != 2 || strncmp(msg, "posprobe: error: ", 17) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1)
            fail_msg("'%s': exit %d, stderr '%s'", bad[i], st, msg);
        if (exists(dir)) fail_msg("'%s' created its output directory", bad[i]);
        free(msg);
    }
}

/* Non-finite loss: status diverged, exit 3, summary written. */
static void test_diverged(void **state) {
    (void)state;
    char args[1024], path[256];
    snprintf(args, sizeof args, "train --quiet --norm nodenom --init-scale 10 --steps 20 --out '%s/dv'", test_tmpdir);
    assert_int_equal(run(args, NULL), 3);
    snprintf(path, sizeof path, "%s/dv/summary.csv", test_tmpdir);
    csv_table t;
    char err[512];
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(csv_get(&t, 0, "status"), "diverged");
    assert_string_equal(csv_get(&t, 0, "diverged_step"), "1");
    assert_string_equal(csv_get(&t, 0, "train_loss"), "nan");
    csv_table_free(&t);
}

/* inspect: the article's curves through the command line, and a rotation keeps norms. */
static void test_inspect(void **state) {
    (void)state;
    char args[1024], path[256], err[512];
    snprintf(path, sizeof path, "%s/decay.csv", test_tmpdir);
    snprintf(args, sizeof args, "inspect --encoding rope --what decay --dim 128 --len 256 --out '%s'", path);
    assert_int_equal(run(args, NULL), 0);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 257);
    assert_true(fabs(strtod(csv_get(&t, 64, "rope_decay_bound"), NULL) - 10.09) < 0.006);
    assert_true(fabs(strtod(csv_get(&t, 256, "rope_decay_bound"), NULL) - 6.54) < 0.006);
    csv_table_free(&t);
    snprintf(path, sizeof path, "%s/rot.csv", test_tmpdir);
    snprintf(args, sizeof args, "inspect --encoding rope --what rotation --len 5 --dim 16 --heads 2 --out '%s'", path);
    assert_int_equal(run(args, NULL), 0);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 5 * 8);
    for (int p = 0; p < 5; p++) {
        double n2 = 0;
        for (int d = 0; d < 8; d++) { double v = strtod(csv_get(&t, p * 8 + d, "value"), NULL); n2 += v * v; }
        assert_true(fabs(n2 - 1) < 1e-5);
    }
    csv_table_free(&t);
    snprintf(path, sizeof path, "%s/pos.csv", test_tmpdir);
    snprintf(args, sizeof args, "inspect --encoding learned --what positions --positions randomized --len 8 --max-pos 20 --draws 3 --out '%s'", path);
    assert_int_equal(run(args, NULL), 0);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 24);
    for (int r = 1; r < t.n_rows; r++)   /* sorted within a draw, below max-pos */
        if (strcmp(csv_get(&t, r, "draw"), csv_get(&t, r - 1, "draw")) == 0)
            assert_true(atoi(csv_get(&t, r, "position")) > atoi(csv_get(&t, r - 1, "position")));
    for (int r = 0; r < t.n_rows; r++) assert_in_range(atoi(csv_get(&t, r, "position")), 0, 19);
    csv_table_free(&t);
    assert_int_equal(run("inspect --encoding learned --what rotation", NULL), 2);
    assert_int_equal(run("inspect --encoding rope --what nothing", NULL), 2);
    assert_int_equal(run("inspect --encoding nosuch --what bias", NULL), 2);
    assert_int_equal(run("diagnose --encoding nosuch", NULL), 2);
}

/* inspect --what frequencies: a trainable rope run's theta_i against its start
 * (claim P4): the start is the run's own schedule (power2 here: (2k/D)^2), the
 * end the checkpoint's, and a run without trainable frequencies is refused. */
static void test_inspect_frequencies(void **state) {
    (void)state;
    char args[1024], path[256], run_dir[256], err[512];
    snprintf(run_dir, sizeof run_dir, "%s/run", test_tmpdir);
    snprintf(args, sizeof args, "train --task copy --encoding rope --rope-trainable 1 --rope-schedule power2 --mask causal "
             "--dim 16 --heads 2 --layers 1 --len 4 --steps 30 --lr 0.01 --quiet 1 --out '%s'", run_dir);
    assert_int_equal(run(args, NULL), 0);
    snprintf(path, sizeof path, "%s/freq.csv", test_tmpdir);
    snprintf(args, sizeof args, "inspect --what frequencies --checkpoint '%s' --out '%s'", run_dir, path);
    assert_int_equal(run(args, NULL), 0);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 4);   /* head size 8: 4 pairs */
    int moved = 0;
    for (int k = 0; k < 4; k++) {
        double init = strtod(csv_get(&t, k, "theta_initial"), NULL), fin = strtod(csv_get(&t, k, "theta_final"), NULL);
        double rel = strtod(csv_get(&t, k, "relative_change"), NULL);
        assert_true(fabs(init - (k / 4.0) * (k / 4.0)) < 1e-7);
        if (k == 0) assert_true(isnan(rel));
        else assert_true(fabs(rel - (fin - init) / init) < 1e-5 * (1 + fabs(rel)));
        moved += fin != init;
    }
    assert_true(moved >= 3);
    csv_table_free(&t);
    snprintf(run_dir, sizeof run_dir, "%s/fixed", test_tmpdir);
    snprintf(args, sizeof args, "train --task copy --encoding rope --dim 16 --heads 2 --layers 1 --len 4 --steps 2 --quiet 1 --out '%s'",
             run_dir);
    assert_int_equal(run(args, NULL), 0);
    snprintf(path, sizeof path, "%s/err.txt", test_tmpdir);
    snprintf(args, sizeof args, "inspect --what frequencies --checkpoint '%s'", run_dir);
    assert_int_equal(run(args, path), 2);
    assert_non_null(strstr(test_tmpdir_text("err.txt"), "--rope-trainable 1"));
    assert_int_equal(run("inspect --what frequencies", NULL), 2);
    snprintf(args, sizeof args, "inspect --encoding rope --what decay --checkpoint '%s'", run_dir);
    assert_int_equal(run(args, NULL), 2);
}

/* layerprobe: a learned table puts position in layer 0; NoPE on the probe has it nowhere. */
static void test_layerprobe(void **state) {
    (void)state;
    char args[1024], path[256], err[512];
    const char *encs[2] = {"learned", "none"};
    for (int e = 0; e < 2; e++) {
        snprintf(args, sizeof args, "train --quiet --task probe --len 8 --steps 100 --encoding %s --out '%s/lp%d'", encs[e], test_tmpdir, e);
        assert_int_equal(run(args, NULL), 0);
        snprintf(path, sizeof path, "%s/lp%d.csv", test_tmpdir, e);
        snprintf(args, sizeof args, "layerprobe --checkpoint '%s/lp%d' --lens 4,8 --out '%s'", test_tmpdir, e, path);
        assert_int_equal(run(args, NULL), 0);
        csv_table t;
        if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(t.n_rows, 3 * 2);   /* layers 0..2 x two lengths */
        for (int r = 0; r < t.n_rows; r++) {
            double acc = strtod(csv_get(&t, r, "probe_acc"), NULL);
            int len = atoi(csv_get(&t, r, "length"));
            if (e == 0 && strcmp(csv_get(&t, r, "layer"), "0") == 0) assert_true(acc == 1.0);
            if (e == 1) assert_true(acc <= 1.0 / len + 1e-9);   /* identical states: one class for all */
        }
        csv_table_free(&t);
    }
    snprintf(args, sizeof args, "layerprobe --checkpoint '%s/lp0' --lens 9", test_tmpdir);
    assert_int_equal(run(args, NULL), 2);   /* beyond the probe's classes */
}

/* The suite runner: kill -9 midway and Ctrl-C, then resume (tests/suite_resume.sh);
 * the GNU parallel and Slurm paths (tests/suite_parallel.sh). A script that
 * cannot run here exits 77 with a line saying why: the test is skipped with it. */
static void run_script(const char *script) {
    char cmd[1024], out[256];
    snprintf(out, sizeof out, "%s/script.log", test_tmpdir);
    snprintf(cmd, sizeof cmd, "bash '%s' '%s' > '%s' 2>&1", script, bin(), out);
    int st = system(cmd);
    if (st == 0) return;
    char *log = slurp(out, NULL), msg[4096];
    snprintf(msg, sizeof msg, "%s", log ? log : "(no output)");
    free(log);   /* fail_msg and skip do not return */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        print_message("%s: %s", script, msg);
        skip();
    }
    fail_msg("%s failed:\n%s", script, msg);
}

static void test_suite_resume(void **state) { (void)state; run_script("tests/suite_resume.sh"); }
static void test_kill_runs(void **state) { (void)state; run_script("tests/kill_runs.sh"); }
static void test_concurrent_runners(void **state) { (void)state; run_script("tests/concurrent_runners.sh"); }
/* report.py and suite.py as commands: help, errors, the QUICK banner, the fit table (tests/report_script.sh). */
static void test_report_script_cli(void **state) { (void)state; run_script("tests/report_script.sh"); }
/* plots.py renders every figure from a fixture, each checked before it is saved and as a PNG (tests/plots_script.sh). */
static void test_plots_script(void **state) { (void)state; run_script("tests/plots_script.sh"); }
/* catalogue.suite repeats extrapolation.suite's decoder grid for other encodings (tests/catalogue_suite.sh). */
static void test_catalogue_suite_matches(void **state) { (void)state; run_script("tests/catalogue_suite.sh"); }

/* make compare: one encoding's runs beside a tiny reference, in every table of SCORECARD.md, with the warnings
 * (tests/compare_script.sh); suite.py --encodings adds or replaces. */
static void test_compare_script(void **state) { (void)state; run_script("tests/compare_script.sh"); }
/* CLAIMS.md covers every claim id and names only tests and report sections that exist (tests/claims_ledger.sh). */
static void test_claims_ledger(void **state) { (void)state; run_script("tests/claims_ledger.sh"); }
/* The counts README.md and docs/ state about the program and its tests hold (tests/doc_counts.sh). */
static void test_doc_counts(void **state) { (void)state; run_script("tests/doc_counts.sh"); }
/* The committed golden output of every generator (make golden regenerates it). */
static void test_golden_examples(void **state) {
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash tests/golden.sh '%s' | cmp -s - tests/fixtures/tasks_golden.txt", bin());
    if (system(cmd) != 0) fail_msg("task examples differ from tests/fixtures/tasks_golden.txt (make golden, then review the diff)");
}

/* No include goes against the direction of the layers (tests/layers.sh). */
static void test_layers(void **state) { (void)state; run_script("tests/layers.sh"); }

/* Full and read-only disks need a tmpfs mount, so root; skipped otherwise. */
static void test_disk_errors(void **state) { (void)state; run_script("tests/disk_errors.sh"); }

/* Bad --config files: FILE:LINE in a one-line error, exit 2, nothing written. */
static void test_config_file_errors(void **state) {
    (void)state;
    static const struct { const char *text; int line; } bad[] = {
        {"frobnicate = 3\n", 1},             {"steps = 10\nsteps = abc\n", 2}, {"steps = -1\n", 1},
        {"lr =\n", 1},                        {"steps = 1\nsteps = 2\n", 2},   {"task = pr\xffobe\n", 1},
        {"no equals sign\n", 1},              {"eval-lens = 1,,2\n", 1},       {"dim = 99999999\n", 1},
        {"norm = softmax2\n", 1},             {"encoding = nosuch\n", 1},       {"# ok\n\nmask = sideways\n", 3},
        {"seed = 1.5\n", 1},                  {"dropout = 2\n", 1},             {"--lr = 1e999\n", 1},
        {"quiet = maybe\n", 1},
    };
    char cfg[256], args[1024], errp[256], dir[256];
    snprintf(cfg, sizeof cfg, "%s/bad.cfg", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *f = fopen(cfg, "w");
        fputs(bad[i].text, f);
        fclose(f);
        snprintf(dir, sizeof dir, "%s/cfgbad%zu", test_tmpdir, i);
        snprintf(args, sizeof args, "train --config '%s' --out '%s'", cfg, dir);
        int st = run(args, errp);
        char *msg = slurp(errp, NULL), want[300];
        snprintf(want, sizeof want, "posprobe: error: %s:%d: ", cfg, bad[i].line);
        if (st != 2 || strncmp(msg, want, strlen(want)) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1)
            fail_msg("config %zu: exit %d, stderr '%s' (wanted '%s...')", i, st, msg, want);
        if (exists(dir)) fail_msg("config %zu created its output directory", i);
        free(msg);
    }
    /* a line longer than the parser's buffer */
    FILE *f = fopen(cfg, "w");
    fputs("task = ", f);
    for (int i = 0; i < 5000; i++) fputc('x', f);
    fputs("\n", f);
    fclose(f);
    snprintf(args, sizeof args, "train --config '%s' --out '%s/long'", cfg, test_tmpdir);
    assert_int_equal(run(args, NULL), 2);
}

/* Bad suite files (and options that leave no run): the runner refuses them
 * before writing anything, in one line naming the file. The results
 * directory is given (--results) and must stay absent; a suite name that
 * would put it elsewhere is refused even so. */
static void test_suite_file_errors(void **state) {
    (void)state;
    static const struct { const char *text, *extra; } bad[] = {
        {"[grid main]\ntask = probe\n", ""},                                      /* no [suite] name */
        {"task = probe\n[suite]\nname = x\n", ""},                                /* key before a section */
        {"[suite]\nname = x\n[grid main\ntask = probe\n", ""},                  /* malformed header */
        {"[suite]\nname = x\n[grid a]\ntask = probe\ntask = copy\n", ""},      /* duplicate key */
        {"[suite]\nname = x\n", ""},                                              /* no grid */
        {"[suite]\nname = x\n[grid a]\ntask = probe\nsteps = abc\n", ""},      /* bad option value */
        {"[suite]\nname = x\n[grid a]\nencoding = rope nosuch\n", ""},          /* unknown encoding in a factor */
        {"[suite]\nname = x\n[grid a]\ntask = probe\n[grid a]\ntask = copy\n", ""},   /* duplicate section */
        {"[suite]\nname = x\n[grid a]\nfrobnicate = 1 2\n", ""},                /* unknown option */
        {"[suite]\nname = x\n[grid a]\ntask = probe\nlen = 300\nencoding = learned\n", ""},   /* beyond max-pos */
        {"[suite]\nname = x\nseeds = abc\n[grid a]\ntask = probe\n", ""},      /* seeds not a number */
        {"[suite]\nname = x\nseeds = 0\n[grid a]\ntask = probe\n", ""},        /* no seed */
        {"[suite]\nname = x\nseeds = -2\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = x\nseeds = 1000000\n[grid a]\ntask = probe\n", ""},   /* beyond MAX_SEEDS, said as such */
        {"[suite]\nname = x\nfitted_only = 1\n[grid a]\ntask = probe\n", ""},  /* a typo of fitted-only */
        {"[suite]\nname = x\n[quick]\nseeds = 0\n[grid a]\ntask = probe\n", "--quick"},
        {"[suite]\nname = x\n[quick]\nencoding = alibi\n[grid a]\ntask = probe\nencoding = rope none\n", "--quick"},
        {"[suite]\nname = x\n[quick]\nnorm = l2\n[grid a]\ntask = probe\nnorm = softmax nodenom\n",
         "--quick --encodings 'rope alibi'"},   /* --quick keeps no norm, whatever the encodings */
        /* unknown sections, empty grids (issue 14) */
        {"[suite]\nname = x\n[grdi b]\ntask = probe\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[grid]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[grid a b]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[grid a]\n[grid b]\ntask = probe\n", ""},
        /* what the runner sets itself, or what would keep a run from training */
        {"[suite]\nname = x\n[grid a]\ntask = probe\nout = /tmp/elsewhere\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nseed = 1 2\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nrun-id = mine\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nquiet = 0\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\ncheck = 1\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nforce = 1\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nhelp = 1\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nconfig = other.cfg\n", ""},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nseeds = 3\n", ""},
        {"[suite]\nname = x\n[defaults]\nout = /tmp/elsewhere\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[quick]\nrun-id = q\n[grid a]\ntask = probe\n", "--quick"},
        {"[suite]\nname = x\n[grid a]\nTask = probe\n", ""},                 /* not an option name */
        {"[suite]\nname = x\n[grid a]\ntask = probe\nencoding = rope alibi\nconv-kernel = 5\n", ""},   /* not their option */
        /* seeds */
        {"[suite]\nname = x\nseeds = 1e3\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = x\nseeds = \xd9\xa3\n[grid a]\ntask = probe\n", ""},   /* an Arabic-Indic 3 */
        {"[suite]\nname = x\nseeds = 2\n[grid a]\ntask = probe\n", "--seeds abc"},
        /* names that would leave the results directory */
        {"[suite]\nname = ../x\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = /tmp/x\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = a/b\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = ..\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = .hidden\n[grid a]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[grid ../a]\ntask = probe\n", ""},
        {"[suite]\nname = x\n[grid /a]\ntask = probe\n", ""},
        /* more runs than the stated limit, refused before expanding */
        {"[suite]\nname = x\nseeds = 1001\n[grid a]\ntask = probe\nlr = 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1\n"
         "wd = 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1\n", ""},
    };
    char path[256], args[1024], errp[256], res[256], cmd[1400];
    snprintf(path, sizeof path, "%s/bad.suite", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i].text, f);
        fclose(f);
        snprintf(res, sizeof res, "%s/suitebad%zu", test_tmpdir, i);
        snprintf(args, sizeof args, "scripts/suite.py '%s' --posprobe '%s' --results '%s' %s", path, bin(), res, bad[i].extra);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s >/dev/null 2>'%s'", args, errp);
        int st = system(cmd);
        st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        char *msg = slurp(errp, NULL), want[300];
        snprintf(want, sizeof want, "posprobe: error: %s", path);
        if (st != 2 || strncmp(msg, want, strlen(want)) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1)
            fail_msg("suite %zu: exit %d, stderr '%s'", i, st, msg);
        if (exists(res)) fail_msg("suite %zu created its results directory", i);
        free(msg);
    }
}

/* Run ids are well formed for any grid (letters, digits, '.', '_', '-'; a
 * letter or digit first; "-sSEED-" and 16 hex digits, 64 bits of SHA-1, last)
 * and never collide; the same options and seed in two grids are one run. A
 * run named by --only is found and trained, also when its grid has no id
 * factor (its id was "-s1-...", which --only took for an option). */
static void test_suite_run_ids(void **state) {
    (void)state;
    static const struct { const char *text, *extra; int n; const char *first; } rows[] = {
        {"[suite]\nname = x\n[grid a]\nlr = 0.001 0.002\n", "", 2, "run-s1-"},
        {"[suite]\nname = x\nseeds = 2\n[grid a]\ntask = probe\nencoding = rope a/b ../c .d\n", "", 8, "probe-rope-s1-"},
        {"[suite]\nname = x\n[grid a]\ntask = probe\nencoding = rope alibi\n[grid b]\ntask = probe\nencoding = alibi t5\n",
         "", 3, "probe-rope-s1-"},   /* probe-alibi from both grids: one run */
        {"[suite]\nname = x\nseeds = 100\n[grid a]\nlr = 0.001 0.002 0.003 0.004 0.005 0.006 0.007 0.008 0.009 0.01\n"
         "wd = 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9\n", "", 10000, "run-s1-"},
        {NULL, "scripts/suites/probe.suite", 2470, "probe-none-softmax-bidir-s1-"},
        {NULL, "scripts/suites/linear.suite", 66, "copy-rope-softmax-causal-s1-"},
    };
    char path[256], cmd[4096], out[256], repo[1024];
    if (!getcwd(repo, sizeof repo)) fail_msg("getcwd failed");
    snprintf(path, sizeof path, "%s/ids.suite", test_tmpdir);
    snprintf(out, sizeof out, "%s/ids.txt", test_tmpdir);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (rows[i].text) spit(path, rows[i].text, strlen(rows[i].text));
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/suite.py '%s' --posprobe '%s' --list > '%s' && "
                 "[ \"$(grep -cE '^[A-Za-z0-9][A-Za-z0-9._-]*-s[0-9]+-[0-9a-f]{16}$' '%s')\" = %d ] && "
                 "[ \"$(sort -u '%s' | wc -l)\" = %d ] && head -1 '%s' | grep -q '^%s'",
                 rows[i].text ? path : rows[i].extra, bin(), out, out, rows[i].n, out, rows[i].n, out, rows[i].first);
        if (system(cmd) != 0) fail_msg("suite %zu: the ids are not %d distinct well-formed ones starting %s", i, rows[i].n,
                                       rows[i].first);
    }
    /* --only with the id of a grid without id factors */
    static const char tiny[] = "[suite]\nname = x\n[defaults]\nlen = 4\ndim = 8\nheads = 2\nlayers = 1\nsteps = 5\n"
                               "batch = 4\neval-size = 4\n[grid a]\nlr = 0.001 0.002\n";
    spit(path, tiny, strlen(tiny));
    snprintf(cmd, sizeof cmd, "cd '%s' && id=$(/usr/bin/python3 '%s/scripts/suite.py' ids.suite --posprobe '%s' --list | head -1) && "
             "/usr/bin/python3 '%s/scripts/suite.py' ids.suite --posprobe '%s' --results res --only \"$id\" 2>/dev/null && "
             "grep -q ',finished,' \"res/runs/$id/summary.csv\" && [ \"$(ls res/runs | grep -vc lock)\" = 1 ]",
             test_tmpdir, repo, bin(), repo, bin());
    if (system(cmd) != 0) fail_msg("--only with the id of a grid without id factors did not train it");
}

/* summarize lists unreadable and partial runs and reports diverged ones, never averaging them in. */
static void test_summarize_partial_runs(void **state) {
    (void)state;
    char args[1024], path[512], err[512];
    for (int s = 1; s <= 2; s++) {
        snprintf(args, sizeof args, "train --quiet --len 4 --steps 30 --seed %d --out '%s/sum/runs/ok%d'", s, test_tmpdir, s);
        assert_int_equal(run(args, NULL), 0);
    }
    snprintf(args, sizeof args, "train --quiet --len 4 --steps 30 --seed 3 --norm nodenom --init-scale 10 "
             "--out '%s/sum/runs/div'", test_tmpdir);
    run(args, NULL);
    snprintf(args, sizeof args, "cp -r '%s/sum/runs/ok1' '%s/sum/runs/partial' && rm '%s/sum/runs/partial/summary.csv' && "
             "cp -r '%s/sum/runs/ok2' '%s/sum/runs/cut' && head -c 60 '%s/sum/runs/ok2/eval.csv' > '%s/sum/runs/cut/eval.csv' && "
             "mkdir '%s/sum/runs/junk' && printf 'garbage\\n' > '%s/sum/runs/junk/config.csv'",
             test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir, test_tmpdir);
    assert_int_equal(system(args), 0);
    snprintf(args, sizeof args, "summarize '%s/sum'", test_tmpdir);
    assert_int_equal(run(args, NULL), 0);
    csv_table t;
    snprintf(path, sizeof path, "%s/sum/runs.csv", test_tmpdir);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 6);
    int fin = 0, unf = 0, unr = 0, div = 0;
    for (int r = 0; r < t.n_rows; r++) {
        const char *st = csv_get(&t, r, "status");
        fin += strcmp(st, "finished") == 0;
        unf += strcmp(st, "unfinished") == 0;
        unr += strcmp(st, "unreadable") == 0;
        div += strcmp(st, "diverged") == 0;
    }
    csv_table_free(&t);
    assert_int_equal(fin, 2);    /* ok1, ok2 */
    assert_int_equal(unf, 1);    /* partial: no summary */
    assert_int_equal(unr, 2);    /* cut eval.csv, junk config */
    snprintf(path, sizeof path, "%s/sum/summary.csv", test_tmpdir);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 1);
    assert_string_equal(csv_get(&t, 0, "n_seeds"), "2");
    assert_string_equal(csv_get(&t, 0, "n_diverged"), "0");
    csv_table_free(&t);
    assert_int_equal(div, 1);
    /* the diverged run's group (nodenom) has no finished seed: a horizons row says so */
    snprintf(path, sizeof path, "%s/sum/horizons.csv", test_tmpdir);
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(t.n_rows, 2);
    int found = 0;
    for (int r = 0; r < t.n_rows; r++)
        if (strcmp(csv_get(&t, r, "norm"), "nodenom") == 0) {
            assert_string_equal(csv_get(&t, r, "n_seeds"), "0");
            assert_string_equal(csv_get(&t, r, "n_diverged"), "1");
            found = 1;
        }
    assert_true(found);
    csv_table_free(&t);
}
static void test_suite_parallel(void **state) { (void)state; run_script("tests/suite_parallel.sh"); }
/* A one-node Slurm of the test's own runs the emitted array: a failed task,
 * its resubmission, and a second submission that trains nothing
 * (tests/slurm_cluster.sh); skipped when not root or without Slurm's packages.
 * It checks the runner and Slurm, the same in every build, so only the float
 * build without sanitizers runs it (20-odd seconds each time, CI's budget). */
#if !defined(POSPROBE_DOUBLE) && !defined(__SANITIZE_ADDRESS__)
#define SLURM_BUILD 1
static void test_slurm_cluster(void **state) { (void)state; run_script("tests/slurm_cluster.sh"); }
#endif
/* The run locks under NFS's flock rule (an exclusive lock needs a descriptor
 * open for writing), applied by a preloaded shim; a lock that fails outright is
 * an error, never "busy elsewhere" (tests/nfs_locks.sh). */
static void test_nfs_lock_rule(void **state) { (void)state; run_script("tests/nfs_locks.sh"); }

/* `posprobe version` names the kernel set that runs the products. */
static void version_kernel(const char *env, char *out, size_t len) {
    char cmd[1024], path[128];
    snprintf(path, sizeof path, "%s/version.txt", test_tmpdir);
    snprintf(cmd, sizeof cmd, "%s '%s' version > '%s'", env, bin(), path);
    assert_int_equal(system(cmd), 0);
    char *text = slurp(path, NULL), *k = text ? strstr(text, "kernel ") : NULL;
    if (!k) fail_msg("posprobe version printed no kernel: %s", text ? text : "(nothing)");
    snprintf(out, len, "%.*s", (int)strcspn(k + 7, ")\n"), k + 7);
    free(text);
}

/* An OPENBLAS_CORETYPE in the environment is always obeyed; without one,
 * OpenBLAS's generic fallback (Prescott) on an AVX2+FMA CPU is replaced by its
 * Haswell kernels, and a CPU OpenBLAS recognises keeps OpenBLAS's choice. */
static void test_blas_kernel_choice(void **state) {
    (void)state;
    char got[64];
#ifdef POSPROBE_OPENBLAS
    version_kernel("OPENBLAS_CORETYPE=Prescott", got, sizeof got);
    assert_string_equal(got, "Prescott");
    version_kernel("OPENBLAS_CORETYPE=Sandybridge", got, sizeof got);
    assert_string_equal(got, "Sandybridge");
    const char *ours = blas_kernel_name();   /* this process: the environment's or OpenBLAS's own choice */
    const char *expect = ours;
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512cd");
    if (!getenv("OPENBLAS_CORETYPE") && strcmp(ours, "Prescott") == 0) {
        if (avx512) expect = "SkylakeX";
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) expect = "Haswell";
    }
    version_kernel("", got, sizeof got);
    assert_string_equal(got, expect);
#else
    version_kernel("", got, sizeof got);
    assert_string_equal(got, "gslcblas");
#endif
}

/* train --check-stdin N: N configurations from stdin, one a line of
 * tab-separated key=value options over the command line's, checked in one
 * process (the suite runner's validation); the first bad line is one error
 * line naming it, exit 2. */
static void test_check_stdin(void **state) {
    (void)state;
    static const struct { const char *in, *args; int status; const char *want; } rows[] = {
        {"task=probe\tlr=0.1\n\nencoding=rope\tmask=causal", "3", 0, NULL},   /* an empty line: the command line's */
        {"len=8\n", "1 --len 300 --encoding learned", 0, NULL},                  /* the line overrides the command line */
        {"task=probe\nencoding=nosuch\n", "2", 2, "stdin line 2: "},
        {"task=probe\ttask=copy\n", "1", 2, "stdin line 1: --task is given twice"},
        {"len=300\tencoding=learned\n", "1", 2, "stdin line 1: length 300 needs 300 positions"},
        {"steps=-1\n", "1", 2, "stdin line 1: "},
        {"frobnicate=1\n", "1", 2, "stdin line 1: "},
        {"lr\n", "1", 2, "stdin line 1: 'lr' is not key=value"},
        {"=5\n", "1", 2, "stdin line 1: '=5' is not key=value"},
        {"task=probe\n", "2", 2, "stdin ends after 1 of 2 configurations"},
        {"task=probe\ntask=copy\n", "1", 2, "stdin has more than the 1 configurations announced"},
        {"", "x", 2, "--check-stdin: 'x' is not an integer"},
        {"task=probe\n", "1 --check", 2, "--check and --check-stdin exclude each other"},
    };
    char in[256], errp[256], args[512];
    snprintf(in, sizeof in, "%s/configs.txt", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        spit(in, rows[i].in, strlen(rows[i].in));
        snprintf(args, sizeof args, "train --quiet --check-stdin %s < '%s'", rows[i].args, in);
        int st = run(args, errp);
        char *msg = slurp(errp, NULL);
        int one_line = msg && strncmp(msg, "posprobe: error: ", 17) == 0 && strchr(msg, '\n') == msg + strlen(msg) - 1;
        if (st != rows[i].status || (rows[i].want ? !one_line || !strstr(msg, rows[i].want) : msg && *msg))
            fail_msg("row %zu (%s): exit %d, stderr '%s'", i, rows[i].args, st, msg ? msg : "");
        free(msg);
    }
    /* without --quiet too, a bad line is the one error line: no progress line before it */
    spit(in, "encoding=nosuch\n", 16);
    snprintf(args, sizeof args, "train --check-stdin 1 < '%s'", in);
    assert_int_equal(run(args, errp), 2);
    char *msg = slurp(errp, NULL);
    if (!msg || strncmp(msg, "posprobe: error: stdin line 1: ", 31) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1)
        fail_msg("a bad line without --quiet: stderr '%s'", msg ? msg : "");
    free(msg);
}

/* --encodings replaces every grid's encodings; a grid's encoding option is
 * kept only with the encodings that use it (posprobe's list encodings --csv
 * says which), so a grid made for conv runs no rope with --conv-kernel, and
 * the rest validates and runs. */
static void test_suite_encodings_override(void **state) {
    (void)state;
    char path[256], cmd[2048], out[256];
    snprintf(path, sizeof path, "%s/o.suite", test_tmpdir);
    snprintf(out, sizeof out, "%s/ids.txt", test_tmpdir);
    FILE *f = fopen(path, "w");
    fputs("[suite]\nname = o\n[defaults]\ntask = probe\nlen = 4\nsteps = 2\ndim = 8\n"
          "[grid a]\nencoding = conv\nconv-kernel = 3 5\n[grid b]\nencoding = rope\nrope-fraction = 0.5\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/suite.py '%s' --posprobe '%s' --encodings 'rope conv' --list > '%s'",
             path, bin(), out);
    assert_int_equal(system(cmd), 0);
    char *ids = slurp(out, NULL);
    int n = 0, rope = 0;
    for (char *p = ids; p && (p = strchr(p, '\n')); p++) n++;
    for (char *p = ids; p && (p = strstr(p, "rope")); p++) rope++;
    if (n != 3 || rope != 1) fail_msg("expected conv with kernels 3 and 5 and rope with its fraction: %s", ids ? ids : "");
    free(ids);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/suite.py '%s' --posprobe '%s' --encodings 'rope conv' -j 1 "
             "--results '%s/res' >/dev/null 2>&1 && grep -c ',finished,' '%s/res/runs.csv' | grep -qx 3", path, bin(),
             test_tmpdir, test_tmpdir);
    if (system(cmd) != 0) fail_msg("the suite with --encodings did not run its 3 runs");
}

/* Progress lines show the latest evaluation (its step, token accuracy and
 * exact match), the end line the final one; eval, layerprobe and summarize,
 * quick here, print nothing on stderr (their progress starts after 3 s). */
static void test_progress_lines(void **state) {
    (void)state;
    char args[1024], errp[256];
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    snprintf(args, sizeof args, "train --len 8 --steps 40 --eval-every 20 --dim 16 --batch 8 --eval-size 16 --out '%s/run'",
             test_tmpdir);
    assert_int_equal(run(args, errp), 0);
    char *msg = slurp(errp, NULL);
    /* the last step's line (always printed) carries the evaluation of step 20; the end line that of step 40 */
    if (!msg || !strstr(msg, "posprobe run: step 40/40 loss ") || !strstr(msg, " eval@20 acc ") ||
        !strstr(msg, "posprobe run: finished after ") || !strstr(msg, "s (eval@40 acc ") || !strstr(msg, " exact "))
        fail_msg("train's progress: '%s'", msg ? msg : "");
    free(msg);
    static const char *const quiet_ones[] = {"eval --checkpoint '%s/run' --out '%s/e.csv'",
                                             "layerprobe --checkpoint '%s/run' --steps 5 --out '%s/l.csv'",
                                             "summarize --fitted-only '%s' %.0s"};
    for (size_t i = 0; i < sizeof quiet_ones / sizeof *quiet_ones; i++) {
        snprintf(args, sizeof args, quiet_ones[i], test_tmpdir, test_tmpdir);
        int st = run(args, errp);
        msg = slurp(errp, NULL);
        if (st != 0 || (i < 2 ? msg && *msg : !msg || strstr(msg, "runs read")))
            fail_msg("%s: exit %d, stderr '%s'", args, st, msg ? msg : "");
        free(msg);
    }
}

/* progress_delay: nothing before the delay, nor an end line when nothing was
 * shown; after it, lines as usual (stderr caught in a file). */
static void test_progress_delay(void **state) {
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/stderr.txt", test_tmpdir);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    dup2(fileno(f), 2);
    progress p;
    progress_start(&p, "quick", 2, 0, 0);
    progress_delay(&p, 0.2);
    progress_count(&p, 1, "items");
    progress_count(&p, 2, "items");   /* the end of the count, before the delay: still nothing */
    progress_end(&p, "finished");
    progress_start(&p, "slow", 0, 0, 0);
    progress_delay(&p, 0.05);
    usleep(100000);
    progress_count(&p, 7, "runs read");
    progress_end(&p, "done");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    char *text = slurp(path, NULL);
    if (!text || strstr(text, "quick") || !strstr(text, "slow: 7 runs read, ") || !strstr(text, "slow: done after "))
        fail_msg("stderr: '%s'", text ? text : "");
    free(text);
}

/* make install into a DESTDIR, the installed program, scripts, manual page
 * and completion, and make uninstall leaving nothing (tests/install.sh). */
static void test_install(void **state) { (void)state; run_script("tests/install.sh"); }

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test_setup_teardown(test_config_file_errors, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_checkpoint_mismatch, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_suite_file_errors, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_suite_run_ids, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_summarize_partial_runs, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_kill_runs, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_runners, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_disk_errors, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_suite_resume, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_suite_parallel, test_tmpdir_setup, test_tmpdir_teardown),
#ifdef SLURM_BUILD
    cmocka_unit_test_setup_teardown(test_slurm_cluster, test_tmpdir_setup, test_tmpdir_teardown),
#endif
    cmocka_unit_test_setup_teardown(test_nfs_lock_rule, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_report_script_cli, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_plots_script, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_compare_script, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_claims_ledger, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_catalogue_suite_matches, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_doc_counts, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_layers, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test(test_golden_examples),
    cmocka_unit_test_setup_teardown(test_layerprobe, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_inspect, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_inspect_frequencies, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_determinism, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_checkpoint_eval_reproduces, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_config_file_precedence, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_cli_errors, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_diverged, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_blas_kernel_choice, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_check_stdin, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_suite_encodings_override, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_progress_lines, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_progress_delay, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_install, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_cli = {"cli", TESTS, sizeof TESTS / sizeof *TESTS};
