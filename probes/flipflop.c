/* flipflop (Liu et al. 2023): n instructions as (op, bit) token pairs, op one
 * of write / ignore, the first always a write, then a read -> the last
 * written bit. Tokens: 0, 1 bits; 2 write, 3 ignore, 4 read. */
#include "task.h"

enum { FF_WRITE = 2, FF_IGNORE = 3, FF_READ = 4 };

static int ff_setup(task_info *ti, char *err, size_t errlen) {
    (void)err; (void)errlen;
    ti->vocab = 5;
    ti->classes = 2;
    return 0;
}

static int ff_input(const task_info *ti, int n) { (void)ti; return 2 * n + 1; }
static int one(const task_info *ti, int n) { (void)ti; (void)n; return 1; }

static void ff_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)ti; (void)x; (void)y;
    int last = 0;
    for (int i = 0; i < n; i++) {
        int op = i == 0 || gsl_rng_uniform(r) < 0.5 ? FF_WRITE : FF_IGNORE;
        int bit = (int)gsl_rng_uniform_int(r, 2);
        in[2 * i] = op;
        in[2 * i + 1] = bit;
        if (op == FF_WRITE) last = bit;
    }
    in[2 * n] = FF_READ;
    out[0] = last;
}

const task_def task_flipflop = {
    .name = "flipflop",
    .summary = "write/ignore instructions with bits, then read -> the last written bit",
    .n_means = "instructions before the read (the input has 2n + 1 tokens)",
    .shape = TASK_SEQ2SEQ,
    .setup = ff_setup,
    .input_len = ff_input,
    .answer_len = one,
    .example = ff_example,
};
