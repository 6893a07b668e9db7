/* A position encoding is a set of optional hooks plus its parameters; the
 * model calls each hook that is set (docs/encodings.md):
 *
 *   embed   x (B, Tq, C) -> (B, Tq, C)               absolute, at the input
 *   rotate  q, k (B*H, Tq, D) [, v] -> rotated       RoPE family
 *   scores  q (B*H, Tq, D), k (B*H, S, D) -> additive term (H|B*H, Tq, S)
 *                                                    biases and content-position terms
 *   values  A (B*H, Tq, S), v (B*H, S, D) -> (B*H, Tq, D)  replaces A V (Shaw values, URPE)
 *
 * Positions are explicit arrays, never an implicit 0..n-1, so randomized,
 * shifted and 2-D positions need no special cases.
 *
 * The hooks see a block of query rows: rows [q0, q0 + Tq) of a sequence of
 * S = T positions (the keys). Training and full evaluation run every row
 * (q0 = 0, Tq = T); cached decoding (kvcache.h) runs the new rows only, with
 * the keys and values of the earlier rows taken from the cache. embed and
 * rotate touch only the query rows (the rotated k and v of those rows are
 * what the cache keeps), so they must not read other rows; an embed hook
 * that does (a convolution) sets ENC_READS_PRIOR_ROWS, and then the model is
 * never run incrementally: it always sees every row. Under cached decoding
 * the scores hook gets k = NULL unless the encoding sets ENC_READS_KEYS (the
 * cached keys are not one contiguous tensor; copying them costs a pass over
 * the cache), and the values hook gets a copy of v.
 *
 * To add an encoding: write encodings/<name>.c defining one `encoding_def`,
 * and add one line to encodings/registry.c. */
#ifndef POSPROBE_ENCODING_H
#define POSPROBE_ENCODING_H

#include <gsl/gsl_rng.h>

#include "engine.h"
#include "memory.h"
#include "params.h"

/* Position ids of one batch; the same for every sequence in it. */
typedef struct positions {
    int T;            /* model sequence length so far: the keys */
    int B;            /* sequences in the batch */
    int q0, Tq;       /* the query rows are [q0, q0 + Tq) of the T (all rows: 0, T) */
    const int *tokens;/* (B, Tq) token ids of the query rows (for encodings that live in the embedding) */
    const int *p;     /* (T) 1-D ids (the row-major flattening on 2-D tasks) */
    const int *x;     /* (T) row of each token on 2-D tasks, else NULL */
    const int *y;     /* (T) column of each token on 2-D tasks, else NULL */
} positions;

/* Frequency schedules (8231; --rope-schedule): the frequency theta_t of the
 * pair at t = 2i/d in [0, 1) (i-th of d/2 pairs). One place for every
 * encoding that builds the ladder through sinusoid_fill or rotary_ladder. */
typedef enum {
    ROPE_SCHEDULE_GEOMETRIC,  /* base^-t: the standard ladder (default) */
    ROPE_SCHEDULE_LINEAR,     /* t (crosses zero, 8231) */
    ROPE_SCHEDULE_POWER2,     /* t^2 */
    ROPE_SCHEDULE_POWER4,     /* t^4 */
    ROPE_SCHEDULE_CONSTANT,   /* base^-1/2 for every pair: one common theta (S6) */
    ROPE_SCHEDULE_COUNT
} rope_schedule;
/* theta_t of a schedule; base matters for geometric and constant only. */
double rope_schedule_theta(rope_schedule s, double t, double base);
/* The schedule's name ("geometric", ...), and back: -1 for an unknown name. */
const char *rope_schedule_name(rope_schedule s);
int rope_schedule_parse(const char *name);

/* The run's encoding options (--init-scale, --rope-base, ...), filled by the
 * model layer from the command line; an encoding reads what it needs. */
typedef struct enc_options {
    double init_scale;          /* std of normally initialised parameters */
    double rope_base;           /* frequency base of sinusoidal, rotary and their kin */
    rope_schedule rope_schedule;/* their frequency schedule (--rope-schedule) */
    double rope_fraction;       /* share of each head's pairs rotated */
    int rope_trainable;         /* rotary frequencies are parameters */
    double sin_scale;           /* sinusoidal table scale (0: init_scale * sqrt 2) */
    double rec_scale;           /* recursive: weight of the states at the input (0: init_scale) */
    int clip_min, clip_max;     /* relative offsets clipped to [clip_min, clip_max] */
    int t5_buckets, t5_max_distance;
    double xpos_gamma, xpos_zeta;
    int mult_sinusoidal;        /* multiplicative: sinusoidal position vectors (else learned) */
    int alibi_asym;             /* bidirectional ALiBi: separate left and right slopes */
    int conv_kernel;            /* conv: kernel size */
    int conv_circular;          /* conv: circular padding (else zeros) */
    int sequential_positions;   /* position ids are 0..T-1 (not randomized or shifted) */
    int train_len_max;          /* longest training length (FIRE's L0) */
} enc_options;

/* What an encoding may read while it declares its parameters. */
typedef struct enc_dims {
    int C, H, D, L;   /* width, heads, head size, layers */
    int V;            /* model input vocabulary */
    int max_pos;      /* position ids are < max_pos when positions are randomized */
    attn_mask mask;
    enc_options opt;
    int max_T;        /* rows of the longest sequence the model is built for (0: not known) */
} enc_dims;

enum {
    ENC_RELATIVE = 1 << 0,     /* attention depends on positions only through i - j */
    ENC_CAUSAL_ONLY = 1 << 1,  /* defined for the causal mask only */
    ENC_2D = 1 << 2,           /* reads (x, y) on 2-D tasks */
    ENC_TABLE = 1 << 3,        /* a table indexed by position: ids must be < max-pos */
    ENC_READS_KEYS = 1 << 4,   /* the scores hook reads k (see above) */
    ENC_READS_PRIOR_ROWS = 1 << 8, /* embed reads rows before the query rows (a convolution): no cached
                                    * decoding (kv_cache_init refuses; decoding recomputes the prefix) */
    /* The symmetry classes of article 9105's argument (docs/articles.md), which
     * diagnose's predictions and the report's claims read from here: */
    ENC_DIRECTIONAL = 1 << 5,  /* the position term tells i - j from j - i */
    ENC_SYMMETRIC = 1 << 6,    /* the position term depends on |i - j| only (ALiBi: without --alibi-asym) */
    ENC_VALUE_SIDE = 1 << 7,   /* positions reach the values (a values hook, or v rotated) */
};

/* Where an encoding puts positions; shown by `posprobe list encodings`. */
typedef enum {
    ENC_AT_NONE,           /* nowhere (NoPE) */
    ENC_AT_INPUT,          /* added to or multiplied into the token embeddings */
    ENC_AT_LOGITS,         /* a term of the attention scores */
    ENC_AT_ROTATION,       /* q and k (and v) rotated */
    ENC_AT_VALUES,         /* the attention output */
    ENC_AT_LOGITS_VALUES,  /* the scores and the values */
} enc_where;
const char *enc_where_name(enc_where w);

typedef struct encoding_def {
    const char *name;
    const char *summary;      /* one line for `posprobe list encodings` */
    /* The encoding options it reads from enc_options, by their option names
     * ("rope-base rope-schedule"); NULL: none. Another encoding option away
     * from its default is refused (model_check_encoding_options), and a test
     * holds each list to what the encoding's output depends on. */
    const char *options;
    enc_where where;
    unsigned flags;
    /* Declares parameters in ps; returns the encoding's state (never NULL on
     * success; return a static dummy when stateless). NULL + err on bad options. */
    void *(*create)(param_store *ps, const enc_dims *d, char *err, size_t errlen);
    /* Fills INIT_CUSTOM parameters after allocation (may be NULL). */
    void (*init)(void *st, gsl_rng *r);
    tensor *(*embed)(void *st, graph *g, tensor *x, const positions *pos);
    void (*rotate)(void *st, graph *g, int layer, tensor **q, tensor **k, tensor **v, const positions *pos);
    tensor *(*scores)(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos);
    tensor *(*values)(void *st, graph *g, int layer, tensor *A, tensor *v, const positions *pos);
    void (*destroy)(void *st);
    /* For the memory estimate (model_step_bytes): the reals the encoding adds
     * to one training step per layer, for B sequences of T rows, beyond what
     * any encoding is assumed to take (a bias of (H, T, T) per sequence,
     * rotated or split q, k, v, tables of T x C). NULL: nothing beyond. */
    double (*step_reals)(const enc_dims *d, int B, int T);
} encoding_def;

const encoding_def *encoding_find(const char *name);
/* Does encoding e read the encoding option called name (its options list)? */
int encoding_uses_option(const encoding_def *e, const char *name);
/* index-th registered encoding, NULL past the end */
const encoding_def *encoding_at(int index);

/* Shared helper: the sinusoidal table p_{k,2i} = sin(k w_i), p_{k,2i+1} = cos(k w_i),
 * w_i = rope_schedule_theta(sched, 2i/C, base) (base^(-2i/C) when geometric), for position k. */
void sinusoid_fill(real *dst, int C, double k, double base, rope_schedule sched);

#endif
