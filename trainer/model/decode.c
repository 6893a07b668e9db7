/* Greedy decoding with [EOS], and scoring of generated answers. */
#include "decode.h"
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void decoder_init(decoder *d, const model *m, int B, int max_rows, int max_cap, decode_mode mode) {
    memset(d, 0, sizeof *d);
    /* a model that reads earlier rows the cache does not keep (an encoding's embed hook; linear-num's
     * un-rotated keys) cannot run from the cache: the prefix is recomputed (the same tokens; encoding.h) */
    if (mode == DECODE_CACHED && !kv_cache_keeps_enough(m)) mode = DECODE_RECOMPUTE;
    d->mode = mode;
    d->B = B;
    d->max_rows = max_rows;
    d->max_cap = max_cap;
    batch_alloc(&d->work, B, max_rows);
    if (mode == DECODE_CACHED && kv_cache_init(&d->kv, m, B, max_rows)) {
        fprintf(stderr, "posprobe: error: no key/value cache for decoding %d x %d (a causal model is needed)\n", B, max_rows);
        exit(1);
    }
    d->gen = xcalloc((size_t)B * (size_t)max_cap + 1, sizeof(int));
    d->len = xcalloc((size_t)B, sizeof(int));
    d->stopped = xcalloc((size_t)B, sizeof(int));
    d->logits = xcalloc((size_t)B * (size_t)m->K, sizeof(real));
}

void decoder_free(decoder *d) {
    batch_free(&d->work);
    if (d->mode == DECODE_CACHED) kv_cache_free(&d->kv);
    free(d->gen);
    free(d->len);
    free(d->stopped);
    free(d->logits);
    memset(d, 0, sizeof *d);
}

/* Rows [t0, rows) of d->work packed (B, rows - t0), in work's targets (no loss is computed here):
 * work keeps every sequence at stride max_rows, the model wants them at stride rows - t0. */
static const int *packed_rows(decoder *d, int B, int t0, int rows) {
    int *packed = d->work.targets, n = rows - t0;
    for (int s = 0; s < B; s++)
        memcpy(packed + (size_t)s * n, d->work.tokens + (size_t)s * d->max_rows + t0, (size_t)n * sizeof(int));
    return packed;
}

/* The last row of each sequence of out (B*n, K), copied out before the arena is reset: (B, K). */
static const real *last_rows(decoder *d, const tensor *out, int B, int n, int K) {
    for (int s = 0; s < B; s++)
        memcpy(d->logits + (size_t)s * K, out->data + ((size_t)s * n + (size_t)(n - 1)) * (size_t)K, (size_t)K * sizeof(real));
    return d->logits;
}

/* Logits (B, K) of the last row after feeding rows [0, rows) of d->work:
 * the whole prefix through the model. */
static const real *step_recompute(decoder *d, model *m, graph *g, const batch *b, int rows) {
    batch view = d->work;       /* the prefix, at the batch's own positions (it has them for every row) */
    view.B = b->B;
    view.T = rows;
    view.tokens = (int *)packed_rows(d, b->B, 0, rows);
    view.pos = b->pos;
    view.pos_x = b->pos_x;
    view.pos_y = b->pos_y;
    return last_rows(d, model_forward(m, g, &view, 0), b->B, rows, m->K);   /* (B*rows, K) -> (B, K) */
}

/* The same from the cache: the prompt's rows at the first step, then only
 * the row fed last. */
static const real *step_cached(decoder *d, model *m, graph *g, const batch *b, int rows, int prompt) {
    int t0 = rows == prompt ? 0 : rows - 1, two_d = (m->lo.task->flags & TASK_2D) != 0;
    if (t0 == 0) kv_cache_reset(&d->kv, b->B);
    tensor *out = model_forward_incremental(m, g, &d->kv, packed_rows(d, b->B, t0, rows), t0, rows - t0, b->pos,
                                            two_d ? b->pos_x : NULL, two_d ? b->pos_y : NULL);   /* (B*(rows-t0), K) */
    return last_rows(d, out, b->B, rows - t0, m->K);
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
        const real *z = d->mode == DECODE_CACHED ? step_cached(d, m, g, b, rows, prompt) : step_recompute(d, m, g, b, rows);
        graph_reset(g);
        for (int s = 0; s < B; s++) {
            int tok = d->stopped[s] ? filler : argmax_real(z + (size_t)s * m->K, m->K);
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
