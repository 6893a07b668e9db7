/* What the benchmarks share: a clock, sorting samples, and the command line
 * (--torch PYTHON, --quick). Header-only: each benchmark is one program. */
#ifndef POSPROBE_BENCH_UTIL_H
#define POSPROBE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --torch PYTHON (default /usr/bin/python3) and --quick. */
static inline void bench_args(int argc, char **argv, const char **python, int *quick) {
    *python = "/usr/bin/python3";
    *quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--torch") == 0 && i + 1 < argc) *python = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0) *quick = 1;
    }
}

/* Runs cmd (a scripts/torch_model.py command) and reads the one JSON line
 * it prints into line; PyTorch's version ("torch": "...") into version.
 * -1 when the command fails or prints nothing (no PyTorch). */
static inline int bench_torch_line(const char *cmd, char *line, int n, char *version, size_t vlen) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    line[0] = 0;
    int got = fgets(line, n, p) != NULL;
    if (pclose(p) != 0 || !got) return -1;
    char *tv = strstr(line, "\"torch\": \"");
    if (tv) snprintf(version, vlen, "%.*s", (int)strcspn(tv + 10, "\""), tv + 10);
    return 0;
}

#endif
