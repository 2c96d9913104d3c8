/* Reduction kernels.  A reduction keeps one accumulator per output element;
 * the fused program folds input tiles into accumulators, partial results of
 * chunks are merged by a tree of fixed shape, and the root is finalised into
 * the output dtype.  Everything here is deterministic: a given sequence of
 * calls gives bit-identical results.
 *
 * Accumulators are opaque records of floe__reduce_acc_size(op, in) bytes
 * (in = the dtype of the values being reduced).  Accumulation types follow
 * NumPy: sums and products of bool/integers in int64 (wrapping), of floats in
 * float64 (float32 too); mean of anything in float64; var/std as (count,
 * mean, M2) in float64 merged with Chan et al.'s formula; min/max in the
 * input dtype with NaN propagation (the first NaN wins); argmin/argmax as
 * (value, int64 index) with the first occurrence winning ties and NaN
 * winning over numbers; any/all as bool; nan* forms skip NaN (nanmin/nanmax
 * of all-NaN give NaN; nansum of all-NaN gives 0; nanmean gives NaN).
 *
 * Floating sums inside a run are pairwise (blocks of 128 with 8 partial sums,
 * as NumPy does), so accuracy is O(log n) ulp, not O(n). */
#ifndef FLOE_KERNELS_REDUCE_INTERNAL_H
#define FLOE_KERNELS_REDUCE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "floe.h"

/* The output dtype of op over input dtype `in`. */
floe_dtype floe__reduce_result_dtype(floe_reduce_op op, floe_dtype in);

/* Bytes of one accumulator record (a multiple of 8). */
size_t floe__reduce_acc_size(floe_reduce_op op, floe_dtype in);

typedef struct floe__reducer {
  /* acc[0..n) = identity (empty reduction) */
  void (*init)(void *acc, int64_t n);
  /* Folds x[0..n) (contiguous) into the ONE accumulator acc.  index0 is the
   * index (flat, or along the reduced axis) of x[0]; x[j] has index0 + j.
   * Used when the reduced axis is the innermost one of the run. */
  void (*fold)(void *acc, const void *x, int64_t n, int64_t index0);
  /* acc[j] (+)= x[j] for j in [0, n): one new value for each of n
   * accumulators, all with the same `index` (the position along the reduced
   * axis).  Used when the innermost axis is kept. */
  void (*accumulate)(void *acc, const void *x, int64_t n, int64_t index);
  /* dst[j] = merge(dst[j], src[j]) for j in [0, n); dst holds the elements
   * that come first (matters for argmin/argmax ties and for determinism). */
  void (*merge)(void *dst, const void *src, int64_t n);
  /* out[j] = final value of acc[j] in the result dtype; ddof for var/std.
   * Empty accumulators give NaN for mean/var/std (NumPy's warning case). */
  void (*finalize)(const void *acc, void *out, int64_t n, int ddof);
  /* Whether an accumulator is empty-and-undefined (min/max/argmin/argmax
   * of nothing): the graph turns that into an error; NULL when never. */
  int (*is_empty)(const void *acc);
} floe__reducer;

/* The kernels of op over input dtype `in`; NULL when the pair is not
 * supported (e.g. none are missing for the six dtypes today). */
const floe__reducer *floe__reducer_get(floe_reduce_op op, floe_dtype in);

#endif
