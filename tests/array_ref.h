/* A naive reference for the array tests (test_array.c, test_graph.c): the
 * dtype rules written out again from floe.h and the kernels' -internal.h headers,
 * the element semantics as plain C on doubles and int64, and dense arrays
 * with NumPy broadcasting and reductions as nested loops.
 *
 * Every reference element carries an absolute error bound: 0 for a value the
 * library must reproduce bit for bit (integers, bools, and floats made only
 * of correctly rounded IEEE operations on exact inputs), a few ULP where a
 * transcendental was involved (SLEEF against libm), propagated through later
 * operations by evaluating them at the corners of the inputs' error boxes.
 * An element whose reference is ill-defined (a float-to-integer cast of NaN
 * or an out-of-range value, a comparison or rounding that the error could
 * flip) is marked unknown and skipped by the comparison. */
#ifndef FLOE_TESTS_ARRAY_REF_H
#define FLOE_TESTS_ARRAY_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

#define REF_NONE FLOE_DTYPE_COUNT_

enum { REF_STRONG = 0, REF_WEAK_INT = 1, REF_WEAK_FLOAT = 2 };

/* ULPs allowed between a transcendental of floe (SLEEF, 1 ULP) and libm's. */
#define REF_MATH_ULPS 4.0

/* One element: `i` for bool and integer dtypes, `d` for floats (a float32
 * value is a double that float represents exactly). */
typedef struct rv {
  int64_t i;
  double d;
} rv;

typedef struct ref_arr {
  floe_dtype dt;
  int weak;        /* REF_STRONG or the kind of a Python-like scalar */
  int64_t weak_iv; /* a weak integer scalar's value */
  int ndim;
  int64_t shape[FLOE_MAX_DIMS];
  int64_t n;
  rv *x;
  double *err;         /* absolute error bound of a float element; 0 exact */
  unsigned char *unk;  /* 1: ill-defined here, not compared */
  bool zero_sign_free; /* the sign of a zero result is unspecified (min/max) */
} ref_arr;

/* ------------------------------------------------------------ dtype rules */

const char *ref_dtype_name(floe_dtype dt);
size_t ref_dtype_size(floe_dtype dt);
bool ref_is_float(floe_dtype dt);
bool ref_is_int(floe_dtype dt); /* uint8, int32, int64 */
/* NumPy's promotion table over floe's dtypes, written out by hand. */
floe_dtype ref_result_type(floe_dtype a, floe_dtype b);
/* NEP 50 with weak scalars (value: a weak int's value); FLOE_ERR_DTYPE when
 * a weak integer does not fit the other operand's integer dtype. */
floe_status ref_promote(floe_dtype a, int wa, int64_t va, floe_dtype b, int wb, int64_t vb,
                        floe_dtype *out, int *wout);
/* Compute and result dtypes; REF_NONE when the op has no kernel. */
floe_dtype ref_unary_compute(floe_unary_op op, floe_dtype in);
floe_dtype ref_unary_result(floe_unary_op op, floe_dtype in);
floe_dtype ref_binary_compute(floe_binary_op op, floe_dtype promoted);
floe_dtype ref_binary_result(floe_binary_op op, floe_dtype promoted);
floe_dtype ref_reduce_result(floe_reduce_op op, floe_dtype in);
/* Transcendentals (compared within REF_MATH_ULPS). */
bool ref_unary_is_math(floe_unary_op op);
bool ref_binary_is_math(floe_binary_op op);
const char *ref_unary_name(floe_unary_op op);
const char *ref_binary_name(floe_binary_op op);
const char *ref_reduce_name(floe_reduce_op op);

/* ------------------------------------------------------ element semantics */

rv ref_load(const void *buf, floe_dtype dt, int64_t i);
void ref_store(void *buf, floe_dtype dt, int64_t i, rv x);
double ref_as_double(rv x, floe_dtype dt);
/* x of dtype `from` as dtype `to` (a C cast; to bool is x != 0).  *undefined
 * is set for a float-to-integer cast of NaN or a value out of range. */
rv ref_convert(rv x, floe_dtype from, floe_dtype to, bool *undefined);
/* op on an operand already in the compute dtype `c`. */
rv ref_unary_elem(floe_unary_op op, floe_dtype c, rv x);
rv ref_binary_elem(floe_binary_op op, floe_dtype c, rv a, rv b);
/* One ULP of v in dtype dt (floats), floored near zero. */
double ref_ulp(double v, floe_dtype dt);

/* ---------------------------------------------------------------- arrays */

ref_arr *ref_new(floe_dtype dt, int ndim, const int64_t *shape);
ref_arr *ref_from_buffer(floe_dtype dt, floe_shape shape, const void *data);
ref_arr *ref_full(floe_dtype dt, floe_shape shape, rv value);
ref_arr *ref_scalar_float(double v);
ref_arr *ref_scalar_int(int64_t v);
void ref_free(ref_arr *a);
floe_shape ref_shape(const ref_arr *a);

/* The operations; NULL with *st set when floe must refuse them. */
ref_arr *ref_unary(floe_unary_op op, const ref_arr *a, floe_status *st);
ref_arr *ref_binary(floe_binary_op op, const ref_arr *a, const ref_arr *b, floe_status *st);
ref_arr *ref_where(const ref_arr *c, const ref_arr *a, const ref_arr *b, floe_status *st);
ref_arr *ref_astype(const ref_arr *a, floe_dtype dt, floe_status *st);
/* minimum(maximum(a, lo), hi); lo or hi may be NULL. */
ref_arr *ref_clip(const ref_arr *a, const ref_arr *lo, const ref_arr *hi, floe_status *st);
/* Reduction over the axes in `mask` (bit d: axis d). */
ref_arr *ref_reduce(floe_reduce_op op, const ref_arr *a, uint32_t mask, bool keepdims, int ddof,
                    floe_status *st);
/* The mask of floe_axes for an array of ndim axes; -1 when invalid. */
int64_t ref_axes_mask(floe_axes axes, int ndim);

/* ------------------------------------------------------------ comparison */

typedef struct ref_cmp {
  int64_t compared, skipped, mismatches;
  char first[512]; /* the first mismatch, in words */
} ref_cmp;

/* Compares floe's output `got` (C order, r->dt) with r. */
void ref_compare(const ref_arr *r, const void *got, ref_cmp *out);

/* Text of a value of dtype dt ("nan", "-0", "255", "1.5e-07"). */
const char *ref_fmt(char *buf, size_t cap, rv x, floe_dtype dt);
/* "(3, 1)" */
const char *ref_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

#endif
