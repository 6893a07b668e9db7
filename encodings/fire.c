/* FIRE (Li et al. 2024, "Functional Interpolation for Relative Positions"):
 *   b_h(i, j) = f_h( psi(d_ij) / psi(max(L, i + 1)) ),  psi(x) = log(c x + 1),
 * d_ij = i - j (causal) or |i - j| (bidirectional, our extension), i the
 * query's position id (1-based in the normaliser), f an MLP 1 -> 32 -> H per
 * layer with ReLU, c = softplus(.) and the threshold L = softplus(.) learned
 * (start: c = 0.1, L = the training length). Not shift-invariant: the
 * normaliser reads the query's absolute position. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "encoding.h"

#define FIRE_HIDDEN 32

typedef struct {
    tensor **cl;                  /* (L) (2): raw c, raw L */
    tensor **w1, **b1, **w2, **b2;
    int H, layers, causal;
    double L0;
} fire_state;

static double softplus_d(double v) { return v > 30 ? v : log1p(exp(v)); }
static double sigmoid_d(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

/* features (Tq*S, 1) from raw (c, L); saved: positions of the query rows, distances */
static void fire_features_backward(node *nd) {
    tensor *raw = nd->in[0], *out = nd->out;
    int Tq = nd->iarg[0], S = nd->iarg[1];
    const int *dist = nd->ids, *qpos = nd->saved;
    double c = softplus_d(raw->data[0]), L = softplus_d(raw->data[1]);
    double dc = 0, dL = 0;
    for (int i = 0; i < Tq; i++) {
        double m = fmax(L, qpos[i] + 1.0), Bv = log1p(c * m);
        for (int j = 0; j < S; j++) {
            double d = dist[(size_t)i * S + j], A = log1p(c * d), go = out->grad[(size_t)i * S + j];
            dc += go * ((d / (c * d + 1)) / Bv - A * (m / (c * m + 1)) / (Bv * Bv));
            if (L > qpos[i] + 1.0) dL += go * (-A * (c / (c * m + 1)) / (Bv * Bv));
        }
    }
    raw->grad[0] += (real)(dc * sigmoid_d(raw->data[0]));
    raw->grad[1] += (real)(dL * sigmoid_d(raw->data[1]));
}

static tensor *fire_features(graph *g, tensor *raw, const positions *pos, int causal) {
    int Tq = pos->Tq, S = pos->T;
    const int *qp = pos->p + pos->q0;                              /* (Tq) the query rows' positions */
    int *dist = arena_alloc(g->mem, (size_t)Tq * S * sizeof(int));
    for (int i = 0; i < Tq; i++)
        for (int j = 0; j < S; j++) {
            int off = qp[i] - pos->p[j];
            dist[(size_t)i * S + j] = causal ? (off > 0 ? off : 0) : abs(off);
        }
    double c = softplus_d(raw->data[0]), L = softplus_d(raw->data[1]);
    tensor *out = tensor_new2(g, Tq * S, 1, graph_needs_grad(g, raw, NULL, NULL, NULL));
    for (int i = 0; i < Tq; i++) {
        double Bv = log1p(c * fmax(L, qp[i] + 1.0));
        for (int j = 0; j < S; j++) out->data[(size_t)i * S + j] = (real)(log1p(c * dist[(size_t)i * S + j]) / Bv);
    }
    node *nd = graph_record(g, "fire_features", fire_features_backward, out, raw, NULL, NULL, NULL);
    if (nd) { nd->ids = dist; nd->saved = (void *)graph_copy_ints(g, qp, (size_t)Tq); nd->iarg[0] = Tq; nd->iarg[1] = S; }
    return out;
}

static void *fire_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    fire_state *s = xcalloc(1, sizeof *s);
    s->H = d->H;
    s->layers = d->L;
    s->causal = d->mask == MASK_CAUSAL;
    s->L0 = d->opt.train_len_max;
    s->cl = xcalloc((size_t)d->L, sizeof *s->cl);
    s->w1 = xcalloc((size_t)d->L, sizeof *s->w1);
    s->b1 = xcalloc((size_t)d->L, sizeof *s->b1);
    s->w2 = xcalloc((size_t)d->L, sizeof *s->w2);
    s->b2 = xcalloc((size_t)d->L, sizeof *s->b2);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.fire_cl", l);
        s->cl[l] = params_declare(ps, name, 1, (int[]){2}, INIT_CUSTOM, 0, 0);
        snprintf(name, sizeof name, "enc.block%d.fire_w1", l);
        s->w1[l] = params_declare(ps, name, 2, (int[]){1, FIRE_HIDDEN}, INIT_NORMAL, 1.0, 0);
        snprintf(name, sizeof name, "enc.block%d.fire_b1", l);
        s->b1[l] = params_declare(ps, name, 1, (int[]){FIRE_HIDDEN}, INIT_NORMAL, 0.5, 0);
        snprintf(name, sizeof name, "enc.block%d.fire_w2", l);
        s->w2[l] = params_declare(ps, name, 2, (int[]){FIRE_HIDDEN, d->H}, INIT_NORMAL, 1 / sqrt(FIRE_HIDDEN), 0);
        snprintf(name, sizeof name, "enc.block%d.fire_b2", l);
        s->b2[l] = params_declare(ps, name, 1, (int[]){d->H}, INIT_ZERO, 0, 0);
    }
    return s;
}

static void fire_init(void *st, gsl_rng *r) {
    fire_state *s = st;
    (void)r;
    for (int l = 0; l < s->layers; l++) {
        s->cl[l]->data[0] = (real)log(expm1(0.1));       /* c = 0.1 */
        s->cl[l]->data[1] = (real)(s->L0 > 30 ? s->L0 : log(expm1(s->L0)));   /* L = training length */
    }
}

static tensor *fire_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    fire_state *s = st;
    (void)q; (void)k;
    int Tq = pos->Tq, S = pos->T;
    tensor *f = fire_features(g, s->cl[layer], pos, s->causal);                           /* (Tq*S, 1) */
    tensor *h = op_relu(g, op_linear(g, f, s->w1[layer], s->b1[layer]));                  /* (Tq*S, 32) */
    tensor *b = op_linear(g, h, s->w2[layer], s->b2[layer]);                              /* (Tq*S, H) */
    b = op_transpose(g, op_reshape(g, b, 3, (int[]){1, Tq * S, s->H}));                   /* (1, H, Tq*S) */
    return op_reshape(g, b, 3, (int[]){s->H, Tq, S});
}

static void fire_free(void *st) {
    fire_state *s = st;
    free(s->cl); free(s->w1); free(s->b1); free(s->w2); free(s->b2);
    free(s);
}

/* The offset MLP per layer: FIRE_HIDDEN activations (and their gradients) per offset. */
static double fire_step_reals(const enc_dims *d, int B, int T) {
    (void)d; (void)B;
    return (5.0 * FIRE_HIDDEN + 8) * T * T;
}

const encoding_def enc_fire = {
    .name = "fire",
    .summary = "FIRE: learned MLP of log-transformed offsets normalised by the query position, learned threshold",
    .where = ENC_AT_LOGITS,
    .create = fire_create,
    .init = fire_init,
    .scores = fire_scores,
    .destroy = fire_free,
    .step_reals = fire_step_reals,
};
