/* The task registry: one line per task. */
#include <string.h>

#include "task.h"

extern const task_def task_probe;

static const task_def *const TASKS[] = {
    &task_probe,
};

const task_def *task_at(int index) {
    return index >= 0 && index < (int)(sizeof TASKS / sizeof *TASKS) ? TASKS[index] : NULL;
}

const task_def *task_find(const char *name) {
    for (int i = 0; task_at(i); i++)
        if (strcmp(task_at(i)->name, name) == 0) return task_at(i);
    return NULL;
}
