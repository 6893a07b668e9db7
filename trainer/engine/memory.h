/* Memory: how much posprobe may use, and allocations that never return
 * NULL. A configuration's estimate (model.h) is checked against
 * memory_limit() before anything is allocated or written; an allocation that
 * fails anyway ends the program with one line and exit status 1, and the
 * temporary files of outputs are removed on the way out (csvio.c), so no
 * half-written file is left. */
#ifndef POSPROBE_MEMORY_H
#define POSPROBE_MEMORY_H

#include <stddef.h>

/* The bytes this process may still allocate: the least of physical memory,
 * RLIMIT_AS and RLIMIT_DATA (each less what the process already maps) and the
 * cgroup's memory.max. *what names that limit for messages. */
double memory_limit(const char **what);

/* "12 KB", "3.4 GB": bytes in the unit that keeps 2-4 digits. */
void memory_format(double bytes, char *buf, size_t len);

/* Ends the program: "posprobe: error: out of memory (N for WHAT)", exit 1. */
_Noreturn void out_of_memory(double bytes, const char *what);

/* malloc, calloc, realloc and strdup that end the program through out_of_memory
 * instead of returning NULL; `what` says what the memory was for. */
void *mem_malloc(size_t bytes, const char *what);
void *mem_calloc(size_t count, size_t size, const char *what);
void *mem_realloc(void *p, size_t bytes, const char *what);
char *mem_strdup(const char *s, const char *what);
#define xmalloc(bytes) mem_malloc((bytes), __func__)
#define xcalloc(count, size) mem_calloc((count), (size), __func__)
#define xrealloc(p, bytes) mem_realloc((p), (bytes), __func__)
#define xstrdup(s) mem_strdup((s), __func__)

#endif
