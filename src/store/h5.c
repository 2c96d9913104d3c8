/* HDF5 datasets in and out (placeholder until the I/O path lands). */
#include "array/array-internal.h"

floe_array *floe_from_hdf5(floe_ctx *ctx, const char *path, const char *dataset,
                           floe_shape chunks) {
  (void)path, (void)dataset, (void)chunks;
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_from_hdf5: context is NULL");
    return NULL;
  }
  return floe__handle_error(ctx, FLOE_ERR_INTERNAL, "floe_from_hdf5: not built yet");
}

floe_status floe_to_hdf5(floe_array *a, const char *path, const char *dataset,
                         const floe_options *opts) {
  (void)a, (void)path, (void)dataset, (void)opts;
  return floe__fail(FLOE_ERR_INTERNAL, "floe_to_hdf5: not built yet");
}

floe_status floe_job_add_hdf5(floe_job *job, floe_array *a, const char *path, const char *dataset,
                              const floe_options *opts) {
  (void)job, (void)a, (void)path, (void)dataset, (void)opts;
  return floe__fail(FLOE_ERR_INTERNAL, "floe_job_add_hdf5: not built yet");
}
