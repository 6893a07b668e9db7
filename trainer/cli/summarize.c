/* Aggregation over seeds: libcsv to read, GSL for the statistics. */
#include "errors.h"
#include "memory.h"
#include "summarize.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "config.h"
#include "csvio.h"
#include "hash.h"
#include "progress.h"
#include "rundir.h"

/* A group is one setting: every option that defines the experiment (all but
 * the seeds and the output settings, config_option_is_setting) is equal. The
 * readable factors come first in every output; config_id (FNV-1a 64 of the
 * setting's "key=value" lines) tells apart settings that share them, and
 * variant names the options in which they differ. */
static const char *const FACTORS[] = {"task", "encoding", "norm", "mask", "markers", "positions", "head", NULL};
#define N_NAMED 7
#define N_FACTORS (N_NAMED + 1)   /* the named factors, then config_id */
#define CONFIG_ID N_NAMED

typedef struct record {
    char key[N_FACTORS][64];
    char variant[256];
    size_t run;          /* index in store.runs */
    char mode[16];
    int length, len_max;
    long seed;
    double token_acc, seq_acc, length_acc;   /* length_acc: NaN where the layout fixes the answer length */
} record;

typedef struct run_info {
    char id[256], status[32], reason[256];
    char *path;          /* the directory as found: two may share a run id */
    char key[N_FACTORS][64];
    char *setting;       /* "key=value\n" of every setting option, in config.csv order (NULL if unreadable) */
    char variant[256];
    long seed;
    int fitted;          /* summary.csv's fitted: 1, 0, or -1 when absent (runs before it existed count as fitted) */
    int fit_step;
    char fit_seq_acc[32]; /* summary.csv's mean exact match over the fit lengths, as written; "" if absent */
    int steps_done;       /* summary.csv's steps_done; -1 if absent */
    char train_s[32];     /* summary.csv's train_s (seconds in training steps), as written; "" if absent */
} run_info;

/* A directory already read, by identity: a symlink or a loop back to it is not read twice. */
typedef struct visited_dir {
    dev_t dev;
    ino_t ino;
    char *path;          /* as first found */
} visited_dir;

typedef struct {
    record *r;
    size_t n, cap;
    run_info *runs;
    size_t n_runs, cap_runs;
    visited_dir *seen;
    size_t n_seen, cap_seen;
    progress pr;   /* the runs read, shown when reading takes a while */
} store;

/* Room for one more element in *items (n used of *cap, each size bytes); exits when out of memory. */
static void *grow(void *items, size_t n, size_t *cap, size_t size, size_t first) {
    if (n < *cap) return items;
    size_t c = *cap ? 2 * *cap : first;
    void *p = xrealloc(items, c * size);
    *cap = c;
    return p;
}

static void push_record(store *s, const record *r) {
    s->r = grow(s->r, s->n, &s->cap, sizeof *s->r, 1024);
    s->r[s->n++] = *r;
}

static run_info *push_run(store *s) {
    s->runs = grow(s->runs, s->n_runs, &s->cap_runs, sizeof *s->runs, 256);
    run_info *r = &s->runs[s->n_runs++];
    memset(r, 0, sizeof *r);
    r->fitted = r->fit_step = r->steps_done = -1;   /* blank until a summary.csv says otherwise */
    return r;
}

static const char *config_value(const csv_table *t, const char *key) {
    for (int r = 0; r < t->n_rows; r++)
        if (strcmp(t->rows[r][0], key) == 0) return t->rows[r][1];
    return NULL;
}


/* A field read from a run's files into a fixed buffer: -1 when it does not
 * fit (the run is then unreadable; a cut value could join another group). */
static int copy_field(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n >= size) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* A whole-cell long; -1 when v is empty or not an integer. */
static int parse_long(const char *v, long *x) {
    char *end;
    if (!v || !*v) return -1;
    errno = 0;
    long l = strtol(v, &end, 10);
    if (*end || errno) return -1;
    *x = l;
    return 0;
}

/* A whole-cell integer; -1 when v is NULL, empty or not an integer. */
static int parse_int(const char *v, int *x) {
    long l;
    if (parse_long(v, &l) || l < INT_MIN || l > INT_MAX) return -1;
    *x = (int)l;
    return 0;
}

/* An optional integer column of a one-row CSV; dflt when absent, empty or not an int. */
static int int_cell(const csv_table *t, const char *col, int dflt) {
    int x;
    return parse_int(csv_get(t, 0, col), &x) ? dflt : x;
}

/* Marks a run as status (unfinished / unreadable / duplicate) with a reason, said on stderr. */
static void set_skipped(run_info *ri, const char *status, int quiet, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ri->reason, sizeof ri->reason, fmt, ap);
    va_end(ap);
    snprintf(ri->status, sizeof ri->status, "%s", status);
    if (!quiet) fprintf(stderr, "posprobe: summarize: skipping %s: %s: %s\n", ri->path, status, ri->reason);
}

/* The final step's rows of eval.csv as records; 0, or -1 with the reason in
 * why (then nothing was added). */
static int read_eval(store *s, run_info *ri, const csv_table *ev, int len_max, char *why, size_t whylen) {
    static const char *const NEEDED[] = {"step", "length", "eval_mode", "token_acc", "seq_acc", NULL};
    for (int c = 0; NEEDED[c]; c++)
        if (csv_col(ev, NEEDED[c]) < 0) return errorf(why, whylen, "eval.csv has no %s column", NEEDED[c]);
    int last = -1, step = 0, length = 0;
    for (int r = 0; r < ev->n_rows; r++) {
        if (parse_int(csv_get(ev, r, "step"), &step))
            return errorf(why, whylen, "eval.csv row %d: step '%.40s' is not an integer", r + 1, csv_get(ev, r, "step"));
        if (step > last) last = step;
    }
    size_t first = s->n;
    for (int r = 0; r < ev->n_rows; r++) {
        parse_int(csv_get(ev, r, "step"), &step);
        if (step != last) continue;
        record rec;
        memset(&rec, 0, sizeof rec);
        memcpy(rec.key, ri->key, sizeof rec.key);
        rec.run = (size_t)(ri - s->runs);
        if (copy_field(rec.mode, sizeof rec.mode, csv_get(ev, r, "eval_mode"))) {
            s->n = first;
            return errorf(why, whylen, "eval.csv row %d: eval_mode is %zu bytes long, more than %zu", r + 1,
                          strlen(csv_get(ev, r, "eval_mode")), sizeof rec.mode - 1);
        }
        if (parse_int(csv_get(ev, r, "length"), &length)) {
            s->n = first;
            return errorf(why, whylen, "eval.csv row %d: length '%.40s' is not an integer", r + 1, csv_get(ev, r, "length"));
        }
        rec.length = length;
        rec.len_max = len_max;
        rec.seed = ri->seed;
        for (size_t k = first; k < s->n; k++)   /* one row twice would count as two seeds */
            if (s->r[k].length == rec.length && strcmp(s->r[k].mode, rec.mode) == 0) {
                s->n = first;
                return errorf(why, whylen, "eval.csv's final step has length %d (%.16s) twice", rec.length, rec.mode);
            }
        char *e1, *e2, *e3 = "";
        rec.token_acc = strtod(csv_get(ev, r, "token_acc"), &e1);
        rec.seq_acc = strtod(csv_get(ev, r, "seq_acc"), &e2);
        const char *la = csv_get(ev, r, "length_acc");    /* absent before [EOS]; empty where not applicable */
        rec.length_acc = la && *la ? strtod(la, &e3) : NAN;
        if (*e1 || *e2 || *e3 || !isfinite(rec.token_acc) || !isfinite(rec.seq_acc) || (la && *la && !isfinite(rec.length_acc))) {
            s->n = first;
            return errorf(why, whylen, "eval.csv has no valid final rows");
        }
        push_record(s, &rec);
    }
    if (s->n == first) return errorf(why, whylen, "eval.csv has no valid final rows");
    return 0;
}

/* A field of config.csv longer than max bytes (or, max = 0, not an integer)
 * makes the run unreadable: its keys are cleared, so it joins no group. */
static void config_unreadable(run_info *ri, int quiet, const char *key, const char *v, size_t max) {
    memset(ri->key, 0, sizeof ri->key);
    free(ri->setting);
    ri->setting = NULL;
    if (max) set_skipped(ri, "unreadable", quiet, "config.csv: %s is %zu bytes long, more than %zu", key, strlen(v), max);
    else set_skipped(ri, "unreadable", quiet, "config.csv: %s '%.40s' is not an integer", key, v);
}

/* One run directory, whatever its state: listed in runs.csv with a status. */
static void read_run(store *s, const char *path, const char *name, int quiet, int fitted_only) {
    char p[PATH_MAX + 32], err[1024];
    csv_table cfg, sum, ev;
    run_info *ri = push_run(s);
    ri->path = xstrdup(path);
    snprintf(ri->id, sizeof ri->id, "%s", name);   /* a directory name (at most NAME_MAX bytes) fits */
    snprintf(p, sizeof p, "%s/config.csv", path);
    if (csv_read(p, &cfg, err, sizeof err) || (cfg.n_cols != 2 && (csv_table_free(&cfg), snprintf(err, sizeof err, "%s: not a key,value table", p)))) {
        set_skipped(ri, "unreadable", quiet, "%.250s", err);
        return;
    }
    size_t len = 1;
    for (int r = 0; r < cfg.n_rows; r++) len += strlen(cfg.rows[r][0]) + strlen(cfg.rows[r][1]) + 2;
    ri->setting = xmalloc(len);
    ri->setting[0] = 0;
    for (int r = 0, at = 0; r < cfg.n_rows; r++)
        if (config_option_is_setting(cfg.rows[r][0]))
            at += sprintf(ri->setting + at, "%s=%s\n", cfg.rows[r][0], cfg.rows[r][1]);
    snprintf(ri->key[CONFIG_ID], sizeof ri->key[CONFIG_ID], "%016llx",
             (unsigned long long)fnv1a64(ri->setting, strlen(ri->setting)));
    const char *seed = config_value(&cfg, "seed"), *lm = config_value(&cfg, "len-max"), *rid = config_value(&cfg, "run-id");
    long len_max = 0;
    int bad = rid && *rid && copy_field(ri->id, sizeof ri->id, rid);
    if (bad) config_unreadable(ri, quiet, "run-id", rid, sizeof ri->id - 1);
    for (int f = 0; f < N_NAMED && !bad; f++) {
        const char *v = config_value(&cfg, FACTORS[f]);
        if ((bad = copy_field(ri->key[f], sizeof ri->key[f], v ? v : "")))
            config_unreadable(ri, quiet, FACTORS[f], v, sizeof ri->key[f] - 1);
    }
    if (!bad && seed && (bad = parse_long(seed, &ri->seed))) config_unreadable(ri, quiet, "seed", seed, 0);
    if (!bad && lm && (bad = parse_long(lm, &len_max) || len_max < 0 || len_max > INT_MAX))
        config_unreadable(ri, quiet, "len-max", lm, 0);
    csv_table_free(&cfg);
    if (bad) return;
    snprintf(p, sizeof p, "%s/summary.csv", path);
    if (csv_read(p, &sum, err, sizeof err) || sum.n_rows != 1 || !csv_get(&sum, 0, "status")) {
        struct stat st;
        int exists = stat(p, &st) == 0, empty = exists && (st.st_size == 0 || (sum.header && sum.n_rows == 0));
        if (sum.header) csv_table_free(&sum);
        if (exists && !S_ISREG(st.st_mode)) set_skipped(ri, "unreadable", quiet, "%.250s", err);   /* a directory, FIFO, device */
        else if (empty) set_skipped(ri, "unfinished", quiet, "summary.csv is empty or has no row");
        else if (!exists) set_skipped(ri, "unfinished", quiet, "no summary.csv");
        else set_skipped(ri, "unfinished", quiet, "no complete summary.csv");
        return;
    }
    if (copy_field(ri->status, sizeof ri->status, csv_get(&sum, 0, "status"))) {
        set_skipped(ri, "unreadable", quiet, "summary.csv: status is %zu bytes long, more than %zu",
                    strlen(csv_get(&sum, 0, "status")), sizeof ri->status - 1);
        csv_table_free(&sum);
        return;
    }
    const char *fitted = csv_get(&sum, 0, "fitted");
    int fit_ok = !fitted || !*fitted || strcmp(fitted, "0") == 0 || strcmp(fitted, "1") == 0;
    if (fit_ok) {
        ri->fitted = int_cell(&sum, "fitted", -1);
        ri->fit_step = int_cell(&sum, "fit_step", -1);
        const char *fa = csv_get(&sum, 0, "fit_seq_acc");
        char *end;
        double v = fa ? strtod(fa, &end) : NAN;
        if (fa && *fa && !*end && v >= 0 && v <= 1 && strlen(fa) < sizeof ri->fit_seq_acc)
            snprintf(ri->fit_seq_acc, sizeof ri->fit_seq_acc, "%s", fa);
        ri->steps_done = int_cell(&sum, "steps_done", -1);
        const char *ts = csv_get(&sum, 0, "train_s");
        v = ts ? strtod(ts, &end) : NAN;
        if (ts && *ts && !*end && v >= 0 && isfinite(v) && strlen(ts) < sizeof ri->train_s)
            snprintf(ri->train_s, sizeof ri->train_s, "%s", ts);
    } else {
        set_skipped(ri, "unreadable", quiet, "summary.csv: fitted is '%.40s', not 0, 1 or empty", fitted);
    }
    csv_table_free(&sum);
    if (strcmp(ri->status, "finished") != 0) return;   /* diverged / interrupted / unreadable: counted, not averaged */
    /* one setting and seed twice: the first one read counts, whatever its fit
     * (else an unfitted repeat is counted twice as not fitted) */
    for (size_t j = 0; j + 1 < s->n_runs; j++) {
        const run_info *o = &s->runs[j];
        if (strcmp(o->status, "finished") == 0 && o->seed == ri->seed && strcmp(o->key[CONFIG_ID], ri->key[CONFIG_ID]) == 0) {
            set_skipped(ri, "duplicate", quiet, "the same setting and seed as %.200s", o->id);
            return;
        }
    }
    if (fitted_only && ri->fitted == 0) return;         /* counted as not fitted, not averaged */
    snprintf(p, sizeof p, "%s/eval.csv", path);
    if (csv_read(p, &ev, err, sizeof err)) {
        set_skipped(ri, "unreadable", quiet, "%.250s", err);
        return;
    }
    if (read_eval(s, ri, &ev, (int)len_max, err, sizeof err)) set_skipped(ri, "unreadable", quiet, "%.250s", err);
    csv_table_free(&ev);
}

static int has_file(const char *dir, const char *f) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, f);
    struct stat st;
    return stat(p, &st) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Where the directory st was read before (by device and inode: a symlink to
 * it or a loop back to it is the same directory), or NULL, recording it as
 * read under path. */
static const char *read_before(store *s, const struct stat *st, const char *path) {
    for (size_t i = 0; i < s->n_seen; i++)
        if (s->seen[i].dev == st->st_dev && s->seen[i].ino == st->st_ino) return s->seen[i].path;
    s->seen = grow(s->seen, s->n_seen, &s->cap_seen, sizeof *s->seen, 256);
    visited_dir *v = &s->seen[s->n_seen++];
    v->dev = st->st_dev;
    v->ino = st->st_ino;
    v->path = xstrdup(path);
    return NULL;
}

static void skipping(int quiet, const char *path, const char *why, const char *more) {
    if (!quiet) fprintf(stderr, "posprobe: summarize: skipping %s: %s%s\n", path, why, more);
}

/* Walks dir up to two levels (DIR/run or DIR/runs/run) in sorted order,
 * reading each directory once. */
static void walk(store *s, const char *dir, int depth, int quiet, int fitted_only) {
    DIR *d = opendir(dir);
    if (!d) { skipping(quiet, dir, "cannot read: ", strerror(errno)); return; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = grow(names, n, &cap, sizeof *names, 64);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        struct stat st;
        const char *first;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, names[i]) >= sizeof p)
            skipping(quiet, dir, "an entry's path is too long: ", names[i]);
        else if (stat(p, &st) != 0)
            skipping(quiet, p, "", strerror(errno));   /* a dangling symlink, a symlink loop */
        else if (!S_ISDIR(st.st_mode))
            ;                                          /* a file: summary.csv, jobs.txt, ... */
        else if ((first = read_before(s, &st, p)))
            skipping(quiet, p, "the same directory as ", first);
        else if (has_file(p, "config.csv") || rundir_has_temp_files(p)) {
            read_run(s, p, names[i], quiet, fitted_only);
            progress_count(&s->pr, (int)s->n_runs, "runs read");
        }
        else if (depth < 2)
            walk(s, p, depth + 1, quiet, fitted_only);
        free(names[i]);
    }
    free(names);
}

static int cmp_record(const void *a, const void *b) {
    const record *x = a, *y = b;
    for (int f = 0; f < N_FACTORS; f++) {
        int c = strcmp(x->key[f], y->key[f]);
        if (c) return c;
    }
    int c = strcmp(x->mode, y->mode);
    if (c) return c;
    if (x->length != y->length) return x->length - y->length;
    return (x->seed > y->seed) - (x->seed < y->seed);
}

static int same_group(const record *a, const record *b) {
    for (int f = 0; f < N_FACTORS; f++) if (strcmp(a->key[f], b->key[f])) return 0;
    return strcmp(a->mode, b->mode) == 0;
}

/* Unfinished, diverged or unreadable runs of a group (matching factors; never duplicates);
 * status "not-fitted": finished runs with fitted = 0. */
static int failed_runs(const store *s, const record *g, const char *status) {
    int n = 0, not_fitted = status && strcmp(status, "not-fitted") == 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const run_info *r = &s->runs[i];
        if (not_fitted) {
            if (strcmp(r->status, "finished") != 0 || r->fitted != 0) continue;
        } else {
            /* a duplicate is neither failed nor unfinished: its setting and seed counted once already */
            if (strcmp(r->status, "finished") == 0 || strcmp(r->status, "duplicate") == 0) continue;
            if (status && strcmp(r->status, status) != 0) continue;
        }
        int same = 1;
        for (int f = 0; f < N_FACTORS; f++) if (strcmp(r->key[f], g->key[f])) same = 0;
        n += same;
    }
    return n;
}

typedef struct { double mean, sd, lo, hi, min, max; } stats;

/* Over the finite values of x (NaN marks a value that does not apply);
 * x is scratch: the finite values are moved to its front. */
static stats describe(double *x, size_t n_in) {
    stats st = {NAN, NAN, NAN, NAN, NAN, NAN};
    size_t n = 0;
    for (size_t i = 0; i < n_in; i++) if (isfinite(x[i])) x[n++] = x[i];
    if (!n) return st;
    st.mean = gsl_stats_mean(x, 1, n);
    st.sd = n > 1 ? gsl_stats_sd_m(x, 1, n, st.mean) : 0;
    st.min = gsl_stats_min(x, 1, n);
    st.max = gsl_stats_max(x, 1, n);
    if (n > 1) {   /* one value has no interval; the measures are fractions, so it is clipped to [0, 1] */
        double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * st.sd / sqrt((double)n);
        st.lo = fmax(0, st.mean - half);
        st.hi = fmin(1, st.mean + half);
    }
    return st;
}

static void write_stats(csv_out *w, stats st) {
    double v[6] = {st.mean, st.sd, st.lo, st.hi, st.min, st.max};
    for (int i = 0; i < 6; i++) {
        if (isnan(v[i])) csv_out_str(w, "");   /* no value applies (length_acc where the length is given) */
        else csv_out_real(w, v[i]);
    }
}

/* The value of key in a "k=v\n" list, as a pointer to it and its length; NULL if absent. */
static const char *setting_value(const char *setting, const char *key, size_t klen, size_t *vlen) {
    for (const char *l = setting; *l;) {
        const char *eq = strchr(l, '='), *nl = strchr(l, '\n');
        if (!eq || !nl) break;
        if ((size_t)(eq - l) == klen && strncmp(l, key, klen) == 0) { *vlen = (size_t)(nl - eq - 1); return eq + 1; }
        l = nl + 1;
    }
    return NULL;
}

/* variant: the options (with this run's values) in which this run's setting
 * differs from another setting that shares its named factors. */
static void name_variants(store *s) {
    for (size_t i = 0; i < s->n_runs; i++) {
        run_info *a = &s->runs[i];
        a->variant[0] = 0;
        if (!a->setting) continue;
        for (const char *l = a->setting; *l;) {
            const char *eq = strchr(l, '='), *nl = strchr(l, '\n');
            if (!eq || !nl) break;
            size_t klen = (size_t)(eq - l), vlen = (size_t)(nl - eq - 1), olen;
            int differs = 0;
            for (size_t j = 0; j < s->n_runs && !differs; j++) {
                const run_info *b = &s->runs[j];
                if (j == i || !b->setting || strcmp(a->key[CONFIG_ID], b->key[CONFIG_ID]) == 0) continue;
                int same_named = 1;
                for (int f = 0; f < N_NAMED && same_named; f++) same_named = strcmp(a->key[f], b->key[f]) == 0;
                if (!same_named) continue;
                const char *v = setting_value(b->setting, l, klen, &olen);
                differs = !v || olen != vlen || strncmp(v, eq + 1, vlen) != 0;
            }
            size_t at = strlen(a->variant);
            if (differs && at + klen + vlen + 3 < sizeof a->variant)
                snprintf(a->variant + at, sizeof a->variant - at, "%s%.*s=%.*s", at ? " " : "", (int)klen, l, (int)vlen,
                         eq + 1);
            l = nl + 1;
        }
    }
}

static void store_free(store *s) {
    for (size_t i = 0; i < s->n_runs; i++) {
        free(s->runs[i].setting);
        free(s->runs[i].path);
    }
    for (size_t i = 0; i < s->n_seen; i++) free(s->seen[i].path);
    free(s->seen);
    free(s->r);
    free(s->runs);
}

static const char *const SUMMARY_HEADER[] = {"task", "encoding", "norm", "mask", "markers", "positions", "head",
    "config_id", "variant", "eval_mode",
    "length", "train_len", "n_seeds", "token_acc_mean", "token_acc_sd", "token_acc_ci_lo", "token_acc_ci_hi",
    "token_acc_min", "token_acc_max", "seq_acc_mean", "seq_acc_sd", "seq_acc_ci_lo", "seq_acc_ci_hi",
    "seq_acc_min", "seq_acc_max", "length_acc_mean", "length_acc_sd", "length_acc_ci_lo", "length_acc_ci_hi",
    "length_acc_min", "length_acc_max", "n_diverged", "n_unfinished", "n_not_fitted", NULL};
static const char *const HORIZONS_HEADER[] = {"task", "encoding", "norm", "mask", "markers", "positions", "head",
    "config_id", "variant", "eval_mode",
    "train_len", "n_seeds", "horizon_90", "horizon_50", "horizon_90_ratio", "horizon_50_ratio",
    "acc_beyond_train", "n_lengths_beyond", "seq_horizon_90", "seq_horizon_50", "seq_acc_beyond_train",
    "length_acc_beyond_train", "acc_beyond_ci_lo", "acc_beyond_ci_hi", "seq_acc_beyond_ci_lo", "seq_acc_beyond_ci_hi",
    "n_diverged", "n_unfinished", "n_not_fitted", NULL};
static const char *const RUNS_HEADER[] = {"run_id", "task", "encoding", "norm", "mask", "markers", "positions", "head",
    "config_id", "variant", "seed",
    "status", "fitted", "fit_step", "fit_seq_acc", "steps_done", "train_s", "reason", "path", NULL};

/* Buffers for one group's statistics, each of s.n + 1 entries (a group has
 * at most s.n records). */
typedef struct group_scratch {
    double *tok, *seq, *lacc;   /* one length's values over seeds; then means per seed */
    long *seed_slot;
    int *seed_n;
} group_scratch;

/* summary.csv rows of the group of records [g0, g1) (sorted by length), one a
 * length, and its horizons.csv row. */
static void write_group(const store *s, size_t g0, size_t g1, csv_out *w, csv_out *h, const group_scratch *sc) {
    double *tok = sc->tok, *seq = sc->seq, *lacc = sc->lacc;
    long *seed_slot = sc->seed_slot;
    int *seed_n = sc->seed_n;
    int div = failed_runs(s, &s->r[g0], "diverged"), unf = failed_runs(s, &s->r[g0], NULL) - div;
    int nfit = failed_runs(s, &s->r[g0], "not-fitted");
    int train_len = s->r[g0].len_max, h90 = 0, h50 = 0, stop90 = 0, stop50 = 0, beyond_n = 0, seeds_max = 0;
    int sh90 = 0, sh50 = 0, sstop90 = 0, sstop50 = 0, lbeyond_n = 0;
    double beyond = 0, sbeyond = 0, lbeyond = 0;
    for (size_t a = g0; a < g1;) {   /* one length at a time */
        size_t b = a;
        while (b < g1 && s->r[b].length == s->r[a].length) {
            tok[b - a] = s->r[b].token_acc;
            seq[b - a] = s->r[b].seq_acc;
            lacc[b - a] = s->r[b].length_acc;
            b++;
        }
        size_t n = b - a;
        if ((int)n > seeds_max) seeds_max = (int)n;
        stats ts = describe(tok, n), ss = describe(seq, n), ls = describe(lacc, n);
        const record *r = &s->r[a];
        for (int f = 0; f < N_FACTORS; f++) csv_out_str(w, r->key[f]);
        csv_out_str(w, r->variant);
        csv_out_str(w, r->mode);
        csv_out_int(w, r->length);
        csv_out_int(w, r->len_max);
        csv_out_int(w, (long)n);
        write_stats(w, ts);
        write_stats(w, ss);
        write_stats(w, ls);
        csv_out_int(w, div);
        csv_out_int(w, unf);
        csv_out_int(w, nfit);
        csv_out_end_row(w);
        /* horizons: the largest length before mean accuracy first drops below the bar */
        if (!stop90 && ts.mean >= 0.9) h90 = r->length; else stop90 = 1;
        if (!stop50 && ts.mean >= 0.5) h50 = r->length; else stop50 = 1;
        if (!sstop90 && ss.mean >= 0.9) sh90 = r->length; else sstop90 = 1;
        if (!sstop50 && ss.mean >= 0.5) sh50 = r->length; else sstop50 = 1;
        if (r->length > train_len) {
            beyond += ts.mean;
            sbeyond += ss.mean;
            beyond_n++;
            if (!isnan(ls.mean)) { lbeyond += ls.mean; lbeyond_n++; }
        }
        a = b;
    }
    /* the same beyond-training means per seed, for an interval over seeds */
    size_t ns = 0;
    long *sd_seed = seed_slot;
    double *st_sum = tok, *ss_sum = seq;             /* tok and seq are free again here: reused per seed slot */
    int *sn = seed_n;
    for (size_t i = g0; i < g1; i++) {
        if (s->r[i].length <= train_len) continue;
        size_t k = 0;
        while (k < ns && sd_seed[k] != s->r[i].seed) k++;
        if (k == ns) { sd_seed[ns] = s->r[i].seed; st_sum[ns] = ss_sum[ns] = 0; sn[ns] = 0; ns++; }
        st_sum[k] += s->r[i].token_acc;
        ss_sum[k] += s->r[i].seq_acc;
        sn[k]++;
    }
    for (size_t k = 0; k < ns; k++) { st_sum[k] /= sn[k]; ss_sum[k] /= sn[k]; }
    stats bt = describe(st_sum, ns), bs = describe(ss_sum, ns);
    const record *r = &s->r[g0];
    for (int f = 0; f < N_FACTORS; f++) csv_out_str(h, r->key[f]);
    csv_out_str(h, r->variant);
    csv_out_str(h, r->mode);
    csv_out_int(h, train_len);
    csv_out_int(h, seeds_max);
    csv_out_int(h, h90);
    csv_out_int(h, h50);
    csv_out_real(h, train_len ? (double)h90 / train_len : 0);
    csv_out_real(h, train_len ? (double)h50 / train_len : 0);
    if (beyond_n) csv_out_real(h, beyond / beyond_n);
    else csv_out_str(h, "");
    csv_out_int(h, beyond_n);
    csv_out_int(h, sh90);
    csv_out_int(h, sh50);
    if (beyond_n) csv_out_real(h, sbeyond / beyond_n);
    else csv_out_str(h, "");
    if (lbeyond_n) csv_out_real(h, lbeyond / lbeyond_n);
    else csv_out_str(h, "");
    double ci[4] = {bt.lo, bt.hi, bs.lo, bs.hi};
    for (int k = 0; k < 4; k++) {
        if (isnan(ci[k])) csv_out_str(h, "");
        else csv_out_real(h, ci[k]);
    }
    csv_out_int(h, div);
    csv_out_int(h, unf);
    csv_out_int(h, nfit);
    csv_out_end_row(h);
}

/* horizons.csv rows of the groups whose every run failed (or, with
 * fitted_only, did not fit): they have no records, only their counts. */
static void write_failed_groups(const store *s, int fitted_only, csv_out *h) {
    /* groups whose every run failed have no records: still one horizons row each, with their counts */
    for (size_t i = 0; i < s->n_runs; i++) {
        const run_info *ri = &s->runs[i];
        int counted_out = strcmp(ri->status, "finished") != 0 || (fitted_only && ri->fitted == 0);
        if (!counted_out || !ri->key[0][0] || strcmp(ri->status, "duplicate") == 0) continue;
        int seen = 0;
        for (size_t k = 0; k < s->n && !seen; k++) {
            int same = 1;
            for (int f = 0; f < N_FACTORS; f++) if (strcmp(s->r[k].key[f], ri->key[f])) same = 0;
            seen = same;
        }
        for (size_t j = 0; j < i && !seen; j++) {
            if (strcmp(s->runs[j].status, "finished") == 0 && !(fitted_only && s->runs[j].fitted == 0)) continue;
            int same = 1;
            for (int f = 0; f < N_FACTORS; f++) if (strcmp(s->runs[j].key[f], ri->key[f])) same = 0;
            seen = same;
        }
        if (seen) continue;
        record g;
        memset(&g, 0, sizeof g);
        memcpy(g.key, ri->key, sizeof g.key);
        int div = failed_runs(s, &g, "diverged");
        for (int f = 0; f < N_FACTORS; f++) csv_out_str(h, ri->key[f]);
        csv_out_str(h, ri->variant);
        csv_out_skip_to(h, "n_seeds");
        csv_out_str(h, "0");
        csv_out_skip_to(h, "n_diverged");
        csv_out_int(h, div);
        csv_out_int(h, failed_runs(s, &g, NULL) - div);
        csv_out_int(h, failed_runs(s, &g, "not-fitted"));
        csv_out_end_row(h);
    }
}

static void write_runs(const store *s, csv_out *rw) {
    for (size_t i = 0; i < s->n_runs; i++) {
        const run_info *ri = &s->runs[i];
        csv_out_str(rw, ri->id);
        for (int f = 0; f < N_FACTORS; f++) csv_out_str(rw, ri->key[f]);
        csv_out_str(rw, ri->variant);
        csv_out_int(rw, ri->seed);
        csv_out_str(rw, ri->status);
        if (ri->fitted < 0) csv_out_str(rw, "");
        else csv_out_int(rw, ri->fitted);
        if (ri->fit_step < 0) csv_out_str(rw, "");
        else csv_out_int(rw, ri->fit_step);
        csv_out_str(rw, ri->fit_seq_acc);
        if (ri->steps_done < 0) csv_out_str(rw, "");
        else csv_out_int(rw, ri->steps_done);
        csv_out_str(rw, ri->train_s);
        csv_out_str(rw, ri->reason);
        csv_out_str(rw, ri->path);
        csv_out_end_row(rw);
    }
}

/* The one line on stderr: how many runs were read, and what became of them. */
static void print_totals(const store *s, int fitted_only) {
    size_t fin = 0, nfit = 0, dup = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        fin += strcmp(s->runs[i].status, "finished") == 0;
        nfit += strcmp(s->runs[i].status, "finished") == 0 && s->runs[i].fitted == 0;
        dup += strcmp(s->runs[i].status, "duplicate") == 0;
    }
    fprintf(stderr, "posprobe: summarize: %zu runs, %zu finished (%zu did not fit their training lengths%s), "
            "%zu diverged/interrupted/unreadable/unfinished, %zu duplicates\n", s->n_runs, fin, nfit,
            fitted_only ? ": counted, not averaged" : "", s->n_runs - fin - dup, dup);
}

err_kind summarize_run(const char *dir, int quiet, int fitted_only, char *err, size_t errlen) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return errorf_kind(err, errlen, ERR_USAGE, "%s is not a directory", dir);
    store s;
    memset(&s, 0, sizeof s);
    read_before(&s, &st, dir);   /* a link back to DIR is not read again */
    progress_start(&s.pr, "posprobe summarize", 0, quiet, 5);   /* the total is not known before the walk */
    progress_delay(&s.pr, 3);
    walk(&s, dir, 0, quiet, fitted_only);
    progress_end(&s.pr, "runs read");
    if (s.n_runs == 0) { store_free(&s); return errorf_kind(err, errlen, ERR_USAGE, "no run directories (with config.csv) under %s", dir); }
    name_variants(&s);
    for (size_t i = 0; i < s.n; i++) snprintf(s.r[i].variant, sizeof s.r[i].variant, "%s", s.runs[s.r[i].run].variant);
    if (s.n) qsort(s.r, s.n, sizeof *s.r, cmp_record);   /* qsort of NULL is undefined even for 0 elements */
    char p[2048];
    csv_out w, h, rw;
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    if (csv_out_open(&w, p, err, errlen)) { store_free(&s); return ERR_IO; }
    snprintf(p, sizeof p, "%s/horizons.csv", dir);
    if (csv_out_open(&h, p, err, errlen)) { csv_out_abort(&w); store_free(&s); return ERR_IO; }
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    if (csv_out_open(&rw, p, err, errlen)) { csv_out_abort(&w); csv_out_abort(&h); store_free(&s); return ERR_IO; }
    csv_out_header(&w, SUMMARY_HEADER);
    csv_out_header(&h, HORIZONS_HEADER);
    csv_out_header(&rw, RUNS_HEADER);
    group_scratch sc = {xmalloc((s.n + 1) * sizeof(double)), xmalloc((s.n + 1) * sizeof(double)),
                        xmalloc((s.n + 1) * sizeof(double)), xmalloc((s.n + 1) * sizeof(long)),
                        xmalloc((s.n + 1) * sizeof(int))};
    for (size_t g0 = 0, g1; g0 < s.n; g0 = g1) {
        for (g1 = g0; g1 < s.n && same_group(&s.r[g0], &s.r[g1]); g1++) {}
        write_group(&s, g0, g1, &w, &h, &sc);
    }
    write_failed_groups(&s, fitted_only, &h);
    write_runs(&s, &rw);
    free(sc.tok);
    free(sc.seq);
    free(sc.lacc);
    free(sc.seed_slot);
    free(sc.seed_n);
    int rc = csv_out_commit(&w, err, errlen);
    if (!rc) rc = csv_out_commit(&h, err, errlen);
    else csv_out_abort(&h);
    if (!rc) rc = csv_out_commit(&rw, err, errlen);
    else csv_out_abort(&rw);
    if (!quiet) print_totals(&s, fitted_only);
    store_free(&s);
    return rc ? ERR_IO : ERR_NONE;
}
