/* One cmocka run over every test group, so the run ends with one summary line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Three sets, three binaries (Makefile): the engine's tests alone, linked
 * with nothing above the engine; the unit tests, which call the code in
 * process and need no posprobe binary; and all of them, the integration tests
 * that run the posprobe command, scripts and Python included. */
#define ENGINE_GROUPS &test_group_engine, &test_group_ops, &test_group_attention
#define UNIT_GROUPS ENGINE_GROUPS, &test_group_model, &test_group_encodings, &test_group_identities, \
    &test_group_tasks, &test_group_fuzz, &test_group_parity, &test_group_decode, &test_group_summarize, \
    &test_group_decode_cache, &test_group_known_values
#if defined(TESTS_ENGINE)
#define TEST_SET "engine tests"
static const test_group *const GROUPS[] = {ENGINE_GROUPS};
#elif defined(TESTS_UNIT)
#define TEST_SET "unit tests"
static const test_group *const GROUPS[] = {UNIT_GROUPS};
#else
#define TEST_SET "tests"
static const test_group *const GROUPS[] = {UNIT_GROUPS, &test_group_cli, &test_group_integrity, &test_group_inputs};
#endif

/* Whether a test's name contains one of the SUBSTRINGs (every test when there are none). */
static int selected(const char *name, int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return argc < 2;
}

/* run_tests|unit_tests|engine_tests [SUBSTRING...]: only the tests whose name contains one of the SUBSTRINGs. */
int main(int argc, char **argv) {
    size_t n = 0;
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++) n += GROUPS[g]->count;
    struct CMUnitTest *all = malloc(n * sizeof *all);
    size_t k = 0;
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++)
        for (size_t i = 0; i < GROUPS[g]->count; i++)
            if (selected(GROUPS[g]->tests[i].name, argc, argv)) all[k++] = GROUPS[g]->tests[i];
    n = k;
    graph_poison_unset_grads(1);   /* a forgotten zeroing shows up as NaN (engine.h) */
    printf("posprobe " TEST_SET ", " REAL_NAME " build, BLAS " POSPROBE_BLAS_NAME "\n");
    int failed = _cmocka_run_group_tests("posprobe-" REAL_NAME, all, n, NULL, NULL);
    free(all);
    return failed ? 1 : 0;
}
