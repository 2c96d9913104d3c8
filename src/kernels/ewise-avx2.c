/* The AVX2+FMA table, used only after ewise.c has checked the CPU: the
 * core loops of ewise-loops.h again, vectorised by GCC with 256-bit
 * registers; SLEEF's 256-bit AVX2 functions for the transcendentals; and
 * vsqrt / vround for sqrt and rounding (IEEE-exact, unlike a polynomial). */
#pragma GCC optimize("O3,no-trapping-math")

#include "kernels/ewise-loops.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <sleef.h>

FLOE__EW_CORE_LOOPS()

#define MATH1(OP, fn, acc)                                                                         \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd,                    \
                Sleef_##fn##d4_##acc##avx2)                                                        \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps,                     \
                Sleef_##fn##f8_##acc##avx2)
#define MATH2(OP, fn, acc)                                                                         \
  FLOE__EW_VEC2(m_##OP##_FLOAT64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd,                    \
                Sleef_##fn##d4_##acc##avx2)                                                        \
  FLOE__EW_VEC2(m_##OP##_FLOAT32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps,                     \
                Sleef_##fn##f8_##acc##avx2)
/* SLEEF, with lanes beyond |x| > bound redone by libm (see ewise-loops.h). */
#define RANGED1(OP, fn, acc, bd, bf)                                                               \
  static inline __m256d g_##OP##_pd(__m256d v) {                                                   \
    __m256d r = Sleef_##fn##d4_##acc##avx2(v);                                                     \
    __m256d ax = _mm256_andnot_pd(_mm256_set1_pd(-0.0), v);                                        \
    if (_mm256_movemask_pd(_mm256_cmp_pd(ax, _mm256_set1_pd(bd), _CMP_GT_OQ))) {                   \
      double xs[4], rs[4];                                                                         \
      _mm256_storeu_pd(xs, v);                                                                     \
      _mm256_storeu_pd(rs, r);                                                                     \
      FLOE__EW_FIXUP(xs, rs, 4, bd, fn);                                                           \
      r = _mm256_loadu_pd(rs);                                                                     \
    }                                                                                              \
    return r;                                                                                      \
  }                                                                                                \
  static inline __m256 g_##OP##_ps(__m256 v) {                                                     \
    __m256 r = Sleef_##fn##f8_##acc##avx2(v);                                                      \
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);                                        \
    if (_mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(bf), _CMP_GT_OQ))) {                   \
      float xs[8], rs[8];                                                                          \
      _mm256_storeu_ps(xs, v);                                                                     \
      _mm256_storeu_ps(rs, r);                                                                     \
      FLOE__EW_FIXUP(xs, rs, 8, bf, fn##f);                                                        \
      r = _mm256_loadu_ps(rs);                                                                     \
    }                                                                                              \
    return r;                                                                                      \
  }                                                                                                \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, g_##OP##_pd)       \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, g_##OP##_ps)
FLOE__EW_MATH1(MATH1)
FLOE__EW_MATH1_RANGED(RANGED1)
FLOE__EW_MATH2(MATH2)

/* Rounding always to nearest-even (NumPy's rint in the default mode). */
#define ROUNDING(X)                                                                                \
  X(FLOOR, _MM_FROUND_TO_NEG_INF)                                                                  \
  X(CEIL, _MM_FROUND_TO_POS_INF) X(ROUND, _MM_FROUND_TO_NEAREST_INT) X(TRUNC, _MM_FROUND_TO_ZERO)
#define ROUND_FNS(OP, MODE)                                                                        \
  static inline __m256d r_##OP##_pd(__m256d v) {                                                   \
    return _mm256_round_pd(v, (MODE) | _MM_FROUND_NO_EXC);                                         \
  }                                                                                                \
  static inline __m256 r_##OP##_ps(__m256 v) {                                                     \
    return _mm256_round_ps(v, (MODE) | _MM_FROUND_NO_EXC);                                         \
  }                                                                                                \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, r_##OP##_pd)       \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, r_##OP##_ps)
ROUNDING(ROUND_FNS)
FLOE__EW_VEC1(s_SQRT_FLOAT64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_sqrt_pd)
FLOE__EW_VEC1(s_SQRT_FLOAT32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_sqrt_ps)

#define ENTRY1(OP, ...)                                                                            \
  .unary[FLOE_##OP][FLOE_FLOAT64] = m_##OP##_FLOAT64,                                              \
  .unary[FLOE_##OP][FLOE_FLOAT32] = m_##OP##_FLOAT32,
#define ENTRY2(OP, ...)                                                                            \
  .binary[FLOE_##OP][FLOE_FLOAT64] = m_##OP##_FLOAT64,                                             \
  .binary[FLOE_##OP][FLOE_FLOAT32] = m_##OP##_FLOAT32,

const floe__ewise_table floe__ewise_avx2 = {
    FLOE__EW_CORE_ENTRIES() FLOE__EW_MATH1(ENTRY1) FLOE__EW_MATH1_RANGED(ENTRY1)
        FLOE__EW_MATH2(ENTRY2) ROUNDING(ENTRY1)
            .unary[FLOE_SQRT][FLOE_FLOAT64] = s_SQRT_FLOAT64,
    .unary[FLOE_SQRT][FLOE_FLOAT32] = s_SQRT_FLOAT32};

#else
/* Built without AVX2 (another architecture): an empty table, never used. */
const floe__ewise_table floe__ewise_avx2 = {.where = {0}};
#endif
