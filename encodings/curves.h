/* Closed-form curves of the articles (8231, 8265), for `inspect` and tests. */
#ifndef POSPROBE_CURVES_H
#define POSPROBE_CURVES_H

#include "encoding.h"

/* The curves take theta_i = rope_schedule_theta(sched, 2i/d, base) (base^(-2i/d) when geometric). */
/* RoPE's long-range decay bound (8265): (1/(d/2)) sum_{j=1}^{d/2} |sum_{i<j} e^{i r theta_i}|. */
double curve_rope_decay_bound(int d, double r, double base, rope_schedule sched);
/* Sinusoidal inner product (8231): <p_m, p_n> = sum_{i<d/2} cos(r theta_i), r = m - n. */
double curve_sinusoid_inner(int d, double r, double base, rope_schedule sched);
/* Integral approximation (8231): Re int_0^1 e^{i x theta_t} dt (Simpson, 20000 panels). */
double curve_sinusoid_integral(double x, double base, rope_schedule sched);

/* T5 bucket of rel = j - i (encodings/t5.c). */
int t5_bucket(int rel, int num_buckets, int max_distance, int bidirectional);
/* ALiBi slopes for n heads (encodings/alibi.c). */
void alibi_slopes(int n, double *out);
/* Sandwich bias of an offset for head h of H (encodings/sandwich.c). */
double sandwich_bias(int offset, int head, int H, double base);

#endif
