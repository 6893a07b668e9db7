/* The encoding registry: one line per encoding. */
#include <string.h>

#include "encoding.h"

extern const encoding_def enc_none, enc_learned, enc_sinusoidal;

static const encoding_def *const ENCODINGS[] = {
    &enc_none,
    &enc_learned,
    &enc_sinusoidal,
};

const encoding_def *encoding_at(int index) {
    return index >= 0 && index < (int)(sizeof ENCODINGS / sizeof *ENCODINGS) ? ENCODINGS[index] : NULL;
}

const encoding_def *encoding_find(const char *name) {
    for (int i = 0; encoding_at(i); i++)
        if (strcmp(encoding_at(i)->name, name) == 0) return encoding_at(i);
    return NULL;
}
