/* The layout: task examples -> model batches in encoder form (answer slots)
 * or decoder form ([BOS] input [SEP] answer [EOS]), with optional marker
 * tokens and position ids (sequential, randomized, shifted). */
#ifndef POSPROBE_LAYOUT_H
#define POSPROBE_LAYOUT_H

#include <gsl/gsl_rng.h>

#include "config.h"
#include "engine.h"
#include "task.h"

/* Special tokens follow the task's alphabet. */
enum { TOK_BOS = 0, TOK_SEP = 1, TOK_BLANK = 2, N_SPECIAL = 3 };

typedef enum { FORM_ENCODER, FORM_DECODER } task_form;

typedef struct layout {
    const task_def *task;
    task_info info;
    task_form form;       /* decoder for seq2seq tasks under a causal mask */
    marker_kind markers;
    int regression;       /* scalar head */
    int eos;              /* decoder form with --eos 1: the answer ends with a scored [EOS] */
    int eos_class;        /* [EOS]'s output class (the one after the task's classes), -1 without */
    int vocab;            /* model input vocabulary: task alphabet + specials */
    int classes;          /* model output size (1 for regression) */
} layout;

typedef struct batch {
    int B, T, n, cap_T;   /* sequences, model length, task input length, capacity */
    int *tokens;          /* (B, T) */
    int *targets;         /* (B, T) class, or -1 where nothing is scored */
    real *values;         /* (B, T) regression targets */
    real *weights;        /* (B, T) 1 where scored */
    int *pos, *pos_x, *pos_y;   /* (T) */
    int answer_at, answer_len;  /* decoder: first answer-predicting position, answer length ([EOS] not counted) */
    int *answer;          /* (B, answer_len) expected answer tokens */
    int pos_rows;         /* rows with positions: T, or more when the caller set decode_rows */
    int decode_rows;      /* set by the caller before layout_fill: draw positions for this many rows (greedy
                             decoding past the gold answer needs them); 0 = T */
    int *scratch;         /* generator buffers */
} batch;

int layout_init(layout *lo, const run_config *c, int max_n, char *err, size_t errlen);
/* Model sequence length for input length n. */
int layout_seq_len(const layout *lo, int n);
int layout_check_len(const layout *lo, int n, char *err, size_t errlen);
/* Input tokens for task length n. */
int task_input_len(const layout *lo, int n);
/* Decoder form: prompt rows ([BOS] in [SEP]), the most tokens greedy decoding
 * generates (with [EOS]: 2 m + 4, [EOS] included, for a gold answer of m;
 * without: m), and the model rows that takes (prompt + cap - 1). */
int layout_prompt_len(const layout *lo, int n);
int layout_decode_cap(const layout *lo, int n);
int layout_decode_rows(const layout *lo, int n);
void batch_alloc(batch *b, int B, int max_T);
void batch_free(batch *b);
/* B examples of input length n from data_rng; positions from pos_rng. */
void layout_fill(const layout *lo, batch *b, int n, gsl_rng *data_rng, pos_kind pk, int max_pos, gsl_rng *pos_rng);

#endif
