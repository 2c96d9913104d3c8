/* The naive reference of the array tests (see array_ref.h).  Nothing here
 * calls the library: the rules are typed in again from its documentation,
 * and the arithmetic is plain C, libm and long double loops. */
#include "array_ref.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B FLOE_BOOL
#define U8 FLOE_UINT8
#define I32 FLOE_INT32
#define I64 FLOE_INT64
#define F32 FLOE_FLOAT32
#define F64 FLOE_FLOAT64

/* ------------------------------------------------------------ dtype rules */

const char *ref_dtype_name(floe_dtype dt) {
  static const char *const names[] = {"bool", "uint8", "int32", "int64", "float32", "float64"};
  return (unsigned)dt < 6 ? names[dt] : "invalid";
}

size_t ref_dtype_size(floe_dtype dt) {
  static const size_t sizes[] = {1, 1, 4, 8, 4, 8};
  return (unsigned)dt < 6 ? sizes[dt] : 0;
}

bool ref_is_float(floe_dtype dt) {
  return dt == F32 || dt == F64;
}

bool ref_is_int(floe_dtype dt) {
  return dt == U8 || dt == I32 || dt == I64;
}

floe_dtype ref_result_type(floe_dtype a, floe_dtype b) {
  /* numpy.result_type over bool, uint8, int32, int64, float32, float64 */
  static const floe_dtype table[6][6] = {
      {B, U8, I32, I64, F32, F64},    {U8, U8, I32, I64, F32, F64},
      {I32, I32, I32, I64, F64, F64}, {I64, I64, I64, I64, F64, F64},
      {F32, F32, F64, F64, F32, F64}, {F64, F64, F64, F64, F64, F64},
  };
  if ((unsigned)a >= 6 || (unsigned)b >= 6) {
    return REF_NONE;
  }
  return table[a][b];
}

static bool int_fits(floe_dtype dt, int64_t v) {
  switch (dt) {
  case U8:
    return v >= 0 && v <= 255;
  case I32:
    return v >= INT32_MIN && v <= INT32_MAX;
  default:
    return true;
  }
}

floe_status ref_promote(floe_dtype a, int wa, int64_t va, floe_dtype b, int wb, int64_t vb,
                        floe_dtype *out, int *wout) {
  *wout = REF_STRONG;
  if (wa != REF_STRONG && wb != REF_STRONG) {
    bool fl = wa == REF_WEAK_FLOAT || wb == REF_WEAK_FLOAT;
    *out = fl ? F64 : I64;
    *wout = fl ? REF_WEAK_FLOAT : REF_WEAK_INT;
    return FLOE_OK;
  }
  if (wa == REF_STRONG && wb == REF_STRONG) {
    *out = ref_result_type(a, b);
    return FLOE_OK;
  }
  floe_dtype strong = wa == REF_STRONG ? a : b;
  int weak = wa == REF_STRONG ? wb : wa;
  int64_t v = wa == REF_STRONG ? vb : va;
  if (weak == REF_WEAK_FLOAT) {
    *out = ref_is_float(strong) ? strong : F64;
    return FLOE_OK;
  }
  if (strong == B) {
    *out = I64;
    return FLOE_OK;
  }
  if (ref_is_int(strong) && !int_fits(strong, v)) {
    return FLOE_ERR_DTYPE;
  }
  *out = strong;
  return FLOE_OK;
}

/* math functions: bool/uint8 in float32, int32/int64 in float64 */
static floe_dtype math_dtype(floe_dtype in) {
  return in == B || in == U8 ? F32 : in == I32 || in == I64 ? F64 : in;
}

floe_dtype ref_unary_compute(floe_unary_op op, floe_dtype in) {
  if ((unsigned)in >= 6) {
    return REF_NONE;
  }
  switch (op) {
  case FLOE_NEGATIVE:
  case FLOE_SIGN:
    return in == B ? REF_NONE : in;
  case FLOE_ABS:
  case FLOE_ISNAN:
  case FLOE_ISINF:
  case FLOE_ISFINITE:
    return in;
  case FLOE_SQUARE:
  case FLOE_RECIPROCAL:
    return in == B ? U8 : in;
  case FLOE_LOGICAL_NOT:
    return B;
  default:
    return (unsigned)op < FLOE_UNARY_COUNT_ ? math_dtype(in) : REF_NONE;
  }
}

floe_dtype ref_unary_result(floe_unary_op op, floe_dtype in) {
  floe_dtype c = ref_unary_compute(op, in);
  if (c == REF_NONE) {
    return REF_NONE;
  }
  bool to_bool =
      op == FLOE_ISNAN || op == FLOE_ISINF || op == FLOE_ISFINITE || op == FLOE_LOGICAL_NOT;
  return to_bool ? B : c;
}

static bool is_comparison(floe_binary_op op) {
  return op == FLOE_EQUAL || op == FLOE_NOT_EQUAL || op == FLOE_LESS || op == FLOE_LESS_EQUAL ||
         op == FLOE_GREATER || op == FLOE_GREATER_EQUAL;
}

static bool is_logical(floe_binary_op op) {
  return op == FLOE_LOGICAL_AND || op == FLOE_LOGICAL_OR || op == FLOE_LOGICAL_XOR;
}

floe_dtype ref_binary_compute(floe_binary_op op, floe_dtype p) {
  if ((unsigned)p >= 6 || (unsigned)op >= FLOE_BINARY_COUNT_) {
    return REF_NONE;
  }
  switch (op) {
  case FLOE_DIVIDE:
    return ref_is_float(p) ? p : F64;
  case FLOE_ARCTAN2:
  case FLOE_HYPOT:
    return math_dtype(p);
  case FLOE_SUBTRACT:
    return p == B ? REF_NONE : p;
  case FLOE_FLOOR_DIVIDE:
  case FLOE_MOD:
  case FLOE_POWER:
    return p == B ? U8 : p;
  default:
    return is_logical(op) ? B : p;
  }
}

floe_dtype ref_binary_result(floe_binary_op op, floe_dtype p) {
  floe_dtype c = ref_binary_compute(op, p);
  if (c == REF_NONE) {
    return REF_NONE;
  }
  return is_comparison(op) || is_logical(op) ? B : c;
}

floe_dtype ref_reduce_result(floe_reduce_op op, floe_dtype in) {
  switch (op) {
  case FLOE_SUM:
  case FLOE_PROD:
  case FLOE_NANSUM:
    return ref_is_float(in) ? in : I64;
  case FLOE_MEAN:
  case FLOE_VAR:
  case FLOE_STD:
  case FLOE_NANMEAN:
    return ref_is_float(in) ? in : F64;
  case FLOE_ARGMIN:
  case FLOE_ARGMAX:
    return I64;
  case FLOE_ANY_TRUE:
  case FLOE_ALL_TRUE:
    return B;
  default:
    return in;
  }
}

bool ref_unary_is_math(floe_unary_op op) {
  switch (op) {
  case FLOE_EXP:
  case FLOE_EXPM1:
  case FLOE_LOG:
  case FLOE_LOG1P:
  case FLOE_LOG2:
  case FLOE_LOG10:
  case FLOE_SIN:
  case FLOE_COS:
  case FLOE_TAN:
  case FLOE_ARCSIN:
  case FLOE_ARCCOS:
  case FLOE_ARCTAN:
  case FLOE_SINH:
  case FLOE_COSH:
  case FLOE_TANH:
    return true;
  default:
    return false;
  }
}

bool ref_binary_is_math(floe_binary_op op) {
  return op == FLOE_POWER || op == FLOE_ARCTAN2 || op == FLOE_HYPOT;
}

const char *ref_unary_name(floe_unary_op op) {
  static const char *const names[] = {
#define N(NAME, name) #name,
      FLOE_UNARY_MAP(N)
#undef N
  };
  return (unsigned)op < FLOE_UNARY_COUNT_ ? names[op] : "?";
}

const char *ref_binary_name(floe_binary_op op) {
  static const char *const names[] = {
#define N(NAME, name) #name,
      FLOE_BINARY_MAP(N)
#undef N
  };
  return (unsigned)op < FLOE_BINARY_COUNT_ ? names[op] : "?";
}

const char *ref_reduce_name(floe_reduce_op op) {
  static const char *const names[] = {
#define N(NAME, name) #name,
      FLOE_REDUCE_MAP(N)
#undef N
  };
  return (unsigned)op < FLOE_REDUCE_COUNT_ ? names[op] : "?";
}

/* ------------------------------------------------------ element semantics */

static rv mk_int(int64_t i) {
  rv r = {i, (double)i};
  return r;
}

static rv mk_float(double d) {
  rv r = {0, d};
  return r;
}

static rv mk(floe_dtype dt, int64_t i, double d) {
  return ref_is_float(dt) ? mk_float(d) : mk_int(i);
}

rv ref_load(const void *buf, floe_dtype dt, int64_t i) {
  switch (dt) {
  case B:
    return mk_int(((const unsigned char *)buf)[i] != 0);
  case U8:
    return mk_int(((const uint8_t *)buf)[i]);
  case I32:
    return mk_int(((const int32_t *)buf)[i]);
  case I64:
    return mk_int(((const int64_t *)buf)[i]);
  case F32:
    return mk_float(((const float *)buf)[i]);
  default:
    return mk_float(((const double *)buf)[i]);
  }
}

void ref_store(void *buf, floe_dtype dt, int64_t i, rv x) {
  switch (dt) {
  case B:
    ((unsigned char *)buf)[i] = x.i != 0;
    break;
  case U8:
    ((uint8_t *)buf)[i] = (uint8_t)x.i;
    break;
  case I32:
    ((int32_t *)buf)[i] = (int32_t)x.i;
    break;
  case I64:
    ((int64_t *)buf)[i] = x.i;
    break;
  case F32:
    ((float *)buf)[i] = (float)x.d;
    break;
  default:
    ((double *)buf)[i] = x.d;
    break;
  }
}

double ref_as_double(rv x, floe_dtype dt) {
  return ref_is_float(dt) ? x.d : (double)x.i;
}

/* Two's complement wrap of the low bits into dtype dt. */
static int64_t wrap(uint64_t u, floe_dtype dt) {
  switch (dt) {
  case B:
    return u != 0;
  case U8:
    return (int64_t)(uint8_t)u;
  case I32:
    return (int64_t)(int32_t)(uint32_t)u;
  default:
    return (int64_t)u;
  }
}

rv ref_convert(rv x, floe_dtype from, floe_dtype to, bool *undefined) {
  if (from == to) {
    return x;
  }
  bool ff = ref_is_float(from);
  switch (to) {
  case B:
    return mk_int(ff ? x.d != 0 : x.i != 0);
  case U8:
  case I32:
  case I64: {
    if (!ff) {
      return mk_int(wrap((uint64_t)x.i, to));
    }
    double lo = to == U8 ? -1.0 : to == I32 ? -2147483649.0 : -0x1p63;
    double hi = to == U8 ? 256.0 : to == I32 ? 2147483648.0 : 0x1p63;
    bool ok = to == I64 ? (x.d >= lo && x.d < hi) : (x.d > lo && x.d < hi);
    if (!ok) {
      *undefined = true;
      return mk_int(0);
    }
    return mk_int((int64_t)trunc(x.d));
  }
  case F32:
    return mk_float(ff ? (double)(float)x.d : (double)(float)x.i);
  default:
    return mk_float(ff ? x.d : (double)x.i);
  }
}

double ref_ulp(double v, floe_dtype dt) {
  if (!isfinite(v)) {
    return 0;
  }
  int e;
  double a = fabs(v);
  if (dt == F32) {
    if (a < 0x1p-110) {
      a = 0x1p-110;
    }
    frexp(a, &e);
    return ldexp(1.0, e - 24);
  }
  if (a < 0x1p-1000) {
    a = 0x1p-1000;
  }
  frexp(a, &e);
  return ldexp(1.0, e - 53);
}

static double libm1(floe_unary_op op, double x) {
  switch (op) {
  case FLOE_EXP:
    return exp(x);
  case FLOE_EXPM1:
    return expm1(x);
  case FLOE_LOG:
    return log(x);
  case FLOE_LOG1P:
    return log1p(x);
  case FLOE_LOG2:
    return log2(x);
  case FLOE_LOG10:
    return log10(x);
  case FLOE_SIN:
    return sin(x);
  case FLOE_COS:
    return cos(x);
  case FLOE_TAN:
    return tan(x);
  case FLOE_ARCSIN:
    return asin(x);
  case FLOE_ARCCOS:
    return acos(x);
  case FLOE_ARCTAN:
    return atan(x);
  case FLOE_SINH:
    return sinh(x);
  case FLOE_COSH:
    return cosh(x);
  default:
    return tanh(x);
  }
}

static double unary_f64(floe_unary_op op, double v) {
  switch (op) {
  case FLOE_NEGATIVE:
    return -v;
  case FLOE_ABS:
    return fabs(v);
  case FLOE_SIGN:
    return v > 0 ? 1.0 : v < 0 ? -1.0 : v == 0 ? 0.0 : v;
  case FLOE_SQRT:
    return sqrt(v);
  case FLOE_SQUARE:
    return v * v;
  case FLOE_RECIPROCAL:
    return 1.0 / v;
  case FLOE_FLOOR:
    return floor(v);
  case FLOE_CEIL:
    return ceil(v);
  case FLOE_ROUND:
    return nearbyint(v); /* the default rounding: half to even */
  case FLOE_TRUNC:
    return trunc(v);
  default:
    return libm1(op, v);
  }
}

static float unary_f32(floe_unary_op op, float v) {
  switch (op) {
  case FLOE_NEGATIVE:
    return -v;
  case FLOE_ABS:
    return fabsf(v);
  case FLOE_SIGN:
    return v > 0 ? 1.0f : v < 0 ? -1.0f : v == 0 ? 0.0f : v;
  case FLOE_SQRT:
    return sqrtf(v);
  case FLOE_SQUARE:
    return v * v;
  case FLOE_RECIPROCAL:
    return 1.0f / v;
  case FLOE_FLOOR:
    return floorf(v);
  case FLOE_CEIL:
    return ceilf(v);
  case FLOE_ROUND:
    return nearbyintf(v);
  case FLOE_TRUNC:
    return truncf(v);
  default:
    return (float)libm1(op, (double)v); /* libm in double, rounded once */
  }
}

rv ref_unary_elem(floe_unary_op op, floe_dtype c, rv x) {
  if (op == FLOE_ISNAN || op == FLOE_ISINF || op == FLOE_ISFINITE) {
    if (!ref_is_float(c)) {
      return mk_int(op == FLOE_ISFINITE);
    }
    return mk_int(op == FLOE_ISNAN   ? isnan(x.d) != 0
                  : op == FLOE_ISINF ? isinf(x.d) != 0
                                     : isfinite(x.d) != 0);
  }
  if (op == FLOE_LOGICAL_NOT) {
    return mk_int(x.i == 0);
  }
  if (c == F64) {
    return mk_float(unary_f64(op, x.d));
  }
  if (c == F32) {
    return mk_float((double)unary_f32(op, (float)x.d));
  }
  int64_t i = x.i;
  uint64_t u = (uint64_t)i;
  switch (op) {
  case FLOE_NEGATIVE:
    return mk_int(wrap(0 - u, c));
  case FLOE_ABS:
    return mk_int(i < 0 ? wrap(0 - u, c) : i);
  case FLOE_SIGN:
    return mk_int((i > 0) - (i < 0));
  case FLOE_SQUARE:
    return mk_int(wrap(u * u, c));
  case FLOE_RECIPROCAL:
    /* 1/x truncated: 0 except for 1 and -1 (and 0 for x == 0) */
    return mk_int(i == 1 || i == -1 ? i : 0);
  default:
    return mk_int(0); /* no kernel: the dtype rules never get here */
  }
}

static uint64_t upow(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  for (uint64_t k = 0; k < e && k < 200; k++) {
    r *= base;
  }
  if (e >= 200) { /* by squaring, for big exponents */
    r = 1;
    while (e) {
      if (e & 1) {
        r *= base;
      }
      base *= base;
      e >>= 1;
    }
  }
  return r;
}

static int cmp_result(floe_binary_op op, double a, double b) {
  switch (op) {
  case FLOE_EQUAL:
    return a == b;
  case FLOE_NOT_EQUAL:
    return a != b;
  case FLOE_LESS:
    return a < b;
  case FLOE_LESS_EQUAL:
    return a <= b;
  case FLOE_GREATER:
    return a > b;
  default:
    return a >= b;
  }
}

static int cmp_result_int(floe_binary_op op, int64_t a, int64_t b) {
  switch (op) {
  case FLOE_EQUAL:
    return a == b;
  case FLOE_NOT_EQUAL:
    return a != b;
  case FLOE_LESS:
    return a < b;
  case FLOE_LESS_EQUAL:
    return a <= b;
  case FLOE_GREATER:
    return a > b;
  default:
    return a >= b;
  }
}

/* NumPy 1.24's npy_divmod (npymath), for floor_divide and mod. */
static void divmod_f64(double a, double b, double *fdiv, double *mod) {
  double m = fmod(a, b);
  if (b == 0) {
    *mod = m;
    *fdiv = a / b;
    return;
  }
  double div = (a - m) / b;
  if (m != 0) {
    if ((b < 0) != (m < 0)) {
      m += b;
      div -= 1.0;
    }
  } else {
    m = copysign(0.0, b);
  }
  double fd;
  if (div != 0) {
    fd = floor(div);
    if (div - fd > 0.5) {
      fd += 1.0;
    }
  } else {
    fd = copysign(0.0, a / b);
  }
  *fdiv = fd;
  *mod = m;
}

static void divmod_f32(float a, float b, float *fdiv, float *mod) {
  float m = fmodf(a, b);
  if (b == 0) {
    *mod = m;
    *fdiv = a / b;
    return;
  }
  float div = (a - m) / b;
  if (m != 0) {
    if ((b < 0) != (m < 0)) {
      m += b;
      div -= 1.0f;
    }
  } else {
    m = copysignf(0.0f, b);
  }
  float fd;
  if (div != 0) {
    fd = floorf(div);
    if (div - fd > 0.5f) {
      fd += 1.0f;
    }
  } else {
    fd = copysignf(0.0f, a / b);
  }
  *fdiv = fd;
  *mod = m;
}

static double binary_f64(floe_binary_op op, double a, double b) {
  double fd, m;
  switch (op) {
  case FLOE_ADD:
    return a + b;
  case FLOE_SUBTRACT:
    return a - b;
  case FLOE_MULTIPLY:
    return a * b;
  case FLOE_DIVIDE:
    return a / b;
  case FLOE_FLOOR_DIVIDE:
    divmod_f64(a, b, &fd, &m);
    return fd;
  case FLOE_MOD:
    divmod_f64(a, b, &fd, &m);
    return m;
  case FLOE_POWER:
    return pow(a, b);
  case FLOE_MINIMUM:
    return (isnan(a) || a < b) ? a : b;
  case FLOE_MAXIMUM:
    return (isnan(a) || a > b) ? a : b;
  case FLOE_ARCTAN2:
    return atan2(a, b);
  case FLOE_HYPOT:
    return hypot(a, b);
  default:
    return 0;
  }
}

static float binary_f32(floe_binary_op op, float a, float b) {
  float fd, m;
  switch (op) {
  case FLOE_ADD:
    return a + b;
  case FLOE_SUBTRACT:
    return a - b;
  case FLOE_MULTIPLY:
    return a * b;
  case FLOE_DIVIDE:
    return a / b;
  case FLOE_FLOOR_DIVIDE:
    divmod_f32(a, b, &fd, &m);
    return fd;
  case FLOE_MOD:
    divmod_f32(a, b, &fd, &m);
    return m;
  case FLOE_POWER:
    return (float)pow((double)a, (double)b);
  case FLOE_MINIMUM:
    return (isnan(a) || a < b) ? a : b;
  case FLOE_MAXIMUM:
    return (isnan(a) || a > b) ? a : b;
  case FLOE_ARCTAN2:
    return (float)atan2((double)a, (double)b);
  case FLOE_HYPOT:
    return (float)hypot((double)a, (double)b);
  default:
    return 0;
  }
}

static int64_t int_min_of(floe_dtype c) {
  return c == I32 ? INT32_MIN : INT64_MIN;
}

rv ref_binary_elem(floe_binary_op op, floe_dtype c, rv x, rv y) {
  if (is_logical(op)) {
    bool a = x.i != 0, b = y.i != 0;
    return mk_int(op == FLOE_LOGICAL_AND ? (a && b) : op == FLOE_LOGICAL_OR ? (a || b) : a != b);
  }
  if (ref_is_float(c)) {
    if (is_comparison(op)) {
      return mk_int(cmp_result(op, x.d, y.d));
    }
    if (c == F64) {
      return mk_float(binary_f64(op, x.d, y.d));
    }
    return mk_float((double)binary_f32(op, (float)x.d, (float)y.d));
  }
  int64_t a = x.i, b = y.i;
  if (is_comparison(op)) {
    return mk_int(cmp_result_int(op, a, b));
  }
  if (c == B) {
    switch (op) {
    case FLOE_ADD:
    case FLOE_MAXIMUM:
      return mk_int(a || b);
    default: /* multiply, minimum */
      return mk_int(a && b);
    }
  }
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case FLOE_ADD:
    return mk_int(wrap(ua + ub, c));
  case FLOE_SUBTRACT:
    return mk_int(wrap(ua - ub, c));
  case FLOE_MULTIPLY:
    return mk_int(wrap(ua * ub, c));
  case FLOE_MINIMUM:
    return mk_int(a < b ? a : b);
  case FLOE_MAXIMUM:
    return mk_int(a > b ? a : b);
  case FLOE_FLOOR_DIVIDE:
    if (b == 0) {
      return mk_int(0);
    }
    if (c == U8) {
      return mk_int(a / b);
    }
    if (b == -1) {
      return mk_int(a == int_min_of(c) ? a : -a); /* MIN // -1 wraps to MIN */
    }
    {
      int64_t q = a / b, r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) {
        q--;
      }
      return mk_int(q);
    }
  case FLOE_MOD:
    if (b == 0) {
      return mk_int(0);
    }
    if (c == U8) {
      return mk_int(a % b);
    }
    if (b == -1) {
      return mk_int(0);
    }
    {
      int64_t r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) {
        r += b;
      }
      return mk_int(r);
    }
  case FLOE_POWER:
    if (c != U8 && b < 0) {
      return mk_int(a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0);
    }
    return mk_int(wrap(upow(ua, ub), c));
  default:
    return mk_int(0);
  }
}

/* ---------------------------------------------------------------- arrays */

ref_arr *ref_new(floe_dtype dt, int ndim, const int64_t *shape) {
  ref_arr *a = calloc(1, sizeof *a);
  a->dt = dt;
  a->ndim = ndim;
  a->n = 1;
  for (int d = 0; d < ndim; d++) {
    a->shape[d] = shape[d];
    a->n *= shape[d];
  }
  size_t n = (size_t)(a->n > 0 ? a->n : 1);
  a->x = calloc(n, sizeof *a->x);
  a->err = calloc(n, sizeof *a->err);
  a->unk = calloc(n, 1);
  return a;
}

void ref_free(ref_arr *a) {
  if (a != NULL) {
    free(a->x);
    free(a->err);
    free(a->unk);
    free(a);
  }
}

floe_shape ref_shape(const ref_arr *a) {
  floe_shape s = {a->ndim, {0}};
  for (int d = 0; d < a->ndim; d++) {
    s.dim[d] = a->shape[d];
  }
  return s;
}

ref_arr *ref_from_buffer(floe_dtype dt, floe_shape shape, const void *data) {
  ref_arr *a = ref_new(dt, shape.ndim, shape.dim);
  for (int64_t i = 0; i < a->n; i++) {
    a->x[i] = ref_load(data, dt, i);
  }
  return a;
}

ref_arr *ref_full(floe_dtype dt, floe_shape shape, rv value) {
  ref_arr *a = ref_new(dt, shape.ndim, shape.dim);
  for (int64_t i = 0; i < a->n; i++) {
    a->x[i] = value;
  }
  return a;
}

ref_arr *ref_scalar_float(double v) {
  ref_arr *a = ref_new(F64, 0, NULL);
  a->x[0] = mk_float(v);
  a->weak = REF_WEAK_FLOAT;
  return a;
}

ref_arr *ref_scalar_int(int64_t v) {
  ref_arr *a = ref_new(I64, 0, NULL);
  a->x[0] = mk_int(v);
  a->weak = REF_WEAK_INT;
  a->weak_iv = v;
  return a;
}

/* NumPy broadcasting of n arrays; FLOE_ERR_SHAPE when they do not. */
static floe_status broadcast_shape(const ref_arr *const *in, int n, int *ndim, int64_t *shape) {
  int nd = 0;
  for (int k = 0; k < n; k++) {
    nd = in[k]->ndim > nd ? in[k]->ndim : nd;
  }
  for (int d = 0; d < nd; d++) {
    int64_t len = 1;
    for (int k = 0; k < n; k++) {
      int j = d - (nd - in[k]->ndim);
      if (j < 0 || in[k]->shape[j] == 1) {
        continue;
      }
      if (len != 1 && in[k]->shape[j] != len) {
        return FLOE_ERR_SHAPE;
      }
      len = in[k]->shape[j];
    }
    shape[d] = len;
  }
  *ndim = nd;
  return FLOE_OK;
}

/* Flat index into `a` of the element at coordinates `coord` of a broadcast
 * result of nd axes. */
static int64_t bindex(const ref_arr *a, int nd, const int64_t *coord) {
  int64_t idx = 0;
  for (int j = 0; j < a->ndim; j++) {
    int d = j + (nd - a->ndim);
    idx = idx * a->shape[j] + (a->shape[j] == 1 ? 0 : coord[d]);
  }
  return idx;
}

enum { K_UNARY, K_BINARY, K_WHERE, K_CAST };

typedef struct opdesc {
  int kind, op, nin;
  floe_dtype in_dt[3];
  floe_dtype compute, out;
  bool math; /* a transcendental: REF_MATH_ULPS more */
  bool disc; /* piecewise constant or jumping: any change under the error is unknown */
} opdesc;

static rv eval(const opdesc *o, const rv *x, bool *undef) {
  rv c[3];
  for (int k = 0; k < o->nin; k++) {
    floe_dtype to = o->kind == K_WHERE ? (k == 0 ? B : o->out) : o->compute;
    c[k] = ref_convert(x[k], o->in_dt[k], to, undef);
  }
  switch (o->kind) {
  case K_UNARY:
    return ref_unary_elem((floe_unary_op)o->op, o->compute, c[0]);
  case K_BINARY:
    return ref_binary_elem((floe_binary_op)o->op, o->compute, c[0], c[1]);
  case K_WHERE:
    return c[0].i ? c[1] : c[2];
  default:
    return c[0];
  }
}

static double max_finite(floe_dtype dt) {
  return dt == F32 ? FLT_MAX : DBL_MAX;
}

static void apply_elem(const opdesc *o, const ref_arr *const *in, const int64_t *idx, ref_arr *out,
                       int64_t j) {
  rv x[3];
  double e[3];
  bool unknown = false, inexact = false;
  for (int k = 0; k < o->nin; k++) {
    x[k] = in[k]->x[idx[k]];
    e[k] = in[k]->err[idx[k]];
    unknown = unknown || in[k]->unk[idx[k]];
    inexact = inexact || e[k] != 0;
    if (!(e[k] >= 0) || isinf(e[k])) {
      unknown = true;
    }
  }
  bool undef = false;
  rv r = eval(o, x, &undef);
  out->x[j] = r;
  if (unknown || undef) {
    out->unk[j] = 1;
    return;
  }
  const bool fl = ref_is_float(o->out);
  if (o->kind == K_WHERE && e[0] != 0 && !(fabs(x[0].d) > e[0])) {
    out->unk[j] = 1; /* the condition could flip */
    return;
  }
  double err = 0;
  if (inexact) {
    int which[3], nw = 0;
    for (int k = 0; k < o->nin; k++) {
      if (e[k] != 0) {
        which[nw++] = k;
      }
    }
    double maxdiff = 0;
    for (int m = 0; m < (1 << nw); m++) {
      rv xc[3] = {x[0], x[1], x[2]};
      for (int w = 0; w < nw; w++) {
        int k = which[w];
        xc[k].d = x[k].d + ((m >> w) & 1 ? e[k] : -e[k]);
      }
      bool u2 = false;
      rv rc = eval(o, xc, &u2);
      if (u2) {
        out->unk[j] = 1;
        return;
      }
      if (!fl) {
        if (rc.i != r.i) {
          out->unk[j] = 1;
          return;
        }
        continue;
      }
      double a = rc.d, b = r.d;
      if (isnan(a) != isnan(b)) {
        out->unk[j] = 1;
        return;
      }
      if (isnan(a)) {
        continue;
      }
      if (isinf(a) || isinf(b)) {
        if (a != b) {
          out->unk[j] = 1;
          return;
        }
        continue;
      }
      if (o->disc && a != b) {
        out->unk[j] = 1;
        return;
      }
      maxdiff = fmax(maxdiff, fabs(a - b));
    }
    if (maxdiff > 0) {
      err = maxdiff * 1.5 + 2 * ref_ulp(r.d, o->out);
    }
  }
  if (fl && o->math) {
    if (isfinite(r.d) && fabs(r.d) > 0.01 * max_finite(o->out)) {
      out->unk[j] = 1; /* near overflow: libm and SLEEF may round to inf differently */
      return;
    }
    err += REF_MATH_ULPS * ref_ulp(r.d, o->out);
  }
  out->err[j] = err;
}

static ref_arr *apply(const opdesc *o, const ref_arr *const *in, int weak) {
  int nd;
  int64_t shape[FLOE_MAX_DIMS];
  if (broadcast_shape(in, o->nin, &nd, shape) != FLOE_OK) {
    return NULL;
  }
  ref_arr *out = ref_new(o->out, nd, shape);
  out->weak = weak;
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t j = 0; j < out->n; j++) {
    int64_t idx[3] = {0, 0, 0};
    for (int k = 0; k < o->nin; k++) {
      idx[k] = bindex(in[k], nd, coord);
    }
    apply_elem(o, in, idx, out, j);
    for (int d = nd - 1; d >= 0; d--) {
      if (++coord[d] < shape[d]) {
        break;
      }
      coord[d] = 0;
    }
  }
  return out;
}

ref_arr *ref_unary(floe_unary_op op, const ref_arr *a, floe_status *st) {
  floe_dtype c = ref_unary_compute(op, a->dt);
  if ((unsigned)op >= FLOE_UNARY_COUNT_) {
    *st = FLOE_ERR_INVALID;
    return NULL;
  }
  if (c == REF_NONE) {
    *st = FLOE_ERR_DTYPE;
    return NULL;
  }
  opdesc o = {.kind = K_UNARY, .op = op, .nin = 1, .in_dt = {a->dt}, .compute = c};
  o.out = ref_unary_result(op, a->dt);
  o.math = ref_unary_is_math(op);
  o.disc = op == FLOE_FLOOR || op == FLOE_CEIL || op == FLOE_ROUND || op == FLOE_TRUNC ||
           op == FLOE_SIGN;
  const ref_arr *in[1] = {a};
  *st = FLOE_OK;
  /* like Python's -x, negation keeps a scalar weak (and its value) */
  bool keep = op == FLOE_NEGATIVE && a->weak != REF_STRONG;
  ref_arr *r = apply(&o, in, keep ? a->weak : REF_STRONG);
  if (keep) {
    r->weak_iv = (int64_t)(0 - (uint64_t)a->weak_iv);
  }
  return r;
}

ref_arr *ref_binary(floe_binary_op op, const ref_arr *a, const ref_arr *b, floe_status *st) {
  if ((unsigned)op >= FLOE_BINARY_COUNT_) {
    *st = FLOE_ERR_INVALID;
    return NULL;
  }
  floe_dtype p;
  int weak;
  *st = ref_promote(a->dt, a->weak, a->weak_iv, b->dt, b->weak, b->weak_iv, &p, &weak);
  if (*st != FLOE_OK) {
    return NULL;
  }
  floe_dtype c = ref_binary_compute(op, p);
  if (c == REF_NONE) {
    *st = FLOE_ERR_DTYPE;
    return NULL;
  }
  opdesc o = {.kind = K_BINARY, .op = op, .nin = 2, .in_dt = {a->dt, b->dt}, .compute = c};
  o.out = ref_binary_result(op, p);
  o.math = ref_binary_is_math(op);
  o.disc = op == FLOE_FLOOR_DIVIDE || op == FLOE_MOD;
  const ref_arr *in[2] = {a, b};
  ref_arr *r = apply(&o, in, (weak != REF_STRONG && o.out == p) ? weak : REF_STRONG);
  if (r == NULL) {
    *st = FLOE_ERR_SHAPE;
  }
  return r;
}

ref_arr *ref_where(const ref_arr *c, const ref_arr *a, const ref_arr *b, floe_status *st) {
  floe_dtype p;
  int weak;
  *st = ref_promote(a->dt, a->weak, a->weak_iv, b->dt, b->weak, b->weak_iv, &p, &weak);
  if (*st != FLOE_OK) {
    return NULL;
  }
  opdesc o = {.kind = K_WHERE, .nin = 3, .in_dt = {c->dt, a->dt, b->dt}, .compute = p, .out = p};
  const ref_arr *in[3] = {c, a, b};
  ref_arr *r = apply(&o, in, c->weak != REF_STRONG ? weak : REF_STRONG);
  if (r == NULL) {
    *st = FLOE_ERR_SHAPE;
  }
  return r;
}

ref_arr *ref_astype(const ref_arr *a, floe_dtype dt, floe_status *st) {
  if ((unsigned)dt >= 6) {
    *st = FLOE_ERR_DTYPE;
    return NULL;
  }
  opdesc o = {.kind = K_CAST, .nin = 1, .in_dt = {a->dt}, .compute = dt, .out = dt};
  const ref_arr *in[1] = {a};
  *st = FLOE_OK;
  return apply(&o, in, REF_STRONG);
}

ref_arr *ref_clip(const ref_arr *a, const ref_arr *lo, const ref_arr *hi, floe_status *st) {
  if (lo == NULL && hi == NULL) {
    return ref_astype(a, a->dt, st);
  }
  ref_arr *x = lo != NULL ? ref_binary(FLOE_MAXIMUM, a, lo, st) : NULL;
  if (lo != NULL && x == NULL) {
    return NULL;
  }
  if (hi == NULL) {
    return x;
  }
  ref_arr *y = ref_binary(FLOE_MINIMUM, x != NULL ? x : a, hi, st);
  ref_free(x);
  return y;
}

/* ------------------------------------------------------------ reductions */

int64_t ref_axes_mask(floe_axes axes, int ndim) {
  if (axes.n == -1) {
    return ndim > 0 ? (int64_t)((1u << ndim) - 1) : 0;
  }
  if (axes.n < 0 || axes.n > FLOE_MAX_DIMS) {
    return -1;
  }
  int64_t mask = 0;
  for (int i = 0; i < axes.n; i++) {
    int ax = axes.axis[i];
    if (ax < -ndim || ax >= ndim) {
      return -1;
    }
    ax = ax < 0 ? ax + ndim : ax;
    if (mask & (1 << ax)) {
      return -1;
    }
    mask |= 1 << ax;
  }
  return mask;
}

typedef struct group {
  const rv *x;
  const double *e;
  const unsigned char *u;
  const int64_t *idx; /* input indices, C order */
  int64_t n;
  floe_dtype dt;
} group;

/* One output element of a reduction: value, error bound, unknown. */
static void reduce_group(floe_reduce_op op, const group *g, int ddof, floe_dtype out, rv *res,
                         double *err, unsigned char *unk) {
  *err = 0;
  *unk = 0;
  const bool fl = ref_is_float(g->dt);
  for (int64_t k = 0; k < g->n; k++) {
    if (g->u[g->idx[k]]) {
      *unk = 1;
    }
  }
  if (*unk) {
    *res = mk(out, 0, 0);
    return;
  }
#define X(k) (g->x[g->idx[k]])
#define E(k) (g->e[g->idx[k]])
#define D(k) (fl ? X(k).d : (double)X(k).i)
  switch (op) {
  case FLOE_SUM:
  case FLOE_NANSUM:
  case FLOE_MEAN:
  case FLOE_NANMEAN: {
    bool skip_nan = op == FLOE_NANSUM || op == FLOE_NANMEAN;
    bool mean = op == FLOE_MEAN || op == FLOE_NANMEAN;
    if (!fl && !mean) {
      uint64_t s = 0;
      for (int64_t k = 0; k < g->n; k++) {
        s += (uint64_t)X(k).i;
      }
      *res = mk_int((int64_t)s);
      return;
    }
    long double s = 0, sabs = 0;
    double esum = 0;
    int64_t cnt = 0;
    bool nonfinite = false;
    for (int64_t k = 0; k < g->n; k++) {
      double v = D(k);
      if (skip_nan && isnan(v)) {
        continue;
      }
      nonfinite = nonfinite || !isfinite(v);
      s += v;
      sabs += fabsl((long double)v);
      esum += E(k);
      cnt++;
    }
    long double val = mean ? (cnt > 0 ? s / cnt : (long double)NAN) : s;
    double r = out == F32 ? (double)(float)val : (double)val;
    *res = mk_float(r);
    if (nonfinite || !isfinite(r)) {
      if (esum != 0 && !nonfinite) {
        *unk = 1;
      }
      return; /* inf and NaN come out exactly whatever the order */
    }
    if (fabs(r) > 0.01 * max_finite(out) || sabs > 0.01L * DBL_MAX) {
      *unk = 1;
      return;
    }
    double tol = esum * 1.01 + 64 * DBL_EPSILON * (double)sabs;
    if (mean && cnt > 0) {
      tol /= (double)cnt;
    }
    *err = tol > 0 || out == F32 ? tol + ref_ulp(r, out) : 0;
    return;
  }
  case FLOE_PROD: {
    if (!fl) {
      uint64_t p = 1;
      for (int64_t k = 0; k < g->n; k++) {
        p *= (uint64_t)X(k).i;
      }
      *res = mk_int((int64_t)p);
      return;
    }
    long double p = 1;
    double rel = 0;
    bool nonfinite = false, inexact = false;
    for (int64_t k = 0; k < g->n; k++) {
      double v = D(k);
      nonfinite = nonfinite || !isfinite(v);
      p *= v;
      if (fabsl(p) > 1e280L || (p != 0 && fabsl(p) < 1e-280L)) {
        *unk = 1; /* partial products could overflow in another order */
      }
      if (E(k) != 0) {
        inexact = true;
        if (v == 0) {
          *unk = 1;
        } else {
          rel += E(k) / fabs(v);
        }
      }
    }
    double r = out == F32 ? (double)(float)p : (double)p;
    *res = mk_float(r);
    if (nonfinite) {
      *unk = *unk || inexact;
      return;
    }
    *err = fabs(r) * (rel * 1.01 + 4.0 * (double)g->n * DBL_EPSILON) + ref_ulp(r, out);
    return;
  }
  case FLOE_MIN:
  case FLOE_MAX:
  case FLOE_NANMIN:
  case FLOE_NANMAX: {
    bool is_min = op == FLOE_MIN || op == FLOE_NANMIN;
    bool skip_nan = op == FLOE_NANMIN || op == FLOE_NANMAX;
    if (!fl) {
      int64_t best = X(0).i;
      for (int64_t k = 1; k < g->n; k++) {
        int64_t v = X(k).i;
        best = is_min ? (v < best ? v : best) : (v > best ? v : best);
      }
      *res = mk_int(best);
      return;
    }
    double best = NAN, emax = 0;
    bool any = false, nan = false;
    for (int64_t k = 0; k < g->n; k++) {
      double v = X(k).d;
      emax = fmax(emax, E(k));
      if (isnan(v)) {
        nan = true;
        continue;
      }
      if (!any || (is_min ? v < best : v > best)) {
        best = v;
      }
      any = true;
    }
    *res = mk_float((nan && !skip_nan) || !any ? NAN : best);
    *err = emax > 0 && isfinite(res->d) ? emax : 0;
    return;
  }
  case FLOE_ARGMIN:
  case FLOE_ARGMAX: {
    bool is_min = op == FLOE_ARGMIN;
    int64_t bi = 0;
    if (!fl) {
      for (int64_t k = 1; k < g->n; k++) {
        if (is_min ? X(k).i < X(bi).i : X(k).i > X(bi).i) {
          bi = k;
        }
      }
      *res = mk_int(bi);
      return;
    }
    for (int64_t k = 0; k < g->n; k++) {
      if (isnan(X(k).d)) {
        *res = mk_int(k); /* the first NaN wins */
        return;
      }
    }
    for (int64_t k = 1; k < g->n; k++) {
      if (is_min ? X(k).d < X(bi).d : X(k).d > X(bi).d) {
        bi = k;
      }
    }
    *res = mk_int(bi);
    /* another element within the errors could win instead */
    for (int64_t k = 0; k < g->n; k++) {
      if (k == bi || (E(k) == 0 && E(bi) == 0)) {
        continue;
      }
      double gap = is_min ? X(k).d - X(bi).d : X(bi).d - X(k).d;
      if (gap <= E(k) + E(bi)) {
        *unk = 1;
      }
    }
    return;
  }
  case FLOE_ANY_TRUE:
  case FLOE_ALL_TRUE: {
    bool any = false, all = true;
    for (int64_t k = 0; k < g->n; k++) {
      bool t = fl ? X(k).d != 0 : X(k).i != 0;
      if (fl && E(k) != 0 && !(fabs(X(k).d) > E(k))) {
        *unk = 1;
      }
      any = any || t;
      all = all && t;
    }
    *res = mk_int(op == FLOE_ANY_TRUE ? any : all);
    return;
  }
  default: { /* var, std */
    if (g->n == 0) {
      *res = mk_float(NAN);
      return;
    }
    bool nonfinite = false, huge = false;
    long double s = 0;
    double esum = 0, emax = 0;
    for (int64_t k = 0; k < g->n; k++) {
      double v = D(k);
      nonfinite = nonfinite || !isfinite(v);
      huge = huge || (isfinite(v) && fabs(v) > 1e150);
      s += v;
      esum += E(k);
      emax = fmax(emax, E(k));
    }
    if (nonfinite || huge) {
      *res = mk_float(NAN); /* inf and NaN give NaN; huge values may overflow: skip */
      *unk = !nonfinite;
      return;
    }
    long double m = s / g->n, m2 = 0, sdev = 0;
    for (int64_t k = 0; k < g->n; k++) {
      long double dv = (long double)D(k) - m;
      m2 += dv * dv;
      sdev += fabsl(dv) * E(k);
    }
    double dof = (double)g->n - ddof;
    if (dof <= 0) {
      double v = m2 == 0 ? NAN : INFINITY; /* NumPy: M2 / max(n - ddof, 0) */
      *res = mk_float(op == FLOE_STD ? sqrt(v) : v);
      *unk = esum != 0;
      return;
    }
    double var = (double)(m2 / dof);
    double tol = 1e-12 * (var + (double)(m * m)) +
                 (2.0 * (double)sdev + (double)g->n * emax * emax) / dof * 1.01;
    double r;
    if (op == FLOE_VAR) {
      r = out == F32 ? (double)(float)var : var;
    } else {
      double sd = sqrt(var);
      r = out == F32 ? (double)(float)sd : sd;
      tol = fmax(sqrt(var + tol) - sd, sd - sqrt(fmax(var - tol, 0.0)));
    }
    *res = mk_float(r);
    *err = tol + ref_ulp(r, out);
    return;
  }
  }
#undef X
#undef E
#undef D
}

ref_arr *ref_reduce(floe_reduce_op op, const ref_arr *a, uint32_t mask, bool keepdims, int ddof,
                    floe_status *st) {
  *st = FLOE_OK;
  if ((unsigned)op >= FLOE_REDUCE_COUNT_) {
    *st = FLOE_ERR_INVALID;
    return NULL;
  }
  int nred = __builtin_popcount(mask);
  bool arg = op == FLOE_ARGMIN || op == FLOE_ARGMAX;
  /* argmin/argmax: FLOE_ALL or one axis */
  if (arg && a->ndim > 0 && nred != 1 && nred != a->ndim) {
    *st = FLOE_ERR_INVALID;
    return NULL;
  }
  if (ddof < 0) {
    *st = FLOE_ERR_INVALID;
    return NULL;
  }
  int64_t reduced = 1, kept = 1;
  int64_t oshape[FLOE_MAX_DIMS] = {0};
  int ond = 0;
  for (int d = 0; d < a->ndim; d++) {
    if (mask & (1u << d)) {
      reduced *= a->shape[d];
      if (keepdims) {
        oshape[ond++] = 1;
      }
    } else {
      kept *= a->shape[d];
      oshape[ond++] = a->shape[d];
    }
  }
  bool needs_identity =
      arg || op == FLOE_MIN || op == FLOE_MAX || op == FLOE_NANMIN || op == FLOE_NANMAX;
  if (reduced == 0 && kept > 0 && needs_identity) {
    *st = FLOE_ERR_SHAPE;
    return NULL;
  }
  floe_dtype out = ref_reduce_result(op, a->dt);
  ref_arr *r = ref_new(out, ond, oshape);
  r->zero_sign_free = op == FLOE_MIN || op == FLOE_MAX || op == FLOE_NANMIN || op == FLOE_NANMAX;
  /* group the input's indices by output element, keeping C order */
  int64_t *count = calloc((size_t)(kept > 0 ? kept : 1) + 1, sizeof *count);
  int64_t *owner = malloc((size_t)(a->n > 0 ? a->n : 1) * sizeof *owner);
  int64_t *idx = malloc((size_t)(a->n > 0 ? a->n : 1) * sizeof *idx);
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t i = 0; i < a->n; i++) {
    int64_t o = 0;
    for (int d = 0; d < a->ndim; d++) {
      if (!(mask & (1u << d))) {
        o = o * a->shape[d] + coord[d];
      }
    }
    owner[i] = o;
    count[o + 1]++;
    for (int d = a->ndim - 1; d >= 0; d--) {
      if (++coord[d] < a->shape[d]) {
        break;
      }
      coord[d] = 0;
    }
  }
  for (int64_t o = 0; o < kept; o++) {
    count[o + 1] += count[o];
  }
  int64_t *fillpos = malloc((size_t)(kept > 0 ? kept : 1) * sizeof *fillpos);
  for (int64_t o = 0; o < kept; o++) {
    fillpos[o] = count[o];
  }
  for (int64_t i = 0; i < a->n; i++) {
    idx[fillpos[owner[i]]++] = i;
  }
  for (int64_t o = 0; o < r->n; o++) {
    group g = {a->x, a->err, a->unk, idx + count[o], count[o + 1] - count[o], a->dt};
    reduce_group(op, &g, ddof, out, &r->x[o], &r->err[o], &r->unk[o]);
  }
  free(count);
  free(owner);
  free(idx);
  free(fillpos);
  return r;
}

/* ------------------------------------------------------------ comparison */

const char *ref_fmt(char *buf, size_t cap, rv x, floe_dtype dt) {
  if (ref_is_float(dt)) {
    if (x.d == 0) {
      snprintf(buf, cap, "%s0", signbit(x.d) ? "-" : "");
    } else {
      snprintf(buf, cap, "%.17g", x.d);
    }
  } else {
    snprintf(buf, cap, "%lld", (long long)x.i);
  }
  return buf;
}

const char *ref_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t used = (size_t)snprintf(buf, cap, "(");
  for (int d = 0; d < ndim && used < cap; d++) {
    used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
  }
  if (used < cap) {
    snprintf(buf + used, cap - used, ndim == 1 ? ",)" : ")");
  }
  return buf;
}

void ref_compare(const ref_arr *r, const void *got, ref_cmp *out) {
  memset(out, 0, sizeof *out);
  for (int64_t i = 0; i < r->n; i++) {
    if (r->unk[i]) {
      out->skipped++;
      continue;
    }
    out->compared++;
    rv g = ref_load(got, r->dt, i);
    rv e = r->x[i];
    if (r->dt == F32) {
      e.d = (double)(float)e.d;
    }
    bool ok;
    if (!ref_is_float(r->dt)) {
      ok = g.i == (r->dt == B ? (e.i != 0) : e.i);
    } else if (isnan(e.d) || isnan(g.d)) {
      ok = isnan(e.d) && isnan(g.d);
    } else if (r->err[i] == 0) {
      ok = g.d == e.d && (e.d != 0 || r->zero_sign_free || !signbit(g.d) == !signbit(e.d));
    } else if (isinf(e.d) || isinf(g.d)) {
      ok = g.d == e.d;
    } else {
      ok = fabs(g.d - e.d) <= r->err[i];
    }
    if (!ok) {
      if (out->mismatches == 0) {
        char sg[64], se[64], sc[160];
        int64_t coord[FLOE_MAX_DIMS], rem = i;
        for (int d = r->ndim - 1; d >= 0; d--) {
          coord[d] = r->shape[d] > 0 ? rem % r->shape[d] : 0;
          rem = r->shape[d] > 0 ? rem / r->shape[d] : 0;
        }
        ref_shape_str(sc, sizeof sc, r->ndim, coord);
        snprintf(out->first, sizeof out->first,
                 "element %lld at %s of a %s array: got %s, expected %s (tolerance %g)",
                 (long long)i, sc, ref_dtype_name(r->dt), ref_fmt(sg, sizeof sg, g, r->dt),
                 ref_fmt(se, sizeof se, e, r->dt), r->err[i]);
      }
      out->mismatches++;
    }
  }
}
