/* The attention model: token embedding -> encoding hooks -> L x [attention +
 * MLP] with residuals -> final norm -> head. */
#ifndef POSPROBE_MODEL_H
#define POSPROBE_MODEL_H

#include <gsl/gsl_rng.h>

#include "config.h"
#include "encoding.h"
#include "engine.h"
#include "params.h"
#include "layout.h"


typedef struct block_params {
    tensor *ln1_g, *ln1_b, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;   /* attention */
    tensor *ln2_g, *ln2_b, *w1, *b1, *w2, *b2;                       /* MLP */
} block_params;

/* What the linear-attention normalizers (8265, claims P5 and P6) did on one
 * forward pass, in one layer, over every sequence, head and query row with a
 * visible key (linear_stats.c). The denominator of row i is
 * Z_i = sum_j (c + q_i.k_j) over its n_i visible keys (c = 1 for cos1). */
#define LIN_RATIO_LOW 0.1
typedef struct lin_stats {
    long rows;                  /* query rows measured */
    double den_min;             /* min of Z_i / n_i, Z_i the denominator the normalizer divides by */
    double ratio_min;           /* min of Z_rot_i / Z_plain_i: the denominator of the rotated features over
                                 * that of the same features un-rotated (1 without a rotation) */
    long ratio_low, ratio_neg;  /* rows with that ratio <= LIN_RATIO_LOW, and <= 0 */
    double weight_min, weight_max;     /* unnormalised weights c + q_i.k_j over the visible pairs */
    double abs_weight_max;             /* max |a_ij|, a_ij = (c + q_i.k_j) / Z_i: the normalised weights */
    double row_sum_min, row_sum_max;   /* sum_j a_ij */
} lin_stats;
/* Empty statistics (minima at +inf, maxima at -inf). */
void lin_stats_clear(lin_stats *s);
/* Adds one layer's forward pass: q, k (P, T, D), (P, S, D) the features as
 * the numerator uses them (rotated; unit rows for cos1), q_plain, k_plain
 * the same before the rotation. O(T S D) per head: for a logged step only. */
void lin_stats_add(lin_stats *s, attn_norm norm, attn_mask mask, const tensor *q, const tensor *k,
                   const tensor *q_plain, const tensor *k_plain);

typedef struct model {
    run_config cfg;
    layout lo;
    const encoding_def *enc;
    void *enc_state;
    param_store ps;
    int C, H, D, L, F, V, K;      /* width, heads, head size, layers, MLP width, vocab, outputs */
    attn_mask mask;
    attn_norm norm;
    act_kind act;
    int post_ln, rms;
    int n_train;                  /* model sequence length at len-max (logscaled) */
    tensor *tok_emb;              /* (V, C) */
    block_params *blocks;         /* (L) */
    tensor *lnf_g, *lnf_b;        /* (C) */
    tensor *head_w, *head_b;      /* (C, K), (K) */
    gsl_rng *dropout_rng;
    tensor **hidden;              /* when non-NULL: hidden[0] = embedded input, hidden[l] = block l's output (B, T, C) */
    tensor **attn;                /* when non-NULL: attn[l] = block l's attention probabilities (B*H, T, T) */
    tensor **logits;              /* when non-NULL: logits[l] = block l's pre-normalizer scores (B*H, T, T) */
    lin_stats *lin_stats;         /* when non-NULL and the normalizer is linear: (L), added to by every forward pass */
} model;

/* Rows of the model sequence for task length n: the sequence, or in decoder
 * form the rows greedy decoding may fill (prompt + cap - 1), if more. */
int model_rows(const layout *lo, int n);
/* Builds the model for config c (validated) whose task lengths go up to max_n.
 * Returns -1 with a message on bad combinations, or when the estimate
 * (model_memory_estimate) exceeds the memory posprobe may use. Parameters are
 * allocated but not initialised. */
int model_build(model *m, const run_config *c, int max_n, char *err, size_t errlen);
/* An encoding option (one that some encoding lists in its options) set away
 * from its default when c's encoding does not use it: -1 with a message
 * naming the encodings that do. Training refuses it; a checkpoint's stored
 * config is not checked. */
int model_check_encoding_options(const run_config *c, char *err, size_t errlen);
/* The run's encoding options, as encodings see them (encoding.h). */
enc_options model_enc_options(const run_config *c);
void model_init_params(model *m, gsl_rng *init_rng);
/* -1 with a message (the estimate, the limit, what to shrink) when the model's
 * run up to task length max_n would not fit in memory_limit(): checked before
 * anything is allocated or written (model_build; eval at its lengths). */
int model_check_memory(const model *m, int max_n, char *err, size_t errlen);
/* Memory, in bytes. model_step_bytes: an upper bound on one training step's
 * arena (activations, gradients, tape) for B sequences of T rows (a test
 * holds it against the arena's high-water mark for every encoding).
 * model_memory_estimate: what a run of m->cfg up to task length max_n needs
 * at most; model_build refuses a model whose total exceeds memory_limit(). */
typedef struct model_memory {
    double params;        /* parameters, gradients, AdamW m and v */
    double activations;   /* the training and evaluation arenas, the key/value cache */
    double blas;          /* BLAS work buffers */
    double total;
} model_memory;
double model_step_bytes(const model *m, int B, int T);
model_memory model_memory_estimate(const model *m, int max_n);
/* Checks that a batch's positions are usable by the encoding (table size). */
int model_check_positions(const model *m, int T, const int *pos, char *err, size_t errlen);
/* Forward pass: (B*T, K) logits (K = 1 for regression). train enables dropout. */
tensor *model_forward(model *m, graph *g, const batch *b, int train);
/* The forward pass of the query rows of pos (tokens (B, Tq)) -> (B*Tq, K).
 * kc NULL: pos must hold every row (q0 = 0, Tq = T), as model_forward. With
 * a cache: see model_forward_incremental (kvcache.h). */
struct kv_cache;
tensor *model_forward_rows(model *m, graph *g, const positions *pos, int train, struct kv_cache *kc);
/* Can encoding e run with normalizer norm? A linear-attention normalizer has
 * no score matrix: no scores or values hook. model_build refuses the rest. */
int model_norm_accepts(const encoding_def *e, attn_norm norm);
/* Does attention read q, k, v in the merged (B, T, H*D) layout (attn_opts)? */
int model_attention_merged(const model *m);
/* An evaluation forward pass (no gradients, no dropout) on a fresh arena, for
 * reading what the model captures (m->hidden, m->attn, m->logits); those
 * tensors live in *ar until the caller's arena_free(ar). */
tensor *model_forward_frozen(model *m, arena *ar, const batch *b);
/* Loss of the forward output against the batch's targets. */
tensor *model_loss(model *m, graph *g, const batch *b, tensor *out);
void model_free(model *m);

#endif
