/* Per-task overhead of floe's task runtime beside OpenMP tasks (libgomp), in
 * one process, on the same graphs of empty tasks:
 *
 *   independent  N tasks, no edges
 *   chain        task i depends on task i-1
 *   tree         a perfect binary reduction tree of 2^k-1 <= N tasks; each
 *                internal node depends on its two children
 *
 * floe is timed twice per repetition: graph building + first run + free (the
 * headline: what a one-shot graph costs its user), and a second run of the
 * same graph (what re-running a built graph costs).  OpenMP creates its tasks
 * from one thread inside parallel + single, with depend clauses on the
 * per-task counters for the chain and the tree; its time covers the whole
 * parallel region, task creation and teardown included.  Repetitions of the
 * two runtimes alternate, first one then the other, with a short sleep in
 * between so that neither side's spin-before-sleep eats into the other's time
 * on a 2-core machine.
 *
 * Every task body increments its own counter through a call the compiler
 * cannot see through; after each run every counter must have moved by one.
 * The first, untimed run of each case uses a body that also checks that the
 * task's predecessors have already run.  Any mismatch exits with status 1.
 *
 * Before the cases (while no OpenMP thread exists yet), the CPU used by an
 * idle context with 2 workers over a few seconds. */
#define _POSIX_C_SOURCE 200809L

#include <floe.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

enum { MAX_THREAD_COUNTS = 16, SETTLE_MS = 20 };

typedef enum shape { SHAPE_INDEPENDENT, SHAPE_CHAIN, SHAPE_TREE, SHAPE_COUNT } shape;

static const char *const shape_names[SHAPE_COUNT] = {"independent", "chain", "tree"};

typedef struct config {
  size_t tasks;
  int reps;
  int threads[MAX_THREAD_COUNTS];
  int nthreads;
  double idle_seconds;
  bool verbose;
  bool malloc_default;
} config;

/* One counter per task.  The tree uses heap numbering (node i has children
 * 2i and 2i+1 when 2i < tree_size, the root is 1), the other shapes 0..n-1. */
static uint32_t *counters;
static size_t ncounters;
static floe_task **tree_tasks; /* the tree's tasks by node number, while building */

/* ---------------------------------------------------------------- bodies */

/* noinline, and reached through a volatile pointer in the OpenMP version, so
 * the compiler can neither drop nor inline the per-task work. */
__attribute__((noinline)) static floe_status empty_task(void *arg) {
  uint32_t *c = arg;
  *c += 1;
  return FLOE_OK;
}

/* What the checking body checks, and the violations it saw. */
static shape check_shape;
static size_t check_tree_size;
static atomic_ulong order_errors;

/* Every counter holds the same value r before a run, so a predecessor that
 * has already run holds r+1, the value this task is about to write. */
__attribute__((noinline)) static floe_status checked_task(void *arg) {
  uint32_t *c = arg;
  size_t i = (size_t)(c - counters);
  uint32_t after = *c + 1;
  bool ok = true;
  if (check_shape == SHAPE_CHAIN && i > 0) {
    ok = counters[i - 1] == after;
  } else if (check_shape == SHAPE_TREE && 2 * i < check_tree_size) {
    ok = counters[2 * i] == after && counters[2 * i + 1] == after;
  }
  if (!ok) {
    atomic_fetch_add_explicit(&order_errors, 1, memory_order_relaxed);
  }
  *c = after;
  return FLOE_OK;
}

static floe_task_fn volatile omp_body = empty_task;

/* ------------------------------------------------------------- utilities */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static long minor_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* CPU time of the whole machine and of this process, to tell how much of
 * the machine other processes (or the hypervisor, as steal) took while a
 * case ran: the VM is shared and a busy neighbour skews spin-waits badly. */
typedef struct cpu_sample {
  double busy, own, wall; /* busy < 0: /proc/stat unreadable */
} cpu_sample;

static cpu_sample sample_cpu(void) {
  cpu_sample c = {-1.0, cpu_s(), now_s()};
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  FILE *f = fopen("/proc/stat", "r");
  if (f != NULL) {
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait,
               &irq, &softirq, &steal) == 8) {
      c.busy = (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
    }
    fclose(f);
  }
  return c;
}

/* Percent of all CPUs busy outside this process between a and b; < 0 if
 * unknown. */
static double others_pct(cpu_sample a, cpu_sample b) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (a.busy < 0 || b.busy < 0 || ncpu < 1 || b.wall <= a.wall) {
    return -1.0;
  }
  double others = (b.busy - a.busy) - (b.own - a.own);
  return others <= 0 ? 0.0 : 100.0 * others / ((b.wall - a.wall) * (double)ncpu);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The number of tasks a shape has for a budget of n: n, or for the tree the
 * largest perfect binary tree that fits. */
static size_t shape_tasks(shape s, size_t n) {
  if (s != SHAPE_TREE) {
    return n;
  }
  size_t m = 1;
  while (2 * m + 1 <= n) {
    m = 2 * m + 1;
  }
  return m;
}

/* Every counter the shape uses must read `want`, and nothing else moved. */
static bool counters_are(shape s, size_t m, uint32_t want) {
  size_t lo = s == SHAPE_TREE ? 1 : 0, hi = s == SHAPE_TREE ? m + 1 : m;
  uint64_t sum = 0;
  for (size_t i = 0; i < ncounters; i++) {
    uint32_t expect = i >= lo && i < hi ? want : 0;
    if (counters[i] != expect) {
      fprintf(stderr, "bench_tasks: %s: counter %zu is %u after the run, expected %u\n",
              shape_names[s], i, counters[i], expect);
      return false;
    }
    sum += counters[i];
  }
  return sum == (uint64_t)want * m;
}

/* ------------------------------------------------------------------ floe */

/* Builds the shape into g.  Errors are sticky in the graph and come out of
 * floe_taskgraph_run, so building checks nothing. */
static void floe_build(floe_taskgraph *g, shape s, size_t m, floe_task_fn fn) {
  switch (s) {
  case SHAPE_INDEPENDENT:
    for (size_t i = 0; i < m; i++) {
      floe_task_add(g, fn, &counters[i]);
    }
    break;
  case SHAPE_CHAIN: {
    floe_task *prev = floe_task_add(g, fn, &counters[0]);
    for (size_t i = 1; i < m; i++) {
      floe_task *t = floe_task_add(g, fn, &counters[i]);
      floe_task_depends(t, prev);
      prev = t;
    }
    break;
  }
  case SHAPE_TREE:
    /* leaves first, then each level up: every edge points forward */
    for (size_t i = m; i >= 1; i--) {
      floe_task *t = floe_task_add(g, fn, &counters[i]);
      tree_tasks[i] = t;
      if (2 * i < m) {
        floe_task_depends(t, tree_tasks[2 * i]);
        floe_task_depends(t, tree_tasks[2 * i + 1]);
      }
    }
    break;
  default:
    break;
  }
}

typedef struct floe_times {
  double build_run; /* new + build + first run + free, seconds: the headline */
  double run_only;  /* second run of the same graph */
  double build;     /* of build_run: new + adds + edges */
  double free;      /* of build_run: floe_taskgraph_free */
  long faults;      /* minor page faults during build + first run */
} floe_times;

static bool floe_rep(floe_ctx *ctx, shape s, size_t m, floe_task_fn fn, floe_times *out) {
  memset(counters, 0, ncounters * sizeof *counters);
  long f0 = minor_faults();
  double t0 = now_s();
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  if (g == NULL) {
    fprintf(stderr, "bench_tasks: floe_taskgraph_new: %s\n", floe_error_message(ctx));
    return false;
  }
  floe_build(g, s, m, fn);
  double tb = now_s();
  floe_status st = floe_taskgraph_run(g);
  double t1 = now_s();
  long f1 = minor_faults();
  if (st != FLOE_OK) {
    fprintf(stderr, "bench_tasks: floe %s, first run: %s\n", shape_names[s],
            floe_error_message(ctx));
    floe_taskgraph_free(g);
    return false;
  }
  if (floe_taskgraph_size(g) != m || !counters_are(s, m, 1)) {
    fprintf(stderr, "bench_tasks: floe %s, first run: wrong task count or counters\n",
            shape_names[s]);
    floe_taskgraph_free(g);
    return false;
  }
  double t2 = now_s();
  st = floe_taskgraph_run(g);
  double t3 = now_s();
  if (st != FLOE_OK || !counters_are(s, m, 2)) {
    fprintf(stderr, "bench_tasks: floe %s, second run: %s\n", shape_names[s],
            st != FLOE_OK ? floe_error_message(ctx) : "wrong counters");
    floe_taskgraph_free(g);
    return false;
  }
  double t4 = now_s();
  floe_taskgraph_free(g);
  double t5 = now_s();
  out->build_run = (t1 - t0) + (t5 - t4);
  out->run_only = t3 - t2;
  out->build = tb - t0;
  out->free = t5 - t4;
  out->faults = f1 - f0;
  return true;
}

/* ---------------------------------------------------------------- OpenMP */

#ifdef _OPENMP
/* One thread creates every task, in an order that respects the shape's
 * dependencies (OpenMP derives them from the order of creation). */
static void omp_create(shape s, size_t m) {
  uint32_t *c = counters;
  switch (s) {
  case SHAPE_INDEPENDENT:
    for (size_t i = 0; i < m; i++) {
#pragma omp task firstprivate(i)
      omp_body(&c[i]);
    }
    break;
  case SHAPE_CHAIN:
#pragma omp task depend(out : c[0])
    omp_body(&c[0]);
    for (size_t i = 1; i < m; i++) {
#pragma omp task firstprivate(i) depend(in : c[i - 1]) depend(out : c[i])
      omp_body(&c[i]);
    }
    break;
  case SHAPE_TREE:
    for (size_t i = m; i >= 1; i--) {
      if (2 * i < m) {
#pragma omp task firstprivate(i) depend(in : c[2 * i], c[2 * i + 1]) depend(out : c[i])
        omp_body(&c[i]);
      } else {
#pragma omp task firstprivate(i) depend(out : c[i])
        omp_body(&c[i]);
      }
    }
    break;
  default:
    break;
  }
}

static bool omp_rep(shape s, size_t m, int threads, floe_task_fn fn, double *seconds) {
  memset(counters, 0, ncounters * sizeof *counters);
  omp_body = fn;
  /* Wake the team first: after the settling pause its threads sleep, and
     waking them is a fixed cost per region, not per task (on a 2-vCPU VM it
     can reach milliseconds: the woken thread may wait out the master's
     GOMP_SPINCOUNT spin on the same CPU). */
#pragma omp parallel num_threads(threads)
  {}
  double t0 = now_s();
#pragma omp parallel num_threads(threads)
  {
#pragma omp single
    omp_create(s, m);
  }
  double t1 = now_s();
  omp_body = empty_task;
  *seconds = t1 - t0;
  if (!counters_are(s, m, 1)) {
    fprintf(stderr, "bench_tasks: OpenMP %s: wrong counters\n", shape_names[s]);
    return false;
  }
  return true;
}
#endif

/* ------------------------------------------------------------------ cases */

typedef struct result {
  shape s;
  int threads;
  size_t tasks;
  double build_run_ns, run_only_ns, omp_ns; /* medians, per task; omp < 0: none */
  double others_pct;                        /* the machine's load from elsewhere */
} result;

/* The checked run of both runtimes (which also warms them up), one plain
 * warm-up, then `reps` alternating repetitions. */
static bool bench_case(const config *cfg, floe_ctx *ctx, shape s, int threads, result *r) {
  size_t m = shape_tasks(s, cfg->tasks);
  floe_times ft;
#ifdef _OPENMP
  double omp_t = -1.0;
#endif

  cpu_sample c0 = sample_cpu();
  check_shape = s;
  check_tree_size = m;
  atomic_store(&order_errors, 0);
  if (!floe_rep(ctx, s, m, checked_task, &ft)) {
    return false;
  }
#ifdef _OPENMP
  if (!omp_rep(s, m, threads, checked_task, &omp_t)) {
    return false;
  }
#endif
  /* floe's check covered two runs, OpenMP's one */
  if (atomic_load(&order_errors) != 0) {
    fprintf(stderr, "bench_tasks: %s: %lu tasks ran before their predecessors\n", shape_names[s],
            (unsigned long)atomic_load(&order_errors));
    return false;
  }

  double *br = malloc((size_t)cfg->reps * sizeof *br);
  double *ro = malloc((size_t)cfg->reps * sizeof *ro);
  double *om = malloc((size_t)cfg->reps * sizeof *om);
  bool ok = br != NULL && ro != NULL && om != NULL;
  for (int rep = -1; ok && rep < cfg->reps; rep++) {
    /* alternate which runtime goes first; rep -1 is the warm-up */
    for (int k = 0; ok && k < 2; k++) {
      bool floe_turn = (k == 0) == (rep % 2 == 0);
      sleep_s(SETTLE_MS * 1e-3);
      if (floe_turn) {
        ok = floe_rep(ctx, s, m, empty_task, &ft);
        if (ok && rep >= 0) {
          br[rep] = ft.build_run;
          ro[rep] = ft.run_only;
          if (cfg->verbose) {
            double per = 1e9 / (double)m;
            fprintf(stderr,
                    "  %s %dT rep %d floe: build+run %.1f ns (build %.1f, first run %.1f, free "
                    "%.1f), run-only %.1f ns, %.4f page faults/task\n",
                    shape_names[s], threads, rep, ft.build_run * per, ft.build * per,
                    (ft.build_run - ft.build - ft.free) * per, ft.free * per, ft.run_only * per,
                    (double)ft.faults / (double)m);
          }
        }
      } else {
#ifdef _OPENMP
        ok = omp_rep(s, m, threads, empty_task, &omp_t);
        if (ok && rep >= 0) {
          om[rep] = omp_t;
          if (cfg->verbose) {
            fprintf(stderr, "  %s %dT rep %d OpenMP: %.1f ns\n", shape_names[s], threads, rep,
                    omp_t * 1e9 / (double)m);
          }
        }
#endif
      }
    }
  }
  if (ok) {
    double per = 1e9 / (double)m;
    r->s = s;
    r->threads = threads;
    r->tasks = m;
    r->others_pct = others_pct(c0, sample_cpu());
    r->build_run_ns = median(br, cfg->reps) * per;
    r->run_only_ns = median(ro, cfg->reps) * per;
#ifdef _OPENMP
    r->omp_ns = median(om, cfg->reps) * per;
#else
    r->omp_ns = -1.0;
#endif
  }
  free(br);
  free(ro);
  free(om);
  return ok;
}

/* ------------------------------------------------------------------ idle */

static floe_status nothing(void *arg) {
  return FLOE_OK;
}

/* An open context with 2 workers that has run a small graph and is now
 * waiting for work: its CPU time over `seconds`, as % of one core. */
static bool idle_cpu(double seconds) {
  floe_options *opts = floe_options_new();
  floe_ctx *ctx = NULL;
  if (opts == NULL || floe_options_set(opts, FLOE_OPT_THREADS, 2) != FLOE_OK ||
      floe_open(opts, &ctx) != FLOE_OK) {
    fprintf(stderr, "bench_tasks: idle: floe_open: %s\n", floe_error_message(NULL));
    floe_options_free(opts);
    return false;
  }
  floe_options_free(opts);
  floe_taskgraph *g = floe_taskgraph_new(ctx);
  for (int i = 0; i < 1000; i++) {
    floe_task_add(g, nothing, NULL);
  }
  if (floe_taskgraph_run(g) != FLOE_OK) {
    fprintf(stderr, "bench_tasks: idle: run: %s\n", floe_error_message(ctx));
    floe_close(ctx);
    return false;
  }
  floe_taskgraph_free(g);
  sleep_s(0.05); /* let the workers finish spinning and go to sleep */
  double c0 = cpu_s(), w0 = now_s();
  sleep_s(seconds);
  double c1 = cpu_s(), w1 = now_s();
  floe_close(ctx);
  printf("idle: a context with 2 workers used %.3f%% of one core over %.1f s (%.3f ms of CPU)\n",
         100.0 * (c1 - c0) / (w1 - w0), w1 - w0, (c1 - c0) * 1e3);
  return true;
}

/* ------------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f, "usage: bench_tasks [--tasks N] [--reps R] [--threads LIST] [--idle-seconds S]\n"
             "                   [--malloc-default] [--verbose]\n"
             "  --tasks N          tasks per graph (default 1048576; the tree uses the largest\n"
             "                     perfect binary tree of at most N tasks)\n"
             "  --reps R           timed repetitions, the median is reported (default 5)\n"
             "  --threads LIST     comma-separated thread counts (default 1,2)\n"
             "  --idle-seconds S   length of the idle-CPU measurement, 0 to skip (default 2)\n"
             "  --malloc-default   keep glibc's trimming: freed graphs go back to the OS and\n"
             "                     the next build page-faults them in again (order-dependent)\n"
             "  --verbose          every repetition's figures, with floe's breakdown, on stderr\n");
}

static bool parse_size(const char *text, long long lo, long long hi, long long *out) {
  char *end = NULL;
  long long v = strtoll(text, &end, 0);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

static bool parse_threads(const char *text, config *cfg) {
  char buf[256];
  if (strlen(text) >= sizeof buf) {
    return false;
  }
  strcpy(buf, text);
  cfg->nthreads = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    long long v;
    if (cfg->nthreads == MAX_THREAD_COUNTS || !parse_size(tok, 1, 1024, &v)) {
      return false;
    }
    cfg->threads[cfg->nthreads++] = (int)v;
  }
  return cfg->nthreads > 0;
}

static int parse_args(int argc, char **argv, config *cfg) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long long n;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--verbose") == 0) {
      cfg->verbose = true;
      continue;
    } else if (strcmp(a, "--malloc-default") == 0) {
      cfg->malloc_default = true;
      continue;
    } else if (v == NULL) {
      fprintf(stderr, "bench_tasks: %s needs a value\n", a);
      return 2;
    } else if (strcmp(a, "--tasks") == 0 && parse_size(v, 1, (long long)UINT32_MAX - 1, &n)) {
      cfg->tasks = (size_t)n;
    } else if (strcmp(a, "--reps") == 0 && parse_size(v, 1, 1000, &n)) {
      cfg->reps = (int)n;
    } else if (strcmp(a, "--threads") == 0 && parse_threads(v, cfg)) {
    } else if (strcmp(a, "--idle-seconds") == 0) {
      char *end = NULL;
      cfg->idle_seconds = strtod(v, &end);
      if (end == v || *end != '\0' || !(cfg->idle_seconds >= 0 && cfg->idle_seconds <= 3600)) {
        fprintf(stderr, "bench_tasks: bad value for --idle-seconds: '%s'\n", v);
        return 2;
      }
    } else {
      fprintf(stderr, "bench_tasks: unknown option or bad value: %s %s\n", a, v);
      usage(stderr);
      return 2;
    }
    i++;
  }
  return 0;
}

static void print_table(const result *r, int n) {
  printf("\n%-12s %7s %8s %15s %15s %11s %11s %11s %7s\n", "shape", "threads", "tasks",
         "floe build+run", "floe run-only", "OpenMP", "build+run", "run-only", "others");
  printf("%-12s %7s %8s %15s %15s %11s %11s %11s %7s\n", "", "", "", "ns/task", "ns/task",
         "ns/task", "/ OpenMP", "/ OpenMP", "% CPU");
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    char omp[32] = "n/a", q1[32] = "n/a", q2[32] = "n/a", oth[32] = "n/a";
    if (r[i].omp_ns > 0) {
      snprintf(omp, sizeof omp, "%.1f", r[i].omp_ns);
      snprintf(q1, sizeof q1, "%.2f", r[i].build_run_ns / r[i].omp_ns);
      snprintf(q2, sizeof q2, "%.2f", r[i].run_only_ns / r[i].omp_ns);
    }
    if (r[i].others_pct >= 0) {
      snprintf(oth, sizeof oth, "%.0f", r[i].others_pct);
      worst = r[i].others_pct > worst ? r[i].others_pct : worst;
    }
    printf("%-12s %7d %8zu %15.1f %15.1f %11s %11s %11s %7s\n", shape_names[r[i].s], r[i].threads,
           r[i].tasks, r[i].build_run_ns, r[i].run_only_ns, omp, q1, q2, oth);
  }
  printf("\nothers: CPU taken by other processes and the hypervisor while the case ran, in %% of "
         "all CPUs\n");
  if (worst > 10.0) {
    printf("warning: another load took up to %.0f%% of the machine; spin-waits in both "
           "runtimes suffer from it, so re-run on a quiet machine before trusting the figures\n",
           worst);
  }
}

int main(int argc, char **argv) {
  config cfg = {
      .tasks = (size_t)1 << 20, .reps = 5, .threads = {1, 2}, .nthreads = 2, .idle_seconds = 2.0};
  int rc = parse_args(argc, argv, &cfg);
  if (rc != 0) {
    return rc;
  }
  if (strcmp(floe_version_string(), FLOE_VERSION_STRING) != 0) {
    fprintf(stderr, "bench_tasks: header %s but library %s\n", FLOE_VERSION_STRING,
            floe_version_string());
    return 1;
  }
  printf("bench_tasks: floe %s, empty tasks, median of %d repetitions after a checked run and a "
         "warm-up\n",
         floe_version_string(), cfg.reps);
#ifdef _OPENMP
  printf("baseline: OpenMP %d tasks (one creating thread in parallel + single; depend clauses "
         "for chain and tree)\n",
         _OPENMP);
#else
  printf("baseline: none -- OpenMP was not found when this benchmark was configured, so the "
         "OpenMP columns read n/a\n");
#endif

#if defined(__GLIBC__)
  /* By default glibc hands a freed 64 MiB graph back to the OS or not
     depending on what else sits on the heap, so a case's figure would depend
     on the cases before it.  Keep freed memory in the process: every
     repetition then measures the runtime in steady state, not page faults. */
  if (!cfg.malloc_default) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }
#endif
  printf("allocator: %s\n", cfg.malloc_default
                                ? "glibc defaults (freed graphs may go back to the OS)"
                                : "freed memory kept in the process (no trimming; see --help)");

  /* idle first, while no OpenMP thread exists that could still be spinning */
  if (cfg.idle_seconds > 0 && !idle_cpu(cfg.idle_seconds)) {
    return 1;
  }

  ncounters = cfg.tasks + 1; /* the tree numbers its nodes from 1 */
  counters = calloc(ncounters, sizeof *counters);
  tree_tasks = calloc(ncounters, sizeof *tree_tasks);
  result *results = calloc((size_t)cfg.nthreads * SHAPE_COUNT, sizeof *results);
  if (counters == NULL || tree_tasks == NULL || results == NULL) {
    fprintf(stderr, "bench_tasks: out of memory for %zu tasks\n", cfg.tasks);
    return 1;
  }
  int nresults = 0;
  bool ok = true;
  for (int ti = 0; ok && ti < cfg.nthreads; ti++) {
    int threads = cfg.threads[ti];
    floe_options *opts = floe_options_new();
    floe_ctx *ctx = NULL;
    if (opts == NULL || floe_options_set(opts, FLOE_OPT_THREADS, threads) != FLOE_OK ||
        floe_open(opts, &ctx) != FLOE_OK) {
      fprintf(stderr, "bench_tasks: floe_open with %d threads: %s\n", threads,
              floe_error_message(NULL));
      floe_options_free(opts);
      ok = false;
      break;
    }
    floe_options_free(opts);
    for (int s = 0; ok && s < SHAPE_COUNT; s++) {
      ok = bench_case(&cfg, ctx, (shape)s, threads, &results[nresults]);
      if (ok) {
        nresults++;
      }
    }
    floe_close(ctx);
  }
  print_table(results, nresults);
  if (ok) {
    printf("\nverified: every task ran once per run, and after its predecessors in the checked "
           "runs\n");
  }
  free(results);
  free(tree_tasks);
  free(counters);
  return ok ? 0 : 1;
}
