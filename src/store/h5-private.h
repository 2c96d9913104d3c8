/* Shared by the HDF5 reader and writer: the one I/O lock and HDF5's error
 * messages.  Private to src/store. */
#ifndef FLOE_STORE_H5_PRIVATE_H
#define FLOE_STORE_H5_PRIVATE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

/* Every HDF5 call is made between these.  Lock also switches HDF5's
 * automatic error printing off for the calling thread (the library never
 * prints) and clears the thread's HDF5 error stack. */
void floe__h5_lock(void);
void floe__h5_unlock(void);

/* The description of the error HDF5 recorded first on this thread's stack
 * (where it was detected), or "unknown HDF5 error"; call under the lock. */
const char *floe__h5_reason(char *buf, size_t cap);

/* Whether every link on the way to `path` exists (H5Lexists checks only
 * the last one and fails on a missing group); under the lock. */
htri_t floe__h5_path_exists(hid_t file, const char *path);

/* "(2048, 0)" into buf: a chunk's coordinates in messages. */
const char *floe__h5_coord_str(int ndim, const int64_t *c, char *buf, size_t cap);

/* floe's dtype as an HDF5 memory/file type (bool: h5py's int8 enum
 * FALSE/TRUE).  The caller closes it.  Under the lock. */
hid_t floe__h5_type(floe_dtype dtype);

#endif
