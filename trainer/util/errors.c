/* errorf: the one place messages are formatted into callers' buffers. */
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
