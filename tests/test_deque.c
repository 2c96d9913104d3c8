/* The Chase-Lev work-stealing deque (src/scheduler/deque.c): LIFO for the
 * owner, FIFO for thieves, growth past the initial ring, checked against a
 * plain array model; then an owner pushing and taking while 1, 3 or 7 thieves
 * steal, where every item must come out exactly once. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "scheduler/deque-internal.h"
#include "testutil.h"

/* Items are small integers coded as pointers; 0 is NULL (empty) and 1 is
 * FLOE__DEQUE_ABORT, so codes start at 2. */
#define ITEM(i) ((void *)(uintptr_t)((uintptr_t)(i) + 2))
#define ITEM_INDEX(p) ((uintptr_t)(p)-2)

/* ------------------------------------------------------- single thread */

Test(deque, empty_deque_gives_null) {
  floe__deque d;
  cr_assert_eq(floe__deque_init(&d, 0), 0);
  cr_assert_null(floe__deque_take(&d));
  cr_assert_null(floe__deque_steal(&d));
  cr_assert_not(floe__deque_maybe_nonempty(&d));
  /* a take on an empty deque must leave it usable */
  cr_assert_eq(floe__deque_push(&d, ITEM(7)), 0);
  cr_assert(floe__deque_maybe_nonempty(&d));
  cr_assert_eq(floe__deque_take(&d), ITEM(7));
  cr_assert_null(floe__deque_take(&d));
  cr_assert_null(floe__deque_steal(&d));
  floe__deque_destroy(&d);
}

Test(deque, capacity_is_a_power_of_two_at_least_the_request) {
  const int64_t requests[] = {0, 1, 15, 16, 17, 100, 1024, 1025};
  for (size_t k = 0; k < sizeof requests / sizeof requests[0]; k++) {
    floe__deque d;
    cr_assert_eq(floe__deque_init(&d, requests[k]), 0);
    int64_t cap = atomic_load(&d.ring)->mask + 1;
    cr_assert_geq(cap, requests[k], "init(%lld) gave capacity %lld", (long long)requests[k],
                  (long long)cap);
    cr_assert_eq(cap & (cap - 1), 0, "capacity %lld is not a power of two", (long long)cap);
    floe__deque_destroy(&d);
  }
}

Test(deque, owner_takes_lifo_past_initial_capacity) {
  enum { N = 5000 }; /* the ring starts at 16 and must grow nine times */
  floe__deque d;
  cr_assert_eq(floe__deque_init(&d, 16), 0);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(floe__deque_push(&d, ITEM(i)), 0, "push %d failed", i);
  }
  cr_assert_geq(atomic_load(&d.ring)->mask + 1, N);
  for (int i = N - 1; i >= 0; i--) {
    void *x = floe__deque_take(&d);
    cr_assert_eq(x, ITEM(i), "take: expected item %d, got %ld", i, (long)ITEM_INDEX(x));
  }
  cr_assert_null(floe__deque_take(&d));
  cr_assert_null(floe__deque_steal(&d));
  floe__deque_destroy(&d);
}

Test(deque, thieves_steal_fifo_past_initial_capacity) {
  enum { N = 5000 };
  floe__deque d;
  cr_assert_eq(floe__deque_init(&d, 16), 0);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(floe__deque_push(&d, ITEM(i)), 0);
  }
  for (int i = 0; i < N; i++) {
    void *x = floe__deque_steal(&d);
    cr_assert_eq(x, ITEM(i), "steal: expected item %d, got %ld", i, (long)ITEM_INDEX(x));
  }
  cr_assert_null(floe__deque_steal(&d));
  cr_assert_null(floe__deque_take(&d));
  floe__deque_destroy(&d);
}

Test(deque, grows_while_wrapped_around) {
  /* steal first so that top > 0 and the live items wrap around the ring
     when it grows: the copy must keep their logical order */
  floe__deque d;
  cr_assert_eq(floe__deque_init(&d, 16), 0);
  int next = 0, oldest = 0;
  for (int round = 0; round < 6; round++) {
    for (int i = 0; i < 12; i++) {
      cr_assert_eq(floe__deque_push(&d, ITEM(next++)), 0);
    }
    for (int i = 0; i < 10; i++) {
      cr_assert_eq(floe__deque_steal(&d), ITEM(oldest++));
    }
  }
  /* 12 live items around index 60 of a 16-slot ring; now force growth */
  for (int i = 0; i < 100; i++) {
    cr_assert_eq(floe__deque_push(&d, ITEM(next++)), 0);
  }
  while (oldest < next - 50) {
    cr_assert_eq(floe__deque_steal(&d), ITEM(oldest++));
  }
  while (next > oldest) {
    cr_assert_eq(floe__deque_take(&d), ITEM(--next));
  }
  cr_assert_null(floe__deque_take(&d));
  floe__deque_destroy(&d);
}

/* A random sequence of push / take / steal against an array model of the
 * deque: take answers the newest item, steal the oldest. */
Test(deque, random_operations_match_a_model) {
  enum { OPS = 200000 };
  floe__deque d;
  cr_assert_eq(floe__deque_init(&d, 16), 0);
  uintptr_t *model = malloc(OPS * sizeof *model);
  cr_assert_not_null(model);
  size_t head = 0, tail = 0; /* live items are model[head..tail) */
  uint64_t rng = 42;
  uintptr_t next = 0;
  for (int op = 0; op < OPS; op++) {
    /* drift between growing and shrinking phases so that the deque both
       grows large and runs empty often */
    uint64_t r = rng_below(&rng, 100);
    int push_bias = ((op / 5000) % 2 == 0) ? 60 : 40;
    if ((int)r < push_bias) {
      cr_assert_eq(floe__deque_push(&d, ITEM(next)), 0);
      model[tail++] = next++;
    } else if (r % 2 == 0) {
      void *x = floe__deque_take(&d);
      if (head == tail) {
        cr_assert_null(x, "op %d: take from an empty deque gave %p", op, x);
      } else {
        uintptr_t want = model[--tail];
        cr_assert_eq(x, ITEM(want), "op %d: take gave %ld, model says %ld", op, (long)ITEM_INDEX(x),
                     (long)want);
      }
    } else {
      void *x = floe__deque_steal(&d);
      cr_assert_neq(x, FLOE__DEQUE_ABORT, "op %d: steal aborted without contention", op);
      if (head == tail) {
        cr_assert_null(x, "op %d: steal from an empty deque gave %p", op, x);
      } else {
        uintptr_t want = model[head++];
        cr_assert_eq(x, ITEM(want), "op %d: steal gave %ld, model says %ld", op,
                     (long)ITEM_INDEX(x), (long)want);
      }
    }
    cr_assert_eq(floe__deque_maybe_nonempty(&d) != 0, head != tail, "op %d: size hint is wrong",
                 op);
  }
  free(model);
  floe__deque_destroy(&d);
}

/* ----------------------------------------------------------- concurrent */

typedef struct stress {
  floe__deque dq;
  atomic_uchar *seen; /* per item: how many times it came out */
  size_t n;
  atomic_int done; /* the owner has pushed everything and drained the rest */
  atomic_size_t bogus;
} stress;

typedef struct thief {
  stress *s;
  pthread_t thread;
  size_t stolen, aborts;
} thief;

static void mark(stress *s, void *x, size_t *count) {
  uintptr_t i = ITEM_INDEX(x);
  if ((uintptr_t)x < 2 || i >= s->n) {
    atomic_fetch_add(&s->bogus, 1);
    return;
  }
  atomic_fetch_add_explicit(&s->seen[i], 1, memory_order_relaxed);
  (*count)++;
}

static void *thief_main(void *arg) {
  thief *t = arg;
  stress *s = t->s;
  unsigned idle = 0;
  for (;;) {
    void *x = floe__deque_steal(&s->dq);
    if (x == FLOE__DEQUE_ABORT) {
      t->aborts++;
    } else if (x != NULL) {
      mark(s, x, &t->stolen);
      idle = 0;
    } else if (atomic_load_explicit(&s->done, memory_order_acquire)) {
      break;
    } else if (++idle % 64 == 0) {
      sched_yield(); /* 2 cores, up to 8 threads: let the owner run */
    }
  }
  return NULL;
}

typedef struct stress_params {
  int thieves;
  size_t items;
} stress_params;

/* 8M items take about 0.5 s; with fewer, a deque whose take() lacks its
 * seq_cst fence passed one run in three on a 2-core machine. */
ParameterizedTestParameters(deque, every_item_once_under_concurrent_steals) {
  static stress_params params[] = {
      {1, TEST_SIZE(8000000)},
      {3, TEST_SIZE(8000000)},
      {7, TEST_SIZE(8000000)},
  };
  return cr_make_param_array(stress_params, params, sizeof params / sizeof params[0]);
}

/* The owner (this thread) pushes bursts and takes some back, in rounds that
 * each start from a fresh 16-slot deque so the ring grows while thieves read
 * it.  Every item must be taken or stolen exactly once. */
ParameterizedTest(stress_params *p, deque, every_item_once_under_concurrent_steals,
                  .timeout = TEST_TIMEOUT_S) {
  enum { ROUNDS = 16 };
  stress *s = aligned_alloc(FLOE__CACHE_LINE, sizeof *s);
  cr_assert_not_null(s);
  memset(s, 0, sizeof *s);
  s->n = p->items;
  s->seen = calloc(s->n, sizeof *s->seen);
  cr_assert_not_null(s->seen);
  thief *thieves = calloc((size_t)p->thieves, sizeof *thieves);
  cr_assert_not_null(thieves);
  size_t taken = 0;
  uint64_t rng = 7 + (uint64_t)p->thieves;
  size_t next = 0;
  for (int round = 0; round < ROUNDS; round++) {
    size_t end = s->n * (size_t)(round + 1) / ROUNDS;
    cr_assert_eq(floe__deque_init(&s->dq, 16), 0);
    atomic_store(&s->done, 0);
    for (int k = 0; k < p->thieves; k++) {
      thieves[k].s = s;
      cr_assert_eq(pthread_create(&thieves[k].thread, NULL, thief_main, &thieves[k]), 0);
    }
    while (next < end) {
      /* mostly small bursts, sometimes a large one that forces growth */
      size_t burst = rng_below(&rng, 16) == 0 ? 1 + rng_below(&rng, 4096) : 1 + rng_below(&rng, 48);
      for (size_t k = 0; k < burst && next < end; k++) {
        cr_assert_eq(floe__deque_push(&s->dq, ITEM(next)), 0);
        next++;
      }
      size_t takes = rng_below(&rng, burst + 8);
      for (size_t k = 0; k < takes; k++) {
        void *x = floe__deque_take(&s->dq);
        if (x == NULL) {
          break;
        }
        mark(s, x, &taken);
      }
    }
    void *x;
    while ((x = floe__deque_take(&s->dq)) != NULL) {
      mark(s, x, &taken);
    }
    atomic_store_explicit(&s->done, 1, memory_order_release);
    for (int k = 0; k < p->thieves; k++) {
      pthread_join(thieves[k].thread, NULL);
    }
    /* drained by the owner and no thief running: nothing may be left */
    cr_assert_null(floe__deque_take(&s->dq));
    cr_assert_null(floe__deque_steal(&s->dq));
    floe__deque_destroy(&s->dq);
  }

  size_t stolen = 0;
  for (int k = 0; k < p->thieves; k++) {
    stolen += thieves[k].stolen;
  }
  cr_assert_eq(atomic_load(&s->bogus), 0, "%zu values that were never pushed came out",
               atomic_load(&s->bogus));
  size_t missing = 0, twice = 0, first_bad = SIZE_MAX;
  for (size_t i = 0; i < s->n; i++) {
    unsigned c = atomic_load_explicit(&s->seen[i], memory_order_relaxed);
    missing += c == 0;
    twice += c > 1;
    if (c != 1 && first_bad == SIZE_MAX) {
      first_bad = i;
    }
  }
  cr_assert(missing == 0 && twice == 0,
            "%d thieves: %zu items lost, %zu items came out more than once (first: item %zu)",
            p->thieves, missing, twice, first_bad);
  cr_assert_eq(taken + stolen, s->n, "taken %zu + stolen %zu != pushed %zu", taken, stolen, s->n);
  cr_log_info("%d thieves: %zu items, %zu taken by the owner, %zu stolen", p->thieves, s->n, taken,
              stolen);
  free(thieves);
  free(s->seen);
  free(s);
}
