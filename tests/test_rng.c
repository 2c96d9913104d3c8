/* Counter-based random streams (src/kernels/rng.c, rng-avx2.c): Philox
 * known answers, the stream layout of rng-internal.h rebuilt here from
 * floe__philox4x32_10, independence from chunking, agreement of the AVX2
 * and scalar paths bit for bit, ranges and moments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/rng-internal.h"

/* Internal entry points of rng.c and rng-avx2.c (declared only there). */
void floe__random_uniform_f64_scalar(uint64_t seed, uint64_t first, int64_t n, double low,
                                     double high, double *out);
void floe__random_uniform_f32_scalar(uint64_t seed, uint64_t first, int64_t n, double low,
                                     double high, float *out);
void floe__random_normal_f64_scalar(uint64_t seed, uint64_t first, int64_t n, double mean,
                                    double stddev, double *out);
void floe__random_normal_f32_scalar(uint64_t seed, uint64_t first, int64_t n, double mean,
                                    double stddev, float *out);
void floe__random_uniform_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, double *out);
void floe__random_uniform_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, float *out);
void floe__random_normal_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, double *out);
void floe__random_normal_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, float *out);
int floe__rng_use_avx2(void);

/* ------------------------------------------------------------ harness */

typedef void gen_fn(uint64_t seed, uint64_t first, int64_t n, double a, double b, void *out);

#define WRAP(name, T)                                                                              \
  static void w_##name(uint64_t seed, uint64_t first, int64_t n, double a, double b, void *out) {  \
    floe__random_##name(seed, first, n, a, b, (T *)out);                                           \
  }
WRAP(uniform_f64, double)
WRAP(uniform_f32, float)
WRAP(normal_f64, double)
WRAP(normal_f32, float)
WRAP(uniform_f64_scalar, double)
WRAP(uniform_f32_scalar, float)
WRAP(normal_f64_scalar, double)
WRAP(normal_f32_scalar, float)
WRAP(uniform_f64_avx2, double)
WRAP(uniform_f32_avx2, float)
WRAP(normal_f64_avx2, double)
WRAP(normal_f32_avx2, float)

typedef struct gen {
  const char *name;
  size_t esize;
  unsigned epb; /* values per Philox block */
  gen_fn *fn, *scalar, *avx2;
  double a, b; /* low, high or mean, stddev used by the generic tests */
} gen;

static const gen gens[] = {
    {"uniform_f64", 8, 2, w_uniform_f64, w_uniform_f64_scalar, w_uniform_f64_avx2, -1.5, 2.5},
    {"uniform_f32", 4, 4, w_uniform_f32, w_uniform_f32_scalar, w_uniform_f32_avx2, -1.5, 2.5},
    {"normal_f64", 8, 2, w_normal_f64, w_normal_f64_scalar, w_normal_f64_avx2, 1.0, 3.0},
    {"normal_f32", 4, 4, w_normal_f32, w_normal_f32_scalar, w_normal_f32_avx2, 1.0, 3.0},
};
enum { NGEN = sizeof gens / sizeof gens[0] };

static const uint64_t seeds[] = {0, 1, 0x9E3779B97F4A7C15u, 0xFFFFFFFF00000000u};

static int have_avx2(void) {
  return floe__rng_use_avx2();
}

static uint64_t rng_state = 0x243F6A8885A308D3u;
static uint64_t xorshift(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  cr_assert_not_null(p);
  return p;
}

static void words(uint64_t seed, uint64_t blk, uint32_t w[4]) {
  const uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), 0, 0};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  floe__philox4x32_10(ctr, key, w);
}

/* Index of the first differing value, or -1. */
static long first_diff(const void *a, const void *b, size_t n, size_t esize) {
  for (size_t i = 0; i < n; i++) {
    if (memcmp((const char *)a + i * esize, (const char *)b + i * esize, esize) != 0) {
      return (long)i;
    }
  }
  return -1;
}

/* -------------------------------------------------------------- Philox */

Test(rng, philox_known_answers) {
  /* Random123's kat_vectors for philox4x32_10. */
  static const struct {
    uint32_t ctr[4], key[2], out[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
    uint32_t out[4];
    floe__philox4x32_10(kat[t].ctr, kat[t].key, out);
    for (int i = 0; i < 4; i++) {
      cr_assert_eq(out[i], kat[t].out[i], "vector %zu word %d: %08x, want %08x", t, i, out[i],
                   kat[t].out[i]);
    }
  }
}

Test(rng, consecutive_blocks_differ) {
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    uint32_t prev[4], cur[4];
    words(seeds[s], 0, prev);
    for (uint64_t k = 1; k < 100000; k++) {
      words(seeds[s], k, cur);
      cr_assert(memcmp(prev, cur, sizeof cur) != 0, "seed %zu: blocks %lu and %lu equal", s,
                (unsigned long)k - 1, (unsigned long)k);
      memcpy(prev, cur, sizeof cur);
    }
  }
  /* and through a generator: (2k, 2k+1) never equals (2k+2, 2k+3) */
  enum { N = 200000 };
  double *u = xmalloc(N * sizeof *u);
  floe__random_uniform_f64(7, 0, N, 0.0, 1.0, u);
  for (int i = 0; i + 3 < N; i += 2) {
    cr_assert(u[i] != u[i + 2] || u[i + 1] != u[i + 3], "values %d.. repeat", i);
  }
  free(u);
}

/* ------------------------------------------------------- stream layout */

/* Each uniform value rebuilt from the words as rng-internal.h specifies. */
Test(rng, uniform_layout) {
  enum { N = 4099 };
  double *d = xmalloc(N * sizeof *d);
  float *f = xmalloc(N * sizeof *f);
  const uint64_t first = 3;
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    floe__random_uniform_f64(seeds[s], first, N, 0.0, 1.0, d);
    floe__random_uniform_f32(seeds[s], first, N, 0.0, 1.0, f);
    for (uint64_t i = first; i < first + N; i++) {
      uint32_t w[4];
      words(seeds[s], i / 2, w);
      const uint32_t *p = w + 2 * (i % 2);
      const double want = (double)((p[0] | (uint64_t)p[1] << 32) >> 11) * 0x1p-53;
      cr_assert(d[i - first] == want, "f64 seed %zu value %lu: %a, want %a", s, (unsigned long)i,
                d[i - first], want);
      words(seeds[s], i / 4, w);
      const float wantf = (float)(w[i % 4] >> 8) * 0x1p-24f;
      cr_assert(f[i - first] == wantf, "f32 seed %zu value %lu", s, (unsigned long)i);
    }
    /* scaling: low + (high - low) u, where that stays below high */
    floe__random_uniform_f64(seeds[s], first, N, -3.0, 5.0, d);
    for (uint64_t i = first; i < first + N; i++) {
      uint32_t w[4];
      words(seeds[s], i / 2, w);
      const uint32_t *p = w + 2 * (i % 2);
      const double u = (double)((p[0] | (uint64_t)p[1] << 32) >> 11) * 0x1p-53;
      cr_assert(d[i - first] == -3.0 + 8.0 * u, "scaled f64 value %lu", (unsigned long)i);
    }
  }
  free(d);
  free(f);
}

/* Box-Muller in long double: r and z. */
static long double ref_z(double u1, double u2, int cosine, long double *r) {
  const long double two_pi = 6.283185307179586476925286766559005768L;
  *r = sqrtl(-2.0L * logl(u1));
  return cosine ? *r * cosl(two_pi * u2) : *r * sinl(two_pi * u2);
}

/* Normals against Box-Muller in long double from the same words: the
 * library's own log and sincos (fdlibm's kernels) are within a few ulp. */
Test(rng, normal_layout) {
  enum { N = 200001 };
  double *d = xmalloc(N * sizeof *d);
  float *f = xmalloc(N * sizeof *f);
  const uint64_t first = 1;
  double worst = 0, worstf = 0;
  floe__random_normal_f64(42, first, N, 0.0, 1.0, d);
  floe__random_normal_f32(42, first, N, 0.0, 1.0, f);
  for (uint64_t i = first; i < first + N; i++) {
    uint32_t w[4];
    words(42, i / 2, w);
    const double u1 = 1.0 - (double)((w[0] | (uint64_t)w[1] << 32) >> 11) * 0x1p-53;
    const double u2 = (double)((w[2] | (uint64_t)w[3] << 32) >> 11) * 0x1p-53;
    long double r;
    const long double want = ref_z(u1, u2, i % 2 == 0, &r);
    worst = fmax(worst, (double)(fabsl(d[i - first] - want) / fmaxl(1.0L, r)));
    words(42, i / 4, w);
    const unsigned j = i % 4, pair = j / 2 * 2;
    const double v1 = 1.0 - (double)(w[pair] >> 8) * 0x1p-24;
    const double v2 = (double)(w[pair + 1] >> 8) * 0x1p-24;
    const long double wantf = ref_z(v1, v2, j % 2 == 0, &r);
    worstf = fmax(worstf, (double)(fabsl(f[i - first] - wantf) / fmaxl(1.0L, fabsl(wantf))));
  }
  /* measured 2.8e-16, about 1.3 ulp */
  cr_assert(worst < 6e-16, "float64 normals off by %g of max(1, r)", worst);
  cr_assert(worstf < 1.2e-7, "float32 normals off by %g relative", worstf);
  free(d);
  free(f);
}

/* The tails of u1 near 0 and u2 at the quadrant boundaries, through the
 * scalar path's values at chosen words (the vector path must agree, which
 * parity_* checks on random words). */
Test(rng, normal_extremes) {
  /* u1 = 2^-53 is the smallest: r = sqrt(106 ln 2) = 8.57 */
  const double rmax = sqrt(-2.0 * log(0x1p-53));
  cr_assert(rmax > 8.5 && rmax < 8.6);
  enum { N = 1 << 16 };
  double *d = xmalloc(N * sizeof *d);
  double lo = 0, hi = 0;
  for (uint64_t s = 0; s < 16; s++) {
    floe__random_normal_f64(s, 0, N, 0.0, 1.0, d);
    for (int i = 0; i < N; i++) {
      cr_assert(isfinite(d[i]) && fabs(d[i]) <= rmax, "value %g", d[i]);
      lo = fmin(lo, d[i]);
      hi = fmax(hi, d[i]);
    }
  }
  cr_assert(lo < -4.0 && hi > 4.0, "no tails: [%g, %g]", lo, hi);
  free(d);
}

/* ---------------------------------------------------- chunk invariance */

static void check_splits(const gen *g, gen_fn *fn, uint64_t seed, uint64_t first, size_t n) {
  char *whole = xmalloc(n * g->esize);
  char *parts = xmalloc(n * g->esize);
  fn(seed, first, (int64_t)n, g->a, g->b, whole);
  for (int trial = 0; trial < 4; trial++) {
    memset(parts, 0xA5, n * g->esize);
    size_t done = 0;
    while (done < n) {
      static const size_t small[] = {0, 1, 2, 3, 5, 7, 8, 13, 16, 31, 33, 64};
      size_t m = trial == 0            ? xorshift() % 4
                 : xorshift() % 3 == 0 ? xorshift() % 300
                                       : small[xorshift() % 12];
      m = m < n - done ? m : n - done;
      fn(seed, first + done, (int64_t)m, g->a, g->b, parts + done * g->esize);
      done += m;
    }
    const long at = first_diff(whole, parts, n, g->esize);
    cr_assert(at < 0, "%s seed %lx first %lu n %zu trial %d: value %ld differs", g->name,
              (unsigned long)seed, (unsigned long)first, n, trial, at);
  }
  free(whole);
  free(parts);
}

Test(rng, chunking_does_not_matter) {
  static const uint64_t firsts[] = {0, 1, 2, 3, 5, 6, 7, 4096, 123457};
  for (int k = 0; k < NGEN; k++) {
    const gen *g = &gens[k];
    for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
      check_splits(g, g->fn, 0x1234, firsts[f], 3000);
    }
    check_splits(g, g->scalar, 0x1234, 5, 1000);
    /* blocks 2^32 - 20 .. 2^32 + 40: the counter's high word changes inside
     * a vector chunk */
    check_splits(g, g->fn, 99, ((uint64_t)1 << 32) * g->epb - 20 * g->epb - 1, 500);
    check_splits(g, g->fn, 99, UINT64_MAX - 1000, 1000);
  }
}

/* Every (first, n) with n in {0, 1, 2, 3, 5, 1000} is the matching slice of
 * one long call. */
Test(rng, slices_of_one_call) {
  enum { N = 1200 };
  static const int64_t ns[] = {0, 1, 2, 3, 5, 1000};
  for (int k = 0; k < NGEN; k++) {
    const gen *g = &gens[k];
    char *whole = xmalloc(N * g->esize);
    char *part = xmalloc(1000 * g->esize + 1);
    g->fn(5, 100, N, g->a, g->b, whole);
    for (int64_t off = 0; off < 100; off++) {
      for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        memset(part, 0x5A, 1000 * g->esize + 1);
        g->fn(5, 100 + (uint64_t)off, ns[t], g->a, g->b, part);
        cr_assert(first_diff(whole + off * g->esize, part, (size_t)ns[t], g->esize) < 0,
                  "%s: first %ld n %ld", g->name, (long)(100 + off), (long)ns[t]);
        cr_assert_eq((unsigned char)part[ns[t] * g->esize], 0x5A,
                     "%s: wrote past n = %ld at first %ld", g->name, (long)ns[t],
                     (long)(100 + off));
      }
    }
    free(whole);
    free(part);
  }
}

/* ------------------------------------------------- AVX2 against scalar */

static void check_parity(const gen *g, uint64_t seed, uint64_t first, size_t n, double a,
                         double b) {
  char *s = xmalloc(n * g->esize);
  char *v = xmalloc(n * g->esize);
  g->scalar(seed, first, (int64_t)n, a, b, s);
  g->avx2(seed, first, (int64_t)n, a, b, v);
  const long at = first_diff(s, v, n, g->esize);
  cr_assert(at < 0, "%s seed %lx first %lu (%g, %g): value %ld differs", g->name,
            (unsigned long)seed, (unsigned long)first, a, b, at);
  free(s);
  free(v);
}

Test(rng, avx2_matches_scalar) {
  if (!have_avx2()) {
    cr_skip_test("no AVX2 on this CPU");
  }
  static const double params[][2] = {{0.0, 1.0},  {-1.5, 2.5}, {1e300, -1e300}, {3.0, 3.0},
                                     {-0.0, 1.0}, {0.5, 0.25}, {1e-300, 2e-300}};
  for (int k = 0; k < NGEN; k++) {
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
      for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
        check_parity(&gens[k], seeds[s], 1 + s, 20011, params[p][0], params[p][1]);
      }
    }
    /* the counters' high word changes inside a chunk, and (192 values
     * being whole chunks) at a chunk's start */
    check_parity(&gens[k], 3, ((uint64_t)1 << 32) * gens[k].epb - 999, 2000, 0.0, 1.0);
    check_parity(&gens[k], 3, ((uint64_t)1 << 32) * gens[k].epb - 192, 2000, 0.0, 1.0);
  }
  /* Box-Muller over many words, where last-bit differences would show */
  check_parity(&gens[2], 11, 0, 2000000, 0.0, 1.0);
  check_parity(&gens[3], 11, 0, 2000000, 0.0, 1.0);
}

/* ------------------------------------------------------------- ranges */

static void check_range_f64(double low, double high, int both_paths) {
  enum { N = 100000 };
  double *d = xmalloc(N * sizeof *d);
  for (int path = 0; path < (both_paths ? 2 : 1); path++) {
    if (path == 0) {
      floe__random_uniform_f64_scalar(17, 0, N, low, high, d);
    } else {
      floe__random_uniform_f64(17, 0, N, low, high, d);
    }
    for (int i = 0; i < N; i++) {
      cr_assert(d[i] >= low && d[i] < high, "[%a, %a): value %d = %a", low, high, i, d[i]);
    }
  }
  free(d);
}

static void check_range_f32(double low, double high) {
  enum { N = 100000 };
  float *f = xmalloc(N * sizeof *f);
  for (int path = 0; path < 2; path++) {
    if (path == 0) {
      floe__random_uniform_f32_scalar(17, 0, N, low, high, f);
    } else {
      floe__random_uniform_f32(17, 0, N, low, high, f);
    }
    for (int i = 0; i < N; i++) {
      cr_assert(f[i] >= low && f[i] < high, "[%a, %a): value %d = %a", low, high, i, (double)f[i]);
    }
  }
  free(f);
}

Test(rng, uniform_stays_in_range) {
  check_range_f64(0.0, 1.0, 1);
  check_range_f64(-2.5, 7.0, 1);
  check_range_f64(-1e-300, 1e-300, 1);
  /* low + (high - low) u rounds up to high half the time here: clamped */
  check_range_f64(0x1p53 - 2.0, 0x1p53, 1);
  check_range_f32(0.0, 1.0);
  check_range_f32(-2.5, 7.0);
  /* 99999992 and 1e8 are adjacent floats: every value would round to high */
  check_range_f32(99999992.0, 1e8);
  /* low == high gives low */
  double d[9];
  floe__random_uniform_f64(1, 1, 9, 4.0, 4.0, d);
  for (int i = 0; i < 9; i++) {
    cr_assert(d[i] == 4.0);
  }
}

Test(rng, seeds_differ) {
  enum { N = 1000 };
  double a[N], b[N];
  static const uint64_t more[] = {0, 1, 2, (uint64_t)1 << 32, (uint64_t)1 << 63, UINT64_MAX};
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    for (size_t j = i + 1; j < sizeof more / sizeof more[0]; j++) {
      floe__random_uniform_f64(more[i], 0, N, 0.0, 1.0, a);
      floe__random_uniform_f64(more[j], 0, N, 0.0, 1.0, b);
      int same = 0;
      for (int k = 0; k < N; k++) {
        same += a[k] == b[k];
      }
      cr_assert_eq(same, 0, "seeds %zu and %zu share %d values", i, j, same);
    }
  }
}

/* ------------------------------------------------------------ moments */

/* Mean and variance of n values within 5 standard errors. */
static void check_moments(const char *what, const double *x, size_t n, double mean, double var,
                          double mu4) {
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; i++) {
    s += x[i];
  }
  const double m = s / (double)n;
  for (size_t i = 0; i < n; i++) {
    ss += (x[i] - m) * (x[i] - m);
  }
  const double v = ss / (double)(n - 1);
  const double se_mean = sqrt(var / (double)n);
  const double se_var = sqrt((mu4 - var * var) / (double)n);
  cr_assert(fabs(m - mean) < 5 * se_mean, "%s: mean %.6f, want %.6f +- %.2g", what, m, mean,
            5 * se_mean);
  cr_assert(fabs(v - var) < 5 * se_var, "%s: variance %.6f, want %.6f +- %.2g", what, v, var,
            5 * se_var);
}

Test(rng, moments) {
  enum { N = 1000000 };
  double *d = xmalloc(N * sizeof *d);
  float *f = xmalloc(N * sizeof *f);
  /* U(0, 1): var 1/12, fourth central moment 1/80; N(0, 1): 1 and 3 */
  floe__random_uniform_f64(2024, 77, N, 0.0, 1.0, d);
  check_moments("uniform f64", d, N, 0.5, 1.0 / 12, 1.0 / 80);
  floe__random_uniform_f32(2024, 77, N, 0.0, 1.0, f);
  for (int i = 0; i < N; i++) {
    d[i] = f[i];
  }
  check_moments("uniform f32", d, N, 0.5, 1.0 / 12, 1.0 / 80);
  floe__random_uniform_f64(9, 0, N, -2.0, 6.0, d);
  check_moments("uniform f64 [-2, 6)", d, N, 2.0, 64.0 / 12, 4096.0 / 80);
  floe__random_normal_f64(2024, 77, N, 0.0, 1.0, d);
  check_moments("normal f64", d, N, 0.0, 1.0, 3.0);
  floe__random_normal_f32(2024, 77, N, 0.0, 1.0, f);
  for (int i = 0; i < N; i++) {
    d[i] = f[i];
  }
  check_moments("normal f32", d, N, 0.0, 1.0, 3.0);
  floe__random_normal_f64(5, 3, N, 10.0, 0.5, d);
  check_moments("normal f64 (10, 0.5)", d, N, 10.0, 0.25, 3.0 * 0.0625);
  /* the cos and sin halves each, and their correlation */
  floe__random_normal_f64(31337, 0, N, 0.0, 1.0, d);
  double c = 0, s2 = 0;
  for (int i = 0; i + 1 < N; i += 2) {
    c += d[i] * d[i + 1];
    s2 += d[i] * d[i];
  }
  cr_assert(fabs(c / (N / 2)) < 5 / sqrt(N / 2.0), "pair correlation %g", c / (N / 2));
  cr_assert(fabs(s2 / (N / 2) - 1.0) < 5 * sqrt(2.0 / (N / 2)), "cos half variance %g",
            s2 / (N / 2));
  free(d);
  free(f);
}
