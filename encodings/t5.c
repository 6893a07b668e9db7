/* T5 relative bias (8130 (g)): a learned scalar per head and bucket of the
 * offset j - i, one table shared by all layers as in T5. Bidirectional
 * bucketing under --mask bidir (sign buckets), unidirectional under causal.
 * --t5-buckets, --t5-max-distance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relpos.h"

typedef struct {
    int buckets, max_distance, bidirectional;
} t5_buckets;

typedef struct {
    t5_buckets b;
    tensor *table;       /* (H, buckets) */
} t5_state;

/* T5's _relative_position_bucket, with rel = j - i. */
int t5_bucket(int rel, int num_buckets, int max_distance, int bidirectional) {
    int nb = num_buckets, bucket = 0, r;
    if (bidirectional) {
        nb /= 2;
        bucket = rel > 0 ? nb : 0;
        r = abs(rel);
    } else {
        r = rel < 0 ? -rel : 0;
    }
    int max_exact = nb / 2;
    if (r < max_exact) return bucket + r;
    int big = max_exact + (int)(log((double)r / max_exact) / log((double)max_distance / max_exact) * (nb - max_exact));
    return bucket + (big < nb - 1 ? big : nb - 1);
}

static int t5_map(int offset, const void *ctx) {
    const t5_buckets *b = ctx;
    return t5_bucket(-offset, b->buckets, b->max_distance, b->bidirectional);   /* offset = i - j */
}

static void *t5_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    t5_buckets b = {d->opt.t5_buckets, d->opt.t5_max_distance, d->mask == MASK_BIDIR};
    int per_direction = b.bidirectional ? b.buckets / 2 : b.buckets, max_exact = per_direction / 2;
    const char *mask = b.bidirectional ? "bidir" : "causal";
    /* t5_bucket needs an exact bucket (max_exact >= 1) and a last bucket beyond it (log of max_distance / max_exact > 0) */
    if (max_exact < 1) {
        snprintf(err, errlen, "--t5-buckets %d under --mask %s leaves %d bucket%s per direction; T5 needs at least 2 "
                 "(exact and logarithmic): use --t5-buckets %d or more", b.buckets, mask, per_direction,
                 per_direction == 1 ? "" : "s", b.bidirectional ? 4 : 2);
        return NULL;
    }
    if (b.max_distance <= max_exact) {
        snprintf(err, errlen, "--t5-max-distance %d must exceed the %d exact offsets of --t5-buckets %d under --mask %s "
                 "(half of its %d buckets per direction)", b.max_distance, max_exact, b.buckets, mask, per_direction);
        return NULL;
    }
    t5_state *s = xcalloc(1, sizeof *s);
    s->b = b;
    s->table = params_declare(ps, "enc.t5_bias", 2, (int[]){d->H, s->b.buckets}, INIT_NORMAL, d->opt.init_scale, 0);
    return s;
}

static tensor *t5_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos) {
    t5_state *s = st;
    (void)layer; (void)q; (void)k;
    return op_gather_offsets(g, s->table, relpos_index(g, pos, t5_map, &s->b), pos->Tq, pos->T);   /* (H, Tq, S) */
}

const encoding_def enc_t5 = {
    .name = "t5",
    .options = "t5-buckets t5-max-distance",
    .summary = "T5: learned bias per head and log-bucketed offset (--t5-buckets, --t5-max-distance)",
    .where = ENC_AT_LOGITS,
    .flags = ENC_RELATIVE | ENC_DIRECTIONAL,
    .create = t5_create,
    .scores = t5_scores,
    .destroy = free,
};
