/* Examples -> model batches: encoder or decoder form, markers, positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "memory.h"

static int marker_count(const layout *lo) {
    return lo->markers == MARK_BOS ? 1 : lo->markers == MARK_CLS_SEP ? 2 : 0;
}

int layout_init(layout *lo, const run_config *c, int max_n, char *err, size_t errlen) {
    memset(lo, 0, sizeof *lo);
    lo->task = task_find(c->task);
    if (!lo->task) { snprintf(err, errlen, "unknown task '%s' (see: posprobe list tasks)", c->task); return -1; }
    lo->info.max_n = max_n;
    lo->info.grid_w = c->grid_w;
    lo->info.alphabet = c->vocab;
    if (lo->task->setup(&lo->info, err, errlen)) return -1;
    lo->form = lo->task->shape == TASK_SEQ2SEQ && c->mask == MASK_CAUSAL ? FORM_DECODER : FORM_ENCODER;
    lo->markers = c->markers;
    if (c->head == HEAD_REGRESSION) {
        if (!(lo->task->flags & TASK_REGRESSION)) {
            snprintf(err, errlen, "--head regression: task '%s' has no numeric outputs", c->task);
            return -1;
        }
        lo->regression = 1;
    }
    if (lo->task->shape == TASK_SEQ2SEQ && lo->info.classes > lo->info.vocab) {
        snprintf(err, errlen, "task '%s': answers must be input tokens (%d classes > %d tokens)", c->task,
                 lo->info.classes, lo->info.vocab);
        return -1;
    }
    lo->vocab = lo->info.vocab + N_SPECIAL;
    lo->classes = lo->regression ? 1 : lo->task->shape == TASK_SEQ2SEQ ? lo->info.vocab : lo->info.classes;
    if (lo->form == FORM_DECODER && lo->markers != MARK_NONE) {
        snprintf(err, errlen, "--markers %s: the decoder form always has its own [BOS] and [SEP] (use --markers none)",
                 config_choice_name("markers", c->markers));
        return -1;
    }
    lo->eos = lo->form == FORM_DECODER && c->eos;
    lo->eos_class = lo->eos ? lo->classes++ : -1;
    return 0;
}

int task_input_len(const layout *lo, int n) {
    return lo->task->input_len ? lo->task->input_len(&lo->info, n) : n;
}

int layout_seq_len(const layout *lo, int n) {
    int k = task_input_len(lo, n);
    if (lo->task->shape == TASK_ALIGNED) return k + marker_count(lo);
    int m = lo->task->answer_len(&lo->info, n);
    if (lo->form == FORM_DECODER) return k + m + 1 + lo->eos;   /* [BOS] in [SEP] out[0..m-2] (out[m-1] with [EOS]) */
    return k + marker_count(lo) + m;                     /* [mk] in [mk] slots */
}

int layout_prompt_len(const layout *lo, int n) { return task_input_len(lo, n) + 2; }

int layout_decode_cap(const layout *lo, int n) {
    int m = lo->task->answer_len(&lo->info, n);
    return lo->eos ? 2 * m + 4 : m;
}

int layout_decode_rows(const layout *lo, int n) { return layout_prompt_len(lo, n) + layout_decode_cap(lo, n) - 1; }

int layout_check_len(const layout *lo, int n, char *err, size_t errlen) {
    if (n < 1) { snprintf(err, errlen, "length %d: lengths start at 1", n); return -1; }
    return lo->task->check_len ? lo->task->check_len(&lo->info, n, err, errlen) : 0;
}

void batch_alloc(batch *b, int B, int max_T) {
    memset(b, 0, sizeof *b);
    size_t bt = (size_t)B * (size_t)max_T;
    b->B = B;
    b->cap_T = max_T;
    b->tokens = xcalloc(bt, sizeof(int));
    b->targets = xcalloc(bt, sizeof(int));
    b->values = xcalloc(bt, sizeof(real));
    b->weights = xcalloc(bt, sizeof(real));
    b->pos = xcalloc((size_t)max_T, sizeof(int));
    b->pos_x = xcalloc((size_t)max_T, sizeof(int));
    b->pos_y = xcalloc((size_t)max_T, sizeof(int));
    b->answer = xcalloc(bt, sizeof(int));
    b->scratch = xcalloc(4 * (size_t)max_T + 4, sizeof(int));
}

void batch_free(batch *b) {
    free(b->tokens); free(b->targets); free(b->values); free(b->weights);
    free(b->pos); free(b->pos_x); free(b->pos_y); free(b->answer); free(b->scratch);
    memset(b, 0, sizeof *b);
}

/* Ruoss et al. 2023: a sorted uniform subset of size T of [0, max_pos),
 * by selection sampling (Knuth's algorithm S), so no buffer is needed. */
static void randomized_positions(int *pos, int T, int max_pos, gsl_rng *r) {
    int chosen = 0;
    for (int i = 0; i < max_pos && chosen < T; i++)
        if ((double)(max_pos - i) * gsl_rng_uniform(r) < (double)(T - chosen)) pos[chosen++] = i;
}

void layout_fill(const layout *lo, batch *b, int n, gsl_rng *data_rng, pos_kind pk, int max_pos, gsl_rng *pos_rng) {
    const task_def *t = lo->task;
    int T = layout_seq_len(lo, n), mk = marker_count(lo), task_n = n;
    n = task_input_len(lo, task_n);                      /* from here on: input tokens */
    int m = t->shape == TASK_SEQ2SEQ ? t->answer_len(&lo->info, task_n) : n;
    int V = lo->info.vocab;
    int *in = b->scratch, *out = in + b->cap_T, *x = out + b->cap_T, *y = x + b->cap_T;
    int two_d = (t->flags & TASK_2D) != 0;
    b->T = T;
    b->n = task_n;
    b->answer_at = 0;
    b->answer_len = 0;
    for (int s = 0; s < b->B; s++) {
        int *tok = b->tokens + (size_t)s * T, *tgt = b->targets + (size_t)s * T;
        real *val = b->values + (size_t)s * T, *w = b->weights + (size_t)s * T;
        t->example(&lo->info, task_n, data_rng, in, out, two_d ? x : NULL, two_d ? y : NULL);
        for (int i = 0; i < T; i++) { tgt[i] = -1; val[i] = 0; w[i] = 0; }
        if (t->shape == TASK_ALIGNED) {
            int at = mk ? 1 : 0;
            if (mk) tok[0] = V + TOK_BOS;
            if (lo->markers == MARK_CLS_SEP) tok[T - 1] = V + TOK_SEP;
            for (int k = 0; k < n; k++) {
                tok[at + k] = in[k];
                tgt[at + k] = out[k];
                val[at + k] = (real)out[k];
                w[at + k] = 1;
            }
            if (s == 0 && two_d)
                for (int i = 0; i < T; i++) {
                    int k = i - at;
                    b->pos_x[i] = k >= 0 && k < n ? x[k] : 0;
                    b->pos_y[i] = k >= 0 && k < n ? y[k] : 0;
                }
        } else if (lo->form == FORM_ENCODER) {
            int at = mk ? 1 : 0;
            if (mk) tok[0] = V + TOK_BOS;
            for (int k = 0; k < n; k++) tok[at + k] = in[k];
            int slots = at + n + (lo->markers == MARK_CLS_SEP ? 1 : 0);
            if (lo->markers == MARK_CLS_SEP) tok[at + n] = V + TOK_SEP;
            for (int j = 0; j < m; j++) {
                tok[slots + j] = V + TOK_BLANK;
                tgt[slots + j] = out[j];
                w[slots + j] = 1;
            }
            b->answer_at = slots;
            b->answer_len = m;
        } else { /* decoder: [BOS] in [SEP] out[0..m-2], position n+1+j predicts out[j];
                    with [EOS]: out[m-1] is fed too and position n+1+m predicts [EOS] */
            tok[0] = V + TOK_BOS;
            for (int k = 0; k < n; k++) tok[1 + k] = in[k];
            tok[n + 1] = V + TOK_SEP;
            for (int j = 0; j + 1 < m + lo->eos; j++) tok[n + 2 + j] = out[j];
            for (int j = 0; j < m + lo->eos; j++) {
                tgt[n + 1 + j] = j < m ? out[j] : lo->eos_class;
                w[n + 1 + j] = 1;
            }
            b->answer_at = n + 1;
            b->answer_len = m;
        }
        if (t->shape == TASK_SEQ2SEQ)
            for (int j = 0; j < m; j++) b->answer[(size_t)s * m + j] = out[j];
    }
    int R = b->decode_rows > T ? b->decode_rows : T;     /* rows that get positions */
    if (R > b->cap_T) {
        fprintf(stderr, "posprobe: error: layout_fill: %d position rows in a batch of capacity %d\n", R, b->cap_T);
        abort();
    }
    b->pos_rows = R;
    if (pk == POS_RANDOMIZED) {
        randomized_positions(b->pos, R, max_pos, pos_rng);
    } else {
        int off = pk == POS_SHIFTED ? (int)gsl_rng_uniform_int(pos_rng, (unsigned long)(max_pos - R + 1)) : 0;
        for (int i = 0; i < R; i++) b->pos[i] = off + i;
    }
    if (!two_d)
        for (int i = 0; i < R; i++) { b->pos_x[i] = 0; b->pos_y[i] = 0; }
}
