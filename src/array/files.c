/* Arrays over HDF5 datasets.  The file's metadata is read here; the data
 * only when a compute reads the chunks (src/store). */
#include <string.h>

#include "array-internal.h"
#include "create-internal.h"
#include "store/file-internal.h"

/* floe chunks over the file's: whole file chunks, several together along
 * the leading axes while they are small next to chunk_bytes, so tasks stay
 * large enough to amortise their overhead.  A large unfiltered file chunk
 * is split instead, along its first axis, into slabs that are contiguous in
 * the file: each is read alone, a worker holds less at once, and the
 * programs that read a slab find it still in cache. */
static void aligned_chunks(const floe__h5src_info *in, size_t itemsize, uint64_t target,
                           int64_t *chunk) {
  uint64_t bytes = itemsize;
  for (int d = 0; d < in->ndim; d++) {
    chunk[d] = in->chunk[d] < in->shape[d] ? in->chunk[d] : (in->shape[d] > 0 ? in->shape[d] : 1);
    bytes *= (uint64_t)chunk[d];
  }
  const uint64_t slab = target / 16 > 0 ? target / 16 : 1;
  int first = 0;
  while (first < in->ndim && in->chunk[first] == 1) {
    first++;
  }
  if (in->raw && bytes > slab && first < in->ndim && chunk[first] == in->chunk[first]) {
    /* the largest divisor of the chunk's first axis that fits */
    int64_t len = in->chunk[first], row = (int64_t)(bytes / (uint64_t)len);
    for (int64_t k = 2; k <= len; k++) {
      if (len % k == 0 && (uint64_t)(len / k * row) <= slab) {
        chunk[first] = len / k;
        break;
      }
    }
    return;
  }
  for (int d = 0; d < in->ndim; d++) {
    while (bytes * 2 <= target / 2 && chunk[d] < in->shape[d]) {
      chunk[d] *= 2;
      bytes *= 2;
    }
    if (chunk[d] > in->shape[d]) {
      chunk[d] = in->shape[d] > 0 ? in->shape[d] : 1;
    }
  }
}

floe_array *floe_from_hdf5(floe_ctx *ctx, const char *path, const char *dataset,
                           floe_shape chunks) {
  const char *op = "floe_from_hdf5";
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "%s: context is NULL", op);
    return NULL;
  }
  floe__h5src *src;
  if (floe__h5src_open(path, dataset, &src) != FLOE_OK) {
    return floe__handle_error(ctx, floe__error_slot()->status, "%s", floe__error_slot()->msg);
  }
  floe__h5src_info in;
  floe__h5src_describe(src, &in);
  floe__node proto = {.kind = FLOE__NODE_FILE, .dtype = in.dtype, .ndim = in.ndim};
  memcpy(proto.shape, in.shape, sizeof proto.shape);
  floe_status st = FLOE_OK;
  if (chunks.ndim == -1 && in.chunk[0] > 0) {
    aligned_chunks(&in, floe_dtype_size(in.dtype), ctx->cfg.chunk_bytes, proto.chunk);
  } else {
    char what[1200];
    snprintf(what, sizeof what, "%s('%s', '%s')", op, path, dataset);
    st = floe__resolve_chunks(ctx, what, in.dtype, in.ndim, in.shape, chunks, proto.chunk);
  }
  if (st != FLOE_OK) {
    floe__h5src_unref(src);
    return floe__handle_error(ctx, st, "%s", floe__error_slot()->msg);
  }
  proto.p.file.src = src; /* the node takes this reference */
  floe__node *n = floe__node_new(ctx, &proto);
  if (n == NULL) {
    floe__h5src_unref(src);
    return NULL;
  }
  return floe__handle_new(ctx, n);
}
