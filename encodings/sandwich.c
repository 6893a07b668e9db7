/* Sandwich (Chi et al. 2023, "Dissecting Transformer Length Extrapolation via
 * the Lens of Receptive Field Analysis"), as we read it: the inner product of
 * sinusoidal embeddings of dimension dbar = 128 used as a bias, with the
 * offset compressed per head (ratio r_h = 8h/H, echoing ALiBi's slopes) and
 * shifted so the bias is 0 at distance 0:
 *   b_h(i, j) = sum_{k < dbar/2} cos((i - j) / (r_h base^(2k/dbar))) - dbar/2.
 * No parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "curves.h"
#include "encoding.h"

#define SANDWICH_DIM 128

typedef struct {
    int H;
    double base;
} sandwich_state;

double sandwich_bias(int offset, int head, int H, double base) {
    double r = 8.0 * (head + 1) / H, s = 0;
    for (int k = 0; k < SANDWICH_DIM / 2; k++) s += cos(offset / (r * pow(base, 2.0 * k / SANDWICH_DIM)));
    return s - SANDWICH_DIM / 2;
}

static void *sandwich_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)ps;
    if (d->opt.rope_schedule != ROPE_SCHEDULE_GEOMETRIC) {   /* its own compressed ladder: base^-t only */
        snprintf(err, errlen, "sandwich uses the geometric frequency schedule only (--rope-schedule %s)",
                 rope_schedule_name(d->opt.rope_schedule));
        return NULL;
    }
    sandwich_state *s = xcalloc(1, sizeof *s);
    s->H = d->H;
    s->base = d->opt.rope_base;
    return s;
}

static tensor *sandwich_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    sandwich_state *s = st;
    (void)layer; (void)q; (void)k;
    int Tq = pos->Tq, S = pos->T;
    tensor *b = tensor_new3(g, s->H, Tq, S, 0);                    /* (H, Tq, S) */
    for (int h = 0; h < s->H; h++)
        for (int i = 0; i < Tq; i++)
            for (int j = 0; j < S; j++)
                b->data[((size_t)h * Tq + i) * S + j] = (real)sandwich_bias(pos->p[pos->q0 + i] - pos->p[j], h, s->H, s->base);
    return b;
}

const encoding_def enc_sandwich = {
    .name = "sandwich",
    .options = "rope-base rope-schedule",
    .summary = "Sandwich: sinusoidal inner product of the compressed offset as a fixed bias per head",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_SYMMETRIC,
    .create = sandwich_create,
    .scores = sandwich_scores,
    .destroy = free,
};
