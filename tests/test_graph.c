/* Array graphs through the public API: reductions (every op, dtype and set
 * of axes, keepdims, ddof, NaN, empty selections) against the naive
 * reference of array_ref.c; fusion of elementwise chains into reductions and
 * reductions consumed by elementwise programs; bit-identical results for any
 * thread count; persist, multi-output jobs, plans and DOT dumps; and a
 * seeded property test of random expression trees over random shapes and
 * chunkings, evaluated by floe and by the reference. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
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

static floe_ctx *open_ctx_fanin(int threads, int fanin) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, threads), FLOE_OK);
  if (fanin > 0) {
    cr_assert_eq(floe_options_set(o, FLOE_OPT_REDUCE_FANIN, fanin), FLOE_OK);
  }
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "floe_open: %s", floe_error_message(NULL));
  floe_options_free(o);
  return ctx;
}

static floe_ctx *open_ctx(int threads) {
  return open_ctx_fanin(threads, 0);
}

#define assert_has(text, needle)                                                                   \
  cr_assert(contains((text), (needle)), "'%s' does not contain '%s'", (text), (needle))

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

/* Checks dtype, shape and values of `a` against r; returns the mismatches
 * (0) after asserting, or fills `why` and returns them when `soft`. */
static int64_t check_ref(floe_array *a, const ref_arr *r, bool soft, char *why, size_t cap,
                         int64_t *compared) {
  char s1[128], s2[128];
  if (floe_array_status(a) != FLOE_OK) {
    snprintf(why, cap, "status %s: %s", floe_status_name(floe_array_status(a)),
             floe_array_message(a));
    cr_assert(soft, "%s", why);
    return 1;
  }
  floe_shape s = floe_array_shape(a);
  bool same = floe_array_dtype(a) == r->dt && s.ndim == r->ndim;
  for (int d = 0; same && d < s.ndim; d++) {
    same = s.dim[d] == r->shape[d];
  }
  if (!same) {
    snprintf(why, cap, "%s %s, expected %s %s", ref_dtype_name(floe_array_dtype(a)),
             ref_shape_str(s1, sizeof s1, s.ndim, s.dim), ref_dtype_name(r->dt),
             ref_shape_str(s2, sizeof s2, r->ndim, r->shape));
    cr_assert(soft, "%s", why);
    return 1;
  }
  size_t nbytes = (size_t)floe_array_nbytes(a);
  void *buf = malloc(nbytes + 8);
  floe_status st = floe_compute(a, buf, nbytes);
  if (st != FLOE_OK) {
    snprintf(why, cap, "compute failed: %s", floe_error_message(NULL));
    free(buf);
    cr_assert(soft, "%s", why);
    return 1;
  }
  ref_cmp c;
  ref_compare(r, buf, &c);
  free(buf);
  if (compared != NULL) {
    *compared += c.compared;
  }
  if (c.mismatches) {
    snprintf(why, cap, "%lld of %lld elements differ; first: %s", (long long)c.mismatches,
             (long long)c.compared, c.first);
    cr_assert(soft, "%s", why);
  }
  return c.mismatches;
}

static void expect_ref(floe_array *a, const ref_arr *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_ref(floe_array *a, const ref_arr *r, const char *fmt, ...) {
  char what[512], why[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (check_ref(a, r, true, why, sizeof why, NULL) != 0) {
    cr_assert_fail("%s: %s", what, why);
  }
}

/* A C-order buffer with random values of dtype dt: small integers with an
 * occasional extreme, floats on a 1/8 grid (ties) or anywhere, rarely
 * special. */
static void *random_data(floe_dtype dt, int64_t n, uint64_t *seed, bool specials) {
  void *buf = calloc((size_t)(n > 0 ? n : 1), ref_dtype_size(dt));
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_below(seed, 1000);
    rv v = {0, 0};
    switch (dt) {
    case FLOE_BOOL:
      v.i = r & 1;
      break;
    case FLOE_UINT8:
      v.i = r < 20 ? (int64_t)rng_below(seed, 256) : (int64_t)rng_below(seed, 21);
      break;
    case FLOE_INT32:
    case FLOE_INT64: {
      static const int64_t ext32[] = {INT32_MIN, INT32_MAX, -(1 << 20), 1 << 24};
      static const int64_t ext64[] = {INT64_MIN, INT64_MAX, -(1ll << 40), 1ll << 53};
      if (r < 15) {
        v.i = dt == FLOE_INT32 ? ext32[r % 4] : ext64[r % 4];
      } else {
        v.i = (int64_t)rng_below(seed, 21) - 10;
      }
      break;
    }
    default:
      if (specials && r < 20) {
        static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0};
        v.d = sp[r % 5];
      } else if (r < 500) {
        v.d = ((double)(int64_t)rng_below(seed, 81) - 40) / 8;
      } else {
        v.d = (double)(rng_next(seed) >> 11) * 0x1p-53 * 8 - 4;
      }
      break;
    }
    v.d = ref_is_float(dt) ? v.d : (double)v.i;
    ref_store(buf, dt, i, v);
  }
  return buf;
}

static floe_axes axes_of_mask(uint32_t mask, int ndim, bool keepdims, bool negative) {
  floe_axes ax = {0, keepdims, {0}};
  for (int d = 0; d < ndim; d++) {
    if (mask & (1u << d)) {
      ax.axis[ax.n++] = negative ? d - ndim : d;
    }
  }
  return ax;
}

/* ------------------------------------------------------------- reductions */

typedef floe_array *(*reduce_fn)(floe_array *, floe_axes);
static const reduce_fn REDUCE_FN[] = {
#define F(NAME, name) floe_##name,
    FLOE_REDUCE_MAP(F)
#undef F
};

/* Every reduction of every dtype over every set of axes, with and without
 * keepdims, on ragged chunkings. */
Test(reductions, every_op_dtype_and_axes) {
  floe_ctx *ctx = open_ctx_fanin(2, 3);
  const struct {
    floe_shape shape, chunks;
  } cases[] = {
      {FLOE_SHAPE(29), FLOE_SHAPE(4)},
      {FLOE_SHAPE(4, 5, 6), FLOE_SHAPE(3, 2, 4)},
      {FLOE_SHAPE(3, 1, 4, 2), FLOE_SHAPE(1, 1, 3, 2)},
      {FLOE_SHAPE(6, 7), FLOE_SHAPE(1, -1)},
  };
  uint64_t seed = 2024;
  int64_t checks = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const int nd = cases[c].shape.ndim;
    for (int k = 0; k < NDT; k++) {
      floe_dtype dt = ALL_DT[k];
      int64_t n = 1;
      for (int d = 0; d < nd; d++) {
        n *= cases[c].shape.dim[d];
      }
      void *data = random_data(dt, n, &seed, false);
      floe_array *x = floe_from_buffer(ctx, dt, cases[c].shape, cases[c].chunks, data);
      ref_arr *rx = ref_from_buffer(dt, cases[c].shape, data);
      for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
        for (int mask = -1; mask < (1 << nd); mask++) {
          for (int keep = 0; keep < 2; keep++) {
            floe_axes ax = mask < 0 ? FLOE_ALL : axes_of_mask((uint32_t)mask, nd, keep, mask & 1);
            if (mask < 0 && keep) {
              ax = FLOE_KEEPDIMS(FLOE_ALL);
            }
            uint32_t m = mask < 0 ? (1u << nd) - 1 : (uint32_t)mask;
            floe_status st;
            ref_arr *r = ref_reduce((floe_reduce_op)op, rx, m, keep, 0, &st);
            floe_array *y = REDUCE_FN[op](x, ax);
            if (st != FLOE_OK) {
              cr_assert_eq(floe_array_status(y), st, "%s of %s over mask %d: %s",
                           ref_reduce_name((floe_reduce_op)op), ref_dtype_name(dt), mask,
                           floe_array_message(y));
            } else {
              expect_ref(y, r, "%s of %s shape case %zu, axes mask %d, keepdims %d",
                         ref_reduce_name((floe_reduce_op)op), ref_dtype_name(dt), c, mask, keep);
              checks++;
            }
            ref_free(r);
            floe_release(y);
          }
        }
      }
      floe_release(x);
      ref_free(rx);
      free(data);
    }
  }
  cr_assert_gt(checks, 3000);
  floe_close(ctx);
}

Test(reductions, ddof_and_variance) {
  floe_ctx *ctx = open_ctx(2);
  uint64_t seed = 5;
  double *data = random_data(FLOE_FLOAT64, 60, &seed, false);
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(6, 10), FLOE_SHAPE(4, 3), data);
  ref_arr *rx = ref_from_buffer(FLOE_FLOAT64, FLOE_SHAPE(6, 10), data);
  for (int ddof = 0; ddof <= 12; ddof++) {
    for (int op = FLOE_VAR; op <= FLOE_STD; op++) {
      for (uint32_t mask = 1; mask < 4; mask++) {
        floe_status st;
        ref_arr *r = ref_reduce((floe_reduce_op)op, rx, mask, false, ddof, &st);
        floe_array *y =
            floe_reduce_ddof((floe_reduce_op)op, x, axes_of_mask(mask, 2, false, false), ddof);
        expect_ref(y, r, "%s ddof %d mask %u", ref_reduce_name((floe_reduce_op)op), ddof, mask);
        ref_free(r);
      }
    }
  }
  /* NumPy's corner values: var([1, 2, 3], ddof=3) is inf, of equal values
     with ddof = n NaN, of an integer array float64 */
  double v3[] = {1, 2, 3};
  floe_array *a = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO, v3);
  cr_assert(isinf(compute_scalar(floe_reduce_ddof(FLOE_VAR, a, FLOE_ALL, 3))));
  cr_assert_eq(compute_scalar(floe_reduce_ddof(FLOE_VAR, a, FLOE_ALL, 1)), 1.0);
  cr_assert_eq(compute_scalar(floe_reduce_ddof(FLOE_STD, a, FLOE_ALL, 1)), 1.0);
  cr_assert_eq(compute_scalar(floe_var(a, FLOE_ALL)), 2.0 / 3.0);
  double eq[] = {4, 4};
  floe_array *e = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO, eq);
  cr_assert(isnan(compute_scalar(floe_reduce_ddof(FLOE_VAR, e, FLOE_ALL, 2))));
  int32_t iv[] = {1, 2, 3, 4};
  floe_array *ia = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(4), FLOE_SHAPE(3), iv);
  floe_array *iva = floe_var(ia, FLOE_ALL);
  cr_assert_eq(floe_array_dtype(iva), FLOE_FLOAT64);
  cr_assert_eq(compute_scalar(iva), 1.25);
  floe_array *bad = floe_reduce_ddof(FLOE_VAR, x, FLOE_ALL, -1);
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_var");
  ref_free(rx);
  free(data);
  floe_close(ctx);
}

Test(reductions, argmin_argmax) {
  floe_ctx *ctx = open_ctx(2);
  /* ties: the first occurrence; NaN: the first NaN */
  double v[] = {3, 1, 1, 0, 0, 5, 5, -2, -2, 7};
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(10), FLOE_SHAPE(3), v);
  cr_assert_eq(compute_scalar(floe_argmin(x, FLOE_ALL)), 7.0);
  cr_assert_eq(compute_scalar(floe_argmax(x, FLOE_ALL)), 9.0);
  double w[] = {1, NAN, 3, NAN, -1};
  floe_array *y = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(5), FLOE_SHAPE(2), w);
  cr_assert_eq(compute_scalar(floe_argmax(y, FLOE_ALL)), 1.0);
  cr_assert_eq(compute_scalar(floe_argmin(y, FLOE_ALL)), 1.0);
  /* 2-D: flat index over all axes, per-axis index over one */
  double m[] = {5, 2, 9, 2, 1, 7, 9, 8, 0, 3, 3, 4};
  floe_array *a = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(3, 4), FLOE_SHAPE(2, 3), m);
  cr_assert_eq(compute_scalar(floe_argmax(a, FLOE_ALL)), 2.0);
  cr_assert_eq(compute_scalar(floe_argmin(a, FLOE_ALL)), 8.0);
  int64_t o[4];
  floe_array *ax0 = floe_argmax(a, FLOE_AXES(0));
  cr_assert_eq(floe_array_dtype(ax0), FLOE_INT64);
  cr_assert_eq(floe_compute(ax0, o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 0 && o[1] == 1 && o[2] == 0 && o[3] == 1, "%lld %lld %lld %lld",
            (long long)o[0], (long long)o[1], (long long)o[2], (long long)o[3]);
  int64_t o3[3];
  cr_assert_eq(floe_compute(floe_argmin(a, FLOE_AXES(-1)), o3, sizeof o3), FLOE_OK);
  cr_assert(o3[0] == 1 && o3[1] == 0 && o3[2] == 0);
  floe_array *k = floe_argmin(a, FLOE_KEEPDIMS(FLOE_AXES(1)));
  cr_assert_eq(floe_array_shape(k).ndim, 2);
  cr_assert_eq(floe_array_shape(k).dim[1], 1);
  /* two of three axes is refused */
  floe_array *c = floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(2, 3, 4), FLOE_AUTO);
  floe_array *bad = floe_argmax(c, FLOE_AXES(0, 2));
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_INVALID);
  assert_has(floe_array_message(bad), "floe_argmax");
  /* an argmin of a large array across many chunks */
  floe_array *big =
      floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(100003), FLOE_SHAPE(4099), 3, 0, 1);
  double *bv = compute_new(big);
  int64_t best = 0;
  for (int64_t i = 1; i < 100003; i++) {
    best = bv[i] < bv[best] ? i : best;
  }
  cr_assert_eq(compute_scalar(floe_argmin(big, FLOE_ALL)), (double)best);
  free(bv);
  floe_close(ctx);
}

/* Regression: argmin/argmax over an empty set of axes of a 1-D array was
 * accepted, then lowered with an uninitialised axis.  floe.h says they take
 * FLOE_ALL or one axis, but src/array/ops.c checked the number of axes only
 * when ndim > 1; lowering then had no reduced axis yet flat_index false, and
 * src/graph/lower.c wrote s->index_stride[red_ax[0]] with red_ax[0] never
 * set: an out-of-bounds write through a garbage index (the property test
 * crashed on it).  Only the status is checked, so that a regression cannot
 * corrupt the test's memory. */
Test(reductions, argmin_over_no_axes) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_arange(ctx, FLOE_FLOAT64, 0, 5, 1, FLOE_AUTO);
  floe_axes none = {0, 0, {0}};
  floe_array *a = floe_argmin(x, none);
  cr_expect_eq(floe_array_status(a), FLOE_ERR_INVALID, "argmin over no axes: status %s",
               floe_status_name(floe_array_status(a)));
  floe_array *b = floe_argmax(x, FLOE_KEEPDIMS(none));
  cr_expect_eq(floe_array_status(b), FLOE_ERR_INVALID, "argmax over no axes: status %s",
               floe_status_name(floe_array_status(b)));
  floe_close(ctx);
}

/* Reductions of multi-tile chunks (more than the VM's 1024-element tiles)
 * over each axis, against the reference, for fan-ins 2, 8 and 64. */
Test(reductions, large_chunks_and_fanins) {
  const int fanins[] = {2, 8, 64};
  const int64_t R = TEST_SIZE(300), C = 2500;
  uint64_t seed = 8;
  double *data = random_data(FLOE_FLOAT64, R * C, &seed, false);
  ref_arr *rx = ref_from_buffer(FLOE_FLOAT64, FLOE_SHAPE(R, C), data);
  const floe_reduce_op ops[] = {FLOE_SUM, FLOE_MEAN, FLOE_VAR, FLOE_MIN, FLOE_ARGMAX, FLOE_PROD};
  const floe_shape chunkings[] = {FLOE_SHAPE(64, 1100), FLOE_SHAPE(7, -1), FLOE_SHAPE(-1, 999)};
  for (int f = 0; f < 3; f++) {
    floe_ctx *ctx = open_ctx_fanin(2, fanins[f]);
    for (int c = 0; c < 3; c++) {
      floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(R, C), chunkings[c], data);
      for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        for (uint32_t mask = 1; mask < 4; mask++) {
          if (ops[k] == FLOE_PROD && mask != 1) {
            continue; /* long products under- and overflow */
          }
          floe_status st;
          ref_arr *r = ref_reduce(ops[k], rx, mask, false, 0, &st);
          floe_array *y = floe_reduce(ops[k], x, axes_of_mask(mask, 2, false, false));
          expect_ref(y, r, "%s mask %u, chunking %d, fan-in %d", ref_reduce_name(ops[k]), mask, c,
                     fanins[f]);
          ref_free(r);
          floe_release(y);
        }
      }
      floe_release(x);
    }
    floe_close(ctx);
  }
  ref_free(rx);
  free(data);
}

Test(reductions, nan_behaviour) {
  floe_ctx *ctx = open_ctx(2);
  double v[] = {1, NAN, -3, 2, NAN, 0.5};
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2, 3), FLOE_SHAPE(1, 2), v);
  cr_assert(isnan(compute_scalar(floe_sum(x, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_max(x, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_min(x, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_mean(x, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_var(x, FLOE_ALL))));
  cr_assert_eq(compute_scalar(floe_nansum(x, FLOE_ALL)), 0.5);
  cr_assert_eq(compute_scalar(floe_nanmax(x, FLOE_ALL)), 2.0);
  cr_assert_eq(compute_scalar(floe_nanmin(x, FLOE_ALL)), -3.0);
  cr_assert_eq(compute_scalar(floe_nanmean(x, FLOE_ALL)), 0.125);
  cr_assert_eq(compute_scalar(floe_any(x, FLOE_ALL)), 1.0);
  /* per axis: columns 1 (both NaN), rows */
  double o[3];
  cr_assert_eq(floe_compute(floe_nanmax(x, FLOE_AXES(0)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 2 && isnan(o[1]) && o[2] == 0.5, "nanmax of all-NaN is NaN");
  cr_assert_eq(floe_compute(floe_nansum(x, FLOE_AXES(0)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 3 && o[1] == 0 && o[2] == -2.5, "nansum of all-NaN is 0");
  cr_assert_eq(floe_compute(floe_nanmean(x, FLOE_AXES(0)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 1.5 && isnan(o[1]) && o[2] == -1.25, "nanmean of all-NaN is NaN");
  cr_assert_eq(floe_compute(floe_max(x, FLOE_AXES(0)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 2 && isnan(o[1]) && o[2] == 0.5);
  /* inf */
  double w[] = {INFINITY, 1, -INFINITY};
  floe_array *y = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_SHAPE(1), w);
  cr_assert(isnan(compute_scalar(floe_sum(y, FLOE_ALL))));
  cr_assert_eq(compute_scalar(floe_max(y, FLOE_ALL)), INFINITY);
  cr_assert_eq(compute_scalar(floe_argmin(y, FLOE_ALL)), 2.0);
  cr_assert(isnan(compute_scalar(floe_std(y, FLOE_ALL))));
  floe_close(ctx);
}

Test(reductions, empty_selections) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *e = floe_zeros(ctx, FLOE_FLOAT64, FLOE_SHAPE(0), FLOE_AUTO);
  cr_assert_eq(compute_scalar(floe_sum(e, FLOE_ALL)), 0.0);
  cr_assert_eq(compute_scalar(floe_nansum(e, FLOE_ALL)), 0.0);
  cr_assert_eq(compute_scalar(floe_prod(e, FLOE_ALL)), 1.0);
  cr_assert(isnan(compute_scalar(floe_mean(e, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_nanmean(e, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_var(e, FLOE_ALL))));
  cr_assert(isnan(compute_scalar(floe_std(e, FLOE_ALL))));
  cr_assert_eq(compute_scalar(floe_any(e, FLOE_ALL)), 0.0);
  cr_assert_eq(compute_scalar(floe_all(e, FLOE_ALL)), 1.0);
  floe_array *ei = floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(0), FLOE_AUTO);
  floe_array *si = floe_sum(ei, FLOE_ALL);
  cr_assert_eq(floe_array_dtype(si), FLOE_INT64);
  cr_assert_eq(compute_scalar(si), 0.0);
  /* min, max, argmin, argmax and the nan forms of nothing are errors */
  const floe_reduce_op noident[] = {FLOE_MIN,    FLOE_MAX,    FLOE_ARGMIN,
                                    FLOE_ARGMAX, FLOE_NANMIN, FLOE_NANMAX};
  for (size_t k = 0; k < sizeof noident / sizeof noident[0]; k++) {
    floe_array *r = floe_reduce(noident[k], e, FLOE_ALL);
    cr_assert_neq(floe_array_status(r), FLOE_OK, "%s of nothing", ref_reduce_name(noident[k]));
    char name[64];
    snprintf(name, sizeof name, "floe_%s", ref_reduce_name(noident[k]));
    assert_has(floe_array_message(r), name);
    double v;
    cr_assert_neq(floe_compute_scalar(r, &v), FLOE_OK);
  }
  /* (3, 0) over the empty axis: one identity per row; min refused */
  floe_array *m = floe_ones(ctx, FLOE_FLOAT32, FLOE_SHAPE(3, 0), FLOE_SHAPE(2, 1));
  float o[3] = {9, 9, 9};
  cr_assert_eq(floe_compute(floe_sum(m, FLOE_AXES(1)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 0 && o[1] == 0 && o[2] == 0);
  cr_assert_eq(floe_compute(floe_prod(m, FLOE_AXES(1)), o, sizeof o), FLOE_OK);
  cr_assert(o[0] == 1 && o[2] == 1);
  cr_assert_neq(floe_array_status(floe_min(m, FLOE_AXES(1))), FLOE_OK);
  /* over the non-empty axis the result is empty, which is fine */
  floe_array *mn = floe_min(m, FLOE_AXES(0));
  cr_assert_eq(floe_array_status(mn), FLOE_OK);
  cr_assert_eq(floe_array_size(mn), 0);
  cr_assert_eq(floe_compute(mn, NULL, 0), FLOE_OK);
  floe_array *s2 = floe_sum(m, FLOE_KEEPDIMS(FLOE_AXES(0)));
  cr_assert_eq(floe_array_shape(s2).dim[0], 1);
  cr_assert_eq(floe_array_shape(s2).dim[1], 0);
  /* a job with an empty output */
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, mn, NULL, 0), FLOE_OK);
  cr_assert_eq(floe_job_run(job), FLOE_OK);
  floe_job_free(job);
  floe_close(ctx);
}

Test(reductions, bad_axes) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *r = floe_sum(x, FLOE_AXES(2));
  cr_assert_eq(floe_array_status(r), FLOE_ERR_INVALID);
  assert_has(floe_array_message(r), "floe_sum");
  assert_has(floe_array_message(r), "axis 2");
  r = floe_mean(x, FLOE_AXES(-3));
  cr_assert_eq(floe_array_status(r), FLOE_ERR_INVALID);
  r = floe_max(x, FLOE_AXES(1, -1));
  cr_assert_eq(floe_array_status(r), FLOE_ERR_INVALID);
  assert_has(floe_array_message(r), "repeated");
  r = floe_reduce((floe_reduce_op)FLOE_REDUCE_COUNT_, x, FLOE_ALL);
  cr_assert_eq(floe_array_status(r), FLOE_ERR_INVALID);
  assert_has(floe_array_message(r), "floe_reduce");
  floe_axes many = {9, 0, {0}};
  r = floe_sum(x, many);
  cr_assert_eq(floe_array_status(r), FLOE_ERR_INVALID);
  /* a 0-d array reduces over no axes */
  floe_array *s = floe_full(ctx, FLOE_INT32, FLOE_SCALAR_SHAPE, FLOE_AUTO, 7);
  cr_assert_eq(compute_scalar(floe_sum(s, FLOE_ALL)), 7.0);
  cr_assert_eq(compute_scalar(floe_argmax(s, FLOE_ALL)), 0.0);
  floe_close(ctx);
}

/* Float sums over many chunks: pairwise within chunks and a fixed tree
 * across them keep the error near the rounding of the result. */
Test(reductions, float_sums_are_accurate) {
  floe_ctx *ctx = open_ctx(2);
  const int64_t n = TEST_SIZE(2000003);
  floe_array *x =
      floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n), FLOE_SHAPE(65521), 11, 0.0, 1.0);
  double *v = compute_new(x);
  long double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    s += v[i];
  }
  long double mean = s / n;
  for (int64_t i = 0; i < n; i++) {
    s2 += (v[i] - mean) * (v[i] - mean);
  }
  double got = compute_scalar(floe_sum(x, FLOE_ALL));
  cr_assert(fabs(got - (double)s) <= 4e-15 * (double)s, "sum %.17g vs %.17Lg", got, s);
  got = compute_scalar(floe_mean(x, FLOE_ALL));
  cr_assert(fabs(got - (double)mean) <= 4e-15, "mean %.17g vs %.17Lg", got, mean);
  got = compute_scalar(floe_var(x, FLOE_ALL));
  cr_assert(fabs(got - (double)(s2 / n)) <= 1e-13 * (double)(s2 / n), "var %.17g vs %.17Lg", got,
            s2 / n);
  /* float32 accumulates in float64: the sum is the exact sum rounded once */
  floe_array *f = floe_astype(x, FLOE_FLOAT32);
  float *fv = compute_new(f);
  long double fs = 0;
  for (int64_t i = 0; i < n; i++) {
    fs += fv[i];
  }
  double fgot = compute_scalar(floe_sum(f, FLOE_ALL));
  cr_assert(fabs(fgot - (double)(float)fs) <= ref_ulp((double)fs, FLOE_FLOAT32),
            "float32 sum %.9g vs %.9g", fgot, (double)(float)fs);
  free(v);
  free(fv);
  floe_close(ctx);
}

/* Results are bit-identical for 1, 2 and 8 threads. */
Test(reductions, bit_identical_for_any_thread_count) {
  const int threads[] = {1, 2, 8};
  enum { NOUT = 7 };
  double first[NOUT];
  float *colmean_first = NULL;
  for (int t = 0; t < 3; t++) {
    floe_ctx *ctx = open_ctx(threads[t]);
    const int64_t rows = TEST_SIZE(1000), cols = 1003;
    floe_array *x = floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(rows, cols),
                                       FLOE_SHAPE(77, 251), 99, 3.0, 2.0);
    floe_array *f = floe_random_uniform(ctx, FLOE_FLOAT32, FLOE_SHAPE(rows * cols),
                                        FLOE_SHAPE(30011), 7, -1, 1);
    double out[NOUT] = {
        compute_scalar(floe_sum(x, FLOE_ALL)),
        compute_scalar(floe_var(x, FLOE_ALL)),
        compute_scalar(floe_reduce_ddof(FLOE_STD, x, FLOE_ALL, 1)),
        compute_scalar(floe_mean(floe_multiply(x, x), FLOE_ALL)),
        compute_scalar(floe_sum(f, FLOE_ALL)),
        compute_scalar(floe_var(f, FLOE_ALL)),
        compute_scalar(floe_sum(floe_var(x, FLOE_AXES(0)), FLOE_ALL)),
    };
    float *colmean = compute_new(floe_mean(floe_astype(x, FLOE_FLOAT32), FLOE_AXES(0)));
    if (t == 0) {
      memcpy(first, out, sizeof out);
      colmean_first = colmean;
    } else {
      for (int k = 0; k < NOUT; k++) {
        cr_assert_eq(memcmp(&out[k], &first[k], sizeof out[k]), 0,
                     "output %d: %.17g with %d threads, %.17g with 1", k, out[k], threads[t],
                     first[k]);
      }
      cr_assert_eq(memcmp(colmean, colmean_first, (size_t)cols * sizeof(float)), 0);
      free(colmean);
    }
    floe_close(ctx);
  }
  free(colmean_first);
}

/* ------------------------------------------------- fusion and composition */

Test(fusion, reduction_of_an_elementwise_chain) {
  floe_ctx *ctx = open_ctx(2);
  uint64_t seed = 17;
  float *data = random_data(FLOE_FLOAT32, 60 * 70, &seed, false);
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT32, FLOE_SHAPE(60, 70), FLOE_SHAPE(13, 30), data);
  ref_arr *rx = ref_from_buffer(FLOE_FLOAT32, FLOE_SHAPE(60, 70), data);
  floe_array *e = floe_add(floe_multiply(x, x), floe_scalar(ctx, 1.0));
  floe_array *s = floe_sum(floe_sqrt(e), FLOE_AXES(1));
  floe_plan_info plan;
  cr_assert_eq(floe_plan(s, &plan), FLOE_OK);
  cr_assert_eq(plan.fused_programs, 1, "one program feeds the reduction");
  floe_status st;
  ref_arr *one = ref_scalar_float(1.0);
  ref_arr *sq = ref_binary(FLOE_MULTIPLY, rx, rx, &st);
  ref_arr *ee = ref_binary(FLOE_ADD, sq, one, &st);
  ref_arr *rt = ref_unary(FLOE_SQRT, ee, &st);
  ref_arr *rs = ref_reduce(FLOE_SUM, rt, 2, false, 0, &st);
  expect_ref(s, rs, "sum(sqrt(x*x + 1), axis=1)");
  /* mean over axis 0 of a comparison: the fraction of positives */
  floe_array *frac = floe_mean(floe_greater(x, floe_scalar(ctx, 0)), FLOE_AXES(0));
  ref_arr *zero = ref_scalar_float(0);
  ref_arr *g = ref_binary(FLOE_GREATER, rx, zero, &st);
  ref_arr *rf = ref_reduce(FLOE_MEAN, g, 1, false, 0, &st);
  expect_ref(frac, rf, "mean(x > 0, axis=0)");
  ref_free(one);
  ref_free(sq);
  ref_free(ee);
  ref_free(rt);
  ref_free(rs);
  ref_free(zero);
  ref_free(g);
  ref_free(rf);
  ref_free(rx);
  free(data);
  floe_close(ctx);
}

Test(fusion, reductions_consumed_by_elementwise_and_reductions) {
  floe_ctx *ctx = open_ctx(2);
  uint64_t seed = 99;
  const int64_t R = 37, C = 23;
  double *data = random_data(FLOE_FLOAT64, R * C, &seed, false);
  const floe_shape chunkings[] = {FLOE_SHAPE(5, 7), FLOE_SHAPE(1, -1), FLOE_SHAPE(-1, 1),
                                  FLOE_AUTO};
  ref_arr *rx = ref_from_buffer(FLOE_FLOAT64, FLOE_SHAPE(R, C), data);
  floe_status st;
  ref_arr *m0 = ref_reduce(FLOE_MEAN, rx, 1, false, 0, &st);
  ref_arr *m0k = ref_reduce(FLOE_MEAN, rx, 1, true, 0, &st);
  ref_arr *m1k = ref_reduce(FLOE_MEAN, rx, 2, true, 0, &st);
  ref_arr *anom = ref_binary(FLOE_SUBTRACT, rx, m0, &st);
  ref_arr *anom_k = ref_binary(FLOE_SUBTRACT, rx, m0k, &st);
  ref_arr *sm = ref_reduce(FLOE_SUM, m0, 1, false, 0, &st);
  ref_arr *colstd = ref_reduce(FLOE_STD, anom, 1, false, 0, &st);
  ref_arr *rowc = ref_binary(FLOE_SUBTRACT, rx, m1k, &st);
  ref_arr *rowmax = ref_reduce(FLOE_MAX, rowc, 3, false, 0, &st);
  for (size_t c = 0; c < sizeof chunkings / sizeof chunkings[0]; c++) {
    floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(R, C), chunkings[c], data);
    floe_array *mean0 = floe_mean(x, FLOE_AXES(0));
    /* x - mean(x, axis=0): a reduction broadcast into an elementwise program */
    expect_ref(floe_subtract(x, mean0), anom, "x - mean(x, 0), chunking %zu", c);
    expect_ref(floe_subtract(x, floe_mean(x, FLOE_KEEPDIMS(FLOE_AXES(0)))), anom_k,
               "x - mean(x, 0, keepdims), chunking %zu", c);
    /* sum(mean(x, axis 0)): a reduction of a reduction */
    expect_ref(floe_sum(mean0, FLOE_ALL), sm, "sum(mean(x, 0)), chunking %zu", c);
    /* std(x - mean(x, 0), axis 0) */
    expect_ref(floe_std(floe_subtract(x, mean0), FLOE_AXES(0)), colstd, "std(anomaly), %zu", c);
    expect_ref(floe_max(floe_subtract(x, floe_mean(x, FLOE_KEEPDIMS(FLOE_AXES(-1)))), FLOE_ALL),
               rowmax, "max(x - rowmean), %zu", c);
    /* a consumer chunked differently from the reduction it reads */
    floe_array *z =
        floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(R, C), chunkings[(c + 1) % 4], data);
    expect_ref(floe_subtract(z, mean0), anom, "z - mean(x, 0), chunking %zu", c);
    floe_plan_info plan;
    cr_assert_eq(floe_plan(floe_subtract(x, mean0), &plan), FLOE_OK);
    cr_assert_eq(plan.fused_programs, 2, "one program for the mean, one for the difference");
  }
  ref_free(m0);
  ref_free(m0k);
  ref_free(m1k);
  ref_free(anom);
  ref_free(anom_k);
  ref_free(sm);
  ref_free(colstd);
  ref_free(rowc);
  ref_free(rowmax);
  ref_free(rx);
  free(data);
  floe_close(ctx);
}

/* --------------------------------------------- persist, jobs, plans, dot */

Test(running, persist) {
  floe_ctx *ctx = open_ctx(2);
  floe_array *x =
      floe_random_normal(ctx, FLOE_FLOAT64, FLOE_SHAPE(300, 41), FLOE_SHAPE(64, 16), 3, 0, 1);
  floe_array *e = floe_add(floe_exp(floe_multiply(x, floe_scalar(ctx, 0.5))), floe_sin(x));
  double *direct = compute_new(e);
  floe_array *p = floe_persist(e);
  cr_assert_eq(floe_array_status(p), FLOE_OK, "%s", floe_array_message(p));
  cr_assert_eq(floe_array_dtype(p), FLOE_FLOAT64);
  cr_assert_eq(floe_array_shape(p).dim[0], 300);
  cr_assert_eq(floe_array_chunks(p).dim[1], 16);
  size_t nb = (size_t)floe_array_nbytes(p);
  double *once = compute_new(p), *twice = compute_new(p);
  cr_assert_eq(memcmp(once, direct, nb), 0, "the persisted value is the computed one");
  cr_assert_eq(memcmp(twice, direct, nb), 0, "and stays so");
  /* the persisted array no longer needs its expression */
  floe_release(e);
  floe_release(x);
  double s = compute_scalar(floe_sum(p, FLOE_ALL));
  long double want = 0;
  for (int i = 0; i < 300 * 41; i++) {
    want += direct[i];
  }
  cr_assert(fabs(s - (double)want) <= 1e-12 * fabs((double)want) + 1e-12);
  /* persisting again shares the stored data; persisting an error is the error */
  floe_array *pp = floe_persist(p);
  double *again = compute_new(pp);
  cr_assert_eq(memcmp(again, direct, nb), 0);
  floe_array *bad =
      floe_persist(floe_add(p, floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(2), FLOE_AUTO)));
  cr_assert_eq(floe_array_status(bad), FLOE_ERR_SHAPE);
  /* a persisted reduction and an empty array */
  floe_array *pr = floe_persist(floe_mean(p, FLOE_AXES(0)));
  double *prv = compute_new(pr);
  double *col = compute_new(floe_mean(pp, FLOE_AXES(0)));
  cr_assert_eq(memcmp(prv, col, 41 * sizeof(double)), 0);
  floe_array *pe = floe_persist(floe_zeros(ctx, FLOE_INT32, FLOE_SHAPE(0, 3), FLOE_AUTO));
  cr_assert_eq(floe_array_status(pe), FLOE_OK);
  cr_assert_eq(floe_compute(pe, NULL, 0), FLOE_OK);
  free(direct);
  free(once);
  free(twice);
  free(again);
  free(prv);
  free(col);
  floe_close(ctx);
}

Test(running, jobs_share_inputs) {
  floe_ctx *ctx = open_ctx(2);
  uint64_t seed = 3;
  const int64_t R = 90, C = 33;
  double *data = random_data(FLOE_FLOAT64, R * C, &seed, false);
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(R, C), FLOE_SHAPE(16, 10), data);
  floe_array *m = floe_mean(x, FLOE_AXES(0));
  floe_array *outs[] = {
      floe_sum(x, FLOE_ALL),
      m,
      floe_multiply(x, floe_scalar(ctx, 2)),
      floe_subtract(x, m),
      floe_var(floe_subtract(x, m), FLOE_AXES(0)),
      m, /* the same array twice */
      floe_argmax(x, FLOE_AXES(1)),
  };
  enum { K = sizeof outs / sizeof outs[0] };
  void *sep[K], *joint[K];
  floe_job *job = floe_job_new(ctx);
  cr_assert_not_null(job);
  for (int k = 0; k < K; k++) {
    sep[k] = compute_new(outs[k]);
    size_t nb = (size_t)floe_array_nbytes(outs[k]);
    joint[k] = malloc(nb);
    memset(joint[k], 0xCD, nb);
    cr_assert_eq(floe_job_add_buffer(job, outs[k], joint[k], nb), FLOE_OK);
  }
  floe_plan_info alone;
  cr_assert_eq(floe_plan(outs[4], &alone), FLOE_OK);
  cr_assert_eq(floe_job_run(job), FLOE_OK, "%s", floe_error_message(ctx));
  for (int k = 0; k < K; k++) {
    cr_assert_eq(memcmp(sep[k], joint[k], (size_t)floe_array_nbytes(outs[k])), 0,
                 "output %d differs from its own compute", k);
    memset(joint[k], 0, (size_t)floe_array_nbytes(outs[k]));
  }
  /* a job runs again */
  cr_assert_eq(floe_job_run(job), FLOE_OK);
  for (int k = 0; k < K; k++) {
    cr_assert_eq(memcmp(sep[k], joint[k], (size_t)floe_array_nbytes(outs[k])), 0,
                 "output %d differs on the second run", k);
  }
  /* but takes no outputs after it ran */
  double extra[1];
  cr_assert_eq(floe_job_add_buffer(job, outs[0], extra, sizeof extra), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_job_add_buffer");
  floe_job_free(job);
  /* a too-small buffer is a sticky error */
  job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, outs[2], extra, sizeof extra), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_job_add_buffer");
  cr_assert_eq(floe_job_add_buffer(job, outs[0], extra, sizeof extra), FLOE_OK);
  cr_assert_eq(floe_job_run(job), FLOE_ERR_INVALID);
  floe_job_free(job);
  /* an empty job runs */
  job = floe_job_new(ctx);
  cr_assert_eq(floe_job_run(job), FLOE_OK);
  floe_job_free(job);
  for (int k = 0; k < K; k++) {
    free(sep[k]);
    free(joint[k]);
  }
  free(data);
  floe_close(ctx);
}

Test(running, plans) {
  floe_ctx *ctx = open_ctx(2);
  double *data = calloc(1000 * 64, sizeof *data);
  floe_array *x =
      floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(1000, 64), FLOE_SHAPE(100, 64), data);
  floe_plan_info p;
  memset(&p, 0xFF, sizeof p);
  cr_assert_eq(floe_plan(floe_sum(x, FLOE_ALL), &p), FLOE_OK);
  cr_assert_gt(p.tasks, 0);
  cr_assert_eq(p.bytes_read, 1000 * 64 * sizeof(double), "a sum reads its input once");
  cr_assert_eq(p.bytes_written, sizeof(double));
  cr_assert_eq(p.fused_programs, 1);
  cr_assert_gt(p.peak_memory, 0);
  for (int i = 0; i < 11; i++) {
    cr_assert_eq(p.reserved[i], 0);
  }
  /* an elementwise chain: one task per chunk, one program */
  floe_array *e = floe_sqrt(floe_add(floe_multiply(x, x), floe_scalar(ctx, 1)));
  cr_assert_eq(floe_plan(e, &p), FLOE_OK);
  cr_assert_eq(p.tasks, 10);
  cr_assert_eq(p.fused_programs, 1);
  cr_assert_eq(p.bytes_read, 1000 * 64 * sizeof(double));
  cr_assert_eq(p.bytes_written, 1000 * 64 * sizeof(double));
  /* a fused reduction of it: still one program; generated inputs read nothing */
  cr_assert_eq(floe_plan(floe_mean(e, FLOE_AXES(1)), &p), FLOE_OK);
  cr_assert_eq(p.fused_programs, 1);
  floe_array *r =
      floe_random_uniform(ctx, FLOE_FLOAT32, FLOE_SHAPE(5000), FLOE_SHAPE(1000), 1, 0, 1);
  cr_assert_eq(floe_plan(floe_max(floe_exp(r), FLOE_ALL), &p), FLOE_OK);
  cr_assert_eq(p.bytes_read, 0);
  cr_assert_eq(p.fused_programs, 1);
  cr_assert_geq(p.tasks, 5);
  /* planning runs nothing: the buffer may still change */
  data[0] = 4;
  cr_assert_eq(compute_scalar(floe_sum(x, FLOE_ALL)), 4.0);
  free(data);
  floe_close(ctx);
}

Test(running, graph_dot) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x =
      floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(40, 30), FLOE_SHAPE(8, 30), 1, 0, 1);
  floe_array *a = floe_subtract(x, floe_mean(x, FLOE_AXES(0)));
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  cr_assert_eq(floe_graph_dot(a, f), FLOE_OK);
  long len = ftell(f);
  cr_assert_gt(len, 0);
  rewind(f);
  char *text = calloc((size_t)len + 1, 1);
  cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  cr_assert(starts_with(text, "digraph"), "%s", text);
  assert_has(text, "->");
  assert_has(text, "reduce");
  assert_has(text, "fused program");
  int open = 0, close = 0;
  for (char *c = text; *c; c++) {
    open += *c == '{';
    close += *c == '}';
  }
  cr_assert_eq(open, close);
  cr_assert(text[len - 2] == '}' && text[len - 1] == '\n');
  free(text);
  floe_close(ctx);
}

/* ----------------------------------------------------- the property test */

typedef struct pnode {
  floe_array *a; /* NULL for a scalar not yet built */
  ref_arr *r;
  floe_status st; /* what floe must say */
  char *text;
  bool scalar;
} pnode;

typedef struct pgen {
  floe_ctx *ctx;
  uint64_t rng;
  int ndim;
  int64_t base[4];
  void *bufs[256];
  int nbufs;
  int nodes;
} pgen;

static char *textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *textf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

static void pfree(pnode *p) {
  ref_free(p->r);
  free(p->text);
  floe_release(p->a);
}

static double chance(pgen *g) {
  return (double)rng_below(&g->rng, 1000000) / 1e6;
}

static floe_dtype random_dtype(pgen *g) {
  return ALL_DT[rng_below(&g->rng, NDT)];
}

static pnode leaf(pgen *g) {
  pnode p = {0};
  /* a trailing part of the base shape, some axes 1, rarely a wrong length */
  int k = (int)rng_below(&g->rng, (uint64_t)g->ndim + 1);
  if (k == 0 && chance(g) < 0.7) {
    k = g->ndim;
  }
  floe_shape s = {k, {0}};
  floe_shape ch = {k, {0}};
  for (int d = 0; d < k; d++) {
    int64_t len = g->base[g->ndim - k + d];
    if (chance(g) < 0.3) {
      len = 1;
    } else if (chance(g) < 0.01) {
      len += 1;
    }
    s.dim[d] = len;
    uint64_t r = rng_below(&g->rng, 4);
    ch.dim[d] = r == 0 ? -1 : (int64_t)rng_below(&g->rng, (uint64_t)len) + 1;
  }
  if (chance(g) < 0.2) {
    ch = FLOE_AUTO;
  }
  char shp[128], chs[128];
  ref_shape_str(shp, sizeof shp, s.ndim, s.dim);
  if (ch.ndim < 0) {
    snprintf(chs, sizeof chs, "auto");
  } else {
    ref_shape_str(chs, sizeof chs, ch.ndim, ch.dim);
  }
  int64_t n = 1;
  for (int d = 0; d < k; d++) {
    n *= s.dim[d];
  }
  uint64_t kind = rng_below(&g->rng, 10);
  if (kind == 7 && k >= 1 && s.ndim == 1) {
    kind = 7; /* arange: 1-D only */
  } else if (kind == 7) {
    kind = 0;
  }
  if (kind <= 5) { /* caller memory */
    floe_dtype dt = random_dtype(g);
    void *buf = random_data(dt, n, &g->rng, true);
    g->bufs[g->nbufs++] = buf;
    p.a = floe_from_buffer(g->ctx, dt, s, ch, buf);
    p.r = ref_from_buffer(dt, s, buf);
    p.text = textf("buf<%s>%s/%s", ref_dtype_name(dt), shp, chs);
  } else if (kind == 6) { /* a constant, converted to the dtype as by a C cast */
    floe_dtype dt = random_dtype(g);
    double v = ((double)(int64_t)rng_below(&g->rng, 33) - 16) / 4;
    if (dt == FLOE_UINT8) {
      v = fabs(v);
    }
    bool undef = false;
    rv x = ref_convert((rv){0, v}, FLOE_FLOAT64, dt, &undef);
    p.a = floe_full(g->ctx, dt, s, ch, v);
    p.r = ref_full(dt, s, x);
    p.text = textf("full<%s>%s/%s(%g)", ref_dtype_name(dt), shp, chs, v);
  } else if (kind == 7) { /* arange */
    static const floe_dtype adt[] = {FLOE_FLOAT64, FLOE_FLOAT32, FLOE_INT32, FLOE_INT64};
    floe_dtype dt = adt[rng_below(&g->rng, 4)];
    double start = ((double)(int64_t)rng_below(&g->rng, 17) - 8) / 2;
    double step = ((double)(int64_t)rng_below(&g->rng, 8) + 1) / 4 * (chance(g) < 0.3 ? -1 : 1);
    if (!ref_is_float(dt)) {
      start = trunc(start);
      step = step < 0 ? -1 : 1;
    }
    double stop = start + ((double)n - 0.5) * step;
    p.a = floe_arange(g->ctx, dt, start, stop, step, ch);
    p.r = ref_new(dt, 1, &n);
    for (int64_t i = 0; i < n; i++) {
      bool undef = false;
      p.r->x[i] = ref_convert((rv){0, start + (double)i * step}, FLOE_FLOAT64, dt, &undef);
    }
    p.text = textf("arange<%s>(%g, %g, %g)/%s", ref_dtype_name(dt), start, stop, step, chs);
  } else { /* random numbers, read back through floe (their values are
              checked against Philox in test_array.c) */
    floe_dtype dt = chance(g) < 0.5 ? FLOE_FLOAT32 : FLOE_FLOAT64;
    uint64_t seed = rng_next(&g->rng);
    p.a = kind == 8 ? floe_random_uniform(g->ctx, dt, s, ch, seed, -2, 3)
                    : floe_random_normal(g->ctx, dt, s, ch, seed, 0, 2);
    void *buf = malloc((size_t)(n > 0 ? n : 1) * ref_dtype_size(dt));
    cr_assert_eq(floe_compute(p.a, buf, (size_t)n * ref_dtype_size(dt)), FLOE_OK);
    p.r = ref_from_buffer(dt, s, buf);
    free(buf);
    p.text = textf("random<%s>%s/%s", ref_dtype_name(dt), shp, chs);
  }
  p.st = FLOE_OK;
  cr_assert_eq(floe_array_status(p.a), FLOE_OK, "%s: %s", p.text, floe_array_message(p.a));
  return p;
}

static pnode scalar_leaf(pgen *g) {
  pnode p = {0};
  p.scalar = true;
  p.st = FLOE_OK;
  if (chance(g) < 0.5) {
    static const double fs[] = {0.5, 2.0, -1.5, 3.0, 0.1, -0.25, 10.0};
    double v = fs[rng_below(&g->rng, 7)];
    p.a = floe_scalar(g->ctx, v);
    p.r = ref_scalar_float(v);
    p.text = textf("%g", v);
  } else {
    int64_t v = (int64_t)rng_below(&g->rng, 12);
    if (chance(g) < 0.05) {
      v = 300; /* too big for uint8: an error there */
    }
    p.a = floe_scalar_int(g->ctx, v);
    p.r = ref_scalar_int(v);
    p.text = textf("int(%lld)", (long long)v);
  }
  return p;
}

/* The first failing input's status, as floe's sticky errors give it. */
static floe_status first_error(const pnode *const *in, int n) {
  for (int k = 0; k < n; k++) {
    if (in[k] != NULL && in[k]->st != FLOE_OK) {
      return in[k]->st;
    }
  }
  return FLOE_OK;
}

static pnode gen(pgen *g, int depth);

static pnode operand(pgen *g, int depth, bool allow_scalar) {
  if (allow_scalar && chance(g) < 0.2) {
    return scalar_leaf(g);
  }
  return gen(g, depth);
}

static pnode gen(pgen *g, int depth) {
  g->nodes++;
  if (depth == 0 || g->nodes > 40 || chance(g) < 0.2) {
    return leaf(g);
  }
  pnode p = {0};
  uint64_t kind = rng_below(&g->rng, 100);
  if (kind < 35) {
    floe_unary_op op = (floe_unary_op)rng_below(&g->rng, FLOE_UNARY_COUNT_);
    pnode x = operand(g, depth - 1, true);
    p.a = floe_unary(op, x.a);
    const pnode *in[1] = {&x};
    p.st = first_error(in, 1);
    if (p.st == FLOE_OK) {
      p.r = ref_unary(op, x.r, &p.st);
    }
    p.text = textf("%s(%s)", ref_unary_name(op), x.text);
    pfree(&x);
  } else if (kind < 75) {
    floe_binary_op op = (floe_binary_op)rng_below(&g->rng, FLOE_BINARY_COUNT_);
    pnode x = gen(g, depth - 1);
    pnode y = operand(g, depth - 1, true);
    if (y.scalar && chance(g) < 0.5) {
      pnode t = x;
      x = y;
      y = t;
    }
    p.a = floe_binary(op, x.a, y.a);
    const pnode *in[2] = {&x, &y};
    p.st = first_error(in, 2);
    if (p.st == FLOE_OK) {
      p.r = ref_binary(op, x.r, y.r, &p.st);
    }
    p.text = textf("%s(%s, %s)", ref_binary_name(op), x.text, y.text);
    pfree(&x);
    pfree(&y);
  } else if (kind < 83) {
    pnode c = gen(g, depth - 1);
    pnode a = operand(g, depth - 1, true);
    pnode b = operand(g, depth - 1, true);
    p.a = floe_where(c.a, a.a, b.a);
    const pnode *in[3] = {&c, &a, &b};
    p.st = first_error(in, 3);
    if (p.st == FLOE_OK) {
      p.r = ref_where(c.r, a.r, b.r, &p.st);
    }
    p.text = textf("where(%s, %s, %s)", c.text, a.text, b.text);
    pfree(&c);
    pfree(&a);
    pfree(&b);
  } else if (kind < 91) {
    floe_dtype dt = random_dtype(g);
    pnode x = operand(g, depth - 1, true);
    p.a = floe_astype(x.a, dt);
    p.st = x.st;
    if (p.st == FLOE_OK) {
      p.r = ref_astype(x.r, dt, &p.st);
    }
    p.text = textf("astype(%s, %s)", x.text, ref_dtype_name(dt));
    pfree(&x);
  } else {
    pnode x = gen(g, depth - 1);
    uint64_t which = rng_below(&g->rng, 4); /* bit 0: lo, bit 1: hi */
    pnode lo = {0}, hi = {0};
    if (which & 1) {
      lo = operand(g, depth - 1, true);
    }
    if (which & 2) {
      hi = operand(g, depth - 1, true);
    }
    p.a = floe_clip(x.a, lo.a, hi.a);
    const pnode *in[3] = {&x, (which & 1) ? &lo : NULL, (which & 2) ? &hi : NULL};
    p.st = first_error(in, 3);
    if (p.st == FLOE_OK) {
      p.r = ref_clip(x.r, lo.r, hi.r, &p.st);
    }
    p.text =
        textf("clip(%s, %s, %s)", x.text, lo.text ? lo.text : "None", hi.text ? hi.text : "None");
    pfree(&x);
    pfree(&lo);
    pfree(&hi);
  }
  if (p.st != FLOE_OK) {
    ref_free(p.r);
    p.r = NULL;
  }
  return p;
}

Test(property, random_expression_trees) {
  const int ncases = TEST_SIZE(6000);
  floe_ctx *ctx = open_ctx_fanin(2, 3);
  int failures = 0, valid = 0, reduced = 0;
  int64_t compared = 0, total = 0;
  for (int c = 0; c < ncases; c++) {
    uint64_t seed = 0x5eed0000ull + (uint64_t)c;
    pgen g = {.ctx = ctx, .rng = seed};
    g.ndim = 1 + (int)rng_below(&g.rng, 4);
    for (int d = 0; d < g.ndim; d++) {
      g.base[d] = 1 + (int64_t)rng_below(&g.rng, g.ndim <= 2 ? 9 : 5);
    }
    cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
    int depth = 1 + (int)rng_below(&g.rng, 6);
    pnode root = gen(&g, depth);
    char *text = root.text;
    floe_array *a = root.a;
    ref_arr *r = root.r;
    floe_status st = root.st;
    if (st == FLOE_OK && chance(&g) < 0.4) {
      floe_reduce_op op = (floe_reduce_op)rng_below(&g.rng, FLOE_REDUCE_COUNT_);
      int nd = r->ndim;
      bool all = chance(&g) < 0.3;
      uint32_t mask =
          all ? (nd > 0 ? (1u << nd) - 1 : 0) : (uint32_t)rng_below(&g.rng, (uint64_t)1 << nd);
      bool keep = chance(&g) < 0.4;
      int ddof = (op == FLOE_VAR || op == FLOE_STD) ? (int)rng_below(&g.rng, 2) : 0;
      floe_axes ax = all ? FLOE_ALL : axes_of_mask(mask, nd, keep, chance(&g) < 0.5);
      ax.keepdims = keep;
      floe_array *ra = floe_reduce_ddof(op, a, ax, ddof);
      ref_arr *rr = ref_reduce(op, r, mask, keep, ddof, &st);
      char *t2 = textf("%s(%s, axes=0x%x%s%s)", ref_reduce_name(op), text, mask,
                       keep ? ", keepdims" : "", ddof ? ", ddof=1" : "");
      free(text);
      text = t2;
      ref_free(r);
      r = rr;
      a = ra;
      reduced++;
    }
    char why[1024] = "";
    bool bad = false;
    if (st != FLOE_OK) {
      if (floe_array_status(a) != st) {
        snprintf(why, sizeof why, "status %s (%s), expected %s",
                 floe_status_name(floe_array_status(a)), floe_array_message(a),
                 floe_status_name(st));
        bad = true;
      }
    } else {
      valid++;
      total += r->n;
      bad = check_ref(a, r, true, why, sizeof why, &compared) != 0;
    }
    if (bad) {
      failures++;
      if (failures <= 8) {
        cr_log_error("property case %d (seed 0x%llx) failed: %s\n  expression: %s", c,
                     (unsigned long long)seed, why, text);
      }
    }
    ref_free(r);
    free(text);
    cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
    for (int b = 0; b < g.nbufs; b++) {
      free(g.bufs[b]);
    }
  }
  cr_log_info("property: %d cases, %d valid, %d reduced, %lld of %lld elements compared", ncases,
              valid, reduced, (long long)compared, (long long)total);
  cr_assert_eq(failures, 0, "%d of %d random expressions disagree with the reference (see log)",
               failures, ncases);
  cr_assert_gt(valid, ncases / 2, "too few valid expressions: %d", valid);
  cr_assert_gt(compared, total / 2, "too many elements skipped: %lld of %lld", (long long)compared,
               (long long)total);
  floe_close(ctx);
}

/* Several reductions of one input run as one pass over each chunk (one
 * program, a sink per reduction); each must give the bits it gives alone,
 * for ragged chunks, keepdims, every fan-in and thread count. */
Test(running, reductions_of_one_input_share_a_pass) {
  uint64_t seed = 11;
  const int64_t A = 7, B = 45, C = 29;
  float *data = random_data(FLOE_FLOAT32, A * B * C, &seed, true);
  for (int threads = 1; threads <= 8; threads *= 2) {
    floe_ctx *ctx = open_ctx_fanin(threads, threads == 2 ? 2 : 8);
    floe_array *x =
        floe_from_buffer(ctx, FLOE_FLOAT32, FLOE_SHAPE(A, B, C), FLOE_SHAPE(3, 16, 10), data);
    floe_array *y = floe_sqrt(floe_abs(x));
    floe_array *outs[] = {
        floe_mean(y, FLOE_AXES(0)),
        floe_reduce_ddof(FLOE_STD, y, FLOE_KEEPDIMS(FLOE_AXES(1, 2)), 1),
        floe_max(y, FLOE_AXES(2)),
        floe_min(y, FLOE_ALL),
        floe_argmin(y, FLOE_ALL),
        floe_argmax(y, FLOE_AXES(1)),
        floe_nanmean(y, FLOE_AXES(0, 2)),
        floe_sum(y, FLOE_KEEPDIMS(FLOE_AXES(0))),
        floe_var(y, FLOE_AXES(2)), /* a ninth: a second group */
    };
    enum { K = sizeof outs / sizeof outs[0] };
    void *sep[K], *joint[K];
    floe_job *job = floe_job_new(ctx);
    for (int k = 0; k < K; k++) {
      sep[k] = compute_new(outs[k]);
      joint[k] = malloc((size_t)floe_array_nbytes(outs[k]));
      cr_assert_eq(floe_job_add_buffer(job, outs[k], joint[k], (size_t)floe_array_nbytes(outs[k])),
                   FLOE_OK);
    }
    cr_assert_eq(floe_job_run(job), FLOE_OK, "%s", floe_error_message(ctx));
    for (int k = 0; k < K; k++) {
      cr_assert_eq(memcmp(sep[k], joint[k], (size_t)floe_array_nbytes(outs[k])), 0,
                   "output %d of the shared pass differs from its own compute (%d threads)", k,
                   threads);
      free(sep[k]);
      free(joint[k]);
    }
    floe_job_free(job);
    floe_close(ctx);
  }
  free(data);
}
