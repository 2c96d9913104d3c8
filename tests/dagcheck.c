#include "dagcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The clock every task stamps from; seq_cst, so stamps order all tasks. */
static atomic_uint_fast64_t g_clock;

/* ------------------------------------------------------------------ dags */

dag dag_new(uint32_t n) {
  dag d = {n, 0, 0, NULL};
  return d;
}

void dag_free(dag *d) {
  free(d->edge);
  d->edge = NULL;
  d->nedges = d->cap = 0;
}

bool dag_edge(dag *d, uint32_t before, uint32_t after) {
  if (d->nedges == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    uint32_t(*e)[2] = realloc(d->edge, cap * sizeof *e);
    if (e == NULL) {
      return false;
    }
    d->edge = e;
    d->cap = cap;
  }
  d->edge[d->nedges][0] = before;
  d->edge[d->nedges][1] = after;
  d->nedges++;
  return true;
}

dag dag_chain(uint32_t n) {
  dag d = dag_new(n);
  for (uint32_t i = 1; i < n; i++) {
    dag_edge(&d, i - 1, i);
  }
  return d;
}

dag dag_fan(uint32_t width) {
  dag d = dag_new(width + 2);
  for (uint32_t i = 1; i <= width; i++) {
    dag_edge(&d, 0, i);
    dag_edge(&d, i, width + 1);
  }
  return d;
}

dag dag_diamonds(uint32_t count) {
  /* top = 3k; its two sides 3k+1, 3k+2; the next top 3k+3 joins them */
  dag d = dag_new(3 * count + 1);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t top = 3 * k;
    dag_edge(&d, top, top + 1);
    dag_edge(&d, top, top + 2);
    dag_edge(&d, top + 1, top + 3);
    dag_edge(&d, top + 2, top + 3);
  }
  return d;
}

dag dag_tree(uint32_t leaves) {
  /* pairs of one level feed the next; an odd node out moves up alone */
  dag d = dag_new(leaves > 0 ? 2 * leaves - 1 : 0);
  uint32_t level_start = 0, level_len = leaves, next = leaves;
  while (level_len > 1) {
    uint32_t parents = level_len / 2, first_parent = next;
    for (uint32_t p = 0; p < parents; p++) {
      dag_edge(&d, level_start + 2 * p, next);
      dag_edge(&d, level_start + 2 * p + 1, next);
      next++;
    }
    if (level_len % 2 == 1) {
      dag_edge(&d, level_start + level_len - 1, next);
      next++;
      parents++;
    }
    level_start = first_parent;
    level_len = parents;
  }
  d.n = next;
  return d;
}

dag dag_random(uint32_t n, uint64_t seed) {
  dag d = dag_new(n);
  uint64_t rng = seed;
  for (uint32_t b = 1; b < n; b++) {
    uint32_t deg = (uint32_t)rng_below(&rng, 5), picked[4];
    uint32_t k = 0;
    for (uint32_t tries = 0; k < deg && tries < 8; tries++) {
      /* half the edges local (deep chains), half from anywhere (wide joins) */
      uint32_t window = b < 64 ? b : 64;
      uint32_t a = rng_below(&rng, 2) ? b - 1 - (uint32_t)rng_below(&rng, window)
                                      : (uint32_t)rng_below(&rng, b);
      bool dup = false;
      for (uint32_t j = 0; j < k; j++) {
        dup |= picked[j] == a;
      }
      if (!dup) {
        picked[k++] = a;
        dag_edge(&d, a, b);
      }
    }
  }
  return d;
}

dag dag_edges_reversed(const dag *d) {
  dag r = dag_new(d->n);
  for (size_t k = d->nedges; k-- > 0;) {
    dag_edge(&r, d->edge[k][0], d->edge[k][1]);
  }
  return r;
}

dag dag_mirrored(const dag *d) {
  dag r = dag_new(d->n);
  for (size_t k = d->nedges; k-- > 0;) {
    dag_edge(&r, d->n - 1 - d->edge[k][0], d->n - 1 - d->edge[k][1]);
  }
  return r;
}

/* --------------------------------------------------------------- stamps */

void stamp_begin(stamp *s) {
  atomic_store_explicit(&s->start, atomic_fetch_add(&g_clock, 1) + 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->runs, 1, memory_order_relaxed);
}

void stamp_end(stamp *s) {
  atomic_store_explicit(&s->end, atomic_fetch_add(&g_clock, 1) + 1, memory_order_relaxed);
}

floe_status stamp_task(void *arg) {
  stamp_begin(arg);
  stamp_end(arg);
  return FLOE_OK;
}

/* --------------------------------------------------------------- graphs */

static floe_status add_edges(graph *gr, uint32_t from, uint32_t upto) {
  const dag *d = gr->d;
  for (size_t k = 0; k < d->nedges; k++) {
    uint32_t a = d->edge[k][0], b = d->edge[k][1];
    uint32_t hi = a > b ? a : b;
    if (hi < from || hi >= upto) {
      continue;
    }
    floe_status st = floe_task_depends(gr->task[b], gr->task[a]);
    if (st != FLOE_OK) {
      return st;
    }
  }
  return FLOE_OK;
}

static floe_status add_nodes(graph *gr, uint32_t upto, uint32_t special, floe_task_fn fn,
                             void *arg) {
  for (uint32_t i = gr->nbuilt; i < upto; i++) {
    gr->task[i] =
        i == special ? floe_task_add(gr->g, fn, arg) : floe_task_add(gr->g, stamp_task, &gr->st[i]);
    if (gr->task[i] == NULL) {
      return floe_error_set(FLOE_ERR_INTERNAL, "floe_task_add failed for node %u: %s", i,
                            floe_error_message(NULL));
    }
  }
  uint32_t from = gr->nbuilt;
  gr->nbuilt = upto;
  return add_edges(gr, from, upto);
}

floe_status graph_build(graph *gr, floe_ctx *ctx, const dag *d, uint32_t upto, uint32_t special,
                        floe_task_fn fn, void *arg) {
  memset(gr, 0, sizeof *gr);
  gr->d = d;
  gr->task = calloc(d->n ? d->n : 1, sizeof *gr->task);
  gr->st = calloc(d->n ? d->n : 1, sizeof *gr->st);
  gr->g = floe_taskgraph_new(ctx);
  if (gr->task == NULL || gr->st == NULL || gr->g == NULL) {
    return floe_error_set(FLOE_ERR_NOMEM, "graph_build: out of memory");
  }
  return add_nodes(gr, upto, special, fn, arg);
}

floe_status graph_extend(graph *gr, uint32_t upto) {
  return add_nodes(gr, upto, UINT32_MAX, NULL, NULL);
}

void graph_reset(graph *gr) {
  for (uint32_t i = 0; i < gr->d->n; i++) {
    atomic_store(&gr->st[i].start, 0);
    atomic_store(&gr->st[i].end, 0);
    atomic_store(&gr->st[i].runs, 0);
  }
}

void graph_free(graph *gr) {
  floe_taskgraph_free(gr->g);
  free(gr->task);
  free(gr->st);
  memset(gr, 0, sizeof *gr);
}

static uint64_t start_of(const graph *gr, uint32_t i) {
  return atomic_load_explicit(&gr->st[i].start, memory_order_relaxed);
}

static uint64_t end_of(const graph *gr, uint32_t i) {
  return atomic_load_explicit(&gr->st[i].end, memory_order_relaxed);
}

static unsigned runs_of(const graph *gr, uint32_t i) {
  return atomic_load_explicit(&gr->st[i].runs, memory_order_relaxed);
}

/* Edges a -> b among built nodes where both ran must have end(a) < start(b). */
static size_t edge_violations(const graph *gr, size_t bad, char *why, size_t len) {
  const dag *d = gr->d;
  for (size_t k = 0; k < d->nedges; k++) {
    uint32_t a = d->edge[k][0], b = d->edge[k][1];
    if (a >= gr->nbuilt || b >= gr->nbuilt || runs_of(gr, a) == 0 || runs_of(gr, b) == 0) {
      continue;
    }
    if (!(end_of(gr, a) < start_of(gr, b))) {
      if (bad++ == 0) {
        snprintf(why, len, "edge %u -> %u: #%u ended at %llu, #%u started at %llu", a, b, a,
                 (unsigned long long)end_of(gr, a), b, (unsigned long long)start_of(gr, b));
      }
    }
  }
  return bad;
}

size_t graph_violations(const graph *gr, char *why, size_t len) {
  size_t bad = 0;
  snprintf(why, len, "none");
  for (uint32_t i = 0; i < gr->nbuilt; i++) {
    unsigned r = runs_of(gr, i);
    if (r != 1 && bad++ == 0) {
      snprintf(why, len, "task #%u ran %u times", i, r);
    }
  }
  return edge_violations(gr, bad, why, len);
}

/* Marks every node reachable from `from` along (reversed, if `up`) edges. */
static bool *reach(const graph *gr, uint32_t from, bool up) {
  const dag *d = gr->d;
  bool *mark = calloc(d->n, sizeof *mark);
  uint32_t *stack = malloc(d->n * sizeof *stack);
  size_t *first = calloc((size_t)d->n + 1, sizeof *first);
  uint32_t *adj = malloc((d->nedges ? d->nedges : 1) * sizeof *adj);
  if (mark == NULL || stack == NULL || first == NULL || adj == NULL) {
    abort();
  }
  /* compressed adjacency in the chosen direction */
  for (size_t k = 0; k < d->nedges; k++) {
    first[d->edge[k][up ? 1 : 0] + 1]++;
  }
  for (uint32_t i = 0; i < d->n; i++) {
    first[i + 1] += first[i];
  }
  size_t *fill = malloc((size_t)d->n * sizeof *fill);
  if (fill == NULL) {
    abort();
  }
  memcpy(fill, first, (size_t)d->n * sizeof *fill);
  for (size_t k = 0; k < d->nedges; k++) {
    adj[fill[d->edge[k][up ? 1 : 0]]++] = d->edge[k][up ? 0 : 1];
  }
  size_t top = 0;
  stack[top++] = from;
  while (top > 0) {
    uint32_t v = stack[--top];
    for (size_t k = first[v]; k < first[v + 1]; k++) {
      if (!mark[adj[k]]) {
        mark[adj[k]] = true;
        stack[top++] = adj[k];
      }
    }
  }
  free(fill);
  free(adj);
  free(first);
  free(stack);
  return mark;
}

size_t graph_violations_after_failure(const graph *gr, uint32_t failed, size_t *ran, char *why,
                                      size_t len) {
  bool *before = reach(gr, failed, true), *after = reach(gr, failed, false);
  size_t bad = 0;
  *ran = 0;
  snprintf(why, len, "none");
  for (uint32_t i = 0; i < gr->nbuilt; i++) {
    unsigned r = runs_of(gr, i);
    *ran += r > 0;
    const char *problem = NULL;
    if ((i == failed || before[i]) && r != 1) {
      problem = i == failed ? "the failing task" : "a task the failing one depends on";
    } else if (after[i] && r != 0) {
      problem = "a task that depends on the failing one";
    } else if (r > 1) {
      problem = "an independent task";
    }
    if (problem != NULL && bad++ == 0) {
      snprintf(why, len, "task #%u, %s, ran %u times", i, problem, r);
    }
  }
  free(before);
  free(after);
  return edge_violations(gr, bad, why, len);
}

size_t graph_build_run_check(floe_ctx *ctx, const dag *d, int runs, char *why, size_t len) {
  graph gr;
  floe_status st = graph_build(&gr, ctx, d, d->n, UINT32_MAX, NULL, NULL);
  size_t bad = 0;
  if (st != FLOE_OK) {
    snprintf(why, len, "building: %s", floe_error_message(NULL));
    bad = 1;
  }
  for (int r = 0; r < runs && bad == 0; r++) {
    graph_reset(&gr);
    st = floe_taskgraph_run(gr.g);
    if (st != FLOE_OK) {
      snprintf(why, len, "run %d: %s: %s", r + 1, floe_status_name(st), floe_error_message(NULL));
      bad = 1;
      break;
    }
    char first[200];
    bad = graph_violations(&gr, first, sizeof first);
    if (bad != 0) {
      snprintf(why, len, "run %d: %s", r + 1, first);
    }
  }
  graph_free(&gr);
  return bad;
}
