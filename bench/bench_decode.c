/* make bench: greedy decoding (decode.c) with cached keys and values against
 * recomputing the whole prefix at every step, and against a PyTorch greedy
 * decoder with a key/value cache over the same checkpoint. A benchmark, never
 * a test: it asserts nothing and only prints.
 *
 * The model: the copy task's decoder form ([BOS] input [SEP] answer), 2
 * layers, width 64, 4 heads, MLP width 128, random weights (init-scale 0.3, so
 * the argmax is decisive), --eos 0 so that every run generates exactly m
 * tokens (the prompt once, then m - 1 one-row steps). Batches of 16 sequences.
 *
 * usage: bench_decode [--torch PYTHON] [--quick] */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>

#include "bench_util.h"
#include "checkpoint.h"
#include "decode.h"
#include "model.h"

enum { BATCH = 16, MAX_M = 128, N_LENS = 4, N_ENC = 4, MAX_ROUNDS = 3 };
static const int LENS[N_LENS] = {16, 32, 64, 128};
static const char *const ENCODINGS[N_ENC] = {"learned", "rope", "t5", "alibi"};

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return gsl_stats_median_from_sorted_data(t, 1, (size_t)n);
}

static int build_model(model *m, const char *encoding, char *err, size_t errlen) {
    run_config c;
    config_defaults(&c);
    snprintf(c.task, sizeof c.task, "copy");
    c.mask = MASK_CAUSAL;
    snprintf(c.encoding, sizeof c.encoding, "%s", encoding);
    c.vocab = 29;                           /* 32 with the specials */
    c.dim = 64;
    c.heads = 4;
    c.layers = 2;
    c.ff_mult = 2;
    c.eos = 0;
    c.init_scale = 0.3;
    c.max_pos = 512;
    c.len = c.len_min = c.len_max = MAX_M;
    c.quiet = 1;
    if (config_validate(&c, err, errlen) || model_build(m, &c, MAX_M, err, errlen)) return -1;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    model_init_params(m, r);
    gsl_rng_free(r);
    return 0;
}

/* The hash the PyTorch side prints: sum of gen[s][j] (j + 1) (s + 1). */
static long gen_hash(const decoder *d, int B, int M) {
    long h = 0;
    for (int s = 0; s < B; s++)
        for (int j = 0; j < M; j++) h += (long)d->gen[(size_t)s * d->max_cap + j] * (j + 1) * (s + 1);
    return h;
}

/* Median seconds of one decoding of b over reps runs. */
static double time_decode(decoder *d, model *m, graph *g, const batch *b, int reps) {
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        decoder_run(d, m, g, b);
        t[r] = now_s() - t0;
    }
    return median(t, reps);
}

/* PyTorch's median ms per decoding at each length, and its token hashes; -1 without torch. */
static int torch_decode(const char *python, const char *ckpt, const char *prompts, int reps, double *ms, long *hash,
                        char *version, size_t vlen) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 '%s' scripts/torch_model.py '%s' --decode-bench --prompts '%s' "
             "--reps %d --warmup 1 --threads 1 --dtype %s 2>/dev/null",
             python, ckpt, prompts, reps, sizeof(real) == 4 ? "float" : "double");
    char line[4096];
    if (bench_torch_line(cmd, line, sizeof line, version, vlen)) return -1;
    char *a = strstr(line, "\"median_ms\": ["), *h = strstr(line, "\"gen_hash\": [");
    if (!a || !h) return -1;
    a += 14;
    h += 13;
    for (int i = 0; i < N_LENS; i++) {
        ms[i] = strtod(a, &a);
        hash[i] = strtol(h, &h, 10);
        a += strspn(a, ", ");
        h += strspn(h, ", ");
    }
    return 0;
}

int main(int argc, char **argv) {
    blas_choose_kernel(argv);
    const char *python;
    int quick;
    bench_args(argc, argv, &python, &quick);
    const int rounds = quick ? 1 : MAX_ROUNDS, reps = quick ? 1 : 3;
    char dir[] = "/tmp/posprobe-bench-decode-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char ckpt[128], prompts[128], err[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir);
    snprintf(prompts, sizeof prompts, "%s/prompts.txt", dir);
    printf("posprobe greedy-decoding benchmark: %s, BLAS %s (kernel %s), one thread; copy task, decoder form, "
           "2 layers, width 64, 4 heads, batch %d; m answer tokens per sequence (prompt m + 2 rows, then m - 1 "
           "one-row steps); median of %d runs per round, %d rounds alternating posprobe and PyTorch\n\n",
           REAL_NAME, POSPROBE_BLAS_NAME, blas_kernel_name(), BATCH, reps, rounds);
    printf("%-8s %4s %12s %14s %9s %14s %9s %16s %7s\n", "encoding", "m", "cached ms/seq", "recompute ms/seq", "speedup",
           "PyTorch ms/seq", "vs torch", "round ratios", "agree");
    char version[64] = "?";
    int have_torch = 1;
    size_t mallocs_after_first = 0, mallocs_last = 0;
    long heap_delta = 0;
    for (int e = 0; e < N_ENC; e++) {
        model m;
        if (build_model(&m, ENCODINGS[e], err, sizeof err)) { fprintf(stderr, "bench: %s\n", err); return 1; }
        if (checkpoint_save(&m, MAX_M, 0, ckpt, err, sizeof err)) { fprintf(stderr, "bench: %s\n", err); return 1; }
        /* one batch per length, its prompts written for PyTorch */
        batch b[N_LENS];
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 2);
        FILE *pf = fopen(prompts, "w");
        for (int i = 0; i < N_LENS; i++) {
            int rows = layout_decode_rows(&m.lo, LENS[i]), P = layout_prompt_len(&m.lo, LENS[i]);
            batch_alloc(&b[i], BATCH, rows);
            b[i].decode_rows = rows;
            layout_fill(&m.lo, &b[i], LENS[i], r, POS_SEQUENTIAL, m.cfg.max_pos, r);
            for (int s = 0; s < BATCH; s++) {
                fprintf(pf, "%d", LENS[i]);
                for (int t = 0; t < P; t++) fprintf(pf, " %d", b[i].tokens[(size_t)s * b[i].T + t]);
                fprintf(pf, "\n");
            }
        }
        fclose(pf);
        gsl_rng_free(r);
        int max_rows = layout_decode_rows(&m.lo, MAX_M), max_cap = layout_decode_cap(&m.lo, MAX_M);
        decoder dc, dr;
        decoder_init(&dc, &m, BATCH, max_rows, max_cap, DECODE_CACHED);
        decoder_init(&dr, &m, BATCH, max_rows, max_cap, DECODE_RECOMPUTE);
        arena ar;
        arena_init(&ar, 1 << 20);
        graph g;
        graph_init(&g, &ar, 0);
        double cached[N_LENS][MAX_ROUNDS], recompute[N_LENS][MAX_ROUNDS], torch_s[N_LENS][MAX_ROUNDS];
        long hash_c[N_LENS], hash_r[N_LENS], hash_t[N_LENS] = {0};
        int ok = have_torch;
        /* warm-up: the arena grows to its largest step (recompute's grows with every step) */
        for (int i = 0; i < N_LENS; i++) {
            decoder_run(&dc, &m, &g, &b[i]);
            decoder_run(&dr, &m, &g, &b[i]);
        }
        if (e == 0) { mallocs_after_first = ar.n_mallocs; heap_delta = (long)mallinfo2().uordblks; }
        for (int rd = 0; rd < rounds; rd++) {
            for (int i = 0; i < N_LENS; i++) {
                cached[i][rd] = time_decode(&dc, &m, &g, &b[i], reps) / BATCH;
                hash_c[i] = gen_hash(&dc, BATCH, LENS[i]);
                /* recompute grows with m^2: fewer runs at the long lengths */
                recompute[i][rd] = time_decode(&dr, &m, &g, &b[i], LENS[i] >= 64 || quick ? 1 : reps) / BATCH;
                hash_r[i] = gen_hash(&dr, BATCH, LENS[i]);
            }
            if (e == 0 && rd == 0) { mallocs_last = ar.n_mallocs; heap_delta = (long)mallinfo2().uordblks - heap_delta; }
            double tms[N_LENS];
            ok = ok && torch_decode(python, ckpt, prompts, reps, tms, hash_t, version, sizeof version) == 0;
            for (int i = 0; ok && i < N_LENS; i++) torch_s[i][rd] = tms[i] / 1e3 / BATCH;
        }
        if (!ok && have_torch) {
            have_torch = 0;
            printf("(PyTorch not available at %s with torch importable: posprobe's figures only)\n", python);
        }
        for (int i = 0; i < N_LENS; i++) {
            double speed[MAX_ROUNDS], vs[MAX_ROUNDS];
            for (int rd = 0; rd < rounds; rd++) {
                speed[rd] = recompute[i][rd] / cached[i][rd];
                if (ok) vs[rd] = cached[i][rd] / torch_s[i][rd];
            }
            double c = median(cached[i], rounds), rc = median(recompute[i], rounds), sp = median(speed, rounds);
            printf("%-8s %4d %12.3f %14.3f %8.1fx", ENCODINGS[e], LENS[i], 1e3 * c, 1e3 * rc, sp);
            if (ok) {
                double t = median(torch_s[i], rounds), v = median(vs, rounds);   /* vs is sorted now */
                char range[32];
                snprintf(range, sizeof range, "%.2f-%.2f", vs[0], vs[rounds - 1]);
                printf(" %14.3f %9.2f %16s", 1e3 * t, v, range);
            } else printf(" %14s %9s %16s", "-", "-", "-");
            printf(" %7s\n", hash_c[i] != hash_r[i] ? "NO" : ok ? (hash_c[i] == hash_t[i] ? "yes" : "torch NO") : "yes");
        }
        decoder_free(&dc);
        decoder_free(&dr);
        arena_free(&ar);
        for (int i = 0; i < N_LENS; i++) batch_free(&b[i]);
        model_free(&m);
    }
    printf("speedup = recompute / cached time (median of the rounds' ratios); vs torch = posprobe cached / PyTorch %s "
           "cached time, same checkpoint, dtype and thread count (median of the rounds' ratios; range lowest-highest); "
           "agree: cached, recomputed (and PyTorch) greedy tokens identical\n",
           have_torch ? version : "(absent)");
    printf("allocation (learned): arena chunk mallocs %zu after one decoding per length and mode, %zu after the "
           "first round's timed decodings; malloc'd bytes in use changed by %ld over them\n",
           mallocs_after_first, mallocs_last, heap_delta);
    unlink(ckpt);
    unlink(prompts);
    rmdir(dir);
    return 0;
}
