/* The byte shuffle of codec.c with 256-bit registers, 32 elements a step.
 * Called only after codec.c has checked the CPU.  The trees of split2 and
 * merge2 are codec.c's; AVX2 packs and unpacks within 128-bit lanes, so
 * each step also puts the 64-bit quarters back in order. */
#include <stddef.h>

#include "store/codec-internal.h"

#if defined(__AVX2__)
#include <immintrin.h>

/* Quarters a0 b0 a1 b1, as packus/unpack leave them, to a0 a1 b0 b1. */
#define FIX(v) _mm256_permute4x64_epi64((v), 0xd8)

static inline void split2(__m256i a, __m256i b, __m256i *even, __m256i *odd) {
  const __m256i lo = _mm256_set1_epi16(0x00ff);
  *even = FIX(_mm256_packus_epi16(_mm256_and_si256(a, lo), _mm256_and_si256(b, lo)));
  *odd = FIX(_mm256_packus_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8)));
}

static inline void merge2(__m256i even, __m256i odd, __m256i *a, __m256i *b) {
  even = FIX(even);
  odd = FIX(odd);
  *a = _mm256_unpacklo_epi8(even, odd);
  *b = _mm256_unpackhi_epi8(even, odd);
}

#define LD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define ST(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))

size_t floe__shuffle_avx2(const unsigned char *src, unsigned char *dst, size_t k, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const unsigned char *s = src + i * k;
    unsigned char *d = dst + i;
    if (k == 2) {
      __m256i s0, s1;
      split2(LD(s), LD(s + 32), &s0, &s1);
      ST(d, s0), ST(d + n, s1);
    } else if (k == 4) {
      __m256i e0, e1, o0, o1, s0, s1, s2, s3;
      split2(LD(s), LD(s + 32), &e0, &o0);
      split2(LD(s + 64), LD(s + 96), &e1, &o1);
      split2(e0, e1, &s0, &s2);
      split2(o0, o1, &s1, &s3);
      ST(d, s0), ST(d + n, s1), ST(d + 2 * n, s2), ST(d + 3 * n, s3);
    } else if (k == 8) {
      __m256i e[4], o[4], ee[2], eo[2], oe[2], oo[2], t[8];
      for (int j = 0; j < 4; j++) {
        split2(LD(s + 64 * j), LD(s + 64 * j + 32), &e[j], &o[j]);
      }
      for (int j = 0; j < 2; j++) {
        split2(e[2 * j], e[2 * j + 1], &ee[j], &eo[j]);
        split2(o[2 * j], o[2 * j + 1], &oe[j], &oo[j]);
      }
      split2(ee[0], ee[1], &t[0], &t[4]);
      split2(eo[0], eo[1], &t[2], &t[6]);
      split2(oe[0], oe[1], &t[1], &t[5]);
      split2(oo[0], oo[1], &t[3], &t[7]);
      for (int j = 0; j < 8; j++) {
        ST(d + j * n, t[j]);
      }
    } else {
      break;
    }
  }
  return i;
}

size_t floe__unshuffle_avx2(const unsigned char *src, unsigned char *dst, size_t k, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const unsigned char *s = src + i;
    unsigned char *d = dst + i * k;
    if (k == 2) {
      __m256i r0, r1;
      merge2(LD(s), LD(s + n), &r0, &r1);
      ST(d, r0), ST(d + 32, r1);
    } else if (k == 4) {
      __m256i e0, e1, o0, o1, r[4];
      merge2(LD(s), LD(s + 2 * n), &e0, &e1);
      merge2(LD(s + n), LD(s + 3 * n), &o0, &o1);
      merge2(e0, o0, &r[0], &r[1]);
      merge2(e1, o1, &r[2], &r[3]);
      for (int j = 0; j < 4; j++) {
        ST(d + 32 * j, r[j]);
      }
    } else if (k == 8) {
      __m256i e[4], o[4], ee[2], eo[2], oe[2], oo[2], r[8];
      merge2(LD(s), LD(s + 4 * n), &ee[0], &ee[1]);
      merge2(LD(s + 2 * n), LD(s + 6 * n), &eo[0], &eo[1]);
      merge2(LD(s + n), LD(s + 5 * n), &oe[0], &oe[1]);
      merge2(LD(s + 3 * n), LD(s + 7 * n), &oo[0], &oo[1]);
      for (int j = 0; j < 2; j++) {
        merge2(ee[j], eo[j], &e[2 * j], &e[2 * j + 1]);
        merge2(oe[j], oo[j], &o[2 * j], &o[2 * j + 1]);
      }
      for (int j = 0; j < 4; j++) {
        merge2(e[j], o[j], &r[2 * j], &r[2 * j + 1]);
      }
      for (int j = 0; j < 8; j++) {
        ST(d + 32 * j, r[j]);
      }
    } else {
      break;
    }
  }
  return i;
}

#else

size_t floe__shuffle_avx2(const unsigned char *src, unsigned char *dst, size_t k, size_t n) {
  return 0;
}

size_t floe__unshuffle_avx2(const unsigned char *src, unsigned char *dst, size_t k, size_t n) {
  return 0;
}

#endif
