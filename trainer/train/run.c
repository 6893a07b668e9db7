/* Training, evaluation and the run directory. */
#include "errors.h"
#include "memory.h"
#include "run.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <gsl/gsl_rng.h>

#include "checkpoint.h"
#include "decode.h"
#include "progress.h"
#include "rundir.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

int run_stop_requested(void) { return stop_requested; }

void run_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static gsl_rng *stream(unsigned long seed) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

/* Positions in evaluation: the training's kind, or 0..n-1 with --eval-positions sequential. */
static pos_kind eval_pos_kind(const run_config *c) {
    return c->eval_positions == EVAL_POS_SEQUENTIAL ? POS_SEQUENTIAL : c->positions;
}

static int max_int(int a, int b) { return a > b ? a : b; }

/* Randomized and shifted positions are drawn once per batch, so a held-out
 * length evaluated as one batch would rest on a single draw (one unlucky draw
 * decided whether a run had fitted). */
int run_eval_sub_batch(const run_config *c) {
    int chunk = c->eval_size < 64 ? c->eval_size : 64;
    int per_draw = (c->eval_size + RUN_EVAL_POSITION_DRAWS - 1) / RUN_EVAL_POSITION_DRAWS;
    return eval_pos_kind(c) != POS_SEQUENTIAL && per_draw < chunk ? per_draw : chunk;
}

static int run_max_n(const run_config *c) {
    int n = c->len_max;
    for (int i = 0; i < c->eval_lens.n; i++) n = max_int(n, c->eval_lens.v[i]);
    return n;
}

/* Options on one line of train --check-stdin. */
#define CONFIG_MAX_LINE_WORDS 256

/* ---------------------------------------------------------- evaluation */

/* Scores one forward output: token counts and per-sequence exact matches. */
static void score_batch(const model *m, const batch *b, const tensor *out, long *tok_ok, long *tok_n, long *seq_ok) {
    int K = m->K;
    for (int s = 0; s < b->B; s++) {
        int all = 1, any = 0;
        for (int t = 0; t < b->T; t++) {
            size_t i = (size_t)s * b->T + t;
            if (b->weights[i] == 0) continue;
            int ok;
            if (m->lo.regression) {
                ok = fabs((double)out->data[i] - b->values[i]) < 0.5;
            } else {
                ok = argmax_real(out->data + i * (size_t)K, K) == b->targets[i];
            }
            *tok_ok += ok;
            (*tok_n)++;
            all &= ok;
            any = 1;
        }
        if (any) *seq_ok += all;
    }
}

static double scored_weight(const batch *b) {
    double w = 0;
    for (size_t i = 0; i < (size_t)b->B * b->T; i++) w += b->weights[i];
    return w;
}

/* Teacher forcing with [EOS]: is the first [EOS] argmax of sequence s at the
 * gold answer's end? (The length the model would give the answer.) */
static int teacher_length_ok(const model *m, const batch *b, const tensor *out, int s) {
    for (int j = 0; j <= b->answer_len; j++) {
        const real *z = out->data + ((size_t)s * b->T + (size_t)(b->answer_at + j)) * (size_t)m->K;
        if (argmax_real(z, m->K) == m->lo.eos_class) return j == b->answer_len;
    }
    return 0;
}

static void write_eval_row(csv_out *w, const char *run_id, int step, int len, const char *mode, double loss,
                           double tok, double seq, double length_acc, int n_seq) {
    csv_out_str(w, run_id);
    csv_out_int(w, step);
    csv_out_int(w, len);
    csv_out_str(w, mode);
    csv_out_real(w, loss);
    csv_out_real(w, tok);
    csv_out_real(w, seq);
    if (isnan(length_acc)) csv_out_str(w, "");           /* the layout fixes the answer length */
    else csv_out_real(w, length_acc);
    csv_out_int(w, n_seq);
    csv_out_end_row(w);
}

static const char *const EVAL_HEADER[] = {"run_id", "step", "length", "eval_mode", "loss", "token_acc", "seq_acc",
                                          "length_acc", "n_sequences", NULL};

int run_fit_lens(const run_config *c, int_list *out) {
    int span = c->len_max - c->len_min + 1, n = span < RUN_MAX_FIT_LENS ? span : RUN_MAX_FIT_LENS;
    out->n = 0;
    for (int i = 0; i < n; i++) {
        int v = n == 1 ? c->len_max : c->len_min + (int)((long)(span - 1) * i / (n - 1));
        if (!out->n || out->v[out->n - 1] != v) out->v[out->n++] = v;
    }
    return out->n;
}

int run_final_lens(const run_config *c, int_list *out, char *err, size_t errlen) {
    int_list fit;
    run_fit_lens(c, &fit);
    int i = 0, j = 0;
    out->n = 0;
    while (i < c->eval_lens.n || j < fit.n) {   /* merge two sorted lists */
        int a = i < c->eval_lens.n ? c->eval_lens.v[i] : 1 << 30, b = j < fit.n ? fit.v[j] : 1 << 30;
        int v = a < b ? a : b;
        if (out->n == CONFIG_MAX_LENS)
            return errorf(err, errlen, "--eval-lens and the training lengths together exceed %d lengths", CONFIG_MAX_LENS);
        out->v[out->n++] = v;
        i += a == v;
        j += b == v;
    }
    return 0;
}

double eval_mean(double sum, int n) { return n ? sum / n : 0; }

int run_evaluate(model *m, const int_list *lens, int step, const char *run_id, csv_out *w, eval_totals *tot,
                 arena *scratch, progress *prog, char *err, size_t errlen) {
    if (lens->n == 0) return 0;   /* e.g. after a stop at fit when the evaluation lengths are the fit lengths */
    const run_config *c = &m->cfg;
    const layout *lo = &m->lo;
    pos_kind pk = eval_pos_kind(c);
    int chunk = run_eval_sub_batch(c);
    int max_T = 0, max_cap = 1;
    int decoding = lo->form == FORM_DECODER;
    for (int i = 0; i < lens->n; i++) {
        if (layout_check_len(lo, lens->v[i], err, errlen)) return -1;
        max_T = max_int(max_T, layout_seq_len(lo, lens->v[i]));
        if (decoding) {
            max_T = max_int(max_T, layout_decode_rows(lo, lens->v[i]));
            max_cap = max_int(max_cap, layout_decode_cap(lo, lens->v[i]));
        }
    }
    batch b;
    batch_alloc(&b, chunk, max_T);
    decoder dec;
    if (decoding) decoder_init(&dec, m, chunk, max_T, max_cap, c->decode);
    arena own, *ar = scratch ? scratch : &own;   /* a caller's arena keeps its pages from one evaluation to the next */
    if (!scratch) arena_init(&own, 1 << 20);
    graph g;
    graph_init(&g, ar, 0);
    int rc = 0;
    for (int li = 0; li < lens->n && !rc; li++) {
        int n = lens->v[li];
        /* a fixed held-out set per length: the same at every evaluation step */
        gsl_rng *dr = stream(config_stream_seed(c, c->seed_eval, STREAM_EVAL) + 1000003UL * (unsigned long)n);
        gsl_rng *pr = stream(config_stream_seed(c, c->seed_eval, STREAM_EVAL_POS) + 1000003UL * (unsigned long)n);
        long tok_ok = 0, tok_n = 0, seq_ok = 0, len_ok = 0;
        answer_score gs = {0, 0, 0, 0, 0};
        double loss_sum = 0, loss_w = 0;
        for (int done = 0; done < c->eval_size && !rc; done += chunk) {
            b.B = c->eval_size - done < chunk ? c->eval_size - done : chunk;
            b.decode_rows = decoding ? layout_decode_rows(lo, n) : 0;
            layout_fill(lo, &b, n, dr, pk, c->max_pos, pr);
            if (model_check_positions(m, b.pos_rows, b.pos, err, errlen)) { rc = -1; break; }
            tensor *out = model_forward(m, &g, &b, 0);
            tensor *loss = model_loss(m, &g, &b, out);
            double wsum = scored_weight(&b);
            loss_sum += (double)loss->data[0] * wsum;
            loss_w += wsum;
            score_batch(m, &b, out, &tok_ok, &tok_n, &seq_ok);
            if (lo->eos)
                for (int s = 0; s < b.B; s++) len_ok += teacher_length_ok(m, &b, out, s);
            graph_reset(&g);
            if (decoding) {
                decoder_run(&dec, m, &g, &b);
                for (int s = 0; s < b.B; s++)
                    answer_score_add(&gs, dec.gen + (size_t)s * dec.max_cap, dec.len[s], dec.stopped[s],
                                     b.answer + (size_t)s * b.answer_len, b.answer_len, lo->eos);
            }
        }
        gsl_rng_free(dr);
        gsl_rng_free(pr);
        if (rc) break;
        double loss = loss_w > 0 ? loss_sum / loss_w : 0;
        double tacc = tok_n ? (double)tok_ok / tok_n : 0, sacc = (double)seq_ok / c->eval_size;
        double lacc = lo->eos ? (double)len_ok / c->eval_size : NAN;
        write_eval_row(w, run_id, step, n, decoding ? "teacher" : "parallel", loss, tacc, sacc, lacc, c->eval_size);
        if (decoding) {
            /* loss is the teacher-forced loss: greedy decoding has no likelihood of its own */
            tacc = gs.tok_n ? (double)gs.tok_ok / gs.tok_n : 0;
            sacc = (double)gs.exact / c->eval_size;
            lacc = lo->eos ? (double)gs.length_ok / c->eval_size : NAN;
            write_eval_row(w, run_id, step, n, "greedy", loss, tacc, sacc, lacc, c->eval_size);
        }
        tot->token_acc_sum += tacc;
        tot->seq_acc_sum += sacc;
        tot->n_lengths++;
        if (n >= c->len_min && n <= c->len_max) { tot->fit_seq_acc_sum += sacc; tot->n_fit_lengths++; }
        if (prog) progress_count(prog, li + 1, "lengths");
    }
    if (scratch) arena_reset(scratch);
    else arena_free(&own);
    batch_free(&b);
    if (decoding) decoder_free(&dec);
    return rc;
}

/* ------------------------------------------------------------ training */

static int sample_length(const run_config *c, int step, gsl_rng *r) {
    len_sampling_kind s = c->len_sampling;
    int lo = c->len_min, hi = c->len_max;
    if (s == LEN_FIXED || (s == LEN_AUTO && lo == hi)) return hi;
    if (s == LEN_CURRICULUM) /* uniform on [lo, cur], cur growing linearly to hi */
        hi = lo + (int)((double)(hi - lo) * step / (c->steps > 1 ? c->steps : 1) + 0.5);
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

static double lr_at(const run_config *c, int step) {
    if (c->warmup > 0 && step <= c->warmup) return c->lr * step / c->warmup;
    double p = (double)(step - c->warmup) / (c->steps - c->warmup > 0 ? c->steps - c->warmup : 1);
    double lo = c->lr * c->lr_min_ratio;
    if (c->schedule == SCHED_COSINE) return lo + (c->lr - lo) * 0.5 * (1 + cos(M_PI * p));
    if (c->schedule == SCHED_LINEAR) return c->lr + (lo - c->lr) * p;
    return c->lr;
}

static double grad_norm(const param_store *ps) { return sqrt(dot_real_d(ps->grad, ps->grad, (int)ps->n)); }

step_result run_step(model *m, graph *g, const batch *b, int step) {
    step_result r = {0, NAN, 0, 0, 0};
    params_zero_grad(&m->ps);
    tensor *out = model_forward(m, g, b, 1);
    tensor *loss = model_loss(m, g, b, out);
    long ok = 0, cnt = 0, seq = 0;
    score_batch(m, b, out, &ok, &cnt, &seq);
    r.loss = loss->data[0];
    r.token_acc = cnt ? (double)ok / cnt : 0;
    if (isfinite(r.loss)) {
        graph_backward(g, loss);
        r.grad_norm = grad_norm(&m->ps);
    }
    graph_reset(g);
    if (!isfinite(r.loss) || !isfinite(r.grad_norm)) {
        r.diverged = 1;
        return r;
    }
    const run_config *c = &m->cfg;
    double scale = c->clip > 0 && r.grad_norm > c->clip ? c->clip / r.grad_norm : 1;
    r.lr = lr_at(c, step);
    const adamw_opts adam = {c->beta1, c->beta2, c->eps, c->wd};
    params_adamw_step(&m->ps, &adam, r.lr, step, scale);
    return r;
}

/* One "key,value" row of config.csv, the value formatted like printf. */
__attribute__((format(printf, 3, 4))) static void config_row(csv_out *w, const char *key, const char *fmt, ...) {
    char value[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    csv_out_str(w, key);
    csv_out_str(w, value);
    csv_out_end_row(w);
}

static int write_config_csv(const model *m, const char *path, int max_n, char *err, size_t errlen) {
    csv_out w;
    if (csv_out_open(&w, path, err, errlen)) return -1;
    static const char *const header[] = {"key", "value", NULL};
    csv_out_header(&w, header);
    const char *name;
    char value[4096];
    for (int i = 0; config_option(&m->cfg, i, &name, value, sizeof value); i++) config_row(&w, name, "%s", value);
    const run_config *c = &m->cfg;
    config_row(&w, "version", "%s", POSPROBE_VERSION);
    config_row(&w, "precision", "%s", REAL_NAME);
    config_row(&w, "blas", "%s", POSPROBE_BLAS_NAME);
    config_row(&w, "blas_kernel", "%s", blas_kernel_name());
    config_row(&w, "form", "%s", m->lo.form == FORM_DECODER ? "decoder" : "encoder");
    config_row(&w, "n_params", "%zu", m->ps.n);
    config_row(&w, "model_vocab", "%d", m->V);
    config_row(&w, "model_outputs", "%d", m->K);
    config_row(&w, "max_n", "%d", max_n);
    config_row(&w, "seed_init_used", "%lu", config_stream_seed(c, c->seed_init, STREAM_INIT));
    config_row(&w, "seed_data_used", "%lu", config_stream_seed(c, c->seed_data, STREAM_DATA));
    config_row(&w, "seed_pos_used", "%lu", config_stream_seed(c, c->seed_pos, STREAM_POS));
    config_row(&w, "seed_dropout_used", "%lu", config_stream_seed(c, c->seed_dropout, STREAM_DROPOUT));
    config_row(&w, "seed_eval_used", "%lu", config_stream_seed(c, c->seed_eval, STREAM_EVAL));
    return csv_out_commit(&w, err, errlen);
}

static const char *status_name(run_status s) {
    return s == RUN_DIVERGED ? "diverged" : s == RUN_INTERRUPTED ? "interrupted" : "finished";
}

static int write_summary(const char *path, const char *run_id, const run_result *r, const model *m, char *err,
                         size_t errlen) {
    csv_out w;
    if (csv_out_open(&w, path, err, errlen)) return -1;
    static const char *const header[] = {"run_id", "status", "steps_done", "diverged_step", "train_loss",
                                         "train_token_acc", "eval_token_acc", "eval_seq_acc", "fit_seq_acc", "fitted",
                                         "fit_step", "n_params", "train_s", "eval_s", "wall_s", NULL};
    csv_out_header(&w, header);
    csv_out_str(&w, run_id);
    csv_out_str(&w, status_name(r->status));
    csv_out_int(&w, r->steps_done);
    csv_out_int(&w, r->diverged_step);
    /* what was not measured stays empty: no step, no loss (a diverged one is the non-finite loss);
     * no final evaluation, no accuracies */
    int evaluated = r->status == RUN_FINISHED;
    if (r->steps_done || r->status == RUN_DIVERGED) { csv_out_real(&w, r->train_loss); csv_out_real(&w, r->train_acc); }
    else { csv_out_str(&w, ""); csv_out_str(&w, ""); }
    if (evaluated) {
        csv_out_real(&w, r->eval_token_acc);
        csv_out_real(&w, r->eval_seq_acc);
        csv_out_real(&w, r->fit_seq_acc);
        csv_out_int(&w, r->fitted);
    } else {
        for (int k = 0; k < 4; k++) csv_out_str(&w, "");
    }
    csv_out_int(&w, r->fit_step);
    csv_out_int(&w, (long)m->ps.n);
    csv_out_real(&w, r->train_s);
    csv_out_real(&w, r->eval_s);
    csv_out_real(&w, r->wall_s);
    csv_out_end_row(&w);
    return csv_out_commit(&w, err, errlen);
}

static void path_join(char *dst, size_t len, const char *dir, const char *file) {
    snprintf(dst, len, "%s/%s", dir, file);
}

/* Can the model take these lengths, and do their positions fit? Training
 * lengths (the first n_train) need positions for their sequence; evaluation
 * lengths in decoder form for prompt + cap - 1 rows, since greedy decoding runs
 * past the gold answer, and with the evaluation's own kind of positions. */
int run_check_lengths(const model *m, const int *lens, int n, int n_train, char *err, size_t errlen) {
    const run_config *c = &m->cfg;
    char msg[512];
    pos_kind train_pk = c->positions;
    pos_kind eval_pk = eval_pos_kind(c);
    for (int i = 0; i < n; i++) {
        if (layout_check_len(&m->lo, lens[i], msg, sizeof msg)) return errorf(err, errlen, "%s", msg);
        int T = layout_seq_len(&m->lo, lens[i]);
        pos_kind pk = i < n_train ? train_pk : eval_pk;
        int decoding = i >= n_train && m->lo.form == FORM_DECODER && layout_decode_rows(&m->lo, lens[i]) > T;
        if (decoding) T = layout_decode_rows(&m->lo, lens[i]);
        if ((pk != POS_SEQUENTIAL || (m->enc->flags & ENC_TABLE)) && T > c->max_pos)
            return errorf(err, errlen,
                        "length %d needs %d positions%s, more than --max-pos %d (%s)", lens[i], T,
                        decoding ? " (greedy decoding generates up to 2 m + 4 tokens)" : "", c->max_pos,
                        pk != POS_SEQUENTIAL ? "randomized/shifted positions are drawn below max-pos"
                                             : "the encoding's table has max-pos rows");
    }
    return 0;
}

/* Everything that can be wrong with a config, checked before anything is written. */
static err_kind check_run(model *m, const run_config *c, char *err, size_t errlen) {
    int_list eval;
    if (run_final_lens(c, &eval, err, errlen)) return ERR_USAGE;
    int lens[CONFIG_MAX_LENS + 2], n = 0;
    lens[n++] = c->len_min;
    lens[n++] = c->len_max;
    for (int i = 0; i < eval.n; i++) lens[n++] = eval.v[i];
    return run_check_lengths(m, lens, n, 2, err, errlen) ? ERR_USAGE : ERR_NONE;
}

/* What a checked configuration would run, in one line (train --check). */
static void describe_run(const model *m, char *what, size_t len) {
    const run_config *c = &m->cfg;
    model_memory e = model_memory_estimate(m, run_max_n(c));
    const char *limit_of;
    char total[32], limit[32], train[96], eval[512];
    memory_format(e.total, total, sizeof total);
    memory_format(memory_limit(&limit_of), limit, sizeof limit);
    if (c->len_min == c->len_max) snprintf(train, sizeof train, "%d", c->len_min);
    else
        snprintf(train, sizeof train, "%d-%d (%s)", c->len_min, c->len_max,
                 c->len_sampling == LEN_CURRICULUM ? "curriculum" : c->len_sampling == LEN_FIXED ? "fixed at the longest" : "uniform");
    int_list all;
    char msg[256];
    if (run_final_lens(c, &all, msg, sizeof msg)) all.n = 0;   /* checked before: cannot fail */
    int_list_format(&all, eval, sizeof eval);
    snprintf(what, len,
             "%s on %s (%s form, --mask %s, --norm %s): %zu parameters, about %s of memory (%s allowed), training "
             "lengths %s, evaluation lengths %s, %s%d steps of %d sequences%s%s",
             c->encoding, c->task, m->lo.form == FORM_DECODER ? "decoder" : "encoder", config_choice_name("mask", c->mask),
             config_choice_name("norm", c->norm), m->ps.n, total, limit, train, eval, c->stop_at_fit ? "at most " : "",
             c->steps, c->batch, c->stop_at_fit ? " (stops at fit)" : "",
             c->positions == POS_RANDOMIZED ? ", randomized positions" : c->positions == POS_SHIFTED ? ", shifted positions" : "");
}

err_kind run_check(const run_config *cfg_in, char *what, size_t what_len, char *err, size_t errlen) {
    run_config c = *cfg_in;
    if (config_validate(&c, err, errlen) || model_check_encoding_options(&c, err, errlen)) return ERR_USAGE;
    model m;
    if (model_build(&m, &c, run_max_n(&c), err, errlen)) { model_free(&m); return ERR_USAGE; }
    err_kind rc = check_run(&m, &c, err, errlen);
    if (!rc && c.out[0]) rc = rundir_check(&m.cfg, err, errlen);   /* would --out be refused? */
    if (!rc && what) describe_run(&m, what, what_len);
    model_free(&m);
    return rc;
}

err_kind run_check_lines(const run_config *base, FILE *in, int n, char *err, size_t errlen) {
    char *line = NULL, msg[1024];
    size_t cap = 0;
    int k = 0;
    err_kind rc = ERR_NONE;
    progress pr;
    progress_start(&pr, "posprobe train --check-stdin", n, base->quiet, base->progress_every);
    /* a model is built and freed for every line: blocks below 1 MiB are reused
     * from a heap that is not given back, larger ones are fresh mmaps never
     * touched here, so no line pays page faults for its parameters (malloc's
     * defaults made a small model's line 30x slower) */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    for (ssize_t len; !rc && k < n && (len = getline(&line, &cap, in)) >= 0;) {
        k++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (strlen(line) != (size_t)len) { rc = errorf_kind(err, errlen, ERR_USAGE, "stdin line %d: a NUL byte", k); break; }
        run_config c = *base;
        char *words[CONFIG_MAX_LINE_WORDS];
        int n_words = 0;
        for (char *save = NULL, *w = strtok_r(line, "\t", &save); w && !rc; w = strtok_r(NULL, "\t", &save)) {
            char *eq = strchr(w, '=');
            if (!eq || eq == w) { rc = errorf_kind(err, errlen, ERR_USAGE, "stdin line %d: '%.64s' is not key=value", k, w); break; }
            *eq = 0;
            for (int i = 0; i < n_words && !rc; i++)
                if (strcmp(words[i], w) == 0) rc = errorf_kind(err, errlen, ERR_USAGE, "stdin line %d: --%.64s is given twice", k, w);
            if (!rc && n_words == CONFIG_MAX_LINE_WORDS)
                rc = errorf_kind(err, errlen, ERR_USAGE, "stdin line %d: more than %d options", k, CONFIG_MAX_LINE_WORDS);
            if (!rc && config_set(&c, w, eq + 1, msg, sizeof msg)) rc = errorf_kind(err, errlen, ERR_USAGE, "stdin line %d: %s", k, msg);
            if (!rc) words[n_words++] = w;
        }
        err_kind bad = rc ? ERR_NONE : run_check(&c, NULL, 0, msg, sizeof msg);
        if (bad) rc = errorf_kind(err, errlen, bad, "stdin line %d: %s", k, msg);
        if (!rc) progress_count(&pr, k, "configurations");   /* a failure is its one error line */
    }
    free(line);
    if (!rc && ferror(in)) rc = errorf_kind(err, errlen, ERR_IO, "stdin: read error: %s", strerror(errno));
    if (!rc && k < n) rc = errorf_kind(err, errlen, ERR_USAGE, "stdin ends after %d of %d configurations", k, n);
    if (!rc && fgetc(in) != EOF) rc = errorf_kind(err, errlen, ERR_USAGE, "stdin has more than the %d configurations announced", n);
    if (!rc) progress_end(&pr, "all valid");
    return rc;
}

/* The lengths a run evaluates: all of them (--eval-lens and the fit lengths),
 * the fit lengths, and the rest (all without the fit ones), which follow when
 * a run stops at fit right after evaluating the fit lengths. */
typedef struct run_lens {
    int_list all, fit, rest;
} run_lens;

static void run_lens_of(const run_config *c, run_lens *l, char *err, size_t errlen) {
    run_final_lens(c, &l->all, err, errlen);     /* checked by check_run: cannot fail here */
    run_fit_lens(c, &l->fit);
    l->rest.n = 0;
    for (int i = 0, j = 0; i < l->all.n; i++) {
        while (j < l->fit.n && l->fit.v[j] < l->all.v[i]) j++;
        if (j >= l->fit.n || l->fit.v[j] != l->all.v[i]) l->rest.v[l->rest.n++] = l->all.v[i];
    }
}

static const char *const TRAIN_HEADER[] = {"run_id", "step", "length", "loss", "token_acc", "lr", "grad_norm",
                                           "elapsed_s", "tokens_per_s", NULL};

/* The latest evaluation on the progress lines: mean token accuracy and exact
 * match over the lengths evaluated (greedy decoding in decoder form). */
static void note_eval(progress *pr, int step, const eval_totals *tot) {
    char note[96];
    snprintf(note, sizeof note, "eval@%d acc %.3f exact %.3f", step, eval_mean(tot->token_acc_sum, tot->n_lengths),
             eval_mean(tot->seq_acc_sum, tot->n_lengths));
    progress_note(pr, note);
}

/* linear_attention.csv (linear-attention normalizers only): one row per logged step and layer, what
 * lin_stats measured on that step's training batch (results/README.md). */
static const char *const LINEAR_HEADER[] = {"run_id", "step", "length", "layer", "rows", "den_min", "ratio_min",
                                            "ratio_low", "ratio_neg", "weight_min", "weight_max", "abs_weight_max",
                                            "row_sum_min", "row_sum_max", NULL};

static void csv_out_real_or_empty(csv_out *w, double v) {
    if (isfinite(v)) csv_out_real(w, v);
    else csv_out_str(w, "");   /* nothing measured (no row had a nonzero un-rotated denominator) */
}

static void write_linear_rows(csv_out *w, const char *run_id, int step, int n, const lin_stats *ls, int L) {
    for (int l = 0; l < L; l++) {
        const lin_stats *s = &ls[l];
        double rows = s->rows > 0 ? (double)s->rows : 1;
        csv_out_str(w, run_id);
        csv_out_int(w, step);
        csv_out_int(w, n);
        csv_out_int(w, l);
        csv_out_int(w, s->rows);
        csv_out_real_or_empty(w, s->den_min);
        csv_out_real_or_empty(w, s->ratio_min);
        csv_out_real(w, s->ratio_low / rows);
        csv_out_real(w, s->ratio_neg / rows);
        csv_out_real_or_empty(w, s->weight_min);
        csv_out_real_or_empty(w, s->weight_max);
        csv_out_real_or_empty(w, s->abs_weight_max);
        csv_out_real_or_empty(w, s->row_sum_min);
        csv_out_real_or_empty(w, s->row_sum_max);
        csv_out_end_row(w);
    }
}

/* The training loop: steps until --steps, a stop at fit, a non-finite loss or
 * a signal (res->status), with an evaluation every --eval-every steps and the
 * final one; rows to train_w and eval_w, and with a linear-attention
 * normalizer to lin_w. -1 when an evaluation failed. */
static int train_loop(model *m, const run_config *c, const run_lens *lens, gsl_rng *data_rng, gsl_rng *pos_rng,
                      csv_out *train_w, csv_out *eval_w, csv_out *lin_w, run_result *res, char *err, size_t errlen) {
    batch b;
    batch_alloc(&b, c->batch, layout_seq_len(&m->lo, c->len_max));
    arena ar;
    arena_init(&ar, 1 << 20);
    graph g;
    graph_init(&g, &ar, 1);
    arena eval_ar;   /* every evaluation's activations: kept across evaluations, so their pages are touched once */
    arena_init(&eval_ar, 1 << 20);
    int log_every = c->steps > 500 ? c->steps / 500 : 1;
    progress pr;
    char label[160];
    snprintf(label, sizeof label, "posprobe %s", c->run_id);
    progress_start(&pr, label, c->steps, c->quiet, c->progress_every);
    double t0 = now_seconds(), last_t = t0;
    long tokens_since = 0;
    eval_totals tot;
    memset(&tot, 0, sizeof tot);
    res->status = RUN_FINISHED;
    res->fit_step = -1;
    int rc = 0, fit_now = 0;
    lin_stats *ls = lin_w ? xcalloc((size_t)m->L, sizeof *ls) : NULL;
    for (int step = 1; step <= c->steps; step++) {
        if (stop_requested) { res->status = RUN_INTERRUPTED; break; }
        double ts = now_seconds();
        int n = sample_length(c, step, data_rng);
        layout_fill(&m->lo, &b, n, data_rng, c->positions, c->max_pos, pos_rng);
        /* a step that may write a train.csv row: linear attention's statistics on its batch */
        int may_log = step % log_every == 0 || step == c->steps ||
                      (c->stop_at_fit && c->eval_every > 0 && step % c->eval_every == 0);
        if (ls && may_log) {
            for (int l = 0; l < m->L; l++) lin_stats_clear(&ls[l]);
            m->lin_stats = ls;
        }
        step_result st = run_step(m, &g, &b, step);
        m->lin_stats = NULL;   /* never in evaluation */
        res->train_s += now_seconds() - ts;
        res->train_loss = st.loss;
        res->train_acc = st.token_acc;
        if (st.diverged) {
            res->status = RUN_DIVERGED;
            res->diverged_step = step;
            fprintf(stderr, "posprobe: error: %s: non-finite %s at step %d; the run stops with status 'diverged'\n",
                    c->run_id, !isfinite(st.loss) ? "loss" : "gradient", step);
            break;
        }
        tokens_since += (long)b.B * b.T;
        res->steps_done = step;
        if (c->eval_every > 0 && step % c->eval_every == 0 && step != c->steps) {
            /* stopping at fit needs only the fit lengths; the rest follow if it stops here */
            double te = now_seconds();
            memset(&tot, 0, sizeof tot);
            if (run_evaluate(m, c->stop_at_fit ? &lens->fit : &lens->all, step, c->run_id, eval_w, &tot, &eval_ar, NULL,
                             err, errlen)) {
                rc = -1;
                break;
            }
            res->eval_s += now_seconds() - te;
            csv_out_flush(eval_w);
            fit_now = tot.n_fit_lengths && eval_mean(tot.fit_seq_acc_sum, tot.n_fit_lengths) >= c->fit_acc;
            note_eval(&pr, step, &tot);
            if (fit_now && res->fit_step < 0) res->fit_step = step;
        }
        int stop = c->stop_at_fit && fit_now;
        if (step % log_every == 0 || step == c->steps || stop) {
            double now = now_seconds();
            csv_out_str(train_w, c->run_id);
            csv_out_int(train_w, step);
            csv_out_int(train_w, n);
            csv_out_real(train_w, st.loss);
            csv_out_real(train_w, res->train_acc);
            csv_out_real_shortest(train_w, st.lr);   /* 0.003, not 0.0030000000000000001: the same double */
            csv_out_real(train_w, st.grad_norm);
            csv_out_real(train_w, now - t0);
            csv_out_real(train_w, tokens_since / (now - last_t > 0 ? now - last_t : 1e-9));
            csv_out_end_row(train_w);
            if (ls) write_linear_rows(lin_w, c->run_id, step, n, ls, m->L);
            last_t = now;
            tokens_since = 0;
        }
        progress_update(&pr, step, st.loss, res->train_acc);
        if (stop) break;
    }
    if (!rc && res->status == RUN_FINISHED) {
        /* the final evaluation, at the last step done; after a stop at fit the fit lengths were just evaluated */
        double te = now_seconds();
        int stopped = c->stop_at_fit && fit_now;
        if (!stopped) memset(&tot, 0, sizeof tot);
        if (run_evaluate(m, stopped ? &lens->rest : &lens->all, res->steps_done, c->run_id, eval_w, &tot, &eval_ar, NULL,
                         err, errlen))
            rc = -1;
        else
            note_eval(&pr, res->steps_done, &tot);
        res->eval_s += now_seconds() - te;
        res->eval_token_acc = eval_mean(tot.token_acc_sum, tot.n_lengths);
        res->eval_seq_acc = eval_mean(tot.seq_acc_sum, tot.n_lengths);
        res->fit_seq_acc = eval_mean(tot.fit_seq_acc_sum, tot.n_fit_lengths);
        res->fitted = res->fit_seq_acc >= c->fit_acc;
        if (res->fitted && res->fit_step < 0) res->fit_step = res->steps_done;
    }
    res->wall_s = now_seconds() - t0;
    progress_end(&pr, rc ? "failed" : status_name(res->status));
    batch_free(&b);
    arena_free(&ar);
    arena_free(&eval_ar);
    free(ls);
    return rc;
}

/* Validates c (a copy with its run id filled in), builds its model and claims
 * its run directory; the lock is held until the run's files are written. */
static err_kind run_prepare(run_config *c, model *m, int *lock, char *err, size_t errlen) {
    if (!c->out[0]) return errorf_kind(err, errlen, ERR_USAGE, "--out DIR is required");
    if (config_validate(c, err, errlen) || model_check_encoding_options(c, err, errlen)) return ERR_USAGE;
    if (!c->run_id[0]) {
        const char *slash = strrchr(c->out, '/');
        const char *base = slash && slash[1] ? slash + 1 : c->out;
        snprintf(c->run_id, sizeof c->run_id, "%.127s", base);
    }
    if (model_build(m, c, run_max_n(c), err, errlen)) { model_free(m); return ERR_USAGE; }
    err_kind k = check_run(m, c, err, errlen);
    if (!k) k = rundir_claim(&m->cfg, lock, err, errlen);
    if (k) model_free(m);
    return k;
}

err_kind run_train(const run_config *cfg_in, run_result *res, char *err, size_t errlen) {
    run_config c = *cfg_in;
    memset(res, 0, sizeof *res);
    model m;
    int lock;   /* held until the run's files are written: one writer per run directory */
    err_kind k = run_prepare(&c, &m, &lock, err, errlen);
    if (k) return k;
    int max_n = run_max_n(&c), rc = 0;
    char path[1200];
    path_join(path, sizeof path, c.out, "config.csv");
    if (write_config_csv(&m, path, max_n, err, errlen)) { model_free(&m); rundir_release(lock); return ERR_IO; }

    gsl_rng *init_rng = stream(config_stream_seed(&c, c.seed_init, STREAM_INIT));
    gsl_rng *data_rng = stream(config_stream_seed(&c, c.seed_data, STREAM_DATA));
    gsl_rng *pos_rng = stream(config_stream_seed(&c, c.seed_pos, STREAM_POS));
    model_init_params(&m, init_rng);
    gsl_rng_free(init_rng);

    csv_out train_w, eval_w, lin_w;
    int linear = attn_norm_is_linear(m.norm);
    path_join(path, sizeof path, c.out, "train.csv");
    if (csv_out_open(&train_w, path, err, errlen)) rc = -1;
    path_join(path, sizeof path, c.out, "eval.csv");
    if (!rc && csv_out_open(&eval_w, path, err, errlen)) { csv_out_abort(&train_w); rc = -1; }
    path_join(path, sizeof path, c.out, "linear_attention.csv");
    if (!rc && linear && csv_out_open(&lin_w, path, err, errlen)) { csv_out_abort(&train_w); csv_out_abort(&eval_w); rc = -1; }
    if (!rc) {
        csv_out_header(&train_w, TRAIN_HEADER);
        csv_out_header(&eval_w, EVAL_HEADER);
        if (linear) csv_out_header(&lin_w, LINEAR_HEADER);
        run_lens lens;
        run_lens_of(&c, &lens, err, errlen);
        rc = train_loop(&m, &c, &lens, data_rng, pos_rng, &train_w, &eval_w, linear ? &lin_w : NULL, res, err, errlen);
        if (rc) {
            csv_out_abort(&train_w);
            csv_out_abort(&eval_w);
            if (linear) csv_out_abort(&lin_w);
        } else if (csv_out_commit(&train_w, err, errlen)) {
            csv_out_abort(&eval_w);
            if (linear) csv_out_abort(&lin_w);
            rc = -1;
        } else if (csv_out_commit(&eval_w, err, errlen)) {
            if (linear) csv_out_abort(&lin_w);
            rc = -1;
        } else if (linear) {
            rc = csv_out_commit(&lin_w, err, errlen);
        }
    }
    if (!rc && res->status != RUN_DIVERGED) {
        path_join(path, sizeof path, c.out, "checkpoint.bin");
        rc = checkpoint_save(&m, max_n, res->steps_done, path, err, errlen);
    }
    if (!rc) {
        path_join(path, sizeof path, c.out, "summary.csv");
        rc = write_summary(path, c.run_id, res, &m, err, errlen);
    }
    gsl_rng_free(data_rng);
    gsl_rng_free(pos_rng);
    model_free(&m);
    rundir_release(lock);
    return rc ? ERR_IO : ERR_NONE;   /* every failure past the claim is in writing the run's files */
}

/* Attention weights of the first held-out sequence at length n. */
static int dump_attention(model *m, int n, const char *path, char *err, size_t errlen) {
    const run_config *c = &m->cfg;
    if (layout_check_len(&m->lo, n, err, errlen)) return -1;
    batch b;
    batch_alloc(&b, 1, layout_seq_len(&m->lo, n));
    gsl_rng *dr = stream(config_stream_seed(c, c->seed_eval, STREAM_EVAL) + 1000003UL * (unsigned long)n);
    gsl_rng *pr = stream(config_stream_seed(c, c->seed_eval, STREAM_EVAL_POS) + 1000003UL * (unsigned long)n);
    pos_kind pk = eval_pos_kind(c);
    layout_fill(&m->lo, &b, n, dr, pk, c->max_pos, pr);
    gsl_rng_free(dr);
    gsl_rng_free(pr);
    tensor **attn = xcalloc((size_t)m->L, sizeof *attn);
    m->attn = attn;
    arena ar;
    model_forward_frozen(m, &ar, &b);
    csv_out w;
    int rc = csv_out_open(&w, path, err, errlen);
    if (!rc) {
        static const char *const header[] = {"layer", "head", "query", "key", "query_token", "key_token", "weight", NULL};
        csv_out_header(&w, header);
        int T = b.T;
        for (int l = 0; l < m->L; l++)
            for (int h = 0; h < m->H; h++)
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) {
                        csv_out_int(&w, l);
                        csv_out_int(&w, h);
                        csv_out_int(&w, i);
                        csv_out_int(&w, j);
                        csv_out_int(&w, b.tokens[i]);
                        csv_out_int(&w, b.tokens[j]);
                        csv_out_real(&w, attn[l]->data[((size_t)h * T + i) * T + j]);
                        csv_out_end_row(&w);
                    }
        rc = csv_out_commit(&w, err, errlen);
    }
    m->attn = NULL;
    free(attn);
    arena_free(&ar);
    batch_free(&b);
    return rc;
}

err_kind run_eval_checkpoint(const char *dir, const int_list *lens, const char *out_path, const char *dump_path,
                        const char *decode, int quiet, char *err, size_t errlen) {
    char path[1200];
    path_join(path, sizeof path, dir, "checkpoint.bin");
    checkpoint_info info;
    model m;
    if (checkpoint_load(path, &info, &m, err, errlen)) return ERR_IO;   /* unreadable, corrupt or too large: exit 1 */
    if (decode && config_set(&m.cfg, "decode", decode, err, errlen)) { model_free(&m); return ERR_USAGE; }   /* how, not what */
    int_list own;   /* no lens: the run's own, every length it evaluated */
    if (!lens && run_final_lens(&m.cfg, &own, err, errlen)) { model_free(&m); return ERR_USAGE; }
    if (!lens) lens = &own;
    int max_n = 0;
    for (int i = 0; i < lens->n; i++) max_n = max_int(max_n, lens->v[i]);
    if (run_check_lengths(&m, lens->v, lens->n, 0, err, errlen) || model_check_memory(&m, max_n, err, errlen)) {
        model_free(&m);   /* before any output */
        return ERR_USAGE;
    }
    csv_out w;
    int rc = csv_out_open_or_stdout(&w, out_path, err, errlen);
    if (!rc) {
        csv_out_header(&w, EVAL_HEADER);
        eval_totals tot;
        memset(&tot, 0, sizeof tot);
        progress pr;   /* shown only when the evaluation takes a while */
        progress_start(&pr, "posprobe eval", lens->n, quiet, m.cfg.progress_every);
        progress_delay(&pr, 3);
        rc = run_evaluate(&m, lens, info.steps_done, info.cfg.run_id, &w, &tot, NULL, &pr, err, errlen);
        rc = csv_out_finish(&w, rc, err, errlen);
        progress_end(&pr, rc ? "failed" : "finished");
    }
    if (!rc && dump_path) rc = dump_attention(&m, lens->v[0], dump_path, err, errlen);
    model_free(&m);
    return rc ? ERR_IO : ERR_NONE;
}
