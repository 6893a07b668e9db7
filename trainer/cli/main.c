/* posprobe: the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "csvio.h"
#include "diagnose.h"
#include "examples.h"
#include "inspect.h"
#include "layerprobe.h"
#include "summarize.h"
#include "encoding.h"
#include "run.h"
#include "layout.h"

/* The exit statuses, here and nowhere else (docs/cli.md lists them). */
enum { EXIT_IO = 1, EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };

static int exit_status(err_kind k) {
    switch (k) {
    case ERR_NONE: return 0;
    case ERR_IO: return EXIT_IO;
    case ERR_USAGE: return EXIT_USAGE;
    case ERR_INTERRUPTED: return EXIT_INTERRUPTED;
    }
    return EXIT_IO;
}

/* A run that ended: finished, or stopped by a non-finite loss or a signal. */
static int run_exit_status(run_status s) {
    return s == RUN_DIVERGED ? EXIT_DIVERGED : s == RUN_INTERRUPTED ? EXIT_INTERRUPTED : 0;
}

static void die_usage(const char *msg) {
    fprintf(stderr, "posprobe: error: %s\n", msg);
    exit(EXIT_USAGE);
}

/* How a command ends: on a failure its one line (an interruption is not an
 * error); the exit status of its kind. */
static int command_end(err_kind k, const char *err) {
    if (k == ERR_NONE) return 0;
    fprintf(stderr, k == ERR_INTERRUPTED ? "posprobe: %s\n" : "posprobe: error: %s\n", err);
    return exit_status(k);
}

/* The prose of train's help; the options follow from the option table. */
static void help_train_text(FILE *f) {
    fprintf(f,
            "usage: posprobe train [--config FILE] [--OPTION VALUE ...] --out DIR\n"
            "       posprobe train [--config FILE] [--OPTION VALUE ...] --check | --check-stdin N\n\n"
            "Trains one model and writes DIR/{config,train,eval,summary}.csv and DIR/checkpoint.bin; --out DIR is\n"
            "required (not with --check and --check-stdin).\n"
            "DIR must not exist (posprobe creates it), be empty, or hold an unfinished run of the same\n"
            "configuration, which is trained again from scratch; --force replaces a finished run or a run of\n"
            "another configuration, never other files. DIR.lock beside it is locked while training: a second\n"
            "training into DIR fails at once.\n"
            "--check validates the whole configuration (as training would), writing nothing, and prints one line:\n"
            "the parameters, the memory estimate, the training and evaluation lengths and the steps.\n"
            "--check-stdin N validates N configurations read from stdin, one a line of tab-separated\n"
            "key=value options over the command line's, in one process, and exits at the first invalid one\n"
            "(posprobe: error: stdin line K: ...), writing nothing; progress on stderr (suite validation).\n"
            "--config FILE reads 'key = value' lines with these option names; the command line overrides it.\n"
            "An encoding option (--rope-base, --clip-min, --conv-kernel, ...) away from its default is refused\n"
            "with an encoding that does not use it.\n"
            "Progress on stderr: step, loss, accuracy and the latest evaluation (none with --quiet).\n"
            "Exit status: 0 finished, 3 diverged (non-finite loss or gradient), 130 interrupted, 2 bad usage, 1 I/O error.\n");
}

/* Each option of the table, its help and its default. */
static void help_train(FILE *f) {
    help_train_text(f);
    fprintf(f, "\noptions (default in brackets):\n");
    const char *name, *meta, *help, *choices;
    char value[4096];
    for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++) {
        config_option_default(i, value, sizeof value);
        char left[96];
        snprintf(left, sizeof left, "--%s %s", name, meta);
        fprintf(f, "  %-40s %s [%s]\n", left, help, value);
    }
}

/* A command's own option, beside the run_config options: its name and the
 * metavariable of its value, which also tells completion what to offer (DIR,
 * FILE, a|b choices); NULL: a flag, given bare ("1"), with =WORD or followed
 * by a flag word (0 1 true false yes no). */
typedef struct cmd_opt {
    const char *name;
    const char *meta;
} cmd_opt;

static const char *const FLAG_ON[] = {"1", "true", "yes", NULL}, *const FLAG_OFF[] = {"0", "false", "no", NULL};

static int in_words(const char *s, const char *const *words) {
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return 1;
    return 0;
}

/* Is word one of choices "a|b|c"? */
static int in_choices(const char *choices, const char *word) {
    size_t n = strlen(word);
    for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == '|' || !p[n]) && n) return 1;
    return 0;
}

/* Is an own flag on? (its value was checked by parse_args) */
static int flag_on(const char *value) { return value && in_words(value, FLAG_ON); }

static int find_own(const cmd_opt *own, const char *key) {
    for (int k = 0; own && own[k].name; k++)
        if (strcmp(own[k].name, key) == 0) return k;
    return -1;
}

/* A word of the number grammar, or a number beyond it (-2): after a flag it is
 * the flag's value, refused as config files refuse it (--conv-circular 2). */
static int is_number(const char *s) {
    double v;
    return number_parse_real(s, &v) != -1;
}

/* The command line of command `cmd`: its own options (own, ending with a NULL
 * name; their values into vals, NULL when absent), and when c is set --config
 * FILE and every run_config option, read into c (the file first, so the
 * command line overrides it). Every option may be given once; words that are
 * not options are positional arguments, at most max_pos of them, into pos[]
 * (their count returned). Anything else is a usage error: exit status 2. */
static int parse_args(const char *cmd, int argc, char **argv, run_config *c, const cmd_opt *own, const char **vals,
                      const char **pos, int max_pos) {
    char err[2048], msg[2300];
    static struct { char key[128]; const char *value; } given[256];   /* every option, in order */
    int n_given = 0, n_pos = 0;
    const char *bare_flag = NULL;   /* the option before, when it was a flag given without a value */
    for (int k = 0; own && own[k].name; k++) vals[k] = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            if (n_pos < max_pos) { pos[n_pos++] = a; continue; }
            if (bare_flag)
                snprintf(msg, sizeof msg, "%s: unexpected argument '%.64s' (--%.64s is a flag: --%.64s or --%.64s 0|1)", cmd,
                         a, bare_flag, bare_flag, bare_flag);
            else
                snprintf(msg, sizeof msg, "%s: unexpected argument '%.64s'%s", cmd, a, max_pos ? "" : " (options start with --)");
            die_usage(msg);
        }
        bare_flag = NULL;
        if (n_given == 256) die_usage("more than 256 options");
        char *key = given[n_given].key;
        const char *eq = strchr(a + 2, '='), *value;
        snprintf(key, sizeof given[0].key, "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
        for (int k = 0; k < n_given; k++)
            if (strcmp(given[k].key, key) == 0) {
                snprintf(msg, sizeof msg, "--%.64s is given twice", key);
                die_usage(msg);
            }
        int o = find_own(own, key);
        int is_flag = 0, known = o >= 0 || (c && (strcmp(key, "config") == 0 || config_option_kind(key, &is_flag)));
        if (o >= 0) is_flag = !own[o].meta;
        if (!known) {
            if (c) snprintf(msg, sizeof msg, "unknown option '%.64s'", key);
            else snprintf(msg, sizeof msg, "%s: unknown option '--%.64s'", cmd, key);
            die_usage(msg);
        }
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (eq) value = eq + 1;
        else if (is_flag && next && (in_words(next, FLAG_ON) || in_words(next, FLAG_OFF) || (n_pos == max_pos && is_number(next))))
            value = argv[++i];
        else if (is_flag) { value = "1"; bare_flag = given[n_given].key; }
        else if (next) value = argv[++i];
        else {
            snprintf(msg, sizeof msg, "--%.64s needs a value", key);
            die_usage(msg);
        }
        if (o >= 0 && is_flag && !in_words(value, FLAG_ON) && !in_words(value, FLAG_OFF)) {
            snprintf(msg, sizeof msg, CONFIG_FLAG_ERROR, key, value);
            die_usage(msg);
        }
        if (o >= 0 && !*value) {
            snprintf(msg, sizeof msg, "--%.64s: empty value", key);
            die_usage(msg);
        }
        if (o >= 0) vals[o] = value;
        given[n_given++].value = o >= 0 ? NULL : value;   /* run_config options and --config: applied below */
    }
    for (int k = 0; k < n_given; k++)
        if (given[k].value && strcmp(given[k].key, "config") == 0 && config_read_file(c, given[k].value, err, sizeof err))
            die_usage(err);
    for (int k = 0; k < n_given; k++)
        if (given[k].value && strcmp(given[k].key, "config") != 0 && config_set(c, given[k].key, given[k].value, err, sizeof err))
            die_usage(err);
    return n_pos;
}

static int wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

/* list encodings|tasks|norms [--csv]: the catalogue, for people (aligned
 * columns) or for scripts (CSV with every property as a column: report.py and
 * plots.py read their encoding classes, controls and normalizers here). */
static void list_csv(const char *const *header, const char *const *const *rows, int n_rows) {
    csv_out w;
    char err[512];
    if (csv_out_open_or_stdout(&w, NULL, err, sizeof err)) die_usage(err);
    csv_out_header(&w, header);
    for (int r = 0; r < n_rows; r++) {
        for (int c = 0; header[c]; c++) csv_out_str(&w, rows[r][c]);
        csv_out_end_row(&w);
    }
    if (csv_out_finish(&w, 0, err, sizeof err)) {
        fprintf(stderr, "posprobe: error: %s\n", err);
        exit(EXIT_IO);
    }
}

static const char *yes_no(unsigned flags, unsigned flag) { return flags & flag ? "1" : "0"; }

static void help_list(FILE *f) {
    fprintf(f, "usage: posprobe list encodings|tasks|norms [--csv]\n"
               "The catalogue: one line each for people, or CSV with every property as a column (--csv):\n"
               "encodings: name,where,relative,directional,symmetric,value_side,causal_only,two_d,table,reads_prior_rows,\n"
               "           options,summary (options: the encoding options it uses, blank-separated)\n"
               "tasks: name,shape,two_d,regression,control_encoder,control_decoder,n_means,summary\n"
               "norms: name,linear,summary (linear: 1 for linear attention, 8265: no scores, no bias)\n");
}

static const cmd_opt LIST_OPTS[] = {{"csv", NULL}, {NULL, NULL}};

static int cmd_list(int argc, char **argv) {
    const char *what = NULL, *v[1];
    if (parse_args("list", argc, argv, NULL, LIST_OPTS, v, &what, 1) != 1) die_usage("usage: posprobe list encodings|tasks|norms [--csv]");
    int csv = flag_on(v[0]);
    enum { MAX_ROWS = 64 };
    const char *cells[MAX_ROWS][13];
    const char *const *rows[MAX_ROWS];
    int n = 0;
    if (strcmp(what, "encodings") == 0) {
        static const char *const header[] = {"name", "where", "relative", "directional", "symmetric", "value_side",
                                             "causal_only", "two_d", "table", "reads_prior_rows", "options", "summary", NULL};
        for (const encoding_def *e; (e = encoding_at(n)) && n < MAX_ROWS; n++) {
            if (!csv) { printf("%-16s %-9s %s\n", e->name, enc_where_name(e->where), e->summary); continue; }
            const char *row[] = {e->name, enc_where_name(e->where), yes_no(e->flags, ENC_RELATIVE),
                                 yes_no(e->flags, ENC_DIRECTIONAL), yes_no(e->flags, ENC_SYMMETRIC),
                                 yes_no(e->flags, ENC_VALUE_SIDE), yes_no(e->flags, ENC_CAUSAL_ONLY),
                                 yes_no(e->flags, ENC_2D), yes_no(e->flags, ENC_TABLE),
                                 yes_no(e->flags, ENC_READS_PRIOR_ROWS), e->options ? e->options : "", e->summary};
            memcpy(cells[n], row, sizeof row);
            rows[n] = cells[n];
        }
        if (csv) list_csv(header, rows, n);
    } else if (strcmp(what, "tasks") == 0) {
        static const char *const header[] = {"name", "shape", "two_d", "regression", "control_encoder",
                                             "control_decoder", "n_means", "summary", NULL};
        for (const task_def *t; (t = task_at(n)) && n < MAX_ROWS; n++) {
            const char *shape = t->shape == TASK_ALIGNED ? "aligned" : "seq2seq";
            if (!csv) {
                printf("%-18s %-8s %-22s %s; n = %s\n", t->name, shape,
                       t->shape == TASK_ALIGNED ? "forms: bidir, causal" : "forms: encoder, decoder", t->summary, t->n_means);
                continue;
            }
            const char *row[] = {t->name, shape, yes_no(t->flags, TASK_2D), yes_no(t->flags, TASK_REGRESSION),
                                 yes_no(t->flags, TASK_CONTROL_ENCODER), yes_no(t->flags, TASK_CONTROL_DECODER),
                                 t->n_means, t->summary};
            memcpy(cells[n], row, sizeof row);
            rows[n] = cells[n];
        }
        if (csv) list_csv(header, rows, n);
    } else if (strcmp(what, "norms") == 0) {
        static const char *const header[] = {"name", "linear", "summary", NULL};
        for (; n < NORM_COUNT && n < MAX_ROWS; n++) {
            if (!csv) { printf("%-10s %s\n", attn_norm_name((attn_norm)n), attn_norm_describe((attn_norm)n)); continue; }
            cells[n][0] = attn_norm_name((attn_norm)n);
            cells[n][1] = attn_norm_is_linear((attn_norm)n) ? "1" : "0";
            cells[n][2] = attn_norm_describe((attn_norm)n);
            rows[n] = cells[n];
        }
        if (csv) list_csv(header, rows, n);
    } else {
        char msg[256];
        snprintf(msg, sizeof msg, "list: unknown category '%.64s' (encodings, tasks or norms)", what);
        die_usage(msg);
    }
    return 0;
}

static int parse_count(const char *s, const char *what, int lo, int hi) {
    long v;
    if (number_parse_long(s, &v) || v < lo || v > hi) {
        char msg[256];
        snprintf(msg, sizeof msg, "--%s: '%.32s' is not an integer in [%d, %d]", what, s, lo, hi);
        die_usage(msg);
    }
    return (int)v;
}

static const cmd_opt TRAIN_OPTS[] = {{"check", NULL}, {"check-stdin", "N"}, {NULL, NULL}};

static int cmd_train(int argc, char **argv) {
    run_config c;
    config_defaults(&c);
    const char *v[2];
    parse_args("train", argc, argv, &c, TRAIN_OPTS, v, NULL, 0);
    char err[2048];
    if (flag_on(v[0]) && v[1]) die_usage("--check and --check-stdin exclude each other");
    if (flag_on(v[0])) { /* validate everything, write nothing; say what would run */
        char what[1024];
        err_kind k = run_check(&c, what, sizeof what, err, sizeof err);
        if (!k) printf("posprobe train --check: valid: %s\n", what);
        return command_end(k, err);
    }
    if (v[1]) { /* many configurations, one process: what the suite runner validates */
        int n = parse_count(v[1], "check-stdin", 0, 100000000);
        return command_end(run_check_lines(&c, stdin, n, err, sizeof err), err);
    }
    run_result res;
    run_install_signal_handlers();
    err_kind k = run_train(&c, &res, err, sizeof err);
    return k ? command_end(k, err) : run_exit_status(res.status);
}

static void help_diagnose(FILE *f) {
    fprintf(f, "usage: posprobe diagnose [--encoding E --norm N --mask M --markers K] [--len N] [--seeds S]\n"
               "                         [--all] [--out FILE] [any train option, e.g. --layers --dim --init-scale]\n\n"
               "Article 9105's argument checked numerically, without training: a constant input [0]*n (with the\n"
               "markers) goes through S randomly initialised models (seeds 1..S, --init-scale 0.3 unless given);\n"
               "for the final hidden states h_1..h_n of the identical tokens it reports\n"
               "  spread = max_i ||h_i - mean h|| / max_i ||h_i||   (min and max over seeds)\n"
               "  mirror = max_i ||h_i - h_{n+1-i}|| / max_i ||h_i|| (max over seeds)\n"
               "and the verdict: indistinguishable (spread below the rounding tolerance), mirror-tied (only\n"
               "mirror positions tie), distinguishable, or mixed (seeds disagree). 'expected' is the verdict the\n"
               "symmetry argument predicts (docs/articles.md), empty where it predicts nothing.\n"
               "--all runs every encoding x normalizer x mask x markers. CSV to FILE or stdout.\n"
               "Progress on stderr (none with --quiet). SIGINT or SIGTERM stop it after the current model:\n"
               "exit status 130, FILE not written (a file that was there stays as it was).\n");
}

static const cmd_opt DIAGNOSE_OPTS[] = {{"all", NULL}, {"seeds", "S"}, {"out", "FILE"}, {NULL, NULL}};

/* An encoding option the run's encoding does not use, away from its default: a usage error. */
static void check_encoding_options(const run_config *c) {
    char err[1024];
    if (model_check_encoding_options(c, err, sizeof err)) die_usage(err);
}

static int cmd_diagnose(int argc, char **argv) {
    run_config c;
    config_defaults(&c);
    c.init_scale = 0.3;
    c.len = 16;
    const char *v[3];
    parse_args("diagnose", argc, argv, &c, DIAGNOSE_OPTS, v, NULL, 0);
    int all = flag_on(v[0]), seeds = v[1] ? parse_count(v[1], "seeds", 1, 1000) : 3;
    run_config d;
    config_defaults(&d);
    if (all && (strcmp(c.encoding, d.encoding) || c.norm != d.norm || c.mask != d.mask ||
                c.markers != d.markers))   /* --all runs every one of them */
        die_usage("diagnose: --all runs every encoding, normalizer, mask and markers; give none of them with it");
    char err[2048];
    if (!encoding_find(c.encoding)) {
        snprintf(err, sizeof err, "unknown encoding '%.64s' (see: posprobe list encodings)", c.encoding);
        die_usage(err);
    }
    if (!all) check_encoding_options(&c);
    run_install_signal_handlers();   /* SIGINT/SIGTERM: stop after the current model, write nothing */
    return command_end(diagnose_run(&c, all, seeds, v[2], err, sizeof err), err);
}

/* --checkpoint DIR of eval and layerprobe: given, and holding a file
 * checkpoint.bin that can be opened (a DIR that has none is a usage error; a
 * checkpoint.bin that cannot be loaded is exit 1, when it is read). The path
 * of checkpoint.bin itself names its directory. Returns the directory. */
static const char *require_checkpoint(const char *cmd, const char *dir) {
    static char parent[1100];
    char msg[1400];
    if (!dir) {
        snprintf(msg, sizeof msg, "%s: --checkpoint DIR is required", cmd);
        die_usage(msg);
    }
    const char *base = strrchr(dir, '/');
    struct stat st;
    if (strcmp(base ? base + 1 : dir, "checkpoint.bin") == 0 && stat(dir, &st) == 0 && S_ISREG(st.st_mode) &&
        strlen(dir) < sizeof parent) {
        snprintf(parent, sizeof parent, "%.*s", base ? (int)(base - dir) : 1, base ? dir : ".");
        if (!parent[0]) snprintf(parent, sizeof parent, "/");
        dir = parent;
    }
    char ck[1200];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", dir);
    if (access(ck, R_OK) != 0) {
        snprintf(msg, sizeof msg, "%s: %.1100s: no readable checkpoint (is DIR a finished run?)", cmd, ck);
        die_usage(msg);
    }
    return dir;
}

/* A LIST option's value, or a usage error naming the option. */
static void parse_list(const char *option, const char *value, int_list *out) {
    char err[256], msg[512];
    if (int_list_parse(value, out, err, sizeof err)) {
        snprintf(msg, sizeof msg, "--%s: %s", option, err);
        die_usage(msg);
    }
}

static void help_eval(FILE *f) {
    fprintf(f, "usage: posprobe eval --checkpoint DIR [--eval-lens LIST] [--out FILE] [--dump-attention FILE]\n"
               "                     [--decode cached|recompute] [--quiet]\n"
               "Evaluates the run in DIR (its checkpoint.bin; required) on the run's own held-out sets at each\n"
               "length (default: the run's --eval-lens); writes eval.csv rows (the same columns as a run's eval.csv)\n"
               "to FILE or stdout. --dump-attention FILE also writes the attention weights of every layer and\n"
               "head on the first held-out sequence at the first length: layer,head,query,key,query_token,\n"
               "key_token,weight. --decode: greedy decoding (decoder form) with cached keys and values, or\n"
               "the whole prefix recomputed at every step; the same tokens either way (default: cached;\n"
               "conv, which reads earlier rows at the input, always recomputes).\n"
               "An evaluation that takes more than a few seconds shows its progress over the lengths on\n"
               "stderr (none with --quiet).\n");
}

static const cmd_opt EVAL_OPTS[] = {{"checkpoint", "DIR"},     {"out", "FILE"},
                                    {"eval-lens", "LIST"},     {"dump-attention", "FILE"},
                                    {"decode", "cached|recompute"}, {"quiet", NULL}, {NULL, NULL}};

static int cmd_eval(int argc, char **argv) {
    const char *v[6];
    parse_args("eval", argc, argv, NULL, EVAL_OPTS, v, NULL, 0);
    const char *dir = v[0], *out = v[1], *lens = v[2], *dump = v[3], *decode = v[4];
    if (out && dump && strcmp(out, dump) == 0 && strcmp(out, "-") != 0)   /* one would overwrite the other */
        die_usage("eval: --out and --dump-attention name the same file");
    if (decode) {   /* checked as the option table checks --decode */
        run_config probe;
        char msg[512];
        config_defaults(&probe);
        if (config_set(&probe, "decode", decode, msg, sizeof msg)) die_usage(msg);
    }
    dir = require_checkpoint("eval", dir);
    int_list l;
    if (lens) parse_list("eval-lens", lens, &l);
    char err[2048];
    return command_end(run_eval_checkpoint(dir, lens ? &l : NULL, out, dump, decode, flag_on(v[5]), err, sizeof err), err);
}

#define INSPECT_WHAT "bias|decay|rotation|positions|frequencies"

static void help_inspect(FILE *f) {
    fprintf(f, "usage: posprobe inspect --what bias|decay|rotation|positions [--encoding E] [--len N] [--dim D]\n"
               "                        [--heads H] [--draws K] [--out FILE] [any train option]\n"
               "       posprobe inspect --what frequencies --checkpoint DIR [--out FILE]\n\n"
               "An encoding's own quantities as CSV, without training (a randomly initialised model on the\n"
               "constant probe input where a model is needed); --what is required:\n"
               "  bias       pre-normalizer scores of every layer: layer,head,query,key,offset,value\n"
               "  decay      rotations: RoPE's decay bound vs distance with d = --dim (8265); sinusoidal and\n"
               "             multiplicative: <p_m,p_n> and its integral approximation (8231); bias encodings:\n"
               "             the head-mean score at query n-1 vs key n-1-r\n"
               "  rotation   the vector (1,0,1,0,...)/sqrt(D/2) rotated at each position: position,dim,value\n"
               "  positions  --draws K batches of position ids as --positions samples them: draw,index,position\n"
               "  frequencies  a trained run's rotary frequencies (--rope-trainable 1) against their initial\n"
               "             values (8265): pair,theta_initial,theta_final,relative_change\n"
               "e.g. posprobe inspect --encoding rope --what decay --dim 128 --len 256 reproduces the\n"
               "values of 8265's bound in docs/articles.md.\n");
}

static const cmd_opt INSPECT_OPTS[] = {{"what", INSPECT_WHAT}, {"draws", "K"}, {"out", "FILE"}, {"checkpoint", "DIR"}, {NULL, NULL}};

static int cmd_inspect(int argc, char **argv) {
    run_config c;
    config_defaults(&c);
    const char *v[4];
    parse_args("inspect", argc, argv, &c, INSPECT_OPTS, v, NULL, 0);
    const char *what = v[0];
    char err[2048];
    if (!what) die_usage("inspect: --what " INSPECT_WHAT " is required");
    if (!in_choices(INSPECT_WHAT, what)) {   /* the word first: a wrong one is named before anything else */
        snprintf(err, sizeof err, "inspect: --what must be one of " INSPECT_WHAT ", not '%.64s'", what);
        die_usage(err);
    }
    if (strcmp(what, "frequencies") == 0) {
        if (!v[3]) die_usage("inspect: --what frequencies needs --checkpoint DIR");
        return command_end(inspect_frequencies(v[3], v[2], err, sizeof err), err);
    }
    if (v[3]) die_usage("inspect: --checkpoint goes with --what frequencies only");
    int draws = v[1] ? parse_count(v[1], "draws", 1, 100000) : 4;
    check_encoding_options(&c);
    return command_end(inspect_run(&c, what, draws, v[2], err, sizeof err), err);
}

static void help_examples(FILE *f) {
    fprintf(f, "usage: posprobe examples [--task T] [--len N] [--mask bidir|causal] [--markers K] [--eos 0|1] [--vocab V]\n"
               "                         [--count C] [--seed S] [any train option]\n"
               "Prints C examples (2) of task T (probe) at length N (6) as the model sees them: the token row ([BOS],\n"
               "[CLS], [SEP], _ = answer slot) and the target row (. = not scored). --mask causal gives the decoder\n"
               "form of seq2seq tasks ([BOS] input [SEP] answer, each answer token predicted from the one before,\n"
               "then a scored [EOS]; --eos 0: no [EOS], the length is given).\n");
}

static const cmd_opt EXAMPLES_OPTS[] = {{"count", "C"}, {NULL, NULL}};

static int cmd_examples(int argc, char **argv) {
    run_config c;
    config_defaults(&c);
    c.len = 6;
    const char *v[1];
    parse_args("examples", argc, argv, &c, EXAMPLES_OPTS, v, NULL, 0);
    int count = v[0] ? parse_count(v[0], "count", 1, 1000) : 2;
    char err[2048];
    if (examples_print(&c, count, stdout, err, sizeof err)) die_usage(err);
    return 0;
}

static void help_layerprobe(FILE *f) {
    fprintf(f, "usage: posprobe layerprobe --checkpoint DIR [--lens LIST] [--train-size N] [--test-size N]\n"
               "                           [--steps N] [--seed S] [--out FILE] [--quiet]\n\n"
               "Freezes the trained model in DIR (required) and fits, for each layer l = 0 (the embedded input)\n"
               ".. L, a softmax classifier of each token's absolute position (its index in the model sequence) on\n"
               "that layer's hidden states: --train-size sequences per length to fit (64), --test-size held-out\n"
               "sequences to score (32), fresh inputs of the run's task from their own seed. Writes\n"
               "run_id,layer,length,probe_acc,mean_abs_dist,n_tokens to FILE or stdout. When it takes more than\n"
               "a few seconds, progress over the layers on stderr (none with --quiet).\n");
}

static const cmd_opt LAYERPROBE_OPTS[] = {{"checkpoint", "DIR"}, {"out", "FILE"},  {"lens", "LIST"}, {"train-size", "N"},
                                          {"test-size", "N"},    {"steps", "N"},   {"seed", "S"},    {"quiet", NULL},
                                          {NULL, NULL}};

static int cmd_layerprobe(int argc, char **argv) {
    const char *v[8];
    parse_args("layerprobe", argc, argv, NULL, LAYERPROBE_OPTS, v, NULL, 0);
    layerprobe_opts o;
    layerprobe_defaults(&o);
    if (v[2]) parse_list("lens", v[2], &o.lens);
    if (v[3]) o.train_size = parse_count(v[3], "train-size", 1, 100000);
    if (v[4]) o.test_size = parse_count(v[4], "test-size", 1, 100000);
    if (v[5]) o.steps = parse_count(v[5], "steps", 1, 1000000);
    if (v[6]) o.seed = parse_count(v[6], "seed", 0, 2000000000);
    o.quiet = flag_on(v[7]);
    const char *dir = require_checkpoint("layerprobe", v[0]);
    char err[2048];
    return command_end(layerprobe_run(dir, &o, v[1], err, sizeof err), err);
}

static void help_summarize(FILE *f) {
    fprintf(f, "usage: posprobe summarize [--fitted-only] [--quiet] DIR\n\n"
               "Reads every run directory below DIR (required; up to two levels) and writes DIR/summary.csv (per\n"
               "group and length: mean, sd, 95%% t-interval, min, max over seeds of token and sequence accuracy and\n"
               "of the share of right answer lengths), DIR/horizons.csv (per group: extrapolation horizons at\n"
               "0.9 and 0.5 mean token accuracy and exact match, their ratio to the training length, mean\n"
               "accuracy beyond it) and DIR/runs.csv (each run's status and whether it fitted).\n"
               "Diverged, interrupted, unfinished and unreadable runs are counted and listed, never averaged.\n"
               "--fitted-only: runs that did not fit their training lengths (summary.csv fitted = 0) are\n"
               "counted (n_not_fitted), never averaged in.\n"
               "On stderr: the runs skipped and the totals, and progress when reading takes more than a few\n"
               "seconds (none of them with --quiet).\n");
}

static const cmd_opt SUMMARIZE_OPTS[] = {{"fitted-only", NULL}, {"quiet", NULL}, {NULL, NULL}};

static int cmd_summarize(int argc, char **argv) {
    const char *dir = NULL, *v[2];
    if (parse_args("summarize", argc, argv, NULL, SUMMARIZE_OPTS, v, &dir, 1) != 1)
        die_usage("usage: posprobe summarize [--fitted-only] [--quiet] DIR");
    char err[2048];
    return command_end(summarize_run(dir, flag_on(v[1]), flag_on(v[0]), err, sizeof err), err);
}

/* --task and --encoding name registered entries. */
static int check_name(const char *key, const char *value, char *err, size_t errlen) {
    if (strcmp(key, "task") == 0 && !task_find(value)) {
        snprintf(err, errlen, "unknown task '%.64s' (see: posprobe list tasks)", value);
        return -1;
    }
    if (strcmp(key, "encoding") == 0 && !encoding_find(value)) {
        snprintf(err, errlen, "unknown encoding '%.64s' (see: posprobe list encodings)", value);
        return -1;
    }
    return 0;
}

static void help_version(FILE *f) {
    fprintf(f, "usage: posprobe version\nThe program version, its precision (float or double), BLAS library and kernel.\n");
}

static int cmd_version(int argc, char **argv) {
    parse_args("version", argc, argv, NULL, NULL, NULL, NULL, 0);
    printf("posprobe %s (%s, BLAS %s, kernel %s)\n", POSPROBE_VERSION, REAL_NAME, POSPROBE_BLAS_NAME, blas_kernel_name());
    return 0;
}

static int cmd_help(int argc, char **argv);
static void help_help(FILE *f);

/* The commands: each takes the words after its name; its help is printed on
 * --help and by posprobe help COMMAND, and its options feed the man page and
 * shell completion (posprobe help --man, --complete). */
typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *f);
    const char *needs;        /* what must be given (the command list shows it); "" = nothing */
    const char *summary;
    const cmd_opt *opts;      /* its own options */
    int train_options;        /* it also takes --config and every train option */
    const char *words;        /* its words that are not options, for completion: dir, commands, a|b|c; NULL none */
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, help_train, "--out DIR", "train one model on a task, write its run directory", TRAIN_OPTS, 1, NULL},
    {"eval", cmd_eval, help_eval, "--checkpoint DIR", "evaluate a trained run on its held-out sets", EVAL_OPTS, 0, NULL},
    {"list", cmd_list, help_list, "encodings|tasks|norms", "what is registered (--csv: every property, for scripts)",
     LIST_OPTS, 0, "encodings|tasks|norms"},
    {"diagnose", cmd_diagnose, help_diagnose, "", "can random models tell identical tokens apart? (9105, no training)",
     DIAGNOSE_OPTS, 1, NULL},
    {"inspect", cmd_inspect, help_inspect, "--what W", "an encoding's bias, decay, rotations or positions as CSV",
     INSPECT_OPTS, 1, NULL},
    {"examples", cmd_examples, help_examples, "", "a task's examples as the model sees them", EXAMPLES_OPTS, 1, NULL},
    {"layerprobe", cmd_layerprobe, help_layerprobe, "--checkpoint DIR", "per-layer linear probe of absolute position",
     LAYERPROBE_OPTS, 0, NULL},
    {"summarize", cmd_summarize, help_summarize, "DIR", "statistics over seeds of every run below DIR", SUMMARIZE_OPTS, 0,
     "dir"},
    {"help", cmd_help, help_help, "", "this text, or a command's options (help COMMAND)", NULL, 0, "commands"},
    {"version", cmd_version, help_version, "", "the program version, precision and BLAS kernel", NULL, 0, NULL},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof *COMMANDS))

static const command *command_find(const char *name) {
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    if (strcmp(name, "--version") == 0) name = "version";
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
    return NULL;
}

static void print_main_help(FILE *f) {
    fprintf(f, "posprobe %s: position-encoding probe experiments (%s build, BLAS %s)\n\n"
               "usage: posprobe COMMAND [options]\n\n"
               "commands, with what each requires (posprobe help COMMAND: every option, with its default):\n",
            POSPROBE_VERSION, REAL_NAME, POSPROBE_BLAS_NAME);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-11s %-22s %s\n", COMMANDS[i].name, COMMANDS[i].needs, COMMANDS[i].summary);
    fprintf(f, "\nenvironment:\n"
               "  OPENBLAS_CORETYPE  OpenBLAS kernel set; unset, posprobe picks SkylakeX (AVX-512) or Haswell\n"
               "                     (AVX2) where OpenBLAS would fall back to its generic Prescott kernels\n");
}

static void help_help_usage(FILE *f) {
    fprintf(f, "usage: posprobe help [COMMAND] | --man | --complete [COMMAND]\n"
               "  --man                the manual page (roff), made from the commands and the option table\n"
               "  --complete          the commands, one a line, for shell completion\n"
               "  --complete COMMAND  its options, one a line: --NAME KIND (flag, dir, file, encodings, tasks,\n"
               "                      norms, choice:a|b|c or value), and 'words KIND' for its other words\n");
}

static void help_help(FILE *f) {
    print_main_help(f);
    fputc('\n', f);
    help_help_usage(f);
}

/* ---- the manual page and completion, both from the command and option tables */

/* Text for roff: backslashes and dashes escaped, a line never starting with
 * a control character. */
static void roff_text(FILE *f, const char *s) {
    for (int bol = 1; *s; s++) {
        if (bol && (*s == '.' || *s == '\'')) fputs("\\&", f);
        if (*s == '\\') fputs("\\e", f);
        else if (*s == '-') fputs("\\-", f);
        else fputc(*s, f);
        bol = *s == '\n';
    }
}

/* A command's help, as it prints it, kept as lines (no filling). */
static void man_verbatim(FILE *f, void (*help)(FILE *)) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) { perror("posprobe: error: open_memstream"); exit(EXIT_IO); }
    help(m);
    fclose(m);
    fputs(".nf\n", f);
    roff_text(f, text);
    fputs(".fi\n", f);
    free(text);
}

static void print_man(FILE *f) {
    fprintf(f, ".\\\" The manual page of posprobe, made by posprobe help --man from its command and option tables.\n"
               ".TH POSPROBE 1 \"\" \"posprobe %s\" \"User Commands\"\n"
               ".SH NAME\nposprobe \\- position\\-encoding probe experiments: tiny attention models, swapped position\n"
               "encodings and normalizers, CSV results\n.SH SYNOPSIS\n", POSPROBE_VERSION);
    for (int i = 0; i < N_COMMANDS; i++) {
        fprintf(f, ".B posprobe %s\n", COMMANDS[i].name);
        if (COMMANDS[i].needs[0]) { roff_text(f, COMMANDS[i].needs); fputc('\n', f); }
        fputs("[\\fIoptions\\fR]\n.br\n", f);
    }
    fputs(".SH DESCRIPTION\n", f);
    roff_text(f, "posprobe trains tiny attention models on article 9105's position probe and on "
                 "length-extrapolation tasks, swaps position encodings and attention normalizers, and writes CSV. "
                 "Each command below prints the same text with --help.\n");
    fputs(".SH COMMANDS\n", f);
    for (int i = 0; i < N_COMMANDS; i++) {
        fprintf(f, ".SS %s\n", COMMANDS[i].name);
        man_verbatim(f, COMMANDS[i].help == help_train ? help_train_text : COMMANDS[i].help == help_help ? help_help_usage : COMMANDS[i].help);
    }
    fputs(".SH \"TRAIN OPTIONS\"\n", f);
    roff_text(f, "Every option of train, with its default; diagnose, inspect and examples take them too, and a "
                 "--config FILE holds them as 'key = value' lines.\n");
    const char *name, *meta, *help, *choices;
    char value[4096];
    for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++) {
        config_option_default(i, value, sizeof value);
        fputs(".TP\n\\fB", f);
        roff_text(f, "--");
        roff_text(f, name);
        fputs("\\fR \\fI", f);
        roff_text(f, meta);
        fputs("\\fR\n", f);
        roff_text(f, help);
        fputs(" [", f);
        roff_text(f, value);
        fputs("]\n", f);
    }
    fputs(".SH \"EXIT STATUS\"\n", f);
    roff_text(f, "0 done (a run finished), 1 an I/O error (a file that cannot be read or written, memory that runs "
                 "out), 2 bad usage (nothing written), 3 a run diverged, 130 interrupted by SIGINT or SIGTERM.\n");
    fputs(".SH ENVIRONMENT\n.TP\n.B OPENBLAS_CORETYPE\n", f);
    roff_text(f, "OpenBLAS kernel set; unset, posprobe picks SkylakeX (AVX-512) or Haswell (AVX2) where OpenBLAS "
                 "would fall back to its generic Prescott kernels.\n");
    fputs(".TP\n.B POSPROBE_BIN\n", f);
    roff_text(f, "The posprobe the scripts run (else the one installed beside them, PREFIX/bin/posprobe).\n");
    fputs(".SH FILES\n.TP\n.I PREFIX/share/posprobe/scripts/\n", f);
    roff_text(f, "The suite runner, report and figure scripts (suite.py, report.py, plots.py, ...), run with python3; "
                 "they find the posprobe installed beside them.\n");
    fputs(".TP\n.I PREFIX/share/posprobe/scripts/suites/\n", f);
    roff_text(f, "The experiment suites, run by suite.py into a results directory of your choice:\n");
    fputs(".nf\n", f);
    roff_text(f, "S=PREFIX/share/posprobe/scripts\npython3 $S/suite.py $S/suites/probe.suite --results RESULTS/probe\n"
                 "python3 $S/report.py RESULTS\n");
    fputs(".fi\n", f);
    fputs(".SH \"SEE ALSO\"\n", f);
    roff_text(f, "docs/cli.md and README.md in the posprobe sources: the full reference, with the model, the suites "
                 "and every CSV column.\n");
}

/* help --complete COMMAND: each option and what its value is. */
static const char *completion_kind(const char *name, const char *meta, int is_flag, char *buf, size_t len) {
    if (is_flag) return "flag";
    if (strcmp(name, "encoding") == 0) return "encodings";
    if (strcmp(name, "task") == 0) return "tasks";
    if (strcmp(name, "norm") == 0) return "norms";
    if (meta && strchr(meta, '|')) { snprintf(buf, len, "choice:%s", meta); return buf; }
    if (meta && strcmp(meta, "DIR") == 0) return "dir";
    if (meta && strcmp(meta, "FILE") == 0) return "file";
    return "value";
}

static void print_completion(FILE *f, const command *c) {
    char buf[512];
    for (int k = 0; c->opts && c->opts[k].name; k++)
        fprintf(f, "--%s %s\n", c->opts[k].name, completion_kind(c->opts[k].name, c->opts[k].meta, !c->opts[k].meta, buf, sizeof buf));
    if (c->train_options) {
        fprintf(f, "--config file\n");
        const char *name, *meta, *help, *choices;
        for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++) {
            int is_flag = 0;
            config_option_kind(name, &is_flag);
            fprintf(f, "--%s %s\n", name, completion_kind(name, meta, is_flag, buf, sizeof buf));
        }
    }
    fprintf(f, "--help flag\n");
    if (c->words) fprintf(f, "words %s%s\n", strchr(c->words, '|') ? "choice:" : "", c->words);
}

static const cmd_opt HELP_OPTS[] = {{"man", NULL}, {"complete", NULL}, {NULL, NULL}};

static int cmd_help(int argc, char **argv) {
    const char *topic = NULL, *v[2];
    if (wants_help(argc, argv)) { help_help(stdout); return 0; }
    parse_args("help", argc, argv, NULL, HELP_OPTS, v, &topic, 1);
    const command *c = topic ? command_find(topic) : NULL;
    if (topic && !c) {
        char msg[256];
        snprintf(msg, sizeof msg, "help: no help on '%.64s' (posprobe help lists the commands)", topic);
        die_usage(msg);
    }
    if (flag_on(v[0]) && (flag_on(v[1]) || topic)) die_usage("help: --man takes no COMMAND and no --complete");
    if (flag_on(v[0])) { print_man(stdout); return 0; }
    if (flag_on(v[1])) {
        if (c) print_completion(stdout, c);
        else
            for (int i = 0; i < N_COMMANDS; i++) printf("%s\n", COMMANDS[i].name);
        return 0;
    }
    if (c) c->help(stdout);
    else print_main_help(stdout);
    return 0;
}

int main(int argc, char **argv) {
    blas_choose_kernel(argv);
    config_set_name_check(check_name);
    if (argc < 2) {
        fprintf(stderr, "posprobe: error: no command (usage: posprobe COMMAND [options]; posprobe help lists the commands)\n");
        return EXIT_USAGE;
    }
    const command *c = command_find(argv[1]);
    if (!c) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown command '%.64s' (try: posprobe help)", argv[1]);
        die_usage(msg);
    }
    int status;
    if (c->run != cmd_help && wants_help(argc - 2, argv + 2)) {   /* COMMAND --help: its help, whatever else is given */
        c->help(stdout);
        status = 0;
    } else {
        status = c->run(argc - 2, argv + 2);
    }
    /* what went to stdout (help, lists, examples) must have arrived: a full disk is an error */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "posprobe: error: stdout: write failed\n");
        return status ? status : EXIT_IO;
    }
    return status;
}
