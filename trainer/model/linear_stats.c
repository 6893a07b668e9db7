/* The denominators and weights of linear attention on one forward pass
 * (8265; claims P5 and P6; model.h: lin_stats). Written out from the
 * features with plain loops, apart from the attention op: the weights are
 * (T, S) here, which is why only logged steps pay for them. */
#include "model.h"

#include <math.h>

void lin_stats_clear(lin_stats *s) {
    *s = (lin_stats){0, INFINITY, INFINITY, 0, 0, INFINITY, -INFINITY, -INFINITY, INFINITY, -INFINITY};
}

static double dot(const real *a, const real *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += (double)a[d] * b[d];
    return s;
}

/* The weight of a pair: c + a.b, or for cos1 1 + cos(a, b) (a zero vector: cos 0). */
static double weight(attn_norm norm, const real *a, const real *b, int D) {
    if (norm != NORM_COS1) return dot(a, b, D);
    double na = sqrt(dot(a, a, D)), nb = sqrt(dot(b, b, D));
    return 1 + (na > 0 && nb > 0 ? dot(a, b, D) / (na * nb) : 0);
}

void lin_stats_add(lin_stats *s, attn_norm norm, attn_mask mask, const tensor *q, const tensor *k,
                   const tensor *q_plain, const tensor *k_plain) {
    int P = q->shape[0], T = q->shape[1], S = k->shape[1], D = q->shape[2];
    for (int p = 0; p < P; p++)
        for (int i = 0; i < T; i++) {
            int n = mask == MASK_BIDIR ? S : i + S - T + 1;
            if (n > S) n = S;
            if (n <= 0) continue;
            const real *qi = q->data + ((size_t)p * T + i) * D, *qpi = q_plain->data + ((size_t)p * T + i) * D;
            double z_rot = 0, z_plain = 0, w_min = INFINITY, w_max = -INFINITY;
            for (int j = 0; j < n; j++) {
                const real *kj = k->data + ((size_t)p * S + j) * D, *kpj = k_plain->data + ((size_t)p * S + j) * D;
                double w = weight(norm, qi, kj, D);   /* the numerator's weight: rotated features */
                z_rot += w;
                z_plain += weight(norm, qpi, kpj, D);
                w_min = fmin(w_min, w);
                w_max = fmax(w_max, w);
            }
            double z = norm == NORM_LINEAR_NUM ? z_plain : z_rot;   /* what the normalizer divides by */
            s->rows++;
            s->den_min = fmin(s->den_min, z / n);
            s->weight_min = fmin(s->weight_min, w_min);
            s->weight_max = fmax(s->weight_max, w_max);
            if (z_plain != 0) {
                double ratio = z_rot / z_plain;
                s->ratio_min = fmin(s->ratio_min, ratio);
                s->ratio_low += ratio <= LIN_RATIO_LOW;
                s->ratio_neg += ratio <= 0;
            }
            double row_sum = z != 0 ? z_rot / z : 0, a_max = z != 0 ? fmax(fabs(w_min), fabs(w_max)) / fabs(z) : 0;
            s->row_sum_min = fmin(s->row_sum_min, row_sum);
            s->row_sum_max = fmax(s->row_sum_max, row_sum);
            s->abs_weight_max = fmax(s->abs_weight_max, a_max);
        }
}
