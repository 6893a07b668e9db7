/* Offsets, and gather / score / value ops over offset-indexed tables. */
#include "relpos.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* (na, nb): map(a[i] - b[j]) */
static const int *offsets_between(graph *g, const int *a, int na, const int *b, int nb, offset_map map, const void *ctx) {
    int *idx = arena_alloc(g->mem, (size_t)na * nb * sizeof(int));
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) idx[(size_t)i * nb + j] = map(a[i] - b[j], ctx);
    return idx;
}

const int *relpos_index(graph *g, const positions *pos, offset_map map, const void *ctx) {
    return offsets_between(g, pos->p + pos->q0, pos->Tq, pos->p, pos->T, map, ctx);
}

const int *relpos_index_keys(graph *g, const positions *pos, offset_map map, const void *ctx) {
    return offsets_between(g, pos->p, pos->T, pos->p + pos->q0, pos->Tq, map, ctx);
}

int relpos_clip(int offset, const void *ctx) {
    const clip_range *c = ctx;
    return (offset < c->lo ? c->lo : offset > c->hi ? c->hi : offset) - c->lo;
}

void relpos_offset_range(const positions *pos, int *lo, int *hi) {
    int mn = pos->p[0], mx = pos->p[0];
    for (int t = 1; t < pos->T; t++) {
        if (pos->p[t] < mn) mn = pos->p[t];
        if (pos->p[t] > mx) mx = pos->p[t];
    }
    *lo = mn - mx;
    *hi = mx - mn;
}

tensor *relpos_sinusoid_table(graph *g, int lo, int R, int C, double base, rope_schedule sched) {
    tensor *t = tensor_new2(g, R, C, 0);
    for (int r = 0; r < R; r++) sinusoid_fill(t->data + (size_t)r * C, C, lo + r, base, sched);
    return t;
}

/* ---- gather: (H, R) -> (H, Tq, S) */
static void gather_backward(node *nd) {
    tensor *table = nd->in[0], *out = nd->out;
    int H = table->shape[0], R = table->shape[1];
    size_t ts = (size_t)out->shape[1] * out->shape[2];
    for (int h = 0; h < H; h++)
        for (size_t x = 0; x < ts; x++)
            table->grad[(size_t)h * R + nd->ids[x]] += out->grad[(size_t)h * ts + x];   /* scatter-add */
}

tensor *op_gather_offsets(graph *g, tensor *table, const int *idx, int Tq, int S) {
    int H = table->shape[0], R = table->shape[1];
    size_t ts = (size_t)Tq * S;
    tensor *out = tensor_new3(g, H, Tq, S, graph_needs_grad(g, table, NULL, NULL, NULL));
    for (int h = 0; h < H; h++)
        for (size_t x = 0; x < ts; x++) {
            if (idx[x] < 0 || idx[x] >= R) engine_fail("gather_offsets", "index %d outside [0, %d)", idx[x], R);
            out->data[(size_t)h * ts + x] = table->data[(size_t)h * R + idx[x]];
        }
    node *nd = graph_record(g, "gather_offsets", gather_backward, out, table, NULL, NULL, NULL);
    if (nd) nd->ids = idx;
    return out;
}

/* ---- rel_scores: saved QT (Tq, R) = q table^T scratch */
static void rel_scores_backward(node *nd) {
    tensor *q = nd->in[0], *table = nd->in[1], *out = nd->out;
    int P = q->shape[0], T = q->shape[1], D = q->shape[2], Ht = table->shape[0], R = table->shape[1], S = out->shape[2];
    real scale = nd->rarg[0];
    real *dqt = nd->saved;                                         /* (T, R) scratch */
    for (int p = 0; p < P; p++) {
        memset(dqt, 0, (size_t)T * R * sizeof(real));
        const real *dout = out->grad + (size_t)p * T * S;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < S; j++) dqt[(size_t)i * R + nd->ids[(size_t)i * S + j]] += scale * dout[(size_t)i * S + j];
        const real *tab = table->data + (size_t)(p % Ht) * R * D;
        if (q->grad) blas_gemm(0, 0, T, D, R, 1, dqt, tab, 1, q->grad + (size_t)p * T * D);          /* dq = dQT table */
        if (table->grad)
            blas_gemm(1, 0, R, D, T, 1, dqt, q->data + (size_t)p * T * D, 1,
                      table->grad + (size_t)(p % Ht) * R * D);                                           /* dtable = dQT^T q */
    }
}

tensor *op_rel_scores(graph *g, tensor *q, tensor *table, const int *idx, int S, real scale) {
    int P = q->shape[0], T = q->shape[1], D = q->shape[2], Ht = table->shape[0], R = table->shape[1];
    if (table->ndim != 3 || table->shape[2] != D || P % Ht) engine_fail("rel_scores", "table must be (H, R, %d)", D);
    int grad = graph_needs_grad(g, q, table, NULL, NULL);
    tensor *out = tensor_new3(g, P, T, S, grad);
    real *qt = arena_alloc(g->mem, (size_t)T * R * sizeof(real));  /* (T, R), reused per p */
    for (int p = 0; p < P; p++) {
        blas_gemm(0, 1, T, R, D, scale, q->data + (size_t)p * T * D, table->data + (size_t)(p % Ht) * R * D, 0, qt);
        real *o = out->data + (size_t)p * T * S;
        for (size_t x = 0; x < (size_t)T * S; x++) o[x] = qt[(x / S) * R + idx[x]];
    }
    node *nd = graph_record(g, "rel_scores", rel_scores_backward, out, q, table, NULL, NULL);
    if (nd) { nd->ids = idx; nd->rarg[0] = scale; nd->saved = qt; }
    return out;
}

/* ---- rel_values: Ab (T, R) = A (T, S) bucketed by offset; out = Ab table */
static void bucket(const real *A, const int *idx, int T, int S, int R, real *Ab) {
    memset(Ab, 0, (size_t)T * R * sizeof(real));
    for (int i = 0; i < T; i++)
        for (int j = 0; j < S; j++) Ab[(size_t)i * R + idx[(size_t)i * S + j]] += A[(size_t)i * S + j];
}

static void rel_values_backward(node *nd) {
    tensor *A = nd->in[0], *table = nd->in[1], *out = nd->out;
    int P = A->shape[0], T = A->shape[1], S = A->shape[2], Ht = table->shape[0], R = table->shape[1], Dv = table->shape[2];
    real *ab = nd->saved, *dab = ab + (size_t)T * R;
    for (int p = 0; p < P; p++) {
        const real *tab = table->data + (size_t)(p % Ht) * R * Dv, *dout = out->grad + (size_t)p * T * Dv;
        if (A->grad) {
            blas_gemm(0, 1, T, R, Dv, 1, dout, tab, 0, dab);                   /* dAb = dout table^T */
            real *dA = A->grad + (size_t)p * T * S;
            for (size_t x = 0; x < (size_t)T * S; x++) dA[x] += dab[(x / S) * R + nd->ids[x]];
        }
        if (table->grad) {
            bucket(A->data + (size_t)p * T * S, nd->ids, T, S, R, ab);
            blas_gemm(1, 0, R, Dv, T, 1, ab, dout, 1, table->grad + (size_t)(p % Ht) * R * Dv);  /* dtable = Ab^T dout */
        }
    }
}

tensor *op_rel_values(graph *g, tensor *A, tensor *table, const int *idx) {
    int P = A->shape[0], T = A->shape[1], S = A->shape[2], Ht = table->shape[0], R = table->shape[1], Dv = table->shape[2];
    if (table->ndim != 3 || P % Ht) engine_fail("rel_values", "table must be (H, R, Dv)");
    int grad = graph_needs_grad(g, A, table, NULL, NULL);
    tensor *out = tensor_new3(g, P, T, Dv, grad);
    real *ab = arena_alloc(g->mem, 2 * (size_t)T * R * sizeof(real));   /* Ab and dAb scratch */
    for (int p = 0; p < P; p++) {
        bucket(A->data + (size_t)p * T * S, idx, T, S, R, ab);
        blas_gemm(0, 0, T, Dv, R, 1, ab, table->data + (size_t)(p % Ht) * R * Dv, 0, out->data + (size_t)p * T * Dv);
    }
    node *nd = graph_record(g, "rel_values", rel_values_backward, out, A, table, NULL, NULL);
    if (nd) { nd->ids = idx; nd->saved = ab; }
    return out;
}

/* ---- KERPLE kernels */
static double softplus_d(double v) { return v > 30 ? v : log1p(exp(v)); }
static double sigmoid_d(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

static void distance_kernel_backward(node *nd) {
    tensor *raw = nd->in[0], *out = nd->out;
    int H = raw->shape[0];
    size_t ts = (size_t)out->shape[1] * out->shape[2];
    kernel_kind kind = (kernel_kind)nd->iarg[1];
    const int *dist = nd->ids;
    for (int h = 0; h < H; h++) {
        double a = raw->data[2 * h], b = raw->data[2 * h + 1];
        double r1 = softplus_d(a), da = 0, db = 0;
        for (size_t x = 0; x < ts; x++) {
            double go = out->grad[(size_t)h * ts + x], d = dist[x];
            if (kind == KERNEL_LOG) {
                double r2 = softplus_d(b);
                da += go * -sigmoid_d(a) * log1p(r2 * d);
                db += go * -r1 * d / (1 + r2 * d) * sigmoid_d(b);
            } else if (d > 0) {
                double sg = sigmoid_d(b), r2 = 2 * sg, pw = pow(d, r2);
                da += go * -sigmoid_d(a) * pw;
                db += go * -r1 * pw * log(d) * 2 * sg * (1 - sg);
            }
        }
        raw->grad[2 * h] += (real)da;
        raw->grad[2 * h + 1] += (real)db;
    }
}

tensor *op_distance_kernel(graph *g, tensor *raw, const positions *pos, kernel_kind kind) {
    int H = raw->shape[0], Tq = pos->Tq, S = pos->T;
    size_t ts = (size_t)Tq * S;
    if (raw->ndim != 2 || raw->shape[1] != 2) engine_fail("distance_kernel", "raw parameters must be (H, 2)");
    int *dist = arena_alloc(g->mem, ts * sizeof(int));
    for (int i = 0; i < Tq; i++)
        for (int j = 0; j < S; j++) dist[(size_t)i * S + j] = abs(pos->p[pos->q0 + i] - pos->p[j]);
    tensor *out = tensor_new3(g, H, Tq, S, graph_needs_grad(g, raw, NULL, NULL, NULL));
    for (int h = 0; h < H; h++) {
        double r1 = softplus_d(raw->data[2 * h]), b = raw->data[2 * h + 1];
        for (size_t x = 0; x < ts; x++) {
            double d = dist[x];
            double v = kind == KERNEL_LOG ? -r1 * log1p(softplus_d(b) * d) : (d > 0 ? -r1 * pow(d, 2 * sigmoid_d(b)) : 0);
            out->data[(size_t)h * ts + x] = (real)v;
        }
    }
    node *nd = graph_record(g, "distance_kernel", distance_kernel_backward, out, raw, NULL, NULL, NULL);
    if (nd) { nd->ids = dist; nd->iarg[1] = (int)kind; }
    return out;
}

typedef struct {
    tensor **raw;        /* (L) per-layer (H, 2) */
    int H, L;
    kernel_kind kind;
} kerple_state;

void *kerple_create(param_store *ps, const enc_dims *d, kernel_kind kind) {
    kerple_state *s = xcalloc(1, sizeof *s);
    s->H = d->H;
    s->L = d->L;
    s->kind = kind;
    s->raw = xcalloc((size_t)d->L, sizeof *s->raw);
    char name[64];
    for (int l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "enc.block%d.kerple", l);
        s->raw[l] = params_declare(ps, name, 2, (int[]){d->H, 2}, INIT_CUSTOM, 0, 0);
    }
    return s;
}

void kerple_init(void *st, gsl_rng *r) {
    kerple_state *s = st;
    (void)r;
    for (int l = 0; l < s->L; l++)
        for (int h = 0; h < s->H; h++) {
            s->raw[l]->data[2 * h] = (real)log(expm1(1.0));                          /* r1 = softplus(raw) = 1 */
            /* r2 = 1: softplus(raw) for log, 2 sigmoid(raw) for power */
            s->raw[l]->data[2 * h + 1] = s->kind == KERNEL_LOG ? (real)log(expm1(1.0)) : 0;
        }
}

tensor *kerple_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    kerple_state *s = st;
    (void)q; (void)k;
    return op_distance_kernel(g, s->raw[layer], pos, s->kind);                       /* (H, Tq, S) */
}

void kerple_free(void *st) {
    free(((kerple_state *)st)->raw);
    free(st);
}
