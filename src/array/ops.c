/* Elementwise operations and reductions: argument checks, broadcasting,
 * dtype promotion and chunk choice.  Each builds one graph node. */
#include <stdio.h>
#include <string.h>

#include "array-internal.h"
#include "create-internal.h"
#include "kernels/ewise-internal.h"
#include "kernels/reduce-internal.h"

static const char *const unary_names[FLOE_UNARY_COUNT_] = {
#define UNAME(NAME, name) [FLOE_##NAME] = "floe_" #name,
    FLOE_UNARY_MAP(UNAME)
#undef UNAME
};
static const char *const binary_names[FLOE_BINARY_COUNT_] = {
#define BNAME(NAME, name) [FLOE_##NAME] = "floe_" #name,
    FLOE_BINARY_MAP(BNAME)
#undef BNAME
};
static const char *const reduce_names[FLOE_REDUCE_COUNT_] = {
#define RNAME(NAME, name) [FLOE_##NAME] = "floe_" #name,
    FLOE_REDUCE_MAP(RNAME)
#undef RNAME
};

/* Checks the arguments of an operation.  Returns NULL when they are good
 * (and sets *ctx); otherwise the array to return: an error array, the
 * input's own error (sticky), or NULL when no context can be found. */
floe_array *floe__check_args(const char *op, floe_array *const *args, int n, floe_ctx **ctx,
                             bool *failed) {
  static const char *const what[] = {"the first argument", "the second argument",
                                     "the third argument"};
  *failed = true;
  *ctx = NULL;
  for (int i = 0; i < n && *ctx == NULL; i++) {
    if (args[i] != NULL) {
      *ctx = args[i]->ctx;
    }
  }
  if (*ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: every argument is NULL", op);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    if (floe__handle_check(args[i], op, what[i]) != FLOE_OK) {
      return floe__handle_error(*ctx, FLOE_ERR_INVALID, "%s", floe__error_slot()->msg);
    }
  }
  for (int i = 0; i < n; i++) {
    if (args[i]->node->kind == FLOE__NODE_ERROR) {
      floe__node_ref(args[i]->node);
      return floe__handle_new(*ctx, args[i]->node);
    }
    if (args[i]->ctx != *ctx) {
      return floe__handle_error(*ctx, FLOE_ERR_INVALID,
                                "%s: the arguments belong to different contexts", op);
    }
  }
  *failed = false;
  return NULL;
}

/* NumPy broadcasting of n nodes into proto's shape and chunks. */
static floe_status broadcast(const char *op, floe__node *const *in, int n, floe__node *proto) {
  int ndim = 0;
  for (int i = 0; i < n; i++) {
    ndim = in[i]->ndim > ndim ? in[i]->ndim : ndim;
  }
  proto->ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    int64_t len = 1, chunk = 0;
    int from = 0; /* the input that set len */
    for (int i = 0; i < n; i++) {
      int k = d - (ndim - in[i]->ndim);
      if (k < 0) {
        continue;
      }
      int64_t l = in[i]->shape[k];
      if (l == 1) {
        continue;
      }
      if (len != 1 && l != len) {
        char sa[128], sb[128];
        return floe__fail(FLOE_ERR_SHAPE,
                          "%s: shapes %s and %s do not broadcast (axis %d: %lld against %lld)", op,
                          floe__shape_str(in[from]->ndim, in[from]->shape, sa, sizeof sa),
                          floe__shape_str(in[i]->ndim, in[i]->shape, sb, sizeof sb), d,
                          (long long)len, (long long)l);
      }
      if (len == 1 || chunk == 0) {
        chunk = in[i]->chunk[k]; /* the first input that spans the axis sets its chunks */
        from = i;
      }
      len = l;
    }
    proto->shape[d] = len;
    proto->chunk[d] = chunk > 0 ? chunk : (len > 0 ? len : 1);
  }
  return FLOE_OK;
}

/* One element of constant n in dtype t, as the program would fill it. */
static void constant_as(const floe__node *n, floe_dtype t, void *out) {
  double v;
  int64_t iv;
  floe__full_values(t, n->p.full.value, n->p.full.ivalue, &v, &iv);
  switch (t) {
  case FLOE_BOOL:
    *(_Bool *)out = iv != 0;
    break;
  case FLOE_UINT8:
    *(uint8_t *)out = (uint8_t)iv;
    break;
  case FLOE_INT32:
    *(int32_t *)out = (int32_t)iv;
    break;
  case FLOE_INT64:
    *(int64_t *)out = iv;
    break;
  case FLOE_FLOAT32:
    *(float *)out = (float)v;
    break;
  default:
    *(double *)out = v;
    break;
  }
}

/* op over two constants, computed now with the same kernels, so that a
 * Python-like expression such as 200 + 200 keeps its value (and is range
 * checked against the array it meets later, as in NumPy 2). */
static void fold_constants(floe__node *proto, const floe__node *x, const floe__node *y) {
  floe_dtype c = proto->p.binary.compute;
  _Alignas(8) unsigned char a[8], b[8], r[8];
  constant_as(x, c, a);
  constant_as(y, c, b);
  floe__binary_kernel(proto->p.binary.op, c)(a, b, r, 1);
  double v = floe__load_double(r, proto->dtype, 0);
  int64_t iv = proto->dtype == FLOE_INT64 ? *(int64_t *)r : (int64_t)v;
  proto->kind = FLOE__NODE_FULL;
  proto->nin = 0;
  proto->in[0] = proto->in[1] = NULL;
  memset(&proto->p, 0, sizeof proto->p);
  floe__full_values(proto->dtype, v, iv, &proto->p.full.value, &proto->p.full.ivalue);
}

static int64_t weak_value(const floe__node *n) {
  return n->kind == FLOE__NODE_FULL ? n->p.full.ivalue : 0;
}

floe_array *floe_unary(floe_unary_op op, floe_array *a) {
  const char *name = ((int)op >= 0 && op < FLOE_UNARY_COUNT_) ? unary_names[op] : "floe_unary";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[1] = {a};
  floe_array *r = floe__check_args(name, args, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  if ((int)op < 0 || op >= FLOE_UNARY_COUNT_) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "floe_unary: unknown operation %d", (int)op);
  }
  floe__node *x = a->node;
  floe_dtype c = floe__unary_compute_dtype(op, x->dtype);
  if (c == FLOE_DTYPE_COUNT_) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: not supported for %s", name,
                              floe_dtype_name(x->dtype));
  }
  if (op == FLOE_NEGATIVE && x->kind == FLOE__NODE_FULL) {
    /* fold -constant, so that a negated Python-like integer is still range
       checked against the other operand (uint8 + -1 fails as in NumPy 2) */
    floe__node proto = *x;
    proto.nin = 0;
    floe__full_values(x->dtype, -x->p.full.value, (int64_t)(0 - (uint64_t)x->p.full.ivalue),
                      &proto.p.full.value, &proto.p.full.ivalue);
    return floe__make(ctx, &proto);
  }
  floe__node proto = {.kind = FLOE__NODE_UNARY, .nin = 1, .in = {x}};
  proto.dtype = floe__unary_result_dtype(op, c);
  proto.p.unary.op = op;
  proto.p.unary.compute = c;
  /* like Python's -x on a Python number, negation keeps a scalar weak */
  proto.weak = (op == FLOE_NEGATIVE) ? x->weak : FLOE__STRONG;
  proto.ndim = x->ndim;
  memcpy(proto.shape, x->shape, sizeof proto.shape);
  memcpy(proto.chunk, x->chunk, sizeof proto.chunk);
  return floe__make(ctx, &proto);
}

floe_array *floe_binary(floe_binary_op op, floe_array *a, floe_array *b) {
  const char *name =
      ((int)op >= 0 && op < FLOE_BINARY_COUNT_) ? binary_names[op] : "floe_binary";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[2] = {a, b};
  floe_array *r = floe__check_args(name, args, 2, &ctx, &failed);
  if (failed) {
    return r;
  }
  if ((int)op < 0 || op >= FLOE_BINARY_COUNT_) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "floe_binary: unknown operation %d",
                              (int)op);
  }
  floe__node *x = a->node, *y = b->node;
  floe_dtype promoted;
  floe__weak weak;
  if (floe__promote(x->dtype, x->weak, weak_value(x), y->dtype, y->weak, weak_value(y),
                    &promoted, &weak) != FLOE_OK) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: %s", name, floe__error_slot()->msg);
  }
  floe_dtype c = floe__binary_compute_dtype(op, promoted);
  if (c == FLOE_DTYPE_COUNT_) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: not supported for %s and %s", name,
                              floe_dtype_name(x->dtype), floe_dtype_name(y->dtype));
  }
  floe__node proto = {.kind = FLOE__NODE_BINARY, .nin = 2, .in = {x, y}};
  proto.dtype = floe__binary_result_dtype(op, c);
  proto.p.binary.op = op;
  proto.p.binary.compute = c;
  /* two Python-like scalars give a Python-like scalar (1 / 2 is a weak
     float); one strong operand makes the result strong */
  proto.weak = FLOE__STRONG;
  if (x->weak != FLOE__STRONG && y->weak != FLOE__STRONG) {
    proto.weak = floe__dtype_is_float(proto.dtype) ? FLOE__WEAK_FLOAT
                 : floe__dtype_is_int(proto.dtype) ? FLOE__WEAK_INT
                                                   : FLOE__STRONG;
  }
  if (broadcast(name, proto.in, 2, &proto) != FLOE_OK) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s", floe__error_slot()->msg);
  }
  if (x->kind == FLOE__NODE_FULL && y->kind == FLOE__NODE_FULL && proto.ndim == 0) {
    fold_constants(&proto, x, y);
  }
  return floe__make(ctx, &proto);
}

#define UNARY_WRAPPER(NAME, name)                                                                  \
  floe_array *floe_##name(floe_array *a) { return floe_unary(FLOE_##NAME, a); }
FLOE_UNARY_MAP(UNARY_WRAPPER)
#undef UNARY_WRAPPER
#define BINARY_WRAPPER(NAME, name)                                                                 \
  floe_array *floe_##name(floe_array *a, floe_array *b) { return floe_binary(FLOE_##NAME, a, b); }
FLOE_BINARY_MAP(BINARY_WRAPPER)
#undef BINARY_WRAPPER

floe_array *floe_where(floe_array *cond, floe_array *a, floe_array *b) {
  const char *name = "floe_where";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[3] = {cond, a, b};
  floe_array *r = floe__check_args(name, args, 3, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe__node *x = a->node, *y = b->node;
  floe_dtype promoted;
  floe__weak weak;
  if (floe__promote(x->dtype, x->weak, weak_value(x), y->dtype, y->weak, weak_value(y),
                    &promoted, &weak) != FLOE_OK) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: %s", name, floe__error_slot()->msg);
  }
  floe__node proto = {.kind = FLOE__NODE_WHERE, .nin = 3, .in = {cond->node, x, y}};
  proto.dtype = promoted;
  proto.weak = cond->node->weak != FLOE__STRONG ? weak : FLOE__STRONG;
  if (broadcast(name, proto.in, 3, &proto) != FLOE_OK) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE, "%s", floe__error_slot()->msg);
  }
  return floe__make(ctx, &proto);
}

floe_array *floe_astype(floe_array *a, floe_dtype dtype) {
  const char *name = "floe_astype";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[1] = {a};
  floe_array *r = floe__check_args(name, args, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  if (!floe__dtype_valid(dtype)) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: unknown dtype %d", name, (int)dtype);
  }
  floe__node *x = a->node;
  floe__node proto = {.kind = FLOE__NODE_CAST, .dtype = dtype, .nin = 1, .in = {x}};
  proto.ndim = x->ndim;
  memcpy(proto.shape, x->shape, sizeof proto.shape);
  memcpy(proto.chunk, x->chunk, sizeof proto.chunk);
  return floe__make(ctx, &proto);
}

floe_array *floe_clip(floe_array *a, floe_array *lo, floe_array *hi) {
  floe_ctx *ctx;
  bool failed;
  floe_array *args[1] = {a};
  floe_array *r = floe__check_args("floe_clip", args, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  floe_array *x = a, *tmp = NULL;
  if (lo != NULL) {
    x = tmp = floe_maximum(a, lo);
  }
  if (hi != NULL) {
    x = floe_minimum(x, hi);
    floe_release(tmp);
  } else if (lo == NULL) {
    x = floe_astype(a, a->node->dtype);
  }
  return x;
}

/* ------------------------------------------------------------ reductions */

floe_array *floe_reduce_ddof(floe_reduce_op op, floe_array *a, floe_axes axes, int ddof) {
  const char *name =
      ((int)op >= 0 && op < FLOE_REDUCE_COUNT_) ? reduce_names[op] : "floe_reduce";
  floe_ctx *ctx;
  bool failed;
  floe_array *args[1] = {a};
  floe_array *r = floe__check_args(name, args, 1, &ctx, &failed);
  if (failed) {
    return r;
  }
  if ((int)op < 0 || op >= FLOE_REDUCE_COUNT_) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "floe_reduce: unknown operation %d",
                              (int)op);
  }
  floe__node *x = a->node;
  uint32_t mask = 0;
  if (axes.n == -1) {
    mask = x->ndim > 0 ? (1u << x->ndim) - 1 : 0;
  } else {
    if (axes.n < 0 || axes.n > FLOE_MAX_DIMS) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: %d axes given", name, axes.n);
    }
    for (int i = 0; i < axes.n; i++) {
      int ax = axes.axis[i];
      if (ax < -x->ndim || ax >= x->ndim) {
        return floe__handle_error(ctx, FLOE_ERR_INVALID,
                                  "%s: axis %d is out of bounds for an array of %d dimensions",
                                  name, ax, x->ndim);
      }
      ax = ax < 0 ? ax + x->ndim : ax;
      if (mask & (1u << ax)) {
        return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: axis %d is repeated", name, ax);
      }
      mask |= 1u << ax;
    }
  }
  bool arg = op == FLOE_ARGMIN || op == FLOE_ARGMAX;
  int nred = __builtin_popcount(mask);
  if (arg && nred != 1 && nred != x->ndim) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID,
                              "%s: takes one axis or all of them (FLOE_ALL), not %d", name, nred);
  }
  if (ddof < 0) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s: ddof must be >= 0, got %d", name, ddof);
  }
  const floe__reducer *kern = floe__reducer_get(op, x->dtype);
  if (kern == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_DTYPE, "%s: not supported for %s", name,
                              floe_dtype_name(x->dtype));
  }
  int64_t reduced = 1, kept = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (mask & (1u << d)) {
      reduced *= x->shape[d];
    } else {
      kept *= x->shape[d];
    }
  }
  bool needs_identity = op == FLOE_MIN || op == FLOE_MAX || arg || op == FLOE_NANMIN ||
                        op == FLOE_NANMAX;
  if (reduced == 0 && kept > 0 && needs_identity) {
    return floe__handle_error(ctx, FLOE_ERR_SHAPE,
                              "%s: zero-size array to a reduction that has no identity", name);
  }
  floe__node proto = {.kind = FLOE__NODE_REDUCE, .nin = 1, .in = {x}};
  proto.dtype = floe__reduce_result_dtype(op, x->dtype);
  proto.p.reduce.op = op;
  proto.p.reduce.axes = mask;
  proto.p.reduce.keepdims = axes.keepdims != 0;
  proto.p.reduce.ddof = ddof;
  int nd = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (!(mask & (1u << d))) {
      proto.shape[nd] = x->shape[d];
      proto.chunk[nd++] = x->chunk[d];
    } else if (axes.keepdims) {
      proto.shape[nd] = 1;
      proto.chunk[nd++] = 1;
    }
  }
  proto.ndim = nd;
  return floe__make(ctx, &proto);
}

floe_array *floe_reduce(floe_reduce_op op, floe_array *a, floe_axes axes) {
  return floe_reduce_ddof(op, a, axes, 0);
}

#define REDUCE_WRAPPER(NAME, name)                                                                 \
  floe_array *floe_##name(floe_array *a, floe_axes axes) { return floe_reduce(FLOE_##NAME, a, axes); }
FLOE_REDUCE_MAP(REDUCE_WRAPPER)
#undef REDUCE_WRAPPER
