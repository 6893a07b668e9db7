/* Article 9105's probe: n identical tokens -> the class k at position k. */
#include <stdio.h>

#include "task.h"

static int probe_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = 1;                    /* the single token "0" */
    ti->classes = ti->max_n + 1;      /* classes 1..max_n; 0 is never a target */
    return 0;
}

static int probe_check_len(const task_info *ti, int n, char *err, size_t errlen) {
    if (n > ti->max_n) {
        snprintf(err, errlen, "probe length %d exceeds the model's %d position classes (train with a larger --eval-lens)",
                 n, ti->max_n);
        return -1;
    }
    return 0;
}

static void probe_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)ti; (void)r; (void)x; (void)y;
    for (int k = 0; k < n; k++) {
        in[k] = 0;
        out[k] = k + 1;
    }
}

const task_def task_probe = {
    .name = "probe",
    .summary = "article 9105: n identical tokens -> position k at token k (needs position information)",
    .n_means = "number of identical tokens",
    .shape = TASK_ALIGNED,
    .flags = TASK_REGRESSION,
    .setup = probe_setup,
    .check_len = probe_check_len,
    .example = probe_example,
};
