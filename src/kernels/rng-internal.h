/* Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
 * "Parallel Random Numbers: As Easy as 1, 2, 3", SC 2011).  Element i of an
 * array depends only on (seed, i), so values are identical whatever the
 * chunking, thread count or device.
 *
 * Stream layout (the GPU backend must reproduce it bit for bit):
 *  key = (seed & 0xffffffff, seed >> 32); counter c = (c0, c1, 0, 0) with
 *  c0 = low 32 bits, c1 = high 32 bits of the block number.
 *  float64: block k = i / 2 gives words (w0, w1, w2, w3); element 2k takes
 *    u64 = w0 | (uint64)w1 << 32, element 2k+1 takes w2 | w3 << 32; the
 *    uniform is (u64 >> 11) * 2^-53 in [0, 1).
 *  float32: block k = i / 4; element 4k+j takes (w_j >> 8) * 2^-24.
 *  normal (Box–Muller): float64 block k gives u1, u2 from the two uniforms
 *    above (u1 replaced by 1 - u1 so it is in (0, 1]); element 2k is
 *    r*cos(2*pi*u2), 2k+1 is r*sin(2*pi*u2), r = sqrt(-2 ln u1).  float32
 *    uses the same with its four words as two pairs (0,1) and (2,3), computed
 *    in float64 and rounded.
 *  Precision: ln, cos and sin are floe's own fdlibm-style polynomials
 *    (bm_log, bm_sincos2pi in rng.c) evaluated with plain + - * / and sqrt,
 *    never fused, so the scalar and AVX2 paths (and a GPU port using the
 *    _rn intrinsics) agree bit for bit.  Uniforms are low + (high-low)*u in
 *    float64 (rounded once for float32) and clamped below `high`, which the
 *    rounding could otherwise reach.  float32 normals are truncated near
 *    5.77 sigma (24-bit u1), float64 ones near 8.57 sigma. */
#ifndef FLOE_KERNELS_RNG_INTERNAL_H
#define FLOE_KERNELS_RNG_INTERNAL_H

#include <stdint.h>

/* One Philox4x32-10 block. */
void floe__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Elements [first, first + n) of the stream, scaled: low + (high-low)*u. */
void floe__random_uniform_f64(uint64_t seed, uint64_t first, int64_t n, double low, double high,
                              double *out);
void floe__random_uniform_f32(uint64_t seed, uint64_t first, int64_t n, double low, double high,
                              float *out);
/* mean + stddev * z */
void floe__random_normal_f64(uint64_t seed, uint64_t first, int64_t n, double mean, double stddev,
                             double *out);
void floe__random_normal_f32(uint64_t seed, uint64_t first, int64_t n, double mean, double stddev,
                             float *out);

#endif
