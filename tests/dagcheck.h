/* Reference DAGs for the scheduler tests and the check of a run against
 * them.  A `dag` is plain data (nodes 0..n-1 and edges before -> after); a
 * `graph` is that DAG built as a floe_taskgraph whose tasks stamp their start
 * and end from one global atomic clock.  After a run, every task must have
 * run exactly once and, for every edge a -> b, end(a) < start(b).
 *
 * Nothing here asserts: the functions return counts and statuses so that
 * user threads (where Criterion assertions are not safe) can use them; the
 * tests assert on the main thread. */
#ifndef FLOE_TESTS_DAGCHECK_H
#define FLOE_TESTS_DAGCHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

typedef struct dag {
  uint32_t n;
  size_t nedges, cap;
  uint32_t (*edge)[2]; /* edge[k][0] must finish before edge[k][1] starts */
} dag;

dag dag_new(uint32_t n);
void dag_free(dag *d);
/* Returns false when out of memory. */
bool dag_edge(dag *d, uint32_t before, uint32_t after);

/* Shapes.  Each returns a DAG whose edges all go from a lower to a higher
 * node number unless said otherwise. */
dag dag_chain(uint32_t n);
dag dag_fan(uint32_t width);               /* 0 -> 1..width -> width+1 */
dag dag_diamonds(uint32_t count);          /* `count` diamonds stacked on each other */
dag dag_tree(uint32_t leaves);             /* binary reduction: leaves first, root last */
dag dag_random(uint32_t n, uint64_t seed); /* 0-4 predecessors per node */
/* The same DAG with its edges listed (so added) in the opposite order. */
dag dag_edges_reversed(const dag *d);
/* Node i becomes node n-1-i and the edge list is reversed: every edge then
 * goes from a later-inserted task to an earlier one. */
dag dag_mirrored(const dag *d);

/* One task's record of its execution. */
typedef struct stamp {
  atomic_uint_fast64_t start, end; /* 0: never */
  atomic_uint runs;
} stamp;

void stamp_begin(stamp *s);
void stamp_end(stamp *s);
/* A task body: stamp_begin + stamp_end. */
floe_status stamp_task(void *arg);

typedef struct graph {
  floe_taskgraph *g;
  const dag *d;
  uint32_t nbuilt; /* nodes 0..nbuilt-1 are in g */
  floe_task **task;
  stamp *st;
} graph;

/* Creates the graph on ctx with nodes [0, upto) of d and the edges among
 * them.  `special` (if < upto) gets fn(arg) instead of stamp_task; the
 * special task must stamp st[special] itself if it is to be checked. */
floe_status graph_build(graph *gr, floe_ctx *ctx, const dag *d, uint32_t upto, uint32_t special,
                        floe_task_fn fn, void *arg);
/* Adds nodes [nbuilt, upto) and the edges that reach them. */
floe_status graph_extend(graph *gr, uint32_t upto);
void graph_reset(graph *gr);
void graph_free(graph *gr);

/* Violations of the last run over the built part: tasks that did not run
 * exactly once, edges run out of order.  Describes the first in `why`. */
size_t graph_violations(const graph *gr, char *why, size_t len);

/* Like graph_violations, for a run that failed at node `failed`: the failed
 * task and everything before it (its ancestors) ran once, nothing after it
 * (its descendants) ran, every other task ran at most once, and every edge
 * whose tasks both ran was respected.  `ran` receives how many tasks ran. */
size_t graph_violations_after_failure(const graph *gr, uint32_t failed, size_t *ran, char *why,
                                      size_t len);

/* Builds d on ctx and runs it `runs` times, checking each run; returns the
 * number of violations (0 when all is well) and describes the first. */
size_t graph_build_run_check(floe_ctx *ctx, const dag *d, int runs, char *why, size_t len);

#endif
