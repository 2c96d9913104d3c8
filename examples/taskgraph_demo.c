/* A task graph from C: estimate pi by integrating 4/(1+x^2) over [0,1] in
 * blocks, combine the blocks with a binary tree of reduction tasks, and show
 * a failing task cancelling the rest.  Build and run: make demo. */
#include <floe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BLOCKS = 1 << 16, STEPS_PER_BLOCK = 256 };

typedef struct node {
  double value;
  struct node *left, *right; /* children of a combine task */
  long block;                /* leaf: which block to integrate */
} node;

static floe_status integrate(void *arg) {
  node *n = arg;
  const double h = 1.0 / ((double)BLOCKS * STEPS_PER_BLOCK);
  double sum = 0.0;
  for (int i = 0; i < STEPS_PER_BLOCK; i++) {
    double x = ((double)n->block * STEPS_PER_BLOCK + i + 0.5) * h;
    sum += 4.0 / (1.0 + x * x);
  }
  n->value = sum * h;
  return FLOE_OK;
}

static floe_status combine(void *arg) {
  node *n = arg;
  n->value = n->left->value + n->right->value;
  return FLOE_OK;
}

static floe_status broken(void *arg) {
  return floe_error_set(FLOE_ERR_IO, "block %ld: the disk went away", *(long *)arg);
}

static int progress(void *user, uint64_t done, uint64_t total) {
  fprintf(stderr, "\r%s: %llu/%llu tasks", (const char *)user, (unsigned long long)done,
          (unsigned long long)total);
  if (done == total) {
    fputc('\n', stderr);
  }
  return 0;
}

static double seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
  floe_options *opts = floe_options_new();
  floe_options_set(opts, FLOE_OPT_PROGRESS, floe_progress(progress));
  floe_options_set(opts, FLOE_OPT_PROGRESS_USER, (void *)"pi");
  floe_ctx *ctx = NULL;
  if (floe_open(opts, &ctx) != FLOE_OK) {
    fprintf(stderr, "floe_open: %s\n", floe_error_message(NULL));
    return 1;
  }
  floe_options_free(opts);
  printf("floe %s, %d worker threads\n", floe_version_string(), floe_ctx_threads(ctx));

  /* leaves, then a binary tree of combines over them: 2*BLOCKS-1 tasks */
  node *nodes = calloc(2 * BLOCKS, sizeof *nodes);
  floe_task **tasks = calloc(2 * BLOCKS, sizeof *tasks);
  double t0 = seconds();
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  for (long i = 0; i < BLOCKS; i++) {
    nodes[BLOCKS + i].block = i;
    tasks[BLOCKS + i] = floe_task_add(g, integrate, &nodes[BLOCKS + i]);
  }
  for (long i = BLOCKS - 1; i >= 1; i--) {
    nodes[i].left = &nodes[2 * i];
    nodes[i].right = &nodes[2 * i + 1];
    tasks[i] = floe_task_add(g, combine, &nodes[i]);
    floe_task_depends(tasks[i], tasks[2 * i]);
    floe_task_depends(tasks[i], tasks[2 * i + 1]);
  }
  floe_status st = floe_taskgraph_run(g);
  double t1 = seconds();
  if (st != FLOE_OK) {
    fprintf(stderr, "run failed: %s\n", floe_error_message(ctx));
    return 1;
  }
  printf("pi ~ %.15f from %zu tasks in %.1f ms (%.0f ns per task, building included)\n",
         nodes[1].value, floe_taskgraph_size(g), (t1 - t0) * 1e3,
         (t1 - t0) * 1e9 / (double)floe_taskgraph_size(g));

  /* the same graph again, with one leaf that fails: the run stops early */
  long bad = 12345;
  floe_taskgraph *h = floe_taskgraph_new(ctx);
  floe_task *first = floe_task_add(h, broken, &bad);
  floe_task_name(first, "read block");
  for (int i = 0; i < 1000; i++) {
    floe_task_depends(floe_task_add(h, combine, &nodes[1]), first);
  }
  st = floe_taskgraph_run(h);
  printf("a failing task: %s: %s\n", floe_status_name(st), floe_error_message(ctx));

  floe_close(ctx); /* frees both graphs */
  free(nodes);
  free(tasks);
  return 0;
}
