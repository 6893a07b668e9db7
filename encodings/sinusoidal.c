/* Sinusoidal absolute positions (Attention is All You Need; 8130 (b)):
 * p_{k,2i} = sin(k / base^(2i/C)), p_{k,2i+1} = cos(k / base^(2i/C)), times
 * a scale. The table's coordinates have RMS 1/sqrt 2 while token embeddings
 * start at init-scale (0.02): added unscaled, the position drowns the token
 * after the first layer norm and a decoder could not even copy one token
 * (measured: copy at length 1 stayed at chance). Vaswani et al. balance the
 * two by scaling the embeddings by sqrt(d); we scale the table instead, by
 * default to the embeddings' own scale, init-scale * sqrt 2 (--sin-scale). */
#include <math.h>

#include <stdlib.h>

#include "encoding.h"

void sinusoid_fill(real *dst, int C, double k, double base, rope_schedule sched) {
    for (int i = 0; i < C / 2; i++) {
        double w = rope_schedule_theta(sched, 2.0 * i / C, base);
        dst[2 * i] = (real)sin(k * w);
        dst[2 * i + 1] = (real)cos(k * w);
    }
    if (C % 2) dst[C - 1] = (real)sin(k * rope_schedule_theta(sched, 1.0 * (C - 1) / C, base));
}

typedef struct {
    int C;
    double base, scale;
    rope_schedule sched;
} sinusoidal_state;

static void *sinusoidal_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)ps; (void)err; (void)errlen;
    sinusoidal_state *s = xcalloc(1, sizeof *s);
    s->C = d->C;
    s->base = d->opt.rope_base;
    s->sched = d->opt.rope_schedule;
    s->scale = d->opt.sin_scale > 0 ? d->opt.sin_scale : d->opt.init_scale * sqrt(2.0);
    return s;
}

static tensor *sinusoidal_embed(void *st, graph *g, tensor *x, const positions *pos) {
    sinusoidal_state *s = st;
    int Tq = pos->Tq;
    tensor *p = tensor_new2(g, Tq, s->C, 0);                             /* (Tq, C), no gradient */
    for (int t = 0; t < Tq; t++) sinusoid_fill(p->data + (size_t)t * s->C, s->C, pos->p[pos->q0 + t], s->base, s->sched);
    for (size_t i = 0; i < p->n; i++) p->data[i] *= (real)s->scale;
    return op_add(g, x, p);
}

const encoding_def enc_sinusoidal = {
    .name = "sinusoidal",
    .options = "rope-base rope-schedule sin-scale",
    .summary = "fixed sin/cos absolute positions added to the input (--rope-base, --rope-schedule)",
    .where = ENC_AT_INPUT,
    .create = sinusoidal_create,
    .embed = sinusoidal_embed,
    .destroy = free,
};
