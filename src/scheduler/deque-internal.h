/* Chase-Lev work-stealing deque with the C11 memory orderings of Lê, Pop,
 * Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak
 * Memory Models" (PPoPP 2013).
 *
 * The owner pushes and takes at the bottom (LIFO, cache-warm); thieves steal
 * at the top (FIFO, the oldest and usually largest pieces of work).  The ring
 * grows when full; retired rings are kept until the deque is destroyed
 * because a thief may still be reading one. */
#ifndef FLOE_SCHEDULER_DEQUE_INTERNAL_H
#define FLOE_SCHEDULER_DEQUE_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sync-internal.h"

typedef struct floe__ring {
  int64_t mask; /* capacity - 1; capacity is a power of two */
  struct floe__ring *retired;
  _Atomic(void *) slot[];
} floe__ring;

typedef struct floe__deque {
  alignas(FLOE__CACHE_LINE) atomic_int_fast64_t top;
  alignas(FLOE__CACHE_LINE) atomic_int_fast64_t bottom;
  _Atomic(floe__ring *) ring;
  char pad_[FLOE__CACHE_LINE - sizeof(atomic_int_fast64_t) - sizeof(void *)];
} floe__deque;

/* floe__deque_steal's answer when it lost a race: retry or go elsewhere. */
#define FLOE__DEQUE_ABORT ((void *)(uintptr_t)1)

int floe__deque_init(floe__deque *d, int64_t capacity);
void floe__deque_destroy(floe__deque *d);
/* Owner only.  0 on success, -1 when the ring could not grow. */
int floe__deque_push(floe__deque *d, void *item);
/* Owner only.  NULL when empty. */
void *floe__deque_take(floe__deque *d);
/* Any thread.  NULL when empty, FLOE__DEQUE_ABORT on a lost race. */
void *floe__deque_steal(floe__deque *d);

/* A racy size hint for idle checks. */
static inline int floe__deque_maybe_nonempty(floe__deque *d) {
  return atomic_load_explicit(&d->bottom, memory_order_relaxed) >
         atomic_load_explicit(&d->top, memory_order_relaxed);
}

#endif
