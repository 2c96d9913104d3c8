/* Elementwise kernels over contiguous tiles: the instructions of the fused
 * elementwise program (src/graph) call these on tiles of a few thousand
 * elements.  Each kernel works on ONE compute dtype; the program inserts
 * casts so that operands arrive in it.
 *
 * Contracts shared by every kernel:
 *  - n >= 0 elements, all arrays contiguous, at least 32-byte aligned is NOT
 *    guaranteed (inputs may alias a user buffer at any element offset).
 *  - `out` either does not overlap the inputs or is exactly equal to one of
 *    them (in-place), never partially overlapping.
 *  - NumPy semantics, including NaN, ±inf, -0.0; integers wrap on overflow
 *    (computed through unsigned arithmetic, never UB); integer division or
 *    modulo by zero gives 0 (NumPy's result, without its warning);
 *    INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0; floor_divide and
 *    mod floor like Python (mod takes the divisor's sign); float mod follows
 *    numpy.fmod-then-adjust (Python's %), float floor_divide is numpy's
 *    floor_divide; integer power with a negative exponent is an error in
 *    NumPy — here it gives 0 (except base 1 → 1, base -1 → ±1).
 *  - Transcendentals use SLEEF's vector functions with 1.0-ULP accuracy
 *    (u10), chosen at run time for the CPU (AVX2+FMA where present, else
 *    SSE2/scalar SLEEF); results within 1 ULP of libm's.
 *  - Bool is one byte holding 0 or 1; kernels that output bool write only
 *    0 or 1; kernels that read bool may assume 0 or 1. */
#ifndef FLOE_KERNELS_EWISE_INTERNAL_H
#define FLOE_KERNELS_EWISE_INTERNAL_H

#include <stdint.h>

#include "floe.h"

typedef void (*floe__ufunc1)(const void *x, void *out, int64_t n);
typedef void (*floe__ufunc2)(const void *x, const void *y, void *out, int64_t n);
typedef void (*floe__where_fn)(const _Bool *cond, const void *a, const void *b, void *out,
                               int64_t n);

/* Dtype rules (NumPy's, with float16/int8 — which floe lacks — replaced by
 * the next type up that floe has):
 *  - math functions (sqrt, exp, expm1, log*, trig, hyperbolic, floor, ceil,
 *    round, trunc) of bool and uint8 compute in float32, of int32 and int64
 *    in float64; float32 and float64 keep their dtype.
 *  - negative: bool has no kernel (NumPy raises); integers wrap.
 *  - abs: bool stays bool; sign: bool has no kernel; square and reciprocal
 *    of bool compute in uint8; integer reciprocal is 1/x truncated (0 for
 *    |x| > 1, 0 for x == 0).
 *  - isnan/isinf/isfinite compute in the input dtype (false/false/true for
 *    integers and bool) and give bool; logical_not computes in bool.
 * floe__unary_compute_dtype returns the compute dtype for an input dtype;
 * FLOE_DTYPE_COUNT_ when the op has no kernel for it. */
floe_dtype floe__unary_compute_dtype(floe_unary_op op, floe_dtype in);
/* The result dtype of op on a compute dtype (bool for isnan, isinf,
 * isfinite, logical_not; else the compute dtype). */
floe_dtype floe__unary_result_dtype(floe_unary_op op, floe_dtype compute);
/* The kernel of op in compute dtype `dt`; NULL when (op, dt) has none. */
floe__ufunc1 floe__unary_kernel(floe_unary_op op, floe_dtype dt);

/* The compute dtype of a binary op whose operands were promoted to
 * `promoted` (floe_result_type and weak scalars are the graph's business):
 *  - divide of bool/integers computes in float64; arctan2 and hypot of bool
 *    and uint8 in float32, of int32/int64 in float64; floats keep theirs.
 *  - logical_and/or/xor compute in bool (operands cast to bool first).
 *  - two bools: add is logical or, multiply logical and, minimum/maximum
 *    and/or, comparisons compare; subtract has no kernel (NumPy raises);
 *    floor_divide, mod and power compute in uint8.
 *  - otherwise `promoted`.
 * FLOE_DTYPE_COUNT_ when there is no kernel. */
floe_dtype floe__binary_compute_dtype(floe_binary_op op, floe_dtype promoted);
/* bool for comparisons and logical ops; else the compute dtype. */
floe_dtype floe__binary_result_dtype(floe_binary_op op, floe_dtype compute);
floe__ufunc2 floe__binary_kernel(floe_binary_op op, floe_dtype dt);

/* out = cond ? a : b for dtype dt. */
floe__where_fn floe__where_kernel(floe_dtype dt);

/* Converts n elements from one dtype to another as a C cast does, except:
 * to bool gives x != 0 (NaN → true); float to integer of NaN/inf/out of
 * range gives an unspecified value without UB (saturate). NULL never. */
floe__ufunc1 floe__cast_kernel(floe_dtype from, floe_dtype to);

#endif
