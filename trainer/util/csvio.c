/* CSV reading and writing through libcsv, and atomic file writes. */
#include "errors.h"
#include "csvio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>

/* ---- where an output goes
 *
 * A new or regular file is written to a fresh temporary file beside it
 * (mkstemps, O_EXCL: nothing already there is opened) and renamed over it.
 * Anything else that exists (a character or block device, a FIFO, a terminal)
 * is written through, opened without O_CREAT or O_TRUNC, and never renamed
 * over or removed: as root, a rename over /dev/null replaces the device node.
 * A symlink is resolved and these rules apply to its target, so the link stays
 * a link; a symlink that cannot be resolved to a path (dangling) is refused,
 * and a directory is an error. */

/* ---- temporary files, exits and signals
 *
 * While a temporary file exists its name is registered here. An exit on an
 * error (out of memory, memory.h; a usage error) removes them through an
 * atexit handler. A command that
 * does not handle SIGINT, SIGTERM and SIGHUP itself (train and diagnose stop
 * cleanly at the next step instead) gets, with its first temporary file, a
 * handler that removes every registered name and then dies of the signal as
 * it would have: killed, no command leaves a NAME.XXXXXX.tmp behind (kill -9
 * aside, which nothing can catch). */
#define MAX_TEMPS 16
static char temp_names[MAX_TEMPS][1120];
static volatile sig_atomic_t temp_used[MAX_TEMPS];

static void remove_temps_and_die(int sig) {
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i]) unlink(temp_names[i]);   /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);   /* delivered with the default action once this handler returns */
}

static void remove_temps(void) {
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i]) unlink(temp_names[i]);
}

static void temp_register(const char *name) {
    static int installed;
    if (!installed) {
        atexit(remove_temps);
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        installed = 1;
        for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++) {
            struct sigaction old, sa;
            if (sigaction(sigs[k], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;   /* handled or ignored */
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = remove_temps_and_die;
            sigfillset(&sa.sa_mask);   /* one handler at a time */
            sigaction(sigs[k], &sa, NULL);
        }
    }
    for (int i = 0; i < MAX_TEMPS; i++)
        if (!temp_used[i] && strlen(name) < sizeof temp_names[i]) {
            snprintf(temp_names[i], sizeof temp_names[i], "%s", name);
            temp_used[i] = 1;   /* after the name is complete: the handler reads only finished names */
            return;
        }
}

/* After the temporary file was renamed or removed. */
static void temp_forget(const char *name) {
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i] && strcmp(temp_names[i], name) == 0) { temp_used[i] = 0; return; }
}

static mode_t file_mode(void) {
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Opens the output for path: returns a descriptor to write and sets dst (the
 * file to replace or write through), tmp (the temporary name, "" when
 * written through) and *through; -1 with a message. */
static int output_open(const char *path, char *dst, size_t dstlen, char *tmp, size_t tmplen, int *through, char *err,
                       size_t errlen) {
    struct stat st;
    char real[PATH_MAX];
    const char *target = path;
    *through = 0;
    tmp[0] = 0;
    int exists = lstat(path, &st) == 0;
    if (!exists && errno != ENOENT) return errorf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    if (exists && S_ISLNK(st.st_mode)) {
        if (realpath(path, real)) {
            target = real;
            if (lstat(real, &st) != 0) return errorf(err, errlen, "%s: cannot write: %s", real, strerror(errno));
        } else if (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
            return errorf(err, errlen, "%s: a symlink to no file that can be resolved; not written", path);
        } /* else a link with no path behind it, e.g. /dev/stdout on a pipe: written through */
    }
    if (strlen(target) >= dstlen) return errorf(err, errlen, "%s: path too long", target);
    snprintf(dst, dstlen, "%s", target);
    if (exists && S_ISDIR(st.st_mode)) return errorf(err, errlen, "%s: is a directory", target);
    if (exists && !S_ISREG(st.st_mode)) {
        int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) return errorf(err, errlen, "%s: cannot write: %s", target, strerror(errno));
        if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
            close(fd);   /* replaced by a file meanwhile: neither written through nor truncated */
            return errorf(err, errlen, "%s: changed while being opened; not written", target);
        }
        *through = 1;
        return fd;
    }
    if ((size_t)snprintf(tmp, tmplen, "%s.XXXXXX.tmp", target) >= tmplen) return errorf(err, errlen, "%s: path too long", target);
    sigset_t stop, old;   /* no signal between creating the file and registering its name */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);
    int fd = mkstemps(tmp, 4), e = errno;
    if (fd >= 0) temp_register(tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        tmp[0] = 0;
        return errorf(err, errlen, "%s: cannot write: %s", target, strerror(e));
    }
    (void)fchmod(fd, file_mode());   /* mkstemps makes 0600; outputs keep the umask's mode as before */
    return fd;
}

/* Ends an output whose descriptor is closed: e != 0 (the errno of a failed
 * write) removes the temporary file, else it is renamed over dst. */
static int output_place(const char *dst, const char *tmp, int through, int e, char *err, size_t errlen) {
    if (e) {
        if (!through) { unlink(tmp); temp_forget(tmp); }
        return errorf(err, errlen, "%s: write failed: %s", dst, strerror(e));
    }
    if (!through && rename(tmp, dst) != 0) {
        e = errno;
        unlink(tmp);
        temp_forget(tmp);
        return errorf(err, errlen, "%s: cannot rename into place: %s", dst, strerror(e));
    }
    if (!through) temp_forget(tmp);
    return 0;
}

int csv_out_open(csv_out *w, const char *path, char *err, size_t errlen) {
    memset(w, 0, sizeof *w);
    int fd = output_open(path, w->path, sizeof w->path, w->tmp, sizeof w->tmp, &w->through, err, errlen);
    if (fd < 0) return -1;
    w->f = fdopen(fd, "w");
    if (!w->f) {
        int e = errno;
        close(fd);
        return output_place(w->path, w->tmp, w->through, e, err, errlen);
    }
    return 0;
}

static void note_error(csv_out *w) {
    if (!w->failed) { w->failed = 1; w->saved_errno = errno; }
}

/* Quotes only when needed (libcsv's csv_fwrite quotes and escapes). */
void csv_out_str(csv_out *w, const char *s) {
    if (!w->f) return;
    if (w->fields_in_row++ && fputc(',', w->f) == EOF) note_error(w);
    if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
        if (csv_fwrite(w->f, s, strlen(s)) != 0) note_error(w);
    } else if (fputs(s, w->f) == EOF) {
        note_error(w);
    }
}

void csv_out_int(csv_out *w, long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    csv_out_str(w, buf);
}

/* Non-finite values are spelled nan, inf, -inf on every platform. */
static int special(char *buf, size_t len, double v) {
    if (isnan(v)) snprintf(buf, len, "nan");
    else if (isinf(v)) snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else return 0;
    return 1;
}

void csv_out_real(csv_out *w, double v) {
    char buf[40];
    if (!special(buf, sizeof buf, v)) snprintf(buf, sizeof buf, "%.17g", v);
    csv_out_str(w, buf);
}

void real_format_shortest(double v, char *buf, size_t len) {
    if (special(buf, len, v)) return;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
}

void csv_out_real_shortest(csv_out *w, double v) {
    char buf[40];
    real_format_shortest(v, buf, sizeof buf);
    csv_out_str(w, buf);
}

void csv_out_float(csv_out *w, float v) {
    char buf[40];
    if (!special(buf, sizeof buf, v)) snprintf(buf, sizeof buf, "%.9g", (double)v);
    csv_out_str(w, buf);
}

/* A row that does not fit the header is a bug in posprobe, not bad input. */
static _Noreturn void row_mismatch(const csv_out *w, const char *what) {
    fprintf(stderr, "posprobe: internal error: %s: %s (row cell %d of %d)\n", w->path, what, w->fields_in_row, w->n_cols);
    abort();
}

void csv_out_end_row(csv_out *w) {
    if (!w->f) return;
    if (w->header && w->fields_in_row != w->n_cols) row_mismatch(w, "a row whose width is not the header's");
    if (fputc('\n', w->f) == EOF) note_error(w);
    w->fields_in_row = 0;
}

void csv_out_header(csv_out *w, const char *const *names) {
    w->header = NULL;
    int n = 0;
    for (; names[n]; n++) csv_out_str(w, names[n]);
    csv_out_end_row(w);
    w->header = names;
    w->n_cols = n;
}

void csv_out_skip_to(csv_out *w, const char *name) {
    if (!w->f) return;
    int at = w->fields_in_row;
    while (at < w->n_cols && strcmp(w->header[at], name) != 0) at++;
    if (!w->header || at == w->n_cols) row_mismatch(w, "no such column after this cell");
    while (w->fields_in_row < at) csv_out_str(w, "");
}

void csv_out_flush(csv_out *w) {
    if (w->f && fflush(w->f) != 0) note_error(w);
}

int csv_out_commit(csv_out *w, char *err, size_t errlen) {
    if (!w->f) return errorf(err, errlen, "%s: not open", w->path);
    if (fflush(w->f) != 0) note_error(w);
    if (!w->through && fsync(fileno(w->f)) != 0 && errno != EINVAL) note_error(w);
    if (fclose(w->f) != 0) note_error(w);
    w->f = NULL;
    return output_place(w->path, w->tmp, w->through, w->failed ? w->saved_errno : 0, err, errlen);
}

int csv_out_open_or_stdout(csv_out *w, const char *path, char *err, size_t errlen) {
    if (path && strcmp(path, "-") != 0) return csv_out_open(w, path, err, errlen);
    memset(w, 0, sizeof *w);
    w->f = stdout;
    w->to_stdout = 1;
    return 0;
}

int csv_out_finish(csv_out *w, int rc, char *err, size_t errlen) {
    if (!w->to_stdout) {
        if (rc) csv_out_abort(w);
        return rc ? rc : csv_out_commit(w, err, errlen);
    }
    if (fflush(stdout) != 0) note_error(w);
    if (!rc && w->failed) rc = errorf(err, errlen, "stdout: write failed: %s", strerror(w->saved_errno));
    return rc;
}

void csv_out_abort(csv_out *w) {
    if (w->f) fclose(w->f);
    w->f = NULL;
    if (!w->through && w->tmp[0]) {   /* a device or FIFO written through is never removed */
        unlink(w->tmp);
        temp_forget(w->tmp);
    }
}

/* ---- reading */

typedef struct {
    csv_table *t;
    char **row;         /* fields of the row being parsed */
    int n, cap;
    int line;
    int error;
    char msg[256];
} reader;

static void out_of_memory(reader *r) {
    snprintf(r->msg, sizeof r->msg, "line %d: out of memory", r->line + 1);
    r->error = 1;
}

static void on_field(void *s, size_t len, void *data) {
    reader *r = data;
    if (r->error) return;
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        char **row = realloc(r->row, (size_t)cap * sizeof *row);
        if (!row) { out_of_memory(r); return; }
        r->row = row;
        r->cap = cap;
    }
    char *f = malloc(len + 1);
    if (!f) { out_of_memory(r); return; }
    memcpy(f, s, len);
    f[len] = 0;
    if (strlen(f) != len) { /* an embedded NUL byte */
        snprintf(r->msg, sizeof r->msg, "line %d: a field contains a NUL byte", r->line + 1);
        r->error = 1;
    }
    r->row[r->n++] = f;
}

static void free_fields(char **f, int n) {
    for (int i = 0; i < n; i++) free(f[i]);
}

static void on_row(int c, void *data) {
    (void)c;
    reader *r = data;
    r->line++;
    if (r->error) { free_fields(r->row, r->n); r->n = 0; return; }
    csv_table *t = r->t;
    char **copy = NULL;
    if (t->header && r->n != t->n_cols) {
        snprintf(r->msg, sizeof r->msg, "line %d: %d fields, the header has %d", r->line, r->n, t->n_cols);
        r->error = 1;
    } else if (!(copy = malloc((size_t)(r->n ? r->n : 1) * sizeof(char *)))) {
        out_of_memory(r);
    } else if (!t->header) {
        t->n_cols = r->n;
        t->header = copy;
    } else {
        char ***rows = realloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
        if (!rows) { free(copy); copy = NULL; out_of_memory(r); }
        else { t->rows = rows; t->rows[t->n_rows++] = copy; }
    }
    if (copy) memcpy(copy, r->row, (size_t)r->n * sizeof(char *));
    else free_fields(r->row, r->n);
    r->n = 0;
}

int csv_read(const char *path, csv_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    /* a FIFO or device (a run's eval.csv made /dev/zero) is refused, not read forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return errorf(err, errlen, "%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); }
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_APPEND_NULL);
    reader r;
    memset(&r, 0, sizeof r);
    r.t = t;
    char buf[65536];
    size_t got;
    int rc = 0;
    while (!r.error && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (csv_parse(&p, buf, got, on_field, on_row, &r) != got) {
            snprintf(r.msg, sizeof r.msg, "line %d: %s", r.line + 1, csv_strerror(csv_error(&p)));
            r.error = 1;
        }
    }
    if (!r.error && ferror(f)) { snprintf(r.msg, sizeof r.msg, "read error"); r.error = 1; }
    if (!r.error && csv_fini(&p, on_field, on_row, &r) != 0) {
        snprintf(r.msg, sizeof r.msg, "line %d: %s", r.line + 1, csv_strerror(csv_error(&p)));
        r.error = 1;
    }
    if (!r.error && !t->header) { snprintf(r.msg, sizeof r.msg, "empty file (no header)"); r.error = 1; }
    free_fields(r.row, r.n);
    free(r.row);
    csv_free(&p);
    fclose(f);
    if (r.error) {
        csv_table_free(t);
        rc = errorf(err, errlen, "%s:%s", path, r.msg);
    }
    return rc;
}

int csv_col(const csv_table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (strcmp(t->header[c], name) == 0) return c;
    return -1;
}

const char *csv_get(const csv_table *t, int row, const char *name) {
    int c = csv_col(t, name);
    return c < 0 || row < 0 || row >= t->n_rows ? NULL : t->rows[row][c];
}

void csv_table_free(csv_table *t) {
    if (t->header) free_fields(t->header, t->n_cols);
    free(t->header);
    for (int r = 0; r < t->n_rows; r++) {
        free_fields(t->rows[r], t->n_cols);
        free(t->rows[r]);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    char dst[1100], tmp[1120];
    int through;
    int fd = output_open(path, dst, sizeof dst, tmp, sizeof tmp, &through, err, errlen);
    if (fd < 0) return -1;
    const char *p = data;
    size_t left = len;
    int e = 0;
    while (left && !e) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno != EINTR) e = errno;
        if (k > 0) { p += k; left -= (size_t)k; }
    }
    if (!e && !through && fsync(fd) != 0 && errno != EINVAL) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    return output_place(dst, tmp, through, e, err, errlen);
}

int make_dirs(const char *path, char *err, size_t errlen) {
    char buf[1100];
    if (strlen(path) >= sizeof buf) return errorf(err, errlen, "%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                errorf(err, errlen, "%s: cannot create: %s", buf, strerror(e));
                errno = e;
                return -1;
            }
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errorf(err, errlen, "%s: not a directory", buf);
                errno = ENOTDIR;   /* callers tell a bad path (usage) from an I/O error by errno */
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}
