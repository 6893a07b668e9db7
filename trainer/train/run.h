/* A training run, evaluation, and their CSV outputs (see results/README.md). */
#ifndef POSPROBE_RUN_H
#define POSPROBE_RUN_H

#include <stddef.h>

#include "config.h"
#include "csvio.h"
#include "errors.h"
#include "model.h"
#include "progress.h"

#define POSPROBE_VERSION "0.1.0"

typedef enum { RUN_FINISHED = 0, RUN_DIVERGED = 3, RUN_INTERRUPTED = 130 } run_status;

typedef struct run_result {
    run_status status;
    int steps_done, diverged_step;
    double train_loss, train_acc;       /* last step */
    double eval_token_acc, eval_seq_acc;/* final evaluation, mean over lengths */
    double fit_seq_acc;                 /* final evaluation: mean exact match over the training lengths */
    int fitted;                         /* fit_seq_acc >= --fit-acc */
    int fit_step;                       /* first evaluation step that reached --fit-acc; -1 = none did */
    double train_s, eval_s;             /* wall time in training steps and in evaluations */
    double wall_s;
} run_result;

/* Validates everything up front (nothing is written on a bad config), then
 * trains, evaluates and writes the run directory. Returns ERR_NONE when the
 * run directory was written (res->status says how the run ended), else
 * ERR_USAGE (a configuration or --out that cannot be used) or ERR_IO, with a
 * message. */
err_kind run_train(const run_config *c, run_result *res, char *err, size_t errlen);

/* Everything run_train checks before writing, without writing. When what is
 * set, a valid configuration is described there in one line: the encoding,
 * task and form, parameters, memory estimate, training and evaluation lengths,
 * steps (train --check prints it). */
err_kind run_check(const run_config *c, char *what, size_t what_len, char *err, size_t errlen);

/* posprobe train --check-stdin N: N configurations from in, one a line, each
 * tab-separated key=value options set over base (the command line's), each
 * checked as run_check does; progress on stderr unless base->quiet. ERR_NONE
 * when all are valid, else the kind and "stdin line K: ..." for the first
 * that is not, or ERR_USAGE when in does not hold exactly N lines. */
err_kind run_check_lines(const run_config *base, FILE *in, int n, char *err, size_t errlen);

/* Evaluates a model at lengths, appends eval.csv rows to w and adds to tot.
 * Used at every evaluation step and by `eval`. */
typedef struct eval_totals {     /* sums: run_evaluate adds to them (zero before the first call) */
    double token_acc_sum, seq_acc_sum;  /* over lengths, of the primary mode (greedy in decoder form) */
    int n_lengths;
    double fit_seq_acc_sum;      /* exact match of the primary mode over the lengths in [len-min, len-max] */
    int n_fit_lengths;
} eval_totals;
double eval_mean(double sum, int n);   /* sum / n, 0 when n = 0 */

/* The training lengths a run's fit is measured on: [len-min, len-max], or
 * RUN_MAX_FIT_LENS evenly spaced lengths of it (both ends included). */
#define RUN_MAX_FIT_LENS 32
/* Can model m take these lengths, and do their positions fit its table and
 * range? The first n_train are trained on (their sequence's positions), the
 * rest evaluated (decoder form: the rows greedy decoding may fill). -1 with
 * a message when not (a usage error to the caller). */
int run_check_lengths(const model *m, const int *lens, int n, int n_train, char *err, size_t errlen);
int run_fit_lens(const run_config *c, int_list *out);
/* The lengths of every evaluation: --eval-lens and the fit lengths; -1 with a
 * message when they are too many. */
int run_final_lens(const run_config *c, int_list *out, char *err, size_t errlen);
/* The sequences of one evaluation batch: at most 64; with randomized or
 * shifted positions, which are drawn once per batch, eval-size /
 * RUN_EVAL_POSITION_DRAWS (rounded up), so each length's accuracy averages
 * over several draws (Ruoss et al. 2023 evaluate 512 sequences per length in
 * 8 sub-batches of 64, each with its own draw). */
#define RUN_EVAL_POSITION_DRAWS 8
int run_eval_sub_batch(const run_config *c);
/* scratch: an arena for the activations, reset (not freed) at the end so the
 * next evaluation reuses its pages; NULL: one of its own. */
/* pr: progress counted over the lengths (NULL: none). */
int run_evaluate(model *m, const int_list *lens, int step, const char *run_id, csv_out *w, eval_totals *tot,
                 arena *scratch, progress *pr, char *err, size_t errlen);

/* posprobe eval: the checkpoint in dir at lens; rows to out_path (or stdout).
 * With dump_path, also the attention weights of every layer and head on the
 * first held-out sequence at the first length (layer,head,query,key,weight).
 * decode: "cached" or "recompute" for greedy decoding, NULL = the run's.
 * lens NULL: the run's own evaluation lengths (--eval-lens and the fit lengths).
 * ERR_IO when the checkpoint cannot be read (or is too large), ERR_USAGE when
 * it cannot take lens. Progress over the lengths on stderr when it takes more
 * than 3 s, unless quiet. */
err_kind run_eval_checkpoint(const char *dir, const int_list *lens, const char *out_path, const char *dump_path,
                        const char *decode, int quiet, char *err, size_t errlen);

/* One optimizer step on batch b: forward, loss, backward, clipping, AdamW.
 * diverged = the loss or the gradient is non-finite (no update is made). */
typedef struct step_result {
    double loss, grad_norm, token_acc, lr;
    int diverged;
} step_result;
step_result run_step(model *m, graph *g, const batch *b, int step);

/* SIGINT/SIGTERM set a flag; the training loop stops after the current step
 * (diagnose after the current model). */
void run_install_signal_handlers(void);
int run_stop_requested(void);

#endif
