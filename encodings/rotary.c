/* The rotary op: forward, and backward to x and to the frequencies. */
#include "rotary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rotary_ladder(real *theta, int n, double base, rope_schedule sched) {
    for (int k = 0; k < n; k++) theta[k] = (real)rope_schedule_theta(sched, 2.0 * k / (2.0 * n), base);
}

typedef struct {
    int n_pairs;
    const int *coord;         /* (n_pairs, T): coordinate of pair k at t */
    real *cs;                 /* (T, n_pairs, 3): cos, sin, scale */
} rotary_saved;

static void rotary_backward(node *nd) {
    tensor *x = nd->in[0], *theta = nd->in[1], *out = nd->out;
    const rotary_saved *s = nd->saved;
    int P = x->shape[0], T = x->shape[1], D = x->shape[2], K = s->n_pairs;
    for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) {
            size_t o = ((size_t)p * T + t) * D;
            const real *dy = out->grad + o, *y = out->data + o;
            for (int k = 0; k < K; k++) {
                const real *c = s->cs + ((size_t)t * K + k) * 3;
                real cs = c[0], sn = c[1], sc = c[2];
                if (x->grad) {
                    x->grad[o + 2 * k] += sc * (dy[2 * k] * cs + dy[2 * k + 1] * sn);        /* rotate back by -a */
                    x->grad[o + 2 * k + 1] += sc * (-dy[2 * k] * sn + dy[2 * k + 1] * cs);
                }
                if (theta->grad) /* dy/da = (-y1, y0); a = c_k(t) theta_k */
                    theta->grad[k] += (real)s->coord[(size_t)k * T + t] * (-dy[2 * k] * y[2 * k + 1] + dy[2 * k + 1] * y[2 * k]);
            }
            if (x->grad)
                for (int d = 2 * K; d < D; d++) x->grad[o + d] += dy[d];
        }
}

tensor *op_rotary(graph *g, tensor *x, tensor *theta, const rotary_spec *spec) {
    int P = x->shape[0], T = x->shape[1], D = x->shape[2], K = spec->n_pairs;
    if (x->ndim != 3 || 2 * K > D || (int)theta->n != K) engine_fail("rotary", "x must be (P, T, D) with D >= 2 * %d pairs", K);
    int grad = graph_needs_grad(g, x, theta, NULL, NULL);
    tensor *out = tensor_new3(g, P, T, D, grad);
    rotary_saved *s = arena_alloc(g->mem, sizeof *s);
    int *coord = arena_alloc(g->mem, ((size_t)K * T + 1) * sizeof(int));
    s->n_pairs = K;
    s->coord = coord;
    s->cs = arena_alloc(g->mem, ((size_t)T * K * 3 + 1) * sizeof(real));
    for (int k = 0; k < K; k++) {
        const int *c = spec->coord[spec->which ? spec->which[k] : 0];
        for (int t = 0; t < T; t++) {
            coord[(size_t)k * T + t] = c[t];
            double a = (double)c[t] * theta->data[k];
            real *e = s->cs + ((size_t)t * K + k) * 3;
            e[0] = (real)cos(a);
            e[1] = (real)sin(a);
            e[2] = spec->zeta ? (real)pow(spec->zeta[k], spec->scale_exponent * c[t]) : 1;
        }
    }
    for (int p = 0; p < P; p++)
        for (int t = 0; t < T; t++) {
            size_t o = ((size_t)p * T + t) * D;
            const real *xi = x->data + o;
            real *y = out->data + o;
            for (int k = 0; k < K; k++) {
                const real *e = s->cs + ((size_t)t * K + k) * 3;
                y[2 * k] = e[2] * (xi[2 * k] * e[0] - xi[2 * k + 1] * e[1]);
                y[2 * k + 1] = e[2] * (xi[2 * k] * e[1] + xi[2 * k + 1] * e[0]);
            }
            memcpy(y + 2 * K, xi + 2 * K, (size_t)(D - 2 * K) * sizeof(real));
        }
    node *nd = graph_record(g, "rotary", rotary_backward, out, x, theta, NULL, NULL);
    if (nd) nd->saved = s;
    return out;
}

rope_state *rope_state_new(param_store *ps, const enc_dims *d, int K, int ladder, int trainable) {
    rope_state *s = xcalloc(1, sizeof *s);
    s->K = K;
    s->D = d->D;
    s->base = d->opt.rope_base;
    s->sched = d->opt.rope_schedule;
    if (trainable) {
        s->theta = params_declare(ps, "enc.theta", 1, (int[]){K > 0 ? K : 1}, INIT_CUSTOM, 0, 0);
    } else {
        s->fixed = tensor_view(xcalloc((size_t)K + 1, sizeof(real)), NULL, 1, (int[]){K});
        s->theta = &s->fixed;
        for (int k = 0; k < K; k += ladder) rotary_ladder(s->fixed.data + k, K - k < ladder ? K - k : ladder, s->base, s->sched);
    }
    (void)ladder;
    return s;
}

void rope_state_init(void *st, gsl_rng *r) {
    rope_state *s = st;
    (void)r;
    if (s->theta != &s->fixed) /* trainable: start at the standard values (8265) */
        rotary_ladder(s->theta->data, s->K, s->base, s->sched);
}

void rope_state_free(void *st) {
    rope_state *s = st;
    free(s->fixed.data);
    free(s->which);
    free(s->zeta);
    free(s);
}

tensor *rope_apply(rope_state *s, graph *g, tensor *x, const int *c0, const int *c1, double exponent) {
    rotary_spec spec = {s->K, {c0, c1 ? c1 : c0}, s->which, s->zeta, exponent};
    return op_rotary(g, x, s->theta, &spec);
}
