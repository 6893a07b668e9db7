/* 2-D probe: an h x w grid of identical tokens -> (row, column) at every
 * cell, scored as one class row * w + column (both must be right). n counts
 * rows; the width is --grid-w. Tokens are laid out row-major and reach the
 * encoding as (row, column) pairs; 1-D encodings see the row-major index. */
#include <stdio.h>

#include "task.h"

#define PROBE2D_MAX_CELLS 4096

static int probe2d_setup(task_info *ti, char *err, size_t errlen) {
    if (ti->grid_w < 1) { snprintf(err, errlen, "probe2d: --grid-w must be at least 1"); return -1; }
    if ((long)ti->max_n * ti->grid_w > PROBE2D_MAX_CELLS) {
        snprintf(err, errlen, "probe2d: a %d x %d grid exceeds the maximum of %d cells", ti->max_n, ti->grid_w, PROBE2D_MAX_CELLS);
        return -1;
    }
    ti->vocab = 1;
    ti->classes = ti->max_n * ti->grid_w;
    return 0;
}

static int probe2d_check(const task_info *ti, int n, char *err, size_t errlen) {
    if (n > ti->max_n) { snprintf(err, errlen, "probe2d: %d rows exceed the model's %d", n, ti->max_n); return -1; }
    return 0;
}

static int probe2d_len(const task_info *ti, int n) { return n * ti->grid_w; }

static void probe2d_example(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y) {
    (void)r;
    int w = ti->grid_w;
    for (int row = 0; row < n; row++)
        for (int col = 0; col < w; col++) {
            int k = row * w + col;
            in[k] = 0;
            out[k] = row * w + col;
            x[k] = row;
            y[k] = col;
        }
}

const task_def task_probe2d = {
    .name = "probe2d",
    .summary = "2-D probe: an n x grid-w grid of identical tokens -> (row, column) at every cell",
    .n_means = "grid rows (the sequence has n * grid-w tokens)",
    .shape = TASK_ALIGNED,
    .flags = TASK_2D,
    .setup = probe2d_setup,
    .check_len = probe2d_check,
    .input_len = probe2d_len,
    .example = probe2d_example,
};
