/* Greedy decoding with [EOS], and scoring of generated answers. */
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

decode_mode decode_mode_parse(const char *s) { return strcmp(s, "recompute") == 0 ? DECODE_RECOMPUTE : DECODE_CACHED; }

void decoder_init(decoder *d, const model *m, int B, int max_rows, int max_cap, decode_mode mode) {
    memset(d, 0, sizeof *d);
    d->mode = mode;
    d->B = B;
    d->max_rows = max_rows;
    d->max_cap = max_cap;
    batch_alloc(&d->work, B, max_rows);
    d->gen = calloc((size_t)B * (size_t)max_cap + 1, sizeof(int));
    d->len = calloc((size_t)B, sizeof(int));
    d->stopped = calloc((size_t)B, sizeof(int));
    d->logits = calloc((size_t)B * (size_t)m->K, sizeof(real));
    if (!d->gen || !d->len || !d->stopped || !d->logits) {
        fprintf(stderr, "posprobe: error: out of memory for decoding %d x %d\n", B, max_cap);
        exit(1);
    }
}

void decoder_free(decoder *d) {
    batch_free(&d->work);
    free(d->gen);
    free(d->len);
    free(d->stopped);
    free(d->logits);
    memset(d, 0, sizeof *d);
}

static int argmax(const real *z, int K) {
    int best = 0;
    for (int k = 1; k < K; k++) if (z[k] > z[best]) best = k;
    return best;
}

/* Logits (B, K) of the last row after feeding rows [0, rows) of d->work. */
static const real *step_recompute(decoder *d, model *m, graph *g, const batch *b, int rows) {
    batch *w = &d->work;
    w->B = b->B;
    w->T = rows;
    /* work keeps every sequence at stride max_rows; the model wants them packed at stride rows */
    int *packed = w->targets;                            /* (B, rows): no loss is computed here */
    for (int s = 0; s < b->B; s++) memcpy(packed + (size_t)s * rows, w->tokens + (size_t)s * d->max_rows, (size_t)rows * sizeof(int));
    batch view = *w;
    view.tokens = packed;
    memcpy(view.pos, b->pos, (size_t)rows * sizeof(int));
    memcpy(view.pos_x, b->pos_x, (size_t)rows * sizeof(int));
    memcpy(view.pos_y, b->pos_y, (size_t)rows * sizeof(int));
    tensor *out = model_forward(m, g, &view, 0);        /* (B*rows, K) */
    real *last = d->logits;                              /* (B, K) copied out before the arena is reset */
    for (int s = 0; s < b->B; s++)
        memcpy(last + (size_t)s * m->K, out->data + ((size_t)s * rows + (size_t)(rows - 1)) * (size_t)m->K,
               (size_t)m->K * sizeof(real));
    return last;
}

void decoder_run(decoder *d, model *m, graph *g, const batch *b) {
    const layout *lo = &m->lo;
    int prompt = layout_prompt_len(lo, b->n), cap = layout_decode_cap(lo, b->n);
    int rows_max = prompt + cap - 1;
    if (b->B > d->B || rows_max > d->max_rows || cap > d->max_cap || b->pos_rows < rows_max)
        engine_fail("decode", "batch of %d x %d rows (cap %d, %d positions) exceeds the decoder's %d x %d (cap %d)", b->B,
                    rows_max, cap, b->pos_rows, d->B, d->max_rows, d->max_cap);
    int B = b->B, filler = lo->info.vocab + TOK_BLANK;  /* fed to sequences that already stopped; never scored */
    for (int s = 0; s < B; s++) {
        memcpy(d->work.tokens + (size_t)s * d->max_rows, b->tokens + (size_t)s * b->T, (size_t)prompt * sizeof(int));
        d->len[s] = cap;
        d->stopped[s] = 0;
    }
    d->steps = 0;
    int live = B;
    for (int j = 0; j < cap && live > 0; j++) {
        int rows = prompt + j;
        const real *z = step_recompute(d, m, g, b, rows);
        graph_reset(g);
        for (int s = 0; s < B; s++) {
            int tok = d->stopped[s] ? filler : argmax(z + (size_t)s * m->K, m->K);
            if (!d->stopped[s]) {
                d->gen[(size_t)s * d->max_cap + j] = tok;
                d->steps++;
                if (tok == lo->eos_class) { d->stopped[s] = 1; d->len[s] = j; live--; tok = filler; }
            }
            if (rows < d->max_rows) d->work.tokens[(size_t)s * d->max_rows + rows] = tok;
        }
    }
}

void answer_score_add(answer_score *s, const int *gen, int len, int stopped, const int *gold, int m, int eos) {
    int length_ok = eos ? stopped && len == m : 1;
    int n = eos ? (len > m ? len : m) : m, ok = 0;
    for (int j = 0; j < n; j++) ok += j < len && j < m && gen[j] == gold[j];
    s->tok_ok += ok;
    s->tok_n += n;
    s->length_ok += length_ok;
    s->exact += length_ok && ok == m;
    s->n++;
}
