/* Small synchronisation helpers shared by every layer: futex wait/wake on a
 * 32-bit atomic, a pause for spin loops, and a monotonic clock. */
#ifndef FLOE_CORE_SYNC_INTERNAL_H
#define FLOE_CORE_SYNC_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define FLOE__CACHE_LINE 64

static inline void floe__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline int64_t floe__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Blocks while *word == expected, for at most timeout_ns (< 0: no limit).
 * May return spuriously; callers re-check their condition. */
void floe__futex_wait(atomic_uint *word, unsigned expected, int64_t timeout_ns);

/* Wakes up to n threads blocked on word. */
void floe__futex_wake(atomic_uint *word, int n);

#endif
