/* Parity with PyTorch: fixtures written by scripts/torch_parity.py hold a
 * posprobe checkpoint (trained a few steps), a batch of varied tokens
 * (batch.csv) and PyTorch's loss, logits and every parameter gradient on it
 * in float64 (expected.csv), from the mirror of the model written from the
 * papers (scripts/torch_model.py). posprobe's own forward and backward must
 * agree: 1e-9 relative in double, 2e-3 in float. One fixture per encoding
 * (with the options that change its formula) and per normalizer; make
 * parity-fixtures regenerates them. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "csvio.h"
#include "model.h"

#ifdef POSPROBE_DOUBLE
#define PARITY_TOL 1e-9
#else
#define PARITY_TOL 2e-3   /* the float build runs on rounded parameters */
#endif

/* batch.csv (name,index,value): B, T, then tokens and targets (B*T), pos,
 * pos_x, pos_y (T). Regression: values = targets, weight 1 where scored. */
static void read_batch(const char *dir, batch *b) {
    char path[300], err[1024];
    snprintf(path, sizeof path, "%s/batch.csv", dir);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    assert_true(t.n_rows >= 2 && strcmp(t.rows[0][0], "B") == 0 && strcmp(t.rows[1][0], "T") == 0);
    int B = atoi(t.rows[0][2]), T = atoi(t.rows[1][2]);
    assert_true(B >= 1 && T >= 1);
    batch_alloc(b, B, T);
    b->T = T;
    b->pos_rows = T;
    size_t filled[5] = {0};
    for (int row = 2; row < t.n_rows; row++) {
        const char *name = t.rows[row][0];
        long i = strtol(t.rows[row][1], NULL, 10), v = strtol(t.rows[row][2], NULL, 10);
        int *dst = strcmp(name, "tokens") == 0 ? b->tokens : strcmp(name, "targets") == 0 ? b->targets
                 : strcmp(name, "pos") == 0 ? b->pos : strcmp(name, "pos_x") == 0 ? b->pos_x
                 : strcmp(name, "pos_y") == 0 ? b->pos_y : NULL;
        if (!dst) fail_msg("%s: unknown field '%s'", path, name);
        long cap = dst == b->tokens || dst == b->targets ? (long)B * T : T;
        assert_true(i >= 0 && i < cap);
        dst[i] = (int)v;
        filled[dst == b->tokens ? 0 : dst == b->targets ? 1 : dst == b->pos ? 2 : dst == b->pos_x ? 3 : 4]++;
    }
    assert_int_equal(filled[0], (size_t)B * T);
    assert_int_equal(filled[1], (size_t)B * T);
    for (int k = 2; k < 5; k++) assert_int_equal(filled[k], (size_t)T);
    for (int i = 0; i < B * T; i++) {
        b->values[i] = b->targets[i] >= 0 ? (real)b->targets[i] : 0;
        b->weights[i] = b->targets[i] >= 0;
    }
    csv_table_free(&t);
}

static void check_fixture(const char *name) {
    char dir[256], path[300], err[1024];
    snprintf(dir, sizeof dir, "tests/fixtures/parity_%s", name);
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    checkpoint_info info;
    model m;
    if (checkpoint_load(path, &info, &m, err, sizeof err)) fail_msg("%s", err);
    batch b;
    read_batch(dir, &b);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    params_zero_grad(&m.ps);
    tensor *out = model_forward(&m, &g, &b, 0);
    tensor *loss = model_loss(&m, &g, &b, out);
    double L = loss->data[0];
    graph_backward(&g, loss);
    snprintf(path, sizeof path, "%s/expected.csv", dir);
    csv_table t;
    if (csv_read(path, &t, err, sizeof err)) fail_msg("%s", err);
    size_t checked = 0;
    for (int row = 0; row < t.n_rows; row++) {
        const char *pname = t.rows[row][0];
        long idx = strtol(t.rows[row][1], NULL, 10);
        double expect = strtod(t.rows[row][2], NULL), got;
        if (strcmp(pname, "loss") == 0) {
            got = L;
        } else if (strcmp(pname, "logits") == 0) {
            assert_true(idx >= 0 && (size_t)idx < out->n);
            got = out->data[idx];
        } else {
            const param_entry *e = params_find(&m.ps, pname);
            if (!e) fail_msg("%s: no parameter '%s'", name, pname);
            assert_true(idx >= 0 && (size_t)idx < e->t->n);
            got = e->t->grad[idx];
        }
        double rel = fabs(got - expect) / fmax(fabs(expect), 1e-3);
        if (!(rel <= PARITY_TOL))
            fail_msg("%s: %s[%ld]: posprobe %.12g, PyTorch %.12g (relative error %.3g)", name, pname, idx, got, expect, rel);
        checked++;
    }
    assert_int_equal(checked, 1 + out->n + m.ps.n);   /* the loss, every logit, every gradient */
    csv_table_free(&t);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
}

/* Every registered encoding and every normalizer has its fixture. */
static void test_parity_covers_catalogue(void **state) {
    (void)state;
    char dir[128];
    for (int i = 0; encoding_at(i); i++) {
        snprintf(dir, sizeof dir, "tests/fixtures/parity_%s/expected.csv", encoding_at(i)->name);
        for (char *c = dir; *c; c++) if (*c == '-') *c = '_';
        FILE *f = fopen(dir, "r");
        if (!f) fail_msg("encoding '%s' has no parity fixture (%s)", encoding_at(i)->name, dir);
        fclose(f);
    }
    for (int k = 0; k < NORM_COUNT; k++) {
        snprintf(dir, sizeof dir, "tests/fixtures/parity_norm_%s/expected.csv", attn_norm_name((attn_norm)k));
        FILE *f = fopen(dir, "r");
        if (!f) fail_msg("normalizer '%s' has no parity fixture (%s)", attn_norm_name((attn_norm)k), dir);
        fclose(f);
    }
}

/* One test per fixture: tests/fixtures/parity_<name> (Makefile: PARITY_RUNS); written out so
 * that CLAIMS.md can name them. */
static void test_parity_none(void **state) { (void)state; check_fixture("none"); }
static void test_parity_learned(void **state) { (void)state; check_fixture("learned"); }
static void test_parity_sinusoidal(void **state) { (void)state; check_fixture("sinusoidal"); }
static void test_parity_multiplicative(void **state) { (void)state; check_fixture("multiplicative"); }
static void test_parity_multiplicative_sin(void **state) { (void)state; check_fixture("multiplicative_sin"); }
static void test_parity_recursive(void **state) { (void)state; check_fixture("recursive"); }
static void test_parity_complex(void **state) { (void)state; check_fixture("complex"); }
static void test_parity_conv(void **state) { (void)state; check_fixture("conv"); }
static void test_parity_conv_bidir(void **state) { (void)state; check_fixture("conv_bidir"); }
static void test_parity_conv_circular(void **state) { (void)state; check_fixture("conv_circular"); }
static void test_parity_shaw(void **state) { (void)state; check_fixture("shaw"); }
static void test_parity_shaw_k(void **state) { (void)state; check_fixture("shaw_k"); }
static void test_parity_xl(void **state) { (void)state; check_fixture("xl"); }
static void test_parity_t5(void **state) { (void)state; check_fixture("t5"); }
static void test_parity_t5_causal(void **state) { (void)state; check_fixture("t5_causal"); }
static void test_parity_deberta(void **state) { (void)state; check_fixture("deberta"); }
static void test_parity_tupe(void **state) { (void)state; check_fixture("tupe"); }
static void test_parity_alibi(void **state) { (void)state; check_fixture("alibi"); }
static void test_parity_alibi_bidir(void **state) { (void)state; check_fixture("alibi_bidir"); }
static void test_parity_alibi_asym(void **state) { (void)state; check_fixture("alibi_asym"); }
static void test_parity_kerple_log(void **state) { (void)state; check_fixture("kerple_log"); }
static void test_parity_kerple_power(void **state) { (void)state; check_fixture("kerple_power"); }
static void test_parity_sandwich(void **state) { (void)state; check_fixture("sandwich"); }
static void test_parity_fire(void **state) { (void)state; check_fixture("fire"); }
static void test_parity_fire_bidir(void **state) { (void)state; check_fixture("fire_bidir"); }
static void test_parity_cope(void **state) { (void)state; check_fixture("cope"); }
static void test_parity_rope(void **state) { (void)state; check_fixture("rope"); }
static void test_parity_rope_partial(void **state) { (void)state; check_fixture("rope_partial"); }
static void test_parity_rope_v(void **state) { (void)state; check_fixture("rope_v"); }
static void test_parity_rope_power2(void **state) { (void)state; check_fixture("rope_power2"); }
static void test_parity_sinusoidal_constant(void **state) { (void)state; check_fixture("sinusoidal_constant"); }
static void test_parity_rope2d(void **state) { (void)state; check_fixture("rope2d"); }
static void test_parity_xpos(void **state) { (void)state; check_fixture("xpos"); }
static void test_parity_urpe(void **state) { (void)state; check_fixture("urpe"); }
static void test_parity_norm_softmax(void **state) { (void)state; check_fixture("norm_softmax"); }
static void test_parity_norm_l2(void **state) { (void)state; check_fixture("norm_l2"); }
static void test_parity_norm_nodenom(void **state) { (void)state; check_fixture("norm_nodenom"); }
static void test_parity_norm_relu2n(void **state) { (void)state; check_fixture("norm_relu2n"); }
static void test_parity_norm_swishl2(void **state) { (void)state; check_fixture("norm_swishl2"); }
static void test_parity_norm_logscaled(void **state) { (void)state; check_fixture("norm_logscaled"); }
static void test_parity_norm_linear(void **state) { (void)state; check_fixture("norm_linear"); }
static void test_parity_norm_linear_num(void **state) { (void)state; check_fixture("norm_linear-num"); }
static void test_parity_norm_cos1(void **state) { (void)state; check_fixture("norm_cos1"); }
static void test_parity_regression(void **state) { (void)state; check_fixture("regression"); }

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_parity_covers_catalogue),
    cmocka_unit_test(test_parity_none),
    cmocka_unit_test(test_parity_learned),
    cmocka_unit_test(test_parity_sinusoidal),
    cmocka_unit_test(test_parity_multiplicative),
    cmocka_unit_test(test_parity_multiplicative_sin),
    cmocka_unit_test(test_parity_recursive),
    cmocka_unit_test(test_parity_complex),
    cmocka_unit_test(test_parity_conv),
    cmocka_unit_test(test_parity_conv_bidir),
    cmocka_unit_test(test_parity_conv_circular),
    cmocka_unit_test(test_parity_shaw),
    cmocka_unit_test(test_parity_shaw_k),
    cmocka_unit_test(test_parity_xl),
    cmocka_unit_test(test_parity_t5),
    cmocka_unit_test(test_parity_t5_causal),
    cmocka_unit_test(test_parity_deberta),
    cmocka_unit_test(test_parity_tupe),
    cmocka_unit_test(test_parity_alibi),
    cmocka_unit_test(test_parity_alibi_bidir),
    cmocka_unit_test(test_parity_alibi_asym),
    cmocka_unit_test(test_parity_kerple_log),
    cmocka_unit_test(test_parity_kerple_power),
    cmocka_unit_test(test_parity_sandwich),
    cmocka_unit_test(test_parity_fire),
    cmocka_unit_test(test_parity_fire_bidir),
    cmocka_unit_test(test_parity_cope),
    cmocka_unit_test(test_parity_rope),
    cmocka_unit_test(test_parity_rope_partial),
    cmocka_unit_test(test_parity_rope_v),
    cmocka_unit_test(test_parity_rope_power2),
    cmocka_unit_test(test_parity_sinusoidal_constant),
    cmocka_unit_test(test_parity_rope2d),
    cmocka_unit_test(test_parity_xpos),
    cmocka_unit_test(test_parity_urpe),
    cmocka_unit_test(test_parity_norm_softmax),
    cmocka_unit_test(test_parity_norm_l2),
    cmocka_unit_test(test_parity_norm_nodenom),
    cmocka_unit_test(test_parity_norm_relu2n),
    cmocka_unit_test(test_parity_norm_swishl2),
    cmocka_unit_test(test_parity_norm_logscaled),
    cmocka_unit_test(test_parity_norm_linear),
    cmocka_unit_test(test_parity_norm_linear_num),
    cmocka_unit_test(test_parity_norm_cos1),
    cmocka_unit_test(test_parity_regression),
};
const test_group test_group_parity = {"parity", TESTS, sizeof TESTS / sizeof *TESTS};
