/* Offset: identical tokens with one anchor at a random place -> at each
 * position its signed distance to the anchor, i - a (class i - a + n_max - 1).
 * Relative encodings should solve it; NoPE cannot. */
#include <stdio.h>

#include "task.h"

static int offset_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = 2;                      /* 0 filler, 1 anchor */
    ti->classes = 2 * ti->max_n - 1;
    return 0;
}

static int offset_check(const task_info *ti, int n, char *err, size_t errlen) {
    if (n > ti->max_n) { snprintf(err, errlen, "offset: length %d exceeds the model's %d", n, ti->max_n); return -1; }
    return 0;
}

static void offset_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int a = (int)gsl_rng_uniform_int(r, (unsigned long)n);
    for (int i = 0; i < n; i++) {
        in[i] = i == a;
        out[i] = i - a + ti->max_n - 1;
    }
}

const task_def task_offset = {
    .name = "offset",
    .summary = "one anchor among identical tokens -> signed distance i - a to the anchor at every position",
    .n_means = "number of tokens (one of them the anchor)",
    .shape = TASK_ALIGNED,
    .setup = offset_setup,
    .check_len = offset_check,
    .example = offset_example,
};
