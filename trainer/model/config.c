/* The option table and its parsers. */
#include "errors.h"
#include "config.h"
#include "csvio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { T_INT, T_LONG, T_REAL, T_CHOICE, T_NAME, T_LIST, T_FLAG, T_PATH } opt_type;

typedef struct option_def {
    const char *name;
    opt_type type;
    size_t offset;
    double min, max;         /* numeric range */
    const char *choices;     /* T_CHOICE: "a|b|c" */
    const char *meta;        /* shown in --help */
    const char *help;
    int output_only;         /* not part of the experiment (out dir, progress) */
} option_def;

#define O(field) offsetof(run_config, field)
static const option_def OPTS[] = {
    {"task", T_NAME, O(task), 0, 0, NULL, "T", "task or probe (posprobe list tasks)", 0},
    {"encoding", T_NAME, O(encoding), 0, 0, NULL, "E", "position encoding (posprobe list encodings)", 0},
    {"head", T_CHOICE, O(head), 0, 0, "auto|classification|regression", "H", "output head; auto = the task's", 0},
    {"markers", T_CHOICE, O(markers), 0, 0, "none|bos|cls-sep", "M", "boundary tokens around the input (9105)", 0},
    {"positions", T_CHOICE, O(positions), 0, 0, "sequential|randomized|shifted", "P",
     "position ids: 0..n-1, a sorted random subset of [0, max-pos), or a random offset", 0},
    {"eval-positions", T_CHOICE, O(eval_positions), 0, 0, "same|sequential", "P",
     "positions in evaluation: as in training, or always 0..n-1", 0},
    {"eos", T_FLAG, O(eos), 0, 1, NULL, "0|1",
     "decoder form: the answer ends with a scored [EOS] and greedy decoding stops there (0: it is told the answer length)", 0},
    {"norm", T_CHOICE, O(norm), 0, 0, "softmax|l2|nodenom|relu2n|swishl2|logscaled|linear|linear-num|cos1", "N",
     "attention normalizer (posprobe list norms)", 0},
    {"mask", T_CHOICE, O(mask), 0, 0, "bidir|causal", "M", "attention mask", 0},
    {"layers", T_INT, O(layers), 1, 64, NULL, "L", "transformer blocks", 0},
    {"heads", T_INT, O(heads), 1, 64, NULL, "H", "attention heads", 0},
    {"dim", T_INT, O(dim), 2, 4096, NULL, "C", "model width (a multiple of 2*heads)", 0},
    {"ff-mult", T_INT, O(ff_mult), 1, 16, NULL, "K", "MLP width = K * dim", 0},
    {"act", T_CHOICE, O(act), 0, 0, "relu|gelu|swish", "A", "MLP activation", 0},
    {"ln", T_CHOICE, O(ln), 0, 0, "pre|post", "P", "norm placement", 0},
    {"ln-kind", T_CHOICE, O(ln_kind), 0, 0, "layer|rms", "K", "norm kind", 0},
    {"dropout", T_REAL, O(dropout), 0, 0.95, NULL, "P", "dropout on attention and MLP outputs", 0},
    {"init-scale", T_REAL, O(init_scale), 1e-6, 10, NULL, "S", "std of the normal initialisation", 0},
    {"max-pos", T_INT, O(max_pos), 1, 1 << 20, NULL, "N", "position table size / range of randomized positions", 0},
    {"rope-base", T_REAL, O(rope_base), 1.0001, 1e12, NULL, "B", "base of sinusoidal/rotary frequencies", 0},
    {"rope-schedule", T_CHOICE, O(rope_schedule), 0, 0, "geometric|linear|power2|power4|constant", "S", "frequency of pair t = 2i/d of sinusoidal/rotary ladders: base^-t, t, t^2, t^4, or base^-1/2 for every pair (8231)", 0},
    {"sin-scale", T_REAL, O(sin_scale), 0, 100, NULL, "S",
     "sinusoidal: the table is multiplied by S; 0 = init-scale * sqrt 2, the token embeddings' scale per coordinate", 0},
    {"rec-scale", T_REAL, O(rec_scale), 0, 100, NULL, "S",
     "recursive: the states are added times S; 0 = init-scale, the token embeddings' scale", 0},
    {"rope-fraction", T_REAL, O(rope_fraction), 0, 1, NULL, "F", "fraction of head dimensions rotated", 0},
    {"rope-trainable", T_FLAG, O(rope_trainable), 0, 1, NULL, "0|1", "train the rotary frequencies", 0},
    {"clip-min", T_INT, O(clip_min), -1000000, 0, NULL, "N", "smallest relative offset i-j kept (shaw, deberta, urpe)", 0},
    {"clip-max", T_INT, O(clip_max), 0, 1000000, NULL, "N", "largest relative offset i-j kept", 0},
    {"t5-buckets", T_INT, O(t5_buckets), 2, 4096, NULL, "N", "T5 relative-position buckets", 0},
    {"t5-max-distance", T_INT, O(t5_max_distance), 2, 1 << 20, NULL, "N", "T5 distance of the last bucket", 0},
    {"xpos-gamma", T_REAL, O(xpos_gamma), 1, 1e9, NULL, "G", "xPos scale denominator", 0},
    {"xpos-zeta", T_REAL, O(xpos_zeta), 0, 10, NULL, "Z", "xPos zeta offset, above 0 (0.4 in the paper)", 0},
    {"mult-pos", T_CHOICE, O(mult_pos), 0, 0, "learned|sinusoidal", "K", "multiplicative: the position vectors", 0},
    {"alibi-asym", T_FLAG, O(alibi_asym), 0, 1, NULL, "0|1", "alibi bidirectional: separate left/right slopes", 0},
    {"conv-kernel", T_INT, O(conv_kernel), 1, 255, NULL, "K", "conv: kernel size (odd under --mask bidir)", 0},
    {"conv-circular", T_FLAG, O(conv_circular), 0, 1, NULL, "0|1", "conv: circular padding instead of zeros (--mask bidir)", 0},
    {"vocab", T_INT, O(vocab), 2, 4096, NULL, "V", "task alphabet size (where a task has one)", 0},
    {"grid-w", T_INT, O(grid_w), 1, 4096, NULL, "W", "probe2d: grid width (length = rows * W)", 0},
    {"len", T_INT, O(len), 0, 1 << 16, NULL, "N", "training length; --len-min and --len-max, given together, set a range instead", 0},
    {"len-min", T_INT, O(len_min), 0, 1 << 16, NULL, "A", "shortest training length", 0},
    {"len-max", T_INT, O(len_max), 0, 1 << 16, NULL, "B", "longest training length", 0},
    {"len-sampling", T_CHOICE, O(len_sampling), 0, 0, "auto|fixed|uniform|curriculum", "S",
     "per batch: len-max (fixed), uniform on [len-min, len-max], or growing from len-min to len-max; auto = fixed when len-min = len-max, else uniform", 0},
    {"eval-lens", T_LIST, O(eval_lens), 0, 0, NULL, "LIST", "evaluation lengths besides the training lengths (every evaluation includes those), e.g. 8,16,32 or 1-64", 0},
    {"eval-every", T_INT, O(eval_every), 0, 1 << 30, NULL, "K", "evaluate every K steps (0: only at the end)", 0},
    {"eval-size", T_INT, O(eval_size), 1, 1 << 20, NULL, "N", "held-out sequences per evaluated length", 0},
    {"fit-acc", T_REAL, O(fit_acc), 0, 1, NULL, "A",
     "the run has fitted when the mean exact match over its training lengths reaches A (summary.csv)", 0},
    {"stop-at-fit", T_FLAG, O(stop_at_fit), 0, 1, NULL, "0|1",
     "stop at the first evaluation (--eval-every) that has fitted; --steps stays the cap", 0},
    {"decode", T_CHOICE, O(decode), 0, 0, "cached|recompute", "D",
     "greedy decoding: keys and values cached, or the whole prefix recomputed per token (same tokens)", 1},
    {"steps", T_INT, O(steps), 0, 1 << 30, NULL, "N", "optimizer steps", 0},
    {"batch", T_INT, O(batch), 1, 1 << 16, NULL, "B", "sequences per step", 0},
    {"lr", T_REAL, O(lr), 0, 10, NULL, "LR", "peak learning rate", 0},
    {"warmup", T_INT, O(warmup), 0, 1 << 30, NULL, "N", "linear warm-up steps", 0},
    {"schedule", T_CHOICE, O(schedule), 0, 0, "constant|cosine|linear", "S", "learning-rate decay after warm-up", 0},
    {"lr-min-ratio", T_REAL, O(lr_min_ratio), 0, 1, NULL, "R", "final lr / peak lr for cosine and linear", 0},
    {"wd", T_REAL, O(wd), 0, 10, NULL, "W", "AdamW weight decay (matrices only)", 0},
    {"beta1", T_REAL, O(beta1), 0, 0.999999, NULL, "B", "AdamW beta1", 0},
    {"beta2", T_REAL, O(beta2), 0, 0.999999999, NULL, "B", "AdamW beta2", 0},
    {"eps", T_REAL, O(eps), 1e-30, 1, NULL, "E", "AdamW epsilon", 0},
    {"clip", T_REAL, O(clip), 0, 1e9, NULL, "G", "global gradient-norm clip (0: off)", 0},
    {"seed", T_LONG, O(seed), 0, 4294967295.0, NULL, "S", "master seed; every stream derives from it", 0},
    {"seed-init", T_LONG, O(seed_init), -1, 4294967295.0, NULL, "S", "initialisation stream (-1: derived)", 0},
    {"seed-data", T_LONG, O(seed_data), -1, 4294967295.0, NULL, "S", "training-data stream (-1: derived)", 0},
    {"seed-pos", T_LONG, O(seed_pos), -1, 4294967295.0, NULL, "S", "position-sampling stream (-1: derived)", 0},
    {"seed-dropout", T_LONG, O(seed_dropout), -1, 4294967295.0, NULL, "S", "dropout stream (-1: derived)", 0},
    {"seed-eval", T_LONG, O(seed_eval), -1, 4294967295.0, NULL, "S", "held-out evaluation sets (-1: derived)", 0},
    {"out", T_PATH, O(out), 0, 0, NULL, "DIR", "run directory to create (required)", 1},
    {"run-id", T_PATH, O(run_id), 0, 0, NULL, "ID", "run id in every CSV (default: the out directory's name)", 1},
    {"quiet", T_FLAG, O(quiet), 0, 1, NULL, "0|1", "no progress on stderr", 1},
    {"force", T_FLAG, O(force), 0, 1, NULL, "0|1",
     "replace a finished run, or a run of another config, in --out (only ever posprobe run files)", 1},
    {"progress-every", T_REAL, O(progress_every), 0.1, 3600, NULL, "S", "seconds between progress lines when stderr is not a terminal", 1},
};
#define N_OPTS ((int)(sizeof OPTS / sizeof *OPTS))

static config_name_check name_check;

void config_set_name_check(config_name_check check) { name_check = check; }

void config_defaults(run_config *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->task, "probe");
    strcpy(c->encoding, "learned");
    c->head = HEAD_AUTO;
    c->markers = MARK_NONE;
    c->positions = POS_SEQUENTIAL;
    c->eval_positions = EVAL_POS_SAME;
    c->eos = 1;
    c->fit_acc = 0.99;
    c->decode = DECODE_CACHED;
    c->norm = NORM_SOFTMAX;
    c->mask = MASK_BIDIR;
    c->act = ACT_GELU;
    c->ln = LN_PRE;
    c->ln_kind = LN_LAYER;
    c->len_sampling = LEN_AUTO;
    c->schedule = SCHED_CONSTANT;
    c->mult_pos = MULT_LEARNED;
    c->layers = 2;
    c->heads = 2;
    c->dim = 32;
    c->ff_mult = 2;
    c->dropout = 0;
    c->init_scale = 0.02;
    c->max_pos = 256;
    c->rope_base = 10000;
    c->rope_schedule = 0;   /* geometric */
    c->rope_fraction = 1;
    c->clip_min = -16;
    c->clip_max = 16;
    c->t5_buckets = 32;
    c->t5_max_distance = 128;
    c->xpos_gamma = 512;
    c->xpos_zeta = 0.4;
    c->conv_kernel = 3;
    c->vocab = 8;
    c->grid_w = 4;
    c->len = 16;
    c->len_min = 0;
    c->len_max = 0;
    c->eval_every = 0;
    c->eval_size = 64;
    c->steps = 300;
    c->batch = 16;
    c->lr = 3e-3;
    c->warmup = 0;
    c->lr_min_ratio = 0;
    c->wd = 0.01;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->clip = 1;
    c->seed = 1;
    c->seed_init = c->seed_data = c->seed_pos = c->seed_dropout = c->seed_eval = -1;
    c->progress_every = 5;
}

static const option_def *find_option(const char *key) {
    for (int i = 0; i < N_OPTS; i++)
        if (strcmp(OPTS[i].name, key) == 0) return &OPTS[i];
    return NULL;
}

/* The index of v among choices ("a|b|c"), or -1. */
static int choice_index(const char *choices, const char *v) {
    size_t n = strlen(v);
    int k = 0;
    for (const char *p = choices; *p; k++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return k;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

/* The k-th of choices into buf, or NULL past the end. */
static const char *choice_at(const char *choices, int k, char *buf, size_t len) {
    const char *p = choices;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p || k < 0) return NULL;
    const char *bar = strchr(p, '|');
    snprintf(buf, len, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
    return buf;
}

static int printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

/* ---- numbers: the one grammar (config.h) */

static size_t digits(const char *s) {
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') n++;
    return n;
}

int number_parse_long(const char *s, long *out) {
    const char *p = s + (*s == '+' || *s == '-');
    size_t n = digits(p);
    if (!n || p[n]) return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

int number_parse_real(const char *s, double *out) {
    const char *p = s + (*s == '+' || *s == '-');
    size_t whole = digits(p), frac = 0;
    p += whole;
    if (*p == '.') { p++; frac = digits(p); p += frac; }
    if (!whole && !frac) return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '+' || *p == '-';
        size_t e = digits(p);
        if (!e) return -1;
        p += e;
    }
    if (*p) return -1;
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(v)) return -2;
    *out = v;
    return 0;
}

int config_set(run_config *c, const char *key, const char *value, char *err, size_t errlen) {
    const option_def *o = find_option(key);
    if (!o) return errorf(err, errlen, "unknown option '%s'", key);
    if (!printable(value)) return errorf(err, errlen, "--%s: the value has non-printable or non-ASCII bytes", key);
    if (!*value && o->type != T_LIST) return errorf(err, errlen, "--%s: empty value", key);
    char *field = (char *)c + o->offset;
    switch (o->type) {
    case T_INT:
    case T_LONG:
    case T_FLAG: {
        long v = 0;
        int bad = 0;
        if (o->type == T_FLAG && (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)) v = 1;
        else if (o->type == T_FLAG && (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)) v = 0;
        else if (o->type == T_FLAG && strcmp(value, "0") != 0 && strcmp(value, "1") != 0)   /* as on the command line */
            return errorf(err, errlen, CONFIG_FLAG_ERROR, key, value);
        else if ((bad = number_parse_long(value, &v)) == -1)
            return errorf(err, errlen, "--%s: '%s' is not an integer (decimal digits, optional sign)", key, value);
        if (bad || v < o->min || v > o->max)
            return errorf(err, errlen, "--%s: %s is out of range [%.0f, %.0f]", key, value, o->min, o->max);
        if (o->type == T_LONG) *(long *)field = v;
        else *(int *)field = (int)v;
        break;
    }
    case T_REAL: {
        double v = 0;
        int bad = number_parse_real(value, &v);
        if (bad == -1)
            return errorf(err, errlen, "--%s: '%s' is not a number (decimal, optional sign, '.' and exponent)", key,
                          value);
        if (bad) return errorf(err, errlen, "--%s: %s overflows or underflows a double", key, value);
        if (v < o->min || v > o->max)
            return errorf(err, errlen, "--%s: %s is out of range [%g, %g]", key, value, o->min, o->max);
        *(double *)field = v == 0 ? 0 : v;   /* -0 is 0: one setting, one config.csv text */
        break;
    }
    case T_CHOICE: {
        int k = choice_index(o->choices, value);
        if (k < 0) return errorf(err, errlen, "--%s: '%s' is not one of %s", key, value, o->choices);
        *(int *)field = k;   /* every choice field is an enum in the choices' order */
        break;
    }
    case T_NAME:
        if (strlen(value) >= CONFIG_STR) return errorf(err, errlen, "--%s: '%.20s...' is too long", key, value);
        if (name_check) {
            char msg[256];
            if (name_check(key, value, msg, sizeof msg)) return errorf(err, errlen, "--%s: %s", key, msg);
        }
        strcpy(field, value);
        break;
    case T_PATH: {
        size_t cap = o->offset == O(out) ? sizeof c->out : sizeof c->run_id;
        if (strlen(value) >= cap) return errorf(err, errlen, "--%s: value longer than %zu bytes", key, cap - 1);
        strcpy(field, value);
        break;
    }
    case T_LIST: {
        char msg[256];
        if (int_list_parse(value, (int_list *)field, msg, sizeof msg)) return errorf(err, errlen, "--%s: %s", key, msg);
        break;
    }
    }
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = 0;
    return s;
}

/* Reads one line of f into line (at most cap - 1 bytes, without its newline);
 * 1 = a line, 0 = end of file, -1 = longer than cap - 1 bytes, -2 = holds a
 * NUL byte (neither is read to its end: a device may have no end). */
static int read_line(FILE *f, char *line, size_t cap) {
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == 0) return -2;
        if (n + 1 == cap) return -1;
        line[n++] = (char)ch;
    }
    line[n] = 0;
    return n || ch == '\n';
}

int config_read_file(run_config *c, const char *path, char *err, size_t errlen) {
    /* opened without blocking: a FIFO with no writer is refused instead of waited on forever (nor read
     * as an empty file: that would train the defaults nobody asked for); a pipe (--config <(...)) is
     * read as it comes; a device or directory is refused, never read forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
        close(fd);
        return errorf(err, errlen, "%s: not a regular file or pipe", path);
    }
    if (S_ISFIFO(st.st_mode)) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "r");
    if (!f) { close(fd); return errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); }
    char line[4095];
    int lineno = 0, rc = 0, got;
    char seen[N_OPTS];
    memset(seen, 0, sizeof seen);
    while ((got = read_line(f, line, sizeof line)) != 0) {
        lineno++;
        if (got == -1) { rc = errorf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno, sizeof line - 1); break; }
        if (got == -2) { rc = errorf(err, errlen, "%s:%d: NUL byte (not a text file)", path, lineno); break; }
        if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) {
            rc = errorf(err, errlen, "%s:1: byte-order mark at start of file (save it as plain text without one)", path);
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        if (strchr(s, '#')) {
            rc = errorf(err, errlen, "%s:%d: '#' inside a line: a comment takes a whole line, '#' first", path, lineno);
            break;
        }
        char *eq = strchr(s, '=');
        if (!eq) { rc = errorf(err, errlen, "%s:%d: expected 'key = value'", path, lineno); break; }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        if (key[0] == '-' && key[1] == '-') key += 2;
        const option_def *o = find_option(key);
        if (o) {
            if (seen[o - OPTS]) { rc = errorf(err, errlen, "%s:%d: '%s' is set twice", path, lineno, key); break; }
            seen[o - OPTS] = 1;
        }
        char msg[512];
        if (config_set(c, key, value, msg, sizeof msg)) { rc = errorf(err, errlen, "%s:%d: %s", path, lineno, msg); break; }
    }
    if (!rc && ferror(f)) rc = errorf(err, errlen, "%s: read error", path);
    if (!rc && lineno == 0 && S_ISFIFO(st.st_mode))
        rc = errorf(err, errlen, "%s: a FIFO with nothing to read (no writer); give a file, or write the options into it", path);
    fclose(f);
    return rc;
}

int config_validate(run_config *c, char *err, size_t errlen) {
    /* --len N is the range N..N unless --len-min and --len-max give one, whatever the order */
    if (c->len_min == 0 && c->len_max == 0) {
        if (c->len < 1) return errorf(err, errlen, "--len: the training length must be at least 1, not %d", c->len);
        c->len_min = c->len_max = c->len;
    } else if (c->len_min == 0 || c->len_max == 0)
        return errorf(err, errlen, "--len-min and --len-max go together (--len N alone trains at length N)");
    if (c->len_min < 1) return errorf(err, errlen, "--len-min: the shortest training length must be at least 1");
    if (c->len_min > c->len_max)
        return errorf(err, errlen, "--len-min %d is larger than --len-max %d", c->len_min, c->len_max);
    if (c->dim % (2 * c->heads))
        return errorf(err, errlen, "--dim %d must be a multiple of 2 * --heads (%d): heads need an even size", c->dim,
                    2 * c->heads);
    if (c->clip_min > 0 || c->clip_max < 0) return errorf(err, errlen, "--clip-min must be <= 0 <= --clip-max");
    if (c->eval_lens.n == 0) { c->eval_lens.n = 1; c->eval_lens.v[0] = c->len_max; }
    if (c->warmup > c->steps) return errorf(err, errlen, "--warmup %d exceeds --steps %d", c->warmup, c->steps);
    if (c->stop_at_fit && c->eval_every <= 0)
        return errorf(err, errlen, "--stop-at-fit needs --eval-every K > 0: fitting is checked at evaluations");
    if (c->norm == NORM_LOGSCALED && c->len_max < 2)
        return errorf(err, errlen, "--norm logscaled needs a training length of at least 2");
    return 0;
}

int config_option(const run_config *c, int index, const char **name, char *value, size_t len) {
    if (index < 0 || index >= N_OPTS) return 0;
    const option_def *o = &OPTS[index];
    const char *field = (const char *)c + o->offset;
    *name = o->name;
    switch (o->type) {
    case T_INT:
    case T_FLAG: snprintf(value, len, "%d", *(const int *)field); break;
    case T_LONG: snprintf(value, len, "%ld", *(const long *)field); break;
    case T_REAL: real_format_shortest(*(const double *)field, value, len); break;   /* 0.003, not 0.0030000000000000001 */
    case T_LIST: int_list_format((const int_list *)field, value, len); break;
    case T_CHOICE: {
        char buf[CONFIG_STR];
        const char *name = choice_at(o->choices, *(const int *)field, buf, sizeof buf);
        snprintf(value, len, "%s", name ? name : "?");
        break;
    }
    default: snprintf(value, len, "%s", field); break;
    }
    return 1;
}

const char *config_choice_name(const char *key, int v) {
    enum { MAX_CHOICES = 16 };
    static char names[N_OPTS][MAX_CHOICES][CONFIG_STR];   /* choices split once per option and value, for callers to keep */
    const option_def *o = find_option(key);
    if (!o || o->type != T_CHOICE || v < 0 || v >= MAX_CHOICES) return NULL;
    char *slot = names[o - OPTS][v];
    return slot[0] ? slot : choice_at(o->choices, v, slot, CONFIG_STR);
}

int config_option_help(int index, const char **name, const char **meta, const char **help, const char **choices) {
    if (index < 0 || index >= N_OPTS) return 0;
    *name = OPTS[index].name;
    *meta = OPTS[index].choices ? OPTS[index].choices : OPTS[index].meta;
    *help = OPTS[index].help;
    *choices = OPTS[index].choices;
    return 1;
}

void config_option_default(int index, char *value, size_t len) {
    run_config d;
    const char *name;
    config_defaults(&d);
    if (!config_option(&d, index, &name, value, len)) { snprintf(value, len, "?"); return; }
    if (strcmp(name, "len-min") == 0 || strcmp(name, "len-max") == 0) snprintf(value, len, "--len");
    else if (!value[0]) snprintf(value, len, "none");
}

int config_option_kind(const char *name, int *is_flag) {
    const option_def *o = find_option(name);
    if (!o) return 0;
    *is_flag = o->type == T_FLAG;
    return 1;
}

int config_option_is_output(int index) { return index >= 0 && index < N_OPTS && OPTS[index].output_only; }

int config_option_is_setting(const char *name) {
    const option_def *o = find_option(name);
    return o && !o->output_only && strncmp(name, "seed", 4) != 0;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* One number of a LIST: decimal digits, no sign ('-' makes a range); from
 * 10^9 on it reads as 10^9 + 1, which every bound below refuses. */
static int list_number(const char **p, long *v) {
    size_t n = digits(*p);
    if (!n) return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++) *v = *v <= 100000000L ? *v * 10 + ((*p)[i] - '0') : 1000000001L;
    *p += n;
    return 0;
}

int int_list_parse(const char *s, int_list *out, char *err, size_t errlen) {
    out->n = 0;
    if (!*s) return errorf(err, errlen, "empty list");
    const char *p = s;
    while (*p) {
        long a, b, step = 1;
        if (list_number(&p, &a)) return errorf(err, errlen, "'%s': expected a length at '%.10s'", s, p);
        b = a;
        if (*p == '-') {
            p++;
            if (list_number(&p, &b)) return errorf(err, errlen, "'%s': expected the end of a range at '%.10s'", s, p);
            if (*p == ':') {
                p++;
                if (list_number(&p, &step) || step < 1) return errorf(err, errlen, "'%s': bad range step", s);
            }
        }
        if (a < 1 || b < a || b > (1 << 16))
            return errorf(err, errlen, "'%s': lengths must be in 1..65536 and ranges increasing", s);
        for (long v = a; v <= b; v += step) {
            if (out->n >= CONFIG_MAX_LENS) return errorf(err, errlen, "'%s': more than %d lengths", s, CONFIG_MAX_LENS);
            out->v[out->n++] = (int)v;
        }
        if (*p == ',') {
            p++;
            if (!*p) return errorf(err, errlen, "'%s': trailing comma", s);
        } else if (*p) {
            return errorf(err, errlen, "'%s': unexpected '%c'", s, *p);
        }
    }
    qsort(out->v, (size_t)out->n, sizeof(int), cmp_int);
    int k = 0;
    for (int i = 0; i < out->n; i++)
        if (i == 0 || out->v[i] != out->v[k - 1]) out->v[k++] = out->v[i];
    out->n = k;
    return 0;
}

void int_list_format(const int_list *l, char *buf, size_t len) {
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < l->n && off < len; i++) {
        /* compress runs a..b into "a-b" */
        int j = i;
        while (j + 1 < l->n && l->v[j + 1] == l->v[j] + 1) j++;
        if (j > i + 1) off += (size_t)snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", l->v[i], l->v[j]);
        else { off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", l->v[i]); j = i; }
        i = j;
    }
}

unsigned long config_stream_seed(const run_config *c, long explicit_seed, config_stream stream) {
    if (explicit_seed >= 0) return (unsigned long)explicit_seed;
    /* splitmix64 of (seed, stream): independent-looking streams from one seed */
    unsigned long long z = (unsigned long long)c->seed * 0x9E3779B97F4A7C15ULL + (unsigned long long)((unsigned)stream + 1) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (unsigned long)(z & 0xffffffffUL);
}
