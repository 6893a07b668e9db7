/* NoPE: no position information at all. */
#include "encoding.h"

static int stateless;

static void *none_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)ps; (void)d; (void)err; (void)errlen;
    return &stateless;
}

const encoding_def enc_none = {
    .name = "none",
    .summary = "no position encoding (NoPE): order only through the causal mask",
    .where = ENC_AT_NONE,
    .create = none_create,
};
