/* The encoding registry: one line per encoding. */
#include <string.h>

#include "encoding.h"

extern const encoding_def enc_none, enc_learned, enc_sinusoidal, enc_multiplicative, enc_recursive, enc_complex, enc_conv,
    enc_shaw, enc_shaw_k, enc_xl, enc_t5, enc_deberta, enc_tupe, enc_alibi, enc_kerple_log, enc_kerple_power,
    enc_sandwich, enc_fire, enc_cope, enc_rope, enc_rope_v, enc_rope2d, enc_xpos, enc_urpe;

static const encoding_def *const ENCODINGS[] = {
    /* absolute, at the input */
    &enc_none,
    &enc_learned,
    &enc_sinusoidal,
    &enc_multiplicative,
    &enc_recursive,
    &enc_complex,
    &enc_conv,
    /* in the logits */
    &enc_shaw,
    &enc_shaw_k,
    &enc_xl,
    &enc_t5,
    &enc_deberta,
    &enc_tupe,
    &enc_alibi,
    &enc_kerple_log,
    &enc_kerple_power,
    &enc_sandwich,
    &enc_fire,
    &enc_cope,
    /* rotations */
    &enc_rope,
    &enc_rope_v,
    &enc_rope2d,
    &enc_xpos,
    /* after the normalizer */
    &enc_urpe,
};

const encoding_def *encoding_at(int index) {
    return index >= 0 && index < (int)(sizeof ENCODINGS / sizeof *ENCODINGS) ? ENCODINGS[index] : NULL;
}

const encoding_def *encoding_find(const char *name) {
    for (int i = 0; encoding_at(i); i++)
        if (strcmp(encoding_at(i)->name, name) == 0) return encoding_at(i);
    return NULL;
}

int encoding_uses_option(const encoding_def *e, const char *name) {
    size_t n = strlen(name);
    for (const char *p = e->options; p && *p; p += strcspn(p, " "), p += *p == ' ')
        if (n && strncmp(p, name, n) == 0 && (p[n] == ' ' || !p[n])) return 1;
    return 0;
}

const char *enc_where_name(enc_where w) {
    static const char *const names[] = {"none", "input", "logits", "rotation", "values", "logits+values"};
    return (unsigned)w < sizeof names / sizeof *names ? names[w] : "?";
}
