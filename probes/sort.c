/* sort: x over a small alphabet (--vocab) -> x sorted ascending. */
#include "task.h"

static int sort_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = ti->alphabet;
    ti->classes = ti->vocab;
    return 0;
}

static int same_len(const task_info *ti, int n) { (void)ti; return n; }

static void sort_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int k = 0;
    for (int i = 0; i < n; i++) in[i] = (int)gsl_rng_uniform_int(r, (unsigned long)ti->vocab);
    for (int v = 0; v < ti->vocab; v++)          /* counting sort */
        for (int i = 0; i < n; i++)
            if (in[i] == v) out[k++] = v;
}

const task_def task_sort = {
    .name = "sort",
    .summary = "x over a small alphabet -> x sorted",
    .n_means = "input tokens (the answer has n tokens too)",
    .shape = TASK_SEQ2SEQ,
    .setup = sort_setup,
    .answer_len = same_len,
    .example = sort_example,
};
