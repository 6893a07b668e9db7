/* Progress on stderr: a bar when stderr is a terminal, a line every few
 * seconds otherwise, nothing with --quiet. */
#ifndef POSPROBE_PROGRESS_H
#define POSPROBE_PROGRESS_H

typedef struct progress {
    int total, quiet, tty;
    double every_s, start, last;
    double delay_s;     /* nothing before this many seconds (progress_delay) */
    int shown;          /* a line was printed */
    char label[96];
    char note[96];      /* appended to every line (progress_note): the latest evaluation */
} progress;

double now_seconds(void);
void progress_start(progress *p, const char *label, int total, int quiet, double every_s);
/* For commands that are usually quick: no line before delay_s seconds, and no
 * end line when none was printed. */
void progress_delay(progress *p, double delay_s);
/* Text shown after the numbers of every later line and of the end line
 * (e.g. "eval@200 acc 0.912 exact 0.500"); "" for none. */
void progress_note(progress *p, const char *note);
void progress_update(progress *p, int step, double loss, double acc);
/* For commands that count items (models, configurations), not training steps:
 * "LABEL: DONE/TOTAL UNIT, RATE/s, ETA T"; a total of 0 is unknown ("LABEL:
 * DONE UNIT, RATE/s"). */
void progress_count(progress *p, int done, const char *unit);
void progress_end(progress *p, const char *status);

#endif
