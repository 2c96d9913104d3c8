#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sync-internal.h"

void floe__futex_wait(atomic_uint *word, unsigned expected, int64_t timeout_ns) {
  struct timespec ts, *tp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    tp = &ts;
  }
  /* EAGAIN (value changed), EINTR and ETIMEDOUT all mean "re-check" */
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, tp, NULL, 0);
}

void floe__futex_wake(atomic_uint *word, int n) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, n > 0 ? n : INT_MAX, NULL, NULL, 0);
}
