#include <stdlib.h>

#include "deque-internal.h"

static floe__ring *ring_new(int64_t capacity) {
  floe__ring *r = malloc(sizeof *r + (size_t)capacity * sizeof(_Atomic(void *)));
  if (r != NULL) {
    r->mask = capacity - 1;
    r->retired = NULL;
  }
  return r;
}

int floe__deque_init(floe__deque *d, int64_t capacity) {
  int64_t cap = 16;
  while (cap < capacity) {
    cap <<= 1;
  }
  floe__ring *r = ring_new(cap);
  if (r == NULL) {
    return -1;
  }
  atomic_init(&d->top, 0);
  atomic_init(&d->bottom, 0);
  atomic_init(&d->ring, r);
  return 0;
}

void floe__deque_destroy(floe__deque *d) {
  floe__ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
  while (r != NULL) {
    floe__ring *next = r->retired;
    free(r);
    r = next;
  }
  atomic_store_explicit(&d->ring, NULL, memory_order_relaxed);
}

static floe__ring *grow(floe__deque *d, floe__ring *old, int64_t top, int64_t bottom) {
  floe__ring *r = ring_new((old->mask + 1) * 2);
  if (r == NULL) {
    return NULL;
  }
  for (int64_t i = top; i < bottom; i++) {
    void *x = atomic_load_explicit(&old->slot[i & old->mask], memory_order_relaxed);
    atomic_store_explicit(&r->slot[i & r->mask], x, memory_order_relaxed);
  }
  r->retired = old;
  atomic_store_explicit(&d->ring, r, memory_order_release);
  return r;
}

int floe__deque_push(floe__deque *d, void *item) {
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
  int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
  floe__ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
  if (b - t > r->mask) {
    r = grow(d, r, t, b);
    if (r == NULL) {
      return -1;
    }
  }
  atomic_store_explicit(&r->slot[b & r->mask], item, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
  return 0;
}

void *floe__deque_take(floe__deque *d) {
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
  floe__ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
  atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
  void *x = NULL;
  if (t <= b) {
    x = atomic_load_explicit(&r->slot[b & r->mask], memory_order_relaxed);
    if (t == b) {
      /* the last item: race the thieves for it */
      if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                   memory_order_relaxed)) {
        x = NULL;
      }
      atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
  } else {
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
  }
  return x;
}

void *floe__deque_steal(floe__deque *d) {
  int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
  atomic_thread_fence(memory_order_seq_cst);
  int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
  if (t >= b) {
    return NULL;
  }
  /* the paper's consume; acquire is what compilers give for it anyway */
  floe__ring *r = atomic_load_explicit(&d->ring, memory_order_acquire);
  void *x = atomic_load_explicit(&r->slot[t & r->mask], memory_order_relaxed);
  if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                               memory_order_relaxed)) {
    return FLOE__DEQUE_ABORT;
  }
  return x;
}
