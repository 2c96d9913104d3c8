/* Reduction kernels (src/kernels/reduce*.c): every op over every dtype
 * against naive references (long double or exact integers), through fold,
 * accumulate, merge and finalize in random tilings and merge trees; the
 * NumPy corner cases (NaN, inf, -0.0, ties, wrap, ddof, empty sets); the
 * accuracy of the float sums; and determinism, including bit-identical
 * results from the baseline and AVX2 builds of the kernels. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/reduce-internal.h"
#include "testutil.h"

/* The per-ISA kernel tables behind floe__reducer_get (src/kernels). */
const floe__reducer *floe__reduce_arith_generic(floe_reduce_op op, floe_dtype in);
const floe__reducer *floe__reduce_select_generic(floe_reduce_op op, floe_dtype in);
const floe__reducer *floe__reduce_arith_avx2(floe_reduce_op op, floe_dtype in);
const floe__reducer *floe__reduce_select_avx2(floe_reduce_op op, floe_dtype in);

/* ------------------------------------------------------------ helpers */

static const char *const OP_NAMES[] = {
#define OP_NAME(NAME, name) #name,
    FLOE_REDUCE_MAP(OP_NAME)
#undef OP_NAME
};
static const char *const DT_NAMES[] = {"bool", "uint8", "int32", "int64", "float32", "float64"};
static const size_t DT_SIZE[] = {1, 1, 4, 8, 4, 8};

static int is_float(floe_dtype dt) {
  return dt == FLOE_FLOAT32 || dt == FLOE_FLOAT64;
}

#define BIT(op) (1u << FLOE_##op)
#define ARITH_OPS                                                                                  \
  (BIT(SUM) | BIT(PROD) | BIT(MEAN) | BIT(VAR) | BIT(STD) | BIT(NANSUM) | BIT(NANMEAN))
/* min, max, nanmin, nanmax, argmin, argmax: their empty sets are errors */
#define EMPTY_ERROR_OPS                                                                            \
  (BIT(MIN) | BIT(MAX) | BIT(NANMIN) | BIT(NANMAX) | BIT(ARGMIN) | BIT(ARGMAX))

static int is_arith(floe_reduce_op op) {
  return (ARITH_OPS >> op) & 1;
}

/* Results that must come out bit-exact whatever the tiling or merge order. */
static int is_exact(floe_reduce_op op, floe_dtype dt) {
  if (op == FLOE_SUM || op == FLOE_PROD || op == FLOE_NANSUM) {
    return !is_float(dt);
  }
  return !is_arith(op);
}

static long double ld_at(floe_dtype dt, const void *x, int64_t i) {
  switch (dt) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    return ((const uint8_t *)x)[i];
  case FLOE_INT32:
    return ((const int32_t *)x)[i];
  case FLOE_INT64:
    return (long double)((const int64_t *)x)[i];
  case FLOE_FLOAT32:
    return ((const float *)x)[i];
  default:
    return ((const double *)x)[i];
  }
}

static uint64_t u64_at(floe_dtype dt, const void *x, int64_t i) {
  switch (dt) {
  case FLOE_BOOL:
  case FLOE_UINT8:
    return ((const uint8_t *)x)[i];
  case FLOE_INT32:
    return (uint64_t)(int64_t)((const int32_t *)x)[i];
  default:
    return (uint64_t)((const int64_t *)x)[i];
  }
}

static uint64_t bits_of(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

static double uniform(uint64_t *s) {
  return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* Test data.  mode 0: plain random; 1: few distinct values (ties);
 * 2: floats sprinkled with NaN, +-inf and +-0; 3: values near 1 (for
 * products).  Integers span their full range in mode 0 when `wide`. */
static void *gen(floe_dtype dt, int64_t n, int mode, int wide, uint64_t *s) {
  static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, -NAN};
  char *x = malloc((size_t)(n > 0 ? n : 1) * DT_SIZE[dt]);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_next(s);
    double f = (uniform(s) * 2 - 1) * 100;
    int64_t k =
        dt == FLOE_INT64 ? (int64_t)(r >> 24) - (INT64_C(1) << 39) : (int64_t)(r % 2001) - 1000;
    if ((mode == 0 && wide) || dt == FLOE_UINT8 || dt == FLOE_BOOL) {
      k = (int64_t)r;
    }
    if (mode == 1) {
      f = (double)(r % 5) - 2;
      k = (int64_t)(r % 5) - 2;
    } else if (mode == 3) {
      f = 0.95 + 0.1 * uniform(s);
      k = 1 + (int64_t)(r % 3);
    } else if (mode == 2 && (r >> 60) < 6) {
      f = special[r >> 60];
    }
    switch (dt) {
    case FLOE_BOOL:
      ((uint8_t *)x)[i] = (uint8_t)(k & 1);
      break;
    case FLOE_UINT8:
      ((uint8_t *)x)[i] = (uint8_t)k;
      break;
    case FLOE_INT32:
      ((int32_t *)x)[i] = (int32_t)(uint32_t)(uint64_t)k;
      break;
    case FLOE_INT64:
      ((int64_t *)x)[i] = k;
      break;
    case FLOE_FLOAT32:
      ((float *)x)[i] = (float)f;
      break;
    default:
      ((double *)x)[i] = f;
    }
  }
  return x;
}

/* ---------------------------------------------------------- reference */

typedef struct expect {
  int empty;       /* min/max/arg* of nothing */
  int any_nan;     /* a NaN of any bits is right (nanmin/nanmax of all-NaN) */
  uint64_t bits;   /* exact results: the output element's bytes */
  long double val; /* approximate results */
  long double mag; /* scale of the rounding error allowed */
} expect;

/* NumPy's semantics, the slow and obvious way. */
static expect reference(floe_reduce_op op, floe_dtype dt, const void *x, int64_t n, int ddof) {
  expect e = {0};
  int skip = op == FLOE_NANSUM || op == FLOE_NANMEAN || op == FLOE_NANMIN || op == FLOE_NANMAX;
  switch (op) {
  case FLOE_SUM:
  case FLOE_NANSUM:
  case FLOE_PROD:
  case FLOE_MEAN:
  case FLOE_NANMEAN: {
    int prod = op == FLOE_PROD, mean = op == FLOE_MEAN || op == FLOE_NANMEAN;
    uint64_t u = (uint64_t)prod;
    long double v = prod, mag = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
      long double xi = ld_at(dt, x, i);
      if (!is_float(dt)) { /* wrapping int64 */
        u = prod ? u * u64_at(dt, x, i) : u + u64_at(dt, x, i);
      }
      if (!(skip && isnan(xi))) {
        v = prod ? v * xi : v + xi;
        mag += fabsl(xi);
        k++;
      }
    }
    e.bits = u;
    e.val = !mean ? v : k ? v / k : NAN;
    e.mag = prod ? fabsl(v) * (long double)(n + 1) : !mean ? mag : k ? mag / k : 0;
    break;
  }
  case FLOE_VAR:
  case FLOE_STD: { /* two passes */
    long double s = 0, m2 = 0;
    for (int64_t i = 0; i < n; i++) {
      s += ld_at(dt, x, i);
    }
    for (int64_t i = 0; i < n; i++) {
      m2 += (ld_at(dt, x, i) - s / n) * (ld_at(dt, x, i) - s / n);
    }
    long double dof = (long double)n - ddof;
    long double var = n == 0 ? (long double)NAN : m2 / (dof > 0 ? dof : 0);
    e.val = op == FLOE_STD ? sqrtl(var) : var;
    e.mag = fabsl(e.val);
    break;
  }
  case FLOE_ANY_TRUE:
  case FLOE_ALL_TRUE: {
    int any = 0, all = 1;
    for (int64_t i = 0; i < n; i++) {
      int t = ld_at(dt, x, i) != 0; /* NaN is true */
      any |= t;
      all &= t;
    }
    e.bits = (uint64_t)(op == FLOE_ANY_TRUE ? any : all);
    break;
  }
  default: { /* min, max, nanmin, nanmax, argmin, argmax */
    int lo = op == FLOE_MIN || op == FLOE_NANMIN || op == FLOE_ARGMIN;
    int arg = op == FLOE_ARGMIN || op == FLOE_ARGMAX;
    int64_t best = -1;
    for (int64_t i = 0; i < n; i++) {
      long double xi = ld_at(dt, x, i), b = best < 0 ? 0 : ld_at(dt, x, best);
      int better = lo ? xi < b : xi > b;
      if (skip) { /* NaN skipped; the first of equal values stays */
        best = !isnan(xi) && (best < 0 || better) ? i : best;
      } else if (best < 0 || (!isnan(b) && (isnan(xi) || better || (!arg && xi == b)))) {
        best = i; /* the first NaN stays; min/max take the last of equal values */
      }
    }
    e.empty = n == 0;
    if (arg) {
      e.bits = (uint64_t)best;
    } else if (best >= 0) {
      memcpy(&e.bits, (const char *)x + best * (int64_t)DT_SIZE[dt], DT_SIZE[dt]);
    } else {
      e.any_nan = n > 0; /* nanmin/nanmax of all NaN */
    }
  }
  }
  return e;
}

/* Allowed error of an approximate result. */
static long double tolerance(floe_reduce_op op, floe_dtype rdt, const expect *e) {
  long double t = (op == FLOE_VAR || op == FLOE_STD) ? 1e-10L * e->mag : 1e-12L * e->mag;
  if (rdt == FLOE_FLOAT32) {
    t += 1.2e-7L * fabsl(e->val); /* one rounding to float32 */
  }
  return t + 1e-300L;
}

static long double out_ld(floe_dtype rdt, const void *out) {
  if (rdt == FLOE_FLOAT32) {
    return *(const float *)out;
  }
  return *(const double *)out;
}

/* Checks the finalised `out` (and emptiness) against e. */
static void check(const char *what, floe_reduce_op op, floe_dtype dt, const expect *e,
                  const void *out, int empty) {
  const floe__reducer *r = floe__reducer_get(op, dt);
  floe_dtype rdt = floe__reduce_result_dtype(op, dt);
  if (r->is_empty != NULL) {
    cr_assert_eq(empty, e->empty, "%s %s/%s: is_empty %d, expected %d", what, OP_NAMES[op],
                 DT_NAMES[dt], empty, e->empty);
  }
  if (e->empty) {
    return;
  }
  if (is_exact(op, dt)) {
    uint64_t got = 0;
    memcpy(&got, out, DT_SIZE[rdt]);
    if (e->any_nan) {
      cr_assert(isnan(out_ld(rdt, out)), "%s %s/%s: expected NaN", what, OP_NAMES[op],
                DT_NAMES[dt]);
      return;
    }
    cr_assert_eq(got, e->bits, "%s %s/%s: got bits %#llx, expected %#llx", what, OP_NAMES[op],
                 DT_NAMES[dt], (unsigned long long)got, (unsigned long long)e->bits);
    return;
  }
  long double g = out_ld(rdt, out);
  if (isnan(e->val)) {
    cr_assert(isnan(g), "%s %s/%s: got %Lg, expected NaN", what, OP_NAMES[op], DT_NAMES[dt], g);
  } else if (isinf(e->val)) {
    cr_assert(g == e->val, "%s %s/%s: got %Lg, expected %Lg", what, OP_NAMES[op], DT_NAMES[dt], g,
              e->val);
  } else {
    long double tol = tolerance(op, rdt, e);
    cr_assert(fabsl(g - e->val) <= tol, "%s %s/%s: got %.17Lg, expected %.17Lg (tol %Lg)", what,
              OP_NAMES[op], DT_NAMES[dt], g, e->val, tol);
  }
}

/* ------------------------------------------------------------ drivers */

static void merge_groups(const floe__reducer *r, char *accs, size_t asz, int groups, int tree,
                         int64_t nrec) {
  if (tree) { /* adjacent pairs, level by level; dst always the earlier */
    for (int step = 1; step < groups; step *= 2) {
      for (int g = 0; g + step < groups; g += 2 * step) {
        r->merge(accs + (size_t)g * nrec * asz, accs + (size_t)(g + step) * nrec * asz, nrec);
      }
    }
  } else {
    for (int g = 1; g < groups; g++) {
      r->merge(accs, accs + (size_t)g * nrec * asz, nrec);
    }
  }
}

/* x split into random tiles (some empty), runs of tiles into random groups
 * with one accumulator each, the groups merged in order (or as a tree).
 * The final record goes to `acc`. */
static void fold_split(const floe__reducer *r, size_t asz, void *acc, const void *x, size_t es,
                       int64_t n, uint64_t *s) {
  const int64_t max_tiles[] = {1, 7, 64, 300, 2048, 5000};
  int64_t max_tile = max_tiles[rng_below(s, 6)];
  int groups = 1 + (int)rng_below(s, 6), tree = (int)rng_below(s, 2), g = 0;
  char *accs = calloc((size_t)groups, asz);
  r->init(accs, groups);
  for (int64_t i = 0, len = 0; i < n || len > 0; i += len) {
    len = (int64_t)rng_below(s, (uint64_t)max_tile + 1);
    len = len < n - i ? len : n - i;
    g += g < groups - 1 && rng_below(s, 3) == 0;
    r->fold(accs + (size_t)g * asz, (const char *)x + i * (int64_t)es, len, i);
  }
  merge_groups(r, accs, asz, groups, tree, 1);
  memcpy(acc, accs, asz);
  free(accs);
}

/* rows x cols (row-major) accumulated row by row into cols records, rows
 * split into random groups merged in order.  Records go to acc. */
static void accumulate_split(const floe__reducer *r, size_t asz, void *acc, const void *x,
                             size_t es, int64_t rows, int64_t cols, uint64_t *s) {
  int groups = 1 + (int)rng_below(s, 4);
  int tree = (int)rng_below(s, 2);
  char *accs = calloc((size_t)groups * (size_t)cols + 1, asz);
  for (int g = 0; g < groups; g++) {
    r->init(accs + (size_t)g * (size_t)cols * asz, cols);
  }
  int g = 0;
  for (int64_t i = 0; i < rows; i++) {
    if (g < groups - 1 && rng_below(s, 4) == 0) {
      g++;
    }
    r->accumulate(accs + (size_t)g * (size_t)cols * asz, (const char *)x + i * cols * (int64_t)es,
                  cols, i);
  }
  merge_groups(r, accs, asz, groups, tree, cols);
  memcpy(acc, accs, (size_t)cols * asz);
  free(accs);
}

static void finalize1(const floe__reducer *r, const void *acc, void *out, int ddof, int *empty) {
  memset(out, 0, 8);
  r->finalize(acc, out, 1, ddof);
  *empty = r->is_empty != NULL && r->is_empty(acc);
}

typedef struct opdt {
  floe_reduce_op op;
  floe_dtype dt;
} opdt;

static opdt all_pairs[FLOE_REDUCE_COUNT_ * FLOE_DTYPE_COUNT_];

static struct criterion_test_params every_op_and_dtype(void) {
  for (int k = 0; k < FLOE_REDUCE_COUNT_ * FLOE_DTYPE_COUNT_; k++) {
    all_pairs[k] =
        (opdt){(floe_reduce_op)(k / FLOE_DTYPE_COUNT_), (floe_dtype)(k % FLOE_DTYPE_COUNT_)};
  }
  return cr_make_param_array(opdt, all_pairs, FLOE_REDUCE_COUNT_ * FLOE_DTYPE_COUNT_);
}

ParameterizedTestParameters(reduce, fold_matches_reference) {
  return every_op_and_dtype();
}

/* fold in random tilings and merge trees == one-shot fold == reference */
ParameterizedTest(opdt *p, reduce, fold_matches_reference) {
  const floe__reducer *r = floe__reducer_get(p->op, p->dt);
  cr_assert_not_null(r);
  size_t asz = floe__reduce_acc_size(p->op, p->dt), es = DT_SIZE[p->dt];
  const int64_t sizes[] = {0, 1, 2, 7, 8, 9, 16, 127, 128, 129, 1000, 2048, 4099, 20000};
  uint64_t s = 1000u + (uint64_t)p->op * 16 + (uint64_t)p->dt;
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    int64_t n = sizes[si] > 1000 ? TEST_SIZE(sizes[si]) : sizes[si];
    for (int mode = 0; mode < 4; mode++) {
      if (p->op == FLOE_PROD && mode != 3) {
        continue;
      }
      void *x = gen(p->dt, n, mode, is_exact(p->op, p->dt), &s);
      int ddof = (int)rng_below(&s, 2);
      expect e = reference(p->op, p->dt, x, n, ddof);
      char once[32], split[32], out1[8], out2[8];
      int empty1, empty2;
      r->init(once, 1);
      r->fold(once, x, n, 0);
      finalize1(r, once, out1, ddof, &empty1);
      check("one-shot fold", p->op, p->dt, &e, out1, empty1);
      for (int rep = 0; rep < 3; rep++) {
        memset(split, 0, sizeof split);
        fold_split(r, asz, split, x, es, n, &s);
        finalize1(r, split, out2, ddof, &empty2);
        check("split fold", p->op, p->dt, &e, out2, empty2);
        if (is_exact(p->op, p->dt) && !e.empty) {
          cr_assert_eq(memcmp(out1, out2, 8), 0, "%s/%s n=%lld: split fold differs from one-shot",
                       OP_NAMES[p->op], DT_NAMES[p->dt], (long long)n);
        }
      }
      free(x);
    }
  }
}

ParameterizedTestParameters(reduce, accumulate_matches_reference) {
  return every_op_and_dtype();
}

/* accumulate row by row (innermost axis kept), with merged row groups; and
 * a column reduced half by accumulate, half by fold, then merged. */
ParameterizedTest(opdt *p, reduce, accumulate_matches_reference) {
  const floe__reducer *r = floe__reducer_get(p->op, p->dt);
  size_t asz = floe__reduce_acc_size(p->op, p->dt), es = DT_SIZE[p->dt];
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {1, 9}, {3, 7}, {17, 33}, {200, 3}, {64, 130}};
  uint64_t s = 5000u + (uint64_t)p->op * 16 + (uint64_t)p->dt;
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int64_t rows = shapes[si][0], cols = shapes[si][1];
    for (int mode = 0; mode < 4; mode++) {
      if (p->op == FLOE_PROD && mode != 3) {
        continue;
      }
      void *x = gen(p->dt, rows * cols, mode, is_exact(p->op, p->dt), &s);
      void *col = malloc((size_t)(rows + 1) * es);
      char *acc = calloc((size_t)cols, asz);
      char *out = calloc((size_t)cols, 8);
      int ddof = (int)rng_below(&s, 2);
      accumulate_split(r, asz, acc, x, es, rows, cols, &s);
      r->finalize(acc, out, cols, ddof);
      for (int64_t j = 0; j < cols; j++) {
        for (int64_t i = 0; i < rows; i++) {
          memcpy((char *)col + i * (int64_t)es, (char *)x + (i * cols + j) * (int64_t)es, es);
        }
        expect e = reference(p->op, p->dt, col, rows, ddof);
        int empty = r->is_empty != NULL && r->is_empty(acc + (size_t)j * asz);
        size_t rs = DT_SIZE[floe__reduce_result_dtype(p->op, p->dt)];
        check("accumulate", p->op, p->dt, &e, out + (size_t)j * rs, empty);

        /* first k values accumulated one by one, the rest folded */
        int64_t k = (int64_t)rng_below(&s, (uint64_t)rows + 1);
        char a[32] = {0}, b[32] = {0}, o[8];
        r->init(a, 1);
        r->init(b, 1);
        for (int64_t i = 0; i < k; i++) {
          r->accumulate(a, (char *)col + i * (int64_t)es, 1, i);
        }
        r->fold(b, (char *)col + k * (int64_t)es, rows - k, k);
        r->merge(a, b, 1);
        finalize1(r, a, o, ddof, &empty);
        check("accumulate+fold", p->op, p->dt, &e, o, empty);
      }
      free(x);
      free(col);
      free(acc);
      free(out);
    }
  }
}

/* Records that hold different counts (record j has folded j values) still
 * take one accumulate each correctly: the kernels may share work between
 * records of equal counts, never assume it. */
Test(reduce, accumulate_into_records_of_different_counts) {
  for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
    for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
      floe_reduce_op o = (floe_reduce_op)op;
      const floe__reducer *r = floe__reducer_get(o, (floe_dtype)dt);
      size_t asz = floe__reduce_acc_size(o, (floe_dtype)dt), es = DT_SIZE[dt];
      size_t rs = DT_SIZE[floe__reduce_result_dtype(o, (floe_dtype)dt)];
      uint64_t s = 77;
      const int64_t cols = 9;
      char *x = gen((floe_dtype)dt, cols * cols, op == FLOE_PROD ? 3 : 0, 0, &s);
      char *acc = calloc(cols, asz), *out = calloc(cols, 8), *col = malloc(cols * es);
      r->init(acc, cols);
      for (int64_t j = 0; j < cols; j++) { /* record j: x[j*cols .. j*cols + j) */
        r->fold(acc + j * asz, x + j * cols * es, j, 0);
      }
      r->accumulate(acc, x + (cols - 1) * cols * es, cols, cols - 1);
      r->finalize(acc, out, cols, 0);
      for (int64_t j = 0; j < cols; j++) {
        memcpy(col, x + j * cols * es, j * es);
        memcpy(col + j * es, x + ((cols - 1) * cols + j) * es, es);
        expect e = reference(o, (floe_dtype)dt, col, j + 1, 0);
        if (o == FLOE_ARGMIN || o == FLOE_ARGMAX) { /* the row's index is cols - 1 */
          e.bits = e.bits == (uint64_t)j ? (uint64_t)(cols - 1) : e.bits;
        }
        check("uneven accumulate", o, (floe_dtype)dt, &e, out + j * rs, 0);
      }
      free(x);
      free(acc);
      free(out);
      free(col);
    }
  }
}

/* ------------------------------------------------------- dtype rules */

Test(reduce, result_dtypes_follow_numpy) {
  for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
    floe_dtype d = (floe_dtype)dt, f = is_float(d) ? d : FLOE_FLOAT64,
               i = is_float(d) ? d : FLOE_INT64;
    const floe_dtype want[FLOE_REDUCE_COUNT_] = {[FLOE_SUM] = i,
                                                 [FLOE_PROD] = i,
                                                 [FLOE_NANSUM] = i,
                                                 [FLOE_MEAN] = f,
                                                 [FLOE_NANMEAN] = f,
                                                 [FLOE_VAR] = f,
                                                 [FLOE_STD] = f,
                                                 [FLOE_MIN] = d,
                                                 [FLOE_MAX] = d,
                                                 [FLOE_NANMIN] = d,
                                                 [FLOE_NANMAX] = d,
                                                 [FLOE_ARGMIN] = FLOE_INT64,
                                                 [FLOE_ARGMAX] = FLOE_INT64,
                                                 [FLOE_ANY_TRUE] = FLOE_BOOL,
                                                 [FLOE_ALL_TRUE] = FLOE_BOOL};
    for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
      cr_assert_eq(floe__reduce_result_dtype((floe_reduce_op)op, d), want[op], "%s/%s",
                   OP_NAMES[op], DT_NAMES[dt]);
      size_t asz = floe__reduce_acc_size((floe_reduce_op)op, d);
      cr_assert(asz >= 8 && asz <= 32 && asz % 8 == 0, "%s/%s: acc size %zu", OP_NAMES[op],
                DT_NAMES[dt], asz);
      const floe__reducer *r = floe__reducer_get((floe_reduce_op)op, d);
      cr_assert_not_null(r);
      cr_assert(r->init && r->fold && r->accumulate && r->merge && r->finalize);
      cr_assert_eq(r->is_empty != NULL, (EMPTY_ERROR_OPS >> op) & 1, "%s/%s: is_empty",
                   OP_NAMES[op], DT_NAMES[dt]);
    }
  }
  cr_assert_eq(floe__reduce_result_dtype(FLOE_REDUCE_COUNT_, FLOE_INT32), FLOE_DTYPE_COUNT_);
  cr_assert_eq(floe__reduce_result_dtype(FLOE_SUM, FLOE_DTYPE_COUNT_), FLOE_DTYPE_COUNT_);
  cr_assert_eq(floe__reduce_acc_size(FLOE_SUM, (floe_dtype)-1), 0);
  cr_assert_null(floe__reducer_get(FLOE_REDUCE_COUNT_, FLOE_FLOAT64));
  cr_assert_null(floe__reducer_get(FLOE_SUM, FLOE_DTYPE_COUNT_));
}

/* ------------------------------------------------------ corner cases */

/* Reduces v[0..n) (dtype dt) with op in one fold, or with `tiles` in one
 * fold per element (index0 = i); the output element goes to *out (8 bytes,
 * zeroed first).  Returns whether the record is empty. */
static int run(floe_reduce_op op, floe_dtype dt, const void *v, int64_t n, int tiles, int ddof,
               void *out) {
  const floe__reducer *r = floe__reducer_get(op, dt);
  char acc[32] = {0};
  r->init(acc, 1);
  for (int64_t i = 0; i < n; i += tiles ? 1 : n) {
    r->fold(acc, (const char *)v + i * (int64_t)DT_SIZE[dt], tiles ? 1 : n, i);
  }
  memset(out, 0, 8);
  r->finalize(acc, out, 1, ddof);
  return r->is_empty != NULL && r->is_empty(acc);
}

static int64_t run_int(floe_reduce_op op, floe_dtype dt, const void *v, int64_t n) {
  int64_t out;
  run(op, dt, v, n, 0, 0, &out);
  return out;
}

/* The same over doubles, with the output read as a double. */
static double run_f64(floe_reduce_op op, const double *v, int64_t n, int tiles, int ddof,
                      int *empty) {
  char out[8];
  int e = run(op, FLOE_FLOAT64, v, n, tiles, ddof, out);
  if (empty != NULL) {
    *empty = e;
  }
  floe_dtype rdt = floe__reduce_result_dtype(op, FLOE_FLOAT64);
  return rdt == FLOE_INT64  ? (double)*(int64_t *)out
         : rdt == FLOE_BOOL ? *(uint8_t *)out
                            : *(double *)out;
}

/* NumPy 1.24's answers over float64, in one fold and in one-element folds. */
typedef struct corner {
  floe_reduce_op op;
  int n, ddof;
  double v[5], want;
} corner;
#define NZ (-0.0)
/* clang-format off */
static const corner CORNERS[] = {
  /* numpy.min([-0., 0.]) is 0.0 and numpy.min([0., -0.]) is -0.0 (the last of
   * equal values); nanmin/nanmax keep the first, argmin/argmax too */
  {FLOE_MIN, 2, 0, {NZ, 0}, 0},     {FLOE_MIN, 2, 0, {0, NZ}, NZ},   {FLOE_MAX, 2, 0, {NZ, 0}, 0},
  {FLOE_MAX, 2, 0, {0, NZ}, NZ},    {FLOE_NANMIN, 2, 0, {NZ, 0}, NZ},
  {FLOE_NANMIN, 2, 0, {0, NZ}, 0},  {FLOE_NANMAX, 2, 0, {NZ, 0}, NZ},
  {FLOE_ARGMIN, 2, 0, {0, NZ}, 0},  {FLOE_ARGMAX, 2, 0, {NZ, 0}, 0},
  {FLOE_SUM, 1, 0, {NZ}, 0} /* sums start from +0.0 */, {FLOE_ANY_TRUE, 2, 0, {NZ, 0}, 0},
  /* the first NaN wins min/max (its bits too) and argmin/argmax */
  {FLOE_MIN, 5, 0, {1, NAN, 0, -NAN, -5}, NAN},   {FLOE_MAX, 5, 0, {1, NAN, 0, -NAN, -5}, NAN},
  {FLOE_NANMIN, 5, 0, {1, NAN, 0, -NAN, -5}, -5}, {FLOE_NANMAX, 5, 0, {1, NAN, 0, -NAN, -5}, 1},
  {FLOE_ARGMIN, 5, 0, {1, NAN, 0, -NAN, -5}, 1},  {FLOE_ARGMAX, 5, 0, {1, NAN, 0, -NAN, -5}, 1},
  {FLOE_SUM, 5, 0, {1, NAN, 0, -NAN, -5}, NAN},   {FLOE_VAR, 5, 0, {1, NAN, 0, -NAN, -5}, NAN},
  {FLOE_NANSUM, 5, 0, {1, NAN, 0, -NAN, -5}, -4},
  {FLOE_NANMEAN, 5, 0, {1, NAN, 0, -NAN, -5}, -4.0 / 3},
  {FLOE_NANSUM, 2, 0, {NAN, NAN}, 0},   {FLOE_NANMEAN, 2, 0, {NAN, NAN}, NAN},
  {FLOE_ALL_TRUE, 1, 0, {NAN}, 1},      {FLOE_ALL_TRUE, 3, 0, {NAN, 1, 0}, 0},
  /* infinities */
  {FLOE_SUM, 3, 0, {INFINITY, 1, -INFINITY}, NAN}, {FLOE_SUM, 2, 0, {INFINITY, 1}, INFINITY},
  {FLOE_VAR, 2, 0, {INFINITY, 1}, NAN},  {FLOE_MIN, 3, 0, {INFINITY, 1, -INFINITY}, -INFINITY},
  {FLOE_ARGMAX, 3, 0, {INFINITY, 1, INFINITY}, 0}, {FLOE_NANMIN, 2, 0, {INFINITY, NAN}, INFINITY},
  {FLOE_PROD, 2, 0, {INFINITY, -2}, -INFINITY},
  /* ties: the first index */
  {FLOE_ARGMIN, 5, 0, {3, 1, 5, 1, 7}, 1}, {FLOE_ARGMAX, 5, 0, {3, 7, 5, 1, 7}, 1},
  /* numpy.var([1., 2., 3.], ddof=d): 2/3, 1, 2, inf, inf (M2 / max(n - ddof, 0)); 0/0 is NaN */
  {FLOE_VAR, 3, 0, {1, 2, 3}, 2.0 / 3},  {FLOE_VAR, 3, 1, {1, 2, 3}, 1},
  {FLOE_VAR, 3, 2, {1, 2, 3}, 2},        {FLOE_VAR, 3, 3, {1, 2, 3}, INFINITY},
  {FLOE_VAR, 3, 4, {1, 2, 3}, INFINITY}, {FLOE_VAR, 3, -1, {1, 2, 3}, 0.5},
  {FLOE_STD, 3, 1, {1, 2, 3}, 1},        {FLOE_STD, 3, 3, {1, 2, 3}, INFINITY},
  {FLOE_VAR, 1, 0, {5}, 0},              {FLOE_VAR, 1, 1, {5}, NAN},
};
/* clang-format on */

static int same_bits(double a, double b) {
  return bits_of(a) == bits_of(b);
}

Test(reduce, numpy_corner_cases) {
  for (size_t k = 0; k < sizeof CORNERS / sizeof CORNERS[0]; k++) {
    const corner *c = &CORNERS[k];
    for (int tiles = 0; tiles < 2; tiles++) {
      int empty;
      double got = run_f64(c->op, c->v, c->n, tiles, c->ddof, &empty);
      /* arithmetic NaNs may have either sign; selected ones are the input's */
      int ok = is_arith(c->op) && isnan(c->want) ? isnan(got) : same_bits(got, c->want);
      cr_assert(ok && !empty, "case %zu: %s of %d values, ddof %d: got %g, want %g", k,
                OP_NAMES[c->op], c->n, c->ddof, got, c->want);
    }
  }
  /* all NaN: nanmin/nanmax give NaN, which is not an empty error */
  const double nn[] = {NAN, NAN, NAN};
  int empty = 1;
  cr_assert(isnan(run_f64(FLOE_NANMIN, nn, 3, 0, 0, &empty)) && !empty);
  cr_assert(isnan(run_f64(FLOE_NANMAX, nn, 3, 1, 0, &empty)) && !empty);
  /* long runs of zeros: the sign comes from the last one, wherever the
   * vector lanes put it (the first one for nanmin) */
  double v[301];
  for (int last = 0; last < 301; last += 37) {
    for (int i = 0; i < 301; i++) {
      v[i] = i <= last ? 0.0 : -0.0;
    }
    cr_assert(same_bits(run_f64(FLOE_MIN, v, 301, 0, 0, NULL), v[300]));
    cr_assert(same_bits(run_f64(FLOE_MAX, v, 301, 1, 0, NULL), v[300]));
    cr_assert(same_bits(run_f64(FLOE_NANMIN, v, 301, 0, 0, NULL), v[0]));
    cr_assert(same_bits(run_f64(FLOE_NANMAX, v + last, 301 - last, 0, 0, NULL), 0.0));
  }
}

Test(reduce, argmin_ties_across_merges) {
  /* merges decide ties by index, whichever side holds the lower one */
  const floe__reducer *r = floe__reducer_get(FLOE_ARGMIN, FLOE_INT32);
  const int32_t x[] = {4, 2, 9, 2, 2}, row0[] = {5, 5}, row1[] = {5, 4};
  char a[16], b[16], c[16], two[32];
  int64_t out, outs[2];
  r->init(a, 1);
  r->init(b, 1);
  r->init(c, 1);
  r->fold(a, x, 2, 100);     /* indices 100, 101: min 2 at 101 */
  r->fold(b, x + 2, 3, 102); /* 2 at 103 */
  r->merge(c, b, 1);         /* into an empty record */
  r->merge(c, a, 1);         /* the lower index wins from the src side too */
  r->finalize(c, &out, 1, 0);
  cr_assert_eq(out, 101);
  r->init(a, 1);
  r->merge(b, a, 1); /* an empty source changes nothing */
  r->finalize(b, &out, 1, 0);
  cr_assert_eq(out, 103);
  /* accumulate: index is the row */
  r->init(two, 2);
  r->accumulate(two, row0, 2, 7);
  r->accumulate(two, row1, 2, 8);
  r->finalize(two, outs, 2, 0);
  cr_assert(outs[0] == 7 && outs[1] == 8);
}

Test(reduce, integer_sums_wrap_like_int64) {
  const int64_t v[] = {INT64_MAX, 1, 5}, w[] = {INT64_C(1) << 62, 4, -3};
  cr_assert_eq(run_int(FLOE_SUM, FLOE_INT64, v, 2), INT64_MIN);
  cr_assert_eq(run_int(FLOE_SUM, FLOE_INT64, v, 3), INT64_MIN + 5);
  cr_assert_eq(run_int(FLOE_NANSUM, FLOE_INT64, v, 2), INT64_MIN);
  cr_assert_eq(run_int(FLOE_PROD, FLOE_INT64, w, 2), 0);
  cr_assert_eq(run_int(FLOE_PROD, FLOE_INT64, w + 1, 2), -12);
  /* through accumulate and merge too */
  const floe__reducer *r = floe__reducer_get(FLOE_SUM, FLOE_INT64);
  int64_t a, b, out;
  r->init(&a, 1);
  r->init(&b, 1);
  r->accumulate(&a, v, 1, 0);
  r->accumulate(&b, v + 1, 1, 1);
  r->merge(&a, &b, 1);
  r->finalize(&a, &out, 1, 0);
  cr_assert_eq(out, INT64_MIN);
  /* uint8, bool and int32 sums widen to int64 */
  uint8_t u[300];
  memset(u, 255, sizeof u);
  cr_assert_eq(run_int(FLOE_SUM, FLOE_UINT8, u, 300), 300 * 255);
  memset(u, 1, sizeof u);
  cr_assert_eq(run_int(FLOE_SUM, FLOE_BOOL, u, 300), 300);
  const int32_t big[] = {INT32_MAX, INT32_MAX, INT32_MIN};
  cr_assert_eq(run_int(FLOE_SUM, FLOE_INT32, big, 2), 2 * (int64_t)INT32_MAX);
  cr_assert_eq(run_int(FLOE_PROD, FLOE_INT32, big, 2), (int64_t)INT32_MAX * INT32_MAX);
}

Test(reduce, integer_var_and_mean) {
  /* numpy.var([1, 2, 3, 4], ddof=1) and numpy.mean, in float64 */
  const int32_t iv[] = {1, 2, 3, 4};
  double out;
  run(FLOE_VAR, FLOE_INT32, iv, 4, 1, 1, &out);
  cr_assert_float_eq(out, 5.0 / 3, 1e-15);
  run(FLOE_MEAN, FLOE_INT32, iv, 4, 0, 0, &out);
  cr_assert_eq(out, 2.5);
}

Test(reduce, empty_reductions) {
  for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
    for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
      const floe__reducer *r = floe__reducer_get((floe_reduce_op)op, (floe_dtype)dt);
      floe_dtype rdt = floe__reduce_result_dtype((floe_reduce_op)op, (floe_dtype)dt);
      char acc[64] = {0}, out[8] = {0};
      double dummy = 1;
      r->init(acc, 2);
      r->fold(acc, &dummy, 0, 0); /* an empty tile changes nothing */
      r->merge(acc, acc + floe__reduce_acc_size((floe_reduce_op)op, (floe_dtype)dt), 1);
      if (r->is_empty != NULL) {
        cr_assert(r->is_empty(acc), "%s/%s", OP_NAMES[op], DT_NAMES[dt]);
        r->fold(acc, &dummy, 1, 0);
        cr_assert_not(r->is_empty(acc), "%s/%s", OP_NAMES[op], DT_NAMES[dt]);
        continue;
      }
      r->finalize(acc, out, 1, 0);
      long double v = rdt == FLOE_BOOL    ? *(uint8_t *)out
                      : rdt == FLOE_INT64 ? (long double)*(int64_t *)out
                                          : out_ld(rdt, out);
      long double want = op == FLOE_PROD || op == FLOE_ALL_TRUE                       ? 1
                         : op == FLOE_SUM || op == FLOE_NANSUM || op == FLOE_ANY_TRUE ? 0
                                                                                      : NAN;
      cr_assert(v == want || (isnan(v) && isnan(want)), "%s/%s: %Lg", OP_NAMES[op], DT_NAMES[dt],
                v); /* mean, var, std and nanmean of nothing are NaN */
    }
  }
}

/* ---------------------------------------------------------- accuracy */

/* NumPy's pairwise_sum, transcribed. */
static double numpy_pairwise(const double *a, int64_t n) {
  if (n < 8) {
    double res = 0.;
    for (int64_t i = 0; i < n; i++) {
      res += a[i];
    }
    return res;
  }
  if (n <= 128) {
    double r[8], res;
    int64_t i;
    for (int j = 0; j < 8; j++) {
      r[j] = a[j];
    }
    for (i = 8; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; j++) {
        r[j] += a[i + j];
      }
    }
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) {
      res += a[i];
    }
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise(a, n2) + numpy_pairwise(a + n2, n - n2);
}

Test(reduce, float64_fold_is_numpys_pairwise_sum) {
  uint64_t s = 42;
  double *x = gen(FLOE_FLOAT64, 5000, 0, 0, &s);
  const floe__reducer *r = floe__reducer_get(FLOE_SUM, FLOE_FLOAT64);
  for (int64_t n = 0; n <= 5000; n += n < 300 ? 1 : 97) {
    double acc, out;
    r->init(&acc, 1);
    r->fold(&acc, x, n, 0);
    r->finalize(&acc, &out, 1, 0);
    cr_assert(same_bits(out, 0.0 + numpy_pairwise(x, n)), "n=%lld", (long long)n);
  }
  free(x);
}

Test(reduce, float32_sums_accumulate_in_float64) {
  /* 1e6 values k/1024 with k < 2^20: every partial sum is exact in double,
   * so the result must be the exact sum rounded once to float32; a float32
   * accumulator would be far off. */
  int64_t n = 1000000;
  float *x = malloc((size_t)n * sizeof *x);
  uint64_t s = 7;
  long double exact = 0;
  float naive = 0;
  for (int64_t i = 0; i < n; i++) {
    x[i] = (float)(rng_below(&s, 1u << 20)) / 1024.0f;
    exact += x[i];
    naive += x[i];
  }
  const floe__reducer *r = floe__reducer_get(FLOE_SUM, FLOE_FLOAT32);
  const floe__reducer *m = floe__reducer_get(FLOE_MEAN, FLOE_FLOAT32);
  double acc, macc[2];
  float out, mout;
  r->init(&acc, 1);
  m->init(macc, 1);
  for (int64_t i = 0; i < n; i += 2048) {
    int64_t len = n - i < 2048 ? n - i : 2048;
    r->fold(&acc, x + i, len, i);
    m->fold(macc, x + i, len, i);
  }
  r->finalize(&acc, &out, 1, 0);
  m->finalize(macc, &mout, 1, 0);
  cr_assert_eq(out, (float)exact, "got %.9g, want %.9g", out, (float)exact);
  cr_assert_eq(mout, (float)(exact / n));
  cr_assert_neq(naive, (float)exact, "the test data does not tell float32 from float64 sums");
  free(x);
}

Test(reduce, var_is_accurate_with_a_large_mean) {
  /* 1e8 + N(0, 1)-ish: the textbook sum-of-squares formula loses every digit */
  int64_t n = 100000;
  double *x = malloc((size_t)n * sizeof *x);
  uint64_t s = 3;
  for (int64_t i = 0; i < n; i++) {
    x[i] = 1e8 + (uniform(&s) - 0.5);
  }
  expect e = reference(FLOE_VAR, FLOE_FLOAT64, x, n, 0);
  const floe__reducer *r = floe__reducer_get(FLOE_VAR, FLOE_FLOAT64);
  double acc[3], out;
  r->init(acc, 1);
  for (int64_t i = 0; i < n; i += 2000) {
    r->fold(acc, x + i, 2000, i);
  }
  r->finalize(acc, &out, 1, 0);
  cr_assert(fabsl(out - e.val) <= 1e-8L * e.val, "fold %.17g vs %.17Lg", out, e.val);
  r->init(acc, 1);
  for (int64_t i = 0; i < n; i++) {
    r->accumulate(acc, x + i, 1, i);
  }
  r->finalize(acc, &out, 1, 0);
  /* Welford's running mean carries rounding errors of 1e8's ulp into M2 */
  cr_assert(fabsl(out - e.val) <= 1e-6L * e.val, "accumulate %.17g vs %.17Lg", out, e.val);
  free(x);
}

/* ------------------------------------------------------- determinism */

/* Arithmetic may give NaNs of either sign: x86 returns the first NaN
 * operand, and compilers order commutative operands as they like.  NaN
 * results compare equal whatever their bits. */
static void canonical_nans(unsigned char *p, size_t n, size_t width) {
  for (size_t i = 0; i + width <= n; i += width) {
    double d = 0;
    float f = 0;
    memcpy(width == 8 ? (void *)&d : (void *)&f, p + i, width);
    if (isnan(d) || isnan(f)) {
      memset(p + i, 0xff, width);
    }
  }
}

/* A fixed random call sequence (fold, accumulate, merge) over every op and
 * dtype, run through `arith`/`select`; appends all records and outputs
 * (arithmetic NaNs made canonical with `canon`). */
static size_t run_sequence(const floe__reducer *(*arith)(floe_reduce_op, floe_dtype),
                           const floe__reducer *(*select)(floe_reduce_op, floe_dtype), int canon,
                           unsigned char *buf) {
  size_t len = 0;
  for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
    for (int dt = 0; dt < FLOE_DTYPE_COUNT_; dt++) {
      floe_reduce_op o = (floe_reduce_op)op;
      floe_dtype rdt = floe__reduce_result_dtype(o, (floe_dtype)dt);
      int arithmetic = is_arith(o);
      const floe__reducer *r = (arithmetic ? arith : select)(o, (floe_dtype)dt);
      size_t asz = floe__reduce_acc_size(o, (floe_dtype)dt), es = DT_SIZE[dt];
      for (int mode = 0; mode < 4; mode++) {
        uint64_t s = (uint64_t)(op * 100 + dt * 10 + mode);
        int64_t rows = 37, cols = 301;
        void *x = gen((floe_dtype)dt, rows * cols, mode, 1, &s);
        unsigned char *start = buf + len;
        char *acc = calloc((size_t)cols, asz);
        accumulate_split(r, asz, acc, x, es, rows, cols, &s);
        memcpy(buf + len, acc, (size_t)cols * asz);
        len += (size_t)cols * asz;
        char one[32] = {0};
        fold_split(r, asz, one, x, es, rows * cols, &s);
        memcpy(buf + len, one, asz);
        len += asz;
        if (canon && arithmetic) { /* records of doubles and int64 */
          canonical_nans(start, len - (size_t)(start - buf), 8);
        }
        r->finalize(acc, buf + len, cols, 1);
        if (canon && arithmetic && is_float(rdt)) {
          canonical_nans(buf + len, (size_t)cols * DT_SIZE[rdt], DT_SIZE[rdt]);
        }
        len += (size_t)cols * DT_SIZE[rdt];
        free(acc);
        free(x);
      }
    }
  }
  return len;
}

Test(reduce, same_calls_give_the_same_bits) {
  size_t cap = 16u << 20;
  unsigned char *a = calloc(cap, 1), *b = calloc(cap, 1);
  size_t la = run_sequence(floe__reducer_get, floe__reducer_get, 0, a);
  size_t lb = run_sequence(floe__reducer_get, floe__reducer_get, 0, b);
  cr_assert_eq(la, lb);
  cr_assert_eq(memcmp(a, b, la), 0);
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    la = run_sequence(floe__reduce_arith_generic, floe__reduce_select_generic, 1, a);
    lb = run_sequence(floe__reduce_arith_avx2, floe__reduce_select_avx2, 1, b);
    cr_assert_eq(la, lb);
    for (size_t i = 0; i < la; i++) {
      cr_assert_eq(a[i], b[i], "baseline and AVX2 kernels differ at byte %zu", i);
    }
  }
#endif
  free(a);
  free(b);
}
