/* Data integrity (issue 14), table-driven, the binary run as a process:
 * outputs posprobe did not create are never replaced (devices, FIFOs,
 * symlinks, temporary-name collisions), a run directory belongs to one run
 * and one writer, and the checkpoint reader refuses what is not a checkpoint
 * file at once. Rows that need device nodes (mknod) run as root only and are
 * skipped with a message otherwise; every device lives in the test's own
 * temporary directory, never the machine's /dev. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int as_nobody;       /* the next start() runs posprobe as nobody when we are root */
static pid_t children[4];   /* started and not yet reaped: killed in teardown, also on failure */

static int teardown(void **state) {
    for (size_t i = 0; i < sizeof children / sizeof *children; i++)
        if (children[i] > 0) {
            kill(children[i], SIGCONT);
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return test_tmpdir_teardown(state);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void nap(void) { nanosleep(&(struct timespec){0, 2000000}, NULL); }

/* Starts posprobe with the words of args ('@' stands for the temporary
 * directory) in cwd; its stdout and stderr go to DIR/stdout and DIR/stderr. */
static pid_t start(const char *cwd, const char *args) {
    const char *b = getenv("POSPROBE_BIN");
    if (!b) fail_msg("POSPROBE_BIN is not set (run the tests through make)");
    static char words[4096];
    char *argv[64], out[128], err[128];
    size_t k = 0;
    for (const char *s = args; *s && k + 80 < sizeof words; s++) {
        if (*s == '@') k += (size_t)snprintf(words + k, sizeof words - k, "%s", test_tmpdir);
        else words[k++] = *s;
    }
    words[k] = 0;
    int n = 0;
    argv[n++] = "posprobe";
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < 63; w = strtok_r(NULL, " ", &save)) argv[n++] = w;
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/stdout", test_tmpdir);
    snprintf(err, sizeof err, "%s/stderr", test_tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        /* default dispositions, as from a terminal: under nohup SIGHUP is ignored, and an ignored signal stays so */
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int exe = open(b, O_RDONLY | O_CLOEXEC);   /* fexecve: no path to traverse once we are nobody */
        if (o < 0 || e < 0 || exe < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || (cwd && chdir(cwd) != 0)) _exit(126);
        if (as_nobody && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(126);
        fexecve(exe, argv, environ);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof children / sizeof *children; i++)
        if (children[i] <= 0) { children[i] = pid; break; }
    return pid;
}

/* The wait status of pid, which must end within secs seconds. */
static int wait_for(pid_t pid, double secs, const char *what) {
    double t0 = now();
    int st = 0;
    pid_t got;
    while ((got = waitpid(pid, &st, WNOHANG)) == 0 && now() - t0 < secs) nap();
    for (size_t i = 0; i < sizeof children / sizeof *children; i++)
        if (children[i] == pid && got == pid) children[i] = 0;
    if (got != pid) fail_msg("%s: still running after %.0f s", what, secs);   /* teardown kills it */
    return st;
}

/* The exit status of pid, which must end within secs seconds, by exiting. */
static int finish(pid_t pid, double secs, const char *what) {
    int st = wait_for(pid, secs, what);
    if (!WIFEXITED(st)) fail_msg("%s: ended by signal %d", what, WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    return WEXITSTATUS(st);
}

static int run_in(const char *cwd, const char *args, double secs) { return finish(start(cwd, args), secs, args); }

/* Runs a shell command in cwd; its exit status. */
static int sh(const char *cwd, const char *cmd) {
    char full[4096];
    snprintf(full, sizeof full, "cd '%s' && { :; %s\n} >/dev/null 2>&1", cwd, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* stderr of the last run. */
static const char *last_stderr(void) { return test_tmpdir_text("stderr"); }

/* stderr of the last run is one line "posprobe: error: ..." (containing want when given). */
static void expect_one_error_line(const char *what, const char *want) {
    const char *msg = last_stderr();
    if (strncmp(msg, "posprobe: error: ", 17) != 0 || strchr(msg, '\n') != msg + strlen(msg) - 1 || (want && !strstr(msg, want)))
        fail_msg("%s: stderr is not one error line%s%s: '%s'", what, want ? " containing " : "", want ? want : "", msg);
}

static int can_mknod(void) {
    if (geteuid() != 0) return 0;
    char p[128];
    snprintf(p, sizeof p, "%s/mknod-probe", test_tmpdir);
    int ok = mknod(p, S_IFCHR | 0644, makedev(1, 3)) == 0;
    unlink(p);
    return ok;
}

enum { NEEDS_MKNOD = 1, AS_NOBODY = 2 };

typedef struct {
    const char *what;
    const char *make;     /* shell commands run first in the row's own directory */
    int flags;            /* NEEDS_MKNOD: root only; AS_NOBODY: a posprobe that wrongly wrote could not */
    const char *args;     /* posprobe arguments; the row's directory is the working directory */
    int status;           /* expected exit status */
    const char *after;    /* shell test that must hold afterwards */
} row;

/* Runs each row in DIR/<prefix><i>. A refused row (exit 2, or any error
 * when untouched_on_error) must leave its directory exactly as it was
 * (names, types, inodes, sizes, times); an error is one line containing want. */
static void run_rows(const row *rows, size_t n, const char *prefix, const char *want, int untouched_on_error) {
    int devices = can_mknod();
    if (!devices) print_message("note: device-node rows skipped (mknod needs root and a filesystem that allows devices)\n");
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        if ((r->flags & NEEDS_MKNOD) && !devices) { print_message("skipped: %s (needs mknod)\n", r->what); continue; }
        char cwd[128];
        snprintf(cwd, sizeof cwd, "%s/%s%zu", test_tmpdir, prefix, i);
        if (mkdir(cwd, 0755) != 0 || sh(cwd, r->make) != 0) fail_msg("%s: cannot set up: %s", r->what, r->make);
        sh(cwd, "find . -printf '%p %y %i %s %T@\\n' | sort > ../snapshot.before");
        as_nobody = r->flags & AS_NOBODY;
        int st = run_in(cwd, r->args, 30);
        as_nobody = 0;
        if (st != r->status) fail_msg("%s: exit %d, expected %d; stderr: %s", r->what, st, r->status, last_stderr());
        if (st) expect_one_error_line(r->what, want);
        if ((st == 2 || (st && untouched_on_error)) &&
            sh(cwd, "find . -printf '%p %y %i %s %T@\\n' | sort | cmp -s - ../snapshot.before") != 0)
            fail_msg("%s: refused, but its directory changed", r->what);
        if (sh(cwd, r->after) != 0) fail_msg("%s: afterwards, this does not hold: %s", r->what, r->after);
    }
}

#define INSPECT "inspect --encoding rope --what rotation --len 2 --dim 4 --heads 1 --out "
#define HEADER_OK "head -1 %s | grep -qx position,dim,value"
/* no temporary file of out is left behind */
#define NO_TMP " && [ -z \"$(ls -A | grep -E '^out\\.(.{6}\\.)?tmp$')\" ]"

/* Single-file outputs: devices and FIFOs written through, symlinks resolved
 * (the link stays a link), temporary names never reused. */
static void test_output_targets(void **state) {
    (void)state;
    static const row rows[] = {
        {"character device (null)", "mknod out c 1 3", NEEDS_MKNOD, INSPECT "out", 0,
         "test -c out && [ \"$(stat -c %t,%T out)\" = 1,3 ]" NO_TMP},
        {"character device (full): ENOSPC reported, device kept", "mknod out c 1 7", NEEDS_MKNOD, INSPECT "out", 1,
         "test -c out && [ \"$(stat -c %t,%T out)\" = 1,7 ]" NO_TMP},
        {"FIFO with a reader", "mkfifo out && { timeout 20 cat out > got & }", 0, INSPECT "out", 0,
         "for i in $(seq 200); do grep -qx position,dim,value got && break; sleep 0.05; done; "
         "grep -qx position,dim,value got && test -p out" NO_TMP},
        {"symlink to a file: the target is written, the link stays", "echo old > target.csv && ln -s target.csv out", 0,
         INSPECT "out", 0, "test -L out && [ \"$(readlink out)\" = target.csv ] && head -1 target.csv | grep -qx position,dim,value"
         " && [ -z \"$(ls -A | grep tmp)\" ]"},
        {"symlink to a character device", "mknod dev c 1 3 && ln -s dev out", NEEDS_MKNOD, INSPECT "out", 0,
         "test -L out && test -c dev && [ \"$(ls -A | wc -l)\" = 2 ]"},
        {"dangling symlink: refused", "ln -s missing out", 0, INSPECT "out", 1, "test -L out && [ ! -e missing ]" NO_TMP},
        {"directory: refused", "mkdir out && echo keep > out/keep", 0, INSPECT "out", 1,
         "grep -qx keep out/keep && [ \"$(ls -A out)\" = keep ]" NO_TMP},
        {"regular file: replaced (the documented behaviour of --out)", "echo old > out", 0, INSPECT "out", 0,
         "head -1 out | grep -qx position,dim,value" NO_TMP},
        {"OUT.tmp is a symlink: never followed", "echo victim > victim && ln -s victim out.tmp", 0, INSPECT "out", 0,
         "grep -qx victim victim && test -L out.tmp && head -1 out | grep -qx position,dim,value"},
        {"OUT.tmp is a FIFO: never opened", "mkfifo out.tmp", 0, INSPECT "out", 0,
         "test -p out.tmp && head -1 out | grep -qx position,dim,value"},
        {"OUT.tmp is a device: never opened", "mknod out.tmp c 1 3", NEEDS_MKNOD, INSPECT "out", 0,
         "test -c out.tmp && head -1 out | grep -qx position,dim,value"},
        {"- is stdout", "", 0, INSPECT "-", 0, "[ -z \"$(ls -A)\" ] && head -1 ../stdout | grep -qx position,dim,value"},
    };
    run_rows(rows, sizeof rows / sizeof *rows, "out", NULL, 0);
}

#define TINY "train --quiet --len 4 --dim 8 --heads 2 --layers 1 --batch 4 --eval-size 4 "
#define TRAIN TINY "--steps 5 "
#define FINISHED "grep -q ,finished, run/summary.csv"

/* DIR/base: a finished run of the TRAIN config that rows copy. */
static void train_base(void) { assert_int_equal(run_in(test_tmpdir, TRAIN "--out @/base", 30), 0); }

/* train --out: only a new, empty or own unfinished run directory of the same
 * config; --force replaces posprobe runs only; the lock refuses a second writer. */
static void test_run_directories(void **state) {
    (void)state;
    train_base();
    static const row rows[] = {
        {"--out /", "ls -A / > ../root.before", AS_NOBODY, TRAIN "--out /", 2, "ls -A / | cmp -s - ../root.before"},
        {"--out . (with --force)", "echo keep > keep", 0, TRAIN "--force --out .", 2, "[ \"$(ls -A)\" = keep ]"},
        {"--out ./ (an empty current directory)", "", 0, TRAIN "--out ./", 2, "[ -z \"$(ls -A)\" ]"},
        {"--out is a regular file (with --force)", "echo data > run", 0, TRAIN "--force --out run", 2, "grep -qx data run"},
        {"--out is a FIFO", "mkfifo run", 0, TRAIN "--out run", 2, "test -p run"},
        {"--out goes through a file", "echo data > f", 0, TRAIN "--out f/sub", 2, "grep -qx data f"},
        {"--out is a dangling symlink", "ln -s missing run", 0, TRAIN "--out run", 2, "test -L run && [ ! -e missing ]"},
        {"a directory with other files (with --force)", "mkdir run && echo mine > run/notes.txt", 0, TRAIN "--force --out run",
         2, "[ \"$(ls -A run)\" = notes.txt ]"},
        {"a run whose checkpoint.bin is a symlink (with --force)",
         "cp -a ../base run && echo v > victim && ln -sf ../victim run/checkpoint.bin", 0, TRAIN "--force --out run", 2,
         "grep -qx v victim && test -L run/checkpoint.bin"},
        {"a finished run of another config", "cp -a ../base run", 0, TRAIN "--seed 2 --out run", 2, FINISHED},
        {"a finished run of the same config", "cp -a ../base run", 0, TRAIN "--out run", 2, FINISHED},
        {"a finished run of the same config, --force", "cp -a ../base run", 0, TRAIN "--force --out run", 0,
         FINISHED " && grep -qx force,1 run/config.csv && [ \"$(ls -A)\" = \"$(printf 'run\\nrun.lock')\" ]"},
        {"a finished run of another config, --force", "cp -a ../base run", 0, TRAIN "--seed 2 --force --out run", 0,
         FINISHED " && grep -qx seed,2 run/config.csv"},
        {"an unfinished run of another config", "cp -a ../base run && rm run/summary.csv", 0, TRAIN "--seed 2 --out run",
         2, "[ ! -e run/summary.csv ] && grep -qx seed,1 run/config.csv"},
        {"an unfinished run of the same config (killed: temporary files left)",
         "cp -a ../base run && rm run/summary.csv && echo x > run/train.csv.AbC123.tmp && echo y > run/eval.csv.tmp", 0,
         TRAIN "--out run", 0, FINISHED " && [ -z \"$(ls run | grep tmp)\" ]"},
        {"an interrupted run of the same config", "cp -a ../base run && sed -i s/,finished,/,interrupted,/ run/summary.csv",
         0, TRAIN "--out run", 0, FINISHED},
        {"an interrupted run with a linear_attention.csv (a run file: rewritten, here removed)",
         "cp -a ../base run && sed -i s/,finished,/,interrupted,/ run/summary.csv && echo x > run/linear_attention.csv",
         0, TRAIN "--out run", 0, FINISHED " && [ ! -e run/linear_attention.csv ]"},
        {"an empty directory", "mkdir run", 0, TRAIN "--out run", 0, FINISHED},
        {"DIR.lock is a symlink", "echo v > victim && ln -s victim run.lock", 0, TRAIN "--out run", 2, "grep -qx v victim"},
        {"DIR.lock is a FIFO", "mkfifo run.lock", 0, TRAIN "--out run", 2, "test -p run.lock"},
    };
    run_rows(rows, sizeof rows / sizeof *rows, "run", NULL, 0);

    /* the lock held by another process: refused at once, nothing created */
    char cwd[128], lock[160];
    snprintf(cwd, sizeof cwd, "%s/held", test_tmpdir);
    snprintf(lock, sizeof lock, "%s/run.lock", cwd);
    assert_int_equal(mkdir(cwd, 0755), 0);
    int fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);   /* not passed on: an inherited lock counts as the child's */
    assert_true(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    int st = run_in(cwd, TRAIN "--out run", 5);
    close(fd);
    assert_int_equal(st, 2);
    expect_one_error_line("a locked run", "another posprobe is training into it");
    assert_int_equal(sh(cwd, "[ ! -e run ]"), 0);

    /* --force is documented in train --help */
    assert_int_equal(run_in(test_tmpdir, "train --help", 5), 0);
    assert_int_equal(sh(test_tmpdir, "grep -q -- '--force 0|1' stdout"), 0);
}

/* Two trainings into one directory: the second fails at once (exit 2) while
 * the first runs, and the first finishes with its own files. The first is
 * stopped (SIGSTOP) as soon as its config.csv exists, so the second always
 * meets it mid-run. */
static void test_one_writer_per_run(void **state) {
    (void)state;
    static const char *const second[] = {TINY "--steps 20000 --out @/run", TINY "--steps 20000 --seed 2 --force --out @/run"};
    char path[128];
    pid_t a = start(test_tmpdir, TINY "--steps 20000 --out @/run");
    snprintf(path, sizeof path, "%s/run/config.csv", test_tmpdir);
    double t0 = now();
    struct stat st;
    while (stat(path, &st) != 0 && now() - t0 < 20) nap();
    if (stat(path, &st) != 0) fail_msg("the first training wrote no config.csv in 20 s: %s", last_stderr());
    kill(a, SIGSTOP);
    snprintf(path, sizeof path, "%s/run/summary.csv", test_tmpdir);
    if (stat(path, &st) == 0) fail_msg("the first training finished before it could be stopped");
    for (int k = 0; k < 2; k++) {
        t0 = now();
        assert_int_equal(run_in(test_tmpdir, second[k], 5), 2);
        expect_one_error_line(second[k], "another posprobe is training into it");
        if (now() - t0 > 2) fail_msg("the second training took %.1f s to give up", now() - t0);
    }
    kill(a, SIGCONT);
    assert_int_equal(finish(a, 60, "the first training"), 0);
    assert_int_equal(sh(test_tmpdir, FINISHED " && grep -qx seed,1 run/config.csv && grep -qx force,0 run/config.csv && "
                              "[ \"$(tail -n +2 run/train.csv | wc -l)\" = 500 ]"), 0);
}

/* The checkpoint reader refuses what is not a checkpoint file, at once; so
 * does the CSV reader behind summarize. */
static void test_inputs_not_files(void **state) {
    (void)state;
    train_base();
    static const row rows[] = {
        {"a FIFO (no writer)", "mkdir ck && mkfifo ck/checkpoint.bin", 0, "eval --checkpoint ck --eval-lens 4", 1, "true"},
        /* without --eval-lens too: the checkpoint is read once, and its errors are exit 1 either way */
        {"a FIFO, the run's own lengths", "mkdir ck && mkfifo ck/checkpoint.bin", 0, "eval --checkpoint ck", 1, "true"},
        {"a character device like /dev/zero", "mkdir ck && mknod ck/checkpoint.bin c 1 5", NEEDS_MKNOD,
         "eval --checkpoint ck --eval-lens 4", 1, "true"},
        {"a character device, layerprobe", "mkdir ck && mknod ck/checkpoint.bin c 1 5", NEEDS_MKNOD,
         "layerprobe --checkpoint ck --lens 4", 1, "true"},
        {"a directory", "mkdir -p ck/checkpoint.bin", 0, "eval --checkpoint ck --eval-lens 4", 1, "true"},
        {"a sparse 64 GiB file", "mkdir ck && truncate -s 64G ck/checkpoint.bin", 0, "eval --checkpoint ck --eval-lens 4",
         1, "true"},
        {"a sparse 64 GiB file behind a valid header",
         "mkdir ck && head -c 4096 ../base/checkpoint.bin > ck/checkpoint.bin && truncate -s 64G ck/checkpoint.bin", 0,
         "eval --checkpoint ck", 1, "true"},
        {"the real checkpoint still loads", "cp -a ../base ck", 0, "eval --checkpoint ck --eval-lens 4", 0,
         "[ \"$(wc -l < ../stdout)\" = 2 ]"},
        {"summarize: a run's eval.csv is a FIFO", "mkdir s && cp -a ../base s/a && rm s/a/eval.csv && mkfifo s/a/eval.csv",
         0, "summarize s", 0, "grep -q 'eval.csv: not a regular file' ../stderr"},
        {"summarize: a run's eval.csv is a device like /dev/zero",
         "mkdir s && cp -a ../base s/a && rm s/a/eval.csv && mknod s/a/eval.csv c 1 5", NEEDS_MKNOD, "summarize s", 0,
         "grep -q 'eval.csv: not a regular file' ../stderr"},
        {"summarize: a run killed before its config.csv (only config.csv.XXXXXX.tmp) is still listed",
         "mkdir -p s/b && cp -a ../base s/a && echo x > s/b/config.csv.AbC123.tmp", 0, "summarize s", 0,
         "grep -q '^b,.*,unreadable,' s/runs.csv"},
    };
    double t0 = now();
    run_rows(rows, sizeof rows / sizeof *rows, "ck", "checkpoint.bin", 1);
    if (now() - t0 > 10) fail_msg("refusing these inputs took %.1f s", now() - t0);
}

/* summarize on odd trees: every run directory is read once (a symlink to it,
 * or a loop back to DIR, is the same directory), a field longer than its
 * buffer or a summary.csv that is not a file makes that run unreadable, and
 * each failure is one line on stderr (then the count line). */
#define SUM_RUN "mkdir -p s/runs && cp -a ../base s/runs/a && "
#define RUNS_LISTED(n) "[ \"$(tail -n +2 s/runs.csv | wc -l)\" = " #n " ]"
#define STDERR_LINES(n) " && [ \"$(wc -l < ../stderr)\" = " #n " ]"
#define ONE_SEED " && [ \"$(cut -d, -f13 s/summary.csv | sort -u | tr '\\n' ' ')\" = '1 n_seeds ' ]"
#define UNREADABLE(why) RUNS_LISTED(2) " && grep -q '^[^,]*,.*,unreadable,.*" why ".*,s/runs/b$' s/runs.csv" STDERR_LINES(2) \
    " && grep -q '^posprobe: summarize: skipping s/runs/b: unreadable: .*" why "' ../stderr" ONE_SEED
#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
static void test_summarize_odd_trees(void **state) {
    (void)state;
    train_base();
    static const row rows[] = {
        {"a symlink to a run directory", SUM_RUN "ln -s a s/runs/b", 0, "summarize s", 0,
         RUNS_LISTED(1) STDERR_LINES(2) " && grep -qx 'posprobe: summarize: skipping s/runs/b: the same directory as "
         "s/runs/a' ../stderr" ONE_SEED},
        {"a symlink loop back to DIR and to DIR/runs", SUM_RUN "ln -s .. s/runs/up && ln -s ../runs s/runs/runs", 0,
         "summarize s", 0, RUNS_LISTED(1) STDERR_LINES(3) " && grep -q 'skipping s/runs/up: the same directory as s$' ../stderr"
         ONE_SEED},
        {"a symlink to itself", SUM_RUN "ln -s self s/runs/self", 0, "summarize s", 0,
         RUNS_LISTED(1) STDERR_LINES(2) " && grep -q 'skipping s/runs/self: Too many levels of symbolic links' ../stderr"},
        {"a run directory reached by two paths (DIR/runs/b and DIR/b)",
         SUM_RUN "cp -a ../base s/runs/b && sed -i s/^seed,1/seed,2/ s/runs/b/config.csv && ln -s runs/b s/b", 0,
         "summarize s", 0, RUNS_LISTED(2) STDERR_LINES(2) " && grep -q 'skipping s/runs/b: the same directory as s/b' ../stderr"},
        {"summary.csv is a directory", SUM_RUN "cp -a ../base s/runs/b && rm s/runs/b/summary.csv && mkdir s/runs/b/summary.csv",
         0, "summarize s", 0, UNREADABLE("summary.csv: not a regular file")},
        {"summary.csv is a FIFO", SUM_RUN "cp -a ../base s/runs/b && rm s/runs/b/summary.csv && mkfifo s/runs/b/summary.csv",
         0, "summarize s", 0, UNREADABLE("summary.csv: not a regular file")},
        {"summary.csv is a character device", SUM_RUN "cp -a ../base s/runs/b && rm s/runs/b/summary.csv && "
         "mknod s/runs/b/summary.csv c 1 5", NEEDS_MKNOD, "summarize s", 0, UNREADABLE("summary.csv: not a regular file")},
        {"a factor longer than its buffer", SUM_RUN "cp -a ../base s/runs/b && sed -i s/^encoding,.*/encoding," X64 "/ "
         "s/runs/b/config.csv", 0, "summarize s", 0, UNREADABLE("encoding is 64 bytes long, more than 63")},
        {"a run id longer than its buffer", SUM_RUN "cp -a ../base s/runs/b && sed -i s/^run-id,.*/run-id," X64 X64 X64 X64
         "/ s/runs/b/config.csv", 0, "summarize s", 0, UNREADABLE("run-id is 256 bytes long, more than 255")},
        {"a status longer than its buffer", SUM_RUN "cp -a ../base s/runs/b && sed -i 2s/,finished,/,finished" X64 ",/ "
         "s/runs/b/summary.csv", 0, "summarize s", 0, UNREADABLE("status is 72 bytes long, more than 31")},
        {"an eval_mode longer than its buffer", SUM_RUN "cp -a ../base s/runs/b && sed -i s/^seed,1/seed,2/ s/runs/b/config.csv && "
         "sed -i s/,parallel,/,parallelparallel,/ "
         "s/runs/b/eval.csv", 0, "summarize s", 0, UNREADABLE("eval_mode is 16 bytes long, more than 15")},
        {"a seed that is not an integer", SUM_RUN "cp -a ../base s/runs/b && sed -i s/^seed,1/seed,1x/ s/runs/b/config.csv",
         0, "summarize s", 0, UNREADABLE("seed .1x. is not an integer")},
    };
    run_rows(rows, sizeof rows / sizeof *rows, "sum", NULL, 0);
}

/* Long commands interrupted: each row starts a command in its directory,
 * sends sig once ready holds (a temporary file exists, a progress line was
 * written), and expects the exit status (KILLED_BY: death by that signal),
 * no temporary file left and what after says (an old output untouched). */
#define KILLED_BY(sig) (1000 + (sig))
typedef struct {
    const char *what, *make;
    int flags;
    const char *args, *ready;
    int sig, status;
    const char *after;
} kill_row;

#define DIAG "diagnose --all --seeds 50 --progress-every 0.1 "
#define PROGRESSED "grep -q '^posprobe diagnose: [0-9]*/52200 models, ' ../stderr"
#define DIAG_STOPPED " && tail -1 ../stderr | grep -q '^posprobe: diagnose: interrupted after [0-9]* of 1044 configurations'"
#define HAS_TMP "ls | grep -q '[.]tmp$'"
#define NO_TMP_LEFT "! ls -A | grep -q tmp"
#define POSITIONS "inspect --encoding rope --what positions --positions randomized --draws 100000 --len 128 --out out.csv"
static void test_interrupted_commands(void **state) {
    (void)state;
    static const kill_row rows[] = {
        {"diagnose --all, SIGTERM: progress shown, the old output kept", "echo old > d.csv", 0, DIAG "--out d.csv",
         PROGRESSED " && " HAS_TMP, SIGTERM, 130,
         NO_TMP_LEFT " && grep -qx old d.csv" DIAG_STOPPED " && grep -q 'd.csv not written' ../stderr"},
        {"diagnose --all, SIGINT: nothing written", "", 0, DIAG "--out d.csv", PROGRESSED, SIGINT, 130,
         "[ -z \"$(ls -A)\" ]" DIAG_STOPPED},
        {"diagnose --all onto a character device", "mknod d.csv c 1 3", NEEDS_MKNOD, DIAG "--out d.csv", PROGRESSED, SIGTERM,
         130, "test -c d.csv && [ \"$(stat -c %t,%T d.csv)\" = 1,3 ] && [ \"$(ls -A)\" = d.csv ]" DIAG_STOPPED},
        {"diagnose --all --quiet: no progress, still stops", "", 0, "diagnose --all --seeds 50 --quiet --out d.csv", HAS_TMP,
         SIGTERM, 130, "[ -z \"$(ls -A)\" ] && [ \"$(wc -l < ../stderr)\" = 1 ]" DIAG_STOPPED},
        {"inspect writing a large file, SIGTERM", "echo old > out.csv", 0, POSITIONS, HAS_TMP, SIGTERM, KILLED_BY(SIGTERM),
         NO_TMP_LEFT " && grep -qx old out.csv"},
        {"inspect writing a large file, SIGHUP", "", 0, POSITIONS, HAS_TMP, SIGHUP, KILLED_BY(SIGHUP), "[ -z \"$(ls -A)\" ]"},
        {"inspect writing a large file, SIGINT", "", 0, POSITIONS, HAS_TMP, SIGINT, KILLED_BY(SIGINT), "[ -z \"$(ls -A)\" ]"},
    };
    int devices = can_mknod();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const kill_row *r = &rows[i];
        if ((r->flags & NEEDS_MKNOD) && !devices) { print_message("skipped: %s (needs mknod)\n", r->what); continue; }
        char cwd[128];
        snprintf(cwd, sizeof cwd, "%s/kill%zu", test_tmpdir, i);
        if (mkdir(cwd, 0755) != 0 || sh(cwd, r->make) != 0) fail_msg("%s: cannot set up: %s", r->what, r->make);
        pid_t pid = start(cwd, r->args);
        double t0 = now();
        while (sh(cwd, r->ready) != 0 && now() - t0 < 20 && waitpid(pid, NULL, WNOHANG) == 0) nap();
        if (sh(cwd, r->ready) != 0) fail_msg("%s: not ready within 20 s (%s); stderr: %s", r->what, r->ready, last_stderr());
        kill(pid, r->sig);
        int st = wait_for(pid, 20, r->what);
        int got = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? KILLED_BY(WTERMSIG(st)) : -1;
        if (got != r->status) fail_msg("%s: status %d, expected %d; stderr: %s", r->what, got, r->status, last_stderr());
        if (sh(cwd, r->after) != 0) fail_msg("%s: afterwards, this does not hold: %s; stderr: %s", r->what, r->after, last_stderr());
    }
}

/* What the scripts write (scripts/suite.py's jobs.txt, slurm.sh and run
 * locks, timing.py's timing.csv) follows posprobe's rules: a device or FIFO
 * is written through, a symlink resolved and kept, a NAME.tmp never opened,
 * a lock never truncated; and no script or Makefile rule passes a device as
 * an output path (the rule that kept make reproduce from replacing
 * /dev/null). Each row runs cmd with $PY, $REPO and $BIN set, in its own
 * directory holding t.suite, a one-run tiny suite. */
typedef struct {
    const char *what, *make;
    int flags;
    const char *cmd;
    int status;
    const char *after;
} script_row;

#define EMIT "$PY $REPO/scripts/suite.py ../t.suite --posprobe $BIN --results res --emit "
#define SUITE_ID "$($PY $REPO/scripts/suite.py ../t.suite --posprobe $BIN --list)"
#define JOB_OK(f) "grep -q -- '--only probe-learned-s1-' " f
#define NO_TMP_IN(d) " && ! ls -A " d " | grep -q tmp"
static void test_script_outputs(void **state) {
    (void)state;
    static const script_row rows[] = {
        {"jobs.txt is a character device", "mkdir res && mknod res/jobs.txt c 1 3", NEEDS_MKNOD, EMIT "parallel", 0,
         "test -c res/jobs.txt && [ \"$(stat -c %t,%T res/jobs.txt)\" = 1,3 ]" NO_TMP_IN("res")},
        {"jobs.txt is a FIFO with a reader", "mkdir res && mkfifo res/jobs.txt && { timeout 20 cat res/jobs.txt > got & }", 0,
         EMIT "parallel", 0, "for i in $(seq 100); do grep -q -- --only got && break; sleep 0.05; done; test -p res/jobs.txt && "
         JOB_OK("got") NO_TMP_IN("res")},
        {"jobs.txt is a symlink to a file", "mkdir res && echo old > target && ln -s ../target res/jobs.txt", 0,
         EMIT "parallel", 0, "test -L res/jobs.txt && " JOB_OK("target") NO_TMP_IN("res") NO_TMP_IN(".")},
        {"jobs.txt is a symlink to a device", "mkdir res && mknod dev c 1 3 && ln -s ../dev res/jobs.txt", NEEDS_MKNOD,
         EMIT "parallel", 0, "test -L res/jobs.txt && test -c dev" NO_TMP_IN("res") NO_TMP_IN(".")},
        {"jobs.txt.tmp is a symlink: never followed", "mkdir res && echo v > victim && ln -s ../victim res/jobs.txt.tmp", 0,
         EMIT "parallel", 0, "grep -qx v victim && test -L res/jobs.txt.tmp && " JOB_OK("res/jobs.txt")},
        {"jobs.txt is a dangling symlink: refused", "mkdir res && ln -s ../missing res/jobs.txt", 0, EMIT "parallel", 1,
         "test -L res/jobs.txt && [ ! -e missing ]" NO_TMP_IN("res")},
        {"slurm.sh is a character device", "mkdir res && mknod res/slurm.sh c 1 3", NEEDS_MKNOD, EMIT "slurm", 0,
         "test -c res/slurm.sh && " JOB_OK("res/jobs.txt") NO_TMP_IN("res")},
        {"a run's lock is a symlink: refused, its target untouched",
         "mkdir -p res/runs && echo v > victim && ln -s ../../victim res/runs/" SUITE_ID ".lock", 0,
         "$PY $REPO/scripts/suite.py ../t.suite --posprobe $BIN --results res", 2,
         "grep -qx v victim && test -L res/runs/*.lock && [ \"$(ls res/runs)\" = \"$(ls res/runs | grep lock)\" ]"},
        {"a run's lock is a FIFO: refused", "mkdir -p res/runs && mkfifo res/runs/" SUITE_ID ".lock", 0,
         "$PY $REPO/scripts/suite.py ../t.suite --posprobe $BIN --results res", 2, "test -p res/runs/*.lock"},
        {"timing.csv is a character device", "mkdir res && printf 'stage,unix_s\\nstart,1\\nprobe,2\\n' > res/stages.csv && "
         "mknod res/timing.csv c 1 3", NEEDS_MKNOD, "$PY $REPO/scripts/timing.py res 2", 0,
         "test -c res/timing.csv && [ \"$(stat -c %t,%T res/timing.csv)\" = 1,3 ]" NO_TMP_IN("res")},
        {"timing.csv is a symlink to a file", "mkdir res && printf 'stage,unix_s\\nstart,1\\nprobe,2\\n' > res/stages.csv && "
         "echo old > t.csv && ln -s ../t.csv res/timing.csv", 0, "$PY $REPO/scripts/timing.py res 2", 0,
         "test -L res/timing.csv && grep -q '^probe,' t.csv" NO_TMP_IN("res")},
        {"timing.csv is a dangling symlink: refused", "mkdir res && printf 'stage,unix_s\nstart,1\nprobe,2\n' > "
         "res/stages.csv && ln -s ../t.csv res/timing.csv", 0, "$PY $REPO/scripts/timing.py res 2", 1,
         "test -L res/timing.csv && [ ! -e t.csv ]" NO_TMP_IN("res")},
        {"no script or Makefile rule passes a device as an output path", "", 0,
         "! grep -nE 'os\\.devnull|(--out|--dump-attention)[ =]+/dev/' $REPO/scripts/*.py $REPO/Makefile", 0, "true"},
    };
    char repo[512], suite[256], env[1200];
    if (!getcwd(repo, sizeof repo)) fail_msg("getcwd failed");
    snprintf(suite, sizeof suite, "%s/t.suite", test_tmpdir);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fputs("[suite]\nname = t\n[defaults]\nlen = 4\ndim = 8\nheads = 2\nlayers = 1\nsteps = 5\nbatch = 4\neval-size = 4\n"
          "[grid a]\ntask = probe\nencoding = learned\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(env, sizeof env, "PY=/usr/bin/python3 REPO='%s' BIN='%s'", repo, getenv("POSPROBE_BIN"));
    int devices = can_mknod();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const script_row *r = &rows[i];
        if ((r->flags & NEEDS_MKNOD) && !devices) { print_message("skipped: %s (needs mknod)\n", r->what); continue; }
        char cwd[128], make[2000], cmd[3000];
        snprintf(cwd, sizeof cwd, "%s/script%zu", test_tmpdir, i);
        snprintf(make, sizeof make, "export %s; %s", env, r->make);
        if (mkdir(cwd, 0755) != 0 || sh(cwd, make) != 0) fail_msg("%s: cannot set up: %s", r->what, r->make);
        snprintf(cmd, sizeof cmd, "export %s; %s 2> ../stderr", env, r->cmd);
        int st = sh(cwd, cmd);
        if (st != r->status) fail_msg("%s: exit %d, expected %d; stderr: %s", r->what, st, r->status, last_stderr());
        if (st && sh(cwd, "tail -1 ../stderr | grep -q '^posprobe: error: '") != 0)   /* the runner's progress may precede it */
            fail_msg("%s: stderr does not end with one error line: %s", r->what, last_stderr());
        if (sh(cwd, r->after) != 0) fail_msg("%s: afterwards, this does not hold: %s", r->what, r->after);
    }
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test_setup_teardown(test_output_targets, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_directories, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_writer_per_run, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_inputs_not_files, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_summarize_odd_trees, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_interrupted_commands, test_tmpdir_setup, teardown),
    cmocka_unit_test_setup_teardown(test_script_outputs, test_tmpdir_setup, teardown),
};
const test_group test_group_integrity = {"integrity", TESTS, sizeof TESTS / sizeof *TESTS};
