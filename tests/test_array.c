/* Arrays through the public API (src/array, lowered by src/graph, run on the
 * kernels): creation, every elementwise op on every dtype against the naive
 * reference of array_ref.c, broadcasting, dtype promotion with weak scalars,
 * chunkings, and the handle rules (release, scopes, sticky errors, NULL
 * arguments, buffers, contexts, threads).
 *
 * Tests marked "BUG:" fail on purpose: each pins a library defect described
 * next to it.  Tests marked "Regression:" pin defects these tests found that
 * have been fixed since (commit de52bb0); the note says what was wrong. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_ref.h"
#include "floe.h"
#include "testutil.h"

#define NDT 6
static const floe_dtype ALL_DT[NDT] = {FLOE_BOOL,  FLOE_UINT8,   FLOE_INT32,
                                       FLOE_INT64, FLOE_FLOAT32, FLOE_FLOAT64};

/* ---------------------------------------------------------------- helpers */

static floe_ctx *open_ctx(int threads) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, threads), FLOE_OK);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "floe_open: %s", floe_error_message(NULL));
  floe_options_free(o);
  return ctx;
}

#define assert_has(text, needle)                                                                   \
  cr_assert(contains((text), (needle)), "'%s' does not contain '%s'", (text), (needle))

/* A C-order buffer of n values of dtype dt (freed by the caller). */
static void *pack(floe_dtype dt, const rv *v, int64_t n) {
  void *buf = calloc((size_t)(n > 0 ? n : 1), ref_dtype_size(dt));
  for (int64_t i = 0; i < n; i++) {
    ref_store(buf, dt, i, v[i]);
  }
  return buf;
}

/* Failed checks of the running test (each test is its own process): the
 * big loops log the first few and assert once at the end (check_done), so
 * that one defect does not hide the others. */
static int g_failures;

#define soft_fail(...)                                                                             \
  do {                                                                                             \
    if (++g_failures <= 12) {                                                                      \
      cr_log_error(__VA_ARGS__);                                                                   \
    }                                                                                              \
  } while (0)

static void check_done(void) {
  cr_assert_eq(g_failures, 0, "%d checks failed (the first are logged above)", g_failures);
}

/* Computes `a` and checks its dtype, shape and every element against r;
 * a failure is counted and logged.  Returns the elements compared. */
static int64_t expect_ref(floe_array *a, const ref_arr *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int64_t expect_ref(floe_array *a, const ref_arr *r, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (floe_array_status(a) != FLOE_OK) {
    soft_fail("%s: status %s: %s", what, floe_status_name(floe_array_status(a)),
              floe_array_message(a));
    return 0;
  }
  floe_shape s = floe_array_shape(a);
  char s1[128], s2[128];
  bool same = floe_array_dtype(a) == r->dt && s.ndim == r->ndim;
  for (int d = 0; same && d < s.ndim; d++) {
    same = s.dim[d] == r->shape[d];
  }
  if (!same) {
    soft_fail("%s: %s %s, expected %s %s", what, ref_dtype_name(floe_array_dtype(a)),
              ref_shape_str(s1, sizeof s1, s.ndim, s.dim), ref_dtype_name(r->dt),
              ref_shape_str(s2, sizeof s2, r->ndim, r->shape));
    return 0;
  }
  size_t nbytes = (size_t)floe_array_nbytes(a);
  cr_assert_eq(nbytes, (size_t)r->n * ref_dtype_size(r->dt), "%s: nbytes", what);
  void *buf = malloc(nbytes + 1);
  floe_status st = floe_compute(a, buf, nbytes);
  if (st != FLOE_OK) {
    soft_fail("%s: compute: %s", what, floe_error_message(NULL));
    free(buf);
    return 0;
  }
  ref_cmp c;
  ref_compare(r, buf, &c);
  free(buf);
  if (c.mismatches) {
    soft_fail("%s: %lld of %lld elements differ; first: %s", what, (long long)c.mismatches,
              (long long)c.compared, c.first);
  }
  return c.compared;
}

/* A status check that counts instead of stopping. */
#define expect_status(a, want, ...)                                                                \
  do {                                                                                             \
    if (floe_array_status(a) != (want)) {                                                          \
      char what_[256];                                                                             \
      snprintf(what_, sizeof what_, __VA_ARGS__);                                                  \
      soft_fail("%s: status %s (%s), expected %s", what_, floe_status_name(floe_array_status(a)),  \
                floe_array_message(a), floe_status_name(want));                                    \
    }                                                                                              \
  } while (0)

/* Computes `a` into a new buffer (asserting success). */
static void *compute_new(floe_array *a) {
  size_t nbytes = (size_t)floe_array_nbytes(a);
  void *buf = malloc(nbytes + 8);
  floe_status st = floe_compute(a, buf, nbytes);
  cr_assert_eq(st, FLOE_OK, "compute: %s", floe_error_message(NULL));
  return buf;
}

static double compute_scalar(floe_array *a) {
  double v = -12345;
  floe_status st = floe_compute_scalar(a, &v);
  cr_assert_eq(st, FLOE_OK, "compute_scalar: %s", floe_error_message(NULL));
  return v;
}

/* Interesting values of each dtype: zeros, signs, ties, extremes, the
 * special floats. */
static int64_t values_of(floe_dtype dt, rv *out) {
  int64_t n = 0;
  switch (dt) {
  case FLOE_BOOL:
    out[n++] = (rv){0, 0};
    out[n++] = (rv){1, 1};
    break;
  case FLOE_UINT8: {
    static const int64_t v[] = {0, 1, 2, 3, 7, 16, 100, 127, 128, 200, 254, 255};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      out[n++] = (rv){v[k], (double)v[k]};
    }
    break;
  }
  case FLOE_INT32: {
    static const int64_t v[] = {
        0,  1, -1, 2, -2, 3, -7, 7, 100, -100, 46341, -65536, INT32_MAX, INT32_MIN, INT32_MIN + 1,
        255};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      out[n++] = (rv){v[k], (double)v[k]};
    }
    break;
  }
  case FLOE_INT64: {
    static const int64_t v[] = {0,         1,          -1,
                                2,         -2,         3,
                                -7,        7,          100,
                                -100,      3037000500, -(1ll << 40),
                                INT64_MAX, INT64_MIN,  INT64_MIN + 1,
                                63};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      out[n++] = (rv){v[k], (double)v[k]};
    }
    break;
  }
  default: {
    const double big = dt == FLOE_FLOAT32 ? 80.0 : 700.0;
    const double v[] = {0.0,  -0.0,   1.0,  -1.0,      0.5,      -0.5,    1.5,   2.5,
                        -2.5, 3.0,    -3.0, 7.0,       0.1,      -0.1,    100.0, -100.0,
                        1e-3, 0.75,   3.7,  -3.7,      1e10,     -1e10,   1e-30, big,
                        -big, 0.9999, NAN,  -INFINITY, INFINITY, M_PI / 2};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      double d = dt == FLOE_FLOAT32 ? (double)(float)v[k] : v[k];
      out[n++] = (rv){0, d};
    }
    break;
  }
  }
  return n;
}

/* An input array over caller memory that stays alive until freed. */
typedef struct input {
  floe_array *a;
  ref_arr *r;
  void *buf;
} input;

static input make_input(floe_ctx *ctx, floe_dtype dt, floe_shape shape, floe_shape chunks,
                        const rv *vals, int64_t nvals) {
  int64_t n = 1;
  for (int d = 0; d < shape.ndim; d++) {
    n *= shape.dim[d];
  }
  rv *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  for (int64_t i = 0; i < n; i++) {
    v[i] = vals[i % nvals];
  }
  input in;
  in.buf = pack(dt, v, n);
  free(v);
  in.a = floe_from_buffer(ctx, dt, shape, chunks, in.buf);
  cr_assert_eq(floe_array_status(in.a), FLOE_OK, "%s", floe_array_message(in.a));
  in.r = ref_from_buffer(dt, shape, in.buf);
  return in;
}

static void free_input(input *in) {
  floe_release(in->a);
  ref_free(in->r);
  free(in->buf);
}

/* ------------------------------------------------------- dtype promotion */

Test(dtypes, result_type_table_is_numpys) {
  /* rows and columns: bool, uint8, int32, int64, float32, float64 */
  static const char *const table[NDT] = {"?BilfD", "BBilfD", "iiilDD",
                                         "lllldd", "ffddfd", "dddddd"};
  for (int a = 0; a < NDT; a++) {
    for (int b = 0; b < NDT; b++) {
      const char c = table[a][b];
      floe_dtype want = c == '?'   ? FLOE_BOOL
                        : c == 'B' ? FLOE_UINT8
                        : c == 'i' ? FLOE_INT32
                        : c == 'l' ? FLOE_INT64
                        : c == 'f' ? FLOE_FLOAT32
                                   : FLOE_FLOAT64;
      cr_assert_eq(floe_result_type(ALL_DT[a], ALL_DT[b]), want, "result_type(%s, %s)",
                   ref_dtype_name(ALL_DT[a]), ref_dtype_name(ALL_DT[b]));
      cr_assert_eq(ref_result_type(ALL_DT[a], ALL_DT[b]), want);
    }
  }
  cr_assert_eq(floe_result_type(FLOE_DTYPE_COUNT_, FLOE_INT32), FLOE_DTYPE_COUNT_);
  cr_assert_eq(floe_result_type(FLOE_INT32, (floe_dtype)-1), FLOE_DTYPE_COUNT_);
}

Test(dtypes, names_and_sizes) {
  for (int k = 0; k < NDT; k++) {
    cr_assert_str_eq(floe_dtype_name(ALL_DT[k]), ref_dtype_name(ALL_DT[k]));
    cr_assert_eq(floe_dtype_size(ALL_DT[k]), ref_dtype_size(ALL_DT[k]));
  }
  cr_assert_null(floe_dtype_name(FLOE_DTYPE_COUNT_));
  cr_assert_eq(floe_dtype_size(FLOE_DTYPE_COUNT_), 0);
}

/* Array-with-array arithmetic follows the table for every pair. */
Test(dtypes, array_array_promotion) {
  floe_ctx *ctx = open_ctx(2);
  for (int a = 0; a < NDT; a++) {
    for (int b = 0; b < NDT; b++) {
      floe_array *x = floe_ones(ctx, ALL_DT[a], FLOE_SHAPE(3), FLOE_AUTO);
      floe_array *y = floe_ones(ctx, ALL_DT[b], FLOE_SHAPE(3), FLOE_AUTO);
      floe_array *s = floe_add(x, y);
      cr_assert_eq(floe_array_dtype(s), ref_result_type(ALL_DT[a], ALL_DT[b]));
      floe_array *m = floe_maximum(x, y);
      cr_assert_eq(floe_array_dtype(m), ref_result_type(ALL_DT[a], ALL_DT[b]));
    }
  }
  check_done();
  floe_close(ctx);
}

Test(dtypes, weak_scalars_follow_nep50) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *f32 = floe_full(ctx, FLOE_FLOAT32, FLOE_SHAPE(4), FLOE_AUTO, 1.5);
  floe_array *f64 = floe_full(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO, 1.5);
  floe_array *i32 = floe_full(ctx, FLOE_INT32, FLOE_SHAPE(4), FLOE_AUTO, 7);
  floe_array *i64 = floe_full(ctx, FLOE_INT64, FLOE_SHAPE(4), FLOE_AUTO, 7);
  floe_array *u8 = floe_full(ctx, FLOE_UINT8, FLOE_SHAPE(4), FLOE_AUTO, 250);
  floe_array *b = floe_full(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO, 1);

  /* a Python float: float arrays keep their dtype, the rest become float64 */
  floe_array *r = floe_multiply(f32, floe_scalar(ctx, 2.0));
  cr_assert_eq(floe_array_dtype(r), FLOE_FLOAT32);
  float fv[4];
  cr_assert_eq(floe_compute(r, fv, sizeof fv), FLOE_OK);
  cr_assert_eq(fv[0], 3.0f);
  cr_assert_eq(floe_array_dtype(floe_add(floe_scalar(ctx, 0.5), f64)), FLOE_FLOAT64);
  cr_assert_eq(floe_array_dtype(floe_add(i32, floe_scalar(ctx, 2.0))), FLOE_FLOAT64);
  cr_assert_eq(floe_array_dtype(floe_add(u8, floe_scalar(ctx, 2.0))), FLOE_FLOAT64);
  cr_assert_eq(floe_array_dtype(floe_add(b, floe_scalar(ctx, 2.0))), FLOE_FLOAT64);
  double dv[4];
  cr_assert_eq(floe_compute(floe_add(i32, floe_scalar(ctx, 0.5)), dv, sizeof dv), FLOE_OK);
  cr_assert_eq(dv[3], 7.5);
  /* the scalar is converted to float32 once: x * 0.1 is float32 arithmetic */
  r = floe_multiply(f32, floe_scalar(ctx, 0.1));
  cr_assert_eq(floe_compute(r, fv, sizeof fv), FLOE_OK);
  cr_assert_eq(fv[1], 1.5f * 0.1f);

  /* a Python int: integer arrays keep their dtype when the value fits */
  r = floe_add(u8, floe_scalar_int(ctx, 1));
  cr_assert_eq(floe_array_dtype(r), FLOE_UINT8);
  uint8_t uv[4];
  cr_assert_eq(floe_compute(floe_add(u8, floe_scalar_int(ctx, 10)), uv, sizeof uv), FLOE_OK);
  cr_assert_eq(uv[2], 4, "250 + 10 wraps in uint8");
  cr_assert_eq(floe_array_dtype(floe_add(u8, floe_scalar_int(ctx, 255))), FLOE_UINT8);
  cr_assert_eq(floe_array_dtype(floe_add(i32, floe_scalar_int(ctx, 1))), FLOE_INT32);
  cr_assert_eq(floe_array_dtype(floe_add(i32, floe_scalar_int(ctx, INT32_MIN))), FLOE_INT32);
  cr_assert_eq(floe_array_dtype(floe_add(i64, floe_scalar_int(ctx, INT64_MAX))), FLOE_INT64);
  cr_assert_eq(floe_array_dtype(floe_add(f32, floe_scalar_int(ctx, 1))), FLOE_FLOAT32);
  cr_assert_eq(floe_array_dtype(floe_add(f64, floe_scalar_int(ctx, 1))), FLOE_FLOAT64);
  /* bool with a Python int is int64 (NumPy 2's default integer) */
  r = floe_add(b, floe_scalar_int(ctx, 1));
  cr_assert_eq(floe_array_dtype(r), FLOE_INT64);
  int64_t lv[4];
  cr_assert_eq(floe_compute(r, lv, sizeof lv), FLOE_OK);
  cr_assert_eq(lv[0], 2);

  /* a value the integer dtype cannot hold is an error, naming the op */
  floe_array *bad = floe_add(u8, floe_scalar_int(ctx, 300));
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_DTYPE);
  assert_has(floe_array_message(bad), "floe_add");
  assert_has(floe_array_message(bad), "300");
  cr_assert_eq(floe_array_status(floe_multiply(floe_scalar_int(ctx, -1), u8)), FLOE_ERR_DTYPE);
  cr_assert_eq(floe_array_status(floe_add(i32, floe_scalar_int(ctx, 1ll << 31))), FLOE_ERR_DTYPE);
  cr_assert_eq(floe_array_status(floe_add(i32, floe_scalar_int(ctx, INT32_MIN - 1ll))),
               FLOE_ERR_DTYPE);
  cr_assert_eq(floe_array_status(floe_where(b, u8, floe_scalar_int(ctx, 256))), FLOE_ERR_DTYPE);
  cr_assert_eq(floe_array_status(floe_clip(u8, floe_scalar_int(ctx, -5), NULL)), FLOE_ERR_DTYPE);

  /* two scalars: a float wins; the result is still weak */
  floe_array *two = floe_multiply(floe_scalar(ctx, 2.0), floe_scalar_int(ctx, 3));
  cr_assert_eq(floe_array_dtype(two), FLOE_FLOAT64);
  cr_assert_eq(floe_array_ndim(two), 0);
  cr_assert_eq(compute_scalar(two), 6.0);
  cr_assert_eq(floe_array_dtype(floe_add(f32, two)), FLOE_FLOAT32);
  floe_array *ii = floe_add(floe_scalar_int(ctx, 2), floe_scalar_int(ctx, 3));
  cr_assert_eq(floe_array_dtype(ii), FLOE_INT64);
  cr_assert_eq(floe_array_dtype(floe_add(i32, ii)), FLOE_INT32);
  /* scalars alone compute as 0-d arrays of their default dtype */
  cr_assert_eq(floe_array_dtype(floe_scalar(ctx, 1.5)), FLOE_FLOAT64);
  cr_assert_eq(floe_array_dtype(floe_scalar_int(ctx, 1)), FLOE_INT64);
  cr_assert_eq(compute_scalar(floe_scalar(ctx, -2.25)), -2.25);
  cr_assert_eq(compute_scalar(floe_scalar_int(ctx, -7)), -7.0);
  /* where and comparisons with weak scalars */
  cr_assert_eq(floe_array_dtype(floe_where(b, f32, floe_scalar(ctx, 0.0))), FLOE_FLOAT32);
  cr_assert_eq(floe_array_dtype(floe_where(b, i32, floe_scalar_int(ctx, 9))), FLOE_INT32);
  cr_assert_eq(floe_array_dtype(floe_less(u8, floe_scalar(ctx, 0.5))), FLOE_BOOL);
  check_done();
  floe_close(ctx);
}

/* ----------------------------------------------------- elementwise ops */

typedef floe_array *(*unary_fn)(floe_array *);
typedef floe_array *(*binary_fn)(floe_array *, floe_array *);
static const unary_fn UNARY_FN[] = {
#define F(NAME, name) floe_##name,
    FLOE_UNARY_MAP(F)
#undef F
};
static const binary_fn BINARY_FN[] = {
#define F(NAME, name) floe_##name,
    FLOE_BINARY_MAP(F)
#undef F
};

/* Every unary op on every dtype, on edge values in ragged chunks, through
 * the named wrapper and through floe_unary. */
Test(elementwise, unary_every_op_and_dtype) {
  floe_ctx *ctx = open_ctx(2);
  rv vals[64];
  int64_t compared = 0;
  for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
    for (int k = 0; k < NDT; k++) {
      floe_dtype dt = ALL_DT[k];
      int64_t n = values_of(dt, vals);
      input x = make_input(ctx, dt, FLOE_SHAPE(n), FLOE_SHAPE(7), vals, n);
      floe_array *y = UNARY_FN[op](x.a);
      floe_status st;
      ref_arr *r = ref_unary((floe_unary_op)op, x.r, &st);
      char name[64];
      snprintf(name, sizeof name, "floe_%s", ref_unary_name((floe_unary_op)op));
      if (st != FLOE_OK) {
        expect_status(y, st, "%s(%s)", name, ref_dtype_name(dt));
        if (!contains(floe_array_message(y), name)) {
          soft_fail("%s(%s): message '%s'", name, ref_dtype_name(dt), floe_array_message(y));
        }
      } else {
        compared += expect_ref(y, r, "%s(%s)", name, ref_dtype_name(dt));
        /* floe_unary is the same operation */
        floe_array *z = floe_unary((floe_unary_op)op, x.a);
        void *b1 = compute_new(y), *b2 = compute_new(z);
        if (memcmp(b1, b2, (size_t)floe_array_nbytes(y)) != 0) {
          soft_fail("%s(%s): floe_unary differs from the wrapper", name, ref_dtype_name(dt));
        }
        free(b1);
        free(b2);
        floe_release(z);
      }
      ref_free(r);
      floe_release(y);
      free_input(&x);
    }
  }
  cr_assert_gt(compared, 2000);
  check_done();
  floe_close(ctx);
}

/* Every binary op on every pair of dtypes: a (n, 1) column against a
 * (1, m) row, so that the broadcast result holds every pair of values. */
Test(elementwise, binary_every_op_and_dtype_pair) {
  floe_ctx *ctx = open_ctx(2);
  rv va[64], vb[64];
  int64_t compared = 0;
  for (int ka = 0; ka < NDT; ka++) {
    for (int kb = 0; kb < NDT; kb++) {
      floe_dtype da = ALL_DT[ka], db = ALL_DT[kb];
      int64_t na = values_of(da, va), nb = values_of(db, vb);
      input x = make_input(ctx, da, FLOE_SHAPE(na, 1), FLOE_SHAPE(4, 1), va, na);
      input y = make_input(ctx, db, FLOE_SHAPE(1, nb), FLOE_SHAPE(1, 5), vb, nb);
      for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
        floe_array *z = BINARY_FN[op](x.a, y.a);
        floe_status st;
        ref_arr *r = ref_binary((floe_binary_op)op, x.r, y.r, &st);
        char name[64];
        snprintf(name, sizeof name, "floe_%s", ref_binary_name((floe_binary_op)op));
        if (st != FLOE_OK) {
          expect_status(z, st, "%s(%s, %s)", name, ref_dtype_name(da), ref_dtype_name(db));
          if (!contains(floe_array_message(z), name)) {
            soft_fail("%s: message '%s'", name, floe_array_message(z));
          }
        } else {
          compared += expect_ref(z, r, "%s(%s, %s)", name, ref_dtype_name(da), ref_dtype_name(db));
        }
        ref_free(r);
        floe_release(z);
      }
      free_input(&x);
      free_input(&y);
    }
  }
  cr_assert_gt(compared, 100000);
  check_done();
  floe_close(ctx);
}

/* floe_binary is the same as the wrappers; unknown ops are refused. */
Test(elementwise, generic_entry_points) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *x = floe_linspace(ctx, FLOE_FLOAT64, -3, 3, 11, FLOE_SHAPE(4));
  floe_array *y = floe_linspace(ctx, FLOE_FLOAT64, 0.5, 2, 11, FLOE_SHAPE(3));
  for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
    void *a = compute_new(BINARY_FN[op](x, y));
    void *b = compute_new(floe_binary((floe_binary_op)op, x, y));
    cr_assert_eq(memcmp(a, b, 11 * floe_dtype_size(floe_array_dtype(BINARY_FN[op](x, y)))), 0);
    free(a);
    free(b);
  }
  floe_array *bad = floe_unary((floe_unary_op)FLOE_UNARY_COUNT_, x);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_unary");
  bad = floe_unary((floe_unary_op)-1, x);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  bad = floe_binary((floe_binary_op)FLOE_BINARY_COUNT_, x, y);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_binary");
  check_done();
  floe_close(ctx);
}

/* Results written out from NumPy 1.24, independent of array_ref.c. */
Test(elementwise, numpy_corner_cases) {
  floe_ctx *ctx = open_ctx(2);
  /* integer wrap */
  {
    int32_t a[] = {INT32_MAX, INT32_MIN, INT32_MIN, 46341, -7};
    int32_t b[] = {1, -1, -1, 46341, 2};
    floe_array *x = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(5), FLOE_SHAPE(2), a);
    floe_array *y = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(5), FLOE_SHAPE(3), b);
    int32_t o[5];
    cr_assert_eq(floe_compute(floe_add(x, y), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[0], INT32_MIN);
    cr_assert_eq(floe_compute(floe_subtract(x, y), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[0], INT32_MAX - 1);
    cr_assert_eq(floe_compute(floe_subtract(x, floe_scalar_int(ctx, 1)), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[1], INT32_MAX, "INT_MIN - 1 wraps");
    cr_assert_eq(floe_compute(floe_multiply(x, y), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[3], (int32_t)(46341u * 46341u));
    cr_assert_eq(floe_compute(floe_floor_divide(x, y), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[2], INT32_MIN, "INT_MIN // -1 wraps");
    cr_assert_eq(o[4], -4);
    cr_assert_eq(floe_compute(floe_mod(x, y), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[2], 0, "INT_MIN %% -1 is 0");
    cr_assert_eq(o[4], 1);
    cr_assert_eq(floe_compute(floe_negative(x), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[1], INT32_MIN);
    cr_assert_eq(floe_compute(floe_abs(x), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[1], INT32_MIN);
    uint8_t u[] = {250, 0, 16};
    floe_array *xu = floe_from_buffer(ctx, FLOE_UINT8, FLOE_SHAPE(3), FLOE_AUTO, u);
    uint8_t uo[3];
    cr_assert_eq(floe_compute(floe_add(xu, floe_scalar_int(ctx, 10)), uo, 3), FLOE_OK);
    cr_assert_eq(uo[0], 4);
    cr_assert_eq(floe_compute(floe_subtract(xu, floe_scalar_int(ctx, 1)), uo, 3), FLOE_OK);
    cr_assert_eq(uo[1], 255);
    cr_assert_eq(floe_compute(floe_square(xu), uo, 3), FLOE_OK);
    cr_assert_eq(uo[2], 0);
    int64_t l[] = {INT64_MIN, 2, -1, 3};
    int64_t le[] = {-1, 63, 3, 40};
    floe_array *xl = floe_from_buffer(ctx, FLOE_INT64, FLOE_SHAPE(4), FLOE_AUTO, l);
    floe_array *el = floe_from_buffer(ctx, FLOE_INT64, FLOE_SHAPE(4), FLOE_AUTO, le);
    int64_t lo[4];
    cr_assert_eq(floe_compute(floe_power(xl, el), lo, sizeof lo), FLOE_OK);
    cr_assert_eq(lo[1], INT64_MIN, "2**63 wraps");
    cr_assert_eq(lo[2], -1);
    cr_assert_eq(lo[3], -6289078614652622815ll);
    cr_assert_eq(floe_compute(floe_subtract(xl, floe_scalar_int(ctx, 1)), lo, sizeof lo), FLOE_OK);
    cr_assert_eq(lo[0], INT64_MAX);
  }
  /* integer floor_divide and mod: Python's signs, 0 for a zero divisor */
  {
    int32_t a[] = {7, -7, 7, -7, 5, 0};
    int32_t b[] = {2, 2, -2, -2, 0, 0};
    floe_array *x = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(6), FLOE_SHAPE(4), a);
    floe_array *y = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(6), FLOE_SHAPE(4), b);
    int32_t q[6], m[6];
    cr_assert_eq(floe_compute(floe_floor_divide(x, y), q, sizeof q), FLOE_OK);
    cr_assert_eq(floe_compute(floe_mod(x, y), m, sizeof m), FLOE_OK);
    const int32_t wq[] = {3, -4, -4, 3, 0, 0}, wm[] = {1, 1, -1, -1, 0, 0};
    for (int i = 0; i < 6; i++) {
      cr_assert_eq(q[i], wq[i], "%d // %d = %d", a[i], b[i], q[i]);
      cr_assert_eq(m[i], wm[i], "%d %% %d = %d", a[i], b[i], m[i]);
    }
    /* true division of integers is float64: 1/0 = inf, 0/0 = nan */
    floe_array *d = floe_divide(x, y);
    cr_assert_eq(floe_array_dtype(d), FLOE_FLOAT64);
    double dv[6];
    cr_assert_eq(floe_compute(d, dv, sizeof dv), FLOE_OK);
    cr_assert_eq(dv[1], -3.5);
    cr_assert(isinf(dv[4]) && dv[4] > 0);
    cr_assert(isnan(dv[5]));
    int32_t r[] = {1, 2, -1, 0};
    floe_array *xr = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(4), FLOE_AUTO, r);
    int32_t ro[4];
    cr_assert_eq(floe_compute(floe_reciprocal(xr), ro, sizeof ro), FLOE_OK);
    cr_assert_eq(ro[0], 1);
    cr_assert_eq(ro[1], 0);
    cr_assert_eq(ro[2], -1);
    cr_assert_eq(ro[3], 0, "integer reciprocal of 0 is 0 here (documented)");
  }
  /* float floor_divide and mod (numpy.floor_divide / numpy.mod) */
  {
    double a[] = {5, -5, 5, -5, 0, -0.0, INFINITY, 1, -0.0, 5.5};
    double b[] = {3, 3, -3, -3, 2, 2, 2, 0, -2, 0.0};
    double wq[] = {1, -2, -2, 1, 0, -0.0, NAN, INFINITY, 0, INFINITY};
    double wm[] = {2, 1, -1, -2, 0, 0, NAN, NAN, -0.0, NAN};
    for (int k = 0; k < 2; k++) {
      floe_dtype dt = k ? FLOE_FLOAT32 : FLOE_FLOAT64;
      floe_array *x64 = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_SHAPE(3), a);
      floe_array *y64 = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_SHAPE(4), b);
      floe_array *x = floe_astype(x64, dt), *y = floe_astype(y64, dt);
      double q[10], m[10];
      cr_assert_eq(floe_compute(floe_astype(floe_floor_divide(x, y), FLOE_FLOAT64), q, sizeof q),
                   FLOE_OK);
      cr_assert_eq(floe_compute(floe_astype(floe_mod(x, y), FLOE_FLOAT64), m, sizeof m), FLOE_OK);
      for (int i = 0; i < 10; i++) {
        cr_assert(isnan(wq[i]) ? isnan(q[i]) : q[i] == wq[i] && !signbit(q[i]) == !signbit(wq[i]),
                  "%s: %g // %g = %g, NumPy %g", ref_dtype_name(dt), a[i], b[i], q[i], wq[i]);
        cr_assert(isnan(wm[i]) ? isnan(m[i]) : m[i] == wm[i] && !signbit(m[i]) == !signbit(wm[i]),
                  "%s: %g %% %g = %g, NumPy %g", ref_dtype_name(dt), a[i], b[i], m[i], wm[i]);
      }
    }
  }
  /* NaN, inf and signed zeros */
  {
    double a[] = {0.0, -0.0, NAN, 1.0, -INFINITY, 2.5, -0.5, -2.5, 0.5, 1.5};
    double b[] = {-0.0, 0.0, 1.0, NAN, 1.0, 2.5, 0, 0, 0, 0};
    floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_SHAPE(3), a);
    floe_array *y = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_SHAPE(3), b);
    double o[10];
    cr_assert_eq(floe_compute(floe_minimum(x, y), o, sizeof o), FLOE_OK);
    cr_assert(o[0] == 0 && signbit(o[0]), "minimum(0.0, -0.0) is -0.0 (the second)");
    cr_assert(o[1] == 0 && !signbit(o[1]), "minimum(-0.0, 0.0) is 0.0 (the second)");
    cr_assert(isnan(o[2]) && isnan(o[3]), "NaN propagates through minimum");
    cr_assert_eq(o[4], -INFINITY);
    cr_assert_eq(floe_compute(floe_maximum(x, y), o, sizeof o), FLOE_OK);
    cr_assert(isnan(o[2]) && isnan(o[3]));
    cr_assert_eq(floe_compute(floe_sign(x), o, sizeof o), FLOE_OK);
    cr_assert(o[1] == 0 && !signbit(o[1]), "sign(-0.0) is 0.0");
    cr_assert(isnan(o[2]));
    cr_assert_eq(o[4], -1.0);
    cr_assert_eq(floe_compute(floe_round(x), o, sizeof o), FLOE_OK);
    cr_assert_eq(o[5], 2.0, "round half to even");
    cr_assert(o[6] == 0 && signbit(o[6]));
    cr_assert_eq(o[7], -2.0);
    cr_assert_eq(o[8], 0.0);
    cr_assert_eq(o[9], 2.0);
    cr_assert_eq(floe_compute(floe_negative(x), o, sizeof o), FLOE_OK);
    cr_assert(o[0] == 0 && signbit(o[0]));
    bool bo[10];
    cr_assert_eq(floe_compute(floe_equal(x, y), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[0] && bo[1] && !bo[2] && !bo[3] && bo[5], "0.0 == -0.0; NaN != anything");
    cr_assert_eq(floe_compute(floe_not_equal(x, x), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[2] && !bo[0]);
    cr_assert_eq(floe_compute(floe_isnan(x), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[2] && !bo[4]);
    cr_assert_eq(floe_compute(floe_isinf(x), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[4] && !bo[2]);
    cr_assert_eq(floe_compute(floe_isfinite(x), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[0] && !bo[2] && !bo[4]);
    cr_assert_eq(floe_compute(floe_logical_not(x), bo, sizeof bo), FLOE_OK);
    cr_assert(bo[0] && bo[1] && !bo[2] && !bo[4], "logical_not(NaN) is false");
  }
  /* bools: add is or, multiply is and; subtract and negative are refused */
  {
    bool a[] = {0, 0, 1, 1}, b[] = {0, 1, 0, 1};
    floe_array *x = floe_from_buffer(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO, a);
    floe_array *y = floe_from_buffer(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO, b);
    bool o[4];
    cr_assert_eq(floe_array_dtype(floe_add(x, y)), FLOE_BOOL);
    cr_assert_eq(floe_compute(floe_add(x, y), o, 4), FLOE_OK);
    cr_assert(!o[0] && o[1] && o[2] && o[3]);
    cr_assert_eq(floe_compute(floe_multiply(x, y), o, 4), FLOE_OK);
    cr_assert(!o[0] && !o[1] && !o[2] && o[3]);
    cr_assert_eq(floe_compute(floe_logical_xor(x, y), o, 4), FLOE_OK);
    cr_assert(!o[0] && o[1] && o[2] && !o[3]);
    cr_assert_eq(floe_array_status(floe_subtract(x, y)), FLOE_ERR_DTYPE);
    assert_has(floe_array_message(floe_subtract(x, y)), "floe_subtract");
    cr_assert_eq(floe_array_status(floe_negative(x)), FLOE_ERR_DTYPE);
    cr_assert_eq(floe_array_dtype(floe_floor_divide(x, y)), FLOE_UINT8);
    cr_assert_eq(floe_array_dtype(floe_sqrt(x)), FLOE_FLOAT32);
    cr_assert_eq(floe_array_dtype(floe_abs(x)), FLOE_BOOL);
  }
  check_done();
  floe_close(ctx);
}

/* Elementwise ops between weak scalars and arrays of every dtype. */
Test(elementwise, scalar_operands) {
  floe_ctx *ctx = open_ctx(2);
  rv vals[64];
  const double fs[] = {0.1, 2.0, -1.5};
  const int64_t is[] = {0, 3, -2, 255};
  for (int k = 0; k < NDT; k++) {
    floe_dtype dt = ALL_DT[k];
    int64_t n = values_of(dt, vals);
    input x = make_input(ctx, dt, FLOE_SHAPE(n), FLOE_SHAPE(5), vals, n);
    for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
      for (int s = 0; s < 7; s++) {
        floe_array *sc = s < 3 ? floe_scalar(ctx, fs[s]) : floe_scalar_int(ctx, is[s - 3]);
        ref_arr *rs = s < 3 ? ref_scalar_float(fs[s]) : ref_scalar_int(is[s - 3]);
        for (int side = 0; side < 2; side++) {
          floe_array *z = side ? BINARY_FN[op](sc, x.a) : BINARY_FN[op](x.a, sc);
          floe_status st;
          ref_arr *r = side ? ref_binary((floe_binary_op)op, rs, x.r, &st)
                            : ref_binary((floe_binary_op)op, x.r, rs, &st);
          if (st != FLOE_OK) {
            expect_status(z, st, "%s(%s, scalar %d)", ref_binary_name((floe_binary_op)op),
                          ref_dtype_name(dt), s);
          } else {
            expect_ref(z, r, "%s with %s and scalar %d on side %d",
                       ref_binary_name((floe_binary_op)op), ref_dtype_name(dt), s, side);
          }
          ref_free(r);
          floe_release(z);
        }
        ref_free(rs);
        floe_release(sc);
      }
    }
    free_input(&x);
  }
  check_done();
  floe_close(ctx);
}

/* Regression: a widening conversion inside a fused program ran in place and
 * overwrote its own input.  src/graph/fuse.c, allocate(): the registers of
 * sources whose last use is instruction k were freed before k's destination
 * register was chosen, so the destination was often a source's register.  The kernels allow out ==
 * in for equal element sizes only: a CAST from a 1- or 4-byte dtype to an 8-byte one (or a WHERE
 * whose bool condition register is reused for an 8-byte result) writes o[0] over the bytes of
 * x[1..7] before reading them.  Values loaded by aliasing caller memory were safe; computed values
 * and broadcast or strided loads were not (floe_graph_dot showed "r0 = cast float64 r0").  With x =
 * int32 [1..6], x*x + zeros(float64) gave 1 4 9 16 0 1.07597e+09. */
Test(elementwise, widening_conversions_of_computed_values) {
  floe_ctx *ctx = open_ctx(1);
  int32_t v[6] = {1, 2, 3, 4, 5, 6};
  floe_array *x = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(6), FLOE_AUTO, v);
  double d[6];
  cr_assert_eq(floe_compute(floe_add(floe_multiply(x, x),
                                     floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(6), FLOE_AUTO)),
                            d, sizeof d),
               FLOE_OK);
  for (int i = 0; i < 6; i++) {
    cr_expect_eq(d[i], (double)(v[i] * v[i]), "x*x + 0.0 at %d: %g", i, d[i]);
  }
  /* a broadcast bool column converted to float64 */
  bool b[2] = {1, 1};
  floe_array *col = floe_from_buffer(ctx, FLOE_BOOL, FLOE_SHAPE(2, 1), FLOE_AUTO, b);
  double o[4];
  cr_assert_eq(floe_compute(floe_add(floe_astype(col, FLOE_FLOAT64),
                                     floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(1, 2), FLOE_AUTO)),
                            o, sizeof o),
               FLOE_OK);
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(o[i], 1.0, "astype(bool column) at %d: %g", i, o[i]);
  }
  /* where with a computed bool condition and 8-byte operands */
  double c[4] = {0, 1, 0, 1}, a[4] = {1, 2, 3, 4};
  floe_array *cc = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(4, 1), FLOE_AUTO, c);
  floe_array *aa = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(1, 4), FLOE_AUTO, a);
  floe_array *w = floe_where(floe_greater(cc, floe_scalar(ctx, 0.5)), aa, floe_negative(aa));
  double o16[16];
  cr_assert_eq(floe_compute(floe_add(w, floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(1, 4), FLOE_AUTO)),
                            o16, sizeof o16),
               FLOE_OK);
  for (int i = 0; i < 16; i++) {
    double want = c[i / 4] > 0.5 ? a[i % 4] : -a[i % 4];
    cr_expect_eq(o16[i], want, "where(c > 0.5, a, -a) at %d: %g, want %g", i, o16[i], want);
  }
  floe_close(ctx);
}

Test(elementwise, astype_every_pair) {
  floe_ctx *ctx = open_ctx(2);
  rv vals[64];
  int64_t skipped = 0;
  for (int a = 0; a < NDT; a++) {
    int64_t n = values_of(ALL_DT[a], vals);
    input x = make_input(ctx, ALL_DT[a], FLOE_SHAPE(2, n), FLOE_SHAPE(1, 6), vals, n);
    for (int b = 0; b < NDT; b++) {
      floe_array *y = floe_astype(x.a, ALL_DT[b]);
      floe_status st;
      ref_arr *r = ref_astype(x.r, ALL_DT[b], &st);
      expect_ref(y, r, "astype %s -> %s", ref_dtype_name(ALL_DT[a]), ref_dtype_name(ALL_DT[b]));
      for (int64_t i = 0; i < r->n; i++) {
        skipped += r->unk[i];
      }
      ref_free(r);
    }
    free_input(&x);
  }
  /* NaN and out-of-range float to integer casts are unspecified: skipped */
  cr_assert_gt(skipped, 0);
  /* exact cases written out */
  double d[] = {-1.0, 300.0, 255.9, 2.9, -2.9, 0.5, NAN};
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(7), FLOE_SHAPE(2), d);
  int32_t i32[7];
  cr_assert_eq(floe_compute(floe_astype(x, FLOE_INT32), i32, sizeof i32), FLOE_OK);
  cr_assert_eq(i32[0], -1);
  cr_assert_eq(i32[2], 255);
  cr_assert_eq(i32[3], 2, "float to int truncates");
  cr_assert_eq(i32[4], -2);
  bool bo[7];
  cr_assert_eq(floe_compute(floe_astype(x, FLOE_BOOL), bo, sizeof bo), FLOE_OK);
  cr_assert(bo[0] && bo[5] && bo[6], "to bool is x != 0; NaN is true");
  uint8_t u8[7];
  cr_assert_eq(floe_compute(floe_astype(x, FLOE_UINT8), u8, sizeof u8), FLOE_OK);
  cr_assert_eq(u8[2], 255);
  cr_assert_eq(u8[3], 2);
  int64_t big[] = {(1ll << 53) + 1, -(1ll << 40) - 1};
  floe_array *xl = floe_from_buffer(ctx, FLOE_INT64, FLOE_SHAPE(2), FLOE_AUTO, big);
  float f[2];
  cr_assert_eq(floe_compute(floe_astype(xl, FLOE_FLOAT32), f, sizeof f), FLOE_OK);
  cr_assert_eq(f[0], (float)big[0]);
  int32_t w[2];
  cr_assert_eq(floe_compute(floe_astype(xl, FLOE_INT32), w, sizeof w), FLOE_OK);
  cr_assert_eq(w[0], 1, "int64 to int32 keeps the low bits");
  cr_assert_eq(w[1], -1);
  /* an unknown dtype */
  floe_array *bad = floe_astype(x, FLOE_DTYPE_COUNT_);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_DTYPE);
  assert_has(floe_array_message(bad), "floe_astype");
  check_done();
  floe_close(ctx);
}

Test(elementwise, where_every_dtype_pair) {
  floe_ctx *ctx = open_ctx(2);
  rv va[64], vb[64];
  const rv cond[] = {{0, 0.0}, {0, 1.0}, {0, NAN}, {0, -0.0}, {0, -2.0}};
  input c = make_input(ctx, FLOE_FLOAT64, FLOE_SHAPE(5, 1), FLOE_SHAPE(2, 1), cond, 5);
  rv bools[] = {{1, 1}, {0, 0}, {1, 1}};
  input cb = make_input(ctx, FLOE_BOOL, FLOE_SHAPE(3, 1), FLOE_SHAPE(2, 1), bools, 3);
  for (int ka = 0; ka < NDT; ka++) {
    for (int kb = 0; kb < NDT; kb++) {
      int64_t na = values_of(ALL_DT[ka], va), nb = values_of(ALL_DT[kb], vb);
      int64_t m = na < nb ? na : nb;
      input a = make_input(ctx, ALL_DT[ka], FLOE_SHAPE(m), FLOE_SHAPE(3), va, na);
      input b = make_input(ctx, ALL_DT[kb], FLOE_SHAPE(1, m), FLOE_SHAPE(1, 4), vb, nb);
      for (int k = 0; k < 2; k++) {
        input *cc = k ? &cb : &c;
        floe_status st;
        ref_arr *r = ref_where(cc->r, a.r, b.r, &st);
        cr_assert_eq(st, FLOE_OK);
        floe_array *z = floe_where(cc->a, a.a, b.a);
        expect_ref(z, r, "where(%s, %s, %s)", ref_dtype_name(cc->r->dt), ref_dtype_name(ALL_DT[ka]),
                   ref_dtype_name(ALL_DT[kb]));
        ref_free(r);
        floe_release(z);
      }
      free_input(&a);
      free_input(&b);
    }
  }
  /* where keeps -0.0 and NaN bit patterns of the chosen operand */
  double x[] = {-0.0, NAN}, y[] = {1.0, 2.0};
  bool t[] = {1, 1};
  floe_array *w = floe_where(floe_from_buffer(ctx, FLOE_BOOL, FLOE_SHAPE(2), FLOE_AUTO, t),
                             floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO, x),
                             floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO, y));
  double o[2];
  cr_assert_eq(floe_compute(w, o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 0 && signbit(o[0]));
  cr_assert(isnan(o[1]));
  free_input(&c);
  free_input(&cb);
  check_done();
  floe_close(ctx);
}

Test(elementwise, clip) {
  floe_ctx *ctx = open_ctx(2);
  rv vals[64];
  for (int k = 0; k < NDT; k++) {
    floe_dtype dt = ALL_DT[k];
    int64_t n = values_of(dt, vals);
    input x = make_input(ctx, dt, FLOE_SHAPE(n), FLOE_SHAPE(4), vals, n);
    /* array bounds of the same dtype, weak scalar bounds, one-sided, none */
    rv lo_v = {1, 1.0}, hi_v = {100, 100.0};
    input lo = make_input(ctx, dt, FLOE_SHAPE(1), FLOE_AUTO, &lo_v, 1);
    input hi = make_input(ctx, dt, FLOE_SHAPE(n), FLOE_SHAPE(6), &hi_v, 1);
    struct {
      floe_array *lo, *hi;
      ref_arr *rlo, *rhi;
    } cases[] = {
        {lo.a, hi.a, lo.r, hi.r},
        {lo.a, NULL, lo.r, NULL},
        {NULL, hi.a, NULL, hi.r},
        {NULL, NULL, NULL, NULL},
        {floe_scalar_int(ctx, 2), floe_scalar_int(ctx, 100), ref_scalar_int(2),
         ref_scalar_int(100)},
        {floe_scalar(ctx, -0.5), floe_scalar(ctx, 2.5), ref_scalar_float(-0.5),
         ref_scalar_float(2.5)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      floe_status st;
      ref_arr *r = ref_clip(x.r, cases[c].rlo, cases[c].rhi, &st);
      floe_array *z = floe_clip(x.a, cases[c].lo, cases[c].hi);
      if (st != FLOE_OK) {
        expect_status(z, st, "clip case %zu of %s", c, ref_dtype_name(dt));
      } else {
        expect_ref(z, r, "clip case %zu of %s", c, ref_dtype_name(dt));
      }
      ref_free(r);
      floe_release(z);
    }
    ref_free(cases[4].rlo);
    ref_free(cases[4].rhi);
    ref_free(cases[5].rlo);
    ref_free(cases[5].rhi);
    free_input(&lo);
    free_input(&hi);
    free_input(&x);
  }
  check_done();
  floe_close(ctx);
}

/* ---------------------------------------------------------- broadcasting */

Test(broadcasting, shapes_that_broadcast) {
  floe_ctx *ctx = open_ctx(2);
  rv v[7] = {{0, 1.5}, {0, -2}, {0, 3.25}, {0, 0}, {0, 7}, {0, -0.5}, {0, 11}};
  struct {
    floe_shape a, b;
  } cases[] = {
      {FLOE_SHAPE(3, 1), FLOE_SHAPE(1, 4)},
      {FLOE_SHAPE(5), FLOE_SHAPE(2, 5)},
      {FLOE_SCALAR_SHAPE, FLOE_SHAPE(2, 3)},
      {FLOE_SHAPE(2, 3), FLOE_SCALAR_SHAPE},
      {FLOE_SCALAR_SHAPE, FLOE_SCALAR_SHAPE},
      {FLOE_SHAPE(1), FLOE_SHAPE(4, 1, 3)},
      {FLOE_SHAPE(2, 1, 3, 1), FLOE_SHAPE(4, 1, 5)},
      {FLOE_SHAPE(0, 3), FLOE_SHAPE(1, 3)},
      {FLOE_SHAPE(2, 0), FLOE_SHAPE(2, 1)},
      {FLOE_SHAPE(0), FLOE_SHAPE(1)},
      {FLOE_SHAPE(3, 1, 0), FLOE_SCALAR_SHAPE},
      {FLOE_SHAPE(1, 1, 1, 1, 1, 1, 1, 2), FLOE_SHAPE(3, 1)},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    input a = make_input(ctx, FLOE_FLOAT64, cases[c].a, FLOE_AUTO, v, 7);
    input b = make_input(ctx, FLOE_FLOAT64, cases[c].b, FLOE_AUTO, v + 2, 5);
    floe_status st;
    ref_arr *r = ref_binary(FLOE_SUBTRACT, a.r, b.r, &st);
    cr_assert_eq(st, FLOE_OK);
    floe_array *z = floe_subtract(a.a, b.a);
    expect_ref(z, r, "broadcast case %zu", c);
    if (r->n == 0) {
      /* empty results compute with a NULL buffer */
      cr_assert_eq(floe_compute(z, NULL, 0), FLOE_OK);
    }
    ref_free(r);
    free_input(&a);
    free_input(&b);
  }
  check_done();
  floe_close(ctx);
}

Test(broadcasting, mismatches_name_the_op_and_both_shapes) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape a, b;
    const char *sa, *sb;
  } cases[] = {
      {FLOE_SHAPE(3), FLOE_SHAPE(4), "(3,)", "(4,)"},
      {FLOE_SHAPE(2, 3), FLOE_SHAPE(3, 2), "(2, 3)", "(3, 2)"},
      {FLOE_SHAPE(0), FLOE_SHAPE(5), "(0,)", "(5,)"},
      {FLOE_SHAPE(4, 2, 3), FLOE_SHAPE(3, 1), "(4, 2, 3)", "(3, 1)"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    floe_array *a = floe_zeros(ctx, FLOE_FLOAT32, cases[c].a, FLOE_AUTO);
    floe_array *b = floe_ones(ctx, FLOE_INT32, cases[c].b, FLOE_AUTO);
    floe_array *z = floe_multiply(a, b);
    cr_assert_eq(floe_array_status(z), FLOE_ERR_SHAPE, "case %zu", c);
    const char *msg = floe_array_message(z);
    assert_has(msg, "floe_multiply");
    assert_has(msg, cases[c].sa);
    assert_has(msg, cases[c].sb);
    /* the thread's message says the same at once */
    assert_has(floe_error_message(ctx), "floe_multiply");
    floe_status st = floe_compute(z, NULL, 0);
    cr_assert_eq(st, FLOE_ERR_SHAPE);
    assert_has(floe_error_message(ctx), cases[c].sb);
    z = floe_where(floe_ones(ctx, FLOE_BOOL, cases[c].a, FLOE_AUTO), a, b);
    cr_assert_eq(floe_array_status(z), FLOE_ERR_SHAPE);
    assert_has(floe_array_message(z), "floe_where");
  }
  check_done();
  floe_close(ctx);
}

/* Regression: floe_where's broadcast error named the condition's shape and
 * the third argument's, not the two shapes that conflict: src/array/ops.c,
 * broadcast(), printed in[0] and in[i] although the length in[i] clashed
 * with could come from another input.  where(ones(bool, (1,)), zeros((3,)),
 * zeros((4,))) said "shapes (1,) and (4,) do not broadcast (axis 0: 3
 * against 4)", never mentioning (3,). */
Test(broadcasting, where_mismatch_names_the_conflicting_shapes) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *c = floe_ones(ctx, FLOE_BOOL, FLOE_SHAPE(1), FLOE_AUTO);
  floe_array *a = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO);
  floe_array *b = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO);
  floe_array *z = floe_where(c, a, b);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_SHAPE);
  assert_has(floe_array_message(z), "(3,)");
  assert_has(floe_array_message(z), "(4,)");
  check_done();
  floe_close(ctx);
}

/* ------------------------------------------------------------- chunkings */

/* An elementwise expression with broadcasting, transcendentals and where
 * gives bit-identical results for every chunking, and matches the
 * reference. */
static void chunking_case(floe_ctx *ctx, int64_t rows, int64_t cols, const floe_shape *chunkings,
                          int nchunkings) {
  int64_t n = rows * cols;
  rv *vx = malloc((size_t)n * sizeof *vx);
  rv *vy = malloc((size_t)cols * sizeof *vy);
  uint64_t seed = 42;
  for (int64_t i = 0; i < n; i++) {
    vx[i] = (rv){0, (double)(int64_t)rng_below(&seed, 2001) / 250.0 - 4.0};
  }
  for (int64_t j = 0; j < cols; j++) {
    vy[j] = (rv){0, (double)(int64_t)rng_below(&seed, 1001) / 100.0 - 5.0};
  }
  void *first = NULL;
  ref_arr *want = NULL;
  for (int c = 0; c < nchunkings; c++) {
    floe_shape rowchunks = chunkings[c];
    if (rowchunks.ndim == 2) {
      rowchunks = FLOE_SHAPE(1, chunkings[c].dim[1]);
    }
    input x = make_input(ctx, FLOE_FLOAT64, FLOE_SHAPE(rows, cols), chunkings[c], vx, n);
    input y = make_input(ctx, FLOE_FLOAT32, FLOE_SHAPE(1, cols), rowchunks, vy, cols);
    floe_array *e = floe_add(floe_multiply(floe_sqrt(floe_abs(x.a)), y.a), floe_sin(x.a));
    floe_array *z = floe_where(floe_greater(x.a, y.a), e, floe_subtract(y.a, floe_scalar(ctx, 1)));
    floe_status st;
    if (want == NULL) {
      ref_arr *ab = ref_unary(FLOE_ABS, x.r, &st);
      ref_arr *sq = ref_unary(FLOE_SQRT, ab, &st);
      ref_arr *m = ref_binary(FLOE_MULTIPLY, sq, y.r, &st);
      ref_arr *s = ref_unary(FLOE_SIN, x.r, &st);
      ref_arr *ee = ref_binary(FLOE_ADD, m, s, &st);
      ref_arr *g = ref_binary(FLOE_GREATER, x.r, y.r, &st);
      ref_arr *one = ref_scalar_float(1);
      ref_arr *d = ref_binary(FLOE_SUBTRACT, y.r, one, &st);
      want = ref_where(g, ee, d, &st);
      ref_free(ab);
      ref_free(sq);
      ref_free(m);
      ref_free(s);
      ref_free(ee);
      ref_free(g);
      ref_free(one);
      ref_free(d);
    }
    expect_ref(z, want, "chunking %d of (%lld, %lld)", c, (long long)rows, (long long)cols);
    void *got = compute_new(z);
    if (first == NULL) {
      first = got;
    } else {
      if (memcmp(first, got, (size_t)floe_array_nbytes(z)) != 0) {
        soft_fail("chunking %d of (%lld, %lld) changes the bits", c, (long long)rows,
                  (long long)cols);
      }
      free(got);
    }
    free_input(&x);
    free_input(&y);
  }
  free(first);
  ref_free(want);
  free(vx);
  free(vy);
}

Test(chunking, results_do_not_depend_on_chunks) {
  floe_ctx *ctx = open_ctx(2);
  const floe_shape small[] = {FLOE_AUTO,          FLOE_SHAPE(1, 1),  FLOE_SHAPE(2, 5),
                              FLOE_SHAPE(-1, 1),  FLOE_SHAPE(7, -1), FLOE_SHAPE(3, 4),
                              FLOE_SHAPE(100, 3), FLOE_SHAPE(-1, -1)};
  chunking_case(ctx, 7, 13, small, (int)(sizeof small / sizeof small[0]));
  const floe_shape large[] = {FLOE_AUTO,         FLOE_SHAPE(10, 1100), FLOE_SHAPE(-1, 1000),
                              FLOE_SHAPE(37, 1), FLOE_SHAPE(5, 333),   FLOE_SHAPE(1, -1)};
  chunking_case(ctx, 37, 2100, large, (int)(sizeof large / sizeof large[0]));
  check_done();
  floe_close(ctx);
}

Test(chunking, chunk_specs_resolve) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_CHUNK_BYTES, (int64_t)8000);
  floe_options_set(o, FLOE_OPT_THREADS, 2);
  floe_ctx *ctx;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK);
  floe_options_free(o);
  /* automatic: trailing axes whole while they fit, near chunk_bytes */
  floe_array *a = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(100, 50), FLOE_AUTO);
  floe_shape c = floe_array_chunks(a);
  cr_assert_eq(c.ndim, 2);
  cr_assert_eq(c.dim[1], 50);
  cr_assert(c.dim[0] >= 1 && c.dim[0] * 50 * 8 <= 8000, "chunks (%lld, 50)", (long long)c.dim[0]);
  a = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(10, 3000), FLOE_AUTO);
  c = floe_array_chunks(a);
  cr_assert_eq(c.dim[0], 1);
  cr_assert(c.dim[1] * 8 <= 8000 && c.dim[1] >= 500);
  /* -1 is the whole axis; lengths over the axis are clipped */
  a = floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(100, 50), FLOE_SHAPE(-1, 7));
  c = floe_array_chunks(a);
  cr_assert_eq(c.dim[0], 100);
  cr_assert_eq(c.dim[1], 7);
  a = floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(100, 50), FLOE_SHAPE(1000, 1));
  c = floe_array_chunks(a);
  cr_assert_eq(c.dim[0], 100);
  cr_assert_eq(c.dim[1], 1);
  /* a 0-d array has no chunks; a big array of AUTO chunks computes right */
  a = floe_zeros(ctx, FLOE_INT32, FLOE_SCALAR_SHAPE, FLOE_AUTO);
  cr_assert_eq(floe_array_chunks(a).ndim, 0);
  a = floe_arange(ctx, FLOE_INT64, 0, 10000, 1, FLOE_AUTO);
  cr_assert_lt(floe_array_chunks(a).dim[0], 10000);
  int64_t *v = compute_new(a);
  for (int64_t i = 0; i < 10000; i++) {
    cr_assert_eq(v[i], i);
  }
  free(v);
  check_done();
  floe_close(ctx);
}

Test(chunking, bad_specs_are_errors) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(4, 5), FLOE_SHAPE(2));
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  assert_has(floe_array_message(a), "floe_zeros");
  a = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(4, 5), FLOE_SHAPE(2, 0));
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  assert_has(floe_array_message(a), "floe_ones");
  a = floe_full(ctx, FLOE_FLOAT64, FLOE_SHAPE(4, 5), FLOE_SHAPE(-2, 1), 1.0);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  a = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(4, -5), FLOE_AUTO);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  assert_has(floe_array_message(a), "negative");
  floe_shape nine = {9, {1, 1, 1, 1, 1, 1, 1, 1}};
  a = floe_zeros(ctx, FLOE_FLOAT64, nine, FLOE_AUTO);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  floe_shape negative = {-3, {0}};
  a = floe_zeros(ctx, FLOE_FLOAT64, negative, FLOE_AUTO);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  /* eight dimensions are fine */
  floe_array *e = floe_ones(ctx, FLOE_INT32, FLOE_SHAPE(2, 1, 2, 1, 2, 1, 2, 1), FLOE_AUTO);
  cr_assert_eq(floe_array_status(e), FLOE_OK);
  cr_assert_eq(compute_scalar(floe_sum(e, FLOE_ALL)), 16.0);
  check_done();
  floe_close(ctx);
}

/* -------------------------------------------------------------- creation */

Test(creation, zeros_ones_full_every_dtype) {
  floe_ctx *ctx = open_ctx(2);
  for (int k = 0; k < NDT; k++) {
    floe_dtype dt = ALL_DT[k];
    floe_shape s = FLOE_SHAPE(3, 4, 5);
    floe_array *z = floe_zeros(ctx, dt, s, FLOE_SHAPE(2, 3, 2));
    floe_array *o = floe_ones(ctx, dt, s, FLOE_AUTO);
    double fillv = dt == FLOE_BOOL ? 1 : dt == FLOE_UINT8 ? 200 : ref_is_float(dt) ? -2.75 : -7;
    floe_array *f = floe_full(ctx, dt, s, FLOE_SHAPE(1, 4, 1), fillv);
    rv zero = {0, 0.0}, one = {1, 1.0};
    rv fv = ref_is_float(dt) ? (rv){0, fillv} : (rv){(int64_t)fillv, fillv};
    ref_arr *rz = ref_full(dt, s, zero), *ro = ref_full(dt, s, one), *rf = ref_full(dt, s, fv);
    expect_ref(z, rz, "zeros %s", ref_dtype_name(dt));
    expect_ref(o, ro, "ones %s", ref_dtype_name(dt));
    expect_ref(f, rf, "full %s", ref_dtype_name(dt));
    cr_assert_eq(floe_array_size(f), 60);
    cr_assert_eq(floe_array_nbytes(f), 60 * ref_dtype_size(dt));
    cr_assert_eq(floe_array_ndim(f), 3);
    ref_free(rz);
    ref_free(ro);
    ref_free(rf);
  }
  /* NaN fills integers with 0; floats keep NaN and -0.0 */
  int32_t iv[3];
  cr_assert_eq(floe_compute(floe_full(ctx, FLOE_INT32, FLOE_SHAPE(3), FLOE_AUTO, NAN), iv, 12),
               FLOE_OK);
  cr_assert_eq(iv[1], 0);
  cr_assert_eq(floe_compute(floe_full(ctx, FLOE_INT32, FLOE_SHAPE(3), FLOE_AUTO, -3.9), iv, 12),
               FLOE_OK);
  cr_assert_eq(iv[2], -3, "a C cast truncates");
  double dv[3];
  cr_assert_eq(
      floe_compute(floe_full(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_SHAPE(1), -0.0), dv, 24),
      FLOE_OK);
  cr_assert(dv[2] == 0 && signbit(dv[2]));
  bool bv[3];
  cr_assert_eq(floe_compute(floe_full(ctx, FLOE_BOOL, FLOE_SHAPE(3), FLOE_AUTO, 0.5), bv, 3),
               FLOE_OK);
  cr_assert(bv[0]);
  /* bad dtypes and a NULL context */
  floe_array *bad = floe_zeros(ctx, FLOE_DTYPE_COUNT_, FLOE_SHAPE(3), FLOE_AUTO);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_DTYPE);
  assert_has(floe_array_message(bad), "floe_zeros");
  bad = floe_full(ctx, (floe_dtype)-4, FLOE_SHAPE(3), FLOE_AUTO, 1);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_DTYPE);
  cr_assert_null(floe_zeros(NULL, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO));
  assert_has(floe_error_message(NULL), "NULL");
  cr_assert_null(floe_ones(NULL, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO));
  cr_assert_null(floe_full(NULL, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 2));
  check_done();
  floe_close(ctx);
}

/* Regression: a constant (floe_full, floe_ones, ...) read in another dtype
 * than its own was filled from the double the user passed, not from the
 * value the array holds: src/graph/fuse.c, value_of(), FLOE__NODE_FULL
 * branch, emitted FILL from the unconverted p.full.value.  full(int32, 3.7)
 * read as 3.7 in float64, full(bool, 0.5) as 0.5, full(float32, 0.1) as the
 * double 0.1, also when promotion cast them (x_f64 + full(int32, 3.7)). */
Test(creation, full_constants_convert_their_stored_value) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *i = floe_full(ctx, FLOE_INT32, FLOE_SHAPE(4), FLOE_AUTO, 3.7);
  floe_array *b = floe_full(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO, 0.5);
  floe_array *f = floe_full(ctx, FLOE_FLOAT32, FLOE_SHAPE(4), FLOE_AUTO, 0.1);
  floe_array *z = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO);
  double v[4];
  cr_assert_eq(floe_compute(floe_astype(i, FLOE_FLOAT64), v, sizeof v), FLOE_OK);
  cr_expect_eq(v[0], 3.0, "astype(full(int32, 3.7), float64) = %.17g, want 3", v[0]);
  cr_assert_eq(floe_compute(floe_add(i, z), v, sizeof v), FLOE_OK);
  cr_expect_eq(v[0], 3.0, "full(int32, 3.7) + zeros(float64) = %.17g, want 3", v[0]);
  cr_assert_eq(floe_compute(floe_astype(b, FLOE_FLOAT64), v, sizeof v), FLOE_OK);
  cr_expect_eq(v[0], 1.0, "astype(full(bool, 0.5), float64) = %.17g, want 1", v[0]);
  cr_assert_eq(floe_compute(floe_astype(f, FLOE_FLOAT64), v, sizeof v), FLOE_OK);
  cr_expect_eq(v[0], (double)0.1f, "astype(full(float32, 0.1), float64) = %.17g, want %.17g", v[0],
               (double)0.1f);
  cr_expect_eq(compute_scalar(floe_sum(floe_astype(i, FLOE_FLOAT64), FLOE_ALL)), 12.0);
  check_done();
  floe_close(ctx);
}

/* Regression: floe_scalar(x) cast to an integer dtype read as 0: floe_scalar
 * (src/array/create.c) never set p.full.ivalue, from which fuse.c's value_of
 * fills integer registers, so astype(scalar(2.7), int32) computed 0. */
Test(creation, float_scalar_cast_to_integer) {
  floe_ctx *ctx = open_ctx(1);
  int32_t i[1];
  cr_assert_eq(floe_compute(floe_astype(floe_scalar(ctx, 2.7), FLOE_INT32), i, sizeof i), FLOE_OK);
  cr_expect_eq(i[0], 2, "astype(scalar(2.7), int32) = %d", i[0]);
  int64_t l[1];
  cr_assert_eq(floe_compute(floe_astype(floe_scalar(ctx, -5.0), FLOE_INT64), l, sizeof l), FLOE_OK);
  cr_expect_eq(l[0], -5, "astype(scalar(-5.0), int64) = %lld", (long long)l[0]);
  check_done();
  floe_close(ctx);
}

/* Regression: a negated Python-like integer escaped the range check of
 * NEP 50: src/array/ops.c kept negative(scalar_int(1)) weak, but weak_value()
 * returns 0 for any node that is not a constant, so u8 + negative(
 * scalar_int(1)) was accepted as uint8 (and wrapped).  Negation of a
 * constant is now folded into the constant. */
Test(dtypes, negated_weak_integer_is_range_checked) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *u8 = floe_full(ctx, FLOE_UINT8, FLOE_SHAPE(2), FLOE_AUTO, 3);
  cr_assert_eq(floe_array_status(floe_add(u8, floe_scalar_int(ctx, -1))), FLOE_ERR_DTYPE);
  floe_array *z = floe_add(u8, floe_negative(floe_scalar_int(ctx, 1)));
  cr_expect_eq(floe_array_status(z), FLOE_ERR_DTYPE, "uint8 + (-1) is accepted as %s (status %s)",
               ref_dtype_name(floe_array_dtype(z)), floe_status_name(floe_array_status(z)));
  check_done();
  floe_close(ctx);
}

/* BUG: arithmetic between Python-like scalars loses NumPy 2's meaning.
 * (a) A weak integer computed from weak integers is never range checked:
 *     src/array/ops.c, weak_value() (lines 103-105) gives 0 for any node
 *     that is not FLOE__NODE_FULL, so u8 + (scalar_int(200) + scalar_int(200))
 *     is accepted as uint8 and wraps (3 + 400 -> 147), where NumPy 2 (and
 *     floe.h: "an integer dtype that cannot hold the value is an error")
 *     refuses 400 for uint8, as floe does for u8 + scalar_int(400).  The
 *     fix for negation (folding -constant) does not reach other operations.
 * (b) Python's 1 / 2 is a Python float, still weak; floe_binary
 *     (src/array/ops.c:176) keeps a result weak only when its dtype equals
 *     the promoted one, so scalar_int(1) / scalar_int(2) becomes a strong
 *     float64 and f32 + (1 / 2) is float64 instead of float32. */
Test(dtypes, arithmetic_of_weak_scalars_stays_python_like) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *u8 = floe_full(ctx, FLOE_UINT8, FLOE_SHAPE(2), FLOE_AUTO, 3);
  cr_assert_eq(floe_array_status(floe_add(u8, floe_scalar_int(ctx, 400))), FLOE_ERR_DTYPE);
  floe_array *s400 = floe_add(floe_scalar_int(ctx, 200), floe_scalar_int(ctx, 200));
  floe_array *z = floe_add(u8, s400);
  cr_expect_eq(floe_array_status(z), FLOE_ERR_DTYPE,
               "uint8 + (200 + 200) is accepted as %s (status %s)",
               ref_dtype_name(floe_array_dtype(z)), floe_status_name(floe_array_status(z)));
  floe_array *f32 = floe_full(ctx, FLOE_FLOAT32, FLOE_SHAPE(2), FLOE_AUTO, 3);
  floe_array *half = floe_divide(floe_scalar_int(ctx, 1), floe_scalar_int(ctx, 2));
  cr_expect_eq(floe_array_dtype(floe_add(f32, half)), FLOE_FLOAT32,
               "float32 + (1 / 2) is %s, NumPy 2 gives float32",
               ref_dtype_name(floe_array_dtype(floe_add(f32, half))));
  floe_close(ctx);
}

Test(creation, arange) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_dtype dt;
    double start, stop, step;
    int64_t n;
  } cases[] = {
      {FLOE_FLOAT64, 0, 10, 1, 10},     {FLOE_FLOAT64, 0, 1, 0.1, 10},
      {FLOE_FLOAT64, 0.5, 3.2, 0.7, 4}, {FLOE_FLOAT64, 10, 0, -3, 4},
      {FLOE_FLOAT32, -1, 1, 0.25, 8},   {FLOE_INT32, 10, 0, -3, 4},
      {FLOE_INT32, 0, 5, 1.5, 4},       {FLOE_INT64, -5, 1e6, 7, 142858},
      {FLOE_UINT8, 0, 256, 1, 256},     {FLOE_FLOAT64, 5, 0, 1, 0},
      {FLOE_FLOAT64, 0, 0, 1, 0},       {FLOE_FLOAT64, 1e9, 1e9 + 5, 0.5, 10},
      {FLOE_BOOL, 0, 3, 1, 3},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    floe_array *a =
        floe_arange(ctx, cases[c].dt, cases[c].start, cases[c].stop, cases[c].step, FLOE_SHAPE(3));
    cr_assert_eq(floe_array_status(a), FLOE_OK, "case %zu: %s", c, floe_array_message(a));
    cr_assert_eq(floe_array_ndim(a), 1);
    cr_assert_eq(floe_array_size(a), cases[c].n, "case %zu: %lld elements", c,
                 (long long)floe_array_size(a));
    /* element i = start + i * step, converted as by a C cast */
    ref_arr *r = ref_new(cases[c].dt, 1, &cases[c].n);
    for (int64_t i = 0; i < cases[c].n; i++) {
      bool undef = false;
      r->x[i] = ref_convert((rv){0, cases[c].start + (double)i * cases[c].step}, FLOE_FLOAT64,
                            cases[c].dt, &undef);
      cr_assert(!undef);
    }
    expect_ref(a, r, "arange case %zu", c);
    ref_free(r);
  }
  /* bad arguments */
  const double bad[][3] = {{0, 10, 0}, {NAN, 1, 1}, {0, INFINITY, 1}, {0, 1, NAN}, {0, 1, -0.0}};
  for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
    floe_array *a = floe_arange(ctx, FLOE_FLOAT64, bad[c][0], bad[c][1], bad[c][2], FLOE_AUTO);
    cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID, "bad case %zu", c);
    assert_has(floe_array_message(a), "floe_arange");
  }
  cr_assert_eq(floe_array_status(floe_arange(ctx, FLOE_DTYPE_COUNT_, 0, 3, 1, FLOE_AUTO)),
               FLOE_ERR_DTYPE);
  cr_assert_null(floe_arange(NULL, FLOE_FLOAT64, 0, 3, 1, FLOE_AUTO));
  check_done();
  floe_close(ctx);
}

Test(creation, linspace) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_dtype dt;
    double start, stop;
    int64_t num;
  } cases[] = {
      {FLOE_FLOAT64, 0, 1, 7}, {FLOE_FLOAT64, 0.1, 0.7, 3}, {FLOE_FLOAT64, 1, -1, 1001},
      {FLOE_FLOAT64, 3, 9, 1}, {FLOE_FLOAT64, 3, 9, 0},     {FLOE_FLOAT32, 0, 1, 11},
      {FLOE_INT32, 0, 10, 5},  {FLOE_FLOAT64, 2, 2, 4},     {FLOE_FLOAT64, -1e-3, 7.1, 97},
      {FLOE_INT64, -8, 8, 17},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t num = cases[c].num;
    floe_array *a = floe_linspace(ctx, cases[c].dt, cases[c].start, cases[c].stop, num,
                                  num > 10 ? FLOE_SHAPE(7) : FLOE_SHAPE(2));
    cr_assert_eq(floe_array_size(a), num);
    ref_arr *r = ref_new(cases[c].dt, 1, &num);
    double step = num > 1 ? (cases[c].stop - cases[c].start) / (double)(num - 1) : 0;
    for (int64_t i = 0; i < num; i++) {
      /* numpy.linspace: start + i * step, the last element exactly stop */
      double v = (i == num - 1 && num > 1) ? cases[c].stop : cases[c].start + (double)i * step;
      bool undef = false;
      r->x[i] = ref_convert((rv){0, v}, FLOE_FLOAT64, cases[c].dt, &undef);
    }
    expect_ref(a, r, "linspace case %zu", c);
    if (num > 1 && cases[c].dt == FLOE_FLOAT64) {
      double *v = compute_new(a);
      cr_assert_eq(v[num - 1], cases[c].stop, "the endpoint is exact");
      cr_assert_eq(v[0], cases[c].start);
      free(v);
    }
    ref_free(r);
  }
  /* the endpoint is exact however the array is chunked */
  for (int64_t ch = 1; ch <= 8; ch++) {
    floe_array *a = floe_linspace(ctx, FLOE_FLOAT64, 0.1, 0.3, 9, FLOE_SHAPE(ch));
    double v[9];
    cr_assert_eq(floe_compute(a, v, sizeof v), FLOE_OK);
    cr_assert_eq(v[8], 0.3);
  }
  floe_array *bad = floe_linspace(ctx, FLOE_FLOAT64, 0, 1, -1, FLOE_AUTO);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_linspace");
  bad = floe_linspace(ctx, FLOE_FLOAT64, NAN, 1, 3, FLOE_AUTO);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  bad = floe_linspace(ctx, FLOE_FLOAT64, 0, -INFINITY, 3, FLOE_AUTO);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  cr_assert_null(floe_linspace(NULL, FLOE_FLOAT64, 0, 1, 3, FLOE_AUTO));
  check_done();
  floe_close(ctx);
}

Test(creation, from_buffer_every_dtype) {
  floe_ctx *ctx = open_ctx(2);
  rv vals[64];
  for (int k = 0; k < NDT; k++) {
    int64_t n = values_of(ALL_DT[k], vals);
    input x = make_input(ctx, ALL_DT[k], FLOE_SHAPE(3, n), FLOE_SHAPE(2, 5), vals, n);
    expect_ref(x.a, x.r, "from_buffer %s", ref_dtype_name(ALL_DT[k]));
    /* the buffer is read at compute time, not copied at creation */
    void *direct = compute_new(x.a);
    cr_assert_eq(memcmp(direct, x.buf, (size_t)(3 * n) * ref_dtype_size(ALL_DT[k])), 0);
    free(direct);
    free_input(&x);
  }
  double data[6] = {1, 2, 3, 4, 5, 6};
  floe_array *a = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2, 3), FLOE_SHAPE(1, 2), data);
  data[4] = 50;
  double out[6];
  cr_assert_eq(floe_compute(a, out, sizeof out), FLOE_OK);
  cr_assert_eq(out[4], 50);
  floe_array *bad = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO, NULL);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_from_buffer");
  cr_assert_null(floe_from_buffer(NULL, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO, data));
  check_done();
  floe_close(ctx);
}

/* Philox4x32-10 as published (Salmon et al., SC 2011), for the stream
 * layout of src/kernels/rng-internal.h. */
static void philox(uint64_t seed, uint64_t blk, uint32_t out[4]) {
  uint32_t x[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), 0, 0};
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * x[0], p1 = (uint64_t)0xCD9E8D57u * x[2];
    uint32_t y0 = (uint32_t)(p1 >> 32) ^ x[1] ^ k0, y2 = (uint32_t)(p0 >> 32) ^ x[3] ^ k1;
    x[1] = (uint32_t)p1;
    x[3] = (uint32_t)p0;
    x[0] = y0;
    x[2] = y2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  memcpy(out, x, sizeof x);
}

static double uniform_ref_f64(uint64_t seed, uint64_t i) {
  uint32_t w[4];
  philox(seed, i / 2, w);
  uint64_t u = i % 2 ? (w[2] | (uint64_t)w[3] << 32) : (w[0] | (uint64_t)w[1] << 32);
  return (double)(u >> 11) * 0x1p-53;
}

static double uniform_ref_f32(uint64_t seed, uint64_t i) {
  uint32_t w[4];
  philox(seed, i / 4, w);
  return (double)(w[i % 4] >> 8) * 0x1p-24;
}

Test(creation, philox_known_answer) {
  /* Random123's known-answer vector for philox4x32_10(ctr 0, key 0) */
  uint32_t w[4];
  philox(0, 0, w);
  cr_assert_eq(w[0], 0x6627e8d5u);
  cr_assert_eq(w[1], 0xe169c58du);
  cr_assert_eq(w[2], 0xbc57ac4cu);
  cr_assert_eq(w[3], 0x9b00dbd8u);
}

Test(creation, random_uniform_matches_the_stream) {
  floe_ctx *ctx = open_ctx(2);
  const int64_t n = 20011;
  const uint64_t seed = 0x123456789abcdefull;
  const double lo = -3.0, hi = 5.0;
  double *d = compute_new(
      floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n), FLOE_SHAPE(997), seed, lo, hi));
  float *f = compute_new(
      floe_random_uniform(ctx, FLOE_FLOAT32, FLOE_SHAPE(n), FLOE_SHAPE(1001), seed, lo, hi));
  for (int64_t i = 0; i < n; i++) {
    double want = lo + (hi - lo) * uniform_ref_f64(seed, (uint64_t)i);
    cr_assert_eq(d[i], want, "float64 element %lld: %.17g, want %.17g", (long long)i, d[i], want);
    cr_assert(d[i] >= lo && d[i] < hi);
    float wf = (float)(lo + (hi - lo) * uniform_ref_f32(seed, (uint64_t)i));
    if (wf >= (float)hi) {
      wf = nextafterf((float)hi, -INFINITY);
    }
    cr_assert_eq(f[i], wf, "float32 element %lld: %.9g, want %.9g", (long long)i, f[i], wf);
    cr_assert(f[i] >= lo && f[i] < hi);
  }
  free(d);
  free(f);
  /* [0, 1) by default shape; high is never reached even where rounding
     would give it (float32 of [0, 1)) */
  float *g = compute_new(
      floe_random_uniform(ctx, FLOE_FLOAT32, FLOE_SHAPE(200000), FLOE_AUTO, 9, 0.0, 1.0));
  double mean = 0;
  for (int64_t i = 0; i < 200000; i++) {
    cr_assert(g[i] >= 0.0f && g[i] < 1.0f, "element %lld = %.9g", (long long)i, g[i]);
    mean += g[i];
  }
  mean /= 200000;
  cr_assert(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / 200000), "mean %g", mean);
  free(g);
  check_done();
  floe_close(ctx);
}

Test(creation, random_normal_matches_box_muller) {
  floe_ctx *ctx = open_ctx(2);
  const int64_t n = 10007;
  const uint64_t seed = 77;
  double *d = compute_new(
      floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(n), FLOE_SHAPE(333), seed, 10.0, 2.0));
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = (uint64_t)i / 2;
    double u1 = 1.0 - uniform_ref_f64(seed, 2 * k), u2 = uniform_ref_f64(seed, 2 * k + 1);
    double r = sqrt(-2.0 * log(u1));
    double z = i % 2 ? r * sin(2 * M_PI * u2) : r * cos(2 * M_PI * u2);
    double want = 10.0 + 2.0 * z;
    cr_assert(fabs(d[i] - want) <= 1e-12 * (1 + fabs(want)), "element %lld: %.17g, want %.17g",
              (long long)i, d[i], want);
    s += d[i];
    s2 += d[i] * d[i];
  }
  double mean = s / n, sd = sqrt(s2 / n - mean * mean);
  cr_assert(fabs(mean - 10) < 5 * 2 / sqrt((double)n), "mean %g", mean);
  cr_assert(fabs(sd - 2) < 0.1, "sd %g", sd);
  free(d);
  float *f = compute_new(
      floe_random_normal(ctx, FLOE_FLOAT32, FLOE_SHAPE(n), FLOE_SHAPE(1000), seed, 0.0, 1.0));
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = (uint64_t)i / 2; /* pairs of float32 words: (0, 1), (2, 3) */
    double u1 = 1.0 - uniform_ref_f32(seed, 2 * k), u2 = uniform_ref_f32(seed, 2 * k + 1);
    double r = sqrt(-2.0 * log(u1));
    double want = i % 2 ? r * sin(2 * M_PI * u2) : r * cos(2 * M_PI * u2);
    cr_assert(fabs(f[i] - want) <= 1e-6 * (1 + fabs(want)), "float32 element %lld: %.9g, want %.9g",
              (long long)i, f[i], want);
  }
  free(f);
  check_done();
  floe_close(ctx);
}

/* The same numbers whatever the chunking and the thread count. */
Test(creation, random_is_chunking_and_thread_invariant) {
  const floe_shape chunkings[] = {FLOE_AUTO,         FLOE_SHAPE(1, 1),  FLOE_SHAPE(7, 3),
                                  FLOE_SHAPE(-1, 1), FLOE_SHAPE(1, -1), FLOE_SHAPE(13, 5)};
  const int threads[] = {1, 2, 8};
  for (int kind = 0; kind < 4; kind++) {
    floe_dtype dt = kind % 2 ? FLOE_FLOAT32 : FLOE_FLOAT64;
    void *first = NULL;
    size_t nbytes = 0;
    for (int t = 0; t < 3; t++) {
      floe_ctx *ctx = open_ctx(threads[t]);
      for (size_t c = 0; c < sizeof chunkings / sizeof chunkings[0]; c++) {
        floe_shape s = FLOE_SHAPE(29, 37);
        floe_array *a = kind < 2 ? floe_random_uniform(ctx, dt, s, chunkings[c], 5, -1, 1)
                                 : floe_random_normal(ctx, dt, s, chunkings[c], 5, 0, 1);
        void *v = compute_new(a);
        if (first == NULL) {
          first = v;
          nbytes = (size_t)floe_array_nbytes(a);
        } else {
          cr_assert_eq(memcmp(first, v, nbytes), 0, "kind %d: %d threads, chunking %zu differ",
                       kind, threads[t], c);
          free(v);
        }
      }
      /* an element read through broadcasting is the same value */
      floe_array *col =
          kind < 2 ? floe_random_uniform(ctx, dt, FLOE_SHAPE(29, 1), FLOE_SHAPE(3, 1), 5, -1, 1)
                   : floe_random_normal(ctx, dt, FLOE_SHAPE(29, 1), FLOE_SHAPE(3, 1), 5, 0, 1);
      floe_array *wide = floe_add(col, floe_zeros(ctx, dt, FLOE_SHAPE(1, 4), FLOE_AUTO));
      void *cv = compute_new(col), *wv = compute_new(wide);
      size_t isz = floe_dtype_size(dt);
      for (int i = 0; i < 29; i++) {
        for (int j = 0; j < 4; j++) {
          cr_assert_eq(memcmp((char *)cv + i * isz, (char *)wv + (i * 4 + j) * isz, isz), 0);
        }
      }
      free(cv);
      free(wv);
      floe_close(ctx);
    }
    free(first);
  }
}

Test(creation, random_bad_arguments) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_random_uniform(ctx, FLOE_INT32, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, 1);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_DTYPE);
  assert_has(floe_array_message(a), "floe_random_uniform");
  a = floe_random_normal(ctx, FLOE_BOOL, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, 1);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_DTYPE);
  assert_has(floe_array_message(a), "floe_random_normal");
  a = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, NAN, 1);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  a = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, INFINITY);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  a = floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, -1);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  a = floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, NAN);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  a = floe_random_normal(ctx, FLOE_FLOAT32, FLOE_SHAPE(-3), FLOE_AUTO, 1, 0, 1);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_SHAPE);
  cr_assert_null(floe_random_uniform(NULL, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, 1));
  cr_assert_null(floe_random_normal(NULL, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 0, 1));
  /* stddev 0 gives the mean; low == high gives low */
  double v[3];
  cr_assert_eq(
      floe_compute(floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 4.5, 0), v,
                   sizeof v),
      FLOE_OK);
  cr_assert_eq(v[2], 4.5);
  cr_assert_eq(
      floe_compute(floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, 1, 2.0, 2.0), v,
                   sizeof v),
      FLOE_OK);
  cr_assert_eq(v[1], 2.0);
  check_done();
  floe_close(ctx);
}

/* ------------------------------------------------- handles, scopes, errors */

Test(handles, accessors) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(4, 6), FLOE_SHAPE(3, 4));
  cr_assert_eq(floe_array_status(a), FLOE_OK);
  cr_assert_str_eq(floe_array_message(a), "");
  cr_assert_eq(floe_array_ndim(a), 2);
  cr_assert_eq(floe_array_shape(a).dim[1], 6);
  cr_assert_eq(floe_array_chunks(a).dim[0], 3);
  cr_assert_eq(floe_array_dtype(a), FLOE_INT32);
  cr_assert_eq(floe_array_size(a), 24);
  cr_assert_eq(floe_array_nbytes(a), 96);
  cr_assert_eq(floe_array_ctx(a), ctx);
  /* NULL, error and released arrays: ndim 0, size 0, no dtype */
  floe_array *e = floe_add(a, floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(5), FLOE_AUTO));
  floe_array *r = floe_ones(ctx, FLOE_INT32, FLOE_SHAPE(4), FLOE_AUTO);
  floe_release(r);
  const floe_array *odd[] = {NULL, e, r};
  for (int k = 0; k < 3; k++) {
    cr_assert_eq(floe_array_ndim(odd[k]), 0);
    cr_assert_eq(floe_array_shape(odd[k]).ndim, 0);
    cr_assert_eq(floe_array_chunks(odd[k]).ndim, 0);
    cr_assert_eq(floe_array_size(odd[k]), 0);
    cr_assert_eq(floe_array_nbytes(odd[k]), 0);
    cr_assert_eq(floe_array_dtype(odd[k]), FLOE_DTYPE_COUNT_);
    cr_assert_neq(floe_array_status(odd[k]), FLOE_OK);
    cr_assert_not_null(floe_array_message(odd[k]));
    cr_assert_gt(strlen(floe_array_message(odd[k])), 0);
  }
  cr_assert_null(floe_array_ctx(NULL));
  cr_assert_null(floe_array_ctx(r));
  cr_assert_eq(floe_array_ctx(e), ctx);
  cr_assert_eq(floe_array_status(NULL), FLOE_ERR_INVALID);
  check_done();
  floe_close(ctx);
}

Test(handles, released_arrays_are_reported) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *x = floe_arange(ctx, FLOE_FLOAT64, 0, 10, 1, FLOE_SHAPE(3));
  floe_array *y = floe_multiply(x, x);
  floe_array *dead = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_AUTO);
  floe_release(dead);
  floe_release(dead); /* twice: ignored, never a crash */
  floe_release(NULL);
  cr_assert_eq(floe_array_status(dead), FLOE_ERR_INVALID);
  assert_has(floe_array_message(dead), "released");
  /* operations get an error array naming themselves and the argument */
  floe_array *z = floe_add(x, dead);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  assert_has(floe_array_message(z), "floe_add");
  assert_has(floe_array_message(z), "released");
  assert_has(floe_array_message(z), "second");
  z = floe_sqrt(dead);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  assert_has(floe_array_message(z), "released");
  z = floe_where(dead, x, y);
  assert_has(floe_array_message(z), "released");
  z = floe_sum(dead, FLOE_ALL);
  assert_has(floe_array_message(z), "released");
  z = floe_astype(dead, FLOE_INT32);
  assert_has(floe_array_message(z), "released");
  z = floe_clip(x, dead, NULL);
  assert_has(floe_array_message(z), "released");
  /* running entry points fail with FLOE_ERR_INVALID and say why */
  double buf[10];
  cr_assert_eq(floe_compute(dead, buf, sizeof buf), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "released");
  double v;
  cr_assert_eq(floe_compute_scalar(dead, &v), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "released");
  floe_array *p = floe_persist(dead);
  cr_assert_eq(floe_array_status(p), FLOE_ERR_INVALID);
  assert_has(floe_array_message(p), "released");
  floe_plan_info plan;
  cr_assert_eq(floe_plan(dead, &plan), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "released");
  cr_assert_eq(floe_graph_dot(dead, stderr), FLOE_ERR_INVALID);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, dead, buf, sizeof buf), FLOE_ERR_INVALID);
  cr_assert_eq(floe_job_run(job), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "released");
  floe_job_free(job);
  cr_assert_eq(floe_keep(dead), dead);
  /* releasing an input does not disturb arrays built on it */
  floe_release(x);
  cr_assert_eq(floe_compute(y, buf, sizeof buf), FLOE_OK);
  cr_assert_eq(buf[9], 81.0);
  check_done();
  floe_close(ctx);
}

Test(handles, scopes_release_what_they_made) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *outside = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(5), FLOE_AUTO);
  cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
  floe_array *a = floe_arange(ctx, FLOE_FLOAT64, 0, 5, 1, FLOE_AUTO);
  floe_array *b = floe_add(a, outside);
  floe_array *kept = floe_keep(floe_multiply(b, b));
  cr_assert_eq(floe_scope_begin(ctx), FLOE_OK); /* nested */
  floe_array *inner = floe_negative(kept);
  floe_array *inner_kept = floe_keep(floe_sqrt(kept));
  cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
  cr_assert_eq(floe_array_status(inner), FLOE_ERR_INVALID);
  cr_assert_eq(floe_array_status(inner_kept), FLOE_OK, "kept into the outer scope");
  cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  cr_assert_eq(floe_array_status(b), FLOE_ERR_INVALID);
  assert_has(floe_array_message(b), "released");
  cr_assert_eq(floe_array_status(inner_kept), FLOE_ERR_INVALID,
               "kept once: the outer scope releases it");
  cr_assert_eq(floe_array_status(outside), FLOE_OK);
  cr_assert_eq(floe_array_status(kept), FLOE_OK);
  double v[5];
  cr_assert_eq(floe_compute(kept, v, sizeof v), FLOE_OK);
  cr_assert_eq(v[4], 25.0);
  /* misuse */
  cr_assert_eq(floe_scope_end(ctx), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_scope_end");
  cr_assert_eq(floe_scope_begin(NULL), FLOE_ERR_INVALID);
  cr_assert_eq(floe_scope_end(NULL), FLOE_ERR_INVALID);
  cr_assert_null(floe_keep(NULL));
  /* a loop that builds many graphs stays bounded inside a scope */
  for (int i = 0; i < 2000; i++) {
    cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
    floe_array *t = floe_sum(floe_add(kept, floe_scalar(ctx, i)), FLOE_ALL);
    cr_assert_eq(compute_scalar(t), 55.0 + 5 * i);
    cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
  }
  /* a scope left open is closed with its context */
  cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
  floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(5), FLOE_AUTO);
  check_done();
  floe_close(ctx);
}

static void *scope_other_thread(void *arg) {
  floe_ctx *ctx = arg;
  return floe_ones(ctx, FLOE_INT32, FLOE_SHAPE(3), FLOE_AUTO);
}

Test(handles, scopes_are_per_thread) {
  floe_ctx *ctx = open_ctx(2);
  cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
  pthread_t t;
  floe_array *theirs = NULL;
  pthread_create(&t, NULL, scope_other_thread, ctx);
  pthread_join(t, (void **)&theirs);
  floe_array *mine = floe_ones(ctx, FLOE_INT32, FLOE_SHAPE(3), FLOE_AUTO);
  cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
  cr_assert_eq(floe_array_status(mine), FLOE_ERR_INVALID);
  cr_assert_eq(floe_array_status(theirs), FLOE_OK);
  check_done();
  floe_close(ctx);
}

Test(handles, sticky_errors_keep_the_first_message) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *x = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO);
  floe_array *bad = floe_add(x, floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO));
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_SHAPE);
  char first[512];
  snprintf(first, sizeof first, "%s", floe_array_message(bad));
  assert_has(first, "floe_add");
  floe_array *other =
      floe_sqrt(floe_ones(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO)); /* fine: float32 */
  floe_array *bad2 = floe_negative(floe_ones(ctx, FLOE_BOOL, FLOE_SHAPE(4), FLOE_AUTO));
  cr_assert_eq(floe_array_status(bad2), FLOE_ERR_DTYPE);
  floe_array *chain[] = {
      floe_sqrt(floe_multiply(bad, x)),
      floe_sum(floe_exp(bad), FLOE_AXES(0)),
      floe_where(x, bad, x),
      floe_where(x, x, bad),
      floe_where(bad, x, x),
      floe_astype(bad, FLOE_INT32),
      floe_clip(bad, x, x),
      floe_clip(x, bad, NULL),
      floe_clip(x, NULL, bad),
      floe_add(bad, bad2), /* the first argument's error wins */
      floe_reduce_ddof(FLOE_VAR, bad, FLOE_ALL, 1),
      floe_persist(bad),
      floe_mean(floe_add(floe_sqrt(floe_multiply(bad, x)), other), FLOE_ALL),
  };
  for (size_t k = 0; k < sizeof chain / sizeof chain[0]; k++) {
    cr_assert_eq(floe_array_status(chain[k]), FLOE_ERR_SHAPE, "chain %zu", k);
    cr_assert_str_eq(floe_array_message(chain[k]), first, "chain %zu", k);
    double buf[4];
    cr_assert_eq(floe_compute(chain[k], buf, sizeof buf), FLOE_ERR_SHAPE);
    cr_assert_str_eq(floe_error_message(ctx), first);
  }
  cr_assert_str_eq(floe_array_message(floe_add(bad2, bad)), floe_array_message(bad2));
  floe_plan_info plan;
  cr_assert_eq(floe_plan(chain[0], &plan), FLOE_ERR_SHAPE);
  cr_assert_eq(floe_graph_dot(chain[0], stderr), FLOE_ERR_SHAPE);
  double s;
  cr_assert_eq(floe_compute_scalar(chain[1], &s), FLOE_ERR_SHAPE);
  cr_assert_str_eq(floe_error_message(ctx), first);
  floe_job *job = floe_job_new(ctx);
  double buf[4];
  cr_assert_eq(floe_job_add_buffer(job, x, buf, sizeof buf), FLOE_OK);
  cr_assert_eq(floe_job_add_buffer(job, chain[2], buf, sizeof buf), FLOE_ERR_SHAPE);
  cr_assert_eq(floe_job_run(job), FLOE_ERR_SHAPE);
  assert_has(floe_error_message(ctx), first);
  floe_job_free(job);
  check_done();
  floe_close(ctx);
}

/* Every public array function with NULL arguments: an error, never a crash. */
Test(handles, null_arguments) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO);
  /* creation without a context gives NULL and a message */
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  cr_assert_null(floe_scalar(NULL, 1.0));
  assert_has(floe_error_message(NULL), "floe_scalar");
  cr_assert_null(floe_scalar_int(NULL, 1));
  assert_has(floe_error_message(NULL), "floe_scalar_int");
  /* operations with only NULL arguments: NULL and a message */
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  cr_assert_null(floe_add(NULL, NULL));
  assert_has(floe_error_message(NULL), "floe_add");
  cr_assert_null(floe_sqrt(NULL));
  cr_assert_null(floe_unary(FLOE_EXP, NULL));
  cr_assert_null(floe_binary(FLOE_ADD, NULL, NULL));
  cr_assert_null(floe_where(NULL, NULL, NULL));
  cr_assert_null(floe_astype(NULL, FLOE_INT32));
  cr_assert_null(floe_clip(NULL, x, x));
  cr_assert_null(floe_sum(NULL, FLOE_ALL));
  cr_assert_null(floe_reduce_ddof(FLOE_VAR, NULL, FLOE_ALL, 1));
  cr_assert_null(floe_persist(NULL));
  assert_has(floe_error_message(NULL), "floe_persist");
  /* with one good argument: an error array naming the op and the argument */
  struct {
    floe_array *a;
    const char *op, *arg;
  } cases[] = {
      {floe_add(x, NULL), "floe_add", "second"},
      {floe_subtract(NULL, x), "floe_subtract", "first"},
      {floe_binary(FLOE_HYPOT, x, NULL), "floe_hypot", "second"},
      {floe_where(NULL, x, x), "floe_where", "first"},
      {floe_where(x, NULL, x), "floe_where", "second"},
      {floe_where(x, x, NULL), "floe_where", "third"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    cr_assert_eq(floe_array_status(cases[k].a), FLOE_ERR_INVALID, "case %zu", k);
    assert_has(floe_array_message(cases[k].a), cases[k].op);
    assert_has(floe_array_message(cases[k].a), cases[k].arg);
    assert_has(floe_array_message(cases[k].a), "NULL");
  }
  /* clip's bounds may be NULL: no bound */
  cr_assert_eq(floe_array_status(floe_clip(x, NULL, NULL)), FLOE_OK);
  /* running */
  double buf[3], v;
  cr_assert_eq(floe_compute(NULL, buf, sizeof buf), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_compute");
  cr_assert_eq(floe_compute(x, NULL, sizeof buf), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "buffer");
  cr_assert_eq(floe_compute_scalar(NULL, &v), FLOE_ERR_INVALID);
  cr_assert_eq(floe_compute_scalar(floe_sum(x, FLOE_ALL), NULL), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_compute_scalar");
  floe_plan_info plan;
  cr_assert_eq(floe_plan(NULL, &plan), FLOE_ERR_INVALID);
  cr_assert_eq(floe_plan(x, NULL), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_plan");
  cr_assert_eq(floe_graph_dot(NULL, stderr), FLOE_ERR_INVALID);
  cr_assert_eq(floe_graph_dot(x, NULL), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_graph_dot");
  cr_assert_null(floe_job_new(NULL));
  assert_has(floe_error_message(NULL), "floe_job_new");
  cr_assert_eq(floe_job_add_buffer(NULL, x, buf, sizeof buf), FLOE_ERR_INVALID);
  cr_assert_eq(floe_job_run(NULL), FLOE_ERR_INVALID);
  floe_job_free(NULL);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, NULL, buf, sizeof buf), FLOE_ERR_INVALID);
  cr_assert_eq(floe_job_run(job), FLOE_ERR_INVALID);
  floe_job_free(job);
  job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, x, NULL, sizeof buf), FLOE_ERR_INVALID);
  floe_job_free(job);
  check_done();
  floe_close(ctx);
}

Test(handles, compute_buffers) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *x = floe_arange(ctx, FLOE_INT32, 0, 12, 1, FLOE_SHAPE(5));
  floe_array *y = floe_multiply(x, floe_scalar_int(ctx, 3));
  unsigned char buf[64];
  memset(buf, 0xAB, sizeof buf);
  /* too small: nothing written, the message names the op and the sizes */
  cr_assert_eq(floe_compute(y, buf, 47), FLOE_ERR_INVALID);
  const char *msg = floe_error_message(ctx);
  assert_has(msg, "floe_compute");
  assert_has(msg, "47");
  assert_has(msg, "48");
  for (size_t i = 0; i < sizeof buf; i++) {
    cr_assert_eq(buf[i], 0xAB, "byte %zu was written", i);
  }
  memset(buf, 0xAB, sizeof buf);
  cr_assert_eq(floe_compute(floe_sum(y, FLOE_ALL), buf, 7), FLOE_ERR_INVALID);
  for (size_t i = 0; i < sizeof buf; i++) {
    cr_assert_eq(buf[i], 0xAB);
  }
  /* exactly enough, and more than enough (the rest untouched) */
  cr_assert_eq(floe_compute(y, buf, sizeof buf), FLOE_OK);
  int32_t v[12];
  memcpy(v, buf, sizeof v);
  for (int i = 0; i < 12; i++) {
    cr_assert_eq(v[i], 3 * i);
  }
  for (size_t i = 48; i < sizeof buf; i++) {
    cr_assert_eq(buf[i], 0xAB);
  }
  cr_assert_eq(floe_compute(y, NULL, 48), FLOE_ERR_INVALID);
  /* empty arrays need no buffer */
  cr_assert_eq(floe_compute(floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(0, 4), FLOE_AUTO), NULL, 0),
               FLOE_OK);
  /* compute_scalar: one element, any shape; several elements refused */
  double s;
  cr_assert_eq(floe_compute_scalar(y, &s), FLOE_ERR_SHAPE);
  assert_has(floe_error_message(ctx), "floe_compute_scalar");
  assert_has(floe_error_message(ctx), "(12,)");
  cr_assert_eq(floe_compute_scalar(floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(0), FLOE_AUTO), &s),
               FLOE_ERR_SHAPE);
  cr_assert_eq(compute_scalar(floe_full(ctx, FLOE_UINT8, FLOE_SHAPE(1, 1, 1), FLOE_AUTO, 200)),
               200.0);
  cr_assert_eq(compute_scalar(floe_sum(y, FLOE_ALL)), 198.0);
  cr_assert_eq(compute_scalar(floe_full(ctx, FLOE_BOOL, FLOE_SCALAR_SHAPE, FLOE_AUTO, 1)), 1.0);
  cr_assert_eq(compute_scalar(floe_full(ctx, FLOE_FLOAT32, FLOE_SHAPE(1), FLOE_AUTO, 0.1)),
               (double)0.1f);
  cr_assert_eq(compute_scalar(floe_full(ctx, FLOE_INT64, FLOE_SHAPE(1), FLOE_AUTO, -2e15)), -2e15);
  check_done();
  floe_close(ctx);
}

Test(handles, arrays_of_different_contexts_do_not_mix) {
  floe_ctx *c1 = open_ctx(1), *c2 = open_ctx(1);
  floe_array *a = floe_ones(c1, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO);
  floe_array *b = floe_ones(c2, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO);
  floe_array *z = floe_add(a, b);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  assert_has(floe_array_message(z), "floe_add");
  assert_has(floe_array_message(z), "different contexts");
  z = floe_where(floe_ones(c1, FLOE_BOOL, FLOE_SHAPE(3), FLOE_AUTO), a, b);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  z = floe_clip(a, NULL, b);
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  z = floe_multiply(b, floe_scalar(c1, 2));
  cr_assert_eq(floe_array_status(z), FLOE_ERR_INVALID);
  floe_job *job = floe_job_new(c1);
  double buf[3];
  cr_assert_eq(floe_job_add_buffer(job, b, buf, sizeof buf), FLOE_ERR_INVALID);
  assert_has(floe_error_message(c1), "context");
  cr_assert_eq(floe_job_run(job), FLOE_ERR_INVALID);
  floe_job_free(job);
  /* each context still computes its own */
  cr_assert_eq(compute_scalar(floe_sum(a, FLOE_ALL)), 3.0);
  cr_assert_eq(compute_scalar(floe_sum(b, FLOE_ALL)), 3.0);
  floe_close(c2);
  cr_assert_eq(compute_scalar(floe_sum(a, FLOE_ALL)), 3.0);
  floe_close(c1);
}

/* Several user threads build, compute and release on one context at once. */
typedef struct worker {
  floe_ctx *ctx;
  int id;
  int failures;
  char msg[256];
} worker;

static void *compute_worker(void *arg) {
  worker *w = arg;
  for (int it = 0; it < 30; it++) {
    floe_scope_begin(w->ctx);
    int64_t n = 5000 + 97 * w->id + it;
    floe_array *x = floe_arange(w->ctx, FLOE_INT64, 0, (double)n, 1, FLOE_SHAPE(333 + w->id));
    floe_array *sq = floe_multiply(x, x);
    double s = 0;
    floe_status st = floe_compute_scalar(floe_sum(sq, FLOE_ALL), &s);
    double want = (double)(n - 1) * (double)n * (double)(2 * n - 1) / 6;
    int64_t *v = malloc((size_t)n * sizeof *v);
    floe_status st2 = floe_compute(floe_add(sq, floe_scalar_int(w->ctx, w->id)), v, (size_t)n * 8);
    bool ok = st == FLOE_OK && st2 == FLOE_OK && s == want;
    for (int64_t i = 0; ok && i < n; i++) {
      ok = v[i] == i * i + w->id;
    }
    free(v);
    floe_scope_end(w->ctx);
    if (!ok) {
      w->failures++;
      snprintf(w->msg, sizeof w->msg, "thread %d, iteration %d: %s, sum %.17g want %.17g", w->id,
               it, floe_error_message(w->ctx), s, want);
    }
  }
  return NULL;
}

Test(handles, several_user_threads_compute_at_once) {
  floe_ctx *ctx = open_ctx(2);
  enum { T = 4 };
  pthread_t th[T];
  worker w[T];
  for (int t = 0; t < T; t++) {
    w[t] = (worker){ctx, t, 0, ""};
    cr_assert_eq(pthread_create(&th[t], NULL, compute_worker, &w[t]), 0);
  }
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
  }
  for (int t = 0; t < T; t++) {
    cr_assert_eq(w[t].failures, 0, "%s", w[t].msg);
  }
  check_done();
  floe_close(ctx);
}
