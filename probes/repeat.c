/* repeat: n copies of one token -> the same n tokens (Ruoss et al.'s probe of
 * counting without content). Alphabet --vocab. */
#include "task.h"

static int repeat_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int same_len(const task_info *ti, int n) { (void)ti; return n; }

static void repeat_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int a = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
    for (int i = 0; i < n; i++) in[i] = out[i] = a;
}

const task_def task_repeat = {
    .name = "repeat",
    .summary = "n copies of one token -> the same n tokens",
    .n_means = "input tokens (the answer has n tokens too)",
    .shape = TASK_SEQ2SEQ,
    .flags = TASK_CONTROL_ENCODER,
    .setup = repeat_setup,
    .answer_len = same_len,
    .example = repeat_example,
};
