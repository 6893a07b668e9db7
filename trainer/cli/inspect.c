/* Bias matrices, decay curves, rotated vectors and sampled positions. */
#include "errors.h"
#include "memory.h"
#include "inspect.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "csvio.h"
#include "curves.h"
#include "model.h"

/* A randomly initialised model of c on the constant probe input. */
static int setup(const run_config *cfg, model *m, batch *b, char *err, size_t errlen) {
    run_config c = *cfg;
    snprintf(c.task, sizeof c.task, "probe");
    c.len_min = c.len_max = c.len;
    c.eval_lens.n = 0;
    char msg[512];
    if (config_validate(&c, msg, sizeof msg) || model_build(m, &c, c.len, msg, sizeof msg)) {
        model_free(m);
        return errorf(err, errlen, "%s", msg);
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, config_stream_seed(&c, c.seed_init, STREAM_INIT));
    model_init_params(m, r);
    batch_alloc(b, 1, layout_seq_len(&m->lo, c.len));
    layout_fill(&m->lo, b, c.len, r, POS_SEQUENTIAL, c.max_pos, r);
    gsl_rng_free(r);
    if (model_check_positions(m, b->T, b->pos, msg, sizeof msg)) {
        batch_free(b);
        model_free(m);
        return errorf(err, errlen, "%s", msg);
    }
    return 0;
}

/* Pre-normalizer scores of every layer: layer, head, query, key, offset, value. */
static int inspect_bias(const run_config *c, csv_out *w, char *err, size_t errlen) {
    model m;
    batch b;
    if (setup(c, &m, &b, err, errlen)) return -1;
    tensor **logits = xcalloc((size_t)m.L, sizeof *logits);
    m.logits = logits;
    arena ar;
    model_forward_frozen(&m, &ar, &b);
    static const char *const header[] = {"layer", "head", "query", "key", "offset", "value", NULL};
    csv_out_header(w, header);
    int T = b.T;
    for (int l = 0; l < m.L; l++)
        for (int h = 0; h < m.H; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) {
                    csv_out_int(w, l);
                    csv_out_int(w, h);
                    csv_out_int(w, b.pos[i]);
                    csv_out_int(w, b.pos[j]);
                    csv_out_int(w, b.pos[i] - b.pos[j]);
                    csv_out_real(w, logits[l]->data[((size_t)h * T + i) * T + j]);
                    csv_out_end_row(w);
                }
    free(logits);
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    return 0;
}

static int is_rotation(const encoding_def *e) { return e->where == ENC_AT_ROTATION; }

/* decay: the articles' curves for rotations and sinusoids (d = --dim), and the
 * head-mean score at query n-1 against key n-1-r for the bias encodings. */
static int inspect_decay(const run_config *c, csv_out *w, char *err, size_t errlen) {
    const encoding_def *e = encoding_find(c->encoding);
    int d = c->dim;
    rope_schedule sched = model_enc_options(c).rope_schedule;
    if (is_rotation(e)) {
        static const char *const header[] = {"distance", "rope_decay_bound", NULL};
        csv_out_header(w, header);
        for (int r = 0; r <= c->len; r++) {
            csv_out_int(w, r);
            csv_out_real(w, curve_rope_decay_bound(d, r, c->rope_base, sched));
            csv_out_end_row(w);
        }
        return 0;
    }
    if (strcmp(e->name, "sinusoidal") == 0 || strcmp(e->name, "multiplicative") == 0) {
        static const char *const header[] = {"distance", "inner_product", "integral_approximation", NULL};
        csv_out_header(w, header);
        for (int r = 0; r <= c->len; r++) {
            csv_out_int(w, r);
            csv_out_real(w, curve_sinusoid_inner(d, r, c->rope_base, sched));
            csv_out_real(w, d / 2 * curve_sinusoid_integral(r, c->rope_base, sched));
            csv_out_end_row(w);
        }
        return 0;
    }
    if (!e->scores) return errorf(err, errlen, "inspect --what decay: encoding '%s' has no decay curve", e->name);
    model m;
    batch b;
    if (setup(c, &m, &b, err, errlen)) return -1;
    tensor *logits[64];
    if (m.L > 64) m.L = 64;
    m.logits = logits;
    arena ar;
    model_forward_frozen(&m, &ar, &b);
    static const char *const header[] = {"distance", "mean_score", NULL};
    csv_out_header(w, header);
    int T = b.T, i = T - 1;
    for (int r = 0; r <= i; r++) {
        double s = 0;
        for (int h = 0; h < m.H; h++) s += logits[0]->data[((size_t)h * T + i) * T + (i - r)];
        csv_out_int(w, r);
        csv_out_real(w, s / m.H);
        csv_out_end_row(w);
    }
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    return 0;
}

/* rotation: the vector (1, 0, 1, 0, ...)/sqrt(D/2) as the query at each position. */
static int inspect_rotation(const run_config *c, csv_out *w, char *err, size_t errlen) {
    const encoding_def *e = encoding_find(c->encoding);
    if (!e->rotate || !is_rotation(e))
        return errorf(err, errlen, "inspect --what rotation: encoding '%s' rotates nothing", e->name);
    model m;
    batch b;
    if (setup(c, &m, &b, err, errlen)) return -1;
    arena ar;
    arena_init(&ar, 0);
    graph g;
    graph_init(&g, &ar, 0);
    int T = b.T, D = m.D;
    tensor *q = tensor_new3(&g, 1, T, D, 0), *k = tensor_new3(&g, 1, T, D, 0), *v = tensor_new3(&g, 1, T, D, 0);
    for (size_t x = 0; x < q->n; x++) q->data[x] = k->data[x] = v->data[x] = (real)((x % 2) ? 0 : 1 / sqrt(D / 2.0));
    positions pos = {.T = T, .B = 1, .q0 = 0, .Tq = T, .tokens = b.tokens, .p = b.pos, .x = NULL, .y = NULL};
    e->rotate(m.enc_state, &g, 0, &q, &k, &v, &pos);
    static const char *const header[] = {"position", "dim", "value", NULL};
    csv_out_header(w, header);
    for (int t = 0; t < T; t++)
        for (int dd = 0; dd < D; dd++) {
            csv_out_int(w, b.pos[t]);
            csv_out_int(w, dd);
            csv_out_real(w, q->data[(size_t)t * D + dd]);
            csv_out_end_row(w);
        }
    arena_free(&ar);
    batch_free(&b);
    model_free(&m);
    return 0;
}

/* positions: the ids of `draws` batches as --positions samples them. */
static int inspect_positions(const run_config *c, int draws, csv_out *w, char *err, size_t errlen) {
    model m;
    batch b;
    if (setup(c, &m, &b, err, errlen)) return -1;
    pos_kind pk = c->positions;
    if (pk != POS_SEQUENTIAL && b.T > c->max_pos) {
        batch_free(&b);
        model_free(&m);
        return errorf(err, errlen, "%d positions do not fit below --max-pos %d", b.T, c->max_pos);
    }
    gsl_rng *data = gsl_rng_alloc(gsl_rng_mt19937), *pr = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(pr, config_stream_seed(c, c->seed_pos, STREAM_POS));
    static const char *const header[] = {"draw", "index", "position", NULL};
    csv_out_header(w, header);
    for (int dr = 0; dr < draws; dr++) {
        layout_fill(&m.lo, &b, c->len, data, pk, c->max_pos, pr);
        for (int t = 0; t < b.T; t++) {
            csv_out_int(w, dr);
            csv_out_int(w, t);
            csv_out_int(w, b.pos[t]);
            csv_out_end_row(w);
        }
    }
    gsl_rng_free(data);
    gsl_rng_free(pr);
    batch_free(&b);
    model_free(&m);
    return 0;
}

/* frequencies: a trained run's rotary frequencies (enc.theta, --rope-trainable 1)
 * against the values the run started from (8265, claim P4). */
err_kind inspect_frequencies(const char *dir, const char *out_path, char *err, size_t errlen) {
    char path[1200], msg[1500];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    checkpoint_info info;
    model m, m0;
    memset(&m, 0, sizeof m);
    memset(&m0, 0, sizeof m0);
    if (checkpoint_load(path, &info, &m, msg, sizeof msg)) return errorf_kind(err, errlen, ERR_IO, "%s", msg);   /* as in eval */
    const param_entry *fe = params_find(&m.ps, "enc.theta"), *ie = NULL;
    const tensor *fin = fe ? fe->t : NULL, *init = NULL;
    if (!fin) {
        model_free(&m);
        return errorf_kind(err, errlen, ERR_USAGE, "%s: no trained frequencies (a rotary encoding with --rope-trainable 1)", path);
    }
    /* the start: a model of the same config, initialised (the ladder does not depend on the seed) */
    if (model_build(&m0, &info.cfg, info.max_n, msg, sizeof msg)) {
        model_free(&m);
        model_free(&m0);
        return errorf_kind(err, errlen, ERR_USAGE, "%s: %s", path, msg);
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    model_init_params(&m0, r);
    gsl_rng_free(r);
    if ((ie = params_find(&m0.ps, "enc.theta"))) init = ie->t;
    csv_out w;
    err_kind rc = ERR_NONE;
    if (!init || init->n != fin->n) rc = errorf_kind(err, errlen, ERR_USAGE, "%s: enc.theta does not match its config", path);
    else if (csv_out_open_or_stdout(&w, out_path, err, errlen)) rc = ERR_IO;
    else {
        static const char *const header[] = {"pair", "theta_initial", "theta_final", "relative_change", NULL};
        csv_out_header(&w, header);
        for (size_t k = 0; k < fin->n; k++) {
            csv_out_int(&w, (int)k);
            csv_out_real(&w, init->data[k]);
            csv_out_real(&w, fin->data[k]);
            csv_out_real(&w, init->data[k] != 0 ? (fin->data[k] - init->data[k]) / fabs(init->data[k]) : NAN);
            csv_out_end_row(&w);
        }
        rc = csv_out_finish(&w, 0, err, errlen) ? ERR_IO : ERR_NONE;
    }
    model_free(&m);
    model_free(&m0);
    return rc;
}

err_kind inspect_run(const run_config *c, const char *what, int draws, const char *out_path, char *err, size_t errlen) {
    if (!encoding_find(c->encoding))
        return errorf_kind(err, errlen, ERR_USAGE, "unknown encoding '%s' (see: posprobe list encodings)", c->encoding);
    if (c->dim % (2 * c->heads))   /* rotations and sinusoids pair coordinates; heads split the width */
        return errorf_kind(err, errlen, ERR_USAGE, "--dim %d must be a multiple of 2 * --heads (%d)", c->dim, 2 * c->heads);
    csv_out w;
    if (csv_out_open_or_stdout(&w, out_path, err, errlen)) return ERR_IO;
    int rc;   /* -1: the request does not apply to this encoding or configuration */
    if (strcmp(what, "bias") == 0) rc = inspect_bias(c, &w, err, errlen);
    else if (strcmp(what, "decay") == 0) rc = inspect_decay(c, &w, err, errlen);
    else if (strcmp(what, "rotation") == 0) rc = inspect_rotation(c, &w, err, errlen);
    else if (strcmp(what, "positions") == 0) rc = inspect_positions(c, draws, &w, err, errlen);
    else rc = errorf(err, errlen, "--what must be bias, decay, rotation or positions, not '%s'", what);
    if (rc) {
        csv_out_finish(&w, rc, err, errlen);   /* nothing written: the temporary file goes */
        return ERR_USAGE;
    }
    return csv_out_finish(&w, 0, err, errlen) ? ERR_IO : ERR_NONE;
}
