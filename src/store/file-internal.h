/* HDF5 datasets in and out, for the lowering's read and write tasks.
 *
 * One I/O path: every HDF5 call is made under floe's own I/O lock (HDF5 is
 * thread-safe through one global lock anyway; holding ours keeps sequences
 * of calls atomic and keeps HDF5's error stack ours to read), while the
 * expensive parts run in the calling worker without it: raw chunk bytes are
 * read with pread at the addresses HDF5 reports and decoded here, and
 * outputs are shuffled and compressed before H5Dwrite_chunk.  Where a layout
 * or filter does not allow that, HDF5 reads the data itself (under the lock).
 *
 * Sources are reference counted and shared by graph nodes; outputs belong to
 * one run of a job and are committed (renamed or linked into place) only
 * after every chunk was written. */
#ifndef FLOE_STORE_FILE_INTERNAL_H
#define FLOE_STORE_FILE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "floe.h"

/* Figures the I/O adds to a run's statistics; updated atomically. */
typedef struct floe__io_counters {
  _Atomic uint64_t bytes_read, bytes_written;
  _Atomic uint64_t io_ns;
  /* the chunk store's (store-internal.h) */
  _Atomic uint64_t bytes_spilled, bytes_reloaded, bytes_reread;
  _Atomic uint64_t wait_ns;
} floe__io_counters;

/* Chunk-sized work buffers, recycled by the caller: a fresh large
 * allocation is a fresh mapping whose page faults cost more than the I/O. */
typedef struct floe__bufs {
  void *(*get)(void *owner, size_t bytes);
  void (*put)(void *owner, void *p, size_t bytes);
  void *owner;
} floe__bufs;

/* ------------------------------------------------------------------ reading */

typedef struct floe__h5src floe__h5src;

/* Opens `dataset` of `path` for reading (metadata only).  FLOE_ERR_IO for a
 * missing or unreadable file, FLOE_ERR_FORMAT for a file that is not HDF5 or
 * a missing dataset, FLOE_ERR_DTYPE for a type floe cannot hold; messages
 * name the file and dataset. */
floe_status floe__h5src_open(const char *path, const char *dataset, floe__h5src **out);
void floe__h5src_ref(floe__h5src *s);
void floe__h5src_unref(floe__h5src *s);

typedef struct floe__h5src_info {
  int ndim;
  int64_t shape[FLOE_MAX_DIMS];
  int64_t chunk[FLOE_MAX_DIMS]; /* the file's chunks; 0 for other layouts */
  floe_dtype dtype;
  uint64_t stored_bytes; /* on disk */
  bool raw;              /* chunked, unfiltered, read by floe: slabs of a chunk read alone */
  const char *path, *dataset;
} floe__h5src_info;

void floe__h5src_describe(const floe__h5src *s, floe__h5src_info *info);

/* Readers that stream through different parts of a file at once, each on
 * its own descriptor (the kernel's readahead follows one sequence per
 * descriptor; several sequences in flight keep the disk busy). */
#define FLOE__H5_STREAMS 4

/* Reads the region [lo, hi) of the dataset into `dst`, a C-order buffer of
 * shape `cdim` (>= hi - lo per axis; the rest is left as it is), converted to
 * the source's dtype, on read stream `stream` (0 .. FLOE__H5_STREAMS-1).
 * Thread-safe; runs in workers.  FLOE_ERR_IO or
 * FLOE_ERR_FORMAT (a corrupted chunk) with a message naming the file,
 * dataset and chunk. */
floe_status floe__h5src_read(floe__h5src *s, int stream, const int64_t *lo, const int64_t *hi,
                             const int64_t *cdim, void *dst, const floe__bufs *bufs,
                             floe__io_counters *io);

/* When the region [lo, hi) is one whole file chunk (or, for a contiguous
 * dataset, a whole C-order block), stored unfiltered and in floe's own
 * representation, maps its bytes read-only instead of copying them and sets
 * *view to the data and *map / *maplen to the mapping the caller releases
 * with munmap.  Otherwise *view is NULL and the caller reads with
 * floe__h5src_read.  Thread-safe. */
floe_status floe__h5src_map(floe__h5src *s, const int64_t *lo, const int64_t *hi,
                            const int64_t *cdim, const void **view, void **map, size_t *maplen,
                            floe__io_counters *io);

/* ------------------------------------------------------------------ writing */

typedef struct floe__h5out floe__h5out;         /* one output file of a run */
typedef struct floe__h5out_dset floe__h5out_dset; /* one dataset in it */

/* Opens the output file `path`: a new file is created under a temporary
 * name beside it; an existing one is refused unless `overwrite`, in which
 * case it is opened for writing (its other datasets are kept).  `op` names
 * the operation in messages. */
floe_status floe__h5out_open(const char *op, const char *path, bool overwrite, floe__h5out **out);

/* Creates dataset `name` (groups on the way are created): chunked like
 * `chunk` (a 0-d shape gives a scalar dataset), compressed with byte shuffle
 * and zstd at `level` when level > 0.  In an existing file it is created
 * anonymous and linked at commit.  Owned by the file. */
floe_status floe__h5out_dataset(floe__h5out *f, const char *name, floe_dtype dtype, int ndim,
                                const int64_t *shape, const int64_t *chunk, int level,
                                floe__h5out_dset **out);

/* Bytes of one padded chunk of the dataset (the buffer write_chunk takes). */
size_t floe__h5out_chunk_bytes(const floe__h5out_dset *d);

/* Writes the chunk at chunk coordinates `coord` from `data`, the full
 * padded chunk in C order (padding zeroed).  Compression runs in the
 * calling worker.  Thread-safe. */
floe_status floe__h5out_write(floe__h5out_dset *d, const int64_t *coord, const void *data,
                              const floe__bufs *bufs, floe__io_counters *io);

/* Creates a scratch file at `path` itself (the spill file): never
 * committed, removed by floe__h5out_abort.  Its datasets are compressed
 * like outputs and may be read back with floe__h5out_read. */
floe_status floe__h5out_open_scratch(const char *op, const char *path, floe__h5out **out);

/* Reads back the chunk at `coord` of a compressed dataset written by
 * floe__h5out_write into `dst` (the full padded chunk), decoding in the
 * calling worker.  Thread-safe. */
floe_status floe__h5out_read(floe__h5out_dset *d, const int64_t *coord, void *dst,
                             const floe__bufs *bufs, floe__io_counters *io);

/* Makes the file's datasets visible: links the anonymous datasets under
 * their names, or closes and renames the temporary file into place.  The
 * object is freed. */
floe_status floe__h5out_commit(floe__h5out *f);

/* Removes everything written and leaves the file as it was; frees. */
void floe__h5out_abort(floe__h5out *f);

#endif
