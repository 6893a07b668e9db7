/* Gradient parity with PyTorch: fixtures written by scripts/torch_parity.py
 * (a posprobe checkpoint and PyTorch's loss and gradients on a fixed probe
 * batch, in float64) are compared with posprobe's own backward pass. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "csvio.h"
#include "model.h"

#ifdef POSPROBE_DOUBLE
#define PARITY_TOL 1e-9
#else
#define PARITY_TOL 2e-3   /* the float build runs on rounded parameters */
#endif

static void check_fixture(const char *name) {
    char dir[256], path[300], err[1024];
    snprintf(dir, sizeof dir, "tests/fixtures/%s", name);
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    checkpoint_info info;
    model m;
    if (checkpoint_load(path, &info, &m, err, sizeof err)) fail_msg("%s", err);
    batch b;
    int n = info.cfg.len_max;
    batch_alloc(&b, 2, layout_seq_len(&m.lo, n));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    layout_fill(&m.lo, &b, n, r, POS_SEQUENTIAL, m.cfg.max_pos, r);
    gsl_rng_free(r);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    params_zero_grad(&m.ps);
    tensor *loss = model_loss(&m, &g, &b, model_forward(&m, &g, &b, 0));
    double L = loss->data[0];
    graph_backward(&g, loss);
    snprintf(path, sizeof path, "%s/expected.csv", dir);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    size_t checked = 0;
    double worst = 0;
    for (int row = 0; row < t.n_rows; row++) {
        const char *pname = t.rows[row][0];
        long idx = strtol(t.rows[row][1], NULL, 10);
        double expect = strtod(t.rows[row][2], NULL), got;
        if (strcmp(pname, "loss") == 0) {
            got = L;
        } else {
            const param_entry *e = params_find(&m.ps, pname);
            if (!e) fail_msg("%s: no parameter '%s'", name, pname);
            assert_true(idx >= 0 && (size_t)idx < e->t->n);
            got = e->t->grad[idx];
        }
        double rel = fabs(got - expect) / fmax(fabs(expect), 1e-3);
        if (rel > worst) worst = rel;
        if (!(rel <= PARITY_TOL))
            fail_msg("%s: %s[%ld]: posprobe %.12g, PyTorch %.12g (relative error %.3g)", name, pname, idx, got, expect, rel);
        checked++;
    }
    assert_int_equal(checked, m.ps.n + 1);
    csv_table_free(&t);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
}

static void test_parity_learned(void **state) { (void)state; check_fixture("parity_learned"); }
static void test_parity_sinusoidal(void **state) { (void)state; check_fixture("parity_sinusoidal"); }
static void test_parity_regression(void **state) { (void)state; check_fixture("parity_regression"); }
static void test_parity_rope(void **state) { (void)state; check_fixture("parity_rope"); }
static void test_parity_t5(void **state) { (void)state; check_fixture("parity_t5"); }

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_parity_learned),
    cmocka_unit_test(test_parity_sinusoidal),
    cmocka_unit_test(test_parity_regression),
    cmocka_unit_test(test_parity_rope),
    cmocka_unit_test(test_parity_t5),
};
const test_group test_group_parity = {"parity", TESTS, sizeof TESTS / sizeof *TESTS};
