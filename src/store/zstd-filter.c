/* HDF5's zstd filter (registered id 32015), compiled both into the library
 * and into the loadable plugin (src/plugin), so it uses HDF5 and libzstd
 * only.  Frames follow the registered filter: one zstd frame per chunk,
 * cd_values[0] the level.  Ours also record the content size and a
 * checksum; frames from other writers without a content size (the
 * streaming API) are decoded as a stream.
 *
 * HDF5 calls this under its global lock, one chunk at a time; the
 * contexts are made per call, which costs little next to a chunk and keeps
 * the plugin free of thread-exit hooks that could outlive a dlclose. */
#include <string.h>
#include <zstd.h>

#include "store/codec-internal.h"

#define PUSH_ERR(...)                                                                              \
  H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_PLINE, H5E_CALLBACK,        \
           __VA_ARGS__)

/* A stream of unknown length: grow the output until the frames end. */
static size_t decode_stream(const void *in, size_t nbytes, void **out, size_t *cap) {
  ZSTD_DStream *ds = ZSTD_createDStream();
  size_t size = nbytes * 4 > ZSTD_DStreamOutSize() ? nbytes * 4 : ZSTD_DStreamOutSize();
  unsigned char *buf = H5allocate_memory(size, 0);
  if (ds == NULL || buf == NULL) {
    PUSH_ERR("zstd: out of memory");
    goto fail;
  }
  ZSTD_inBuffer src = {in, nbytes, 0};
  ZSTD_outBuffer dst = {buf, size, 0};
  size_t left; /* 0 once a frame is decoded and flushed */
  for (;;) {
    if (dst.pos == dst.size) {
      unsigned char *bigger = H5resize_memory(buf, size * 2);
      if (bigger == NULL) {
        PUSH_ERR("zstd: out of memory");
        goto fail;
      }
      buf = bigger;
      size *= 2;
      dst.dst = buf;
      dst.size = size;
    }
    left = ZSTD_decompressStream(ds, &dst, &src);
    if (ZSTD_isError(left)) {
      PUSH_ERR("zstd: %s", ZSTD_getErrorName(left));
      goto fail;
    }
    /* a full output buffer may hide output still to flush */
    if (src.pos == src.size && (left == 0 || dst.pos < dst.size)) {
      break;
    }
  }
  if (left != 0 || dst.pos == 0) {
    PUSH_ERR("zstd: %s", left != 0 ? "truncated frame" : "empty frame");
    goto fail;
  }
  ZSTD_freeDStream(ds);
  *out = buf;
  *cap = size;
  return dst.pos;

fail:
  ZSTD_freeDStream(ds);
  H5free_memory(buf);
  return 0;
}

static size_t decode(size_t nbytes, size_t *buf_size, void **buf) {
  unsigned long long content = ZSTD_getFrameContentSize(*buf, nbytes);
  void *out = NULL;
  size_t cap = 0;
  size_t size = 0;
  if (content == ZSTD_CONTENTSIZE_ERROR) {
    PUSH_ERR("zstd: not a zstd frame");
    return 0;
  }
  if (content == ZSTD_CONTENTSIZE_UNKNOWN) {
    size = decode_stream(*buf, nbytes, &out, &cap);
    if (size == 0) {
      return 0;
    }
  } else {
    /* 0 bytes out would read as a failure to HDF5; no chunk is empty */
    if (content == 0 || content > (unsigned long long)SIZE_MAX) {
      PUSH_ERR("zstd: frame of %llu bytes", content);
      return 0;
    }
    cap = (size_t)content;
    if ((out = H5allocate_memory(cap, 0)) == NULL) {
      PUSH_ERR("zstd: out of memory for %zu bytes", cap);
      return 0;
    }
    /* ZSTD_decompress also reads frames that follow the first one, and
     * fails when they would not fit: one frame per chunk is the format */
    size = ZSTD_decompress(out, cap, *buf, nbytes);
    if (ZSTD_isError(size) || size != cap) {
      PUSH_ERR("zstd: %s", ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short frame");
      H5free_memory(out);
      return 0;
    }
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = cap;
  return size;
}

static size_t encode(size_t cd_nelmts, const unsigned cd_values[], size_t nbytes, size_t *buf_size,
                     void **buf) {
  /* the level travels as an unsigned: negative (fast) levels wrap */
  int level = cd_nelmts > 0 ? (int)cd_values[0] : FLOE__ZSTD_DEFAULT_LEVEL;
  level = level < ZSTD_minCLevel() ? ZSTD_minCLevel() : level;
  level = level > ZSTD_maxCLevel() ? ZSTD_maxCLevel() : level;

  size_t cap = ZSTD_compressBound(nbytes);
  void *out = H5allocate_memory(cap, 0);
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  if (out == NULL || cctx == NULL) {
    PUSH_ERR("zstd: out of memory");
    H5free_memory(out);
    ZSTD_freeCCtx(cctx);
    return 0;
  }
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  size_t size = ZSTD_compress2(cctx, out, cap, *buf, nbytes);
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(size)) {
    PUSH_ERR("zstd: %s", ZSTD_getErrorName(size));
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = cap;
  return size;
}

size_t floe__h5z_zstd_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[],
                             size_t nbytes, size_t *buf_size, void **buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    return decode(nbytes, buf_size, buf);
  }
  return encode(cd_nelmts, cd_values, nbytes, buf_size, buf);
}

const H5Z_class2_t floe__h5z_zstd_class[1] = {{
    .version = H5Z_CLASS_T_VERS,
    .id = (H5Z_filter_t)FLOE__H5Z_ZSTD,
    .encoder_present = 1,
    .decoder_present = 1,
    .name = "zstd (floe); registered filter 32015",
    .can_apply = NULL,
    .set_local = NULL,
    .filter = floe__h5z_zstd_filter,
}};
