/* Finite-difference gradient checks, persistent test tensors, scratch
 * directories. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

tensor *pt_new(int ndim, const int *shape, int with_grad) {
    tensor *t = malloc(sizeof *t);
    *t = tensor_view(NULL, NULL, ndim, shape);
    t->data = calloc(t->n + 1, sizeof(real));
    t->grad = with_grad ? calloc(t->n + 1, sizeof(real)) : NULL;
    return t;
}

tensor *pt_new2(int d0, int d1, int with_grad) { int s[2] = {d0, d1}; return pt_new(2, s, with_grad); }
tensor *pt_new3(int d0, int d1, int d2, int with_grad) { int s[3] = {d0, d1, d2}; return pt_new(3, s, with_grad); }

void pt_free(tensor *t) {
    if (!t) return;
    free(t->data);
    free(t->grad);
    free(t);
}

void pt_fill(tensor *t, unsigned long seed, double lo, double hi, double away_from_zero) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < t->n; i++) {
        double v = lo + (hi - lo) * gsl_rng_uniform(r);
        if (away_from_zero > 0 && fabs(v) < away_from_zero) v = v < 0 ? v - away_from_zero : v + away_from_zero;
        t->data[i] = (real)v;
    }
    gsl_rng_free(r);
}

/* L = sum(out * R), R drawn from seed for out's size. */
static double probe_loss(const tensor *out, unsigned long seed, real *weights_out) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed ^ 0x5eedULL);
    double L = 0;
    for (size_t i = 0; i < out->n; i++) {
        real w = (real)(2 * gsl_rng_uniform(r) - 1);
        if (weights_out) weights_out[i] = w;
        L += (double)w * out->data[i];
    }
    gsl_rng_free(r);
    return L;
}

double gc_loss_and_grad(gc_build_fn build, tensor **in, int n_in, void *ctx, unsigned long seed) {
    arena ar;
    graph g;
    arena_init(&ar, 1 << 16);
    graph_init(&g, &ar, 1);
    for (int i = 0; i < n_in; i++)
        if (in[i]->grad) memset(in[i]->grad, 0, in[i]->n * sizeof(real));
    tensor *out = build(&g, in, ctx);
    tensor *w = tensor_new(&g, out->ndim, out->shape, 0);
    double L = probe_loss(out, seed, w->data);
    if (out->grad) graph_backward(&g, op_sum(&g, op_mul(&g, out, w)));
    arena_free(&ar);
    return L;
}

static double forward_only(gc_build_fn build, tensor **in, void *ctx, unsigned long seed, arena *ar) {
    graph g;
    graph_init(&g, ar, 0);
    tensor *out = build(&g, in, ctx);
    double L = probe_loss(out, seed, NULL);
    graph_reset(&g);
    return L;
}

gc_result gradcheck(gc_build_fn build, tensor **in, int n_in, void *ctx, unsigned long seed) {
    gc_result res = {0, -1, 0, 0, 0, 0};
    gc_loss_and_grad(build, in, n_in, ctx, seed);
    arena ar;
    arena_init(&ar, 1 << 16);
    const double h = GC_STEP;
    for (int i = 0; i < n_in; i++) {
        if (!in[i]->grad) continue;
        real *analytic = malloc(in[i]->n * sizeof(real));
        memcpy(analytic, in[i]->grad, in[i]->n * sizeof(real));
        for (size_t e = 0; e < in[i]->n; e++) {
            real x0 = in[i]->data[e];
            double f[4];
            const double off[4] = {2 * h, h, -h, -2 * h};
            for (int s = 0; s < 4; s++) {
                in[i]->data[e] = (real)(x0 + off[s]);
                f[s] = forward_only(build, in, ctx, seed, &ar);
            }
            in[i]->data[e] = x0;
            double numeric = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
            double a = analytic[e];
            double denom = fmax(fmax(fabs(a), fabs(numeric)), GC_FLOOR);
            double err = fabs(a - numeric) / denom;
            if (!(err <= res.max_err)) { /* also catches NaN */
                res.max_err = isnan(err) ? INFINITY : err;
                res.worst_input = i;
                res.worst_index = e;
                res.analytic = a;
                res.numeric = numeric;
            }
            res.n_checked++;
        }
        memcpy(in[i]->grad, analytic, in[i]->n * sizeof(real));
        free(analytic);
    }
    arena_free(&ar);
    return res;
}

void assert_gradcheck(const char *what, gc_result r) {
    if (r.n_checked == 0) fail_msg("%s: nothing was checked", what);
    if (!(r.max_err <= GC_TOL))
        fail_msg("%s: gradient error %.3g > %.1g at input %d element %zu (analytic %.10g, numeric %.10g)", what,
                 r.max_err, GC_TOL, r.worst_input, r.worst_index, r.analytic, r.numeric);
}

double max_diff(const double *a, const double *b, int n) {
    double w = 0;
    for (int i = 0; i < n; i++) w = fmax(w, fabs(a[i] - b[i]));
    return w;
}

char test_tmpdir[64];

int test_tmpdir_setup(void **state) {
    (void)state;
    snprintf(test_tmpdir, sizeof test_tmpdir, "/tmp/posprobe-test-XXXXXX");
    return mkdtemp(test_tmpdir) ? 0 : -1;
}

int test_tmpdir_teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *test_tmpdir_text(const char *name) {
    static char text[4096];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    return text;
}
