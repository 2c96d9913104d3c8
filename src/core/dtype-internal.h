/* dtype facts shared by every layer. */
#ifndef FLOE_CORE_DTYPE_INTERNAL_H
#define FLOE_CORE_DTYPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "floe.h"

static inline bool floe__dtype_valid(floe_dtype t) { return (int)t >= 0 && t < FLOE_DTYPE_COUNT_; }
static inline bool floe__dtype_is_float(floe_dtype t) {
  return t == FLOE_FLOAT32 || t == FLOE_FLOAT64;
}
static inline bool floe__dtype_is_int(floe_dtype t) {
  return t == FLOE_UINT8 || t == FLOE_INT32 || t == FLOE_INT64;
}

/* The kind of a weak (Python-like) scalar operand. */
typedef enum floe__weak { FLOE__STRONG = 0, FLOE__WEAK_INT, FLOE__WEAK_FLOAT } floe__weak;

/* Promotion of two operands under NEP 50.  `value` is a weak integer
 * operand's value, checked against the integer dtype it is converted to.
 * Returns FLOE_OK and *out, or FLOE_ERR_DTYPE with the thread's message set
 * (an integer too large for the other operand's dtype). */
floe_status floe__promote(floe_dtype a, floe__weak wa, int64_t va, floe_dtype b, floe__weak wb,
                          int64_t vb, floe_dtype *out, floe__weak *wout);

/* Reads element i of a buffer of dtype t as a double / writes one. */
double floe__load_double(const void *p, floe_dtype t, int64_t i);

#endif
