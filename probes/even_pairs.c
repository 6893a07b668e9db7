/* even_pairs (Deletang et al. 2023): a string over {a, b} -> 1 if the number
 * of ab and ba pairs is even, i.e. if the first and last tokens are equal. */
#include "task.h"

static int pairs_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = 2;
    ti->classes = 2;
    return 0;
}

static int one(const task_info *ti, int n) { (void)ti; (void)n; return 1; }

static void even_pairs_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)ti; (void)x; (void)y;
    int changes = 0;
    for (int i = 0; i < n; i++) {
        in[i] = (int)gsl_rng_uniform_int(r, 2);
        if (i > 0 && in[i] != in[i - 1]) changes++;
    }
    out[0] = changes % 2 == 0;
}

const task_def task_even_pairs = {
    .name = "even_pairs",
    .summary = "a string over {a, b} -> whether the count of ab and ba pairs is even",
    .n_means = "tokens",
    .shape = TASK_SEQ2SEQ,
    .setup = pairs_setup,
    .answer_len = one,
    .example = even_pairs_example,
};
