/* posprobe examples: a task's batches as the model sees them, readable. */
#ifndef POSPROBE_EXAMPLES_H
#define POSPROBE_EXAMPLES_H

#include <stdio.h>

#include "config.h"

/* count examples of length c->len in the form given by c->mask and markers,
 * seeded by c->seed; -1 with a message on a bad task or length (a usage error). */
int examples_print(const run_config *c, int count, FILE *out, char *err, size_t errlen);

#endif
