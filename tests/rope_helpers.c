/* Test helpers for the rotary encodings (rope_helpers.h). */
#include "rope_helpers.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"

/* R (D, D) with R[:, c] = rotary(e_c) at coordinates (x, y). */
void rotation_matrix(rope_state *s, int D, int x, int y, double *R) {
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    tensor *e = tensor_new3(&g, D, 1, D, 0);
    memset(e->data, 0, e->n * sizeof(real));
    for (int c = 0; c < D; c++) e->data[(size_t)c * D + c] = 1;
    int cx[1] = {x}, cy[1] = {y};
    tensor *out = rope_apply(s, &g, e, cx, cy, 0);
    for (int c = 0; c < D; c++)
        for (int r = 0; r < D; r++) R[r * D + c] = out->data[(size_t)c * D + r];
    arena_free(&ar);
}

rope_state *new_rope(int D, int two_d) {
    run_config c;
    config_defaults(&c);
    enc_dims d = {D, 1, D, 1, 4, 64, MASK_BIDIR, model_enc_options(&c), 0};
    param_store ps;
    params_init(&ps);
    rope_state *s = rope_state_new(&ps, &d, D / 2, two_d ? D / 4 : D / 2, 0);
    params_free(&ps);
    if (two_d) {
        s->which = calloc((size_t)D / 2, 1);
        for (int k = D / 4; k < D / 2; k++) s->which[k] = 1;
    }
    return s;
}

