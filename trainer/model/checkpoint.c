/* Checkpoints: see checkpoint.h for the format. */
#include "errors.h"
#include "checkpoint.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvio.h"
#include "memory.h"

#define CK_MAGIC "POSPRBCK"
#define CK_VERSION 1u

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t len) {
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2 + 1024;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, len);
    b->n += len;
}
static void put_u16(buf *b, uint16_t v) { put(b, &v, 2); }
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }

static void config_text(const run_config *c, buf *b) {
    const char *name;
    char value[4096];
    for (int i = 0; config_option(c, i, &name, value, sizeof value); i++) {
        put(b, name, strlen(name));
        put(b, "=", 1);
        put(b, value, strlen(value));
        put(b, "\n", 1);
    }
}

int checkpoint_save(const model *m, int max_n, int steps_done, const char *path, char *err, size_t errlen) {
    buf b = {0};
    put(&b, CK_MAGIC, 8);
    put_u32(&b, CK_VERSION);
    put_u32(&b, (uint32_t)sizeof(real));
    put_u32(&b, (uint32_t)max_n);
    put_u32(&b, (uint32_t)steps_done);
    buf cfg = {0};
    config_text(&m->cfg, &cfg);
    put_u32(&b, (uint32_t)cfg.n);
    put(&b, cfg.p, cfg.n);
    free(cfg.p);
    put_u32(&b, (uint32_t)m->ps.n_entries);
    for (int i = 0; i < m->ps.n_entries; i++) {
        const param_entry *e = &m->ps.entries[i];
        put_u16(&b, (uint16_t)strlen(e->name));
        put(&b, e->name, strlen(e->name));
        unsigned char nd = (unsigned char)e->t->ndim;
        put(&b, &nd, 1);
        for (int d = 0; d < e->t->ndim; d++) put_u32(&b, (uint32_t)e->t->shape[d]);
    }
    put_u64(&b, (uint64_t)m->ps.n);
    put(&b, m->ps.data, m->ps.n * sizeof(real));
    put_u64(&b, fnv1a64(b.p, b.n));
    int rc = file_write_atomic(path, b.p, b.n, err, errlen);
    free(b.p);
    return rc;
}

typedef struct {
    const unsigned char *p;
    size_t n, at;
} reader;

static int get(reader *r, void *dst, size_t len) {
    if (r->at + len > r->n) return -1;
    memcpy(dst, r->p + r->at, len);
    r->at += len;
    return 0;
}

/* Header, config and parameter table come first, within this many bytes;
 * they are read before the rest so that the file's size can be checked
 * against the size they declare. */
#define CK_PREFIX (1u << 20)

static int skip(reader *r, size_t len) {
    if (len > r->n - r->at) return -1;
    r->at += len;
    return 0;
}

/* The size a checkpoint must have by what its prefix declares (version,
 * config length, parameter table, parameter count), or 0 when the prefix is
 * malformed or the shapes do not add up to the count. */
static uint64_t declared_size(const unsigned char *p, size_t n) {
    reader r = {p, n, 0};
    uint32_t version, rbytes, cfg_len, n_entries;
    uint64_t n_params, sum = 0;
    if (skip(&r, 8) || get(&r, &version, 4) || version != CK_VERSION || get(&r, &rbytes, 4) ||
        (rbytes != 4 && rbytes != 8) || skip(&r, 8) || get(&r, &cfg_len, 4) || skip(&r, cfg_len) ||
        get(&r, &n_entries, 4))
        return 0;
    for (uint32_t i = 0; i < n_entries; i++) {
        uint16_t len;
        unsigned char nd;
        uint64_t count = 1;
        if (get(&r, &len, 2) || skip(&r, len) || get(&r, &nd, 1) || nd > 4) return 0;
        for (int d = 0; d < nd; d++) {
            uint32_t dim;
            if (get(&r, &dim, 4) || (dim && count > UINT64_MAX / dim)) return 0;
            count *= dim;
        }
        if (count > UINT64_MAX - sum) return 0;
        sum += count;
    }
    if (get(&r, &n_params, 8) || n_params != sum || n_params > (UINT64_MAX - r.at - 8) / rbytes) return 0;
    return r.at + n_params * rbytes + 8;
}

static int read_at(int fd, unsigned char *dst, size_t len, off_t at) {
    while (len) {
        ssize_t k = pread(fd, dst, len, at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;   /* an error, or the file shrank */
        dst += k;
        len -= (size_t)k;
        at += k;
    }
    return 0;
}

/* The whole checkpoint in memory (*data, *n), read only after its kind and
 * size are checked: a FIFO or device is refused, not read; a file is read up
 * to its size and no further, and only when its header declares that size. */
static int read_checkpoint(const char *path, unsigned char **data, size_t *n, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* O_NONBLOCK: a FIFO is not waited on */
    if (fd < 0) return errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = -1;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        errorf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        errorf(err, errlen, "%s: not a regular file (a %s); a checkpoint is a file written by posprobe", path,
               S_ISFIFO(st.st_mode) ? "FIFO" : S_ISCHR(st.st_mode) ? "character device"
               : S_ISBLK(st.st_mode) ? "block device" : S_ISDIR(st.st_mode) ? "directory" : "socket");
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size, head = size < CK_PREFIX ? size : CK_PREFIX, want;
    buf = malloc(head ? head : 1);
    if (!buf || read_at(fd, buf, head, 0)) {
        errorf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        goto done;
    }
    if (head < 16 || memcmp(buf, CK_MAGIC, 8) != 0) {
        errorf(err, errlen, "%s: not a posprobe checkpoint (bad magic)", path);
        goto done;
    }
    uint32_t version;
    memcpy(&version, buf + 8, 4);
    if (version != CK_VERSION) {
        errorf(err, errlen, "%s: checkpoint format version %u, this build reads %u", path, version, CK_VERSION);
        goto done;
    }
    want = declared_size(buf, head);
    if (want != size) {
        if (want) errorf(err, errlen, "%s: %llu bytes where its header declares %llu: truncated or corrupt", path,
                         (unsigned long long)size, (unsigned long long)want);
        else errorf(err, errlen, "%s: malformed header or parameter table", path);
        goto done;
    }
    if (size > SIZE_MAX) {
        errorf(err, errlen, "%s: %llu bytes, more than this machine can address", path, (unsigned long long)size);
        goto done;
    }
    unsigned char *all = realloc(buf, (size_t)size);
    if (!all) {
        errorf(err, errlen, "%s: out of memory for %llu bytes", path, (unsigned long long)size);
        goto done;
    }
    buf = all;
    if (read_at(fd, buf + head, (size_t)(size - head), (off_t)head)) {
        errorf(err, errlen, "%s: read error (the file changed while being read?)", path);
        goto done;
    }
    *data = buf;
    *n = (size_t)size;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    close(fd);
    return rc;
}

/* The stored config (cfg_len bytes of key=value lines) over defaults; options
 * added later take, when a checkpoint predates them and stores no line, the
 * value that reproduces what it was trained with. */
static int read_stored_config(reader *r, uint32_t cfg_len, run_config *cfg, const char *path, char *err, size_t errlen) {
    config_defaults(cfg);
    cfg->eos = 0;         /* decoders were told the answer length */
    cfg->sin_scale = 1;   /* the sinusoidal table was unscaled */
    cfg->rec_scale = 1;   /* so were the recursive states */
    char *text = xmalloc((size_t)cfg_len + 1);
    get(r, text, cfg_len);
    text[cfg_len] = 0;
    int rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        char msg[512];
        if (!eq) { rc = errorf(err, errlen, "%s: malformed config line", path); break; }
        *eq = 0;
        if (config_set(cfg, line, eq + 1, msg, sizeof msg) && eq[1]) rc = errorf(err, errlen, "%s: stored config: %s", path, msg);
    }
    free(text);
    return rc;
}

/* The parameter table (names and shapes, which must be the model's) and the
 * values, in the stored precision, into m; n is the file's size. */
static int read_parameters(reader *r, model *m, uint32_t rbytes, size_t n, const char *path, char *err, size_t errlen) {
    uint32_t n_entries = 0;
    uint64_t n_params = 0;
    if (get(r, &n_entries, 4) || (int)n_entries != m->ps.n_entries)
        return errorf(err, errlen, "%s: %u parameter tensors, the model has %d", path, n_entries, m->ps.n_entries);
    for (int i = 0; i < (int)n_entries; i++) {
        const param_entry *e = &m->ps.entries[i];
        uint16_t len;
        char name[256];
        unsigned char nd;
        if (get(r, &len, 2) || len >= sizeof name || get(r, name, len))
            return errorf(err, errlen, "%s: malformed parameter table", path);
        name[len] = 0;
        if (strcmp(name, e->name) != 0 || get(r, &nd, 1) || nd != e->t->ndim)
            return errorf(err, errlen, "%s: parameter %d is '%s', the model expects '%s'", path, i, name, e->name);
        for (int d = 0; d < nd; d++) {
            uint32_t sz;
            if (get(r, &sz, 4) || (int)sz != e->t->shape[d])
                return errorf(err, errlen, "%s: parameter '%s' has another shape than the model's", path, name);
        }
    }
    if (get(r, &n_params, 8) || n_params != m->ps.n || r->at + n_params * rbytes + 8 != n)
        return errorf(err, errlen, "%s: %llu parameters stored, the model has %zu", path, (unsigned long long)n_params, m->ps.n);
    for (size_t i = 0; i < m->ps.n; i++) {
        if (rbytes == 4) { float v; get(r, &v, 4); m->ps.data[i] = (real)v; }
        else { double v; get(r, &v, 8); m->ps.data[i] = (real)v; }
    }
    return 0;
}

int checkpoint_load(const char *path, checkpoint_info *info, model *m, char *err, size_t errlen) {
    unsigned char *data = NULL;
    size_t n = 0;
    if (read_checkpoint(path, &data, &n, err, errlen)) return -1;
    int rc = -1;
    reader r = {data, n, 0};
    char magic[8];
    uint32_t version = 0, rbytes = 0, max_n = 0, steps = 0, cfg_len = 0;
    uint64_t stored_sum = 0;
    if (n < 8 + 8 || get(&r, magic, 8) || memcmp(magic, CK_MAGIC, 8) != 0) {
        errorf(err, errlen, "%s: not a posprobe checkpoint (bad magic)", path);
        goto done;
    }
    memcpy(&stored_sum, data + n - 8, 8);
    if (fnv1a64(data, n - 8) != stored_sum) {
        errorf(err, errlen, "%s: checksum mismatch: the file is truncated or corrupt", path);
        goto done;
    }
    if (get(&r, &version, 4) || version != CK_VERSION) {
        errorf(err, errlen, "%s: checkpoint format version %u, this build reads %u", path, version, CK_VERSION);
        goto done;
    }
    if (get(&r, &rbytes, 4) || (rbytes != 4 && rbytes != 8) || get(&r, &max_n, 4) || get(&r, &steps, 4) ||
        get(&r, &cfg_len, 4) || r.at + cfg_len > n) {
        errorf(err, errlen, "%s: malformed header", path);
        goto done;
    }
    info->max_n = (int)max_n;
    info->steps_done = (int)steps;
    if (read_stored_config(&r, cfg_len, &info->cfg, path, err, errlen)) goto done;
    if (!m) { rc = 0; goto done; }
    char msg[512];
    run_config cfg = info->cfg;
    if (config_validate(&cfg, msg, sizeof msg) || model_build(m, &cfg, (int)max_n, msg, sizeof msg)) {
        errorf(err, errlen, "%s: stored config: %s", path, msg);
        model_free(m);   /* model_build leaves a partly built model to free */
        goto done;
    }
    rc = read_parameters(&r, m, rbytes, n, path, err, errlen);
    if (rc) model_free(m);
done:
    free(data);
    return rc;
}
