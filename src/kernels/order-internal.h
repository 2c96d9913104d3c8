/* Kernels along one axis, on contiguous lanes: running sums and products,
 * sort, and quantiles with NumPy's default (linear) method.  The graph
 * gathers each lane of a chunk (the axis whole in the chunk) into a
 * contiguous buffer, calls these, and scatters the result. */
#ifndef FLOE_KERNELS_ORDER_INTERNAL_H
#define FLOE_KERNELS_ORDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "floe.h"

/* NumPy's result dtype of cumsum/cumprod: small integers and bool widen to
 * int64, the others keep theirs. */
floe_dtype floe__scan_dtype(floe_dtype in);

/* dst[i] = src[0] + ... + src[i] (prod: *), sequentially, as NumPy's
 * add.accumulate: the same bits.  src of dtype `in`, dst of
 * floe__scan_dtype(in); n elements each.  With `carry` (one element of the
 * result's dtype: the running value before src[0], from the previous chunk
 * along the axis) every element is added to it, as NumPy's loop would. */
void floe__scan(int prod, floe_dtype in, const void *src, void *dst, int64_t n,
                const void *carry);

/* Sorts n elements of dtype t in place, ascending, NaNs last (NumPy). */
void floe__sort(floe_dtype t, void *data, int64_t n);

/* The q-quantile (0 <= q <= 1) of n > 0 elements of dtype t with NumPy's
 * linear method (median: q = 0.5, then the mean of the middle two, as
 * np.median), as the float64 (or float32 for float32 input, stored in
 * *out as a float) result; NaN if any element is NaN.  `data` is reordered
 * (a selection, not a full sort). */
void floe__quantile(floe_dtype t, void *data, int64_t n, double q, int median, void *out);

#endif
