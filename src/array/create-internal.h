/* Helpers shared by the array constructors and operations. */
#ifndef FLOE_ARRAY_CREATE_INTERNAL_H
#define FLOE_ARRAY_CREATE_INTERNAL_H

#include "array-internal.h"

floe_status floe__check_shape(const char *op, floe_shape shape);
/* Chunk lengths for a shape from the user's chunks (FLOE_AUTO, -1 entries). */
floe_status floe__resolve_chunks(floe_ctx *ctx, const char *op, floe_dtype dtype, int ndim,
                                 const int64_t *shape, floe_shape chunks, int64_t *out);
/* The stored values of a constant of dtype t: *value is the double the
 * dtype holds (3.7 as int32 is 3.0), *ivalue its integer (a C cast of the
 * double, saturated for floats).  `iv` is used for integer dtypes when the
 * value came from an integer (exact beyond 2^53). */
void floe__full_values(floe_dtype t, double v, int64_t iv, double *value, int64_t *ivalue);

/* A handle to a new node built from proto; NULL only when out of memory. */
floe_array *floe__make(floe_ctx *ctx, const floe__node *proto);

#endif
