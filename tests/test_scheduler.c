/* The task runtime through the public API (floe.h, task graphs): order of
 * execution against every dependency for chains, fans, diamonds, reduction
 * trees and random DAGs at 1, 2 and 8 workers; re-runs; failures and their
 * messages; cycles; sticky build errors; runs from several user threads and
 * from inside tasks; progress and cancellation; the profile file; idle CPU;
 * NULL and invalid arguments; priorities. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dagcheck.h"
#include "floe.h"
#include "testutil.h"

/* --------------------------------------------------------------- helpers */

static floe_ctx *open_ctx(int threads) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, threads), FLOE_OK);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "floe_open: %s", floe_error_message(NULL));
  floe_options_free(o);
  cr_assert_eq(floe_ctx_threads(ctx), threads);
  return ctx;
}

static void assert_run_ok(floe_taskgraph *g) {
  floe_status st = floe_taskgraph_run(g);
  cr_assert_eq(st, FLOE_OK, "run: %s: %s", floe_status_name(st), floe_error_message(NULL));
}

#define assert_no_violations(gr, what)                                                             \
  do {                                                                                             \
    char why_[256];                                                                                \
    size_t bad_ = graph_violations((gr), why_, sizeof why_);                                       \
    cr_assert_eq(bad_, 0, "%s: %zu violations; first: %s", (what), bad_, why_);                    \
  } while (0)

#define assert_message_has(needle)                                                                 \
  cr_assert(contains(floe_error_message(NULL), (needle)), "message '%s' does not contain '%s'",    \
            floe_error_message(NULL), (needle))

static floe_status nop(void *arg) {
  (void)arg;
  return FLOE_OK;
}

/* Tasks that take 1 ms (while slow_tasks is set), so that how many of them
 * ran says how long a run went on, whatever the machine's load. */
static atomic_int slow_tasks = 1;

static floe_status sleep_task(void *arg) {
  stamp_begin(arg);
  if (atomic_load(&slow_tasks)) {
    sleep_s(0.001);
  }
  stamp_end(arg);
  return FLOE_OK;
}

static void mark_message(void) {
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
}

static size_t count_ran(const graph *gr) {
  size_t n = 0;
  for (uint32_t i = 0; i < gr->nbuilt; i++) {
    n += atomic_load(&gr->st[i].runs) > 0;
  }
  return n;
}

/* Worker counts every ordering and failure test runs at. */
static int thread_counts[] = {1, 2, 8};

#define AT_THREAD_COUNTS(suite, name)                                                              \
  ParameterizedTestParameters(suite, name) {                                                       \
    return cr_make_param_array(int, thread_counts,                                                 \
                               sizeof thread_counts / sizeof thread_counts[0]);                    \
  }                                                                                                \
  ParameterizedTest(int *threads, suite, name, .timeout = TEST_TIMEOUT_S)

/* Builds `d` on a context with `threads` workers and runs it `runs` times,
 * checking every run. */
static void check_shape(int threads, dag d, int runs) {
  floe_ctx *ctx = open_ctx(threads);
  graph gr;
  floe_status st = graph_build(&gr, ctx, &d, d.n, UINT32_MAX, NULL, NULL);
  cr_assert_eq(st, FLOE_OK, "build: %s", floe_error_message(NULL));
  cr_assert_eq(floe_taskgraph_size(gr.g), d.n);
  for (int r = 1; r <= runs; r++) {
    graph_reset(&gr);
    assert_run_ok(gr.g);
    char what[64];
    snprintf(what, sizeof what, "%d threads, run %d", threads, r);
    assert_no_violations(&gr, what);
  }
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* ------------------------------------------------------------- ordering */

AT_THREAD_COUNTS(order, chain) {
  check_shape(*threads, dag_chain(TEST_SIZE(100000)), 1);
}

AT_THREAD_COUNTS(order, fan_out_fan_in) {
  check_shape(*threads, dag_fan(TEST_SIZE(100000)), 1);
}

AT_THREAD_COUNTS(order, stacked_diamonds) {
  check_shape(*threads, dag_diamonds(TEST_SIZE(30000)), 1);
}

AT_THREAD_COUNTS(order, binary_reduction_tree) {
  check_shape(*threads, dag_tree(TEST_SIZE(65536) + 17), 1);
}

AT_THREAD_COUNTS(order, random_dag) {
  check_shape(*threads, dag_random(TEST_SIZE(100000), 1), 1);
}

/* Forward edges, added last to first. */
AT_THREAD_COUNTS(order, random_dag_edges_added_in_reverse) {
  dag d = dag_random(TEST_SIZE(100000), 2);
  dag r = dag_edges_reversed(&d);
  dag_free(&d);
  check_shape(*threads, r, 1);
}

/* Every edge from a later-inserted task to an earlier one (the cycle check
 * must run and find none). */
AT_THREAD_COUNTS(order, random_dag_against_insertion_order) {
  dag d = dag_random(TEST_SIZE(100000), 3);
  dag m = dag_mirrored(&d);
  dag_free(&d);
  check_shape(*threads, m, 1);
}

AT_THREAD_COUNTS(order, empty_and_single_task_graphs) {
  floe_ctx *ctx = open_ctx(*threads);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  cr_assert_not_null(g);
  cr_assert_eq(floe_taskgraph_size(g), 0);
  assert_run_ok(g);
  floe_taskgraph_free(g);
  check_shape(*threads, dag_chain(1), 2);
  floe_close(ctx);
}

/* ---------------------------------------------------------------- re-runs */

AT_THREAD_COUNTS(rerun, same_graph_runs_again) {
  dag d = dag_random(TEST_SIZE(100000), 4);
  check_shape(*threads, d, 3);
}

AT_THREAD_COUNTS(rerun, mirrored_graph_runs_again) {
  dag d = dag_random(TEST_SIZE(50000), 5);
  dag m = dag_mirrored(&d);
  dag_free(&d);
  check_shape(*threads, m, 2);
}

/* Tasks and edges added after a run take part in the next run. */
AT_THREAD_COUNTS(rerun, graph_grown_between_runs) {
  const uint32_t n = TEST_SIZE(60000);
  dag d = dag_random(n, 6);
  floe_ctx *ctx = open_ctx(*threads);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, n / 2, UINT32_MAX, NULL, NULL), FLOE_OK);
  assert_run_ok(gr.g);
  assert_no_violations(&gr, "first half");
  cr_assert_eq(graph_extend(&gr, n), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(floe_taskgraph_size(gr.g), n);
  graph_reset(&gr);
  assert_run_ok(gr.g);
  assert_no_violations(&gr, "whole graph");
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* A reduction whose results travel through plain memory from children to
 * parents: each parent must see its children's writes. */
typedef struct rnode {
  uint64_t value;
  const struct rnode *left, *right; /* both NULL for a leaf */
  stamp *st;
} rnode;

static floe_status reduce_node(void *arg) {
  rnode *n = arg;
  stamp_begin(n->st);
  if (n->left != NULL) {
    n->value = n->left->value + (n->right != NULL ? n->right->value : 0);
  }
  stamp_end(n->st);
  return FLOE_OK;
}

AT_THREAD_COUNTS(rerun, reduction_tree_sees_children_results) {
  const uint32_t leaves = TEST_SIZE(100000) + 3;
  dag d = dag_tree(leaves);
  rnode *node = calloc(d.n, sizeof *node);
  cr_assert_not_null(node);
  floe_ctx *ctx = open_ctx(*threads);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 0, UINT32_MAX, NULL, NULL), FLOE_OK);
  /* the tree's edges say who feeds whom: first feeder is left */
  for (size_t k = 0; k < d.nedges; k++) {
    rnode *parent = &node[d.edge[k][1]];
    const rnode *child = &node[d.edge[k][0]];
    if (parent->left == NULL) {
      parent->left = child;
    } else {
      parent->right = child;
    }
  }
  uint64_t want = 0, rng = 99;
  for (uint32_t i = 0; i < d.n; i++) {
    node[i].st = &gr.st[i];
    cr_assert_not_null(gr.task[i] = floe_task_add(gr.g, reduce_node, &node[i]));
  }
  gr.nbuilt = d.n;
  for (size_t k = 0; k < d.nedges; k++) {
    cr_assert_eq(floe_task_depends(gr.task[d.edge[k][1]], gr.task[d.edge[k][0]]), FLOE_OK);
  }
  for (int run = 1; run <= 2; run++) {
    want = 0;
    for (uint32_t i = 0; i < d.n; i++) {
      node[i].value = node[i].left == NULL ? rng_below(&rng, 1000000) : 0;
      want += node[i].left == NULL ? node[i].value : 0;
    }
    graph_reset(&gr);
    assert_run_ok(gr.g);
    assert_no_violations(&gr, "reduction");
    size_t wrong = 0;
    for (uint32_t i = 0; i < d.n; i++) {
      const rnode *n = &node[i];
      if (n->left != NULL &&
          n->value != n->left->value + (n->right != NULL ? n->right->value : 0)) {
        wrong++;
      }
    }
    cr_assert_eq(wrong, 0, "run %d: %zu parents missed a child's result", run, wrong);
    cr_assert_eq(node[d.n - 1].value, want, "run %d: root %llu, want %llu", run,
                 (unsigned long long)node[d.n - 1].value, (unsigned long long)want);
  }
  graph_free(&gr);
  dag_free(&d);
  free(node);
  floe_close(ctx);
}

/* --------------------------------------------------------------- failures */

/* A task that stamps itself and fails while armed. */
typedef struct failer {
  stamp *st;
  atomic_int armed;
  floe_status status;
  const char *msg; /* NULL: fail without a message */
} failer;

static floe_status failing_task(void *arg) {
  failer *f = arg;
  stamp_begin(f->st);
  stamp_end(f->st);
  if (!atomic_load(&f->armed)) {
    return FLOE_OK;
  }
  return f->msg != NULL ? floe_error_set(f->status, "%s", f->msg) : f->status;
}

/* A chain with a failing task in its middle, a fan of tasks hanging off the
 * failing one, and many independent tasks after them.  Everything before
 * the failure runs once, nothing after it runs, the run returns promptly
 * with the task's status and named message, and the graph runs again. */
AT_THREAD_COUNTS(failure, in_the_middle_of_a_graph) {
  const uint32_t chain = 2000, fail_at = 1000, fan = 1000, independent = TEST_SIZE(100000);
  dag d = dag_chain(chain);
  d.n = chain + fan + independent;
  for (uint32_t i = 0; i < fan; i++) {
    dag_edge(&d, fail_at, chain + i);
  }
  floe_ctx *ctx = open_ctx(*threads);
  failer f = {NULL, 1, FLOE_ERR_IO, "disk full at block 42"};
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, d.n, fail_at, failing_task, &f), FLOE_OK);
  f.st = &gr.st[fail_at];
  cr_assert_eq(floe_task_name(gr.task[fail_at], "loader"), FLOE_OK);

  double t0 = now_s();
  floe_status st = floe_taskgraph_run(gr.g);
  double took = now_s() - t0;
  cr_assert_eq(st, FLOE_ERR_IO, "run returned %s", floe_status_name(st));
  cr_assert_str_eq(floe_error_message(NULL), "task 'loader': disk full at block 42");
  char why[256];
  size_t ran = 0;
  size_t bad = graph_violations_after_failure(&gr, fail_at, &ran, why, sizeof why);
  cr_assert_eq(bad, 0, "%zu violations; first: %s", bad, why);
  cr_assert_lt(took, 5.0 * TEST_SLOWDOWN, "the failed run took %.2f s", took);

  /* the cancelled graph is intact: it runs again, completely */
  atomic_store(&f.armed, 0);
  graph_reset(&gr);
  assert_run_ok(gr.g);
  assert_no_violations(&gr, "run after the failure");
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* The first root fails: the many tasks that have not started are never
 * called.  They take 1 ms each, so that a worker preempted between claiming
 * the failing task and running it cannot let the others run half the graph
 * meanwhile (20000 tasks would need 2.5 s on 8 workers). */
AT_THREAD_COUNTS(failure, cancels_tasks_not_yet_started) {
  const uint32_t n = 20000;
  dag d = dag_new(n);
  floe_ctx *ctx = open_ctx(*threads);
  failer f = {NULL, 1, FLOE_ERR_FORMAT, "bad header"};
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 1, 0, failing_task, &f), FLOE_OK);
  f.st = &gr.st[0];
  for (uint32_t i = 1; i < n; i++) {
    cr_assert_not_null(gr.task[i] = floe_task_add(gr.g, sleep_task, &gr.st[i]));
  }
  gr.nbuilt = n;
  double t0 = now_s();
  cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_FORMAT);
  double took = now_s() - t0;
  assert_message_has("bad header");
  size_t ran = count_ran(&gr);
  cr_assert_eq(atomic_load(&gr.st[0].runs), 1);
  cr_assert_lt(ran, n / 2, "%zu of %u tasks ran after the first one failed", ran, n);
  cr_assert_lt(took, 5.0 * TEST_SLOWDOWN, "the failed run took %.2f s", took);
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

static floe_status fail_with_own_name(void *arg) {
  return floe_error_set(FLOE_ERR_IO, "fail %d", (int)(intptr_t)arg);
}

/* Thousands of tasks fail at once: one failure wins, whole (its name and
 * its message belong together). */
AT_THREAD_COUNTS(failure, many_concurrent_failures_report_one) {
  const int n = TEST_SIZE(20000);
  floe_ctx *ctx = open_ctx(*threads);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  for (int i = 0; i < n; i++) {
    floe_task *t = floe_task_add(g, fail_with_own_name, (void *)(intptr_t)i);
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    cr_assert_eq(floe_task_name(t, name), FLOE_OK);
  }
  cr_assert_eq(floe_taskgraph_run(g), FLOE_ERR_IO);
  int a = -1, b = -2;
  const char *msg = floe_error_message(NULL);
  cr_assert_eq(sscanf(msg, "task 't%d': fail %d", &a, &b), 2, "message '%s'", msg);
  cr_assert(a == b && a >= 0 && a < n, "message '%s' mixes two failures", msg);
  floe_taskgraph_free(g);
  floe_close(ctx);
}

typedef struct message_case {
  bool named;
  const char *msg;
} message_case;

/* The message of a failed run for each combination of a named or unnamed
 * task and a failure with or without its own message. */
Test(failure, message_names_the_task_and_the_failure, .timeout = TEST_TIMEOUT_S) {
  const message_case cases[] = {
      {true, "checksum mismatch in chunk 3"},
      {false, "checksum mismatch in chunk 3"},
      {true, NULL},
      {false, NULL},
  };
  floe_ctx *ctx = open_ctx(2);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    /* tasks #0-#2 succeed, #3 fails, #4 and #5 depend on it */
    dag d = dag_chain(6);
    failer f = {NULL, 1, FLOE_ERR_FORMAT, cases[c].msg};
    graph gr;
    cr_assert_eq(graph_build(&gr, ctx, &d, d.n, 3, failing_task, &f), FLOE_OK);
    f.st = &gr.st[3];
    if (cases[c].named) {
      cr_assert_eq(floe_task_name(gr.task[3], "parse"), FLOE_OK);
    }
    cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_FORMAT, "case %zu", c);
    const char *msg = floe_error_message(NULL);
    if (cases[c].named) {
      cr_assert(starts_with(msg, "task 'parse': "), "case %zu: '%s'", c, msg);
    } else if (cases[c].msg == NULL) {
      cr_assert(starts_with(msg, "task #3 failed: "), "case %zu: '%s'", c, msg);
    }
    if (cases[c].msg != NULL) {
      cr_assert(contains(msg, cases[c].msg), "case %zu: '%s'", c, msg);
    } else {
      cr_assert(contains(msg, floe_status_name(FLOE_ERR_FORMAT)) ||
                    contains(msg, floe_status_string(FLOE_ERR_FORMAT)),
                "case %zu: '%s' does not say what failed", c, msg);
    }
    for (uint32_t i = 0; i < 6; i++) {
      cr_assert_eq(atomic_load(&gr.st[i].runs), i <= 3 ? 1u : 0u, "case %zu: task #%u", c, i);
    }
    graph_free(&gr);
    dag_free(&d);
  }
  floe_close(ctx);
}

/* ----------------------------------------------------------------- cycles */

Test(cycles, two_task_cycle_runs_nothing, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dag d = dag_new(2);
  dag_edge(&d, 0, 1);
  dag_edge(&d, 1, 0);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, d.n, UINT32_MAX, NULL, NULL), FLOE_OK,
               "cycles are found at run time, not while building: %s", floe_error_message(NULL));
  for (int r = 0; r < 2; r++) {
    mark_message();
    cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_INVALID);
    assert_message_has("cycle");
    cr_assert_eq(count_ran(&gr), 0);
  }
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* A long cycle hidden among acyclic parts: still nothing runs. */
AT_THREAD_COUNTS(cycles, long_cycle_in_a_large_graph_runs_nothing) {
  const uint32_t n = TEST_SIZE(50000), ring = 1000;
  dag d = dag_random(n, 8);
  /* tasks 5000..5999 form a ring, closed by an edge back to its start */
  for (uint32_t i = 5000; i < 5000 + ring - 1; i++) {
    dag_edge(&d, i, i + 1);
  }
  dag_edge(&d, 5000 + ring - 1, 5000);
  floe_ctx *ctx = open_ctx(*threads);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, d.n, UINT32_MAX, NULL, NULL), FLOE_OK);
  cr_assert_eq(floe_task_name(gr.task[5000], "ring-start"), FLOE_OK);
  mark_message();
  cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_INVALID);
  assert_message_has("cycle");
  cr_assert_eq(count_ran(&gr), 0, "%zu tasks ran in a graph with a cycle", count_ran(&gr));
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* ----------------------------------------------------------- sticky errors */

Test(sticky, null_task_function_fails_the_run, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dag d = dag_chain(100);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 50, UINT32_MAX, NULL, NULL), FLOE_OK);
  int x = 0;
  mark_message();
  cr_assert_null(floe_task_add(gr.g, NULL, &x));
  assert_message_has("floe_task_add");
  /* building goes on without complaint ... */
  cr_assert_eq(graph_extend(&gr, 100), FLOE_OK, "%s", floe_error_message(NULL));
  /* ... and the run reports the first failure without running anything */
  for (int r = 0; r < 2; r++) {
    mark_message();
    cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_INVALID);
    assert_message_has("floe_task_add");
    cr_assert_eq(count_ran(&gr), 0);
  }
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

Test(sticky, self_dependency_fails_the_run, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dag d = dag_chain(10);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, d.n, UINT32_MAX, NULL, NULL), FLOE_OK);
  cr_assert_eq(floe_task_depends(gr.task[4], gr.task[4]), FLOE_ERR_INVALID);
  cr_assert_eq(floe_taskgraph_run(gr.g), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  cr_assert_eq(count_ran(&gr), 0);
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* "Building is sticky: a failing floe_task_add / floe_task_depends records
 * its error in the graph": also when the failure is an edge to a task of
 * another graph. */
Test(sticky, dependency_on_another_graph_fails_the_run, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dag d = dag_chain(10);
  graph a, b;
  cr_assert_eq(graph_build(&a, ctx, &d, d.n, UINT32_MAX, NULL, NULL), FLOE_OK);
  cr_assert_eq(graph_build(&b, ctx, &d, d.n, UINT32_MAX, NULL, NULL), FLOE_OK);
  cr_assert_eq(floe_task_depends(a.task[5], b.task[2]), FLOE_ERR_INVALID);
  mark_message();
  floe_status st = floe_taskgraph_run(a.g);
  cr_assert_eq(st, FLOE_ERR_INVALID,
               "the graph whose task got the bad edge ran anyway (%s); %zu tasks ran",
               floe_status_name(st), count_ran(&a));
  cr_assert_eq(count_ran(&a), 0);
  graph_free(&a);
  graph_free(&b);
  dag_free(&d);
  floe_close(ctx);
}

/* ------------------------------------------------------ concurrent users */

typedef struct user_job {
  floe_ctx *ctx;
  uint32_t n;
  uint64_t seed;
  int runs;
  size_t bad;
  char why[256];
} user_job;

static void *user_thread(void *arg) {
  user_job *j = arg;
  dag d = dag_random(j->n, j->seed);
  if (j->seed % 2 == 1) {
    dag m = dag_mirrored(&d);
    dag_free(&d);
    d = m;
  }
  j->bad = graph_build_run_check(j->ctx, &d, j->runs, j->why, sizeof j->why);
  dag_free(&d);
  return NULL;
}

/* Four user threads each build and run their own graph, several times, on
 * one context at once. */
AT_THREAD_COUNTS(users, several_threads_run_graphs_at_once) {
  enum { USERS = 4 };
  floe_ctx *ctx = open_ctx(*threads);
  user_job jobs[USERS];
  pthread_t t[USERS];
  for (int u = 0; u < USERS; u++) {
    jobs[u] = (user_job){ctx, TEST_SIZE(50000), 100 + (uint64_t)u, 3, 0, ""};
    cr_assert_eq(pthread_create(&t[u], NULL, user_thread, &jobs[u]), 0);
  }
  for (int u = 0; u < USERS; u++) {
    pthread_join(t[u], NULL);
  }
  for (int u = 0; u < USERS; u++) {
    cr_assert_eq(jobs[u].bad, 0, "user %d: %zu violations; first: %s", u, jobs[u].bad, jobs[u].why);
  }
  floe_close(ctx);
}

/* A graph freed, or run again, as soon as its run returns: by then no
 * worker may touch the run any more.  (ASan and TSan see a late access.) */
AT_THREAD_COUNTS(users, graph_freed_or_rerun_right_after_its_run) {
  floe_ctx *ctx = open_ctx(*threads);
  for (int it = 0; it < 800; it++) {
    floe_taskgraph *g = floe_taskgraph_new(ctx);
    for (int i = 0; i < 64; i++) {
      cr_assert_not_null(floe_task_add(g, nop, NULL));
    }
    assert_run_ok(g);
    if (it % 2 == 0) {
      assert_run_ok(g);
    }
    floe_taskgraph_free(g);
  }
  floe_close(ctx);
}

typedef struct failing_user {
  floe_ctx *ctx;
  int id;
  floe_status got[3];
  char msg[3][128];
} failing_user;

static floe_status fail_as_user(void *arg) {
  return floe_error_set(FLOE_ERR_IO, "user %d failed", *(int *)arg);
}

static void *failing_user_thread(void *arg) {
  failing_user *u = arg;
  floe_taskgraph *g = floe_taskgraph_new(u->ctx);
  floe_task *prev = NULL;
  for (int i = 0; i < 20000 / TEST_SLOWDOWN; i++) {
    bool fails = u->id % 2 == 0 && i == 10000 / TEST_SLOWDOWN;
    floe_task *t = fails ? floe_task_add(g, fail_as_user, &u->id) : floe_task_add(g, nop, NULL);
    if (prev != NULL && i % 3 == 0) {
      floe_task_depends(t, prev);
    }
    prev = t;
  }
  for (int r = 0; r < 3; r++) {
    u->got[r] = floe_taskgraph_run(g);
    snprintf(u->msg[r], sizeof u->msg[r], "%s", floe_error_message(NULL));
  }
  floe_taskgraph_free(g);
  return NULL;
}

/* Failures stay with their own run: users whose graphs fail get their own
 * message, the others succeed. */
Test(users, failures_stay_with_their_run, .timeout = TEST_TIMEOUT_S) {
  enum { USERS = 4 };
  floe_ctx *ctx = open_ctx(2);
  failing_user u[USERS];
  pthread_t t[USERS];
  for (int i = 0; i < USERS; i++) {
    u[i] = (failing_user){.ctx = ctx, .id = i};
    cr_assert_eq(pthread_create(&t[i], NULL, failing_user_thread, &u[i]), 0);
  }
  for (int i = 0; i < USERS; i++) {
    pthread_join(t[i], NULL);
  }
  for (int i = 0; i < USERS; i++) {
    for (int r = 0; r < 3; r++) {
      if (i % 2 == 0) {
        char want[32];
        snprintf(want, sizeof want, "user %d failed", i);
        cr_assert_eq(u[i].got[r], FLOE_ERR_IO, "user %d run %d", i, r);
        cr_assert_str_eq(u[i].msg[r], want, "user %d run %d", i, r);
      } else {
        cr_assert_eq(u[i].got[r], FLOE_OK, "user %d run %d: %s", i, r, u[i].msg[r]);
      }
    }
  }
  floe_close(ctx);
}

typedef struct gate {
  atomic_int entered, open;
} gate;

static floe_status wait_at_gate(void *arg) {
  gate *g = arg;
  atomic_store(&g->entered, 1);
  while (!atomic_load(&g->open)) {
    sleep_s(0.001);
  }
  return FLOE_OK;
}

static void *run_graph_thread(void *arg) {
  return (void *)(intptr_t)floe_taskgraph_run(arg);
}

Test(users, a_running_graph_cannot_run_twice_at_once, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  gate gt = {0, 0};
  cr_assert_not_null(floe_task_add(g, wait_at_gate, &gt));
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, run_graph_thread, g), 0);
  while (!atomic_load(&gt.entered)) {
    sleep_s(0.001);
  }
  mark_message();
  cr_assert_eq(floe_taskgraph_run(g), FLOE_ERR_INVALID);
  assert_message_has("running");
  atomic_store(&gt.open, 1);
  void *ret = NULL;
  pthread_join(t, &ret);
  cr_assert_eq((floe_status)(intptr_t)ret, FLOE_OK);
  floe_taskgraph_free(g);
  floe_close(ctx);
}

/* ---------------------------------------------------------------- nesting */

typedef struct nest_job {
  floe_ctx *ctx;
  uint32_t inner_n;
  uint64_t seed;
  stamp *st; /* this outer task's stamp */
  size_t bad;
  char why[256];
} nest_job;

/* An outer task that builds, runs twice and checks a graph of its own. */
static floe_status nested_runner(void *arg) {
  nest_job *j = arg;
  stamp_begin(j->st);
  dag d = dag_random(j->inner_n, j->seed);
  j->bad = graph_build_run_check(j->ctx, &d, 2, j->why, sizeof j->why);
  dag_free(&d);
  stamp_end(j->st);
  return FLOE_OK;
}

/* A fan of tasks that each run an inner graph on the same context; with one
 * worker the worker itself must run the inner graphs. */
AT_THREAD_COUNTS(nested, tasks_run_graphs_on_the_same_context) {
  enum { OUTER = 16 };
  floe_ctx *ctx = open_ctx(*threads);
  dag d = dag_fan(OUTER); /* node 0, fan 1..OUTER, sink OUTER+1 */
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 0, UINT32_MAX, NULL, NULL), FLOE_OK);
  nest_job jobs[OUTER];
  for (uint32_t i = 0; i < d.n; i++) {
    if (i >= 1 && i <= OUTER) {
      jobs[i - 1] = (nest_job){ctx, TEST_SIZE(4000), 200 + i, &gr.st[i], 0, ""};
      gr.task[i] = floe_task_add(gr.g, nested_runner, &jobs[i - 1]);
    } else {
      gr.task[i] = floe_task_add(gr.g, stamp_task, &gr.st[i]);
    }
  }
  gr.nbuilt = d.n;
  for (size_t k = 0; k < d.nedges; k++) {
    cr_assert_eq(floe_task_depends(gr.task[d.edge[k][1]], gr.task[d.edge[k][0]]), FLOE_OK);
  }
  for (int r = 1; r <= 2; r++) {
    graph_reset(&gr);
    assert_run_ok(gr.g);
    assert_no_violations(&gr, "outer graph");
    for (int i = 0; i < OUTER; i++) {
      cr_assert_eq(jobs[i].bad, 0, "run %d, inner graph %d: %s", r, i, jobs[i].why);
    }
  }
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

typedef struct nest_fail {
  floe_ctx *ctx;
} nest_fail;

static floe_status inner_boom(void *arg) {
  (void)arg;
  return floe_error_set(FLOE_ERR_IO, "inner boom");
}

static floe_status run_failing_inner(void *arg) {
  nest_fail *nf = arg;
  floe_taskgraph *g = floe_taskgraph_new(nf->ctx);
  floe_task *a = floe_task_add(g, nop, NULL);
  floe_task *b = floe_task_add(g, inner_boom, NULL);
  floe_task_name(b, "inner");
  floe_task_depends(b, a);
  floe_status st = floe_taskgraph_run(g);
  floe_taskgraph_free(g);
  return st;
}

/* An inner failure surfaces through the outer task, named twice. */
AT_THREAD_COUNTS(nested, inner_failure_reaches_the_outer_run) {
  floe_ctx *ctx = open_ctx(*threads);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  nest_fail nf = {ctx};
  floe_task *outer = floe_task_add(g, run_failing_inner, &nf);
  cr_assert_eq(floe_task_name(outer, "outer"), FLOE_OK);
  for (int i = 0; i < 1000; i++) {
    floe_task_add(g, nop, NULL);
  }
  cr_assert_eq(floe_taskgraph_run(g), FLOE_ERR_IO);
  cr_assert_str_eq(floe_error_message(NULL), "task 'outer': task 'inner': inner boom");
  floe_taskgraph_free(g);
  floe_close(ctx);
}

typedef struct self_run {
  floe_taskgraph *g;
  floe_task *me;
  floe_status run_status, name_status;
  char msg[256];
} self_run;

static floe_status run_own_graph(void *arg) {
  self_run *s = arg;
  s->run_status = floe_taskgraph_run(s->g);
  snprintf(s->msg, sizeof s->msg, "%s", floe_error_message(NULL));
  s->name_status = floe_task_name(s->me, "renamed while running");
  return FLOE_OK;
}

/* A task that runs its own graph gets FLOE_ERR_INVALID, not a deadlock. */
AT_THREAD_COUNTS(nested, task_cannot_run_its_own_graph) {
  floe_ctx *ctx = open_ctx(*threads);
  self_run s = {0};
  s.g = floe_taskgraph_new(ctx);
  s.me = floe_task_add(s.g, run_own_graph, &s);
  assert_run_ok(s.g);
  cr_assert_eq(s.run_status, FLOE_ERR_INVALID);
  cr_assert(contains(s.msg, "running"), "message '%s'", s.msg);
  cr_assert_eq(s.name_status, FLOE_ERR_INVALID);
  floe_taskgraph_free(s.g);
  floe_close(ctx);
}

/* --------------------------------------------------------------- progress */

typedef struct progress_log {
  pthread_t caller;
  int cancel_at_call; /* 0: never cancel */
  int calls;
  int off_thread;
  uint64_t done[4096], total[4096];
} progress_log;

static int log_progress(void *user, uint64_t done, uint64_t total) {
  progress_log *p = user;
  if (!pthread_equal(pthread_self(), p->caller)) {
    p->off_thread++;
  }
  if (p->calls < 4096) {
    p->done[p->calls] = done;
    p->total[p->calls] = total;
  }
  p->calls++;
  return p->cancel_at_call != 0 && p->calls >= p->cancel_at_call;
}

static floe_ctx *open_with_progress(int threads, progress_log *p) {
  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, threads), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS, floe_progress(log_progress)), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS_USER, (void *)p), FLOE_OK);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  floe_options_free(o);
  return ctx;
}

/* Calls come on the waiting thread, with done <= total, and end with
 * done == total. */
Test(progress, reports_on_the_waiting_thread_and_ends_complete, .timeout = TEST_TIMEOUT_S) {
  static progress_log p;
  p.caller = pthread_self();
  floe_ctx *ctx = open_with_progress(2, &p);
  dag d = dag_new(400); /* 400 x 1 ms on 2 workers: about 0.2 s */
  for (uint32_t i = 1; i < d.n; i += 2) {
    dag_edge(&d, i - 1, i);
  }
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 0, UINT32_MAX, NULL, NULL), FLOE_OK);
  for (uint32_t i = 0; i < d.n; i++) {
    gr.task[i] = floe_task_add(gr.g, sleep_task, &gr.st[i]);
  }
  gr.nbuilt = d.n;
  for (size_t k = 0; k < d.nedges; k++) {
    floe_task_depends(gr.task[d.edge[k][1]], gr.task[d.edge[k][0]]);
  }
  double t0 = now_s();
  assert_run_ok(gr.g);
  double took = now_s() - t0;
  assert_no_violations(&gr, "progress graph");
  cr_assert_geq(p.calls, 1, "no progress call");
  cr_assert_eq(p.off_thread, 0, "%d calls came from another thread", p.off_thread);
  for (int c = 0; c < p.calls && c < 4096; c++) {
    cr_assert_eq(p.total[c], d.n, "call %d: total %llu", c, (unsigned long long)p.total[c]);
    cr_assert_leq(p.done[c], p.total[c], "call %d: done %llu > total", c,
                  (unsigned long long)p.done[c]);
    if (c > 0) {
      cr_assert_geq(p.done[c], p.done[c - 1], "call %d: done went backwards", c);
    }
  }
  cr_assert_eq(p.done[p.calls - 1], d.n, "the last call says %llu of %u",
               (unsigned long long)p.done[p.calls - 1], d.n);
  cr_assert_leq(p.calls, 2 + (int)(took * 20), "%d calls in %.2f s", p.calls, took);
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* A non-zero return cancels: FLOE_ERR_CANCELLED soon, most tasks never run,
 * and the graph can run again to the end. */
Test(progress, nonzero_return_cancels_the_run, .timeout = TEST_TIMEOUT_S) {
  static progress_log p;
  p.caller = pthread_self();
  p.cancel_at_call = 1;
  floe_ctx *ctx = open_with_progress(2, &p);
  const uint32_t n = 6000; /* 6000 x 1 ms on 2 workers: 3 s if not cancelled */
  dag d = dag_new(n);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, 0, UINT32_MAX, NULL, NULL), FLOE_OK);
  for (uint32_t i = 0; i < n; i++) {
    gr.task[i] = floe_task_add(gr.g, sleep_task, &gr.st[i]);
  }
  gr.nbuilt = n;
  double t0 = now_s();
  floe_status st = floe_taskgraph_run(gr.g);
  double took = now_s() - t0;
  cr_assert_eq(st, FLOE_ERR_CANCELLED, "run returned %s", floe_status_name(st));
  cr_assert_neq(floe_error_message(NULL)[0], '\0');
  size_t ran = count_ran(&gr);
  cr_assert_lt(ran, n / 2, "%zu of %u tasks ran after the cancel", ran, n);
  cr_assert_lt(took, 2.0, "the cancelled run took %.2f s", took);
  for (uint32_t i = 0; i < n; i++) {
    cr_assert_leq(atomic_load(&gr.st[i].runs), 1);
  }

  p.cancel_at_call = 0;
  p.calls = 0;
  atomic_store(&slow_tasks, 0);
  graph_reset(&gr);
  assert_run_ok(gr.g);
  assert_no_violations(&gr, "run after the cancel");
  cr_assert_eq(p.done[p.calls - 1], n);
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);
}

/* ---------------------------------------------------------------- profile */

/* Checks the trace with Python's json module: it must parse, and its "X"
 * events must carry exactly the expected names (one per line in
 * names_path), with sane times and worker ids. */
static const char *check_trace_py = "import json,sys\n"
                                    "d=json.load(open(sys.argv[1]))\n"
                                    "ev=d['traceEvents'] if isinstance(d,dict) else d\n"
                                    "x=[e for e in ev if e.get('ph')=='X']\n"
                                    "want=sorted(open(sys.argv[2]).read().split('\\n')[:-1])\n"
                                    "got=sorted(e['name'] for e in x)\n"
                                    "assert got==want, ('names differ', len(got), len(want), [n "
                                    "for n in got if n not in want][:3])\n"
                                    "for e in x:\n"
                                    "  assert e['ts']>=0 and e['dur']>=0, e\n"
                                    "  assert 0<=int(e['tid'])<int(sys.argv[3]), e\n";

Test(profile, trace_file_is_json_with_an_event_per_task, .timeout = TEST_TIMEOUT_S) {
  cr_assert_eq(access("/usr/bin/python3", X_OK), 0, "the check needs /usr/bin/python3");
  char dir[] = "/tmp/floe-profile-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], names_path[256], script_path[256], cmd[1024];
  snprintf(path, sizeof path, "%s/trace.json", dir);
  snprintf(names_path, sizeof names_path, "%s/names.txt", dir);
  snprintf(script_path, sizeof script_path, "%s/check.py", dir);

  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, 2), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROFILE_PATH, path), FLOE_OK);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  floe_options_free(o);

  enum { N = 200 };
  FILE *names = fopen(names_path, "w");
  cr_assert_not_null(names);
  dag d = dag_random(N, 9);
  graph gr;
  cr_assert_eq(graph_build(&gr, ctx, &d, N, UINT32_MAX, NULL, NULL), FLOE_OK);
  for (uint32_t i = 0; i < N; i++) {
    char name[64];
    if (i == 7) {
      snprintf(name, sizeof name, "odd \"name\" \\ with\tescapes");
    } else {
      snprintf(name, sizeof name, "job-%u", i);
    }
    cr_assert_eq(floe_task_name(gr.task[i], name), FLOE_OK);
    fprintf(names, "%s\n", name);
  }
  fclose(names);
  assert_run_ok(gr.g);
  assert_no_violations(&gr, "profiled run");
  graph_free(&gr);
  dag_free(&d);
  floe_close(ctx);

  FILE *script = fopen(script_path, "w");
  cr_assert_not_null(script);
  fputs(check_trace_py, script);
  fclose(script);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s 2", script_path, path, names_path);
  int rc = system(cmd);
  cr_assert_eq(rc, 0, "the trace %s failed the check (exit %d)", path, rc);
  unlink(path);
  unlink(names_path);
  unlink(script_path);
  rmdir(dir);
}

/* ------------------------------------------------------------------- idle */

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Idle workers sleep: under 1% of a core over 5 s. */
Test(idle, workers_sleep_when_there_is_no_work, .timeout = TEST_TIMEOUT_S) {
  floe_ctx *ctx = open_ctx(2);
  dag d = dag_random(2000, 10);
  char why[256];
  cr_assert_eq(graph_build_run_check(ctx, &d, 1, why, sizeof why), 0, "%s", why);
  dag_free(&d);
  sleep_s(0.05); /* let the workers finish spinning */
  double c0 = cpu_seconds();
  sleep_s(5.0);
  double used = cpu_seconds() - c0;
  cr_assert_lt(used, 0.050, "an idle context used %.1f ms of CPU in 5 s", used * 1e3);
  floe_close(ctx);
}

/* -------------------------------------------------- NULL and bad arguments */

Test(arguments, null_and_invalid_arguments_are_refused_with_a_message) {
  floe_ctx *ctx = open_ctx(1);
  floe_taskgraph *g = floe_taskgraph_new(ctx), *other = floe_taskgraph_new(ctx);
  floe_task *t = floe_task_add(g, nop, NULL), *u = floe_task_add(g, nop, NULL);
  floe_task *x = floe_task_add(other, nop, NULL);
  cr_assert(t != NULL && u != NULL && x != NULL);

  mark_message();
  cr_assert_null(floe_taskgraph_new(NULL));
  assert_message_has("floe_taskgraph_new");
  mark_message();
  cr_assert_null(floe_task_add(NULL, nop, NULL));
  assert_message_has("floe_task_add");
  mark_message();
  cr_assert_eq(floe_task_depends(NULL, t), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  mark_message();
  cr_assert_eq(floe_task_depends(t, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  mark_message();
  cr_assert_eq(floe_task_depends(NULL, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  mark_message();
  cr_assert_eq(floe_task_depends(x, t), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  mark_message();
  cr_assert_eq(floe_task_name(NULL, "a"), FLOE_ERR_INVALID);
  assert_message_has("floe_task_name");
  mark_message();
  cr_assert_eq(floe_task_name(t, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_task_name");
  mark_message();
  cr_assert_eq(floe_task_priority(NULL, 3), FLOE_ERR_INVALID);
  assert_message_has("floe_task_priority");
  mark_message();
  cr_assert_eq(floe_taskgraph_run(NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_taskgraph_run");
  mark_message();
  cr_assert_eq(floe_open(NULL, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_open");
  cr_assert_eq(floe_taskgraph_size(NULL), 0);
  floe_taskgraph_free(NULL);
  floe_close(NULL);

  /* the self-dependency poisons g (sticky), so check it last */
  mark_message();
  cr_assert_eq(floe_task_depends(u, u), FLOE_ERR_INVALID);
  assert_message_has("floe_task_depends");
  floe_taskgraph_free(g);
  floe_taskgraph_free(other);
  floe_close(ctx);
}

/* Graphs left alive are freed by floe_close (checked under ASan). */
Test(arguments, close_frees_graphs_left_alive) {
  floe_ctx *ctx = open_ctx(2);
  for (int k = 0; k < 3; k++) {
    floe_taskgraph *g = floe_taskgraph_new(ctx);
    floe_task *prev = NULL;
    for (int i = 0; i < 3000; i++) {
      floe_task *t = floe_task_add(g, nop, NULL);
      cr_assert_eq(floe_task_name(t, "kept"), FLOE_OK);
      if (prev != NULL) {
        cr_assert_eq(floe_task_depends(t, prev), FLOE_OK);
      }
      prev = t;
    }
    if (k == 1) {
      assert_run_ok(g);
    }
  }
  floe_close(ctx);
}

/* ------------------------------------------------------------- priorities */

typedef struct order_log {
  atomic_int next;
  int order[4096]; /* task indexes in the order they started */
} order_log;

typedef struct ordered {
  order_log *log;
  int index;
} ordered;

static floe_status log_start(void *arg) {
  ordered *o = arg;
  o->log->order[atomic_fetch_add(&o->log->next, 1)] = o->index;
  return FLOE_OK;
}

/* With one worker, ready roots start in order of priority. */
Test(priority, one_worker_starts_higher_priority_roots_first, .timeout = TEST_TIMEOUT_S) {
  enum { N = 1000 };
  static order_log log;
  static ordered arg[N];
  int prio[N];
  uint64_t rng = 11;
  floe_ctx *ctx = open_ctx(1);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  for (int i = 0; i < N; i++) {
    arg[i] = (ordered){&log, i};
    prio[i] = (int)rng_below(&rng, 21) - 10;
    floe_task *t = floe_task_add(g, log_start, &arg[i]);
    cr_assert_eq(floe_task_priority(t, prio[i]), FLOE_OK);
  }
  for (int r = 0; r < 2; r++) {
    atomic_store(&log.next, 0);
    assert_run_ok(g);
    cr_assert_eq(atomic_load(&log.next), N);
    for (int k = 1; k < N; k++) {
      cr_assert_geq(prio[log.order[k - 1]], prio[log.order[k]],
                    "run %d: task #%d (priority %d) started before #%d (priority %d)", r,
                    log.order[k - 1], prio[log.order[k - 1]], log.order[k], prio[log.order[k]]);
    }
  }
  floe_taskgraph_free(g);
  floe_close(ctx);
}

/* Priorities changed between runs apply to the next run, also when one is
 * set back to the default 0. */
Test(priority, changed_priorities_apply_to_the_next_run, .timeout = TEST_TIMEOUT_S) {
  static order_log log;
  static ordered arg[4];
  floe_ctx *ctx = open_ctx(1);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  floe_task *t[4];
  for (int i = 0; i < 4; i++) {
    arg[i] = (ordered){&log, i};
    t[i] = floe_task_add(g, log_start, &arg[i]);
  }
  floe_task_priority(t[2], 5);
  floe_task_priority(t[3], 10);
  atomic_store(&log.next, 0);
  assert_run_ok(g);
  cr_assert(log.order[0] == 3 && log.order[1] == 2, "first run: #%d, #%d first", log.order[0],
            log.order[1]);
  /* now only #2 has a priority above the others */
  floe_task_priority(t[3], 0);
  atomic_store(&log.next, 0);
  assert_run_ok(g);
  cr_assert_eq(log.order[0], 2, "second run: #%d (priority 0) started before #2 (priority 5)",
               log.order[0]);
  floe_taskgraph_free(g);
  floe_close(ctx);
}

/* With one worker, the successors a finished task makes ready start in
 * order of priority too. */
Test(priority, one_worker_starts_higher_priority_successors_first, .timeout = TEST_TIMEOUT_S) {
  enum { N = 8 };
  static order_log log;
  static ordered arg[N + 1];
  const int prio[N] = {1, 3, 2, 7, 0, 5, 4, 6};
  floe_ctx *ctx = open_ctx(1);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  arg[N] = (ordered){&log, -1};
  floe_task *root = floe_task_add(g, log_start, &arg[N]);
  for (int i = 0; i < N; i++) {
    arg[i] = (ordered){&log, i};
    floe_task *t = floe_task_add(g, log_start, &arg[i]);
    floe_task_priority(t, prio[i]);
    cr_assert_eq(floe_task_depends(t, root), FLOE_OK);
  }
  atomic_store(&log.next, 0);
  assert_run_ok(g);
  cr_assert_eq(log.order[0], -1);
  char seen[128] = "";
  for (int k = 1; k <= N; k++) {
    char item[16];
    snprintf(item, sizeof item, " %d", prio[log.order[k]]);
    strcat(seen, item);
  }
  for (int k = 2; k <= N; k++) {
    cr_assert_geq(prio[log.order[k - 1]], prio[log.order[k]],
                  "successors started with priorities%s", seen);
  }
  floe_taskgraph_free(g);
  floe_close(ctx);
}
