/* GEMM through GSL's CBLAS interface, on matrix views of arena memory. */
#include "engine.h"

#include <gsl/gsl_blas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef POSPROBE_OPENBLAS
/* One thread, whatever the environment says: a run's results must not depend
 * on how OpenBLAS splits a product (summation order), and suites get their
 * parallelism from running one process per core. */
extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);
__attribute__((constructor)) static void blas_single_thread(void) { openblas_set_num_threads(1); }

const char *blas_kernel_name(void) { return openblas_get_corename(); }

const char *blas_kernel_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

/* OpenBLAS picks its kernels once, when it is loaded, from the CPU model; on a
 * model it does not know (new Xeons, many virtual CPUs) it falls back to
 * "Prescott" (SSE3), 2-3x slower than its AVX2 kernels here, and its AVX-512
 * kernels are faster again (small products have their own kernels there). Its
 * documented way to choose is OPENBLAS_CORETYPE, read at load time, hence the
 * re-exec. */
void blas_choose_kernel(char **argv) {
    if (getenv("OPENBLAS_CORETYPE")) return;                 /* the user's (or the site's) choice */
    if (strcmp(openblas_get_corename(), "Prescott") != 0) return;   /* a CPU OpenBLAS knows */
    const char *kernel = blas_kernel_for_cpu();
    if (!kernel) return;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return;     /* under valgrind: exec would leave it */
    if (setenv("OPENBLAS_CORETYPE", kernel, 1)) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");                           /* exec failed: carry on as we are */
}
#else
const char *blas_kernel_name(void) { return "gslcblas"; }
const char *blas_kernel_for_cpu(void) { return NULL; }
void blas_choose_kernel(char **argv) { (void)argv; }
#endif

void blas_gemm_ld(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
                  const real *B, int ldb, real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) { /* GSL views cannot be empty: op(A) op(B) is the zero matrix */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    CBLAS_TRANSPOSE_t ta = trans_a ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE_t tb = trans_b ? CblasTrans : CblasNoTrans;
#ifdef POSPROBE_DOUBLE
    gsl_matrix_const_view a = gsl_matrix_const_view_array_with_tda(A, trans_a ? K : M, trans_a ? M : K, lda);
    gsl_matrix_const_view b = gsl_matrix_const_view_array_with_tda(B, trans_b ? N : K, trans_b ? K : N, ldb);
    gsl_matrix_view c = gsl_matrix_view_array_with_tda(C, M, N, ldc);
    gsl_blas_dgemm(ta, tb, alpha, &a.matrix, &b.matrix, beta, &c.matrix);
#else
    gsl_matrix_float_const_view a = gsl_matrix_float_const_view_array_with_tda(A, trans_a ? K : M, trans_a ? M : K, lda);
    gsl_matrix_float_const_view b = gsl_matrix_float_const_view_array_with_tda(B, trans_b ? N : K, trans_b ? K : N, ldb);
    gsl_matrix_float_view c = gsl_matrix_float_view_array_with_tda(C, M, N, ldc);
    gsl_blas_sgemm(ta, tb, alpha, &a.matrix, &b.matrix, beta, &c.matrix);
#endif
}

void blas_gemv_ld(int trans, int M, int N, real alpha, const real *A, int lda, const real *x, real beta, real *y) {
    if (M == 0 || N == 0) return;
#ifdef POSPROBE_DOUBLE
    gsl_matrix_const_view a = gsl_matrix_const_view_array_with_tda(A, M, N, lda);
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, trans ? M : N);
    gsl_vector_view yv = gsl_vector_view_array(y, trans ? N : M);
    gsl_blas_dgemv(trans ? CblasTrans : CblasNoTrans, alpha, &a.matrix, &xv.vector, beta, &yv.vector);
#else
    gsl_matrix_float_const_view a = gsl_matrix_float_const_view_array_with_tda(A, M, N, lda);
    gsl_vector_float_const_view xv = gsl_vector_float_const_view_array(x, trans ? M : N);
    gsl_vector_float_view yv = gsl_vector_float_view_array(y, trans ? N : M);
    gsl_blas_sgemv(trans ? CblasTrans : CblasNoTrans, alpha, &a.matrix, &xv.vector, beta, &yv.vector);
#endif
}

void blas_gemm(int trans_a, int trans_b, int M, int N, int K, real alpha,
               const real *A, const real *B, real beta, real *C) {
    blas_gemm_ld(trans_a, trans_b, M, N, K, alpha, A, trans_a ? M : K, B, trans_b ? K : N, beta, C, N);
}
