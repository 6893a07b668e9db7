/* Layer norm, RMS norm and unit rows over the last dimension. */
#include "engine.h"

#include <math.h>

/* ---- layernorm: y = (x - mu) * rstd * gamma + beta, per row of C values.
 * saved: mu (N), rstd (N), then two (C) scratch rows for backward. Rows are
 * done in the working precision with sums in double (sum_real_d,
 * dot_real_d), each in its own pass, so every pass is a loop that vectorises. */
static void layernorm_backward(node *nd) {
    tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *out = nd->out;
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    const real *mu = nd->saved, *rstd = mu + N;
    real *restrict xhat = (real *)(rstd + N), *restrict dxhat = xhat + C;   /* (C) scratch rows */
    const real *restrict gam = gamma->data;
    real *restrict ggrad = gamma->grad, *restrict bgrad = beta ? beta->grad : NULL;
    tensor_grad_ready(gamma);                                     /* sums over rows */
    tensor_grad_ready(beta);
    const int assign = x->grad && !tensor_grad_beta(x);          /* dx row by row, each once */
    for (size_t r = 0; r < N; r++) {
        const real *restrict xr = x->data + r * C, *restrict dy = out->grad + r * C;
        const real m = mu[r], rs = rstd[r];
        for (int c = 0; c < C; c++) {
            xhat[c] = (xr[c] - m) * rs;
            dxhat[c] = dy[c] * gam[c];                            /* y = xhat * gamma + beta */
        }
        if (ggrad) for (int c = 0; c < C; c++) ggrad[c] += dy[c] * xhat[c];
        if (bgrad) for (int c = 0; c < C; c++) bgrad[c] += dy[c];
        if (!x->grad) continue;
        const real a = (real)(sum_real_d(dxhat, C) / C), b = (real)(dot_real_d(dxhat, xhat, C) / C);
        real *restrict dx = x->grad + r * C;
        if (assign) for (int c = 0; c < C; c++) dx[c] = rs * (dxhat[c] - a - xhat[c] * b);   /* xhat = (x - mu) rstd */
        else for (int c = 0; c < C; c++) dx[c] += rs * (dxhat[c] - a - xhat[c] * b);
    }
}

tensor *op_layernorm(graph *g, tensor *x, tensor *gamma, tensor *beta, real eps) {
    int C = x->shape[x->ndim - 1];
    if ((int)gamma->n != C || (beta && (int)beta->n != C))
        engine_fail("layernorm", "gamma/beta must have %d values (the last dimension)", C);
    size_t N = x->n / (size_t)C;
    int grad = graph_needs_grad(g, x, gamma, beta, NULL);
    tensor *out = tensor_new(g, x->ndim, x->shape, grad);
    real *saved = arena_alloc(g->mem, (2 * N + (grad ? 2 * (size_t)C : 0)) * sizeof(real));
    const real *restrict gam = gamma->data, *restrict bet = beta ? beta->data : NULL;
    for (size_t r = 0; r < N; r++) {
        const real *restrict xr = x->data + r * C;
        real *restrict y = out->data + r * C;
        const real m = (real)(sum_real_d(xr, C) / C);
        for (int c = 0; c < C; c++) y[c] = xr[c] - m;             /* y holds x - mu until the last pass */
        const real rs = (real)(1 / sqrt(dot_real_d(y, y, C) / C + eps));
        saved[r] = m;
        saved[N + r] = rs;
        if (bet) for (int c = 0; c < C; c++) y[c] = y[c] * rs * gam[c] + bet[c];
        else for (int c = 0; c < C; c++) y[c] = y[c] * rs * gam[c];
    }
    node *nd = graph_record(g, "layernorm", layernorm_backward, out, x, gamma, beta, NULL);
    if (nd) { nd->claims_grads = 1; nd->saved = saved; }
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

/* ---- unit_rows: y = x / ||x|| per row of C values (a zero row stays zero);
 * dx = (dy - y (y.dy)) / ||x||. The norms are recomputed in backward. */
static void unit_rows_backward(node *nd) {
    tensor *x = nd->in[0], *out = nd->out;
    int C = x->shape[x->ndim - 1];
    size_t N = x->n / (size_t)C;
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C, *y = out->data + r * C, *dy = out->grad + r * C;
        double nrm = sqrt(dot_real_d(xr, xr, C));
        if (nrm == 0) continue;
        double yd = dot_real_d(y, dy, C);
        for (int c = 0; c < C; c++) x->grad[r * C + c] += (real)((dy[c] - y[c] * yd) / nrm);
    }
}

tensor *op_unit_rows(graph *g, tensor *x) {
    int C = x->shape[x->ndim - 1];
    size_t N = C ? x->n / (size_t)C : 0;
    tensor *out = tensor_new(g, x->ndim, x->shape, graph_needs_grad(g, x, NULL, NULL, NULL));
    for (size_t r = 0; r < N; r++) {
        const real *xr = x->data + r * C;
        double nrm = sqrt(dot_real_d(xr, xr, C));
        for (int c = 0; c < C; c++) out->data[r * C + c] = nrm > 0 ? (real)(xr[c] / nrm) : 0;
    }
    graph_record(g, "unit_rows", unit_rows_backward, out, x, NULL, NULL, NULL);
    return out;
}
