/* reverse: x -> x reversed, x uniform over --vocab. */
#include "task.h"

static int reverse_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int same_len(const task_info *ti, int n) { (void)ti; return n; }

static void reverse_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    for (int i = 0; i < n; i++) in[i] = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
    for (int i = 0; i < n; i++) out[i] = in[n - 1 - i];
}

const task_def task_reverse = {
    .name = "reverse",
    .summary = "x -> x reversed",
    .n_means = "input tokens (the answer has n tokens too)",
    .shape = TASK_SEQ2SEQ,
    .setup = reverse_setup,
    .answer_len = same_len,
    .example = reverse_example,
};
