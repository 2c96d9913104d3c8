/* Reduction kernels: dtype rules, record sizes and the choice of kernels.
 *
 * The kernels live in reduce-arith.c (sum, prod, mean, var, std, nansum,
 * nanmean) and reduce-select.c (min, max, nan*, arg*, any, all); each is
 * also built for AVX2 by its -avx2.c twin, chosen here at run time.  Both
 * builds give bit-identical results (tests/test_reduce.c checks it), except
 * that a NaN made by arithmetic (inf - inf in a sum) may differ in sign.
 *
 * Choices where the contract leaves room, all NumPy 1.24's behaviour unless
 * said otherwise:
 *  - sum/prod of uint8 give int64 (NumPy gives uint64, which floe lacks;
 *    the bits are the same modulo 2^64).
 *  - var/std divide M2 by max(n - ddof, 0): n == ddof gives NaN when all
 *    values are equal (0/0) and inf otherwise, n < ddof gives inf or NaN the
 *    same way, the empty set gives NaN.  NumPy warns; floe does not.
 *  - float32 sum/prod/mean/var/std accumulate in float64 and round once at
 *    the end (more accurate than NumPy, which keeps float32 partials).
 *  - min/max keep the last of equal values, nanmin/nanmax the first: only
 *    the sign of a zero result shows it (see reduce-select.c).
 *  - nanmin/nanmax of all-NaN give NaN without error; only a reduction over
 *    no elements at all is empty (is_empty).
 *  - argmin/argmax of an empty set finalise to -1 (is_empty flags them).
 *  - var/std accumulate (Welford) computes 1/count once per call when every
 *    record has the same count, as the executor guarantees, and per record
 *    otherwise, with the same bits either way.
 *  - an unknown op or dtype gives FLOE_DTYPE_COUNT_, size 0 and NULL. */
#include "reduce-internal.h"

/* Defined in the kernel files (one per ISA); no header of their own since
 * this file is their only caller. */
const floe__reducer *floe__reduce_arith_generic(floe_reduce_op op, floe_dtype in);
const floe__reducer *floe__reduce_select_generic(floe_reduce_op op, floe_dtype in);
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_AVX2_KERNELS 1
const floe__reducer *floe__reduce_arith_avx2(floe_reduce_op op, floe_dtype in);
const floe__reducer *floe__reduce_select_avx2(floe_reduce_op op, floe_dtype in);
#endif

static int valid(floe_reduce_op op, floe_dtype in) {
  return (unsigned)op < FLOE_REDUCE_COUNT_ && (unsigned)in < FLOE_DTYPE_COUNT_;
}

static int is_float(floe_dtype in) {
  return in == FLOE_FLOAT32 || in == FLOE_FLOAT64;
}

floe_dtype floe__reduce_result_dtype(floe_reduce_op op, floe_dtype in) {
  if (!valid(op, in)) {
    return FLOE_DTYPE_COUNT_;
  }
  switch (op) {
  case FLOE_SUM:
  case FLOE_PROD:
  case FLOE_NANSUM:
    return is_float(in) ? in : FLOE_INT64;
  case FLOE_MEAN:
  case FLOE_VAR:
  case FLOE_STD:
  case FLOE_NANMEAN:
    return is_float(in) ? in : FLOE_FLOAT64;
  case FLOE_ARGMIN:
  case FLOE_ARGMAX:
    return FLOE_INT64;
  case FLOE_ANY_TRUE:
  case FLOE_ALL_TRUE:
    return FLOE_BOOL;
  default: /* min, max, nanmin, nanmax */
    return in;
  }
}

size_t floe__reduce_acc_size(floe_reduce_op op, floe_dtype in) {
  if (!valid(op, in)) {
    return 0;
  }
  switch (op) {
  case FLOE_SUM:
  case FLOE_PROD:
  case FLOE_NANSUM:
  case FLOE_ANY_TRUE:
  case FLOE_ALL_TRUE:
    return 8;
  case FLOE_VAR:
  case FLOE_STD:
    return 24; /* count, mean, M2 */
  default:     /* mean: sum, count; min/max: value, count; arg*: value, index */
    return 16;
  }
}

const floe__reducer *floe__reducer_get(floe_reduce_op op, floe_dtype in) {
  if (!valid(op, in)) {
    return NULL;
  }
  int arith = op == FLOE_SUM || op == FLOE_PROD || op == FLOE_MEAN || op == FLOE_VAR ||
              op == FLOE_STD || op == FLOE_NANSUM || op == FLOE_NANMEAN;
#if defined(HAVE_AVX2_KERNELS)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return arith ? floe__reduce_arith_avx2(op, in) : floe__reduce_select_avx2(op, in);
  }
#endif
  return arith ? floe__reduce_arith_generic(op, in) : floe__reduce_select_generic(op, in);
}
