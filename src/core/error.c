#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error-internal.h"

static _Thread_local floe__error tls_error;

floe__error *floe__error_slot(void) {
  return &tls_error;
}

const char *floe_status_name(floe_status s) {
  switch (s) {
#define NAME_CASE(name, code, msg)                                                                 \
  case FLOE_##name:                                                                                \
    return #name;
    FLOE_STATUS_MAP(NAME_CASE)
#undef NAME_CASE
  }
  return "UNKNOWN";
}

const char *floe_status_string(floe_status s) {
  switch (s) {
#define MSG_CASE(name, code, msg)                                                                  \
  case FLOE_##name:                                                                                \
    return msg;
    FLOE_STATUS_MAP(MSG_CASE)
#undef MSG_CASE
  }
  return "unknown status";
}

const char *floe_error_message(const floe_ctx *ctx) {
  (void)ctx; /* messages are per thread, whatever the context */
  return tls_error.msg;
}

static floe_status vfail(floe_status status, const char *fmt, va_list ap) {
  floe__error *e = &tls_error;
  /* format aside first: the arguments may quote the previous message */
  char msg[FLOE__MSG_MAX];
  if (fmt == NULL) {
    snprintf(msg, sizeof msg, "%s", floe_status_string(status));
  } else {
    vsnprintf(msg, sizeof msg, fmt, ap);
  }
  memcpy(e->msg, msg, sizeof msg);
  e->status = status;
  e->set = 1;
  return status;
}

floe_status floe__fail(floe_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(status, fmt, ap);
  va_end(ap);
  return status;
}

floe_status floe__fail_copy(floe_status status, const char *msg) {
  return floe__fail(status, "%s", msg);
}

floe_status floe_error_set(floe_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(status, fmt, ap);
  va_end(ap);
  return status;
}
