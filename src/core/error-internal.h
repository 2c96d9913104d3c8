/* Internal error reporting: every failure path is one line that sets the
 * calling thread's message and returns the status. */
#ifndef FLOE_CORE_ERROR_INTERNAL_H
#define FLOE_CORE_ERROR_INTERNAL_H

#include "floe.h"

#define FLOE__MSG_MAX 1024

/* The calling thread's error slot.  `set` is cleared by the scheduler before
 * each task so that a failing task's own message can be told from a stale one. */
typedef struct floe__error {
  floe_status status;
  int set;
  char msg[FLOE__MSG_MAX];
} floe__error;

floe__error *floe__error_slot(void);

/* Records a failure for the calling thread and returns `status`. */
floe_status floe__fail(floe_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies a message verbatim (no formatting) as the thread's failure. */
floe_status floe__fail_copy(floe_status status, const char *msg);

/* Fail with a formatted message when `cond` holds. */
#define FLOE_RETURN_ERROR_IF(cond, status, ...)                                                    \
  do {                                                                                             \
    if (cond) {                                                                                    \
      return floe__fail((status), __VA_ARGS__);                                                    \
    }                                                                                              \
  } while (0)

/* Forward a failure whose message is already set. */
#define FLOE_FORWARD_IF_ERROR(expr)                                                                \
  do {                                                                                             \
    floe_status floe__s = (expr);                                                                  \
    if (floe__s != FLOE_OK) {                                                                      \
      return floe__s;                                                                              \
    }                                                                                              \
  } while (0)

#endif
