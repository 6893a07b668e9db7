/* make bench: GFLOP/s of matmul and fused attention (forward + backward).
 * A benchmark, never a test: it asserts nothing and only prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "engine.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill(tensor *t, gsl_rng *r) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = (real)(gsl_rng_uniform(r) - 0.5);
}

typedef tensor *(*bench_fn)(graph *g, tensor **in, void *ctx);

/* Median seconds of forward+backward over reps after warm-up. */
static double time_fwd_bwd(bench_fn f, tensor **in, void *ctx, int reps) {
    arena ar;
    arena_init(&ar, 1 << 20);
    graph g;
    graph_init(&g, &ar, 1);
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -3; r < reps; r++) {
        double t0 = now_s();
        graph_backward(&g, op_sum(&g, f(&g, in, ctx)));
        graph_reset(&g);
        if (r >= 0) t[r] = now_s() - t0;
    }
    gsl_sort(t, 1, (size_t)reps);
    double med = gsl_stats_median_from_sorted_data(t, 1, (size_t)reps);
    free(t);
    arena_free(&ar);
    return med;
}

static tensor *f_matmul(graph *g, tensor **in, void *ctx) { (void)ctx; return op_matmul(g, in[0], in[1], 0, 0); }
static tensor *f_attention(graph *g, tensor **in, void *ctx) { return op_attention(g, in[0], in[1], in[2], NULL, ctx); }

static tensor *persistent(int ndim, const int *shape, gsl_rng *r) {
    tensor *t = malloc(sizeof *t);
    *t = tensor_view(NULL, NULL, ndim, shape);
    t->data = malloc(t->n * sizeof(real));
    t->grad = calloc(t->n, sizeof(real));
    fill(t, r);
    return t;
}

static void release(tensor *t) { free(t->data); free(t->grad); free(t); }

int main(int argc, char **argv) {
    (void)argc;
    blas_choose_kernel(argv);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    printf("posprobe op benchmark: %s, BLAS %s (kernel %s), single thread (OPENBLAS_NUM_THREADS=1)\n", REAL_NAME,
           POSPROBE_BLAS_NAME, blas_kernel_name());
    printf("%-34s %10s %10s\n", "op (forward + backward)", "ms", "GFLOP/s");
    const int Ts[2] = {64, 256};
    for (int ti = 0; ti < 2; ti++) {
        int T = Ts[ti], B = 8, C = 64;
        /* matmul (B*T, C) x (C, 4C): an MLP projection; fwd 2MNK, bwd 4MNK */
        tensor *a = persistent(2, (int[]){B * T, C}, r), *w = persistent(2, (int[]){C, 4 * C}, r);
        tensor *in[3] = {a, w, NULL};
        double s = time_fwd_bwd(f_matmul, in, NULL, 20);
        double flop = 6.0 * B * T * C * 4 * C;
        char name[64];
        snprintf(name, sizeof name, "matmul (%d,%d)x(%d,%d)", B * T, C, C, 4 * C);
        printf("%-34s %10.3f %10.2f\n", name, s * 1e3, flop / s * 1e-9);
        release(a);
        release(w);
        /* attention, head size 16, P = B * H = 32 heads, each norm */
        int P = 32, D = 16;
        tensor *q = persistent(3, (int[]){P, T, D}, r), *k = persistent(3, (int[]){P, T, D}, r),
               *v = persistent(3, (int[]){P, T, D}, r);
        tensor *ain[3] = {q, k, v};
        for (int norm = 0; norm < NORM_COUNT; norm++) {
            attn_opts o = {(real)0.25, MASK_BIDIR, (attn_norm)norm, T, 4, 0, 0};
            s = time_fwd_bwd(f_attention, ain, &o, 10);
            /* fwd: QK^T and AV, 2 T^2 D each; bwd: twice that */
            flop = 3.0 * P * (2.0 * T * T * D * 2);
            snprintf(name, sizeof name, "attention %s T=%d D=%d x%d", attn_norm_name((attn_norm)norm), T, D, P);
            printf("%-34s %10.3f %10.2f\n", name, s * 1e3, flop / s * 1e-9);
        }
        release(q); release(k); release(v);
    }
    gsl_rng_free(r);
    return 0;
}
