/* libFuzzer target: the LIST parser of --eval-lens ("8,16,32", "1-64:8"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    int_list l;
    char err[512], buf[8192];
    if (int_list_parse(s, &l, err, sizeof err) == 0) {
        int_list_format(&l, buf, sizeof buf);
        int_list back;   /* formatting then parsing gives the same list */
        if (int_list_parse(buf, &back, err, sizeof err) != 0 || back.n != l.n ||
            memcmp(back.v, l.v, sizeof(int) * (size_t)l.n) != 0)
            abort();
    }
    free(s);
    return 0;
}
