/* missing_duplicate (Deletang et al. 2023): a string w followed by w again
 * with one token replaced by a blank -> the blanked token. n is the length of
 * w (the input has 2n tokens); the blank is token V = --vocab. */
#include "task.h"

static int md_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->classes = ti->alphabet;
    ti->vocab = ti->alphabet + 1;
    return 0;
}

static int md_input(const task_info *ti, int n) { (void)ti; return 2 * n; }

static int one(const task_info *ti, int n) { (void)ti; (void)n; return 1; }

static void md_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int h = n, blank = ti->vocab - 1;
    for (int i = 0; i < h; i++) in[i] = in[h + i] = (int)gsl_rng_uniform_int(r, (unsigned long)ti->classes);
    int k = h + (int)gsl_rng_uniform_int(r, (unsigned long)h);
    out[0] = in[k];
    in[k] = blank;
}

const task_def task_missing_duplicate = {
    .name = "missing_duplicate",
    .summary = "w w' with one token of w' blanked -> the blanked token",
    .n_means = "length of w (the input has 2n tokens)",
    .shape = TASK_SEQ2SEQ,
    .setup = md_setup,
    .input_len = md_input,
    .answer_len = one,
    .example = md_example,
};
