/* Inputs (issue 14), table-driven: one grammar for numbers and for command
 * lines in every command, config and suite files whose errors name the
 * problem, option ranges the code can run, memory estimated and refused
 * before anything is allocated or written, allocations that fail ending
 * cleanly, and what a 0-step run writes. Processes are the binary from
 * $POSPROBE_BIN; every output lives in the test's temporary directory. */
#include "check.h"
#include "config_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "config.h"
#include "csvio.h"
#include "memory.h"
#include "model.h"
#include "run.h"

static const char *bin(void) {
    const char *b = getenv("POSPROBE_BIN");
    if (!b) fail_msg("POSPROBE_BIN is not set (run the tests through make)");
    return b;
}

/* Runs cmd with sh in the temporary directory, the word P standing for
 * posprobe; stdout and stderr go to out.txt and err.txt there. */
static int shell(const char *cmd) {
    char full[8192];
    size_t k = (size_t)snprintf(full, sizeof full, "cd '%s' && { ", test_tmpdir);
    for (const char *c = cmd; *c && k + 600 < sizeof full; c++) {
        if (*c == 'P' && (c == cmd || c[-1] == ' ') && (c[1] == ' ' || !c[1])) k += (size_t)snprintf(full + k, sizeof full - k, "'%s'", bin());
        else full[k++] = *c;
    }
    snprintf(full + k, sizeof full - k, " ; } > out.txt 2> err.txt");
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *err_text(void) { return test_tmpdir_text("err.txt"); }

static int exists(const char *name) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", test_tmpdir, name);
    return lstat(path, &st) == 0;
}

static void write_file(const char *name, const char *data, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) fail_msg("cannot write %s", path);
}

/* cmd (whose output directory, if any, is "D") exits with status; a refusal
 * (status 2 or 1) is one line "posprobe: error: ..." containing want and
 * creates no D. */
static void expect(const char *cmd, int status, const char *want) {
    int st = shell(cmd);
    const char *msg = err_text();
    if (st != status) fail_msg("'%s': exit %d, expected %d; stderr: %s", cmd, st, status, msg);
    if (!status) return;
    if (strncmp(msg, "posprobe: error: ", 17) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1 ||
        (want && !strstr(msg, want)))
        fail_msg("'%s': stderr is not one error line containing '%s': %s", cmd, want ? want : "", msg);
    if (exists("D")) fail_msg("'%s': refused, but created D", cmd);
}

/* ------------------------------------------------------------ numbers */

/* The grammar itself: an integer is [+-]digits; a real also takes '.' and an
 * exponent; no blanks, hex, inf, nan, '_' or other scripts' digits. */
static void test_number_grammar(void **state) {
    (void)state;
    static const struct { const char *s; int lrc; long l; int rrc; double r; } rows[] = {
        {"5", 0, 5, 0, 5},          {"+5", 0, 5, 0, 5},        {"-5", 0, -5, 0, -5},      {"007", 0, 7, 0, 7},
        {"-0", 0, 0, 0, 0},         {" 5", -1, 0, -1, 0},      {"5 ", -1, 0, -1, 0},      {"\t5", -1, 0, -1, 0},
        {"0x10", -1, 0, -1, 0},     {"0x1p-10", -1, 0, -1, 0}, {"1e3", -1, 0, 0, 1000},   {"1E+3", -1, 0, 0, 1000},
        {"1.5", -1, 0, 0, 1.5},     {".5", -1, 0, 0, 0.5},     {"5.", -1, 0, 0, 5},       {"-.5e-1", -1, 0, 0, -0.05},
        {"1e", -1, 0, -1, 0},       {"e5", -1, 0, -1, 0},      {".", -1, 0, -1, 0},       {".e1", -1, 0, -1, 0},
        {"1e+", -1, 0, -1, 0},      {"inf", -1, 0, -1, 0},     {"-infinity", -1, 0, -1, 0}, {"nan", -1, 0, -1, 0},
        {"", -1, 0, -1, 0},         {"+", -1, 0, -1, 0},       {"-", -1, 0, -1, 0},       {"++5", -1, 0, -1, 0},
        {"1_000", -1, 0, -1, 0},    {"1,5", -1, 0, -1, 0},     {"\xd9\xa5", -1, 0, -1, 0}, {"5\n", -1, 0, -1, 0},
        {"1e-400", -1, 0, -2, 0},   {"1e999", -1, 0, -2, 0},   {"99999999999999999999", -2, 0, 0, 1e20},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        long l = 12345;
        double r = 12345;
        int lrc = number_parse_long(rows[i].s, &l), rrc = number_parse_real(rows[i].s, &r);
        if (lrc != rows[i].lrc || (lrc == 0 && l != rows[i].l))
            fail_msg("integer '%s': %d (%ld), expected %d (%ld)", rows[i].s, lrc, l, rows[i].lrc, rows[i].l);
        if (rrc != rows[i].rrc || (rrc == 0 && r != rows[i].r))
            fail_msg("real '%s': %d (%g), expected %d (%g)", rows[i].s, rrc, r, rows[i].rrc, rows[i].r);
    }
    /* LIST numbers: digits only ('-' is a range) */
    static const struct { const char *s; int ok; } lists[] = {
        {"4", 1},   {"4-8", 1},   {"4-8:2", 1}, {"4,8", 1},   {"004", 1},   {" 4", 0},   {"4 ", 0},
        {"+4", 0},  {"4,+8", 0},  {"0x4", 0},   {"4-0x8", 0}, {"4-8:+2", 0}, {"4 ,8", 0}, {"99999999999", 0},
        {"4-99999999999", 0},     {"1-8:99999999999", 1},
    };
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        int_list l;
        char err[256];
        if ((int_list_parse(lists[i].s, &l, err, sizeof err) == 0) != lists[i].ok)
            fail_msg("list '%s': %s, expected %s", lists[i].s, lists[i].ok ? err : "read", lists[i].ok ? "read" : "refused");
    }
}

/* The same grammar on the command line of every command that reads numbers,
 * and in --config files (where blanks around a value are the syntax's). */
static void test_number_grammar_commands(void **state) {
    (void)state;
    static const struct { const char *opt, *value; int ok; } rows[] = {
        {"steps", "5", 1},      {"steps", "+5", 1},     {"steps", "0x10", 0},   {"steps", "1e3", 0},
        {"steps", "5.0", 0},    {"steps", "1_0", 0},    {"seed", "-0", 1},      {"seed", "99999999999999999999", 0},
        {"lr", "0.001", 1},     {"lr", ".001", 1},      {"lr", "1e-3", 1},      {"lr", "+1E-3", 1},
        {"lr", "0x1p-10", 0},   {"lr", "inf", 0},       {"lr", "nan", 0},       {"lr", "1e-400", 0},
        {"lr", "1e", 0},        {"eval-lens", "4,8", 1}, {"eval-lens", "+4", 0}, {"eval-lens", "0x4", 0},
        {"quiet", "1", 1},      {"quiet", "yes", 1},    {"quiet", "0x1", 0},
    };
    char cmd[512];
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        snprintf(cmd, sizeof cmd, "P train --check --len 4 --%s '%s'", rows[i].opt, rows[i].value);
        expect(cmd, rows[i].ok ? 0 : 2, rows[i].opt);
        char text[256];
        int n = snprintf(text, sizeof text, "# row %zu\n%s = %s\n", i, rows[i].opt, rows[i].value);
        write_file("row.cfg", text, (size_t)n);
        snprintf(cmd, sizeof cmd, "P train --check --len 4 --config row.cfg");
        expect(cmd, rows[i].ok ? 0 : 2, "row.cfg:2: ");
    }
    /* blanks are not part of a number on the command line */
    expect("P train --check --len ' 5'", 2, "--len");
    expect("P train --check --len '5 '", 2, "--len");
    expect("P train --check --lr '0.1 '", 2, "--lr");
    expect("P train --check --eval-lens '4, 8'", 2, "--eval-lens");
    /* the counts of other commands */
    expect("P examples --task copy --len 3 --count 0x2", 2, "--count");
    expect("P examples --task copy --len 3 --count ' 2'", 2, "--count");
    expect("P examples --task copy --len 3 --count +2", 0, NULL);
    expect("P diagnose --len 3 --seeds 1e1", 2, "--seeds");
    expect("P inspect --encoding learned --what positions --len 3 --draws 0x1", 2, "--draws");
    expect("P layerprobe --checkpoint nowhere --steps ' 5'", 2, "--steps");
    expect("P layerprobe --checkpoint nowhere --lens +4", 2, "--lens");
}

/* ------------------------------------------------------- command lines */

/* Repeated options, stray words and flags given values they cannot take are
 * usage errors (exit 2, one line, nothing created) in every command. */
static void test_command_line_grammar(void **state) {
    (void)state;
    assert_int_equal(shell("P train --quiet --task copy --encoding learned --len 4 --max-pos 32 --steps 2 --dim 8 "
                           "--out ck && mkdir s && echo data > file && printf 'steps = 3\\n' > ok.cfg"), 0);
    static const struct { const char *cmd, *want; } bad[] = {
        {"P train --check extra", "unexpected argument 'extra'"},
        {"P train --out D --steps 1 extra", "unexpected argument 'extra'"},
        {"P train --check --check", "--check is given twice"},
        {"P train --check=maybe", "--check: 'maybe' is not 0 or 1"},
        {"P train --check --quiet 2", "--quiet: '2' is not 0 or 1"},   /* a number after a flag is its value */
        {"P train --check --quiet -1", "--quiet: '-1' is not 0 or 1"},
        {"P train --check --encoding conv --conv-circular 2", "--conv-circular: '2' is not 0 or 1"},
        {"P train --check --quiet extra", "--quiet is a flag"},
        {"P", "no command (usage: posprobe COMMAND [options]; posprobe help lists the commands)"},
        {"P inspect --what Frequencies --checkpoint D", "--what must be one of bias|decay|rotation|positions|frequencies, not 'Frequencies'"},
        {"P help --man train", "--man takes no COMMAND"},
        {"P help --complete nosuch", "no help on 'nosuch'"},
        /* an encoding option its encoding does not use, away from its default */
        {"P train --check --encoding learned --rope-trainable 1",
         "--rope-trainable 1 does nothing with --encoding learned (it is an option of rope, rope-v, rope2d, xpos)"},
        {"P train --check --encoding rope --conv-kernel 5", "--conv-kernel 5 does nothing with --encoding rope (it is an option of conv)"},
        {"P train --check --encoding alibi --clip-min -4", "--clip-min -4 does nothing with --encoding alibi"},
        {"P diagnose --encoding none --t5-buckets 8", "--t5-buckets 8 does nothing with --encoding none"},
        {"P inspect --encoding alibi --what bias --rope-base 123", "--rope-base 123 does nothing with --encoding alibi"},
        {"P train --out D --steps 5 --steps=6", "--steps is given twice"},
        {"P train --out D --config ok.cfg --config ok.cfg", "--config is given twice"},
        {"P train --out D --lr", "--lr needs a value"},
        {"P train --out file/sub", "not a directory"},
        {"P eval --checkpoint ck --checkpoint ck", "--checkpoint is given twice"},
        {"P eval --checkpoint ck --eval-lens 4 --eval-lens 4", "--eval-lens is given twice"},
        {"P eval --checkpoint ck --eval-lens 4 --out D --out D", "--out is given twice"},
        {"P eval --checkpoint ck extra", "unexpected argument 'extra'"},
        {"P eval --checkpoint ck --eval-lens 4 --frobnicate 1", "unknown option '--frobnicate'"},
        {"P eval --checkpoint ck --eval-lens 300", "more than --max-pos 32"},
        {"P layerprobe --checkpoint ck --lens 300", "more than --max-pos 32"},   /* aborted in the embedding before */
        {"P diagnose --encoding learned --len 300 --seeds 1 --out d.csv", "more than --max-pos 256"},   /* aborted, .tmp left */
        {"P layerprobe --checkpoint ck --lens 4 --lens 4", "--lens is given twice"},
        {"P layerprobe --checkpoint ck stray", "unexpected argument 'stray'"},
        {"P diagnose --len 3 --seeds 1 --seeds 2", "--seeds is given twice"},
        {"P diagnose --len 3 --all extra", "unexpected argument 'extra'"},
        {"P diagnose --len 3 --all=sometimes", "--all: 'sometimes' is not 0 or 1"},
        {"P diagnose --len 3 --len 4", "--len is given twice"},
        {"P inspect --encoding rope --what bias --what decay", "--what is given twice"},
        {"P inspect --encoding rope --what bias stray", "unexpected argument 'stray'"},
        {"P examples --task copy --count 1 --count 2", "--count is given twice"},
        {"P examples --task copy stray", "unexpected argument 'stray'"},
        {"P summarize s s", "unexpected argument 's'"},
        {"P summarize --fitted-only --fitted-only s", "--fitted-only is given twice"},
        {"P summarize --fitted-only=2 s", "--fitted-only: '2' is not 0 or 1"},
        {"P list tasks extra", "unexpected argument 'extra'"},
        {"P version extra", "unexpected argument 'extra'"},
        {"P help train extra", "unexpected argument 'extra'"},
        {"P help nosuch", "no help on 'nosuch'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect(bad[i].cmd, 2, bad[i].want);
    static const char *const good[] = {
        "P train --check", "P train --check 1", "P train --check=yes --quiet 0", "P train --check --config ok.cfg --steps 4",
        "P list tasks", "P help", "P help train", "P version", "P examples --task copy --len 3 --count 1",
        /* every command prints its own help through posprobe help COMMAND */
        "P help eval", "P help list", "P help diagnose", "P help inspect", "P help examples", "P help layerprobe",
        "P help summarize", "P help version", "P help help", "P list encodings --csv", "P list --csv tasks",
        "P help --help", "P help -h", "P train --help --frobnicate", "P help --man", "P help --complete",
        "P help --complete train",
        /* an encoding option at its default is no request: suites set options for every encoding */
        "P train --check --encoding learned --rope-trainable 0 --rope-base 10000 --conv-kernel 3",
        "P train --check --encoding rope --rope-trainable 1", "P train --check --encoding conv --conv-circular 1",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) expect(good[i], 0, NULL);
}

/* A flag given a value it cannot take is refused in the same words on the
 * command line and in a --config file (the command line called it an
 * unexpected argument, the file out of range). */
static void test_flag_values_agree(void **state) {
    (void)state;
    write_file("c.cfg", "conv-circular = 2\n", 17);
    expect("P train --check --encoding conv --config c.cfg", 2, "c.cfg:1: --conv-circular: '2' is not 0 or 1");
    char *file_msg = strdup(strstr(err_text(), "--conv-circular"));
    expect("P train --check --encoding conv --conv-circular 2", 2, NULL);
    const char *line_msg = strstr(err_text(), "--conv-circular");
    if (!line_msg || strcmp(line_msg, file_msg) != 0) fail_msg("command line '%s', config file '%s'", err_text(), file_msg);
    free(file_msg);
}

/* train --check says in one line on stdout what would run; the top-level help
 * names what each command requires. */
static void test_check_line_and_help(void **state) {
    (void)state;
    expect("P train --check --task copy --mask causal --encoding rope --len-min 1 --len-max 6 --eval-lens 1-12 --steps 40", 0, NULL);
    const char *out = test_tmpdir_text("out.txt");
    static const char *const want[] = {"posprobe train --check: valid: rope on copy (decoder form", " parameters, about ",
                                       " of memory (", " allowed), training lengths 1-6 (uniform), evaluation lengths 1-12, 40 steps of 16 sequences\n"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i])) fail_msg("train --check printed '%s', without '%s'", out, want[i]);
    if (strchr(out, '\n') != out + strlen(out) - 1) fail_msg("train --check printed more than one line: %s", out);
    if (*err_text()) fail_msg("train --check wrote to stderr: %s", err_text());
    expect("P help", 0, NULL);
    out = test_tmpdir_text("out.txt");
    static const char *const rows[] = {"  train       --out DIR ", "  eval        --checkpoint DIR ", "  list        encodings|tasks|norms ",
                                       "  inspect     --what W ", "  layerprobe  --checkpoint DIR ", "  summarize   DIR "};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (!strstr(out, rows[i])) fail_msg("posprobe help lacks '%s': %s", rows[i], out);
}

/* ------------------------------------------------ config and suite files */

#define SUITE_HEAD "[suite]\nname = t\n[grid a]\ntask = probe\n"

/* A byte-order mark, a NUL byte and a '#' inside a line are named, with the
 * line, in --config files and suite files alike; '#' lines are comments in
 * both. */
static void test_config_and_suite_files(void **state) {
    (void)state;
    static const struct { const char *config, *suite; size_t clen, slen; int line, sline; const char *want; } rows[] = {
        {"\xef\xbb\xbfsteps = 3\n", "\xef\xbb\xbf" SUITE_HEAD, 0, 0, 1, 1, "byte-order mark at start of file"},
        {"steps = 3\nlr = 0.01\0\n", SUITE_HEAD "lr = 0.01\0\n", 21, sizeof SUITE_HEAD + 10, 2, 5, "NUL byte"},
        {"\0", SUITE_HEAD "\0", 1, sizeof SUITE_HEAD, 1, 5, "NUL byte"},
        {"steps = 3 # three\n", SUITE_HEAD "steps = 3 # three\n", 0, 0, 1, 5, "'#' inside a line"},
        {"# a comment\n  # an indented one\n\nsteps = 3\n", SUITE_HEAD "# a comment\n  # an indented one\nsteps = 3\n", 0,
         0, 0, 0, NULL},
    };
    char root[512];
    if (!getcwd(root, sizeof root)) fail_msg("getcwd failed");
    const char *posprobe = bin();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        size_t clen = rows[i].clen ? rows[i].clen : strlen(rows[i].config);
        size_t slen = rows[i].slen ? rows[i].slen : strlen(rows[i].suite);
        write_file("x.cfg", rows[i].config, clen);
        write_file("x.suite", rows[i].suite, slen);
        char want[256], cmd[2048];
        snprintf(want, sizeof want, "x.cfg:%d: %s", rows[i].line, rows[i].want ? rows[i].want : "");
        expect("P train --check --len 4 --config x.cfg", rows[i].want ? 2 : 0, want);
        snprintf(want, sizeof want, "x.suite:%d: %s", rows[i].sline, rows[i].want ? rows[i].want : "");
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/suite.py' x.suite --posprobe '%s' --results D --list", root,
                 posprobe);
        expect(cmd, rows[i].want ? 2 : 0, want);
    }
    /* not a file: a directory is refused; a FIFO with no writer is refused at once (it hung before, then
     * read as empty and trained the defaults) */
    expect("P train --check --len 4 --config .", 2, "not a regular file or pipe");
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/x.fifo", test_tmpdir);
    if (mkfifo(fifo, 0600) != 0) fail_msg("mkfifo %s failed", fifo);
    expect("timeout 20 P train --check --len 4 --config x.fifo", 2, "a FIFO with nothing to read");
}

/* ---------------------------------------------------------- ranges */

#define ONE_STEP "P train --quiet --dim 16 --heads 2 --layers 1 --batch 4 --eval-size 4 --steps 1 --out D "

/* The ends of every encoding option's range, with the encodings that read
 * it: each either trains a step (finite, status finished) or is refused with
 * one line before anything is written; none aborts or diverges at step 1. */
static void test_encoding_option_ranges(void **state) {
    (void)state;
    static const struct { const char *args; int status; const char *want; } rows[] = {
        {"--encoding t5 --mask bidir --t5-buckets 2", 2, "--t5-buckets 2 under --mask bidir leaves 1 bucket"},
        {"--encoding t5 --mask bidir --t5-buckets 3", 2, "--t5-buckets 3 under --mask bidir leaves 1 bucket"},
        {"--encoding t5 --mask bidir --t5-buckets 4", 0, NULL},
        {"--encoding t5 --mask causal --t5-buckets 2", 0, NULL},
        {"--encoding t5 --mask bidir --t5-buckets 4096", 2, "--t5-max-distance 128 must exceed the 1024 exact"},
        {"--encoding t5 --mask bidir --t5-buckets 4096 --t5-max-distance 1048576", 0, NULL},
        {"--encoding t5 --mask bidir --t5-max-distance 2", 2, "--t5-max-distance 2 must exceed the 8 exact"},
        {"--encoding t5 --mask bidir --t5-max-distance 8 --len 20", 2, "--t5-max-distance 8 must exceed"},
        {"--encoding t5 --mask causal --t5-max-distance 16", 2, "--t5-max-distance 16 must exceed the 16 exact"},
        {"--encoding t5 --mask causal --t5-max-distance 17 --len 30", 0, NULL},
        {"--encoding t5 --mask bidir --t5-buckets 4 --t5-max-distance 2 --len 30", 0, NULL},
        {"--encoding xpos --xpos-zeta 0", 2, "--xpos-zeta 0 with --xpos-gamma 512"},
        {"--encoding xpos --xpos-zeta 1e-30 --mask causal", 0, NULL},
        {"--encoding xpos --xpos-zeta 10", 0, NULL},
        {"--encoding xpos --xpos-gamma 1 --len 30", 0, NULL},
        {"--encoding xpos --xpos-gamma 1 --len 40", 2, "beyond e^40"},
        {"--encoding xpos --xpos-gamma 1000000000", 0, NULL},
        {"--encoding xpos --positions randomized --max-pos 100000", 2, "at position 99999"},
        {"--encoding rope --rope-base 1.0001", 0, NULL},
        {"--encoding rope --rope-base 1e12 --rope-trainable 1", 0, NULL},
        {"--encoding rope --rope-fraction 0", 2, "rotates no pair"},
        {"--encoding rope-v --rope-fraction 1", 0, NULL},
        {"--encoding sinusoidal --rope-base 1.0001 --sin-scale 100", 0, NULL},
        {"--encoding sinusoidal --rope-base 1e12 --sin-scale 0", 0, NULL},
        {"--encoding xl --rope-base 1e12", 0, NULL},
        {"--encoding multiplicative --mult-pos sinusoidal --rope-base 1.0001", 0, NULL},
        {"--encoding urpe --clip-min -1000000 --clip-max 0", 0, NULL},
        {"--encoding shaw --clip-min 0 --clip-max 0", 0, NULL},
        {"--encoding deberta --clip-min -1 --clip-max 1", 0, NULL},
        {"--encoding alibi --mask bidir --alibi-asym 1", 0, NULL},
    };
    char cmd[1024];
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const char *len = strstr(rows[i].args, "--len") ? "" : "--len 6 ";
        snprintf(cmd, sizeof cmd, ONE_STEP "%s%s && grep -q '^D,finished,1,0,[0-9]' D/summary.csv", len, rows[i].args);
        expect(cmd, rows[i].status, rows[i].want);
        if (rows[i].status == 0 && shell("rm -r D D.lock") != 0) fail_msg("cannot remove the run of '%s'", rows[i].args);
        if (rows[i].status) {   /* --check refuses it the same way */
            snprintf(cmd, sizeof cmd, "P train --check %s%s", len, rows[i].args);
            expect(cmd, 2, rows[i].want);
        }
    }
}

/* ------------------------------------------------------------ memory */

/* The estimate bounds what a training step and an evaluation take: the
 * arena's high-water mark stays below model_step_bytes (an evaluation below
 * half of it) for every encoding, mask and a spread of shapes. */
static void test_memory_estimate_bounds(void **state) {
    (void)state;
    static const char *const masks[] = {"bidir", "causal"}, *const tasks[] = {"probe", "copy"};
    static const struct { int len, dim, heads, batch, ff; } shapes[] = {
        {3, 8, 1, 1, 1}, {5, 16, 2, 3, 4}, {40, 16, 1, 1, 1}, {40, 32, 4, 3, 4}, {24, 16, 8, 2, 2},
    };
    double worst = 0, worst_eval = 0;
    char worst_what[160] = "";
    for (int e = 0; encoding_at(e); e++)
        for (int mk = 0; mk < 2; mk++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                run_config c;
                config_defaults(&c);
                snprintf(c.encoding, sizeof c.encoding, "%s", encoding_at(e)->name);
                set_choice(&c, "mask", masks[mk]);
                snprintf(c.task, sizeof c.task, "%s", tasks[s % 2]);
                c.len = shapes[s].len;
                c.dim = shapes[s].dim;
                c.heads = shapes[s].heads;
                c.batch = shapes[s].batch;
                c.ff_mult = shapes[s].ff;
                c.max_pos = 256;
                if (s == 2) { c.dropout = 0.1; c.ln = LN_POST; c.markers = MARK_BOS; }
                char err[512];
                model m;
                if (config_validate(&c, err, sizeof err) || model_build(&m, &c, c.len, err, sizeof err)) {
                    model_free(&m);
                    continue;   /* e.g. cope under bidir */
                }
                gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
                gsl_rng_set(r, 1);
                model_init_params(&m, r);
                batch b;
                batch_alloc(&b, c.batch, layout_seq_len(&m.lo, c.len));
                layout_fill(&m.lo, &b, c.len, r, POS_SEQUENTIAL, c.max_pos, r);
                arena ar;
                graph g;
                for (int train = 1; train >= 0; train--) {
                    arena_init(&ar, 0);
                    graph_init(&g, &ar, train);
                    if (train) run_step(&m, &g, &b, 1);
                    else model_loss(&m, &g, &b, model_forward(&m, &g, &b, 0));
                    double ratio = (double)ar.high_water / (model_step_bytes(&m, c.batch, b.T) / (train ? 1 : 2));
                    graph_reset(&g);
                    arena_free(&ar);
                    if (ratio > (train ? worst : worst_eval)) {
                        *(train ? &worst : &worst_eval) = ratio;
                        snprintf(worst_what, sizeof worst_what, "%s %s T=%d C=%d H=%d B=%d", c.encoding, config_choice_name("mask", c.mask), b.T, c.dim,
                                 c.heads, c.batch);
                    }
                    if (ratio > 1) fail_msg("%s: the arena took %.2f times the estimate", worst_what, ratio);
                }
                batch_free(&b);
                gsl_rng_free(r);
                model_free(&m);
            }
    print_message("estimate: worst ratio %.2f in training, %.2f in evaluation\n", worst, worst_eval);
}

#define HUGE_MODEL "--dim 4096 --layers 64 --ff-mult 16 --encoding learned --max-pos 1048576 --batch 65536 --len 65536 "
#define RLIMIT(kb) "ulimit -v " #kb " && P "

/* A configuration that cannot fit is refused before anything is allocated
 * or written, naming the estimate and the limit: one astronomically large
 * (whatever the machine), and one over an address-space limit set for the
 * child (ulimit -v), in every command that builds a model. */
static void test_memory_refusals(void **state) {
    (void)state;
    static const char *const rows[] = {
        "P train " HUGE_MODEL "--out D",
        "P train --check " HUGE_MODEL,
        "P diagnose " HUGE_MODEL "--out D",
        "P inspect --what bias " HUGE_MODEL "--out D",
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        expect(rows[i], 2, "this configuration needs about ");
        if (!strstr(err_text(), "parameters with their gradients") || !strstr(err_text(), "more than the "))
            fail_msg("'%s': %s", rows[i], err_text());
    }
#if defined(__SANITIZE_ADDRESS__)
    print_message("skipped: the address-space limit rows (AddressSanitizer reserves terabytes of address space)\n");
#else
    expect(RLIMIT(786432) "train --dim 1024 --layers 8 --out D", 2, "RLIMIT_AS (ulimit -v)");
    expect(RLIMIT(786432) "train --check --dim 1024 --layers 8", 2, "RLIMIT_AS (ulimit -v)");
    expect(RLIMIT(786432) "train --quiet --len 4 --steps 3 --out D && grep -q ,finished, D/summary.csv", 0, NULL);
#endif
    /* eval at a length its run never saw: refused before anything is written */
    expect("rm -rf D && P train --quiet --task copy --encoding recursive --len 4 --steps 2 --out evrun > /dev/null && "
           "P eval --checkpoint evrun --eval-lens 60000 --out D/e.csv", 2, "this configuration needs about ");
}

/* An allocation that fails anyway ends the program: one line naming what
 * it was for, exit status 1, and no temporary file of an output left. */
static void test_out_of_memory_exit(void **state) {
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    print_message("skipped: AddressSanitizer aborts on a failed allocation of this size\n");
    skip();
#else
    char out[160], errp[160];
    snprintf(out, sizeof out, "%s/partial.csv", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/err.txt", test_tmpdir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(errp, "w", stderr)) _exit(126);
        csv_out w;
        char err[512];
        if (csv_out_open(&w, out, err, sizeof err)) _exit(125);
        csv_out_str(&w, "half");
        csv_out_flush(&w);
        mem_malloc((size_t)1 << 62, "a test");   /* exits */
        _exit(124);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1) fail_msg("exit %d, expected 1: %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1, err_text());
    if (!strstr(err_text(), "posprobe: error: out of memory (4 EB for a test)\n")) fail_msg("stderr: %s", err_text());
    if (shell("[ -z \"$(ls -A | grep -v -x -e err.txt -e out.txt)\" ]") != 0) fail_msg("a file of the output was left behind");
#endif
}

/* ------------------------------------------------------------ 0 steps */

/* A run of 0 steps evaluates the untrained model: no training loss or
 * accuracy (not measured), the final evaluation's means, fitted and fit_step
 * as for any run (-1: it did not fit). */
static void test_zero_steps(void **state) {
    (void)state;
    assert_int_equal(shell("P train --quiet --len 4 --eval-lens 2,4 --steps 0 --out D"), 0);
    char path[160], err[512];
    csv_table sum, ev, tr;
    snprintf(path, sizeof path, "%s/D/summary.csv", test_tmpdir);
    if (csv_read(path, &sum, err, sizeof err)) fail_msg("%s", err);
    snprintf(path, sizeof path, "%s/D/eval.csv", test_tmpdir);
    if (csv_read(path, &ev, err, sizeof err)) fail_msg("%s", err);
    snprintf(path, sizeof path, "%s/D/train.csv", test_tmpdir);
    if (csv_read(path, &tr, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(tr.n_rows, 0);
    assert_string_equal(csv_get(&sum, 0, "status"), "finished");
    assert_string_equal(csv_get(&sum, 0, "steps_done"), "0");
    assert_string_equal(csv_get(&sum, 0, "diverged_step"), "0");
    assert_string_equal(csv_get(&sum, 0, "train_loss"), "");
    assert_string_equal(csv_get(&sum, 0, "train_token_acc"), "");
    assert_int_equal(ev.n_rows, 2);   /* lengths 2 and 4 at step 0 */
    double tok = 0, seq = 0;
    for (int r = 0; r < ev.n_rows; r++) {
        assert_string_equal(csv_get(&ev, r, "step"), "0");
        tok += strtod(csv_get(&ev, r, "token_acc"), NULL) / ev.n_rows;
        seq += strtod(csv_get(&ev, r, "seq_acc"), NULL) / ev.n_rows;
    }
    assert_true(fabs(strtod(csv_get(&sum, 0, "eval_token_acc"), NULL) - tok) < 1e-12);
    assert_true(fabs(strtod(csv_get(&sum, 0, "eval_seq_acc"), NULL) - seq) < 1e-12);
    const char *fitted = csv_get(&sum, 0, "fitted");
    assert_true(strcmp(fitted, "0") == 0 || strcmp(fitted, "1") == 0);
    assert_string_equal(csv_get(&sum, 0, "fit_step"), strcmp(fitted, "1") == 0 ? "0" : "-1");
    csv_table_free(&sum);
    csv_table_free(&ev);
    csv_table_free(&tr);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_number_grammar),
    cmocka_unit_test_setup_teardown(test_number_grammar_commands, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_command_line_grammar, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_flag_values_agree, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_check_line_and_help, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_config_and_suite_files, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_encoding_option_ranges, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test(test_memory_estimate_bounds),
    cmocka_unit_test_setup_teardown(test_memory_refusals, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_out_of_memory_exit, test_tmpdir_setup, test_tmpdir_teardown),
    cmocka_unit_test_setup_teardown(test_zero_steps, test_tmpdir_setup, test_tmpdir_teardown),
};
const test_group test_group_inputs = {"inputs", TESTS, sizeof TESTS / sizeof *TESTS};
