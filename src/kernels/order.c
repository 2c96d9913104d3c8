/* Scans, sort and quantiles on contiguous lanes (order-internal.h). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "order-internal.h"

floe_dtype floe__scan_dtype(floe_dtype in) {
  return in == FLOE_BOOL || in == FLOE_UINT8 || in == FLOE_INT32 ? FLOE_INT64 : in;
}

void floe__scan(int prod, floe_dtype in, const void *src, void *dst, int64_t n,
                const void *carry) {
#define SCAN(TIN, TOUT, OP)                                                                        \
  {                                                                                                \
    const TIN *s = src;                                                                            \
    TOUT *d = dst;                                                                                 \
    TOUT acc = carry != NULL ? *(const TOUT *)carry : (n > 0 ? (TOUT)s[0] : (TOUT)0);              \
    for (int64_t i = 0; i < n; i++) {                                                              \
      acc = i == 0 && carry == NULL ? acc : (TOUT)OP(acc, (TOUT)s[i]);                             \
      d[i] = acc;                                                                                  \
    }                                                                                              \
  }
#define ADD(a, b) ((a) + (b))
#define MUL(a, b) ((a) * (b))
/* integers wrap as NumPy's do */
#define IADD(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define IMUL(a, b) ((int64_t)((uint64_t)(a) * (uint64_t)(b)))
  switch (in) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    if (prod) {
      SCAN(uint8_t, int64_t, IMUL)
    } else {
      SCAN(uint8_t, int64_t, IADD)
    }
    break;
  case FLOE_INT32:
    if (prod) {
      SCAN(int32_t, int64_t, IMUL)
    } else {
      SCAN(int32_t, int64_t, IADD)
    }
    break;
  case FLOE_INT64:
    if (prod) {
      SCAN(int64_t, int64_t, IMUL)
    } else {
      SCAN(int64_t, int64_t, IADD)
    }
    break;
  case FLOE_FLOAT32:
    if (prod) {
      SCAN(float, float, MUL)
    } else {
      SCAN(float, float, ADD)
    }
    break;
  default:
    if (prod) {
      SCAN(double, double, MUL)
    } else {
      SCAN(double, double, ADD)
    }
    break;
  }
#undef SCAN
#undef ADD
#undef MUL
#undef IADD
#undef IMUL
}

/* ------------------------------------------------------------- sorting */

#define CMP_FN(NAME, T, NANLAST)                                                                   \
  static int NAME(const void *pa, const void *pb) {                                                \
    T a = *(const T *)pa, b = *(const T *)pb;                                                      \
    if (NANLAST) {                                                                                 \
      bool na = a != a, nb = b != b;                                                               \
      if (na || nb) {                                                                              \
        return (int)na - (int)nb;                                                                  \
      }                                                                                            \
    }                                                                                              \
    return (a > b) - (a < b);                                                                      \
  }
CMP_FN(cmp_u8, uint8_t, 0)
CMP_FN(cmp_i32, int32_t, 0)
CMP_FN(cmp_i64, int64_t, 0)
CMP_FN(cmp_f32, float, 1)
CMP_FN(cmp_f64, double, 1)
#undef CMP_FN

void floe__sort(floe_dtype t, void *data, int64_t n) {
  switch (t) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    qsort(data, (size_t)n, 1, cmp_u8);
    break;
  case FLOE_INT32:
    qsort(data, (size_t)n, 4, cmp_i32);
    break;
  case FLOE_INT64:
    qsort(data, (size_t)n, 8, cmp_i64);
    break;
  case FLOE_FLOAT32:
    qsort(data, (size_t)n, 4, cmp_f32);
    break;
  default:
    qsort(data, (size_t)n, 8, cmp_f64);
    break;
  }
}

/* ----------------------------------------------------------- selection */

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and
 * larger after (Hoare's selection with a median of three); no NaNs. */
#define SELECT_FN(NAME, T)                                                                         \
  static void NAME(T *v, int64_t n, int64_t k) {                                                   \
    int64_t lo = 0, hi = n - 1;                                                                    \
    while (hi > lo) {                                                                              \
      int64_t mid = lo + (hi - lo) / 2;                                                            \
      if (v[mid] < v[lo]) {                                                                        \
        T t = v[mid]; v[mid] = v[lo]; v[lo] = t;                                                   \
      }                                                                                            \
      if (v[hi] < v[lo]) {                                                                         \
        T t = v[hi]; v[hi] = v[lo]; v[lo] = t;                                                     \
      }                                                                                            \
      if (v[hi] < v[mid]) {                                                                        \
        T t = v[hi]; v[hi] = v[mid]; v[mid] = t;                                                   \
      }                                                                                            \
      T pivot = v[mid];                                                                            \
      int64_t i = lo, j = hi;                                                                      \
      while (i <= j) {                                                                             \
        while (v[i] < pivot) {                                                                     \
          i++;                                                                                     \
        }                                                                                          \
        while (pivot < v[j]) {                                                                     \
          j--;                                                                                     \
        }                                                                                          \
        if (i <= j) {                                                                              \
          T t = v[i]; v[i] = v[j]; v[j] = t;                                                       \
          i++;                                                                                     \
          j--;                                                                                     \
        }                                                                                          \
      }                                                                                            \
      if (k <= j) {                                                                                \
        hi = j;                                                                                    \
      } else if (k >= i) {                                                                         \
        lo = i;                                                                                    \
      } else {                                                                                     \
        return;                                                                                    \
      }                                                                                            \
    }                                                                                              \
  }
SELECT_FN(select_u8, uint8_t)
SELECT_FN(select_i32, int32_t)
SELECT_FN(select_i64, int64_t)
SELECT_FN(select_f32, float)
SELECT_FN(select_f64, double)
#undef SELECT_FN

/* The smallest of v[from..n) (after a selection of from - 1, it is the
 * next order statistic). */
#define MIN_FROM(T)                                                                                \
  {                                                                                                \
    const T *w = (const T *)data;                                                                  \
    T m = w[from];                                                                                 \
    for (int64_t i = from + 1; i < n; i++) {                                                       \
      m = w[i] < m ? w[i] : m;                                                                     \
    }                                                                                              \
    *(T *)slot = m;                                                                                \
  }

/* Puts order statistics k and k + 1 (if k + 1 < n) of data into a and b,
 * as dtype t. */
static void two_stats(floe_dtype t, void *data, int64_t n, int64_t k, void *a, void *b) {
  size_t esz = floe_dtype_size(t);
  switch (t) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    select_u8(data, n, k);
    break;
  case FLOE_INT32:
    select_i32(data, n, k);
    break;
  case FLOE_INT64:
    select_i64(data, n, k);
    break;
  case FLOE_FLOAT32:
    select_f32(data, n, k);
    break;
  default:
    select_f64(data, n, k);
    break;
  }
  memcpy(a, (unsigned char *)data + (size_t)k * esz, esz);
  if (k + 1 >= n) {
    memcpy(b, a, esz);
    return;
  }
  int64_t from = k + 1;
  void *slot = b;
  switch (t) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    MIN_FROM(uint8_t)
    break;
  case FLOE_INT32:
    MIN_FROM(int32_t)
    break;
  case FLOE_INT64:
    MIN_FROM(int64_t)
    break;
  case FLOE_FLOAT32:
    MIN_FROM(float)
    break;
  default:
    MIN_FROM(double)
    break;
  }
}
#undef MIN_FROM

static bool any_nan(floe_dtype t, const void *data, int64_t n) {
  if (t == FLOE_FLOAT32) {
    const float *v = data;
    for (int64_t i = 0; i < n; i++) {
      if (v[i] != v[i]) {
        return true;
      }
    }
  } else if (t == FLOE_FLOAT64) {
    const double *v = data;
    for (int64_t i = 0; i < n; i++) {
      if (v[i] != v[i]) {
        return true;
      }
    }
  }
  return false;
}

static double as_double(floe_dtype t, const void *p) {
  switch (t) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    return *(const uint8_t *)p;
  case FLOE_INT32:
    return *(const int32_t *)p;
  case FLOE_INT64:
    return (double)*(const int64_t *)p;
  case FLOE_FLOAT32:
    return *(const float *)p;
  default:
    return *(const double *)p;
  }
}

void floe__quantile(floe_dtype t, void *data, int64_t n, double q, int median, void *out) {
  unsigned char a[8], b[8];
  if (any_nan(t, data, n)) {
    if (t == FLOE_FLOAT32 && median) {
      *(float *)out = NAN;
    } else {
      *(double *)out = NAN;
    }
    return;
  }
  if (median) {
    /* np.median: the middle element, or the mean of the middle two */
    int64_t k = (n - 1) / 2;
    two_stats(t, data, n, k, a, b);
    if (t == FLOE_FLOAT32) {
      float x = *(float *)a, y = *(float *)b;
      *(float *)out = n % 2 == 1 ? x : (x + y) / 2.0f;
    } else if (n % 2 == 1) {
      *(double *)out = as_double(t, a);
    } else {
      *(double *)out = (as_double(t, a) + as_double(t, b)) / 2.0;
    }
    return;
  }
  /* NumPy's linear method: virtual index (n - 1) * q, and its _lerp */
  double vi = (double)(n - 1) * q;
  int64_t lo = (int64_t)floor(vi);
  if (vi >= (double)(n - 1)) {
    lo = n - 1;
  } else if (vi < 0) {
    lo = 0;
  }
  double g = vi - (double)lo;
  two_stats(t, data, n, lo, a, b);
  double x = as_double(t, a), y = as_double(t, b), diff;
  switch (t) {
  case FLOE_FLOAT32:
    diff = (double)(*(float *)b - *(float *)a); /* subtract(b, a) in the input's type */
    break;
  case FLOE_INT64:
    diff = (double)(int64_t)((uint64_t) * (int64_t *)b - (uint64_t) * (int64_t *)a);
    break;
  case FLOE_INT32:
    diff = (double)(int32_t)((uint32_t) * (int32_t *)b - (uint32_t) * (int32_t *)a);
    break;
  default:
    diff = y - x;
    break;
  }
  *(double *)out = g >= 0.5 ? y - diff * (1.0 - g) : x + diff * g;
}
