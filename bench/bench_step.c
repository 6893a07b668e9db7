/* make bench: the training step (forward + backward + AdamW) of posprobe
 * against the same model in PyTorch, timed side by side; the scaling of the
 * step with length and width; the attention share; allocation in the loop.
 * A benchmark, never a test: it asserts nothing and only prints.
 *
 * usage: bench_step [--torch PYTHON] [--quick]   (PyTorch: /usr/bin/python3 scripts/torch_model.py) */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "bench_util.h"
#include "checkpoint.h"
#include "model.h"
#include "run.h"

typedef struct {
    int T, C, H, L, F, V, K, B;
    const char *encoding;
} shape;

/* Analytic FLOPs of one step: forward matmuls and attention products, backward
 * twice the forward (two products per forward product). Elementwise work is
 * not counted. */
static double step_flops(const shape *s) {
    double N = (double)s->B * s->T, D = (double)s->C / s->H;
    double per_layer = 2 * N * s->C * s->C * 4      /* q, k, v, o projections */
                       + 2 * N * s->C * s->F * 2    /* MLP */
                       + 2.0 * s->B * s->H * s->T * s->T * D * 2;   /* q k^T and A v */
    double fwd = s->L * per_layer + 2 * N * s->C * s->K;   /* + head */
    return 3 * fwd;
}

static void config_for(run_config *c, const shape *s) {
    config_defaults(c);
    snprintf(c->task, sizeof c->task, "copy");
    snprintf(c->encoding, sizeof c->encoding, "%s", s->encoding);
    c->vocab = s->V - 3;                 /* the model adds 3 special tokens */
    c->dim = s->C;
    c->heads = s->H;
    c->layers = s->L;
    c->ff_mult = s->F / s->C;
    c->batch = s->B;
    c->len = c->len_min = c->len_max = s->T / 2;   /* encoder form of copy: T = 2n */
    c->max_pos = s->T > 256 ? s->T : 256;
    c->eval_lens.n = 0;
    c->quiet = 1;
}

typedef struct {
    double median, p10, p90;
    size_t arena_high_first, arena_high_last, arena_mallocs_first, arena_mallocs_last;
    long heap_delta;   /* bytes in use by malloc after the timed loop minus before */
} timing;

static void quantiles(double *t, int n, double *med, double *p10, double *p90) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    *med = gsl_stats_median_from_sorted_data(t, 1, (size_t)n);
    *p10 = gsl_stats_quantile_from_sorted_data(t, 1, (size_t)n, 0.1);
    *p90 = gsl_stats_quantile_from_sorted_data(t, 1, (size_t)n, 0.9);
}

/* Times steps of the model for s; optionally saves its checkpoint for PyTorch
 * and copies the step times (seconds) into samples. */
static int time_steps(const shape *s, int warmup, int steps, timing *out, const char *save_ckpt, double *samples) {
    run_config c;
    config_for(&c, s);
    char err[512];
    model m;
    if (config_validate(&c, err, sizeof err) || model_build(&m, &c, s->T / 2, err, sizeof err)) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    model_init_params(&m, r);
    batch b;
    batch_alloc(&b, s->B, s->T);
    layout_fill(&m.lo, &b, s->T / 2, r, POS_SEQUENTIAL, c.max_pos, r);
    if (save_ckpt && checkpoint_save(&m, s->T / 2, 0, save_ckpt, err, sizeof err)) fprintf(stderr, "bench: %s\n", err);
    arena ar;
    arena_init(&ar, 1 << 20);
    graph g;
    graph_init(&g, &ar, 1);
    double *t = malloc(sizeof(double) * (size_t)steps);
    long heap_before = 0;
    for (int i = 0; i < warmup + steps; i++) {
        if (i == warmup) heap_before = (long)mallinfo2().uordblks;
        double t0 = now_s();
        run_step(&m, &g, &b, i + 1);
        if (i >= warmup) t[i - warmup] = now_s() - t0;
        if (i == 0) { out->arena_high_first = ar.high_water; out->arena_mallocs_first = ar.n_mallocs; }
    }
    out->heap_delta = (long)mallinfo2().uordblks - heap_before;
    out->arena_high_last = ar.high_water;
    out->arena_mallocs_last = ar.n_mallocs;
    if (samples) memcpy(samples, t, sizeof(double) * (size_t)steps);
    quantiles(t, steps, &out->median, &out->p10, &out->p90);
    free(t);
    arena_free(&ar);
    batch_free(&b);
    gsl_rng_free(r);
    model_free(&m);
    return 0;
}

/* Attention alone (scores, softmax, A V, forward and backward) for the step's shapes. */
static double time_attention(const shape *s, int reps) {
    int P = s->B * s->H, D = s->C / s->H;
    arena ar;
    arena_init(&ar, 1 << 20);
    graph g;
    graph_init(&g, &ar, 1);
    real *buf = calloc((size_t)P * s->T * D * 6, sizeof(real));
    for (size_t i = 0; i < (size_t)P * s->T * D * 3; i++) buf[i] = (real)((i * 2654435761u % 1000) / 1000.0 - 0.5);
    int shp[3] = {P, s->T, D};
    size_t n = (size_t)P * s->T * D;
    tensor q = tensor_view(buf, buf + 3 * n, 3, shp), k = tensor_view(buf + n, buf + 4 * n, 3, shp),
           v = tensor_view(buf + 2 * n, buf + 5 * n, 3, shp);
    attn_opts o = {(real)(1 / sqrt(D)), MASK_BIDIR, NORM_SOFTMAX, s->T, s->H, 0, 0};
    double *t = malloc(sizeof(double) * (size_t)reps), med, p10, p90;
    for (int i = -2; i < reps; i++) {
        double t0 = now_s();
        graph_backward(&g, op_sum(&g, op_attention(&g, &q, &k, &v, NULL, &o)));
        graph_reset(&g);
        if (i >= 0) t[i] = now_s() - t0;
    }
    quantiles(t, reps, &med, &p10, &p90);
    free(t);
    free(buf);
    arena_free(&ar);
    return med * s->L;
}

/* PyTorch's median/p10/p90 (ms) for the saved checkpoint, or -1 without torch. */
static int torch_time(const char *python, const char *ckpt, const shape *s, int warmup, int steps, double out[3],
                      char *version, size_t vlen) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 '%s' scripts/torch_model.py '%s' --bench --batch %d --len %d "
             "--steps %d --warmup %d --threads 1 --dtype %s 2>/dev/null",
             python, ckpt, s->B, s->T, steps, warmup, sizeof(real) == 4 ? "float" : "double");
    char line[1024];
    if (bench_torch_line(cmd, line, sizeof line, version, vlen)) return -1;
    char *m = strstr(line, "\"median_ms\": "), *a = strstr(line, "\"p10_ms\": "), *z = strstr(line, "\"p90_ms\": ");
    if (!m || !a || !z) return -1;
    out[0] = atof(m + 13);
    out[1] = atof(a + 10);
    out[2] = atof(z + 10);
    return 0;
}

int main(int argc, char **argv) {
    blas_choose_kernel(argv);
    const char *python;
    int quick;
    bench_args(argc, argv, &python, &quick);
    int warmup = 10, steps = quick ? 10 : 50;
    char ckpt[] = "/tmp/posprobe-bench-XXXXXX";
    if (!mkdtemp(ckpt)) { perror("mkdtemp"); return 1; }
    char ckpt_file[128];
    snprintf(ckpt_file, sizeof ckpt_file, "%s/checkpoint.bin", ckpt);
    printf("posprobe training-step benchmark: %s, BLAS %s (kernel %s), one thread; batch 32, 2 layers, 4 heads, "
           "width 64, vocabulary 32, encoder form; %d timed steps after %d warm-up per round\n", REAL_NAME,
           POSPROBE_BLAS_NAME, blas_kernel_name(), steps, warmup);
    printf("PyTorch runs in the same environment: its matrix products go through the same OpenBLAS and kernel\n\n");
    /* posprobe and PyTorch alternate in rounds, so a slow spell of a shared
     * machine falls on both; the ratio is the median of the rounds' ratios */
    enum { MAX_ROUNDS = 3 };
    const int rounds = quick ? 2 : MAX_ROUNDS;
    printf("%-10s %5s %10s %10s %10s %9s %12s %10s %14s\n", "encoding", "T", "median ms", "p10 ms", "p90 ms", "GFLOP/s",
           "PyTorch ms", "ratio", "round ratios");
    const shape main_shapes[4] = {{64, 64, 4, 2, 128, 32, 29, 32, "learned"}, {256, 64, 4, 2, 128, 32, 29, 32, "learned"},
                                  {64, 64, 4, 2, 128, 32, 29, 32, "rope"}, {64, 64, 4, 2, 128, 32, 29, 32, "t5"}};
    double learned64 = 0;
    char version[64] = "?";
    int have_torch = 1;
    timing first = {0};
    double *samples = malloc(sizeof(double) * (size_t)(rounds * steps));
    for (int i = 0; i < 4; i++) {
        timing t;
        double torch_med[MAX_ROUNDS], ratio[MAX_ROUNDS], tt[3];
        int ok = have_torch;
        for (int r = 0; r < rounds; r++) {   /* the checkpoint PyTorch loads is saved once, in round 0 */
            if (time_steps(&main_shapes[i], warmup, steps, &t, r == 0 ? ckpt_file : NULL, samples + r * steps)) return 1;
            if (i == 0 && r == 0) first = t;
            ok = ok && torch_time(python, ckpt_file, &main_shapes[i], warmup, steps, tt, version, sizeof version) == 0;
            if (ok) { torch_med[r] = tt[0]; ratio[r] = 1e3 * t.median / tt[0]; }
        }
        if (!ok && have_torch) {
            have_torch = 0;
            printf("(PyTorch not available at %s with torch importable: posprobe's figures only)\n", python);
        }
        quantiles(samples, rounds * steps, &t.median, &t.p10, &t.p90);   /* every round's steps together */
        if (i == 0) learned64 = t.median;
        printf("%-10s %5d %10.3f %10.3f %10.3f %9.2f", main_shapes[i].encoding, main_shapes[i].T, 1e3 * t.median,
               1e3 * t.p10, 1e3 * t.p90, step_flops(&main_shapes[i]) / t.median * 1e-9);
        if (ok) {
            double tm, rm, x;
            quantiles(torch_med, rounds, &tm, &x, &x);
            quantiles(ratio, rounds, &rm, &x, &x);   /* sorts: lowest first */
            char range[32];
            snprintf(range, sizeof range, "%.2f-%.2f", ratio[0], ratio[rounds - 1]);
            printf(" %12.3f %10.2f %14s", tm, rm, range);
        } else printf(" %12s %10s %14s", "-", "-", "-");
        if (i >= 2) printf("   (%+.0f%% over learned at T = 64)", 100 * (t.median / learned64 - 1));
        printf("\n");
    }
    free(samples);
    if (have_torch)
        printf("ratio = posprobe / PyTorch %s step time, same model, dtype and thread count: the median over %d rounds "
               "in which the two alternate (each round: %d steps of each after %d warm-up); round ratios: lowest-highest\n",
               version, rounds, steps, warmup);
    printf("\nallocation: arena high-water %zu bytes after step 1, %zu after the last; arena chunk mallocs %zu after "
           "step 1, %zu after the last; malloc'd bytes in use changed by %ld over the timed steps\n",
           first.arena_high_first, first.arena_high_last, first.arena_mallocs_first, first.arena_mallocs_last,
           first.heap_delta);
    printf("\nscaling (learned, batch 32, 2 layers; attention = scores + softmax + A V, forward and backward):\n");
    printf("%-6s %5s %10s %12s %10s\n", "width", "T", "step ms", "attention ms", "share");
    const int Ts[6] = {16, 32, 64, 128, 256, 512}, Cs[4] = {32, 64, 128, 256};
    for (int i = 0; i < (quick ? 3 : 6); i++) {
        shape s = {Ts[i], 64, 4, 2, 128, 32, 29, 32, "learned"};
        timing t;
        if (time_steps(&s, 2, quick ? 3 : 10, &t, NULL, NULL)) return 1;
        double a = time_attention(&s, quick ? 3 : 10);
        printf("%-6d %5d %10.3f %12.3f %9.0f%%\n", s.C, s.T, 1e3 * t.median, 1e3 * a, 100 * a / t.median);
    }
    for (int i = 0; i < (quick ? 2 : 4); i++) {
        shape s = {64, Cs[i], 4, 2, 2 * Cs[i], 32, 29, 32, "learned"};
        timing t;
        if (time_steps(&s, 2, quick ? 3 : 10, &t, NULL, NULL)) return 1;
        double a = time_attention(&s, quick ? 3 : 10);
        printf("%-6d %5d %10.3f %12.3f %9.0f%%\n", s.C, s.T, 1e3 * t.median, 1e3 * a, 100 * a / t.median);
    }
    /* claim T3 (8130): a recursive encoding is slow, being sequential. Its
     * recurrence runs once per position up to the largest id, one (C) row at
     * a time, where learned gathers its table's rows in one go. */
    printf("\nrecursive against learned (claim T3; batch 32, 2 layers, width 64):\n");
    printf("%5s %12s %14s %8s\n", "T", "learned ms", "recursive ms", "ratio");
    const int Tr[3] = {16, 64, 256};
    for (int i = 0; i < (quick ? 2 : 3); i++) {
        shape l = {Tr[i], 64, 4, 2, 128, 32, 29, 32, "learned"}, rc = l;
        rc.encoding = "recursive";
        timing tl, tr;
        if (time_steps(&l, 2, quick ? 3 : 10, &tl, NULL, NULL) || time_steps(&rc, 2, quick ? 3 : 10, &tr, NULL, NULL))
            return 1;
        printf("%5d %12.3f %14.3f %8.2f\n", l.T, 1e3 * tl.median, 1e3 * tr.median, tr.median / tl.median);
    }
    unlink(ckpt_file);
    rmdir(ckpt);
    return 0;
}
