/* posprobe engine: tensors, an arena, a tape, and differentiable ops.
 *
 * Dimension letters used in every shape comment:
 *   B batch, T query length, S key length, H heads, D head size, C model width,
 *   F MLP width, V vocabulary, K output classes, N rows (B*T), P batched products.
 *
 * Scalar type: `real` is float by default and double when built with
 * -DPOSPROBE_DOUBLE (make PRECISION=double). Gradient checks use double.
 *
 * Memory: activations, their gradients and the tape nodes live in an arena
 * that is reset after every optimizer step. Parameters live outside the arena
 * (see params.h). An op's output gets a gradient buffer only when one of its
 * inputs has one and the graph records gradients, so evaluation allocates no
 * gradients at all.
 *
 * Tape: every op appends one node (in creation order) holding its inputs,
 * its output and a backward function. graph_backward(loss) scans the nodes in
 * reverse and each backward *adds* into the gradients of its inputs.
 */
#ifndef POSPROBE_ENGINE_H
#define POSPROBE_ENGINE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef POSPROBE_DOUBLE
typedef double real;
#define REAL_NAME "double"
#define real_exp exp
#define real_erf erf
#define real_sqrt sqrt
#else
typedef float real;
#define REAL_NAME "float"
/* elementwise math in the build's precision: libm's double versions cost
 * several times more and the float build does not need them */
#define real_exp expf
#define real_erf erff
#define real_sqrt sqrtf
#endif

#ifndef POSPROBE_BLAS_NAME
#define POSPROBE_BLAS_NAME "unknown"
#endif

#define TENSOR_MAX_DIMS 4

/* ---------------------------------------------------------------- arena */

typedef struct arena_chunk arena_chunk;

/* A bump allocator. When a chunk is full a new one is chained (a malloc);
 * on reset, chained chunks are merged into one chunk as large as the high-water
 * mark, so after the first step of the largest shape it never mallocs again. */
typedef struct arena {
    arena_chunk *head;     /* current chunk; older chunks follow ->next */
    size_t used_total;     /* bytes handed out since the last reset */
    size_t high_water;     /* largest used_total ever seen */
    size_t capacity;       /* sum of chunk capacities */
    size_t n_mallocs;      /* chunk allocations since creation */
} arena;

void arena_init(arena *a, size_t initial_bytes);
void *arena_alloc(arena *a, size_t bytes);          /* 64-byte aligned, uninitialised */
void *arena_calloc(arena *a, size_t bytes);         /* zeroed */
void arena_reset(arena *a);
void arena_free(arena *a);

/* --------------------------------------------------------------- tensor */

typedef struct tensor {
    real *data;            /* (n) values, row-major */
    real *grad;            /* (n) dL/dvalue, or NULL when no gradient flows here */
    int ndim;
    int shape[TENSOR_MAX_DIMS];
    size_t n;              /* product of shape */
    int grad_unset;        /* grad is not yet written: zeroed lazily, see tensor_grad_beta */
    struct tensor *next_with_grad;   /* the graph's list of tensors with lazily zeroed grads */
} tensor;

/* ---------------------------------------------------------------- graph */

typedef struct node node;
typedef void (*backward_fn)(node *nd);

/* One tape entry. Ops keep what their backward needs in the small fixed
 * slots (ints, reals) or in `saved` (arena memory). */
struct node {
    const char *op;        /* op name, for error messages and debugging */
    backward_fn backward;
    tensor *out;
    tensor *in[4];
    int iarg[6];
    real rarg[4];
    void *saved;
    const int *ids;        /* integer inputs (token ids, targets), copied into the arena */
    node *prev;            /* previous node in creation order */
    int claims_grads;      /* backward writes its inputs' unset grads itself (tensor_grad_beta) */
};

typedef struct graph {
    arena *mem;
    node *last;            /* the tape, newest first */
    size_t n_nodes;
    int record_grad;       /* 0 in evaluation: no gradients, no tape */
    tensor *with_grad;     /* tensors whose grad is zeroed lazily, newest first */
} graph;

void graph_init(graph *g, arena *mem, int record_grad);
/* Forget the tape and free every activation (the arena is reset). */
void graph_reset(graph *g);
/* dL/dL = 1, then every recorded backward in reverse creation order. On
 * return every gradient in the graph is complete (unset ones are zero). */
void graph_backward(graph *g, tensor *loss);

/* Gradients of graph tensors are zeroed lazily, not when the tensor is made:
 * zeroing every activation's gradient in the forward pass and reading it back
 * from memory in the backward pass cost a tenth of a training step. A new
 * tensor's grad is "unset" (uninitialised) until backward first reaches it.
 * Before a node's backward runs, graph_backward zeroes its output's and its
 * inputs' unset grads, unless the op set nd->claims_grads after
 * graph_record: such a backward calls tensor_grad_beta(t) right before it
 * writes t's grad and gets 0 when the grad is unset (it must then overwrite
 * every element; the grad counts as set from then on) or 1 (add to it; also
 * for a tensor without a grad). An op that writes only part of an input's grad
 * calls tensor_grad_ready(t) instead. */
real tensor_grad_beta(tensor *t);
/* Zeroes t's grad if it is unset. */
void tensor_grad_ready(tensor *t);
/* Testing aid: fill unset grads with NaN (instead of whatever the arena
 * holds, often zeros from fresh pages), so a backward that adds to a grad it
 * should have overwritten shows up as NaN. Off by default; the tests turn it on. */
void graph_poison_unset_grads(int on);

/* Tensors owned by the graph's arena. */
tensor *tensor_new(graph *g, int ndim, const int *shape, int with_grad);
tensor *tensor_new2(graph *g, int d0, int d1, int with_grad);
tensor *tensor_new3(graph *g, int d0, int d1, int d2, int with_grad);
/* A tensor with no data of its own over borrowed memory (parameters, inputs). */
tensor tensor_view(real *data, real *grad, int ndim, const int *shape);
int tensor_same_shape(const tensor *a, const tensor *b);
/* "(2, 3, 4)" into buf, for messages. */
const char *tensor_shape_str(const tensor *t, char *buf, size_t len);

/* Appends a node whose output is `out` (already allocated). Used by ops,
 * including ops defined outside the engine (encodings). Returns NULL and
 * records nothing when no gradient is needed. */
node *graph_record(graph *g, const char *op, backward_fn backward, tensor *out,
                   tensor *in0, tensor *in1, tensor *in2, tensor *in3);
/* Does an op with these inputs need a gradient? */
int graph_needs_grad(const graph *g, const tensor *in0, const tensor *in1,
                     const tensor *in2, const tensor *in3);
/* Copies n ints into the arena (so callers may reuse their buffer). */
const int *graph_copy_ints(graph *g, const int *src, size_t n);

/* An internal-consistency failure: prints "posprobe: error: <op>: <msg>" and
 * aborts. Used for shape errors, which are programming errors, not user input. */
#ifdef __GNUC__
__attribute__((noreturn, format(printf, 2, 3)))
#endif
void engine_fail(const char *op, const char *fmt, ...);

/* ----------------------------------------------------------------- BLAS */

/* C = alpha * op(A) op(B) + beta * C, row-major, op(A) (M, K), op(B) (K, N).
 * A is stored (M, K) or, when transposed, (K, M); likewise B. Goes through
 * GSL's CBLAS interface (gsl_blas_sgemm / gsl_blas_dgemm). */
void blas_gemm(int trans_a, int trans_b, int M, int N, int K, real alpha,
               const real *A, const real *B, real beta, real *C);
/* The same with row strides (leading dimensions) lda, ldb, ldc: submatrices,
 * such as one head's columns of a (B, T, H*D) activation. */
void blas_gemm_ld(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
                  const real *B, int ldb, real beta, real *C, int ldc);

/* y = alpha op(A) x + beta y: A (M, N) row-major with row stride lda, op(A) = A^T
 * when trans (x then has M elements and y N). The one-row products of cached
 * decoding: GEMM would copy the whole key or value block into its packed layout
 * for a single row. */
void blas_gemv_ld(int trans, int M, int N, real alpha, const real *A, int lda, const real *x, real beta, real *y);

/* Programs call this first thing in main(). With OpenBLAS on a CPU it does not
 * recognise (it then runs its generic SSE3 "Prescott" kernels), re-executes the
 * program with OPENBLAS_CORETYPE set to blas_kernel_for_cpu(); an
 * OPENBLAS_CORETYPE already set is always respected. Returns only when there is
 * nothing to change or the exec failed. */
void blas_choose_kernel(char **argv);

/* The OpenBLAS kernel set this CPU can run: "SkylakeX" with AVX-512 (F, BW,
 * DQ, VL, CD), else "Haswell" with AVX2 and FMA, else NULL (keep OpenBLAS's
 * own choice). NULL without OpenBLAS. */
const char *blas_kernel_for_cpu(void);

/* y[i] = exp(x[i]) and y[i] = erf(x[i]) for i < n (x == y allowed), several
 * elements per instruction (glibc's libmvec); within 4 ulp of real_exp and
 * real_erf, and an element's value does not depend on its place in x. */
void vec_exp(const real *x, real *y, size_t n);
void vec_erf(const real *x, real *y, size_t n);

/* Sums in double over four interleaved partial sums: a fixed order, so
 * results are deterministic, with four independent additions in flight
 * (a single running sum is one long dependency chain). */
static inline double sum_real_d(const real *x, int n) {
    double s[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= n; j += 4) { s[0] += x[j]; s[1] += x[j + 1]; s[2] += x[j + 2]; s[3] += x[j + 3]; }
    for (; j < n; j++) s[0] += x[j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

static inline double dot_real_d(const real *x, const real *y, int n) {
    double s[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        s[0] += (double)x[j] * y[j];
        s[1] += (double)x[j + 1] * y[j + 1];
        s[2] += (double)x[j + 2] * y[j + 2];
        s[3] += (double)x[j + 3] * y[j + 3];
    }
    for (; j < n; j++) s[0] += (double)x[j] * y[j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* max_j x[j] in eight lanes: one running maximum is a chain of dependent
 * compares the compiler may not reorder; lanes vectorise. -INFINITY for n = 0. */
static inline real max_real(const real *x, int n) {
    real m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    for (; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
    for (int k = 1; k < 8; k++) m[0] = m[k] > m[0] ? m[k] : m[0];
    return m[0];
}

/* argmax_j x[j], the first on ties: the predicted class of a row of logits. */
static inline int argmax_real(const real *x, int n) {
    int best = 0;
    for (int j = 1; j < n; j++) if (x[j] > x[best]) best = j;
    return best;
}

/* The kernel set in use: OpenBLAS's core name ("Haswell", ...) or "gslcblas". */
const char *blas_kernel_name(void);

/* ------------------------------------------------------------------ ops */
/* Broadcasting rule for add, sub and mul: b either has a's shape, or b's
 * shape equals a's trailing dimensions (b repeats over a's leading ones), or b
 * has a's shape but a leading dimension dividing a's ((H, T, S) over
 * (B*H, T, S)); in every case a[i] pairs with b[i % b->n]. */

tensor *op_add(graph *g, tensor *a, tensor *b);
tensor *op_sub(graph *g, tensor *a, tensor *b);
tensor *op_mul(graph *g, tensor *a, tensor *b);
tensor *op_scale(graph *g, tensor *a, real s);
tensor *op_sum(graph *g, tensor *a);                 /* -> (1) */
tensor *op_mean(graph *g, tensor *a);                /* -> (1) */

/* (M, K) x (K, N) -> (M, N); trans_a / trans_b read a as (K, M), b as (N, K). */
tensor *op_matmul(graph *g, tensor *a, tensor *b, int trans_a, int trans_b);
/* (P, M, K) x (P, K, N) -> (P, M, N), one GEMM per leading index. */
tensor *op_bmm(graph *g, tensor *a, tensor *b, int trans_a, int trans_b);
/* x (.., C) W (C, F) + bias (F) -> (.., F); bias may be NULL. */
tensor *op_linear(graph *g, tensor *x, tensor *w, tensor *bias);

/* Depthwise 1-D convolution over the rows: x (B, T, C), w (K, C) -> (B, T, C),
 * y[b, t, c] = sum_k w[k, c] x[b, t + k - left, c] with 0 <= left < K (left =
 * K - 1: causal; (K - 1) / 2 for odd K: centred); rows outside [0, T) are
 * zeros, or with circular = 1 the rows mod T. No bias. */
tensor *op_dwconv1d(graph *g, tensor *x, tensor *w, int left, int circular);
/* table (V, C), ids (N) -> (N, C); an id outside [0, V) is an error. */
tensor *op_embedding(graph *g, tensor *table, const int *ids, int n);
/* A view with another shape and the same data (and gradient) memory. */
tensor *op_reshape(graph *g, tensor *a, int ndim, const int *shape);
/* (B, T, H*D) -> (B*H, T, D) and back. */
tensor *op_split_heads(graph *g, tensor *x, int heads);
tensor *op_merge_heads(graph *g, tensor *x, int heads);

/* Over the last dimension C: gamma, beta (C). */
tensor *op_layernorm(graph *g, tensor *x, tensor *gamma, tensor *beta, real eps);
tensor *op_rmsnorm(graph *g, tensor *x, tensor *gamma, real eps);
/* Each row of the last dimension divided by its l2 norm; a zero row stays zero. */
tensor *op_unit_rows(graph *g, tensor *x);

tensor *op_exp(graph *g, tensor *x);
tensor *op_sqrt(graph *g, tensor *x);                /* x >= 0 */
/* (.., C) -> (.., 1): the sum of each row. */
tensor *op_rows_sum(graph *g, tensor *x);
/* x (.., C) / r (.., 1), row by row; a zero divisor gives a zero row. */
tensor *op_rows_div(graph *g, tensor *x, tensor *r);

tensor *op_tanh(graph *g, tensor *x);
tensor *op_sigmoid(graph *g, tensor *x);
tensor *op_softplus(graph *g, tensor *x);          /* log(1 + e^x) */
/* (A, 1, C) -> (A, n, C), the row repeated. */
tensor *op_tile(graph *g, tensor *x, int n);
/* (P, M, N) -> (P, N, M). */
tensor *op_transpose(graph *g, tensor *x);

tensor *op_relu(graph *g, tensor *x);
/* elu(x) + 1: x + 1 for x > 0, e^x otherwise; a positive feature map of
 * linear attention (Katharopoulos et al. 2020, 8265). */
tensor *op_elu1(graph *g, tensor *x);
tensor *op_gelu(graph *g, tensor *x);                /* exact, with erf */
tensor *op_swish(graph *g, tensor *x);               /* x * sigmoid(x) */
/* Inverted dropout with keep probability 1-p; mask drawn from uniform01(),
 * an R -> [0,1) callback so the caller owns the random stream. */
tensor *op_dropout(graph *g, tensor *x, real p, double (*uniform01)(void *), void *rng);

/* Softmax over the last dimension of (x + mask); mask may be NULL, follows the
 * broadcasting rule, and may hold -INFINITY. A fully masked row gives zeros. */
tensor *op_softmax(graph *g, tensor *x, tensor *mask);
/* logits (N, K), targets (N) in [0, K) or -1 (ignored) -> mean loss over the
 * scored rows (0 when none is scored). */
tensor *op_cross_entropy(graph *g, tensor *logits, const int *targets);
/* pred (N), target (N), weight (N) or NULL (all 1): sum w (p-t)^2 / sum w. */
tensor *op_mse(graph *g, tensor *pred, const real *target, const real *weight);

/* ------------------------------------------------------------ attention */

typedef enum { MASK_BIDIR = 0, MASK_CAUSAL = 1 } attn_mask;

/* Normalizers of the attention scores b (article 9105 and its references). */
typedef enum {
    NORM_SOFTMAX = 0,   /* e^b / sum e^b                                  */
    NORM_L2,            /* e^b / sqrt(sum e^2b)                           */
    NORM_NODENOM,       /* e^b                                            */
    NORM_RELU2N,        /* relu(b)^2 / n, n = visible keys in the row     */
    NORM_SWISHL2,       /* swish(b) / ||swish(b)||_2                      */
    NORM_LOGSCALED,     /* softmax(b * log n / log n_train)               */
    /* Linear attention (8265): no score matrix, so no bias; attention is
     * op_linear_attn_sum / op_rows_div, not op_attn_probs (the model applies
     * the feature maps around the encoding's rotation, model.c). */
    NORM_LINEAR,        /* phi = elu + 1 before RoPE; rotated in numerator and denominator */
    NORM_LINEAR_NUM,    /* the same, the denominator from the un-rotated phi(q), phi(k)  */
    NORM_COS1,          /* 1 + cos(q, k) of rotated q, k, divided by its row sum         */
    NORM_COUNT
} attn_norm;

const char *attn_norm_name(attn_norm k);
const char *attn_norm_describe(attn_norm k);
int attn_norm_parse(const char *s, attn_norm *out);   /* 0 on success */
/* Is k a linear-attention normalizer (NORM_LINEAR, NORM_LINEAR_NUM, NORM_COS1)? */
int attn_norm_is_linear(attn_norm k);
const char *attn_mask_name(attn_mask m);
int attn_mask_parse(const char *s, attn_mask *out);

typedef struct attn_opts {
    real scale;          /* multiplies q.k (usually 1/sqrt(D)) */
    attn_mask mask;
    attn_norm norm;
    int n_train;         /* NORM_LOGSCALED: the training length (>= 2) */
    int heads;           /* H: to broadcast a (H, T, S) bias over the batch */
    int merged;          /* q, k, v (and the output of op_attn_values) are (B, T, H*D), the heads side
                            by side as a linear layer writes them, instead of (B*H, T, D): no copies
                            into and out of the head layout. Needs heads. */
    int kv_rows;         /* 0, or the rows (>= S) that k and v hold per head (per sequence when merged):
                            their first S rows are used, so a key/value cache with room for more rows
                            is read in place (kvcache.h). */
} attn_opts;

/* Fused scores + mask + normalizer:
 *   q (B*H, T, D), k (B*H, S, D), bias NULL or (H, T, S) or (B*H, T, S)
 *   -> A (B*H, T, S), A[i, j] = norm_j(scale * q_i.k_j + bias_ij) over visible j.
 * Causal: key j is visible from query i when j <= i + S - T.
 * With o->merged, q is (B, T, H*D) and k (B, S, H*D); A is the same.
 * With o->kv_rows, k's heads (sequences when merged) lie kv_rows rows apart. */
tensor *op_attn_probs(graph *g, tensor *q, tensor *k, tensor *bias, const attn_opts *o);
/* A V per head: A (B*H, T, S), v (B*H, S, Dv) -> (B*H, T, Dv); with
 * o->merged, v (B, S, H*Dv) -> (B, T, H*Dv). v lies like k under o->kv_rows. */
tensor *op_attn_values(graph *g, tensor *A, tensor *v, const attn_opts *o);
/* op_attn_probs then op_attn_values. */
tensor *op_attention(graph *g, tensor *q, tensor *k, tensor *v, tensor *bias,
                     const attn_opts *o);

/* Linear attention (8265; attention_linear.c), heads split (not o->merged):
 * q (P, T, D), k (P, S, D), v (P, S, Dv) -> (P, T, Dv),
 *   out_i = sum_{j visible} (c + q_i.k_j) v_j,
 * and with v NULL -> (P, T, 1), sum_{j visible} (c + q_i.k_j): a denominator.
 * The linear form, never (T, S): running sums of k_j v_j^T and v_j over the
 * keys in key order (causal: key j visible from row i when j <= i + S - T;
 * bidirectional: the full sums), O((T + S) D Dv) per head, in double. k and
 * v may lie o->kv_rows rows apart per head (a key/value cache). o->mask and
 * o->kv_rows are read; o->norm and o->scale are not. */
tensor *op_linear_attn_sum(graph *g, tensor *q, tensor *k, tensor *v, real c, const attn_opts *o);
/* The linear form's output: op_linear_attn_sum(q, k, v, c) divided row by row
 * (op_rows_div: a zero denominator gives a zero row) by
 * op_linear_attn_sum(qd, kd, NULL, c); qd, kd NULL: q, k. */
tensor *op_linear_attention(graph *g, tensor *q, tensor *k, tensor *v, tensor *qd, tensor *kd, real c,
                            const attn_opts *o);
/* The quadratic form of the same weights, materialised: A (P, T, S),
 *   a_ij = (c + q_i.k_j) / sum_{j visible} (c + qd_i.kd_j), 0 where masked,
 * composed of plain ops (bmm, mul, add, rows_sum, rows_div), so its gradient
 * is theirs. op_attn_values(A, v) equals op_linear_attention; for the tests
 * and for reading the weights (--dump-attention). Not with o->kv_rows. */
tensor *op_linear_attn_probs(graph *g, tensor *q, tensor *k, tensor *qd, tensor *kd, real c, const attn_opts *o);

#endif
