/* Per-layer linear probes of absolute position on a frozen model. */
#include "errors.h"
#include "memory.h"
#include "layerprobe.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "csvio.h"
#include "model.h"
#include "progress.h"
#include "run.h"

void layerprobe_defaults(layerprobe_opts *o) {
    memset(o, 0, sizeof *o);
    o->train_size = 64;
    o->test_size = 32;
    o->steps = 300;
    o->seed = -1;
}

/* Hidden states of every layer for `count` sequences of length n:
 * feats[l] gets (tokens, C) rows appended; labels the position index. */
typedef struct {
    real **feats;      /* (L + 1) growing (N, C) */
    int *labels, *lens_of;   /* (N) */
    size_t n, cap;
} dataset;

static void dataset_add(dataset *d, model *m, int n, int count, gsl_rng *r, int L) {
    batch b;
    batch_alloc(&b, count, layout_seq_len(&m->lo, n));
    layout_fill(&m->lo, &b, n, r, POS_SEQUENTIAL, m->cfg.max_pos, r);
    tensor **hidden = xcalloc((size_t)L + 1, sizeof *hidden);
    m->hidden = hidden;
    arena ar;
    model_forward_frozen(m, &ar, &b);
    size_t add = (size_t)b.B * b.T, C = (size_t)m->C;
    if (d->n + add > d->cap) {
        d->cap = (d->n + add) * 2;
        for (int l = 0; l <= L; l++) d->feats[l] = xrealloc(d->feats[l], d->cap * C * sizeof(real));
        d->labels = xrealloc(d->labels, d->cap * sizeof(int));
        d->lens_of = xrealloc(d->lens_of, d->cap * sizeof(int));
    }
    for (int l = 0; l <= L; l++) memcpy(d->feats[l] + d->n * C, hidden[l]->data, add * C * sizeof(real));
    for (size_t i = 0; i < add; i++) { d->labels[d->n + i] = (int)(i % (size_t)b.T); d->lens_of[d->n + i] = n; }
    d->n += add;
    m->hidden = NULL;
    free(hidden);
    arena_free(&ar);
    batch_free(&b);
}

static void dataset_free(dataset *d, int L) {
    for (int l = 0; l <= L; l++) free(d->feats[l]);
    free(d->feats);
    free(d->labels);
    free(d->lens_of);
}

/* Softmax regression on standardised features, full-batch Adam (the trainer's AdamW without decay). */
static void fit_and_score(const real *xtr, const int *ytr, size_t ntr, const real *xte, const int *yte, const int *lte,
                          size_t nte, int C, int K, int steps, unsigned long seed, const int_list *lens, double *acc,
                          double *mad, long *count) {
    double *mu = xcalloc((size_t)C, sizeof *mu), *sd = xcalloc((size_t)C, sizeof *sd);
    for (size_t i = 0; i < ntr; i++) for (int c = 0; c < C; c++) mu[c] += xtr[i * C + c] / ntr;
    for (size_t i = 0; i < ntr; i++) for (int c = 0; c < C; c++) sd[c] += pow(xtr[i * C + c] - mu[c], 2) / ntr;
    /* A feature whose spread is below 1e-4 of the features' typical size is
     * constant up to rounding (a BLAS kernel may round two equal rows of a
     * product differently): standardising it would hand the probe rounding
     * noise as signal, so it becomes 0. */
    double scale = 0;
    for (int c = 0; c < C; c++) scale += (mu[c] * mu[c] + sd[c]) / C;
    scale = sqrt(scale);
    for (int c = 0; c < C; c++) {
        sd[c] = sqrt(sd[c]);
        if (sd[c] <= 1e-4 * scale) sd[c] = INFINITY;   /* (x - mu) / inf = 0 */
    }
    real *ztr = xmalloc(ntr * C * sizeof(real)), *zte = xmalloc(nte * C * sizeof(real));
    for (size_t i = 0; i < ntr; i++) for (int c = 0; c < C; c++) ztr[i * C + c] = (real)((xtr[i * C + c] - mu[c]) / sd[c]);
    for (size_t i = 0; i < nte; i++) for (int c = 0; c < C; c++) zte[i * C + c] = (real)((xte[i * C + c] - mu[c]) / sd[c]);
    param_store ps;
    params_init(&ps);
    tensor *W = params_declare(&ps, "w", 2, (int[]){C, K}, INIT_NORMAL, 0.01, 0);
    tensor *bias = params_declare(&ps, "b", 1, (int[]){K}, INIT_ZERO, 0, 0);
    params_allocate(&ps);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    params_initialize(&ps, r);
    gsl_rng_free(r);
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 1);
    tensor xt = tensor_view(ztr, NULL, 2, (int[]){(int)ntr, C});
    const adamw_opts adam = {0.9, 0.999, 1e-8, 0};   /* no decay: the probe is fitted, not regularised */
    for (int t = 1; t <= steps; t++) {
        params_zero_grad(&ps);
        graph_backward(&g, op_cross_entropy(&g, op_linear(&g, &xt, W, bias), ytr));
        graph_reset(&g);
        params_adamw_step(&ps, &adam, 0.05, t, 1);
    }
    g.record_grad = 0;
    tensor xe = tensor_view(zte, NULL, 2, (int[]){(int)nte, C});
    tensor *z = op_linear(&g, &xe, W, bias);
    for (int li = 0; li < lens->n; li++) { acc[li] = 0; mad[li] = 0; count[li] = 0; }
    for (size_t i = 0; i < nte; i++) {
        int best = argmax_real(z->data + i * K, K);
        for (int li = 0; li < lens->n; li++)
            if (lens->v[li] == lte[i]) {
                acc[li] += best == yte[i];
                mad[li] += abs(best - yte[i]);
                count[li]++;
            }
    }
    for (int li = 0; li < lens->n; li++) if (count[li]) { acc[li] /= count[li]; mad[li] /= count[li]; }
    arena_free(&ar);
    params_free(&ps);
    free(ztr); free(zte); free(mu); free(sd);
}

err_kind layerprobe_run(const char *dir, const layerprobe_opts *o, const char *out_path, char *err, size_t errlen) {
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    checkpoint_info info;
    model m;
    if (checkpoint_load(path, &info, &m, err, errlen)) return ERR_IO;   /* unreadable, corrupt or too large: exit 1 */
    int_list lens = o->lens.n ? o->lens : m.cfg.eval_lens;
    int K = 0, L = m.L;
    /* probed on teacher-forced sequences with the training positions */
    if (run_check_lengths(&m, lens.v, lens.n, lens.n, err, errlen)) { model_free(&m); return ERR_USAGE; }
    for (int i = 0; i < lens.n; i++) {
        int T = layout_seq_len(&m.lo, lens.v[i]);
        if (T > K) K = T;
    }
    dataset tr = {xcalloc((size_t)L + 1, sizeof(real *)), NULL, NULL, 0, 0};
    dataset te = {xcalloc((size_t)L + 1, sizeof(real *)), NULL, NULL, 0, 0};
    unsigned long seed = o->seed >= 0 ? (unsigned long)o->seed : config_stream_seed(&m.cfg, -1, STREAM_LAYERPROBE);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (int i = 0; i < lens.n; i++) {
        dataset_add(&tr, &m, lens.v[i], o->train_size, r, L);
        dataset_add(&te, &m, lens.v[i], o->test_size, r, L);
    }
    gsl_rng_free(r);
    csv_out w;
    int rc = csv_out_open_or_stdout(&w, out_path, err, errlen);
    if (!rc) {
        static const char *const header[] = {"run_id", "layer", "length", "probe_acc", "mean_abs_dist", "n_tokens", NULL};
        csv_out_header(&w, header);
        double *acc = xmalloc(sizeof(double) * (size_t)lens.n), *mad = xmalloc(sizeof(double) * (size_t)lens.n);
        long *cnt = xmalloc(sizeof(long) * (size_t)lens.n);
        progress pr;
        progress_start(&pr, "posprobe layerprobe", L + 1, o->quiet, m.cfg.progress_every);
        progress_delay(&pr, 3);
        for (int l = 0; l <= L; l++) {
            fit_and_score(tr.feats[l], tr.labels, tr.n, te.feats[l], te.labels, te.lens_of, te.n, m.C, K, o->steps,
                          seed + (unsigned long)l, &lens, acc, mad, cnt);
            for (int li = 0; li < lens.n; li++) {
                csv_out_str(&w, m.cfg.run_id);
                csv_out_int(&w, l);
                csv_out_int(&w, lens.v[li]);
                csv_out_real(&w, acc[li]);
                csv_out_real(&w, mad[li]);
                csv_out_int(&w, cnt[li]);
                csv_out_end_row(&w);
            }
            progress_count(&pr, l + 1, "layers");
        }
        free(acc); free(mad); free(cnt);
        rc = csv_out_finish(&w, 0, err, errlen);
        progress_end(&pr, rc ? "failed" : "finished");
    }
    dataset_free(&tr, L);
    dataset_free(&te, L);
    model_free(&m);
    return rc ? ERR_IO : ERR_NONE;
}
