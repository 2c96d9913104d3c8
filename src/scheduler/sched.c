/* Worker threads and the execution of runs.
 *
 * Where a worker finds work, in order: the task it just readied (run at once,
 * no queueing: a chain costs one indirect call per link), its own deque
 * (LIFO), a victim's deque (FIFO end, starting from the last victim that had
 * work), and last the roots of runs started from outside (claimed from the
 * injection queue in batches).  Stealing before claiming new roots finishes
 * work in progress first, which keeps the working set small.
 *
 * Completions are counted per worker and flushed to the run in batches, so
 * independent tasks do not all hit one shared counter; the flush that brings
 * a run's count to its total wakes the thread waiting for it.
 *
 * A failing task records the run's status and message (first one wins) and
 * sets `cancelled`; the tasks after it are still walked through, so counts
 * and dependency state stay exact and the graph can be run again, but their
 * functions are never called. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sched-internal.h"

#define FLUSH_EVERY 1024
#define SPIN_ROUNDS 64
#define MAX_CLAIM 128

static _Thread_local floe__worker *tls_worker;

void floe__execute(floe__worker *w, floe_task *t);

/* ------------------------------------------------------------ eventcount */

static unsigned ec_prepare(floe__eventcount *ec) {
  atomic_fetch_add_explicit(&ec->waiters, 1, memory_order_seq_cst);
  atomic_thread_fence(memory_order_seq_cst);
  return atomic_load_explicit(&ec->epoch, memory_order_acquire);
}

static void ec_cancel(floe__eventcount *ec) {
  atomic_fetch_sub_explicit(&ec->waiters, 1, memory_order_relaxed);
}

static void ec_wait(floe__eventcount *ec, unsigned key) {
  floe__futex_wait(&ec->epoch, key, -1);
  atomic_fetch_sub_explicit(&ec->waiters, 1, memory_order_relaxed);
}

/* Called after publishing work. */
static void ec_notify(floe__eventcount *ec, int n) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&ec->waiters, memory_order_relaxed) > 0) {
    atomic_fetch_add_explicit(&ec->epoch, 1, memory_order_release);
    floe__futex_wake(&ec->epoch, n);
  }
}

/* ------------------------------------------------------------ completion */

static void run_complete(floe__run *run) {
  atomic_store_explicit(&run->finished, 1, memory_order_release);
  floe__futex_wake(&run->finished, 1);
  /* from here on the waiter may free the run */
  atomic_store_explicit(&run->finished, 2, memory_order_release);
}

static void flush(floe__worker *w) {
  if (w->done_local == 0) {
    return;
  }
  floe__run *run = w->cur_run;
  uint64_t n = w->done_local;
  w->done_local = 0;
  /* read total first: once our count is added another worker may complete
     the run, and its waiter may free or rerun the graph */
  const uint64_t total = run->total;
  uint64_t before = atomic_fetch_add_explicit(&run->done, n, memory_order_acq_rel);
  if (before + n == total) {
    run_complete(run);
  }
}

/* Records the first failure of a run and cancels what has not started. */
static void fail(floe__run *run, floe_status status, const char *msg) {
  int expected = FLOE_OK;
  if (atomic_compare_exchange_strong_explicit(&run->status, &expected, (int)status,
                                              memory_order_acq_rel, memory_order_relaxed)) {
    snprintf(run->msg, sizeof run->msg, "%s", msg);
  }
  atomic_store_explicit(&run->cancelled, 1, memory_order_release);
}

static void task_failed(floe__worker *w, floe__run *run, const floe_task *t, floe_status s) {
  char msg[FLOE__MSG_MAX];
  const char *what = w->err->set ? w->err->msg : floe_status_string(s);
  if (t->name != NULL) {
    snprintf(msg, sizeof msg, "task '%s': %s", t->name, what);
  } else if (w->err->set) {
    snprintf(msg, sizeof msg, "%s", what);
  } else {
    snprintf(msg, sizeof msg, "task #%u failed: %s (%s)", t->id, floe_status_name(s), what);
  }
  fail(run, s, msg);
}

/* ------------------------------------------------------------- execution */

static void push(floe__worker *w, floe_task *t) {
  if (floe__deque_push(&w->dq, t) != 0) {
    /* the deque could not grow: run the task here instead of losing it */
    floe__execute(w, t);
    return;
  }
  ec_notify(&w->s->ec, 1);
}

static int by_priority_asc(const void *a, const void *b) {
  const floe_task *x = *(floe_task *const *)a, *y = *(floe_task *const *)b;
  if (x->priority != y->priority) {
    return x->priority < y->priority ? -1 : 1;
  }
  return x->id > y->id ? -1 : (x->id < y->id);
}

/* Readies successors: returns the one to run next and pushes the others so
 * that the lowest-numbered ones, or with priorities the highest-priority
 * ones, are taken first. */
static floe_task *release_successors(floe__worker *w, floe_task *t) {
  uint32_t n = t->nsucc;
  if (n == 0) {
    return NULL;
  }
  floe_task *const *succ = n == 1 ? &t->succ.one : t->succ.many;
  if (t->g->has_priority && n > 1) {
    floe_task *ready[64];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
      floe_task *s = succ[i];
      if (s->ndeps == 1 || atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) == 1) {
        if (k == 64) {
          push(w, s); /* beyond the window: insertion order */
        } else {
          ready[k++] = s;
        }
      }
    }
    if (k == 0) {
      return NULL;
    }
    qsort(ready, k, sizeof *ready, by_priority_asc);
    for (uint32_t i = 0; i + 1 < k; i++) {
      push(w, ready[i]);
    }
    return ready[k - 1];
  }
  floe_task *next = NULL;
  for (uint32_t i = n; i-- > 0;) {
    floe_task *s = succ[i];
    if (s->ndeps != 1 &&
        atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) != 1) {
      continue;
    }
    if (next != NULL) {
      push(w, next);
    }
    next = s;
  }
  return next;
}

void floe__execute(floe__worker *w, floe_task *t) {
  const bool profiling = w->s->trace_file != NULL;
  do {
    floe__run *run = &t->g->run;
    if (run != w->cur_run) {
      /* never hold another run's completions while this task runs */
      flush(w);
      w->cur_run = run;
    }
    if (!atomic_load_explicit(&run->cancelled, memory_order_relaxed)) {
      w->err->set = 0;
      int64_t t0 = profiling ? floe__now_ns() : 0;
      floe_status s = t->fn(t->arg);
      if (profiling) {
        floe__trace_record(w, t, t0, floe__now_ns());
      }
      if (s != FLOE_OK) {
        task_failed(w, run, t, s);
      }
    }
    /* every predecessor has counted down: restore for the next run */
    if (t->ndeps > 1) {
      atomic_store_explicit(&t->pending, t->ndeps, memory_order_relaxed);
    }
    floe_task *next = release_successors(w, t);
    /* again: a task that ran a nested graph changed it */
    if (run != w->cur_run) {
      flush(w);
      w->cur_run = run;
    }
    /* with a progress callback every completion is counted at once, so a
       run of a few long tasks still shows its progress */
    if (++w->done_local >= FLUSH_EVERY || w->s->ctx->cfg.progress != NULL) {
      flush(w);
    }
    t = next;
  } while (t != NULL);
}

/* Claims a batch of roots from the oldest injected run, pushes all but the
 * first onto the worker's deque (where thieves can take them) and returns
 * the first. */
static floe_task *claim_roots(floe__worker *w) {
  floe__sched *s = w->s;
  if (!atomic_load_explicit(&s->inject_nonempty, memory_order_acquire)) {
    return NULL;
  }
  floe_task **batch = NULL;
  size_t k = 0;
  pthread_mutex_lock(&s->inject_lock);
  floe__run *run = s->inject_head;
  if (run != NULL) {
    size_t left = run->nroots - run->next_root;
    k = left / (4 * (size_t)s->nworkers);
    k = k < 1 ? 1 : (k > MAX_CLAIM ? MAX_CLAIM : k);
    batch = run->roots + run->next_root;
    run->next_root += k;
    if (run->next_root == run->nroots) {
      s->inject_head = run->next_injected;
      if (s->inject_head == NULL) {
        s->inject_tail = NULL;
        atomic_store_explicit(&s->inject_nonempty, 0, memory_order_relaxed);
      }
    }
  }
  pthread_mutex_unlock(&s->inject_lock);
  if (k == 0) {
    return NULL;
  }
  for (size_t i = k; i-- > 1;) {
    if (floe__deque_push(&w->dq, batch[i]) != 0) {
      floe__execute(w, batch[i]);
    }
  }
  if (k > 1) {
    ec_notify(&s->ec, 1);
  }
  return batch[0];
}

static floe_task *steal(floe__worker *w) {
  floe__sched *s = w->s;
  int n = s->nworkers;
  for (int attempt = 0; attempt < 2; attempt++) {
    bool aborted = false;
    for (int i = 0; i < n; i++) {
      unsigned v = (w->last_victim + (unsigned)i) % (unsigned)n;
      if ((int)v == w->id) {
        continue;
      }
      floe__deque *d = &s->workers[v].dq;
      if (!floe__deque_maybe_nonempty(d)) {
        continue;
      }
      void *x = floe__deque_steal(d);
      if (x == FLOE__DEQUE_ABORT) {
        aborted = true;
      } else if (x != NULL) {
        w->last_victim = v;
        return x;
      }
    }
    if (!aborted) {
      break;
    }
  }
  return NULL;
}

static floe_task *find_work(floe__worker *w) {
  floe_task *t = floe__deque_take(&w->dq);
  if (t == NULL) {
    t = steal(w);
  }
  if (t == NULL) {
    t = claim_roots(w);
  }
  return t;
}

static void *worker_main(void *arg) {
  floe__worker *w = arg;
  floe__sched *s = w->s;
  tls_worker = w;
  w->err = floe__error_slot();
  for (;;) {
    floe_task *t = find_work(w);
    if (t != NULL) {
      floe__execute(w, t);
      continue;
    }
    flush(w);
    for (int i = 0; i < SPIN_ROUNDS && t == NULL; i++) {
      for (int j = 0; j < 32; j++) {
        floe__cpu_relax();
      }
      t = find_work(w);
    }
    if (t != NULL) {
      floe__execute(w, t);
      continue;
    }
    unsigned key = ec_prepare(&s->ec);
    if (atomic_load_explicit(&s->stop, memory_order_acquire)) {
      ec_cancel(&s->ec);
      break;
    }
    t = find_work(w);
    if (t != NULL) {
      ec_cancel(&s->ec);
      floe__execute(w, t);
      continue;
    }
    ec_wait(&s->ec, key);
  }
  flush(w);
  return NULL;
}

/* ------------------------------------------------------------------ runs */

static void inject(floe__sched *s, floe__run *run) {
  pthread_mutex_lock(&s->inject_lock);
  run->next_injected = NULL;
  if (s->inject_tail != NULL) {
    s->inject_tail->next_injected = run;
  } else {
    s->inject_head = run;
  }
  s->inject_tail = run;
  atomic_store_explicit(&s->inject_nonempty, 1, memory_order_release);
  pthread_mutex_unlock(&s->inject_lock);
  ec_notify(&s->ec, s->nworkers);
}

/* A worker that starts a run from inside a task helps with any work until
 * its run is done, so nested runs cannot starve the pool. */
static void help_until_done(floe__worker *w, floe__run *run) {
  while (atomic_load_explicit(&run->finished, memory_order_acquire) == 0) {
    floe_task *t = find_work(w);
    if (t != NULL) {
      floe__execute(w, t);
      continue;
    }
    flush(w);
    if (atomic_load_explicit(&run->finished, memory_order_acquire) == 0) {
      floe__futex_wait(&run->finished, 0, 200000);
    }
  }
}

floe_status floe__sched_run(floe__sched *s, floe__run *run) {
  const floe__config *cfg = &s->ctx->cfg;
  inject(s, run);
  floe__worker *self = tls_worker;
  if (self != NULL && self->s == s) {
    /* our own not-yet-flushed completions may belong to an outer run that
       someone waits for; flush before helping */
    flush(self);
    help_until_done(self, run);
  } else {
    const int64_t period = 100000000; /* progress at most ten times a second */
    int64_t next_report = floe__now_ns() + period;
    unsigned state;
    while ((state = atomic_load_explicit(&run->finished, memory_order_acquire)) == 0) {
      if (cfg->progress == NULL) {
        floe__futex_wait(&run->finished, 0, -1);
        continue;
      }
      int64_t now = floe__now_ns();
      if (now >= next_report) {
        uint64_t done = atomic_load_explicit(&run->done, memory_order_relaxed);
        if (cfg->progress(cfg->progress_user, done, run->total) != 0) {
          fail(run, FLOE_ERR_CANCELLED, "run cancelled by the progress callback");
        }
        next_report = now + period;
        continue;
      }
      floe__futex_wait(&run->finished, 0, next_report - now);
    }
  }
  /* the completing worker may still be inside futex_wake; if it was
     preempted there, yield to it rather than spin out a time slice */
  for (int spins = 0; atomic_load_explicit(&run->finished, memory_order_acquire) != 2; spins++) {
    if (spins < 64) {
      floe__cpu_relax();
    } else {
      sched_yield();
    }
  }
  floe_status st = (floe_status)atomic_load_explicit(&run->status, memory_order_acquire);
  if (st == FLOE_OK && cfg->progress != NULL && (self == NULL || self->s != s)) {
    cfg->progress(cfg->progress_user, run->total, run->total);
  }
  if (s->trace_file != NULL) {
    floe__trace_flush(s);
  }
  if (st != FLOE_OK) {
    floe__fail_copy(st, run->msg);
  }
  return st;
}

/* ------------------------------------------------------------- lifecycle */

floe_status floe__sched_new(floe_ctx *ctx, floe__sched **out) {
  *out = NULL;
  floe__sched *s = calloc(1, sizeof *s);
  FLOE_RETURN_ERROR_IF(s == NULL, FLOE_ERR_NOMEM, "floe_open: out of memory for the scheduler");
  s->ctx = ctx;
  s->nworkers = ctx->cfg.threads;
  s->t0 = ctx->t_open_ns;
  pthread_mutex_init(&s->inject_lock, NULL);
  pthread_mutex_init(&s->trace_lock, NULL);
  s->workers = aligned_alloc(FLOE__CACHE_LINE, sizeof(floe__worker) * (size_t)s->nworkers);
  if (s->workers == NULL) {
    free(s);
    return floe__fail(FLOE_ERR_NOMEM, "floe_open: out of memory for %d workers", ctx->cfg.threads);
  }
  memset(s->workers, 0, sizeof(floe__worker) * (size_t)s->nworkers);
  if (ctx->cfg.profile_path != NULL) {
    floe_status st = floe__trace_open(s, ctx->cfg.profile_path);
    if (st != FLOE_OK) {
      free(s->workers);
      free(s);
      return st;
    }
  }
  int started = 0;
  floe_status st = FLOE_OK;
  for (int i = 0; i < s->nworkers; i++) {
    floe__worker *w = &s->workers[i];
    w->s = s;
    w->id = i;
    w->last_victim = (unsigned)(i + 1);
    pthread_mutex_init(&w->trace.lock, NULL);
    if (floe__deque_init(&w->dq, 1024) != 0) {
      st = floe__fail(FLOE_ERR_NOMEM, "floe_open: out of memory for worker %d", i);
      break;
    }
  }
  if (st == FLOE_OK) {
    for (; started < s->nworkers; started++) {
      if (pthread_create(&s->workers[started].thread, NULL, worker_main, &s->workers[started]) !=
          0) {
        st = floe__fail(FLOE_ERR_NOMEM, "floe_open: cannot start worker thread %d of %d", started,
                        s->nworkers);
        break;
      }
    }
  }
  if (st != FLOE_OK) {
    s->nworkers = started; /* stop and join only those that run */
    floe__sched_free(s);
    return st;
  }
  *out = s;
  return FLOE_OK;
}

void floe__sched_free(floe__sched *s) {
  if (s == NULL) {
    return;
  }
  atomic_store_explicit(&s->stop, 1, memory_order_release);
  ec_notify(&s->ec, 0);
  for (int i = 0; i < s->nworkers; i++) {
    pthread_join(s->workers[i].thread, NULL);
  }
  if (s->trace_file != NULL) {
    floe__trace_close(s);
  }
  for (int i = 0; i < s->ctx->cfg.threads; i++) {
    floe__worker *w = &s->workers[i];
    if (w->dq.ring != NULL) {
      floe__deque_destroy(&w->dq);
    }
    free(w->trace.ev);
    pthread_mutex_destroy(&w->trace.lock);
  }
  pthread_mutex_destroy(&s->inject_lock);
  pthread_mutex_destroy(&s->trace_lock);
  free(s->workers);
  free(s);
}
