/* Private to src/kernels/ewise*.c (and the ewise test): the scalar
 * definition of every elementwise operation, and X-macro lists that stamp
 * them into contiguous loops.
 *
 * ewise-arith.c instantiates the lists as portable C; ewise-avx2.c
 * instantiates the very same lists again under -mavx2 -mfma, where GCC
 * vectorises them with 256-bit registers.  One definition per operation
 * keeps the tables bit-identical.  The loops are written without `restrict`
 * because `out` may equal an input: GCC versions each loop on a run-time
 * overlap check that lets out == x through to the vector body (same index,
 * dependence distance 0).
 *
 * Names: e_OP_DT is the element function, u_OP_DT / b_OP_DT the unary /
 * binary loop, so the lists can paste FLOE_##OP and FLOE_##DT. */
#ifndef FLOE_KERNELS_EWISE_LOOPS_H
#define FLOE_KERNELS_EWISE_LOOPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/ewise-internal.h"

/* ------------------------------------------------------------- tables */

typedef struct floe__ewise_table {
  floe__ufunc1 unary[FLOE_UNARY_COUNT_][FLOE_DTYPE_COUNT_];
  floe__ufunc2 binary[FLOE_BINARY_COUNT_][FLOE_DTYPE_COUNT_];
  floe__ufunc1 cast[FLOE_DTYPE_COUNT_][FLOE_DTYPE_COUNT_];
  floe__where_fn where[FLOE_DTYPE_COUNT_];
} floe__ewise_table;

/* Lookup goes avx2 (when the CPU has AVX2 and FMA), then math, then base;
 * a NULL entry falls through to the next table. */
extern const floe__ewise_table floe__ewise_base; /* ewise-arith.c: portable C */
extern const floe__ewise_table floe__ewise_math; /* ewise-math.c: SLEEF, SSE2 */
extern const floe__ewise_table floe__ewise_avx2; /* ewise-avx2.c */

/* Non-zero when this CPU runs the AVX2+FMA table. */
int floe__ewise_have_avx2(void);
/* The kernels the dispatchers would pick with (avx2 != 0) or without the
 * AVX2 table, so that tests can check both on an AVX2 machine. */
floe__ufunc1 floe__ewise_unary_isa(floe_unary_op op, floe_dtype dt, int avx2);
floe__ufunc2 floe__ewise_binary_isa(floe_binary_op op, floe_dtype dt, int avx2);
floe__ufunc1 floe__ewise_cast_isa(floe_dtype from, floe_dtype to, int avx2);
floe__where_fn floe__ewise_where_isa(floe_dtype dt, int avx2);

/* ----------------------------------------------------- element functions */

static inline uint64_t floe__ew_upow(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) {
      r *= base;
    }
    base *= base;
    e >>= 1;
  }
  return r;
}

/* Comparisons for every dtype (floats: IEEE, so NaN is unordered). */
#define FLOE__EW_DEF_CMP(DT, T)                                                                    \
  static inline uint8_t e_EQUAL_##DT(T a, T b) {                                                   \
    return a == b;                                                                                 \
  }                                                                                                \
  static inline uint8_t e_NOT_EQUAL_##DT(T a, T b) {                                               \
    return a != b;                                                                                 \
  }                                                                                                \
  static inline uint8_t e_LESS_##DT(T a, T b) {                                                    \
    return a < b;                                                                                  \
  }                                                                                                \
  static inline uint8_t e_LESS_EQUAL_##DT(T a, T b) {                                              \
    return a <= b;                                                                                 \
  }                                                                                                \
  static inline uint8_t e_GREATER_##DT(T a, T b) {                                                 \
    return a > b;                                                                                  \
  }                                                                                                \
  static inline uint8_t e_GREATER_EQUAL_##DT(T a, T b) {                                           \
    return a >= b;                                                                                 \
  }

/* Shared by all integers.  UT is the unsigned type that arithmetic wraps
 * through (`unsigned` for uint8, whose values would promote to int). */
#define FLOE__EW_DEF_INT(DT, T, UT)                                                                \
  FLOE__EW_DEF_CMP(DT, T)                                                                          \
  static inline T e_NEGATIVE_##DT(T x) {                                                           \
    return (T)(0u - (UT)x);                                                                        \
  }                                                                                                \
  static inline T e_SQUARE_##DT(T x) {                                                             \
    return (T)((UT)x * (UT)x);                                                                     \
  }                                                                                                \
  static inline uint8_t e_ISNAN_##DT(T x) {                                                        \
    return 0;                                                                                      \
  }                                                                                                \
  static inline uint8_t e_ISINF_##DT(T x) {                                                        \
    return 0;                                                                                      \
  }                                                                                                \
  static inline uint8_t e_ISFINITE_##DT(T x) {                                                     \
    return 1;                                                                                      \
  }                                                                                                \
  static inline T e_ADD_##DT(T a, T b) {                                                           \
    return (T)((UT)a + (UT)b);                                                                     \
  }                                                                                                \
  static inline T e_SUBTRACT_##DT(T a, T b) {                                                      \
    return (T)((UT)a - (UT)b);                                                                     \
  }                                                                                                \
  static inline T e_MULTIPLY_##DT(T a, T b) {                                                      \
    return (T)((UT)a * (UT)b);                                                                     \
  }                                                                                                \
  static inline T e_MINIMUM_##DT(T a, T b) {                                                       \
    return a < b ? a : b;                                                                          \
  }                                                                                                \
  static inline T e_MAXIMUM_##DT(T a, T b) {                                                       \
    return a > b ? a : b;                                                                          \
  }

/* Signed: Python's floor division and modulo; division by 0 gives 0,
 * MIN / -1 wraps to MIN and MIN % -1 is 0 (both would trap in C). */
#define FLOE__EW_DEF_SIGNED(DT, T, UT)                                                             \
  FLOE__EW_DEF_INT(DT, T, UT)                                                                      \
  static inline T e_ABS_##DT(T x) {                                                                \
    return x < 0 ? (T)(0u - (UT)x) : x;                                                            \
  }                                                                                                \
  static inline T e_SIGN_##DT(T x) {                                                               \
    return (T)((x > 0) - (x < 0));                                                                 \
  }                                                                                                \
  static inline T e_RECIPROCAL_##DT(T x) {                                                         \
    return x == 1 || x == -1 ? x : 0;                                                              \
  }                                                                                                \
  static inline T e_FLOOR_DIVIDE_##DT(T a, T b) {                                                  \
    if (b == 0) {                                                                                  \
      return 0;                                                                                    \
    }                                                                                              \
    if (b == -1) {                                                                                 \
      return (T)(0u - (UT)a);                                                                      \
    }                                                                                              \
    T q = a / b;                                                                                   \
    return (T)(q - ((a % b != 0) & ((a < 0) != (b < 0))));                                         \
  }                                                                                                \
  static inline T e_MOD_##DT(T a, T b) {                                                           \
    if (b == 0 || b == -1) {                                                                       \
      return 0;                                                                                    \
    }                                                                                              \
    T r = a % b;                                                                                   \
    return r != 0 && (r < 0) != (b < 0) ? (T)(r + b) : r;                                          \
  }                                                                                                \
  static inline T e_POWER_##DT(T a, T b) {                                                         \
    if (b < 0) {                                                                                   \
      return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;                                        \
    }                                                                                              \
    return (T)(UT)floe__ew_upow((uint64_t)(UT)a, (uint64_t)b);                                     \
  }

#define FLOE__EW_DEF_UNSIGNED(DT, T, UT)                                                           \
  FLOE__EW_DEF_INT(DT, T, UT)                                                                      \
  static inline T e_ABS_##DT(T x) {                                                                \
    return x;                                                                                      \
  }                                                                                                \
  static inline T e_SIGN_##DT(T x) {                                                               \
    return x != 0;                                                                                 \
  }                                                                                                \
  static inline T e_RECIPROCAL_##DT(T x) {                                                         \
    return x == 1;                                                                                 \
  }                                                                                                \
  static inline T e_FLOOR_DIVIDE_##DT(T a, T b) {                                                  \
    return b ? (T)(a / b) : 0;                                                                     \
  }                                                                                                \
  static inline T e_MOD_##DT(T a, T b) {                                                           \
    return b ? (T)(a % b) : 0;                                                                     \
  }                                                                                                \
  static inline T e_POWER_##DT(T a, T b) {                                                         \
    return (T)floe__ew_upow(a, b);                                                                 \
  }

/* Floats; S is the libm suffix (empty or f).  floor_divide and mod are
 * NumPy 1.24's npy_floor_divide / npy_remainder (npy_divmod) line by line:
 * fmod, then move the remainder to the divisor's sign and snap the quotient
 * to an integer; by zero, floor_divide is a / b and mod is fmod (NaN). */
#define FLOE__EW_DEF_FLOAT(DT, T, S)                                                               \
  FLOE__EW_DEF_CMP(DT, T)                                                                          \
  static inline T e_NEGATIVE_##DT(T x) {                                                           \
    return -x;                                                                                     \
  }                                                                                                \
  static inline T e_ABS_##DT(T x) {                                                                \
    return fabs##S(x);                                                                             \
  }                                                                                                \
  static inline T e_SIGN_##DT(T x) {                                                               \
    return x > 0 ? (T)1 : x < 0 ? (T)-1 : x == 0 ? (T)0 : x;                                       \
  }                                                                                                \
  static inline T e_SQUARE_##DT(T x) {                                                             \
    return x * x;                                                                                  \
  }                                                                                                \
  static inline T e_RECIPROCAL_##DT(T x) {                                                         \
    return (T)1 / x;                                                                               \
  }                                                                                                \
  static inline T e_SQRT_##DT(T x) {                                                               \
    return sqrt##S(x);                                                                             \
  }                                                                                                \
  static inline T e_FLOOR_##DT(T x) {                                                              \
    return floor##S(x);                                                                            \
  }                                                                                                \
  static inline T e_CEIL_##DT(T x) {                                                               \
    return ceil##S(x);                                                                             \
  }                                                                                                \
  static inline T e_ROUND_##DT(T x) {                                                              \
    return rint##S(x);                                                                             \
  }                                                                                                \
  static inline T e_TRUNC_##DT(T x) {                                                              \
    return trunc##S(x);                                                                            \
  }                                                                                                \
  static inline uint8_t e_ISNAN_##DT(T x) {                                                        \
    return x != x;                                                                                 \
  }                                                                                                \
  static inline uint8_t e_ISINF_##DT(T x) {                                                        \
    return fabs##S(x) == (T)INFINITY;                                                              \
  }                                                                                                \
  static inline uint8_t e_ISFINITE_##DT(T x) {                                                     \
    return fabs##S(x) < (T)INFINITY;                                                               \
  }                                                                                                \
  static inline T e_ADD_##DT(T a, T b) {                                                           \
    return a + b;                                                                                  \
  }                                                                                                \
  static inline T e_SUBTRACT_##DT(T a, T b) {                                                      \
    return a - b;                                                                                  \
  }                                                                                                \
  static inline T e_MULTIPLY_##DT(T a, T b) {                                                      \
    return a * b;                                                                                  \
  }                                                                                                \
  static inline T e_DIVIDE_##DT(T a, T b) {                                                        \
    return a / b;                                                                                  \
  }                                                                                                \
  /* NaN propagates; between equal operands (0.0, -0.0) the second wins,                           \
   * as NumPy's (isnan(a) || a < b) ? a : b does. */                                               \
  static inline T e_MINIMUM_##DT(T a, T b) {                                                       \
    return a != a ? a : a < b ? a : b;                                                             \
  }                                                                                                \
  static inline T e_MAXIMUM_##DT(T a, T b) {                                                       \
    return a != a ? a : a > b ? a : b;                                                             \
  }                                                                                                \
  static inline T e_FLOOR_DIVIDE_##DT(T a, T b) {                                                  \
    if (b == 0) {                                                                                  \
      return a / b;                                                                                \
    }                                                                                              \
    T mod = fmod##S(a, b);                                                                         \
    T div = (a - mod) / b;                                                                         \
    if (mod != 0 && (b < 0) != (mod < 0)) {                                                        \
      div -= 1;                                                                                    \
    }                                                                                              \
    if (div == 0) {                                                                                \
      return copysign##S(0, a / b);                                                                \
    }                                                                                              \
    T fl = floor##S(div);                                                                          \
    return div - fl > (T)0.5 ? fl + 1 : fl;                                                        \
  }                                                                                                \
  static inline T e_MOD_##DT(T a, T b) {                                                           \
    T mod = fmod##S(a, b);                                                                         \
    if (b == 0) {                                                                                  \
      return mod;                                                                                  \
    }                                                                                              \
    if (mod == 0) {                                                                                \
      return copysign##S(0, b);                                                                    \
    }                                                                                              \
    return (b < 0) != (mod < 0) ? mod + b : mod;                                                   \
  }

/* Bool is one byte holding 0 or 1: add is or, multiply is and. */
#define FLOE__EW_DEF_BOOL(DT, T)                                                                   \
  FLOE__EW_DEF_CMP(DT, T)                                                                          \
  static inline T e_ABS_##DT(T x) {                                                                \
    return x;                                                                                      \
  }                                                                                                \
  static inline uint8_t e_ISNAN_##DT(T x) {                                                        \
    return 0;                                                                                      \
  }                                                                                                \
  static inline uint8_t e_ISINF_##DT(T x) {                                                        \
    return 0;                                                                                      \
  }                                                                                                \
  static inline uint8_t e_ISFINITE_##DT(T x) {                                                     \
    return 1;                                                                                      \
  }                                                                                                \
  static inline T e_LOGICAL_NOT_##DT(T x) {                                                        \
    return x == 0;                                                                                 \
  }                                                                                                \
  static inline T e_ADD_##DT(T a, T b) {                                                           \
    return a | b;                                                                                  \
  }                                                                                                \
  static inline T e_MULTIPLY_##DT(T a, T b) {                                                      \
    return a & b;                                                                                  \
  }                                                                                                \
  static inline T e_MINIMUM_##DT(T a, T b) {                                                       \
    return a & b;                                                                                  \
  }                                                                                                \
  static inline T e_MAXIMUM_##DT(T a, T b) {                                                       \
    return a | b;                                                                                  \
  }                                                                                                \
  static inline T e_LOGICAL_AND_##DT(T a, T b) {                                                   \
    return (a != 0) & (b != 0);                                                                    \
  }                                                                                                \
  static inline T e_LOGICAL_OR_##DT(T a, T b) {                                                    \
    return (a | b) != 0;                                                                           \
  }                                                                                                \
  static inline T e_LOGICAL_XOR_##DT(T a, T b) {                                                   \
    return (a != 0) ^ (b != 0);                                                                    \
  }

FLOE__EW_DEF_BOOL(BOOL, uint8_t)
FLOE__EW_DEF_UNSIGNED(UINT8, uint8_t, unsigned)
FLOE__EW_DEF_SIGNED(INT32, int32_t, uint32_t)
FLOE__EW_DEF_SIGNED(INT64, int64_t, uint64_t)
FLOE__EW_DEF_FLOAT(FLOAT32, float, f)
FLOE__EW_DEF_FLOAT(FLOAT64, double, )

/* -------------------------------------------------------------- casts */

/* Float to integer never converts an out-of-range value in C (that is UB):
 * NaN gives 0, values beyond the range saturate, the rest truncate.  The
 * clamps are selects, so the loops still vectorise.  Bounds: 2^31 - 1 is
 * a double; the largest float below 2^31 and double below 2^63 clamp, and a
 * final select gives MAX for inputs at or above 2^31 / 2^63. */
static inline int32_t floe__ew_f64_i32(double x) {
  double c = x != x ? 0.0 : x;
  c = c < -0x1p31 ? -0x1p31 : c;
  c = c > 2147483647.0 ? 2147483647.0 : c;
  return (int32_t)c;
}
static inline int32_t floe__ew_f32_i32(float x) {
  float c = x != x ? 0.0f : x;
  c = c < -0x1p31f ? -0x1p31f : c;
  c = c > 0x1.fffffep30f ? 0x1.fffffep30f : c;
  int32_t r = (int32_t)c;
  return x >= 0x1p31f ? INT32_MAX : r;
}
static inline int64_t floe__ew_f64_i64(double x) {
  double c = x != x ? 0.0 : x;
  c = c < -0x1p63 ? -0x1p63 : c;
  c = c > 0x1.fffffffffffffp62 ? 0x1.fffffffffffffp62 : c;
  int64_t r = (int64_t)c;
  return x >= 0x1p63 ? INT64_MAX : r;
}
/* To uint8 NumPy converts through a wide integer and keeps the low byte
 * (-1.0 → 255, 300.0 → 44); so do we, through the saturating int64. */
static inline uint8_t floe__ew_f64_u8(double x) {
  return (uint8_t)(uint64_t)floe__ew_f64_i64(x);
}

/* FLOE__EW_CV_<to>(x): x (of any floe storage type) converted to <to>. */
#define FLOE__EW_CV_BOOL(x) ((uint8_t)((x) != 0))
#define FLOE__EW_CV_UINT8(x)                                                                       \
  _Generic((x), float                                                                              \
           : floe__ew_f64_u8((double)(x)), double                                                  \
           : floe__ew_f64_u8((double)(x)), default                                                 \
           : (uint8_t)(x))
#define FLOE__EW_CV_INT32(x)                                                                       \
  _Generic((x), float                                                                              \
           : floe__ew_f32_i32((float)(x)), double                                                  \
           : floe__ew_f64_i32((double)(x)), default                                                \
           : (int32_t)(x))
#define FLOE__EW_CV_INT64(x)                                                                       \
  _Generic((x), float                                                                              \
           : floe__ew_f64_i64((double)(x)), double                                                 \
           : floe__ew_f64_i64((double)(x)), default                                                \
           : (int64_t)(x))
#define FLOE__EW_CV_FLOAT32(x) ((float)(x))
#define FLOE__EW_CV_FLOAT64(x) ((double)(x))

/* -------------------------------------------------------------- lists */

/* X(OP, DT, input type, output type) */
#define FLOE__EW_U_CLASSIFY(X, DT, T)                                                              \
  X(ISNAN, DT, T, uint8_t) X(ISINF, DT, T, uint8_t) X(ISFINITE, DT, T, uint8_t)
#define FLOE__EW_U_NUMERIC(X, DT, T)                                                               \
  X(NEGATIVE, DT, T, T)                                                                            \
  X(ABS, DT, T, T)                                                                                 \
  X(SIGN, DT, T, T) X(SQUARE, DT, T, T) X(RECIPROCAL, DT, T, T) FLOE__EW_U_CLASSIFY(X, DT, T)
/* The unary kernels both tables stamp from the element functions. */
#define FLOE__EW_UNARY_CORE(X)                                                                     \
  X(ABS, BOOL, uint8_t, uint8_t)                                                                   \
  X(LOGICAL_NOT, BOOL, uint8_t, uint8_t)                                                           \
  FLOE__EW_U_CLASSIFY(X, BOOL, uint8_t)                                                            \
  FLOE__EW_U_NUMERIC(X, UINT8, uint8_t)                                                            \
  FLOE__EW_U_NUMERIC(X, INT32, int32_t)                                                            \
  FLOE__EW_U_NUMERIC(X, INT64, int64_t)                                                            \
  FLOE__EW_U_NUMERIC(X, FLOAT32, float)                                                            \
  FLOE__EW_U_NUMERIC(X, FLOAT64, double)
/* sqrt and rounding: libm in the portable table, instructions in AVX2's. */
#define FLOE__EW_U_ROUNDING(X, DT, T)                                                              \
  X(SQRT, DT, T, T) X(FLOOR, DT, T, T) X(CEIL, DT, T, T) X(ROUND, DT, T, T) X(TRUNC, DT, T, T)
#define FLOE__EW_UNARY_ROUNDING(X)                                                                 \
  FLOE__EW_U_ROUNDING(X, FLOAT32, float) FLOE__EW_U_ROUNDING(X, FLOAT64, double)

#define FLOE__EW_B_CMP(X, DT, T)                                                                   \
  X(EQUAL, DT, T, uint8_t)                                                                         \
  X(NOT_EQUAL, DT, T, uint8_t)                                                                     \
  X(LESS, DT, T, uint8_t)                                                                          \
  X(LESS_EQUAL, DT, T, uint8_t) X(GREATER, DT, T, uint8_t) X(GREATER_EQUAL, DT, T, uint8_t)
#define FLOE__EW_B_NUMERIC(X, DT, T)                                                               \
  X(ADD, DT, T, T)                                                                                 \
  X(SUBTRACT, DT, T, T)                                                                            \
  X(MULTIPLY, DT, T, T)                                                                            \
  X(FLOOR_DIVIDE, DT, T, T)                                                                        \
  X(MOD, DT, T, T) X(MINIMUM, DT, T, T) X(MAXIMUM, DT, T, T) FLOE__EW_B_CMP(X, DT, T)
/* Float power, arctan2 and hypot live in the math tables. */
#define FLOE__EW_BINARY_CORE(X)                                                                    \
  X(ADD, BOOL, uint8_t, uint8_t)                                                                   \
  X(MULTIPLY, BOOL, uint8_t, uint8_t)                                                              \
  X(MINIMUM, BOOL, uint8_t, uint8_t)                                                               \
  X(MAXIMUM, BOOL, uint8_t, uint8_t)                                                               \
  X(LOGICAL_AND, BOOL, uint8_t, uint8_t)                                                           \
  X(LOGICAL_OR, BOOL, uint8_t, uint8_t)                                                            \
  X(LOGICAL_XOR, BOOL, uint8_t, uint8_t)                                                           \
  FLOE__EW_B_CMP(X, BOOL, uint8_t)                                                                 \
  FLOE__EW_B_NUMERIC(X, UINT8, uint8_t)                                                            \
  X(POWER, UINT8, uint8_t, uint8_t)                                                                \
  FLOE__EW_B_NUMERIC(X, INT32, int32_t)                                                            \
  X(POWER, INT32, int32_t, int32_t)                                                                \
  FLOE__EW_B_NUMERIC(X, INT64, int64_t)                                                            \
  X(POWER, INT64, int64_t, int64_t)                                                                \
  FLOE__EW_B_NUMERIC(X, FLOAT32, float)                                                            \
  X(DIVIDE, FLOAT32, float, float)                                                                 \
  FLOE__EW_B_NUMERIC(X, FLOAT64, double)                                                           \
  X(DIVIDE, FLOAT64, double, double)

/* X(FROM, TO, from type, to type): every pair, the identity included. */
#define FLOE__EW_CAST_TO(X, F, TF)                                                                 \
  X(F, BOOL, TF, uint8_t)                                                                          \
  X(F, UINT8, TF, uint8_t)                                                                         \
  X(F, INT32, TF, int32_t)                                                                         \
  X(F, INT64, TF, int64_t) X(F, FLOAT32, TF, float) X(F, FLOAT64, TF, double)
#define FLOE__EW_CASTS(X)                                                                          \
  FLOE__EW_CAST_TO(X, BOOL, uint8_t)                                                               \
  FLOE__EW_CAST_TO(X, UINT8, uint8_t)                                                              \
  FLOE__EW_CAST_TO(X, INT32, int32_t)                                                              \
  FLOE__EW_CAST_TO(X, INT64, int64_t)                                                              \
  FLOE__EW_CAST_TO(X, FLOAT32, float) FLOE__EW_CAST_TO(X, FLOAT64, double)

/* where selects bit patterns (NaN payloads and -0.0 survive), so dtypes of
 * one size share a loop; a mask rather than ?: so that GCC vectorises it
 * (it will not if-convert the byte-sized conditional loads). X(DT, bits). */
#define FLOE__EW_WHERES(X)                                                                         \
  X(BOOL, 8) X(UINT8, 8) X(INT32, 32) X(INT64, 64) X(FLOAT32, 32) X(FLOAT64, 64)

/* ---------------------------------------------------- loop generators */

#define FLOE__EW_LOOP1(OP, DT, TI, TO)                                                             \
  static void u_##OP##_##DT(const void *xv, void *ov, int64_t n) {                                 \
    const TI *x = xv;                                                                              \
    TO *o = ov;                                                                                    \
    for (int64_t i = 0; i < n; i++) {                                                              \
      o[i] = e_##OP##_##DT(x[i]);                                                                  \
    }                                                                                              \
  }
#define FLOE__EW_LOOP2(OP, DT, TI, TO)                                                             \
  static void b_##OP##_##DT(const void *xv, const void *yv, void *ov, int64_t n) {                 \
    const TI *x = xv;                                                                              \
    const TI *y = yv;                                                                              \
    TO *o = ov;                                                                                    \
    for (int64_t i = 0; i < n; i++) {                                                              \
      o[i] = e_##OP##_##DT(x[i], y[i]);                                                            \
    }                                                                                              \
  }
#define FLOE__EW_LOOP_CAST(F, TO, TF, TT)                                                          \
  static void c_##F##_##TO(const void *xv, void *ov, int64_t n) {                                  \
    const TF *x = xv;                                                                              \
    TT *o = ov;                                                                                    \
    for (int64_t i = 0; i < n; i++) {                                                              \
      o[i] = FLOE__EW_CV_##TO(x[i]);                                                               \
    }                                                                                              \
  }
#define FLOE__EW_LOOP_WHERE(BITS)                                                                  \
  static void w_##BITS(const _Bool *cv, const void *av, const void *bv, void *ov, int64_t n) {     \
    const uint8_t *c = (const uint8_t *)cv;                                                        \
    const uint##BITS##_t *a = av;                                                                  \
    const uint##BITS##_t *b = bv;                                                                  \
    uint##BITS##_t *o = ov;                                                                        \
    for (int64_t i = 0; i < n; i++) {                                                              \
      uint##BITS##_t m = (uint##BITS##_t)((uint##BITS##_t)0 - (uint##BITS##_t)(c[i] != 0));        \
      o[i] = (uint##BITS##_t)((a[i] & m) | (b[i] & ~m));                                           \
    }                                                                                              \
  }

#define FLOE__EW_ENTRY1(OP, DT, TI, TO) .unary[FLOE_##OP][FLOE_##DT] = u_##OP##_##DT,
#define FLOE__EW_ENTRY2(OP, DT, TI, TO) .binary[FLOE_##OP][FLOE_##DT] = b_##OP##_##DT,
#define FLOE__EW_ENTRY_CAST(F, TO, TF, TT) .cast[FLOE_##F][FLOE_##TO] = c_##F##_##TO,
#define FLOE__EW_ENTRY_WHERE(DT, BITS) .where[FLOE_##DT] = w_##BITS,

/* Defines every loop of the core lists as static functions in this file;
 * FLOE__EW_CORE_ENTRIES then lists them in a table initialiser. */
#define FLOE__EW_CORE_LOOPS()                                                                      \
  FLOE__EW_UNARY_CORE(FLOE__EW_LOOP1)                                                              \
  FLOE__EW_BINARY_CORE(FLOE__EW_LOOP2)                                                             \
  FLOE__EW_CASTS(FLOE__EW_LOOP_CAST)                                                               \
  FLOE__EW_LOOP_WHERE(8) FLOE__EW_LOOP_WHERE(32) FLOE__EW_LOOP_WHERE(64)
#define FLOE__EW_CORE_ENTRIES()                                                                    \
  FLOE__EW_UNARY_CORE(FLOE__EW_ENTRY1)                                                             \
  FLOE__EW_BINARY_CORE(FLOE__EW_ENTRY2)                                                            \
  FLOE__EW_CASTS(FLOE__EW_ENTRY_CAST) FLOE__EW_WHERES(FLOE__EW_ENTRY_WHERE)

/* A loop over W-lane vectors for a vector function FN; the last partial
 * vector goes through a zero-padded copy, so every element sees the same
 * function whatever n and the offset. */
#define FLOE__EW_VEC1(NAME, T, W, LOAD, STORE, FN)                                                 \
  static void NAME(const void *xv, void *ov, int64_t n) {                                          \
    const T *x = xv;                                                                               \
    T *o = ov;                                                                                     \
    int64_t i = 0;                                                                                 \
    for (; i + (W) <= n; i += (W)) {                                                               \
      STORE(o + i, FN(LOAD(x + i)));                                                               \
    }                                                                                              \
    if (i < n) {                                                                                   \
      T t[W] = {0};                                                                                \
      memcpy(t, x + i, (size_t)(n - i) * sizeof(T));                                               \
      STORE(t, FN(LOAD(t)));                                                                       \
      memcpy(o + i, t, (size_t)(n - i) * sizeof(T));                                               \
    }                                                                                              \
  }
#define FLOE__EW_VEC2(NAME, T, W, LOAD, STORE, FN)                                                 \
  static void NAME(const void *xv, const void *yv, void *ov, int64_t n) {                          \
    const T *x = xv;                                                                               \
    const T *y = yv;                                                                               \
    T *o = ov;                                                                                     \
    int64_t i = 0;                                                                                 \
    for (; i + (W) <= n; i += (W)) {                                                               \
      STORE(o + i, FN(LOAD(x + i), LOAD(y + i)));                                                  \
    }                                                                                              \
    if (i < n) {                                                                                   \
      T s[W] = {0};                                                                                \
      T t[W] = {0};                                                                                \
      memcpy(s, x + i, (size_t)(n - i) * sizeof(T));                                               \
      memcpy(t, y + i, (size_t)(n - i) * sizeof(T));                                               \
      STORE(t, FN(LOAD(s), LOAD(t)));                                                              \
      memcpy(o + i, t, (size_t)(n - i) * sizeof(T));                                               \
    }                                                                                              \
  }

/* Lanes k < W of xs whose magnitude exceeds bound: rs[k] = libm(xs[k]). */
#define FLOE__EW_FIXUP(xs, rs, W, bound, libm)                                                     \
  for (int k_ = 0; k_ < (W); k_++) {                                                               \
    if (fabs((double)(xs)[k_]) > (bound)) {                                                        \
      (rs)[k_] = libm((xs)[k_]);                                                                   \
    }                                                                                              \
  }

/* Transcendentals: X(OP, SLEEF/libm name, SLEEF accuracy suffix). */
#define FLOE__EW_MATH1(X)                                                                          \
  X(EXP, exp, u10)                                                                                 \
  X(EXPM1, expm1, u10)                                                                             \
  X(LOG, log, u10)                                                                                 \
  X(LOG2, log2, u10)                                                                               \
  X(LOG10, log10, u10)                                                                             \
  X(SIN, sin, u10)                                                                                 \
  X(COS, cos, u10)                                                                                 \
  X(TAN, tan, u10)                                                                                 \
  X(ARCSIN, asin, u10)                                                                             \
  X(ARCCOS, acos, u10)                                                                             \
  X(ARCTAN, atan, u10) X(TANH, tanh, u10)
/* SLEEF 3.5's sinh and cosh overflow early (from |x| ~ 709.8 in double,
 * ~88.7 in float, where the results are still finite) and its log1p gives
 * inf above 1e307 / 1e38f.  Lanes beyond X's bounds (double, float) go to
 * libm instead; they are rare, so the check is a compare and a movemask. */
#define FLOE__EW_MATH1_RANGED(X)                                                                   \
  X(SINH, sinh, u10, 709.0, 88.0f)                                                                 \
  X(COSH, cosh, u10, 709.0, 88.0f) X(LOG1P, log1p, u10, 1e307, 1e38f)
#define FLOE__EW_MATH2(X) X(POWER, pow, u10) X(ARCTAN2, atan2, u10) X(HYPOT, hypot, u05)

#endif
