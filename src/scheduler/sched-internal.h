/* The task runtime: tasks and graphs, runs, worker threads with Chase-Lev
 * deques, an injection queue for runs started from outside, sleep on an
 * event count, progress and profile events. */
#ifndef FLOE_SCHEDULER_SCHED_INTERNAL_H
#define FLOE_SCHEDULER_SCHED_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/context-internal.h"
#include "core/error-internal.h"
#include "core/sync-internal.h"
#include "deque-internal.h"

/* One task: 64 bytes, one cache line. */
struct floe_task {
  floe_task_fn fn;
  void *arg;
  struct floe_taskgraph *g;
  union {
    floe_task *one;   /* nsucc == 1 */
    floe_task **many; /* nsucc > 1 */
  } succ;
  uint32_t nsucc;
  uint32_t succ_cap;
  uint32_t ndeps;      /* static number of predecessors */
  atomic_uint pending; /* predecessors still to finish in this run; restored
                          to ndeps by the task itself once it has run */
  int32_t priority;
  uint32_t id; /* insertion order */
  const char *name;
};

/* One execution of a graph.  Embedded in the graph: a graph runs once at a
 * time. */
typedef struct floe__run {
  /* read by every task */
  alignas(FLOE__CACHE_LINE) atomic_int cancelled;
  uint64_t total;
  /* the injection queue's claim cursor over the roots (under its lock) */
  floe_task **roots;
  size_t nroots;
  size_t next_root;
  struct floe__run *next_injected;
  /* written when workers flush their counts */
  alignas(FLOE__CACHE_LINE) atomic_uint_fast64_t done;
  atomic_uint finished; /* futex word: 0 running, 1 complete, 2 workers gone */
  /* the first failure */
  alignas(FLOE__CACHE_LINE) atomic_int status;
  char msg[FLOE__MSG_MAX];
} floe__run;

typedef struct floe__arena_block {
  struct floe__arena_block *next;
  size_t used, cap;
  alignas(16) unsigned char data[];
} floe__arena_block;

struct floe_taskgraph {
  floe_ctx *ctx;
  floe_task **blocks; /* tasks live in blocks of FLOE__TASK_BLOCK */
  size_t nblocks, blocks_cap;
  size_t ntasks;
  floe__arena_block *arena; /* successor arrays and names */
  floe_task **roots;
  size_t nroots, roots_cap;
  bool roots_dirty;
  bool maybe_cyclic; /* an edge went from a later task to an earlier one */
  bool has_priority;
  floe_status build_status; /* sticky: the first failure while building */
  char *build_msg;
  atomic_int running;
  struct floe_taskgraph *prev, *next; /* in ctx->graphs */
  floe__run run;
};

#define FLOE__TASK_BLOCK 1024

/* A profile event: one task's execution on one worker. */
typedef struct floe__trace_event {
  const char *name;
  uint32_t id;
  int64_t t0, t1;
} floe__trace_event;

typedef struct floe__trace_buf {
  pthread_mutex_t lock;
  floe__trace_event *ev;
  size_t n, cap;
} floe__trace_buf;

typedef struct floe__worker {
  floe__deque dq;
  struct floe__sched *s;
  int id;
  unsigned last_victim;
  pthread_t thread;
  floe__run *cur_run; /* the run whose completions are counted locally */
  uint64_t done_local;
  floe__error *err; /* this thread's error slot */
  floe__trace_buf trace;
} floe__worker;

/* An event count: sleepers register, re-check their condition, then block on
 * the epoch; notifiers publish work, fence, and wake only if someone sleeps. */
typedef struct floe__eventcount {
  alignas(FLOE__CACHE_LINE) atomic_uint epoch;
  atomic_int waiters;
} floe__eventcount;

typedef struct floe__sched {
  floe_ctx *ctx;
  int nworkers;
  floe__worker *workers;
  floe__eventcount ec;
  atomic_int stop;
  /* runs whose roots are not all claimed yet, FIFO */
  alignas(FLOE__CACHE_LINE) pthread_mutex_t inject_lock;
  floe__run *inject_head, *inject_tail;
  atomic_int inject_nonempty;
  /* profile output */
  int64_t t0;
  FILE *trace_file;
  pthread_mutex_t trace_lock;
  bool trace_first;
} floe__sched;

floe_status floe__sched_new(floe_ctx *ctx, floe__sched **out);
void floe__sched_free(floe__sched *s);

/* Frees the graphs a user left alive (floe_close). */
void floe__taskgraphs_release_all(floe_ctx *ctx);

/* Runs a prepared run to completion (called by floe_taskgraph_run). */
floe_status floe__sched_run(floe__sched *s, floe__run *run);

/* Profile output: open at start, flush after each run, close at the end. */
floe_status floe__trace_open(floe__sched *s, const char *path);
void floe__trace_flush(floe__sched *s);
void floe__trace_close(floe__sched *s);
void floe__trace_record(floe__worker *w, const floe_task *t, int64_t t0, int64_t t1);

#endif
