/* Reading HDF5 datasets chunk by chunk in the workers (see file-internal.h).
 *
 * The fast path holds the I/O lock only to ask HDF5 where a chunk lies
 * (H5Dget_chunk_info_by_coord); the bytes are read with pread on floe's own
 * descriptor and decoded (zstd, deflate, shuffle, fletcher32) and converted
 * (byte order, widening) in the worker.  Contiguous datasets are read the
 * same way from their one extent.  Anything else (compact layout, external
 * storage, a user block, filters floe does not decode) goes through H5Dread
 * under the lock, HDF5 converting into the native type. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error-internal.h"
#include "core/sync-internal.h"
#include "file-internal.h"
#include "h5-private.h"
#include "store/codec-internal.h"


/* How an element is stored in the file, next to floe's dtype. */
typedef struct ftype {
  size_t size;  /* bytes in the file */
  bool is_float;
  bool is_signed;
  bool swap;    /* big-endian in the file */
  bool is_bool; /* h5py's enum */
  bool padded;  /* integer precision below its size: read through HDF5 */
  bool same;    /* the file's bytes are floe's: no conversion */
} ftype;

struct floe__h5src {
  atomic_int refs;
  char *path, *dataset;
  hid_t file, dset, memtype;
  int fd;
  int sfd[FLOE__H5_STREAMS]; /* one descriptor per read stream: readahead state is per descriptor */
  int ndim;
  int64_t shape[FLOE_MAX_DIMS];
  int64_t fchunk[FLOE_MAX_DIMS]; /* file chunks; 0 unless chunked */
  bool chunked;
  bool direct;      /* raw bytes may be read with pread */
  haddr_t contig;   /* contiguous: file offset of element 0, HADDR_UNDEF if none */
  floe__pipeline pipe;
  floe_dtype dtype;
  ftype ft;
  unsigned char fill[16]; /* fill value in the file's representation */
  uint64_t stored_bytes;
};

/* ------------------------------------------------------------------- types */

static const char *class_name(H5T_class_t c) {
  switch (c) {
  case H5T_STRING:
    return "a string type";
  case H5T_COMPOUND:
    return "a compound type";
  case H5T_ARRAY:
    return "an array type";
  case H5T_VLEN:
    return "a variable-length type";
  case H5T_REFERENCE:
    return "a reference type";
  case H5T_OPAQUE:
    return "an opaque type";
  case H5T_BITFIELD:
    return "a bitfield type";
  case H5T_TIME:
    return "a time type";
  case H5T_ENUM:
    return "an enum type other than h5py's booleans";
  default:
    return "an unsupported type";
  }
}

static bool is_h5py_bool(hid_t t) {
  if (H5Tget_nmembers(t) != 2 || H5Tget_size(t) != 1) {
    return false;
  }
  bool ok = true;
  for (unsigned i = 0; i < 2 && ok; i++) {
    char *name = H5Tget_member_name(t, i);
    signed char v = -1;
    ok = name != NULL && H5Tget_member_value(t, i, &v) >= 0 &&
         ((strcmp(name, "FALSE") == 0 && v == 0) || (strcmp(name, "TRUE") == 0 && v == 1));
    H5free_memory(name);
  }
  return ok;
}

/* Maps the file type; under the lock. */
static floe_status map_type(floe__h5src *s, hid_t t) {
  H5T_class_t c = H5Tget_class(t);
  size_t size = H5Tget_size(t);
  ftype ft = {.size = size};
  floe_dtype d = FLOE_DTYPE_COUNT_;
  if (c == H5T_INTEGER) {
    ft.is_signed = H5Tget_sign(t) == H5T_SGN_2;
    ft.swap = size > 1 && H5Tget_order(t) == H5T_ORDER_BE;
    /* bits padded within the element: HDF5 converts them itself */
    ft.padded = H5Tget_precision(t) != 8 * size || H5Tget_offset(t) != 0;
    if (size == 1) {
      d = ft.is_signed ? FLOE_INT32 : FLOE_UINT8;
    } else if (size == 2) {
      d = FLOE_INT32;
    } else if (size == 4) {
      d = ft.is_signed ? FLOE_INT32 : FLOE_INT64;
    } else if (size == 8 && ft.is_signed) {
      d = FLOE_INT64;
    }
    if (d == FLOE_DTYPE_COUNT_) {
      return floe__fail(FLOE_ERR_DTYPE,
                        "floe_from_hdf5: dataset '%s' of '%s' holds %s%zu-byte integers, which "
                        "floe cannot hold exactly (it has int32, int64 and uint8)",
                        s->dataset, s->path, ft.is_signed ? "" : "unsigned ", size);
    }
  } else if (c == H5T_FLOAT) {
    ft.is_float = true;
    ft.is_signed = true;
    ft.swap = H5Tget_order(t) == H5T_ORDER_BE;
    size_t prec = H5Tget_precision(t);
    if (size == 4 && prec == 32) {
      d = FLOE_FLOAT32;
    } else if (size == 8 && prec == 64) {
      d = FLOE_FLOAT64;
    } else {
      return floe__fail(FLOE_ERR_DTYPE,
                        "floe_from_hdf5: dataset '%s' of '%s' holds %zu-byte floats; floe reads "
                        "float32 and float64",
                        s->dataset, s->path, size);
    }
  } else if (c == H5T_ENUM && is_h5py_bool(t)) {
    ft.is_bool = true;
    d = FLOE_BOOL;
  } else {
    return floe__fail(FLOE_ERR_DTYPE, "floe_from_hdf5: dataset '%s' of '%s' has %s; floe reads "
                                      "integers, floats and h5py's booleans",
                      s->dataset, s->path, class_name(c));
  }
  ft.same = !ft.swap && !ft.is_bool && size == floe_dtype_size(d);
  s->ft = ft;
  s->dtype = d;
  s->memtype = ft.is_bool ? H5Tget_native_type(t, H5T_DIR_ASCEND) : floe__h5_type(d);
  return FLOE_OK;
}

static inline uint16_t bswap16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }

/* n elements from the file's representation at src to floe's at dst (they
 * may be the same memory only when the sizes are equal). */
static void convert(const ftype *ft, floe_dtype d, const void *src, void *dst, size_t n) {
  if (ft->same) {
    if (src != dst) {
      memmove(dst, src, n * ft->size);
    }
    return;
  }
  const unsigned char *s = src;
  if (ft->is_bool) {
    unsigned char *o = dst;
    for (size_t i = 0; i < n; i++) {
      o[i] = s[i] != 0;
    }
    return;
  }
  switch (ft->size) {
  case 1: { /* int8 -> int32 (uint8 is `same`) */
    int32_t *o = dst;
    for (size_t i = n; i-- > 0;) {
      o[i] = (int8_t)s[i];
    }
    return;
  }
  case 2: {
    int32_t *o = dst;
    for (size_t i = n; i-- > 0;) {
      uint16_t v;
      memcpy(&v, s + 2 * i, 2);
      v = ft->swap ? bswap16(v) : v;
      o[i] = ft->is_signed ? (int32_t)(int16_t)v : (int32_t)v;
    }
    return;
  }
  case 4:
    if (d == FLOE_INT64) { /* uint32 -> int64, widening: back to front */
      int64_t *o = dst;
      for (size_t i = n; i-- > 0;) {
        uint32_t v;
        memcpy(&v, s + 4 * i, 4);
        o[i] = (int64_t)(ft->swap ? bswap32(v) : v);
      }
    } else {
      uint32_t *o = dst;
      for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, s + 4 * i, 4);
        o[i] = bswap32(v);
      }
    }
    return;
  case 8: {
    uint64_t *o = dst;
    for (size_t i = 0; i < n; i++) {
      uint64_t v;
      memcpy(&v, s + 8 * i, 8);
      o[i] = bswap64(v);
    }
    return;
  }
  default:
    return;
  }
}

/* -------------------------------------------------------------------- open */

static void src_free(floe__h5src *s) {
  if (s == NULL) {
    return;
  }
  floe__h5_lock();
  if (s->memtype > 0) {
    H5Tclose(s->memtype);
  }
  if (s->dset > 0) {
    H5Dclose(s->dset);
  }
  if (s->file > 0) {
    H5Fclose(s->file);
  }
  floe__h5_unlock();
  if (s->fd >= 0) {
    close(s->fd);
  }
  for (int i = 0; i < FLOE__H5_STREAMS; i++) {
    if (s->sfd[i] >= 0) {
      close(s->sfd[i]);
    }
  }
  free(s->path);
  free(s->dataset);
  free(s);
}

/* The part of open that runs under the lock. */
static floe_status open_locked(floe__h5src *s) {
  char why[512];
  htri_t is = H5Fis_hdf5(s->path);
  FLOE_RETURN_ERROR_IF(is <= 0, FLOE_ERR_FORMAT, "floe_from_hdf5: '%s' is not an HDF5 file",
                       s->path);
  s->file = H5Fopen(s->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  FLOE_RETURN_ERROR_IF(s->file < 0, FLOE_ERR_IO, "floe_from_hdf5: cannot open '%s': %s", s->path,
                       floe__h5_reason(why, sizeof why));
  htri_t exists = floe__h5_path_exists(s->file, s->dataset);
  FLOE_RETURN_ERROR_IF(exists <= 0, FLOE_ERR_FORMAT, "floe_from_hdf5: '%s' has no dataset '%s'",
                       s->path, s->dataset);
  H5O_info_t oi;
  FLOE_RETURN_ERROR_IF(H5Oget_info_by_name(s->file, s->dataset, &oi, H5P_DEFAULT) < 0 ||
                           oi.type != H5O_TYPE_DATASET,
                       FLOE_ERR_FORMAT, "floe_from_hdf5: '%s' in '%s' is not a dataset",
                       s->dataset, s->path);
  s->dset = H5Dopen2(s->file, s->dataset, H5P_DEFAULT);
  FLOE_RETURN_ERROR_IF(s->dset < 0, FLOE_ERR_FORMAT,
                       "floe_from_hdf5: cannot open dataset '%s' of '%s': %s", s->dataset, s->path,
                       floe__h5_reason(why, sizeof why));
  hid_t t = H5Dget_type(s->dset);
  floe_status st = map_type(s, t);
  H5Tclose(t);
  FLOE_FORWARD_IF_ERROR(st);

  hid_t space = H5Dget_space(s->dset);
  int nd = H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK];
  if (nd > 0) {
    H5Sget_simple_extent_dims(space, dims, NULL);
  }
  H5S_class_t sc = H5Sget_simple_extent_type(space);
  H5Sclose(space);
  FLOE_RETURN_ERROR_IF(sc == H5S_NULL, FLOE_ERR_FORMAT,
                       "floe_from_hdf5: dataset '%s' of '%s' has no dataspace (H5S_NULL)",
                       s->dataset, s->path);
  FLOE_RETURN_ERROR_IF(nd < 0 || nd > FLOE_MAX_DIMS, FLOE_ERR_SHAPE,
                       "floe_from_hdf5: dataset '%s' of '%s' has %d dimensions; floe holds up to "
                       "%d",
                       s->dataset, s->path, nd, FLOE_MAX_DIMS);
  s->ndim = nd;
  for (int d = 0; d < nd; d++) {
    s->shape[d] = (int64_t)dims[d];
  }
  s->stored_bytes = H5Dget_storage_size(s->dset);

  hid_t dcpl = H5Dget_create_plist(s->dset);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  bool plain_storage = H5Pget_external_count(dcpl) == 0;
  hid_t fcpl = H5Fget_create_plist(s->file);
  hsize_t userblock = 0;
  H5Pget_userblock(fcpl, &userblock);
  H5Pclose(fcpl);
  if (layout == H5D_CHUNKED) {
    hsize_t cd[H5S_MAX_RANK];
    H5Pget_chunk(dcpl, nd, cd);
    for (int d = 0; d < nd; d++) {
      s->fchunk[d] = (int64_t)cd[d];
    }
    s->chunked = true;
    st = floe__pipeline_from_dcpl(dcpl, s->ft.size, &s->pipe);
    s->direct = st == FLOE_OK && floe__pipeline_decodable(&s->pipe);
  } else if (layout == H5D_CONTIGUOUS) {
    s->contig = H5Dget_offset(s->dset);
    s->direct = true;
  }
  s->direct = s->direct && plain_storage && userblock == 0 && !s->ft.padded;
  /* the fill value, as the file stores it, for chunks never written */
  H5D_fill_value_t fv = H5D_FILL_VALUE_UNDEFINED;
  if (H5Pfill_value_defined(dcpl, &fv) >= 0 && fv != H5D_FILL_VALUE_UNDEFINED) {
    hid_t file_type = H5Dget_type(s->dset);
    if (H5Pget_fill_value(dcpl, file_type, s->fill) < 0) {
      memset(s->fill, 0, sizeof s->fill);
    }
    H5Tclose(file_type);
  }
  H5Pclose(dcpl);
  return st;
}

floe_status floe__h5src_open(const char *path, const char *dataset, floe__h5src **out) {
  *out = NULL;
  FLOE_RETURN_ERROR_IF(path == NULL || dataset == NULL, FLOE_ERR_INVALID,
                       "floe_from_hdf5: %s is NULL", path == NULL ? "the path" : "the dataset");
  struct stat sb;
  if (stat(path, &sb) != 0) {
    return floe__fail(FLOE_ERR_IO, "floe_from_hdf5: cannot open '%s': %s", path, strerror(errno));
  }
  FLOE_RETURN_ERROR_IF(S_ISDIR(sb.st_mode), FLOE_ERR_IO,
                       "floe_from_hdf5: '%s' is a directory, not an HDF5 file", path);
  floe__h5src *s = calloc(1, sizeof *s);
  FLOE_RETURN_ERROR_IF(s == NULL, FLOE_ERR_NOMEM, "floe_from_hdf5: out of memory");
  atomic_init(&s->refs, 1);
  s->fd = -1;
  for (int i = 0; i < FLOE__H5_STREAMS; i++) {
    s->sfd[i] = -1;
  }
  s->contig = HADDR_UNDEF;
  s->path = strdup(path);
  s->dataset = strdup(dataset);
  if (s->path == NULL || s->dataset == NULL) {
    src_free(s);
    return floe__fail(FLOE_ERR_NOMEM, "floe_from_hdf5: out of memory");
  }
  s->fd = open(path, O_RDONLY | O_CLOEXEC);
  for (int i = 0; i < FLOE__H5_STREAMS && s->fd >= 0; i++) {
    s->sfd[i] = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (s->fd < 0) {
    floe_status st = floe__fail(FLOE_ERR_IO, "floe_from_hdf5: cannot open '%s': %s", path,
                                strerror(errno));
    src_free(s);
    return st;
  }
  floe__h5_lock();
  floe_status st = open_locked(s);
  floe__h5_unlock();
  if (st != FLOE_OK) {
    src_free(s);
    return st;
  }
  *out = s;
  return FLOE_OK;
}

void floe__h5src_ref(floe__h5src *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void floe__h5src_unref(floe__h5src *s) {
  if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
    src_free(s);
  }
}

void floe__h5src_describe(const floe__h5src *s, floe__h5src_info *info) {
  memset(info, 0, sizeof *info);
  info->ndim = s->ndim;
  memcpy(info->shape, s->shape, sizeof info->shape);
  if (s->chunked) {
    memcpy(info->chunk, s->fchunk, sizeof info->chunk);
  }
  info->dtype = s->dtype;
  info->stored_bytes = s->stored_bytes;
  info->raw = s->direct && s->chunked && s->pipe.n == 0;
  info->path = s->path;
  info->dataset = s->dataset;
}

/* -------------------------------------------------------------------- read */


static floe_status pread_all(const floe__h5src *s, int stream, void *buf, size_t size,
                             uint64_t off, floe__io_counters *io) {
  int fd = s->sfd[stream % FLOE__H5_STREAMS] >= 0 ? s->sfd[stream % FLOE__H5_STREAMS] : s->fd;
  int64_t t0 = floe__now_ns();
  unsigned char *p = buf;
  size_t done = 0;
  while (done < size) {
    ssize_t r = pread(fd, p + done, size - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return floe__fail(FLOE_ERR_IO, "reading '%s' of '%s': %s at byte %llu", s->dataset, s->path,
                        r < 0 ? strerror(errno) : "the file ends early",
                        (unsigned long long)(off + done));
    }
    done += (size_t)r;
  }
  atomic_fetch_add_explicit(&io->bytes_read, size, memory_order_relaxed);
  atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0), memory_order_relaxed);
  return FLOE_OK;
}

/* Copies the box [lo, hi) of a C-order source of shape sdim whose origin is
 * at `sorg` into dst (shape ddim, origin dorg), converting.  Boxes are in
 * dataset coordinates. */
static void copy_box(const floe__h5src *s, const unsigned char *src, const int64_t *sdim,
                     const int64_t *sorg, unsigned char *dst, const int64_t *ddim,
                     const int64_t *dorg, const int64_t *lo, const int64_t *hi) {
  const int nd = s->ndim;
  const size_t fsz = s->ft.size, osz = floe_dtype_size(s->dtype);
  if (nd == 0) {
    convert(&s->ft, s->dtype, src, dst, 1);
    return;
  }
  for (int d = 0; d < nd; d++) {
    if (hi[d] <= lo[d]) {
      return;
    }
  }
  int64_t ss[FLOE_MAX_DIMS], ds[FLOE_MAX_DIMS], cs = 1, cd = 1;
  for (int d = nd - 1; d >= 0; d--) {
    ss[d] = cs;
    ds[d] = cd;
    cs *= sdim[d];
    cd *= ddim[d];
  }
  const int64_t row = hi[nd - 1] - lo[nd - 1];
  int64_t pos[FLOE_MAX_DIMS];
  memcpy(pos, lo, sizeof(int64_t) * (size_t)nd);
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int d = 0; d < nd; d++) {
      so += (pos[d] - sorg[d]) * ss[d];
      dof += (pos[d] - dorg[d]) * ds[d];
    }
    convert(&s->ft, s->dtype, src + (size_t)so * fsz, dst + (size_t)dof * osz, (size_t)row);
    int d = nd - 2;
    for (; d >= 0; d--) {
      if (++pos[d] < hi[d]) {
        break;
      }
      pos[d] = lo[d];
    }
    if (d < 0) {
      return;
    }
  }
}

/* HDF5 reads [lo, hi) itself into dst (shape cdim), under the lock. */
static floe_status read_through_hdf5(floe__h5src *s, const int64_t *lo, const int64_t *hi,
                                     const int64_t *cdim, void *dst, floe__io_counters *io) {
  const int nd = s->ndim;
  hsize_t start[H5S_MAX_RANK], count[H5S_MAX_RANK], mdims[H5S_MAX_RANK], mstart[H5S_MAX_RANK];
  uint64_t elems = 1;
  for (int d = 0; d < nd; d++) {
    start[d] = (hsize_t)lo[d];
    count[d] = (hsize_t)(hi[d] - lo[d]);
    mdims[d] = (hsize_t)cdim[d];
    mstart[d] = 0;
    elems *= count[d];
  }
  if (elems == 0) {
    return FLOE_OK;
  }
  int64_t t0 = floe__now_ns();
  floe__h5_lock();
  hid_t fspace = H5Dget_space(s->dset);
  hid_t mspace = nd > 0 ? H5Screate_simple(nd, mdims, NULL) : H5Screate(H5S_SCALAR);
  herr_t rc = 0;
  if (nd > 0) {
    rc |= H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    rc |= H5Sselect_hyperslab(mspace, H5S_SELECT_SET, mstart, NULL, count, NULL);
  }
  if (rc >= 0) {
    rc = H5Dread(s->dset, s->memtype, mspace, fspace, H5P_DEFAULT, dst);
  }
  char why[512] = "";
  if (rc < 0) {
    floe__h5_reason(why, sizeof why);
  }
  H5Sclose(mspace);
  H5Sclose(fspace);
  floe__h5_unlock();
  atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0), memory_order_relaxed);
  atomic_fetch_add_explicit(&io->bytes_read, elems * s->ft.size, memory_order_relaxed);
  if (rc < 0) {
    char c[160];
    return floe__fail(FLOE_ERR_IO, "reading '%s' of '%s' at %s: %s", s->dataset, s->path,
                      floe__h5_coord_str(nd, lo, c, sizeof c), why);
  }
  if (s->ft.is_bool) {
    convert(&s->ft, s->dtype, dst, dst, (size_t)elems); /* 0/1, whatever was stored */
  }
  return FLOE_OK;
}

/* Where the file chunk at `origin` lies; under the lock.  `why` (may be
 * NULL) gets HDF5's reason on failure. */
static herr_t chunk_info(const floe__h5src *s, const int64_t *origin, unsigned *mask,
                         haddr_t *addr, hsize_t *size, char *why, size_t cap) {
  hsize_t off[H5S_MAX_RANK];
  for (int d = 0; d < s->ndim; d++) {
    off[d] = (hsize_t)origin[d];
  }
  *mask = 0;
  *addr = HADDR_UNDEF;
  *size = 0;
  floe__h5_lock();
  herr_t rc = H5Dget_chunk_info_by_coord(s->dset, off, mask, addr, size);
  if (rc < 0 && why != NULL) {
    floe__h5_reason(why, cap);
  }
  floe__h5_unlock();
  return rc;
}

/* chunk_info, failing with a message that names the chunk. */
static floe_status locate_chunk(const floe__h5src *s, const int64_t *origin, unsigned *mask,
                                haddr_t *addr, hsize_t *size) {
  char why[512] = "", c[160];
  FLOE_RETURN_ERROR_IF(chunk_info(s, origin, mask, addr, size, why, sizeof why) < 0, FLOE_ERR_IO,
                       "reading '%s' of '%s': cannot locate the chunk at %s: %s", s->dataset,
                       s->path, floe__h5_coord_str(s->ndim, origin, c, sizeof c), why);
  return FLOE_OK;
}

/* An unfiltered chunk stored at its full size, or FLOE_ERR_FORMAT. */
static floe_status check_stored(const floe__h5src *s, const int64_t *origin, hsize_t size,
                                size_t chunk_bytes) {
  char c[160];
  FLOE_RETURN_ERROR_IF(size != chunk_bytes, FLOE_ERR_FORMAT,
                       "reading '%s' of '%s': the chunk at %s holds %llu bytes, not %zu",
                       s->dataset, s->path, floe__h5_coord_str(s->ndim, origin, c, sizeof c),
                       (unsigned long long)size, chunk_bytes);
  return FLOE_OK;
}

/* `bytes` of a chunk never written: the dataset's fill value, repeated. */
static void fill_values(const floe__h5src *s, void *dst, size_t bytes) {
  unsigned char *o = dst;
  for (size_t i = 0; i + s->ft.size <= bytes; i += s->ft.size) {
    memcpy(o + i, s->fill, s->ft.size);
  }
}

/* Makes *p a recycled buffer of at least `need` bytes (*cap: its size). */
static floe_status ensure_buf(const floe__h5src *s, const floe__bufs *bufs, void **p,
                              size_t *cap, size_t need) {
  if (*cap >= need) {
    return FLOE_OK;
  }
  if (*p != NULL) {
    bufs->put(bufs->owner, *p, *cap);
  }
  *cap = 0;
  if ((*p = bufs->get(bufs->owner, need)) == NULL) {
    return floe__fail(FLOE_ERR_NOMEM, "reading '%s' of '%s': a %zu-byte buffer: %s", s->dataset,
                      s->path, need, floe__error_slot()->msg);
  }
  *cap = need;
  return FLOE_OK;
}

typedef struct piece_src {
  const floe__h5src *s;
  int stream;
  uint64_t addr;
  floe__io_counters *io;
} piece_src;

static floe_status read_piece(void *ctx, void *buf, size_t size, uint64_t pos) {
  piece_src *p = ctx;
  return pread_all(p->s, p->stream, buf, size, p->addr + pos, p->io);
}

/* Shuffle then zstd, as floe, h5py with hdf5plugin and most writers store
 * compressed numbers: the frame is decoded while it is read, a piece at a
 * time, so a worker holds the decoded chunk and the result but never the
 * whole compressed one. */
static floe_status read_shuffled_zstd(const floe__h5src *s, int stream, const int64_t *origin,
                                      uint64_t addr, size_t size, void *out, size_t chunk_bytes,
                                      void **raw, size_t *rawcap, void **scratch,
                                      size_t *scratchcap, const floe__bufs *bufs,
                                      floe__io_counters *io) {
  FLOE_FORWARD_IF_ERROR(ensure_buf(s, bufs, raw, rawcap, (size_t)1 << 20));
  FLOE_FORWARD_IF_ERROR(ensure_buf(s, bufs, scratch, scratchcap, chunk_bytes));
  piece_src ps = {s, stream, addr, io};
  floe_status st =
      floe__zstd_decode_pieces(read_piece, &ps, size, *raw, *rawcap, *scratch, chunk_bytes);
  if (st != FLOE_OK) {
    char inner[FLOE__MSG_MAX], c[160];
    snprintf(inner, sizeof inner, "%s", floe__error_slot()->msg);
    return floe__fail(st == FLOE_ERR_IO ? st : FLOE_ERR_FORMAT,
                      "reading '%s' of '%s': the chunk at %s %s: %s", s->dataset, s->path,
                      floe__h5_coord_str(s->ndim, origin, c, sizeof c),
                      st == FLOE_ERR_IO ? "cannot be read" : "is corrupted", inner);
  }
  const floe__filter *sh = &s->pipe.f[0];
  size_t esize = sh->ncd > 0 && sh->cd[0] > 0 ? sh->cd[0] : s->ft.size;
  floe__unshuffle(*scratch, out, esize, chunk_bytes);
  return FLOE_OK;
}

/* One file chunk, decoded into `out` (the file's bytes of a full chunk). */
static floe_status read_file_chunk(floe__h5src *s, int stream, const int64_t *origin, void *out,
                                   size_t chunk_bytes, void **raw, size_t *rawcap, void **scratch,
                                   size_t *scratchcap, const floe__bufs *bufs,
                                   floe__io_counters *io) {
  unsigned mask;
  haddr_t addr;
  hsize_t size;
  FLOE_FORWARD_IF_ERROR(locate_chunk(s, origin, &mask, &addr, &size));
  if (addr == HADDR_UNDEF) { /* never written */
    fill_values(s, out, chunk_bytes);
    return FLOE_OK;
  }
  if (s->pipe.n == 0 || mask == (1u << s->pipe.n) - 1) {
    FLOE_FORWARD_IF_ERROR(check_stored(s, origin, size, chunk_bytes));
    return pread_all(s, stream, out, chunk_bytes, addr, io);
  }
  if (s->pipe.n == 2 && s->pipe.f[0].id == FLOE__H5Z_SHUFFLE &&
      s->pipe.f[1].id == FLOE__H5Z_ZSTD && mask == 0) {
    return read_shuffled_zstd(s, stream, origin, addr, (size_t)size, out, chunk_bytes, raw,
                              rawcap, scratch, scratchcap, bufs, io);
  }
  /* one capacity for every chunk of the dataset, so the buffer recycles */
  size_t bound = floe__encode_bound(chunk_bytes);
  FLOE_FORWARD_IF_ERROR(ensure_buf(s, bufs, raw, rawcap, bound > size ? bound : (size_t)size));
  FLOE_FORWARD_IF_ERROR(pread_all(s, stream, *raw, size, addr, io));
  FLOE_FORWARD_IF_ERROR(
      ensure_buf(s, bufs, scratch, scratchcap, floe__decode_scratch_bytes(chunk_bytes)));
  floe_status st = floe__pipeline_decode(&s->pipe, mask, *raw, size, out, chunk_bytes, *scratch);
  if (st != FLOE_OK) {
    char inner[FLOE__MSG_MAX], c[160];
    snprintf(inner, sizeof inner, "%s", floe__error_slot()->msg);
    return floe__fail(st, "reading '%s' of '%s': the chunk at %s is corrupted: %s", s->dataset,
                      s->path, floe__h5_coord_str(s->ndim, origin, c, sizeof c), inner);
  }
  return FLOE_OK;
}

/* When the block of shape cdim at lo lies inside one file chunk as one
 * contiguous run of its bytes (whole trailing axes of the chunk), the file
 * chunk's origin in `org`, the run's offset in the chunk's bytes in *off and
 * its length in *bytes; false otherwise. */
static bool slab_of_chunk(const floe__h5src *s, const int64_t *lo, const int64_t *cdim,
                          int64_t *org, uint64_t *off, size_t *bytes) {
  int first = -1; /* the first axis the block spans more than one element of */
  uint64_t o = 0, stride = s->ft.size;
  size_t n = s->ft.size;
  for (int d = s->ndim - 1; d >= 0; d--) {
    int64_t in = lo[d] % s->fchunk[d];
    if (in + cdim[d] > s->fchunk[d]) {
      return false;
    }
    org[d] = lo[d] - in;
    o += (uint64_t)in * stride;
    stride *= (uint64_t)s->fchunk[d];
    n *= (size_t)cdim[d];
  }
  for (int d = 0; d < s->ndim; d++) {
    if (cdim[d] > 1 && first < 0) {
      first = d;
    } else if (first >= 0 && cdim[d] != s->fchunk[d]) {
      return false;
    }
  }
  *off = o;
  *bytes = n;
  return true;
}

/* One contiguous run of an unfiltered file chunk, read straight into dst. */
static floe_status read_slab(floe__h5src *s, int stream, const int64_t *org, uint64_t within,
                             size_t bytes, void *dst, floe__io_counters *io) {
  size_t chunk_bytes = s->ft.size;
  for (int d = 0; d < s->ndim; d++) {
    chunk_bytes *= (size_t)s->fchunk[d];
  }
  unsigned mask;
  haddr_t addr;
  hsize_t size;
  FLOE_FORWARD_IF_ERROR(locate_chunk(s, org, &mask, &addr, &size));
  if (addr == HADDR_UNDEF) {
    fill_values(s, dst, bytes);
  } else {
    FLOE_FORWARD_IF_ERROR(check_stored(s, org, size, chunk_bytes));
    /* the slabs after this one in the stream (a file's chunks lie in
       order) start reading while this one is consumed */
    int fd = s->sfd[stream % FLOE__H5_STREAMS] >= 0 ? s->sfd[stream % FLOE__H5_STREAMS] : s->fd;
    posix_fadvise(fd, (off_t)(addr + within + bytes), (off_t)(4 * bytes), POSIX_FADV_WILLNEED);
    FLOE_FORWARD_IF_ERROR(pread_all(s, stream, dst, bytes, addr + within, io));
  }
  convert(&s->ft, s->dtype, dst, dst, bytes / s->ft.size);
  return FLOE_OK;
}

static floe_status read_chunked(floe__h5src *s, int stream, const int64_t *lo, const int64_t *hi,
                                const int64_t *cdim, void *dst, const floe__bufs *bufs,
                                floe__io_counters *io) {
  const int nd = s->ndim;
  size_t chunk_elems = 1;
  bool exact = true; /* the region is one whole file chunk laid out as in the file */
  int64_t c0[FLOE_MAX_DIMS], c1[FLOE_MAX_DIMS], cc[FLOE_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    chunk_elems *= (size_t)s->fchunk[d];
    c0[d] = lo[d] / s->fchunk[d];
    c1[d] = (hi[d] - 1) / s->fchunk[d] + 1;
    cc[d] = c0[d];
    exact = exact && lo[d] % s->fchunk[d] == 0 && cdim[d] == s->fchunk[d];
  }
  const size_t chunk_bytes = chunk_elems * s->ft.size;
  exact = exact && (s->ft.same || s->ft.size == floe_dtype_size(s->dtype));
  int64_t sorg[FLOE_MAX_DIMS];
  uint64_t within;
  size_t slab;
  if (!exact && s->pipe.n == 0 && (s->ft.same || s->ft.size == floe_dtype_size(s->dtype)) &&
      slab_of_chunk(s, lo, cdim, sorg, &within, &slab)) {
    return read_slab(s, stream, sorg, within, slab, dst, io);
  }
  void *tmp = NULL, *raw = NULL, *scratch = NULL;
  size_t rawcap = 0, scratchcap = 0;
  floe_status st = FLOE_OK;
  if (!exact && (tmp = bufs->get(bufs->owner, chunk_bytes)) == NULL) {
    return floe__fail(FLOE_ERR_NOMEM, "reading '%s' of '%s': a file chunk of %zu bytes: %s",
                      s->dataset, s->path, chunk_bytes, floe__error_slot()->msg);
  }
  for (;;) {
    int64_t org[FLOE_MAX_DIMS], blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
      org[d] = cc[d] * s->fchunk[d];
      blo[d] = org[d] > lo[d] ? org[d] : lo[d];
      bhi[d] = org[d] + s->fchunk[d] < hi[d] ? org[d] + s->fchunk[d] : hi[d];
    }
    void *target = exact ? dst : tmp;
    st = read_file_chunk(s, stream, org, target, chunk_bytes, &raw, &rawcap, &scratch, &scratchcap, bufs,
                         io);
    if (st != FLOE_OK) {
      break;
    }
    if (exact) {
      convert(&s->ft, s->dtype, dst, dst, chunk_elems);
    } else {
      copy_box(s, tmp, s->fchunk, org, dst, cdim, lo, blo, bhi);
    }
    int d = nd - 1;
    for (; d >= 0; d--) {
      if (++cc[d] < c1[d]) {
        break;
      }
      cc[d] = c0[d];
    }
    if (d < 0) {
      break;
    }
  }
  if (tmp != NULL) {
    bufs->put(bufs->owner, tmp, chunk_bytes);
  }
  if (raw != NULL) {
    bufs->put(bufs->owner, raw, rawcap);
  }
  if (scratch != NULL) {
    bufs->put(bufs->owner, scratch, scratchcap);
  }
  return st;
}

static floe_status read_contiguous(floe__h5src *s, int stream, const int64_t *lo, const int64_t *hi,
                                   const int64_t *cdim, void *dst, floe__io_counters *io) {
  const int nd = s->ndim;
  const size_t fsz = s->ft.size, osz = floe_dtype_size(s->dtype);
  if (s->contig == HADDR_UNDEF) { /* never written: HDF5 knows the fill value */
    return read_through_hdf5(s, lo, hi, cdim, dst, io);
  }
  if (nd == 0) {
    unsigned char v[8];
    FLOE_FORWARD_IF_ERROR(pread_all(s, stream, v, fsz, s->contig, io));
    convert(&s->ft, s->dtype, v, dst, 1);
    return FLOE_OK;
  }
  /* runs: axes after k are whole in the file and in dst, so that one run
     covers hi[k]-lo[k] slices of them */
  int k = nd - 1;
  while (k > 0 && lo[k] == 0 && hi[k] == s->shape[k] && cdim[k] == s->shape[k]) {
    k--;
  }
  int64_t inner = 1;
  for (int d = k + 1; d < nd; d++) {
    inner *= s->shape[d];
  }
  const int64_t run = (hi[k] - lo[k]) * inner;
  int64_t fs[FLOE_MAX_DIMS], ds[FLOE_MAX_DIMS], a = 1, b = 1;
  for (int d = nd - 1; d >= 0; d--) {
    fs[d] = a;
    ds[d] = b;
    a *= s->shape[d];
    b *= cdim[d];
  }
  int64_t pos[FLOE_MAX_DIMS];
  memcpy(pos, lo, sizeof(int64_t) * (size_t)nd);
  floe_status st = FLOE_OK;
  for (;;) {
    int64_t fo = 0, dof = 0;
    for (int d = 0; d < nd; d++) {
      fo += pos[d] * fs[d];
      dof += (pos[d] - lo[d]) * ds[d];
    }
    /* the file's values at the front of their place, widened in place */
    unsigned char *out = (unsigned char *)dst + (size_t)dof * osz;
    st = pread_all(s, stream, out, (size_t)run * fsz, s->contig + (uint64_t)fo * fsz, io);
    if (st == FLOE_OK) {
      convert(&s->ft, s->dtype, out, out, (size_t)run);
    }
    if (st != FLOE_OK) {
      break;
    }
    int d = k - 1;
    for (; d >= 0; d--) {
      if (++pos[d] < hi[d]) {
        break;
      }
      pos[d] = lo[d];
    }
    if (d < 0) {
      break;
    }
  }
  return st;
}

floe_status floe__h5src_read(floe__h5src *s, int stream, const int64_t *lo, const int64_t *hi,
                             const int64_t *cdim, void *dst, const floe__bufs *bufs,
                             floe__io_counters *io) {
  if (!s->direct) {
    return read_through_hdf5(s, lo, hi, cdim, dst, io);
  }
  return s->chunked ? read_chunked(s, stream, lo, hi, cdim, dst, bufs, io)
                    : read_contiguous(s, stream, lo, hi, cdim, dst, io);
}

/* Whether the pages of [off, off + len) of the file are in the page cache:
 * cachestat(2) where the kernel has it (6.5 and later; glibc has no
 * wrapper yet), else mincore(2) over a temporary mapping. */
static bool resident(int fd, uint64_t off, size_t len) {
#if defined(__x86_64__) || defined(__aarch64__)
  struct {
    uint64_t off, len;
  } range = {off, len};
  struct {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
  } cs;
  if (syscall(451 /* __NR_cachestat */, fd, &range, &cs, 0) == 0) {
    /* mostly cached is cached enough: populating reads the few pages left */
    return cs.nr_cache * 4096 >= len - len / 4;
  }
#endif
  void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
  if (p == MAP_FAILED) {
    return false;
  }
  const size_t page = 4096, npages = (len + page - 1) / page;
  unsigned char vec[4096];
  bool all = true;
  for (size_t done = 0; done < npages && all; done += sizeof vec) {
    size_t n = npages - done < sizeof vec ? npages - done : sizeof vec;
    all = mincore((unsigned char *)p + done * page, n * page, vec) == 0;
    for (size_t i = 0; i < n && all; i++) {
      all = (vec[i] & 1) != 0;
    }
  }
  munmap(p, len);
  return all;
}

floe_status floe__h5src_map(floe__h5src *s, const int64_t *lo, const int64_t *hi,
                            const int64_t *cdim, const void **view, void **map, size_t *maplen,
                            floe__io_counters *io) {
  *view = NULL;
  *map = NULL;
  *maplen = 0;
  if (!s->direct || !s->chunked || s->pipe.n != 0 || !s->ft.same) {
    return FLOE_OK;
  }
  (void)hi;
  int64_t org[FLOE_MAX_DIMS];
  uint64_t within;
  size_t bytes;
  if (!slab_of_chunk(s, lo, cdim, org, &within, &bytes)) {
    return FLOE_OK;
  }
  size_t chunk_bytes = s->ft.size;
  for (int d = 0; d < s->ndim; d++) {
    chunk_bytes *= (size_t)s->fchunk[d];
  }
  unsigned mask;
  haddr_t addr;
  hsize_t size;
  if (chunk_info(s, org, &mask, &addr, &size, NULL, 0) < 0 || addr == HADDR_UNDEF || size != chunk_bytes || addr % s->ft.size != 0) {
    return FLOE_OK; /* the copying path reports or handles it */
  }
  addr += within;
  int64_t t0 = floe__now_ns();
  const uint64_t page = 4096;
  uint64_t start = addr & ~(page - 1);
  size_t len = (size_t)(addr + bytes - start);
  /* Only a chunk already in the page cache is mapped (populated in one
     call, instead of a fault per page later): mapping a cold chunk reads it
     page by page, far slower than one large read. */
  if (!resident(s->fd, start, len)) {
    return FLOE_OK;
  }
  void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, s->fd, (off_t)start);
  if (p == MAP_FAILED) {
    return FLOE_OK;
  }
  atomic_fetch_add_explicit(&io->bytes_read, bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&io->io_ns, (uint64_t)(floe__now_ns() - t0), memory_order_relaxed);
  *view = (unsigned char *)p + (addr - start);
  *map = p;
  *maplen = len;
  return FLOE_OK;
}
