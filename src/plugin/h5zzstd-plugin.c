/* The loadable HDF5 plugin (libh5zzstd.so) for the zstd filter 32015 that
 * floe writes: HDF5_PLUGIN_PATH=<build>/plugins h5dump file.h5.  The filter
 * itself is src/store/zstd-filter.c, the code floe registers in-process. */
#include <H5PLextern.h>

#include "store/codec-internal.h"

H5PL_type_t H5PLget_plugin_type(void) {
  return H5PL_TYPE_FILTER;
}

const void *H5PLget_plugin_info(void) {
  return floe__h5z_zstd_class;
}
