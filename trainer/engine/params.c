/* The flat parameter blocks. */
#include "params.h"
#include "memory.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

void params_init(param_store *s) { memset(s, 0, sizeof *s); }

tensor *params_declare(param_store *s, const char *name, int ndim, const int *shape, init_kind init, double scale,
                       int decay) {
    if (s->allocated) engine_fail("params_declare", "'%s' declared after the parameters were allocated", name);
    if (s->n_entries == s->cap_entries) {
        s->cap_entries = s->cap_entries ? 2 * s->cap_entries : 32;
        s->entries = xrealloc(s->entries, (size_t)s->cap_entries * sizeof *s->entries);
    }
    param_entry *e = &s->entries[s->n_entries++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->t = xmalloc(sizeof *e->t);
    *e->t = tensor_view(NULL, NULL, ndim, shape);
    e->offset = s->n;
    e->init = init;
    e->scale = scale;
    e->decay = decay;
    s->n += e->t->n;
    return e->t;
}

void params_allocate(param_store *s) {
    size_t n = s->n ? s->n : 1;
    s->data = xcalloc(n, sizeof(real));
    s->grad = xcalloc(n, sizeof(real));
    s->m = xcalloc(n, sizeof(real));
    s->v = xcalloc(n, sizeof(real));
    for (int i = 0; i < s->n_entries; i++) {
        s->entries[i].t->data = s->data + s->entries[i].offset;
        s->entries[i].t->grad = s->grad + s->entries[i].offset;
    }
    s->allocated = 1;
}

void params_initialize(param_store *s, gsl_rng *r) {
    for (int i = 0; i < s->n_entries; i++) {
        param_entry *e = &s->entries[i];
        for (size_t k = 0; k < e->t->n; k++) {
            switch (e->init) {
            case INIT_NORMAL: e->t->data[k] = (real)gsl_ran_gaussian(r, e->scale); break;
            case INIT_UNIFORM: e->t->data[k] = (real)(e->scale * (2 * gsl_rng_uniform(r) - 1)); break;
            case INIT_ZERO: e->t->data[k] = 0; break;
            case INIT_ONE: e->t->data[k] = 1; break;
            case INIT_CUSTOM: break;
            }
        }
    }
}

const param_entry *params_find(const param_store *s, const char *name) {
    for (int i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].name, name) == 0) return &s->entries[i];
    return NULL;
}

void params_zero_grad(param_store *s) { memset(s->grad, 0, s->n * sizeof(real)); }

void params_free(param_store *s) {
    for (int i = 0; i < s->n_entries; i++) free(s->entries[i].t);
    free(s->entries);
    free(s->data);
    free(s->grad);
    free(s->m);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* w -= lr wd w + lr (m / c1) / (sqrt(v / c2) + eps), in the working precision
 * (as PyTorch does) with the step's constants folded, so the loop vectorises. */
void params_adamw_step(param_store *ps, const adamw_opts *o, double lr, int t, double grad_scale) {
    const double c1 = 1 - pow(o->beta1, t), c2 = 1 - pow(o->beta2, t);
    const real b1 = (real)o->beta1, b2 = (real)o->beta2, gs = (real)grad_scale, eps = (real)o->eps;
    const real step = (real)(lr / c1), rsqrt_c2 = (real)(1 / sqrt(c2));
    for (int e = 0; e < ps->n_entries; e++) {
        const param_entry *pe = &ps->entries[e];
        const real keep = (real)(1 - (pe->decay ? lr * o->wd : 0));
        real *restrict w = ps->data + pe->offset, *restrict m = ps->m + pe->offset, *restrict v = ps->v + pe->offset;
        const real *restrict gr = ps->grad + pe->offset;
        for (size_t i = 0; i < pe->t->n; i++) {
            real gi = gr[i] * gs;
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] = keep * w[i] - step * m[i] / (real_sqrt(v[i]) * rsqrt_c2 + eps);
        }
    }
}
