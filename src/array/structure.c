/* Selections, shapes, joins and products: each builds one graph node (a
 * GATHER, CONCAT or MATMUL, produced chunk by chunk by src/graph/produce.c)
 * after NumPy's checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array-internal.h"
#include "create-internal.h"
#include "kernels/order-internal.h"

/* An identity selection of x: same shape and chunks. */
static floe__node gather_of(floe__node *x) {
  floe__node p = {.kind = FLOE__NODE_GATHER, .dtype = x->dtype, .weak = x->weak, .nin = 1};
  p.in[0] = x;
  p.ndim = x->ndim;
  for (int d = 0; d < FLOE_MAX_DIMS; d++) {
    p.p.gather.src[d] = (int8_t)(d < x->ndim ? d : -1);
    p.p.gather.step[d] = d < x->ndim ? 1 : 0;
    p.shape[d] = d < x->ndim ? x->shape[d] : 0;
    p.chunk[d] = d < x->ndim ? x->chunk[d] : 0;
  }
  return p;
}

/* The same node again when the selection changes nothing. */
static bool is_identity(const floe__node *p, const floe__node *x) {
  if (p->ndim != x->ndim || p->p.gather.pad != 0 || p->p.gather.take != NULL) {
    return false;
  }
  for (int d = 0; d < x->ndim; d++) {
    if (p->p.gather.src[d] != d || p->p.gather.start[d] != 0 || p->p.gather.step[d] != 1 ||
        p->shape[d] != x->shape[d] || p->chunk[d] != x->chunk[d]) {
      return false;
    }
  }
  return true;
}

static floe_array *make_gather(floe_ctx *ctx, floe__node *proto, floe__node *x) {
  if (is_identity(proto, x)) {
    floe__node_ref(x);
    return floe__handle_new(ctx, x);
  }
  for (int d = 0; d < proto->ndim; d++) {
    if (proto->chunk[d] < 1) {
      proto->chunk[d] = 1;
    }
  }
  return floe__make(ctx, proto);
}

/* Axis `axis` of an array of ndim axes, counted from the end when negative:
 * in [0, ndim), or -1 with the thread's error set (FLOE_ERR_INVALID). */
static int axis_of(const char *op, int axis, int ndim) {
  if (axis < -ndim || axis >= ndim) {
    floe__fail(FLOE_ERR_INVALID, "%s: axis %d is out of bounds for an array of %d dimensions", op,
               axis, ndim);
    return -1;
  }
  return axis < 0 ? axis + ndim : axis;
}

/* An error array with the thread's error. */
static floe_array *failed_array(floe_ctx *ctx) {
  return floe__handle_error(ctx, floe__error_slot()->status, "%s", floe__error_slot()->msg);
}

/* Whether the n arrays share one shape; else false with the thread's
 * error set (FLOE_ERR_SHAPE, naming the first two that differ). */
static bool same_shapes(const char *op, floe_array *const *arrays, int n) {
  const floe__node *x = arrays[0]->node;
  for (int i = 1; i < n; i++) {
    const floe__node *y = arrays[i]->node;
    bool ok = y->ndim == x->ndim;
    for (int d = 0; ok && d < x->ndim; d++) {
      ok = y->shape[d] == x->shape[d];
    }
    if (!ok) {
      char s0[128], s1[128];
      floe__fail(FLOE_ERR_SHAPE, "%s: shapes %s and %s differ (all must be the same)", op,
                 floe__shape_str(x->ndim, x->shape, s0, sizeof s0),
                 floe__shape_str(y->ndim, y->shape, s1, sizeof s1));
      return false;
    }
  }
  return true;
}

/* ---------------------------------------------------------------- slices */

/* NumPy's (Python's) slice.indices: start and count of a slice of len. */
static int64_t slice_count(int64_t len, int64_t *start, int64_t stop, int64_t step) {
  int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? len - 1 : len;
  if (*start == FLOE_NONE) {
    *start = step < 0 ? len - 1 : 0;
  } else {
    *start = *start < 0 ? *start + len : *start;
    *start = *start < lo ? lo : (*start > hi ? hi : *start);
  }
  if (stop == FLOE_NONE) {
    stop = step < 0 ? -1 : len;
  } else {
    stop = stop < 0 ? stop + len : stop;
    stop = stop < lo ? lo : (stop > hi ? hi : stop);
  }
  if (step < 0) {
    return stop < *start ? (*start - stop - 1) / (-step) + 1 : 0;
  }
  return *start < stop ? (stop - *start - 1) / step + 1 : 0;
}

floe_array *floe_slice(floe_array *a, int n, const floe_index *idx) {
  const char *op = "floe_slice";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (n < 0 || (n > 0 && idx == NULL)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: %d indices at %p", op, n,
                              (const void *)idx);
  }
  int consume = 0, ellipses = 0, out_nd = 0;
  for (int i = 0; i < n; i++) {
    int k = idx[i].kind;
    if (k != FLOE_INDEX_SLICE && k != FLOE_INDEX_INT && k != FLOE_INDEX_NEWAXIS &&
        k != FLOE_INDEX_ELLIPSIS) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: index %d has unknown kind %d", op, i,
                                k);
    }
    consume += k == FLOE_INDEX_SLICE || k == FLOE_INDEX_INT;
    ellipses += k == FLOE_INDEX_ELLIPSIS;
    out_nd += k == FLOE_INDEX_SLICE || k == FLOE_INDEX_NEWAXIS;
  }
  if (ellipses > 1) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: an index can only have a single ellipsis",
                              op);
  }
  if (consume > x->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: too many indices: the array is %d-dimensional, but %d were "
                              "indexed",
                              op, x->ndim, consume);
  }
  if (out_nd + (x->ndim - consume) > FLOE_MAX_DIMS) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: the result would have more than %d axes",
                              op, FLOE_MAX_DIMS);
  }
  floe__node p = gather_of(x);
  int k = 0, d = 0;
  for (int i = 0; i <= n; i++) {
    /* the ellipsis, or the end: whole axes */
    bool fill = i == n || idx[i].kind == FLOE_INDEX_ELLIPSIS;
    if (fill) {
      int whole = i == n ? x->ndim - k : x->ndim - consume;
      for (int w = 0; w < whole; w++, k++, d++) {
        p.p.gather.src[d] = (int8_t)k;
        p.p.gather.start[d] = 0;
        p.p.gather.step[d] = 1;
        p.shape[d] = x->shape[k];
        p.chunk[d] = x->chunk[k];
      }
      if (i == n) {
        break;
      }
      consume = k; /* the rest consume from here */
      for (int j = i + 1; j < n; j++) {
        consume += idx[j].kind == FLOE_INDEX_SLICE || idx[j].kind == FLOE_INDEX_INT;
      }
      consume = consume > x->ndim ? x->ndim : consume;
      continue;
    }
    const floe_index *ix = &idx[i];
    if (ix->kind == FLOE_INDEX_NEWAXIS) {
      p.p.gather.src[d] = -1;
      p.p.gather.start[d] = 0;
      p.p.gather.step[d] = 0;
      p.shape[d] = 1;
      p.chunk[d++] = 1;
      continue;
    }
    int64_t len = x->shape[k];
    if (ix->kind == FLOE_INDEX_INT) {
      int64_t v = ix->start < 0 ? ix->start + len : ix->start;
      if (v < 0 || v >= len) {
        return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                  "%s: index %lld is out of bounds for axis %d with size %lld", op,
                                  (long long)ix->start, k, (long long)len);
      }
      p.p.gather.fixed[k++] = v;
      continue;
    }
    const int64_t step = ix->step == FLOE_NONE ? 1 : ix->step;
    if (step == 0) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: slice step cannot be zero", op);
    }
    int64_t start = ix->start;
    int64_t count = slice_count(len, &start, ix->stop, step);
    int64_t astep = step < 0 ? -step : step;
    int64_t c = x->chunk[k] / astep;
    p.p.gather.src[d] = (int8_t)k;
    p.p.gather.start[d] = count > 0 ? start : 0;
    p.p.gather.step[d] = step;
    p.shape[d] = count;
    p.chunk[d] = c < 1 ? 1 : (count > 0 && c > count ? count : c);
    k++;
    d++;
  }
  for (int e = d; e < FLOE_MAX_DIMS; e++) {
    p.p.gather.src[e] = -1;
    p.p.gather.step[e] = 0;
    p.p.gather.start[e] = 0;
    p.shape[e] = 0;
    p.chunk[e] = 0;
  }
  p.ndim = d;
  return make_gather(ctx, &p, x);
}

/* -------------------------------------------------------- axes and shapes */

floe_array *floe_transpose(floe_array *a, floe_axes axes) {
  const char *op = "floe_transpose";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  int perm[FLOE_MAX_DIMS];
  if (axes.n == -1) {
    for (int d = 0; d < x->ndim; d++) {
      perm[d] = x->ndim - 1 - d;
    }
  } else {
    if (axes.n != x->ndim) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                "%s: %d axes given for an array of %d dimensions", op, axes.n,
                                x->ndim);
    }
    uint32_t seen = 0;
    for (int d = 0; d < x->ndim; d++) {
      int ax = axes.axis[d];
      if ((ax = axis_of(op, ax, x->ndim)) < 0) {
        return failed_array(ctx);
      }
      if (seen & (1u << ax)) {
        return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: axis %d is repeated", op, ax);
      }
      seen |= 1u << ax;
      perm[d] = ax;
    }
  }
  floe__node p = gather_of(x);
  for (int d = 0; d < x->ndim; d++) {
    p.p.gather.src[d] = (int8_t)perm[d];
    p.shape[d] = x->shape[perm[d]];
    p.chunk[d] = x->chunk[perm[d]];
  }
  return make_gather(ctx, &p, x);
}

floe_array *floe_rechunk(floe_array *a, floe_shape chunks) {
  const char *op = "floe_rechunk";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  floe__node p = gather_of(x);
  floe_status st = floe__resolve_chunks(ctx, op, x->dtype, x->ndim, x->shape, chunks, p.chunk);
  if (st != FLOE_OK) {
    return failed_array(ctx);
  }
  /* An output chunk gathering from many input chunks while input chunks
     also feed many output chunks (rows to columns) goes through an
     intermediate chunking, the geometric mean of both per axis (as the
     rechunker project plans it): each task of either stage then reads few
     chunks, and each chunk is needed by few tasks, so both stages run in
     bounded memory, whatever is spilled in between. */
  double gather = 1, scatter = 1;
  int64_t mid[FLOE_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) {
    int64_t src = x->chunk[d], dst = p.chunk[d];
    gather *= (double)(dst + src - 1) / (double)src;
    scatter *= (double)(src + dst - 1) / (double)dst;
    double g = sqrt((double)src * (double)dst);
    mid[d] = (int64_t)(g + 0.5);
    mid[d] = mid[d] < 1 ? 1 : (mid[d] > x->shape[d] && x->shape[d] > 0 ? x->shape[d] : mid[d]);
  }
  if (gather > 16 && scatter > 16) {
    /* larger intermediate chunks (up to 2 MiB or a sixteenth of the budget,
       never past either side's length on an axis) mean fewer of them, and
       far fewer dependencies:
       each task of the second stage then reads fewer, larger chunks */
    uint64_t most = ctx->cfg.memory_limit / 16 < ((uint64_t)2 << 20) ? ctx->cfg.memory_limit / 16
                                                                        : ((uint64_t)2 << 20);
    for (bool grew = true; grew;) {
      uint64_t bytes = floe_dtype_size(x->dtype);
      for (int d = 0; d < x->ndim; d++) {
        bytes *= (uint64_t)mid[d];
      }
      grew = false;
      for (int d = 0; d < x->ndim && bytes * 2 <= most; d++) {
        int64_t cap = x->chunk[d] > p.chunk[d] ? x->chunk[d] : p.chunk[d];
        if (mid[d] * 2 <= cap) {
          mid[d] *= 2;
          bytes *= 2;
          grew = true;
        }
      }
    }
    floe__node q = gather_of(x);
    memcpy(q.chunk, mid, sizeof(int64_t) * (size_t)x->ndim);
    floe__node *m = floe__node_new(ctx, &q);
    if (m == NULL) {
      return floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory", op);
    }
    p.in[0] = m;
    floe_array *out = floe__make(ctx, &p);
    floe__node_unref(m);
    return out;
  }
  return make_gather(ctx, &p, x);
}

floe_array *floe_broadcast_to(floe_array *a, floe_shape shape) {
  const char *op = "floe_broadcast_to";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (shape.ndim < x->ndim || shape.ndim > FLOE_MAX_DIMS) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: cannot broadcast an array of %d dimensions to %d", op, x->ndim,
                              shape.ndim);
  }
  floe__node p = gather_of(x);
  p.ndim = shape.ndim;
  const int lead = shape.ndim - x->ndim;
  for (int d = 0; d < shape.ndim; d++) {
    int k = d - lead;
    if (shape.dim[d] < 0 || (k >= 0 && x->shape[k] != shape.dim[d] && x->shape[k] != 1)) {
      return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                                "%s: axis %d of length %lld cannot broadcast to %lld", op, k,
                                (long long)(k >= 0 ? x->shape[k] : 0), (long long)shape.dim[d]);
    }
    p.p.gather.src[d] = (int8_t)(k >= 0 ? k : -1);
    p.p.gather.start[d] = 0;
    p.p.gather.step[d] = k >= 0 && x->shape[k] == shape.dim[d] ? 1 : 0;
    p.shape[d] = shape.dim[d];
  }
  for (int d = shape.ndim; d < FLOE_MAX_DIMS; d++) {
    p.p.gather.src[d] = -1;
    p.p.gather.step[d] = 0;
  }
  floe_status st = floe__resolve_chunks(ctx, op, x->dtype, p.ndim, p.shape, FLOE_AUTO, p.chunk);
  if (st != FLOE_OK) {
    return failed_array(ctx);
  }
  return make_gather(ctx, &p, x);
}

floe_array *floe_expand_dims(floe_array *a, int axis) {
  const char *op = "floe_expand_dims";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (x->ndim >= FLOE_MAX_DIMS || axis < -(x->ndim + 1) || axis > x->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: axis %d is out of bounds for a result of %d dimensions", op,
                              axis, x->ndim + 1);
  }
  axis = axis < 0 ? axis + x->ndim + 1 : axis;
  floe__node p = gather_of(x);
  p.ndim = x->ndim + 1;
  for (int d = 0; d < p.ndim; d++) {
    int k = d < axis ? d : d - 1;
    bool added = d == axis;
    p.p.gather.src[d] = (int8_t)(added ? -1 : k);
    p.p.gather.start[d] = 0;
    p.p.gather.step[d] = added ? 0 : 1;
    p.shape[d] = added ? 1 : x->shape[k];
    p.chunk[d] = added ? 1 : x->chunk[k];
  }
  return make_gather(ctx, &p, x);
}

floe_array *floe_squeeze(floe_array *a, floe_axes axes) {
  const char *op = "floe_squeeze";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  uint32_t drop = 0;
  if (axes.n == -1) {
    for (int k = 0; k < x->ndim; k++) {
      drop |= x->shape[k] == 1 ? 1u << k : 0;
    }
  } else {
    for (int i = 0; i < axes.n; i++) {
      int ax = axes.axis[i];
      if ((ax = axis_of(op, ax, x->ndim)) < 0) {
        return failed_array(ctx);
      }
      if (x->shape[ax] != 1) {
        return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                                  "%s: cannot select an axis to squeeze out which has size not "
                                  "equal to one (axis %d has %lld)",
                                  op, ax, (long long)x->shape[ax]);
      }
      drop |= 1u << ax;
    }
  }
  floe__node p = gather_of(x);
  int d = 0;
  for (int k = 0; k < x->ndim; k++) {
    if (drop & (1u << k)) {
      continue;
    }
    p.p.gather.src[d] = (int8_t)k;
    p.shape[d] = x->shape[k];
    p.chunk[d++] = x->chunk[k];
  }
  for (int e = d; e < FLOE_MAX_DIMS; e++) {
    p.p.gather.src[e] = -1;
    p.p.gather.step[e] = 0;
    p.shape[e] = 0;
    p.chunk[e] = 0;
  }
  p.ndim = d;
  return make_gather(ctx, &p, x);
}

floe_array *floe_pad(floe_array *a, floe_shape before, floe_shape after, floe_pad_mode mode,
                     double value) {
  const char *op = "floe_pad";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (before.ndim != x->ndim || after.ndim != x->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: widths of %d and %d axes for an array of %d dimensions", op,
                              before.ndim, after.ndim, x->ndim);
  }
  if (mode != FLOE_PAD_CONSTANT && mode != FLOE_PAD_EDGE) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: unknown mode %d", op, (int)mode);
  }
  floe__node p = gather_of(x);
  p.p.gather.pad = 1 + (int)mode;
  p.p.gather.value = value;
  for (int d = 0; d < x->ndim; d++) {
    if (before.dim[d] < 0 || after.dim[d] < 0) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: negative width on axis %d", op, d);
    }
    if (mode == FLOE_PAD_EDGE && x->shape[d] == 0 && before.dim[d] + after.dim[d] > 0) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                "%s: can't extend empty axis %d using the edge mode", op, d);
    }
    p.p.gather.start[d] = -before.dim[d];
    p.shape[d] = x->shape[d] + before.dim[d] + after.dim[d];
  }
  return floe__make(ctx, &p);
}

floe_array *floe_take(floe_array *a, floe_array *indices, int axis) {
  const char *op = "floe_take";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, indices};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node, *ix = indices->node;
  if ((axis = axis_of(op, axis, x->ndim)) < 0) {
    return failed_array(ctx);
  }
  if (ix->ndim != 1 || (ix->dtype != FLOE_INT32 && ix->dtype != FLOE_INT64 &&
                        ix->dtype != FLOE_UINT8)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: the indices must be a 1-D integer array (got %d-D %s)", op,
                              ix->ndim, floe_dtype_name(ix->dtype));
  }
  int64_t n = ix->shape[0];
  floe__take *take = malloc(sizeof *take + (size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (take == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory for %lld indices", op,
                              (long long)n);
  }
  atomic_init(&take->refs, 1);
  take->n = n;
  floe_array *i64 = floe_astype(indices, FLOE_INT64);
  floe_status st = n > 0 ? floe_compute(i64, take->idx, (size_t)n * sizeof(int64_t)) : FLOE_OK;
  floe_release(i64);
  if (st != FLOE_OK) {
    free(take);
    return floe__handle_error(ctx, st, "%s: computing the indices: %s", op,
                              floe__error_slot()->msg);
  }
  const int64_t len = x->shape[axis];
  for (int64_t i = 0; i < n; i++) {
    int64_t v = take->idx[i] < 0 ? take->idx[i] + len : take->idx[i];
    if (v < 0 || v >= len) {
      long long bad = (long long)take->idx[i];
      free(take);
      return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                "%s: index %lld is out of bounds for axis %d with size %lld", op,
                                bad, axis, (long long)len);
    }
    take->idx[i] = v;
  }
  floe__node p = gather_of(x);
  p.p.gather.take = take;
  p.p.gather.take_axis = axis;
  p.p.gather.step[axis] = 0;
  p.shape[axis] = n;
  p.chunk[axis] = n > 0 && n < x->chunk[axis] ? n : x->chunk[axis];
  floe_array *out = floe__make(ctx, &p);
  if (out == NULL || out->node->kind != FLOE__NODE_GATHER) {
    free(take);
  }
  return out;
}

/* ----------------------------------------------------------------- joins */

/* The common dtype of the nodes (NumPy's promotion), or an error. */
static floe_status common_dtype(const char *op, floe__node *const *in, int n, floe_dtype *out,
                                floe__weak *weak) {
  floe_dtype t = in[0]->dtype;
  floe__weak w = in[0]->weak;
  int64_t v = in[0]->kind == FLOE__NODE_FULL ? in[0]->p.full.ivalue : 0;
  for (int i = 1; i < n; i++) {
    int64_t vi = in[i]->kind == FLOE__NODE_FULL ? in[i]->p.full.ivalue : 0;
    FLOE_RETURN_ERROR_IF(floe__promote(t, w, v, in[i]->dtype, in[i]->weak, vi, &t, &w) != FLOE_OK,
                         FLOE_ERR_DTYPE, "%s: no common dtype for %s and %s", op,
                         floe_dtype_name(t), floe_dtype_name(in[i]->dtype));
    v = 0;
  }
  *out = t;
  *weak = w;
  return FLOE_OK;
}

/* x converted to dtype t (a new reference). */
static floe__node *converted(floe_ctx *ctx, floe__node *x, floe_dtype t) {
  if (x->dtype == t && x->weak == FLOE__STRONG) {
    floe__node_ref(x);
    return x;
  }
  floe__node_ref(x);
  floe_array *h = floe__handle_new(ctx, x);
  floe_array *c = h != NULL ? floe_astype(h, t) : NULL;
  floe__node *n = NULL;
  if (c != NULL) {
    n = c->node;
    floe__node_ref(n);
    floe_release(c);
  }
  floe_release(h);
  return n;
}

/* The checks of a list of arrays: NULL (no context) or an array to return
 * when one fails, with *ctx the list's context. */
static floe_array *check_list(const char *op, floe_array *const *arrays, int n, floe_ctx **ctx,
                              bool *failed) {
  *failed = true;
  *ctx = NULL;
  if (arrays == NULL || n < 1 || n > 64) {
    floe__fail(FLOE_ERR_INVALID, "%s: %d arrays (1 to 64)", op, arrays == NULL ? 0 : n);
    return NULL;
  }
  for (int i = 0; i < n && *ctx == NULL; i++) {
    *ctx = arrays[i] != NULL ? arrays[i]->ctx : NULL;
  }
  if (*ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: every array is NULL", op);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    char what[32];
    snprintf(what, sizeof what, "array %d", i);
    if (floe__handle_check(arrays[i], op, what) != FLOE_OK) {
      return floe__handle_error(*ctx, FLOE_ERR_INVALID, "%s", floe__error_slot()->msg);
    }
  }
  for (int i = 0; i < n; i++) {
    if (arrays[i]->node->kind == FLOE__NODE_ERROR) {
      floe__node_ref(arrays[i]->node);
      return floe__handle_new(*ctx, arrays[i]->node);
    }
    if (arrays[i]->ctx != *ctx) {
      return floe__handle_error(*ctx, FLOE_ERR_INVALID,
                                "%s: the arrays belong to different contexts", op);
    }
  }
  *failed = false;
  return NULL;
}

static floe_array *concat(const char *op, floe_array *const *arrays, int n, int axis) {
  floe_ctx *ctx;
  bool failed;
  floe_array *r = check_list(op, arrays, n, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *in[64];
  for (int i = 0; i < n; i++) {
    in[i] = arrays[i]->node;
    if (in[i]->ctx != arrays[0]->node->ctx) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                "%s: the arguments belong to different contexts", op);
    }
  }
  const int nd = in[0]->ndim;
  if (nd == 0) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: zero-dimensional arrays cannot be concatenated", op);
  }
  if (axis < -nd || axis >= nd) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: axis %d is out of bounds for arrays of %d dimensions", op, axis,
                              nd);
  }
  axis = axis < 0 ? axis + nd : axis;
  for (int i = 1; i < n; i++) {
    bool ok = in[i]->ndim == nd;
    for (int d = 0; ok && d < nd; d++) {
      ok = d == axis || in[i]->shape[d] == in[0]->shape[d];
    }
    if (!ok) {
      char s0[128], s1[128];
      return floe__handle_error(
          ctx, FLOE_ERR_SHAPE, "%s: shapes %s and %s differ off axis %d", op,
          floe__shape_str(in[0]->ndim, in[0]->shape, s0, sizeof s0),
          floe__shape_str(in[i]->ndim, in[i]->shape, s1, sizeof s1), axis);
    }
  }
  if (n == 1) {
    floe__node_ref(in[0]);
    return floe__handle_new(ctx, in[0]);
  }
  floe_dtype t = FLOE_FLOAT64;
  floe__weak w = FLOE__STRONG;
  if (common_dtype(op, in, n, &t, &w) != FLOE_OK) {
    return failed_array(ctx);
  }
  floe__node *cur = converted(ctx, in[0], t);
  for (int i = 1; i < n && cur != NULL; i++) {
    floe__node *next = converted(ctx, in[i], t);
    if (next == NULL) {
      floe__node_unref(cur);
      cur = NULL;
      break;
    }
    floe__node p = {.kind = FLOE__NODE_CONCAT, .dtype = t, .nin = 2, .ndim = nd};
    p.in[0] = cur;
    p.in[1] = next;
    p.p.concat.axis = axis;
    for (int d = 0; d < nd; d++) {
      p.shape[d] = d == axis ? cur->shape[d] + next->shape[d] : cur->shape[d];
      p.chunk[d] = in[0]->chunk[d];
    }
    floe__node *j = floe__node_new(ctx, &p);
    floe__node_unref(cur);
    floe__node_unref(next);
    cur = j;
  }
  if (cur == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory", op);
  }
  return floe__handle_new(ctx, cur);
}

floe_array *floe_concat(floe_array *const *arrays, int n, int axis) {
  return concat("floe_concat", arrays, n, axis);
}

floe_array *floe_stack(floe_array *const *arrays, int n, int axis) {
  const char *op = "floe_stack";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = check_list(op, arrays, n, &ctx, &failed);
  if (failed) {
    return r;
  }
  if (!same_shapes(op, arrays, n)) {
    return failed_array(ctx);
  }
  const floe__node *x = arrays[0]->node;
  if (axis < -(x->ndim + 1) || axis > x->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: axis %d is out of bounds for a result of %d dimensions", op,
                              axis, x->ndim + 1);
  }
  floe_array *ex[64] = {NULL};
  for (int i = 0; i < n; i++) {
    ex[i] = floe_expand_dims(arrays[i], axis);
  }
  r = concat(op, ex, n, axis);
  for (int i = 0; i < n; i++) {
    floe_release(ex[i]);
  }
  return r;
}

/* -------------------------------------------------------------- products */

static floe_array *matmul(const char *op, floe_array *a, floe_array *b) {
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, b};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node, *y = b->node;
  if (x->ndim == 0 || y->ndim == 0) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: operands of %d and %d dimensions (a 0-d operand is not a "
                              "matrix; multiply it)",
                              op, x->ndim, y->ndim);
  }
  floe__node *in[2] = {x, y};
  floe_dtype t = FLOE_FLOAT64;
  floe__weak w = FLOE__STRONG;
  if (common_dtype(op, in, 2, &t, &w) != FLOE_OK) {
    return failed_array(ctx);
  }
  int64_t k0 = x->shape[x->ndim - 1], k1 = y->shape[y->ndim == 1 ? 0 : y->ndim - 2];
  if (k0 != k1) {
    char s0[128], s1[128];
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: inner lengths differ: %s @ %s (%lld against %lld)", op,
                              floe__shape_str(x->ndim, x->shape, s0, sizeof s0),
                              floe__shape_str(y->ndim, y->shape, s1, sizeof s1), (long long)k0,
                              (long long)k1);
  }
  /* vectors as matrices, then the batch axes broadcast (NumPy's matmul) */
  floe_array *A = x->ndim == 1 ? floe_expand_dims(a, 0) : a;
  floe_array *B = y->ndim == 1 ? floe_expand_dims(b, 1) : b;
  const int na = A->node->ndim, nbm = B->node->ndim;
  const int nd = na > nbm ? na : nbm, nb = nd - 2;
  int64_t batch[FLOE_MAX_DIMS];
  floe_array *out = NULL;
  for (int d = 0; d < nb; d++) {
    int da = d - (nd - na), db = d - (nd - nbm);
    int64_t la = da >= 0 ? A->node->shape[da] : 1, lb = db >= 0 ? B->node->shape[db] : 1;
    if (la != lb && la != 1 && lb != 1) {
      out = floe__handle_error(ctx, FLOE_ERR_SHAPE,
                               "%s: batch axes of lengths %lld and %lld do not broadcast", op,
                               (long long)la, (long long)lb);
      break;
    }
    batch[d] = la == 1 ? lb : la;
  }
  floe_array *Ab = NULL, *Bb = NULL;
  if (out == NULL) {
    floe_shape sa = {.ndim = nd}, sb = {.ndim = nd};
    bool same_a = na == nd, same_b = nbm == nd;
    for (int d = 0; d < nb; d++) {
      sa.dim[d] = sb.dim[d] = batch[d];
      same_a = same_a && A->node->shape[d] == batch[d];
      same_b = same_b && B->node->shape[d] == batch[d];
    }
    sa.dim[nb] = A->node->shape[na - 2];
    sa.dim[nb + 1] = A->node->shape[na - 1];
    sb.dim[nb] = B->node->shape[nbm - 2];
    sb.dim[nb + 1] = B->node->shape[nbm - 1];
    Ab = same_a ? A : floe_broadcast_to(A, sa);
    Bb = same_b ? B : floe_broadcast_to(B, sb);
    floe__node *An = converted(ctx, Ab->node, t), *Bn = converted(ctx, Bb->node, t);
    if (An != NULL && Bn != NULL && An->kind != FLOE__NODE_ERROR && Bn->kind != FLOE__NODE_ERROR) {
      floe__node p = {.kind = FLOE__NODE_MATMUL, .dtype = t, .nin = 2, .ndim = nd};
      p.in[0] = An;
      p.in[1] = Bn;
      for (int d = 0; d < nb; d++) {
        p.shape[d] = batch[d];
        p.chunk[d] = An->chunk[d];
      }
      p.shape[nb] = An->shape[nb];
      p.shape[nb + 1] = Bn->shape[nb + 1];
      p.chunk[nb] = An->chunk[nb];
      p.chunk[nb + 1] = Bn->chunk[nb + 1];
      out = floe__make(ctx, &p);
    } else if (An != NULL && An->kind == FLOE__NODE_ERROR) {
      floe__node_ref(An);
      out = floe__handle_new(ctx, An);
    } else if (Bn != NULL && Bn->kind == FLOE__NODE_ERROR) {
      floe__node_ref(Bn);
      out = floe__handle_new(ctx, Bn);
    } else {
      out = floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory", op);
    }
    if (An != NULL) {
      floe__node_unref(An);
    }
    if (Bn != NULL) {
      floe__node_unref(Bn);
    }
  }
  if (Ab != NULL && Ab != A) {
    floe_release(Ab);
  }
  if (Bb != NULL && Bb != B) {
    floe_release(Bb);
  }
  if (A != a) {
    floe_release(A);
  }
  if (B != b) {
    floe_release(B);
  }
  if (out != NULL && out->node->kind != FLOE__NODE_ERROR && (x->ndim == 1 || y->ndim == 1)) {
    const int ond = out->node->ndim;
    floe_array *sq = floe_squeeze(out, x->ndim == 1 && y->ndim == 1 ? FLOE_AXES(ond - 2, ond - 1)
                                       : x->ndim == 1                ? FLOE_AXES(ond - 2)
                                                                     : FLOE_AXES(ond - 1));
    floe_release(out);
    out = sq;
  }
  return out;
}

floe_array *floe_matmul(floe_array *a, floe_array *b) { return matmul("floe_matmul", a, b); }

floe_array *floe_dot(floe_array *a, floe_array *b) {
  const char *op = "floe_dot";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, b};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  if (a->node->ndim == 0 || b->node->ndim == 0) {
    return floe_multiply(a, b);
  }
  return matmul(op, a, b);
}

floe_array *floe_outer(floe_array *a, floe_array *b) {
  const char *op = "floe_outer";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, b};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  if (a->node->ndim != 1 || b->node->ndim != 1) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: takes two 1-D arrays (got %d-D and %d-D)",
                              op, a->node->ndim, b->node->ndim);
  }
  floe_array *col = floe_expand_dims(a, 1), *row = floe_expand_dims(b, 0);
  floe_array *m = floe_multiply(col, row);
  floe_release(col);
  floe_release(row);
  return m;
}

/* ---------------------------------------------------------- along an axis */

/* op along `axis` of a: the input rechunked so the axis is whole in every
 * chunk (the other axes shrunk to keep chunks near chunk_bytes), then one
 * task per chunk. */
static floe_array *along_axis(const char *op, floe_array *a, int axis, floe__axis_op kind,
                              double q) {
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (x->ndim == 0) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: takes an array of 1 or more dimensions",
                              op);
  }
  if ((axis = axis_of(op, axis, x->ndim)) < 0) {
    return failed_array(ctx);
  }
  if (kind == FLOE__AXIS_QUANTILE && !(q >= 0.0 && q <= 1.0)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: quantiles must be in [0, 1], got %g",
                              op, q);
  }
  bool reduces = kind == FLOE__AXIS_MEDIAN || kind == FLOE__AXIS_QUANTILE;
  if (reduces && x->shape[axis] == 0) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: the axis %d is empty", op, axis);
  }
  int64_t ch[FLOE_MAX_DIMS];
  bool same = true;
  const uint64_t esz = floe_dtype_size(x->dtype);
  /* scans carry their running value from chunk to chunk along the axis;
     the others need the axis whole */
  bool whole = kind != FLOE__AXIS_CUMSUM && kind != FLOE__AXIS_CUMPROD;
  for (int d = 0; d < x->ndim; d++) {
    ch[d] = d == axis && whole ? (x->shape[d] > 0 ? x->shape[d] : 1) : x->chunk[d];
  }
  for (;;) {
    uint64_t bytes = esz;
    int widest = -1;
    for (int d = 0; d < x->ndim; d++) {
      bytes *= (uint64_t)ch[d];
      if (d != axis && ch[d] > 1 && (widest < 0 || ch[d] > ch[widest])) {
        widest = d;
      }
    }
    if (!whole || bytes <= ctx->cfg.chunk_bytes || widest < 0) {
      break;
    }
    ch[widest] = (ch[widest] + 1) / 2;
  }
  floe_shape cs = {.ndim = x->ndim};
  for (int d = 0; d < x->ndim; d++) {
    cs.dim[d] = ch[d];
    same = same && ch[d] == x->chunk[d];
  }
  floe_array *in = same ? a : floe_rechunk(a, cs);
  if (in == NULL) {
    return NULL;
  }
  floe__node *xi = in->node;
  floe__node p = {.kind = FLOE__NODE_AXIS, .nin = 1};
  p.in[0] = xi;
  p.p.axis.op = kind;
  p.p.axis.axis = axis;
  p.p.axis.q = kind == FLOE__AXIS_QUANTILE ? q : 0.0;
  switch (kind) {
  case FLOE__AXIS_CUMSUM:
  case FLOE__AXIS_CUMPROD:
    p.dtype = floe__scan_dtype(xi->dtype);
    break;
  case FLOE__AXIS_SORT:
    p.dtype = xi->dtype;
    break;
  case FLOE__AXIS_MEDIAN:
    p.dtype = xi->dtype == FLOE_FLOAT32 ? FLOE_FLOAT32 : FLOE_FLOAT64;
    break;
  default:
    p.dtype = FLOE_FLOAT64;
    break;
  }
  for (int d = 0; d < xi->ndim; d++) {
    if (reduces && d == axis) {
      continue;
    }
    p.shape[p.ndim] = xi->shape[d];
    p.chunk[p.ndim++] = xi->chunk[d];
  }
  floe_array *out = xi->kind == FLOE__NODE_ERROR ? NULL : floe__make(ctx, &p);
  if (xi->kind == FLOE__NODE_ERROR) {
    floe__node_ref(xi);
    out = floe__handle_new(ctx, xi);
  }
  if (in != a) {
    floe_release(in);
  }
  return out;
}

floe_array *floe_cumsum(floe_array *a, int axis) {
  return along_axis("floe_cumsum", a, axis, FLOE__AXIS_CUMSUM, 0);
}

floe_array *floe_cumprod(floe_array *a, int axis) {
  return along_axis("floe_cumprod", a, axis, FLOE__AXIS_CUMPROD, 0);
}

floe_array *floe_sort(floe_array *a, int axis) {
  return along_axis("floe_sort", a, axis, FLOE__AXIS_SORT, 0);
}

floe_array *floe_median(floe_array *a, int axis) {
  return along_axis("floe_median", a, axis, FLOE__AXIS_MEDIAN, 0.5);
}

floe_array *floe_quantile(floe_array *a, double q, int axis) {
  return along_axis("floe_quantile", a, axis, FLOE__AXIS_QUANTILE, q);
}

/* --------------------------------------------------------------- reshape */

floe_array *floe_reshape(floe_array *a, floe_shape shape) {
  const char *op = "floe_reshape";
  floe_ctx *ctx;
  bool failed;
  floe_array *r = floe__check_args(op, &a, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node;
  if (shape.ndim < 0 || shape.ndim > FLOE_MAX_DIMS) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: a shape of %d dimensions", op,
                              shape.ndim);
  }
  int64_t size = floe__node_size(x), known = 1;
  int unknown = -1;
  for (int d = 0; d < shape.ndim; d++) {
    if (shape.dim[d] == -1 && unknown < 0) {
      unknown = d;
    } else if (shape.dim[d] < 0) {
      return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                                "%s: can only specify one unknown dimension, and no negative one",
                                op);
    } else {
      known *= shape.dim[d];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || size % known != 0) {
      char s0[128];
      return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                                "%s: cannot reshape an array of size %lld and shape %s with -1",
                                op, (long long)size,
                                floe__shape_str(x->ndim, x->shape, s0, sizeof s0));
    }
    shape.dim[unknown] = size / known;
    known = size;
  }
  if (known != size) {
    char s0[128], s1[128];
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: cannot reshape an array of size %lld from %s into %s", op,
                              (long long)size, floe__shape_str(x->ndim, x->shape, s0, sizeof s0),
                              floe__shape_str(shape.ndim, shape.dim, s1, sizeof s1));
  }
  bool same = shape.ndim == x->ndim;
  for (int d = 0; same && d < x->ndim; d++) {
    same = shape.dim[d] == x->shape[d];
  }
  if (same) {
    floe__node_ref(x);
    return floe__handle_new(ctx, x);
  }
  floe__node p = {.kind = FLOE__NODE_RESHAPE, .dtype = x->dtype, .weak = x->weak, .nin = 1};
  p.in[0] = x;
  p.ndim = shape.ndim;
  memcpy(p.shape, shape.dim, sizeof(int64_t) * (size_t)shape.ndim);
  /* the trailing axes both shapes share keep their chunks; the leading
     ones take about as many elements as an input chunk holds */
  int k = 0;
  while (k < x->ndim && k < shape.ndim &&
         x->shape[x->ndim - 1 - k] == shape.dim[shape.ndim - 1 - k]) {
    k++;
  }
  int64_t in_elems = 1, tail = 1;
  for (int d = 0; d < x->ndim; d++) {
    in_elems *= x->chunk[d];
  }
  for (int i = 0; i < k; i++) {
    p.chunk[shape.ndim - 1 - i] = x->chunk[x->ndim - 1 - i];
    tail *= x->chunk[x->ndim - 1 - i];
  }
  int64_t budget = in_elems / (tail > 0 ? tail : 1);
  for (int d = shape.ndim - 1 - k; d >= 0; d--) {
    int64_t len = shape.dim[d] > 0 ? shape.dim[d] : 1;
    int64_t c = budget < 1 ? 1 : (budget < len ? budget : len);
    p.chunk[d] = c;
    budget /= c;
  }
  return floe__make(ctx, &p);
}

/* ---------------------------------------------------------------- masks */

floe_array *floe_mask(floe_array *a, floe_array *mask) {
  const char *op = "floe_mask";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, mask};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node, *m = mask->node;
  bool same = m->ndim == x->ndim;
  for (int d = 0; same && d < x->ndim; d++) {
    same = m->shape[d] == x->shape[d];
  }
  if (m->dtype != FLOE_BOOL || !same) {
    char s0[128], s1[128];
    return floe__handle_error(ctx, m->dtype != FLOE_BOOL ? FLOE_ERR_DTYPE : FLOE_ERR_SHAPE,
                              "%s: the mask must be a bool array of the array's shape %s (got %s "
                              "%s)",
                              op, floe__shape_str(x->ndim, x->shape, s0, sizeof s0),
                              floe_dtype_name(m->dtype),
                              floe__shape_str(m->ndim, m->shape, s1, sizeof s1));
  }
  /* the selected positions, counted and listed chunk by chunk would need a
     second pass; the mask is computed whole here (one byte per element)
     and kept as indices (eight bytes per selected element) */
  int64_t n = floe__node_size(x);
  uint8_t *bits = malloc((size_t)(n > 0 ? n : 1));
  if (bits == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory for a mask of %lld bytes",
                              op, (long long)n);
  }
  floe_status st = n > 0 ? floe_compute(mask, bits, (size_t)n) : FLOE_OK;
  if (st != FLOE_OK) {
    free(bits);
    return floe__handle_error(ctx, st, "%s: computing the mask: %s", op, floe__error_slot()->msg);
  }
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) {
    count += bits[i] != 0;
  }
  int64_t *idx = malloc((size_t)(count > 0 ? count : 1) * sizeof *idx);
  if (idx == NULL) {
    free(bits);
    return floe__handle_error(ctx, FLOE_ERR_NOMEM, "%s: out of memory for %lld indices", op,
                              (long long)count);
  }
  for (int64_t i = 0, j = 0; i < n; i++) {
    if (bits[i]) {
      idx[j++] = i;
    }
  }
  free(bits);
  floe_array *flat = floe_reshape(a, FLOE_SHAPE(-1));
  floe_array *where = floe_from_buffer(ctx, FLOE_INT64, FLOE_SHAPE(count), FLOE_AUTO, idx);
  floe_array *out = floe_take(flat, where, 0);
  floe_release(where);
  floe_release(flat);
  free(idx); /* floe_take computed its copy of the indices */
  return out;
}

/* ----------------------------------------------------------- user kernels */

static floe_array *map(const char *op, floe_block_fn fn, void *user, floe_array *const *inputs,
                       int n, floe_dtype out_dtype, floe_shape chunks, const int64_t *depth,
                       int depth_ndim, floe_pad_mode mode) {
  floe_ctx *ctx;
  bool failed;
  if (n < 1 || n > 3) {
    floe__fail(FLOE_ERR_INVALID, "%s: %d inputs (1 to 3)", op, n);
    return NULL;
  }
  floe_array *r = check_list(op, inputs, n, &ctx, &failed);
  if (failed) {
    return r;
  }
  if (fn == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: the function is NULL", op);
  }
  if (depth != NULL) {
    const int nd = inputs[0]->node->ndim;
    if (depth_ndim != nd || mode < FLOE_PAD_CONSTANT || mode > FLOE_PAD_EDGE) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                "%s: depth has %d axes for arrays of %d, or the mode %d is "
                                "unknown",
                                op, depth_ndim, nd, (int)mode);
    }
    for (int d = 0; d < nd; d++) {
      if (depth[d] < 0) {
        return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: negative depth %lld on axis %d",
                                  op, (long long)depth[d], d);
      }
    }
  }
  if (!floe__dtype_valid(out_dtype)) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: unknown dtype %d", op, (int)out_dtype);
  }
  if (!same_shapes(op, inputs, n)) {
    return failed_array(ctx);
  }
  const floe__node *x = inputs[0]->node;
  floe__node p = {.kind = FLOE__NODE_MAP, .dtype = out_dtype, .nin = n, .ndim = x->ndim};
  memcpy(p.shape, x->shape, sizeof p.shape);
  if (chunks.ndim == -1) {
    memcpy(p.chunk, x->chunk, sizeof p.chunk);
  } else if (floe__resolve_chunks(ctx, op, out_dtype, x->ndim, x->shape, chunks, p.chunk) !=
             FLOE_OK) {
    return failed_array(ctx);
  }
  p.p.map.fn = fn;
  p.p.map.user = user;
  floe_array *padded[3] = {NULL, NULL, NULL};
  bool halo = false;
  floe_shape w = {.ndim = x->ndim};
  for (int d = 0; d < x->ndim; d++) {
    p.p.map.depth[d] = depth != NULL ? depth[d] : 0;
    w.dim[d] = p.p.map.depth[d];
    halo = halo || w.dim[d] > 0;
  }
  for (int i = 0; i < n; i++) {
    padded[i] = halo ? floe_pad(inputs[i], w, w, mode, 0.0) : inputs[i];
    if (padded[i] == NULL || padded[i]->node->kind == FLOE__NODE_ERROR) {
      floe_array *e = padded[i];
      for (int k = 0; k < i && halo; k++) {
        floe_release(padded[k]);
      }
      return e;
    }
    p.in[i] = padded[i]->node;
  }
  floe_array *out = floe__make(ctx, &p);
  for (int i = 0; i < n && halo; i++) {
    floe_release(padded[i]);
  }
  return out;
}

floe_array *floe_map_blocks(floe_block_fn fn, void *user, floe_array *const *inputs, int n,
                            floe_dtype out_dtype, floe_shape out_chunks) {
  return map("floe_map_blocks", fn, user, inputs, n, out_dtype, out_chunks, NULL, 0,
             FLOE_PAD_CONSTANT);
}

floe_array *floe_map_overlap(floe_block_fn fn, void *user, floe_array *const *inputs, int n,
                             floe_dtype out_dtype, floe_shape depth, floe_pad_mode mode) {
  const char *op = "floe_map_overlap";
  return map(op, fn, user, inputs, n, out_dtype, FLOE_AUTO, depth.dim, depth.ndim, mode);
}

/* ------------------------------------------------------------- tensordot */

floe_array *floe_tensordot(floe_array *a, floe_array *b, floe_axes a_axes, floe_axes b_axes) {
  const char *op = "floe_tensordot";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, b};
  floe_array *r = floe__check_args(op, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  const floe__node *x = a->node, *y = b->node;
  if (a_axes.n < 0 || a_axes.n != b_axes.n || a_axes.n > x->ndim || b_axes.n > y->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: %d and %d axes to contract (as many on both sides, each at most "
                              "the array's rank)",
                              op, a_axes.n, b_axes.n);
  }
  const int k = a_axes.n;
  int pa[FLOE_MAX_DIMS], pb[FLOE_MAX_DIMS];
  uint32_t ua = 0, ub = 0;
  int64_t inner = 1, rows = 1, cols = 1;
  for (int i = 0; i < k; i++) {
    int ax = a_axes.axis[i] < 0 ? a_axes.axis[i] + x->ndim : a_axes.axis[i];
    int bx = b_axes.axis[i] < 0 ? b_axes.axis[i] + y->ndim : b_axes.axis[i];
    if (ax < 0 || ax >= x->ndim || bx < 0 || bx >= y->ndim || (ua & (1u << ax)) ||
        (ub & (1u << bx))) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: bad or repeated axis pair (%d, %d)",
                                op, a_axes.axis[i], b_axes.axis[i]);
    }
    if (x->shape[ax] != y->shape[bx]) {
      return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                                "%s: shape-mismatch for sum: axis %d has %lld, axis %d has %lld",
                                op, ax, (long long)x->shape[ax], bx, (long long)y->shape[bx]);
    }
    ua |= 1u << ax;
    ub |= 1u << bx;
    pa[x->ndim - k + i] = ax; /* contracted axes last in a */
    pb[i] = bx;               /* and first in b */
    inner *= x->shape[ax];
  }
  floe_shape rs = {.ndim = 0};
  for (int d = 0, j = 0; d < x->ndim; d++) {
    if (!(ua & (1u << d))) {
      pa[j++] = d;
      rows *= x->shape[d];
      rs.dim[rs.ndim++] = x->shape[d];
    }
  }
  for (int d = 0, j = k; d < y->ndim; d++) {
    if (!(ub & (1u << d))) {
      pb[j++] = d;
      cols *= y->shape[d];
      if (rs.ndim == FLOE_MAX_DIMS) {
        return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s: more than %d result axes", op,
                                  FLOE_MAX_DIMS);
      }
      rs.dim[rs.ndim++] = y->shape[d];
    }
  }
  floe_axes ta = {.n = x->ndim}, tb = {.n = y->ndim};
  memcpy(ta.axis, pa, sizeof(int) * (size_t)x->ndim);
  memcpy(tb.axis, pb, sizeof(int) * (size_t)y->ndim);
  floe_array *at = floe_transpose(a, ta), *bt = floe_transpose(b, tb);
  floe_array *a2 = floe_reshape(at, FLOE_SHAPE(rows, inner));
  floe_array *b2 = floe_reshape(bt, FLOE_SHAPE(inner, cols));
  floe_array *c = matmul(op, a2, b2);
  floe_array *out = floe_reshape(c, rs);
  floe_release(at);
  floe_release(bt);
  floe_release(a2);
  floe_release(b2);
  floe_release(c);
  return out;
}
