/* A convolutional position encoding (8130 (i), claim T6; the position encoding
 * generator of Chu et al. 2021, "Conditional Positional Encodings for Vision
 * Transformers", in 1-D): x + DWConv(x) + b at the input, a depthwise
 * convolution of K rows (--conv-kernel, default 3) with a bias, as the
 * paper's PEG (a depthwise convolution with its bias, the identity added).
 *
 * It reads no position id: position reaches the model only through the
 * padding. With zero padding (the default) the rows within K - 1 of an end
 * see zeros where the others see tokens, so even a constant input gives
 * them other values (CNNs learn absolute position this way: Islam et al.
 * 2020); with --conv-circular 1 the rows wrap around and the layer is
 * translation-equivariant on the circle, so a constant input stays constant.
 *
 * Under --mask bidir the kernel is centred: (K - 1) / 2 rows on each side,
 * K odd. Under --mask causal it is causal, rows t - K + 1 .. t only (K - 1
 * zeros on the left), so no later token reaches a row through the input;
 * circular padding would wrap the last rows into the first ones and is
 * refused there. A row reads its K - 1 predecessors, which cached decoding
 * does not keep: ENC_READS_PRIOR_ROWS, and decoding recomputes the prefix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "encoding.h"

typedef struct {
    tensor *w, *b;    /* (K, C), (C) */
    int left, circular;
} conv_state;

static void *conv_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    int K = d->opt.conv_kernel, causal = d->mask == MASK_CAUSAL;
    if (K < 1) { snprintf(err, errlen, "conv: --conv-kernel must be at least 1"); return NULL; }
    if (!causal && K % 2 == 0) {
        snprintf(err, errlen, "conv: --mask bidir centres the kernel, so --conv-kernel must be odd (got %d)", K);
        return NULL;
    }
    if (causal && d->opt.conv_circular) {
        snprintf(err, errlen, "conv: circular padding would wrap later rows into the first ones under --mask causal "
                              "(use --mask bidir, or zero padding)");
        return NULL;
    }
    conv_state *s = xcalloc(1, sizeof *s);
    s->left = causal ? K - 1 : (K - 1) / 2;
    s->circular = d->opt.conv_circular;
    /* std 1/sqrt(K): the fan-in of one channel's kernel (PyTorch's Conv1d draws from U(+-1/sqrt(K)) */
    s->w = params_declare(ps, "enc.conv.w", 2, (int[]){K, d->C}, INIT_NORMAL, 1 / sqrt((double)K), 1);
    s->b = params_declare(ps, "enc.conv.b", 1, (int[]){d->C}, INIT_ZERO, 0, 0);
    return s;
}

static tensor *conv_embed(void *st, graph *g, tensor *x, const positions *pos) {
    conv_state *s = st;
    if (pos->q0 != 0 || pos->Tq != pos->T)   /* ENC_READS_PRIOR_ROWS: the model never runs rows incrementally */
        engine_fail("conv", "rows [%d, %d) of %d: the convolution needs every row", pos->q0, pos->q0 + pos->Tq, pos->T);
    tensor *c = op_dwconv1d(g, x, s->w, s->left, s->circular);           /* (B, T, C) */
    return op_add(g, x, op_add(g, c, s->b));                              /* x + DWConv(x) + b */
}

/* the convolution's output, with its bias, and the sum: 3 (B, T, C) with their
 * gradients, once for the model (counted here per layer) */
static double conv_step_reals(const enc_dims *d, int B, int T) {
    return 6.0 * B * T * d->C / (d->L > 0 ? d->L : 1);
}

const encoding_def enc_conv = {
    .name = "conv",
    .options = "conv-kernel conv-circular",
    .summary = "x + depthwise convolution of x (K rows, zero padding; --conv-kernel, --conv-circular)",
    .where = ENC_AT_INPUT,
    .flags = ENC_READS_PRIOR_ROWS,
    .create = conv_create,
    .embed = conv_embed,
    .destroy = free,
    .step_reals = conv_step_reals,
};
