/* Selections, shapes and products through the public API (src/array/
 * structure.c, materialised by src/graph/produce.c): floe_slice,
 * floe_transpose, floe_rechunk, floe_broadcast_to, floe_expand_dims,
 * floe_squeeze, floe_concat, floe_stack, floe_pad, floe_take, floe_matmul,
 * floe_dot and floe_outer; along an axis floe_cumsum, floe_cumprod,
 * floe_sort, floe_median and floe_quantile; and floe_reshape, floe_mask,
 * floe_map_blocks, floe_map_overlap and floe_tensordot.
 *
 * Every result is checked against a naive reference written here: plain C
 * loops over C-order buffers that restate NumPy's rules (slice bounds as
 * PySlice_AdjustIndices, broadcasting, promotion, matmul as a triple loop,
 * tensordot as loops over the paired axes, a[mask] as a filter in C order,
 * scans as sequential loops, sort and quantiles through qsort and NumPy's
 * linear interpolation written out).  User kernels are a test kernel (sums
 * of weighted taps: elementwise, or a stencil) that checks every block it
 * is handed (extents, strides, origin, grid index, halo) and counts its
 * calls per chunk; its results must equal the same sums over the whole
 * arrays, padded as the mode says.  Copies, scans, sorts, medians,
 * quantiles and kernels must be exact, bit for bit; floating products are
 * held to a relative bound against sum(|a||b|).  Inputs come in four kinds:
 * caller memory (floe_from_buffer), generated arrays (floe_random_uniform,
 * materialised by floe), an elementwise expression (x*2+1) and the result
 * of a reduction (max over a last axis), on every dtype, with ragged chunks
 * (shape (37, 23), chunks (8, 5)), and empty and length-1 axes; HDF5 and
 * persisted inputs too.  Beyond values: errors (status and message), NULL,
 * error and released arguments, failing kernels, products, along-axis
 * results, stencils, reshapes and masks bit-identical for 1 and 2 threads,
 * and a rechunk, a product, scans, sorts and quantiles down columns, a
 * stencil, reshapes, a tensordot and a mask under a 1 MiB memory limit that
 * still give the unlimited run's bits. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
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
  /* batch axes that do not broadcast */
  floe_array *a3 = floe_ones(ctx, F64, FLOE_SHAPE(3, 37, 23), FLOE_AUTO);
  expect_error(floe_matmul(a3, c), FLOE_ERR_SHAPE, "floe_matmul", NULL, "broadcast");
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
      /* a scan keeps its input's chunks (the running value is carried from
         chunk to chunk); a sort makes the axis whole in every chunk */
      floe_shape c = floe_array_chunks(floe_cumsum(a, 0));
      floe_shape ac = floe_array_chunks(a);
      if (c.ndim != 2 || c.dim[0] != ac.dim[0] || c.dim[1] != ac.dim[1]) {
        soft_fail("%s cumsum(a, 0): chunks (%lld, %lld), expected the input's (%lld, %lld)",
                  what, (long long)c.dim[0], (long long)c.dim[1], (long long)ac.dim[0],
                  (long long)ac.dim[1]);
      }
      c = floe_array_chunks(floe_sort(a, 0));
      if (c.ndim != 2 || c.dim[0] != 37) {
        soft_fail("%s sort(a, 0): chunks (%lld, %lld), expected the whole axis 0", what,
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

/* --------------------------------------------------------------- reshape */

/* NumPy's reshape of `size` elements to s: the shape with its -1 filled in
 * (into out), or FLOE_ERR_SHAPE where NumPy raises: another size, two -1,
 * another negative length, or -1 beside a zero length. */
static floe_status ref_reshape_shape(int64_t size, floe_shape s, int64_t *out) {
  int unknown = -1;
  int64_t known = 1;
  for (int d = 0; d < s.ndim; d++) {
    out[d] = s.dim[d];
    if (s.dim[d] == -1 && unknown < 0) {
      unknown = d;
    } else if (s.dim[d] < 0) {
      return FLOE_ERR_SHAPE;
    } else {
      known *= s.dim[d];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || size % known != 0) {
      return FLOE_ERR_SHAPE;
    }
    out[unknown] = size / known;
    return FLOE_OK;
  }
  return known == size ? FLOE_OK : FLOE_ERR_SHAPE;
}

/* The same C-order values in another shape of as many elements. */
static dense ref_reshape(const dense *a, int ndim, const int64_t *shape) {
  dense r = dense_new(a->dt, ndim, shape);
  cr_assert_eq(r.n, a->n);
  memcpy(r.v, a->v, (size_t)a->n * esz(a->dt));
  return r;
}

/* Checks floe_reshape(a, to) against the reference: the values, or the
 * same refusal; and the result's chunks: the trailing axes both shapes
 * share keep a's, the others lie within their axes. */
static void expect_reshape(floe_array *a, const dense *r, floe_shape to, const char *what) {
  int64_t shape[FLOE_MAX_DIMS];
  char ts[96], w[256];
  snprintf(w, sizeof w, "%s reshape to %s", what, shape_str(ts, sizeof ts, to.ndim, to.dim));
  floe_status st = ref_reshape_shape(r->n, to, shape);
  floe_array *b = floe_reshape(a, to);
  if (st != FLOE_OK) {
    expect_error(b, st, "floe_reshape", NULL, w);
    floe_release(b);
    return;
  }
  dense want = ref_reshape(r, to.ndim, shape);
  expect_dense(b, &want, "%s", w);
  floe_shape ca = floe_array_chunks(a), cb = floe_array_chunks(b);
  if (floe_array_status(b) == FLOE_OK && want.n > 0) {
    int shared = 0;
    while (shared < r->ndim && shared < to.ndim &&
           r->shape[r->ndim - 1 - shared] == shape[to.ndim - 1 - shared]) {
      shared++;
    }
    for (int d = 0; d < to.ndim && cb.ndim == to.ndim; d++) {
      bool kept = d >= to.ndim - shared;
      int64_t in_chunk = kept ? ca.dim[r->ndim - to.ndim + d] : 0;
      if (cb.dim[d] < 1 || cb.dim[d] > shape[d] || (kept && cb.dim[d] != in_chunk)) {
        char cs[96];
        soft_fail("%s: chunks %s (axis %d: %lld; the input's chunk there %lld)", w,
                  shape_str(cs, sizeof cs, cb.ndim, cb.dim), d, (long long)cb.dim[d],
                  (long long)in_chunk);
        break;
      }
    }
    if (cb.ndim != to.ndim) {
      soft_fail("%s: chunks of %d axes", w, cb.ndim);
    }
  }
  dense_free(&want);
  floe_release(b);
}

/* max of a 2-D array along `axis`, or with `sum` its int64 sum. */
static dense ref_reduce2(const dense *a, int axis, bool sum) {
  const int64_t rows = a->shape[0], cols = a->shape[1];
  int64_t len = axis == 0 ? cols : rows, cnt = axis == 0 ? rows : cols;
  dense r = dense_new(sum ? I64 : a->dt, 1, &len);
  for (int64_t o = 0; o < len; o++) {
    int64_t at = -1, isum = 0;
    for (int64_t p = 0; p < cnt; p++) {
      int64_t i = axis == 0 ? p * cols + o : o * cols + p;
      if (sum) {
        isum += get_i(a, i);
      } else if (at < 0 || get_d(a, i) > get_d(a, at)) {
        at = i;
      }
    }
    if (sum) {
      ((int64_t *)r.v)[o] = isum;
    } else {
      put(&r, o, a, at);
    }
  }
  return r;
}

Test(reshape, shapes_on_every_dtype_and_input, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  /* 420 = 6 * 10 * 7 elements; 851 = 37 * 23 */
  floe_shape to3[] = {
      FLOE_SHAPE(420),
      FLOE_SHAPE(-1),
      FLOE_SHAPE(42, 10),
      FLOE_SHAPE(60, 7),
      FLOE_SHAPE(6, 70),
      FLOE_SHAPE(2, 3, 10, 7),
      FLOE_SHAPE(7, 6, 10),
      FLOE_SHAPE(-1, 7),
      FLOE_SHAPE(6, -1),
      FLOE_SHAPE(10, -1, 7),
      FLOE_SHAPE(1, 420),
      FLOE_SHAPE(420, 1),
      FLOE_SHAPE(3, 2, 5, 2, 7),
      FLOE_SHAPE(5, 84),
      FLOE_SHAPE(1, -1, 1),
      FLOE_SHAPE(6, 10, 7),
      FLOE_SHAPE(1, 6, 1, 10, 1, 7, 1, 1),
      /* refused */
      FLOE_SHAPE(421),
      FLOE_SHAPE(-1, -1),
      FLOE_SHAPE(-2, -210),
      FLOE_SHAPE(0, -1),
      FLOE_SHAPE(8, -1),
      FLOE_SHAPE(6, 10, 7, 0),
      FLOE_SHAPE(2, -3, 70),
      FLOE_SHAPE(6, 10, 7, 2),
      FLOE_SHAPE(-1, 0),
  };
  floe_shape to2[] = {
      FLOE_SHAPE(851),
      FLOE_SHAPE(23, 37),
      FLOE_SHAPE(1, 37, 23, 1),
      FLOE_SHAPE(-1),
      FLOE_SHAPE(37, 23, 1),
      FLOE_SHAPE(1, 851),
      FLOE_SHAPE(-1, 37),
      FLOE_SHAPE(23, -1, 1),
      /* refused */
      FLOE_SHAPE(850),
      FLOE_SHAPE(2, -1),
      FLOE_SHAPE(37, -1, -1),
      FLOE_SHAPE(23, 36),
  };
  struct {
    floe_shape shape, chunks;
    const floe_shape *to;
    size_t nto;
  } arrays[] = {
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), to3, sizeof to3 / sizeof to3[0]},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), to2, sizeof to2 / sizeof to2[0]},
  };
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks,
                                   500u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (size_t i = 0; i < arrays[j].nto; i++) {
          expect_reshape(a, &r, arrays[j].to[i], what);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  /* a shape of more than FLOE_MAX_DIMS axes, and chunks given as a shape */
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2));
  floe_shape nine = {.ndim = FLOE_MAX_DIMS + 1};
  expect_error(floe_reshape(a, nine), FLOE_ERR_SHAPE, "floe_reshape", NULL, "9 axes");
  if (floe_array_status(floe_reshape(a, FLOE_AUTO)) == FLOE_OK) {
    soft_fail("reshape to FLOE_AUTO (ndim -1): accepted");
  }
  finish(ctx);
}

Test(reshape, empty_length_one_and_zero_d, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_shape to_empty[] = {
      FLOE_SHAPE(0),
      FLOE_SHAPE(-1),
      FLOE_SHAPE(12, 0),
      FLOE_SHAPE(0, 4, 3),
      FLOE_SHAPE(2, -1, 6),
      FLOE_SHAPE(1, 1, 0),
      FLOE_SHAPE(12, -1),
      FLOE_SHAPE(4, 0, 3),
      /* refused: -1 beside a zero length, another size */
      FLOE_SHAPE(0, -1),
      FLOE_SHAPE(3, 0, -1),
      FLOE_SHAPE(1),
  };
  floe_shape to_one[] = {
      FLOE_SCALAR_SHAPE,
      FLOE_SHAPE(1),
      FLOE_SHAPE(-1),
      FLOE_SHAPE(1, 1),
      FLOE_SHAPE(1, -1, 1),
      FLOE_SHAPE(1, 1, 1),
      /* refused */
      FLOE_SHAPE(2),
      FLOE_SHAPE(0),
      FLOE_SHAPE(0, -1),
  };
  struct {
    floe_shape shape, chunks;
    const floe_shape *to;
    size_t nto;
  } arrays[] = {
      {FLOE_SHAPE(4, 0, 3), FLOE_SHAPE(3, 1, 2), to_empty, sizeof to_empty / sizeof to_empty[0]},
      {FLOE_SHAPE(1, 1, 1), FLOE_SHAPE(1, 1, 1), to_one, sizeof to_one / sizeof to_one[0]},
      {FLOE_SCALAR_SHAPE, FLOE_AUTO, to_one, sizeof to_one / sizeof to_one[0]},
      {FLOE_SHAPE(1), FLOE_SHAPE(1), to_one, sizeof to_one / sizeof to_one[0]},
  };
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks,
                                   510u + (unsigned)t, &r);
        char what[96], sh[64];
        snprintf(what, sizeof what, "%s %s %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r.ndim, r.shape));
        for (size_t i = 0; i < arrays[j].nto; i++) {
          expect_reshape(a, &r, arrays[j].to[i], what);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  /* 1-D arange: its values by formula */
  floe_array *v = floe_arange(ctx, I64, 0, 24, 1, FLOE_SHAPE(5));
  dense rv = dense_new(I64, 1, (int64_t[]){24});
  for (int64_t i = 0; i < 24; i++) {
    set_d(&rv, i, (double)i);
  }
  floe_shape to1[] = {FLOE_SHAPE(2, 3, 4), FLOE_SHAPE(4, -1), FLOE_SHAPE(24, 1),
                      FLOE_SHAPE(-1, 24),  FLOE_SHAPE(3, 8),  FLOE_SHAPE(5, -1)};
  for (size_t i = 0; i < sizeof to1 / sizeof to1[0]; i++) {
    expect_reshape(v, &rv, to1[i], "arange(24)/(5)");
  }
  dense_free(&rv);
  finish(ctx);
}

Test(reshape, composes_with_selections_elementwise_and_reductions, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const int perm[3] = {2, 0, 1};
  floe_index ix[] = {S(N, N, -2), S(1, N, 1), S(N, N, 3)};
  floe_index ix2[] = {S(N, N, -3), S(2, N, 1)};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      char what[64];
      snprintf(what, sizeof what, "%s %s (6, 10, 7)/(4, 3, 2)", dtn(dt), KIND[k]);
      dense r, rb;
      floe_array *a = make_input(ctx, k, dt, FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), 520, &r);
      floe_array *b =
          make_input(ctx, (k + 1) % IN_KINDS, dt, FLOE_SHAPE(14, 30), FLOE_SHAPE(5, 7), 521, &rb);
      /* reshape of a transpose, and transpose of a reshape */
      dense rt = ref_transpose(&r, perm);
      dense want = ref_reshape(&rt, 2, (int64_t[]){42, 10});
      floe_array *at = floe_transpose(a, FLOE_AXES(2, 0, 1));
      expect_dense(floe_reshape(at, FLOE_SHAPE(42, 10)), &want,
                   "%s reshape(transpose(a, (2, 0, 1)), (42, 10))", what);
      dense_free(&want);
      want = ref_reshape(&rt, 1, (int64_t[]){420});
      expect_dense(floe_reshape(at, FLOE_SHAPE(-1)), &want, "%s reshape(transpose(a), -1)", what);
      dense_free(&want);
      dense r42 = ref_reshape(&r, 2, (int64_t[]){42, 10});
      want = ref_transpose(&r42, (int[]){1, 0});
      floe_array *a42 = floe_reshape(a, FLOE_SHAPE(42, 10));
      expect_dense(floe_transpose(a42, FLOE_ALL), &want, "%s reshape(a, (42, 10)).T", what);
      dense_free(&want);
      /* reshape of a reshape */
      want = ref_reshape(&r, 2, (int64_t[]){3, 140});
      expect_dense(floe_reshape(floe_reshape(a, FLOE_SHAPE(70, 6)), FLOE_SHAPE(3, 140)), &want,
                   "%s reshape(reshape(a, (70, 6)), (3, 140))", what);
      dense_free(&want);
      /* reshape of a slice (not contiguous), and a slice of a reshape */
      dense rs;
      cr_assert_eq(ref_slice(&r, 3, ix, &rs), FLOE_OK);
      cr_assert_eq(rs.n, 81);
      floe_array *as = floe_slice(a, 3, ix);
      want = ref_reshape(&rs, 2, (int64_t[]){27, 3});
      expect_dense(floe_reshape(as, FLOE_SHAPE(27, 3)), &want,
                   "%s reshape(a[::-2, 1:, ::3], (27, 3))", what);
      dense_free(&want);
      want = ref_reshape(&rs, 2, (int64_t[]){9, 9});
      expect_dense(floe_reshape(as, FLOE_SHAPE(-1, 9)), &want,
                   "%s reshape(a[::-2, 1:, ::3], (-1, 9))", what);
      dense_free(&want);
      cr_assert_eq(ref_slice(&r42, 2, ix2, &want), FLOE_OK);
      expect_dense(floe_slice(a42, 2, ix2), &want, "%s reshape(a, (42, 10))[::-3, 2:]", what);
      dense_free(&want);
      /* reshape, then reduce */
      dense r6 = ref_reshape(&r, 2, (int64_t[]){6, 70});
      floe_array *a6 = floe_reshape(a, FLOE_SHAPE(6, 70));
      want = ref_reduce2(&r6, 1, false);
      expect_dense(floe_max(a6, FLOE_AXES(1)), &want, "%s max(reshape(a, (6, 70)), axis=1)", what);
      dense_free(&want);
      want = ref_reduce2(&r42, 0, false);
      expect_dense(floe_max(a42, FLOE_AXES(0)), &want, "%s max(reshape(a, (42, 10)), axis=0)",
                   what);
      dense_free(&want);
      if (!is_float(dt)) {
        want = ref_reduce2(&r6, 1, true);
        expect_dense(floe_sum(a6, FLOE_AXES(-1)), &want, "%s sum(reshape(a, (6, 70)), axis=-1)",
                     what);
        dense_free(&want);
        want = ref_reduce2(&r42, 0, true);
        expect_dense(floe_sum(floe_reshape(a, FLOE_SHAPE(-1, 10)), FLOE_AXES(0)), &want,
                     "%s sum(reshape(a, (-1, 10)), axis=0)", what);
        dense_free(&want);
      }
      /* two reshaped arrays of other shapes and chunks, elementwise */
      dense rb42 = ref_reshape(&rb, 2, (int64_t[]){42, 10});
      want = dense_new(dt, 2, (int64_t[]){42, 10});
      for (int64_t i = 0; i < want.n; i++) {
        put(&want, i, get_d(&r42, i) >= get_d(&rb42, i) ? &r42 : &rb42, i);
      }
      expect_dense(floe_maximum(a42, floe_reshape(b, FLOE_SHAPE(42, 10))), &want,
                   "%s maximum(reshape(a, (42, 10)), reshape(b (14, 30)/(5, 7), (42, 10)))", what);
      dense_free(&want);
      dense *all[] = {&r, &rb, &rt, &r42, &rs, &r6, &rb42};
      for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        dense_free(all[i]);
      }
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* ----------------------------------------------------------------- masks */

/* a[mask]: the elements where the mask is true, in C order, 1-D. */
static dense ref_mask(const dense *a, const dense *m) {
  cr_assert_eq(a->n, m->n);
  int64_t count = 0;
  for (int64_t i = 0; i < m->n; i++) {
    count += get_d(m, i) != 0;
  }
  dense r = dense_new(a->dt, 1, &count);
  for (int64_t i = 0, j = 0; i < m->n; i++) {
    if (get_d(m, i) != 0) {
      put(&r, j++, a, i);
    }
  }
  return r;
}

enum { MK_BUFFER, MK_GENERATED, MK_ALL, MK_NONE, MK_OF_A, MK_TRANSPOSED, MK_KINDS };
static const char *const MASK_KIND[MK_KINDS] = {
    "bool buffer", "uniform < 0.3", "all true", "all false", "a > 0", "transposed bool buffer"};

/* A bool mask of a's shape (in `chunks`) of the given kind, and in *ref
 * its values; MK_OF_A is a > 0 (a itself for bool). */
static floe_array *make_mask(floe_ctx *ctx, int kind, floe_array *a, const dense *r,
                             floe_shape chunks, uint64_t seed, dense *ref) {
  floe_shape shape = {.ndim = r->ndim};
  memcpy(shape.dim, r->shape, sizeof(int64_t) * (size_t)r->ndim);
  floe_array *m = NULL;
  switch (kind) {
  case MK_BUFFER:
    *ref = dense_pattern(B, shape, seed, false);
    m = floe_from_buffer(ctx, B, shape, chunks, dense_buffer(ref));
    break;
  case MK_GENERATED:
    m = floe_less(floe_random_uniform(ctx, F64, shape, chunks, seed, 0, 1), floe_scalar(ctx, 0.3));
    *ref = dense_of(B, shape);
    cr_assert_eq(floe_compute(m, ref->v, (size_t)ref->n), FLOE_OK, "mask: %s",
                 floe_error_message(NULL));
    break;
  case MK_ALL:
  case MK_NONE:
    m = kind == MK_ALL ? floe_ones(ctx, B, shape, chunks) : floe_zeros(ctx, B, shape, chunks);
    *ref = dense_of(B, shape);
    memset(ref->v, kind == MK_ALL, (size_t)ref->n);
    break;
  case MK_OF_A:
    m = r->dt == B ? a : floe_greater(a, floe_scalar_int(ctx, 0));
    *ref = dense_of(B, shape);
    for (int64_t i = 0; i < r->n; i++) {
      set_d(ref, i, get_d(r, i) > 0);
    }
    break;
  default: {
    /* a bool array of the reversed shape, transposed */
    floe_shape rs = {.ndim = shape.ndim}, rc = {.ndim = chunks.ndim};
    int perm[FLOE_MAX_DIMS];
    for (int d = 0; d < shape.ndim; d++) {
      rs.dim[d] = shape.dim[shape.ndim - 1 - d];
      rc.dim[d] = chunks.ndim > 0 ? chunks.dim[shape.ndim - 1 - d] : 1;
      perm[d] = shape.ndim - 1 - d;
    }
    dense p = dense_pattern(B, rs, seed, false);
    m = floe_transpose(
        floe_from_buffer(ctx, B, rs, chunks.ndim < 0 ? chunks : rc, dense_buffer(&p)), FLOE_ALL);
    *ref = ref_transpose(&p, perm);
    dense_free(&p);
    break;
  }
  }
  cr_assert_eq(floe_array_status(m), FLOE_OK, "mask %s: %s", MASK_KIND[kind],
               floe_array_message(m));
  return m;
}

/* Checks floe_mask(a, m) against the reference; returns the result. */
static floe_array *expect_mask(floe_array *a, const dense *r, floe_array *m, const dense *rm,
                               const char *what) {
  dense want = ref_mask(r, rm);
  floe_array *b = floe_mask(a, m);
  expect_dense(b, &want, "%s", what);
  dense_free(&want);
  return b;
}

Test(mask, every_dtype_input_and_mask, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5),
                                 530u + (unsigned)t, &r);
      for (int mk = 0; mk < MK_KINDS; mk++) {
        dense rm;
        floe_array *m = make_mask(ctx, mk, a, &r, FLOE_SHAPE(6, 4), 531u + (unsigned)mk, &rm);
        char what[128];
        snprintf(what, sizeof what, "%s %s (37, 23)/(8, 5) [%s (6, 4)]", dtn(ALL_DT[t]), KIND[k],
                 MASK_KIND[mk]);
        floe_array *b = expect_mask(a, &r, m, &rm, what);
        /* reductions of the selection */
        dense picked = ref_mask(&r, &rm);
        if (picked.n > 0) {
          dense row = picked;
          row.ndim = 2;
          row.shape[0] = 1;
          row.shape[1] = picked.n;
          dense want = ref_reduce2(&row, 1, false);
          want.ndim = 0;
          expect_dense(floe_max(b, FLOE_ALL), &want, "%s max", what);
          dense_free(&want);
          if (!is_float(ALL_DT[t])) {
            want = ref_reduce2(&row, 1, true);
            want.ndim = 0;
            expect_dense(floe_sum(b, FLOE_ALL), &want, "%s sum", what);
            dense_free(&want);
          }
        }
        dense_free(&picked);
        dense_free(&rm);
      }
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(mask, composes_with_expressions_selections_and_reshapes, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_index ix[] = {S(N, N, -1), S(3, N, 1)};
  floe_index half[] = {S(N, N, -2)};
  const int tr[2] = {1, 0};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      char what[64];
      snprintf(what, sizeof what, "%s %s", dtn(dt), KIND[k]);
      dense r, rb, rm;
      floe_array *a = make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 540, &r);
      floe_array *b =
          make_input(ctx, (k + 1) % IN_KINDS, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(7, 9), 541, &rb);
      floe_array *m = make_mask(ctx, MK_BUFFER, a, &r, FLOE_SHAPE(5, 6), 542, &rm);
      char w[192];
      /* an expression masked by an expression: maximum(a, b)[a > b] */
      dense mx = dense_of(dt, FLOE_SHAPE(37, 23)), gt = dense_of(B, FLOE_SHAPE(37, 23));
      for (int64_t i = 0; i < r.n; i++) {
        put(&mx, i, get_d(&r, i) >= get_d(&rb, i) ? &r : &rb, i);
        set_d(&gt, i, get_d(&r, i) > get_d(&rb, i));
      }
      snprintf(w, sizeof w, "%s maximum(a, b)[a > b]", what);
      floe_release(expect_mask(floe_maximum(a, b), &mx, floe_greater(a, b), &gt, w));
      /* a transpose masked by a transposed mask; a slice by a slice */
      dense rt = ref_transpose(&r, tr), rmt = ref_transpose(&rm, tr);
      snprintf(w, sizeof w, "%s a.T[m.T]", what);
      floe_release(
          expect_mask(floe_transpose(a, FLOE_ALL), &rt, floe_transpose(m, FLOE_ALL), &rmt, w));
      dense rs, rms;
      cr_assert_eq(ref_slice(&r, 2, ix, &rs), FLOE_OK);
      cr_assert_eq(ref_slice(&rm, 2, ix, &rms), FLOE_OK);
      snprintf(w, sizeof w, "%s a[::-1, 3:][m[::-1, 3:]]", what);
      floe_release(expect_mask(floe_slice(a, 2, ix), &rs, floe_slice(m, 2, ix), &rms, w));
      /* a reshape masked by a reshape: the same elements in the same order */
      snprintf(w, sizeof w, "%s reshape(a, (23, 37))[reshape(m, (23, 37))]", what);
      floe_release(expect_mask(floe_reshape(a, FLOE_SHAPE(23, 37)), &r,
                               floe_reshape(m, FLOE_SHAPE(23, 37)), &rm, w));
      /* a slice and a reshape of the selection */
      dense picked = ref_mask(&r, &rm), want;
      floe_array *am = floe_mask(a, m);
      cr_assert_eq(ref_slice(&picked, 1, half, &want), FLOE_OK);
      expect_dense(floe_slice(am, 1, half), &want, "%s a[m][::-2]", what);
      dense_free(&want);
      want = ref_reshape(&picked, 2, (int64_t[]){picked.n, 1});
      expect_dense(floe_reshape(am, FLOE_SHAPE(-1, 1)), &want, "%s reshape(a[m], (-1, 1))", what);
      dense_free(&want);
      want = ref_reshape(&r, 2, (int64_t[]){23, 37});
      expect_dense(floe_reshape(floe_mask(a, floe_ones(ctx, B, FLOE_SHAPE(37, 23), FLOE_AUTO)),
                                FLOE_SHAPE(23, 37)),
                   &want, "%s reshape(a[ones], (23, 37))", what);
      dense_free(&want);
      /* two selections by one mask, elementwise; a selection masked again */
      dense selb = ref_mask(&rb, &rm);
      want = dense_of(dt, FLOE_SHAPE(picked.n));
      for (int64_t i = 0; i < picked.n; i++) {
        put(&want, i, get_d(&picked, i) >= get_d(&selb, i) ? &picked : &selb, i);
      }
      expect_dense(floe_maximum(am, floe_mask(b, m)), &want, "%s maximum(a[m], b[m])", what);
      dense_free(&want);
      dense pos = dense_of(B, FLOE_SHAPE(picked.n));
      for (int64_t i = 0; i < picked.n; i++) {
        set_d(&pos, i, get_d(&picked, i) > 0);
      }
      snprintf(w, sizeof w, "%s a[m][a[m] > 0]", what);
      floe_release(expect_mask(am, &picked,
                               dt == B ? am : floe_greater(am, floe_scalar_int(ctx, 0)), &pos, w));
      dense *free_all[] = {&r, &rb, &rm, &mx, &gt, &rt, &rmt, &rs, &rms, &picked, &selb, &pos};
      for (size_t i = 0; i < sizeof free_all / sizeof free_all[0]; i++) {
        dense_free(free_all[i]);
      }
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

Test(mask, empty_length_one_and_zero_d, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, chunks;
  } arrays[] = {
      {FLOE_SHAPE(4, 0, 3), FLOE_SHAPE(3, 1, 2)},
      {FLOE_SHAPE(1, 1, 1), FLOE_SHAPE(1, 1, 1)},
      {FLOE_SHAPE(6, 1, 9), FLOE_SHAPE(4, 1, 2)},
      {FLOE_SHAPE(100), FLOE_SHAPE(7)},
  };
  const int kinds[] = {MK_BUFFER, MK_ALL, MK_NONE, MK_OF_A, MK_TRANSPOSED};
  for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        floe_array *a = make_input(ctx, k, ALL_DT[t], arrays[j].shape, arrays[j].chunks,
                                   550u + (unsigned)t, &r);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
          dense rm;
          floe_array *m = make_mask(ctx, kinds[i], a, &r, arrays[j].chunks, 551u + i, &rm);
          char what[128], sh[64];
          snprintf(what, sizeof what, "%s %s %s [%s]", dtn(ALL_DT[t]), KIND[k],
                   shape_str(sh, sizeof sh, r.ndim, r.shape), MASK_KIND[kinds[i]]);
          floe_release(expect_mask(a, &r, m, &rm, what));
          dense_free(&rm);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  /* 0-d: a true mask selects the one element, a false one nothing */
  floe_array *three = floe_sum(floe_ones(ctx, F64, FLOE_SHAPE(3), FLOE_AUTO), FLOE_ALL);
  floe_array *yes = floe_greater(three, floe_scalar(ctx, 0));
  floe_array *no = floe_less(three, floe_scalar(ctx, 0));
  dense ryes = dense_new(B, 0, NULL), rno = dense_new(B, 0, NULL);
  set_d(&ryes, 0, 1);
  for (int t = 0; t < NDT; t++) {
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r;
      floe_array *a = make_input(ctx, k, ALL_DT[t], FLOE_SCALAR_SHAPE, FLOE_AUTO, 560, &r);
      char what[96];
      snprintf(what, sizeof what, "%s %s 0-d [true]", dtn(ALL_DT[t]), KIND[k]);
      floe_release(expect_mask(a, &r, yes, &ryes, what));
      snprintf(what, sizeof what, "%s %s 0-d [false]", dtn(ALL_DT[t]), KIND[k]);
      floe_release(expect_mask(a, &r, no, &rno, what));
      dense_free(&r);
      floe_scope_end(ctx);
    }
  }
  dense_free(&ryes);
  dense_free(&rno);
  finish(ctx);
}

/* The mask is read when floe_mask is called: a mask buffer changed after
 * the call (allowed: no compute reads it any more) does not change the
 * selection. */
Test(mask, the_mask_is_read_at_the_call, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dense r;
  floe_array *a = make_input(ctx, IN_BUFFER, I32, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 570, &r);
  dense rm = dense_pattern(B, FLOE_SHAPE(37, 23), 571, false);
  bool *mbuf = dense_buffer(&rm);
  floe_array *b =
      floe_mask(a, floe_from_buffer(ctx, B, FLOE_SHAPE(37, 23), FLOE_SHAPE(6, 4), mbuf));
  for (int64_t i = 0; i < rm.n; i++) {
    mbuf[i] = !mbuf[i];
  }
  dense want = ref_mask(&r, &rm);
  expect_dense(b, &want, "a[m] with m changed after floe_mask");
  expect_dense(b, &want, "a[m] with m changed after floe_mask, computed again");
  dense_free(&want);
  dense_free(&rm);
  dense_free(&r);
  finish(ctx);
}

Test(mask, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  /* not bool: refused, even with a's shape */
  expect_error(floe_mask(a, floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_AUTO)), FLOE_ERR_DTYPE,
               "floe_mask", "float64", "a float64 mask");
  expect_error(floe_mask(a, floe_ones(ctx, U8, FLOE_SHAPE(37, 23), FLOE_AUTO)), FLOE_ERR_DTYPE,
               "floe_mask", "uint8", "a uint8 mask");
  expect_error(floe_mask(a, floe_ones(ctx, I64, FLOE_SHAPE(37, 23), FLOE_AUTO)), FLOE_ERR_DTYPE,
               "floe_mask", "int64", "an int64 mask");
  /* bool of another shape: refused, even where it would broadcast */
  struct {
    floe_shape shape;
    const char *text;
  } shapes[] = {
      {FLOE_SHAPE(37, 22), "(37, 22)"}, {FLOE_SHAPE(23), "(23,)"},
      {FLOE_SHAPE(1, 23), "(1, 23)"},   {FLOE_SHAPE(37, 1), "(37, 1)"},
      {FLOE_SHAPE(23, 37), "(23, 37)"}, {FLOE_SHAPE(37, 23, 1), "(37, 23, 1)"},
      {FLOE_SHAPE(851), "(851,)"},      {FLOE_SCALAR_SHAPE, "()"},
  };
  for (size_t j = 0; j < sizeof shapes / sizeof shapes[0]; j++) {
    char what[64];
    snprintf(what, sizeof what, "a bool %s mask of (37, 23)", shapes[j].text);
    floe_array *m = shapes[j].shape.ndim == 0
                        ? floe_greater(floe_sum(a, FLOE_ALL), floe_scalar(ctx, 0))
                        : floe_ones(ctx, B, shapes[j].shape, FLOE_AUTO);
    expect_error(floe_mask(a, m), FLOE_ERR_SHAPE, "floe_mask", "(37, 23)", what);
  }
  /* a mask in an error state, or an array: their error passes on */
  floe_index step0[] = {S(N, N, 0)};
  floe_array *em = floe_slice(floe_ones(ctx, B, FLOE_SHAPE(37, 23), FLOE_AUTO), 1, step0);
  cr_assert_neq(floe_array_status(em), FLOE_OK);
  floe_array *r = floe_mask(a, em);
  if (floe_array_status(r) != floe_array_status(em) ||
      strcmp(floe_array_message(r), floe_array_message(em)) != 0) {
    soft_fail("mask in an error state: %s '%s', expected its error '%s'",
              floe_status_name(floe_array_status(r)), floe_array_message(r),
              floe_array_message(em));
  }
  floe_array *ea = floe_slice(a, 1, step0);
  r = floe_mask(ea, floe_ones(ctx, B, FLOE_SHAPE(37, 23), FLOE_AUTO));
  if (floe_array_status(r) != floe_array_status(ea) ||
      strcmp(floe_array_message(r), floe_array_message(ea)) != 0) {
    soft_fail("array in an error state: %s '%s', expected its error '%s'",
              floe_status_name(floe_array_status(r)), floe_array_message(r),
              floe_array_message(ea));
  }
  /* the mask of another context */
  floe_ctx *other = open_ctx(1);
  expect_error(floe_mask(a, floe_ones(other, B, FLOE_SHAPE(37, 23), FLOE_AUTO)), FLOE_ERR_INVALID,
               "floe_mask", "context", "a mask on another context");
  floe_close(other);
  finish(ctx);
}

/* ---------------------------------------------------------- user kernels */

#define MAX_TAPS 16
#define MAX_SEEN 4096
#define LOG_MAGIC 0x6b6c6f67u

/* The test's kernel and what its calls saw.  It computes, for every output
 * element, the sum over the inputs and the taps of weight * the input at
 * the element moved by the tap's offset (one tap at offset 0: the sum of
 * the inputs), in double, stored as a C cast.  It runs on worker threads,
 * where Criterion's asserts do not belong: it counts its calls and the
 * defects of the blocks it is handed, atomically, and keeps the first
 * defect in words. */
typedef struct kernel_log {
  uint32_t magic;
  /* the blocks it should be handed */
  int n, ndim;
  floe_dtype in_dt[3], out_dt;
  int64_t shape[FLOE_MAX_DIMS], chunk[FLOE_MAX_DIMS], depth[FLOE_MAX_DIMS];
  int taps;
  int64_t off[MAX_TAPS][FLOE_MAX_DIMS];
  double weight[MAX_TAPS];
  /* the call for this chunk (flat index) fails, with a message or not */
  int64_t fail_at;
  floe_status fail_status;
  bool fail_message;
  atomic_int calls, bad, said;
  atomic_int seen[MAX_SEEN]; /* calls per output chunk */
  char first[256];
} kernel_log;

typedef struct stencil {
  const char *name;
  int taps;
  int64_t off[MAX_TAPS][3];
  double w[MAX_TAPS];
} stencil;

/* Weights are powers of two: every product is exact, so that the order of
 * the kernel's sums is the only thing the reference must copy. */
static const stencil ST_3 = {"3-point", 3, {{-1}, {0}, {1}}, {1, -2, 1}};
static const stencil ST_5 = {"5-point", 5, {{-2}, {-1}, {0}, {1}, {2}}, {1, -4, 2, -4, 1}};
static const stencil ST_LAPLACE = {
    "5-point Laplacian", 5, {{-1, 0}, {0, -1}, {0, 0}, {0, 1}, {1, 0}}, {1, 1, -4, 1, 1}};
static const stencil ST_CROSS = {
    "9-point cross",
    9,
    {{-2, 0}, {-1, 0}, {0, -2}, {0, -1}, {0, 0}, {0, 1}, {0, 2}, {1, 0}, {2, 0}},
    {-1, 2, -1, 2, -4, 2, -1, 2, -1}};
static const stencil ST_BOX = {
    "3x3 box",
    9,
    {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 0}, {0, 1}, {1, -1}, {1, 0}, {1, 1}},
    {1, 2, 0.5, 2, 4, 2, 0.5, 2, 1}};
static const stencil ST_AXIS0 = {
    "5-point along axis 0", 5, {{-2, 0}, {-1, 0}, {0, 0}, {1, 0}, {2, 0}}, {1, -4, 2, -4, 1}};
static const stencil ST_AXIS1 = {"3-point along axis 1", 3, {{0, -1}, {0, 0}, {0, 1}}, {1, -2, 1}};
static const stencil ST_7 = {
    "7-point",
    7,
    {{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}, {0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {1, 0, 0}},
    {1, 1, 1, -8, 1, 1, 1}};

/* A log for n inputs of these dtypes, an output of `out_dt` of this shape
 * in these chunks, halos of `depth` (NULL: none), one tap at offset 0. */
static kernel_log *log_new(int n, const floe_dtype *in_dt, floe_dtype out_dt, floe_shape shape,
                           floe_shape chunk, const int64_t *depth) {
  kernel_log *L = calloc(1, sizeof *L);
  cr_assert_not_null(L);
  cr_assert(n >= 1 && n <= 3);
  cr_assert_eq(chunk.ndim, shape.ndim);
  L->magic = LOG_MAGIC;
  L->n = n;
  L->ndim = shape.ndim;
  for (int i = 0; i < n; i++) {
    L->in_dt[i] = in_dt[i];
  }
  L->out_dt = out_dt;
  for (int d = 0; d < shape.ndim; d++) {
    L->shape[d] = shape.dim[d];
    L->chunk[d] = chunk.dim[d];
    L->depth[d] = depth != NULL ? depth[d] : 0;
  }
  L->taps = 1;
  L->weight[0] = 1;
  L->fail_at = -1;
  return L;
}

static void log_stencil(kernel_log *L, const stencil *st) {
  L->taps = st->taps;
  for (int t = 0; t < st->taps; t++) {
    L->weight[t] = st->w[t];
    for (int d = 0; d < L->ndim; d++) {
      L->off[t][d] = d < 3 ? st->off[t][d] : 0;
      /* the kernel reads within the halo only */
      cr_assert(L->off[t][d] >= -L->depth[d] && L->off[t][d] <= L->depth[d], "%s: depth %lld",
                st->name, (long long)L->depth[d]);
    }
  }
}

static void log_reset(kernel_log *L) {
  atomic_store(&L->calls, 0);
  atomic_store(&L->bad, 0);
  atomic_store(&L->said, 0);
  for (int i = 0; i < MAX_SEEN; i++) {
    atomic_store(&L->seen[i], 0);
  }
  L->first[0] = '\0';
}

static void note(kernel_log *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(kernel_log *L, const char *fmt, ...) {
  atomic_fetch_add(&L->bad, 1);
  if (atomic_exchange(&L->said, 1) == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->first, sizeof L->first, fmt, ap);
    va_end(ap);
  }
}

/* Strides in elements in C order: the last axis contiguous, each axis
 * stepping over at least the axes after it (an edge chunk may sit in a
 * buffer of a whole chunk). */
static bool c_order(const floe_block *b) {
  for (int d = 0; d < b->ndim; d++) {
    int64_t inner =
        d == b->ndim - 1 ? 1 : b->stride[d + 1] * (b->shape[d + 1] > 0 ? b->shape[d + 1] : 1);
    if (d == b->ndim - 1 ? b->stride[d] != 1 : b->stride[d] < inner) {
      return false;
    }
  }
  return true;
}

static int64_t grid_len(const kernel_log *L, int d) {
  return L->shape[d] > 0 ? (L->shape[d] + L->chunk[d] - 1) / L->chunk[d] : 0;
}

/* Checks the blocks of one call against the log; their chunk's flat index
 * (C order over the chunk grid), or -1 when they are malformed. */
static int64_t check_blocks(kernel_log *L, const floe_block *out, const floe_block *in, int n) {
  atomic_fetch_add(&L->calls, 1);
  const int nd = L->ndim;
  if (n != L->n || in == NULL || out == NULL) {
    note(L, "%d input blocks (expected %d)", n, L->n);
    return -1;
  }
  if (out->ndim != nd || out->dtype != L->out_dt || out->data == NULL || !c_order(out)) {
    note(L, "output block: %d axes, dtype %s, data %p, C order %d (expected %d axes, %s)",
         out->ndim, dtn(out->dtype), out->data, c_order(out), nd, dtn(L->out_dt));
    return -1;
  }
  int64_t flat = 0;
  for (int d = 0; d < nd; d++) {
    int64_t g = grid_len(L, d), lo = out->index[d] * L->chunk[d];
    int64_t ext = L->shape[d] - lo < L->chunk[d] ? L->shape[d] - lo : L->chunk[d];
    if (out->index[d] < 0 || out->index[d] >= g || out->origin[d] != lo || out->shape[d] != ext) {
      note(L,
           "output block on axis %d: index %lld of %lld, origin %lld, extent %lld (expected "
           "origin %lld, extent %lld)",
           d, (long long)out->index[d], (long long)g, (long long)out->origin[d],
           (long long)out->shape[d], (long long)lo, (long long)ext);
      return -1;
    }
    flat = flat * g + out->index[d];
  }
  for (int i = 0; i < n; i++) {
    const floe_block *b = &in[i];
    if (b->ndim != nd || b->dtype != L->in_dt[i] || b->data == NULL || !c_order(b)) {
      note(L, "input block %d: %d axes, dtype %s, data %p, C order %d (expected %d axes, %s)", i,
           b->ndim, dtn(b->dtype), b->data, c_order(b), nd, dtn(L->in_dt[i]));
      return -1;
    }
    for (int d = 0; d < nd; d++) {
      if (b->shape[d] != out->shape[d] + 2 * L->depth[d] ||
          b->origin[d] != out->origin[d] - L->depth[d] || b->index[d] != out->index[d]) {
        note(L,
             "input block %d on axis %d: extent %lld, origin %lld, index %lld (output: "
             "extent %lld, origin %lld, index %lld; depth %lld)",
             i, d, (long long)b->shape[d], (long long)b->origin[d], (long long)b->index[d],
             (long long)out->shape[d], (long long)out->origin[d], (long long)out->index[d],
             (long long)L->depth[d]);
        return -1;
      }
    }
  }
  if (flat < MAX_SEEN) {
    atomic_fetch_add(&L->seen[flat], 1);
  }
  return flat;
}

static floe_status kernel(void *user, const floe_block *out, const floe_block *in, int n) {
  kernel_log *L = user;
  if (L == NULL || L->magic != LOG_MAGIC) {
    return floe_error_set(FLOE_ERR_INTERNAL, "the test kernel got another user pointer");
  }
  int64_t flat = check_blocks(L, out, in, n);
  if (flat < 0) {
    return floe_error_set(FLOE_ERR_INTERNAL, "the test kernel got a malformed block");
  }
  if (flat == L->fail_at) {
    if (L->fail_message) {
      return floe_error_set(L->fail_status, "the test kernel refuses chunk %lld", (long long)flat);
    }
    return L->fail_status;
  }
  const int nd = out->ndim;
  int64_t count = 1, idx[FLOE_MAX_DIMS] = {0};
  for (int d = 0; d < nd; d++) {
    count *= out->shape[d];
  }
  dense o = {.dt = out->dtype, .v = out->data};
  for (int64_t e = 0; e < count; e++) {
    int64_t at = 0;
    for (int d = 0; d < nd; d++) {
      at += idx[d] * out->stride[d];
    }
    double acc = 0;
    for (int i = 0; i < n; i++) {
      dense b = {.dt = in[i].dtype, .v = in[i].data};
      for (int t = 0; t < L->taps; t++) {
        int64_t q = 0;
        for (int d = 0; d < nd; d++) {
          q += (idx[d] + L->depth[d] + L->off[t][d]) * in[i].stride[d];
        }
        acc += L->weight[t] * get_d(&b, q);
      }
    }
    set_d(&o, at, acc);
    for (int d = nd - 1; d >= 0; d--) {
      if (++idx[d] < out->shape[d]) {
        break;
      }
      idx[d] = 0;
    }
  }
  return FLOE_OK;
}

/* What the kernel computes over whole arrays, reading beyond the edges as
 * `mode` pads: the edge element, or 0. */
static dense ref_kernel(const kernel_log *L, dense *const *in, floe_pad_mode mode) {
  const dense *a = in[0];
  dense r = dense_new(L->out_dt, a->ndim, a->shape);
  int64_t idx[FLOE_MAX_DIMS + 2], q[FLOE_MAX_DIMS + 2];
  for (int64_t j = 0; j < r.n; j++) {
    unravel(j, a->ndim, a->shape, idx);
    double acc = 0;
    for (int i = 0; i < L->n; i++) {
      cr_assert_eq(in[i]->n, a->n);
      for (int t = 0; t < L->taps; t++) {
        bool inside = true;
        for (int d = 0; d < a->ndim; d++) {
          q[d] = idx[d] + L->off[t][d];
          if (q[d] < 0 || q[d] >= a->shape[d]) {
            inside = false;
            q[d] = q[d] < 0 ? 0 : a->shape[d] - 1;
          }
        }
        double v = inside || mode == FLOE_PAD_EDGE ? get_d(in[i], ravel(a->ndim, a->shape, q)) : 0;
        acc += L->weight[t] * v;
      }
    }
    set_d(&r, j, acc);
  }
  return r;
}

/* Checks what the kernel saw over one compute, and resets the log: one
 * call per output chunk (`once`; else at least one), none malformed. */
static void expect_calls(kernel_log *L, bool once, const char *what) {
  int64_t total = 1;
  for (int d = 0; d < L->ndim; d++) {
    total *= grid_len(L, d);
  }
  int bad = atomic_load(&L->bad), calls = atomic_load(&L->calls);
  if (bad > 0) {
    soft_fail("%s: %d of %d kernel calls had malformed blocks; the first: %s", what, bad, calls,
              L->first);
  } else if (once ? calls != total : calls < total) {
    soft_fail("%s: %d kernel calls for %lld chunks", what, calls, (long long)total);
  } else {
    for (int64_t f = 0; f < total && f < MAX_SEEN; f++) {
      int c = atomic_load(&L->seen[f]);
      if (once ? c != 1 : c < 1) {
        soft_fail("%s: chunk %lld had %d kernel calls", what, (long long)f, c);
        break;
      }
    }
  }
  log_reset(L);
}

/* Chunks as floe resolves them for a result of this shape: -1 and lengths
 * beyond the axis give the whole axis (1 for an empty one: chunks are never
 * empty); FLOE_AUTO gives `dflt`. */
static floe_shape resolved(floe_shape chunks, floe_shape shape, floe_shape dflt) {
  if (chunks.ndim < 0) {
    return dflt;
  }
  floe_shape c = chunks;
  for (int d = 0; d < c.ndim; d++) {
    int64_t whole = shape.dim[d] > 0 ? shape.dim[d] : 1;
    if (c.dim[d] == -1 || c.dim[d] > whole) {
      c.dim[d] = whole;
    }
  }
  return c;
}

static bool same_shape(floe_shape a, floe_shape b) {
  bool same = a.ndim == b.ndim;
  for (int d = 0; same && d < a.ndim; d++) {
    same = a.dim[d] == b.dim[d];
  }
  return same;
}

/* Runs the kernel over `ins` with floe_map_blocks and checks the result,
 * its chunks and the calls. */
static void expect_map(floe_array *const *ins, dense *const *refs, int n, floe_dtype out_dt,
                       floe_shape out_chunks, const char *what) {
  floe_shape shape = floe_array_shape(ins[0]);
  floe_shape want_chunks = resolved(out_chunks, shape, floe_array_chunks(ins[0]));
  floe_dtype dts[3];
  for (int i = 0; i < n; i++) {
    dts[i] = floe_array_dtype(ins[i]);
  }
  kernel_log *L = log_new(n, dts, out_dt, shape, want_chunks, NULL);
  floe_array *o = floe_map_blocks(kernel, L, ins, n, out_dt, out_chunks);
  dense want = ref_kernel(L, refs, FLOE_PAD_CONSTANT);
  expect_dense(o, &want, "%s", what);
  expect_calls(L, true, what);
  floe_shape c = floe_array_chunks(o);
  if (floe_array_status(o) == FLOE_OK && !same_shape(c, want_chunks)) {
    char s1[96], s2[96];
    soft_fail("%s: chunks %s, expected %s", what, shape_str(s1, sizeof s1, c.ndim, c.dim),
              shape_str(s2, sizeof s2, want_chunks.ndim, want_chunks.dim));
  }
  dense_free(&want);
  floe_release(o);
  free(L);
}

Test(map_blocks, elementwise_over_inputs_in_other_chunks, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_shape outs[] = {FLOE_SHAPE(10, 7),   FLOE_AUTO,         FLOE_SHAPE(-1, 4),
                       FLOE_SHAPE(37, 23),  FLOE_SHAPE(1, 23), FLOE_SHAPE(5, -1),
                       FLOE_SHAPE(100, 100)};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    /* the sums fit every output dtype here but uint8's */
    const floe_dtype ods[2] = {F64, dt == U8 ? I32 : dt};
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r[3];
      dense *rp[3] = {&r[0], &r[1], &r[2]};
      floe_array *in[3] = {
          make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 600, &r[0]),
          make_input(ctx, (k + 1) % IN_KINDS, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(6, 4), 601, &r[1]),
          make_input(ctx, (k + 2) % IN_KINDS, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(4, 9), 602, &r[2]),
      };
      for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
        char oc[64];
        if (outs[j].ndim < 0) {
          snprintf(oc, sizeof oc, "auto");
        } else {
          shape_str(oc, sizeof oc, 2, outs[j].dim);
        }
        for (int o = 0; o < 2; o++) {
          for (int n = 1; n <= 3; n++) {
            if (n != 2 && j > 1) {
              continue; /* one and three inputs: two chunkings are enough */
            }
            char what[160];
            snprintf(what, sizeof what, "%s %s, %d inputs (8, 5) (6, 4) (4, 9) -> %s in %s",
                     dtn(dt), KIND[k], n, dtn(ods[o]), oc);
            expect_map(in, rp, n, ods[o], outs[j], what);
          }
        }
      }
      for (int i = 0; i < 3; i++) {
        dense_free(&r[i]);
      }
      floe_scope_end(ctx);
    }
  }
  /* inputs of different dtypes */
  const floe_dtype pairs[][2] = {{I32, F32}, {U8, I64}, {B, F64}, {F32, F64}, {I64, B}};
  for (size_t j = 0; j < sizeof pairs / sizeof pairs[0]; j++) {
    floe_scope_begin(ctx);
    dense r[2];
    dense *rp[2] = {&r[0], &r[1]};
    floe_array *in[2] = {
        make_input(ctx, IN_BUFFER, pairs[j][0], FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 610, &r[0]),
        make_input(ctx, IN_EXPR, pairs[j][1], FLOE_SHAPE(37, 23), FLOE_SHAPE(6, 4), 611, &r[1]),
    };
    char what[96];
    snprintf(what, sizeof what, "%s and %s -> float64 in (10, 7)", dtn(pairs[j][0]),
             dtn(pairs[j][1]));
    expect_map(in, rp, 2, F64, FLOE_SHAPE(10, 7), what);
    dense_free(&r[0]);
    dense_free(&r[1]);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

Test(map_blocks, three_d_length_one_empty_and_zero_d, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, c0, c1, out;
  } cases[] = {
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), FLOE_SHAPE(3, 4, 5), FLOE_SHAPE(2, 5, 7)},
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), FLOE_SHAPE(3, 4, 5), FLOE_AUTO},
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), FLOE_SHAPE(3, 4, 5), FLOE_SHAPE(6, 10, 7)},
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), FLOE_SHAPE(3, 4, 5), FLOE_SHAPE(1, 1, 1)},
      {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 4), FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 5)},
      {FLOE_SHAPE(37, 1), FLOE_SHAPE(8, 1), FLOE_SHAPE(3, 1), FLOE_SHAPE(-1, 1)},
      {FLOE_SHAPE(100), FLOE_SHAPE(7), FLOE_SHAPE(30), FLOE_SHAPE(9)},
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2), FLOE_SHAPE(1, 3), FLOE_SHAPE(3, 3)},
      {FLOE_SHAPE(4, 0, 3), FLOE_SHAPE(3, 1, 2), FLOE_SHAPE(1, 1, 1), FLOE_AUTO},
      {FLOE_SCALAR_SHAPE, FLOE_AUTO, FLOE_AUTO, FLOE_AUTO},
  };
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r[2];
        dense *rp[2] = {&r[0], &r[1]};
        floe_array *in[2] = {
            make_input(ctx, k, ALL_DT[t], cases[j].shape, cases[j].c0, 620, &r[0]),
            make_input(ctx, (k + 3) % IN_KINDS, ALL_DT[t], cases[j].shape, cases[j].c1, 621, &r[1]),
        };
        char what[160], sh[64], oc[64];
        if (cases[j].out.ndim < 0) {
          snprintf(oc, sizeof oc, "auto");
        } else {
          shape_str(oc, sizeof oc, cases[j].out.ndim, cases[j].out.dim);
        }
        snprintf(what, sizeof what, "%s %s %s -> float64 in %s", dtn(ALL_DT[t]), KIND[k],
                 shape_str(sh, sizeof sh, r[0].ndim, r[0].shape), oc);
        expect_map(in, rp, 2, F64, cases[j].out, what);
        dense_free(&r[0]);
        dense_free(&r[1]);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

/* floe_map_overlap with one stencil input against the naive stencil, in
 * both pad modes: halos of depth 1 and 2, halos wider than a chunk and than
 * the array, an axis without a halo, length-1 axes. */
Test(map_overlap, stencils_against_a_naive_stencil, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  struct {
    floe_shape shape, chunks, depth;
    const stencil *st;
  } cases[] = {
      {FLOE_SHAPE(37), FLOE_SHAPE(8), FLOE_SHAPE(1), &ST_3},
      {FLOE_SHAPE(37), FLOE_SHAPE(3), FLOE_SHAPE(2), &ST_5},
      {FLOE_SHAPE(37), FLOE_SHAPE(1), FLOE_SHAPE(2), &ST_5},
      {FLOE_SHAPE(3), FLOE_SHAPE(2), FLOE_SHAPE(4), &ST_5},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(1, 1), &ST_LAPLACE},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(2, 2), &ST_CROSS},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(1, 1), &ST_BOX},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(1, 2), FLOE_SHAPE(2, 2), &ST_CROSS},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(2, 0), &ST_AXIS0},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(37, 23), FLOE_SHAPE(0, 1), &ST_AXIS1},
      {FLOE_SHAPE(1, 23), FLOE_SHAPE(1, 4), FLOE_SHAPE(1, 1), &ST_LAPLACE},
      {FLOE_SHAPE(6, 10, 7), FLOE_SHAPE(4, 3, 2), FLOE_SHAPE(1, 1, 1), &ST_7},
  };
  const floe_pad_mode modes[2] = {FLOE_PAD_EDGE, FLOE_PAD_CONSTANT};
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      floe_dtype dt = ALL_DT[t], od = is_float(dt) ? dt : F64;
      for (int k = 0; k < IN_KINDS; k++) {
        floe_scope_begin(ctx);
        dense r;
        dense *rp[1] = {&r};
        floe_array *a =
            make_input(ctx, k, dt, cases[j].shape, cases[j].chunks, 630u + (unsigned)j, &r);
        for (int md = 0; md < 2; md++) {
          char what[192], s1[64], s2[64], s3[64];
          snprintf(what, sizeof what, "%s %s %s/%s, %s, depth %s, %s", dtn(dt), KIND[k],
                   shape_str(s1, sizeof s1, r.ndim, r.shape),
                   shape_str(s2, sizeof s2, r.ndim, cases[j].chunks.dim), cases[j].st->name,
                   shape_str(s3, sizeof s3, r.ndim, cases[j].depth.dim),
                   modes[md] == FLOE_PAD_EDGE ? "edge" : "zeros");
          floe_shape ca = floe_array_chunks(a);
          kernel_log *L = log_new(1, &dt, od, cases[j].shape, ca, cases[j].depth.dim);
          log_stencil(L, cases[j].st);
          floe_array *o = floe_map_overlap(kernel, L, &a, 1, od, cases[j].depth, modes[md]);
          dense want = ref_kernel(L, rp, modes[md]);
          expect_dense(o, &want, "%s", what);
          expect_calls(L, true, what);
          if (floe_array_status(o) == FLOE_OK && !same_shape(floe_array_chunks(o), ca)) {
            soft_fail("%s: the result's chunks are not the input's", what);
          }
          dense_free(&want);
          floe_release(o);
          free(L);
        }
        dense_free(&r);
        floe_scope_end(ctx);
      }
    }
  }
  finish(ctx);
}

/* Two and three inputs in other chunks (each is brought to the first's
 * chunks with its halo), empty axes, and a halo on a 1-D input of one
 * element. */
Test(map_overlap, several_inputs_and_empty_axes, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const floe_pad_mode modes[2] = {FLOE_PAD_EDGE, FLOE_PAD_CONSTANT};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t], od = is_float(dt) ? dt : F64;
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      dense r[3];
      dense *rp[3] = {&r[0], &r[1], &r[2]};
      floe_array *in[3] = {
          make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 640, &r[0]),
          make_input(ctx, (k + 1) % IN_KINDS, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(6, 4), 641, &r[1]),
          make_input(ctx, (k + 2) % IN_KINDS, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(37, 1), 642,
                     &r[2]),
      };
      const floe_dtype dts[3] = {dt, dt, dt};
      for (int n = 2; n <= 3; n++) {
        for (int md = 0; md < 2; md++) {
          char what[128];
          snprintf(what, sizeof what, "%s %s, %d inputs, 9-point cross, depth (2, 2), %s", dtn(dt),
                   KIND[k], n, md == 0 ? "edge" : "zeros");
          kernel_log *L =
              log_new(n, dts, od, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), (int64_t[]){2, 2});
          log_stencil(L, &ST_CROSS);
          floe_array *o = floe_map_overlap(kernel, L, in, n, od, FLOE_SHAPE(2, 2), modes[md]);
          dense want = ref_kernel(L, rp, modes[md]);
          expect_dense(o, &want, "%s", what);
          expect_calls(L, true, what);
          dense_free(&want);
          floe_release(o);
          free(L);
        }
      }
      for (int i = 0; i < 3; i++) {
        dense_free(&r[i]);
      }
      floe_scope_end(ctx);
    }
  }
  /* empty axes: no calls, an empty result (zeros pad an empty axis; the
     edge pads only the other axes) */
  struct {
    floe_shape shape, chunks, depth;
    floe_pad_mode mode;
  } empty[] = {
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2), FLOE_SHAPE(1, 1), FLOE_PAD_CONSTANT},
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(2, 2), FLOE_SHAPE(0, 1), FLOE_PAD_EDGE},
      {FLOE_SHAPE(4, 0, 3), FLOE_SHAPE(3, 1, 2), FLOE_SHAPE(1, 0, 1), FLOE_PAD_EDGE},
      {FLOE_SHAPE(0), FLOE_SHAPE(1), FLOE_SHAPE(2), FLOE_PAD_CONSTANT},
  };
  for (size_t j = 0; j < sizeof empty / sizeof empty[0]; j++) {
    floe_scope_begin(ctx);
    dense r;
    dense *rp[1] = {&r};
    floe_array *a = make_input(ctx, IN_BUFFER, F64, empty[j].shape, empty[j].chunks, 650, &r);
    floe_dtype dt = F64;
    char what[96], sh[64];
    snprintf(what, sizeof what, "empty %s, %s", shape_str(sh, sizeof sh, r.ndim, r.shape),
             empty[j].mode == FLOE_PAD_EDGE ? "edge" : "zeros");
    kernel_log *L = log_new(1, &dt, F64, empty[j].shape, floe_array_chunks(a), empty[j].depth.dim);
    floe_array *o = floe_map_overlap(kernel, L, &a, 1, F64, empty[j].depth, empty[j].mode);
    dense want = ref_kernel(L, rp, empty[j].mode);
    expect_dense(o, &want, "%s", what);
    expect_calls(L, true, what);
    dense_free(&want);
    dense_free(&r);
    free(L);
    floe_scope_end(ctx);
  }
  /* one element with a halo of 3 on both sides */
  for (int md = 0; md < 2; md++) {
    floe_scope_begin(ctx);
    dense r;
    dense *rp[1] = {&r};
    floe_array *a = make_input(ctx, IN_EXPR, I32, FLOE_SHAPE(1), FLOE_SHAPE(1), 660, &r);
    floe_dtype dt = I32;
    kernel_log *L = log_new(1, &dt, I64, FLOE_SHAPE(1), FLOE_SHAPE(1), (int64_t[]){3});
    log_stencil(L, &ST_5);
    floe_array *o = floe_map_overlap(kernel, L, &a, 1, I64, FLOE_SHAPE(3), modes[md]);
    dense want = ref_kernel(L, rp, modes[md]);
    expect_dense(o, &want, "(1,) with a halo of 3, %s", md == 0 ? "edge" : "zeros");
    expect_calls(L, true, "(1,) with a halo of 3");
    dense_free(&want);
    dense_free(&r);
    free(L);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

/* Kernels over the results of other structure operations, and those
 * operations over a kernel's result. */
Test(map_blocks, composes_with_structure_operations, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_index ix[] = {S(N, N, -1), S(2, N, 1)};
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t], od = is_float(dt) ? dt : F64;
    for (int k = 0; k < IN_KINDS; k++) {
      floe_scope_begin(ctx);
      char what[64], w[192];
      snprintf(what, sizeof what, "%s %s", dtn(dt), KIND[k]);
      dense r, rb, rm;
      floe_array *a = make_input(ctx, k, dt, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), 670, &r);
      floe_array *b =
          make_input(ctx, (k + 1) % IN_KINDS, dt, FLOE_SHAPE(23, 37), FLOE_SHAPE(4, 6), 671, &rb);
      floe_array *m = make_mask(ctx, MK_BUFFER, a, &r, FLOE_SHAPE(6, 4), 672, &rm);
      /* over a selection (1-D, its length known only from the mask) */
      dense picked = ref_mask(&r, &rm);
      dense *rs1[1] = {&picked};
      floe_array *am = floe_mask(a, m);
      snprintf(w, sizeof w, "%s kernel over a[m] in (7,)", what);
      expect_map(&am, rs1, 1, od, FLOE_SHAPE(7), w);
      /* over a reshaped transpose and another array */
      dense rt = ref_transpose(&r, (int[]){1, 0});
      dense rtr = ref_reshape(&rt, 2, (int64_t[]){23, 37});
      dense *rs2[2] = {&rtr, &rb};
      floe_array *in2[2] = {floe_reshape(floe_transpose(a, FLOE_ALL), FLOE_SHAPE(23, 37)), b};
      snprintf(w, sizeof w, "%s kernel over reshape(a.T, (23, 37)) and b in (5, 11)", what);
      expect_map(in2, rs2, 2, od, FLOE_SHAPE(5, 11), w);
      /* a stencil over a slice */
      dense rsl;
      cr_assert_eq(ref_slice(&r, 2, ix, &rsl), FLOE_OK);
      dense *rs3[1] = {&rsl};
      floe_array *as = floe_slice(a, 2, ix);
      floe_shape cs = floe_array_chunks(as), ss = floe_array_shape(as);
      kernel_log *L = log_new(1, &dt, od, ss, cs, (int64_t[]){1, 1});
      log_stencil(L, &ST_LAPLACE);
      floe_array *lap = floe_map_overlap(kernel, L, &as, 1, od, FLOE_SHAPE(1, 1), FLOE_PAD_EDGE);
      dense rlap = ref_kernel(L, rs3, FLOE_PAD_EDGE);
      snprintf(w, sizeof w, "%s Laplacian of a[::-1, 2:]", what);
      expect_dense(lap, &rlap, "%s", w);
      expect_calls(L, true, w);
      /* the stencil's result reshaped, reduced and masked */
      dense want = ref_reshape(&rlap, 1, (int64_t[]){rlap.n});
      snprintf(w, sizeof w, "%s reshape(Laplacian of a[::-1, 2:], -1)", what);
      expect_dense(floe_reshape(lap, FLOE_SHAPE(-1)), &want, "%s", w);
      expect_calls(L, true, w);
      dense_free(&want);
      want = ref_reduce2(&rlap, 0, false);
      snprintf(w, sizeof w, "%s max(Laplacian of a[::-1, 2:], axis=0)", what);
      expect_dense(floe_max(lap, FLOE_AXES(0)), &want, "%s", w);
      expect_calls(L, true, w);
      dense_free(&want);
      dense pos = dense_of(B, ss);
      for (int64_t i = 0; i < pos.n; i++) {
        set_d(&pos, i, get_d(&rlap, i) > 0);
      }
      snprintf(w, sizeof w, "%s L[L > 0] of the Laplacian", what);
      floe_release(expect_mask(lap, &rlap, floe_greater(lap, floe_scalar_int(ctx, 0)), &pos, w));
      expect_calls(L, false, w); /* read for the mask, then for the values */
      /* a kernel over a kernel's result */
      floe_dtype od2 = od;
      kernel_log *L2 = log_new(1, &od2, F64, ss, cs, (int64_t[]){2, 2});
      log_stencil(L2, &ST_CROSS);
      floe_array *twice =
          floe_map_overlap(kernel, L2, &lap, 1, F64, FLOE_SHAPE(2, 2), FLOE_PAD_CONSTANT);
      dense *rs4[1] = {&rlap};
      want = ref_kernel(L2, rs4, FLOE_PAD_CONSTANT);
      snprintf(w, sizeof w, "%s 9-point cross of the Laplacian of a[::-1, 2:]", what);
      expect_dense(twice, &want, "%s", w);
      expect_calls(L2, true, w);
      expect_calls(L, true, w);
      dense_free(&want);
      floe_release(twice);
      floe_release(lap);
      free(L);
      free(L2);
      dense *all[] = {&r, &rb, &rm, &picked, &rt, &rtr, &rsl, &rlap, &pos};
      for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        dense_free(all[i]);
      }
      floe_scope_end(ctx);
    }
  }
  finish(ctx);
}

/* A kernel that fails fails the compute with its status and message; the
 * context stays usable. */
Test(map_blocks, a_failing_kernel_fails_the_compute, .timeout = TEST_TIMEOUT_S) {
  for (int threads = 1; threads <= 2; threads++) {
    floe_ctx *ctx = open_ctx(threads);
    floe_array *a = floe_random_uniform(ctx, F64, FLOE_SHAPE(64, 48), FLOE_SHAPE(4, 4), 7, -1, 1);
    floe_dtype dt = F64;
    const int64_t at[3] = {0, 37, 191};
    for (int j = 0; j < 3; j++) {
      for (int over = 0; over < 2; over++) {
        for (int with_msg = 0; with_msg < 2; with_msg++) {
          const char *op = over ? "floe_map_overlap" : "floe_map_blocks";
          char what[128], want_msg[64];
          snprintf(what, sizeof what, "%s, %d threads, chunk %lld fails %s a message", op, threads,
                   (long long)at[j], with_msg ? "with" : "without");
          kernel_log *L = log_new(1, &dt, F64, FLOE_SHAPE(64, 48), FLOE_SHAPE(4, 4),
                                  over ? (int64_t[]){1, 1} : NULL);
          if (over) {
            log_stencil(L, &ST_LAPLACE);
          }
          L->fail_at = at[j];
          L->fail_message = with_msg;
          L->fail_status = with_msg ? FLOE_ERR_INVALID : FLOE_ERR_IO;
          floe_array *o =
              over ? floe_map_overlap(kernel, L, &a, 1, F64, FLOE_SHAPE(1, 1), FLOE_PAD_EDGE)
                   : floe_map_blocks(kernel, L, &a, 1, F64, FLOE_AUTO);
          cr_assert_eq(floe_array_status(o), FLOE_OK, "%s: %s", what, floe_array_message(o));
          double *buf = malloc(64 * 48 * sizeof *buf);
          cr_assert_not_null(buf);
          floe_status st = floe_compute(o, buf, 64 * 48 * sizeof *buf);
          char msg[1024];
          snprintf(msg, sizeof msg, "%s", floe_error_message(ctx));
          snprintf(want_msg, sizeof want_msg, "the test kernel refuses chunk %lld",
                   (long long)at[j]);
          if (st != L->fail_status) {
            soft_fail("%s: compute gave %s (%s), expected %s", what, floe_status_name(st), msg,
                      floe_status_name(L->fail_status));
          } else if (with_msg ? !contains(msg, want_msg)
                              : !contains(msg, op) || !contains(msg, "kernel")) {
            soft_fail("%s: message '%s' should %s", what, msg,
                      with_msg ? "be the kernel's" : "name the operation and the kernel");
          }
          /* through a reduction too, and the context still computes */
          double s = 0;
          st = floe_compute_scalar(floe_sum(o, FLOE_ALL), &s);
          if (st != L->fail_status) {
            soft_fail("%s: sum of it gave %s", what, floe_status_name(st));
          }
          L->fail_at = -1;
          log_reset(L);
          st = floe_compute(o, buf, 64 * 48 * sizeof *buf);
          if (st != FLOE_OK) {
            soft_fail("%s: the kernel no longer failing, compute gave %s (%s)", what,
                      floe_status_name(st), floe_error_message(ctx));
          }
          log_reset(L);
          free(buf);
          floe_release(o);
          free(L);
        }
      }
    }
    /* a mask that fails to compute: floe_mask fails at the call */
    kernel_log *L = log_new(1, &dt, B, FLOE_SHAPE(64, 48), FLOE_SHAPE(4, 4), NULL);
    L->fail_at = 5;
    L->fail_message = true;
    L->fail_status = FLOE_ERR_INVALID;
    floe_array *m = floe_map_blocks(kernel, L, &a, 1, B, FLOE_AUTO);
    expect_error(floe_mask(a, m), FLOE_ERR_INVALID, "floe_mask", "the test kernel refuses chunk 5",
                 "a mask whose kernel fails");
    free(L);
    double s;
    cr_assert_eq(floe_compute_scalar(floe_sum(a, FLOE_ALL), &s), FLOE_OK, "%s",
                 floe_error_message(ctx));
    floe_close(ctx);
  }
  finish(NULL);
}

Test(map_blocks, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5));
  floe_array *b = floe_ones(ctx, F64, FLOE_SHAPE(37, 22), FLOE_SHAPE(8, 5));
  floe_array *v = floe_ones(ctx, F64, FLOE_SHAPE(23), FLOE_AUTO);
  floe_dtype dts[4] = {F64, F64, F64, F64};
  kernel_log *L = log_new(1, dts, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), NULL);
  floe_array *four[4] = {a, a, a, a}, *ab[2] = {a, b}, *av[2] = {a, v};
  const floe_shape d11 = FLOE_SHAPE(1, 1);
  for (int over = 0; over < 2; over++) {
    const char *op = over ? "floe_map_overlap" : "floe_map_blocks";
#define MAP(fn_, ins_, n_, dt_)                                                                    \
  (over ? floe_map_overlap((fn_), L, (ins_), (n_), (dt_), d11, FLOE_PAD_EDGE)                      \
        : floe_map_blocks((fn_), L, (ins_), (n_), (dt_), FLOE_AUTO))
    char what[96];
    snprintf(what, sizeof what, "%s with a NULL function", op);
    expect_error(MAP(NULL, four, 1, F64), FLOE_ERR_INVALID, op, "NULL", what);
    snprintf(what, sizeof what, "%s of 0 inputs", op);
    expect_error(MAP(kernel, four, 0, F64), FLOE_ERR_INVALID, op, NULL, what);
    snprintf(what, sizeof what, "%s of 4 inputs", op);
    expect_error(MAP(kernel, four, 4, F64), FLOE_ERR_INVALID, op, NULL, what);
    snprintf(what, sizeof what, "%s of -1 inputs", op);
    expect_error(MAP(kernel, four, -1, F64), FLOE_ERR_INVALID, op, NULL, what);
    snprintf(what, sizeof what, "%s of a NULL list", op);
    expect_error(MAP(kernel, NULL, 1, F64), FLOE_ERR_INVALID, op, NULL, what);
    snprintf(what, sizeof what, "%s of (37, 23) and (37, 22)", op);
    expect_error(MAP(kernel, ab, 2, F64), FLOE_ERR_SHAPE, op, "(37, 22)", what);
    snprintf(what, sizeof what, "%s of (37, 23) and (23,) (no broadcasting)", op);
    expect_error(MAP(kernel, av, 2, F64), FLOE_ERR_SHAPE, op, "(23,)", what);
    snprintf(what, sizeof what, "%s to an unknown dtype", op);
    expect_error(MAP(kernel, four, 1, FLOE_DTYPE_COUNT_), FLOE_ERR_DTYPE, op, NULL, what);
#undef MAP
  }
  /* chunks of the output */
  if (floe_array_status(floe_map_blocks(kernel, L, four, 1, F64, FLOE_SHAPE(0, 5))) == FLOE_OK) {
    soft_fail("map_blocks in chunks (0, 5): accepted");
  }
  if (floe_array_status(floe_map_blocks(kernel, L, four, 1, F64, FLOE_SHAPE(4, 5, 6))) == FLOE_OK) {
    soft_fail("map_blocks of 2-D inputs in chunks of 3 axes: accepted");
  }
  /* depth and mode */
  expect_error(floe_map_overlap(kernel, L, four, 1, F64, FLOE_SHAPE(1), FLOE_PAD_EDGE),
               FLOE_ERR_INVALID, "floe_map_overlap", NULL, "depth of 1 axis for 2-D inputs");
  expect_error(floe_map_overlap(kernel, L, four, 1, F64, FLOE_SHAPE(1, 1, 1), FLOE_PAD_EDGE),
               FLOE_ERR_INVALID, "floe_map_overlap", NULL, "depth of 3 axes for 2-D inputs");
  expect_error(floe_map_overlap(kernel, L, four, 1, F64, FLOE_SHAPE(1, -1), FLOE_PAD_EDGE),
               FLOE_ERR_INVALID, "floe_map_overlap", "negative", "depth (1, -1)");
  expect_error(floe_map_overlap(kernel, L, four, 1, F64, FLOE_SHAPE(1, 1), (floe_pad_mode)7),
               FLOE_ERR_INVALID, "floe_map_overlap", NULL, "mode 7");
  /* nothing ran */
  cr_assert_eq(atomic_load(&L->calls), 0);
  free(L);
  finish(ctx);
}

/* -------------------------------------------------------------- tensordot */

/* NumPy's tensordot by naive loops: the sum over the paired axes, the
 * result's axes a's others, then b's; floats in long double (with *scale =
 * the sum of |a||b| per element, for the bound), integers wrapping in
 * their dtype, bool as or-of-ands (matmul's rules). */
static dense ref_tensordot(const dense *a, const dense *b, int k, const int *aax, const int *bax,
                           double **scale) {
  int pa[FLOE_MAX_DIMS], pb[FLOE_MAX_DIMS], fa[FLOE_MAX_DIMS], fb[FLOE_MAX_DIMS], nfa = 0, nfb = 0;
  bool ca[FLOE_MAX_DIMS] = {false}, cb[FLOE_MAX_DIMS] = {false};
  int64_t inner_shape[FLOE_MAX_DIMS], shape[FLOE_MAX_DIMS + 2], inner = 1;
  int nd = 0;
  for (int i = 0; i < k; i++) {
    pa[i] = aax[i] < 0 ? aax[i] + a->ndim : aax[i];
    pb[i] = bax[i] < 0 ? bax[i] + b->ndim : bax[i];
    cr_assert_eq(a->shape[pa[i]], b->shape[pb[i]]);
    ca[pa[i]] = cb[pb[i]] = true;
    inner_shape[i] = a->shape[pa[i]];
    inner *= inner_shape[i];
  }
  for (int d = 0; d < a->ndim; d++) {
    if (!ca[d]) {
      fa[nfa++] = d;
      shape[nd++] = a->shape[d];
    }
  }
  for (int d = 0; d < b->ndim; d++) {
    if (!cb[d]) {
      fb[nfb++] = d;
      shape[nd++] = b->shape[d];
    }
  }
  cr_assert_leq(nd, FLOE_MAX_DIMS);
  floe_dtype dt = promote(a->dt, b->dt);
  dense r = dense_new(dt, nd, shape);
  double *sc = calloc((size_t)(r.n > 0 ? r.n : 1), sizeof *sc);
  cr_assert_not_null(sc);
  int64_t oi[FLOE_MAX_DIMS + 2], ii[FLOE_MAX_DIMS], ia[FLOE_MAX_DIMS], ib[FLOE_MAX_DIMS];
  for (int64_t j = 0; j < r.n; j++) {
    unravel(j, nd, shape, oi);
    for (int t = 0; t < nfa; t++) {
      ia[fa[t]] = oi[t];
    }
    for (int t = 0; t < nfb; t++) {
      ib[fb[t]] = oi[nfa + t];
    }
    long double acc = 0, mag = 0;
    uint64_t iacc = 0;
    bool bacc = false;
    for (int64_t p = 0; p < inner; p++) {
      unravel(p, k, inner_shape, ii);
      for (int i = 0; i < k; i++) {
        ia[pa[i]] = ii[i];
        ib[pb[i]] = ii[i];
      }
      int64_t xa = ravel(a->ndim, a->shape, ia), xb = ravel(b->ndim, b->shape, ib);
      if (is_float(dt)) {
        long double x = get_d(a, xa), y = get_d(b, xb);
        acc += x * y;
        mag += fabsl(x * y);
      } else if (dt == B) {
        bacc = bacc || (get_i(a, xa) && get_i(b, xb));
      } else {
        iacc += (uint64_t)get_i(a, xa) * (uint64_t)get_i(b, xb);
      }
    }
    sc[j] = (double)mag;
    unsigned char *q = r.v + (size_t)j * esz(dt);
    switch (dt) {
    case B:
      *(bool *)q = bacc;
      break;
    case U8:
      *(uint8_t *)q = (uint8_t)iacc;
      break;
    case I32:
      *(int32_t *)q = (int32_t)(uint32_t)iacc;
      break;
    case I64:
      *(int64_t *)q = (int64_t)iacc;
      break;
    case F32:
      *(float *)q = (float)acc;
      break;
    default:
      *(double *)q = (double)acc;
      break;
    }
  }
  if (scale != NULL) {
    *scale = sc;
  } else {
    free(sc);
  }
  return r;
}

typedef struct td_case {
  floe_shape as, ac, bs, bc;
  floe_axes aax, bax;
  const char *text;
} td_case;

static void expect_tensordot(floe_array *a, const dense *ra, floe_array *b, const dense *rb,
                             const td_case *c, const char *what) {
  double *scale;
  dense want = ref_tensordot(ra, rb, c->aax.n, c->aax.axis, c->bax.axis, &scale);
  char w[256];
  snprintf(w, sizeof w, "%s %s", what, c->text);
  expect_product(floe_tensordot(a, b, c->aax, c->bax), &want, scale, want.dt == F32 ? 1e-5 : 1e-12,
                 w);
  free(scale);
  dense_free(&want);
}

Test(tensordot, against_naive_loops_on_every_dtype_and_input, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  /* (4, 5, 6) with (6, 5, 7) and (6, 5, 4) in ragged chunks, a 2-D and a
     1-D pairing */
  const floe_shape a3 = FLOE_SHAPE(4, 5, 6), ca3 = FLOE_SHAPE(3, 2, 4);
  const floe_shape b3 = FLOE_SHAPE(6, 5, 7), cb3 = FLOE_SHAPE(4, 3, 2);
  const floe_shape b4 = FLOE_SHAPE(6, 5, 4), cb4 = FLOE_SHAPE(5, 2, 3);
  const floe_axes none = {0, 0, {0}};
  const td_case cases[] = {
      {a3, ca3, b3, cb3, FLOE_AXES(1, 2), FLOE_AXES(1, 0), "axes (1, 2) with (1, 0)"},
      {a3, ca3, b3, cb3, FLOE_AXES(2), FLOE_AXES(0), "axes (2,) with (0,)"},
      {a3, ca3, b3, cb3, FLOE_AXES(-1, -2), FLOE_AXES(0, 1), "axes (-1, -2) with (0, 1)"},
      {a3, ca3, b3, cb3, FLOE_AXES(1), FLOE_AXES(-2), "axes (1,) with (-2,)"},
      {a3, ca3, b3, cb3, none, none, "no axes (outer)"},
      {a3, ca3, b4, cb4, FLOE_AXES(0, 1, 2), FLOE_AXES(2, 1, 0), "axes (0, 1, 2) with (2, 1, 0)"},
      {a3, ca3, b4, cb4, FLOE_AXES(2, 0), FLOE_AXES(0, 2), "axes (2, 0) with (0, 2)"},
      {FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), FLOE_SHAPE(37, 41), FLOE_SHAPE(7, 9), FLOE_AXES(0),
       FLOE_AXES(0), "2-D axes (0,) with (0,)"},
      {FLOE_SHAPE(5), FLOE_SHAPE(2), b3, cb3, FLOE_AXES(0), FLOE_AXES(1),
       "1-D axes (0,) with 3-D (1,)"},
  };
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (int t = 0; t < NDT; t++) {
      floe_dtype dt = ALL_DT[t];
      for (int k = 0; k < IN_KINDS; k++) {
        int kb = (k + 1) % IN_KINDS;
        if (!is_float(dt) && dt != B && (k == IN_GENERATED || kb == IN_GENERATED)) {
          continue; /* wide generated integers overflow the products */
        }
        floe_scope_begin(ctx);
        dense ra, rb;
        floe_array *a = operand(ctx, k, dt, cases[j].as, cases[j].ac, 680, &ra);
        floe_array *b = operand(ctx, kb, dt, cases[j].bs, cases[j].bc, 681, &rb);
        char what[96];
        snprintf(what, sizeof what, "%s %s/%s", dtn(dt), KIND[k], KIND[kb]);
        expect_tensordot(a, &ra, b, &rb, &cases[j], what);
        dense_free(&ra);
        dense_free(&rb);
        floe_scope_end(ctx);
      }
    }
  }
  /* mixed dtypes promote */
  const floe_dtype pairs[][2] = {{I32, F64}, {F32, I32}, {U8, I64}, {B, F32}, {F32, F64}};
  for (size_t j = 0; j < sizeof pairs / sizeof pairs[0]; j++) {
    floe_scope_begin(ctx);
    dense ra, rb;
    floe_array *a = operand(ctx, IN_BUFFER, pairs[j][0], cases[0].as, cases[0].ac, 682, &ra);
    floe_array *b = operand(ctx, IN_EXPR, pairs[j][1], cases[0].bs, cases[0].bc, 683, &rb);
    char what[64];
    snprintf(what, sizeof what, "%s with %s", dtn(pairs[j][0]), dtn(pairs[j][1]));
    expect_tensordot(a, &ra, b, &rb, &cases[0], what);
    dense_free(&ra);
    dense_free(&rb);
    floe_scope_end(ctx);
  }
  finish(ctx);
}

Test(tensordot, empty_and_length_one_axes_and_composition, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  const td_case cases[] = {
      {FLOE_SHAPE(4, 0, 6), FLOE_SHAPE(2, 1, 3), FLOE_SHAPE(6, 0, 3), FLOE_SHAPE(2, 1, 2),
       FLOE_AXES(1, 2), FLOE_AXES(1, 0), "empty summed axis"},
      {FLOE_SHAPE(0, 5), FLOE_SHAPE(1, 2), FLOE_SHAPE(5, 3), FLOE_SHAPE(2, 2), FLOE_AXES(1),
       FLOE_AXES(0), "empty free axis"},
      {FLOE_SHAPE(4, 0), FLOE_SHAPE(3, 1), FLOE_SHAPE(0, 3), FLOE_SHAPE(1, 2), FLOE_AXES(1),
       FLOE_AXES(0), "(4, 0) with (0, 3)"},
      {FLOE_SHAPE(1, 5, 1), FLOE_SHAPE(1, 2, 1), FLOE_SHAPE(1, 5, 1), FLOE_SHAPE(1, 3, 1),
       FLOE_AXES(1), FLOE_AXES(1), "length-1 axes"},
      {FLOE_SHAPE(1, 5, 1), FLOE_SHAPE(1, 2, 1), FLOE_SHAPE(1, 5, 1), FLOE_SHAPE(1, 3, 1),
       FLOE_AXES(0, 1, 2), FLOE_AXES(2, 1, 0), "length-1 axes, all summed"},
  };
  const floe_dtype dts[] = {F64, F32, I32, I64, U8, B};
  for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
      floe_scope_begin(ctx);
      dense ra, rb;
      floe_array *a = operand(ctx, IN_BUFFER, dts[t], cases[j].as, cases[j].ac, 690, &ra);
      floe_array *b = operand(ctx, IN_EXPR, dts[t], cases[j].bs, cases[j].bc, 691, &rb);
      expect_tensordot(a, &ra, b, &rb, &cases[j], dtn(dts[t]));
      dense_free(&ra);
      dense_free(&rb);
      floe_scope_end(ctx);
    }
  }
  /* of transposes, reshapes, slices and masks; a reduction of it */
  for (int t = 0; t < NDT; t++) {
    floe_dtype dt = ALL_DT[t];
    floe_scope_begin(ctx);
    dense ra, rb;
    floe_array *a = operand(ctx, IN_BUFFER, dt, FLOE_SHAPE(4, 5, 6), FLOE_SHAPE(3, 2, 4), 692, &ra);
    floe_array *b = operand(ctx, IN_EXPR, dt, FLOE_SHAPE(6, 5, 7), FLOE_SHAPE(4, 3, 2), 693, &rb);
    /* transpose(a, (2, 0, 1)) is (6, 4, 5): its axes (0, 2) pair with b's (0, 1) */
    dense rat = ref_transpose(&ra, (int[]){2, 0, 1});
    td_case c1 = {.aax = FLOE_AXES(0, 2), .bax = FLOE_AXES(0, 1), .text = "transpose(a) (0, 2)"};
    expect_tensordot(floe_transpose(a, FLOE_AXES(2, 0, 1)), &rat, b, &rb, &c1, dtn(dt));
    /* reshape(a, (20, 6)) with reshape(b, (6, 35)): a matrix product */
    dense ra2 = ref_reshape(&ra, 2, (int64_t[]){20, 6}),
          rb2 = ref_reshape(&rb, 2, (int64_t[]){6, 35});
    td_case c2 = {.aax = FLOE_AXES(1), .bax = FLOE_AXES(0), .text = "reshapes (20, 6) (6, 35)"};
    expect_tensordot(floe_reshape(a, FLOE_SHAPE(20, 6)), &ra2, floe_reshape(b, FLOE_SHAPE(6, -1)),
                     &rb2, &c2, dtn(dt));
    /* a reversed slice of b */
    floe_index rev[] = {S(N, N, -1), FLOE_ELLIPSIS, S(1, N, 2)};
    dense rbs;
    cr_assert_eq(ref_slice(&rb, 3, rev, &rbs), FLOE_OK);
    td_case c3 = {.aax = FLOE_AXES(2, 1), .bax = FLOE_AXES(0, 1), .text = "b[::-1, ..., 1::2]"};
    expect_tensordot(a, &ra, floe_slice(b, 3, rev), &rbs, &c3, dtn(dt));
    /* 1-D selections: a[m] . b2[m], and a sum of a tensordot */
    dense rb2x, rm = dense_pattern(B, FLOE_SHAPE(4, 5, 6), 694, false);
    floe_array *m = floe_from_buffer(ctx, B, FLOE_SHAPE(4, 5, 6), FLOE_AUTO, dense_buffer(&rm));
    floe_array *b2 =
        operand(ctx, IN_EXPR, dt, FLOE_SHAPE(4, 5, 6), FLOE_SHAPE(2, 3, 4), 695, &rb2x);
    dense sa = ref_mask(&ra, &rm), sb = ref_mask(&rb2x, &rm);
    td_case c4 = {.aax = FLOE_AXES(0), .bax = FLOE_AXES(-1), .text = "a[m] with b2[m]"};
    expect_tensordot(floe_mask(a, m), &sa, floe_mask(b2, m), &sb, &c4, dtn(dt));
    if (!is_float(dt)) {
      dense p = ref_tensordot(&ra, &rb, 2, (int[]){1, 2}, (int[]){1, 0}, NULL);
      dense want = ref_reduce2(&p, 1, true);
      expect_dense(floe_sum(floe_tensordot(a, b, FLOE_AXES(1, 2), FLOE_AXES(1, 0)), FLOE_AXES(1)),
                   &want, "%s sum(tensordot(a, b, ((1, 2), (1, 0))), axis=1)", dtn(dt));
      dense_free(&want);
      dense_free(&p);
    }
    dense *all[] = {&rm, &rbs, &ra2, &rb2, &rat, &ra, &rb, &rb2x, &sa, &sb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
      dense_free(all[i]);
    }
    floe_scope_end(ctx);
  }
  finish(ctx);
}

Test(tensordot, errors, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *a = floe_ones(ctx, F64, FLOE_SHAPE(4, 5, 6), FLOE_AUTO);
  floe_array *b = floe_ones(ctx, F64, FLOE_SHAPE(6, 5, 7), FLOE_AUTO);
  expect_error(floe_tensordot(a, b, FLOE_AXES(1), FLOE_AXES(0)), FLOE_ERR_SHAPE, "floe_tensordot",
               NULL, "axis 1 (5) with axis 0 (6)");
  expect_error(floe_tensordot(a, b, FLOE_AXES(1, 2), FLOE_AXES(0, 1)), FLOE_ERR_SHAPE,
               "floe_tensordot", NULL, "axes (1, 2) with (0, 1): 5 with 6");
  expect_error(floe_tensordot(a, b, FLOE_AXES(0), FLOE_AXES(2)), FLOE_ERR_SHAPE, "floe_tensordot",
               NULL, "axis 0 (4) with axis 2 (7)");
  expect_error(floe_tensordot(a, b, FLOE_AXES(1, 2), FLOE_AXES(1)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "two axes with one");
  expect_error(floe_tensordot(a, b, FLOE_AXES(1, 1), FLOE_AXES(1, 1)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "a repeated pair");
  expect_error(floe_tensordot(a, b, FLOE_AXES(2, 2), FLOE_AXES(0, 1)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "a repeated axis of a");
  expect_error(floe_tensordot(a, b, FLOE_AXES(3), FLOE_AXES(0)), FLOE_ERR_INVALID, "floe_tensordot",
               NULL, "axis 3 of 3-D");
  expect_error(floe_tensordot(a, b, FLOE_AXES(-4), FLOE_AXES(0)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "axis -4 of 3-D");
  expect_error(floe_tensordot(a, b, FLOE_AXES(2), FLOE_AXES(3)), FLOE_ERR_INVALID, "floe_tensordot",
               NULL, "b's axis 3 of 3-D");
  expect_error(floe_tensordot(a, b, FLOE_AXES(0, 1, 2, 0), FLOE_AXES(0, 1, 2, 0)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "four axes of 3-D arrays");
  if (floe_array_status(floe_tensordot(a, b, FLOE_ALL, FLOE_ALL)) == FLOE_OK) {
    soft_fail("tensordot with FLOE_ALL axes: accepted");
  }
  /* more than FLOE_MAX_DIMS axes in the result */
  floe_array *c5 = floe_ones(ctx, F64, FLOE_SHAPE(1, 1, 1, 1, 1), FLOE_AUTO);
  floe_array *c4 = floe_ones(ctx, F64, FLOE_SHAPE(1, 1, 1, 1), FLOE_AUTO);
  floe_axes none = {0, 0, {0}};
  if (floe_array_status(floe_tensordot(c5, c4, none, none)) == FLOE_OK) {
    soft_fail("tensordot to 9 axes: accepted");
  }
  /* the error surfaces at compute */
  double s;
  cr_assert_eq(
      floe_compute_scalar(floe_sum(floe_tensordot(a, b, FLOE_AXES(1), FLOE_AXES(0)), FLOE_ALL), &s),
      FLOE_ERR_SHAPE);
  assert_has(floe_error_message(ctx), "floe_tensordot");
  finish(ctx);
}

/* --------------------------------------------------------------- threads */

/* Reshapes, masks, stencils and tensordots: the same bits for 1 and 2
 * threads, and for two runs on 2. */
Test(threads, reshape_mask_stencil_and_tensordot_bit_identical, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *c1 = open_ctx(1), *c2 = open_ctx(2);
  const floe_dtype dts[] = {F64, F32, I32};
  for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
    floe_dtype dt = dts[t];
    dense rx = dense_pattern(dt, FLOE_SHAPE(30, 40, 50), 700, dt == I32);
    dense ry = dense_pattern(dt, FLOE_SHAPE(50, 40, 20), 701, dt == I32);
    dense rs = dense_pattern(dt, FLOE_SHAPE(150, 130), 702, false);
    void *px = dense_buffer(&rx), *py = dense_buffer(&ry), *ps = dense_buffer(&rs);
    const char *names[4] = {"tensordot (30, 40, 50)/(7, 9, 11) with (50, 40, 20)/(11, 9, 6)",
                            "9-point cross of (150, 130)/(32, 24), edge",
                            "reshape(transpose(x), (100, 195))", "x[x > 0]"};
    void *got[4][3] = {{NULL}};
    size_t nbytes[4] = {0};
    floe_dtype od = is_float(dt) ? dt : F64;
    for (int run = 0; run < 3; run++) {
      floe_ctx *ctx = run == 0 ? c1 : c2;
      floe_scope_begin(ctx);
      floe_array *x = floe_from_buffer(ctx, dt, FLOE_SHAPE(30, 40, 50), FLOE_SHAPE(7, 9, 11), px);
      floe_array *y = floe_from_buffer(ctx, dt, FLOE_SHAPE(50, 40, 20), FLOE_SHAPE(11, 9, 6), py);
      floe_array *s = floe_from_buffer(ctx, dt, FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), ps);
      kernel_log *L =
          log_new(1, &dt, od, FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), (int64_t[]){2, 2});
      log_stencil(L, &ST_CROSS);
      floe_array *outs[4] = {
          floe_tensordot(x, y, FLOE_AXES(1, 2), FLOE_AXES(1, 0)),
          floe_map_overlap(kernel, L, &s, 1, od, FLOE_SHAPE(2, 2), FLOE_PAD_EDGE),
          floe_reshape(floe_transpose(s, FLOE_ALL), FLOE_SHAPE(100, 195)),
          floe_mask(s, floe_greater(s, floe_scalar_int(ctx, 0))),
      };
      for (int i = 0; i < 4; i++) {
        nbytes[i] = (size_t)floe_array_nbytes(outs[i]);
        got[i][run] = compute_or_fail(outs[i], names[i]);
      }
      expect_calls(L, true, names[1]);
      free(L);
      floe_scope_end(ctx);
    }
    for (int i = 0; i < 4; i++) {
      if (got[i][0] && got[i][1] && got[i][2]) {
        if (memcmp(got[i][0], got[i][1], nbytes[i]) != 0) {
          soft_fail("%s %s: 1 and 2 threads give different bits", dtn(dt), names[i]);
        }
        if (memcmp(got[i][1], got[i][2], nbytes[i]) != 0) {
          soft_fail("%s %s: two runs on 2 threads give different bits", dtn(dt), names[i]);
        }
      }
    }
    /* and the values */
    if (got[0][0] != NULL) {
      double *scale;
      dense want = ref_tensordot(&rx, &ry, 2, (int[]){1, 2}, (int[]){1, 0}, &scale);
      char what[160];
      snprintf(what, sizeof what, "%s %s", dtn(dt), names[0]);
      if (is_float(dt)) {
        compare_close(got[0][0], &want, scale, dt == F32 ? 1e-5 : 1e-12, what);
      } else {
        compare_bytes(got[0][0], &want, what);
      }
      free(scale);
      dense_free(&want);
    }
    if (got[1][0] != NULL) {
      kernel_log *L =
          log_new(1, &dt, od, FLOE_SHAPE(150, 130), FLOE_SHAPE(32, 24), (int64_t[]){2, 2});
      log_stencil(L, &ST_CROSS);
      dense *rp[1] = {&rs};
      dense want = ref_kernel(L, rp, FLOE_PAD_EDGE);
      compare_bytes(got[1][0], &want, names[1]);
      dense_free(&want);
      free(L);
    }
    if (got[2][0] != NULL) {
      dense rt = ref_transpose(&rs, (int[]){1, 0});
      compare_bytes(got[2][0], &rt, names[2]);
      dense_free(&rt);
    }
    if (got[3][0] != NULL) {
      dense pos = dense_of(B, FLOE_SHAPE(150, 130));
      for (int64_t i = 0; i < pos.n; i++) {
        set_d(&pos, i, get_d(&rs, i) > 0);
      }
      dense want = ref_mask(&rs, &pos);
      compare_bytes(got[3][0], &want, names[3]);
      dense_free(&want);
      dense_free(&pos);
    }
    for (int i = 0; i < 4; i++) {
      for (int run = 0; run < 3; run++) {
        free(got[i][run]);
      }
    }
    dense_free(&rx);
    dense_free(&ry);
    dense_free(&rs);
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
 * limit leaves chunk sizes alone): for sort and quantiles the input is
 * spilled on its way to whole-column chunks (scans carry their running
 * value from chunk to chunk instead), and every result has the bits of an
 * unlimited run and of the reference. */
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
    /* scans carry their running value down the row chunks instead */
    bool scan = cases[j].op == AX_CUMSUM || cases[j].op == AX_CUMPROD;
    if (cases[j].axis == 0 && !scan && s.bytes_spilled + s.bytes_reread == 0) {
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

/* A stencil, reshapes, a tensordot and a mask of 2 MiB of data under a
 * 1 MiB limit: peaks within the limit, and the bits of an unlimited run
 * and of the references. */
Test(budget, stencil_reshape_tensordot_and_mask_under_1mib, .timeout = TEST_TIMEOUT_S) {
  const int64_t n = 512;
  floe_dtype dt = F64;
  enum { NO = 5 };
  const char *names[NO] = {
      "Laplacian of (512, 512)/(8, 512), edge", "reshape (512, 512)/(8, 512) to (2048, 128)",
      "reshape of its transpose to (-1,)",
      "tensordot (64, 64, 64)/(8, 64, 64) axes (1, 2) with (1, 0)", "x[x > 1]"};
  void *got[2][NO] = {{NULL}};
  for (int run = 0; run < 2; run++) {
    floe_ctx *ctx = run == 0 ? open_limited(1 * MIB, 2) : open_limited(0, 2);
    floe_array *x = spillable(ctx, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), 11);
    floe_array *c = spillable(ctx, FLOE_SHAPE(64, 64, 64), FLOE_SHAPE(8, 64, 64), 12);
    kernel_log *L = log_new(1, &dt, F64, FLOE_SHAPE(n, n), FLOE_SHAPE(8, n), (int64_t[]){1, 1});
    log_stencil(L, &ST_LAPLACE);
    floe_array *outs[NO] = {
        floe_map_overlap(kernel, L, &x, 1, F64, FLOE_SHAPE(1, 1), FLOE_PAD_EDGE),
        floe_reshape(x, FLOE_SHAPE(2048, 128)),
        floe_reshape(floe_transpose(x, FLOE_ALL), FLOE_SHAPE(-1)),
        floe_tensordot(c, floe_transpose(c, FLOE_AXES(2, 1, 0)), FLOE_AXES(1, 2), FLOE_AXES(1, 0)),
        floe_mask(x, floe_greater(x, floe_scalar_int(ctx, 1))),
    };
    for (int i = 0; i < NO; i++) {
      char what[160];
      snprintf(what, sizeof what, "%s%s", names[i], run == 0 ? " under 1 MiB" : "");
      floe_stats s;
      got[run][i] = run_job(ctx, outs[i], &s, what);
      if (run == 0 && s.peak_memory > 1 * MIB) {
        soft_fail("%s: peak %llu bytes over the limit", what, (unsigned long long)s.peak_memory);
      }
      if (i == 0) {
        expect_calls(L, run == 1, what); /* under the limit chunks may be made again */
      }
    }
    if (run == 1) {
      /* the references, from the unlimited run's inputs */
      dense rx = dense_new(F64, 2, (int64_t[]){n, n}),
            rc = dense_new(F64, 3, (int64_t[]){64, 64, 64});
      cr_assert_eq(floe_compute(x, rx.v, (size_t)(n * n) * 8), FLOE_OK);
      cr_assert_eq(floe_compute(c, rc.v, (size_t)(64 * 64 * 64) * 8), FLOE_OK);
      dense *rp[1] = {&rx};
      dense want = ref_kernel(L, rp, FLOE_PAD_EDGE);
      compare_bytes(got[1][0], &want, names[0]);
      dense_free(&want);
      compare_bytes(got[1][1], &rx, names[1]);
      dense rt = ref_transpose(&rx, (int[]){1, 0});
      compare_bytes(got[1][2], &rt, names[2]);
      dense_free(&rt);
      dense rct = ref_transpose(&rc, (int[]){2, 1, 0});
      double *scale;
      want = ref_tensordot(&rc, &rct, 2, (int[]){1, 2}, (int[]){1, 0}, &scale);
      compare_close(got[1][3], &want, scale, 1e-12, names[3]);
      free(scale);
      dense_free(&want);
      dense_free(&rct);
      dense pos = dense_of(B, FLOE_SHAPE(n, n));
      for (int64_t i = 0; i < pos.n; i++) {
        set_d(&pos, i, get_d(&rx, i) > 1);
      }
      want = ref_mask(&rx, &pos);
      cr_assert_eq((int64_t)floe_array_size(outs[4]), want.n);
      compare_bytes(got[1][4], &want, names[4]);
      dense_free(&want);
      dense_free(&pos);
      dense_free(&rx);
      dense_free(&rc);
      for (int i = 0; i < NO; i++) {
        if (memcmp(got[0][i], got[1][i], (size_t)floe_array_nbytes(outs[i])) != 0) {
          soft_fail("%s: under 1 MiB differs from the unlimited run", names[i]);
        }
      }
    }
    free(L);
    floe_close(ctx);
  }
  for (int i = 0; i < NO; i++) {
    free(got[0][i]);
    free(got[1][i]);
  }
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

/* Reshapes, masks, kernels and tensordots of inputs floe holds itself: an
 * HDF5 dataset read in chunks that straddle the file's, and a persisted
 * array. */
Test(inputs, hdf5_and_persisted_reshape_mask_kernels_tensordot, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_limited(0, 2);
  dense r = dense_pattern(F64, FLOE_SHAPE(37, 23), 330, false);
  floe_array *x =
      floe_from_buffer(ctx, F64, FLOE_SHAPE(37, 23), FLOE_SHAPE(8, 5), dense_buffer(&r));
  char path[128];
  snprintf(path, sizeof path, "%s/rm.h5", g_dir);
  cr_assert_eq(floe_to_hdf5(x, path, "x", NULL), FLOE_OK, "%s", floe_error_message(NULL));
  floe_array *ins[2] = {floe_from_hdf5(ctx, path, "x", FLOE_SHAPE(6, 4)),
                        floe_persist(floe_rechunk(x, FLOE_SHAPE(5, 8)))};
  const char *names[2] = {"hdf5 (file chunks (8, 5), read as (6, 4))", "persisted (5, 8)"};
  dense rm = dense_pattern(B, FLOE_SHAPE(37, 23), 331, false);
  floe_array *m = floe_from_buffer(ctx, B, FLOE_SHAPE(37, 23), FLOE_SHAPE(7, 7), dense_buffer(&rm));
  floe_dtype dts[2] = {F64, F64};
  for (int i = 0; i < 2; i++) {
    floe_array *a = ins[i];
    cr_assert_eq(floe_array_status(a), FLOE_OK, "%s: %s", names[i], floe_array_message(a));
    char what[160];
    snprintf(what, sizeof what, "%s", names[i]);
    expect_reshape(a, &r, FLOE_SHAPE(23, 37), what);
    expect_reshape(a, &r, FLOE_SHAPE(-1), what);
    snprintf(what, sizeof what, "%s [bool buffer]", names[i]);
    floe_release(expect_mask(a, &r, m, &rm, what));
    /* a kernel over it and x, in other chunks */
    floe_array *two[2] = {a, x};
    dense *rtwo[2] = {&r, &r};
    snprintf(what, sizeof what, "%s kernel with x in (10, 7)", names[i]);
    expect_map(two, rtwo, 2, F64, FLOE_SHAPE(10, 7), what);
    /* a stencil */
    kernel_log *L =
        log_new(1, dts, F64, FLOE_SHAPE(37, 23), floe_array_chunks(a), (int64_t[]){2, 2});
    log_stencil(L, &ST_CROSS);
    dense want = ref_kernel(L, rtwo, FLOE_PAD_CONSTANT);
    snprintf(what, sizeof what, "%s 9-point cross, zeros", names[i]);
    expect_dense(floe_map_overlap(kernel, L, &a, 1, F64, FLOE_SHAPE(2, 2), FLOE_PAD_CONSTANT),
                 &want, "%s", what);
    expect_calls(L, true, what);
    dense_free(&want);
    free(L);
    /* a tensordot with x over the rows: a.T @ x */
    td_case c = {.aax = FLOE_AXES(0), .bax = FLOE_AXES(0), .text = "tensordot with x, (0,) (0,)"};
    expect_tensordot(a, &r, x, &r, &c, names[i]);
  }
  dense_free(&rm);
  dense_free(&r);
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

/* NULL, error, released and foreign arguments of floe_reshape, floe_mask,
 * floe_map_blocks, floe_map_overlap and floe_tensordot; plans and DOT dumps
 * of their nodes. */
Test(handles, reshape_mask_kernels_and_tensordot_arguments, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(1);
  floe_array *x = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *mk = floe_ones(ctx, B, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_dtype dt = F64;
  kernel_log *L = log_new(1, &dt, F64, FLOE_SHAPE(3, 4), FLOE_SHAPE(3, 4), NULL);
  const floe_shape d11 = FLOE_SHAPE(1, 1);
  floe_array *nulls[2] = {NULL, NULL}, *xn[2] = {x, NULL}, *nx[2] = {NULL, x};
  /* only NULL arguments: no context to hold an error array */
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  expect_error(floe_reshape(NULL, FLOE_SHAPE(-1)), FLOE_ERR_INVALID, "floe_reshape", NULL,
               "reshape of NULL");
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  expect_error(floe_mask(NULL, NULL), FLOE_ERR_INVALID, "floe_mask", NULL, "mask of NULLs");
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  expect_error(floe_map_blocks(kernel, L, nulls, 2, F64, FLOE_AUTO), FLOE_ERR_INVALID,
               "floe_map_blocks", NULL, "map_blocks of NULLs");
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  expect_error(floe_map_overlap(kernel, L, nulls, 2, F64, d11, FLOE_PAD_EDGE), FLOE_ERR_INVALID,
               "floe_map_overlap", NULL, "map_overlap of NULLs");
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
  expect_error(floe_tensordot(NULL, NULL, FLOE_AXES(0), FLOE_AXES(0)), FLOE_ERR_INVALID,
               "floe_tensordot", NULL, "tensordot of NULLs");
  /* one NULL beside a good argument: an error array naming the NULL */
  struct {
    floe_array *a;
    const char *op;
  } one[] = {
      {floe_mask(x, NULL), "floe_mask"},
      {floe_mask(NULL, mk), "floe_mask"},
      {floe_map_blocks(kernel, L, xn, 2, F64, FLOE_AUTO), "floe_map_blocks"},
      {floe_map_blocks(kernel, L, nx, 2, F64, FLOE_AUTO), "floe_map_blocks"},
      {floe_map_overlap(kernel, L, xn, 2, F64, d11, FLOE_PAD_EDGE), "floe_map_overlap"},
      {floe_map_overlap(kernel, L, nx, 2, F64, d11, FLOE_PAD_EDGE), "floe_map_overlap"},
      {floe_tensordot(x, NULL, FLOE_AXES(0), FLOE_AXES(0)), "floe_tensordot"},
      {floe_tensordot(NULL, x, FLOE_AXES(0), FLOE_AXES(0)), "floe_tensordot"},
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
  /* arrays in an error state pass their error on */
  floe_index bad_ix[] = {S(N, N, 0)};
  floe_array *e = floe_slice(x, 1, bad_ix);
  cr_assert_eq(floe_array_status(e), FLOE_ERR_INVALID);
  const char *emsg = floe_array_message(e);
  floe_array *ee[1] = {e}, *xe[2] = {x, e};
  floe_array *outs[] = {
      floe_reshape(e, FLOE_SHAPE(-1)),
      floe_mask(e, mk),
      floe_mask(x, e),
      floe_map_blocks(kernel, L, ee, 1, F64, FLOE_AUTO),
      floe_map_blocks(kernel, L, xe, 2, F64, FLOE_AUTO),
      floe_map_overlap(kernel, L, ee, 1, F64, d11, FLOE_PAD_EDGE),
      floe_map_overlap(kernel, L, xe, 2, F64, d11, FLOE_PAD_EDGE),
      floe_tensordot(e, x, FLOE_AXES(0), FLOE_AXES(0)),
      floe_tensordot(x, e, FLOE_AXES(0), FLOE_AXES(0)),
  };
  const char *onames[] = {"reshape(e)",        "mask(e, m)",       "mask(x, e)",
                          "map_blocks(e)",     "map_blocks(x, e)", "map_overlap(e)",
                          "map_overlap(x, e)", "tensordot(e, x)",  "tensordot(x, e)"};
  for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
    if (floe_array_status(outs[k]) != FLOE_ERR_INVALID ||
        strcmp(floe_array_message(outs[k]), emsg) != 0) {
      soft_fail("%s of an error array: %s '%s', expected its error '%s'", onames[k],
                floe_status_name(floe_array_status(outs[k])), floe_array_message(outs[k]), emsg);
    }
  }
  /* released handles */
  floe_array *r = floe_ones(ctx, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *rmk = floe_ones(ctx, B, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_release(r);
  floe_release(rmk);
  floe_array *rr[1] = {r}, *xr[2] = {x, r};
  floe_array *dead[] = {
      floe_reshape(r, FLOE_SHAPE(-1)),
      floe_mask(r, mk),
      floe_mask(x, rmk),
      floe_map_blocks(kernel, L, rr, 1, F64, FLOE_AUTO),
      floe_map_blocks(kernel, L, xr, 2, F64, FLOE_AUTO),
      floe_map_overlap(kernel, L, rr, 1, F64, d11, FLOE_PAD_EDGE),
      floe_map_overlap(kernel, L, xr, 2, F64, d11, FLOE_PAD_EDGE),
      floe_tensordot(r, x, FLOE_AXES(0), FLOE_AXES(0)),
      floe_tensordot(x, r, FLOE_AXES(0), FLOE_AXES(0)),
  };
  const char *dnames[] = {"reshape(r)",        "mask(r, m)",       "mask(x, r)",
                          "map_blocks(r)",     "map_blocks(x, r)", "map_overlap(r)",
                          "map_overlap(x, r)", "tensordot(r, x)",  "tensordot(x, r)"};
  for (size_t k = 0; k < sizeof dead / sizeof dead[0]; k++) {
    /* with only released arguments there is no live context: NULL and the
       thread's message would do as well, but every case here has one */
    if (dead[k] == NULL || floe_array_status(dead[k]) != FLOE_ERR_INVALID ||
        !contains(floe_array_message(dead[k]), "released")) {
      soft_fail("%s of a released array: %s '%s'", dnames[k],
                dead[k] == NULL ? "NULL" : floe_status_name(floe_array_status(dead[k])),
                dead[k] == NULL ? floe_error_message(NULL) : floe_array_message(dead[k]));
    }
  }
  /* arrays of two contexts */
  floe_ctx *other = open_ctx(1);
  floe_array *y = floe_ones(other, F64, FLOE_SHAPE(3, 4), FLOE_AUTO);
  floe_array *xy[2] = {x, y};
  expect_error(floe_map_blocks(kernel, L, xy, 2, F64, FLOE_AUTO), FLOE_ERR_INVALID,
               "floe_map_blocks", "context", "map_blocks across contexts");
  expect_error(floe_map_overlap(kernel, L, xy, 2, F64, d11, FLOE_PAD_EDGE), FLOE_ERR_INVALID,
               "floe_map_overlap", "context", "map_overlap across contexts");
  expect_error(floe_tensordot(x, y, FLOE_AXES(0), FLOE_AXES(0)), FLOE_ERR_INVALID, "floe_tensordot",
               "context", "tensordot across contexts");
  floe_close(other);
  /* plans and DOT dumps of the new nodes */
  floe_array *lap =
      floe_map_overlap(kernel, L, (floe_array *[]){x}, 1, F64, d11, FLOE_PAD_CONSTANT);
  floe_axes none = {0, 0, {0}};
  floe_array *p = floe_tensordot(floe_reshape(lap, FLOE_SHAPE(4, 3)), floe_mask(x, mk), none, none);
  cr_assert_eq(floe_array_status(p), FLOE_OK, "%s", floe_array_message(p));
  floe_plan_info plan;
  cr_assert_eq(floe_plan(p, &plan), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(plan.tasks, 0);
  FILE *devnull = fopen("/dev/null", "w");
  cr_assert_not_null(devnull);
  cr_assert_eq(floe_graph_dot(p, devnull), FLOE_OK, "%s", floe_error_message(NULL));
  fclose(devnull);
  free(L);
  finish(ctx);
}
