/* Shared machinery of the relative encodings: offsets i - j between position
 * ids, and three ops over tables indexed by (clipped, bucketed) offsets. */
#ifndef POSPROBE_RELPOS_H
#define POSPROBE_RELPOS_H

#include "encoding.h"

/* The query rows [q0, q0 + Tq) against all S = pos->T keys (encoding.h).
 * idx (Tq, S) in the arena: idx[i*S + j] = map(pos[q0 + i] - pos[j], ctx),
 * every value in [0, R). */
typedef int (*offset_map)(int offset, const void *ctx);
const int *relpos_index(graph *g, const positions *pos, offset_map map, const void *ctx);
/* The same with the roles swapped, (S, Tq): idx[j*Tq + i] = map(pos[j] - pos[q0 + i], ctx)
 * (DeBERTa's position-to-content term, one row per key). */
const int *relpos_index_keys(graph *g, const positions *pos, offset_map map, const void *ctx);

/* clip(offset, lo, hi) - lo: Shaw's, DeBERTa's and URPE's table index. */
typedef struct { int lo, hi; } clip_range;
int relpos_clip(int offset, const void *clip_range_ptr);

/* table (H, R), idx (Tq, S) -> (H, Tq, S): out[h, i, j] = table[h, idx[i, j]]. */
tensor *op_gather_offsets(graph *g, tensor *table, const int *idx, int Tq, int S);

/* q (P, Tq, D), table (Ht, R, D) with P % Ht == 0, idx (Tq, S) -> (P, Tq, S):
 * out[p, i, j] = scale * q[p, i] . table[p % Ht, idx[i, j]]. */
tensor *op_rel_scores(graph *g, tensor *q, tensor *table, const int *idx, int S, real scale);

/* A (P, Tq, S), table (Ht, R, Dv), idx (Tq, S) -> (P, Tq, Dv):
 * out[p, i] = sum_j A[p, i, j] table[p % Ht, idx[i, j]]. */
tensor *op_rel_values(graph *g, tensor *A, tensor *table, const int *idx);

/* (R, C) sinusoids of offsets lo..lo+R-1 (no gradient). */
tensor *relpos_sinusoid_table(graph *g, int lo, int R, int C, double base, rope_schedule sched);

/* Range of pos[i] - pos[j] over all T positions (a superset of the query rows' offsets). */
void relpos_offset_range(const positions *pos, int *lo, int *hi);

/* KERPLE's distance kernels (Chi et al. 2022) over d = |p_i - p_j|, per head,
 * from raw (H, 2) kept in their valid ranges by reparametrisation:
 *   KERNEL_LOG:   -r1 log(1 + r2 d),  r1 = softplus(raw0), r2 = softplus(raw1)
 *   KERNEL_POWER: -r1 d^r2,           r1 = softplus(raw0), r2 = 2 sigmoid(raw1) in (0, 2)
 * -> (H, Tq, S) for the query rows of pos. */
typedef enum { KERNEL_LOG, KERNEL_POWER } kernel_kind;
tensor *op_distance_kernel(graph *g, tensor *raw, const positions *pos, kernel_kind kind);

/* The state and hooks shared by kerple-log and kerple-power: per-layer raw
 * (H, 2) parameters "enc.blockL.kerple", starting at r1 = r2 = 1. */
void *kerple_create(param_store *ps, const enc_dims *d, kernel_kind kind);
void kerple_init(void *st, gsl_rng *r);
tensor *kerple_scores(void *st, graph *g, int layer, tensor *q, tensor *k, const positions *pos);
void kerple_free(void *st);

#endif
