/* copy: x -> x, x uniform over --vocab. */
#include "task.h"

static int copy_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int same_len(const task_info *ti, int n) { (void)ti; return n; }

static void copy_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    for (int i = 0; i < n; i++) in[i] = out[i] = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
}

const task_def task_copy = {
    .name = "copy",
    .summary = "x -> x",
    .n_means = "input tokens (the answer has n tokens too)",
    .shape = TASK_SEQ2SEQ,
    .setup = copy_setup,
    .answer_len = same_len,
    .example = copy_example,
};
