/* KERPLE-log (Chi et al. 2022): a conditionally positive definite kernel of
 * the distance as the bias, with learned per-head r1, r2 kept in their valid
 * ranges (see op_distance_kernel and kerple_create in relpos.c). Starts at r1 = r2 = 1. */
#include "relpos.h"

static void *kerple_log_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    return kerple_create(ps, d, KERNEL_LOG);
}

const encoding_def enc_kerple_log = {
    .name = "kerple-log",
    .summary = "KERPLE logarithmic: -r1 log(1 + r2 |i-j|), learned r1, r2 > 0 per head",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_SYMMETRIC,
    .create = kerple_log_create,
    .init = kerple_init,
    .scores = kerple_scores,
    .destroy = kerple_free,
};
