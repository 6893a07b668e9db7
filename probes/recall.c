/* recall, associative recall: n key-value pairs then a query key -> its
 * value. Keys are distinct, from an alphabet of max(n_max, --vocab) tokens;
 * values from --vocab tokens that follow them. Input: k1 v1 ... kn vn q. */
#include <stdio.h>
#include <stdlib.h>

#include "task.h"

static int n_keys(const task_info *ti) { return ti->max_n > ti->alphabet ? ti->max_n : ti->alphabet; }

static int recall_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = n_keys(ti) + ti->alphabet;
    ti->classes = ti->vocab;   /* the answer is a value token */
    return 0;
}

/* n pairs need n distinct keys: a model built for shorter lengths has fewer */
static int recall_check(const task_info *ti, int n, char *err, size_t errlen) {
    if (n <= n_keys(ti)) return 0;
    snprintf(err, errlen, "recall: %d key-value pairs need %d distinct keys, but this model has %d (its longest length "
             "and --vocab when it was built)", n, n, n_keys(ti));
    return -1;
}

static int recall_input(const task_info *ti, int n) { (void)ti; return 2 * n + 1; }
static int one(const task_info *ti, int n) { (void)ti; (void)n; return 1; }

static void recall_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)x; (void)y;
    int K = n_keys(ti);
    /* distinct keys, by rejection (n <= K) */
    for (int i = 0; i < n; i++) {
        int key;
        do {
            key = (int)gsl_rng_uniform_int(r, (unsigned long)K);
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= in[2 * j] == key;
            if (!dup) break;
        } while (1);
        in[2 * i] = key;
        in[2 * i + 1] = K + (int)gsl_rng_uniform_int(r, (unsigned long)ti->alphabet);
    }
    int q = (int)gsl_rng_uniform_int(r, (unsigned long)n);
    in[2 * n] = in[2 * q];
    out[0] = in[2 * q + 1];
}

const task_def task_recall = {
    .name = "recall",
    .summary = "n key-value pairs, then a key -> its value (associative recall)",
    .n_means = "key-value pairs (the input has 2n + 1 tokens)",
    .shape = TASK_SEQ2SEQ,
    .setup = recall_setup,
    .check_len = recall_check,
    .input_len = recall_input,
    .answer_len = one,
    .example = recall_example,
};
