/* Writing HDF5 datasets chunk by chunk (see file-internal.h).
 *
 * Nothing half-written: a new file is created as ".NAME.floe-PID-N" beside
 * its final path and renamed over it only at commit, after HDF5 has closed
 * it and its bytes are on disk (fsync); in an existing file (overwrite) each
 * dataset is created anonymous and linked under its name (replacing the old
 * one) at commit.  A failed run removes the temporary file, or leaves the
 * anonymous datasets to vanish with their handles. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#include "core/error-internal.h"
#include "core/sync-internal.h"
#include "file-internal.h"
#include "h5-private.h"
#include "store/codec-internal.h"

struct floe__h5out_dset {
  floe__h5out *file;
  char *name;
  hid_t dset;
  int ndim;
  int64_t shape[FLOE_MAX_DIMS], chunk[FLOE_MAX_DIMS];
  floe_dtype dtype;
  hid_t memtype; /* scalar datasets */
  int level;
  bool early; /* chunks allocated at creation: written with pwrite at their addresses */
  size_t chunk_bytes;
  floe__h5out_dset *next;
};

struct floe__h5out {
  char *path;    /* final */
  char *tmppath; /* a new file's temporary name; NULL when writing in place */
  const char *op;
  hid_t file;
  int fd, dfd; /* floe's own descriptors on the file: buffered and O_DIRECT (-1: none) */
  floe__h5out_dset *dsets;
};

static _Atomic unsigned tmp_counter;

static void out_free(floe__h5out *f) {
  for (floe__h5out_dset *d = f->dsets; d != NULL;) {
    floe__h5out_dset *next = d->next;
    free(d->name);
    free(d);
    d = next;
  }
  if (f->fd >= 0) {
    close(f->fd);
  }
  if (f->dfd >= 0) {
    close(f->dfd);
  }
  free(f->path);
  free(f->tmppath);
  free(f);
}

/* Closes every HDF5 object of the file; under the lock.  < 0 on failure. */
static herr_t close_all(floe__h5out *f) {
  herr_t rc = 0;
  for (floe__h5out_dset *d = f->dsets; d != NULL; d = d->next) {
    if (d->memtype > 0) {
      rc |= H5Tclose(d->memtype);
      d->memtype = 0;
    }
    if (d->dset > 0) {
      rc |= H5Dclose(d->dset);
      d->dset = 0;
    }
  }
  if (f->file > 0) {
    rc |= H5Fclose(f->file);
    f->file = 0;
  }
  return rc;
}

/* Chunk data goes around HDF5's buffered writes: with direct I/O where
 * the chunk is aligned, which on this class of machine writes several times
 * faster than the page cache absorbs.  Without the descriptors, chunks go
 * through H5Dwrite_chunk. */
static void open_raw(floe__h5out *f, const char *path) {
  f->fd = open(path, O_WRONLY | O_CLOEXEC);
#ifdef O_DIRECT
  f->dfd = open(path, O_WRONLY | O_CLOEXEC | O_DIRECT);
#endif
}

floe_status floe__h5out_open(const char *op, const char *path, bool overwrite, floe__h5out **out) {
  *out = NULL;
  FLOE_RETURN_ERROR_IF(path == NULL || path[0] == '\0', FLOE_ERR_INVALID, "%s: the path is %s", op,
                       path == NULL ? "NULL" : "empty");
  struct stat sb;
  bool exists = stat(path, &sb) == 0;
  FLOE_RETURN_ERROR_IF(exists && !overwrite, FLOE_ERR_IO,
                       "%s: '%s' exists; set the overwrite option (--overwrite) to replace the "
                       "dataset in it",
                       op, path);
  FLOE_RETURN_ERROR_IF(exists && S_ISDIR(sb.st_mode), FLOE_ERR_IO, "%s: '%s' is a directory", op,
                       path);
  floe__h5out *f = calloc(1, sizeof *f);
  FLOE_RETURN_ERROR_IF(f == NULL, FLOE_ERR_NOMEM, "%s: out of memory", op);
  f->op = op;
  f->fd = f->dfd = -1;
  f->path = strdup(path);
  if (f->path == NULL) {
    out_free(f);
    return floe__fail(FLOE_ERR_NOMEM, "%s: out of memory", op);
  }
  char why[512];
  floe__h5_lock();
  bool in_place = exists && H5Fis_hdf5(path) > 0;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* chunk data on 4 KiB boundaries, as the page cache and direct I/O like */
  H5Pset_alignment(fapl, 1 << 16, 4096);
  if (in_place) {
    f->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (f->file < 0) {
      floe__h5_reason(why, sizeof why);
    }
    H5Pclose(fapl);
    if (f->file < 0) {
      floe__h5_unlock();
      out_free(f);
      return floe__fail(FLOE_ERR_IO, "%s: cannot open '%s' for writing: %s", op, path, why);
    }
    floe__h5_unlock();
    open_raw(f, path);
    *out = f;
    return FLOE_OK;
  }
  /* a new file (or a non-HDF5 file to replace): a temporary beside it */
  char *dup1 = strdup(path), *dup2 = strdup(path);
  size_t cap = strlen(path) + 64;
  f->tmppath = malloc(cap);
  if (dup1 == NULL || dup2 == NULL || f->tmppath == NULL) {
    H5Pclose(fapl);
    floe__h5_unlock();
    free(dup1);
    free(dup2);
    out_free(f);
    return floe__fail(FLOE_ERR_NOMEM, "%s: out of memory", op);
  }
  snprintf(f->tmppath, cap, "%s/.%s.floe-%ld-%u", dirname(dup1), basename(dup2), (long)getpid(),
           atomic_fetch_add(&tmp_counter, 1));
  free(dup1);
  free(dup2);
  f->file = H5Fcreate(f->tmppath, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  int err = errno;
  if (f->file < 0) {
    floe__h5_reason(why, sizeof why);
    if (err != 0) {
      snprintf(why, sizeof why, "%s", strerror(err));
    }
  }
  H5Pclose(fapl);
  if (f->file < 0) {
    floe__h5_unlock();
    floe_status st = floe__fail(FLOE_ERR_IO, "%s: cannot create '%s': %s", op, path, why);
    unlink(f->tmppath);
    out_free(f);
    return st;
  }
  floe__h5_unlock();
  open_raw(f, f->tmppath);
  *out = f;
  return FLOE_OK;
}

floe_status floe__h5out_dataset(floe__h5out *f, const char *name, floe_dtype dtype, int ndim,
                                const int64_t *shape, const int64_t *chunk, int level,
                                floe__h5out_dset **out) {
  const char *op = f->op;
  FLOE_RETURN_ERROR_IF(name == NULL || name[0] == '\0', FLOE_ERR_INVALID,
                       "%s: the dataset name is %s", op, name == NULL ? "NULL" : "empty");
  for (floe__h5out_dset *o = f->dsets; o != NULL; o = o->next) {
    FLOE_RETURN_ERROR_IF(strcmp(o->name, name) == 0, FLOE_ERR_INVALID,
                         "%s: dataset '%s' of '%s' is written twice by one job", op, name, f->path);
  }
  floe__h5out_dset *d = calloc(1, sizeof *d);
  FLOE_RETURN_ERROR_IF(d == NULL, FLOE_ERR_NOMEM, "%s: out of memory", op);
  d->file = f;
  d->ndim = ndim;
  d->dtype = dtype;
  d->level = level;
  d->name = strdup(name);
  if (d->name == NULL) {
    free(d);
    return floe__fail(FLOE_ERR_NOMEM, "%s: out of memory", op);
  }
  d->next = f->dsets;
  f->dsets = d;
  hsize_t dims[FLOE_MAX_DIMS], cd[FLOE_MAX_DIMS];
  uint64_t elems = 1, celems = 1;
  for (int k = 0; k < ndim; k++) {
    d->shape[k] = shape[k];
    d->chunk[k] = chunk[k] > 0 ? chunk[k] : 1;
    dims[k] = (hsize_t)shape[k];
    cd[k] = (hsize_t)d->chunk[k];
    elems *= (uint64_t)shape[k];
    celems *= (uint64_t)d->chunk[k];
  }
  d->chunk_bytes = (size_t)celems * floe_dtype_size(dtype);
  FLOE_RETURN_ERROR_IF(d->chunk_bytes >= (1ull << 32), FLOE_ERR_INVALID,
                       "%s: chunks of %zu bytes are too big for HDF5 (4 GiB at most); rechunk "
                       "the array before writing '%s'",
                       op, d->chunk_bytes, name);
  if (level > 0) {
    FLOE_FORWARD_IF_ERROR(floe__zstd_filter_register());
  }
  char why[512];
  floe__h5_lock();
  hid_t type = floe__h5_type(dtype);
  hid_t space = ndim > 0 ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  if (ndim > 0 && elems > 0) {
    H5Pset_chunk(dcpl, ndim, cd);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    if (level == 0 && f->fd >= 0) {
      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
      d->early = true;
    }
    if (level > 0) {
      unsigned cdv = (unsigned)level;
      H5Pset_shuffle(dcpl);
      H5Pset_filter(dcpl, FLOE__H5Z_ZSTD, H5Z_FLAG_OPTIONAL, 1, &cdv);
    }
  }
  /* in an existing file the dataset stays anonymous until commit links it,
     so a failed run leaves no name (and no group) behind */
  d->dset = f->tmppath == NULL ? H5Dcreate_anon(f->file, type, space, dcpl, H5P_DEFAULT)
                               : H5Dcreate2(f->file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
  if (d->dset < 0) {
    floe__h5_reason(why, sizeof why);
  }
  if (ndim == 0) {
    d->memtype = type;
  } else {
    H5Tclose(type);
  }
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Sclose(space);
  floe__h5_unlock();
  FLOE_RETURN_ERROR_IF(d->dset < 0, FLOE_ERR_IO, "%s: cannot create dataset '%s' in '%s': %s", op,
                       name, f->path, why);
  *out = d;
  return FLOE_OK;
}

size_t floe__h5out_chunk_bytes(const floe__h5out_dset *d) { return d->chunk_bytes; }

static floe_status pwrite_all(const floe__h5out *f, int fd, const void *data, size_t size,
                              uint64_t off, const floe__h5out_dset *d) {
  const unsigned char *p = data;
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(fd, p + done, size - done, (off_t)(off + done));
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return floe__fail(FLOE_ERR_IO, "%s: writing the chunk at byte %llu of '%s' in '%s': %s",
                        f->op, (unsigned long long)off, d->name, f->path,
                        w < 0 ? strerror(errno) : "nothing written");
    }
    done += (size_t)w;
  }
  return FLOE_OK;
}

floe_status floe__h5out_write(floe__h5out_dset *d, const int64_t *coord, const void *data,
                              const floe__bufs *bufs, floe__io_counters *io) {
  const floe__h5out *f = d->file;
  hsize_t off[FLOE_MAX_DIMS];
  for (int k = 0; k < d->ndim; k++) {
    off[k] = (hsize_t)(coord[k] * d->chunk[k]);
  }
  void *packed = NULL;
  size_t size = d->chunk_bytes;
  const void *bytes = data;
  if (d->level > 0 && d->ndim > 0) {
    size_t bound = floe__encode_bound(d->chunk_bytes);
    packed = bufs->get(bufs->owner, bound + d->chunk_bytes);
    FLOE_RETURN_ERROR_IF(packed == NULL, FLOE_ERR_NOMEM,
                         "%s: out of memory compressing a chunk of '%s'", f->op, d->name);
    floe_status st =
        floe__encode_shuffle_zstd(data, d->chunk_bytes, floe_dtype_size(d->dtype), d->level,
                                  packed, &size, (unsigned char *)packed + bound);
    if (st != FLOE_OK) {
      bufs->put(bufs->owner, packed, bound + d->chunk_bytes);
      return st;
    }
    bytes = packed;
  }
  int64_t t0 = floe__now_ns();
  char why[512];
  if (d->early) {
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    unsigned mask = 0;
    floe__h5_lock();
    herr_t rc = H5Dget_chunk_info_by_coord(d->dset, off, &mask, &addr, &stored);
    floe__h5_unlock();
    if (rc >= 0 && addr != HADDR_UNDEF && stored == size) {
      bool aligned = addr % 4096 == 0 && size % 4096 == 0 && (uintptr_t)data % 4096 == 0;
      floe_status st = pwrite_all(f, aligned && f->dfd >= 0 ? f->dfd : f->fd, data, size, addr, d);
      atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0),
                                memory_order_relaxed);
      if (st == FLOE_OK) {
        atomic_fetch_add_explicit(&io->bytes_written, size, memory_order_relaxed);
      }
      return st;
    }
  }
  floe__h5_lock();
  herr_t rc = d->ndim == 0
                  ? H5Dwrite(d->dset, d->memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data)
                  : H5Dwrite_chunk(d->dset, H5P_DEFAULT, 0, off, size, bytes);
  if (rc < 0) {
    floe__h5_reason(why, sizeof why);
  }
  floe__h5_unlock();
  if (packed != NULL) {
    bufs->put(bufs->owner, packed, floe__encode_bound(d->chunk_bytes) + d->chunk_bytes);
  }
  atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0), memory_order_relaxed);
  if (rc < 0) {
    int64_t origin[FLOE_MAX_DIMS];
    for (int k = 0; k < d->ndim; k++) {
      origin[k] = (int64_t)off[k];
    }
    char c[160];
    return floe__fail(FLOE_ERR_IO, "%s: writing the chunk at %s of '%s' in '%s': %s", f->op,
                      floe__h5_coord_str(d->ndim, origin, c, sizeof c), d->name, f->path, why);
  }
  atomic_fetch_add_explicit(&io->bytes_written, size, memory_order_relaxed);
  return FLOE_OK;
}

floe_status floe__h5out_open_scratch(const char *op, const char *path, floe__h5out **out) {
  *out = NULL;
  floe__h5out *f = calloc(1, sizeof *f);
  FLOE_RETURN_ERROR_IF(f == NULL, FLOE_ERR_NOMEM, "%s: out of memory", op);
  f->op = op;
  f->fd = f->dfd = -1;
  f->path = strdup(path);
  f->tmppath = strdup(path);
  if (f->path == NULL || f->tmppath == NULL) {
    out_free(f);
    return floe__fail(FLOE_ERR_NOMEM, "%s: out of memory", op);
  }
  char why[512];
  floe__h5_lock();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_alignment(fapl, 1 << 16, 4096);
  errno = 0;
  f->file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  int err = errno;
  if (f->file < 0) {
    floe__h5_reason(why, sizeof why);
    if (err != 0) {
      snprintf(why, sizeof why, "%s", strerror(err));
    }
  }
  H5Pclose(fapl);
  floe__h5_unlock();
  if (f->file < 0) {
    floe_status st = floe__fail(FLOE_ERR_IO, "%s: cannot create '%s': %s", op, path, why);
    free(f->tmppath);
    f->tmppath = NULL; /* not ours to remove */
    out_free(f);
    return st;
  }
  *out = f;
  return FLOE_OK;
}

floe_status floe__h5out_read(floe__h5out_dset *d, const int64_t *coord, void *dst,
                             const floe__bufs *bufs, floe__io_counters *io) {
  const floe__h5out *f = d->file;
  hsize_t off[FLOE_MAX_DIMS];
  for (int k = 0; k < d->ndim; k++) {
    off[k] = (hsize_t)(coord[k] * d->chunk[k]);
  }
  size_t cap = floe__encode_bound(d->chunk_bytes);
  size_t scratch_bytes = floe__decode_scratch_bytes(d->chunk_bytes);
  unsigned char *raw = bufs->get(bufs->owner, cap + scratch_bytes);
  FLOE_RETURN_ERROR_IF(raw == NULL, FLOE_ERR_NOMEM, "%s: out of memory reading back '%s'", f->op,
                       d->name);
  int64_t t0 = floe__now_ns();
  char why[512] = "";
  hsize_t size = 0;
  uint32_t mask = 0;
  if (d->ndim == 0) { /* a scalar dataset: not chunked */
    floe__h5_lock();
    herr_t rc = H5Dread(d->dset, d->memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
    if (rc < 0) {
      floe__h5_reason(why, sizeof why);
    }
    floe__h5_unlock();
    bufs->put(bufs->owner, raw, cap + scratch_bytes);
    FLOE_RETURN_ERROR_IF(rc < 0, FLOE_ERR_IO, "%s: reading back '%s' from '%s': %s", f->op,
                         d->name, f->path, why);
    atomic_fetch_add_explicit(&io->bytes_read, d->chunk_bytes, memory_order_relaxed);
    return FLOE_OK;
  }
  floe__h5_lock();
  herr_t rc = H5Dget_chunk_storage_size(d->dset, off, &size);
  if (rc >= 0 && (size == 0 || size > cap)) {
    snprintf(why, sizeof why, "the chunk holds %llu bytes", (unsigned long long)size);
    rc = -1;
  } else if (rc >= 0) {
    rc = H5Dread_chunk(d->dset, H5P_DEFAULT, off, &mask, raw);
  }
  if (rc < 0 && why[0] == '\0') {
    floe__h5_reason(why, sizeof why);
  }
  floe__h5_unlock();
  atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0), memory_order_relaxed);
  floe_status st = FLOE_OK;
  if (rc < 0) {
    st = floe__fail(FLOE_ERR_IO, "%s: reading back a chunk of '%s' from '%s': %s", f->op, d->name,
                    f->path, why);
  } else {
    floe__pipeline p = {.n = 2, .elem_size = floe_dtype_size(d->dtype)};
    p.f[0].id = FLOE__H5Z_SHUFFLE;
    p.f[1].id = FLOE__H5Z_ZSTD;
    st = floe__pipeline_decode(&p, mask, raw, (size_t)size, dst, d->chunk_bytes, raw + cap);
    if (st == FLOE_OK) {
      atomic_fetch_add_explicit(&io->bytes_read, size, memory_order_relaxed);
    }
  }
  bufs->put(bufs->owner, raw, cap + scratch_bytes);
  return st;
}

static floe_status sync_path(const char *op, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    floe_status st = floe__fail(FLOE_ERR_IO, "%s: cannot flush '%s' to disk: %s", op, path,
                                strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
    return st;
  }
  close(fd);
  return FLOE_OK;
}

floe_status floe__h5out_commit(floe__h5out *f) {
  char why[512] = "";
  floe_status st = FLOE_OK;
  floe__h5_lock();
  if (f->tmppath == NULL) {
    /* in place: replace the named datasets by the temporary ones */
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (floe__h5out_dset *d = f->dsets; d != NULL && st == FLOE_OK; d = d->next) {
      herr_t rc = 0;
      if (floe__h5_path_exists(f->file, d->name) > 0) {
        rc = H5Ldelete(f->file, d->name, H5P_DEFAULT);
      }
      if (rc >= 0) {
        rc = H5Olink(d->dset, f->file, d->name, lcpl, H5P_DEFAULT);
      }
      if (rc < 0) {
        st = floe__fail(FLOE_ERR_IO, "%s: cannot link dataset '%s' into '%s': %s", f->op, d->name,
                        f->path, floe__h5_reason(why, sizeof why));
      }
    }
    H5Pclose(lcpl);
  }
  if (close_all(f) < 0 && st == FLOE_OK) {
    st = floe__fail(FLOE_ERR_IO, "%s: closing '%s' failed: %s", f->op, f->path,
                    floe__h5_reason(why, sizeof why));
  }
  floe__h5_unlock();
  const char *written = f->tmppath != NULL ? f->tmppath : f->path;
  if (st == FLOE_OK) {
    st = sync_path(f->op, written);
  }
  if (st == FLOE_OK && f->tmppath != NULL && rename(f->tmppath, f->path) != 0) {
    st = floe__fail(FLOE_ERR_IO, "%s: cannot rename the finished file to '%s': %s", f->op,
                    f->path, strerror(errno));
  }
  if (st != FLOE_OK && f->tmppath != NULL) {
    unlink(f->tmppath);
  }
  out_free(f);
  return st;
}

void floe__h5out_abort(floe__h5out *f) {
  if (f == NULL) {
    return;
  }
  floe__h5_lock();
  close_all(f); /* anonymous datasets go with their last handle */
  floe__h5_unlock();
  if (f->tmppath != NULL) {
    unlink(f->tmppath);
  }
  out_free(f);
}
