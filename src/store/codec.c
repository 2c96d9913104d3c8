/* Chunk codecs run by the workers on raw HDF5 chunks: byte shuffle, zstd,
 * deflate and Fletcher-32 in HDF5's formats (see codec-internal.h), with
 * one zstd/zlib context per thread and no allocation per chunk. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error-internal.h"
#include "store/codec-internal.h"

/* ------------------------------------------------------ thread contexts */

/* Made on a thread's first chunk and kept until the thread exits (the key's
 * destructor), so that a worker pays for its contexts once. */
typedef struct codec_tls {
  ZSTD_CCtx *cctx;
  int cctx_level; /* the level cctx is set to */
  ZSTD_DCtx *dctx;
  z_stream zs;
  bool zs_ready;
} codec_tls;

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static bool tls_key_made;
/* the key's value again, without the call */
static _Thread_local codec_tls *tls_mine;

static void tls_free(void *arg) {
  codec_tls *t = arg;
  ZSTD_freeCCtx(t->cctx);
  ZSTD_freeDCtx(t->dctx);
  if (t->zs_ready) {
    inflateEnd(&t->zs);
  }
  free(t);
  tls_mine = NULL;
}

static void tls_make_key(void) {
  tls_key_made = pthread_key_create(&tls_key, tls_free) == 0;
}

static codec_tls *tls_get(void) {
  if (tls_mine != NULL) {
    return tls_mine;
  }
  pthread_once(&tls_once, tls_make_key);
  codec_tls *t = tls_key_made ? calloc(1, sizeof *t) : NULL;
  if (t == NULL) {
    return NULL;
  }
  if (pthread_setspecific(tls_key, t) != 0) {
    free(t);
    return NULL;
  }
  return tls_mine = t;
}

/* ------------------------------------------------------- registration */

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static herr_t register_rc;

static void register_filter(void) {
  htri_t avail = 0;
  /* H5Zfilter_avail also searches HDF5's plugin path; a miss is no error */
  H5E_BEGIN_TRY {
    avail = H5Zfilter_avail(FLOE__H5Z_ZSTD);
    if (avail <= 0) {
      register_rc = H5Zregister(floe__h5z_zstd_class);
    }
  }
  H5E_END_TRY;
}

floe_status floe__zstd_filter_register(void) {
  pthread_once(&register_once, register_filter);
  FLOE_RETURN_ERROR_IF(register_rc < 0, FLOE_ERR_INTERNAL,
                       "H5Zregister failed for the zstd filter (%d)", FLOE__H5Z_ZSTD);
  return FLOE_OK;
}

/* --------------------------------------------------------------- shuffle */

static bool have_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

/* Elements [i0, n) one byte at a time, in blocks that stay in L1 while the
 * k output streams are written. */
static void shuffle_scalar(const unsigned char *src, unsigned char *dst, size_t k, size_t n,
                           size_t i0) {
  const size_t block = k < 64 ? 8192 / k : 128;
  for (size_t b = i0; b < n; b += block) {
    size_t e = n - b < block ? n : b + block;
    for (size_t j = 0; j < k; j++) {
      unsigned char *d = dst + j * n;
      const unsigned char *s = src + j;
      for (size_t i = b; i < e; i++) {
        d[i] = s[i * k];
      }
    }
  }
}

static void unshuffle_scalar(const unsigned char *src, unsigned char *dst, size_t k, size_t n,
                             size_t i0) {
  const size_t block = k < 64 ? 8192 / k : 128;
  for (size_t b = i0; b < n; b += block) {
    size_t e = n - b < block ? n : b + block;
    for (size_t j = 0; j < k; j++) {
      const unsigned char *s = src + j * n;
      unsigned char *d = dst + j;
      for (size_t i = b; i < e; i++) {
        d[i * k] = s[i];
      }
    }
  }
}

#if defined(__SSE2__)
/* The transposes are trees of one step and its inverse: split2 takes two
 * registers of consecutive bytes and returns the bytes at even and at odd
 * offsets (16 each, in order); merge2 interleaves them back.  log2(k)
 * levels of split2 turn 16 elements of k bytes into k byte streams. */
static inline void split2(__m128i a, __m128i b, __m128i *even, __m128i *odd) {
  const __m128i lo = _mm_set1_epi16(0x00ff);
  *even = _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo));
  *odd = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
}

static inline void merge2(__m128i even, __m128i odd, __m128i *a, __m128i *b) {
  *a = _mm_unpacklo_epi8(even, odd);
  *b = _mm_unpackhi_epi8(even, odd);
}

#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define ST(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

/* Elements [i0, n - (n - i0) % 16) of k = 2, 4 or 8 bytes; returns the end. */
static size_t shuffle_sse2(const unsigned char *src, unsigned char *dst, size_t k, size_t n,
                           size_t i0) {
  size_t i = i0;
  for (; i + 16 <= n; i += 16) {
    const unsigned char *s = src + i * k;
    unsigned char *d = dst + i;
    if (k == 2) {
      __m128i s0, s1;
      split2(LD(s), LD(s + 16), &s0, &s1);
      ST(d, s0), ST(d + n, s1);
    } else if (k == 4) {
      __m128i e0, e1, o0, o1, s0, s1, s2, s3;
      split2(LD(s), LD(s + 16), &e0, &o0);
      split2(LD(s + 32), LD(s + 48), &e1, &o1);
      split2(e0, e1, &s0, &s2);
      split2(o0, o1, &s1, &s3);
      ST(d, s0), ST(d + n, s1), ST(d + 2 * n, s2), ST(d + 3 * n, s3);
    } else {
      __m128i e[4], o[4], ee[2], eo[2], oe[2], oo[2], t[8];
      for (int j = 0; j < 4; j++) {
        split2(LD(s + 32 * j), LD(s + 32 * j + 16), &e[j], &o[j]);
      }
      for (int j = 0; j < 2; j++) {
        split2(e[2 * j], e[2 * j + 1], &ee[j], &eo[j]);
        split2(o[2 * j], o[2 * j + 1], &oe[j], &oo[j]);
      }
      /* stream b is reached by the splits along b's bits, low bit first */
      split2(ee[0], ee[1], &t[0], &t[4]);
      split2(eo[0], eo[1], &t[2], &t[6]);
      split2(oe[0], oe[1], &t[1], &t[5]);
      split2(oo[0], oo[1], &t[3], &t[7]);
      for (int j = 0; j < 8; j++) {
        ST(d + j * n, t[j]);
      }
    }
  }
  return i;
}

static size_t unshuffle_sse2(const unsigned char *src, unsigned char *dst, size_t k, size_t n,
                             size_t i0) {
  size_t i = i0;
  for (; i + 16 <= n; i += 16) {
    const unsigned char *s = src + i;
    unsigned char *d = dst + i * k;
    if (k == 2) {
      __m128i r0, r1;
      merge2(LD(s), LD(s + n), &r0, &r1);
      ST(d, r0), ST(d + 16, r1);
    } else if (k == 4) {
      __m128i e0, e1, o0, o1, r[4];
      merge2(LD(s), LD(s + 2 * n), &e0, &e1);
      merge2(LD(s + n), LD(s + 3 * n), &o0, &o1);
      merge2(e0, o0, &r[0], &r[1]);
      merge2(e1, o1, &r[2], &r[3]);
      for (int j = 0; j < 4; j++) {
        ST(d + 16 * j, r[j]);
      }
    } else {
      __m128i e[4], o[4], ee[2], eo[2], oe[2], oo[2], r[8];
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
        ST(d + 16 * j, r[j]);
      }
    }
  }
  return i;
}
#undef LD
#undef ST
#endif

void floe__shuffle(const void *src_, void *dst_, size_t elem_size, size_t nbytes) {
  const unsigned char *src = src_;
  unsigned char *dst = dst_;
  size_t k = elem_size;
  size_t n = k > 1 ? nbytes / k : 0;
  if (nbytes == 0) {
    return;
  }
  if (n <= 1) {
    memcpy(dst, src, nbytes);
    return;
  }
  size_t done = 0;
  if (k == 2 || k == 4 || k == 8) {
    if (have_avx2()) {
      done = floe__shuffle_avx2(src, dst, k, n);
    }
#if defined(__SSE2__)
    done = shuffle_sse2(src, dst, k, n, done);
#endif
  }
  shuffle_scalar(src, dst, k, n, done);
  memcpy(dst + n * k, src + n * k, nbytes - n * k);
}

void floe__unshuffle(const void *src_, void *dst_, size_t elem_size, size_t nbytes) {
  const unsigned char *src = src_;
  unsigned char *dst = dst_;
  size_t k = elem_size;
  size_t n = k > 1 ? nbytes / k : 0;
  if (nbytes == 0) {
    return;
  }
  if (n <= 1) {
    memcpy(dst, src, nbytes);
    return;
  }
  size_t done = 0;
  if (k == 2 || k == 4 || k == 8) {
    if (have_avx2()) {
      done = floe__unshuffle_avx2(src, dst, k, n);
    }
#if defined(__SSE2__)
    done = unshuffle_sse2(src, dst, k, n, done);
#endif
  }
  unshuffle_scalar(src, dst, k, n, done);
  memcpy(dst + n * k, src + n * k, nbytes - n * k);
}

/* ------------------------------------------------------------ fletcher32 */

/* HDF5's H5_checksum_fletcher32: big-endian 16-bit words, an odd last byte
 * as the high half of a word; sums folded every 360 words, before they
 * can overflow. */
static uint32_t fletcher32(const unsigned char *data, size_t len) {
  uint32_t sum1 = 0, sum2 = 0;
  size_t words = len / 2;
  while (words > 0) {
    size_t block = words > 360 ? 360 : words;
    words -= block;
    for (size_t i = 0; i < block; i++, data += 2) {
      sum1 += ((uint32_t)data[0] << 8) | data[1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (len % 2) {
    sum1 += (uint32_t)data[0] << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

/* Checks the 4 trailing bytes; the caller then drops them. */
static floe_status fletcher_check(const unsigned char *data, size_t size) {
  FLOE_RETURN_ERROR_IF(size < 4, FLOE_ERR_FORMAT,
                       "fletcher32: %zu bytes, too short to hold a checksum", size);
  const unsigned char *c = data + size - 4;
  uint32_t stored = c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
  uint32_t sum = fletcher32(data, size - 4);
  /* HDF5 before 1.6.3 wrote the bytes of each half swapped */
  uint32_t swapped = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
  FLOE_RETURN_ERROR_IF(stored != sum && stored != swapped, FLOE_ERR_FORMAT,
                       "fletcher32: checksum mismatch (stored %08x, computed %08x)", stored, sum);
  return FLOE_OK;
}

/* ------------------------------------------------------------ pipelines */

floe_status floe__pipeline_from_dcpl(hid_t dcpl, size_t elem_size, floe__pipeline *p) {
  memset(p, 0, sizeof *p);
  p->elem_size = elem_size;
  int n = H5Pget_nfilters(dcpl);
  FLOE_RETURN_ERROR_IF(n < 0, FLOE_ERR_FORMAT, "cannot read the filter pipeline");
  FLOE_RETURN_ERROR_IF(n > 8, FLOE_ERR_FORMAT, "%d filters in the pipeline, at most 8 supported",
                       n);
  for (int i = 0; i < n; i++) {
    floe__filter *f = &p->f[i];
    size_t ncd = 8;
    unsigned config = 0;
    char name[64];
    H5Z_filter_t id =
        H5Pget_filter2(dcpl, (unsigned)i, &f->flags, &ncd, f->cd, sizeof name, name, &config);
    FLOE_RETURN_ERROR_IF(id < 0, FLOE_ERR_FORMAT, "cannot read filter %d of the pipeline", i);
    f->id = (int)id;
    f->ncd = ncd < 8 ? ncd : 8;
  }
  p->n = n;
  return FLOE_OK;
}

bool floe__pipeline_decodable(const floe__pipeline *p) {
  if (p->n < 0 || p->n > 8) {
    return false;
  }
  for (int i = 0; i < p->n; i++) {
    int id = p->f[i].id;
    if (id != FLOE__H5Z_DEFLATE && id != FLOE__H5Z_SHUFFLE && id != FLOE__H5Z_FLETCHER32 &&
        id != FLOE__H5Z_ZSTD) {
      return false;
    }
  }
  return true;
}

/* Room for one intermediate stage: the chunk, plus what a compressor may
 * add to incompressible data (zstd's and zlib's bounds are well below
 * 1/64 + 4 KiB, even stacked), plus a checksum. */
static size_t stage_bytes(size_t out_size) {
  return out_size + out_size / 64 + 4096;
}

size_t floe__decode_scratch_bytes(size_t out_size) {
  return 2 * stage_bytes(out_size);
}

static floe_status zstd_decode(const unsigned char *in, size_t in_size, unsigned char *out,
                               size_t cap, size_t *size) {
  unsigned long long content = ZSTD_getFrameContentSize(in, in_size);
  FLOE_RETURN_ERROR_IF(content == ZSTD_CONTENTSIZE_ERROR, FLOE_ERR_FORMAT,
                       "zstd: not a zstd frame (%zu bytes)", in_size);
  FLOE_RETURN_ERROR_IF(content != ZSTD_CONTENTSIZE_UNKNOWN && content > cap, FLOE_ERR_FORMAT,
                       "zstd: frame of %llu bytes, more than the %zu expected", content, cap);
  codec_tls *t = tls_get();
  FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a thread's context");
  if (t->dctx == NULL) {
    t->dctx = ZSTD_createDCtx();
    FLOE_RETURN_ERROR_IF(t->dctx == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a context");
  }
  /* a frame without its content size decodes as well, given the room */
  size_t r = ZSTD_decompressDCtx(t->dctx, out, cap, in, in_size);
  FLOE_RETURN_ERROR_IF(ZSTD_isError(r), FLOE_ERR_FORMAT, "zstd: %s", ZSTD_getErrorName(r));
  *size = r;
  return FLOE_OK;
}

floe_status floe__zstd_decode_pieces(floe__piece_fn read, void *ctx, size_t in_size, void *piece,
                                     size_t piece_cap, void *out, size_t cap) {
  codec_tls *t = tls_get();
  FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a thread's context");
  if (t->dctx == NULL) {
    t->dctx = ZSTD_createDCtx();
    FLOE_RETURN_ERROR_IF(t->dctx == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a context");
  }
  ZSTD_DCtx_reset(t->dctx, ZSTD_reset_session_only);
  ZSTD_outBuffer o = {out, cap, 0};
  size_t pos = 0, left = 1;
  while (pos < in_size) {
    size_t n = in_size - pos < piece_cap ? in_size - pos : piece_cap;
    FLOE_FORWARD_IF_ERROR(read(ctx, piece, n, pos));
    ZSTD_inBuffer in = {piece, n, 0};
    while (in.pos < in.size) {
      left = ZSTD_decompressStream(t->dctx, &o, &in);
      FLOE_RETURN_ERROR_IF(ZSTD_isError(left), FLOE_ERR_FORMAT, "zstd: %s",
                           ZSTD_getErrorName(left));
      FLOE_RETURN_ERROR_IF(left != 0 && o.pos == o.size && in.pos < in.size, FLOE_ERR_FORMAT,
                           "zstd: the frame holds more than the %zu bytes expected", cap);
      if (left == 0) {
        break; /* end of the frame: trailing bytes, as HDF5 allows, are ignored */
      }
    }
    pos += n;
    if (left == 0) {
      break;
    }
  }
  FLOE_RETURN_ERROR_IF(left != 0, FLOE_ERR_FORMAT, "zstd: the frame is truncated");
  FLOE_RETURN_ERROR_IF(o.pos != cap, FLOE_ERR_FORMAT,
                       "zstd: the frame holds %zu bytes, not the %zu of a chunk", o.pos, cap);
  return FLOE_OK;
}

static floe_status deflate_decode(const unsigned char *in, size_t in_size, unsigned char *out,
                                  size_t cap, size_t *size) {
  FLOE_RETURN_ERROR_IF(in_size > UINT_MAX, FLOE_ERR_FORMAT, "deflate: chunk of %zu bytes", in_size);
  codec_tls *t = tls_get();
  FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "deflate: out of memory for a thread's context");
  z_stream *zs = &t->zs;
  if (!t->zs_ready) {
    memset(zs, 0, sizeof *zs);
    FLOE_RETURN_ERROR_IF(inflateInit(zs) != Z_OK, FLOE_ERR_NOMEM,
                         "deflate: out of memory for a context");
    t->zs_ready = true;
  } else {
    inflateReset(zs);
  }
  size_t room = cap < UINT_MAX ? cap : UINT_MAX;
  zs->next_in = (Bytef *)(uintptr_t)in;
  zs->avail_in = (uInt)in_size;
  zs->next_out = out;
  zs->avail_out = (uInt)room;
  int rc = inflate(zs, Z_FINISH);
  if (rc == Z_STREAM_END) {
    *size = room - zs->avail_out;
    return FLOE_OK;
  }
  FLOE_RETURN_ERROR_IF(rc == Z_MEM_ERROR, FLOE_ERR_NOMEM, "deflate: out of memory");
  FLOE_RETURN_ERROR_IF(rc == Z_BUF_ERROR && zs->avail_out == 0, FLOE_ERR_FORMAT,
                       "deflate: stream inflates to more than %zu bytes", room);
  FLOE_RETURN_ERROR_IF(rc == Z_BUF_ERROR, FLOE_ERR_FORMAT, "deflate: truncated stream");
  return floe__fail(FLOE_ERR_FORMAT, "deflate: %s", zs->msg != NULL ? zs->msg : "corrupt stream");
}

floe_status floe__pipeline_decode(const floe__pipeline *p, unsigned filter_mask, const void *in,
                                  size_t in_size, void *out, size_t out_size, void *scratch) {
  /* Stages ping-pong between the two scratch buffers, and the last one that
   * moves bytes writes straight into `out`, unless a checksum still follows
   * it: then the data is 4 bytes longer than out and is copied at the end. */
  int last_copy = -1;
  bool check_after = false;
  for (int i = p->n - 1; i >= 0; i--) {
    if (filter_mask & (1u << i)) {
      continue;
    }
    if (p->f[i].id == FLOE__H5Z_FLETCHER32) {
      check_after = last_copy >= 0;
    } else {
      last_copy = i;
      check_after = false;
    }
  }

  const size_t stage = stage_bytes(out_size);
  unsigned char *bufs[2] = {scratch, (unsigned char *)scratch + stage};
  int next = 0;
  const unsigned char *cur = in;
  size_t size = in_size;
  for (int i = p->n - 1; i >= 0; i--) {
    if (filter_mask & (1u << i)) {
      continue;
    }
    const floe__filter *f = &p->f[i];
    if (f->id == FLOE__H5Z_FLETCHER32) {
      FLOE_FORWARD_IF_ERROR(fletcher_check(cur, size));
      size -= 4;
      continue;
    }
    bool to_out = i == last_copy && !check_after;
    unsigned char *dst = to_out ? out : bufs[next];
    size_t cap = to_out ? out_size : stage;
    switch (f->id) {
    case FLOE__H5Z_SHUFFLE: {
      size_t k = f->ncd > 0 && f->cd[0] > 0 ? f->cd[0] : p->elem_size;
      FLOE_RETURN_ERROR_IF(size > cap, FLOE_ERR_FORMAT,
                           "shuffle: %zu bytes, more than the %zu expected", size, cap);
      floe__unshuffle(cur, dst, k, size);
      break;
    }
    case FLOE__H5Z_DEFLATE:
      FLOE_FORWARD_IF_ERROR(deflate_decode(cur, size, dst, cap, &size));
      break;
    case FLOE__H5Z_ZSTD:
      FLOE_FORWARD_IF_ERROR(zstd_decode(cur, size, dst, cap, &size));
      break;
    default:
      return floe__fail(FLOE_ERR_INTERNAL, "filter %d is not decoded by floe", f->id);
    }
    cur = dst;
    next ^= 1;
  }
  FLOE_RETURN_ERROR_IF(size != out_size, FLOE_ERR_FORMAT,
                       "chunk decodes to %zu bytes, expected %zu", size, out_size);
  if (cur != out) {
    memcpy(out, cur, out_size);
  }
  return FLOE_OK;
}

/* ---------------------------------------------------------- write path */

size_t floe__encode_bound(size_t nbytes) {
  return ZSTD_compressBound(nbytes);
}

floe_status floe__encode_shuffle_zstd(const void *in, size_t nbytes, size_t elem_size, int level,
                                      void *out, size_t *out_size, void *scratch) {
  codec_tls *t = tls_get();
  FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a thread's context");
  if (t->cctx == NULL) {
    t->cctx = ZSTD_createCCtx();
    FLOE_RETURN_ERROR_IF(t->cctx == NULL, FLOE_ERR_NOMEM, "zstd: out of memory for a context");
    ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_checksumFlag, 1);
    t->cctx_level = INT_MIN;
  }
  level = level < ZSTD_minCLevel() ? ZSTD_minCLevel() : level;
  level = level > ZSTD_maxCLevel() ? ZSTD_maxCLevel() : level;
  if (level != t->cctx_level) {
    ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, level);
    t->cctx_level = level;
  }
  const void *src = in;
  if (elem_size > 1) {
    floe__shuffle(in, scratch, elem_size, nbytes);
    src = scratch;
  }
  /* one pass, content size from nbytes; the context keeps its parameters */
  size_t r = ZSTD_compress2(t->cctx, out, floe__encode_bound(nbytes), src, nbytes);
  if (ZSTD_isError(r)) {
    ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_only);
    return floe__fail(FLOE_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
  }
  *out_size = r;
  return FLOE_OK;
}
