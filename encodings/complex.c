/* Complex-order embedding (Wang et al. 2020; 8130 (j)) in real form: token
 * j at position k becomes, per complex dimension l,
 *   (r_jl cos(w_jl k + th_jl), r_jl sin(w_jl k + th_jl)),
 * with per-token amplitude r, frequency w and phase th. It replaces the token
 * embedding (position lives in the word vector itself). */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "encoding.h"

typedef struct {
    tensor *amp, *freq, *phase;   /* (V, C/2) each */
    int C;
    double base;
    rope_schedule sched;
} complex_state;

/* saved: nothing; recomputes angles in backward. iarg: T */
static void complex_backward(node *nd) {
    tensor *amp = nd->in[0], *freq = nd->in[1], *phase = nd->in[2], *out = nd->out;
    int N = out->shape[0], C = out->shape[1], Lc = C / 2, T = nd->iarg[0];
    const int *tok = nd->ids, *pos = nd->saved;
    for (int n = 0; n < N; n++) {
        double k = pos[n % T];
        for (int l = 0; l < Lc; l++) {
            size_t w = (size_t)tok[n] * Lc + l;
            double a = freq->data[w] * k + phase->data[w], r = amp->data[w];
            double g0 = out->grad[(size_t)n * C + 2 * l], g1 = out->grad[(size_t)n * C + 2 * l + 1];
            double dr = g0 * cos(a) + g1 * sin(a), da = r * (-g0 * sin(a) + g1 * cos(a));
            if (amp->grad) amp->grad[w] += (real)dr;
            if (freq->grad) freq->grad[w] += (real)(da * k);
            if (phase->grad) phase->grad[w] += (real)da;
        }
    }
}

static void *complex_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    complex_state *s = xcalloc(1, sizeof *s);
    s->C = d->C;
    s->base = d->opt.rope_base;
    s->sched = d->opt.rope_schedule;
    int Lc = d->C / 2;
    s->amp = params_declare(ps, "enc.amplitude", 2, (int[]){d->V, Lc}, INIT_NORMAL, 1.0, 0);
    s->freq = params_declare(ps, "enc.frequency", 2, (int[]){d->V, Lc}, INIT_CUSTOM, 0, 0);
    s->phase = params_declare(ps, "enc.phase", 2, (int[]){d->V, Lc}, INIT_CUSTOM, 0, 0);
    return s;
}

/* Frequencies start on the sinusoidal ladder, phases uniform on (-pi, pi). */
static void complex_init(void *st, gsl_rng *r) {
    complex_state *s = st;
    int V = s->amp->shape[0], Lc = s->C / 2;
    for (int v = 0; v < V; v++)
        for (int l = 0; l < Lc; l++) {
            s->freq->data[(size_t)v * Lc + l] = (real)rope_schedule_theta(s->sched, 2.0 * l / s->C, s->base);
            s->phase->data[(size_t)v * Lc + l] = (real)(M_PI * (2 * gsl_rng_uniform(r) - 1));
        }
}

static tensor *complex_embed(void *st, graph *g, tensor *x, const positions *pos) {
    complex_state *s = st;
    int B = pos->B, T = pos->Tq, C = s->C, Lc = C / 2, N = B * T;
    const int *qp = pos->p + pos->q0;                              /* (T) the query rows' positions */
    tensor *out = tensor_new2(g, N, C, graph_needs_grad(g, s->amp, s->freq, s->phase, NULL));
    for (int n = 0; n < N; n++)
        for (int l = 0; l < Lc; l++) {
            size_t w = (size_t)pos->tokens[n] * Lc + l;
            double a = s->freq->data[w] * qp[n % T] + s->phase->data[w];
            out->data[(size_t)n * C + 2 * l] = (real)(s->amp->data[w] * cos(a));
            out->data[(size_t)n * C + 2 * l + 1] = (real)(s->amp->data[w] * sin(a));
        }
    node *nd = graph_record(g, "complex_embedding", complex_backward, out, s->amp, s->freq, s->phase, NULL);
    if (nd) {
        nd->ids = graph_copy_ints(g, pos->tokens, (size_t)N);
        nd->saved = (void *)graph_copy_ints(g, qp, (size_t)T);
        nd->iarg[0] = T;
    }
    (void)x; /* replaces the token embedding */
    return op_reshape(g, out, 3, (int[]){B, T, C});
}

const encoding_def enc_complex = {
    .name = "complex",
    .options = "rope-base rope-schedule",
    .summary = "complex-order embedding r e^{i(w k + th)} per token (Wang et al.), replacing the token embedding",
    .where = ENC_AT_INPUT,
    .create = complex_create,
    .init = complex_init,
    .embed = complex_embed,
    .destroy = free,
};
