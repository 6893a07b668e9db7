/* exp and erf over arrays through glibc's vector math library (libmvec), the
 * functions GCC itself calls when it vectorises expf/erff under -ffast-math.
 * We call them by name instead, so the rest of the program keeps strict IEEE
 * semantics. The AVX2 variants (8 floats or 4 doubles at a time) run when the
 * CPU has AVX2, the SSE ones (x86-64 baseline) otherwise. The tail of an array
 * goes through the same vector call, padded, so an element's value never
 * depends on where it sits in the array. Within 4 ulp of the scalar functions
 * (glibc's documented libmvec accuracy). */
#include "engine.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__)

#ifdef POSPROBE_DOUBLE
#define WIDE 4     /* AVX2 lanes */
#define NARROW 2   /* SSE lanes */
typedef double wide_v __attribute__((vector_size(32)));
typedef double narrow_v __attribute__((vector_size(16)));
#define WIDE_EXP _ZGVdN4v_exp
#define WIDE_ERF _ZGVdN4v_erf
#define NARROW_EXP _ZGVbN2v_exp
#define NARROW_ERF _ZGVbN2v_erf
#else
#define WIDE 8
#define NARROW 4
typedef float wide_v __attribute__((vector_size(32)));
typedef float narrow_v __attribute__((vector_size(16)));
#define WIDE_EXP _ZGVdN8v_expf
#define WIDE_ERF _ZGVdN8v_erff
#define NARROW_EXP _ZGVbN4v_expf
#define NARROW_ERF _ZGVbN4v_erff
#endif

__attribute__((target("avx2"))) wide_v WIDE_EXP(wide_v);
__attribute__((target("avx2"))) wide_v WIDE_ERF(wide_v);
narrow_v NARROW_EXP(narrow_v);
narrow_v NARROW_ERF(narrow_v);

/* One loop per (width, function): the vector type fixes the calling
 * convention, so the function cannot be a run-time parameter of one loop. */
#define VEC_LOOP(name, attr, vtype, lanes, fn)                                   \
    attr static void name(const real *x, real *y, size_t n) {                   \
        size_t i = 0;                                                           \
        for (; i + lanes <= n; i += lanes) {                                    \
            vtype v;                                                            \
            memcpy(&v, x + i, sizeof v);                                        \
            v = fn(v);                                                          \
            memcpy(y + i, &v, sizeof v);                                        \
        }                                                                       \
        if (i < n) { /* the tail, padded with zeros */                          \
            real pad[lanes] = {0};                                              \
            memcpy(pad, x + i, (n - i) * sizeof(real));                         \
            vtype v;                                                            \
            memcpy(&v, pad, sizeof v);                                          \
            v = fn(v);                                                          \
            memcpy(pad, &v, sizeof v);                                          \
            memcpy(y + i, pad, (n - i) * sizeof(real));                         \
        }                                                                       \
    }

VEC_LOOP(wide_exp, __attribute__((target("avx2"))), wide_v, WIDE, WIDE_EXP)
VEC_LOOP(wide_erf, __attribute__((target("avx2"))), wide_v, WIDE, WIDE_ERF)
VEC_LOOP(narrow_exp, , narrow_v, NARROW, NARROW_EXP)
VEC_LOOP(narrow_erf, , narrow_v, NARROW, NARROW_ERF)

void vec_exp(const real *x, real *y, size_t n) {
    if (__builtin_cpu_supports("avx2")) wide_exp(x, y, n);
    else narrow_exp(x, y, n);
}

void vec_erf(const real *x, real *y, size_t n) {
    if (__builtin_cpu_supports("avx2")) wide_erf(x, y, n);
    else narrow_erf(x, y, n);
}

#else /* elsewhere: the scalar functions */

void vec_exp(const real *x, real *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = real_exp(x[i]);
}

void vec_erf(const real *x, real *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = real_erf(x[i]);
}

#endif
