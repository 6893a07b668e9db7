/* One cmocka run over every test group, so the run ends with one summary line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const test_group *const GROUPS[] = {
    &test_group_engine,
    &test_group_ops,
    &test_group_attention,
    &test_group_model,
    &test_group_encodings,
    &test_group_cli,
    &test_group_parity,
};

int main(void) {
    size_t n = 0;
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++) n += GROUPS[g]->count;
    struct CMUnitTest *all = malloc(n * sizeof *all);
    size_t k = 0;
    for (size_t g = 0; g < sizeof GROUPS / sizeof *GROUPS; g++) {
        memcpy(all + k, GROUPS[g]->tests, GROUPS[g]->count * sizeof *all);
        k += GROUPS[g]->count;
    }
    printf("posprobe tests, " REAL_NAME " build, BLAS " POSPROBE_BLAS_NAME "\n");
    int failed = _cmocka_run_group_tests("posprobe-" REAL_NAME, all, n, NULL, NULL);
    free(all);
    return failed ? 1 : 0;
}
