/* Errors: functions that fail return non-zero and explain why in the caller's
 * buffer (char *err, size_t errlen). Most fail in one way only and return -1
 * (errorf); their caller knows what kind of failure that is. Functions whose
 * failures differ in kind return an err_kind (errorf_kind), and the command line maps
 * each kind to its exit status in one place (cli/main.c). */
#ifndef POSPROBE_ERRORS_H
#define POSPROBE_ERRORS_H

#include <stddef.h>

typedef enum {
    ERR_NONE = 0,
    ERR_IO,           /* reading or writing a file failed, or memory ran out (exit 1) */
    ERR_USAGE,        /* the input is wrong: options, configuration, files named (exit 2) */
    ERR_INTERRUPTED,  /* SIGINT or SIGTERM stopped the work (exit 130) */
} err_kind;

#ifdef __GNUC__
#define ERRORS_PRINTF __attribute__((format(printf, 3, 4)))
#define ERRORS_PRINTF4 __attribute__((format(printf, 4, 5)))
#else
#define ERRORS_PRINTF
#define ERRORS_PRINTF4
#endif

/* Formats into err (the caller's buffer of len bytes) and returns -1. */
ERRORS_PRINTF int errorf(char *err, size_t len, const char *fmt, ...);

/* Formats into err and returns kind: `return errorf_kind(err, errlen, ERR_USAGE, ...)`. */
ERRORS_PRINTF4 err_kind errorf_kind(char *err, size_t len, err_kind kind, const char *fmt, ...);

/* The kind of a return value that is 0, -1 from a function that fails only
 * in reading or writing (csvio.h), or already a kind. */
err_kind err_kind_of_io(int rc);

#endif
