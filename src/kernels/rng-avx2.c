/* AVX2 kernels for the counter-based generators.  rng.c holds the scalar
 * reference that defines every value; these must reproduce it bit for bit
 * (tests/test_rng.c compares them), so each floating-point operation below
 * mirrors one in rng.c, in the same order, and none is fused: the build
 * passes -mfma, but nothing here asks for an FMA, and GCC does not contract
 * in ISO C mode (-std=c11; a build that contracts fails that test).
 *
 * Layout: four Philox blocks travel in the 64-bit lanes of four vectors, one
 * vector per counter word, the word in the low half of its lane.  Then one
 * _mm256_mul_epu32 gives the four full 32x32->64 products a round needs; the
 * high halves of the lanes fill with garbage that no round reads, and the
 * output stage masks or replaces them.  The lanes of a group hold blocks
 * k, k+2, k+1, k+3: the in-lane unpacks that interleave a block's two (or
 * four) results then emit them in stream order with no cross-lane shuffle.
 *
 * Speed comes from overlap, not from the operation count: a round is a
 * multiply, a shuffle and an xor in a row (about 6 cycles) for 8 operations,
 * so NV groups go through each round together, and a run of whole chunks is
 * software-pipelined (see drive()). */
#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "rng-internal.h"

/* Entry points for the dispatcher in rng.c (declared there too). */
void floe__random_uniform_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, double *out);
void floe__random_uniform_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, float *out);
void floe__random_normal_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, double *out);
void floe__random_normal_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, float *out);

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Groups of four blocks per philox_chunk (more spill the 16 registers) and
 * lane sets per Box-Muller step (see box_muller): the fastest on Zen 3. */
#define NV 2
#define BW 8
enum { CHUNK_BLOCKS = 4 * NV };

#define I64(x) _mm256_set1_epi64x((long long)(x))
#define F64(x) _mm256_set1_pd(x)
#define AS_PD(x) _mm256_castsi256_pd(x)
#define AS_SI(x) _mm256_castpd_si256(x)

typedef struct stream {
  __m256i k0[10], k1[10]; /* round keys, broadcast */
  uint32_t key0, key1;
} stream;

static void stream_init(stream *st, uint64_t seed) {
  st->key0 = (uint32_t)seed;
  st->key1 = (uint32_t)(seed >> 32);
  for (uint32_t r = 0; r < 10; r++) {
    st->k0[r] = I64(st->key0 + r * PHILOX_W0);
    st->k1[r] = I64(st->key1 + r * PHILOX_W1);
  }
}

/* Swaps the halves of each 64-bit lane: the product's high word lands where
 * the next multiply reads.  A shuffle rather than a shift, so that it issues
 * on a different port than the multiplies. */
static inline __m256i hi32(__m256i p) {
  return _mm256_shuffle_epi32(p, _MM_SHUFFLE(2, 3, 0, 1));
}

/* Words 1 and 3 travel already xored with the next round's key, so that a
 * round's critical path is multiply, shuffle, one xor.  The empty asm keeps
 * GCC's reassociation from moving the key xor after the product's. */
static inline __m256i keyed(__m256i w, __m256i k) {
  __m256i v = _mm256_xor_si256(w, k);
  __asm__("" : "+x"(v));
  return v;
}

/* Rounds from..9; on entry x[g] = {w0, w1 ^ k0[from], w2, w3 ^ k1[from]},
 * on exit the plain output words. */
static inline void rounds(const stream *st, int from, __m256i x[NV][4]) {
  const __m256i m0 = I64(PHILOX_M0), m1 = I64(PHILOX_M1);
#pragma GCC unroll 10
  for (int r = from; r < 10; r++) {
#pragma GCC unroll 4
    for (int g = 0; g < NV; g++) {
      const __m256i p0 = _mm256_mul_epu32(x[g][0], m0);
      const __m256i p1 = _mm256_mul_epu32(x[g][2], m1);
      x[g][0] = _mm256_xor_si256(hi32(p1), x[g][1]);
      x[g][2] = _mm256_xor_si256(hi32(p0), x[g][3]);
      x[g][1] = r < 9 ? keyed(p1, st->k0[r + 1]) : p1;
      x[g][3] = r < 9 ? keyed(p0, st->k1[r + 1]) : p0;
    }
  }
}

/* A chunk whose counters' high word changes inside it: every round in full. */
static inline void philox_chunk_straddling(const stream *st, uint64_t blk, __m256i x[NV][4]) {
  const __m256i base = I64(blk);
#pragma GCC unroll 4
  for (int g = 0; g < NV; g++) {
    const __m256i ctr =
        _mm256_add_epi64(base, _mm256_setr_epi64x(4 * g, 4 * g + 2, 4 * g + 1, 4 * g + 3));
    x[g][0] = ctr;
    x[g][1] = _mm256_xor_si256(_mm256_srli_epi64(ctr, 32), st->k0[0]);
    x[g][2] = _mm256_setzero_si256();
    x[g][3] = st->k1[0];
  }
  rounds(st, 0, x);
}

/* Blocks blk .. blk + CHUNK_BLOCKS - 1.  While their counters share the high
 * word (all but one chunk in 2^32 / CHUNK_BLOCKS), words 1-3 enter the first
 * rounds as constants, which removes a third of the work of rounds 1-3.
 * `checked` false promises that they do. */
static inline void philox_chunk(const stream *st, uint64_t blk, int checked, __m256i x[NV][4]) {
  if (!checked || (uint32_t)blk <= UINT32_MAX - (CHUNK_BLOCKS - 1)) {
    const __m256i base = I64(blk);
    const __m256i m0 = I64(PHILOX_M0), m1 = I64(PHILOX_M1);
    const uint32_t c = (uint32_t)(blk >> 32) ^ st->key0; /* word 0 after round 1 */
    const uint64_t p = (uint64_t)c * PHILOX_M0;          /* round 2's first product */
    const __m256i k2_r2 = I64((uint32_t)(p >> 32) ^ (st->key1 + PHILOX_W1));
    const __m256i k2_r3 = I64((uint32_t)p ^ (st->key1 + 2 * PHILOX_W1));
#pragma GCC unroll 4
    for (int g = 0; g < NV; g++) {
      const __m256i ctr =
          _mm256_add_epi64(base, _mm256_setr_epi64x(4 * g, 4 * g + 2, 4 * g + 1, 4 * g + 3));
      /* round 1: words 2, 3 are zero and word 1 is the constant high word */
      const __m256i q0 = _mm256_mul_epu32(ctr, m0);
      const __m256i y2 = _mm256_xor_si256(hi32(q0), st->k1[0]);
      /* round 2: word 0 is constant, word 1 zero */
      const __m256i q1 = _mm256_mul_epu32(y2, m1);
      const __m256i y0 = _mm256_xor_si256(hi32(q1), st->k0[1]);
      const __m256i z2 = _mm256_xor_si256(q0, k2_r2);
      /* round 3: word 3 is constant */
      const __m256i r0 = _mm256_mul_epu32(y0, m0);
      const __m256i r1 = _mm256_mul_epu32(z2, m1);
      x[g][0] = _mm256_xor_si256(hi32(r1), keyed(q1, st->k0[2]));
      x[g][2] = _mm256_xor_si256(hi32(r0), k2_r3);
      x[g][1] = keyed(r1, st->k0[3]);
      x[g][3] = keyed(r0, st->k1[3]);
    }
    rounds(st, 3, x);
  } else {
    philox_chunk_straddling(st, blk, x);
  }
}

/* ((lo | hi << 32) >> 11) * 2^-53, exactly: hi and the top 21 bits of lo
 * become the mantissas of 2^20 + hi*2^-32 and 2^-12 + lo'*2^-64, whose
 * difference and sum are exact. */
static inline __m256d u53(__m256i lo, __m256i hi) {
  const __m256d a = AS_PD(_mm256_blend_epi32(hi, I64(0x4130000000000000), 0xAA));
  const __m256d b =
      AS_PD(_mm256_or_si256(_mm256_and_si256(lo, I64(0xFFFFF800)), I64(0x3F30000000000000)));
  return _mm256_add_pd(_mm256_sub_pd(a, F64(0x1p20 + 0x1p-12)), b);
}

/* u = (w >> 8) * 2^-24 (or 1 - u) as a double, exactly: the bits become the
 * mantissa of 2^28 + u. */
static inline __m256d u24(__m256i w) {
  const __m256d a =
      AS_PD(_mm256_blend_epi32(_mm256_srli_epi32(w, 8), I64(0x41B0000000000000), 0xAA));
  return _mm256_sub_pd(a, F64(0x1p28));
}
static inline __m256d one_minus_u24(__m256i w) {
  const __m256d a =
      AS_PD(_mm256_blend_epi32(_mm256_srli_epi32(w, 8), I64(0x41B0000000000000), 0xAA));
  return _mm256_sub_pd(F64(0x1p28 + 1.0), a);
}

/* ----------------------------------------------------------- Box-Muller */

#define LG1 6.666666666666735130e-01
#define LG2 3.999999999940941908e-01
#define LG3 2.857142874366239149e-01
#define LG4 2.222219843214978396e-01
#define LG5 1.818357216161805012e-01
#define LG6 1.531383769920937332e-01
#define LG7 1.479819860511658591e-01
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define S1 -1.66666666666666324348e-01
#define S2 8.33333333332248946124e-03
#define S3 -1.98412698298579493134e-04
#define S4 2.75573137070700676789e-06
#define S5 -2.50507602534068634195e-08
#define S6 1.58969099521155010221e-10
#define C1 4.16666666666666019037e-02
#define C2 -1.38888888888741095749e-03
#define C3 2.48015872894767294178e-05
#define C4 -2.75573143513906633035e-07
#define C5 2.08757232129817482790e-09
#define C6 -1.13596475577881948265e-11
#define PIO2 0x1.921fb54442d18p0

#define ADD _mm256_add_pd
#define SUB _mm256_sub_pd
#define MUL _mm256_mul_pd
#define DIV _mm256_div_pd
#define K _mm256_set1_pd
#define EACH for (int j = 0; j < BW; j++)

/* Box-Muller of BW lane sets: z0 = mean + sd (r cos), z1 = mean + sd (r sin)
 * with r = sqrt(-2 ln u1), the angle 2 pi u2.  Each step runs over all the
 * lane sets before the next starts, and the log and the sincos steps
 * alternate, so that the out-of-order window holds many independent chains
 * (with a division, a square root and two polynomials in them, one chain
 * alone leaves the pipes idle).  The arithmetic mirrors bm_log and
 * bm_sincos2pi in rng.c.  Plain arrays, not a vector struct passed by
 * value: the sanitizers keep such temporaries on the stack, and GCC 12
 * then took minutes to compile this file with -g, or crashed. */
static inline __attribute__((always_inline)) void
box_muller(const __m256d *u1, const __m256d *u2, double mean, double sd, __m256d *z0, __m256d *z1) {
  __m256d k[BW], f[BW], s[BW], y[BW], r[BW], sn[BW], cs[BW], th[BW], tq[BW];
  /* ln u1 for u1 in [2^-53, 1]: u1 = 2^k (1 + f), s = f / (2 + f) */
  EACH {
    const __m256i ix = _mm256_add_epi64(AS_SI(u1[j]), I64(0x3ff0000000000000 - 0x3fe6a09e667f3bcd));
    k[j] = SUB(AS_PD(_mm256_or_si256(_mm256_srli_epi64(ix, 52), I64(0x4330000000000000))),
               K(0x1p52 + 1023.0));
    f[j] = SUB(AS_PD(_mm256_add_epi64(_mm256_and_si256(ix, I64(0x000fffffffffffff)),
                                      I64(0x3fe6a09e667f3bcd))),
               K(1.0));
  }
  EACH s[j] = DIV(f[j], ADD(K(2.0), f[j]));
  /* sin and cos of 2 pi u2: exact reduction to q pi/2 + th, |th| <= pi/4 */
  EACH {
    const __m256d x = MUL(K(4.0), u2[j]);
    tq[j] = ADD(x, K(0x1p52));
    th[j] = MUL(SUB(x, SUB(tq[j], K(0x1p52))), K(PIO2));
  }
  EACH {
    const __m256d z = MUL(s[j], s[j]);
    const __m256d w = MUL(z, z);
    const __m256d t1 = MUL(w, ADD(K(LG2), MUL(w, ADD(K(LG4), MUL(w, K(LG6))))));
    const __m256d t2 =
        MUL(z, ADD(K(LG1), MUL(w, ADD(K(LG3), MUL(w, ADD(K(LG5), MUL(w, K(LG7))))))));
    const __m256d hfsq = MUL(MUL(K(0.5), f[j]), f[j]);
    y[j] = MUL(s[j], ADD(hfsq, ADD(t2, t1)));
    y[j] = ADD(y[j], MUL(k[j], K(LN2_LO)));
    y[j] = SUB(y[j], hfsq);
  }
  EACH {
    const __m256d z = MUL(th[j], th[j]);
    const __m256d w = MUL(z, z);
    const __m256d rs = ADD(ADD(K(S2), MUL(z, ADD(K(S3), MUL(z, K(S4))))),
                           MUL(MUL(z, w), ADD(K(S5), MUL(z, K(S6)))));
    sn[j] = ADD(th[j], MUL(MUL(z, th[j]), ADD(K(S1), MUL(z, rs))));
    const __m256d rc = ADD(MUL(z, ADD(K(C1), MUL(z, ADD(K(C2), MUL(z, K(C3)))))),
                           MUL(MUL(w, w), ADD(K(C4), MUL(z, ADD(K(C5), MUL(z, K(C6)))))));
    const __m256d hz = MUL(K(0.5), z);
    const __m256d ww = SUB(K(1.0), hz);
    cs[j] = ADD(ww, ADD(SUB(SUB(K(1.0), ww), hz), MUL(z, rc)));
  }
  EACH {
    y[j] = ADD(y[j], f[j]);
    y[j] = ADD(y[j], MUL(k[j], K(LN2_HI)));
    r[j] = _mm256_sqrt_pd(MUL(y[j], K(-2.0)));
  }
  /* the quadrant is the low bits of tq: odd ones swap, then signs by q */
  EACH {
    const __m256i q = AS_SI(tq[j]);
    const __m256d swap = AS_PD(_mm256_slli_epi64(q, 63));
    const __m256d sneg = _mm256_and_pd(AS_PD(_mm256_slli_epi64(q, 62)), K(-0.0));
    const __m256d cneg =
        _mm256_and_pd(AS_PD(_mm256_slli_epi64(_mm256_add_epi64(q, I64(1)), 62)), K(-0.0));
    const __m256d sv = sn[j], cv = cs[j];
    sn[j] = _mm256_xor_pd(_mm256_blendv_pd(sv, cv, swap), sneg);
    cs[j] = _mm256_xor_pd(_mm256_blendv_pd(cv, sv, swap), cneg);
  }
  EACH {
    z0[j] = ADD(K(mean), MUL(K(sd), MUL(r[j], cs[j])));
    z1[j] = ADD(K(mean), MUL(K(sd), MUL(r[j], sn[j])));
  }
}

/* ------------------------------------------------------------ chunks */

/* A chunk is `groups` groups of four blocks (NV for the uniforms, BW and
 * BW / 2 for the float64 and float32 normals); emit turns its words into
 * output values. */
typedef struct params {
  __m256d a, b, hb; /* low, high - low, clamp bound */
  __m256 hbf;
  double mean, sd;
  int unit;  /* uniform on [0, 1): no scaling, and no clamp needed */
  int clamp; /* high > low: results are clamped below high */
} params;

typedef void emit_fn(const params *p, __m256i (*x)[4], void *dst);

static inline __m256d scale_clamp(const params *p, __m256d u) {
  if (p->unit) {
    return u;
  }
  const __m256d x = _mm256_add_pd(p->a, _mm256_mul_pd(p->b, u));
  return p->clamp ? _mm256_min_pd(x, p->hb) : x;
}

static inline __attribute__((always_inline)) void uniform_f64_emit(const params *p, __m256i (*x)[4],
                                                                   void *dst) {
  double *o = dst;
  for (int g = 0; g < NV; g++) {
    const __m256d e = scale_clamp(p, u53(x[g][0], x[g][1]));
    const __m256d d = scale_clamp(p, u53(x[g][2], x[g][3]));
    _mm256_storeu_pd(o + 8 * g, _mm256_unpacklo_pd(e, d));
    _mm256_storeu_pd(o + 8 * g + 4, _mm256_unpackhi_pd(e, d));
  }
}

static inline __m256 scale_f32(const params *p, __m256i w) {
  const __m256i v = _mm256_srli_epi32(w, 8);
  if (p->unit) {
    return _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(0x1p-24f));
  }
  const __m256d lo = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(v)), F64(0x1p-24));
  const __m256d hi =
      _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(v, 1)), F64(0x1p-24));
  const __m128 flo = _mm256_cvtpd_ps(_mm256_add_pd(p->a, _mm256_mul_pd(p->b, lo)));
  const __m128 fhi = _mm256_cvtpd_ps(_mm256_add_pd(p->a, _mm256_mul_pd(p->b, hi)));
  const __m256 f = _mm256_set_m128(fhi, flo);
  return p->clamp ? _mm256_min_ps(f, p->hbf) : f;
}

static inline __attribute__((always_inline)) void uniform_f32_emit(const params *p, __m256i (*x)[4],
                                                                   void *dst) {
  float *o = dst;
  for (int g = 0; g < NV; g++) {
    const __m256i w01 = _mm256_blend_epi32(x[g][0], _mm256_slli_epi64(x[g][1], 32), 0xAA);
    const __m256i w23 = _mm256_blend_epi32(x[g][2], _mm256_slli_epi64(x[g][3], 32), 0xAA);
    _mm256_storeu_ps(o + 16 * g, scale_f32(p, _mm256_unpacklo_epi64(w01, w23)));
    _mm256_storeu_ps(o + 16 * g + 8, scale_f32(p, _mm256_unpackhi_epi64(w01, w23)));
  }
}

static inline __attribute__((always_inline)) void normal_f64_emit(const params *p, __m256i (*x)[4],
                                                                  void *dst) {
  double *o = dst;
  __m256d u1[BW], u2[BW], z0[BW], z1[BW];
  EACH {
    u1[j] = _mm256_sub_pd(F64(1.0), u53(x[j][0], x[j][1]));
    u2[j] = u53(x[j][2], x[j][3]);
  }
  box_muller(u1, u2, p->mean, p->sd, z0, z1);
  EACH {
    _mm256_storeu_pd(o + 8 * j, _mm256_unpacklo_pd(z0[j], z1[j]));
    _mm256_storeu_pd(o + 8 * j + 4, _mm256_unpackhi_pd(z0[j], z1[j]));
  }
}

/* p = [z0, z1] of blocks k, k+1 from words (0, 1), q the same from words
 * (2, 3): stored as k's four floats, then k+1's. */
static inline void store_f32x8(float *o, __m256d p, __m256d q) {
  const __m128d fp = _mm_castps_pd(_mm256_cvtpd_ps(p));
  const __m128d fq = _mm_castps_pd(_mm256_cvtpd_ps(q));
  _mm_storeu_ps(o, _mm_castpd_ps(_mm_unpacklo_pd(fp, fq)));
  _mm_storeu_ps(o + 4, _mm_castpd_ps(_mm_unpackhi_pd(fp, fq)));
}

/* BW / 2 groups: one Box-Muller step takes words (0, 1) of every group in
 * its first half and words (2, 3) in its second. */
static inline __attribute__((always_inline)) void normal_f32_emit(const params *p, __m256i (*x)[4],
                                                                  void *dst) {
  enum { H = BW / 2 };
  float *o = dst;
  __m256d u1[BW], u2[BW], z0[BW], z1[BW];
  EACH {
    u1[j] = one_minus_u24(x[j % H][j < H ? 0 : 2]);
    u2[j] = u24(x[j % H][j < H ? 1 : 3]);
  }
  box_muller(u1, u2, p->mean, p->sd, z0, z1);
  for (int g = 0; g < H; g++) {
    store_f32x8(o + 16 * g, _mm256_unpacklo_pd(z0[g], z1[g]),
                _mm256_unpacklo_pd(z0[g + H], z1[g + H]));
    store_f32x8(o + 16 * g + 8, _mm256_unpackhi_pd(z0[g], z1[g]),
                _mm256_unpackhi_pd(z0[g + H], z1[g + H]));
  }
}

static inline void philox_groups(const stream *st, uint64_t blk, int groups, int checked,
                                 __m256i (*x)[4]) {
#pragma GCC unroll 1
  for (int c = 0; c < groups / NV; c++) {
    philox_chunk(st, blk + (uint64_t)CHUNK_BLOCKS * c, checked, x + NV * c);
  }
}

/* One whole chunk into dst, out of line: for the chunks cut by either end
 * of the range. */
typedef void one_fn(const stream *st, const params *p, uint64_t blk, void *dst);
#define ONE_CHUNK(name, groups)                                                                    \
  static void name##_one(const stream *st, const params *p, uint64_t blk, void *dst) {             \
    __m256i x[groups][4];                                                                          \
    philox_groups(st, blk, groups, 1, x);                                                          \
    name##_emit(p, x, dst);                                                                        \
  }
ONE_CHUNK(uniform_f64, NV)
ONE_CHUNK(uniform_f32, NV)
ONE_CHUNK(normal_f64, BW)
ONE_CHUNK(normal_f32, BW / 2)

/* Values [first, first + n) through chunks of 4 * groups blocks.  The
 * chunks not cut by the ends are software-pipelined: chunk c + 1's rounds
 * are issued before chunk c's emit, which does not depend on them, so the
 * out-of-order core fills the rounds' latency with the emit's arithmetic
 * (uniform float64 on Zen 3: 1.36 -> 1.18 ns per value).  The words wait in memory
 * between the two.  That loop has no call in it (a call, even one never
 * taken, costs uniform float64 a third), so the chunk that straddles a
 * change of the counters' high word goes through `one`. */
static inline __attribute__((always_inline)) void drive(uint64_t seed, const params *p,
                                                        uint64_t first, int64_t n, unsigned epb,
                                                        int groups, size_t esize, emit_fn *emit,
                                                        one_fn *one, char *out) {
  stream st;
  _Alignas(32) char tmp[4 * BW * 16];              /* at most 16 bytes of output per block */
  const uint64_t per = 4 * (uint64_t)groups * epb; /* values per chunk */
  if (n <= 0) {
    return;
  }
  stream_init(&st, seed);
  const uint64_t off = first % epb;
  if (off != 0) {
    const uint64_t m = per - off < (uint64_t)n ? per - off : (uint64_t)n;
    one(&st, p, first / epb, tmp);
    memcpy(out, tmp + off * esize, m * esize);
    out += m * esize;
    first += m;
    n -= (int64_t)m;
  }
  const uint64_t blk = first / epb, blocks = 4 * (uint64_t)groups;
  const uint64_t nchunks = (uint64_t)n / per, tail = (uint64_t)n % per;
  for (uint64_t c = 0; c < nchunks;) {
    const uint64_t b = blk + c * blocks;
    uint64_t fast = ((b | 0xFFFFFFFFu) - b + 1) / blocks; /* below the next high word */
    fast = fast < nchunks - c ? fast : nchunks - c;
    if (fast > 0) {
      __m256i words[2][BW][4];
      philox_groups(&st, b, groups, 0, words[0]);
      for (uint64_t i = 0; i < fast; i++) {
        if (i + 1 < fast) {
          philox_groups(&st, b + (i + 1) * blocks, groups, 0, words[(i + 1) & 1]);
        }
        emit(p, words[i & 1], out + (c + i) * per * esize);
      }
      c += fast;
    }
    if (c < nchunks) {
      one(&st, p, blk + c * blocks, out + c * per * esize);
      c++;
    }
  }
  if (tail > 0) {
    one(&st, p, blk + nchunks * blocks, tmp);
    memcpy(out + nchunks * per * esize, tmp, tail * esize);
  }
}

static params uniform_params(double low, double high, double hb, float hbf) {
  params p;
  p.a = F64(low);
  p.b = F64(high - low);
  p.hb = F64(hb);
  p.hbf = _mm256_set1_ps(hbf);
  p.unit = low == 0.0 && high == 1.0;
  p.clamp = high > low;
  return p;
}

/* The clamp bounds come from rng.c, so both paths use one definition. */
double floe__rng_below_f64(double high);
float floe__rng_below_f32(double high);

void floe__random_uniform_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, double *out) {
  const params p = uniform_params(low, high, floe__rng_below_f64(high), 0.0f);
  drive(seed, &p, first, n, 2, NV, sizeof(double), uniform_f64_emit, uniform_f64_one, (char *)out);
}

void floe__random_uniform_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double low,
                                   double high, float *out) {
  const params p = uniform_params(low, high, 0.0, floe__rng_below_f32(high));
  drive(seed, &p, first, n, 4, NV, sizeof(float), uniform_f32_emit, uniform_f32_one, (char *)out);
}

void floe__random_normal_f64_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, double *out) {
  const params p = {.mean = mean, .sd = stddev};
  drive(seed, &p, first, n, 2, BW, sizeof(double), normal_f64_emit, normal_f64_one, (char *)out);
}

void floe__random_normal_f32_avx2(uint64_t seed, uint64_t first, int64_t n, double mean,
                                  double stddev, float *out) {
  const params p = {.mean = mean, .sd = stddev};
  drive(seed, &p, first, n, 4, BW / 2, sizeof(float), normal_f32_emit, normal_f32_one, (char *)out);
}

#else
typedef int floe__rng_avx2_unused;
#endif
