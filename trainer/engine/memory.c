/* The memory limit and checked allocations (memory.h). */
#include "memory.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Pages the process maps now: /proc/self/statm's size (field 0) or data
 * (field 5, data + stack, what RLIMIT_DATA counts); 0 when unknown. */
static double mapped_bytes(int field) {
    FILE *f = fopen("/proc/self/statm", "r");
    double v[7] = {0};
    if (!f) return 0;
    int n = fscanf(f, "%lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
    fclose(f);
    return n == 7 ? v[field] * (double)sysconf(_SC_PAGE_SIZE) : 0;
}

static void lower(double *limit, const char **what, double v, const char *name) {
    if (v < *limit) { *limit = v < 0 ? 0 : v; *what = name; }
}

static void rlimit_lower(double *limit, const char **what, int resource, int statm_field, const char *name) {
    struct rlimit r;
    if (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
        lower(limit, what, (double)r.rlim_cur - mapped_bytes(statm_field), name);
}

double memory_limit(const char **what) {
    double limit = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
    *what = "physical memory";
    if (!(limit > 0)) { limit = INFINITY; *what = "no known limit"; }
    rlimit_lower(&limit, what, RLIMIT_AS, 0, "address space left under RLIMIT_AS (ulimit -v)");
    rlimit_lower(&limit, what, RLIMIT_DATA, 5, "data space left under RLIMIT_DATA (ulimit -d)");
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");   /* cgroup v2; "max" when unlimited */
    double cg;
    if (f && fscanf(f, "%lf", &cg) == 1) lower(&limit, what, cg, "the cgroup's memory.max");
    if (f) fclose(f);
    return limit;
}

void memory_format(double bytes, char *buf, size_t len) {
    static const char *const units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
    int u = 0;
    while (bytes >= 1000 && u < 6) { bytes /= 1024; u++; }
    snprintf(buf, len, u ? "%.3g %s" : "%.0f %s", bytes, units[u]);
}

void out_of_memory(double bytes, const char *what) {
    char amount[32];
    memory_format(bytes, amount, sizeof amount);
    fprintf(stderr, "posprobe: error: out of memory (%s for %s)\n", amount, what);
    exit(1);   /* atexit: the temporary files of outputs are removed (csvio.c) */
}

void *mem_malloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) out_of_memory((double)bytes, what);
    return p;
}

void *mem_calloc(size_t count, size_t size, const char *what) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory((double)count * (double)size, what);
    return p;
}

void *mem_realloc(void *p, size_t bytes, const char *what) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) out_of_memory((double)bytes, what);
    return q;
}

char *mem_strdup(const char *s, const char *what) {
    size_t n = strlen(s) + 1;
    return memcpy(mem_malloc(n, what), s, n);
}
