/* Progress on stderr: a bar when stderr is a terminal, a line every few
 * seconds otherwise, nothing with --quiet. */
#ifndef POSPROBE_PROGRESS_H
#define POSPROBE_PROGRESS_H

typedef struct progress {
    int total, quiet, tty;
    double every_s, start, last;
    char label[96];
} progress;

double now_seconds(void);
void progress_start(progress *p, const char *label, int total, int quiet, double every_s);
void progress_update(progress *p, int step, double loss, double acc);
/* For commands that count items (models, configurations), not training steps:
 * "LABEL: DONE/TOTAL UNIT, RATE/s, ETA T". */
void progress_count(progress *p, int done, const char *unit);
void progress_end(progress *p, const char *status);

#endif
