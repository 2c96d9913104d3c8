/* Selecting reductions: min, max, nanmin, nanmax, argmin, argmax, any, all.
 *
 * Compiled twice like reduce-arith.c (on its own, and included by
 * reduce-select-avx2.c); the results do not depend on the build.
 *
 * Accumulator records, 16 bytes for every dtype:
 *   min, max, nanmin, nanmax   {T v; int64_t seen}   v starts at the identity
 *                              (+-inf, the type's limits; NaN for nan*)
 *   argmin, argmax             {T v; int64_t i}   i = -1 while empty
 *   any, all                   uint64_t (0 or 1)
 *
 * Ordering rules, checked against NumPy 1.24:
 *  - min/max: the first NaN wins.  Among equal values the LAST one is kept,
 *    which only shows for zeros: numpy.min([-0.0, 0.0]) is 0.0 and
 *    numpy.min([0.0, -0.0]) is -0.0 (NumPy's loop takes `x <= m`).
 *  - nanmin/nanmax skip NaN (all-NaN gives NaN); among equal values the
 *    FIRST one is kept, as numpy.fmin.reduce does for short arrays (for long
 *    ones NumPy's answer depends on its SIMD lanes and is not reproducible).
 *  - argmin/argmax: the lowest index among equal values (-0.0 == 0.0); a NaN
 *    beats every number and the first NaN wins.
 *  - any/all: x != 0, so NaN counts as true and -0.0 as false. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reduce-internal.h"

#ifndef REDUCE_ISA
#define REDUCE_ISA generic
#endif
#define RCAT2(a, b) a##_##b
#define RCAT(a, b) RCAT2(a, b)
#define SELECT_GET RCAT(floe__reduce_select, REDUCE_ISA)

/* Declared again in reduce.c, the only caller. */
const floe__reducer *SELECT_GET(floe_reduce_op op, floe_dtype in);

#define LT(a, b) ((a) < (b))
#define GT(a, b) ((a) > (b))

/* ---------------------------------------------------------- scans */

/* Index of the first NaN of p[0..n) (there is one). */
#define DEFINE_FIRST_NAN(tag, T, NANP)                                                             \
  static int64_t first_nan_##tag(const T *p, int64_t n) {                                          \
    int64_t i = 0;                                                                                 \
    while (i < n - 1 && !NANP(p[i])) {                                                             \
      i++;                                                                                         \
    }                                                                                              \
    return i;                                                                                      \
  }                                                                                                \
  /* Index of the first element equal to m (there is one). */                                      \
  static int64_t first_eq_##tag(const T *p, int64_t n, T m) {                                      \
    int64_t i = 0;                                                                                 \
    while (i < n - 1 && p[i] != m) {                                                               \
      i++;                                                                                         \
    }                                                                                              \
    return i;                                                                                      \
  }                                                                                                \
  static int64_t last_eq_##tag(const T *p, int64_t n, T m) {                                       \
    int64_t i = n - 1;                                                                             \
    while (i > 0 && p[i] != m) {                                                                   \
      i--;                                                                                         \
    }                                                                                              \
    return i;                                                                                      \
  }

/* The extreme of p[0..n), n >= 1, in eight lanes (lane j takes elements j,
 * j+8, ...; for integers the loop vectorises to min/max).  Integers only:
 * floats use VSCAN below. */
#define DEFINE_ISCAN(name, T, CMP)                                                                 \
  static T name(const T *p, int64_t n) {                                                           \
    T m[8];                                                                                        \
    for (int j = 0; j < 8; j++) {                                                                  \
      m[j] = p[0];                                                                                 \
    }                                                                                              \
    int64_t i = 0;                                                                                 \
    for (; i + 8 <= n; i += 8) {                                                                   \
      for (int j = 0; j < 8; j++) {                                                                \
        m[j] = CMP(p[i + j], m[j]) ? p[i + j] : m[j];                                              \
      }                                                                                            \
    }                                                                                              \
    T r = m[0];                                                                                    \
    for (int j = 1; j < 8; j++) {                                                                  \
      r = CMP(m[j], r) ? m[j] : r;                                                                 \
    }                                                                                              \
    for (; i < n; i++) {                                                                           \
      r = CMP(p[i], r) ? p[i] : r;                                                                 \
    }                                                                                              \
    return r;                                                                                      \
  }

/* AVX2 float scans with GCC/Clang vector types (the auto-vectoriser does
 * not turn these selects into blends): two vectors of L lanes, blended by
 * masks.  A STICKY scan lets a NaN into its lane and keeps it there, so the
 * result is NaN iff p holds one (INIT is p[0]); otherwise it skips NaN and
 * starts from INIT = +-inf, which it returns when p holds no number.  The
 * zero sign of the result is unspecified either way. */
#define VBYTES 32
typedef double vd __attribute__((vector_size(VBYTES)));
typedef long long vdi __attribute__((vector_size(VBYTES)));
typedef float vf __attribute__((vector_size(VBYTES)));
typedef int vfi __attribute__((vector_size(VBYTES)));

#define NANV_YES(VI, u) ((VI)((u) != (u)))
#define NANV_NO(VI, u) ((VI){0})
#define NANS_YES(v) ((v) != (v))
#define NANS_NO(v) 0

#define DEFINE_VSCAN(name, T, V, VI, L, CMP, STICKY, INIT)                                         \
  static T name(const T *p, int64_t n) {                                                           \
    T r = INIT;                                                                                    \
    int64_t i = 0;                                                                                 \
    if (n >= 2 * L) {                                                                              \
      V a, b;                                                                                      \
      for (int j = 0; j < L; j++) {                                                                \
        a[j] = r;                                                                                  \
      }                                                                                            \
      b = a;                                                                                       \
      for (; i + 2 * L <= n; i += 2 * L) {                                                         \
        V u, w;                                                                                    \
        memcpy(&u, p + i, sizeof u);                                                               \
        memcpy(&w, p + i + L, sizeof w);                                                           \
        VI mu = (VI)CMP(u, a) | NANV_##STICKY(VI, u);                                              \
        VI mw = (VI)CMP(w, b) | NANV_##STICKY(VI, w);                                              \
        a = (V)(((VI)u & mu) | ((VI)a & ~mu));                                                     \
        b = (V)(((VI)w & mw) | ((VI)b & ~mw));                                                     \
      }                                                                                            \
      for (int j = 0; j < L; j++) {                                                                \
        r = (CMP(a[j], r) || NANS_##STICKY(a[j])) ? a[j] : r;                                      \
        r = (CMP(b[j], r) || NANS_##STICKY(b[j])) ? b[j] : r;                                      \
      }                                                                                            \
    }                                                                                              \
    for (; i < n; i++) {                                                                           \
      r = (CMP(p[i], r) || NANS_##STICKY(p[i])) ? p[i] : r;                                        \
    }                                                                                              \
    return r;                                                                                      \
  }

#define SCAN_INT(op, tag, T, CMP) DEFINE_ISCAN(op##_scan_##tag, T, CMP)
/* The baseline float scans: eight scalar lanes that SSE2 vectorises, with
 * NaNs noted in integer lanes of the same width I.  Same contract as
 * DEFINE_VSCAN. */
#define DEFINE_FSCAN(name, T, I, L, CMP, STICKY, INIT)                                             \
  static T name(const T *p, int64_t n) {                                                           \
    T m[8], r = INIT;                                                                              \
    I u[8];                                                                                        \
    for (int j = 0; j < 8; j++) {                                                                  \
      m[j] = r;                                                                                    \
      u[j] = 0;                                                                                    \
    }                                                                                              \
    int64_t i = 0;                                                                                 \
    for (; i + 8 <= n; i += 8) {                                                                   \
      for (int j = 0; j < 8; j++) {                                                                \
        T v = p[i + j];                                                                            \
        m[j] = CMP(v, m[j]) ? v : m[j];                                                            \
        u[j] |= (I)(-(I)NANS_##STICKY(v));                                                         \
      }                                                                                            \
    }                                                                                              \
    I nan = 0;                                                                                     \
    for (int j = 0; j < 8; j++) {                                                                  \
      r = CMP(m[j], r) ? m[j] : r;                                                                 \
      nan |= u[j];                                                                                 \
    }                                                                                              \
    for (; i < n; i++) {                                                                           \
      r = CMP(p[i], r) ? p[i] : r;                                                                 \
      nan |= (I)NANS_##STICKY(p[i]);                                                               \
    }                                                                                              \
    return nan ? (T)NAN : r;                                                                       \
  }

#if defined(__AVX2__)
#define SCAN_FLOAT(op, tag, T, CMP)                                                                \
  DEFINE_VSCAN(op##_scan_##tag, T, VEC_##tag, VECI_##tag, LANES_##tag, CMP, YES, p[0])
#define NANSCAN(name, tag, T, CMP, INIT)                                                           \
  DEFINE_VSCAN(name, T, VEC_##tag, VECI_##tag, LANES_##tag, CMP, NO, INIT)
#else
#define SCAN_FLOAT(op, tag, T, CMP) DEFINE_FSCAN(op##_scan_##tag, T, INT_##tag, 8, CMP, YES, p[0])
#define NANSCAN(name, tag, T, CMP, INIT) DEFINE_FSCAN(name, T, INT_##tag, 8, CMP, NO, INIT)
#endif
#define INT_f32 int32_t
#define INT_f64 int64_t
#define VEC_f32 vf
#define VECI_f32 vfi
#define LANES_f32 (VBYTES / 4)
#define VEC_f64 vd
#define VECI_f64 vdi
#define LANES_f64 (VBYTES / 8)

/* ---------------------------------------------------- min, max, arg* */

/* op is min or max, CMP the strict order that it prefers; IS_FLOAT says
 * whether zeros can differ in sign. */
#define DEFINE_MINMAX(op, tag, T, CMP, NANP, IS_FLOAT, IDENTITY)                                   \
  /* a came first, x later.  Every x replaces the IDENTITY that empty records                      \
   * hold, so the loops need not read `seen` (which let them vectorise). */                        \
  static inline int op##_takes_##tag(T a, T x) {                                                   \
    return (!NANP(a)) & (NANP(x) | (!CMP(a, x)));                                                  \
  }                                                                                                \
  static void op##_init_##tag(void *acc, int64_t n) {                                              \
    mm_##tag *a = acc;                                                                             \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].v = IDENTITY;                                                                           \
      a[j].seen = 0;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void op##_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {               \
    mm_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    if (n <= 0) {                                                                                  \
      return;                                                                                      \
    }                                                                                              \
    T m = op##_scan_##tag(p, n);                                                                   \
    if (NANP(m)) {                                                                                 \
      m = p[first_nan_##tag(p, n)];                                                                \
    } else if (IS_FLOAT && m == 0) {                                                               \
      m = p[last_eq_##tag(p, n, m)];                                                               \
    }                                                                                              \
    if (op##_takes_##tag(a->v, m)) {                                                               \
      a->v = m;                                                                                    \
    }                                                                                              \
    a->seen = 1;                                                                                   \
  }                                                                                                \
  static void op##_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {          \
    mm_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].v = op##_takes_##tag(a[j].v, p[j]) ? p[j] : a[j].v;                                     \
      a[j].seen = 1;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void op##_merge_##tag(void *dst, const void *src, int64_t n) {                            \
    mm_##tag *d = dst;                                                                             \
    const mm_##tag *s = src;                                                                       \
    for (int64_t j = 0; j < n; j++) {                                                              \
      d[j].v = op##_takes_##tag(d[j].v, s[j].v) ? s[j].v : d[j].v;                                 \
      d[j].seen |= s[j].seen;                                                                      \
    }                                                                                              \
  }                                                                                                \
  /* Whether (v, i) beats the record a, whatever the order of the calls:                           \
   * a NaN beats numbers, then the extreme, then the lower index.  Written                         \
   * without branches so that the accumulate loop vectorises. */                                   \
  static inline int arg##op##_beats_##tag(T v, int64_t i, const am_##tag *a) {                     \
    int anan = NANP(a->v), vnan = NANP(v), lower = i < a->i;                                       \
    return (a->i < 0) | (anan & vnan & lower) |                                                    \
           ((!anan) & (vnan | CMP(v, a->v) | ((v == a->v) & lower)));                              \
  }                                                                                                \
  static void arg##op##_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {          \
    am_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    if (n <= 0) {                                                                                  \
      return;                                                                                      \
    }                                                                                              \
    T m = op##_scan_##tag(p, n);                                                                   \
    int64_t k = NANP(m) ? first_nan_##tag(p, n) : first_eq_##tag(p, n, m);                         \
    if (arg##op##_beats_##tag(p[k], index0 + k, a)) {                                              \
      a->v = p[k];                                                                                 \
      a->i = index0 + k;                                                                           \
    }                                                                                              \
  }                                                                                                \
  static void arg##op##_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {     \
    am_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      int b = arg##op##_beats_##tag(p[j], index, &a[j]);                                           \
      a[j].v = b ? p[j] : a[j].v;                                                                  \
      a[j].i = b ? index : a[j].i;                                                                 \
    }                                                                                              \
  }                                                                                                \
  static void arg##op##_merge_##tag(void *dst, const void *src, int64_t n) {                       \
    am_##tag *d = dst;                                                                             \
    const am_##tag *s = src;                                                                       \
    for (int64_t j = 0; j < n; j++) {                                                              \
      if (s[j].i >= 0 && arg##op##_beats_##tag(s[j].v, s[j].i, &d[j])) {                           \
        d[j] = s[j];                                                                               \
      }                                                                                            \
    }                                                                                              \
  }

/* nanmin/nanmax (floats): records start at NaN, which any number replaces;
 * a later equal value does not. */
#define DEFINE_NANMINMAX(op, tag, T, CMP, INIT)                                                    \
  NANSCAN(op##_nanscan_##tag, tag, T, CMP, INIT)                                                   \
  static inline int nan##op##_takes_##tag(T a, T x) {                                              \
    return (x == x) & ((a != a) | CMP(x, a));                                                      \
  }                                                                                                \
  static void nan##op##_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {          \
    mm_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    if (n <= 0) {                                                                                  \
      return;                                                                                      \
    }                                                                                              \
    a->seen = 1;                                                                                   \
    T m = op##_nanscan_##tag(p, n);                                                                \
    if (m == INIT) {                                                                               \
      int64_t k = 0; /* an all-NaN tile leaves the record alone */                                 \
      while (k < n && p[k] != p[k]) {                                                              \
        k++;                                                                                       \
      }                                                                                            \
      if (k == n) {                                                                                \
        return;                                                                                    \
      }                                                                                            \
    } else if (m == 0) {                                                                           \
      m = p[first_eq_##tag(p, n, m)];                                                              \
    }                                                                                              \
    if (nan##op##_takes_##tag(a->v, m)) {                                                          \
      a->v = m;                                                                                    \
    }                                                                                              \
  }                                                                                                \
  static void nan##op##_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {     \
    mm_##tag *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].v = nan##op##_takes_##tag(a[j].v, p[j]) ? p[j] : a[j].v;                                \
      a[j].seen = 1;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void nan##op##_merge_##tag(void *dst, const void *src, int64_t n) {                       \
    mm_##tag *d = dst;                                                                             \
    const mm_##tag *s = src;                                                                       \
    for (int64_t j = 0; j < n; j++) {                                                              \
      d[j].v = nan##op##_takes_##tag(d[j].v, s[j].v) ? s[j].v : d[j].v;                            \
      d[j].seen |= s[j].seen;                                                                      \
    }                                                                                              \
  }                                                                                                \
  static void nan##op##_init_##tag(void *acc, int64_t n) {                                         \
    mm_##tag *a = acc;                                                                             \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].v = (T)NAN;                                                                             \
      a[j].seen = 0;                                                                               \
    }                                                                                              \
  }

#define DEFINE_SELECT(tag, T, NANP, IS_FLOAT, SCAN)                                                \
  typedef struct mm_##tag {                                                                        \
    T v;                                                                                           \
    int64_t seen;                                                                                  \
  } mm_##tag;                                                                                      \
  typedef struct am_##tag {                                                                        \
    T v;                                                                                           \
    int64_t i;                                                                                     \
  } am_##tag;                                                                                      \
  DEFINE_FIRST_NAN(tag, T, NANP)                                                                   \
  SCAN(min, tag, T, LT)                                                                            \
  SCAN(max, tag, T, GT)                                                                            \
  DEFINE_MINMAX(min, tag, T, LT, NANP, IS_FLOAT, HI_##tag)                                         \
  DEFINE_MINMAX(max, tag, T, GT, NANP, IS_FLOAT, LO_##tag)                                         \
  static void am_init_##tag(void *acc, int64_t n) {                                                \
    am_##tag *a = acc;                                                                             \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j].v = 0;                                                                                  \
      a[j].i = -1;                                                                                 \
    }                                                                                              \
  }                                                                                                \
  static void mm_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {                 \
    const mm_##tag *a = acc;                                                                       \
    T *o = out;                                                                                    \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = a[j].v;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static void am_finalize_##tag(const void *acc, void *out, int64_t n, int ddof) {                 \
    const am_##tag *a = acc;                                                                       \
    int64_t *o = out;                                                                              \
    for (int64_t j = 0; j < n; j++) {                                                              \
      o[j] = a[j].i;                                                                               \
    }                                                                                              \
  }                                                                                                \
  static int mm_is_empty_##tag(const void *acc) {                                                  \
    return ((const mm_##tag *)acc)->seen == 0;                                                     \
  }                                                                                                \
  static int am_is_empty_##tag(const void *acc) {                                                  \
    return ((const am_##tag *)acc)->i < 0;                                                         \
  }                                                                                                \
  static void any_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {                \
    const T *p = x;                                                                                \
    uint64_t r = 0;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                              \
      r |= p[i] != 0;                                                                              \
    }                                                                                              \
    *(uint64_t *)acc |= r;                                                                         \
  }                                                                                                \
  static void all_fold_##tag(void *acc, const void *x, int64_t n, int64_t index0) {                \
    const T *p = x;                                                                                \
    uint64_t r = 1;                                                                                \
    for (int64_t i = 0; i < n; i++) {                                                              \
      r &= p[i] != 0;                                                                              \
    }                                                                                              \
    *(uint64_t *)acc &= r;                                                                         \
  }                                                                                                \
  static void any_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    uint64_t *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] |= p[j] != 0;                                                                           \
    }                                                                                              \
  }                                                                                                \
  static void all_accumulate_##tag(void *acc, const void *x, int64_t n, int64_t index) {           \
    uint64_t *a = acc;                                                                             \
    const T *p = x;                                                                                \
    for (int64_t j = 0; j < n; j++) {                                                              \
      a[j] &= p[j] != 0;                                                                           \
    }                                                                                              \
  }

/* Whether v is NaN; spelled out per kind so that integers never compare
 * with themselves (compilers warn about that). */
#define NAN_INT(v) 0
#define NAN_FLOAT(v) ((v) != (v))

/* X(NAME, tag, C type, kind) */
#define SELECT_DTYPES(X)                                                                           \
  X(BOOL, b, uint8_t, INT)                                                                         \
  X(UINT8, u8, uint8_t, INT)                                                                       \
  X(INT32, i32, int32_t, INT)                                                                      \
  X(INT64, i64, int64_t, INT)                                                                      \
  X(FLOAT32, f32, float, FLOAT)                                                                    \
  X(FLOAT64, f64, double, FLOAT)

/* The identities of min (HI) and max (LO) */
#define HI_b 1
#define LO_b 0
#define HI_u8 UINT8_MAX
#define LO_u8 0
#define HI_i32 INT32_MAX
#define LO_i32 INT32_MIN
#define HI_i64 INT64_MAX
#define LO_i64 INT64_MIN
#define HI_f32 INFINITY
#define LO_f32 (-INFINITY)
#define HI_f64 INFINITY
#define LO_f64 (-INFINITY)

#define IS_FLOAT_INT 0
#define IS_FLOAT_FLOAT 1
#define DEFINE_DTYPE(NAME, tag, T, kind)                                                           \
  DEFINE_SELECT(tag, T, NAN_##kind, IS_FLOAT_##kind, SCAN_##kind)
SELECT_DTYPES(DEFINE_DTYPE)
DEFINE_NANMINMAX(min, f32, float, LT, INFINITY)
DEFINE_NANMINMAX(max, f32, float, GT, -INFINITY)
DEFINE_NANMINMAX(min, f64, double, LT, INFINITY)
DEFINE_NANMINMAX(max, f64, double, GT, -INFINITY)

/* ------------------------------------------------------------- any/all */

static void any_init(void *acc, int64_t n) {
  memset(acc, 0, (size_t)n * 8);
}

static void all_init(void *acc, int64_t n) {
  uint64_t *a = acc;
  for (int64_t j = 0; j < n; j++) {
    a[j] = 1;
  }
}

static void any_merge(void *dst, const void *src, int64_t n) {
  uint64_t *d = dst;
  const uint64_t *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] |= s[j];
  }
}

static void all_merge(void *dst, const void *src, int64_t n) {
  uint64_t *d = dst;
  const uint64_t *s = src;
  for (int64_t j = 0; j < n; j++) {
    d[j] &= s[j];
  }
}

static void bool_finalize(const void *acc, void *out, int64_t n, int ddof) {
  const uint64_t *a = acc;
  uint8_t *o = out;
  for (int64_t j = 0; j < n; j++) {
    o[j] = (uint8_t)(a[j] != 0);
  }
}

/* ------------------------------------------------------------- tables */

#define MIN_E(tag)                                                                                 \
  {                                                                                                \
    min_init_##tag, min_fold_##tag, min_accumulate_##tag, min_merge_##tag, mm_finalize_##tag,      \
        mm_is_empty_##tag                                                                          \
  }
#define MAX_E(tag)                                                                                 \
  {                                                                                                \
    max_init_##tag, max_fold_##tag, max_accumulate_##tag, max_merge_##tag, mm_finalize_##tag,      \
        mm_is_empty_##tag                                                                          \
  }
#define NANMIN_E(tag)                                                                              \
  {                                                                                                \
    nanmin_init_##tag, nanmin_fold_##tag, nanmin_accumulate_##tag, nanmin_merge_##tag,             \
        mm_finalize_##tag, mm_is_empty_##tag                                                       \
  }
#define NANMAX_E(tag)                                                                              \
  {                                                                                                \
    nanmax_init_##tag, nanmax_fold_##tag, nanmax_accumulate_##tag, nanmax_merge_##tag,             \
        mm_finalize_##tag, mm_is_empty_##tag                                                       \
  }

#define MIN_ENTRY(NAME, tag, T, F) [FLOE_##NAME] = MIN_E(tag),
#define MAX_ENTRY(NAME, tag, T, F) [FLOE_##NAME] = MAX_E(tag),
#define ARGMIN_ENTRY(NAME, tag, T, F)                                                              \
  [FLOE_##NAME] = {am_init_##tag,      argmin_fold_##tag, argmin_accumulate_##tag,                 \
                   argmin_merge_##tag, am_finalize_##tag, am_is_empty_##tag},
#define ARGMAX_ENTRY(NAME, tag, T, F)                                                              \
  [FLOE_##NAME] = {am_init_##tag,      argmax_fold_##tag, argmax_accumulate_##tag,                 \
                   argmax_merge_##tag, am_finalize_##tag, am_is_empty_##tag},
#define ANY_ENTRY(NAME, tag, T, F)                                                                 \
  [FLOE_##NAME] = {any_init, any_fold_##tag, any_accumulate_##tag, any_merge, bool_finalize, NULL},
#define ALL_ENTRY(NAME, tag, T, F)                                                                 \
  [FLOE_##NAME] = {all_init, all_fold_##tag, all_accumulate_##tag, all_merge, bool_finalize, NULL},

static const floe__reducer min_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(MIN_ENTRY)};
static const floe__reducer max_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(MAX_ENTRY)};
static const floe__reducer argmin_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(ARGMIN_ENTRY)};
static const floe__reducer argmax_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(ARGMAX_ENTRY)};
static const floe__reducer any_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(ANY_ENTRY)};
static const floe__reducer all_table[FLOE_DTYPE_COUNT_] = {SELECT_DTYPES(ALL_ENTRY)};
/* Integers hold no NaN: nanmin/nanmax are min/max there. */
static const floe__reducer nanmin_table[FLOE_DTYPE_COUNT_] = {
    [FLOE_BOOL] = MIN_E(b),    [FLOE_UINT8] = MIN_E(u8),       [FLOE_INT32] = MIN_E(i32),
    [FLOE_INT64] = MIN_E(i64), [FLOE_FLOAT32] = NANMIN_E(f32), [FLOE_FLOAT64] = NANMIN_E(f64)};
static const floe__reducer nanmax_table[FLOE_DTYPE_COUNT_] = {
    [FLOE_BOOL] = MAX_E(b),    [FLOE_UINT8] = MAX_E(u8),       [FLOE_INT32] = MAX_E(i32),
    [FLOE_INT64] = MAX_E(i64), [FLOE_FLOAT32] = NANMAX_E(f32), [FLOE_FLOAT64] = NANMAX_E(f64)};

const floe__reducer *SELECT_GET(floe_reduce_op op, floe_dtype in) {
  if ((unsigned)in >= FLOE_DTYPE_COUNT_) {
    return NULL;
  }
  switch (op) {
  case FLOE_MIN:
    return &min_table[in];
  case FLOE_MAX:
    return &max_table[in];
  case FLOE_NANMIN:
    return &nanmin_table[in];
  case FLOE_NANMAX:
    return &nanmax_table[in];
  case FLOE_ARGMIN:
    return &argmin_table[in];
  case FLOE_ARGMAX:
    return &argmax_table[in];
  case FLOE_ANY_TRUE:
    return &any_table[in];
  case FLOE_ALL_TRUE:
    return &all_table[in];
  default:
    return NULL;
  }
}
