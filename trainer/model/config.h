/* The run configuration: one option table drives the command line, --config
 * files, --help, config.csv and the config stored in checkpoints. */
#ifndef POSPROBE_CONFIG_H
#define POSPROBE_CONFIG_H

#include <stddef.h>

#include "engine.h"   /* attn_norm, attn_mask */

#define CONFIG_MAX_LENS 512
#define CONFIG_STR 64

typedef struct int_list {
    int n;
    int v[CONFIG_MAX_LENS];
} int_list;

/* The choice options, parsed once: each enum's order is its option's
 * choices in config.c (a test checks them against the names). */
typedef enum { HEAD_AUTO, HEAD_CLASSIFICATION, HEAD_REGRESSION } head_kind;
typedef enum { MARK_NONE, MARK_BOS, MARK_CLS_SEP } marker_kind;
typedef enum { POS_SEQUENTIAL, POS_RANDOMIZED, POS_SHIFTED } pos_kind;
typedef enum { EVAL_POS_SAME, EVAL_POS_SEQUENTIAL } eval_positions_kind;
typedef enum { ACT_RELU, ACT_GELU, ACT_SWISH } act_kind;
typedef enum { LN_PRE, LN_POST } ln_place;
typedef enum { LN_LAYER, LN_RMS } ln_kind;
typedef enum { MULT_LEARNED, MULT_SINUSOIDAL } mult_pos_kind;
typedef enum { LEN_AUTO, LEN_FIXED, LEN_UNIFORM, LEN_CURRICULUM } len_sampling_kind;
typedef enum { DECODE_CACHED, DECODE_RECOMPUTE } decode_mode;
typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_LINEAR } lr_schedule;

typedef struct run_config {
    /* what */
    char task[CONFIG_STR], encoding[CONFIG_STR];
    head_kind head;                 /* auto = the task's */
    marker_kind markers;
    pos_kind positions;             /* 0..n-1, a sorted random subset of [0, max-pos), or a random offset */
    eval_positions_kind eval_positions;   /* in evaluation: as in training, or always 0..n-1 */
    int eos;                        /* decoder form: answers end with [EOS] and greedy decoding stops at it */
    /* model */
    attn_norm norm;
    attn_mask mask;
    act_kind act;
    ln_place ln;
    ln_kind ln_kind;
    int layers, heads, dim, ff_mult;
    double dropout, init_scale;
    int max_pos;
    /* encoding options */
    double rope_base, rope_fraction;
    int rope_schedule;               /* a rope_schedule (encoding.h), in the order of its choices */
    double sin_scale;                /* sinusoidal: scale of the table (0: init-scale * sqrt 2, the token embeddings') */
    double rec_scale;                /* recursive: weight of the states at the input (0: init-scale) */
    int rope_trainable;
    int clip_min, clip_max;          /* shaw / deberta / urpe offset clipping */
    int t5_buckets, t5_max_distance;
    double xpos_gamma, xpos_zeta;    /* xpos: scale zeta^(m/gamma) */
    mult_pos_kind mult_pos;          /* multiplicative: the position vectors */
    int alibi_asym;                  /* alibi bidirectional: separate left/right slopes */
    int conv_kernel, conv_circular;  /* conv: kernel size; circular padding instead of zeros */
    /* task options */
    int vocab, grid_w;
    /* lengths */
    int len, len_min, len_max;
    len_sampling_kind len_sampling;
    int_list eval_lens;
    int eval_every, eval_size;
    double fit_acc;                 /* a run has fitted when its mean exact match over the training lengths reaches this */
    int stop_at_fit;                /* stop training at the first evaluation that has fitted */
    decode_mode decode;             /* greedy decoding */
    /* optimisation */
    int steps, batch, warmup;
    double lr, wd, beta1, beta2, eps, clip, lr_min_ratio;
    lr_schedule schedule;
    /* seeds: -1 = derived from seed */
    long seed, seed_init, seed_data, seed_pos, seed_dropout, seed_eval;
    /* output */
    char out[1024], run_id[CONFIG_STR * 2];
    int quiet;
    int force;                      /* replace an existing posprobe run in out (rundir.h) */
    double progress_every;
} run_config;

/* Names that only a registry knows (task, encoding) are checked by this hook
 * when set; 0 = valid, else a message in err. */
typedef int (*config_name_check)(const char *key, const char *value, char *err, size_t errlen);
void config_set_name_check(config_name_check check);

/* Sets every option to its default. */
void config_defaults(run_config *c);

/* Sets option `key` (long name without dashes) from text. On error writes a
 * message (without "posprobe: error:") into err and returns -1. */
int config_set(run_config *c, const char *key, const char *value, char *err, size_t errlen);
/* Reads `key = value` lines; a line whose first non-blank is '#' is a
 * comment, a '#' anywhere else an error (as in suite files). A byte-order
 * mark, a NUL byte or a line over 4094 bytes is an error naming it. Errors
 * name FILE:LINE; a key given twice is one. */
int config_read_file(run_config *c, const char *path, char *err, size_t errlen);

/* The name of choice option key's value v ("causal" for mask, MASK_CAUSAL),
 * or NULL when key is not a choice option or v is out of range. */
const char *config_choice_name(const char *key, int v);

/* Cross-option checks after everything is set (lengths, heads | dim, ...).
 * Names of tasks and encodings are checked by the registries' callers. */
int config_validate(run_config *c, char *err, size_t errlen);

/* Iterates options in table order: name and current value as text. Returns
 * 0 past the end. Used for config.csv, checkpoints and --help. */
int config_option(const run_config *c, int index, const char **name, char *value, size_t len);
int config_option_help(int index, const char **name, const char **meta, const char **help, const char **def);
/* The default of the index-th option as --help and the manual show it: its
 * value, "--len" for --len-min and --len-max (they follow --len), "none" for
 * an empty one. */
void config_option_default(int index, char *value, size_t len);
/* The message of a flag given another value than 0 1 true false yes no (key, value). */
#define CONFIG_FLAG_ERROR "--%.64s: '%.64s' is not 0 or 1 (nor true, false, yes or no)"
/* Is `name` an option, and is it a 0/1 flag (which may be given without a value)? */
int config_option_kind(const char *name, int *is_flag);
/* Is this option a pure output/progress setting (not part of the experiment)? */
int config_option_is_output(int index);
/* Is `name` an option that defines the experiment: not an output setting and
 * not a seed? Runs equal in every such option are seeds of one setting. */
int config_option_is_setting(const char *name);

/* Numbers: one grammar for every command, --config file and LIST (docs/cli.md,
 * "Numbers"). An integer is an optional sign and decimal digits; a real is an
 * optional sign, digits with an optional '.' and fraction (or '.' and
 * digits), and an optional exponent (e or E, optional sign, digits). No
 * blanks, no hex, no inf or nan. 0 = read; -1 = not of the grammar; -2 = of
 * the grammar but beyond a long, or beyond a double (overflow, or underflow
 * to a subnormal or 0). */
int number_parse_long(const char *s, long *out);
int number_parse_real(const char *s, double *out);

/* Parses "8,16,32", "1-64", "1-64:8" (step) or a mix into a sorted, de-duplicated
 * list of positive lengths; each number is decimal digits, no sign. */
int int_list_parse(const char *s, int_list *out, char *err, size_t errlen);
void int_list_format(const int_list *l, char *buf, size_t len);

/* The random streams of a run, each seeded from --seed and its number unless
 * set explicitly (--seed-init, ...). The numbers are part of every result:
 * changing one changes the runs. */
typedef enum {
    STREAM_INIT = 0,        /* parameter initialisation (also diagnose's and inspect's models) */
    STREAM_DATA = 1,        /* training examples */
    STREAM_POS = 2,         /* position ids drawn in training (randomized, shifted) */
    STREAM_DROPOUT = 3,
    STREAM_EVAL = 4,        /* held-out examples, per length */
    STREAM_EVAL_POS = 5,    /* their position ids */
    STREAM_LAYERPROBE = 7,  /* layerprobe's fresh examples */
} config_stream;

/* The seed of a stream: explicit_seed when it is set (>= 0), else one derived from --seed. */
unsigned long config_stream_seed(const run_config *c, long explicit_seed, config_stream stream);

#endif
