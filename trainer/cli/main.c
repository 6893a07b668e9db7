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

static void print_train_help(FILE *f) {
    run_config d;
    config_defaults(&d);
    fprintf(f,
            "usage: posprobe train [--config FILE] [--OPTION VALUE ...] [--check] --out DIR\n\n"
            "Trains one model and writes DIR/{config,train,eval,summary}.csv and DIR/checkpoint.bin.\n"
            "DIR must not exist (posprobe creates it), be empty, or hold an unfinished run of the same\n"
            "configuration, which is trained again from scratch; --force replaces a finished run or a run of\n"
            "another configuration, never other files. DIR.lock beside it is locked while training: a second\n"
            "training into DIR fails at once.\n"
            "--check validates the whole configuration (as training would) and exits, writing nothing.\n"
            "--check-stdin N validates N configurations read from stdin, one a line of tab-separated\n"
            "key=value options over the command line's, in one process, and exits at the first invalid one\n"
            "(posprobe: error: stdin line K: ...), writing nothing; progress on stderr (suite validation).\n"
            "--config FILE reads 'key = value' lines with these option names; the command line overrides it.\n"
            "Exit status: 0 finished, 3 diverged (non-finite loss or gradient), 130 interrupted, 2 bad usage, 1 I/O error.\n\n"
            "options (default in brackets):\n");
    const char *name, *meta, *help, *choices;
    char value[4096];
    for (int i = 0; config_option_help(i, &name, &meta, &help, &choices); i++) {
        const char *n2;
        config_option(&d, i, &n2, value, sizeof value);
        char left[96];
        snprintf(left, sizeof left, "--%s %s", name, meta);
        /* defaults that are not a value of their own but follow another option */
        static const char *const derived[][2] = {{"len-min", "--len"}, {"len-max", "--len"}};
        for (size_t k = 0; k < sizeof derived / sizeof *derived; k++)
            if (strcmp(name, derived[k][0]) == 0) snprintf(value, sizeof value, "%s", derived[k][1]);
        fprintf(f, "  %-40s %s [%s]\n", left, help, value[0] ? value : "none");
    }
}

static void print_main_help(FILE *f);   /* after the command table */

/* A command's own option, beside the run_config options: its value after
 * parse_args, NULL when absent. A flag may be given bare ("1"), with =WORD or
 * followed by a flag word (0 1 true false yes no). */
typedef struct cmd_opt {
    const char *name;
    int is_flag;
    const char *value;
} cmd_opt;

static const char *const FLAG_ON[] = {"1", "true", "yes", NULL}, *const FLAG_OFF[] = {"0", "false", "no", NULL};

static int in_words(const char *s, const char *const *words) {
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return 1;
    return 0;
}

/* Is an own flag on? (its value was checked by parse_args) */
static int flag_on(const cmd_opt *o) { return o->value && in_words(o->value, FLAG_ON); }

static cmd_opt *find_own(cmd_opt *own, const char *key) {
    for (; own && own->name; own++)
        if (strcmp(own->name, key) == 0) return own;
    return NULL;
}

/* The command line of command `cmd`: its own options (own, ending with a NULL
 * name), and when c is set --config FILE and every run_config option, read
 * into c (the file first, so the command line overrides it). Every option may
 * be given once; words that are not options are positional arguments, at most
 * max_pos of them, into pos[] (their count returned). Anything else is a
 * usage error: exit status 2. */
static int parse_args(const char *cmd, int argc, char **argv, run_config *c, cmd_opt *own, const char **pos, int max_pos) {
    char err[2048], msg[2300];
    static struct { char key[128]; const char *value; } given[256];   /* every option, in order */
    int n_given = 0, n_pos = 0;
    const char *bare_flag = NULL;   /* the option before, when it was a flag given without a value */
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
        cmd_opt *o = find_own(own, key);
        int is_flag = 0, known = o || (c && (strcmp(key, "config") == 0 || config_option_kind(key, &is_flag)));
        if (o) is_flag = o->is_flag;
        if (!known) {
            if (c) snprintf(msg, sizeof msg, "unknown option '%.64s'", key);
            else snprintf(msg, sizeof msg, "%s: unknown option '--%.64s'", cmd, key);
            die_usage(msg);
        }
        if (eq) value = eq + 1;
        else if (is_flag && i + 1 < argc && (in_words(argv[i + 1], FLAG_ON) || in_words(argv[i + 1], FLAG_OFF))) value = argv[++i];
        else if (is_flag) { value = "1"; bare_flag = given[n_given].key; }
        else if (i + 1 < argc) value = argv[++i];
        else {
            snprintf(msg, sizeof msg, "--%.64s needs a value", key);
            die_usage(msg);
        }
        if (o && (!*value || (is_flag && !in_words(value, FLAG_ON) && !in_words(value, FLAG_OFF)))) {
            snprintf(msg, sizeof msg, "--%.64s: '%.64s' is not %s", key, value, is_flag ? "0 or 1" : "a value");
            die_usage(msg);
        }
        if (o) o->value = value;
        given[n_given++].value = o ? NULL : value;   /* run_config options and --config: applied below */
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

static int cmd_list(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe list encodings|tasks|norms [--csv]\n"
               "The catalogue: one line each for people, or CSV with every property as a column (--csv):\n"
               "encodings: name,where,relative,directional,symmetric,value_side,causal_only,two_d,table,reads_prior_rows,summary\n"
               "tasks: name,shape,two_d,regression,control_encoder,control_decoder,n_means,summary\n"
               "norms: name,linear,summary (linear: 1 for linear attention, 8265: no scores, no bias)\n");
        return 0;
    }
    const char *what = NULL;
    cmd_opt own[] = {{"csv", 1, NULL}, {NULL, 0, NULL}};
    if (parse_args("list", argc, argv, NULL, own, &what, 1) != 1) die_usage("usage: posprobe list encodings|tasks|norms [--csv]");
    int csv = flag_on(&own[0]);
    enum { MAX_ROWS = 64 };
    const char *cells[MAX_ROWS][13];
    const char *const *rows[MAX_ROWS];
    int n = 0;
    if (strcmp(what, "encodings") == 0) {
        static const char *const header[] = {"name", "where", "relative", "directional", "symmetric", "value_side",
                                             "causal_only", "two_d", "table", "reads_prior_rows", "summary", NULL};
        for (const encoding_def *e; (e = encoding_at(n)) && n < MAX_ROWS; n++) {
            if (!csv) { printf("%-16s %-9s %s\n", e->name, enc_where_name(e->where), e->summary); continue; }
            const char *row[] = {e->name, enc_where_name(e->where), yes_no(e->flags, ENC_RELATIVE),
                                 yes_no(e->flags, ENC_DIRECTIONAL), yes_no(e->flags, ENC_SYMMETRIC),
                                 yes_no(e->flags, ENC_VALUE_SIDE), yes_no(e->flags, ENC_CAUSAL_ONLY),
                                 yes_no(e->flags, ENC_2D), yes_no(e->flags, ENC_TABLE),
                                 yes_no(e->flags, ENC_READS_PRIOR_ROWS), e->summary};
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

static int cmd_train(int argc, char **argv) {
    if (wants_help(argc, argv)) { print_train_help(stdout); return 0; }
    run_config c;
    config_defaults(&c);
    cmd_opt own[] = {{"check", 1, NULL}, {"check-stdin", 0, NULL}, {NULL, 0, NULL}};
    parse_args("train", argc, argv, &c, own, NULL, 0);
    char err[2048];
    if (flag_on(&own[0]) && own[1].value) die_usage("--check and --check-stdin exclude each other");
    if (flag_on(&own[0])) { /* validate everything, write nothing */
        return command_end(run_check(&c, err, sizeof err), err);
    }
    if (own[1].value) { /* many configurations, one process: what the suite runner validates */
        int n = parse_count(own[1].value, "check-stdin", 0, 100000000);
        return command_end(run_check_lines(&c, stdin, n, err, sizeof err), err);
    }
    run_result res;
    run_install_signal_handlers();
    err_kind k = run_train(&c, &res, err, sizeof err);
    return k ? command_end(k, err) : run_exit_status(res.status);
}

static int cmd_diagnose(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe diagnose [--encoding E --norm N --mask M --markers K] [--len N] [--seeds S]\n"
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
        return 0;
    }
    run_config c;
    config_defaults(&c);
    c.init_scale = 0.3;
    c.len = 16;
    cmd_opt own[] = {{"all", 1, NULL}, {"seeds", 0, NULL}, {"out", 0, NULL}, {NULL, 0, NULL}};
    parse_args("diagnose", argc, argv, &c, own, NULL, 0);
    int seeds = own[1].value ? parse_count(own[1].value, "seeds", 1, 1000) : 3;
    run_config d;
    config_defaults(&d);
    if (flag_on(&own[0]) && (strcmp(c.encoding, d.encoding) || c.norm != d.norm || c.mask != d.mask ||
                             c.markers != d.markers))   /* --all runs every one of them */
        die_usage("diagnose: --all runs every encoding, normalizer, mask and markers; give none of them with it");
    char err[2048];
    if (!encoding_find(c.encoding)) {
        snprintf(err, sizeof err, "unknown encoding '%.64s' (see: posprobe list encodings)", c.encoding);
        die_usage(err);
    }
    run_install_signal_handlers();   /* SIGINT/SIGTERM: stop after the current model, write nothing */
    return command_end(diagnose_run(&c, flag_on(&own[0]), seeds, own[2].value, err, sizeof err), err);
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

static int cmd_eval(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe eval --checkpoint DIR [--eval-lens LIST] [--out FILE] [--dump-attention FILE]\n"
               "                     [--decode cached|recompute]\n"
               "Evaluates the run in DIR (its checkpoint.bin) on the run's own held-out sets at each length\n"
               "(default: the run's --eval-lens); writes eval.csv rows (the same columns as a run's eval.csv)\n"
               "to FILE or stdout. --dump-attention FILE also writes the attention weights of every layer and\n"
               "head on the first held-out sequence at the first length: layer,head,query,key,query_token,\n"
               "key_token,weight. --decode: greedy decoding (decoder form) with cached keys and values, or\n"
               "the whole prefix recomputed at every step; the same tokens either way (default: cached;\n"
               "conv, which reads earlier rows at the input, always recomputes).\n");
        return 0;
    }
    cmd_opt own[] = {{"checkpoint", 0, NULL}, {"out", 0, NULL},    {"eval-lens", 0, NULL},
                     {"dump-attention", 0, NULL}, {"decode", 0, NULL}, {NULL, 0, NULL}};
    parse_args("eval", argc, argv, NULL, own, NULL, 0);
    const char *dir = own[0].value, *out = own[1].value, *lens = own[2].value, *dump = own[3].value, *decode = own[4].value;
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
    return command_end(run_eval_checkpoint(dir, lens ? &l : NULL, out, dump, decode, err, sizeof err), err);
}

static int cmd_inspect(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe inspect --encoding E --what bias|decay|rotation|positions [--len N] [--dim D]\n"
               "                        [--heads H] [--draws K] [--out FILE] [any train option]\n"
               "       posprobe inspect --what frequencies --checkpoint DIR [--out FILE]\n\n"
               "An encoding's own quantities as CSV, without training (a randomly initialised model on the\n"
               "constant probe input where a model is needed):\n"
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
        return 0;
    }
    run_config c;
    config_defaults(&c);
    cmd_opt own[] = {{"what", 0, NULL}, {"draws", 0, NULL}, {"out", 0, NULL}, {"checkpoint", 0, NULL}, {NULL, 0, NULL}};
    parse_args("inspect", argc, argv, &c, own, NULL, 0);
    if (!own[0].value) die_usage("inspect: --what bias|decay|rotation|positions|frequencies is required");
    char err[2048];
    if (strcmp(own[0].value, "frequencies") == 0) {
        if (!own[3].value) die_usage("inspect: --what frequencies needs --checkpoint DIR");
        return command_end(inspect_frequencies(own[3].value, own[2].value, err, sizeof err), err);
    }
    if (own[3].value) die_usage("inspect: --checkpoint goes with --what frequencies only");
    int draws = own[1].value ? parse_count(own[1].value, "draws", 1, 100000) : 4;
    return command_end(inspect_run(&c, own[0].value, draws, own[2].value, err, sizeof err), err);
}

static int cmd_examples(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe examples --task T [--len N] [--mask bidir|causal] [--markers K] [--eos 0|1] [--vocab V]\n"
               "                         [--count C] [--seed S] [any train option]\n"
               "Prints C examples of task T at length N as the model sees them: the token row ([BOS], [CLS], [SEP],\n"
               "_ = answer slot) and the target row (. = not scored). --mask causal gives the decoder form of\n"
               "seq2seq tasks ([BOS] input [SEP] answer, each answer token predicted from the one before, then a\n"
               "scored [EOS]; --eos 0: no [EOS], the length is given).\n");
        return 0;
    }
    run_config c;
    config_defaults(&c);
    c.len = 6;
    cmd_opt own[] = {{"count", 0, NULL}, {NULL, 0, NULL}};
    parse_args("examples", argc, argv, &c, own, NULL, 0);
    int count = own[0].value ? parse_count(own[0].value, "count", 1, 1000) : 2;
    char err[2048];
    if (examples_print(&c, count, stdout, err, sizeof err)) die_usage(err);
    return 0;
}

static int cmd_layerprobe(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe layerprobe --checkpoint DIR [--lens LIST] [--train-size N] [--test-size N]\n"
               "                           [--steps N] [--seed S] [--out FILE]\n\n"
               "Freezes the trained model in DIR and fits, for each layer l = 0 (the embedded input) .. L, a\n"
               "softmax classifier of each token's absolute position (its index in the model sequence) on\n"
               "that layer's hidden states: --train-size sequences per length to fit (64), --test-size held-out\n"
               "sequences to score (32), fresh inputs of the run's task from their own seed. Writes\n"
               "run_id,layer,length,probe_acc,mean_abs_dist,n_tokens to FILE or stdout.\n");
        return 0;
    }
    cmd_opt own[] = {{"checkpoint", 0, NULL}, {"out", 0, NULL},   {"lens", 0, NULL}, {"train-size", 0, NULL},
                     {"test-size", 0, NULL},  {"steps", 0, NULL}, {"seed", 0, NULL}, {NULL, 0, NULL}};
    parse_args("layerprobe", argc, argv, NULL, own, NULL, 0);
    const char *dir = own[0].value, *out = own[1].value;
    layerprobe_opts o;
    layerprobe_defaults(&o);
    if (own[2].value) parse_list("lens", own[2].value, &o.lens);
    if (own[3].value) o.train_size = parse_count(own[3].value, "train-size", 1, 100000);
    if (own[4].value) o.test_size = parse_count(own[4].value, "test-size", 1, 100000);
    if (own[5].value) o.steps = parse_count(own[5].value, "steps", 1, 1000000);
    if (own[6].value) o.seed = parse_count(own[6].value, "seed", 0, 2000000000);
    dir = require_checkpoint("layerprobe", dir);
    char err[2048];
    return command_end(layerprobe_run(dir, &o, out, err, sizeof err), err);
}

static int cmd_summarize(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe summarize [--fitted-only] DIR\n\n"
               "Reads every run directory below DIR (up to two levels) and writes DIR/summary.csv (per group\n"
               "and length: mean, sd, 95%% t-interval, min, max over seeds of token and sequence accuracy and\n"
               "of the share of right answer lengths), DIR/horizons.csv (per group: extrapolation horizons at\n"
               "0.9 and 0.5 mean token accuracy and exact match, their ratio to the training length, mean\n"
               "accuracy beyond it) and DIR/runs.csv (each run's status and whether it fitted).\n"
               "Diverged, interrupted, unfinished and unreadable runs are counted and listed, never averaged.\n"
               "--fitted-only: runs that did not fit their training lengths (summary.csv fitted = 0) are\n"
               "counted (n_not_fitted), never averaged in.\n");
        return 0;
    }
    cmd_opt own[] = {{"fitted-only", 1, NULL}, {NULL, 0, NULL}};
    const char *dir = NULL;
    if (parse_args("summarize", argc, argv, NULL, own, &dir, 1) != 1) die_usage("usage: posprobe summarize [--fitted-only] DIR");
    int fitted_only = flag_on(&own[0]);
    char err[2048];
    return command_end(summarize_run(dir, 0, fitted_only, err, sizeof err), err);
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

static int cmd_version(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: posprobe version\nThe program version, its precision (float or double), BLAS library and kernel.\n");
        return 0;
    }
    parse_args("version", argc, argv, NULL, NULL, NULL, 0);
    printf("posprobe %s (%s, BLAS %s, kernel %s)\n", POSPROBE_VERSION, REAL_NAME, POSPROBE_BLAS_NAME, blas_kernel_name());
    return 0;
}

static int cmd_help(int argc, char **argv);

/* The commands: each takes the words after its name and prints its own help
 * on --help (posprobe help COMMAND asks it for that). */
typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train one model on a task (--out DIR required)"},
    {"eval", cmd_eval, "evaluate a trained run on its held-out sets (--checkpoint DIR required)"},
    {"list", cmd_list, "the encodings, tasks and normalizers (--csv: every property, for scripts)"},
    {"diagnose", cmd_diagnose, "does a constant input give position-distinguishable outputs? (no training)"},
    {"inspect", cmd_inspect, "an encoding's bias, decay curve, rotations or sampled positions as CSV (--what required)"},
    {"examples", cmd_examples, "a task's examples as the model sees them (encoder and decoder forms)"},
    {"layerprobe", cmd_layerprobe, "per-layer linear probe of absolute position on a trained run (--checkpoint DIR)"},
    {"summarize", cmd_summarize, "statistics over seeds for every run under a directory"},
    {"help", cmd_help, "this text; posprobe help COMMAND for a command's options"},
    {"version", cmd_version, "the program version, precision and BLAS kernel"},
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
               "usage: posprobe COMMAND [options]\n\ncommands:\n", POSPROBE_VERSION, REAL_NAME, POSPROBE_BLAS_NAME);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-11s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nenvironment:\n"
               "  OPENBLAS_CORETYPE  OpenBLAS kernel set; unset, posprobe picks SkylakeX (AVX-512) or Haswell\n"
               "                     (AVX2) where OpenBLAS would fall back to its generic Prescott kernels\n");
}

static int cmd_help(int argc, char **argv) {
    const char *topic = NULL;
    parse_args("help", argc, argv, NULL, NULL, &topic, 1);
    if (!topic) { print_main_help(stdout); return 0; }
    const command *c = command_find(topic);
    if (!c) {
        char msg[256];
        snprintf(msg, sizeof msg, "help: no help on '%.64s' (posprobe help lists the commands)", topic);
        die_usage(msg);
    }
    if (c->run == cmd_help) { print_main_help(stdout); return 0; }
    char help[] = "--help";
    char *args[] = {help, NULL};
    return c->run(1, args);
}

int main(int argc, char **argv) {
    blas_choose_kernel(argv);
    config_set_name_check(check_name);
    if (argc < 2) { print_main_help(stderr); return EXIT_USAGE; }
    const command *c = command_find(argv[1]);
    if (!c) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown command '%.64s' (try: posprobe help)", argv[1]);
        die_usage(msg);
    }
    int status = c->run(argc - 2, argv + 2);
    /* what went to stdout (help, lists, examples) must have arrived: a full disk is an error */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "posprobe: error: stdout: write failed\n");
        return status ? status : EXIT_IO;
    }
    return status;
}
