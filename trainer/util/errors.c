/* errorf and errorf_kind: the one place messages are formatted into callers' buffers. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

int errorf(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

err_kind errorf_kind(char *err, size_t len, err_kind kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return kind;
}

err_kind err_kind_of_io(int rc) { return rc < 0 ? ERR_IO : (err_kind)rc; }
