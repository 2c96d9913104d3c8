/* dtypes: names, sizes and NumPy 2 (NEP 50) promotion. */
#include <string.h>

#include "dtype-internal.h"
#include "error-internal.h"

static const struct {
  const char *name;
  size_t size;
} dtype_info[FLOE_DTYPE_COUNT_] = {
#define DTYPE_ROW(NAME, name, ctype, bytes) [FLOE_##NAME] = {#name, bytes},
    FLOE_DTYPE_MAP(DTYPE_ROW)
#undef DTYPE_ROW
};

const char *floe_dtype_name(floe_dtype t) {
  return floe__dtype_valid(t) ? dtype_info[t].name : NULL;
}

size_t floe_dtype_size(floe_dtype t) { return floe__dtype_valid(t) ? dtype_info[t].size : 0; }

/* NumPy's table restricted to floe's dtypes: the smallest type that holds
 * both; int32 or int64 with float32 needs float64. */
floe_dtype floe_result_type(floe_dtype a, floe_dtype b) {
  if (!floe__dtype_valid(a) || !floe__dtype_valid(b)) {
    return FLOE_DTYPE_COUNT_;
  }
  if (a == b) {
    return a;
  }
  if (a > b) {
    floe_dtype t = a;
    a = b;
    b = t;
  }
  /* a < b in the order bool, uint8, int32, int64, float32, float64 */
  if (b == FLOE_FLOAT32 && (a == FLOE_INT32 || a == FLOE_INT64)) {
    return FLOE_FLOAT64;
  }
  return b;
}

static bool int_fits(floe_dtype t, int64_t v) {
  switch (t) {
  case FLOE_UINT8:
    return v >= 0 && v <= 255;
  case FLOE_INT32:
    return v >= INT32_MIN && v <= INT32_MAX;
  default:
    return true;
  }
}

floe_status floe__promote(floe_dtype a, floe__weak wa, int64_t va, floe_dtype b, floe__weak wb,
                          int64_t vb, floe_dtype *out, floe__weak *wout) {
  if (wa != FLOE__STRONG && wb != FLOE__STRONG) {
    /* two Python scalars: a float wins, and the result stays weak */
    bool fl = wa == FLOE__WEAK_FLOAT || wb == FLOE__WEAK_FLOAT;
    *out = fl ? FLOE_FLOAT64 : FLOE_INT64;
    *wout = fl ? FLOE__WEAK_FLOAT : FLOE__WEAK_INT;
    return FLOE_OK;
  }
  *wout = FLOE__STRONG;
  if (wa == FLOE__STRONG && wb == FLOE__STRONG) {
    *out = floe_result_type(a, b);
    return FLOE_OK;
  }
  /* one weak operand: make it `b` */
  if (wa != FLOE__STRONG) {
    floe_dtype t = a;
    a = b;
    b = t;
    floe__weak w = wa;
    wa = wb;
    wb = w;
    int64_t v = va;
    va = vb;
    vb = v;
  }
  if (wb == FLOE__WEAK_FLOAT) {
    *out = floe__dtype_is_float(a) ? a : FLOE_FLOAT64;
    return FLOE_OK;
  }
  /* weak int */
  if (a == FLOE_BOOL) {
    *out = FLOE_INT64;
    return FLOE_OK;
  }
  if (floe__dtype_is_int(a) && !int_fits(a, vb)) {
    return floe__fail(FLOE_ERR_DTYPE, "integer %lld is out of bounds for %s", (long long)vb,
                      floe_dtype_name(a));
  }
  *out = a;
  return FLOE_OK;
}

double floe__load_double(const void *p, floe_dtype t, int64_t i) {
  switch (t) {
  case FLOE_BOOL:
    return ((const _Bool *)p)[i];
  case FLOE_UINT8:
    return ((const uint8_t *)p)[i];
  case FLOE_INT32:
    return ((const int32_t *)p)[i];
  case FLOE_INT64:
    return (double)((const int64_t *)p)[i];
  case FLOE_FLOAT32:
    return ((const float *)p)[i];
  case FLOE_FLOAT64:
    return ((const double *)p)[i];
  default:
    return 0;
  }
}
