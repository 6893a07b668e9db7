/* Constant-input diagnosis of position distinguishability. */
#include "diagnose.h"
#include "errors.h"
#include "memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "csvio.h"
#include "model.h"
#include "progress.h"
#include "run.h"

double diagnose_tolerance(void) { return sizeof(real) == sizeof(double) ? 1e-9 : 1e-4; }

static double norm2(const real *a, const real *b, int C) {
    double s = 0;
    for (int c = 0; c < C; c++) {
        double d = (double)a[c] - (b ? b[c] : 0);
        s += d * d;
    }
    return sqrt(s);
}

/* The probe configuration diagnose builds from cfg, validated: -1 with a
 * message for a configuration that cannot run (a usage error). */
static int diagnose_config(const run_config *cfg, run_config *c, char *err, size_t errlen) {
    *c = *cfg;
    snprintf(c->task, sizeof c->task, "probe");
    c->head = HEAD_AUTO;
    c->len_min = c->len_max = c->len;
    c->eval_lens.n = 0;
    char msg[1024];
    if (config_validate(c, msg, sizeof msg)) return errorf(err, errlen, "%s", msg);
    return 0;
}

/* diagnose_one, counting each seed's model into p (when not NULL) as *done;
 * ERR_INTERRUPTED when SIGINT or SIGTERM came (run_install_signal_handlers). */
static err_kind diagnose_seeds(const run_config *cfg, int seeds, diag_result *out, progress *p, int *done, char *err,
                               size_t errlen) {
    run_config c;
    if (diagnose_config(cfg, &c, err, errlen)) return ERR_USAGE;
    double tol = diagnose_tolerance();
    out->spread_min = INFINITY;
    out->spread_max = 0;
    out->mirror_max = 0;
    int n_ind = 0, n_mir = 0, n_dis = 0;
    for (int s = 1; s <= seeds; s++) {
        if (run_stop_requested()) return ERR_INTERRUPTED;
        c.seed = s;
        model m;
        if (model_build(&m, &c, c.len, err, errlen)) { model_free(&m); return ERR_USAGE; }
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, config_stream_seed(&c, c.seed_init, STREAM_INIT));
        model_init_params(&m, r);
        batch b;
        batch_alloc(&b, 1, layout_seq_len(&m.lo, c.len));
        layout_fill(&m.lo, &b, c.len, r, POS_SEQUENTIAL, c.max_pos, r);
        gsl_rng_free(r);
        tensor **hidden = xcalloc((size_t)m.L + 1, sizeof *hidden);
        m.hidden = hidden;
        arena ar;
        model_forward_frozen(&m, &ar, &b);
        const tensor *h = hidden[m.L];                              /* (1, T, C) */
        int C = m.C, n = 0;
        int *idx = xmalloc(sizeof(int) * (size_t)b.T);
        for (int t = 0; t < b.T; t++) if (b.weights[t] > 0) idx[n++] = t;   /* the identical tokens */
        real *mean = xcalloc((size_t)C, sizeof(real));
        double scale = 0;
        for (int i = 0; i < n; i++) {
            const real *hi = h->data + (size_t)idx[i] * C;
            for (int k = 0; k < C; k++) mean[k] += hi[k] / n;
            scale = fmax(scale, norm2(hi, NULL, C));
        }
        double spread = 0, mirror = 0;
        for (int i = 0; i < n; i++) {
            const real *hi = h->data + (size_t)idx[i] * C, *hm = h->data + (size_t)idx[n - 1 - i] * C;
            spread = fmax(spread, norm2(hi, mean, C));
            mirror = fmax(mirror, norm2(hi, hm, C));
        }
        int finite = isfinite(spread) && isfinite(mirror) && isfinite(scale);
        spread = scale > 0 ? spread / scale : 0;
        mirror = scale > 0 ? mirror / scale : 0;
        if (!finite) { spread = NAN; mirror = NAN; }
        out->spread_min = fmin(out->spread_min, spread);
        out->spread_max = fmax(out->spread_max, spread);
        out->mirror_max = fmax(out->mirror_max, mirror);
        if (!finite) n_dis += 0;
        else if (spread < tol) n_ind++;
        else if (mirror < tol) n_mir++;
        else n_dis++;
        free(mean);
        free(idx);
        free(hidden);
        arena_free(&ar);
        batch_free(&b);
        model_free(&m);
        if (p) progress_count(p, ++*done, "models");
        if (!finite) {   /* the remaining seeds are not run: counted as done */
            if (p) progress_count(p, *done += seeds - s, "models");
            out->verdict = "non-finite";
            return 0;
        }
    }
    out->verdict = n_ind == seeds ? "indistinguishable" : n_mir == seeds ? "mirror-tied" : n_dis == seeds ? "distinguishable" : "mixed";
    return 0;
}

int diagnose_one(const run_config *c, int seeds, diag_result *out, char *err, size_t errlen) {
    return diagnose_seeds(c, seeds, out, NULL, NULL, err, errlen) ? -1 : 0;
}

const char *diagnose_expected(const run_config *c) {
    const encoding_def *e = encoding_find(c->encoding);
    if (!e) return NULL;
    /* rows sum to 1: softmax, and linear attention whose denominator is its numerator's row sum (8265) */
    int stochastic = c->norm == NORM_SOFTMAX || c->norm == NORM_LOGSCALED || c->norm == NORM_LINEAR ||
                     c->norm == NORM_COS1;
    /* rows need not sum to 1, no sign cut; linear-num divides by the un-rotated sum */
    int free_norm = c->norm == NORM_L2 || c->norm == NORM_NODENOM || c->norm == NORM_LINEAR_NUM;
    int bidir = c->mask == MASK_BIDIR, no_markers = c->markers == MARK_NONE;
    int absolute_input = e->where == ENC_AT_INPUT;
    int value_side = (e->flags & ENC_VALUE_SIDE) != 0;
    /* --alibi-asym gives ALiBi separate left and right slopes: no longer symmetric */
    int symmetric = (e->flags & ENC_SYMMETRIC) && !(strcmp(e->name, "alibi") == 0 && c->alibi_asym);
    if (absolute_input || value_side) return "distinguishable";               /* R2, R3, R7, 8130 (k) */
    int is_none = e->where == ENC_AT_NONE;
    if (is_none && bidir) return "indistinguishable";                         /* every row sees the same keys */
    if (no_markers && stochastic) return "indistinguishable";                 /* R1 */
    if (no_markers && bidir && free_norm) {
        if (e->flags & ENC_DIRECTIONAL) return "distinguishable";             /* R4, R5 */
        if (symmetric) return "mirror-tied";                                   /* R10 */
    }
    if (!no_markers && stochastic && !is_none) return "distinguishable";     /* R6 */
    if (is_none && !bidir && c->markers == MARK_BOS && stochastic)
        return "distinguishable";                                              /* 9105: causal + BOS */
    return NULL;
}

static const char *const HEADER[] = {"encoding", "norm", "mask", "markers", "length", "seeds", "spread_min",
                                     "spread_max", "mirror_max", "tolerance", "verdict", "expected", "agrees", NULL};

static void write_row(csv_out *w, const run_config *c, int seeds, const diag_result *r) {
    const char *exp = diagnose_expected(c);
    csv_out_str(w, c->encoding);
    csv_out_str(w, attn_norm_name(c->norm));
    csv_out_str(w, config_choice_name("mask", c->mask));
    csv_out_str(w, config_choice_name("markers", c->markers));
    csv_out_int(w, c->len);
    csv_out_int(w, seeds);
    csv_out_real(w, r->spread_min);
    csv_out_real(w, r->spread_max);
    csv_out_real(w, r->mirror_max);
    csv_out_real(w, diagnose_tolerance());
    csv_out_str(w, r->verdict);
    csv_out_str(w, exp ? exp : "");
    csv_out_str(w, exp ? (strcmp(exp, r->verdict) == 0 ? "yes" : "no") : "");
    csv_out_end_row(w);
}

/* The k-th configuration of diagnose_run in c: the base one, or with all the
 * k-th of encoding x normalizer x mask x markers (encodings defined for the
 * causal mask only without bidir, linear-attention normalizers only with the
 * encodings they take); 0 when k is past the last. */
static int nth_config(const run_config *base, int all, int k, run_config *c) {
    *c = *base;
    if (!all) return k == 0;
    for (int e = 0; encoding_at(e); e++)
        for (int nm = 0; nm < NORM_COUNT; nm++)
            for (int mk = 0; mk < 2; mk++)
                for (int mr = 0; mr < 3; mr++) {
                    if ((encoding_at(e)->flags & ENC_CAUSAL_ONLY) && mk == 0) continue;
                    if (!model_norm_accepts(encoding_at(e), (attn_norm)nm)) continue;   /* linear attention */
                    if (k-- > 0) continue;
                    snprintf(c->encoding, sizeof c->encoding, "%s", encoding_at(e)->name);
                    c->norm = (attn_norm)nm;
                    c->mask = (attn_mask)mk;
                    c->markers = (marker_kind)mr;
                    return 1;
                }
    return 0;
}

err_kind diagnose_run(const run_config *base, int all, int seeds, const char *out_path, char *err, size_t errlen) {
    run_config c;
    int n = 0, k, done = 0;
    err_kind rc = ERR_NONE;
    while (nth_config(base, all, n, &c)) n++;
    for (k = 0; k < n; k++) {   /* every configuration checked before any output is opened */
        run_config checked;
        nth_config(base, all, k, &c);
        if (diagnose_config(&c, &checked, err, errlen)) return ERR_USAGE;
        model m;
        int bad = model_build(&m, &checked, checked.len, err, errlen) || run_check_lengths(&m, &checked.len, 1, 1, err, errlen);
        model_free(&m);
        if (bad) return ERR_USAGE;
    }
    csv_out w;
    if (csv_out_open_or_stdout(&w, out_path, err, errlen)) return ERR_IO;
    csv_out_header(&w, HEADER);
    progress p;
    progress_start(&p, "posprobe diagnose", n * seeds, base->quiet, base->progress_every);
    for (k = 0; k < n && !rc; k++) {
        diag_result r;
        nth_config(base, all, k, &c);
        if (!(rc = diagnose_seeds(&c, seeds, &r, &p, &done, err, errlen))) write_row(&w, &c, seeds, &r);
    }
    if (rc == ERR_INTERRUPTED)   /* its one line, as a failure's is its error */
        snprintf(err, errlen, "diagnose: interrupted after %d of %d configurations; %.1000s%s", k - 1, n,
                 w.to_stdout || w.through ? "their rows are written" : w.path, w.to_stdout || w.through ? "" : " not written");
    rc = err_kind_of_io(csv_out_finish(&w, (int)rc, err, errlen));
    if (rc == ERR_NONE) progress_end(&p, "finished");   /* only once the rows are in place */
    return rc;
}
