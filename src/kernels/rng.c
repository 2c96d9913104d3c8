/* Counter-based random streams (Philox4x32-10, layout in rng-internal.h):
 * the scalar reference, which defines every value bit for bit, and the
 * dispatch to the AVX2 kernels of rng-avx2.c, which reproduce it exactly
 * (tests/test_rng.c compares the two).
 *
 * Two points the layout leaves open are settled here:
 *  - Uniforms: low + (high - low) u is computed in float64 (float32 too,
 *    then rounded) and can round up to high; when high > low the result is
 *    clamped to the largest value below high, so the range is [low, high).
 *  - Box-Muller's ln, cos and sin are bm_log and bm_sincos2pi below, not
 *    libm's or SLEEF's.  The stream must be the same on every CPU and on the
 *    GPU; SLEEF's AVX2 functions fuse multiply-adds where its scalar ones do
 *    not, so the two differ in the last bit (libsleef 3.5.1: log for 1 input
 *    in 1e5, sincos for 1 in 400), and its non-FMA vector functions, which
 *    do agree, cost over 4 ns per normal.  These use only +, -, *, / and
 *    sqrt, each correctly rounded, in a fixed order and never fused, so any
 *    IEEE-754 machine reproduces them (CUDA: __dadd_rn, __dmul_rn,
 *    __ddiv_rn, __dsqrt_rn, since nvcc fuses by default).  The polynomials
 *    are fdlibm's (e_log.c, k_sin.c, k_cos.c); on these inputs log is within
 *    1.3 ulp, sin and cos within 1.3 * 2^-53. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rng-internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define RNG_HAVE_AVX2 1
#endif

/* Internal entry points, declared only here, in rng-avx2.c and in the test. */
double floe__rng_below_f64(double high);
float floe__rng_below_f32(double high);
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

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void floe__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    const uint64_t p0 = (uint64_t)PHILOX_M0 * x0;
    const uint64_t p1 = (uint64_t)PHILOX_M1 * x2;
    x0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
    x1 = (uint32_t)p1;
    x2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
    x3 = (uint32_t)p0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

static void block(uint64_t seed, uint64_t blk, uint32_t w[4]) {
  const uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)(blk >> 32), 0, 0};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  floe__philox4x32_10(ctr, key, w);
}

static double u53(uint32_t lo, uint32_t hi) {
  return (double)((lo | (uint64_t)hi << 32) >> 11) * 0x1p-53;
}

static double u24(uint32_t w) {
  return (double)(w >> 8) * 0x1p-24;
}

static uint64_t bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static double from_bits(uint64_t b) {
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}

/* ----------------------------------------------------------- Box-Muller */

static const double LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01,
                    LG3 = 2.857142874366239149e-01, LG4 = 2.222219843214978396e-01,
                    LG5 = 1.818357216161805012e-01, LG6 = 1.531383769920937332e-01,
                    LG7 = 1.479819860511658591e-01, LN2_HI = 6.93147180369123816490e-01,
                    LN2_LO = 1.90821492927058770002e-10;
static const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                    S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                    S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
static const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                    C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                    C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
static const double PIO2 = 0x1.921fb54442d18p0;

/* ln x for x in [2^-53, 1] (no zero, subnormal, negative or non-finite
 * input reaches it).  fdlibm's method: x = 2^k (1 + f) with 1 + f in
 * [sqrt(2)/2, sqrt(2)), s = f / (2 + f), ln(1 + f) = 2 atanh s.  The integer
 * ops on the bits stay below the sign bit for these inputs, so the vector
 * code can use logical shifts. */
static double bm_log(double x) {
  const uint64_t ix = bits(x) + (0x3ff0000000000000 - 0x3fe6a09e667f3bcd);
  const double k = from_bits(ix >> 52 | 0x4330000000000000) - (0x1p52 + 1023.0);
  const double f = from_bits((ix & 0x000fffffffffffff) + 0x3fe6a09e667f3bcd) - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (LG2 + w * (LG4 + w * LG6));
  const double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const double r = t2 + t1;
  const double hfsq = 0.5 * f * f;
  return s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
}

/* sin and cos of 2 pi u for u in [0, 1).  4u is exact and so is its
 * reduction y = 4u - rint(4u) in [-1/2, 1/2]; the angle is then
 * q pi/2 + y pi/2 with |y pi/2| <= pi/4, fdlibm's kernel range.  The only
 * rounding before the kernels is y * (pi/2). */
static void bm_sincos2pi(double u, double *sn, double *cs) {
  const double x = 4.0 * u;
  const double t = x + 0x1p52; /* rint(x) in the low mantissa bits */
  const double th = (x - (t - 0x1p52)) * PIO2;
  const double z = th * th;
  const double w = z * z;
  const double rs = (S2 + z * (S3 + z * S4)) + z * w * (S5 + z * S6);
  const double s = th + z * th * (S1 + z * rs);
  const double rc = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const double hz = 0.5 * z;
  const double ww = 1.0 - hz;
  const double c = ww + (((1.0 - ww) - hz) + z * rc);
  const unsigned q = (unsigned)bits(t) & 3;
  const double s1 = q & 1 ? c : s;
  const double c1 = q & 1 ? s : c;
  *sn = q & 2 ? -s1 : s1;
  *cs = (q + 1) & 2 ? -c1 : c1;
}

/* u1 in (0, 1], u2 in [0, 1): z0 = r cos(2 pi u2), z1 = r sin(2 pi u2). */
static void box_muller(double u1, double u2, double mean, double sd, double *z0, double *z1) {
  const double r = sqrt(bm_log(u1) * -2.0);
  double s, c;
  bm_sincos2pi(u2, &s, &c);
  *z0 = mean + sd * (r * c);
  *z1 = mean + sd * (r * s);
}

/* ------------------------------------------------------ scalar streams */

/* low + (high - low) u can round up to high; results are clamped to the
 * largest value below high (when high > low), so the range is [low, high). */
double floe__rng_below_f64(double high) {
  return nextafter(high, -INFINITY);
}

float floe__rng_below_f32(double high) {
  const float f = (float)high;
  return (double)f < high ? f : nextafterf(f, -INFINITY);
}

typedef struct uniform_map {
  double low, scale, hb;
  float hbf;
  int clamp;
} uniform_map;

static uniform_map uniform_map_make(double low, double high) {
  const uniform_map m = {low, high - low, floe__rng_below_f64(high), floe__rng_below_f32(high),
                         high > low};
  return m;
}

static double map_f64(const uniform_map *m, double u) {
  const double x = m->low + m->scale * u;
  return m->clamp && !(x < m->hb) ? m->hb : x;
}

static float map_f32(const uniform_map *m, double u) {
  const float x = (float)(m->low + m->scale * u);
  return m->clamp && !(x < m->hbf) ? m->hbf : x;
}

/* Each generator computes block k's values and keeps those in range. */
void floe__random_uniform_f64_scalar(uint64_t seed, uint64_t first, int64_t n, double low,
                                     double high, double *out) {
  const uniform_map m = uniform_map_make(low, high);
  for (int64_t i = 0; i < n;) {
    const uint64_t e = first + (uint64_t)i;
    uint32_t w[4];
    block(seed, e / 2, w);
    const double v[2] = {map_f64(&m, u53(w[0], w[1])), map_f64(&m, u53(w[2], w[3]))};
    for (uint64_t j = e % 2; j < 2 && i < n; j++) {
      out[i++] = v[j];
    }
  }
}

void floe__random_uniform_f32_scalar(uint64_t seed, uint64_t first, int64_t n, double low,
                                     double high, float *out) {
  const uniform_map m = uniform_map_make(low, high);
  for (int64_t i = 0; i < n;) {
    const uint64_t e = first + (uint64_t)i;
    uint32_t w[4];
    block(seed, e / 4, w);
    for (uint64_t j = e % 4; j < 4 && i < n; j++) {
      out[i++] = map_f32(&m, u24(w[j]));
    }
  }
}

void floe__random_normal_f64_scalar(uint64_t seed, uint64_t first, int64_t n, double mean,
                                    double stddev, double *out) {
  for (int64_t i = 0; i < n;) {
    const uint64_t e = first + (uint64_t)i;
    uint32_t w[4];
    double v[2];
    block(seed, e / 2, w);
    box_muller(1.0 - u53(w[0], w[1]), u53(w[2], w[3]), mean, stddev, &v[0], &v[1]);
    for (uint64_t j = e % 2; j < 2 && i < n; j++) {
      out[i++] = v[j];
    }
  }
}

void floe__random_normal_f32_scalar(uint64_t seed, uint64_t first, int64_t n, double mean,
                                    double stddev, float *out) {
  for (int64_t i = 0; i < n;) {
    const uint64_t e = first + (uint64_t)i;
    uint32_t w[4];
    double v[4];
    block(seed, e / 4, w);
    box_muller(1.0 - u24(w[0]), u24(w[1]), mean, stddev, &v[0], &v[1]);
    box_muller(1.0 - u24(w[2]), u24(w[3]), mean, stddev, &v[2], &v[3]);
    for (uint64_t j = e % 4; j < 4 && i < n; j++) {
      out[i++] = (float)v[j];
    }
  }
}

/* ------------------------------------------------------------ dispatch */

int floe__rng_use_avx2(void) {
#ifdef RNG_HAVE_AVX2
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

#ifdef RNG_HAVE_AVX2
#define DISPATCH(name, ...)                                                                        \
  do {                                                                                             \
    if (floe__rng_use_avx2()) {                                                                    \
      name##_avx2(__VA_ARGS__);                                                                    \
    } else {                                                                                       \
      name##_scalar(__VA_ARGS__);                                                                  \
    }                                                                                              \
  } while (0)
#else
#define DISPATCH(name, ...) name##_scalar(__VA_ARGS__)
#endif

void floe__random_uniform_f64(uint64_t seed, uint64_t first, int64_t n, double low, double high,
                              double *out) {
  DISPATCH(floe__random_uniform_f64, seed, first, n, low, high, out);
}

void floe__random_uniform_f32(uint64_t seed, uint64_t first, int64_t n, double low, double high,
                              float *out) {
  DISPATCH(floe__random_uniform_f32, seed, first, n, low, high, out);
}

void floe__random_normal_f64(uint64_t seed, uint64_t first, int64_t n, double mean, double stddev,
                             double *out) {
  DISPATCH(floe__random_normal_f64, seed, first, n, mean, stddev, out);
}

void floe__random_normal_f32(uint64_t seed, uint64_t first, int64_t n, double mean, double stddev,
                             float *out) {
  DISPATCH(floe__random_normal_f32, seed, first, n, mean, stddev, out);
}
