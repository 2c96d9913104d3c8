/* Elementwise kernels (src/kernels/ewise*): every op on every dtype it has a
 * kernel for, every cast and where, against naive scalar references written
 * here (libm for the transcendentals, within a few ULP; bit-exact for the
 * rest), on edge values, odd lengths, unaligned pointers and in place; on
 * the portable tables and, where the CPU has it, the AVX2 one.  Plus the
 * dtype rules against a table taken from NumPy 1.24. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ewise-internal.h"
#include "kernels/ewise-loops.h"
#include "testutil.h"

enum { NMAX = 4099 };
#define NONE FLOE_DTYPE_COUNT_

static const int64_t lengths[] = {0, 1, 3, 7, 33, 1000, NMAX};
static const size_t dsize[] = {1, 1, 4, 8, 4, 8};
static const char *const dname[] = {"bool", "uint8", "int32", "int64", "float32", "float64"};
static const char *const uname[] = {
#define NAME(NAME, name) #name,
    FLOE_UNARY_MAP(NAME)};
static const char *const bname[] = {FLOE_BINARY_MAP(NAME)
#undef NAME
};

/* --------------------------------------------------- the dtype rules */

/* Compute dtypes per input dtype (bool, uint8, int32, int64, float32,
 * float64): NumPy 1.24's loops, with float16 → float32 and int8 → uint8. */
static floe_dtype code(char c) {
  const char *codes = "builfd";
  const char *p = strchr(codes, c);
  return c == '-' || !p ? NONE : (floe_dtype)(p - codes);
}

static const char *const unary_rule[FLOE_UNARY_COUNT_] = {
    [FLOE_NEGATIVE] = "-uilfd", [FLOE_ABS] = "builfd",         [FLOE_SIGN] = "-uilfd",
    [FLOE_SQRT] = "ffddfd",     [FLOE_SQUARE] = "uuilfd",      [FLOE_RECIPROCAL] = "uuilfd",
    [FLOE_EXP] = "ffddfd",      [FLOE_EXPM1] = "ffddfd",       [FLOE_LOG] = "ffddfd",
    [FLOE_LOG1P] = "ffddfd",    [FLOE_LOG2] = "ffddfd",        [FLOE_LOG10] = "ffddfd",
    [FLOE_SIN] = "ffddfd",      [FLOE_COS] = "ffddfd",         [FLOE_TAN] = "ffddfd",
    [FLOE_ARCSIN] = "ffddfd",   [FLOE_ARCCOS] = "ffddfd",      [FLOE_ARCTAN] = "ffddfd",
    [FLOE_SINH] = "ffddfd",     [FLOE_COSH] = "ffddfd",        [FLOE_TANH] = "ffddfd",
    [FLOE_FLOOR] = "ffddfd",    [FLOE_CEIL] = "ffddfd",        [FLOE_ROUND] = "ffddfd",
    [FLOE_TRUNC] = "ffddfd",    [FLOE_ISNAN] = "builfd",       [FLOE_ISINF] = "builfd",
    [FLOE_ISFINITE] = "builfd", [FLOE_LOGICAL_NOT] = "bbbbbb",
};

static const char *const binary_rule[FLOE_BINARY_COUNT_] = {
    [FLOE_ADD] = "builfd",        [FLOE_SUBTRACT] = "-uilfd",      [FLOE_MULTIPLY] = "builfd",
    [FLOE_DIVIDE] = "ddddfd",     [FLOE_FLOOR_DIVIDE] = "uuilfd",  [FLOE_MOD] = "uuilfd",
    [FLOE_POWER] = "uuilfd",      [FLOE_MINIMUM] = "builfd",       [FLOE_MAXIMUM] = "builfd",
    [FLOE_ARCTAN2] = "ffddfd",    [FLOE_HYPOT] = "ffddfd",         [FLOE_EQUAL] = "builfd",
    [FLOE_NOT_EQUAL] = "builfd",  [FLOE_LESS] = "builfd",          [FLOE_LESS_EQUAL] = "builfd",
    [FLOE_GREATER] = "builfd",    [FLOE_GREATER_EQUAL] = "builfd", [FLOE_LOGICAL_AND] = "bbbbbb",
    [FLOE_LOGICAL_OR] = "bbbbbb", [FLOE_LOGICAL_XOR] = "bbbbbb",
};

static int unary_bool_result(int op) {
  return op == FLOE_ISNAN || op == FLOE_ISINF || op == FLOE_ISFINITE || op == FLOE_LOGICAL_NOT;
}
static int binary_bool_result(int op) {
  return (op >= FLOE_EQUAL && op <= FLOE_GREATER_EQUAL) || op == FLOE_LOGICAL_AND ||
         op == FLOE_LOGICAL_OR || op == FLOE_LOGICAL_XOR;
}

Test(ewise_rules, unary_matches_numpy) {
  for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
    cr_assert_not_null(unary_rule[op], "no rule row for %s", uname[op]);
    for (int in = 0; in < FLOE_DTYPE_COUNT_; in++) {
      floe_dtype want = code(unary_rule[op][in]);
      floe_dtype got = floe__unary_compute_dtype((floe_unary_op)op, (floe_dtype)in);
      cr_expect_eq(got, want, "%s(%s): compute %d, want %d", uname[op], dname[in], got, want);
      if (want != NONE) {
        floe_dtype res = floe__unary_result_dtype((floe_unary_op)op, want);
        cr_expect_eq(res, unary_bool_result(op) ? FLOE_BOOL : want, "%s(%s) result", uname[op],
                     dname[in]);
      }
    }
  }
  cr_expect_eq(floe__unary_compute_dtype(FLOE_UNARY_COUNT_, FLOE_INT32), NONE);
  cr_expect_eq(floe__unary_compute_dtype(FLOE_SIN, FLOE_DTYPE_COUNT_), NONE);
}

Test(ewise_rules, binary_matches_numpy) {
  for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
    cr_assert_not_null(binary_rule[op], "no rule row for %s", bname[op]);
    for (int in = 0; in < FLOE_DTYPE_COUNT_; in++) {
      floe_dtype want = code(binary_rule[op][in]);
      floe_dtype got = floe__binary_compute_dtype((floe_binary_op)op, (floe_dtype)in);
      cr_expect_eq(got, want, "%s(%s): compute %d, want %d", bname[op], dname[in], got, want);
      if (want != NONE) {
        floe_dtype res = floe__binary_result_dtype((floe_binary_op)op, want);
        cr_expect_eq(res, binary_bool_result(op) ? FLOE_BOOL : want, "%s(%s) result", bname[op],
                     dname[in]);
      }
    }
  }
  cr_expect_eq(floe__binary_compute_dtype(FLOE_BINARY_COUNT_, FLOE_INT32), NONE);
  cr_expect_eq(floe__binary_compute_dtype(FLOE_ADD, FLOE_DTYPE_COUNT_), NONE);
}

/* A kernel exists exactly for the (op, dtype) pairs that are their own
 * compute dtype, in both tables and through the public dispatchers. */
Test(ewise_rules, kernels_exist_exactly_for_compute_dtypes) {
  for (int isa = 0; isa < 2; isa++) {
    for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
      for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
        int want = code(unary_rule[op][dt]) == (floe_dtype)dt;
        floe__ufunc1 k = floe__ewise_unary_isa((floe_unary_op)op, (floe_dtype)dt, isa);
        cr_expect_eq(k != NULL, want, "%s on %s (isa %d)", uname[op], dname[dt], isa);
        cr_expect_eq(floe__unary_kernel((floe_unary_op)op, (floe_dtype)dt) != NULL, want);
      }
      for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
        int want = code(binary_rule[op][dt]) == (floe_dtype)dt;
        floe__ufunc2 k = floe__ewise_binary_isa((floe_binary_op)op, (floe_dtype)dt, isa);
        cr_expect_eq(k != NULL, want, "%s on %s (isa %d)", bname[op], dname[dt], isa);
        cr_expect_eq(floe__binary_kernel((floe_binary_op)op, (floe_dtype)dt) != NULL, want);
      }
      cr_expect_not_null(floe__where_kernel((floe_dtype)dt));
      for (int to = 0; to < FLOE_DTYPE_COUNT_; to++) {
        cr_expect_not_null(floe__cast_kernel((floe_dtype)dt, (floe_dtype)to));
      }
    }
  }
  cr_expect_null(floe__unary_kernel(FLOE_UNARY_COUNT_, FLOE_FLOAT64));
  cr_expect_null(floe__binary_kernel(FLOE_ADD, FLOE_DTYPE_COUNT_));
  cr_expect_null(floe__cast_kernel(FLOE_DTYPE_COUNT_, FLOE_INT32));
  cr_expect_null(floe__where_kernel(FLOE_DTYPE_COUNT_));
}

/* ------------------------------------------------------ test inputs */

/* clang-format off */
static const double f64_edges[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -7.0, 0.1, -0.3,
    1e-300, -1e-300, 5e-324, -5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, 1e300, -1e300,
    INFINITY, -INFINITY, NAN, -NAN, 700.0, -745.0, 710.0, 709.5, 709.79, 710.4, -710.4,
    1e16, 0x1.0000000000001p52, 0x1.fffffffffffffp-2, 2147483647.5, 2147483648.0,
    -2147483649.0, 9.3e18, -9.3e18, 0x1p63, -0x1p63, 255.9, 256.0, 300.0, -300.0,
    3.141592653589793, 1.5707963267948966, 1e22, 3.14159e6, 0.7, -0.9999999, 1e-8,
    -1e-20, 88.5, -103.0, 20.0, 1.5e307};
static const float f32_edges[] = {
    0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 3.0f, -7.0f, 0.1f, -0.3f,
    1e-30f, -1e-30f, 1e-45f, -1e-45f, FLT_MIN, FLT_MAX, -FLT_MAX, 1e30f, -1e30f,
    INFINITY, -INFINITY, NAN, -NAN, 88.7f, -103.9f, 89.0f, 88.75f, -89.3f, 1e7f,
    0x1.000002p23f, 0x1.fffffep-2f, 2147483520.0f, 2147483648.0f, -2147483904.0f, 9.3e18f,
    -9.3e18f, 0x1p63f, -0x1p63f, 255.9f, 256.0f, 300.0f, -300.0f, 3.14159265f, 1.57079633f,
    1e22f, 3.14159e6f, 0.7f, -0.9999999f, 1e-8f, -1e-20f, 10.5f, -20.0f, 20.0f, 2e38f};
static const int64_t i64_edges[] = {
    0, 1, -1, 2, -2, 3, -7, 7, 63, 64, 255, 256, INT64_MAX, INT64_MIN, INT64_MIN + 1,
    INT64_MAX - 1, 2147483648, -2147483648, 4294967297, 3037000500, -3037000500,
    9007199254740993};
static const int32_t i32_edges[] = {
    0, 1, -1, 2, -2, 3, -7, 7, 31, 32, 127, 128, 255, 256, INT32_MAX, INT32_MIN,
    INT32_MIN + 1, INT32_MAX - 1, 46341, -46341, 65536, 100000};
static const uint8_t u8_edges[] = {0, 1, 2, 3, 7, 16, 127, 128, 254, 255};
/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static size_t edge_count(floe_dtype dt) {
  switch (dt) {
  case FLOE_BOOL:
    return 2;
  case FLOE_UINT8:
    return COUNT(u8_edges);
  case FLOE_INT32:
    return COUNT(i32_edges);
  case FLOE_INT64:
    return COUNT(i64_edges);
  case FLOE_FLOAT32:
    return COUNT(f32_edges);
  default:
    return COUNT(f64_edges);
  }
}

static double rnd_unit(uint64_t *s) {
  return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* A random value of dt: mostly moderate, sometimes anything. */
static void put_random(floe_dtype dt, void *p, int64_t i, uint64_t *s) {
  uint64_t r = rng_next(s);
  int wide = (r & 7) == 0;
  double f = (r & 3) == 1   ? rnd_unit(s) * 2 - 1
             : (r & 3) == 2 ? (rnd_unit(s) * 2 - 1) * 20
                            : (rnd_unit(s) < 0.5 ? -1 : 1) * pow(10, rnd_unit(s) * 10 - 5);
  switch (dt) {
  case FLOE_BOOL:
    ((uint8_t *)p)[i] = (uint8_t)(r >> 40 & 1);
    break;
  case FLOE_UINT8:
    ((uint8_t *)p)[i] = (uint8_t)(r >> 40);
    break;
  case FLOE_INT32:
    ((int32_t *)p)[i] = wide ? (int32_t)(uint32_t)(r >> 16) : (int32_t)(r >> 40 & 255) - 128;
    break;
  case FLOE_INT64: {
    uint64_t w = rng_next(s);
    ((int64_t *)p)[i] =
        wide ? (int64_t)(w >> 1) * ((r >> 40 & 1) ? -1 : 1) : (int64_t)(w >> 50 & 1023) - 512;
    break;
  }
  case FLOE_FLOAT32:
    ((float *)p)[i] = (float)f;
    break;
  default:
    ((double *)p)[i] = f;
    break;
  }
}

static void put_edge(floe_dtype dt, void *p, int64_t i, size_t k) {
  switch (dt) {
  case FLOE_BOOL:
    ((uint8_t *)p)[i] = (uint8_t)k;
    break;
  case FLOE_UINT8:
    ((uint8_t *)p)[i] = u8_edges[k];
    break;
  case FLOE_INT32:
    ((int32_t *)p)[i] = i32_edges[k];
    break;
  case FLOE_INT64:
    ((int64_t *)p)[i] = i64_edges[k];
    break;
  case FLOE_FLOAT32:
    ((float *)p)[i] = f32_edges[k];
    break;
  default:
    ((double *)p)[i] = f64_edges[k];
    break;
  }
}

/* x: the edges, then random; y (binary): with x, every pair of edges. */
static void fill_inputs(floe_dtype dt, void *x, void *y, uint64_t seed) {
  size_t e = edge_count(dt);
  uint64_t s = seed;
  for (int64_t i = 0; i < NMAX; i++) {
    if (!y && (size_t)i < e) {
      put_edge(dt, x, i, (size_t)i);
    } else if (y && (size_t)i < e * e) {
      put_edge(dt, x, i, (size_t)i % e);
      put_edge(dt, y, i, (size_t)i / e);
    } else {
      put_random(dt, x, i, &s);
      if (y) {
        put_random(dt, y, i, &s);
      }
    }
  }
}

/* ------------------------------------------------- element accessors */

static int is_float(floe_dtype dt) {
  return dt == FLOE_FLOAT32 || dt == FLOE_FLOAT64;
}

static double getf(floe_dtype dt, const void *p, int64_t i) {
  return dt == FLOE_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static int64_t geti(floe_dtype dt, const void *p, int64_t i) {
  switch (dt) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    return ((const uint8_t *)p)[i];
  case FLOE_INT32:
    return ((const int32_t *)p)[i];
  default:
    return ((const int64_t *)p)[i];
  }
}

/* The value of dt whose bits are the low bits of u (two's complement). */
static int64_t wrap(floe_dtype dt, uint64_t u) {
  switch (dt) {
  case FLOE_BOOL:
    return u != 0;
  case FLOE_UINT8:
    return (int64_t)(u & 255);
  case FLOE_INT32:
    u &= 0xffffffffu;
    return u >= 0x80000000u ? (int64_t)u - 0x100000000 : (int64_t)u;
  default:
    return u >= 0x8000000000000000u ? -(int64_t)(~u) - 1 : (int64_t)u;
  }
}

static void puti(floe_dtype dt, void *p, int64_t i, int64_t v) {
  switch (dt) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    ((uint8_t *)p)[i] = (uint8_t)wrap(dt, (uint64_t)v);
    break;
  case FLOE_INT32:
    ((int32_t *)p)[i] = (int32_t)wrap(dt, (uint64_t)v);
    break;
  default:
    ((int64_t *)p)[i] = v;
    break;
  }
}

static void putf(floe_dtype dt, void *p, int64_t i, double v) {
  if (dt == FLOE_FLOAT32) {
    ((float *)p)[i] = (float)v;
  } else {
    ((double *)p)[i] = v;
  }
}

/* Distance in representable values; -0.0 and +0.0 are one point. */
static uint64_t ulps(double a, double b, floe_dtype dt) {
  int64_t oa, ob;
  if (dt == FLOE_FLOAT32) {
    float fa = (float)a, fb = (float)b;
    int32_t ia, ib;
    memcpy(&ia, &fa, 4);
    memcpy(&ib, &fb, 4);
    oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
    ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
  } else {
    memcpy(&oa, &a, 8);
    memcpy(&ob, &b, 8);
    oa = oa < 0 ? INT64_MIN - oa : oa;
    ob = ob < 0 ? INT64_MIN - ob : ob;
  }
  return oa > ob ? (uint64_t)oa - (uint64_t)ob : (uint64_t)ob - (uint64_t)oa;
}

/* Element i of got matches want: ints exactly; floats bit for bit (any NaN
 * for NaN) or, with tol > 0, within tol ULP with the sign of a zero kept. */
static int same(floe_dtype dt, const void *got, const void *want, int64_t i, uint64_t tol) {
  if (!is_float(dt)) {
    return geti(dt, got, i) == geti(dt, want, i);
  }
  double g = getf(dt, got, i), w = getf(dt, want, i);
  if (isnan(w) || isnan(g)) {
    return isnan(w) && isnan(g);
  }
  if (tol == 0 || w == 0) {
    return memcmp((const char *)got + i * (int64_t)dsize[dt],
                  (const char *)want + i * (int64_t)dsize[dt], dsize[dt]) == 0;
  }
  return ulps(g, w, dt) <= tol;
}

static void show(char *buf, size_t len, floe_dtype dt, const void *p, int64_t i) {
  if (is_float(dt)) {
    snprintf(buf, len, "%a (%.17g)", getf(dt, p, i), getf(dt, p, i));
  } else {
    snprintf(buf, len, "%lld", (long long)geti(dt, p, i));
  }
}

/* ------------------------------------------------------ references */

typedef double (*math1_fn)(double);
typedef double (*math2_fn)(double, double);

static math1_fn libm1(int op) {
  switch (op) {
  case FLOE_EXP:
    return exp;
  case FLOE_EXPM1:
    return expm1;
  case FLOE_LOG:
    return log;
  case FLOE_LOG1P:
    return log1p;
  case FLOE_LOG2:
    return log2;
  case FLOE_LOG10:
    return log10;
  case FLOE_SIN:
    return sin;
  case FLOE_COS:
    return cos;
  case FLOE_TAN:
    return tan;
  case FLOE_ARCSIN:
    return asin;
  case FLOE_ARCCOS:
    return acos;
  case FLOE_ARCTAN:
    return atan;
  case FLOE_SINH:
    return sinh;
  case FLOE_COSH:
    return cosh;
  case FLOE_TANH:
    return tanh;
  default:
    return NULL;
  }
}

static math2_fn libm2(int op) {
  switch (op) {
  case FLOE_POWER:
    return pow;
  case FLOE_ARCTAN2:
    return atan2;
  case FLOE_HYPOT:
    return hypot;
  default:
    return NULL;
  }
}

/* ULP allowed against libm: SLEEF's u10 is within 1 ULP of the correctly
 * rounded result, glibc within about 1 more. */
enum { MATH_ULPS = 3 };

/* The expected op(x[i]) into want[i]; returns the ULP tolerance. */
static uint64_t ref_unary(int op, floe_dtype dt, const void *x, int64_t i, void *want) {
  floe_dtype out = unary_bool_result(op) ? FLOE_BOOL : dt;
  if (is_float(dt)) {
    double v = getf(dt, x, i);
    if (libm1(op)) {
      putf(dt, want, i, libm1(op)(v));
      return MATH_ULPS;
    }
    switch (op) {
    case FLOE_NEGATIVE:
      putf(dt, want, i, -v);
      break;
    case FLOE_ABS:
      putf(dt, want, i, fabs(v));
      break;
    case FLOE_SIGN:
      putf(dt, want, i, isnan(v) ? v : v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0);
      break;
    case FLOE_SQRT:
      putf(dt, want, i, sqrt(v));
      break;
    case FLOE_SQUARE:
      putf(dt, want, i, v * v);
      break;
    case FLOE_RECIPROCAL:
      putf(dt, want, i, 1.0 / v);
      break;
    case FLOE_FLOOR:
      putf(dt, want, i, floor(v));
      break;
    case FLOE_CEIL:
      putf(dt, want, i, ceil(v));
      break;
    case FLOE_ROUND: {
      /* half to even, without rint */
      double f = floor(v), d = v - f;
      double r = d > 0.5 ? f + 1 : d < 0.5 ? f : fmod(f, 2) == 0 ? f : f + 1;
      putf(dt, want, i, isfinite(v) ? copysign(r, v) : v);
      break;
    }
    case FLOE_TRUNC:
      putf(dt, want, i, v < 0 ? ceil(v) : floor(v));
      break;
    case FLOE_ISNAN:
      puti(out, want, i, isnan(v));
      break;
    case FLOE_ISINF:
      puti(out, want, i, isinf(v));
      break;
    case FLOE_ISFINITE:
      puti(out, want, i, isfinite(v));
      break;
    default:
      cr_assert_fail("no float reference for %s", uname[op]);
    }
    return 0;
  }
  int64_t v = geti(dt, x, i);
  int64_t r = 0;
  switch (op) {
  case FLOE_NEGATIVE:
    r = wrap(dt, 0 - (uint64_t)v);
    break;
  case FLOE_ABS:
    r = v < 0 ? wrap(dt, 0 - (uint64_t)v) : v;
    break;
  case FLOE_SIGN:
    r = v > 0 ? 1 : v < 0 ? -1 : 0;
    break;
  case FLOE_SQUARE:
    r = wrap(dt, (uint64_t)v * (uint64_t)v);
    break;
  case FLOE_RECIPROCAL:
    r = v == 1 ? 1 : v == -1 ? -1 : 0;
    break;
  case FLOE_ISNAN:
  case FLOE_ISINF:
    r = 0;
    break;
  case FLOE_ISFINITE:
    r = 1;
    break;
  case FLOE_LOGICAL_NOT:
    r = v == 0;
    break;
  default:
    cr_assert_fail("no integer reference for %s", uname[op]);
  }
  puti(out, want, i, r);
  return 0;
}

/* Python's float // and %, written from the definition: the remainder
 * takes the divisor's sign, the quotient is (a - mod) / b made integral. */
#define PY_DIVMOD(T, S)                                                                            \
  static void py_divmod_##T(T a, T b, T *div, T *mod) {                                            \
    if (b == 0) {                                                                                  \
      *div = a / b;                                                                                \
      *mod = fmod##S(a, b);                                                                        \
      return;                                                                                      \
    }                                                                                              \
    T m = fmod##S(a, b), d = (a - m) / b;                                                          \
    if (m != 0 && signbit(m) != signbit(b)) {                                                      \
      m += b;                                                                                      \
      d -= 1;                                                                                      \
    } else if (m == 0) {                                                                           \
      m = copysign##S(0, b);                                                                       \
    }                                                                                              \
    if (d == 0) {                                                                                  \
      *div = copysign##S(0, a / b);                                                                \
    } else {                                                                                       \
      T f = floor##S(d);                                                                           \
      *div = d - f > (T)0.5 ? f + 1 : f;                                                           \
    }                                                                                              \
    *mod = m;                                                                                      \
  }
PY_DIVMOD(float, f)
PY_DIVMOD(double, )

/* x ** e for e >= 0, left-to-right binary powering mod 2^64. */
static uint64_t ipow(uint64_t x, uint64_t e) {
  uint64_t r = 1;
  for (int bit = 63; bit >= 0; bit--) {
    r *= r;
    if (e >> bit & 1) {
      r *= x;
    }
  }
  return r;
}

static uint64_t ref_binary(int op, floe_dtype dt, const void *x, const void *y, int64_t i,
                           void *want) {
  floe_dtype out = binary_bool_result(op) ? FLOE_BOOL : dt;
  if (is_float(dt)) {
    double a = getf(dt, x, i), b = getf(dt, y, i);
    if (libm2(op)) {
      putf(dt, want, i, libm2(op)(a, b));
      return MATH_ULPS;
    }
    switch (op) {
    case FLOE_ADD:
      putf(dt, want, i, a + b);
      break;
    case FLOE_SUBTRACT:
      putf(dt, want, i, a - b);
      break;
    case FLOE_MULTIPLY:
      putf(dt, want, i, a * b);
      break;
    case FLOE_DIVIDE:
      putf(dt, want, i, a / b);
      break;
    case FLOE_FLOOR_DIVIDE:
    case FLOE_MOD:
      if (dt == FLOE_FLOAT32) {
        float d, m;
        py_divmod_float((float)a, (float)b, &d, &m);
        putf(dt, want, i, op == FLOE_MOD ? m : d);
      } else {
        double d, m;
        py_divmod_double(a, b, &d, &m);
        putf(dt, want, i, op == FLOE_MOD ? m : d);
      }
      break;
    case FLOE_MINIMUM:
      putf(dt, want, i, isnan(a) ? a : isnan(b) ? b : a < b ? a : b);
      break;
    case FLOE_MAXIMUM:
      putf(dt, want, i, isnan(a) ? a : isnan(b) ? b : a > b ? a : b);
      break;
    case FLOE_EQUAL:
      puti(out, want, i, a == b);
      break;
    case FLOE_NOT_EQUAL:
      puti(out, want, i, a != b);
      break;
    case FLOE_LESS:
      puti(out, want, i, isless(a, b));
      break;
    case FLOE_LESS_EQUAL:
      puti(out, want, i, islessequal(a, b));
      break;
    case FLOE_GREATER:
      puti(out, want, i, isgreater(a, b));
      break;
    case FLOE_GREATER_EQUAL:
      puti(out, want, i, isgreaterequal(a, b));
      break;
    default:
      cr_assert_fail("no float reference for %s", bname[op]);
    }
    return 0;
  }
  int64_t a = geti(dt, x, i), b = geti(dt, y, i), r = 0;
  switch (op) {
  case FLOE_ADD:
    r = dt == FLOE_BOOL ? (a || b) : wrap(dt, (uint64_t)a + (uint64_t)b);
    break;
  case FLOE_SUBTRACT:
    r = wrap(dt, (uint64_t)a - (uint64_t)b);
    break;
  case FLOE_MULTIPLY:
    r = dt == FLOE_BOOL ? (a && b) : wrap(dt, (uint64_t)a * (uint64_t)b);
    break;
  case FLOE_FLOOR_DIVIDE:
  case FLOE_MOD: {
    int64_t q;
    if (b == 0) {
      q = 0;
    } else if (b == -1) {
      q = wrap(dt, 0 - (uint64_t)a);
    } else {
      q = a / b;
      if (q * b != a && (a < 0) != (b < 0)) {
        q -= 1;
      }
    }
    r = op == FLOE_FLOOR_DIVIDE ? q
        : b == 0                ? 0
                                : wrap(dt, (uint64_t)a - (uint64_t)q * (uint64_t)b);
    break;
  }
  case FLOE_POWER:
    if (b < 0) {
      r = a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
    } else {
      r = wrap(dt, ipow((uint64_t)a, (uint64_t)b));
    }
    break;
  case FLOE_MINIMUM:
    r = a < b ? a : b;
    break;
  case FLOE_MAXIMUM:
    r = a > b ? a : b;
    break;
  case FLOE_EQUAL:
    r = a == b;
    break;
  case FLOE_NOT_EQUAL:
    r = a != b;
    break;
  case FLOE_LESS:
    r = a < b;
    break;
  case FLOE_LESS_EQUAL:
    r = a <= b;
    break;
  case FLOE_GREATER:
    r = a > b;
    break;
  case FLOE_GREATER_EQUAL:
    r = a >= b;
    break;
  case FLOE_LOGICAL_AND:
    r = a && b;
    break;
  case FLOE_LOGICAL_OR:
    r = a || b;
    break;
  case FLOE_LOGICAL_XOR:
    r = !a != !b;
    break;
  default:
    cr_assert_fail("no integer reference for %s", bname[op]);
  }
  puti(out, want, i, r);
  return 0;
}

/* C's conversion, except: to bool is != 0, float to int32/int64 saturates
 * with NaN → 0, float to uint8 is the low byte of that int64. */
static void ref_cast(floe_dtype from, floe_dtype to, const void *x, int64_t i, void *want) {
  if (to == FLOE_BOOL) {
    puti(to, want, i, is_float(from) ? getf(from, x, i) != 0 : geti(from, x, i) != 0);
  } else if (is_float(to)) {
    if (is_float(from)) {
      putf(to, want, i, getf(from, x, i));
    } else if (to == FLOE_FLOAT32) {
      ((float *)want)[i] = (float)geti(from, x, i);
    } else {
      ((double *)want)[i] = (double)geti(from, x, i);
    }
  } else if (!is_float(from)) {
    puti(to, want, i, wrap(to, (uint64_t)geti(from, x, i)));
  } else {
    double v = getf(from, x, i);
    double lo = to == FLOE_INT32 ? -2147483648.0 : -9223372036854775808.0;
    int64_t r;
    if (isnan(v)) {
      r = 0;
    } else if (to == FLOE_INT32 && v >= 2147483648.0) {
      r = INT32_MAX;
    } else if (to != FLOE_INT32 && v >= 9223372036854775808.0) {
      r = INT64_MAX;
    } else if (v <= lo) {
      r = (int64_t)lo;
    } else {
      r = (int64_t)trunc(v);
    }
    puti(to, want, i, r);
  }
}

/* ------------------------------------------------------------ runner */

typedef struct buffers {
  char *x, *y, *want, *work_x, *work_y, *work_o;
} buffers;

static buffers alloc_buffers(void) {
  buffers b;
  char **all[] = {&b.x, &b.y, &b.want, &b.work_x, &b.work_y, &b.work_o};
  for (size_t k = 0; k < COUNT(all); k++) {
    *all[k] = calloc(NMAX + 2, 8);
    cr_assert_not_null(*all[k]);
  }
  return b;
}

static void free_buffers(buffers *b) {
  free(b->x);
  free(b->y);
  free(b->want);
  free(b->work_x);
  free(b->work_y);
  free(b->work_o);
}

enum { ALIAS_NONE, ALIAS_X, ALIAS_Y };

/* Runs kernel (k1 or k2) on the first n inputs at element offset `off`,
 * with out aliasing nothing, x or y, and checks every element against
 * want.  `tol` holds per-element tolerances. */
static void run_case(const char *what, floe__ufunc1 k1, floe__ufunc2 k2, floe_dtype in,
                     floe_dtype out, buffers *b, const uint64_t *tol, int64_t n, int64_t off,
                     int alias) {
  size_t si = dsize[in], so = dsize[out];
  char *x = b->work_x + off * (int64_t)si, *y = b->work_y + off * (int64_t)si;
  char *o = alias == ALIAS_X ? x : alias == ALIAS_Y ? y : b->work_o + off * (int64_t)so;
  memcpy(x, b->x, (size_t)n * si);
  memcpy(y, b->y, (size_t)n * si);
  if (alias == ALIAS_NONE) {
    memset(o, 0xA5, (size_t)(n + 1) * so);
  }
  if (k1) {
    k1(x, o, n);
  } else {
    k2(x, y, o, n);
  }
  int bad = 0;
  for (int64_t i = 0; i < n && bad < 5; i++) {
    if (!same(out, o, b->want, i, tol[i])) {
      char g[64], w[64], xa[64], ya[64] = "";
      show(g, sizeof g, out, o, i);
      show(w, sizeof w, out, b->want, i);
      show(xa, sizeof xa, in, b->x, i);
      if (k2) {
        show(ya, sizeof ya, in, b->y, i);
      }
      cr_expect_fail("%s: n=%lld off=%lld alias=%d: [%lld] x=%s y=%s: got %s, want %s", what,
                     (long long)n, (long long)off, alias, (long long)i, xa, ya, g, w);
      bad++;
    }
  }
  if (alias == ALIAS_NONE) {
    unsigned char guard = (unsigned char)o[(size_t)n * so];
    cr_expect_eq(guard, 0xA5, "%s: n=%lld wrote past the end", what, (long long)n);
  }
}

static void run_all(const char *what, floe__ufunc1 k1, floe__ufunc2 k2, floe_dtype in,
                    floe_dtype out, buffers *b, const uint64_t *tol) {
  for (size_t l = 0; l < COUNT(lengths); l++) {
    for (int64_t off = 0; off < 2; off++) {
      run_case(what, k1, k2, in, out, b, tol, lengths[l], off, ALIAS_NONE);
      if (dsize[out] <= dsize[in]) {
        run_case(what, k1, k2, in, out, b, tol, lengths[l], off, ALIAS_X);
        if (k2) {
          run_case(what, k1, k2, in, out, b, tol, lengths[l], off, ALIAS_Y);
        }
      }
    }
  }
}

typedef struct ewcase {
  int op;
  int dt;
  int isa;
} ewcase;

static int isa_count(void) {
  return floe__ewise_have_avx2() ? 2 : 1;
}

static const char *isa_name(int isa) {
  return isa ? "avx2" : "portable";
}

ParameterizedTestParameters(ewise, unary) {
  static ewcase cases[FLOE_UNARY_COUNT_ * FLOE_DTYPE_COUNT_ * 2];
  size_t n = 0;
  for (int isa = 0; isa < isa_count(); isa++) {
    for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
      for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
        if (code(unary_rule[op][dt]) == (floe_dtype)dt) {
          cases[n++] = (ewcase){op, dt, isa};
        }
      }
    }
  }
  return cr_make_param_array(ewcase, cases, n);
}

ParameterizedTest(ewcase *c, ewise, unary) {
  floe_dtype dt = (floe_dtype)c->dt;
  floe_dtype out = unary_bool_result(c->op) ? FLOE_BOOL : dt;
  floe__ufunc1 k = floe__ewise_unary_isa((floe_unary_op)c->op, dt, c->isa);
  char what[96];
  snprintf(what, sizeof what, "%s(%s) %s", uname[c->op], dname[dt], isa_name(c->isa));
  cr_assert_not_null(k, "%s: no kernel", what);
  buffers b = alloc_buffers();
  static uint64_t tol[NMAX];
  fill_inputs(dt, b.x, NULL, 1000 + (uint64_t)c->op);
  for (int64_t i = 0; i < NMAX; i++) {
    tol[i] = ref_unary(c->op, dt, b.x, i, b.want);
  }
  run_all(what, k, NULL, dt, out, &b, tol);
  free_buffers(&b);
}

ParameterizedTestParameters(ewise, binary) {
  static ewcase cases[FLOE_BINARY_COUNT_ * FLOE_DTYPE_COUNT_ * 2];
  size_t n = 0;
  for (int isa = 0; isa < isa_count(); isa++) {
    for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
      for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
        if (code(binary_rule[op][dt]) == (floe_dtype)dt) {
          cases[n++] = (ewcase){op, dt, isa};
        }
      }
    }
  }
  return cr_make_param_array(ewcase, cases, n);
}

ParameterizedTest(ewcase *c, ewise, binary) {
  floe_dtype dt = (floe_dtype)c->dt;
  floe_dtype out = binary_bool_result(c->op) ? FLOE_BOOL : dt;
  floe__ufunc2 k = floe__ewise_binary_isa((floe_binary_op)c->op, dt, c->isa);
  char what[96];
  snprintf(what, sizeof what, "%s(%s) %s", bname[c->op], dname[dt], isa_name(c->isa));
  cr_assert_not_null(k, "%s: no kernel", what);
  buffers b = alloc_buffers();
  static uint64_t tol[NMAX];
  fill_inputs(dt, b.x, b.y, 2000 + (uint64_t)c->op);
  for (int64_t i = 0; i < NMAX; i++) {
    tol[i] = ref_binary(c->op, dt, b.x, b.y, i, b.want);
  }
  run_all(what, NULL, k, dt, out, &b, tol);
  free_buffers(&b);
}

ParameterizedTestParameters(ewise, cast) {
  static ewcase cases[FLOE_DTYPE_COUNT_ * FLOE_DTYPE_COUNT_ * 2];
  size_t n = 0;
  for (int isa = 0; isa < isa_count(); isa++) {
    for (int from = 0; from < FLOE_DTYPE_COUNT_; from++) {
      for (int to = 0; to < FLOE_DTYPE_COUNT_; to++) {
        cases[n++] = (ewcase){from, to, isa};
      }
    }
  }
  return cr_make_param_array(ewcase, cases, n);
}

ParameterizedTest(ewcase *c, ewise, cast) {
  floe_dtype from = (floe_dtype)c->op, to = (floe_dtype)c->dt;
  floe__ufunc1 k = floe__ewise_cast_isa(from, to, c->isa);
  char what[96];
  snprintf(what, sizeof what, "cast %s to %s %s", dname[from], dname[to], isa_name(c->isa));
  cr_assert_not_null(k, "%s: no kernel", what);
  buffers b = alloc_buffers();
  static uint64_t tol[NMAX];
  fill_inputs(from, b.x, NULL, 3000 + (uint64_t)(from * 8 + to));
  for (int64_t i = 0; i < NMAX; i++) {
    ref_cast(from, to, b.x, i, b.want);
    tol[i] = 0;
  }
  run_all(what, k, NULL, from, to, &b, tol);
  free_buffers(&b);
}

ParameterizedTestParameters(ewise, where) {
  static ewcase cases[FLOE_DTYPE_COUNT_ * 2];
  size_t n = 0;
  for (int isa = 0; isa < isa_count(); isa++) {
    for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
      cases[n++] = (ewcase){0, dt, isa};
    }
  }
  return cr_make_param_array(ewcase, cases, n);
}

/* out = cond ? a : b keeps the bits (NaN payloads, -0.0); out may be a or
 * b; odd lengths and offsets as above. */
ParameterizedTest(ewcase *c, ewise, where) {
  floe_dtype dt = (floe_dtype)c->dt;
  floe__where_fn k = floe__ewise_where_isa(dt, c->isa);
  cr_assert_not_null(k);
  size_t s = dsize[dt];
  buffers b = alloc_buffers();
  uint8_t *cond = malloc(NMAX + 1);
  cr_assert_not_null(cond);
  fill_inputs(dt, b.x, b.y, 4000 + (uint64_t)dt);
  uint64_t rs = 99;
  cond[0] = 1;
  for (int64_t i = 0; i < NMAX; i++) {
    cond[i + 1] = (uint8_t)(rng_next(&rs) & 1);
    memcpy(b.want + i * (int64_t)s, (cond[i + 1] ? b.x : b.y) + i * (int64_t)s, s);
  }
  for (size_t l = 0; l < COUNT(lengths); l++) {
    int64_t n = lengths[l];
    for (int64_t off = 0; off < 2; off++) {
      for (int alias = ALIAS_NONE; alias <= ALIAS_Y; alias++) {
        char *x = b.work_x + off * (int64_t)s, *y = b.work_y + off * (int64_t)s;
        char *o = alias == ALIAS_X ? x : alias == ALIAS_Y ? y : b.work_o + off * (int64_t)s;
        memcpy(x, b.x, (size_t)n * s);
        memcpy(y, b.y, (size_t)n * s);
        k((const _Bool *)(cond + 1 - off), x, y, o, n);
        if (off) {
          /* the conditions moved by one; recompute the expectation */
          for (int64_t i = 0; i < n; i++) {
            const char *src = (cond[i] ? b.x : b.y) + i * (int64_t)s;
            cr_assert(memcmp(o + i * (int64_t)s, src, s) == 0, "where %s n=%lld off=1 [%lld]",
                      dname[dt], (long long)n, (long long)i);
          }
        } else {
          cr_assert(memcmp(o, b.want, (size_t)n * s) == 0, "where %s n=%lld alias=%d", dname[dt],
                    (long long)n, alias);
        }
      }
    }
  }
  free(cond);
  free_buffers(&b);
}

/* ------------------------------------------------- golden NumPy values */

/* numpy.floor_divide and numpy.remainder (NumPy 1.24) on pairs of edge
 * values: {a, b, a // b, a % b}. */
/* clang-format off */
static const double golden_divmod_f64[][4] = {
    {0x0p+0, 0x0p+0, NAN, NAN},
    {0x0p+0, -0x0p+0, NAN, NAN},
    {0x0p+0, 0x1p+0, 0x0p+0, 0x0p+0},
    {0x0p+0, -0x1p+0, -0x0p+0, -0x0p+0},
    {0x0p+0, 0x1.4p+1, 0x0p+0, 0x0p+0},
    {0x0p+0, -0x1.4p+1, -0x0p+0, -0x0p+0},
    {0x0p+0, 0x1.cp+2, 0x0p+0, 0x0p+0},
    {0x0p+0, -0x1.3333333333333p-2, -0x0p+0, -0x0p+0},
    {0x0p+0, INFINITY, 0x0p+0, 0x0p+0},
    {0x0p+0, -INFINITY, -0x0p+0, -0x0p+0},
    {0x0p+0, NAN, NAN, NAN},
    {0x0p+0, 0x1.1ccf385ebc8ap+1023, 0x0p+0, 0x0p+0},
    {0x0p+0, 0x0.0000000000001p-1022, 0x0p+0, 0x0p+0},
    {-0x0p+0, 0x0p+0, NAN, NAN},
    {-0x0p+0, -0x0p+0, NAN, NAN},
    {-0x0p+0, 0x1p+0, -0x0p+0, 0x0p+0},
    {-0x0p+0, -0x1p+0, 0x0p+0, -0x0p+0},
    {-0x0p+0, 0x1.4p+1, -0x0p+0, 0x0p+0},
    {-0x0p+0, -0x1.4p+1, 0x0p+0, -0x0p+0},
    {-0x0p+0, 0x1.cp+2, -0x0p+0, 0x0p+0},
    {-0x0p+0, -0x1.3333333333333p-2, 0x0p+0, -0x0p+0},
    {-0x0p+0, INFINITY, -0x0p+0, 0x0p+0},
    {-0x0p+0, -INFINITY, 0x0p+0, -0x0p+0},
    {-0x0p+0, NAN, NAN, NAN},
    {-0x0p+0, 0x1.1ccf385ebc8ap+1023, -0x0p+0, 0x0p+0},
    {-0x0p+0, 0x0.0000000000001p-1022, -0x0p+0, 0x0p+0},
    {0x1p+0, 0x0p+0, INFINITY, NAN},
    {0x1p+0, -0x0p+0, -INFINITY, NAN},
    {0x1p+0, 0x1p+0, 0x1p+0, 0x0p+0},
    {0x1p+0, -0x1p+0, -0x1p+0, -0x0p+0},
    {0x1p+0, 0x1.4p+1, 0x0p+0, 0x1p+0},
    {0x1p+0, -0x1.4p+1, -0x1p+0, -0x1.8p+0},
    {0x1p+0, 0x1.cp+2, 0x0p+0, 0x1p+0},
    {0x1p+0, -0x1.3333333333333p-2, -0x1p+2, -0x1.9999999999998p-3},
    {0x1p+0, INFINITY, 0x0p+0, 0x1p+0},
    {0x1p+0, -INFINITY, -0x1p+0, -INFINITY},
    {0x1p+0, NAN, NAN, NAN},
    {0x1p+0, 0x1.1ccf385ebc8ap+1023, 0x0p+0, 0x1p+0},
    {0x1p+0, 0x0.0000000000001p-1022, INFINITY, 0x0p+0},
    {-0x1p+0, 0x0p+0, -INFINITY, NAN},
    {-0x1p+0, -0x0p+0, INFINITY, NAN},
    {-0x1p+0, 0x1p+0, -0x1p+0, 0x0p+0},
    {-0x1p+0, -0x1p+0, 0x1p+0, -0x0p+0},
    {-0x1p+0, 0x1.4p+1, -0x1p+0, 0x1.8p+0},
    {-0x1p+0, -0x1.4p+1, 0x0p+0, -0x1p+0},
    {-0x1p+0, 0x1.cp+2, -0x1p+0, 0x1.8p+2},
    {-0x1p+0, -0x1.3333333333333p-2, 0x1.8p+1, -0x1.999999999999cp-4},
    {-0x1p+0, INFINITY, -0x1p+0, INFINITY},
    {-0x1p+0, -INFINITY, 0x0p+0, -0x1p+0},
    {-0x1p+0, NAN, NAN, NAN},
    {-0x1p+0, 0x1.1ccf385ebc8ap+1023, -0x1p+0, 0x1.1ccf385ebc8ap+1023},
    {-0x1p+0, 0x0.0000000000001p-1022, -INFINITY, 0x0p+0},
    {0x1.4p+1, 0x0p+0, INFINITY, NAN},
    {0x1.4p+1, -0x0p+0, -INFINITY, NAN},
    {0x1.4p+1, 0x1p+0, 0x1p+1, 0x1p-1},
    {0x1.4p+1, -0x1p+0, -0x1.8p+1, -0x1p-1},
    {0x1.4p+1, 0x1.4p+1, 0x1p+0, 0x0p+0},
    {0x1.4p+1, -0x1.4p+1, -0x1p+0, -0x0p+0},
    {0x1.4p+1, 0x1.cp+2, 0x0p+0, 0x1.4p+1},
    {0x1.4p+1, -0x1.3333333333333p-2, -0x1.2p+3, -0x1.9999999999996p-3},
    {0x1.4p+1, INFINITY, 0x0p+0, 0x1.4p+1},
    {0x1.4p+1, -INFINITY, -0x1p+0, -INFINITY},
    {0x1.4p+1, NAN, NAN, NAN},
    {0x1.4p+1, 0x1.1ccf385ebc8ap+1023, 0x0p+0, 0x1.4p+1},
    {0x1.4p+1, 0x0.0000000000001p-1022, INFINITY, 0x0p+0},
    {-0x1.4p+1, 0x0p+0, -INFINITY, NAN},
    {-0x1.4p+1, -0x0p+0, INFINITY, NAN},
    {-0x1.4p+1, 0x1p+0, -0x1.8p+1, 0x1p-1},
    {-0x1.4p+1, -0x1p+0, 0x1p+1, -0x1p-1},
    {-0x1.4p+1, 0x1.4p+1, -0x1p+0, 0x0p+0},
    {-0x1.4p+1, -0x1.4p+1, 0x1p+0, -0x0p+0},
    {-0x1.4p+1, 0x1.cp+2, -0x1p+0, 0x1.2p+2},
    {-0x1.4p+1, -0x1.3333333333333p-2, 0x1p+3, -0x1.99999999999ap-4},
    {-0x1.4p+1, INFINITY, -0x1p+0, INFINITY},
    {-0x1.4p+1, -INFINITY, 0x0p+0, -0x1.4p+1},
    {-0x1.4p+1, NAN, NAN, NAN},
    {-0x1.4p+1, 0x1.1ccf385ebc8ap+1023, -0x1p+0, 0x1.1ccf385ebc8ap+1023},
    {-0x1.4p+1, 0x0.0000000000001p-1022, -INFINITY, 0x0p+0},
    {0x1.cp+2, 0x0p+0, INFINITY, NAN},
    {0x1.cp+2, -0x0p+0, -INFINITY, NAN},
    {0x1.cp+2, 0x1p+0, 0x1.cp+2, 0x0p+0},
    {0x1.cp+2, -0x1p+0, -0x1.cp+2, -0x0p+0},
    {0x1.cp+2, 0x1.4p+1, 0x1p+1, 0x1p+1},
    {0x1.cp+2, -0x1.4p+1, -0x1.8p+1, -0x1p-1},
    {0x1.cp+2, 0x1.cp+2, 0x1p+0, 0x0p+0},
    {0x1.cp+2, -0x1.3333333333333p-2, -0x1.8p+4, -0x1.999999999999p-3},
    {0x1.cp+2, INFINITY, 0x0p+0, 0x1.cp+2},
    {0x1.cp+2, -INFINITY, -0x1p+0, -INFINITY},
    {0x1.cp+2, NAN, NAN, NAN},
    {0x1.cp+2, 0x1.1ccf385ebc8ap+1023, 0x0p+0, 0x1.cp+2},
    {0x1.cp+2, 0x0.0000000000001p-1022, INFINITY, 0x0p+0},
    {-0x1.3333333333333p-2, 0x0p+0, -INFINITY, NAN},
    {-0x1.3333333333333p-2, -0x0p+0, INFINITY, NAN},
    {-0x1.3333333333333p-2, 0x1p+0, -0x1p+0, 0x1.6666666666666p-1},
    {-0x1.3333333333333p-2, -0x1p+0, 0x0p+0, -0x1.3333333333333p-2},
    {-0x1.3333333333333p-2, 0x1.4p+1, -0x1p+0, 0x1.199999999999ap+1},
    {-0x1.3333333333333p-2, -0x1.4p+1, 0x0p+0, -0x1.3333333333333p-2},
    {-0x1.3333333333333p-2, 0x1.cp+2, -0x1p+0, 0x1.acccccccccccdp+2},
    {-0x1.3333333333333p-2, -0x1.3333333333333p-2, 0x1p+0, -0x0p+0},
    {-0x1.3333333333333p-2, INFINITY, -0x1p+0, INFINITY},
    {-0x1.3333333333333p-2, -INFINITY, 0x0p+0, -0x1.3333333333333p-2},
    {-0x1.3333333333333p-2, NAN, NAN, NAN},
    {-0x1.3333333333333p-2, 0x1.1ccf385ebc8ap+1023, -0x1p+0, 0x1.1ccf385ebc8ap+1023},
    {-0x1.3333333333333p-2, 0x0.0000000000001p-1022, -INFINITY, 0x0p+0},
    {INFINITY, 0x0p+0, INFINITY, NAN},
    {INFINITY, -0x0p+0, -INFINITY, NAN},
    {INFINITY, 0x1p+0, NAN, NAN},
    {INFINITY, -0x1p+0, NAN, NAN},
    {INFINITY, 0x1.4p+1, NAN, NAN},
    {INFINITY, -0x1.4p+1, NAN, NAN},
    {INFINITY, 0x1.cp+2, NAN, NAN},
    {INFINITY, -0x1.3333333333333p-2, NAN, NAN},
    {INFINITY, INFINITY, NAN, NAN},
    {INFINITY, -INFINITY, NAN, NAN},
    {INFINITY, NAN, NAN, NAN},
    {INFINITY, 0x1.1ccf385ebc8ap+1023, NAN, NAN},
    {INFINITY, 0x0.0000000000001p-1022, NAN, NAN},
    {-INFINITY, 0x0p+0, -INFINITY, NAN},
    {-INFINITY, -0x0p+0, INFINITY, NAN},
    {-INFINITY, 0x1p+0, NAN, NAN},
    {-INFINITY, -0x1p+0, NAN, NAN},
    {-INFINITY, 0x1.4p+1, NAN, NAN},
    {-INFINITY, -0x1.4p+1, NAN, NAN},
    {-INFINITY, 0x1.cp+2, NAN, NAN},
    {-INFINITY, -0x1.3333333333333p-2, NAN, NAN},
    {-INFINITY, INFINITY, NAN, NAN},
    {-INFINITY, -INFINITY, NAN, NAN},
    {-INFINITY, NAN, NAN, NAN},
    {-INFINITY, 0x1.1ccf385ebc8ap+1023, NAN, NAN},
    {-INFINITY, 0x0.0000000000001p-1022, NAN, NAN},
    {NAN, 0x0p+0, NAN, NAN},
    {NAN, -0x0p+0, NAN, NAN},
    {NAN, 0x1p+0, NAN, NAN},
    {NAN, -0x1p+0, NAN, NAN},
    {NAN, 0x1.4p+1, NAN, NAN},
    {NAN, -0x1.4p+1, NAN, NAN},
    {NAN, 0x1.cp+2, NAN, NAN},
    {NAN, -0x1.3333333333333p-2, NAN, NAN},
    {NAN, INFINITY, NAN, NAN},
    {NAN, -INFINITY, NAN, NAN},
    {NAN, NAN, NAN, NAN},
    {NAN, 0x1.1ccf385ebc8ap+1023, NAN, NAN},
    {NAN, 0x0.0000000000001p-1022, NAN, NAN},
    {0x1.1ccf385ebc8ap+1023, 0x0p+0, INFINITY, NAN},
    {0x1.1ccf385ebc8ap+1023, -0x0p+0, -INFINITY, NAN},
    {0x1.1ccf385ebc8ap+1023, 0x1p+0, 0x1.1ccf385ebc8ap+1023, 0x0p+0},
    {0x1.1ccf385ebc8ap+1023, -0x1p+0, -0x1.1ccf385ebc8ap+1023, -0x0p+0},
    {0x1.1ccf385ebc8ap+1023, 0x1.4p+1, 0x1.c7b1f3cac7433p+1021, 0x1p+0},
    {0x1.1ccf385ebc8ap+1023, -0x1.4p+1, -0x1.c7b1f3cac7433p+1021, -0x1.8p+0},
    {0x1.1ccf385ebc8ap+1023, 0x1.cp+2, 0x1.457f1bd9fc0b7p+1020, 0x1.8p+1},
    {0x1.1ccf385ebc8ap+1023, -0x1.3333333333333p-2, -INFINITY, -0x1.e8ad64fe459c2p-3},
    {0x1.1ccf385ebc8ap+1023, INFINITY, 0x0p+0, 0x1.1ccf385ebc8ap+1023},
    {0x1.1ccf385ebc8ap+1023, -INFINITY, -0x1p+0, -INFINITY},
    {0x1.1ccf385ebc8ap+1023, NAN, NAN, NAN},
    {0x1.1ccf385ebc8ap+1023, 0x1.1ccf385ebc8ap+1023, 0x1p+0, 0x0p+0},
    {0x1.1ccf385ebc8ap+1023, 0x0.0000000000001p-1022, INFINITY, 0x0p+0},
    {0x0.0000000000001p-1022, 0x0p+0, INFINITY, NAN},
    {0x0.0000000000001p-1022, -0x0p+0, -INFINITY, NAN},
    {0x0.0000000000001p-1022, 0x1p+0, 0x0p+0, 0x0.0000000000001p-1022},
    {0x0.0000000000001p-1022, -0x1p+0, -0x1p+0, -0x1p+0},
    {0x0.0000000000001p-1022, 0x1.4p+1, 0x0p+0, 0x0.0000000000001p-1022},
    {0x0.0000000000001p-1022, -0x1.4p+1, -0x1p+0, -0x1.4p+1},
    {0x0.0000000000001p-1022, 0x1.cp+2, 0x0p+0, 0x0.0000000000001p-1022},
    {0x0.0000000000001p-1022, -0x1.3333333333333p-2, -0x1p+0, -0x1.3333333333333p-2},
    {0x0.0000000000001p-1022, INFINITY, 0x0p+0, 0x0.0000000000001p-1022},
    {0x0.0000000000001p-1022, -INFINITY, -0x1p+0, -INFINITY},
    {0x0.0000000000001p-1022, NAN, NAN, NAN},
    {0x0.0000000000001p-1022, 0x1.1ccf385ebc8ap+1023, 0x0p+0, 0x0.0000000000001p-1022},
    {0x0.0000000000001p-1022, 0x0.0000000000001p-1022, 0x1p+0, 0x0p+0},
};
static const double golden_divmod_f32[][4] = {
    {0x0p+0, 0x0p+0, NAN, NAN},
    {0x0p+0, -0x0p+0, NAN, NAN},
    {0x0p+0, 0x1p+0, 0x0p+0, 0x0p+0},
    {0x0p+0, -0x1.4p+1, -0x0p+0, -0x0p+0},
    {0x0p+0, 0x1.cp+2, 0x0p+0, 0x0p+0},
    {0x0p+0, -0x1.333334p-2, -0x0p+0, -0x0p+0},
    {0x0p+0, INFINITY, 0x0p+0, 0x0p+0},
    {0x0p+0, -INFINITY, -0x0p+0, -0x0p+0},
    {0x0p+0, NAN, NAN, NAN},
    {0x0p+0, 0x1.c363ccp+127, 0x0p+0, 0x0p+0},
    {-0x0p+0, 0x0p+0, NAN, NAN},
    {-0x0p+0, -0x0p+0, NAN, NAN},
    {-0x0p+0, 0x1p+0, -0x0p+0, 0x0p+0},
    {-0x0p+0, -0x1.4p+1, 0x0p+0, -0x0p+0},
    {-0x0p+0, 0x1.cp+2, -0x0p+0, 0x0p+0},
    {-0x0p+0, -0x1.333334p-2, 0x0p+0, -0x0p+0},
    {-0x0p+0, INFINITY, -0x0p+0, 0x0p+0},
    {-0x0p+0, -INFINITY, 0x0p+0, -0x0p+0},
    {-0x0p+0, NAN, NAN, NAN},
    {-0x0p+0, 0x1.c363ccp+127, -0x0p+0, 0x0p+0},
    {0x1p+0, 0x0p+0, INFINITY, NAN},
    {0x1p+0, -0x0p+0, -INFINITY, NAN},
    {0x1p+0, 0x1p+0, 0x1p+0, 0x0p+0},
    {0x1p+0, -0x1.4p+1, -0x1p+0, -0x1.8p+0},
    {0x1p+0, 0x1.cp+2, 0x0p+0, 0x1p+0},
    {0x1p+0, -0x1.333334p-2, -0x1p+2, -0x1.9999ap-3},
    {0x1p+0, INFINITY, 0x0p+0, 0x1p+0},
    {0x1p+0, -INFINITY, -0x1p+0, -INFINITY},
    {0x1p+0, NAN, NAN, NAN},
    {0x1p+0, 0x1.c363ccp+127, 0x0p+0, 0x1p+0},
    {-0x1.4p+1, 0x0p+0, -INFINITY, NAN},
    {-0x1.4p+1, -0x0p+0, INFINITY, NAN},
    {-0x1.4p+1, 0x1p+0, -0x1.8p+1, 0x1p-1},
    {-0x1.4p+1, -0x1.4p+1, 0x1p+0, -0x0p+0},
    {-0x1.4p+1, 0x1.cp+2, -0x1p+0, 0x1.2p+2},
    {-0x1.4p+1, -0x1.333334p-2, 0x1p+3, -0x1.99998p-4},
    {-0x1.4p+1, INFINITY, -0x1p+0, INFINITY},
    {-0x1.4p+1, -INFINITY, 0x0p+0, -0x1.4p+1},
    {-0x1.4p+1, NAN, NAN, NAN},
    {-0x1.4p+1, 0x1.c363ccp+127, -0x1p+0, 0x1.c363ccp+127},
    {0x1.cp+2, 0x0p+0, INFINITY, NAN},
    {0x1.cp+2, -0x0p+0, -INFINITY, NAN},
    {0x1.cp+2, 0x1p+0, 0x1.cp+2, 0x0p+0},
    {0x1.cp+2, -0x1.4p+1, -0x1.8p+1, -0x1p-1},
    {0x1.cp+2, 0x1.cp+2, 0x1p+0, 0x0p+0},
    {0x1.cp+2, -0x1.333334p-2, -0x1.8p+4, -0x1.9999cp-3},
    {0x1.cp+2, INFINITY, 0x0p+0, 0x1.cp+2},
    {0x1.cp+2, -INFINITY, -0x1p+0, -INFINITY},
    {0x1.cp+2, NAN, NAN, NAN},
    {0x1.cp+2, 0x1.c363ccp+127, 0x0p+0, 0x1.cp+2},
    {-0x1.333334p-2, 0x0p+0, -INFINITY, NAN},
    {-0x1.333334p-2, -0x0p+0, INFINITY, NAN},
    {-0x1.333334p-2, 0x1p+0, -0x1p+0, 0x1.666666p-1},
    {-0x1.333334p-2, -0x1.4p+1, 0x0p+0, -0x1.333334p-2},
    {-0x1.333334p-2, 0x1.cp+2, -0x1p+0, 0x1.acccccp+2},
    {-0x1.333334p-2, -0x1.333334p-2, 0x1p+0, -0x0p+0},
    {-0x1.333334p-2, INFINITY, -0x1p+0, INFINITY},
    {-0x1.333334p-2, -INFINITY, 0x0p+0, -0x1.333334p-2},
    {-0x1.333334p-2, NAN, NAN, NAN},
    {-0x1.333334p-2, 0x1.c363ccp+127, -0x1p+0, 0x1.c363ccp+127},
    {INFINITY, 0x0p+0, INFINITY, NAN},
    {INFINITY, -0x0p+0, -INFINITY, NAN},
    {INFINITY, 0x1p+0, NAN, NAN},
    {INFINITY, -0x1.4p+1, NAN, NAN},
    {INFINITY, 0x1.cp+2, NAN, NAN},
    {INFINITY, -0x1.333334p-2, NAN, NAN},
    {INFINITY, INFINITY, NAN, NAN},
    {INFINITY, -INFINITY, NAN, NAN},
    {INFINITY, NAN, NAN, NAN},
    {INFINITY, 0x1.c363ccp+127, NAN, NAN},
    {-INFINITY, 0x0p+0, -INFINITY, NAN},
    {-INFINITY, -0x0p+0, INFINITY, NAN},
    {-INFINITY, 0x1p+0, NAN, NAN},
    {-INFINITY, -0x1.4p+1, NAN, NAN},
    {-INFINITY, 0x1.cp+2, NAN, NAN},
    {-INFINITY, -0x1.333334p-2, NAN, NAN},
    {-INFINITY, INFINITY, NAN, NAN},
    {-INFINITY, -INFINITY, NAN, NAN},
    {-INFINITY, NAN, NAN, NAN},
    {-INFINITY, 0x1.c363ccp+127, NAN, NAN},
    {NAN, 0x0p+0, NAN, NAN},
    {NAN, -0x0p+0, NAN, NAN},
    {NAN, 0x1p+0, NAN, NAN},
    {NAN, -0x1.4p+1, NAN, NAN},
    {NAN, 0x1.cp+2, NAN, NAN},
    {NAN, -0x1.333334p-2, NAN, NAN},
    {NAN, INFINITY, NAN, NAN},
    {NAN, -INFINITY, NAN, NAN},
    {NAN, NAN, NAN, NAN},
    {NAN, 0x1.c363ccp+127, NAN, NAN},
    {0x1.c363ccp+127, 0x0p+0, INFINITY, NAN},
    {0x1.c363ccp+127, -0x0p+0, -INFINITY, NAN},
    {0x1.c363ccp+127, 0x1p+0, 0x1.c363ccp+127, 0x0p+0},
    {0x1.c363ccp+127, -0x1.4p+1, -0x1.691ca4p+126, -0x1p-1},
    {0x1.c363ccp+127, 0x1.cp+2, 0x1.01efe2p+125, 0x1p+0},
    {0x1.c363ccp+127, -0x1.333334p-2, -INFINITY, -0x1.1160fp-3},
    {0x1.c363ccp+127, INFINITY, 0x0p+0, 0x1.c363ccp+127},
    {0x1.c363ccp+127, -INFINITY, -0x1p+0, -INFINITY},
    {0x1.c363ccp+127, NAN, NAN, NAN},
    {0x1.c363ccp+127, 0x1.c363ccp+127, 0x1p+0, 0x0p+0},
};
/* clang-format on */

static void check_golden(floe_dtype dt, const double (*rows)[4], size_t count, int isa) {
  floe__ufunc2 fd = floe__ewise_binary_isa(FLOE_FLOOR_DIVIDE, dt, isa);
  floe__ufunc2 md = floe__ewise_binary_isa(FLOE_MOD, dt, isa);
  /* heap storage: no declared type, so it may be read as float or double */
  char *a = calloc(4, 8), *b = a + 8, *d = a + 16, *m = a + 24;
  cr_assert_not_null(a);
  for (size_t r = 0; r < count; r++) {
    putf(dt, a, 0, rows[r][0]);
    putf(dt, b, 0, rows[r][1]);
    fd(a, b, d, 1);
    md(a, b, m, 1);
    double want[2] = {rows[r][2], rows[r][3]}, got[2] = {getf(dt, d, 0), getf(dt, m, 0)};
    for (int k = 0; k < 2; k++) {
      int ok =
          isnan(want[k]) ? isnan(got[k]) : got[k] == want[k] && signbit(got[k]) == signbit(want[k]);
      cr_expect(ok, "%s %s(%a, %a) = %a, NumPy gives %a (%s)", dname[dt],
                k ? "mod" : "floor_divide", rows[r][0], rows[r][1], got[k], want[k], isa_name(isa));
    }
  }
  free(a);
}

Test(ewise_golden, floor_divide_and_mod_match_numpy) {
  for (int isa = 0; isa < isa_count(); isa++) {
    check_golden(FLOE_FLOAT64, golden_divmod_f64, COUNT(golden_divmod_f64), isa);
    check_golden(FLOE_FLOAT32, golden_divmod_f32, COUNT(golden_divmod_f32), isa);
  }
}

/* A few NumPy results that are easy to get wrong, through the dispatcher. */
Test(ewise_golden, numpy_spot_checks) {
  double x[4] = {0.0, -0.0, NAN, 1.0}, y[4] = {-0.0, 0.0, 1.0, NAN}, o[4];
  floe__binary_kernel(FLOE_MINIMUM, FLOE_FLOAT64)(x, y, o, 4);
  cr_expect(signbit(o[0]) && !signbit(o[1]) && isnan(o[2]) && isnan(o[3]));
  floe__binary_kernel(FLOE_MAXIMUM, FLOE_FLOAT64)(x, y, o, 4);
  cr_expect(signbit(o[0]) && !signbit(o[1]) && isnan(o[2]) && isnan(o[3]));
  double s[4] = {-0.0, -NAN, -3.5, 2.0};
  floe__unary_kernel(FLOE_SIGN, FLOE_FLOAT64)(s, o, 4);
  cr_expect(o[0] == 0 && !signbit(o[0]) && isnan(o[1]) && o[2] == -1 && o[3] == 1);
  double r[6] = {0.5, 1.5, 2.5, -0.5, -2.5, 3.5000000000000004}, rr[6];
  floe__unary_kernel(FLOE_ROUND, FLOE_FLOAT64)(r, rr, 6);
  cr_expect(rr[0] == 0 && rr[1] == 2 && rr[2] == 2 && rr[3] == 0 && signbit(rr[3]) && rr[4] == -2 &&
            rr[5] == 4);
  int32_t a[3] = {INT32_MIN, INT32_MIN, 7}, b[3] = {-1, -1, 0}, q[3], m[3];
  floe__binary_kernel(FLOE_FLOOR_DIVIDE, FLOE_INT32)(a, b, q, 3);
  floe__binary_kernel(FLOE_MOD, FLOE_INT32)(a, b, m, 3);
  cr_expect(q[0] == INT32_MIN && m[1] == 0 && q[2] == 0 && m[2] == 0);
  double big[3] = {-1.0, 300.0, 3.99};
  uint8_t u[3];
  floe__cast_kernel(FLOE_FLOAT64, FLOE_UINT8)(big, u, 3);
  cr_expect(u[0] == 255 && u[1] == 44 && u[2] == 3);
}

/* The AVX2 and portable tables agree bit for bit where both are exact, and
 * SLEEF's deterministic functions make the transcendentals agree too. */
Test(ewise_golden, avx2_and_portable_tables_agree) {
  if (!floe__ewise_have_avx2()) {
    cr_skip_test("no AVX2 on this CPU");
  }
  enum { N = 1027 };
  static double x[N], o1[N], o2[N];
  uint64_t s = 5;
  for (int i = 0; i < N; i++) {
    x[i] = (rnd_unit(&s) * 2 - 1) * 50;
  }
  for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
    floe__ufunc1 a = floe__ewise_unary_isa((floe_unary_op)op, FLOE_FLOAT64, 0);
    floe__ufunc1 v = floe__ewise_unary_isa((floe_unary_op)op, FLOE_FLOAT64, 1);
    if (!a || unary_bool_result(op)) {
      continue;
    }
    a(x, o1, N);
    v(x, o2, N);
    cr_expect(memcmp(o1, o2, sizeof o1) == 0, "%s differs between tables", uname[op]);
  }
}
