/* Arithmetic reductions: sum, prod, mean, var, std, nansum, nanmean.
 *
 * This file is compiled twice: on its own for the baseline ISA, and included
 * by reduce-arith-avx2.c with REDUCE_ISA defined as avx2.  Both builds do the
 * same IEEE operations in the same order (the code is written so that the
 * vectoriser needs no reassociation, and ISO C mode keeps FMA contraction
 * off), so their results are bit-identical and the choice of kernel never
 * shows in a result.
 *
 * Accumulator records (all fields float64 or int64, so sizes are multiples
 * of 8):
 *   sum, nansum, prod   int64 (bool and integers, wrapping) or double
 *   mean, nanmean       {double sum; double n}
 *   var, std            {double n; double mean; double m2}
 * Counts are kept as doubles (exact below 2^53) so that the elementwise
 * updates stay in one register type and vectorise. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reduce-internal.h"

/* The results must not depend on the build, so no fused multiply-adds:
 * GCC does not contract in the ISO C mode floe builds in (-std=c11; the
 * baseline/AVX2 parity test would catch a change), Clang would. */
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#ifndef REDUCE_ISA
#define REDUCE_ISA generic
#endif
#define RCAT2(a, b) a##_##b
#define RCAT(a, b) RCAT2(a, b)
#define ARITH_GET RCAT(floe__reduce_arith, REDUCE_ISA)

/* Declared again in reduce.c, the only caller. */
const floe__reducer *ARITH_GET(floe_reduce_op op, floe_dtype in);

typedef struct mean_acc {
  double sum;
  double n;
} mean_acc;

typedef struct var_acc {
  double n;
  double mean;
  double m2;
} var_acc;

/* ------------------------------------------------------- pairwise sums */

/* NumPy's pairwise summation (numpy/core/src/umath/loops_utils.h.src) with
 * W = 8 and BLOCK = 128: below W elements a plain loop, up to BLOCK W
 * independent partial sums (lane j takes elements j, j+W, ...; the loop
 * vectorises without reassociation), above that the halves at a multiple
 * of W.  Sums and means use exactly NumPy's order.  The two passes of var
 * over a cached tile (its mean, then the squared deviations from it) use
 * W = 16 and BLOCK = 1024 instead: twice the independent chains and an
 * eighth of the per-block overhead, which brings var's fold near twice the
 * cost of a sum; the error bound stays far below what var needs.  LD maps
 * an element to the double that is summed; c is its parameter (the mean
 * for squared deviations). */
#define PW_BLOCK 128
#define VAR_BLOCK 1024
#define LD_ID(v, c) ((double)(v))
#define LD_NAN0(v, c) ((v) == (v) ? (double)(v) : 0.0)
#define LD_DEV2(v, c) (((double)(v) - (c)) * ((double)(v) - (c)))

/* The fixed combination of the W lanes: NumPy's tree for 8, two of them for 16. */
static inline double combine8(const double *l) {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

static inline double combine(const double *l, int w) {
  return w == 8 ? combine8(l) : combine8(l) + combine8(l + 8);
}

#define DEFINE_PAIRWISE(name, T, LD, W, BLOCK)                                                     \
  static double name(const T *a, int64_t n, double c) {                                            \
    if (n < W) {                                                                                   \
      double res = 0.0;                                                                            \
      for (int64_t i = 0; i < n; i++) {                                                            \
        res += LD(a[i], c);                                                                        \
      }                                                                                            \
      return res;                                                                                  \
    }                                                                                              \
    if (n <= BLOCK) {                                                                              \
      double r[W];                                                                                 \
      for (int j = 0; j < W; j++) {                                                                \
        r[j] = LD(a[j], c);                                                                        \
      }                                                                                            \
      int64_t i;                                                                                   \
      for (i = W; i < n - n % W; i += W) {                                                         \
        for (int j = 0; j < W; j++) {                                                              \
          r[j] += LD(a[i + j], c);                                                                 \
        }                                                                                          \
      }                                                                                            \
      double res = combine(r, W);                                                                  \
      for (; i < n; i++) {                                                                         \
        res += LD(a[i], c);                                                                        \
      }                                                                                            \
      return res;                                                                                  \
    }                                                                                              \
    int64_t n2 = n / 2;                                                                            \
    n2 -= n2 % W;                                                                                  \
    return name(a, n2, c) + name(a + n2, n - n2, c);                                               \
  }

/* Float inputs take the same sums written with GCC/Clang vector types of
 * VL doubles (the build's register width: 2 baseline, 4 with AVX2), so that
 * the W partial sums are exactly W/VL registers (the auto-vectoriser
 * spilled them through the stack with AVX2).  Lane j is element j % VL of
 * r[j / VL] and the final combination is the scalar one, so both builds
 * agree bit for bit with each other and with DEFINE_PAIRWISE (used for
 * integers, and for float32 in the baseline build). */
#if defined(__AVX2__)
#define VL 4
#else
#define VL 2
#endif
typedef double vd __attribute__((vector_size(VL * 8)));
typedef long long vl __attribute__((vector_size(VL * 8)));
typedef float vf __attribute__((vector_size(VL * 4)));
/* Two-lane vectors for the accumulate kernels, in both builds. */
typedef double v2d __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));
typedef long long v2l __attribute__((vector_size(16)));

#if defined(__clang__)
#define SHUF2(a, b, i, j) __builtin_shufflevector(a, b, i, j)
#else
#define SHUF2(a, b, i, j) __builtin_shuffle(a, b, (v2l){i, j})
#endif

#define VLOAD_f64(v, p) memcpy(&(v), (p), sizeof(vd))
#define VLOAD_f32(v, p)                                                                            \
  do {                                                                                             \
    vf f_;                                                                                         \
    memcpy(&f_, (p), sizeof f_);                                                                   \
    (v) = __builtin_convertvector(f_, vd);                                                         \
  } while (0)
#define VLOAD2_f64(v, p) memcpy(&(v), (p), sizeof(v2d))
#define VLOAD2_f32(v, p)                                                                           \
  do {                                                                                             \
    v2f f_;                                                                                        \
    memcpy(&f_, (p), sizeof f_);                                                                   \
    (v) = __builtin_convertvector(f_, v2d);                                                        \
  } while (0)
#define TR_ID(v, c) (v)
#define TR_NAN0(v, c) ((vd)((vl)(v) & (vl)((v) == (v))))
#define TR_DEV2(v, c) (((v) - (c)) * ((v) - (c)))

#define DEFINE_PAIRWISE_VEC(name, T, VLOAD, TR, LD, W, BLOCK)                                      \
  static double name(const T *a, int64_t n, double c) {                                            \
    if (n < W) {                                                                                   \
      double res = 0.0;                                                                            \
      for (int64_t i = 0; i < n; i++) {                                                            \
        res += LD(a[i], c);                                                                        \
      }                                                                                            \
      return res;                                                                                  \
    }                                                                                              \
    if (n <= BLOCK) {                                                                              \
      vd r[W / VL], t;                                                                             \
      for (int k = 0; k < W / VL; k++) {                                                           \
        VLOAD(t, a + k * VL);                                                                      \
        r[k] = TR(t, c);                                                                           \
      }                                                                                            \
      int64_t i;                                                                                   \
      for (i = W; i < n - n % W; i += W) {                                                         \
        for (int k = 0; k < W / VL; k++) {                                                         \
          VLOAD(t, a + i + k * VL);                                                                \
          r[k] += TR(t, c);                                                                        \
        }                                                                                          \
      }                                                                                            \
      double l[W];                                                                                 \
      memcpy(l, r, sizeof l);                                                                      \
      double res = combine(l, W);                                                                  \
      for (; i < n; i++) {                                                                         \
        res += LD(a[i], c);                                                                        \
      }                                                                                            \
      return res;                                                                                  \
    }                                                                                              \
    int64_t n2 = n / 2;                                                                            \
    n2 -= n2 % W;                                                                                  \
    return name(a, n2, c) + name(a + n2, n - n2, c);                                               \
  }

#if defined(__AVX2__)
#define PAIRWISE_FLOAT(name, T, tag, TR, LD, W, BLOCK)                                             \
  DEFINE_PAIRWISE_VEC(name, T, VLOAD_##tag, TR, LD, W, BLOCK)
#else /* SSE2 converts float pairs badly through vector types */
#define PAIRWISE_FLOAT(name, T, tag, TR, LD, W, BLOCK)                                             \
  PAIRWISE_BASE_##tag(name, T, TR, LD, W, BLOCK)
#define PAIRWISE_BASE_f64(name, T, TR, LD, W, BLOCK)                                               \
  DEFINE_PAIRWISE_VEC(name, T, VLOAD_f64, TR, LD, W, BLOCK)
#define PAIRWISE_BASE_f32(name, T, TR, LD, W, BLOCK) DEFINE_PAIRWISE(name, T, LD, W, BLOCK)
#endif

/* ------------------------------------------------------------- var/std */

/* Chan, Golub & LeVeque's update: merges a group of nb values with mean mb
 * and sum of squared deviations m2b into a. */
static inline void chan(var_acc *a, double nb, double mb, double m2b) {
  if (nb == 0) {
    return;
  }
  if (a->n == 0) {
    a->n = nb;
    a->mean = mb;
    a->m2 = m2b;
    return;
  }
  double n = a->n + nb;
  double d = mb - a->mean;
  a->mean += d * (nb / n);
  a->m2 += m2b + d * d * (a->n * nb / n);
  a->n = n;
}

static void var_init(void *acc, int64_t n) {
  memset(acc, 0, (size_t)n * sizeof(var_acc));
}

static void var_merge(void *dst, const void *src, int64_t n) {
  var_acc *d = dst;
  const var_acc *s = src;
  for (int64_t j = 0; j < n; j++) {
    chan(&d[j], s[j].n, s[j].mean, s[j].m2);
  }
}

/* NumPy divides by max(n - ddof, 0): a zero M2 over that gives NaN, a
 * positive one inf (numpy.var([1., 2., 3.], ddof=3) is inf); the empty
 * reduction gives NaN. */
static inline double var_of(const var_acc *a, int ddof) {
  if (a->n == 0) {
    return NAN;
  }
  double dof = a->n - (double)ddof;
  return a->m2 / (dof > 0 ? dof : 0.0);
}

#define DEFINE_VAR_FINALIZE(tag, OUT)                                                              \
  static void var_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {                \
    const var_acc *a = acc;                                                                        \
    OUT *o = out;                                                                                  \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = (OUT)var_of(&a[j], ddof);                                                             \
    }                                                                                              \
  }                                                                                                \
  static void std_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {                \
    const var_acc *a = acc;                                                                        \
    OUT *o = out;                                                                                  \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = (OUT)sqrt(var_of(&a[j], ddof));                                                       \
    }                                                                                              \
  }
DEFINE_VAR_FINALIZE(f32, float)
DEFINE_VAR_FINALIZE(f64, double)

/* ----------------------------------------------------------- mean, sums */

static void zero8_init(void *acc, int64_t n) {
  memset(acc, 0, (size_t)n * 8);
}

static void mean_init(void *acc, int64_t n) {
  memset(acc, 0, (size_t)n * sizeof(mean_acc));
}

static void mean_merge(void *dst, const void *src, int64_t n) {
  mean_acc *d = dst;
  const mean_acc *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j].sum += s[j].sum;
    d[j].n += s[j].n;
  }
}

#define DEFINE_FLOAT_FINALIZE(tag, OUT)                                                            \
  static void mean_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {               \
    const mean_acc *a = acc;                                                                       \
    OUT *o = out;                                                                                  \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = (OUT)(a[j].n > 0 ? a[j].sum / a[j].n : NAN);                                          \
    }                                                                                              \
  }                                                                                                \
  static void fsum_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {               \
    const double *a = acc;                                                                         \
    OUT *o = out;                                                                                  \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = (OUT)a[j];                                                                            \
    }                                                                                              \
  }
DEFINE_FLOAT_FINALIZE(f32, float)
DEFINE_FLOAT_FINALIZE(f64, double)

static void fsum_merge(void *dst, const void *src, int64_t n) {
  double *d = dst;
  const double *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] += s[j];
  }
}

static void fprod_init(void *acc, int64_t n) {
  double *a = acc;
  for (int64_t j = 0; j < n; j++) {
    a[j] = 1.0;
  }
}

static void fprod_merge(void *dst, const void *src, int64_t n) {
  double *d = dst;
  const double *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] *= s[j];
  }
}

/* Integer sums and products wrap modulo 2^64, computed unsigned. */
static void isum_merge(void *dst, const void *src, int64_t n) {
  uint64_t *d = dst;
  const uint64_t *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] += s[j];
  }
}

static void iprod_init(void *acc, int64_t n) {
  uint64_t *a = acc;
  for (int64_t j = 0; j < n; j++) {
    a[j] = 1;
  }
}

static void iprod_merge(void *dst, const void *src, int64_t n) {
  uint64_t *d = dst;
  const uint64_t *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] *= s[j];
  }
}

static void i64_finalize(const void *acc, void *out, int64_t n, int ddof) {
  memcpy(out, acc, (size_t)n * 8);
}

/* ------------------------------------------------- per-dtype kernels */

/* mean and var folds: every dtype goes through double.  Needs pw_##tag and
 * pwdev_##tag. */
#define DEFINE_COMMON(tag, T)                                                                      \
  static void mean_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {               \
    mean_acc *a = acc;                                                                             \
    a->sum += pw_##tag(x, n, 0.0);                                                                 \
    a->n += (double)n;                                                                             \
  }                                                                                                \
  /* One pass over memory, two over the tile (in cache): its mean, then the                        \
   * squared deviations from it, merged with Chan's formula. */                                    \
  static void var_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {                \
    if (n <= 0) {                                                                                  \
      return;                                                                                      \
    }                                                                                              \
    double mb = pwvar_##tag(x, n, 0.0) / (double)n;                                                \
    chan(acc, (double)n, mb, pwdev_##tag(x, n, mb));                                               \
  }

/* One Welford step of record a with value v and 1/k (k: the new count).
 * The vector loops below do exactly these operations. */
static inline void welford(var_acc *a, double v, double k, double inv) {
  double d = v - a->mean;
  double mean = a->mean + d * inv;
  a->m2 += d * (v - mean);
  a->mean = mean;
  a->n = k;
}

/* Scalar mean/var accumulate (integers). */
#define DEFINE_ACCUMULATE_SCALAR(tag, T)                                                           \
  static void mean_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {          \
    mean_acc *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].sum += (double)p[j];                                                                    \
      a[j].n += 1.0;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void var_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    var_acc *a = acc;                                                                              \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      double k = a[j].n + 1.0;                                                                     \
      welford(&a[j], (double)p[j], k, 1.0 / k);                                                    \
    }                                                                                              \
  }

/* Vector mean/var accumulate for floats, two records at a time: a mean
 * record pair is [s0 n0][s1 n1], a var pair [n0 m0][q0 n1][m1 q1]
 * (n count, m mean, q M2), regrouped with shuffles.  The caller gives all
 * records of a call the same count, so 1/k is computed once; a record whose
 * count differs takes the scalar step, which gives the same bits. */
#define DEFINE_ACCUMULATE_VEC(tag, T)                                                              \
  static void mean_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {          \
    char *a = acc;                                                                                 \
    const T *p = x;                                                                                \
    const v2d one = {1.0, 1.0};                                                                    \
    int64_t j = 0;                                                                                 \
    for (; j + 2 <= n; j += 2) {                                                                   \
      v2d v, r0, r1;                                                                               \
      VLOAD2_##tag(v, p + j);                                                                      \
      memcpy(&r0, a + 16 * j, sizeof r0);                                                          \
      memcpy(&r1, a + 16 * j + 16, sizeof r1);                                                     \
      r0 += SHUF2(v, one, 0, 2);                                                                   \
      r1 += SHUF2(v, one, 1, 3);                                                                   \
      memcpy(a + 16 * j, &r0, sizeof r0);                                                          \
      memcpy(a + 16 * j + 16, &r1, sizeof r1);                                                     \
    }                                                                                              \
    mean_acc *m = acc;                                                                             \
    for (; j < n; j++) {                                                                           \
      m[j].sum += (double)p[j];                                                                    \
      m[j].n += 1.0;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void var_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    var_acc *a = acc;                                                                              \
    const T *p = x;                                                                                \
    if (n <= 0) {                                                                                  \
      return;                                                                                      \
    }                                                                                              \
    const double n0 = a[0].n, k = n0 + 1.0, inv = 1.0 / k;                                         \
    const v2d kk = {k, k};                                                                         \
    int64_t j = 0;                                                                                 \
    for (; j + 2 <= n; j += 2) {                                                                   \
      if (a[j].n != n0 || a[j + 1].n != n0) {                                                      \
        for (int64_t t = j; t < j + 2; t++) {                                                      \
          double kt = a[t].n + 1.0;                                                                \
          welford(&a[t], (double)p[t], kt, 1.0 / kt);                                              \
        }                                                                                          \
        continue;                                                                                  \
      }                                                                                            \
      char *r = (char *)(a + j);                                                                   \
      v2d r0, r1, r2, v;                                                                           \
      memcpy(&r0, r, sizeof r0);                                                                   \
      memcpy(&r1, r + 16, sizeof r1);                                                              \
      memcpy(&r2, r + 32, sizeof r2);                                                              \
      VLOAD2_##tag(v, p + j);                                                                      \
      v2d m = SHUF2(r0, r2, 1, 2);                                                                 \
      v2d q = SHUF2(r1, r2, 0, 3);                                                                 \
      v2d d = v - m;                                                                               \
      v2d m1 = m + d * inv;                                                                        \
      q += d * (v - m1);                                                                           \
      r0 = SHUF2(kk, m1, 0, 2);                                                                    \
      r1 = SHUF2(q, kk, 0, 3);                                                                     \
      r2 = SHUF2(m1, q, 1, 3);                                                                     \
      memcpy(r, &r0, sizeof r0);                                                                   \
      memcpy(r + 16, &r1, sizeof r1);                                                              \
      memcpy(r + 32, &r2, sizeof r2);                                                              \
    }                                                                                              \
    for (; j < n; j++) {                                                                           \
      double kt = a[j].n + 1.0;                                                                    \
      welford(&a[j], (double)p[j], kt, 1.0 / kt);                                                  \
    }                                                                                              \
  }

/* Bool and integers: wrapping int64 sum and product. */
#define DEFINE_INT(tag, T)                                                                         \
  DEFINE_PAIRWISE(pw_##tag, T, LD_ID, 8, PW_BLOCK)                                                 \
  DEFINE_PAIRWISE(pwdev_##tag, T, LD_DEV2, 16, VAR_BLOCK)                                          \
  DEFINE_PAIRWISE(pwvar_##tag, T, LD_ID, 16, VAR_BLOCK)                                            \
  DEFINE_COMMON(tag, T)                                                                            \
  DEFINE_ACCUMULATE_SCALAR(tag, T)                                                                 \
  static void sum_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {                \
    const T *p = x;                                                                                \
    uint64_t s = 0;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                              \
      s += (uint64_t)(int64_t)p[i];                                                                \
    }                                                                                              \
    *(uint64_t *)acc += s;                                                                         \
  }                                                                                                \
  static void sum_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    uint64_t *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] += (uint64_t)(int64_t)p[j];                                                             \
    }                                                                                              \
  }                                                                                                \
  static void prod_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {               \
    const T *p = x;                                                                                \
    uint64_t s = 1;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                              \
      s *= (uint64_t)(int64_t)p[i];                                                                \
    }                                                                                              \
    *(uint64_t *)acc *= s;                                                                         \
  }                                                                                                \
  static void prod_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {          \
    uint64_t *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] *= (uint64_t)(int64_t)p[j];                                                             \
    }                                                                                              \
  }

/* Floats: double accumulators; nan* forms read NaN as "absent". */
#define DEFINE_FLOAT(tag, T)                                                                       \
  PAIRWISE_FLOAT(pw_##tag, T, tag, TR_ID, LD_ID, 8, PW_BLOCK)                                      \
  PAIRWISE_FLOAT(pwdev_##tag, T, tag, TR_DEV2, LD_DEV2, 16, VAR_BLOCK)                             \
  PAIRWISE_FLOAT(pwvar_##tag, T, tag, TR_ID, LD_ID, 16, VAR_BLOCK)                                 \
  PAIRWISE_FLOAT(pwnan_##tag, T, tag, TR_NAN0, LD_NAN0, 8, PW_BLOCK)                               \
  DEFINE_COMMON(tag, T)                                                                            \
  DEFINE_ACCUMULATE_VEC(tag, T)                                                                    \
  static void sum_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {                \
    *(double *)acc += pw_##tag(x, n, 0.0);                                                         \
  }                                                                                                \
  static void sum_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    double *a = acc;                                                                               \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] += (double)p[j];                                                                        \
    }                                                                                              \
  }                                                                                                \
  static void nansum_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {             \
    *(double *)acc += pwnan_##tag(x, n, 0.0);                                                      \
  }                                                                                                \
  static void nansum_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {        \
    double *a = acc;                                                                               \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] += LD_NAN0(p[j], 0);                                                                    \
    }                                                                                              \
  }                                                                                                \
  /* Products stay sequential, as NumPy's are. */                                                  \
  static void prod_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {               \
    const T *p = x;                                                                                \
    double s = *(double *)acc;                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                              \
      s *= (double)p[i];                                                                           \
    }                                                                                              \
    *(double *)acc = s;                                                                            \
  }                                                                                                \
  static void prod_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {          \
    double *a = acc;                                                                               \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] *= (double)p[j];                                                                        \
    }                                                                                              \
  }                                                                                                \
  static void nanmean_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {            \
    mean_acc *a = acc;                                                                             \
    const T *p = x;                                                                                \
    int64_t k = 0;                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                              \
      k += p[i] == p[i];                                                                           \
    }                                                                                              \
    a->sum += pwnan_##tag(p, n, 0.0);                                                              \
    a->n += (double)k;                                                                             \
  }                                                                                                \
  static void nanmean_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {       \
    mean_acc *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].sum += LD_NAN0(p[j], 0);                                                                \
      a[j].n += p[j] == p[j] ? 1.0 : 0.0;                                                          \
    }                                                                                              \
  }

/* X(NAME, tag, C type, kind, tag of the mean's output) */
#define ARITH_DTYPES(X)                                                                            \
  X(BOOL, b, uint8_t, INT, f64)                                                                    \
  X(UINT8, u8, uint8_t, INT, f64)                                                                  \
  X(INT32, i32, int32_t, INT, f64)                                                                 \
  X(INT64, i64, int64_t, INT, f64)                                                                 \
  X(FLOAT32, f32, float, FLOAT, f32)                                                               \
  X(FLOAT64, f64, double, FLOAT, f64)

#define DEFINE_DTYPE(NAME, tag, T, kind, mtag) DEFINE_##kind(tag, T)
ARITH_DTYPES(DEFINE_DTYPE)

/* ------------------------------------------------------------- tables */

#define SUM_INT(tag, mtag)                                                                         \
  { zero8_init, sum_fold_##tag, sum_accumulate_##tag, isum_merge, i64_finalize, NULL }
#define SUM_FLOAT(tag, mtag)                                                                       \
  { zero8_init, sum_fold_##tag, sum_accumulate_##tag, fsum_merge, fsum_finalize_##tag, NULL }
#define PROD_INT(tag, mtag)                                                                        \
  { iprod_init, prod_fold_##tag, prod_accumulate_##tag, iprod_merge, i64_finalize, NULL }
#define PROD_FLOAT(tag, mtag)                                                                      \
  { fprod_init, prod_fold_##tag, prod_accumulate_##tag, fprod_merge, fsum_finalize_##tag, NULL }
#define NANSUM_INT SUM_INT
#define NANSUM_FLOAT(tag, mtag)                                                                    \
  { zero8_init, nansum_fold_##tag, nansum_accumulate_##tag, fsum_merge, fsum_finalize_##tag, NULL }
#define MEAN_ANY(tag, mtag)                                                                        \
  { mean_init, mean_fold_##tag, mean_accumulate_##tag, mean_merge, mean_finalize_##mtag, NULL }
#define NANMEAN_INT MEAN_ANY
#define NANMEAN_FLOAT(tag, mtag)                                                                   \
  {                                                                                                \
    mean_init, nanmean_fold_##tag, nanmean_accumulate_##tag, mean_merge, mean_finalize_##mtag,     \
        NULL                                                                                       \
  }
#define VAR_ANY(tag, mtag)                                                                         \
  { var_init, var_fold_##tag, var_accumulate_##tag, var_merge, var_finalize_##mtag, NULL }
#define STD_ANY(tag, mtag)                                                                         \
  { var_init, var_fold_##tag, var_accumulate_##tag, var_merge, std_finalize_##mtag, NULL }

#define ENTRY_KIND(NAME, tag, T, kind, mtag) [FLOE_##NAME] = OP_ENTRY(kind)(tag, mtag),
#define ENTRY_ANY(NAME, tag, T, kind, mtag) [FLOE_##NAME] = OP_ENTRY(ANY)(tag, mtag),

#define OP_ENTRY(kind) SUM_##kind
static const floe__reducer sum_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_KIND)};
#undef OP_ENTRY
#define OP_ENTRY(kind) PROD_##kind
static const floe__reducer prod_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_KIND)};
#undef OP_ENTRY
#define OP_ENTRY(kind) NANSUM_##kind
static const floe__reducer nansum_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_KIND)};
#undef OP_ENTRY
#define OP_ENTRY(kind) NANMEAN_##kind
static const floe__reducer nanmean_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_KIND)};
#undef OP_ENTRY
#define OP_ENTRY(kind) MEAN_##kind
static const floe__reducer mean_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_ANY)};
#undef OP_ENTRY
#define OP_ENTRY(kind) VAR_##kind
static const floe__reducer var_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_ANY)};
#undef OP_ENTRY
#define OP_ENTRY(kind) STD_##kind
static const floe__reducer std_table[FLOE_DTYPE_COUNT_] = {ARITH_DTYPES(ENTRY_ANY)};
#undef OP_ENTRY

const floe__reducer *ARITH_GET(floe_reduce_op op, floe_dtype in) {
  if ((unsigned)in >= FLOE_DTYPE_COUNT_) {
    return NULL;
  }
  switch (op) {
  case FLOE_SUM:
    return &sum_table[in];
  case FLOE_PROD:
    return &prod_table[in];
  case FLOE_NANSUM:
    return &nansum_table[in];
  case FLOE_MEAN:
    return &mean_table[in];
  case FLOE_NANMEAN:
    return &nanmean_table[in];
  case FLOE_VAR:
    return &var_table[in];
  case FLOE_STD:
    return &std_table[in];
  default:
    return NULL;
  }
}
