/* Test helpers for every test binary, the engine's alone included (so they
use nothing above the engine): persistent tensors, the finite-difference gradient check, and
 * the registry of test groups that run_tests assembles into one cmocka run. */
#ifndef POSPROBE_TEST_CHECK_H
#define POSPROBE_TEST_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine.h"

/* Error metric of every gradient check, per element i:
 *   err_i = |analytic_i - numeric_i| / max(|analytic_i|, |numeric_i|, GC_FLOOR)
 * numeric_i is the 4-point central difference
 *   (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h   (error O(h^4)).
 * Double: h = 1e-4, floor 1e-4, bound 1e-6. Float: h = 5e-3, floor 1, bound 1e-2
 * (float rounding makes tighter bounds meaningless; double is the real check). */
#ifdef POSPROBE_DOUBLE
#define GC_STEP 1e-4
#define GC_FLOOR 1e-4
#define GC_TOL 1e-6
#else
#define GC_STEP 5e-3
#define GC_FLOOR 1.0
#define GC_TOL 1e-2
#endif

/* A tensor outside any arena (an "input" or "parameter" of a check). */
tensor *pt_new(int ndim, const int *shape, int with_grad);
tensor *pt_new2(int d0, int d1, int with_grad);
tensor *pt_new3(int d0, int d1, int d2, int with_grad);
void pt_free(tensor *t);
/* Uniform in [lo, hi), deterministic in seed. away_from_zero > 0 pushes
 * |x| above it (for kinks such as relu at 0). */
void pt_fill(tensor *t, unsigned long seed, double lo, double hi, double away_from_zero);

typedef tensor *(*gc_build_fn)(graph *g, tensor **inputs, void *ctx);

typedef struct gc_result {
    double max_err;           /* the metric above, over every input element */
    int worst_input;
    size_t worst_index;
    double analytic, numeric; /* at the worst element */
    size_t n_checked;
} gc_result;

/* Checks d/d(inputs) of L = sum(out * R), R a fixed random tensor of out's
 * shape, for every input that has a grad buffer. */
gc_result gradcheck(gc_build_fn build, tensor **inputs, int n_inputs, void *ctx, unsigned long seed);
/* Asserts max_err <= GC_TOL with a message naming the worst element. */
void assert_gradcheck(const char *what, gc_result r);

/* Forward + backward of L = sum(out * R) once; grads of inputs are zeroed
 * first and left in inputs[i]->grad. Returns L. */
double gc_loss_and_grad(gc_build_fn build, tensor **inputs, int n_inputs, void *ctx, unsigned long seed);

/* Identities that are exact in real arithmetic, checked at the build's
 * precision (float: rounding of the stored tables and products). */
#ifdef POSPROBE_DOUBLE
#define EXACT_TOL 1e-10
#else
#define EXACT_TOL 2e-5
#endif

/* max_i |a_i - b_i| */
double max_diff(const double *a, const double *b, int n);

typedef struct test_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t count;
} test_group;

extern const test_group test_group_ops, test_group_attention, test_group_engine, test_group_model, test_group_cli, test_group_parity, test_group_encodings, test_group_tasks, test_group_fuzz,
    test_group_decode, test_group_summarize, test_group_decode_cache, test_group_identities;

/* cmocka setup/teardown: a fresh directory test_tmpdir for each test, removed
 * after it whether it passed or failed. */
extern char test_tmpdir[64];
int test_tmpdir_setup(void **state);
int test_tmpdir_teardown(void **state);
/* The text of the file NAME in test_tmpdir (its first 4095 bytes; "" when it
 * cannot be read), in a buffer the next call reuses. */
const char *test_tmpdir_text(const char *name);

/* tests/test_integrity.c: outputs, run directories, inputs that are not files */
extern const test_group test_group_integrity;
/* tests/test_inputs.c: number and command-line grammar, config and suite files, option ranges, memory */
extern const test_group test_group_inputs;
/* tests/test_known_values.c: AdamW steps and softmaxes at large logits against hand-computed values */
extern const test_group test_group_known_values;

#endif
