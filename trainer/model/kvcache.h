/* Incremental (key/value-cached) forward passes for greedy decoding.
 *
 * A causal model's row t depends only on rows 0..t, and each layer needs the
 * earlier rows only through their keys and values. The cache keeps, per layer,
 * the keys and values of the rows run so far exactly as attention reads them:
 * after the encoding's rotate hook (RoPE rotation, xPos scale, rope-v's
 * rotated values). A new block of rows then costs its own projections, MLPs
 * and one attention row per query over the cached keys, instead of a forward
 * pass over the whole prefix. Every encoding hook is evaluated for the new
 * rows exactly (encoding.h: positions.q0, Tq), so logits equal the rows of a
 * full model_forward up to the rounding of differently shaped products. */
#ifndef POSPROBE_KVCACHE_H
#define POSPROBE_KVCACHE_H

#include "model.h"

typedef struct kv_cache {
    int B, B_cap;         /* sequences being decoded; the most the cache holds */
    int max_T, len;       /* row capacity; rows held (the next t0) */
    int pending;          /* rows of the forward pass under way (stored, not yet in len) */
    int L, per_seq, width;/* layers; units (rows of width reals) per sequence: H heads, or 1 when merged */
    int merged;           /* rows laid out (B, max_T, H*D) as merged attention reads them, else (B*H, max_T, D) */
    real *k, *v;          /* (L, B_cap * per_seq, max_T, width) each */
} kv_cache;

/* All allocation happens here, once: room for B sequences of max_T rows of m.
 * Returns -1 (nothing allocated) unless m has a causal mask, B >= 1 and
 * max_T >= 1. m must not be capturing pre-normalizer logits (m->logits), and
 * the cache must keep what it reads (kv_cache_keeps_enough). */
int kv_cache_init(kv_cache *kc, const model *m, int B, int max_T);
/* Does the cache keep every earlier row m's attention reads? Not with an
 * encoding whose embed hook reads earlier rows (ENC_READS_PRIOR_ROWS), nor
 * with --norm linear-num, whose denominator reads the un-rotated keys (the
 * cache keeps the rotated ones): kv_cache_init refuses those, and greedy
 * decoding recomputes the prefix instead (decode.c). */
int kv_cache_keeps_enough(const model *m);
/* Length back to 0 for a new batch of B <= the initial B sequences. */
void kv_cache_reset(kv_cache *kc, int B);
void kv_cache_free(kv_cache *kc);

/* Runs model rows [t0, t0 + Tn) for the cache's B sequences; t0 must equal
 * the cache's length and t0 + Tn <= max_T. tokens (B, Tn) are those rows'
 * tokens; pos, pos_x, pos_y (each of length >= t0 + Tn, shared by the
 * sequences; pos_x, pos_y NULL unless the task is 2-D) are the position ids
 * of the whole sequence so far. Appends the rows' keys and values to the
 * cache and returns their logits (B*Tn, K) in g's arena: evaluation only,
 * no gradients, no dropout. The caller resets g's arena when it likes (after
 * every step, say); the cache itself never allocates. Run the prompt once
 * (t0 = 0), then one row per generated token (Tn = 1). */
tensor *model_forward_incremental(model *m, graph *g, kv_cache *kc, const int *tokens, int t0, int Tn,
                                  const int *pos, const int *pos_x, const int *pos_y);

/* For the model's attention block (model.c), during model_forward_incremental. */
/* Writes layer l's keys and values of the new rows at rows [len, len + Tn):
 * k, v (B*H, Tn, D), or (B, Tn, H*D) when merged. */
void kv_cache_store(kv_cache *kc, int layer, const tensor *k, const tensor *v);
/* Layer l's keys (values) of all rows so far, (B*H, S, D) or merged (B, S, H*D):
 * a view of the cache with max_T rows per unit (attn_opts.kv_rows), or with
 * compact = 1 a copy in g's arena with exactly S rows per unit, for the hooks
 * that read them as ordinary tensors. */
tensor *kv_cache_keys(kv_cache *kc, graph *g, int layer, int compact);
tensor *kv_cache_values(kv_cache *kc, graph *g, int layer, int compact);

#endif
