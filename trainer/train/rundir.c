/* Run directories: see rundir.h. */
#include "errors.h"
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvio.h"

/* What a run directory holds: these files and their temporary files. */
static const char *const RUN_FILES[] = {"config.csv", "train.csv", "eval.csv", "linear_attention.csv", "summary.csv",
                                        "checkpoint.bin", NULL};

/* Is entry a run file NAME, or its temporary NAME.XXXXXX.tmp (NAME.tmp from
 * older versions)? */
static int is_run_file(const char *entry) {
    for (int i = 0; RUN_FILES[i]; i++) {
        size_t n = strlen(RUN_FILES[i]);
        if (strncmp(entry, RUN_FILES[i], n) != 0) continue;
        const char *rest = entry + n;
        if (!*rest || strcmp(rest, ".tmp") == 0) return 1;
        if (strlen(rest) == 11 && rest[0] == '.' && strcmp(rest + 7, ".tmp") == 0) return 1;
    }
    return 0;
}

int rundir_has_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) found = is_run_file(e->d_name) && strstr(e->d_name, ".tmp");
    closedir(d);
    return found;
}

/* Lists dir: has_config, and foreign = the first entry that is not a regular
 * run file (empty when there is none). With clear, removes the run files. */
static int scan_dir(const char *dir, int clear, int *has_config, char *foreign, size_t flen, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) return errorf(err, errlen, "%s: cannot read: %s", dir, strerror(errno));
    *has_config = 0;
    foreign[0] = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) && !rc) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1400];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!is_run_file(e->d_name) || lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (!foreign[0]) snprintf(foreign, flen, "%s", e->d_name);
            continue;
        }
        if (strcmp(e->d_name, "config.csv") == 0) *has_config = 1;
        if (clear && unlink(p) != 0) rc = errorf(err, errlen, "%s: cannot remove: %s", p, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* Does DIR/config.csv describe another experiment than c? what says how. */
static int config_differs(const char *path, const run_config *c, char *what, size_t len) {
    csv_table t;
    char msg[512];
    if (csv_read(path, &t, msg, sizeof msg)) {
        snprintf(what, len, "its config.csv is unreadable: %.200s", msg);
        return 1;
    }
    run_config d;
    config_defaults(&d);
    const char *name;
    char mine[4096], def[4096];
    int differs = 0;
    for (int i = 0; !differs && config_option(c, i, &name, mine, sizeof mine); i++) {
        if (config_option_is_output(i)) continue;
        const char *theirs = NULL;
        for (int r = 0; r < t.n_rows && t.n_cols >= 2 && !theirs; r++)
            if (strcmp(t.rows[r][0], name) == 0) theirs = t.rows[r][1];
        if (!theirs) { /* an option the version that wrote it did not have: it ran at the default */
            config_option(&d, i, &name, def, sizeof def);
            theirs = def;
        }
        if (strcmp(theirs, mine) != 0) {
            snprintf(what, len, "--%s is %.40s there, %.40s here", name, theirs, mine);
            differs = 1;
        }
    }
    csv_table_free(&t);
    return differs;
}

/* The status in DIR/summary.csv, "" when there is none. */
static void run_status(const char *path, char *status, size_t len) {
    csv_table t;
    char msg[512];
    status[0] = 0;
    if (csv_read(path, &t, msg, sizeof msg)) return;
    const char *s = csv_get(&t, 0, "status");
    if (s) snprintf(status, len, "%s", s);
    csv_table_free(&t);
}

static int same_inode(const struct stat *a, const char *path) {
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* May a run of c be written into dir? 0 when dir is absent or ours to
 * (re)write; with clear, its run files are removed then. */
static err_kind judge(const char *dir, const run_config *c, int clear, char *err, size_t errlen) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && lstat(dir, &st) == 0)
            return errorf_kind(err, errlen, ERR_USAGE, "--out %s is a symlink to nothing; not followed", dir);
        if (errno == ENOENT) return ERR_NONE;
        if (errno == ENOTDIR) return errorf_kind(err, errlen, ERR_USAGE, "--out %s: a component of the path is not a directory", dir);
        return errorf_kind(err, errlen, ERR_IO, "%s: cannot use as a run directory: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) return errorf_kind(err, errlen, ERR_USAGE, "--out %s exists and is not a directory", dir);
    if (same_inode(&st, "/") || same_inode(&st, "."))
        return errorf_kind(err, errlen, ERR_USAGE, "--out %s is the %s directory; a run needs a directory of its own", dir,
                      same_inode(&st, "/") ? "root" : "current");
    char foreign[256], path[1200], what[300], status[32];
    int has_config;
    if (scan_dir(dir, 0, &has_config, foreign, sizeof foreign, err, errlen)) return ERR_IO;
    if (foreign[0])
        return errorf_kind(err, errlen, ERR_USAGE,
                      "--out %s holds '%s', which is not a posprobe run file; not touched (choose another --out)",
                      dir, foreign);
    /* without config.csv (empty, or killed before it was written) there is nothing to keep */
    if (has_config && !c->force) {
        snprintf(path, sizeof path, "%s/config.csv", dir);
        if (config_differs(path, c, what, sizeof what))
            return errorf_kind(err, errlen, ERR_USAGE, "--out %s holds a run of another configuration (%s); not touched "
                          "(choose another --out, or --force to replace it)", dir, what);
        snprintf(path, sizeof path, "%s/summary.csv", dir);
        run_status(path, status, sizeof status);
        if (strcmp(status, "finished") == 0 || strcmp(status, "diverged") == 0)
            return errorf_kind(err, errlen, ERR_USAGE, "--out %s holds a %s run of this configuration; not touched "
                          "(--force trains it again)", dir, status);
    }
    return clear && scan_dir(dir, 1, &has_config, foreign, sizeof foreign, err, errlen) ? ERR_IO : ERR_NONE;
}

/* c->out without trailing slashes ("/" stays "/"). */
static err_kind out_dir(const run_config *c, char *dir, size_t len, char *err, size_t errlen) {
    if (!c->out[0]) return errorf_kind(err, errlen, ERR_USAGE, "--out DIR is required");
    size_t n = strlen(c->out);
    while (n > 1 && c->out[n - 1] == '/') n--;
    if (n + 6 > len) return errorf_kind(err, errlen, ERR_USAGE, "--out: path too long");
    snprintf(dir, len, "%.*s", (int)n, c->out);
    return ERR_NONE;
}

err_kind rundir_check(const run_config *c, char *err, size_t errlen) {
    char dir[1024];
    err_kind k = out_dir(c, dir, sizeof dir, err, errlen);
    return k ? k : judge(dir, c, 0, err, errlen);
}

/* A descriptor we inherited on the same lock file that holds the lock (the
 * suite runner locks DIR.lock and passes it to the training it starts), or -1. */
static int inherited_lock(const struct stat *lock) {
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_dev == lock->st_dev && st.st_ino == lock->st_ino &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
    }
    return -1;
}

/* Takes dir.lock without waiting; the descriptor, or -1 with a message and *kind. */
static int take_lock(const char *dir, err_kind *kind, char *err, size_t errlen) {
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s.lock", dir);
    /* no O_TRUNC, never followed through a symlink, never a FIFO or device (-2); open for
     * writing, never written: NFS emulates flock with a write lock on the server, which needs
     * a descriptor open for writing (flock(2), "NFS details") */
    int fd = lstat(path, &st) == 0 && !S_ISREG(st.st_mode)
                 ? -2 : open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    *kind = ERR_IO;
    if (fd == -1) return errorf(err, errlen, "%s: cannot create the run's lock: %s", path, strerror(errno));
    if (fd == -2 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        *kind = ERR_USAGE;
        return errorf(err, errlen, "--out %s: %s is not a regular file; it cannot be the run's lock", dir, path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
    int e = errno, held = e == EWOULDBLOCK ? inherited_lock(&st) : -1;
    close(fd);
    if (held >= 0) return held;
    if (e == EWOULDBLOCK) {
        *kind = ERR_USAGE;
        return errorf(err, errlen, "--out %s: another posprobe is training into it (%s is locked); not touched", dir, path);
    }
    return errorf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
}

err_kind rundir_claim(const run_config *c, int *lock_fd, char *err, size_t errlen) {
    char dir[1024], parent[1024], msg[1200];
    err_kind k = out_dir(c, dir, sizeof dir, err, errlen);
    if (!k) k = judge(dir, c, 0, err, errlen);
    if (k) return k;
    const char *slash = strrchr(dir, '/');
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash == dir ? 1 : slash - dir) : 0, dir);
    if (parent[0] && make_dirs(parent, msg, sizeof msg))
        return errorf_kind(err, errlen, errno == ENOTDIR ? ERR_USAGE : ERR_IO, "%s", msg);
    int fd = take_lock(dir, &k, err, errlen);
    if (fd < 0) return k;
    if (mkdir(dir, 0755) != 0) {
        /* it exists: judged again now that no other posprobe can change it, and emptied of run files */
        if (errno != EEXIST) {
            errorf_kind(err, errlen, ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
            close(fd);
            return ERR_IO;
        }
        if ((k = judge(dir, c, 1, err, errlen))) { close(fd); return k; }
    }
    *lock_fd = fd;
    return ERR_NONE;
}

void rundir_release(int lock_fd) {
    if (lock_fd >= 0) close(lock_fd);
}
