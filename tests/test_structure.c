/* Selections, shapes and products through the public API (src/array/
 * structure.c, materialised by src/graph/produce.c): floe_slice,
 * floe_transpose, floe_rechunk, floe_broadcast_to, floe_expand_dims,
 * floe_squeeze, floe_concat, floe_stack, floe_pad, floe_take, floe_matmul,
 * floe_dot and floe_outer; and along an axis floe_cumsum, floe_cumprod,
 * floe_sort, floe_median and floe_quantile.
 *
 * Every result is checked against a naive reference written here: plain C
 * loops over C-order buffers that restate NumPy's rules (slice bounds as
 * PySlice_AdjustIndices, broadcasting, promotion, matmul as a triple loop,
 * scans as sequential loops, sort and quantiles through qsort and NumPy's
 * linear interpolation written out).  Copies, scans, sorts, medians and
 * quantiles must be exact, bit for bit; floating products are held to a
 * relative bound against sum(|a||b|).  Inputs come in four kinds: caller
 * memory (floe_from_buffer), generated arrays (floe_random_uniform,
 * materialised by floe), an elementwise expression (x*2+1) and the result
 * of a reduction (max over a last axis), on every dtype, with ragged chunks
 * (shape (37, 23), chunks (8, 5)), and empty and length-1 axes; HDF5 and
 * persisted inputs too.  Beyond values: errors (status and message), NULL,
 * error and released arguments, products and along-axis results
 * bit-identical for 1 and 2 threads, and a rechunk, a product and scans,
 * sorts and quantiles down columns under a 1 MiB memory limit that spill
 * and still give the unlimited run's bits. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe.h"
#include "testutil.h"

#define NDT 6
static const floe_dtype ALL_DT[NDT] = {FLOE_BOOL,  FLOE_UINT8,   FLOE_INT32,
                                       FLOE_INT64, FLOE_FLOAT32, FLOE_FLOAT64};
#define B FLOE_BOOL
#define U8 FLOE_UINT8
#define I32 FLOE_INT32
#define I64 FLOE_INT64
#define F32 FLOE_FLOAT32
#define F64 FLOE_FLOAT64

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

/* Failed checks of the running test (each test is its own process): the
 * loops log the first few and assert once at the end (check_done), so that
 * one defect does not hide the others. */
static int g_failures;

#define soft_fail(...)                                                                             \
  do {                                                                                             \
    if (++g_failures <= 16) {                                                                      \
      cr_log_error(__VA_ARGS__);                                                                   \
    }                                                                                              \
  } while (0)

static void check_done(void) {
  cr_assert_eq(g_failures, 0, "%d checks failed (the first are logged above)", g_failures);
}

/* Buffers handed to floe_from_buffer must outlive every compute that reads
 * them: they are kept here and freed at the end of the test. */
static void *g_kept[4096];
static int g_nkept;

static void *kept(size_t nbytes) {
  cr_assert_lt(g_nkept, (int)(sizeof g_kept / sizeof g_kept[0]));
  void *p = calloc(nbytes > 0 ? nbytes : 1, 1);
  cr_assert_not_null(p);
  g_kept[g_nkept++] = p;
  return p;
}

static void free_kept(void) {
  for (int i = 0; i < g_nkept; i++) {
    free(g_kept[i]);
  }
  g_nkept = 0;
}

static void finish(floe_ctx *ctx) {
  floe_close(ctx);
  free_kept();
  check_done();
}

/* ------------------------------------------------------- dense reference */

/* A dense C-order array of the reference. */
typedef struct dense {
  floe_dtype dt;
  int ndim;
  int64_t shape[FLOE_MAX_DIMS + 2];
  int64_t n;
  unsigned char *v;
} dense;

static size_t esz(floe_dtype dt) {
  static const size_t sizes[] = {1, 1, 4, 8, 4, 8};
  return (unsigned)dt < NDT ? sizes[dt] : 0;
}

static const char *dtn(floe_dtype dt) {
  static const char *const names[] = {"bool", "uint8", "int32", "int64", "float32", "float64"};
  return (unsigned)dt < NDT ? names[dt] : "?";
}

static bool is_float(floe_dtype dt) {
  return dt == F32 || dt == F64;
}

/* NumPy's result_type over floe's dtypes, written out by hand. */
static floe_dtype promote(floe_dtype a, floe_dtype b) {
  static const floe_dtype table[6][6] = {
      {B, U8, I32, I64, F32, F64},    {U8, U8, I32, I64, F32, F64},
      {I32, I32, I32, I64, F64, F64}, {I64, I64, I64, I64, F64, F64},
      {F32, F32, F64, F64, F32, F64}, {F64, F64, F64, F64, F64, F64},
  };
  return table[a][b];
}

static dense dense_new(floe_dtype dt, int ndim, const int64_t *shape) {
  dense r = {.dt = dt, .ndim = ndim, .n = 1};
  for (int d = 0; d < ndim; d++) {
    r.shape[d] = shape[d];
    r.n *= shape[d];
  }
  r.v = calloc((size_t)(r.n > 0 ? r.n : 1), esz(dt));
  cr_assert_not_null(r.v);
  return r;
}

static dense dense_of(floe_dtype dt, floe_shape s) {
  return dense_new(dt, s.ndim, s.dim);
}

static void dense_free(dense *r) {
  free(r->v);
  r->v = NULL;
}

static double get_d(const dense *r, int64_t i) {
  const unsigned char *p = r->v + (size_t)i * esz(r->dt);
  switch (r->dt) {
  case B:
    return *(const bool *)p ? 1.0 : 0.0;
  case U8:
    return *(const uint8_t *)p;
  case I32:
    return *(const int32_t *)p;
  case I64:
    return (double)*(const int64_t *)p;
  case F32:
    return *(const float *)p;
  default:
    return *(const double *)p;
  }
}

static int64_t get_i(const dense *r, int64_t i) {
  const unsigned char *p = r->v + (size_t)i * esz(r->dt);
  switch (r->dt) {
  case B:
    return *(const bool *)p;
  case U8:
    return *(const uint8_t *)p;
  case I32:
    return *(const int32_t *)p;
  case I64:
    return *(const int64_t *)p;
  case F32:
    return (int64_t) * (const float *)p;
  default:
    return (int64_t) * (const double *)p;
  }
}

/* Stores v as a C cast does (bool: v != 0); v is in range for the dtype. */
static void set_d(dense *r, int64_t i, double v) {
  unsigned char *p = r->v + (size_t)i * esz(r->dt);
  switch (r->dt) {
  case B:
    *(bool *)p = v != 0;
    break;
  case U8:
    *(uint8_t *)p = (uint8_t)v;
    break;
  case I32:
    *(int32_t *)p = (int32_t)v;
    break;
  case I64:
    *(int64_t *)p = (int64_t)v;
    break;
  case F32:
    *(float *)p = (float)v;
    break;
  default:
    *(double *)p = v;
    break;
  }
}

/* Copies element j of src (of the same dtype, or converted through double
 * when they differ: exact for the values used here) into element i of r. */
static void put(dense *r, int64_t i, const dense *src, int64_t j) {
  if (src->dt == r->dt) {
    size_t s = esz(r->dt);
    memcpy(r->v + (size_t)i * s, src->v + (size_t)j * s, s);
  } else {
    set_d(r, i, get_d(src, j));
  }
}

static void c_strides(int ndim, const int64_t *shape, int64_t *st) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d];
  }
}

static void unravel(int64_t j, int ndim, const int64_t *shape, int64_t *idx) {
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = shape[d] > 0 ? j % shape[d] : 0;
    j = shape[d] > 0 ? j / shape[d] : 0;
  }
}

static int64_t ravel(int ndim, const int64_t *shape, const int64_t *idx) {
  int64_t j = 0;
  for (int d = 0; d < ndim; d++) {
    j = j * shape[d] + idx[d];
  }
  return j;
}

/* Deterministic values of each dtype, distinct enough to catch a misplaced
 * element.  `small` keeps products and x*2+1 in range of every dtype;
 * floats are multiples of 1/64 or 1/1024, so that sums are exact. */
static double pattern(floe_dtype dt, int64_t i, uint64_t seed, bool small) {
  uint64_t s = seed * 0x100000001b3ull + (uint64_t)i;
  uint64_t h = rng_next(&s);
  switch (dt) {
  case B:
    return (double)(h & 1);
  case U8:
    return small ? (double)(h % 16) : (double)(h % 251);
  case I32:
    return small ? (double)((int64_t)(h % 41) - 20) : (double)((int64_t)(h % 200001) - 100000);
  case I64:
    return small ? (double)((int64_t)(h % 41) - 20)
                 : (double)(((int64_t)(h % 2000001) - 1000000) * 4294967311ll);
  case F32:
    return small ? (double)((int64_t)(h % 2001) - 1000) / 128.0
                 : (double)((int64_t)(h % 20001) - 10000) / 64.0;
  default:
    return small ? (double)((int64_t)(h % 2001) - 1000) / 128.0
                 : (double)((int64_t)(h % 2000001) - 1000000) / 1024.0;
  }
}

static dense dense_pattern(floe_dtype dt, floe_shape shape, uint64_t seed, bool small) {
  dense r = dense_of(dt, shape);
  for (int64_t i = 0; i < r.n; i++) {
    set_d(&r, i, pattern(dt, i, seed, small));
  }
  return r;
}

/* A strided view of a copied into a new dense array: element idx of the
 * result is a[off + sum(idx[k] * stride[k])] (a stride 0 broadcasts). */
static dense view_copy(const dense *a, int ndim, const int64_t *shape, int64_t off,
                       const int64_t *stride) {
  dense r = dense_new(a->dt, ndim, shape);
  int64_t idx[FLOE_MAX_DIMS + 2] = {0};
  for (int64_t j = 0; j < r.n; j++) {
    int64_t src = off;
    for (int d = 0; d < ndim; d++) {
      src += idx[d] * stride[d];
    }
    put(&r, j, a, src);
    for (int d = ndim - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        break;
      }
      idx[d] = 0;
    }
  }
  return r;
}

/* The buffer floe would write for a dense array floe_from_buffer reads. */
static void *dense_buffer(const dense *r) {
  void *p = kept((size_t)r->n * esz(r->dt));
  memcpy(p, r->v, (size_t)r->n * esz(r->dt));
  return p;
}

static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, cap, "(");
  for (int d = 0; d < ndim && k < cap; d++) {
    k += (size_t)snprintf(buf + k, cap - k, d ? ", %lld" : "%lld", (long long)shape[d]);
  }
  if (k < cap) {
    snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
  }
  return buf;
}

/* Computes `a` into a new buffer (freed by the caller); NULL, counted as a
 * failure, when it does not compute. */
static void *compute_or_fail(floe_array *a, const char *what) {
  size_t nbytes = (size_t)floe_array_nbytes(a);
  void *buf = malloc(nbytes + 8);
  cr_assert_not_null(buf);
  floe_status st = floe_compute(a, buf, nbytes);
  if (st != FLOE_OK) {
    soft_fail("%s: compute: %s: %s", what, floe_status_name(st), floe_error_message(NULL));
    free(buf);
    return NULL;
  }
  return buf;
}

/* Checks status, dtype and shape of `a` against r; false (counted) when
 * they differ. */
static bool same_header(floe_array *a, const dense *r, const char *what) {
  if (floe_array_status(a) != FLOE_OK) {
    soft_fail("%s: status %s: %s", what, floe_status_name(floe_array_status(a)),
              floe_array_message(a));
    return false;
  }
  floe_shape s = floe_array_shape(a);
  bool same = floe_array_dtype(a) == r->dt && s.ndim == r->ndim;
  for (int d = 0; same && d < s.ndim; d++) {
    same = s.dim[d] == r->shape[d];
  }
  if (!same) {
    char s1[160], s2[160];
    soft_fail("%s: got %s %s, expected %s %s", what, dtn(floe_array_dtype(a)),
              shape_str(s1, sizeof s1, s.ndim, s.dim), dtn(r->dt),
              shape_str(s2, sizeof s2, r->ndim, r->shape));
    return false;
  }
  return true;
}

static void compare_bytes(const unsigned char *got, const dense *r, const char *what);

/* Computes `a` and checks it against r bit for bit. */
static void expect_dense(floe_array *a, const dense *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_dense(floe_array *a, const dense *r, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (!same_header(a, r, what)) {
    return;
  }
  unsigned char *got = compute_or_fail(a, what);
  if (got != NULL) {
    compare_bytes(got, r, what);
    free(got);
  }
}

/* Compares a computed buffer with r bit for bit. */
static void compare_bytes(const unsigned char *got, const dense *r, const char *what) {
  size_t s = esz(r->dt);
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < r->n; i++) {
    if (memcmp(got + (size_t)i * s, r->v + (size_t)i * s, s) != 0) {
      first = first < 0 ? i : first;
      bad++;
    }
  }
  if (bad) {
    dense g = *r;
    g.v = (unsigned char *)got;
    int64_t idx[FLOE_MAX_DIMS + 2];
    unravel(first, r->ndim, r->shape, idx);
    char at[160];
    soft_fail("%s: %lld of %lld elements differ; first at %s: got %.17g, expected %.17g", what,
              (long long)bad, (long long)r->n, shape_str(at, sizeof at, r->ndim, idx),
              get_d(&g, first), get_d(r, first));
  }
}

/* An error array of status `want` whose message names `op` and, when
 * given, `needle`. */
static void expect_error(floe_array *a, floe_status want, const char *op, const char *needle,
                         const char *what) {
  /* a NULL result (no context to hold an error array) says why in the
     thread's message, which the next failing call replaces: copy it first */
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", a != NULL ? floe_array_message(a) : floe_error_message(NULL));
  floe_status st = a != NULL ? floe_array_status(a) : FLOE_ERR_INVALID;
  if (st != want) {
    soft_fail("%s: status %s (%s), expected %s", what, floe_status_name(st), msg,
              floe_status_name(want));
    return;
  }
  if (!contains(msg, op) || (needle != NULL && !contains(msg, needle))) {
    soft_fail("%s: message '%s' should name %s%s%s", what, msg, op, needle ? " and " : "",
              needle ? needle : "");
  }
}

/* ------------------------------------------------------------------ inputs */

enum { IN_BUFFER, IN_GENERATED, IN_EXPR, IN_REDUCED, IN_KINDS };
static const char *const KIND[IN_KINDS] = {"buffer", "generated", "x*2+1", "max(x, -1)"};

/* An input of the given kind, dtype, shape and chunks, and in *ref the
 * values it holds. */
static floe_array *make_input(floe_ctx *ctx, int kind, floe_dtype dt, floe_shape shape,
                              floe_shape chunks, uint64_t seed, dense *ref) {
  floe_array *a = NULL;
  switch (kind) {
  case IN_BUFFER:
    *ref = dense_pattern(dt, shape, seed, false);
    a = floe_from_buffer(ctx, dt, shape, chunks, dense_buffer(ref));
    break;
  case IN_GENERATED: {
    /* values made by floe's generator: the reference is the array itself,
       computed as it stands */
    floe_array *g;
    if (is_float(dt)) {
      a = floe_random_uniform(ctx, dt, shape, chunks, seed, -100, 100);
    } else if (dt == B) {
      g = floe_random_uniform(ctx, F64, shape, chunks, seed, 0, 1);
      a = floe_less(g, floe_scalar(ctx, 0.5));
    } else {
      double hi = dt == U8 ? 250 : dt == I32 ? 1e5 : 1e12;
      g = floe_random_uniform(ctx, F64, shape, chunks, seed, dt == U8 ? 0 : -hi, hi);
      a = floe_astype(g, dt);
    }
    *ref = dense_of(dt, shape);
    cr_assert_eq(floe_array_status(a), FLOE_OK, "generated %s: %s", dtn(dt), floe_array_message(a));
    cr_assert_eq(floe_compute(a, ref->v, (size_t)ref->n * esz(dt)), FLOE_OK, "generated %s: %s",
                 dtn(dt), floe_error_message(NULL));
    break;
  }
  case IN_EXPR: {
    dense x = dense_pattern(dt, shape, seed, true);
    floe_array *xa = floe_from_buffer(ctx, dt, shape, chunks, dense_buffer(&x));
    *ref = dense_of(dt, shape);
    if (dt == B) {
      a = floe_logical_not(xa);
      for (int64_t i = 0; i < x.n; i++) {
        set_d(ref, i, get_d(&x, i) == 0);
      }
    } else {
      a = floe_add(floe_multiply(xa, floe_scalar_int(ctx, 2)), floe_scalar_int(ctx, 1));
      for (int64_t i = 0; i < x.n; i++) {
        set_d(ref, i, get_d(&x, i) * 2 + 1);
      }
    }
    dense_free(&x);
    break;
  }
  default: {
    /* max over a last axis of 3 */
    floe_shape s3 = shape, c3 = chunks;
    s3.dim[s3.ndim++] = 3;
    if (c3.ndim >= 0) {
      c3.dim[c3.ndim++] = 2;
    }
    dense x = dense_pattern(dt, s3, seed, false);
    a = floe_max(floe_from_buffer(ctx, dt, s3, c3, dense_buffer(&x)), FLOE_AXES(-1));
    *ref = dense_of(dt, shape);
    for (int64_t i = 0; i < ref->n; i++) {
      double m = get_d(&x, 3 * i);
      int64_t at = 3 * i;
      for (int k = 1; k < 3; k++) {
        if (get_d(&x, 3 * i + k) >= m) {
          m = get_d(&x, 3 * i + k);
          at = 3 * i + k;
        }
      }
      put(ref, i, &x, at);
    }
    dense_free(&x);
    break;
  }
  }
  cr_assert_not_null(a);
  cr_assert_eq(floe_array_status(a), FLOE_OK, "input %s %s: %s", KIND[kind], dtn(dt),
               floe_array_message(a));
  return a;
}

/* ------------------------------------------------------ slice reference */

/* NumPy's slice bounds (PySlice_AdjustIndices): the number of elements and
 * in *first the first one. */
static int64_t ref_bounds(int64_t len, int64_t start, int64_t stop, int64_t step, int64_t *first) {
  if (start == FLOE_NONE) {
    start = step < 0 ? len - 1 : 0;
  } else if (start < 0) {
    start += len;
    if (start < 0) {
      start = step < 0 ? -1 : 0;
    }
  } else if (start >= len) {
    start = step < 0 ? len - 1 : len;
  }
  if (stop == FLOE_NONE) {
    stop = step < 0 ? -1 : len;
  } else if (stop < 0) {
    stop += len;
    if (stop < 0) {
      stop = step < 0 ? -1 : 0;
    }
  } else if (stop >= len) {
    stop = step < 0 ? len - 1 : len;
  }
  *first = start;
  if (step < 0) {
    return stop < start ? (start - stop - 1) / (-step) + 1 : 0;
  }
  return start < stop ? (stop - start - 1) / step + 1 : 0;
}

/* a[idx...] as NumPy's basic indexing; FLOE_ERR_INVALID where NumPy
 * raises. */
static floe_status ref_slice(const dense *a, int n, const floe_index *idx, dense *out) {
  int consumed = 0, ellipses = 0;
  for (int i = 0; i < n; i++) {
    int k = idx[i].kind;
    if (k != FLOE_INDEX_SLICE && k != FLOE_INDEX_INT && k != FLOE_INDEX_NEWAXIS &&
        k != FLOE_INDEX_ELLIPSIS) {
      return FLOE_ERR_INVALID;
    }
    consumed += k == FLOE_INDEX_SLICE || k == FLOE_INDEX_INT;
    ellipses += k == FLOE_INDEX_ELLIPSIS;
  }
  if (ellipses > 1 || consumed > a->ndim) {
    return FLOE_ERR_INVALID;
  }
  int64_t st[FLOE_MAX_DIMS + 2];
  c_strides(a->ndim, a->shape, st);
  int64_t oshape[2 * FLOE_MAX_DIMS + 2], ostride[2 * FLOE_MAX_DIMS + 2], off = 0;
  int ond = 0, d = 0;
  for (int i = 0; i < n; i++) {
    const floe_index *ix = &idx[i];
    switch (ix->kind) {
    case FLOE_INDEX_ELLIPSIS:
      for (int w = 0; w < a->ndim - consumed; w++, d++) {
        oshape[ond] = a->shape[d];
        ostride[ond++] = st[d];
      }
      break;
    case FLOE_INDEX_NEWAXIS:
      oshape[ond] = 1;
      ostride[ond++] = 0;
      break;
    case FLOE_INDEX_INT: {
      int64_t v = ix->start < 0 ? ix->start + a->shape[d] : ix->start;
      if (v < 0 || v >= a->shape[d]) {
        return FLOE_ERR_INVALID;
      }
      off += v * st[d];
      d++;
      break;
    }
    default: {
      if (ix->step == 0) {
        return FLOE_ERR_INVALID;
      }
      int64_t first;
      int64_t count = ref_bounds(a->shape[d], ix->start, ix->stop, ix->step, &first);
      if (count > 0) {
        off += first * st[d];
      }
      oshape[ond] = count;
      ostride[ond++] = count > 1 ? st[d] * ix->step : 0; /* a huge step takes one element */
      d++;
      break;
    }
    }
  }
  for (; d < a->ndim; d++) {
    oshape[ond] = a->shape[d];
    ostride[ond++] = st[d];
  }
  if (ond > FLOE_MAX_DIMS) {
    return FLOE_ERR_SHAPE;
  }
  *out = view_copy(a, ond, oshape, off, ostride);
  return FLOE_OK;
}

typedef struct sel {
  int n;
  floe_index ix[6];
  const char *text;
} sel;

/* Checks a[sel] against the reference: the same values, or the same
 * refusal with a message. */
static void expect_slice(floe_array *a, const dense *r, const sel *s, const char *what) {
  dense want;
  floe_status st = ref_slice(r, s->n, s->ix, &want);
  floe_array *got = floe_slice(a, s->n, s->ix);
  if (st != FLOE_OK) {
    char w[512];
    snprintf(w, sizeof w, "%s%s", what, s->text);
    expect_error(got, st, "floe_slice", NULL, w);
  } else {
    expect_dense(got, &want, "%s%s", what, s->text);
    dense_free(&want);
  }
  floe_release(got);
}

/* ----------------------------------------------------------------- slice */

#define W FLOE_WHOLE
#define S(a, b, c) FLOE_SLICE(a, b, c)
#define N FLOE_NONE

Test(slice, index_forms_on_every_dtype_and_input, .timeout = TEST_TIMEOUT_S) {
  sel sels[] = {
      {0, {W}, "[()]"},
      {2, {S(2, 30, 3), S(N, N, -2)}, "[2:30:3, ::-2]"},
      {2, {S(-5, N, 1), S(-20, -3, 4)}, "[-5:, -20:-3:4]"},
      {2, {S(N, N, -1), FLOE_AT(7)}, "[::-1, 7]"},
      {1, {FLOE_AT(-1)}, "[-1]"},
      {1, {S(3, 9, 1)}, "[3:9]"},
      {4, {FLOE_NEWAXIS, S(3, 9, 1), FLOE_NEWAXIS, S(N, N, 7)}, "[None, 3:9, None, ::7]"},
      {2, {FLOE_ELLIPSIS, FLOE_AT(-2)}, "[..., -2]"},
      {2, {FLOE_AT(5), FLOE_ELLIPSIS}, "[5, ...]"},
      {1, {FLOE_ELLIPSIS}, "[...]"},
      {2, {S(10, 100, 1), S(-100, 5, 1)}, "[10:100, -100:5]"},
      {1, {S(30, 10, 1)}, "[30:10]"},
      {2, {S(5, 5, 1), FLOE_AT(3)}, "[5:5, 3]"},
      {2, {S(100, N, 1), W}, "[100:, :]"},
      {2, {FLOE_ELLIPSIS, FLOE_NEWAXIS}, "[..., None]"},
      {2, {S(36, -100, -5), S(22, 0, -4)}, "[36:-100:-5, 22:0:-4]"},
      {2, {FLOE_AT(-37), FLOE_AT(22)}, "[-37, 22]"},
      {2, {S(N, N, -1), S(N, N, -1)}, "[::-1, ::-1]"},
      {2, {S(-100, 100, 7), S(100, -100, -3)}, "[-100:100:7, 100:-100:-3]"},
      {3, {S(1, -1, 1), FLOE_NEWAXIS, FLOE_ELLIPSIS}, "[1:-1, None, ...]"},
      {3, {FLOE_ELLIPSIS, S(3, 4, 1), FLOE_NEWAXIS}, "[..., 3:4, None]"},
      {3, {FLOE_NEWAXIS, FLOE_ELLIPSIS, FLOE_NEWAXIS}, "[None, ..., None]"},
      {2, {S(N, 8, 1), S(5, N, 1)}, "[:8, 5:] (one chunk each)"},
      {2, {S(7, 9, 1), S(4, 6, 1)}, "[7:9, 4:6] (across chunk edges)"},
      {2, {S(-1, N, -1), S(N, -24, -1)}, "[-1::-1, :-24:-1]"},
      {2, {S(INT64_MAX, N, -1), S(N, INT64_MAX, 1)}, "[INT64_MAX::-1, :INT64_MAX]"},
      {2,
       {S(-INT64_MAX, INT64_MAX, INT64_MAX), S(INT64_MAX, -INT64_MAX, -INT64_MAX)},
       "[-INT64_MAX:INT64_MAX:INT64_MAX, INT64_MAX:-INT64_MAX:-INT64_MAX]"},
      {2, {S(N, N, 36), S(N, N, -22)}, "[::36, ::-22]"},
  };
  floe_ctx *ctx = open_ctx(2);
  floe_shape shape = FLOE_SHAPE(37, 23), chunks = FLOE_SHAPE(8, 5);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], shape, chunks, 10u + (unsigned)t, &r);
      char what[96];
      snprintf(what, sizeof what, "%s %s (37, 23)/(8, 5)", dtn(ALL_DT[t]), KIND[k]);
      for (size_t s = 0; s < sizeof sels / sizeof sels[0]; s++) {
        expect_slice(a, &r, &sels[s], what);
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* 3-D arrays with length-1 and empty axes, 1-D and 0-d arrays. */
Test(slice, empty_length_one_and_low_rank, .timeout = TEST_TIMEOUT_S) {
  sel sels[] = {
      {3, {S(N, N, -1), FLOE_AT(0), S(1, 8, 3)}, "[::-1, 0, 1:8:3]"},
      {2, {FLOE_ELLIPSIS, S(N, N, -2)}, "[..., ::-2]"},
      {3, {FLOE_AT(-1), FLOE_ELLIPSIS, FLOE_NEWAXIS}, "[-1, ..., None]"},
      {3, {S(1, N, 1), FLOE_ELLIPSIS, FLOE_AT(-1)}, "[1:, ..., -1]"},
      {3, {W, S(N, N, -1), W}, "[:, ::-1, :]"},
      {3, {W, S(1, N, 1), W}, "[:, 1:, :]"},
      {2, {FLOE_AT(0), FLOE_AT(0)}, "[0, 0]"},
      {2, {FLOE_NEWAXIS, FLOE_AT(-1)}, "[None, -1]"},
      {4, {FLOE_AT(0), FLOE_AT(0), FLOE_AT(0), FLOE_ELLIPSIS}, "[0, 0, 0, ...]"},
  };
  struct {
    floe_shape shape, chunks;
  } arrays[] = {
      {FLOE_SHAPE(6, 1, 9), FLOE_SHAPE(4, 1, 2)},
      {FLOE_SHAPE(4, 0, 3), FLOE_SHAPE(3, 1, 2)},
      {FLOE_SHAPE(1, 1, 1), FLOE_SHAPE(1, 1, 1)},
      {FLOE_SHAPE(0, 5, 2), FLOE_SHAPE(2, 2, 2)},
  };
  floe_ctx *ctx = open_ctx(2);
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a =
            make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks, 20u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (size_t s = 0; s < sizeof sels / sizeof sels[0]; s++) {
          expect_slice(a, &r, &sels[s], what);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  /* 1-D: arange, generated by floe, with a formula for its values */
  floe_array *v = floe_arange(ctx, I64, 0, 100, 1, FLOE_SHAPE(7));
  dense rv = dense_new(I64, 1, (int64_t[]){100});
  for (int64_t i = 0; i < 100; i++) {
    set_d(&rv, i, (double)i);
  }
  sel one[] = {
      {1, {S(N, N, -3)}, "[::-3]"},
      {1, {S(-10, N, 1)}, "[-10:]"},
      {1, {FLOE_AT(50)}, "[50]"},
      {2, {FLOE_NEWAXIS, S(N, N, 5)}, "[None, ::5]"},
      {2, {FLOE_ELLIPSIS, FLOE_NEWAXIS}, "[..., None]"},
      {1, {S(98, 3, -7)}, "[98:3:-7]"},
      {1, {FLOE_AT(-100)}, "[-100]"},
      {1, {FLOE_AT(100)}, "[100] (out of range)"},
      {1, {S(0, 100, 1000)}, "[0:100:1000]"},
  };
  for (size_t s = 0; s < sizeof one / sizeof one[0]; s++) {
    expect_slice(v, &rv, &one[s], "arange(100)/(7)");
  }
  dense_free(&rv);
  /* 0-d: the sum of a vector */
  double data[5] = {1.5, 2, 3, 4, 5};
  floe_array *z =
      floe_sum(floe_from_buffer(ctx, F64, FLOE_SHAPE(5), FLOE_SHAPE(2), data), FLOE_ALL);
  dense rz = dense_new(F64, 0, NULL);
  set_d(&rz, 0, 15.5);
  sel zero[] = {
      {0, {W}, "[()]"},
      {1, {FLOE_ELLIPSIS}, "[...]"},
      {1, {FLOE_NEWAXIS}, "[None]"},
      {2, {FLOE_NEWAXIS, FLOE_NEWAXIS}, "[None, None]"},
      {3, {FLOE_NEWAXIS, FLOE_ELLIPSIS, FLOE_NEWAXIS}, "[None, ..., None]"},
      {1, {FLOE_AT(0)}, "[0] (too many indices)"},
      {1, {W}, "[:] (too many indices)"},
  };
  for (size_t s = 0; s < sizeof zero / sizeof zero[0]; s++) {
    expect_slice(z, &rz, &zero[s], "sum(x), 0-d");
  }
  dense_free(&rz);
  finish(ctx);
}

Test(slice, slice_of_a_slice, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_index first[] = {S(3, 35, 2), S(N, N, -1)};
  floe_index second[] = {S(N, N, -3), S(2, 20, 4)};
  floe_index third[] = {FLOE_NEWAXIS, FLOE_AT(-1), FLOE_ELLIPSIS};
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r, r1, r2, r3;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 31, &r);
      cr_assert_eq(ref_slice(&r, 2, first, &r1), FLOE_OK);
      cr_assert_eq(ref_slice(&r1, 2, second, &r2), FLOE_OK);
      cr_assert_eq(ref_slice(&r2, 3, third, &r3), FLOE_OK);
      floe_array *a1 = floe_slice(a, 2, first);
      floe_array *a2 = floe_slice(a1, 2, second);
      floe_array *a3 = floe_slice(a2, 3, third);
      expect_dense(a1, &r1, "%s %s [3:35:2, ::-1]", dtn(ALL_DT[t]), KIND[k]);
      expect_dense(a2, &r2, "%s %s [3:35:2, ::-1][::-3, 2:20:4]", dtn(ALL_DT[t]), KIND[k]);
      expect_dense(a3, &r3, "%s %s [3:35:2, ::-1][::-3, 2:20:4][None, -1, ...]", dtn(ALL_DT[t]),
                   KIND[k]);
      /* a transposed slice and a slice of a transpose */
      floe_index tsel[] = {S(1, N, 4), S(N, N, -5)};
      dense rt, rts;
      int64_t tshape[2] = {23, 37}, tstride[2] = {1, 23};
      rt = view_copy(&r, 2, tshape, 0, tstride);
      cr_assert_eq(ref_slice(&rt, 2, tsel, &rts), FLOE_OK);
      expect_dense(floe_slice(floe_transpose(a, FLOE_ALL), 2, tsel), &rts, "%s %s a.T[1::4, ::-5]",
                   dtn(ALL_DT[t]), KIND[k]);
      dense_free(&r);
      dense_free(&r1);
      dense_free(&r2);
      dense_free(&r3);
      dense_free(&rt);
      dense_free(&rts);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* Slices feed elementwise programs and reductions like any array. */
Test(slice, composes_with_elementwise_and_reductions, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_index ix[] = {S(2, 30, 3), S(N, N, -2)};
  const floe_dtype dts[] = {I32, I64, F32, F64};
  for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
    floe_dtype dt = dts[t];
    for (int k = 0; k < IN_KINDS; k++) {
      if (k == IN_GENERATED) {
        continue; /* float sums of generated values are not exact */
      }
      floe_scope_begin(ctx);
      dense r, rs;
      floe_array *a = make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 41, &r);
      cr_assert_eq(ref_slice(&r, 2, ix, &rs), FLOE_OK);
      floe_array *s = floe_slice(a, 2, ix);
      /* s + 1 */
      dense plus = dense_new(dt, rs.ndim, rs.shape);
      for (int64_t i = 0; i < rs.n; i++) {
        set_d(&plus, i, get_d(&rs, i) + 1);
      }
      expect_dense(floe_add(s, floe_scalar_int(ctx, 1)), &plus, "%s %s a[2:30:3, ::-2] + 1",
                   dtn(dt), KIND[k]);
      /* sum over axis 0 and over everything (int64 for integers; the
         values make float sums exact in any order) */
      floe_dtype sdt = is_float(dt) ? dt : I64;
      dense col = dense_new(sdt, 1, &rs.shape[1]);
      double total = 0;
      int64_t itotal = 0;
      for (int64_t j = 0; j < rs.shape[1]; j++) {
        double acc = 0;
        int64_t iacc = 0;
        for (int64_t i = 0; i < rs.shape[0]; i++) {
          acc += get_d(&rs, i * rs.shape[1] + j);
          iacc += get_i(&rs, i * rs.shape[1] + j);
        }
        if (is_float(dt)) {
          set_d(&col, j, acc);
        } else {
          ((int64_t *)col.v)[j] = iacc;
        }
        total += acc;
        itotal += iacc;
      }
      expect_dense(floe_sum(s, FLOE_AXES(0)), &col, "%s %s sum(a[2:30:3, ::-2], axis=0)", dtn(dt),
                   KIND[k]);
      dense all = dense_new(sdt, 0, NULL);
      if (is_float(dt)) {
        set_d(&all, 0, total);
      } else {
        ((int64_t *)all.v)[0] = itotal;
      }
      expect_dense(floe_sum(s, FLOE_ALL), &all, "%s %s sum(a[2:30:3, ::-2])", dtn(dt), KIND[k]);
      /* a slice of an expression of slices: (s - s[::-1]) is antisymmetric */
      floe_index rev[] = {S(N, N, -1)};
      dense diff = dense_new(dt, rs.ndim, rs.shape);
      for (int64_t i = 0; i < rs.shape[0]; i++) {
        for (int64_t j = 0; j < rs.shape[1]; j++) {
          set_d(&diff, i * rs.shape[1] + j,
                get_d(&rs, i * rs.shape[1] + j) -
                    get_d(&rs, (rs.shape[0] - 1 - i) * rs.shape[1] + j));
        }
      }
      expect_dense(floe_subtract(s, floe_slice(s, 1, rev)), &diff, "%s %s s - s[::-1]", dtn(dt),
                   KIND[k]);
      dense_free(&r);
      dense_free(&rs);
      dense_free(&plus);
      dense_free(&col);
      dense_free(&all);
      dense_free(&diff);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(slice, errors_have_a_status_and_a_message, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  dense r = dense_pattern(F64, FLOE_SHAPE(37, 23), 1, false);
  floe_array *a =
      floe_from_buffer(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
  floe_index step0[] = {S(1, 5, 0)};
  expect_error(floe_slice(a, 1, step0), FLOE_ERR_INVALID, "floe_slice", "step", "[1:5:0]");
  floe_index step0b[] = {W, S(N, N, 0)};
  expect_error(floe_slice(a, 2, step0b), FLOE_ERR_INVALID, "floe_slice", "step", "[:, ::0]");
  floe_index out[] = {FLOE_AT(37)};
  expect_error(floe_slice(a, 1, out), FLOE_ERR_INVALID, "floe_slice", "37", "[37]");
  floe_index neg[] = {FLOE_AT(-38)};
  expect_error(floe_slice(a, 1, neg), FLOE_ERR_INVALID, "floe_slice", "-38", "[-38]");
  floe_index out1[] = {FLOE_ELLIPSIS, FLOE_AT(23)};
  expect_error(floe_slice(a, 2, out1), FLOE_ERR_INVALID, "floe_slice", "23", "[..., 23]");
  floe_index many[] = {FLOE_AT(0), FLOE_AT(0), FLOE_AT(0)};
  expect_error(floe_slice(a, 3, many), FLOE_ERR_INVALID, "floe_slice", "indices", "[0, 0, 0]");
  floe_index many2[] = {W, FLOE_NEWAXIS, W, S(1, 2, 1)};
  expect_error(floe_slice(a, 4, many2), FLOE_ERR_INVALID, "floe_slice", "indices",
               "[:, None, :, 1:2]");
  floe_index ell[] = {FLOE_ELLIPSIS, FLOE_AT(1), FLOE_ELLIPSIS};
  expect_error(floe_slice(a, 3, ell), FLOE_ERR_INVALID, "floe_slice", "ellipsis", "[..., 1, ...]");
  floe_index kind[] = {{99, 0, 0, 0}};
  expect_error(floe_slice(a, 1, kind), FLOE_ERR_INVALID, "floe_slice", NULL, "unknown kind");
  expect_error(floe_slice(a, -1, step0), FLOE_ERR_INVALID, "floe_slice", NULL, "n = -1");
  expect_error(floe_slice(a, 1, NULL), FLOE_ERR_INVALID, "floe_slice", NULL, "idx NULL");
  /* no indices at all: the whole array, idx may then be NULL */
  expect_dense(floe_slice(a, 0, NULL), &r, "a[()] with idx NULL");
  /* more than FLOE_MAX_DIMS axes in the result */
  floe_index nine[9];
  for (int i = 0; i < 9; i++) {
    nine[i] = FLOE_NEWAXIS;
  }
  floe_status st = floe_array_status(floe_slice(a, 7, nine));
  if (st == FLOE_OK) {
    soft_fail("9 axes from 7 new axes on a 2-D array: accepted");
  }
  /* the error reaches compute, and the thread's message */
  floe_array *bad = floe_slice(a, 1, step0);
  double v;
  cr_assert_eq(floe_compute_scalar(floe_sum(bad, FLOE_ALL), &v), FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_slice");
  dense_free(&r);
  finish(ctx);
}

/* The result's chunks follow the input's along axes sliced with step 1. */
Test(slice, chunks_follow_the_input, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_zeros(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  floe_index ix[] = {S(3, 30, 1), FLOE_NEWAXIS, S(N, N, 2)};
  floe_array *s = floe_slice(a, 3, ix);
  cr_assert_eq(floe_array_status(s), FLOE_OK, "%s", floe_array_message(s));
  floe_shape c = floe_array_chunks(s), sh = floe_array_shape(s);
  cr_assert_eq(c.ndim, 3);
  cr_assert_eq(sh.dim[0], 27);
  cr_assert_eq(sh.dim[1], 1);
  cr_assert_eq(sh.dim[2], 12);
  cr_assert_eq(c.dim[0], 8, "chunks along a step-1 slice: %lld, expected 8", (long long)c.dim[0]);
  cr_assert_eq(c.dim[1], 1);
  cr_assert(c.dim[2] >= 1 && c.dim[2] <= 5, "chunk %lld along a step-2 slice", (long long)c.dim[2]);
  finish(ctx);
}

/* ------------------------------------------------------------- transpose */

static dense ref_transpose(const dense *a, const int *perm) {
  int64_t st[FLOE_MAX_DIMS], shape[FLOE_MAX_DIMS], stride[FLOE_MAX_DIMS];
  c_strides(a->ndim, a->shape, st);
  for (int d = 0; d < a->ndim; d++) {
    shape[d] = a->shape[perm[d]];
    stride[d] = st[perm[d]];
  }
  return view_copy(a, a->ndim, shape, 0, stride);
}

Test(transpose, two_d_on_every_dtype_and_input, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, chunks;
  } arrays[] = {
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5)},
      {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 4)},
      {FLOE_SHAPE(37, 1), FLOE_SHAPE(6, 1)},
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2)},
  };
  const int perm[2] = {1, 0};
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a =
            make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks, 50u + (unsigned)t, &r);
        dense want = ref_transpose(&r, perm);
        char sh[64];
        shape_str(sh, sizeof sh, r.ndim, r.shape);
        expect_dense(floe_transpose(a, FLOE_ALL), &want, "%s %s %s .T", dtn(ALL_DT[t]), KIND[k],
                     sh);
        expect_dense(floe_transpose(a, FLOE_AXES(1, 0)), &want, "%s %s %s transpose(1, 0)",
                     dtn(ALL_DT[t]), KIND[k], sh);
        expect_dense(floe_transpose(a, FLOE_AXES(-1, -2)), &want, "%s %s %s transpose(-1, -2)",
                     dtn(ALL_DT[t]), KIND[k], sh);
        expect_dense(floe_transpose(a, FLOE_AXES(0, 1)), &r, "%s %s %s transpose(0, 1)",
                     dtn(ALL_DT[t]), KIND[k], sh);
        expect_dense(floe_transpose(floe_transpose(a, FLOE_ALL), FLOE_ALL), &r, "%s %s %s .T.T",
                     dtn(ALL_DT[t]), KIND[k], sh);
        /* chunks move with their axes */
        floe_shape c = floe_array_chunks(floe_transpose(a, FLOE_ALL)), ca = floe_array_chunks(a);
        if (c.ndim != 2 || c.dim[0] != ca.dim[1] || c.dim[1] != ca.dim[0]) {
          soft_fail("%s %s %s: chunks of .T are (%lld, %lld), the input's (%lld, %lld)",
                    dtn(ALL_DT[t]), KIND[k], sh, (long long)c.dim[0], (long long)c.dim[1],
                    (long long)ca.dim[0], (long long)ca.dim[1]);
        }
        dense_free(&r);
        dense_free(&want);
        floe_scope_end(ctx);
      }
    }
  }
  /* 1-D and 0-d: .T is the array */
  dense r1;
  floe_array *v = make_input(ctx, IN_BUFFER, I32, FLOE_SHAPE(10), FLOE_SHAPE(3), 3, &r1);
  expect_dense(floe_transpose(v, FLOE_ALL), &r1, "1-D .T");
  expect_dense(floe_transpose(v, FLOE_AXES(0)), &r1, "1-D transpose(0)");
  dense r0;
  floe_array *z = make_input(ctx, IN_REDUCED, F64, FLOE_SCALAR_SHAPE, FLOE_AUTO, 3, &r0);
  expect_dense(floe_transpose(z, FLOE_ALL), &r0, "0-d .T");
  dense_free(&r1);
  dense_free(&r0);
  finish(ctx);
}

Test(transpose, three_d_permutations, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a =
          make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(6, 7, 5), FLOE_SHAPE(4, 3, 2), 60, &r);
      for (int p = 0; p < 6; p++) {
        dense want = ref_transpose(&r, perms[p]);
        floe_array *b = floe_transpose(a, FLOE_AXES(perms[p][0], perms[p][1], perms[p][2]));
        expect_dense(b, &want, "%s %s (6, 7, 5) transpose(%d, %d, %d)", dtn(ALL_DT[t]), KIND[k],
                     perms[p][0], perms[p][1], perms[p][2]);
        floe_shape c = floe_array_chunks(b), ca = floe_array_chunks(a);
        for (int d = 0; d < 3; d++) {
          if (c.dim[d] != ca.dim[perms[p][d]]) {
            soft_fail("%s transpose(%d, %d, %d): chunk %lld on axis %d, expected %lld", KIND[k],
                      perms[p][0], perms[p][1], perms[p][2], (long long)c.dim[d], d,
                      (long long)ca.dim[perms[p][d]]);
          }
        }
        dense_free(&want);
      }
      const int rev[3] = {2, 1, 0}, negp[3] = {2, 0, 1};
      dense want = ref_transpose(&r, rev);
      expect_dense(floe_transpose(a, FLOE_ALL), &want, "%s %s (6, 7, 5) .T", dtn(ALL_DT[t]),
                   KIND[k]);
      dense_free(&want);
      want = ref_transpose(&r, negp);
      expect_dense(floe_transpose(a, FLOE_AXES(-1, 0, -2)), &want,
                   "%s %s (6, 7, 5) transpose(-1, 0, -2)", dtn(ALL_DT[t]), KIND[k]);
      dense_free(&want);
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(transpose, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(4, 5, 6), FLOE_SHAPE(2, 2, 2));
  expect_error(floe_transpose(a, FLOE_AXES(0, 0, 1)), FLOE_ERR_INVALID, "floe_transpose", NULL,
               "repeated axis (0, 0, 1)");
  expect_error(floe_transpose(a, FLOE_AXES(0, -3, 1)), FLOE_ERR_INVALID, "floe_transpose", NULL,
               "repeated axis (0, -3, 1)");
  expect_error(floe_transpose(a, FLOE_AXES(1, 0)), FLOE_ERR_INVALID, "floe_transpose", NULL,
               "two axes for 3-D");
  expect_error(floe_transpose(a, FLOE_AXES(0, 1, 2, 3)), FLOE_ERR_INVALID, "floe_transpose", NULL,
               "four axes for 3-D");
  expect_error(floe_transpose(a, FLOE_AXES(0, 1, 3)), FLOE_ERR_INVALID, "floe_transpose", "3",
               "axis 3 of 3-D");
  expect_error(floe_transpose(a, FLOE_AXES(0, 1, -4)), FLOE_ERR_INVALID, "floe_transpose", "-4",
               "axis -4 of 3-D");
  finish(ctx);
}

/* --------------------------------------------------------------- rechunk */

Test(rechunk, other_chunkings_on_every_dtype_and_input, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_shape targets[] = {FLOE_SHAPE(3, 11), FLOE_SHAPE(-1, 4),  FLOE_SHAPE(37, 23),
                          FLOE_SHAPE(1, 23), FLOE_SHAPE(37, 1),  FLOE_SHAPE(5, -1),
                          FLOE_SHAPE(8, 5),  FLOE_SHAPE(13, 17), FLOE_SHAPE(100, 100),
                          FLOE_AUTO};
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5),
                                 70u + (unsigned)t, &r);
      for (size_t j = 0; j < sizeof targets / sizeof targets[0]; j++) {
        floe_array *b = floe_rechunk(a, targets[j]);
        char tc[64];
        if (targets[j].ndim < 0) {
          snprintf(tc, sizeof tc, "auto");
        } else {
          shape_str(tc, sizeof tc, 2, targets[j].dim);
        }
        expect_dense(b, &r, "%s %s rechunk %s", dtn(ALL_DT[t]), KIND[k], tc);
        floe_shape c = floe_array_chunks(b);
        for (int d = 0; d < 2 && targets[j].ndim == 2; d++) {
          /* -1: the whole axis; longer than the axis: clipped to it */
          int64_t want = targets[j].dim[d] == -1 || targets[j].dim[d] > r.shape[d]
                             ? r.shape[d]
                             : targets[j].dim[d];
          if (c.ndim != 2 || c.dim[d] != want) {
            soft_fail("rechunk %s: chunk %lld on axis %d, expected %lld", tc, (long long)c.dim[d],
                      d, (long long)want);
          }
        }
        if (targets[j].ndim < 0 && (c.ndim != 2 || c.dim[0] < 1 || c.dim[1] < 1)) {
          soft_fail("rechunk auto: chunks of %d axes (%lld, %lld)", c.ndim, (long long)c.dim[0],
                    (long long)c.dim[1]);
        }
      }
      /* a chain of rechunks, and a rechunk feeding a reduction */
      floe_array *chain = floe_rechunk(
          floe_rechunk(floe_rechunk(a, FLOE_SHAPE(1, 23)), FLOE_SHAPE(37, 1)), FLOE_SHAPE(6, 6));
      expect_dense(chain, &r, "%s %s rechunk (1, 23) -> (37, 1) -> (6, 6)", dtn(ALL_DT[t]),
                   KIND[k]);
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  /* empty and length-1 axes */
  dense r0;
  floe_array *e = make_input(ctx, IN_BUFFER, I32, FLOE_SHAPE(0, 7), FLOE_SHAPE(2, 3), 5, &r0);
  expect_dense(floe_rechunk(e, FLOE_SHAPE(5, 1)), &r0, "(0, 7) rechunk (5, 1)");
  dense_free(&r0);
  finish(ctx);
}

/* From row chunks to column chunks: every output chunk overlaps every
 * input chunk. */
Test(rechunk, rows_to_columns, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(64, 48), FLOE_SHAPE(1, 48),
                                 80u + (unsigned)t, &r);
      floe_array *b = floe_rechunk(a, FLOE_SHAPE(64, 1));
      expect_dense(b, &r, "%s %s (64, 48): (1, 48) -> (64, 1)", dtn(ALL_DT[t]), KIND[k]);
      expect_dense(floe_rechunk(b, FLOE_SHAPE(1, -1)), &r, "%s %s (64, 48): -> (64, 1) -> (1, -1)",
                   dtn(ALL_DT[t]), KIND[k]);
      expect_dense(
          floe_transpose(floe_rechunk(floe_transpose(b, FLOE_ALL), FLOE_SHAPE(7, 9)), FLOE_ALL), &r,
          "%s %s (64, 48): .T rechunked .T", dtn(ALL_DT[t]), KIND[k]);
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(rechunk, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  /* bad chunk lengths are refused as floe_zeros refuses them (the
     library's status for chunks is FLOE_ERR_SHAPE) */
  const floe_status bad_chunk =
      floe_array_status(floe_zeros(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(0, 5)));
  cr_assert_neq(bad_chunk, FLOE_OK);
  expect_error(floe_rechunk(a, FLOE_SHAPE(0, 5)), bad_chunk, "floe_rechunk", "0", "chunk 0");
  expect_error(floe_rechunk(a, FLOE_SHAPE(4, 0)), bad_chunk, "floe_rechunk", "axis 1",
               "chunk 0 on axis 1");
  expect_error(floe_rechunk(a, FLOE_SHAPE(-2, 5)), bad_chunk, "floe_rechunk", "-2", "chunk -2");
  floe_array *b = floe_rechunk(a, FLOE_SHAPE(4, 5, 6));
  if (floe_array_status(b) == FLOE_OK || !contains(floe_array_message(b), "floe_rechunk")) {
    soft_fail("rechunk of 2-D with 3 chunk lengths: %s (%s)",
              floe_status_name(floe_array_status(b)), floe_array_message(b));
  }
  b = floe_rechunk(a, FLOE_SHAPE(4));
  if (floe_array_status(b) == FLOE_OK) {
    soft_fail("rechunk of 2-D with 1 chunk length: accepted");
  }
  finish(ctx);
}

/* ---------------------------------------------------------------- shapes */

/* a broadcast to `to` (NumPy's rules); FLOE_ERR_SHAPE where NumPy raises. */
static floe_status ref_broadcast(const dense *a, floe_shape to, dense *out) {
  if (to.ndim < a->ndim) {
    return FLOE_ERR_SHAPE;
  }
  int64_t st[FLOE_MAX_DIMS], stride[FLOE_MAX_DIMS];
  c_strides(a->ndim, a->shape, st);
  for (int d = 0; d < to.ndim; d++) {
    int k = d - (to.ndim - a->ndim);
    if (k < 0) {
      stride[d] = 0;
    } else if (a->shape[k] == to.dim[d]) {
      stride[d] = st[k];
    } else if (a->shape[k] == 1) {
      stride[d] = 0;
    } else {
      return FLOE_ERR_SHAPE;
    }
  }
  *out = view_copy(a, to.ndim, to.dim, 0, stride);
  return FLOE_OK;
}

Test(shape, broadcast_to, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, chunks, to;
  } cases[] = {
      {FLOE_SHAPE(23), FLOE_SHAPE(5), FLOE_SHAPE(4, 23)},
      {FLOE_SHAPE(37, 1), FLOE_SHAPE(8, 1), FLOE_SHAPE(37, 6)},
      {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 5), FLOE_SHAPE(37, 23)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(2, 37, 23)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(37, 23)},
      {FLOE_SHAPE(1, 1), FLOE_SHAPE(1, 1), FLOE_SHAPE(3, 0)},
      {FLOE_SHAPE(1, 1), FLOE_SHAPE(1, 1), FLOE_SHAPE(5, 1, 9)},
      {FLOE_SHAPE(3, 1, 4), FLOE_SHAPE(2, 1, 3), FLOE_SHAPE(2, 3, 5, 4)},
      {FLOE_SHAPE(0), FLOE_SHAPE(1), FLOE_SHAPE(4, 0)},
      {FLOE_SCALAR_SHAPE, FLOE_AUTO, FLOE_SHAPE(3, 4)},
      {FLOE_SCALAR_SHAPE, FLOE_AUTO, FLOE_SCALAR_SHAPE},
      /* refused */
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(37, 22)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(23)},
      {FLOE_SHAPE(2, 23), FLOE_SHAPE(1, 5), FLOE_SHAPE(4, 23)},
      {FLOE_SHAPE(3), FLOE_SHAPE(1), FLOE_SHAPE(0)},
  };
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r, want;
        floe_array *a = make_input(ctx, k, ALL_DT[t], cases[j].shape, cases[j].chunks, 90, &r);
        floe_status st = ref_broadcast(&r, cases[j].to, &want);
        floe_array *b = floe_broadcast_to(a, cases[j].to);
        char s1[64], s2[64], what[192];
        snprintf(what, sizeof what, "%s %s broadcast_to %s -> %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(s1, sizeof s1, r.ndim, r.shape),
                 shape_str(s2, sizeof s2, cases[j].to.ndim, cases[j].to.dim));
        if (st != FLOE_OK) {
          expect_error(b, st, "floe_broadcast_to", NULL, what);
        } else {
          expect_dense(b, &want, "%s", what);
          dense_free(&want);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

Test(shape, expand_dims, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const int axes[] = {0, 1, 2, -1, -2, -3};
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 100, &r);
      for (size_t j = 0; j < sizeof axes / sizeof axes[0]; j++) {
        int ax = axes[j] < 0 ? axes[j] + 3 : axes[j];
        dense want = r;
        want.ndim = 3;
        for (int d = 0, s = 0; d < 3; d++) {
          want.shape[d] = d == ax ? 1 : r.shape[s++];
        }
        expect_dense(floe_expand_dims(a, axes[j]), &want, "%s %s expand_dims((37, 23), %d)",
                     dtn(ALL_DT[t]), KIND[k], axes[j]);
      }
      expect_error(floe_expand_dims(a, 3), FLOE_ERR_INVALID, "floe_expand_dims", NULL,
                   "expand_dims axis 3");
      expect_error(floe_expand_dims(a, -4), FLOE_ERR_INVALID, "floe_expand_dims", NULL,
                   "expand_dims axis -4");
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  /* 0-d to 1-D, and an empty array */
  dense r0;
  floe_array *z = make_input(ctx, IN_REDUCED, I64, FLOE_SCALAR_SHAPE, FLOE_AUTO, 4, &r0);
  dense w0 = r0;
  w0.ndim = 1;
  w0.shape[0] = 1;
  expect_dense(floe_expand_dims(z, 0), &w0, "expand_dims(0-d, 0)");
  expect_dense(floe_expand_dims(z, -1), &w0, "expand_dims(0-d, -1)");
  dense re;
  floe_array *e = make_input(ctx, IN_BUFFER, F32, FLOE_SHAPE(3, 0), FLOE_SHAPE(2, 2), 4, &re);
  dense we = re;
  we.ndim = 3;
  we.shape[0] = 3;
  we.shape[1] = 1;
  we.shape[2] = 0;
  expect_dense(floe_expand_dims(e, 1), &we, "expand_dims((3, 0), 1)");
  dense_free(&r0);
  dense_free(&re);
  finish(ctx);
}

Test(shape, squeeze, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a =
          make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(1, 37, 1, 23), FLOE_SHAPE(1, 8, 1, 5), 110, &r);
      struct {
        floe_axes axes;
        int ndim;
        int64_t shape[4];
        const char *text;
      } cases[] = {
          {FLOE_ALL, 2, {37, 23}, "all"},           {FLOE_AXES(0), 3, {37, 1, 23}, "(0,)"},
          {FLOE_AXES(2), 3, {1, 37, 23}, "(2,)"},   {FLOE_AXES(-2), 3, {1, 37, 23}, "(-2,)"},
          {FLOE_AXES(0, 2), 2, {37, 23}, "(0, 2)"}, {FLOE_AXES(2, -4), 2, {37, 23}, "(2, -4)"},
      };
      for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
        dense want = r;
        want.ndim = cases[j].ndim;
        memcpy(want.shape, cases[j].shape, sizeof cases[j].shape);
        expect_dense(floe_squeeze(a, cases[j].axes), &want, "%s %s squeeze((1, 37, 1, 23), %s)",
                     dtn(ALL_DT[t]), KIND[k], cases[j].text);
      }
      expect_error(floe_squeeze(a, FLOE_AXES(1)), FLOE_ERR_SHAPE, "floe_squeeze", NULL,
                   "squeeze of an axis of 37");
      expect_error(floe_squeeze(a, FLOE_AXES(0, 3)), FLOE_ERR_SHAPE, "floe_squeeze", NULL,
                   "squeeze of axes 0 and 3 (23)");
      floe_status st = floe_array_status(floe_squeeze(a, FLOE_AXES(4)));
      if (st == FLOE_OK) {
        soft_fail("squeeze of axis 4 of a 4-D array: accepted");
      }
      /* squeeze after expand_dims is the array */
      floe_array *flat = floe_squeeze(a, FLOE_ALL);
      dense want = r;
      want.ndim = 2;
      want.shape[0] = 37;
      want.shape[1] = 23;
      expect_dense(floe_squeeze(floe_expand_dims(flat, -1), FLOE_AXES(2)), &want,
                   "%s %s squeeze(expand_dims(a, -1), 2)", dtn(ALL_DT[t]), KIND[k]);
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  /* (1, 1) to 0-d; no length-1 axes: unchanged */
  dense r1;
  floe_array *one = make_input(ctx, IN_BUFFER, F64, FLOE_SHAPE(1, 1), FLOE_SHAPE(1, 1), 5, &r1);
  dense w1 = r1;
  w1.ndim = 0;
  expect_dense(floe_squeeze(one, FLOE_ALL), &w1, "squeeze((1, 1))");
  dense r2;
  floe_array *two = make_input(ctx, IN_EXPR, I32, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 5, &r2);
  expect_dense(floe_squeeze(two, FLOE_ALL), &r2, "squeeze((37, 23))");
  dense_free(&r1);
  dense_free(&r2);
  finish(ctx);
}

/* ------------------------------------------------------------ concat, stack */

static floe_dtype promote_all(dense *const *in, int n) {
  floe_dtype dt = in[0]->dt;
  for (int i = 1; i < n; i++) {
    dt = promote(dt, in[i]->dt);
  }
  return dt;
}

static dense ref_concat(dense *const *in, int n, int axis) {
  int ndim = in[0]->ndim;
  axis = axis < 0 ? axis + ndim : axis;
  int64_t shape[FLOE_MAX_DIMS];
  memcpy(shape, in[0]->shape, sizeof shape);
  shape[axis] = 0;
  for (int i = 0; i < n; i++) {
    shape[axis] += in[i]->shape[axis];
  }
  dense r = dense_new(promote_all(in, n), ndim, shape);
  int64_t idx[FLOE_MAX_DIMS];
  for (int64_t j = 0; j < r.n; j++) {
    unravel(j, ndim, shape, idx);
    int i = 0;
    while (idx[axis] >= in[i]->shape[axis]) {
      idx[axis] -= in[i++]->shape[axis];
    }
    put(&r, j, in[i], ravel(ndim, in[i]->shape, idx));
  }
  return r;
}

static dense ref_stack(dense *const *in, int n, int axis) {
  int ndim = in[0]->ndim + 1;
  axis = axis < 0 ? axis + ndim : axis;
  int64_t shape[FLOE_MAX_DIMS + 1];
  for (int d = 0, s = 0; d < ndim; d++) {
    shape[d] = d == axis ? n : in[0]->shape[s++];
  }
  dense r = dense_new(promote_all(in, n), ndim, shape);
  int64_t idx[FLOE_MAX_DIMS + 1], src[FLOE_MAX_DIMS];
  for (int64_t j = 0; j < r.n; j++) {
    unravel(j, ndim, shape, idx);
    for (int d = 0, s = 0; d < ndim; d++) {
      if (d != axis) {
        src[s++] = idx[d];
      }
    }
    const dense *x = in[idx[axis]];
    put(&r, j, x, ravel(x->ndim, x->shape, src));
  }
  return r;
}

Test(join, concat_along_each_axis, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  /* five pieces of different lengths, chunkings and kinds along the axis */
  const int64_t lens[5] = {37, 5, 0, 12, 1};
  const int64_t chunk[5] = {8, 2, 3, 5, 1};
  for (int t = 0; t < NDT; t++) {
    for (int axis = -2; axis < 2; axis++) {
      floe_scope_begin(ctx);
      int ax = axis < 0 ? axis + 2 : axis;
      dense r[5];
      dense *rp[5];
      floe_array *arr[5];
      for (int i = 0; i < 5; i++) {
        floe_shape s = ax == 0 ? FLOE_SHAPE(lens[i], 23) : FLOE_SHAPE(23, lens[i]);
        floe_shape c = ax == 0 ? FLOE_SHAPE(chunk[i], 5 + i) : FLOE_SHAPE(5 + i, chunk[i]);
        arr[i] = make_input(ctx, i % IN_KINDS, ALL_DT[t], s, c, 120u + (unsigned)i, &r[i]);
        rp[i] = &r[i];
      }
      dense want = ref_concat(rp, 5, axis);
      expect_dense(floe_concat(arr, 5, axis), &want, "%s concat of 5 along axis %d", dtn(ALL_DT[t]),
                   axis);
      dense_free(&want);
      want = ref_concat(rp, 2, axis);
      expect_dense(floe_concat(arr, 2, axis), &want, "%s concat of 2 along axis %d", dtn(ALL_DT[t]),
                   axis);
      dense_free(&want);
      floe_array *pair[2] = {arr[3], arr[0]};
      dense *rpair[2] = {rp[3], rp[0]};
      want = ref_concat(rpair, 2, axis);
      expect_dense(floe_concat(pair, 2, axis), &want, "%s concat (12, 37) along axis %d",
                   dtn(ALL_DT[t]), axis);
      dense_free(&want);
      expect_dense(floe_concat(arr, 1, axis), &r[0], "%s concat of 1 along axis %d", dtn(ALL_DT[t]),
                   axis);
      for (int i = 0; i < 5; i++) {
        dense_free(&r[i]);
      }
      floe_scope_end(ctx);
    }
  }
  /* 1-D and 3-D */
  dense r1[3], *rp1[3] = {&r1[0], &r1[1], &r1[2]};
  floe_array *v[3] = {
      make_input(ctx, IN_BUFFER, I64, FLOE_SHAPE(10), FLOE_SHAPE(3), 1, &r1[0]),
      make_input(ctx, IN_GENERATED, I64, FLOE_SHAPE(7), FLOE_SHAPE(7), 2, &r1[1]),
      make_input(ctx, IN_EXPR, I64, FLOE_SHAPE(4), FLOE_SHAPE(1), 3, &r1[2]),
  };
  dense want = ref_concat(rp1, 3, 0);
  expect_dense(floe_concat(v, 3, 0), &want, "1-D concat of 3");
  dense_free(&want);
  dense r3[2], *rp3[2] = {&r3[0], &r3[1]};
  floe_array *c3[2] = {
      make_input(ctx, IN_BUFFER, F32, FLOE_SHAPE(3, 4, 5), FLOE_SHAPE(2, 3, 2), 1, &r3[0]),
      make_input(ctx, IN_REDUCED, F32, FLOE_SHAPE(3, 2, 5), FLOE_SHAPE(1, 1, 4), 2, &r3[1]),
  };
  want = ref_concat(rp3, 2, 1);
  expect_dense(floe_concat(c3, 2, 1), &want, "3-D concat along axis 1");
  dense_free(&want);
  for (int i = 0; i < 3; i++) {
    dense_free(&r1[i]);
  }
  dense_free(&r3[0]);
  dense_free(&r3[1]);
  finish(ctx);
}

Test(join, mixed_dtypes_promote, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int ta = 0; ta < NDT; ta++) {
    for (int tb = 0; tb < NDT; tb++) {
      floe_scope_begin(ctx);
      dense r[2], *rp[2] = {&r[0], &r[1]};
      floe_array *arr[2] = {
          make_input(ctx, IN_BUFFER, ALL_DT[ta], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 1, &r[0]),
          make_input(ctx, IN_EXPR, ALL_DT[tb], FLOE_SHAPE(5, 23), FLOE_SHAPE(3, 7), 2, &r[1]),
      };
      dense want = ref_concat(rp, 2, 0);
      expect_dense(floe_concat(arr, 2, 0), &want, "concat %s and %s", dtn(ALL_DT[ta]),
                   dtn(ALL_DT[tb]));
      dense_free(&want);
      floe_array *sq[2] = {arr[1], floe_slice(arr[0], 1, (floe_index[]){S(N, 5, 1)})};
      dense s0;
      cr_assert_eq(ref_slice(&r[0], 1, (floe_index[]){S(N, 5, 1)}, &s0), FLOE_OK);
      dense *sp[2] = {&r[1], &s0};
      want = ref_stack(sp, 2, 1);
      expect_dense(floe_stack(sq, 2, 1), &want, "stack %s and %s", dtn(ALL_DT[tb]),
                   dtn(ALL_DT[ta]));
      dense_free(&want);
      dense_free(&s0);
      dense_free(&r[0]);
      dense_free(&r[1]);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(join, stack, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    floe_scope_begin(ctx);
    dense r[5], *rp[5];
    floe_array *arr[5];
    for (int i = 0; i < 5; i++) {
      floe_shape c = i == 0 ? FLOE_SHAPE(8, 5) : FLOE_SHAPE(3 + i, 2 + 2 * i);
      arr[i] = make_input(ctx, i % IN_KINDS, ALL_DT[t], FLOE_SHAPE(37, 23), c, 130u + (unsigned)i,
                          &r[i]);
      rp[i] = &r[i];
    }
    for (int axis = -3; axis < 3; axis++) {
      dense want = ref_stack(rp, 5, axis);
      expect_dense(floe_stack(arr, 5, axis), &want, "%s stack of 5 along axis %d", dtn(ALL_DT[t]),
                   axis);
      dense_free(&want);
      want = ref_stack(rp, 2, axis);
      expect_dense(floe_stack(arr, 2, axis), &want, "%s stack of 2 along axis %d", dtn(ALL_DT[t]),
                   axis);
      dense_free(&want);
    }
    dense want = ref_stack(rp, 1, 0);
    expect_dense(floe_stack(arr, 1, 0), &want, "%s stack of 1", dtn(ALL_DT[t]));
    dense_free(&want);
    for (int i = 0; i < 5; i++) {
      dense_free(&r[i]);
    }
    floe_scope_end(ctx);
  }
  /* 0-d into 1-D; empty arrays */
  dense z[3], *zp[3] = {&z[0], &z[1], &z[2]};
  floe_array *za[3];
  for (int i = 0; i < 3; i++) {
    za[i] = make_input(ctx, IN_REDUCED, I32, FLOE_SCALAR_SHAPE, FLOE_AUTO, 7u + (unsigned)i, &z[i]);
  }
  dense want = ref_stack(zp, 3, 0);
  expect_dense(floe_stack(za, 3, 0), &want, "stack of three 0-d");
  dense_free(&want);
  dense e[2], *ep[2] = {&e[0], &e[1]};
  floe_array *ea[2] = {
      make_input(ctx, IN_BUFFER, U8, FLOE_SHAPE(0, 4), FLOE_SHAPE(1, 2), 1, &e[0]),
      make_input(ctx, IN_BUFFER, U8, FLOE_SHAPE(0, 4), FLOE_SHAPE(3, 3), 2, &e[1]),
  };
  want = ref_stack(ep, 2, 1);
  expect_dense(floe_stack(ea, 2, 1), &want, "stack of two (0, 4)");
  dense_free(&want);
  for (int i = 0; i < 3; i++) {
    dense_free(&z[i]);
  }
  dense_free(&e[0]);
  dense_free(&e[1]);
  finish(ctx);
}

Test(join, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  floe_array *b = floe_ones(ctx, F64, FLOE_SHAPE(5, 22), FLOE_SHAPE(8, 5));
  floe_array *c = floe_ones(ctx, I32, FLOE_SHAPE(37, 23, 1), FLOE_AUTO);
  floe_array *v = floe_ones(ctx, I32, FLOE_SHAPE(23), FLOE_AUTO);
  floe_array *ab[2] = {a, b}, *ac[2] = {a, c}, *av[2] = {a, v}, *aa[2] = {a, a};
  expect_error(floe_concat(ab, 2, 0), FLOE_ERR_SHAPE, "floe_concat", NULL,
               "concat (37, 23), (5, 22)");
  expect_error(floe_concat(ac, 2, 0), FLOE_ERR_SHAPE, "floe_concat", NULL,
               "concat (37, 23), (37, 23, 1)");
  expect_error(floe_concat(av, 2, 0), FLOE_ERR_SHAPE, "floe_concat", NULL,
               "concat (37, 23), (23,)");
  expect_error(floe_concat(aa, 2, 2), FLOE_ERR_INVALID, "floe_concat", NULL, "concat axis 2");
  expect_error(floe_concat(aa, 2, -3), FLOE_ERR_INVALID, "floe_concat", NULL, "concat axis -3");
  expect_error(floe_stack(ab, 2, 0), FLOE_ERR_SHAPE, "floe_stack", NULL, "stack (37, 23), (5, 22)");
  expect_error(floe_stack(av, 2, 0), FLOE_ERR_SHAPE, "floe_stack", NULL, "stack (37, 23), (23,)");
  expect_error(floe_stack(aa, 2, 3), FLOE_ERR_INVALID, "floe_stack", NULL, "stack axis 3");
  expect_error(floe_stack(aa, 2, -4), FLOE_ERR_INVALID, "floe_stack", NULL, "stack axis -4");
  /* 0-d arrays do not concatenate */
  floe_array *z = floe_sum(a, FLOE_ALL);
  floe_array *zz[2] = {z, z};
  cr_assert_neq(floe_array_status(floe_concat(zz, 2, 0)), FLOE_OK);
  /* counts out of 1..64: refused (NULL counts as FLOE_ERR_INVALID) */
  floe_array *many[65];
  for (int i = 0; i < 65; i++) {
    many[i] = a;
  }
  expect_error(floe_concat(many, 0, 0), FLOE_ERR_INVALID, "floe_concat", NULL, "concat of 0");
  expect_error(floe_concat(many, 65, 0), FLOE_ERR_INVALID, "floe_concat", NULL, "concat of 65");
  expect_error(floe_stack(many, 0, 0), FLOE_ERR_INVALID, "floe_stack", NULL, "stack of 0");
  expect_error(floe_stack(many, 65, 0), FLOE_ERR_INVALID, "floe_stack", NULL, "stack of 65");
  expect_error(floe_concat(many, -1, 0), FLOE_ERR_INVALID, "floe_concat", NULL, "concat of -1");
  /* 64 is allowed */
  floe_array *sixty4 = floe_concat(many, 64, 1);
  cr_assert_eq(floe_array_status(sixty4), FLOE_OK, "%s", floe_array_message(sixty4));
  double total = -1;
  cr_assert_eq(floe_compute_scalar(floe_sum(sixty4, FLOE_ALL), &total), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(total, 64.0 * 37 * 23);
  finish(ctx);
}

/* ------------------------------------------------------------------- pad */

static dense ref_pad(const dense *a, const int64_t *before, const int64_t *after,
                     floe_pad_mode mode, double value) {
  int64_t shape[FLOE_MAX_DIMS], idx[FLOE_MAX_DIMS];
  for (int d = 0; d < a->ndim; d++) {
    shape[d] = a->shape[d] + before[d] + after[d];
  }
  dense r = dense_new(a->dt, a->ndim, shape);
  for (int64_t j = 0; j < r.n; j++) {
    unravel(j, a->ndim, shape, idx);
    bool inside = true;
    for (int d = 0; d < a->ndim; d++) {
      idx[d] -= before[d];
      if (idx[d] < 0 || idx[d] >= a->shape[d]) {
        inside = false;
        idx[d] = idx[d] < 0 ? 0 : a->shape[d] - 1;
      }
    }
    if (inside || mode == FLOE_PAD_EDGE) {
      put(&r, j, a, ravel(a->ndim, a->shape, idx));
    } else {
      set_d(&r, j, value);
    }
  }
  return r;
}

Test(pad, constant_and_edge, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, chunks, before, after;
  } cases[] = {
      {FLOE_SHAPE(37), FLOE_SHAPE(8), FLOE_SHAPE(3), FLOE_SHAPE(5)},
      {FLOE_SHAPE(37), FLOE_SHAPE(8), FLOE_SHAPE(0), FLOE_SHAPE(0)},
      {FLOE_SHAPE(37), FLOE_SHAPE(8), FLOE_SHAPE(0), FLOE_SHAPE(10)},
      {FLOE_SHAPE(37), FLOE_SHAPE(8), FLOE_SHAPE(17), FLOE_SHAPE(0)},
      {FLOE_SHAPE(1), FLOE_SHAPE(1), FLOE_SHAPE(4), FLOE_SHAPE(2)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(2, 0), FLOE_SHAPE(1, 6)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(3, 2), FLOE_SHAPE(4, 7)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(0, 0), FLOE_SHAPE(0, 0)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(9, 11), FLOE_SHAPE(20, 1)},
      {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 5), FLOE_SHAPE(3, 1), FLOE_SHAPE(2, 0)},
      {FLOE_SHAPE(4, 5, 3), FLOE_SHAPE(3, 2, 2), FLOE_SHAPE(1, 0, 2), FLOE_SHAPE(0, 3, 1)},
  };
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a =
            make_input(ctx, k, ALL_DT[t], cases[j].shape, cases[j].chunks, 140u + (unsigned)j, &r);
        char s1[64], s2[64], s3[64];
        shape_str(s1, sizeof s1, r.ndim, r.shape);
        shape_str(s2, sizeof s2, r.ndim, cases[j].before.dim);
        shape_str(s3, sizeof s3, r.ndim, cases[j].after.dim);
        /* 9.5 converts as a C cast: 9 for integers, true for bool */
        dense want = ref_pad(&r, cases[j].before.dim, cases[j].after.dim, FLOE_PAD_CONSTANT, 9.5);
        expect_dense(floe_pad(a, cases[j].before, cases[j].after, FLOE_PAD_CONSTANT, 9.5), &want,
                     "%s %s pad %s by %s %s, constant 9.5", dtn(ALL_DT[t]), KIND[k], s1, s2, s3);
        dense_free(&want);
        want = ref_pad(&r, cases[j].before.dim, cases[j].after.dim, FLOE_PAD_CONSTANT, 0);
        expect_dense(floe_pad(a, cases[j].before, cases[j].after, FLOE_PAD_CONSTANT, 0), &want,
                     "%s %s pad %s by %s %s, constant 0", dtn(ALL_DT[t]), KIND[k], s1, s2, s3);
        dense_free(&want);
        want = ref_pad(&r, cases[j].before.dim, cases[j].after.dim, FLOE_PAD_EDGE, 0);
        expect_dense(floe_pad(a, cases[j].before, cases[j].after, FLOE_PAD_EDGE, 0), &want,
                     "%s %s pad %s by %s %s, edge", dtn(ALL_DT[t]), KIND[k], s1, s2, s3);
        dense_free(&want);
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  /* an empty axis pads with the constant; NumPy refuses to extend it by
     its edge */
  dense r;
  floe_array *e = make_input(ctx, IN_BUFFER, F64, FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2), 1, &r);
  const int64_t before[2] = {1, 0}, after[2] = {2, 1};
  dense want = ref_pad(&r, before, after, FLOE_PAD_CONSTANT, -3.25);
  expect_dense(floe_pad(e, FLOE_SHAPE(1, 0), FLOE_SHAPE(2, 1), FLOE_PAD_CONSTANT, -3.25), &want,
               "pad (0, 5) by (1, 0) (2, 1), constant -3.25");
  expect_error(floe_pad(e, FLOE_SHAPE(1, 0), FLOE_SHAPE(2, 1), FLOE_PAD_EDGE, 0), FLOE_ERR_INVALID,
               "floe_pad", NULL, "edge pad of an empty axis");
  floe_array *e0 = floe_pad(e, FLOE_SHAPE(0, 2), FLOE_SHAPE(0, 1), FLOE_PAD_EDGE, 0);
  dense w0 = ref_pad(&r, (int64_t[]){0, 2}, (int64_t[]){0, 1}, FLOE_PAD_EDGE, 0);
  expect_dense(e0, &w0, "edge pad of (0, 5) along its non-empty axis");
  dense_free(&w0);
  dense_free(&want);
  dense_free(&r);
  finish(ctx);
}

Test(pad, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  expect_error(floe_pad(a, FLOE_SHAPE(-1, 0), FLOE_SHAPE(0, 0), FLOE_PAD_CONSTANT, 0),
               FLOE_ERR_INVALID, "floe_pad", NULL, "negative width before");
  expect_error(floe_pad(a, FLOE_SHAPE(0, 0), FLOE_SHAPE(0, -2), FLOE_PAD_EDGE, 0), FLOE_ERR_INVALID,
               "floe_pad", NULL, "negative width after");
  expect_error(floe_pad(a, FLOE_SHAPE(1, 1), FLOE_SHAPE(1, 1), (floe_pad_mode)7, 0),
               FLOE_ERR_INVALID, "floe_pad", NULL, "unknown mode");
  floe_status st =
      floe_array_status(floe_pad(a, FLOE_SHAPE(1), FLOE_SHAPE(1, 1), FLOE_PAD_CONSTANT, 0));
  if (st == FLOE_OK) {
    soft_fail("pad of a 2-D array with 1 width before: accepted");
  }
  st = floe_array_status(floe_pad(a, FLOE_SHAPE(1, 1, 1), FLOE_SHAPE(1, 1, 1), FLOE_PAD_EDGE, 0));
  if (st == FLOE_OK) {
    soft_fail("pad of a 2-D array with 3 widths: accepted");
  }
  finish(ctx);
}

/* ------------------------------------------------------------------ take */

static floe_status ref_take(const dense *a, const int64_t *ix, int64_t m, int axis, dense *out) {
  axis = axis < 0 ? axis + a->ndim : axis;
  if (axis < 0 || axis >= a->ndim) {
    return FLOE_ERR_INVALID;
  }
  int64_t shape[FLOE_MAX_DIMS], idx[FLOE_MAX_DIMS];
  memcpy(shape, a->shape, sizeof shape);
  shape[axis] = m;
  for (int64_t i = 0; i < m; i++) {
    if (ix[i] < -a->shape[axis] || ix[i] >= a->shape[axis]) {
      return FLOE_ERR_INVALID;
    }
  }
  *out = dense_new(a->dt, a->ndim, shape);
  for (int64_t j = 0; j < out->n; j++) {
    unravel(j, a->ndim, shape, idx);
    int64_t v = ix[idx[axis]];
    idx[axis] = v < 0 ? v + a->shape[axis] : v;
    put(out, j, a, ravel(a->ndim, a->shape, idx));
  }
  return FLOE_OK;
}

Test(take, indices_of_every_kind, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  static const int64_t ix0[] = {3, -1, 0, 3, 22, -23, 5, 5, 5, 17};
  const int64_t m0 = (int64_t)(sizeof ix0 / sizeof ix0[0]);
  int32_t ix32[sizeof ix0 / sizeof ix0[0]];
  for (int64_t i = 0; i < m0; i++) {
    ix32[i] = (int32_t)ix0[i];
  }
  static const uint8_t ixu8[4] = {0, 22, 7, 7};
  static const int64_t ixu8v[4] = {0, 22, 7, 7};
  /* arange(20, -1, -3): 20, 17, ..., 2 */
  int64_t ar[7];
  for (int i = 0; i < 7; i++) {
    ar[i] = 20 - 3 * i;
  }
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5),
                                 150u + (unsigned)t, &r);
      struct {
        floe_array *ix;
        const int64_t *v;
        int64_t m;
        const char *text;
      } idx[] = {
          {floe_from_buffer(ctx, I64, FLOE_SHAPE(m0), FLOE_SHAPE(3), ix0), ix0, m0, "int64 buffer"},
          {floe_from_buffer(ctx, I32, FLOE_SHAPE(m0), FLOE_SHAPE(4), ix32), ix0, m0,
           "int32 buffer"},
          {floe_arange(ctx, I64, 20, -1, -3, FLOE_SHAPE(2)), ar, 7, "arange(20, -1, -3)"},
          {floe_subtract(floe_arange(ctx, I32, 20, -1, -3, FLOE_AUTO), floe_scalar_int(ctx, 0)), ar,
           7, "arange - 0 (int32 expression)"},
          {floe_from_buffer(ctx, I64, FLOE_SHAPE(0), FLOE_AUTO, ix0), ix0, 0, "no indices"},
          {floe_from_buffer(ctx, I64, FLOE_SHAPE(1), FLOE_AUTO, ix0 + 1), ix0 + 1, 1, "[-1]"},
          {floe_from_buffer(ctx, U8, FLOE_SHAPE(4), FLOE_SHAPE(3), ixu8), ixu8v, 4, "uint8 buffer"},
      };
      for (size_t j = 0; j < sizeof idx / sizeof idx[0]; j++) {
        for (int axis = -2; axis < 2; axis++) {
          dense want;
          floe_status st = ref_take(&r, idx[j].v, idx[j].m, axis, &want);
          floe_array *b = floe_take(a, idx[j].ix, axis);
          char what[160];
          snprintf(what, sizeof what, "%s %s take(%s, axis=%d)", dtn(ALL_DT[t]), KIND[k],
                   idx[j].text, axis);
          if (st != FLOE_OK) {
            expect_error(b, st, "floe_take", NULL, what);
          } else {
            expect_dense(b, &want, "%s", what);
            dense_free(&want);
          }
        }
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  /* 1-D and 3-D */
  dense r1;
  floe_array *v = make_input(ctx, IN_GENERATED, F64, FLOE_SHAPE(37), FLOE_SHAPE(8), 9, &r1);
  dense w1;
  cr_assert_eq(ref_take(&r1, ix0, m0, 0, &w1), FLOE_OK);
  expect_dense(floe_take(v, floe_from_buffer(ctx, I64, FLOE_SHAPE(m0), FLOE_SHAPE(2), ix0), 0), &w1,
               "1-D take");
  dense r3, w3;
  floe_array *c = make_input(ctx, IN_BUFFER, U8, FLOE_SHAPE(4, 23, 3), FLOE_SHAPE(3, 5, 2), 9, &r3);
  cr_assert_eq(ref_take(&r3, ix0, m0, 1, &w3), FLOE_OK);
  expect_dense(floe_take(c, floe_from_buffer(ctx, I32, FLOE_SHAPE(m0), FLOE_AUTO, ix32), 1), &w3,
               "3-D take along axis 1");
  dense_free(&r1);
  dense_free(&w1);
  dense_free(&r3);
  dense_free(&w3);
  finish(ctx);
}

Test(take, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  static const int64_t hi[] = {0, 37}, lo[] = {-38, 0}, hi1[] = {23};
  expect_error(floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(2), FLOE_AUTO, hi), 0),
               FLOE_ERR_INVALID, "floe_take", "37", "index 37 of 37");
  expect_error(floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(2), FLOE_AUTO, lo), 0),
               FLOE_ERR_INVALID, "floe_take", "-38", "index -38 of 37");
  expect_error(floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(1), FLOE_AUTO, hi1), -1),
               FLOE_ERR_INVALID, "floe_take", "23", "index 23 of 23");
  static const int32_t hi32[] = {2, 40};
  expect_error(floe_take(a, floe_from_buffer(ctx, I32, FLOE_SHAPE(2), FLOE_AUTO, hi32), 0),
               FLOE_ERR_INVALID, "floe_take", "40", "int32 index 40 of 37");
  static const int64_t ok[] = {0, 1};
  floe_array *okix = floe_from_buffer(ctx, I64, FLOE_SHAPE(2), FLOE_AUTO, ok);
  expect_error(floe_take(a, okix, 2), FLOE_ERR_INVALID, "floe_take", NULL, "axis 2");
  expect_error(floe_take(a, okix, -3), FLOE_ERR_INVALID, "floe_take", NULL, "axis -3");
  /* indices must be a 1-D integer array */
  static const double fix[] = {0, 1};
  floe_status st =
      floe_array_status(floe_take(a, floe_from_buffer(ctx, F64, FLOE_SHAPE(2), FLOE_AUTO, fix), 0));
  if (st == FLOE_OK) {
    soft_fail("float64 indices: accepted");
  }
  static const int64_t two[] = {0, 1, 2, 3};
  st = floe_array_status(
      floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(2, 2), FLOE_AUTO, two), 0));
  if (st == FLOE_OK) {
    soft_fail("2-D indices: accepted (the header promises 1-D)");
  }
  /* indices that fail to compute pass their error on */
  floe_array *badix = floe_slice(okix, 1, (floe_index[]){S(N, N, 0)});
  cr_assert_neq(floe_array_status(floe_take(a, badix, 0)), FLOE_OK);
  /* indices on another context */
  floe_ctx *other = open_ctx(1);
  floe_array *far = floe_from_buffer(other, I64, FLOE_SHAPE(2), FLOE_AUTO, ok);
  expect_error(floe_take(a, far, 0), FLOE_ERR_INVALID, "floe_take", NULL, "indices elsewhere");
  floe_close(other);
  finish(ctx);
}

/* ---------------------------------------------------------------- matmul */

/* a @ b as NumPy's matmul for 1-D and 2-D operands, by a triple loop:
 * floats in long double (with *scale = sum |a||b| per element, for the
 * bound), integers wrapping in their dtype, bool as or-of-ands. */
static dense ref_matmul(const dense *a, const dense *b, double **scale) {
  int64_t m = a->ndim == 2 ? a->shape[0] : 1, k = a->shape[a->ndim - 1];
  int64_t n = b->ndim == 2 ? b->shape[1] : 1;
  cr_assert_eq(b->shape[0], k);
  int64_t shape[2];
  int nd = 0;
  if (a->ndim == 2) {
    shape[nd++] = m;
  }
  if (b->ndim == 2) {
    shape[nd++] = n;
  }
  floe_dtype dt = promote(a->dt, b->dt);
  dense r = dense_new(dt, nd, shape);
  double *sc = calloc((size_t)(m * n > 0 ? m * n : 1), sizeof *sc);
  cr_assert_not_null(sc);
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) {
      long double acc = 0, mag = 0;
      uint64_t iacc = 0;
      bool bacc = false;
      for (int64_t p = 0; p < k; p++) {
        int64_t ia = i * k + p, ib = p * n + j;
        if (is_float(dt)) {
          long double x = get_d(a, ia), y = get_d(b, ib);
          acc += x * y;
          mag += fabsl(x * y);
        } else if (dt == B) {
          bacc = bacc || (get_i(a, ia) && get_i(b, ib));
        } else {
          iacc += (uint64_t)get_i(a, ia) * (uint64_t)get_i(b, ib);
        }
      }
      int64_t o = i * n + j;
      sc[o] = (double)mag;
      unsigned char *p = r.v + (size_t)o * esz(dt);
      switch (dt) {
      case B:
        *(bool *)p = bacc;
        break;
      case U8:
        *(uint8_t *)p = (uint8_t)iacc;
        break;
      case I32:
        *(int32_t *)p = (int32_t)(uint32_t)iacc;
        break;
      case I64:
        *(int64_t *)p = (int64_t)iacc;
        break;
      case F32:
        *(float *)p = (float)acc;
        break;
      default:
        *(double *)p = (double)acc;
        break;
      }
    }
  }
  if (scale != NULL) {
    *scale = sc;
  } else {
    free(sc);
  }
  return r;
}

static void compare_close(const unsigned char *got, const dense *want, const double *scale,
                          double rel, const char *what);

/* Checks a product: integers and bool exactly, floats within rel * scale
 * of the long double reference. */
static void expect_product(floe_array *c, const dense *want, const double *scale, double rel,
                           const char *what) {
  if (!is_float(want->dt)) {
    expect_dense(c, want, "%s", what);
    return;
  }
  if (!same_header(c, want, what)) {
    return;
  }
  unsigned char *got = compute_or_fail(c, what);
  if (got != NULL) {
    compare_close(got, want, scale, rel, what);
    free(got);
  }
}

/* Compares a computed product with the reference within rel * scale. */
static void compare_close(const unsigned char *got, const dense *want, const double *scale,
                          double rel, const char *what) {
  dense g = *want;
  g.v = (unsigned char *)got;
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < want->n; i++) {
    double x = get_d(&g, i), y = get_d(want, i);
    double err = fabs(x - y);
    if (!(err <= rel * scale[i])) {
      first = first < 0 ? i : first;
      bad++;
    }
    if (scale[i] > 0 && err / scale[i] > worst) {
      worst = err / scale[i];
    }
  }
  if (bad) {
    soft_fail("%s: %lld of %lld elements off by more than %g relative; first at %lld: got %.17g, "
              "expected %.17g (scale %g); worst %g",
              what, (long long)bad, (long long)want->n, rel, (long long)first, get_d(&g, first),
              get_d(want, first), scale[first], worst);
  }
}

/* An operand for the products: small values (exact integer products), of
 * the given kind. */
static floe_array *operand(floe_ctx *ctx, int kind, floe_dtype dt, floe_shape shape,
                           floe_shape chunks, uint64_t seed, dense *ref) {
  if (kind == IN_BUFFER) {
    *ref = dense_pattern(dt, shape, seed, true);
    return floe_from_buffer(ctx, dt, shape, chunks, dense_buffer(ref));
  }
  return make_input(ctx, kind, dt, shape, chunks, seed, ref);
}

typedef struct mm_case {
  floe_shape as, ac, bs, bc;
} mm_case;

static const char *mm_text(char *buf, size_t cap, const mm_case *m) {
  char s[4][64];
  snprintf(buf, cap, "%s/%s @ %s/%s", shape_str(s[0], 64, m->as.ndim, m->as.dim),
           shape_str(s[1], 64, m->ac.ndim, m->ac.dim), shape_str(s[2], 64, m->bs.ndim, m->bs.dim),
           shape_str(s[3], 64, m->bc.ndim, m->bc.dim));
  return buf;
}

/* Products with ragged chunks, inner chunks that match (5) and that do
 * not (5 against 7), whole-array chunks and length-1 axes.  (FLOE_SHAPE is
 * a compound literal, not a constant: a macro for automatic arrays.) */
#define MM_2D_CASES                                                                                \
  {                                                                                                \
    {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(23, 41), FLOE_SHAPE(5, 7)},                  \
        {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(23, 41), FLOE_SHAPE(7, 9)},              \
        {FLOE_SHAPE(37, 23), FLOE_SHAPE(37, 23), FLOE_SHAPE(23, 41), FLOE_SHAPE(3, 41)},           \
        {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 4), FLOE_SHAPE(23, 1), FLOE_SHAPE(6, 1)},                \
        {FLOE_SHAPE(37, 1), FLOE_SHAPE(8, 1), FLOE_SHAPE(1, 41), FLOE_SHAPE(1, 7)},                \
        {FLOE_SHAPE(64, 70), FLOE_SHAPE(16, 13), FLOE_SHAPE(70, 50), FLOE_SHAPE(11, 16)},          \
  }

Test(matmul, floats_against_a_triple_loop, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const mm_case MM_2D[] = MM_2D_CASES;
  const floe_dtype dts[2] = {F64, F32};
  const double rel[2] = {1e-12, 1e-5};
  for (int t = 0; t < 2; t++) {
    for (size_t j = 0; j < sizeof MM_2D / sizeof MM_2D[0]; j++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        const mm_case *m = &MM_2D[j];
        dense ra, rb;
        floe_array *a = operand(ctx, k, dts[t], m->as, m->ac, 200, &ra);
        floe_array *b = operand(ctx, (k + 1) % IN_KINDS, dts[t], m->bs, m->bc, 201, &rb);
        double *scale;
        dense want = ref_matmul(&ra, &rb, &scale);
        char what[256], mt[200];
        snprintf(what, sizeof what, "%s %s/%s %s", dtn(dts[t]), KIND[k], KIND[(k + 1) % IN_KINDS],
                 mm_text(mt, sizeof mt, m));
        expect_product(floe_matmul(a, b), &want, scale, rel[t], what);
        strncat(what, " (dot)", sizeof what - strlen(what) - 1);
        expect_product(floe_dot(a, b), &want, scale, rel[t], what);
        free(scale);
        dense_free(&want);
        /* (a @ b).T == b.T @ a.T */
        dense ta = ref_transpose(&ra, (int[]){1, 0}), tb = ref_transpose(&rb, (int[]){1, 0});
        want = ref_matmul(&tb, &ta, &scale);
        snprintf(what, sizeof what, "%s %s b.T @ a.T", dtn(dts[t]), mm_text(mt, sizeof mt, m));
        expect_product(floe_matmul(floe_transpose(b, FLOE_ALL), floe_transpose(a, FLOE_ALL)), &want,
                       scale, rel[t], what);
        free(scale);
        dense_free(&want);
        dense_free(&ta);
        dense_free(&tb);
        dense_free(&ra);
        dense_free(&rb);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

Test(matmul, integers_and_bool_exactly, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const mm_case MM_2D[] = MM_2D_CASES;
  const floe_dtype dts[4] = {B, U8, I32, I64};
  for (int t = 0; t < 4; t++) {
    for (size_t j = 0; j < sizeof MM_2D / sizeof MM_2D[0]; j++) {
      for (int k = 0; k < IN_KINDS; k++) {
        if (k == IN_GENERATED && dts[t] != B) {
          continue; /* wide generated integers: see the wrapping case below */
        }
        floe_scope_begin(ctx);
        const mm_case *m = &MM_2D[j];
        dense ra, rb;
        floe_array *a = operand(ctx, k, dts[t], m->as, m->ac, 210, &ra);
        floe_array *b = operand(ctx, IN_BUFFER, dts[t], m->bs, m->bc, 211, &rb);
        dense want = ref_matmul(&ra, &rb, NULL);
        char mt[200];
        expect_dense(floe_matmul(a, b), &want, "%s %s %s", dtn(dts[t]), KIND[k],
                     mm_text(mt, sizeof mt, m));
        dense_free(&want);
        dense_free(&ra);
        dense_free(&rb);
        floe_scope_end(ctx);
      }
    }
  }
  /* sums that overflow wrap in the dtype, as NumPy's do */
  for (int t = 1; t < 4; t++) {
    floe_scope_begin(ctx);
    dense ra = dense_pattern(dts[t], FLOE_SHAPE(37, 23), 220, false);
    dense rb = dense_pattern(dts[t], FLOE_SHAPE(23, 41), 221, false);
    if (dts[t] == I64) { /* keep int64 products well defined: |x| < 2^31 */
      for (int64_t i = 0; i < ra.n; i++) {
        ((int64_t *)ra.v)[i] /= 4194304;
      }
      for (int64_t i = 0; i < rb.n; i++) {
        ((int64_t *)rb.v)[i] %= 2000000000;
      }
    }
    floe_array *a =
        floe_from_buffer(ctx, dts[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&ra));
    floe_array *b =
        floe_from_buffer(ctx, dts[t], FLOE_SHAPE(23, 41), FLOE_SHAPE(7, 9), dense_buffer(&rb));
    dense want = ref_matmul(&ra, &rb, NULL);
    expect_dense(floe_matmul(a, b), &want, "%s matmul of wide values (wrapping)", dtn(dts[t]));
    dense_free(&want);
    dense_free(&ra);
    dense_free(&rb);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

Test(matmul, vectors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    double rel = dt == F32 ? 1e-5 : 1e-12;
    floe_scope_begin(ctx);
    dense rv, rw, rm, rn;
    floe_array *v = operand(ctx, IN_BUFFER, dt, FLOE_SHAPE(23), FLOE_SHAPE(5), 230, &rv);
    floe_array *w = operand(ctx, IN_EXPR, dt, FLOE_SHAPE(23), FLOE_SHAPE(7), 231, &rw);
    floe_array *m = operand(ctx, IN_BUFFER, dt, FLOE_SHAPE(23, 41), FLOE_SHAPE(5, 7), 232, &rm);
    floe_array *n = operand(ctx, IN_REDUCED, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 9), 233, &rn);
    double *scale;
    dense want = ref_matmul(&rv, &rm, &scale);
    char what[64];
    snprintf(what, sizeof what, "%s 1-D @ 2-D", dtn(dt));
    expect_product(floe_matmul(v, m), &want, scale, rel, what);
    snprintf(what, sizeof what, "%s 1-D dot 2-D", dtn(dt));
    expect_product(floe_dot(v, m), &want, scale, rel, what);
    free(scale);
    dense_free(&want);
    want = ref_matmul(&rn, &rw, &scale);
    snprintf(what, sizeof what, "%s 2-D @ 1-D", dtn(dt));
    expect_product(floe_matmul(n, w), &want, scale, rel, what);
    snprintf(what, sizeof what, "%s 2-D dot 1-D", dtn(dt));
    expect_product(floe_dot(n, w), &want, scale, rel, what);
    free(scale);
    dense_free(&want);
    want = ref_matmul(&rv, &rw, &scale);
    cr_assert_eq(want.ndim, 0);
    snprintf(what, sizeof what, "%s 1-D @ 1-D", dtn(dt));
    expect_product(floe_matmul(v, w), &want, scale, rel, what);
    snprintf(what, sizeof what, "%s 1-D dot 1-D", dtn(dt));
    expect_product(floe_dot(v, w), &want, scale, rel, what);
    free(scale);
    dense_free(&want);
    dense_free(&rv);
    dense_free(&rw);
    dense_free(&rm);
    dense_free(&rn);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

Test(matmul, mixed_dtypes_promote, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const floe_dtype pairs[][2] = {{I32, F64}, {F32, I32}, {U8, I64},  {B, F32},
                                 {B, I32},   {F32, F64}, {I64, F32}, {U8, B}};
  for (size_t j = 0; j < sizeof pairs / sizeof pairs[0]; j++) {
    floe_scope_begin(ctx);
    dense ra, rb;
    floe_array *a =
        operand(ctx, IN_BUFFER, pairs[j][0], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 240, &ra);
    floe_array *b =
        operand(ctx, IN_EXPR, pairs[j][1], FLOE_SHAPE(23, 41), FLOE_SHAPE(7, 9), 241, &rb);
    double *scale;
    dense want = ref_matmul(&ra, &rb, &scale);
    char what[96];
    snprintf(what, sizeof what, "%s @ %s -> %s", dtn(pairs[j][0]), dtn(pairs[j][1]), dtn(want.dt));
    expect_product(floe_matmul(a, b), &want, scale, want.dt == F32 ? 1e-5 : 1e-12, what);
    free(scale);
    dense_free(&want);
    dense_free(&ra);
    dense_free(&rb);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

/* Empty axes: an empty inner axis gives zeros, as in NumPy. */
Test(matmul, empty_axes, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const mm_case cases[] = {
      {FLOE_SHAPE(3, 0), FLOE_SHAPE(2, 1), FLOE_SHAPE(0, 4), FLOE_SHAPE(1, 3)},
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(1, 2), FLOE_SHAPE(5, 2), FLOE_SHAPE(2, 2)},
      {FLOE_SHAPE(4, 5), FLOE_SHAPE(3, 2), FLOE_SHAPE(5, 0), FLOE_SHAPE(2, 1)},
      {FLOE_SHAPE(0), FLOE_SHAPE(1), FLOE_SHAPE(0), FLOE_SHAPE(1)},
      {FLOE_SHAPE(0), FLOE_SHAPE(1), FLOE_SHAPE(0, 6), FLOE_SHAPE(1, 4)},
  };
  const floe_dtype dts[] = {F64, F32, I32, I64, U8, B};
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
      floe_scope_begin(ctx);
      dense ra, rb;
      floe_array *a = operand(ctx, IN_BUFFER, dts[t], cases[j].as, cases[j].ac, 1, &ra);
      floe_array *b = operand(ctx, IN_BUFFER, dts[t], cases[j].bs, cases[j].bc, 2, &rb);
      double *scale;
      dense want = ref_matmul(&ra, &rb, &scale);
      char what[256], mt[200];
      snprintf(what, sizeof what, "%s %s", dtn(dts[t]), mm_text(mt, sizeof mt, &cases[j]));
      expect_product(floe_matmul(a, b), &want, scale, 0, what);
      free(scale);
      dense_free(&want);
      dense_free(&ra);
      dense_free(&rb);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

static dense ref_outer(const dense *a, const dense *b) {
  int64_t shape[2] = {a->n, b->n};
  floe_dtype dt = promote(a->dt, b->dt);
  dense r = dense_new(dt, 2, shape);
  for (int64_t i = 0; i < a->n; i++) {
    for (int64_t j = 0; j < b->n; j++) {
      int64_t o = i * b->n + j;
      if (is_float(dt)) {
        set_d(&r, o, get_d(a, i) * get_d(b, j));
      } else if (dt == B) {
        set_d(&r, o, get_i(a, i) && get_i(b, j));
      } else {
        /* integers wrap in their dtype */
        uint64_t p = (uint64_t)get_i(a, i) * (uint64_t)get_i(b, j);
        unsigned char *q = r.v + (size_t)o * esz(dt);
        if (dt == U8) {
          *(uint8_t *)q = (uint8_t)p;
        } else if (dt == I32) {
          *(int32_t *)q = (int32_t)(uint32_t)p;
        } else {
          *(int64_t *)q = (int64_t)p;
        }
      }
    }
  }
  return r;
}

Test(matmul, dot_and_outer, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int ta = 0; ta < NDT; ta++) {
    for (int tb = 0; tb < NDT; tb++) {
      floe_scope_begin(ctx);
      dense ra, rb;
      floe_array *a =
          operand(ctx, (ta + tb) % IN_KINDS, ALL_DT[ta], FLOE_SHAPE(37), FLOE_SHAPE(8), 250, &ra);
      floe_array *b = operand(ctx, IN_BUFFER, ALL_DT[tb], FLOE_SHAPE(23), FLOE_SHAPE(5), 251, &rb);
      dense want = ref_outer(&ra, &rb);
      expect_dense(floe_outer(a, b), &want, "outer(%s %s (37,), %s (23,))",
                   KIND[(ta + tb) % IN_KINDS], dtn(ALL_DT[ta]), dtn(ALL_DT[tb]));
      dense_free(&want);
      dense_free(&ra);
      dense_free(&rb);
      floe_scope_end(ctx);
    }
  }
  /* dot of two vectors: a 0-d sum of products; of matrices: matmul */
  for (int t = 0; t < NDT; t++) {
    floe_scope_begin(ctx);
    dense ra, rb, rm, rn;
    floe_array *a = operand(ctx, IN_BUFFER, ALL_DT[t], FLOE_SHAPE(100), FLOE_SHAPE(9), 260, &ra);
    floe_array *b = operand(ctx, IN_EXPR, ALL_DT[t], FLOE_SHAPE(100), FLOE_SHAPE(16), 261, &rb);
    floe_array *m =
        operand(ctx, IN_BUFFER, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 262, &rm);
    floe_array *n =
        operand(ctx, IN_BUFFER, ALL_DT[t], FLOE_SHAPE(23, 41), FLOE_SHAPE(7, 9), 263, &rn);
    double *scale;
    dense want = ref_matmul(&ra, &rb, &scale);
    char what[64];
    snprintf(what, sizeof what, "%s dot of two (100,)", dtn(ALL_DT[t]));
    expect_product(floe_dot(a, b), &want, scale, ALL_DT[t] == F32 ? 1e-5 : 1e-12, what);
    free(scale);
    dense_free(&want);
    want = ref_matmul(&rm, &rn, &scale);
    snprintf(what, sizeof what, "%s dot (37, 23) (23, 41)", dtn(ALL_DT[t]));
    expect_product(floe_dot(m, n), &want, scale, ALL_DT[t] == F32 ? 1e-5 : 1e-12, what);
    free(scale);
    dense_free(&want);
    dense_free(&ra);
    dense_free(&rb);
    dense_free(&rm);
    dense_free(&rn);
    floe_scope_end(ctx);
  }
  /* errors */
  floe_array *v = floe_ones(ctx, F64, FLOE_SHAPE(5), FLOE_AUTO);
  floe_array *w = floe_ones(ctx, F64, FLOE_SHAPE(6), FLOE_AUTO);
  floe_array *m = floe_ones(ctx, F64, FLOE_SHAPE(5, 2), FLOE_AUTO);
  floe_array *c = floe_ones(ctx, F64, FLOE_SHAPE(2, 5, 2), FLOE_AUTO);
  expect_error(floe_dot(v, w), FLOE_ERR_SHAPE, "floe_dot", NULL, "dot of (5,) and (6,)");
  expect_error(floe_dot(m, m), FLOE_ERR_SHAPE, "floe_dot", NULL, "dot of (5, 2) and (5, 2)");
  if (floe_array_status(floe_dot(c, m)) == FLOE_OK) {
    soft_fail("dot of a 3-D array: accepted (the header limits dot to 2 dimensions)");
  }
  if (floe_array_status(floe_outer(m, v)) == FLOE_OK) {
    soft_fail("outer of a 2-D array: accepted (the header takes two 1-D arrays)");
  }
  finish(ctx);
}

Test(matmul, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  floe_array *b = floe_ones(ctx, F64, FLOE_SHAPE(22, 41), FLOE_SHAPE(5, 7));
  floe_array *v = floe_ones(ctx, F64, FLOE_SHAPE(22), FLOE_AUTO);
  floe_array *u = floe_ones(ctx, F64, FLOE_SHAPE(23), FLOE_AUTO);
  floe_array *c = floe_ones(ctx, F64, FLOE_SHAPE(2, 23, 41), FLOE_AUTO);
  expect_error(floe_matmul(a, b), FLOE_ERR_SHAPE, "floe_matmul", NULL, "(37, 23) @ (22, 41)");
  expect_error(floe_matmul(a, v), FLOE_ERR_SHAPE, "floe_matmul", NULL, "(37, 23) @ (22,)");
  expect_error(floe_matmul(u, b), FLOE_ERR_SHAPE, "floe_matmul", NULL, "(23,) @ (22, 41)");
  expect_error(floe_matmul(u, v), FLOE_ERR_SHAPE, "floe_matmul", NULL, "(23,) @ (22,)");
  if (floe_array_status(floe_matmul(a, c)) == FLOE_OK) {
    soft_fail("(37, 23) @ (2, 23, 41): accepted (the header supports 1-D and 2-D operands)");
  }
  floe_array *z = floe_sum(a, FLOE_ALL);
  if (floe_array_status(floe_matmul(z, a)) == FLOE_OK) {
    soft_fail("0-d @ 2-D: accepted (NumPy refuses scalar operands of matmul)");
  }
  /* the error surfaces at compute */
  double s;
  cr_assert_eq(floe_compute_scalar(floe_sum(floe_matmul(a, b), FLOE_ALL), &s), FLOE_ERR_SHAPE);
  assert_has(floe_error_message(ctx), "floe_matmul");
  finish(ctx);
}

/* A product sums its blocks in a fixed order: the same bits for any
 * thread count. */
Test(matmul, bit_identical_for_one_and_two_threads, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *c1 = open_ctx(1), *c2 = open_ctx(2);
  const mm_case cases[] = {
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(23, 41), FLOE_SHAPE(5, 7)},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(23, 41), FLOE_SHAPE(7, 9)},
      {FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), FLOE_SHAPE(130, 140), FLOE_SHAPE(24, 40)},
      {FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), FLOE_SHAPE(130, 140), FLOE_SHAPE(17, 40)},
      {FLOE_SHAPE(130), FLOE_SHAPE(9), FLOE_SHAPE(130, 140), FLOE_SHAPE(11, 40)},
  };
  const floe_dtype dts[] = {F64, F32, I32};
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
      dense ra = dense_pattern(dts[t], cases[j].as, 270, dts[t] == I32);
      dense rb = dense_pattern(dts[t], cases[j].bs, 271, dts[t] == I32);
      void *pa = dense_buffer(&ra), *pb = dense_buffer(&rb);
      void *got[3] = {NULL, NULL, NULL};
      size_t nbytes = 0;
      char what[256], mt[200];
      snprintf(what, sizeof what, "%s %s", dtn(dts[t]), mm_text(mt, sizeof mt, &cases[j]));
      for (int r = 0; r < 3; r++) {
        floe_ctx *ctx = r == 0 ? c1 : c2;
        floe_array *a = floe_from_buffer(ctx, dts[t], cases[j].as, cases[j].ac, pa);
        floe_array *b = floe_from_buffer(ctx, dts[t], cases[j].bs, cases[j].bc, pb);
        floe_array *p = floe_matmul(a, b);
        nbytes = (size_t)floe_array_nbytes(p);
        got[r] = compute_or_fail(p, what);
        floe_release(a);
        floe_release(b);
        floe_release(p);
      }
      if (got[0] && got[1] && got[2]) {
        if (memcmp(got[0], got[1], nbytes) != 0) {
          soft_fail("%s: 1 and 2 threads give different bits", what);
        }
        if (memcmp(got[1], got[2], nbytes) != 0) {
          soft_fail("%s: two runs on 2 threads give different bits", what);
        }
        double *scale;
        dense want = ref_matmul(&ra, &rb, &scale);
        dense g = want;
        g.v = got[0];
        for (int64_t i = 0; i < want.n; i++) {
          double rel = dts[t] == F32 ? 1e-5 : 1e-12;
          if (fabs(get_d(&g, i) - get_d(&want, i)) > rel * scale[i]) {
            soft_fail("%s: element %lld: %.17g, expected %.17g", what, (long long)i, get_d(&g, i),
                      get_d(&want, i));
            break;
          }
        }
        free(scale);
        dense_free(&want);
      }
      free(got[0]);
      free(got[1]);
      free(got[2]);
      dense_free(&ra);
      dense_free(&rb);
    }
  }
  floe_close(c2);
  finish(c1);
}

/* --------------------------------------------- scans, sort and quantiles */

/* Lanes along `axis` of a dense array: how many there are, and where lane
 * j (C order over the other axes) starts; *stride steps along it. */
static int64_t lane_count(const dense *a, int axis) {
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) {
    n *= d == axis ? 1 : a->shape[d];
  }
  return n;
}

static int64_t lane_start(const dense *a, int axis, int64_t j, int64_t *stride) {
  int64_t st[FLOE_MAX_DIMS + 2], shape[FLOE_MAX_DIMS + 2], idx[FLOE_MAX_DIMS + 2];
  c_strides(a->ndim, a->shape, st);
  int nd = 0;
  for (int d = 0; d < a->ndim; d++) {
    if (d != axis) {
      shape[nd++] = a->shape[d];
    }
  }
  unravel(j, nd, shape, idx);
  int64_t off = 0;
  for (int d = 0, k = 0; d < a->ndim; d++) {
    if (d != axis) {
      off += idx[k++] * st[d];
    }
  }
  *stride = st[axis];
  return off;
}

/* NumPy's cumsum and cumprod (add and multiply .accumulate): out[0] = x[0],
 * then out[i] = out[i - 1] op x[i], one after the other, in the result's
 * dtype: int64 for bool, uint8, int32 and int64 (wrapping), float32 and
 * float64 as they are. */
static dense ref_scan(const dense *a, int axis, bool prod) {
  dense r = dense_new(is_float(a->dt) ? a->dt : I64, a->ndim, a->shape);
  const int64_t n = a->shape[axis], lanes = lane_count(a, axis);
  for (int64_t j = 0; j < lanes; j++) {
    int64_t s, at = lane_start(a, axis, j, &s);
    if (a->dt == F32) {
      const float *x = (const float *)a->v;
      float *y = (float *)r.v, acc = 0;
      for (int64_t i = 0; i < n; i++) {
        float v = x[at + i * s];
        acc = i == 0 ? v : prod ? acc * v : acc + v;
        y[at + i * s] = acc;
      }
    } else if (a->dt == F64) {
      const double *x = (const double *)a->v;
      double *y = (double *)r.v, acc = 0;
      for (int64_t i = 0; i < n; i++) {
        double v = x[at + i * s];
        acc = i == 0 ? v : prod ? acc * v : acc + v;
        y[at + i * s] = acc;
      }
    } else {
      uint64_t acc = 0;
      for (int64_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)get_i(a, at + i * s);
        acc = i == 0 ? v : prod ? acc * v : acc + v;
        ((int64_t *)r.v)[at + i * s] = (int64_t)acc;
      }
    }
  }
  return r;
}

static int cmp_u8(const void *pa, const void *pb) {
  uint8_t a = *(const uint8_t *)pa, b = *(const uint8_t *)pb;
  return (a > b) - (a < b);
}

static int cmp_i32(const void *pa, const void *pb) {
  int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
  return (a > b) - (a < b);
}

static int cmp_i64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* floats: NaNs after everything (NumPy's sort order) */
static int cmp_f32(const void *pa, const void *pb) {
  float a = *(const float *)pa, b = *(const float *)pb;
  if (isnan(a) || isnan(b)) {
    return (int)isnan(a) - (int)isnan(b);
  }
  return (a > b) - (a < b);
}

static int cmp_f64(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  if (isnan(a) || isnan(b)) {
    return (int)isnan(a) - (int)isnan(b);
  }
  return (a > b) - (a < b);
}

/* Lane j of a along `axis`, copied to tmp and sorted by qsort. */
static void sorted_lane(const dense *a, int axis, int64_t j, unsigned char *tmp) {
  static int (*const cmp[NDT])(const void *, const void *) = {cmp_u8,  cmp_u8,  cmp_i32,
                                                              cmp_i64, cmp_f32, cmp_f64};
  const size_t s = esz(a->dt);
  const int64_t n = a->shape[axis];
  int64_t st, at = lane_start(a, axis, j, &st);
  for (int64_t i = 0; i < n; i++) {
    memcpy(tmp + (size_t)i * s, a->v + (size_t)(at + i * st) * s, s);
  }
  qsort(tmp, (size_t)n, s, cmp[a->dt]);
}

static dense ref_sort(const dense *a, int axis) {
  dense r = dense_new(a->dt, a->ndim, a->shape);
  const size_t s = esz(a->dt);
  const int64_t n = a->shape[axis], lanes = lane_count(a, axis);
  unsigned char *tmp = malloc((size_t)n * s + 1);
  cr_assert_not_null(tmp);
  for (int64_t j = 0; j < lanes; j++) {
    sorted_lane(a, axis, j, tmp);
    int64_t st, at = lane_start(a, axis, j, &st);
    for (int64_t i = 0; i < n; i++) {
      memcpy(r.v + (size_t)(at + i * st) * s, tmp + (size_t)i * s, s);
    }
  }
  free(tmp);
  return r;
}

/* Element i of a C array of dtype dt, as a double. */
static double raw_d(floe_dtype dt, const unsigned char *v, int64_t i) {
  dense t = {.dt = dt, .v = (unsigned char *)v};
  return get_d(&t, i);
}

/* np.quantile's "linear" method on a sorted lane of n > 0, written out:
 * virtual index (n - 1) q, lo its floor, g = vi - lo, a = v[lo] and
 * b = v[min(lo + 1, n - 1)], then _lerp with diff = b - a in the lane's
 * dtype (float32 rounds, int32 and int64 wrap; NumPy refuses bool, taken
 * here as 0 and 1) and everything else in double:
 * g >= 0.5 ? b - diff (1 - g) : a + diff g. */
static double ref_lerp(floe_dtype dt, const unsigned char *v, int64_t n, double q) {
  double vi = (double)(n - 1) * q;
  int64_t lo = (int64_t)floor(vi);
  lo = lo > n - 1 ? n - 1 : lo;
  int64_t hi = lo + 1 < n ? lo + 1 : n - 1;
  double g = vi - (double)lo, a = raw_d(dt, v, lo), b = raw_d(dt, v, hi), diff;
  switch (dt) {
  case F32: {
    float d = ((const float *)v)[hi] - ((const float *)v)[lo];
    diff = d;
    break;
  }
  case I32:
    diff = (int32_t)((uint32_t)((const int32_t *)v)[hi] - (uint32_t)((const int32_t *)v)[lo]);
    break;
  case I64:
    diff = (double)(int64_t)((uint64_t)((const int64_t *)v)[hi] -
                             (uint64_t)((const int64_t *)v)[lo]);
    break;
  default:
    diff = b - a; /* float64 as it is; uint8 and bool never wrap (b >= a) */
    break;
  }
  return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

/* np.median of a sorted lane of n > 0: the middle element, or the mean of
 * the middle two, (a + b) / 2, in float32 for float32 and in double for
 * the rest. */
static double ref_middle(floe_dtype dt, const unsigned char *v, int64_t n) {
  int64_t k = (n - 1) / 2;
  if (n % 2 == 1) {
    return raw_d(dt, v, k);
  }
  if (dt == F32) {
    float a = ((const float *)v)[k], b = ((const float *)v)[k + 1];
    return (a + b) / 2.0f;
  }
  return (raw_d(dt, v, k) + raw_d(dt, v, k + 1)) / 2.0;
}

/* The median (median true) or quantile q of a along `axis`, which goes:
 * float32 for the median of float32, float64 otherwise; NaN for a lane
 * holding NaN.  The axis is not empty. */
static dense ref_quantile(const dense *a, int axis, double q, bool median) {
  int64_t shape[FLOE_MAX_DIMS + 2];
  int nd = 0;
  for (int d = 0; d < a->ndim; d++) {
    if (d != axis) {
      shape[nd++] = a->shape[d];
    }
  }
  dense r = dense_new(median && a->dt == F32 ? F32 : F64, nd, shape);
  const int64_t n = a->shape[axis];
  cr_assert_gt(n, 0);
  unsigned char *tmp = malloc((size_t)n * esz(a->dt));
  cr_assert_not_null(tmp);
  for (int64_t j = 0; j < r.n; j++) {
    sorted_lane(a, axis, j, tmp);
    double v;
    if (is_float(a->dt) && isnan(raw_d(a->dt, tmp, n - 1))) {
      v = NAN; /* NaNs sort last */
    } else {
      v = median ? ref_middle(a->dt, tmp, n) : ref_lerp(a->dt, tmp, n, q);
    }
    set_d(&r, j, v);
  }
  free(tmp);
  return r;
}

enum { AX_CUMSUM, AX_CUMPROD, AX_SORT, AX_MEDIAN, AX_QUANTILE, AX_OPS };
static const char *const AX_NAME[AX_OPS] = {"cumsum", "cumprod", "sort", "median", "quantile"};

/* op along axis (q for the quantile) in floe and in the reference. */
static floe_array *along(floe_array *a, int op, int axis, double q) {
  switch (op) {
  case AX_CUMSUM:
    return floe_cumsum(a, axis);
  case AX_CUMPROD:
    return floe_cumprod(a, axis);
  case AX_SORT:
    return floe_sort(a, axis);
  case AX_MEDIAN:
    return floe_median(a, axis);
  default:
    return floe_quantile(a, q, axis);
  }
}

static dense ref_along(const dense *a, int op, int axis, double q) {
  axis = axis < 0 ? axis + a->ndim : axis;
  switch (op) {
  case AX_CUMSUM:
  case AX_CUMPROD:
    return ref_scan(a, axis, op == AX_CUMPROD);
  case AX_SORT:
    return ref_sort(a, axis);
  default:
    return ref_quantile(a, axis, q, op == AX_MEDIAN);
  }
}

/* Every NaN of a float array made the same NaN: NumPy promises no
 * payload, and which operand's payload an addition keeps is the
 * compiler's choice. */
static void same_nans(floe_dtype dt, void *v, int64_t n) {
  for (int64_t i = 0; i < n && dt == F32; i++) {
    ((float *)v)[i] = isnan(((float *)v)[i]) ? NAN : ((float *)v)[i];
  }
  for (int64_t i = 0; i < n && dt == F64; i++) {
    ((double *)v)[i] = isnan(((double *)v)[i]) ? NAN : ((double *)v)[i];
  }
}

/* Checks op(a, axis) against the reference on r, bit for bit but for NaN
 * payloads. */
static void expect_along(floe_array *a, const dense *r, int op, int axis, double q,
                         const char *what) {
  char w[512];
  if (op == AX_QUANTILE) {
    snprintf(w, sizeof w, "%s quantile(q=%.17g, axis=%d)", what, q, axis);
  } else {
    snprintf(w, sizeof w, "%s %s(axis=%d)", what, AX_NAME[op], axis);
  }
  dense want = ref_along(r, op, axis, q);
  floe_array *got = along(a, op, axis, q);
  if (same_header(got, &want, w)) {
    unsigned char *buf = compute_or_fail(got, w);
    if (buf != NULL) {
      same_nans(want.dt, buf, want.n);
      same_nans(want.dt, want.v, want.n);
      compare_bytes(buf, &want, w);
      free(buf);
    }
  }
  floe_release(got);
  dense_free(&want);
}

/* The quantiles checked: the ends, the median's, a third (an inexact
 * fraction), and fractions just off the ends. */
static const double QS[] = {0.0, 1.0, 0.5, 1.0 / 3.0, 0.25, 0.9, 1e-9, 1.0 - 1e-9};
#define NQS ((int)(sizeof QS / sizeof QS[0]))

/* Sets about one element in `every` of a float array to NaN, and a few
 * others to +-inf; whole lanes too: row 1 all NaN, column 2 all inf. */
static void add_nans(dense *r, int every, uint64_t seed) {
  uint64_t s = seed;
  for (int64_t i = 0; i < r->n; i++) {
    uint64_t h = rng_next(&s) % (uint64_t)(every * 4);
    if (h == 0) {
      set_d(r, i, NAN);
    } else if (h == 1 && i % 3 == 0) {
      set_d(r, i, i % 2 ? INFINITY : -INFINITY);
    }
  }
  if (r->ndim == 2 && r->shape[0] > 1 && r->shape[1] > 2) {
    for (int64_t j = 0; j < r->shape[1]; j++) {
      set_d(r, r->shape[1] + j, NAN);
    }
    for (int64_t i = 0; i < r->shape[0]; i++) {
      set_d(r, i * r->shape[1] + 2, INFINITY);
    }
  }
}

Test(scan, cumsum_and_cumprod_on_every_dtype_input_and_axis, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5),
                                 400u + (unsigned)t, &r);
      char what[96];
      snprintf(what, sizeof what, "%s %s (37, 23)/(8, 5)", dtn(ALL_DT[t]), KIND[k]);
      for (int axis = -2; axis < 2; axis++) {
        expect_along(a, &r, AX_CUMSUM, axis, 0, what);
        expect_along(a, &r, AX_CUMPROD, axis, 0, what);
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* The shapes of the low-rank tests: 3-D with ragged chunks, a chunk that
 * holds everything, length-1 and empty axes; 1-D ones beside. */
static const struct {
  floe_shape shape, chunks;
} LOW_RANK[] = {
    {{3, {6, 7, 5}}, {3, {4, 3, 2}}}, {{3, {5, 4, 6}}, {3, {5, 4, 6}}},
    {{3, {6, 1, 9}}, {3, {4, 1, 2}}}, {{3, {4, 0, 3}}, {3, {3, 1, 2}}},
    {{3, {0, 5, 2}}, {3, {2, 2, 2}}}, {{3, {1, 1, 1}}, {3, {1, 1, 1}}},
    {{3, {2, 3, 4}}, {3, {1, 2, 3}}}, {{1, {100}}, {1, {7}}},
    {{1, {1}}, {1, {1}}},             {{1, {2}}, {1, {1}}},
    {{1, {0}}, {1, {3}}},
};
#define NLOW ((int)(sizeof LOW_RANK / sizeof LOW_RANK[0]))

static bool has_empty_axis(const dense *r, int axis) {
  return r->shape[axis < 0 ? axis + r->ndim : axis] == 0;
}

Test(scan, three_d_one_d_empty_and_length_one, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int j = 0; j < NLOW; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], LOW_RANK[j].shape, LOW_RANK[j].chunks,
                                   410u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (int axis = -1; axis < r.ndim; axis++) {
          expect_along(a, &r, AX_CUMSUM, axis, 0, what);
          expect_along(a, &r, AX_CUMPROD, axis, 0, what);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

Test(sort, every_dtype_input_and_axis, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5),
                                 420u + (unsigned)t, &r);
      char what[96];
      snprintf(what, sizeof what, "%s %s (37, 23)/(8, 5)", dtn(ALL_DT[t]), KIND[k]);
      for (int axis = -2; axis < 2; axis++) {
        expect_along(a, &r, AX_SORT, axis, 0, what);
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
    for (int j = 0; j < NLOW; j++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, IN_BUFFER, ALL_DT[t], LOW_RANK[j].shape,
                                 LOW_RANK[j].chunks, 430u + (unsigned)t, &r);
      char what[96], sh[64];
      snprintf(what, sizeof what, "%s buffer %s", dtn(ALL_DT[t]),
               shape_str(sh, sizeof sh, r.ndim, r.shape));
      for (int axis = -1; axis < r.ndim; axis++) {
        expect_along(a, &r, AX_SORT, axis, 0, what);
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* Small values (many ties) and wide ones, odd and even lane lengths. */
Test(quantile, median_and_quantiles_on_every_dtype_input_and_axis, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const struct {
    floe_shape shape, chunks;
  } arrays[] = {
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5)},
      {FLOE_SHAPE(36, 22), FLOE_SHAPE(7, 5)},
  };
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks,
                                   440u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (int axis = -2; axis < 2; axis++) {
          expect_along(a, &r, AX_MEDIAN, axis, 0, what);
          for (int qi = 0; qi < NQS; qi++) {
            if (axis >= 0 || qi % 2 == 0) {
              expect_along(a, &r, AX_QUANTILE, axis, QS[qi], what);
            }
          }
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

/* Lanes of 1 to 9 elements (3-D, ragged), 1-D arrays (0-d results). */
Test(quantile, short_lanes_and_one_d, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int j = 0; j < NLOW; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], LOW_RANK[j].shape, LOW_RANK[j].chunks,
                                   450u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (int axis = -1; axis < r.ndim; axis++) {
          if (has_empty_axis(&r, axis)) {
            continue; /* refused: the errors test */
          }
          expect_along(a, &r, AX_MEDIAN, axis, 0, what);
          for (int qi = 0; qi < NQS; qi++) {
            expect_along(a, &r, AX_QUANTILE, axis, QS[qi], what);
          }
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

/* NaNs sort last and make their lane's median and quantiles NaN; +-inf
 * take part as numbers (inf - inf is NaN in the interpolation, as in
 * NumPy); scans carry them on. */
Test(quantile, nan_and_inf, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const floe_dtype dts[] = {F32, F64};
  for (int t = 0; t < 2; t++) {
    for (int every = 3; every <= 40; every += 37) {
      floe_scope_begin(ctx);
      dense r = dense_pattern(dts[t], FLOE_SHAPE(37, 23), 460u + (unsigned)t, false);
      add_nans(&r, every, 461u + (unsigned)every);
      floe_array *a =
          floe_from_buffer(ctx, dts[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
      char what[96];
      snprintf(what, sizeof what, "%s (37, 23)/(8, 5), NaN in 1 of %d", dtn(dts[t]), every * 4);
      for (int axis = -2; axis < 2; axis++) {
        for (int op = 0; op < AX_QUANTILE; op++) {
          expect_along(a, &r, op, axis, 0, what);
        }
        for (int qi = 0; qi < NQS; qi++) {
          expect_along(a, &r, AX_QUANTILE, axis, QS[qi], what);
        }
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* NumPy subtracts the two neighbours in the input's dtype: int32 and
 * int64 differences wrap, and the interpolation goes on from the wrapped
 * value (np.quantile(np.array([-2e9, 2e9], np.int32), 0.5) is
 * 2147483648.0).  floe's results must be NumPy's here too. */
Test(quantile, integer_differences_wrap_as_numpys, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  static const int32_t v32[] = {-2000000000, 2000000000};
  static const int64_t v64[] = {INT64_MIN + 5, INT64_MAX - 5};
  /* np.quantile(..., q) of the two, as NumPy 1.24 prints them */
  static const struct {
    double q, numpy32, numpy64;
  } known[] = {
      {0.5, 2147483648.0, 9.223372036854776e+18},
      {0.25, -2073741824.0, -9.223372036854776e+18},
      {0.0, -2000000000.0, -9.223372036854776e+18},
      {1.0, 2000000000.0, 9.223372036854776e+18},
  };
  floe_array *a32 = floe_from_buffer(ctx, I32, FLOE_SHAPE(2), FLOE_SHAPE(1), v32);
  floe_array *a64 = floe_from_buffer(ctx, I64, FLOE_SHAPE(2), FLOE_SHAPE(1), v64);
  dense r32 = dense_new(I32, 1, (int64_t[]){2}), r64 = dense_new(I64, 1, (int64_t[]){2});
  memcpy(r32.v, v32, sizeof v32);
  memcpy(r64.v, v64, sizeof v64);
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    dense w32 = ref_quantile(&r32, 0, known[i].q, false);
    dense w64 = ref_quantile(&r64, 0, known[i].q, false);
    /* the reference restates NumPy: check it on NumPy's own numbers */
    cr_assert_eq(((double *)w32.v)[0], known[i].numpy32, "reference int32 q=%g: %.17g",
                 known[i].q, ((double *)w32.v)[0]);
    cr_assert_eq(((double *)w64.v)[0], known[i].numpy64, "reference int64 q=%g: %.17g",
                 known[i].q, ((double *)w64.v)[0]);
    expect_dense(floe_quantile(a32, known[i].q, 0), &w32, "int32 [-2e9, 2e9] quantile %g",
                 known[i].q);
    expect_dense(floe_quantile(a64, known[i].q, 0), &w64,
                 "int64 [INT64_MIN + 5, INT64_MAX - 5] quantile %g", known[i].q);
    dense_free(&w32);
    dense_free(&w64);
  }
  /* the medians are means in double: no wrapping */
  dense m = dense_new(F64, 0, NULL);
  set_d(&m, 0, 0.0);
  expect_dense(floe_median(a32, 0), &m, "int32 [-2e9, 2e9] median");
  expect_dense(floe_median(a64, 0), &m, "int64 [INT64_MIN + 5, INT64_MAX - 5] median");
  dense_free(&m);
  dense_free(&r32);
  dense_free(&r64);
  finish(ctx);
}

/* Scans, sorts and quantiles of selections and transposes, of each other,
 * and under elementwise operations and reductions.  Small values, so that
 * float sums are exact in any order. */
Test(along_axis, composes_with_selections_elementwise_and_reductions,
     .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_index ix[] = {S(2, 30, 3), S(N, N, -2)};
  floe_index rev[] = {S(N, N, -1)};
  const int tr[2] = {1, 0};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    for (int k = 0; k < IN_KINDS; k++) {
      if (k == IN_GENERATED) {
        continue; /* float sums of generated values are not exact */
      }
      floe_scope_begin(ctx);
      char what[96];
      snprintf(what, sizeof what, "%s %s", dtn(dt), KIND[k]);
      dense r;
      floe_array *a;
      if (k == IN_BUFFER) {
        r = dense_pattern(dt, FLOE_SHAPE(37, 23), 470, true);
        a = floe_from_buffer(ctx, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
      } else {
        a = make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 470, &r);
      }
      dense rs, rt;
      cr_assert_eq(ref_slice(&r, 2, ix, &rs), FLOE_OK);
      rt = ref_transpose(&r, tr);
      floe_array *s = floe_slice(a, 2, ix), *at = floe_transpose(a, FLOE_ALL);
      char w2[160];
      snprintf(w2, sizeof w2, "%s a[2:30:3, ::-2]", what);
      for (int op = 0; op < AX_OPS; op++) {
        expect_along(s, &rs, op, 0, 1.0 / 3.0, w2);
        expect_along(s, &rs, op, 1, 0.75, w2);
      }
      snprintf(w2, sizeof w2, "%s a.T", what);
      expect_along(at, &rt, AX_SORT, -1, 0, w2);
      expect_along(at, &rt, AX_CUMSUM, 0, 0, w2);
      expect_along(at, &rt, AX_MEDIAN, 1, 0, w2);
      /* along-axis results as inputs: a chain, a slice, a transpose */
      dense st0 = ref_sort(&r, 0), cs = ref_scan(&st0, 0, false);
      expect_dense(floe_cumsum(floe_sort(a, 0), 0), &cs, "%s cumsum(sort(a, 0), 0)", what);
      dense q = ref_quantile(&cs, 1, 0.5, false);
      expect_dense(floe_quantile(floe_cumsum(floe_sort(a, 0), 0), 0.5, 1), &q,
                   "%s quantile(cumsum(sort(a, 0), 0), 0.5, 1)", what);
      dense st1 = ref_sort(&r, 1), st1r;
      cr_assert_eq(ref_slice(&st1, 1, rev, &st1r), FLOE_OK);
      expect_dense(floe_slice(floe_sort(a, 1), 1, rev), &st1r, "%s sort(a, 1)[::-1]", what);
      dense cs1 = ref_scan(&r, 1, false), cs1t = ref_transpose(&cs1, tr);
      expect_dense(floe_transpose(floe_cumsum(a, 1), FLOE_ALL), &cs1t, "%s cumsum(a, 1).T",
                   what);
      /* a reduction of a scan: sum(cumsum(a, 1), axis=0) */
      dense col = dense_new(cs1.dt, 1, &cs1.shape[1]);
      for (int64_t j = 0; j < cs1.shape[1]; j++) {
        double acc = 0;
        int64_t iacc = 0;
        for (int64_t i = 0; i < cs1.shape[0]; i++) {
          acc += get_d(&cs1, i * cs1.shape[1] + j);
          iacc += get_i(&cs1, i * cs1.shape[1] + j);
        }
        if (is_float(cs1.dt)) {
          set_d(&col, j, acc);
        } else {
          ((int64_t *)col.v)[j] = iacc;
        }
      }
      expect_dense(floe_sum(floe_cumsum(a, 1), FLOE_AXES(0)), &col,
                   "%s sum(cumsum(a, 1), axis=0)", what);
      /* elementwise on a median: median(a, 0) + 1 (exact: one rounding) */
      dense med = ref_quantile(&r, 0, 0, true), plus = dense_new(med.dt, med.ndim, med.shape);
      for (int64_t i = 0; i < med.n; i++) {
        set_d(&plus, i, get_d(&med, i) + 1);
      }
      expect_dense(floe_add(floe_median(a, 0), floe_scalar_int(ctx, 1)), &plus,
                   "%s median(a, 0) + 1", what);
      /* the scanned axis is whole in every chunk of the result */
      floe_shape c = floe_array_chunks(floe_cumsum(a, 0));
      if (c.ndim != 2 || c.dim[0] != 37) {
        soft_fail("%s cumsum(a, 0): chunks (%lld, %lld), expected the whole axis 0", what,
                  (long long)c.dim[0], (long long)c.dim[1]);
      }
      dense *all[] = {&r, &rs, &rt, &st0, &cs, &q, &st1, &st1r, &cs1, &cs1t, &col, &med, &plus};
      for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        dense_free(all[i]);
      }
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* Several along-axis outputs of one input in one job. */
Test(along_axis, one_job_with_several_outputs, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dense r;
  floe_array *a = make_input(ctx, IN_EXPR, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 480, &r);
  const struct {
    int op, axis;
    double q;
  } outs[] = {{AX_CUMSUM, 0, 0},   {AX_CUMPROD, 1, 0},   {AX_SORT, 0, 0},
              {AX_MEDIAN, 1, 0},   {AX_QUANTILE, 0, 0.1}, {AX_QUANTILE, 1, 0.9},
              {AX_SORT, 1, 0}};
  enum { NOUT = sizeof outs / sizeof outs[0] };
  floe_job *job = floe_job_new(ctx);
  cr_assert_not_null(job);
  void *bufs[NOUT];
  dense want[NOUT];
  for (int i = 0; i < NOUT; i++) {
    floe_array *o = along(a, outs[i].op, outs[i].axis, outs[i].q);
    cr_assert_eq(floe_array_status(o), FLOE_OK, "output %d: %s", i, floe_array_message(o));
    want[i] = ref_along(&r, outs[i].op, outs[i].axis, outs[i].q);
    size_t nbytes = (size_t)floe_array_nbytes(o);
    bufs[i] = malloc(nbytes + 8);
    cr_assert_eq(floe_job_add_buffer(job, o, bufs[i], nbytes), FLOE_OK);
  }
  cr_assert_eq(floe_job_run(job), FLOE_OK, "%s", floe_error_message(NULL));
  for (int i = 0; i < NOUT; i++) {
    char what[64];
    snprintf(what, sizeof what, "job output %s(axis=%d, q=%g)", AX_NAME[outs[i].op],
             outs[i].axis, outs[i].q);
    compare_bytes(bufs[i], &want[i], what);
    free(bufs[i]);
    dense_free(&want[i]);
  }
  floe_job_free(job);
  dense_free(&r);
  finish(ctx);
}

Test(along_axis, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(4, 5), FLOE_SHAPE(2, 2));
  static const char *const ops[AX_OPS] = {"floe_cumsum", "floe_cumprod", "floe_sort",
                                          "floe_median", "floe_quantile"};
  floe_array *z = floe_sum(a, FLOE_ALL);
  floe_array *e0 = floe_zeros(ctx, I32, FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2));
  dense re0 = dense_new(I32, 2, (int64_t[]){0, 5});
  for (int op = 0; op < AX_OPS; op++) {
    char what[96];
    snprintf(what, sizeof what, "%s axis 2 of 2-D", AX_NAME[op]);
    expect_error(along(a, op, 2, 0.5), FLOE_ERR_INVALID, ops[op], "axis", what);
    snprintf(what, sizeof what, "%s axis -3 of 2-D", AX_NAME[op]);
    expect_error(along(a, op, -3, 0.5), FLOE_ERR_INVALID, ops[op], "axis", what);
    /* a 0-d array has no axis to work along */
    floe_array *r = along(z, op, 0, 0.5);
    if (r == NULL || floe_array_status(r) == FLOE_OK ||
        !contains(floe_array_message(r), ops[op])) {
      soft_fail("%s of a 0-d array: %s (%s)", AX_NAME[op],
                r ? floe_status_name(floe_array_status(r)) : "NULL",
                r ? floe_array_message(r) : floe_error_message(NULL));
    }
    /* an empty axis: an empty scan or sort, and no median or quantile */
    if (op >= AX_MEDIAN) {
      snprintf(what, sizeof what, "%s of an empty axis", AX_NAME[op]);
      expect_error(along(e0, op, 0, 0.5), FLOE_ERR_SHAPE, ops[op], "empty", what);
      expect_error(along(e0, op, -2, 0.5), FLOE_ERR_SHAPE, ops[op], "empty", what);
      dense none = dense_new(F64, 1, (int64_t[]){0});
      expect_dense(along(e0, op, 1, 0.5), &none, "%s (0, 5) axis 1", AX_NAME[op]);
      dense_free(&none);
    } else {
      dense want = ref_along(&re0, op, 0, 0);
      expect_dense(along(e0, op, 0, 0), &want, "%s (0, 5) axis 0", AX_NAME[op]);
      dense_free(&want);
    }
  }
  /* q outside [0, 1] */
  const double bad_q[] = {-0.1, 1.5, 2.0, -1e-300, 1.0 + 1e-15, NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof bad_q / sizeof bad_q[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "quantile q=%g", bad_q[i]);
    expect_error(floe_quantile(a, bad_q[i], 0), FLOE_ERR_INVALID, "floe_quantile", "[0, 1]",
                 what);
  }
  /* the error reaches compute, and the thread's message */
  double v;
  cr_assert_eq(floe_compute_scalar(floe_sum(floe_quantile(a, 2, 0), FLOE_ALL), &v),
               FLOE_ERR_INVALID);
  assert_has(floe_error_message(ctx), "floe_quantile");
  cr_assert_eq(floe_compute_scalar(floe_sum(floe_median(e0, 0), FLOE_ALL), &v), FLOE_ERR_SHAPE);
  assert_has(floe_error_message(ctx), "floe_median");
  /* NULL, error and released arguments */
  floe_index step0[] = {S(N, N, 0)};
  floe_array *bad = floe_slice(a, 1, step0);
  const char *emsg = floe_array_message(bad);
  floe_array *dead = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_release(dead);
  for (int op = 0; op < AX_OPS; op++) {
    char what[64];
    floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
    snprintf(what, sizeof what, "%s of NULL", AX_NAME[op]);
    expect_error(along(NULL, op, 0, 0.5), FLOE_ERR_INVALID, ops[op], NULL, what);
    floe_array *r = along(bad, op, 0, 0.5);
    if (floe_array_status(r) != FLOE_ERR_INVALID || strcmp(floe_array_message(r), emsg) != 0) {
      soft_fail("%s of an error array: %s '%s', expected the input's error '%s'", AX_NAME[op],
                floe_status_name(floe_array_status(r)), floe_array_message(r), emsg);
    }
    r = along(dead, op, 0, 0.5);
    if (floe_array_status(r) != FLOE_ERR_INVALID ||
        !contains(floe_array_message(r), "released")) {
      soft_fail("%s of a released array: %s '%s'", AX_NAME[op],
                floe_status_name(floe_array_status(r)), floe_array_message(r));
    }
  }
  /* plans and DOT dumps of the new nodes */
  floe_plan_info plan;
  floe_array *p = floe_quantile(floe_cumsum(floe_sort(a, 0), 1), 0.3, 0);
  cr_assert_eq(floe_array_status(p), FLOE_OK, "%s", floe_array_message(p));
  cr_assert_eq(floe_plan(p, &plan), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(plan.tasks, 0);
  FILE *devnull = fopen("/dev/null", "w");
  cr_assert_not_null(devnull);
  cr_assert_eq(floe_graph_dot(p, devnull), FLOE_OK, "%s", floe_error_message(NULL));
  fclose(devnull);
  dense_free(&re0);
  finish(ctx);
}

/* Every lane is worked on by one task, whole: the same bits for any
 * thread count, and the reference's. */
Test(along_axis, bit_identical_for_one_and_two_threads, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *c1 = open_ctx(1), *c2 = open_ctx(2);
  const struct {
    int op, axis;
    double q;
  } cases[] = {{AX_CUMSUM, 0, 0},      {AX_CUMSUM, 1, 0},     {AX_CUMPROD, 0, 0},
               {AX_SORT, 0, 0},        {AX_SORT, 1, 0},       {AX_MEDIAN, 0, 0},
               {AX_MEDIAN, 1, 0},      {AX_QUANTILE, 0, 0.3}, {AX_QUANTILE, 1, 0.999},
               {AX_QUANTILE, 0, 1.0 / 3.0}};
  const floe_dtype dts[] = {F64, F32, I32, I64, U8};
  for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
    dense r = dense_pattern(dts[t], FLOE_SHAPE(150, 130), 490, false);
    void *p = dense_buffer(&r);
    for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
      char what[128];
      snprintf(what, sizeof what, "%s (150, 130)/(32, 24) %s(axis=%d, q=%g)", dtn(dts[t]),
               AX_NAME[cases[j].op], cases[j].axis, cases[j].q);
      void *got[3] = {NULL, NULL, NULL};
      size_t nbytes = 0;
      for (int run = 0; run < 3; run++) {
        floe_ctx *ctx = run == 0 ? c1 : c2;
        floe_array *a = floe_from_buffer(ctx, dts[t], FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), p);
        floe_array *o = along(a, cases[j].op, cases[j].axis, cases[j].q);
        nbytes = (size_t)floe_array_nbytes(o);
        got[run] = compute_or_fail(o, what);
        floe_release(a);
        floe_release(o);
      }
      if (got[0] && got[1] && got[2]) {
        if (memcmp(got[0], got[1], nbytes) != 0) {
          soft_fail("%s: 1 and 2 threads give different bits", what);
        }
        if (memcmp(got[1], got[2], nbytes) != 0) {
          soft_fail("%s: two runs on 2 threads give different bits", what);
        }
        dense want = ref_along(&r, cases[j].op, cases[j].axis, cases[j].q);
        compare_bytes(got[0], &want, what);
        dense_free(&want);
      }
      free(got[0]);
      free(got[1]);
      free(got[2]);
    }
    dense_free(&r);
  }
  floe_close(c2);
  finish(c1);
}

/* ---------------------------------------------------------------- budget */

#define MIB (1024ull * 1024ull)

static char g_dir[64];

/* A context spilling to the test's folder; limit and chunk_bytes 0 keep
 * the defaults. */
static floe_ctx *open_limited_chunks(uint64_t limit, int threads, uint64_t chunk_bytes) {
  if (g_dir[0] == '\0') {
    snprintf(g_dir, sizeof g_dir, "/tmp/floe-test-structure-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
  }
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, threads), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_DIR, (const char *)g_dir), FLOE_OK);
  if (limit > 0) {
    cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, (int64_t)limit), FLOE_OK, "%s",
                 floe_error_message(NULL));
  }
  if (chunk_bytes > 0) {
    cr_assert_eq(floe_options_set(o, FLOE_OPT_CHUNK_BYTES, (int64_t)chunk_bytes), FLOE_OK, "%s",
                 floe_error_message(NULL));
  }
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "floe_open: %s", floe_error_message(NULL));
  floe_options_free(o);
  return ctx;
}

static floe_ctx *open_limited(uint64_t limit, int threads) {
  return open_limited_chunks(limit, threads, 0);
}

/* The test's folder (spill files, HDF5 files): removes what it holds and
 * itself.  Spill files are gone once their contexts are closed. */
static void remove_dir(void) {
  if (g_dir[0] == '\0') {
    return;
  }
  DIR *d = opendir(g_dir);
  int left = 0;
  if (d != NULL) {
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        unlink(path);
        left++;
      }
    }
    closedir(d);
  }
  rmdir(g_dir);
  g_dir[0] = '\0';
  if (left) {
    cr_log_info("%d files removed from the test's folder", left);
  }
}

/* Runs `a` as a job into a new buffer; fills *s with its figures. */
static void *run_job(floe_ctx *ctx, floe_array *a, floe_stats *s, const char *what) {
  cr_assert_eq(floe_array_status(a), FLOE_OK, "%s: %s", what, floe_array_message(a));
  size_t nbytes = (size_t)floe_array_nbytes(a);
  void *buf = malloc(nbytes + 8);
  cr_assert_not_null(buf);
  floe_job *job = floe_job_new(ctx);
  cr_assert_not_null(job);
  cr_assert_eq(floe_job_add_buffer(job, a, buf, nbytes), FLOE_OK);
  floe_status st = floe_job_run(job);
  cr_assert_eq(st, FLOE_OK, "%s: %s: %s", what, floe_status_name(st), floe_error_message(NULL));
  cr_assert_eq(floe_job_stats(job, s), FLOE_OK);
  cr_log_info("%s: %llu tasks, spilled %llu, reloaded %llu, read again %llu, peak %llu bytes", what,
              (unsigned long long)s->tasks, (unsigned long long)s->bytes_spilled,
              (unsigned long long)s->bytes_reloaded, (unsigned long long)s->bytes_reread,
              (unsigned long long)s->peak_memory);
  floe_job_free(job);
  return buf;
}

static floe_array *spillable(floe_ctx *ctx, floe_shape shape, floe_shape chunks, uint64_t seed) {
  floe_array *x = floe_random_uniform(ctx, F64, shape, chunks, seed, -1, 1);
  return floe_add(floe_multiply(x, floe_scalar_int(ctx, 2)), floe_scalar_int(ctx, 1));
}

/* Row chunks to column chunks of a 2 MiB array under a 1 MiB limit: the
 * input's chunks are spilled and read back, and the values are those of an
 * unlimited run. */
Test(budget, rechunk_rows_to_columns_under_1mib, .timeout = TEST_TIMEOUT_S) {
  const int64_t n = 512;
  floe_ctx *lim = open_limited(1 * MIB, 2);
  floe_stats s;
  double *got = run_job(
      lim, floe_rechunk(spillable(lim, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), 5), FLOE_SHAPE(n, 8)),
      &s, "rechunk (8, 512) -> (512, 8) under 1 MiB");
  if (s.peak_memory > 1 * MIB) {
    soft_fail("peak %llu bytes over the 1 MiB limit", (unsigned long long)s.peak_memory);
  }
  if (s.bytes_spilled == 0) {
    soft_fail("a 2 MiB intermediate under a 1 MiB limit was not spilled (reloaded %llu, read "
              "again %llu)",
              (unsigned long long)s.bytes_reloaded, (unsigned long long)s.bytes_reread);
  }
  floe_close(lim);
  floe_ctx *ctx = open_limited(0, 2);
  floe_array *x = spillable(ctx, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), 5);
  double *want = compute_or_fail(x, "unlimited");
  double *want2 = compute_or_fail(floe_rechunk(x, FLOE_SHAPE(n, 8)), "unlimited rechunk");
  cr_assert_not_null(want);
  cr_assert_not_null(want2);
  cr_assert(memcmp(got, want, (size_t)(n * n) * sizeof(double)) == 0,
            "the rechunk under 1 MiB differs from the input");
  cr_assert(memcmp(want2, want, (size_t)(n * n) * sizeof(double)) == 0,
            "the unlimited rechunk differs from the input");
  free(got);
  free(want);
  free(want2);
  floe_close(ctx);
  remove_dir();
  finish(NULL);
}

/* A product of two 800 KiB operands under a 1 MiB limit: the same bits as
 * an unlimited run with the same chunks. */
Test(budget, matmul_under_1mib, .timeout = TEST_TIMEOUT_S) {
  const int64_t n = 320;
  floe_ctx *lim = open_limited(1 * MIB, 2);
  floe_stats s;
  double *got = run_job(lim,
                        floe_matmul(spillable(lim, FLOE_SHAPE(n, n), FLOE_SHAPE(40, 40), 6),
                                    spillable(lim, FLOE_SHAPE(n, n), FLOE_SHAPE(40, 40), 7)),
                        &s, "(320, 320) @ (320, 320) under 1 MiB");
  if (s.peak_memory > 1 * MIB) {
    soft_fail("peak %llu bytes over the 1 MiB limit", (unsigned long long)s.peak_memory);
  }
  if (s.bytes_spilled == 0) {
    soft_fail("1.6 MiB of operands under a 1 MiB limit were not spilled (reloaded %llu, read "
              "again %llu)",
              (unsigned long long)s.bytes_reloaded, (unsigned long long)s.bytes_reread);
  }
  floe_close(lim);
  floe_ctx *ctx = open_limited(0, 1);
  floe_array *a = spillable(ctx, FLOE_SHAPE(n, n), FLOE_SHAPE(40, 40), 6);
  floe_array *b = spillable(ctx, FLOE_SHAPE(n, n), FLOE_SHAPE(40, 40), 7);
  double *want = compute_or_fail(floe_matmul(a, b), "unlimited");
  cr_assert_not_null(want);
  cr_assert(memcmp(got, want, (size_t)(n * n) * sizeof(double)) == 0,
            "the product under 1 MiB differs from the unlimited one");
  /* and both agree with the triple loop */
  dense ra = dense_new(F64, 2, (int64_t[]){n, n}), rb = dense_new(F64, 2, (int64_t[]){n, n});
  cr_assert_eq(floe_compute(a, ra.v, (size_t)(n * n) * 8), FLOE_OK);
  cr_assert_eq(floe_compute(b, rb.v, (size_t)(n * n) * 8), FLOE_OK);
  double *scale;
  dense r = ref_matmul(&ra, &rb, &scale);
  for (int64_t i = 0; i < n * n; i++) {
    if (fabs(got[i] - ((double *)r.v)[i]) > 1e-12 * scale[i]) {
      soft_fail("element %lld: %.17g, expected %.17g", (long long)i, got[i], ((double *)r.v)[i]);
      break;
    }
  }
  free(scale);
  dense_free(&r);
  dense_free(&ra);
  dense_free(&rb);
  free(got);
  free(want);
  floe_close(ctx);
  remove_dir();
  finish(NULL);
}

/* Scans, sort, median and quantile down the columns of a 2 MiB array held
 * in row chunks, under a 1 MiB limit with 64 KiB automatic chunks (the
 * limit leaves chunk sizes alone): the input is spilled on its way to
 * whole-column chunks, and every result has the bits of an unlimited run
 * and of the reference. */
Test(budget, along_axis_under_1mib, .timeout = TEST_TIMEOUT_S) {
  const int64_t n = 512;
  const struct {
    int op, axis;
    double q;
  } cases[] = {{AX_CUMSUM, 0, 0}, {AX_CUMPROD, 1, 0},  {AX_SORT, 0, 0},
               {AX_MEDIAN, 0, 0}, {AX_QUANTILE, 0, 0.3}, {AX_QUANTILE, 1, 1.0 / 3.0}};
  enum { NC = sizeof cases / sizeof cases[0] };
  void *got[NC];
  floe_ctx *lim = open_limited_chunks(1 * MIB, 2, 64 * 1024);
  for (int j = 0; j < NC; j++) {
    char what[96];
    snprintf(what, sizeof what, "%s(axis=%d, q=%g) of (512, 512)/(8, 512) under 1 MiB",
             AX_NAME[cases[j].op], cases[j].axis, cases[j].q);
    floe_stats s;
    floe_array *x = spillable(lim, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), 9);
    got[j] = run_job(lim, along(x, cases[j].op, cases[j].axis, cases[j].q), &s, what);
    if (s.peak_memory > 1 * MIB) {
      soft_fail("%s: peak %llu bytes over the limit", what, (unsigned long long)s.peak_memory);
    }
    if (cases[j].axis == 0 && s.bytes_spilled + s.bytes_reread == 0) {
      soft_fail("%s: a 2 MiB input turned to columns under a 1 MiB limit was neither spilled "
                "nor read again",
                what);
    }
  }
  floe_close(lim);
  floe_ctx *ctx = open_limited_chunks(0, 2, 64 * 1024);
  floe_array *x = spillable(ctx, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), 9);
  dense r = dense_new(F64, 2, (int64_t[]){n, n});
  cr_assert_eq(floe_compute(x, r.v, (size_t)(n * n) * 8), FLOE_OK);
  for (int j = 0; j < NC; j++) {
    char what[96];
    snprintf(what, sizeof what, "%s(axis=%d, q=%g)", AX_NAME[cases[j].op], cases[j].axis,
             cases[j].q);
    floe_array *o = along(x, cases[j].op, cases[j].axis, cases[j].q);
    void *want = compute_or_fail(o, what);
    cr_assert_not_null(want);
    if (memcmp(got[j], want, (size_t)floe_array_nbytes(o)) != 0) {
      soft_fail("%s: under 1 MiB differs from the unlimited run", what);
    }
    dense w = ref_along(&r, cases[j].op, cases[j].axis, cases[j].q);
    compare_bytes(got[j], &w, what);
    dense_free(&w);
    free(want);
    free(got[j]);
  }
  dense_free(&r);
  floe_close(ctx);
  remove_dir();
  finish(NULL);
}

/* ---------------------------------------------------------------- inputs */

/* Inputs floe holds itself: an HDF5 dataset read with chunks that
 * straddle the file's, and a persisted array (store chunks). */
Test(inputs, hdf5_and_persisted, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_limited(0, 2);
  dense r = dense_pattern(F64, FLOE_SHAPE(37, 23), 300, false);
  floe_array *x =
      floe_from_buffer(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
  char path[128];
  snprintf(path, sizeof path, "%s/x.h5", g_dir);
  cr_assert_eq(floe_to_hdf5(x, path, "x", NULL), FLOE_OK, "%s", floe_error_message(NULL));
  floe_array *ins[2] = {floe_from_hdf5(ctx, path, "x", FLOE_SHAPE(6, 4)),
                        floe_persist(floe_rechunk(x, FLOE_SHAPE(5, 8)))};
  const char *names[2] = {"hdf5 (file chunks (8, 5), read as (6, 4))", "persisted (5, 8)"};
  floe_index ix[] = {S(2, 30, 3), S(N, N, -2)};
  static const int64_t take_ix[] = {22, -1, 0, 5, 5};
  for (int i = 0; i < 2; i++) {
    floe_array *a = ins[i];
    cr_assert_eq(floe_array_status(a), FLOE_OK, "%s: %s", names[i], floe_array_message(a));
    dense want;
    cr_assert_eq(ref_slice(&r, 2, ix, &want), FLOE_OK);
    expect_dense(floe_slice(a, 2, ix), &want, "%s [2:30:3, ::-2]", names[i]);
    dense_free(&want);
    want = ref_transpose(&r, (int[]){1, 0});
    expect_dense(floe_transpose(a, FLOE_ALL), &want, "%s .T", names[i]);
    dense_free(&want);
    expect_dense(floe_rechunk(a, FLOE_SHAPE(37, 1)), &r, "%s rechunk (37, 1)", names[i]);
    cr_assert_eq(ref_take(&r, take_ix, 5, 1, &want), FLOE_OK);
    expect_dense(floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(5), FLOE_AUTO, take_ix), 1),
                 &want, "%s take axis 1", names[i]);
    dense_free(&want);
    want = ref_pad(&r, (int64_t[]){2, 3}, (int64_t[]){4, 1}, FLOE_PAD_EDGE, 0);
    expect_dense(floe_pad(a, FLOE_SHAPE(2, 3), FLOE_SHAPE(4, 1), FLOE_PAD_EDGE, 0), &want,
                 "%s edge pad", names[i]);
    dense_free(&want);
    dense *two[2] = {&r, &r};
    want = ref_concat(two, 2, 1);
    expect_dense(floe_concat((floe_array *[]){a, x}, 2, 1), &want, "%s concat with x", names[i]);
    dense_free(&want);
    cr_assert_eq(ref_broadcast(&r, FLOE_SHAPE(2, 37, 23), &want), FLOE_OK);
    expect_dense(floe_broadcast_to(a, FLOE_SHAPE(2, 37, 23)), &want, "%s broadcast", names[i]);
    dense_free(&want);
    dense rt = ref_transpose(&r, (int[]){1, 0});
    double *scale;
    want = ref_matmul(&r, &rt, &scale);
    char what[128];
    snprintf(what, sizeof what, "%s @ its .T", names[i]);
    expect_product(floe_matmul(a, floe_transpose(a, FLOE_ALL)), &want, scale, 1e-12, what);
    free(scale);
    dense_free(&want);
    dense_free(&rt);
  }
  dense_free(&r);
  floe_close(ctx);
  remove_dir();
  finish(NULL);
}

/* Several structure outputs of one input in one job: the input is computed
 * once and every output is right. */
Test(inputs, one_job_with_several_outputs, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dense r;
  floe_array *a = make_input(ctx, IN_EXPR, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 310, &r);
  floe_index ix[] = {S(N, N, -1), S(3, N, 1)};
  static const int64_t take_ix[] = {36, 0, -2};
  floe_array *outs[5] = {
      floe_slice(a, 2, ix),
      floe_transpose(a, FLOE_ALL),
      floe_matmul(a, floe_transpose(a, FLOE_ALL)),
      floe_concat((floe_array *[]){a, a}, 2, 1),
      floe_take(a, floe_from_buffer(ctx, I64, FLOE_SHAPE(3), FLOE_AUTO, take_ix), 0),
  };
  dense want[5];
  double *scale;
  cr_assert_eq(ref_slice(&r, 2, ix, &want[0]), FLOE_OK);
  want[1] = ref_transpose(&r, (int[]){1, 0});
  want[2] = ref_matmul(&r, &want[1], &scale);
  dense *two[2] = {&r, &r};
  want[3] = ref_concat(two, 2, 1);
  cr_assert_eq(ref_take(&r, take_ix, 3, 0, &want[4]), FLOE_OK);
  floe_job *job = floe_job_new(ctx);
  void *bufs[5];
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(floe_array_status(outs[i]), FLOE_OK, "output %d: %s", i,
                 floe_array_message(outs[i]));
    size_t nbytes = (size_t)floe_array_nbytes(outs[i]);
    bufs[i] = malloc(nbytes + 8);
    cr_assert_eq(floe_job_add_buffer(job, outs[i], bufs[i], nbytes), FLOE_OK);
  }
  cr_assert_eq(floe_job_run(job), FLOE_OK, "%s", floe_error_message(NULL));
  const char *names[5] = {"a[::-1, 3:]", "a.T", "a @ a.T", "concat((a, a), 1)", "take"};
  for (int i = 0; i < 5; i++) {
    char what[64];
    snprintf(what, sizeof what, "job output %s", names[i]);
    if (i == 2) {
      compare_close(bufs[i], &want[i], scale, 1e-12, what);
    } else {
      compare_bytes(bufs[i], &want[i], what);
    }
    free(bufs[i]);
    dense_free(&want[i]);
  }
  free(scale);
  floe_job_free(job);
  dense_free(&r);
  finish(ctx);
}

/* Scans, sorts and quantiles of inputs floe holds itself: an HDF5 dataset
 * read in chunks that straddle the file's, and a persisted array. */
Test(inputs, hdf5_and_persisted_along_an_axis, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_limited(0, 2);
  const floe_dtype dts[] = {I32, F32, F64};
  for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
    floe_scope_begin(ctx);
    dense r = dense_pattern(dts[t], FLOE_SHAPE(37, 23), 320, false);
    floe_array *x =
        floe_from_buffer(ctx, dts[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
    char path[128];
    snprintf(path, sizeof path, "%s/along-%s.h5", g_dir, dtn(dts[t]));
    cr_assert_eq(floe_to_hdf5(x, path, "x", NULL), FLOE_OK, "%s", floe_error_message(NULL));
    floe_array *ins[2] = {floe_from_hdf5(ctx, path, "x", FLOE_SHAPE(6, 4)),
                          floe_persist(floe_rechunk(x, FLOE_SHAPE(5, 8)))};
    const char *names[2] = {"hdf5 (file chunks (8, 5), read as (6, 4))", "persisted (5, 8)"};
    for (int i = 0; i < 2; i++) {
      cr_assert_eq(floe_array_status(ins[i]), FLOE_OK, "%s: %s", names[i],
                   floe_array_message(ins[i]));
      char what[128];
      snprintf(what, sizeof what, "%s %s", dtn(dts[t]), names[i]);
      for (int axis = 0; axis < 2; axis++) {
        for (int op = 0; op < AX_OPS; op++) {
          expect_along(ins[i], &r, op, axis, 0.6, what);
        }
      }
    }
    dense_free(&r);
    floe_scope_end(ctx);
  }
  floe_close(ctx);
  remove_dir();
  finish(NULL);
}

/* --------------------------------------------------------------- handles */

/* NULL arguments: NULL (no context to hold an error array) or an error
 * array, with a message naming the operation; never a crash. */
Test(handles, null_arguments, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *v = floe_ones(ctx, F64, FLOE_SHAPE(4), FLOE_AUTO);
  static const int64_t zero[1] = {0};
  floe_array *ix = floe_from_buffer(ctx, I64, FLOE_SHAPE(1), FLOE_AUTO, zero);
  floe_index whole[] = {FLOE_WHOLE};
  floe_array *nulls[2] = {NULL, NULL};
  const char *ops[] = {"floe_slice",       "floe_transpose", "floe_rechunk", "floe_broadcast_to",
                       "floe_expand_dims", "floe_squeeze",   "floe_concat",  "floe_stack",
                       "floe_pad",         "floe_take",      "floe_matmul",  "floe_dot",
                       "floe_outer",       "floe_concat",    "floe_stack"};
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
    floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
    floe_array *r = NULL;
    switch (k) {
    case 0:
      r = floe_slice(NULL, 1, whole);
      break;
    case 1:
      r = floe_transpose(NULL, FLOE_ALL);
      break;
    case 2:
      r = floe_rechunk(NULL, FLOE_AUTO);
      break;
    case 3:
      r = floe_broadcast_to(NULL, FLOE_SHAPE(3, 4));
      break;
    case 4:
      r = floe_expand_dims(NULL, 0);
      break;
    case 5:
      r = floe_squeeze(NULL, FLOE_ALL);
      break;
    case 6:
      r = floe_concat(nulls, 2, 0);
      break;
    case 7:
      r = floe_stack(nulls, 2, 0);
      break;
    case 8:
      r = floe_pad(NULL, FLOE_SHAPE(1), FLOE_SHAPE(1), FLOE_PAD_EDGE, 0);
      break;
    case 9:
      r = floe_take(NULL, NULL, 0);
      break;
    case 10:
      r = floe_matmul(NULL, NULL);
      break;
    case 11:
      r = floe_dot(NULL, NULL);
      break;
    case 12:
      r = floe_outer(NULL, NULL);
      break;
    case 13:
      r = floe_concat(NULL, 2, 0);
      break;
    default:
      r = floe_stack(NULL, 2, 0);
      break;
    }
    char what[96];
    snprintf(what, sizeof what, "%s with only NULL arguments", ops[k]);
    expect_error(r, FLOE_ERR_INVALID, ops[k], NULL, what);
  }
  /* with one good argument: an error array naming the op and the NULL */
  floe_array *xn[2] = {x, NULL}, *nx[2] = {NULL, x};
  struct {
    floe_array *a;
    const char *op;
  } one[] = {
      {floe_take(x, NULL, 0), "floe_take"},   {floe_take(NULL, ix, 0), "floe_take"},
      {floe_matmul(x, NULL), "floe_matmul"},  {floe_matmul(NULL, x), "floe_matmul"},
      {floe_dot(v, NULL), "floe_dot"},        {floe_dot(NULL, v), "floe_dot"},
      {floe_outer(v, NULL), "floe_outer"},    {floe_outer(NULL, v), "floe_outer"},
      {floe_concat(xn, 2, 0), "floe_concat"}, {floe_concat(nx, 2, 0), "floe_concat"},
      {floe_stack(xn, 2, 0), "floe_stack"},   {floe_stack(nx, 2, 0), "floe_stack"},
  };
  for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
    char what[64];
    snprintf(what, sizeof what, "%s with one NULL (case %zu)", one[k].op, k);
    if (one[k].a == NULL) {
      soft_fail("%s: NULL, expected an error array (the context is known)", what);
    } else {
      expect_error(one[k].a, FLOE_ERR_INVALID, one[k].op, "NULL", what);
    }
  }
  finish(ctx);
}

/* Error arrays pass their error on; released handles are refused. */
Test(handles, error_and_released_inputs, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *v = floe_ones(ctx, F64, FLOE_SHAPE(4), FLOE_AUTO);
  static const int64_t zero[1] = {0};
  floe_array *ix = floe_from_buffer(ctx, I64, FLOE_SHAPE(1), FLOE_AUTO, zero);
  floe_index bad_ix[] = {S(N, N, 0)};
  floe_array *e = floe_slice(x, 1, bad_ix);
  cr_assert_eq(floe_array_status(e), FLOE_ERR_INVALID);
  const char *emsg = floe_array_message(e);
  floe_array *ee[2] = {x, e};
  floe_index whole[] = {FLOE_WHOLE};
  floe_array *outs[] = {
      floe_slice(e, 1, whole),
      floe_transpose(e, FLOE_ALL),
      floe_rechunk(e, FLOE_AUTO),
      floe_broadcast_to(e, FLOE_SHAPE(3, 4)),
      floe_expand_dims(e, 0),
      floe_squeeze(e, FLOE_ALL),
      floe_concat(ee, 2, 0),
      floe_stack(ee, 2, 0),
      floe_pad(e, FLOE_SHAPE(1, 1), FLOE_SHAPE(1, 1), FLOE_PAD_EDGE, 0),
      floe_take(e, ix, 0),
      floe_take(x, e, 0),
      floe_matmul(e, x),
      floe_matmul(x, e),
      floe_dot(v, e),
      floe_outer(e, v),
  };
  for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
    if (floe_array_status(outs[k]) != FLOE_ERR_INVALID ||
        strcmp(floe_array_message(outs[k]), emsg) != 0) {
      soft_fail("case %zu: %s '%s', expected the input's error '%s'", k,
                floe_status_name(floe_array_status(outs[k])), floe_array_message(outs[k]), emsg);
    }
  }
  /* released handles */
  floe_array *r = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_release(r);
  floe_array *rr[2] = {x, r};
  floe_array *dead[] = {
      floe_slice(r, 1, whole),   floe_transpose(r, FLOE_ALL), floe_rechunk(r, FLOE_AUTO),
      floe_squeeze(r, FLOE_ALL), floe_concat(rr, 2, 0),       floe_matmul(x, r),
      floe_take(r, ix, 0),
  };
  for (size_t k = 0; k < sizeof dead / sizeof dead[0]; k++) {
    if (floe_array_status(dead[k]) != FLOE_ERR_INVALID ||
        !contains(floe_array_message(dead[k]), "released")) {
      soft_fail("released case %zu: %s '%s'", k, floe_status_name(floe_array_status(dead[k])),
                floe_array_message(dead[k]));
    }
  }
  /* arrays of two contexts */
  floe_ctx *other = open_ctx(1);
  floe_array *y = floe_ones(other, F64, FLOE_SHAPE(4, 3), FLOE_AUTO);
  floe_array *xy[2] = {x, floe_ones(other, F64, FLOE_SHAPE(3, 4), FLOE_AUTO)};
  expect_error(floe_matmul(x, y), FLOE_ERR_INVALID, "floe_matmul", "context", "matmul across");
  expect_error(floe_concat(xy, 2, 0), FLOE_ERR_INVALID, "floe_concat", "context", "concat across");
  floe_close(other);
  /* plans and DOT dumps of the new nodes */
  floe_plan_info plan;
  floe_array *p = floe_matmul(
      floe_transpose(floe_pad(x, FLOE_SHAPE(1, 0), FLOE_SHAPE(0, 2), FLOE_PAD_CONSTANT, 0),
                     FLOE_ALL),
      floe_transpose(floe_concat((floe_array *[]){x, x}, 2, 0), FLOE_ALL));
  cr_assert_eq(floe_array_status(p), FLOE_OK, "%s", floe_array_message(p));
  cr_assert_eq(floe_plan(p, &plan), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(plan.tasks, 0);
  FILE *devnull = fopen("/dev/null", "w");
  cr_assert_not_null(devnull);
  cr_assert_eq(floe_graph_dot(p, devnull), FLOE_OK, "%s", floe_error_message(NULL));
  fclose(devnull);
  finish(ctx);
}
