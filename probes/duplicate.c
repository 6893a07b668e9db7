/* duplicate: x -> x x, x uniform over --vocab. */
#include "task.h"

static int duplicate_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int twice(const task_info *ti, int n) { (void)ti; return 2 * n; }

static void duplicate_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    for (int i = 0; i < n; i++) in[i] = out[i] = out[n + i] = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
}

const task_def task_duplicate = {
    .name = "duplicate",
    .summary = "x -> x x",
    .n_means = "input tokens (the answer has 2n)",
    .shape = TASK_SEQ2SEQ,
    .setup = duplicate_setup,
    .answer_len = twice,
    .example = duplicate_example,
};
