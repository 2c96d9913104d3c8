/* The portable transcendental table: SLEEF's 128-bit functions (SLEEF
 * picks SSE2, SSE4.1 or AVX2-128 inside), else libm where there is no
 * SSE2.  SLEEF's unprefixed functions are its deterministic ones, so these
 * give the same bits as the AVX2 table. */
#include "kernels/ewise-loops.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#include <sleef.h>

#define MATH1(OP, fn, acc)                                                                         \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 2, _mm_loadu_pd, _mm_storeu_pd, Sleef_##fn##d2_##acc)    \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 4, _mm_loadu_ps, _mm_storeu_ps, Sleef_##fn##f4_##acc)
#define MATH2(OP, fn, acc)                                                                         \
  FLOE__EW_VEC2(m_##OP##_FLOAT64, double, 2, _mm_loadu_pd, _mm_storeu_pd, Sleef_##fn##d2_##acc)    \
  FLOE__EW_VEC2(m_##OP##_FLOAT32, float, 4, _mm_loadu_ps, _mm_storeu_ps, Sleef_##fn##f4_##acc)
/* SLEEF, with lanes beyond |x| > bound redone by libm (see ewise-loops.h). */
#define RANGED1(OP, fn, acc, bd, bf)                                                               \
  static inline __m128d g_##OP##_pd(__m128d v) {                                                   \
    __m128d r = Sleef_##fn##d2_##acc(v);                                                           \
    __m128d big = _mm_cmpgt_pd(_mm_andnot_pd(_mm_set1_pd(-0.0), v), _mm_set1_pd(bd));              \
    if (_mm_movemask_pd(big)) {                                                                    \
      double xs[2], rs[2];                                                                         \
      _mm_storeu_pd(xs, v);                                                                        \
      _mm_storeu_pd(rs, r);                                                                        \
      FLOE__EW_FIXUP(xs, rs, 2, bd, fn);                                                           \
      r = _mm_loadu_pd(rs);                                                                        \
    }                                                                                              \
    return r;                                                                                      \
  }                                                                                                \
  static inline __m128 g_##OP##_ps(__m128 v) {                                                     \
    __m128 r = Sleef_##fn##f4_##acc(v);                                                            \
    __m128 big = _mm_cmpgt_ps(_mm_andnot_ps(_mm_set1_ps(-0.0f), v), _mm_set1_ps(bf));              \
    if (_mm_movemask_ps(big)) {                                                                    \
      float xs[4], rs[4];                                                                          \
      _mm_storeu_ps(xs, v);                                                                        \
      _mm_storeu_ps(rs, r);                                                                        \
      FLOE__EW_FIXUP(xs, rs, 4, bf, fn##f);                                                        \
      r = _mm_loadu_ps(rs);                                                                        \
    }                                                                                              \
    return r;                                                                                      \
  }                                                                                                \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 2, _mm_loadu_pd, _mm_storeu_pd, g_##OP##_pd)             \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 4, _mm_loadu_ps, _mm_storeu_ps, g_##OP##_ps)
/* sqrtpd is exact and, unlike sqrt(), has no errno path to keep scalar. */
FLOE__EW_VEC1(s_SQRT_FLOAT64, double, 2, _mm_loadu_pd, _mm_storeu_pd, _mm_sqrt_pd)
FLOE__EW_VEC1(s_SQRT_FLOAT32, float, 4, _mm_loadu_ps, _mm_storeu_ps, _mm_sqrt_ps)
#define SQRT_ENTRIES                                                                               \
  .unary[FLOE_SQRT][FLOE_FLOAT64] = s_SQRT_FLOAT64,                                                \
  .unary[FLOE_SQRT][FLOE_FLOAT32] = s_SQRT_FLOAT32,
#else
#define SQRT_ENTRIES
static inline double load1(const double *p) {
  return *p;
}
static inline float load1f(const float *p) {
  return *p;
}
static inline void store1(double *p, double v) {
  *p = v;
}
static inline void store1f(float *p, float v) {
  *p = v;
}
#define MATH1(OP, fn, acc)                                                                         \
  FLOE__EW_VEC1(m_##OP##_FLOAT64, double, 1, load1, store1, fn)                                    \
  FLOE__EW_VEC1(m_##OP##_FLOAT32, float, 1, load1f, store1f, fn##f)
#define MATH2(OP, fn, acc)                                                                         \
  FLOE__EW_VEC2(m_##OP##_FLOAT64, double, 1, load1, store1, fn)                                    \
  FLOE__EW_VEC2(m_##OP##_FLOAT32, float, 1, load1f, store1f, fn##f)
#define RANGED1(OP, fn, acc, bd, bf) MATH1(OP, fn, acc)
#endif

FLOE__EW_MATH1(MATH1)
FLOE__EW_MATH1_RANGED(RANGED1)
FLOE__EW_MATH2(MATH2)

#define ENTRY1(OP, ...)                                                                            \
  .unary[FLOE_##OP][FLOE_FLOAT64] = m_##OP##_FLOAT64,                                              \
  .unary[FLOE_##OP][FLOE_FLOAT32] = m_##OP##_FLOAT32,
#define ENTRY2(OP, ...)                                                                            \
  .binary[FLOE_##OP][FLOE_FLOAT64] = m_##OP##_FLOAT64,                                             \
  .binary[FLOE_##OP][FLOE_FLOAT32] = m_##OP##_FLOAT32,

const floe__ewise_table floe__ewise_math = {FLOE__EW_MATH1(ENTRY1) FLOE__EW_MATH1_RANGED(ENTRY1)
                                                FLOE__EW_MATH2(ENTRY2) SQRT_ENTRIES};
