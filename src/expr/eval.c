/* Runs a floe_eval program over a stack of array handles.  Every handle on
 * the stack is owned by the run: an instruction pops its operands, calls the
 * public API (which returns a new reference, possibly an error array that
 * carries the array layer's message), releases the operands and pushes the
 * result.  The one value left at the end is the caller's. */
#include <stdlib.h>

#include "array/array-internal.h"
#include "expr-internal.h"

typedef struct run {
  floe_ctx *ctx;
  const floe_eval_var *vars;
  floe__expr_error *err;
  floe_array **stack;
  size_t sp;
} run;

static floe_array *pop(run *r) {
  return r->stack[--r->sp];
}

/* A new reference to a variable's array. */
static floe_array *var_ref(run *r, const floe__instr *in) {
  const floe_eval_var *v = &r->vars[in->u.index];
  const floe_array *a = v->array;
  const char *bad = a == NULL                       ? "is NULL"
                    : a->magic == FLOE__HANDLE_DEAD ? "is a released array"
                    : a->magic != FLOE__HANDLE_LIVE ? "is not a floe array"
                    : a->ctx != r->ctx              ? "belongs to another context"
                                                    : NULL;
  if (bad != NULL) {
    floe__expr_fail(r->err, FLOE_ERR_INVALID, in->pos, "variable '%.40s' %s", v->name, bad);
    return NULL;
  }
  floe__node_ref(a->node);
  return floe__handle_new(r->ctx, a->node);
}

static bool is_good_non_bool(const floe_array *a) {
  return floe_array_status(a) == FLOE_OK && floe_array_dtype(a) != FLOE_BOOL;
}

static const char *logic_symbol(int op) {
  return op == FLOE_LOGICAL_AND ? "&" : op == FLOE_LOGICAL_OR ? "|" : "^";
}

/* `~ & | ^` are logical in floe, which has no bitwise operations; on
 * numbers they would silently mean something else than in NumPy. */
static bool check_logic(run *r, const floe__instr *in, const floe_array *a, const floe_array *b) {
  if (!is_good_non_bool(a) && (b == NULL || !is_good_non_bool(b))) {
    return true;
  }
  if (b == NULL) {
    return floe__expr_fail(r->err, FLOE_ERR_DTYPE, in->pos,
                           "'~' needs a bool operand, not %s (floe has no bitwise operations; "
                           "negate a comparison: ~(x > 0))",
                           floe_dtype_name(floe_array_dtype(a)));
  }
  const floe_array *bad = is_good_non_bool(a) ? a : b;
  return floe__expr_fail(r->err, FLOE_ERR_DTYPE, in->pos,
                         "'%s' needs bool operands, not %s (floe has no bitwise operations; "
                         "combine comparisons: (x > 0) %s (y < 1))",
                         logic_symbol(in->u.op), floe_dtype_name(floe_array_dtype(bad)),
                         logic_symbol(in->u.op));
}

/* Checks the axes against the array here, so that the message can point at
 * the axis; floe_reduce would report the same without the position. */
static bool check_axes(run *r, const floe__expr_reduce *red, const floe_array *a) {
  if (floe_array_status(a) != FLOE_OK || red->axes.n < 0) {
    return true;
  }
  int ndim = floe_array_ndim(a);
  unsigned seen = 0;
  for (int i = 0; i < red->axes.n; i++) {
    int ax = red->axes.axis[i];
    if (ax < -ndim || ax >= ndim) {
      return floe__expr_fail(r->err, FLOE_ERR_INVALID, red->axis_pos[i],
                             "axis %d is out of bounds for an array of %d dimension%s", ax, ndim,
                             ndim == 1 ? "" : "s");
    }
    ax = ax < 0 ? ax + ndim : ax;
    if (seen & (1u << ax)) {
      return floe__expr_fail(r->err, FLOE_ERR_INVALID, red->axis_pos[i], "axis %d is repeated", ax);
    }
    seen |= 1u << ax;
  }
  return true;
}

static floe_array *push_int(run *r, const floe__instr *in) {
  /* the parser checked that the value fits */
  uint64_t m = in->u.num.mag;
  int64_t v = in->u.num.neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
  return floe_scalar_int(r->ctx, v);
}

/* One instruction.  NULL with r->err set for the expression's own errors,
 * NULL alone when out of memory. */
static floe_array *step(run *r, const floe__instr *in) {
  floe_array *a, *b, *c, *out = NULL;
  switch (in->code) {
  case FLOE__OP_INT:
    return push_int(r, in);
  case FLOE__OP_FLOAT:
    return floe_scalar(r->ctx, in->u.fval);
  case FLOE__OP_BOOL:
    return floe_full(r->ctx, FLOE_BOOL, FLOE_SCALAR_SHAPE, FLOE_AUTO, in->u.flag ? 1.0 : 0.0);
  case FLOE__OP_VAR:
    return var_ref(r, in);
  case FLOE__OP_UNARY:
  case FLOE__OP_NOT:
    a = pop(r);
    if (in->code == FLOE__OP_UNARY || check_logic(r, in, a, NULL)) {
      out = floe_unary((floe_unary_op)in->u.op, a);
    }
    floe_release(a);
    return out;
  case FLOE__OP_BINARY:
  case FLOE__OP_LOGIC:
    b = pop(r);
    a = pop(r);
    if (in->code == FLOE__OP_BINARY || check_logic(r, in, a, b)) {
      out = floe_binary((floe_binary_op)in->u.op, a, b);
    }
    floe_release(a);
    floe_release(b);
    return out;
  case FLOE__OP_WHERE:
    c = pop(r);
    b = pop(r);
    a = pop(r);
    out = floe_where(a, b, c);
    floe_release(a);
    floe_release(b);
    floe_release(c);
    return out;
  case FLOE__OP_CLIP:
    c = in->u.clip.has_hi ? pop(r) : NULL;
    b = in->u.clip.has_lo ? pop(r) : NULL;
    a = pop(r);
    out = floe_clip(a, b, c);
    floe_release(a);
    floe_release(b);
    floe_release(c);
    return out;
  case FLOE__OP_ASTYPE:
    a = pop(r);
    out = floe_astype(a, in->u.dtype);
    floe_release(a);
    return out;
  case FLOE__OP_SLICE:
    a = pop(r);
    out = floe_slice(a, in->u.slice.n, in->u.slice.idx);
    floe_release(a);
    return out;
  case FLOE__OP_TRANSPOSE:
    a = pop(r);
    out = floe_transpose(a, FLOE_ALL);
    floe_release(a);
    return out;
  case FLOE__OP_PRODUCT:
    b = pop(r);
    a = pop(r);
    out = in->u.op == FLOE__PROD_MATMUL ? floe_matmul(a, b)
          : in->u.op == FLOE__PROD_DOT  ? floe_dot(a, b)
                                        : floe_outer(a, b);
    floe_release(a);
    floe_release(b);
    return out;
  case FLOE__OP_JOIN: {
    floe_array *parts[64];
    int n = in->u.join.n;
    for (int i = n - 1; i >= 0; i--) {
      parts[i] = pop(r);
    }
    out = in->u.join.stack ? floe_stack(parts, n, in->u.join.axis)
                           : floe_concat(parts, n, in->u.join.axis);
    for (int i = 0; i < n; i++) {
      floe_release(parts[i]);
    }
    return out;
  }
  case FLOE__OP_AXIS: {
    a = pop(r);
    int axis = in->u.along.axis;
    if (!in->u.along.has_axis) {
      if (floe_array_ndim(a) != 1 && in->u.along.op != FLOE__AX_SORT) {
        /* NumPy's axis=None: over the flattened array */
        floe_array *flat = floe_reshape(a, FLOE_SHAPE(-1));
        floe_release(a);
        a = flat;
      }
      axis = -1; /* sort's default is the last axis */
    }
    switch (in->u.along.op) {
    case FLOE__AX_CUMSUM:
      out = floe_cumsum(a, axis);
      break;
    case FLOE__AX_CUMPROD:
      out = floe_cumprod(a, axis);
      break;
    case FLOE__AX_SORT:
      out = floe_sort(a, axis);
      break;
    case FLOE__AX_MEDIAN:
      out = floe_median(a, axis);
      break;
    default:
      out = floe_quantile(a, in->u.along.q, axis);
      break;
    }
    floe_release(a);
    return out;
  }
  case FLOE__OP_RESHAPE:
    a = pop(r);
    out = floe_reshape(a, in->u.shape);
    floe_release(a);
    return out;
  case FLOE__OP_MASK:
    b = pop(r);
    a = pop(r);
    if (floe_array_status(b) == FLOE_OK && floe_array_dtype(b) != FLOE_BOOL) {
      floe__expr_fail(r->err, FLOE_ERR_INVALID, in->pos,
                      "an index must be an integer, a slice, None, ... or a bool mask (got %s)",
                      floe_dtype_name(floe_array_dtype(b)));
      floe_release(a);
      floe_release(b);
      return NULL;
    }
    out = floe_mask(a, b);
    floe_release(a);
    floe_release(b);
    return out;
  case FLOE__OP_REDUCE:
    a = pop(r);
    if (check_axes(r, &in->u.reduce, a)) {
      out = floe_reduce_ddof((floe_reduce_op)in->u.reduce.op, a, in->u.reduce.axes,
                             in->u.reduce.ddof);
    }
    floe_release(a);
    return out;
  }
  return NULL;
}

floe_array *floe__expr_run(floe_ctx *ctx, const floe__program *prog, const floe_eval_var *vars,
                           floe__expr_error *err) {
  run r = {.ctx = ctx, .vars = vars, .err = err};
  r.stack = malloc((prog->max_stack > 0 ? prog->max_stack : 1) * sizeof *r.stack);
  if (r.stack == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < prog->n; i++) {
    floe_array *out = step(&r, &prog->code[i]);
    if (out == NULL) {
      while (r.sp > 0) {
        floe_release(pop(&r));
      }
      free(r.stack);
      return NULL;
    }
    r.stack[r.sp++] = out;
  }
  floe_array *result = r.sp == 1 ? r.stack[0] : NULL;
  free(r.stack);
  return result;
}
