/* The rotation shared by rope, rope-v, rope2d and xpos (8265): the
 * interleaved pairs (x[2k], x[2k+1]) of each head vector at position t are
 * rotated by angle c_k(t) * theta_k and optionally scaled by s_k(t):
 *   y[2k]   = s (x[2k] cos a - x[2k+1] sin a)
 *   y[2k+1] = s (x[2k] sin a + x[2k+1] cos a)
 * Pairs beyond n_pairs are copied unchanged (partial rotation). */
#ifndef POSPROBE_ROTARY_H
#define POSPROBE_ROTARY_H

#include "encoding.h"

typedef struct rotary_spec {
    int n_pairs;              /* rotated pairs, <= D/2 */
    const int *coord[2];      /* (T) coordinates; pair k uses coord[which[k]] */
    const unsigned char *which;   /* (n_pairs) 0 or 1; NULL = all 0 */
    const real *zeta;         /* xPos: (n_pairs) base of the scale s_k(t) = zeta_k^(sign * c(t) / gamma); NULL = 1 */
    double scale_exponent;    /* sign / gamma */
} rotary_spec;

/* x (P, T, D), theta (n_pairs), trainable or not -> (P, T, D). */
tensor *op_rotary(graph *g, tensor *x, tensor *theta, const rotary_spec *spec);

/* theta_k = rope_schedule_theta(sched, 2k / (2 n), base) for k < n: the
 * ladder over n pairs (base^(-2k / (2 n)) when geometric, the standard one). */
void rotary_ladder(real *theta, int n, double base, rope_schedule sched);

/* State shared by the RoPE family: the frequencies (a parameter when
 * trainable), and optional per-pair coordinate choice and xPos scale. */
typedef struct rope_state {
    tensor *theta;            /* (K) frequencies: a parameter, or `fixed` */
    tensor fixed;
    int K, D;
    double base;
    rope_schedule sched;
    unsigned char *which;     /* rope2d: pair k rotates by coordinate which[k] */
    real *zeta;               /* xpos: (K) scale bases */
    double gamma;
} rope_state;

/* K rotated pairs with the standard ladder over `ladder` pairs (repeated to
 * fill K); a trainable "enc.theta" parameter when trainable. */
rope_state *rope_state_new(param_store *ps, const enc_dims *d, int K, int ladder, int trainable);
void rope_state_init(void *st, gsl_rng *r);
void rope_state_free(void *st);
/* x (P, T, D) rotated by coordinates c0 (and c1 for pairs with which = 1);
 * exponent: xPos scale exponent sign / gamma (0 without xPos). */
tensor *rope_apply(rope_state *s, graph *g, tensor *x, const int *c0, const int *c1, double exponent);

#endif
