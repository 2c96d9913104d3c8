/* The names floe_eval knows: every elementwise operation and reduction by
 * its NumPy name (from the public X-macro tables, so a new operation is
 * callable as soon as it exists), NumPy's aliases, and the dtype names. */
#include <string.h>

#include "expr-internal.h"

static const floe__fn fns[] = {
#define UNARY_FN(NAME, name) {#name, FLOE__FN_UNARY, FLOE_##NAME, 1, 1},
    FLOE_UNARY_MAP(UNARY_FN)
#undef UNARY_FN
#define BINARY_FN(NAME, name) {#name, FLOE__FN_BINARY, FLOE_##NAME, 2, 2},
        FLOE_BINARY_MAP(BINARY_FN)
#undef BINARY_FN
#define REDUCE_FN(NAME, name) {#name, FLOE__FN_REDUCE, FLOE_##NAME, 1, 2},
            FLOE_REDUCE_MAP(REDUCE_FN)
#undef REDUCE_FN
    /* NumPy's other spellings (the short ones are NumPy 2's array-API names) */
    {"absolute", FLOE__FN_UNARY, FLOE_ABS, 1, 1},
    {"asin", FLOE__FN_UNARY, FLOE_ARCSIN, 1, 1},
    {"acos", FLOE__FN_UNARY, FLOE_ARCCOS, 1, 1},
    {"atan", FLOE__FN_UNARY, FLOE_ARCTAN, 1, 1},
    {"remainder", FLOE__FN_BINARY, FLOE_MOD, 2, 2},
    {"pow", FLOE__FN_BINARY, FLOE_POWER, 2, 2},
    {"true_divide", FLOE__FN_BINARY, FLOE_DIVIDE, 2, 2},
    {"atan2", FLOE__FN_BINARY, FLOE_ARCTAN2, 2, 2},
    {"amin", FLOE__FN_REDUCE, FLOE_MIN, 1, 2},
    {"amax", FLOE__FN_REDUCE, FLOE_MAX, 1, 2},
    {"where", FLOE__FN_WHERE, 0, 3, 3},
    {"clip", FLOE__FN_CLIP, 0, 2, 3},
    {"astype", FLOE__FN_ASTYPE, 0, 2, 2},
    {"transpose", FLOE__FN_TRANSPOSE, 0, 1, 1},
    {"matmul", FLOE__FN_PRODUCT, FLOE__PROD_MATMUL, 2, 2},
    {"dot", FLOE__FN_PRODUCT, FLOE__PROD_DOT, 2, 2},
    {"outer", FLOE__FN_PRODUCT, FLOE__PROD_OUTER, 2, 2},
    {"concatenate", FLOE__FN_JOIN, 0, 1, 2},
    {"concat", FLOE__FN_JOIN, 0, 1, 2},
    {"stack", FLOE__FN_JOIN, 1, 1, 2},
    {"cumsum", FLOE__FN_AXIS, FLOE__AX_CUMSUM, 1, 2},
    {"cumprod", FLOE__FN_AXIS, FLOE__AX_CUMPROD, 1, 2},
    {"sort", FLOE__FN_AXIS, FLOE__AX_SORT, 1, 2},
    {"median", FLOE__FN_AXIS, FLOE__AX_MEDIAN, 1, 2},
    {"quantile", FLOE__FN_AXIS, FLOE__AX_QUANTILE, 2, 3},
    {"reshape", FLOE__FN_RESHAPE, 0, 2, 2},
    {"ravel", FLOE__FN_RESHAPE, 1, 1, 1},
};

static bool same(const char *name, const char *s, size_t len) {
  return strncmp(name, s, len) == 0 && name[len] == '\0';
}

const floe__fn *floe__expr_fn_find(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    if (same(fns[i].name, name, len)) {
      return &fns[i];
    }
  }
  return NULL;
}

floe_dtype floe__expr_dtype_find(const char *name, size_t len) {
  static const char *const names[] = {
#define DTYPE_NAME(NAME, name, ctype, bytes) #name,
      FLOE_DTYPE_MAP(DTYPE_NAME)
#undef DTYPE_NAME
  };
  for (int i = 0; i < FLOE_DTYPE_COUNT_; i++) {
    if (same(names[i], name, len)) {
      return (floe_dtype)i;
    }
  }
  /* Python's types as NumPy reads them */
  if (same("float", name, len)) {
    return FLOE_FLOAT64;
  }
  if (same("int", name, len)) {
    return FLOE_INT64;
  }
  return FLOE_DTYPE_COUNT_;
}
