/* The one I/O lock and HDF5 error messages (see h5-private.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "h5-private.h"

static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int quiet;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* HDF5 tidies up at exit; after a failed close (a full disk) its tidying
 * crashes on the half-closed file, so floe leaves the tidying to the
 * process's end.  Must come before HDF5's first call to take effect. */
static void init_once(void) { H5dont_atexit(); }

void floe__h5_lock(void) {
  pthread_once(&once, init_once);
  pthread_mutex_lock(&io_lock);
  if (!quiet) {
    /* HDF5's error stack, and whether it prints, are per thread */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    quiet = 1;
  }
  H5Eclear2(H5E_DEFAULT);
}

void floe__h5_unlock(void) { pthread_mutex_unlock(&io_lock); }

typedef struct reason {
  char *buf;
  size_t cap;
  int found;
} reason;

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data) {
  reason *r = data;
  if (n == 0 && e->desc != NULL && e->desc[0] != '\0') {
    snprintf(r->buf, r->cap, "%s", e->desc);
    r->found = 1;
  }
  return 0;
}

const char *floe__h5_reason(char *buf, size_t cap) {
  reason r = {buf, cap, 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, &r);
  if (!r.found) {
    snprintf(buf, cap, "unknown HDF5 error");
  }
  return buf;
}

hid_t floe__h5_type(floe_dtype dtype) {
  switch (dtype) {
  case FLOE_BOOL: {
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    signed char f = 0, v = 1;
    H5Tenum_insert(t, "FALSE", &f);
    H5Tenum_insert(t, "TRUE", &v);
    return t;
  }
  case FLOE_UINT8:
    return H5Tcopy(H5T_NATIVE_UINT8);
  case FLOE_INT32:
    return H5Tcopy(H5T_NATIVE_INT32);
  case FLOE_INT64:
    return H5Tcopy(H5T_NATIVE_INT64);
  case FLOE_FLOAT32:
    return H5Tcopy(H5T_NATIVE_FLOAT);
  case FLOE_FLOAT64:
    return H5Tcopy(H5T_NATIVE_DOUBLE);
  default:
    return H5I_INVALID_HID;
  }
}

htri_t floe__h5_path_exists(hid_t file, const char *path) {
  char buf[1024];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    return 0;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      htri_t e = strcmp(buf, "/") == 0 ? 1 : H5Lexists(file, buf, H5P_DEFAULT);
      buf[i] = c;
      if (e <= 0) {
        return e;
      }
    }
  }
  return 1;
}

const char *floe__h5_coord_str(int ndim, const int64_t *c, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int d = 0; d < ndim && n < cap; d++) {
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)c[d]);
  }
  if (n < cap) {
    snprintf(buf + n, cap - n, ")");
  }
  return buf;
}
