/* Parameters, gradients and AdamW moments, each one flat block, so zero-grad
 * is one memset, the optimizer one loop and a checkpoint one write.
 * Parameters are declared first (name, shape, initialisation) and allocated
 * together; declaration order is the checkpoint order. */
#ifndef POSPROBE_PARAMS_H
#define POSPROBE_PARAMS_H

#include <gsl/gsl_rng.h>

#include "engine.h"

typedef enum { INIT_NORMAL, INIT_ZERO, INIT_ONE, INIT_UNIFORM, INIT_CUSTOM } init_kind;

typedef struct param_entry {
    char name[64];
    tensor *t;           /* data and grad point into the blocks after params_allocate */
    size_t offset;
    init_kind init;
    double scale;        /* std (normal) or half-width (uniform) */
    int decay;           /* AdamW weight decay applies */
} param_entry;

typedef struct param_store {
    param_entry *entries;
    int n_entries, cap_entries;
    size_t n;            /* total scalars */
    real *data, *grad, *m, *v;   /* (n) each */
    int allocated;
} param_store;

void params_init(param_store *s);
tensor *params_declare(param_store *s, const char *name, int ndim, const int *shape, init_kind init, double scale,
                       int decay);
void params_allocate(param_store *s);
/* Initialises every non-custom parameter in declaration order from r. */
void params_initialize(param_store *s, gsl_rng *r);
const param_entry *params_find(const param_store *s, const char *name);
void params_zero_grad(param_store *s);

/* AdamW's constants; weight decay applies to the entries declared with decay. */
typedef struct adamw_opts {
    double beta1, beta2, eps, wd;
} adamw_opts;
/* One AdamW step t (1, 2, ...) at learning rate lr on the gradients times
 * grad_scale (a clipping factor, 1 for none): bias-corrected moments, epsilon
 * outside the root, decoupled weight decay w -= lr wd w. */
void params_adamw_step(param_store *s, const adamw_opts *o, double lr, int t, double grad_scale);
void params_free(param_store *s);

#endif
