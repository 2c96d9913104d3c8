/* Elementwise kernels: the dtype rules and the dispatch onto the kernel
 * tables (ewise-arith.c portable loops, ewise-math.c SLEEF, ewise-avx2.c
 * AVX2+FMA).  The element semantics live in ewise-loops.h.
 *
 * Choices where ewise-internal.h leaves room (all NumPy 1.24 unless said):
 *  - floor, ceil, round and trunc follow the contract (bool/uint8 compute in
 *    float32, int32/int64 in float64, as numpy.floor/rint/trunc do), not
 *    floe.h's "keep the dtype" (NumPy >= 2.3 for floor/ceil/trunc; np.round
 *    of integers).  Integers then have no floor/ceil/round/trunc kernel; the
 *    identity is floe__cast_kernel(dt, dt) should that rule change.
 *  - minimum/maximum: NaN propagates (the first NaN operand wins); between
 *    equal operands such as 0.0 and -0.0 the second is returned, as NumPy's
 *    (isnan(a) || a < b) ? a : b.
 *  - sign of NaN is that NaN; sign(-0.0) is +0.0.
 *  - integer reciprocal(0) is 0 (NumPy gives INT_MIN from 1/0).
 *  - float to int32/int64: NaN gives 0, out of range saturates (NumPy on x86
 *    gives INT_MIN for all of them); float to uint8 keeps the low byte of the
 *    saturated int64, as NumPy does for values in range (-1.0 → 255).
 *  - floe__cast_kernel and floe__where_kernel return NULL only for dtypes
 *    out of range. */
#include "core/dtype-internal.h"
#include "kernels/ewise-loops.h"

#define NONE FLOE_DTYPE_COUNT_

int floe__ewise_have_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
  /* libgcc fills the CPU model in a constructor, before any call here. */
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

/* Transcendentals of bool/uint8 would be float16 in NumPy: float32 here. */
static floe_dtype math_dtype(floe_dtype in) {
  switch (in) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    return FLOE_FLOAT32;
  case FLOE_INT32:
  case FLOE_INT64:
    return FLOE_FLOAT64;
  default:
    return in;
  }
}

floe_dtype floe__unary_compute_dtype(floe_unary_op op, floe_dtype in) {
  if (!floe__dtype_valid(in)) {
    return NONE;
  }
  switch (op) {
  case FLOE_NEGATIVE:
  case FLOE_SIGN:
    return in == FLOE_BOOL ? NONE : in;
  case FLOE_ABS:
  case FLOE_ISNAN:
  case FLOE_ISINF:
  case FLOE_ISFINITE:
    return in;
  case FLOE_SQUARE:
  case FLOE_RECIPROCAL:
    return in == FLOE_BOOL ? FLOE_UINT8 : in;
  case FLOE_LOGICAL_NOT:
    return FLOE_BOOL;
  case FLOE_SQRT:
  case FLOE_EXP:
  case FLOE_EXPM1:
  case FLOE_LOG:
  case FLOE_LOG1P:
  case FLOE_LOG2:
  case FLOE_LOG10:
  case FLOE_SIN:
  case FLOE_COS:
  case FLOE_TAN:
  case FLOE_ARCSIN:
  case FLOE_ARCCOS:
  case FLOE_ARCTAN:
  case FLOE_SINH:
  case FLOE_COSH:
  case FLOE_TANH:
  case FLOE_FLOOR:
  case FLOE_CEIL:
  case FLOE_ROUND:
  case FLOE_TRUNC:
    return math_dtype(in);
  case FLOE_UNARY_COUNT_:
    break;
  }
  return NONE;
}

floe_dtype floe__unary_result_dtype(floe_unary_op op, floe_dtype compute) {
  if (!floe__dtype_valid(compute) || (unsigned)op >= (unsigned)FLOE_UNARY_COUNT_) {
    return NONE;
  }
  switch (op) {
  case FLOE_ISNAN:
  case FLOE_ISINF:
  case FLOE_ISFINITE:
  case FLOE_LOGICAL_NOT:
    return FLOE_BOOL;
  default:
    return compute;
  }
}

floe_dtype floe__binary_compute_dtype(floe_binary_op op, floe_dtype promoted) {
  if (!floe__dtype_valid(promoted)) {
    return NONE;
  }
  switch (op) {
  case FLOE_DIVIDE:
    return floe__dtype_is_float(promoted) ? promoted : FLOE_FLOAT64;
  case FLOE_ARCTAN2:
  case FLOE_HYPOT:
    return math_dtype(promoted);
  case FLOE_LOGICAL_AND:
  case FLOE_LOGICAL_OR:
  case FLOE_LOGICAL_XOR:
    return FLOE_BOOL;
  case FLOE_SUBTRACT:
    return promoted == FLOE_BOOL ? NONE : promoted;
  case FLOE_FLOOR_DIVIDE:
  case FLOE_MOD:
  case FLOE_POWER:
    /* NumPy gives int8 for two bools; floe has no int8. */
    return promoted == FLOE_BOOL ? FLOE_UINT8 : promoted;
  case FLOE_ADD:
  case FLOE_MULTIPLY:
  case FLOE_MINIMUM:
  case FLOE_MAXIMUM:
  case FLOE_EQUAL:
  case FLOE_NOT_EQUAL:
  case FLOE_LESS:
  case FLOE_LESS_EQUAL:
  case FLOE_GREATER:
  case FLOE_GREATER_EQUAL:
    return promoted;
  case FLOE_BINARY_COUNT_:
    break;
  }
  return NONE;
}

floe_dtype floe__binary_result_dtype(floe_binary_op op, floe_dtype compute) {
  if (!floe__dtype_valid(compute) || (unsigned)op >= (unsigned)FLOE_BINARY_COUNT_) {
    return NONE;
  }
  switch (op) {
  case FLOE_EQUAL:
  case FLOE_NOT_EQUAL:
  case FLOE_LESS:
  case FLOE_LESS_EQUAL:
  case FLOE_GREATER:
  case FLOE_GREATER_EQUAL:
  case FLOE_LOGICAL_AND:
  case FLOE_LOGICAL_OR:
  case FLOE_LOGICAL_XOR:
    return FLOE_BOOL;
  default:
    return compute;
  }
}

/* The first non-NULL entry in AVX2 (when asked), math, base order. */
#define PICK(field, avx2)                                                                          \
  ((avx2) && floe__ewise_avx2.field ? floe__ewise_avx2.field                                       \
   : floe__ewise_math.field         ? floe__ewise_math.field                                       \
                                    : floe__ewise_base.field)

floe__ufunc1 floe__ewise_unary_isa(floe_unary_op op, floe_dtype dt, int avx2) {
  if ((unsigned)op >= (unsigned)FLOE_UNARY_COUNT_ || !floe__dtype_valid(dt)) {
    return NULL;
  }
  return PICK(unary[op][dt], avx2);
}

floe__ufunc2 floe__ewise_binary_isa(floe_binary_op op, floe_dtype dt, int avx2) {
  if ((unsigned)op >= (unsigned)FLOE_BINARY_COUNT_ || !floe__dtype_valid(dt)) {
    return NULL;
  }
  return PICK(binary[op][dt], avx2);
}

floe__ufunc1 floe__ewise_cast_isa(floe_dtype from, floe_dtype to, int avx2) {
  if (!floe__dtype_valid(from) || !floe__dtype_valid(to)) {
    return NULL;
  }
  return PICK(cast[from][to], avx2);
}

floe__where_fn floe__ewise_where_isa(floe_dtype dt, int avx2) {
  if (!floe__dtype_valid(dt)) {
    return NULL;
  }
  return PICK(where[dt], avx2);
}

floe__ufunc1 floe__unary_kernel(floe_unary_op op, floe_dtype dt) {
  return floe__ewise_unary_isa(op, dt, floe__ewise_have_avx2());
}

floe__ufunc2 floe__binary_kernel(floe_binary_op op, floe_dtype dt) {
  return floe__ewise_binary_isa(op, dt, floe__ewise_have_avx2());
}

floe__where_fn floe__where_kernel(floe_dtype dt) {
  return floe__ewise_where_isa(dt, floe__ewise_have_avx2());
}

floe__ufunc1 floe__cast_kernel(floe_dtype from, floe_dtype to) {
  return floe__ewise_cast_isa(from, to, floe__ewise_have_avx2());
}
