/* Layer norm and RMS norm over the last dimension. */
#include "engine.h"

#include <math.h>

/* ---- layernorm: y = (x - mu) * rstd * gamma + beta, per row of C values.
 * saved: mu (N), rstd (N). */
static void layernorm_backward(node *nd) {
    tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *out = nd->out;
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    const real *mu = nd->saved, *rstd = mu + N;
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C, *dy = out->grad + r * C;
        double sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int c = 0; c < C; c++) {
            double xhat = (xr[c] - mu[r]) * rstd[r];
            double dxhat = dy[c] * gamma->data[c];            /* y = xhat * gamma + beta */
            sum_dxhat += dxhat;
            sum_dxhat_xhat += dxhat * xhat;
            if (gamma->grad) gamma->grad[c] += (real)(dy[c] * xhat);
            if (beta && beta->grad) beta->grad[c] += dy[c];
        }
        if (!x->grad) continue;
        real *dx = x->grad + r * C;
        for (int c = 0; c < C; c++) {                            /* xhat = (x - mu) * rstd */
            double xhat = (xr[c] - mu[r]) * rstd[r];
            double dxhat = dy[c] * gamma->data[c];
            dx[c] += (real)(rstd[r] * (dxhat - sum_dxhat / C - xhat * sum_dxhat_xhat / C));
        }
    }
}

tensor *op_layernorm(graph *g, tensor *x, tensor *gamma, tensor *beta, real eps) {
    int C = x->shape[x->ndim - 1];
    if ((int)gamma->n != C || (beta && (int)beta->n != C))
        engine_fail("layernorm", "gamma/beta must have %d values (the last dimension)", C);
    size_t N = x->n / (size_t)C;
    tensor *out = tensor_new(g, x->ndim, x->shape, graph_needs_grad(g, x, gamma, beta, NULL));
    real *saved = arena_alloc(g->mem, 2 * N * sizeof(real));
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C;
        double mean = 0, var = 0;
        for (int c = 0; c < C; c++) mean += xr[c];
        mean /= C;
        for (int c = 0; c < C; c++) var += (xr[c] - mean) * (xr[c] - mean);
        var /= C;
        double rstd = 1 / sqrt(var + eps);
        saved[r] = (real)mean;
        saved[N + r] = (real)rstd;
        for (int c = 0; c < C; c++)
            out->data[r * C + c] = (real)((xr[c] - saved[r]) * saved[N + r] * gamma->data[c] + (beta ? beta->data[c] : 0));
    }
    node *nd = graph_record(g, "layernorm", layernorm_backward, out, x, gamma, beta, NULL);
    if (nd) nd->saved = saved;
    return out;
}

/* ---- rmsnorm: y = x * rstd * gamma, rstd = 1 / sqrt(mean(x^2) + eps).
 * saved: rstd (N). */
static void rmsnorm_backward(node *nd) {
    tensor *x = nd->in[0], *gamma = nd->in[1], *out = nd->out;
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    const real *rstd = nd->saved;
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C, *dy = out->grad + r * C;
        double dot = 0;                                           /* sum_c dy gamma x */
        for (int c = 0; c < C; c++) {
            dot += dy[c] * gamma->data[c] * xr[c];
            if (gamma->grad) gamma->grad[c] += dy[c] * xr[c] * rstd[r];
        }
        if (!x->grad) continue;
        double k = dot * rstd[r] * rstd[r] * rstd[r] / C;        /* d rstd / dx_c = -rstd^3 x_c / C */
        for (int c = 0; c < C; c++)
            x->grad[r * C + c] += (real)(dy[c] * gamma->data[c] * rstd[r] - k * xr[c]);
    }
}

tensor *op_rmsnorm(graph *g, tensor *x, tensor *gamma, real eps) {
    int C = x->shape[x->ndim - 1];
    if ((int)gamma->n != C) engine_fail("rmsnorm", "gamma must have %d values (the last dimension)", C);
    size_t N = x->n / (size_t)C;
    tensor *out = tensor_new(g, x->ndim, x->shape, graph_needs_grad(g, x, gamma, NULL, NULL));
    real *rstd = arena_alloc(g->mem, N * sizeof(real));
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C;
        double ms = 0;
        for (int c = 0; c < C; c++) ms += (double)xr[c] * xr[c];
        rstd[r] = (real)(1 / sqrt(ms / C + eps));
        for (int c = 0; c < C; c++) out->data[r * C + c] = xr[c] * rstd[r] * gamma->data[c];
    }
    node *nd = graph_record(g, "rmsnorm", rmsnorm_backward, out, x, gamma, NULL, NULL);
    if (nd) nd->saved = rstd;
    return out;
}
