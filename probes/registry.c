/* The task registry: one line per task. */
#include <string.h>

#include "task.h"

extern const task_def task_probe, task_probe2d, task_offset, task_repeat, task_repeat2, task_copy, task_reverse,
    task_duplicate, task_sort, task_parity, task_even_pairs, task_missing_duplicate, task_recall, task_flipflop;

static const task_def *const TASKS[] = {
    /* position probes */
    &task_probe,
    &task_probe2d,
    &task_offset,
    /* length-extrapolation tasks */
    &task_repeat,
    &task_repeat2,
    &task_copy,
    &task_reverse,
    &task_duplicate,
    &task_sort,
    &task_parity,
    &task_even_pairs,
    &task_missing_duplicate,
    &task_recall,
    &task_flipflop,
};

const task_def *task_at(int index) {
    return index >= 0 && index < (int)(sizeof TASKS / sizeof *TASKS) ? TASKS[index] : NULL;
}

const task_def *task_find(const char *name) {
    for (int i = 0; task_at(i); i++)
        if (strcmp(task_at(i)->name, name) == 0) return task_at(i);
    return NULL;
}
