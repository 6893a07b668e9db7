/* Greedy decoding of decoder-form answers, and how a generated answer is
 * scored against the gold one.
 *
 * Every sequence of a batch shares the prompt length ([BOS] input [SEP]);
 * one token is generated per step for all of them, each step's argmax fed back
 * as the next input, until every sequence has emitted [EOS] (layout.eos) or
 * the cap is reached (layout_decode_cap: 2 m + 4 tokens with [EOS], m
 * without). Two ways to compute a step, which give the same tokens:
 *   DECODE_RECOMPUTE  the whole prefix through model_forward at every step
 *   DECODE_CACHED     keys and values cached, one new row per step (an
 *                     encoding with ENC_READS_PRIOR_ROWS recomputes instead) */
#ifndef POSPROBE_DECODE_H
#define POSPROBE_DECODE_H

#include "kvcache.h"
#include "model.h"

typedef struct decoder {
    decode_mode mode;
    int B, max_rows, max_cap;
    batch work;           /* the growing sequences (B, max_rows) */
    kv_cache kv;          /* cached: keys and values of the rows fed so far */
    int *gen;             /* (B, max_cap) generated tokens, [EOS] included when it came */
    int *len;             /* (B) answer tokens before [EOS] (the cap when it never came) */
    int *stopped;         /* (B) 1 when [EOS] came */
    real *logits;         /* (B, K) the last step's logits */
    int steps;            /* tokens generated in the last run (all sequences together) */
} decoder;

/* Buffers for batches of up to B sequences, max_rows model rows and caps up
 * to max_cap; all allocation happens here. */
void decoder_init(decoder *d, const model *m, int B, int max_rows, int max_cap, decode_mode mode);
void decoder_free(decoder *d);

/* Greedy decoding of b's answers (b from layout_fill in decoder form, with
 * positions for prompt + cap - 1 rows: b->decode_rows). Results in d->gen,
 * d->len, d->stopped. g's arena is reset after every step. */
void decoder_run(decoder *d, model *m, graph *g, const batch *b);

/* One generated answer against the gold answer of m tokens.
 *   length_ok  [EOS] came right after m tokens (always 1 without [EOS]: the
 *              length is given)
 *   exact      length_ok and every token equal
 *   tok_ok / tok_n  position-by-position agreement over the longer of the two
 *              answers: missing and extra tokens count as wrong */
typedef struct answer_score {
    long tok_ok, tok_n, exact, length_ok, n;
} answer_score;
void answer_score_add(answer_score *s, const int *gen, int len, int stopped, const int *gold, int m, int eos);

#endif
