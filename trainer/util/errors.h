/* Error messages for functions that return -1 and explain why in a buffer. */
#ifndef POSPROBE_ERRORS_H
#define POSPROBE_ERRORS_H

#include <stddef.h>

/* Formats into err (the caller's buffer of len bytes) and returns -1. */
#ifdef __GNUC__
__attribute__((format(printf, 3, 4)))
#endif
int errorf(char *err, size_t len, const char *fmt, ...);

#endif
