/* The key/value cache and the incremental forward pass over it. */
#include "kvcache.h"
#include "memory.h"

#include <stdlib.h>
#include <string.h>

int kv_cache_keeps_enough(const model *m) {
    return !(m->enc->flags & ENC_READS_PRIOR_ROWS) && m->norm != NORM_LINEAR_NUM;
}

int kv_cache_init(kv_cache *kc, const model *m, int B, int max_T) {
    memset(kc, 0, sizeof *kc);
    if (m->mask != MASK_CAUSAL || B < 1 || max_T < 1 || m->logits || !kv_cache_keeps_enough(m)) return -1;
    kc->B = kc->B_cap = B;
    kc->max_T = max_T;
    kc->L = m->L;
    kc->merged = model_attention_merged(m);
    kc->per_seq = kc->merged ? 1 : m->H;
    kc->width = kc->merged ? m->C : m->D;
    size_t n = (size_t)m->L * B * kc->per_seq * max_T * kc->width;
    kc->k = xmalloc(n * sizeof(real));
    kc->v = xmalloc(n * sizeof(real));
    return 0;
}

void kv_cache_reset(kv_cache *kc, int B) {
    if (B < 1 || B > kc->B_cap) engine_fail("kv_cache", "%d sequences, room for %d", B, kc->B_cap);
    kc->B = B;
    kc->len = kc->pending = 0;
}

void kv_cache_free(kv_cache *kc) {
    free(kc->k);
    free(kc->v);
    memset(kc, 0, sizeof *kc);
}

/* Layer l's rows: units one after another, max_T rows each. A unit is a
 * (sequence, head) pair, or a sequence when merged. */
static real *layer_base(const kv_cache *kc, real *buf, int layer) {
    return buf + (size_t)layer * kc->B_cap * kc->per_seq * kc->max_T * kc->width;
}

static void store_rows(kv_cache *kc, real *buf, int layer, const tensor *x) {
    int U = kc->B * kc->per_seq, Tn = kc->pending, W = kc->width;
    if (x->ndim != 3 || x->shape[0] != U || x->shape[1] != Tn || x->shape[2] != W)
        engine_fail("kv_cache", "rows (%d, %d, %d) are not (%d, %d, %d)", x->shape[0], x->shape[1], x->shape[2], U, Tn, W);
    real *base = layer_base(kc, buf, layer);
    for (int u = 0; u < U; u++)
        memcpy(base + ((size_t)u * kc->max_T + kc->len) * W, x->data + (size_t)u * Tn * W, (size_t)Tn * W * sizeof(real));
}

void kv_cache_store(kv_cache *kc, int layer, const tensor *k, const tensor *v) {
    store_rows(kc, kc->k, layer, k);
    store_rows(kc, kc->v, layer, v);
}

static tensor *rows_so_far(kv_cache *kc, real *buf, graph *g, int layer, int compact) {
    int U = kc->B * kc->per_seq, S = kc->len + kc->pending, W = kc->width;
    real *base = layer_base(kc, buf, layer);
    if (compact) {
        tensor *t = tensor_new3(g, U, S, W, 0);                           /* (U, S, W) */
        for (int u = 0; u < U; u++)
            memcpy(t->data + (size_t)u * S * W, base + (size_t)u * kc->max_T * W, (size_t)S * W * sizeof(real));
        return t;
    }
    tensor *t = arena_alloc(g->mem, sizeof *t);                           /* (U, S, W), units max_T rows apart */
    *t = tensor_view(base, NULL, 3, (int[]){U, S, W});
    return t;
}

tensor *kv_cache_keys(kv_cache *kc, graph *g, int layer, int compact) { return rows_so_far(kc, kc->k, g, layer, compact); }

tensor *kv_cache_values(kv_cache *kc, graph *g, int layer, int compact) { return rows_so_far(kc, kc->v, g, layer, compact); }

tensor *model_forward_incremental(model *m, graph *g, kv_cache *kc, const int *tokens, int t0, int Tn,
                                  const int *pos, const int *pos_x, const int *pos_y) {
    if (t0 != kc->len || Tn < 1 || t0 + Tn > kc->max_T)
        engine_fail("kv_cache", "rows [%d, %d) after %d cached rows, capacity %d", t0, t0 + Tn, kc->len, kc->max_T);
    if (m->mask != MASK_CAUSAL || m->logits || kc->merged != model_attention_merged(m) || kc->L != m->L)
        engine_fail("kv_cache", "the cache was not made for this model (causal, no logits capture)");
    if (g->record_grad) engine_fail("kv_cache", "incremental forward passes are evaluation only");
    positions p = {.T = t0 + Tn, .B = kc->B, .q0 = t0, .Tq = Tn, .tokens = tokens, .p = pos, .x = pos_x, .y = pos_y};
    kc->pending = Tn;
    tensor *out = model_forward_rows(m, g, &p, 0, kc);                   /* (B*Tn, K) */
    kc->len += Tn;
    kc->pending = 0;
    return out;
}
