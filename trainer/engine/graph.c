/* Tensors in the arena and the tape: record in creation order, backward as a
 * reverse scan. */
#include "engine.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void engine_fail(const char *op, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "posprobe: error: %s: ", op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void graph_init(graph *g, arena *mem, int record_grad) {
    g->mem = mem;
    g->last = NULL;
    g->n_nodes = 0;
    g->record_grad = record_grad;
    g->with_grad = NULL;
}

void graph_reset(graph *g) {
    arena_reset(g->mem);
    g->last = NULL;
    g->n_nodes = 0;
    g->with_grad = NULL;
}

static int poison_unset_grads;

void graph_poison_unset_grads(int on) { poison_unset_grads = on; }

tensor *tensor_new(graph *g, int ndim, const int *shape, int with_grad) {
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS) engine_fail("tensor_new", "%d dimensions (1..%d allowed)", ndim, TENSOR_MAX_DIMS);
    tensor *t = arena_alloc(g->mem, sizeof *t);
    t->ndim = ndim;
    t->n = 1;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) engine_fail("tensor_new", "negative dimension %d", shape[i]);
        t->n *= (size_t)shape[i];
    }
    t->data = arena_alloc(g->mem, t->n * sizeof(real));
    t->grad = NULL;
    t->grad_unset = 0;
    t->next_with_grad = NULL;
    if (with_grad) {
        t->grad = arena_alloc(g->mem, t->n * sizeof(real));
        if (poison_unset_grads)
            for (size_t i = 0; i < t->n; i++) t->grad[i] = (real)NAN;
        t->grad_unset = 1;
        t->next_with_grad = g->with_grad;
        g->with_grad = t;
    }
    return t;
}

tensor *tensor_new2(graph *g, int d0, int d1, int with_grad) {
    int s[2] = {d0, d1};
    return tensor_new(g, 2, s, with_grad);
}

tensor *tensor_new3(graph *g, int d0, int d1, int d2, int with_grad) {
    int s[3] = {d0, d1, d2};
    return tensor_new(g, 3, s, with_grad);
}

tensor tensor_view(real *data, real *grad, int ndim, const int *shape) {
    tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.grad = grad;
    t.ndim = ndim;
    t.n = 1;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t.shape[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++) t.n *= (size_t)shape[i];
    return t;
}

int tensor_same_shape(const tensor *a, const tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *tensor_shape_str(const tensor *t, char *buf, size_t len) {
    size_t off = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < t->ndim && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, i ? ", %d" : "%d", t->shape[i]);
    if (off < len) snprintf(buf + off, len - off, ")");
    return buf;
}

int graph_needs_grad(const graph *g, const tensor *in0, const tensor *in1,
                     const tensor *in2, const tensor *in3) {
    if (!g->record_grad) return 0;
    return (in0 && in0->grad) || (in1 && in1->grad) || (in2 && in2->grad) || (in3 && in3->grad);
}

node *graph_record(graph *g, const char *op, backward_fn backward, tensor *out,
                   tensor *in0, tensor *in1, tensor *in2, tensor *in3) {
    if (!out->grad) return NULL;
    node *nd = arena_calloc(g->mem, sizeof *nd);
    nd->op = op;
    nd->backward = backward;
    nd->out = out;
    nd->in[0] = in0;
    nd->in[1] = in1;
    nd->in[2] = in2;
    nd->in[3] = in3;
    nd->prev = g->last;
    g->last = nd;
    g->n_nodes++;
    return nd;
}

const int *graph_copy_ints(graph *g, const int *src, size_t n) {
    int *dst = arena_alloc(g->mem, n * sizeof(int) + 1);
    if (n) memcpy(dst, src, n * sizeof(int));
    return dst;
}

void tensor_grad_ready(tensor *t) {
    if (t && t->grad && t->grad_unset) {
        memset(t->grad, 0, t->n * sizeof(real));
        t->grad_unset = 0;
    }
}

real tensor_grad_beta(tensor *t) {
    if (!t->grad_unset) return 1;
    t->grad_unset = 0;
    return 0;
}

void graph_backward(graph *g, tensor *loss) {
    if (loss->n != 1) engine_fail("graph_backward", "the loss must be a scalar, got %zu values", loss->n);
    if (!loss->grad) engine_fail("graph_backward", "the loss does not depend on anything that needs a gradient");
    tensor_grad_ready(loss);
    loss->grad[0] += 1;
    for (node *nd = g->last; nd; nd = nd->prev) {
        tensor_grad_ready(nd->out);                    /* an output nothing used: its gradient is 0 */
        if (!nd->claims_grads)
            for (int i = 0; i < 4; i++) tensor_grad_ready(nd->in[i]);
        nd->backward(nd);
    }
    for (tensor *t = g->with_grad; t; t = t->next_with_grad) tensor_grad_ready(t);   /* reached by no node */
}
