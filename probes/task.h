/* Tasks: a generator of (input, output) examples plus metadata. The layout
 * (trainer/model/layout.h) turns examples into model batches in encoder or
 * decoder form, with optional marker tokens; tasks know nothing about either,
 * nor about the run's configuration: they see only task_info.
 *
 * To add a task: write probes/<name>.c defining one `task_def`, and add one
 * line to probes/registry.c. */
#ifndef POSPROBE_TASK_H
#define POSPROBE_TASK_H

#include <gsl/gsl_rng.h>


typedef enum {
    TASK_ALIGNED,   /* one output per input token, predicted at that token */
    TASK_SEQ2SEQ,   /* an answer of m tokens after the input */
} task_shape;

enum {
    TASK_2D = 1 << 0,          /* examples carry (row, column) coordinates */
    TASK_REGRESSION = 1 << 1,  /* outputs are numbers: --head regression predicts them as scalars */
    /* Controls: the answer needs no position information, so claims about
     * positions leave them out. In the encoder form (answer slots) ... */
    TASK_CONTROL_ENCODER = 1 << 2,
    /* ... and in the decoder form with [EOS], where the model must also count. */
    TASK_CONTROL_DECODER = 1 << 3,
};

/* Resolved for one run by setup(). */
typedef struct task_info {
    int vocab;        /* input alphabet [0, vocab) */
    int classes;      /* output classes [0, classes); seq2seq answers are input tokens */
    int max_n;        /* longest input length of the run (training and evaluation) */
    int grid_w;       /* 2-D tasks: grid width */
    int alphabet;     /* --vocab: the alphabet size asked for (tasks with an alphabet of their own) */
} task_info;

typedef struct task_def {
    const char *name;
    const char *summary;    /* one line for `posprobe list tasks` */
    const char *n_means;    /* what the length n counts */
    task_shape shape;
    unsigned flags;
    int (*setup)(task_info *ti, char *err, size_t errlen);
    /* Is n a valid input length? (NULL: every n >= 1) */
    int (*check_len)(const task_info *ti, int n, char *err, size_t errlen);
    /* Input tokens for task length n (NULL: n). */
    int (*input_len)(const task_info *ti, int n);
    /* Answer length for task length n (seq2seq only). */
    int (*answer_len)(const task_info *ti, int n);
    /* One example of task length n: in (input_len tokens); out (one output per
     * input token when aligned, answer_len when seq2seq); x, y (input_len
     * coordinates) on 2-D tasks, else NULL. */
    void (*example)(const task_info *ti, int n, gsl_rng *r, int *in, int *out, int *x, int *y);
} task_def;

const task_def *task_find(const char *name);
const task_def *task_at(int index);

#endif
