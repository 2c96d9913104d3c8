/* Chunk codecs: the filters of an HDF5 dataset, undone and applied by floe
 * itself on raw chunks (H5Dread_chunk / H5Dwrite_chunk) so that compression
 * runs in the workers while HDF5, serialised by its global lock, only moves
 * bytes.
 *
 * Formats are HDF5's exactly:
 *  - shuffle (filter 2): the first byte of every element, then every second
 *    byte, ...; the nbytes % elem_size trailing bytes are copied unchanged
 *    at the end.
 *  - deflate (1): one zlib stream (zlib header, not gzip).
 *  - fletcher32 (3): HDF5's Fletcher-32 of the data, 4 bytes little-endian
 *    appended; the byte-swapped value that HDF5 before 1.6.3 wrote is also
 *    accepted, as HDF5 does.
 *  - zstd (32015, the registered filter of the HDF Group's H5Z-ZSTD and of
 *    hdf5plugin): one zstd frame per chunk; cd_values[0] is the level
 *    (3 when absent).  floe's frames carry their content size and a content
 *    checksum, which every zstd decoder checks.
 *
 * Thread-safety: everything here may run in any number of threads at once.
 * The zstd and zlib contexts are per thread, made on first use and freed
 * when the thread exits. */
#ifndef FLOE_STORE_CODEC_INTERNAL_H
#define FLOE_STORE_CODEC_INTERNAL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>

#include "floe.h"

#define FLOE__H5Z_DEFLATE 1
#define FLOE__H5Z_SHUFFLE 2
#define FLOE__H5Z_FLETCHER32 3
#define FLOE__H5Z_ZSTD 32015

/* The level HDF5's zstd filter uses when a dataset gives none. */
#define FLOE__ZSTD_DEFAULT_LEVEL 3

/* ------------------------------------------------------- the HDF5 filter */

/* HDF5's zstd filter (src/store/zstd-filter.c), shared by the library and
 * the loadable plugin (src/plugin), so it depends on HDF5 and libzstd only.
 * Follows the H5Z_func_t contract: returns the number of valid bytes in
 * *buf (which it replaces, allocated with H5allocate_memory), or 0 on
 * failure after pushing a message on HDF5's error stack.  Decoding sizes
 * its output from the frame's content size, or decodes as a stream when
 * the frame does not record it. */
size_t floe__h5z_zstd_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[],
                             size_t nbytes, size_t *buf_size, void **buf)
    __attribute__((visibility("hidden")));
/* The filter's class, for H5Zregister and H5PLget_plugin_info. */
extern const H5Z_class2_t floe__h5z_zstd_class[1] __attribute__((visibility("hidden")));

/* Registers floe's zstd filter with HDF5 unless a filter 32015 is already
 * available (registered, or found as a plugin by HDF5's search path).
 * Idempotent and thread-safe.  FLOE_ERR_INTERNAL with a message when
 * H5Zregister fails (then on every later call as well). */
floe_status floe__zstd_filter_register(void);

/* --------------------------------------------------------------- shuffle */

/* HDF5's byte shuffle of nbytes bytes of elem_size-byte elements, and its
 * inverse.  src and dst must not overlap.  Vectorised for elem_size 2, 4
 * and 8 (SSE2, or AVX2 where the CPU has it). */
void floe__shuffle(const void *src, void *dst, size_t elem_size, size_t nbytes);
void floe__unshuffle(const void *src, void *dst, size_t elem_size, size_t nbytes);

/* The AVX2 kernels (codec-avx2.c), called only after a check of the CPU:
 * they handle the first n - n % 32 of the n elements (elem_size 2, 4 or 8)
 * and return how many they did; the caller does the rest. */
size_t floe__shuffle_avx2(const unsigned char *src, unsigned char *dst, size_t elem_size, size_t n);
size_t floe__unshuffle_avx2(const unsigned char *src, unsigned char *dst, size_t elem_size,
                            size_t n);

/* ------------------------------------------------------------ pipelines */

/* One filter of a dataset's pipeline as H5Pget_filter2 gives it (at most 8
 * client values are kept). */
typedef struct floe__filter {
  int id;
  unsigned flags;
  size_t ncd;
  unsigned cd[8];
} floe__filter;

/* A dataset's filters in the order HDF5 applies them when writing
 * (f[0] first); filter_mask bit i of a chunk refers to f[i]. */
typedef struct floe__pipeline {
  int n;
  floe__filter f[8];
  size_t elem_size; /* bytes per element in the file */
} floe__pipeline;

/* Fills *p from a dataset creation property list and the element size in
 * the file.  FLOE_ERR_FORMAT when the pipeline cannot be read or has more
 * than 8 filters. */
floe_status floe__pipeline_from_dcpl(hid_t dcpl, size_t elem_size, floe__pipeline *p);

/* True when floe can undo every filter itself: deflate, shuffle,
 * fletcher32 and zstd.  Otherwise chunks must be read through HDF5. */
bool floe__pipeline_decodable(const floe__pipeline *p);

/* Bytes of scratch floe__pipeline_decode needs for chunks of out_size
 * bytes: two buffers with room for the largest intermediate stage. */
size_t floe__decode_scratch_bytes(size_t out_size);

/* Decodes a raw chunk (in, in_size) as H5Dread_chunk returns it into `out`,
 * exactly out_size bytes (the full chunk, edge chunks included), undoing
 * the filters of p in reverse order and skipping those whose bit is set in
 * filter_mask.  `scratch` holds floe__decode_scratch_bytes(out_size) bytes;
 * nothing is allocated per chunk.
 * FLOE_ERR_FORMAT for a corrupt chunk (bad zstd frame or deflate stream,
 * Fletcher-32 mismatch, a size other than out_size), with a message that
 * starts with the filter ("zstd: ...") and leaves the file, dataset and
 * chunk to the caller; FLOE_ERR_INTERNAL for a filter floe does not decode;
 * FLOE_ERR_NOMEM when a per-thread context cannot be made. */
floe_status floe__pipeline_decode(const floe__pipeline *p, unsigned filter_mask, const void *in,
                                  size_t in_size, void *out, size_t out_size, void *scratch);

/* ---------------------------------------------------------- write path */

/* Bytes `out` must hold for floe__encode_shuffle_zstd of nbytes. */
size_t floe__encode_bound(size_t nbytes);

/* The chunks floe writes for a dataset with filters {shuffle, zstd(level)}:
 * byte shuffle of elem_size-byte elements (skipped for elem_size 1), then
 * one zstd frame with content size and checksum, compressed on this thread
 * only.  `out` holds floe__encode_bound(nbytes) bytes, `scratch` nbytes;
 * *out_size receives the frame's size.  Levels outside zstd's range are
 * clamped.  FLOE_ERR_NOMEM when the thread's context cannot be made,
 * FLOE_ERR_INTERNAL when zstd fails. */
floe_status floe__encode_shuffle_zstd(const void *in, size_t nbytes, size_t elem_size, int level,
                                      void *out, size_t *out_size, void *scratch);

/* Reads `size` bytes at `pos` of a compressed chunk into buf. */
typedef floe_status (*floe__piece_fn)(void *ctx, void *buf, size_t size, uint64_t pos);

/* Decodes one zstd frame of in_size bytes, read in pieces of at most
 * piece_cap bytes into `piece` through `read`, into out, which it must fill
 * exactly (cap bytes).  For chunks read from a file: the compressed bytes
 * never need a buffer of their own.  FLOE_ERR_FORMAT for a bad frame. */
floe_status floe__zstd_decode_pieces(floe__piece_fn read, void *ctx, size_t in_size, void *piece,
                                     size_t piece_cap, void *out, size_t cap);

#endif
