/* KERPLE-power (Chi et al. 2022): a conditionally positive definite kernel of
 * the distance as the bias, with learned per-head r1, r2 kept in their valid
 * ranges (see op_distance_kernel and kerple_create in relpos.c). Starts at r1 = r2 = 1. */
#include "relpos.h"

static void *kerple_power_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    return kerple_create(ps, d, KERNEL_POWER);
}

const encoding_def enc_kerple_power = {
    .name = "kerple-power",
    .summary = "KERPLE power: -r1 |i-j|^r2, learned r1 > 0, 0 < r2 < 2 per head",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_SYMMETRIC,
    .create = kerple_power_create,
    .init = kerple_init,
    .scores = kerple_scores,
    .destroy = kerple_free,
};
