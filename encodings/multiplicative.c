/* Multiplicative absolute positions (8130 (d)): x_k (.) p_k, p learned
 * (starting at 1 + noise) or sinusoidal (--mult-pos). Positions must stay
 * below --max-pos. */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "encoding.h"

typedef struct {
    tensor *table;     /* (max_pos, C) learned, or NULL */
    int C, sinusoidal;
    double base, init_scale;
    rope_schedule sched;
} mult_state;

static void *mult_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    mult_state *s = xcalloc(1, sizeof *s);
    s->C = d->C;
    s->base = d->opt.rope_base;
    s->sched = d->opt.rope_schedule;
    s->init_scale = d->opt.init_scale;
    s->sinusoidal = d->opt.mult_sinusoidal;
    if (!s->sinusoidal)
        s->table = params_declare(ps, "enc.pos_mult", 2, (int[]){d->max_pos, d->C}, INIT_CUSTOM, 0, 0);
    return s;
}

static void mult_init(void *st, gsl_rng *r) {
    mult_state *s = st;
    if (s->table)
        for (size_t i = 0; i < s->table->n; i++) s->table->data[i] = (real)(1 + gsl_ran_gaussian(r, s->init_scale));
}

static tensor *mult_embed(void *st, graph *g, tensor *x, const positions *pos) {
    mult_state *s = st;
    int Tq = pos->Tq;
    const int *qp = pos->p + pos->q0;                                    /* (Tq) the query rows' positions */
    tensor *p;
    if (s->table) {
        p = op_embedding(g, s->table, qp, Tq);                           /* (Tq, C) */
    } else {
        p = tensor_new2(g, Tq, s->C, 0);
        for (int t = 0; t < Tq; t++) sinusoid_fill(p->data + (size_t)t * s->C, s->C, qp[t], s->base, s->sched);
    }
    return op_mul(g, x, p);                                              /* (B, Tq, C) (.) (Tq, C) */
}

const encoding_def enc_multiplicative = {
    .name = "multiplicative",
    .options = "mult-pos rope-base rope-schedule",
    .summary = "absolute positions multiplied into the input, x (.) p (--mult-pos learned|sinusoidal)",
    .where = ENC_AT_INPUT,
    .flags = ENC_TABLE,
    .create = mult_create,
    .init = mult_init,
    .embed = mult_embed,
    .destroy = free,
};
