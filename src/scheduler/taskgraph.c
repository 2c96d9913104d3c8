/* The public task-graph API: building (tasks in blocks, successor arrays and
 * names in a bump arena, so adding a task costs no malloc), validation at
 * run time (roots, cycles), and handing the run to the scheduler. */
#include <stdlib.h>
#include <string.h>

#include "sched-internal.h"

#define ARENA_BLOCK (64 * 1024)

/* ---------------------------------------------------------------- arena */

static void *arena_alloc(floe_taskgraph *g, size_t n) {
  n = (n + 15) & ~(size_t)15;
  floe__arena_block *b = g->arena;
  if (b == NULL || b->cap - b->used < n) {
    size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    floe__arena_block *nb = malloc(sizeof *nb + cap);
    if (nb == NULL) {
      return NULL;
    }
    nb->next = b;
    nb->used = 0;
    nb->cap = cap;
    g->arena = nb;
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

/* ----------------------------------------------------------- sticky errors */

static void build_error(floe_taskgraph *g, floe_status st) {
  if (g->build_status == FLOE_OK) {
    g->build_status = st;
    g->build_msg = strdup(floe__error_slot()->msg);
  }
}

/* --------------------------------------------------------------- graphs */

floe_taskgraph *floe_taskgraph_new(floe_ctx *ctx) {
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_taskgraph_new: context is NULL");
    return NULL;
  }
  floe_taskgraph *g = aligned_alloc(FLOE__CACHE_LINE, sizeof *g);
  if (g == NULL) {
    floe__fail(FLOE_ERR_NOMEM, "floe_taskgraph_new: out of memory");
    return NULL;
  }
  memset(g, 0, sizeof *g);
  g->ctx = ctx;
  pthread_mutex_lock(&ctx->lock);
  g->next = ctx->graphs;
  if (ctx->graphs != NULL) {
    ctx->graphs->prev = g;
  }
  ctx->graphs = g;
  pthread_mutex_unlock(&ctx->lock);
  return g;
}

static void graph_release(floe_taskgraph *g) {
  for (size_t i = 0; i < g->nblocks; i++) {
    free(g->blocks[i]);
  }
  free(g->blocks);
  for (floe__arena_block *b = g->arena; b != NULL;) {
    floe__arena_block *next = b->next;
    free(b);
    b = next;
  }
  free(g->roots);
  free(g->build_msg);
  free(g);
}

void floe_taskgraph_free(floe_taskgraph *g) {
  if (g == NULL) {
    return;
  }
  floe_ctx *ctx = g->ctx;
  pthread_mutex_lock(&ctx->lock);
  if (g->prev != NULL) {
    g->prev->next = g->next;
  } else {
    ctx->graphs = g->next;
  }
  if (g->next != NULL) {
    g->next->prev = g->prev;
  }
  pthread_mutex_unlock(&ctx->lock);
  graph_release(g);
}

/* Called by floe_close for graphs the user did not free. */
void floe__taskgraphs_release_all(floe_ctx *ctx) {
  floe_taskgraph *g = ctx->graphs;
  ctx->graphs = NULL;
  while (g != NULL) {
    floe_taskgraph *next = g->next;
    graph_release(g);
    g = next;
  }
}

size_t floe_taskgraph_size(const floe_taskgraph *g) {
  return g == NULL ? 0 : g->ntasks;
}

static bool is_running(floe_taskgraph *g) {
  return atomic_load_explicit(&g->running, memory_order_acquire) != 0;
}

floe_task *floe_task_add(floe_taskgraph *g, floe_task_fn fn, void *arg) {
  if (g == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_task_add: graph is NULL");
    return NULL;
  }
  if (fn == NULL || is_running(g)) {
    build_error(g, floe__fail(FLOE_ERR_INVALID, "floe_task_add: %s",
                              fn == NULL ? "task function is NULL"
                                         : "the graph is running; add tasks before or after"));
    return NULL;
  }
  if (g->ntasks >= UINT32_MAX) {
    build_error(g, floe__fail(FLOE_ERR_INVALID, "floe_task_add: a graph holds at most %u tasks",
                              UINT32_MAX));
    return NULL;
  }
  size_t slot = g->ntasks % FLOE__TASK_BLOCK;
  if (slot == 0 && g->ntasks / FLOE__TASK_BLOCK == g->nblocks) {
    if (g->nblocks == g->blocks_cap) {
      size_t cap = g->blocks_cap ? g->blocks_cap * 2 : 16;
      floe_task **blocks = realloc(g->blocks, cap * sizeof *blocks);
      if (blocks == NULL) {
        build_error(g, floe__fail(FLOE_ERR_NOMEM, "floe_task_add: out of memory"));
        return NULL;
      }
      g->blocks = blocks;
      g->blocks_cap = cap;
    }
    floe_task *block = aligned_alloc(FLOE__CACHE_LINE, FLOE__TASK_BLOCK * sizeof(floe_task));
    if (block == NULL) {
      build_error(g, floe__fail(FLOE_ERR_NOMEM, "floe_task_add: out of memory"));
      return NULL;
    }
    g->blocks[g->nblocks++] = block;
  }
  floe_task *t = &g->blocks[g->ntasks / FLOE__TASK_BLOCK][slot];
  t->fn = fn;
  t->arg = arg;
  t->g = g;
  t->succ.one = NULL;
  t->nsucc = 0;
  t->succ_cap = 0;
  t->ndeps = 0;
  atomic_init(&t->pending, 0);
  t->priority = 0;
  t->id = (uint32_t)g->ntasks;
  t->name = NULL;
  g->ntasks++;
  g->roots_dirty = true;
  return t;
}

static floe_status add_successor(floe_taskgraph *g, floe_task *before, floe_task *task) {
  if (before->nsucc == 0) {
    before->succ.one = task;
  } else {
    if (before->nsucc == 1 || before->nsucc == before->succ_cap) {
      uint32_t cap = before->nsucc == 1 ? 4 : before->succ_cap * 2;
      floe_task **many = arena_alloc(g, cap * sizeof *many);
      FLOE_RETURN_ERROR_IF(many == NULL, FLOE_ERR_NOMEM, "floe_task_depends: out of memory");
      if (before->nsucc == 1) {
        many[0] = before->succ.one;
      } else {
        memcpy(many, before->succ.many, before->nsucc * sizeof *many);
      }
      before->succ.many = many;
      before->succ_cap = cap;
    }
    before->succ.many[before->nsucc] = task;
  }
  before->nsucc++;
  return FLOE_OK;
}

floe_status floe_task_depends(floe_task *task, floe_task *before) {
  FLOE_RETURN_ERROR_IF(task == NULL || before == NULL, FLOE_ERR_INVALID,
                       "floe_task_depends: %s task is NULL", task == NULL ? "the" : "the earlier");
  floe_taskgraph *g = task->g;
  floe_status st = FLOE_OK;
  if (before->g != g) {
    st = floe__fail(FLOE_ERR_INVALID,
                    "floe_task_depends: tasks #%u and #%u belong to different "
                    "graphs",
                    task->id, before->id);
  } else if (task == before) {
    st = floe__fail(FLOE_ERR_INVALID, "floe_task_depends: task #%u cannot depend on itself",
                    task->id);
  } else if (is_running(g)) {
    st = floe__fail(FLOE_ERR_INVALID, "floe_task_depends: the graph is running");
  } else if (task->ndeps == UINT32_MAX || before->nsucc == UINT32_MAX) {
    st = floe__fail(FLOE_ERR_INVALID, "floe_task_depends: too many dependencies on task #%u",
                    task->id);
  } else {
    st = add_successor(g, before, task);
  }
  if (st != FLOE_OK) {
    build_error(g, st); /* the graph of `task` cannot run as its builder meant */
    return st;
  }
  task->ndeps++;
  if (before->id > task->id) {
    g->maybe_cyclic = true;
  }
  g->roots_dirty = true;
  return FLOE_OK;
}

floe_status floe_task_name(floe_task *task, const char *name) {
  FLOE_RETURN_ERROR_IF(task == NULL || name == NULL, FLOE_ERR_INVALID, "floe_task_name: %s is NULL",
                       task == NULL ? "task" : "name");
  FLOE_RETURN_ERROR_IF(is_running(task->g), FLOE_ERR_INVALID,
                       "floe_task_name: the graph is running");
  size_t n = strlen(name) + 1;
  char *copy = arena_alloc(task->g, n);
  FLOE_RETURN_ERROR_IF(copy == NULL, FLOE_ERR_NOMEM, "floe_task_name: out of memory");
  memcpy(copy, name, n);
  task->name = copy;
  return FLOE_OK;
}

floe_status floe_task_priority(floe_task *task, int priority) {
  FLOE_RETURN_ERROR_IF(task == NULL, FLOE_ERR_INVALID, "floe_task_priority: task is NULL");
  FLOE_RETURN_ERROR_IF(is_running(task->g), FLOE_ERR_INVALID,
                       "floe_task_priority: the graph is running");
  if (priority != task->priority) {
    task->priority = priority;
    task->g->has_priority = true;
    task->g->roots_dirty = true; /* roots are re-sorted at the next run */
  }
  return FLOE_OK;
}

/* ------------------------------------------------------------ preparing */

static floe_task *task_at(const floe_taskgraph *g, size_t i) {
  return &g->blocks[i / FLOE__TASK_BLOCK][i % FLOE__TASK_BLOCK];
}

static int by_priority(const void *a, const void *b) {
  const floe_task *x = *(floe_task *const *)a, *y = *(floe_task *const *)b;
  if (x->priority != y->priority) {
    return x->priority > y->priority ? -1 : 1;
  }
  return x->id < y->id ? -1 : (x->id > y->id);
}

/* Kahn's algorithm over the whole graph: only needed when some edge points
 * backwards in insertion order, since forward-only edges cannot close a cycle. */
static floe_status check_acyclic(floe_taskgraph *g) {
  size_t n = g->ntasks;
  uint32_t *indeg = malloc(n * sizeof *indeg);
  floe_task **stack = malloc(n * sizeof *stack);
  if (indeg == NULL || stack == NULL) {
    free(indeg);
    free(stack);
    return floe__fail(FLOE_ERR_NOMEM, "floe_taskgraph_run: out of memory checking for cycles");
  }
  size_t top = 0, seen = 0;
  for (size_t i = 0; i < n; i++) {
    floe_task *t = task_at(g, i);
    indeg[i] = t->ndeps;
    if (t->ndeps == 0) {
      stack[top++] = t;
    }
  }
  while (top > 0) {
    floe_task *t = stack[--top];
    seen++;
    floe_task *const *succ = t->nsucc == 1 ? &t->succ.one : t->succ.many;
    for (uint32_t k = 0; k < t->nsucc; k++) {
      if (--indeg[succ[k]->id] == 0) {
        stack[top++] = succ[k];
      }
    }
  }
  uint32_t culprit = 0;
  for (size_t i = 0; i < n && seen < n; i++) {
    if (indeg[i] != 0) {
      culprit = (uint32_t)i;
      break;
    }
  }
  free(indeg);
  free(stack);
  if (seen < n) {
    const char *name = task_at(g, culprit)->name;
    return floe__fail(FLOE_ERR_INVALID,
                      "floe_taskgraph_run: the dependencies form a cycle through task #%u%s%s%s "
                      "(%zu of %zu tasks are on or behind a cycle); nothing was run",
                      culprit, name ? " '" : "", name ? name : "", name ? "'" : "", n - seen, n);
  }
  g->maybe_cyclic = false;
  return FLOE_OK;
}

static floe_status prepare(floe_taskgraph *g) {
  if (!g->roots_dirty) {
    return FLOE_OK;
  }
  if (g->maybe_cyclic) {
    FLOE_FORWARD_IF_ERROR(check_acyclic(g));
  }
  /* one pass: the roots in insertion order, and the dependency counts of
     tasks that wait for more than one predecessor (the others are never
     read: a single predecessor readies its successor directly) */
  if (g->ntasks > g->roots_cap) {
    floe_task **roots = realloc(g->roots, g->ntasks * sizeof *roots);
    FLOE_RETURN_ERROR_IF(roots == NULL, FLOE_ERR_NOMEM, "floe_taskgraph_run: out of memory");
    g->roots = roots;
    g->roots_cap = g->ntasks;
  }
  g->nroots = 0;
  for (size_t b = 0; b < g->nblocks; b++) {
    floe_task *block = g->blocks[b];
    size_t n = g->ntasks - b * FLOE__TASK_BLOCK;
    n = n < FLOE__TASK_BLOCK ? n : FLOE__TASK_BLOCK;
    for (size_t i = 0; i < n; i++) {
      floe_task *t = &block[i];
      if (t->ndeps == 0) {
        g->roots[g->nroots++] = t;
      } else if (t->ndeps > 1) {
        atomic_store_explicit(&t->pending, t->ndeps, memory_order_relaxed);
      }
    }
  }
  if (g->has_priority) {
    qsort(g->roots, g->nroots, sizeof *g->roots, by_priority);
  }
  g->roots_dirty = false;
  return FLOE_OK;
}

floe_status floe_taskgraph_run(floe_taskgraph *g) {
  FLOE_RETURN_ERROR_IF(g == NULL, FLOE_ERR_INVALID, "floe_taskgraph_run: graph is NULL");
  if (g->build_status != FLOE_OK) {
    return floe__fail(g->build_status, "floe_taskgraph_run: the graph was not built: %s",
                      g->build_msg ? g->build_msg : floe_status_string(g->build_status));
  }
  int idle = 0;
  FLOE_RETURN_ERROR_IF(!atomic_compare_exchange_strong_explicit(
                           &g->running, &idle, 1, memory_order_acq_rel, memory_order_relaxed),
                       FLOE_ERR_INVALID, "floe_taskgraph_run: the graph is already running");
  floe_status st = prepare(g);
  if (st == FLOE_OK && g->ntasks > 0) {
    floe__run *run = &g->run;
    atomic_store_explicit(&run->cancelled, 0, memory_order_relaxed);
    atomic_store_explicit(&run->done, 0, memory_order_relaxed);
    atomic_store_explicit(&run->finished, 0, memory_order_relaxed);
    atomic_store_explicit(&run->status, FLOE_OK, memory_order_relaxed);
    run->msg[0] = '\0';
    run->total = g->ntasks;
    run->roots = g->roots;
    run->nroots = g->nroots;
    run->next_root = 0;
    st = floe__sched_run(g->ctx->sched, run);
  }
  atomic_store_explicit(&g->running, 0, memory_order_release);
  return st;
}
