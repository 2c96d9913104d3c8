/* Array creation: shapes and chunks checked, automatic chunking, source
 * nodes.  Nothing is computed or allocated for the data here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "array-internal.h"
#include "create-internal.h"

floe_status floe__check_shape(const char *op, floe_shape shape) {
  FLOE_RETURN_ERROR_IF(shape.ndim < 0 || shape.ndim > FLOE_MAX_DIMS, FLOE_ERR_SHAPE,
                       "%s: shape has %d dimensions (0 to %d are supported)", op, shape.ndim,
                       FLOE_MAX_DIMS);
  for (int d = 0; d < shape.ndim; d++) {
    FLOE_RETURN_ERROR_IF(shape.dim[d] < 0, FLOE_ERR_SHAPE,
                         "%s: shape has a negative length %lld on axis %d", op,
                         (long long)shape.dim[d], d);
  }
  return FLOE_OK;
}

/* Chunks near `target` bytes: trailing axes are kept whole as long as they
 * fit (C-order chunks read contiguous memory), the first axis that does not
 * fit is split, and the axes before it get 1.  Splits are balanced so the
 * edge chunk is not a sliver. */
static void auto_chunks(int ndim, const int64_t *shape, size_t itemsize, uint64_t target,
                        int64_t *chunk) {
  uint64_t budget = target / (itemsize ? itemsize : 1);
  if (budget < 1) {
    budget = 1;
  }
  uint64_t inner = 1;
  int d = ndim - 1;
  for (; d >= 0; d--) {
    uint64_t len = shape[d] > 0 ? (uint64_t)shape[d] : 1;
    if (inner * len > budget) {
      break;
    }
    chunk[d] = len > 0 ? (int64_t)len : 1;
    inner *= len;
  }
  if (d >= 0) {
    int64_t len = shape[d] > 0 ? shape[d] : 1;
    int64_t c = (int64_t)(budget / inner);
    if (c < 1) {
      c = 1;
    }
    int64_t nchunks = (len + c - 1) / c;
    chunk[d] = (len + nchunks - 1) / nchunks;
    for (int e = d - 1; e >= 0; e--) {
      chunk[e] = 1;
    }
  }
  for (int e = 0; e < ndim; e++) {
    if (chunk[e] < 1) {
      chunk[e] = 1;
    }
  }
}

floe_status floe__resolve_chunks(floe_ctx *ctx, const char *op, floe_dtype dtype, int ndim,
                                 const int64_t *shape, floe_shape chunks, int64_t *out) {
  if (chunks.ndim == -1) {
    auto_chunks(ndim, shape, floe_dtype_size(dtype), ctx->cfg.chunk_bytes, out);
    return FLOE_OK;
  }
  FLOE_RETURN_ERROR_IF(chunks.ndim != ndim, FLOE_ERR_SHAPE,
                       "%s: chunks have %d dimensions but the shape has %d", op, chunks.ndim,
                       ndim);
  for (int d = 0; d < ndim; d++) {
    int64_t c = chunks.dim[d];
    FLOE_RETURN_ERROR_IF(c == 0 || c < -1, FLOE_ERR_SHAPE,
                         "%s: chunk length %lld on axis %d (use a positive length, or -1 for the "
                         "whole axis)",
                         op, (long long)c, d);
    if (c == -1 || c > shape[d]) {
      c = shape[d];
    }
    out[d] = c < 1 ? 1 : c;
  }
  return FLOE_OK;
}

static int64_t saturate(double v) {
  if (!(v == v)) {
    return 0;
  }
  if (v >= 9.2233720368547758e18) {
    return INT64_MAX;
  }
  if (v <= -9.2233720368547758e18) {
    return INT64_MIN;
  }
  return (int64_t)v;
}

void floe__full_values(floe_dtype t, double v, int64_t iv, double *value, int64_t *ivalue) {
  switch (t) {
  case FLOE_BOOL:
    *ivalue = v != 0;
    *value = (double)*ivalue;
    break;
  case FLOE_UINT8:
    *ivalue = (uint8_t)(uint64_t)iv;
    *value = (double)*ivalue;
    break;
  case FLOE_INT32:
    *ivalue = (int32_t)(uint32_t)(uint64_t)iv;
    *value = (double)*ivalue;
    break;
  case FLOE_INT64:
    *ivalue = iv;
    *value = (double)iv;
    break;
  case FLOE_FLOAT32:
    *value = (double)(float)v;
    *ivalue = saturate(*value);
    break;
  default:
    *value = v;
    *ivalue = saturate(v);
    break;
  }
}

floe_array *floe__make(floe_ctx *ctx, const floe__node *proto) {
  floe__node *n = floe__node_new(ctx, proto);
  return n != NULL ? floe__handle_new(ctx, n) : NULL;
}

/* A source node of `kind` after the common checks; errors become arrays. */
static floe_array *source(floe_ctx *ctx, const char *op, floe__node *proto, floe_shape shape,
                          floe_shape chunks) {
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: context is NULL", op);
    return NULL;
  }
  if (!floe__dtype_valid(proto->dtype)) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: unknown dtype %d", op,
                              (int)proto->dtype);
  }
  if (floe__check_shape(op, shape) != FLOE_OK) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s", floe__error_slot()->msg);
  }
  proto->ndim = shape.ndim;
  memcpy(proto->shape, shape.dim, sizeof(int64_t) * (size_t)shape.ndim);
  if (floe__resolve_chunks(ctx, op, proto->dtype, shape.ndim, proto->shape, chunks,
                           proto->chunk) != FLOE_OK) {
    return floe__handle_error(ctx, floe__error_slot()->status, "%s", floe__error_slot()->msg);
  }
  return floe__make(ctx, proto);
}

static floe_array *full(floe_ctx *ctx, const char *op, floe_dtype dtype, floe_shape shape,
                        floe_shape chunks, double value) {
  floe__node proto = {.kind = FLOE__NODE_FULL, .dtype = dtype};
  if (floe__dtype_valid(dtype)) {
    floe__full_values(dtype, value, saturate(value), &proto.p.full.value, &proto.p.full.ivalue);
  }
  return source(ctx, op, &proto, shape, chunks);
}

floe_array *floe_zeros(floe_ctx *ctx, floe_dtype dtype, floe_shape shape, floe_shape chunks) {
  return full(ctx, "floe_zeros", dtype, shape, chunks, 0.0);
}

floe_array *floe_ones(floe_ctx *ctx, floe_dtype dtype, floe_shape shape, floe_shape chunks) {
  return full(ctx, "floe_ones", dtype, shape, chunks, 1.0);
}

floe_array *floe_full(floe_ctx *ctx, floe_dtype dtype, floe_shape shape, floe_shape chunks,
                      double value) {
  return full(ctx, "floe_full", dtype, shape, chunks, value);
}

floe_array *floe_arange(floe_ctx *ctx, floe_dtype dtype, double start, double stop, double step,
                        floe_shape chunks) {
  const char *op = "floe_arange";
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: context is NULL", op);
    return NULL;
  }
  if (!(step != 0) || !isfinite(start) || !isfinite(stop) || !isfinite(step)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: start, stop and step must be finite and step non-zero", op);
  }
  double n = ceil((stop - start) / step);
  int64_t len = n > 0 ? (int64_t)n : 0;
  floe__node proto = {.kind = FLOE__NODE_ARANGE, .dtype = dtype};
  proto.p.arange.start = start;
  proto.p.arange.step = step;
  return source(ctx, op, &proto, FLOE_SHAPE(len), chunks);
}

floe_array *floe_linspace(floe_ctx *ctx, floe_dtype dtype, double start, double stop,
                          int64_t num, floe_shape chunks) {
  const char *op = "floe_linspace";
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: context is NULL", op);
    return NULL;
  }
  if (num < 0 || !isfinite(start) || !isfinite(stop)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: num must be >= 0 and start, stop finite (num = %lld)", op,
                              (long long)num);
  }
  floe__node proto = {.kind = FLOE__NODE_ARANGE, .dtype = dtype};
  proto.p.arange.start = start;
  proto.p.arange.step = num > 1 ? (stop - start) / (double)(num - 1) : 0.0;
  /* NumPy makes the last element exactly `stop`; start + (num-1)*step can
     miss it by an ulp, so the program pins it (see the ARANGE leaf) */
  proto.p.arange.stop = num > 1 ? stop : start;
  proto.p.arange.pin_last = num > 1;
  return source(ctx, op, &proto, FLOE_SHAPE(num), chunks);
}

floe_array *floe_from_buffer(floe_ctx *ctx, floe_dtype dtype, floe_shape shape, floe_shape chunks,
                             const void *data) {
  const char *op = "floe_from_buffer";
  if (ctx != NULL && data == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: data is NULL", op);
  }
  floe__node proto = {.kind = FLOE__NODE_BUFFER, .dtype = dtype};
  proto.p.buffer.data = data;
  return source(ctx, op, &proto, shape, chunks);
}

static floe_array *random_array(floe_ctx *ctx, const char *op, floe__random_kind kind,
                                floe_dtype dtype, floe_shape shape, floe_shape chunks,
                                uint64_t seed, double a, double b) {
  if (ctx != NULL && !floe__dtype_is_float(dtype)) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: dtype must be float32 or float64, not %s",
                              op, floe_dtype_name(dtype) ? floe_dtype_name(dtype) : "unknown");
  }
  if (ctx != NULL && (!isfinite(a) || !isfinite(b))) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: parameters must be finite", op);
  }
  floe__node proto = {.kind = FLOE__NODE_RANDOM, .dtype = dtype};
  proto.p.random.kind = kind;
  proto.p.random.seed = seed;
  proto.p.random.a = a;
  proto.p.random.b = b;
  return source(ctx, op, &proto, shape, chunks);
}

floe_array *floe_random_uniform(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                                floe_shape chunks, uint64_t seed, double low, double high) {
  return random_array(ctx, "floe_random_uniform", FLOE__RANDOM_UNIFORM, dtype, shape, chunks,
                      seed, low, high);
}

floe_array *floe_random_normal(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                               floe_shape chunks, uint64_t seed, double mean, double stddev) {
  if (ctx != NULL && !(stddev >= 0)) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "floe_random_normal: stddev must be >= 0, got %g", stddev);
  }
  return random_array(ctx, "floe_random_normal", FLOE__RANDOM_NORMAL, dtype, shape, chunks, seed,
                      mean, stddev);
}

floe_array *floe_scalar(floe_ctx *ctx, double value) {
  floe__node proto = {.kind = FLOE__NODE_FULL, .dtype = FLOE_FLOAT64, .weak = FLOE__WEAK_FLOAT};
  floe__full_values(FLOE_FLOAT64, value, 0, &proto.p.full.value, &proto.p.full.ivalue);
  return source(ctx, "floe_scalar", &proto, FLOE_SCALAR_SHAPE, FLOE_AUTO);
}

floe_array *floe_scalar_int(floe_ctx *ctx, int64_t value) {
  floe__node proto = {.kind = FLOE__NODE_FULL, .dtype = FLOE_INT64, .weak = FLOE__WEAK_INT};
  floe__full_values(FLOE_INT64, (double)value, value, &proto.p.full.value, &proto.p.full.ivalue);
  return source(ctx, "floe_scalar_int", &proto, FLOE_SCALAR_SHAPE, FLOE_AUTO);
}
