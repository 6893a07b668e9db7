/* Progress reporting. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, const char *label, int total, int quiet, double every_s) {
    memset(p, 0, sizeof *p);
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    p->every_s = p->tty ? 0.1 : every_s;
    p->start = p->last = now_seconds();
    snprintf(p->label, sizeof p->label, "%s", label);
}

void progress_delay(progress *p, double delay_s) { p->delay_s = delay_s; }

void progress_note(progress *p, const char *note) { snprintf(p->note, sizeof p->note, "%s", note); }

static void format_eta(double s, char *buf, size_t len) {
    if (s < 0 || s > 1e7) { snprintf(buf, len, "?"); return; }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(buf, len, "%dm%02ds", t / 60, t % 60);
}

/* Is a line due at done of total (every every_s seconds, and at the end; not
 * before the delay)? Then the rate per second, the time left and, on a
 * terminal, the bar. */
static int due(progress *p, int done, double *rate, char *eta, size_t etalen, char *bar) {
    if (p->quiet) return 0;
    double now = now_seconds();
    if (now - p->start < p->delay_s) return 0;
    if (now - p->last < p->every_s && done != p->total) return 0;
    p->last = now;
    p->shown = 1;
    double elapsed = now - p->start;
    *rate = done / (elapsed > 0 ? elapsed : 1e-9);
    format_eta(*rate > 0 && p->total > 0 ? (p->total - done) / *rate : -1, eta, etalen);
    int width = 24, filled = p->total ? (int)((double)width * done / p->total) : width;
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    return 1;
}

void progress_update(progress *p, int step, double loss, double acc) {
    double rate;
    char eta[32], bar[32];
    if (!due(p, step, &rate, eta, sizeof eta, bar)) return;
    const char *sep = p->note[0] ? " " : "";
    if (p->tty)
        fprintf(stderr, "\r%s [%s] %d/%d loss %.4f acc %.3f%s%s %.1f steps/s ETA %s ", p->label, bar, step, p->total, loss,
                acc, sep, p->note, rate, eta);
    else
        fprintf(stderr, "%s: step %d/%d loss %.4f acc %.3f%s%s %.1f steps/s ETA %s\n", p->label, step, p->total, loss, acc,
                sep, p->note, rate, eta);
    fflush(stderr);
}

void progress_count(progress *p, int done, const char *unit) {
    double rate;
    char eta[32], bar[32];
    if (!due(p, done, &rate, eta, sizeof eta, bar)) return;
    if (p->total <= 0) fprintf(stderr, p->tty ? "\r%s: %d %s, %.1f/s " : "%s: %d %s, %.1f/s\n", p->label, done, unit, rate);
    else if (p->tty) fprintf(stderr, "\r%s [%s] %d/%d %s %.1f/s ETA %s ", p->label, bar, done, p->total, unit, rate, eta);
    else fprintf(stderr, "%s: %d/%d %s, %.1f/s, ETA %s\n", p->label, done, p->total, unit, rate, eta);
    fflush(stderr);
}

void progress_end(progress *p, const char *status) {
    if (p->quiet || (p->delay_s > 0 && !p->shown)) return;
    fprintf(stderr, "%s%s: %s after %.1fs%s%s%s\n", p->tty && p->shown ? "\n" : "", p->label, status, now_seconds() - p->start,
            p->note[0] ? " (" : "", p->note, p->note[0] ? ")" : "");
}
