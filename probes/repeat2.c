/* repeat2: n copies of token a -> n copies of token b = (a + 1) mod V: the
 * answer's content is fixed by the input, its length must be counted. */
#include "task.h"

static int repeat2_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int same_len(const task_info *ti, int n) { (void)ti; return n; }

static void repeat2_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int a = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
    for (int i = 0; i < n; i++) {
        in[i] = a;
        out[i] = (a + 1) % ti->vocab;
    }
}

const task_def task_repeat2 = {
    .name = "repeat2",
    .summary = "n copies of token a -> n copies of token b = (a + 1) mod vocab",
    .n_means = "input tokens (the answer has n tokens too)",
    .shape = TASK_SEQ2SEQ,
    .flags = TASK_CONTROL_ENCODER,
    .setup = repeat2_setup,
    .answer_len = same_len,
    .example = repeat2_example,
};
