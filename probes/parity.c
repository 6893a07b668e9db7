/* parity: a bit string -> 1 if it holds an odd number of ones, else 0. */
#include "task.h"

static int bits_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = 2;
    ti->classes = 2;
    return 0;
}

static int one(const task_info *ti, int n) { (void)ti; (void)n; return 1; }

static void parity_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)ti; (void)x; (void)y;
    int p = 0;
    for (int i = 0; i < n; i++) p ^= in[i] = (int)gsl_rng_uniform_int(r, 2);
    out[0] = p;
}

const task_def task_parity = {
    .name = "parity",
    .summary = "a bit string -> its parity (odd number of ones)",
    .n_means = "bits",
    .shape = TASK_SEQ2SEQ,
    .flags = TASK_CONTROL_ENCODER | TASK_CONTROL_DECODER,
    .setup = bits_setup,
    .answer_len = one,
    .example = parity_example,
};
