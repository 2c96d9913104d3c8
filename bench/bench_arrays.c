/* floe's array workloads, beside a plain C loop; bench/peers.py runs the same
 * workloads in NumPy, numexpr and dask.array, and bench/run_arrays.sh puts
 * both in one table.
 *
 *   W1        sum(sqrt(x*x + y*y) * 0.5 + sin(x)), x and y float64 buffers
 *             of n elements wrapped with floe_from_buffer
 *   W2-mean0  mean over axis 0 of a rows x cols float64 buffer
 *   W2-std1   std (ddof 0) over axis 1 of the same buffer
 *   W3        the W1 expression over floe_random_uniform x and y (seeds 1
 *             and 2): nothing of n elements is ever held in memory
 *
 * Every (chunk_bytes, threads) configuration runs in a process of its own,
 * forked from a process that holds the workload's inputs, so that its peak
 * RSS (ru_maxrss: the inputs plus what the computation added) is its own and
 * a context's threads never meet a fork.  A configuration times `reps` runs
 * after one warm-up; a run covers building the expression (floe_from_buffer
 * or floe_random_uniform included) and computing it.  Inputs are uniform in
 * [0, 1) from splitmix64, so W1 and W3 divided by n come near 0.84230.
 *
 * Checks, any failure of which makes the exit status 1:
 *   - results bit-identical at every thread count (default 1, 2 and 8) and
 *     on every repetition, for each chunk size;
 *   - W1 and W2 within 1e-9 (relative) of a plain C loop, which is also timed
 *     as a reference ("c loop"), single-threaded, with libm;
 *   - W1 and W3 per element within 0.01 of the expected mean. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <floe.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_LIST = 16, MAX_REPS = 64 };

/* E[sqrt(x^2+y^2)/2 + sin(x)] for x, y uniform on [0, 1). */
static const double W1_MEAN = 0.842302;

typedef struct config {
  int64_t n, w3_n, rows, cols;
  int reps;
  int threads[MAX_LIST], nthreads;             /* timed */
  int check_threads[MAX_LIST], ncheck_threads; /* computed once, compared */
  uint64_t chunk[MAX_LIST];
  int nchunk;
  bool run_w[3];
  bool json;
  bool reference;
} config;

typedef enum op_kind { OP_W1, OP_W2_MEAN0, OP_W2_STD1, OP_W3 } op_kind;

static const char *const op_names[] = {"W1", "W2-mean0", "W2-std1", "W3"};

/* A workload's inputs, filled in the process that forks the configurations. */
typedef struct inputs {
  const double *x, *y, *a;
  int64_t n, rows, cols;
} inputs;

/* ------------------------------------------------------------- utilities */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss * 1024.0 / 1e6; /* ru_maxrss is in KiB on Linux */
}

/* CPU time of the whole machine and of this process, to tell how much of
 * the machine others (other programs, or the hypervisor as steal) took while
 * a configuration ran: the machine is shared and noisy. */
typedef struct cpu_sample {
  double busy, own, wall; /* busy < 0: /proc/stat unreadable */
} cpu_sample;

static double own_cpu_s(void);

static cpu_sample sample_cpu(void) {
  cpu_sample c = {-1.0, own_cpu_s(), now_s()};
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

/* CPU seconds this process has used, all its threads together. */
static double own_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Percent of all CPUs busy outside this process between a and b; < 0 if
 * unknown or the span is too short to tell. */
static double others_pct(cpu_sample a, cpu_sample b) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  /* /proc/stat counts in clock ticks (10 ms): too coarse for short spans */
  if (a.busy < 0 || b.busy < 0 || ncpu < 1 || b.wall - a.wall < 0.2) {
    return -1.0;
  }
  double others =
      100.0 * ((b.busy - a.busy) - (b.own - a.own)) / ((b.wall - a.wall) * (double)ncpu);
  return others < 0 ? 0.0 : others > 100 ? 100.0 : others;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int n) {
  double s[MAX_REPS];
  memcpy(s, v, (size_t)n * sizeof *v);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void chunk_name(uint64_t bytes, char *out, size_t size) {
  if (bytes % (1u << 20) == 0) {
    snprintf(out, size, "%lluMiB", (unsigned long long)(bytes >> 20));
  } else if (bytes % (1u << 10) == 0) {
    snprintf(out, size, "%lluKiB", (unsigned long long)(bytes >> 10));
  } else {
    snprintf(out, size, "%lluB", (unsigned long long)bytes);
  }
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* n doubles uniform in [0, 1), touched so that they count in the RSS. */
static double *uniform_buffer(int64_t n, uint64_t seed) {
  size_t bytes = ((size_t)n * sizeof(double) + 63) & ~(size_t)63;
  double *p = aligned_alloc(64, bytes);
  if (p == NULL) {
    fprintf(stderr, "bench_arrays: cannot allocate %zu bytes\n", bytes);
    exit(1);
  }
  uint64_t s = seed;
  for (int64_t i = 0; i < n; i++) {
    p[i] = (double)(splitmix64(&s) >> 11) * 0x1.0p-53;
  }
  return p;
}

static size_t result_len(op_kind op, const inputs *in) {
  return op == OP_W2_MEAN0 ? (size_t)in->cols : op == OP_W2_STD1 ? (size_t)in->rows : 1;
}

/* Runs fn(arg) in a forked child and returns its exit status (1 if it died). */
static int in_child(int (*fn)(void *), void *arg) {
  fflush(NULL); /* nothing buffered may be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_arrays: fork");
    return 1;
  }
  if (pid == 0) {
    int rc = fn(arg);
    fflush(NULL);
    _exit(rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "bench_arrays: child killed by signal %d\n", WTERMSIG(status));
    return 1;
  }
  return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------- output */

typedef struct result_line {
  op_kind op;
  const char *impl;
  char variant[64];
  int threads;
  uint64_t chunk_bytes; /* 0: none */
  const inputs *in;
  const double *runs;
  const double *cpu; /* CPU seconds per run, all threads; NULL: unknown */
  int nruns;
  double input_rss_mb, peak_rss_mb;
  double others_pct; /* < 0: unknown */
  const double *result;
} result_line;

static void emit(const config *cfg, const result_line *l) {
  size_t len = result_len(l->op, l->in);
  double sum = 0.0;
  for (size_t i = 0; i < len; i++) {
    sum += l->result[i];
  }
  int64_t n = l->op == OP_W1 || l->op == OP_W3 ? l->in->n : 0;
  if (cfg->json) {
    printf("{\"workload\": \"%s\", \"impl\": \"%s\", \"variant\": \"%s\", \"threads\": %d, ",
           op_names[l->op], l->impl, l->variant, l->threads);
    if (l->chunk_bytes) {
      printf("\"chunk_bytes\": %llu, ", (unsigned long long)l->chunk_bytes);
    }
    if (n) {
      printf("\"n\": %lld, ", (long long)n);
    } else {
      printf("\"rows\": %lld, \"cols\": %lld, ", (long long)l->in->rows, (long long)l->in->cols);
    }
    printf("\"seconds\": %.6f, \"runs\": [", median(l->runs, l->nruns));
    for (int i = 0; i < l->nruns; i++) {
      printf("%s%.6f", i ? ", " : "", l->runs[i]);
    }
    printf("], ");
    if (l->cpu != NULL) {
      printf("\"cpu_seconds\": %.6f, ", median(l->cpu, l->nruns));
    }
    printf("\"input_rss_mb\": %.1f, \"peak_rss_mb\": %.1f, ", l->input_rss_mb, l->peak_rss_mb);
    if (l->others_pct >= 0) {
      printf("\"others_cpu_pct\": %.1f, ", l->others_pct);
    }
    if (len == 1) {
      printf("\"result\": %.17g, \"result_per_element\": %.17g}\n", sum, sum / (double)n);
    } else {
      printf("\"result_sum\": %.17g, \"result_first\": %.17g}\n", sum, l->result[0]);
    }
  } else {
    printf("%-9s %-16s %-12s %9.4f s  peak %6.0f MB (inputs %6.0f)  ", op_names[l->op], l->impl,
           l->variant, median(l->runs, l->nruns), l->peak_rss_mb, l->input_rss_mb);
    if (l->others_pct >= 0) {
      printf("others %3.0f%%  ", l->others_pct);
    }
    if (len == 1) {
      printf("result %.10g (%.6f per element)\n", sum, sum / (double)n);
    } else {
      printf("result sum %.10g, [0] %.10g\n", sum, l->result[0]);
    }
  }
  fflush(stdout);
}

static void emit_check(const config *cfg, op_kind op, const char *check, const char *detail,
                       bool ok) {
  if (cfg->json) {
    printf("{\"check\": \"%s\", \"workload\": \"%s\", \"detail\": \"%s\", \"ok\": %s}\n", check,
           op_names[op], detail, ok ? "true" : "false");
  } else {
    printf("check %-9s %-13s %s: %s\n", op_names[op], check, detail, ok ? "ok" : "FAILED");
  }
  fflush(stdout);
}

/* ------------------------------------------------------------ expressions */

static floe_array *w1_expr(floe_array *x, floe_array *y) {
  floe_array *half = floe_scalar(floe_array_ctx(x), 0.5);
  floe_array *r = floe_sqrt(floe_add(floe_multiply(x, x), floe_multiply(y, y)));
  return floe_sum(floe_add(floe_multiply(r, half), floe_sin(x)), FLOE_ALL);
}

/* The whole timed expression, inputs included; handles die with the scope. */
static floe_array *build(floe_ctx *ctx, op_kind op, const inputs *in) {
  switch (op) {
  case OP_W1:
    return w1_expr(floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(in->n), FLOE_AUTO, in->x),
                   floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(in->n), FLOE_AUTO, in->y));
  case OP_W3:
    return w1_expr(floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(in->n), FLOE_AUTO, 1, 0, 1),
                   floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(in->n), FLOE_AUTO, 2, 0, 1));
  case OP_W2_MEAN0:
  case OP_W2_STD1: {
    floe_array *a =
        floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(in->rows, in->cols), FLOE_AUTO, in->a);
    return op == OP_W2_MEAN0 ? floe_mean(a, FLOE_AXES(0))
                             : floe_reduce_ddof(FLOE_STD, a, FLOE_AXES(1), 0);
  }
  }
  return NULL;
}

/* The same in plain single-threaded C with libm; block sums keep its own
 * rounding error far below the tolerance of the comparison. */
static void reference(op_kind op, const inputs *in, double *out) {
  if (op == OP_W1) {
    double total = 0.0;
    for (int64_t b = 0; b < in->n; b += 4096) {
      int64_t e = b + 4096 < in->n ? b + 4096 : in->n;
      double s = 0.0;
      for (int64_t i = b; i < e; i++) {
        double x = in->x[i], y = in->y[i];
        s += sqrt(x * x + y * y) * 0.5 + sin(x);
      }
      total += s;
    }
    out[0] = total;
  } else if (op == OP_W2_MEAN0) {
    memset(out, 0, (size_t)in->cols * sizeof *out);
    for (int64_t r = 0; r < in->rows; r++) {
      const double *row = in->a + r * in->cols;
      for (int64_t c = 0; c < in->cols; c++) {
        out[c] += row[c];
      }
    }
    for (int64_t c = 0; c < in->cols; c++) {
      out[c] /= (double)in->rows;
    }
  } else if (op == OP_W2_STD1) {
    for (int64_t r = 0; r < in->rows; r++) {
      const double *row = in->a + r * in->cols;
      double s = 0.0, ss = 0.0;
      for (int64_t c = 0; c < in->cols; c++) {
        s += row[c];
      }
      double mean = s / (double)in->cols;
      for (int64_t c = 0; c < in->cols; c++) {
        ss += (row[c] - mean) * (row[c] - mean);
      }
      out[r] = sqrt(ss / (double)in->cols);
    }
  }
}

/* ------------------------------------------------------------ one config */

typedef struct job {
  const config *cfg;
  op_kind op;
  const inputs *in;
  int threads;
  uint64_t chunk;
  bool timed;
  double input_rss_mb;
  double *slot; /* result_len doubles in memory shared with the parent */
} job;

/* In its own process: opens a context, computes (warm-up and reps when
 * timed, else once), leaves the result in the shared slot, prints the line. */
static int run_job(void *arg) {
  const job *j = arg;
  size_t len = result_len(j->op, j->in);
  double *scratch = malloc(len * sizeof *scratch);
  floe_options *opts = floe_options_new();
  floe_ctx *ctx = NULL;
  if (scratch == NULL || opts == NULL ||
      floe_options_set_int(opts, FLOE_OPT_THREADS, j->threads) != FLOE_OK ||
      floe_options_set_int(opts, FLOE_OPT_CHUNK_BYTES, (int64_t)j->chunk) != FLOE_OK ||
      floe_open(opts, &ctx) != FLOE_OK) {
    fprintf(stderr, "bench_arrays: %s: cannot open a context: %s\n", op_names[j->op],
            floe_error_message(NULL));
    return 1;
  }
  floe_options_free(opts);
  int total = j->timed ? j->cfg->reps + 1 : 1;
  double runs[MAX_REPS + 1], cpu[MAX_REPS + 1];
  bool same = true;
  cpu_sample before = {0};
  for (int r = 0; r < total; r++) {
    if (r == 1) {
      before = sample_cpu(); /* the warm-up is not measured */
    }
    double *out = r == 0 ? j->slot : scratch;
    floe_scope_begin(ctx);
    double t0 = now_s(), c0 = own_cpu_s();
    floe_array *e = build(ctx, j->op, j->in);
    floe_status s =
        len == 1 ? floe_compute_scalar(e, out) : floe_compute(e, out, len * sizeof *out);
    runs[r] = now_s() - t0;
    cpu[r] = own_cpu_s() - c0;
    if (s != FLOE_OK) {
      fprintf(stderr, "bench_arrays: %s at %d threads: %s: %s\n", op_names[j->op], j->threads,
              floe_status_name(s), floe_error_message(ctx));
      return 1;
    }
    floe_scope_end(ctx);
    if (r > 0 && memcmp(out, j->slot, len * sizeof *out) != 0) {
      same = false;
    }
  }
  double others = total > 1 ? others_pct(before, sample_cpu()) : -1.0;
  floe_close(ctx);
  free(scratch);
  if (!same) {
    fprintf(stderr, "bench_arrays: %s at %d threads: repetitions gave different results\n",
            op_names[j->op], j->threads);
    return 1;
  }
  if (j->timed) {
    char impl[32], name[32];
    snprintf(impl, sizeof impl, j->threads == 1 ? "floe %d thread" : "floe %d threads", j->threads);
    result_line l = {.op = j->op,
                     .impl = impl,
                     .threads = j->threads,
                     .chunk_bytes = j->chunk,
                     .in = j->in,
                     .runs = runs + 1,
                     .cpu = cpu + 1,
                     .nruns = j->cfg->reps,
                     .input_rss_mb = j->input_rss_mb,
                     .peak_rss_mb = peak_rss_mb(),
                     .others_pct = others,
                     .result = j->slot};
    chunk_name(j->chunk, name, sizeof name);
    snprintf(l.variant, sizeof l.variant, "chunk=%s", name);
    emit(j->cfg, &l);
  }
  return 0;
}

/* ----------------------------------------------------------- a workload */

/* Every configuration of one op over inputs this process holds; then the
 * checks.  Returns the number of failures. */
static int run_op(const config *cfg, op_kind op, const inputs *in, double input_rss_mb) {
  int failures = 0;
  size_t len = result_len(op, in);
  int counts[2 * MAX_LIST], ncounts = 0;
  for (int i = 0; i < cfg->nthreads + cfg->ncheck_threads; i++) {
    int t = i < cfg->nthreads ? cfg->threads[i] : cfg->check_threads[i - cfg->nthreads];
    bool seen = false;
    for (int k = 0; k < ncounts; k++) {
      seen = seen || counts[k] == t;
    }
    if (!seen) {
      counts[ncounts++] = t;
    }
  }
  size_t slots_bytes = (size_t)cfg->nchunk * (size_t)ncounts * len * sizeof(double);
  double *slots =
      mmap(NULL, slots_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) {
    perror("bench_arrays: mmap");
    return 1;
  }
  double *ref = NULL;
  if (cfg->reference && op != OP_W3) {
    ref = malloc(len * sizeof *ref);
    if (ref == NULL) {
      fprintf(stderr, "bench_arrays: out of memory\n");
      munmap(slots, slots_bytes);
      return 1;
    }
    double runs[MAX_REPS + 1], cpu[MAX_REPS + 1];
    cpu_sample before = {0};
    for (int r = 0; r <= cfg->reps; r++) {
      if (r == 1) {
        before = sample_cpu();
      }
      double t0 = now_s(), c0 = own_cpu_s();
      reference(op, in, ref);
      runs[r] = now_s() - t0;
      cpu[r] = own_cpu_s() - c0;
    }
    double others = others_pct(before, sample_cpu());
    result_line l = {.op = op,
                     .impl = "c loop",
                     .variant = "libm",
                     .threads = 1,
                     .in = in,
                     .runs = runs + 1,
                     .cpu = cpu + 1,
                     .nruns = cfg->reps,
                     .input_rss_mb = input_rss_mb,
                     .peak_rss_mb = peak_rss_mb(),
                     .others_pct = others,
                     .result = ref};
    emit(cfg, &l);
  }
  for (int c = 0; c < cfg->nchunk; c++) {
    for (int k = 0; k < ncounts; k++) {
      bool timed = false;
      for (int i = 0; i < cfg->nthreads; i++) {
        timed = timed || cfg->threads[i] == counts[k];
      }
      job j = {cfg,
               op,
               in,
               counts[k],
               cfg->chunk[c],
               timed,
               input_rss_mb,
               slots + ((size_t)c * (size_t)ncounts + (size_t)k) * len};
      if (in_child(run_job, &j) != 0) {
        char name[32];
        chunk_name(cfg->chunk[c], name, sizeof name);
        fprintf(stderr, "bench_arrays: %s chunk=%s threads=%d failed\n", op_names[op], name,
                counts[k]);
        return failures + 1;
      }
    }
  }
  for (int c = 0; c < cfg->nchunk; c++) {
    char name[32], detail[160];
    chunk_name(cfg->chunk[c], name, sizeof name);
    const double *first = slots + (size_t)c * (size_t)ncounts * len;
    bool ok = true;
    int n = snprintf(detail, sizeof detail, "chunk=%s threads=", name);
    for (int k = 0; k < ncounts; k++) {
      n += snprintf(detail + n, sizeof detail - (size_t)n, "%s%d", k ? "," : "", counts[k]);
    }
    for (int k = 1; k < ncounts && ok; k++) {
      const double *other = first + (size_t)k * len;
      for (size_t i = 0; i < len && ok; i++) {
        if (memcmp(&first[i], &other[i], sizeof *first) != 0) {
          ok = false;
          snprintf(detail + n, sizeof detail - (size_t)n,
                   " (differ: [%zu] %.17g at %d, %.17g at %d)", i, first[i], counts[0], other[i],
                   counts[k]);
        }
      }
    }
    emit_check(cfg, op, "bit-identical", detail, ok);
    failures += !ok;
    if (ref != NULL) {
      double worst = 0.0;
      for (size_t i = 0; i < len; i++) {
        double err = fabs(first[i] - ref[i]) / fmax(fabs(ref[i]), 1e-300);
        worst = isnan(err) || err > worst ? (isnan(err) ? INFINITY : err) : worst;
      }
      snprintf(detail, sizeof detail, "chunk=%s max relative error %.3g", name, worst);
      emit_check(cfg, op, "vs c loop", detail, worst <= 1e-9);
      failures += !(worst <= 1e-9);
    }
    if ((op == OP_W1 || op == OP_W3) && in->n >= 10000) {
      double per = first[0] / (double)in->n;
      snprintf(detail, sizeof detail, "chunk=%s %.6f per element, expected %.6f", name, per,
               W1_MEAN);
      emit_check(cfg, op, "plausible", detail, fabs(per - W1_MEAN) < 0.01);
      failures += !(fabs(per - W1_MEAN) < 0.01);
    }
  }
  free(ref);
  munmap(slots, slots_bytes);
  return failures;
}

typedef struct workload {
  const config *cfg;
  int which; /* 0: W1, 1: W2, 2: W3 */
} workload;

/* In its own process: makes the inputs, then runs the workload's ops. */
static int run_workload(void *arg) {
  const workload *w = arg;
  const config *cfg = w->cfg;
  inputs in = {0};
  int failures = 0;
  if (w->which == 0) {
    in.n = cfg->n;
    in.x = uniform_buffer(in.n, 1);
    in.y = uniform_buffer(in.n, 2);
    failures += run_op(cfg, OP_W1, &in, peak_rss_mb());
  } else if (w->which == 1) {
    in.rows = cfg->rows;
    in.cols = cfg->cols;
    in.a = uniform_buffer(in.rows * in.cols, 3);
    double rss = peak_rss_mb();
    failures += run_op(cfg, OP_W2_MEAN0, &in, rss);
    failures += run_op(cfg, OP_W2_STD1, &in, rss);
  } else {
    in.n = cfg->w3_n;
    failures += run_op(cfg, OP_W3, &in, peak_rss_mb());
  }
  return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f) {
  fprintf(f, "usage: bench_arrays [options]\n"
             "  --quick               n and w3-n 2e7, rows 5000 (explicit sizes win)\n"
             "  --n N                 W1 elements per input (default 2e8)\n"
             "  --w3-n N              W3 elements per input (default: W1's)\n"
             "  --rows R --cols C     W2 shape (default 20000 x 10000)\n"
             "  --workloads LIST      of W1,W2,W3 (default all)\n"
             "  --threads LIST        timed thread counts (default 1,2)\n"
             "  --check-threads LIST  also computed once and compared (default 8)\n"
             "  --chunk-bytes LIST    chunk_bytes values, e.g. 8MiB,32MiB (default "
             "2MiB,8MiB,32MiB,64MiB)\n"
             "  --reps K              timed runs after one warm-up (default 3)\n"
             "  --no-reference        skip the plain C loop (its timing and the check against it)\n"
             "  --json                one JSON object per line, as bench/peers.py prints\n");
}

static bool parse_count(const char *s, int64_t *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= 1) || v > 9e15 || v != floor(v)) {
    return false;
  }
  *out = (int64_t)v;
  return true;
}

static bool parse_ints(const char *s, int *out, int *n) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *n = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int64_t v;
    if (*n == MAX_LIST || !parse_count(t, &v) || v > 1024) {
      return false;
    }
    out[(*n)++] = (int)v;
  }
  return *n > 0;
}

static bool parse_sizes(const char *s, uint64_t *out, int *n) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *n = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (*n == MAX_LIST || floe_parse_size(t, 0, &out[*n]) != FLOE_OK || out[*n] == 0) {
      return false;
    }
    (*n)++;
  }
  return *n > 0;
}

int main(int argc, char **argv) {
  config cfg = {.reps = 3,
                .threads = {1, 2},
                .nthreads = 2,
                .check_threads = {8},
                .ncheck_threads = 1,
                .run_w = {true, true, true},
                .reference = true};
  int64_t n = 0, w3_n = 0, rows = 0, cols = 0;
  bool quick = false;
  parse_sizes("2MiB,8MiB,32MiB,64MiB", cfg.chunk, &cfg.nchunk);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true, takes = true;
    if (!strcmp(a, "--n")) {
      ok = v && parse_count(v, &n);
    } else if (!strcmp(a, "--w3-n")) {
      ok = v && parse_count(v, &w3_n);
    } else if (!strcmp(a, "--rows")) {
      ok = v && parse_count(v, &rows);
    } else if (!strcmp(a, "--cols")) {
      ok = v && parse_count(v, &cols);
    } else if (!strcmp(a, "--reps")) {
      int64_t r = 0;
      ok = v && parse_count(v, &r) && r <= MAX_REPS;
      cfg.reps = (int)r;
    } else if (!strcmp(a, "--threads")) {
      ok = v && parse_ints(v, cfg.threads, &cfg.nthreads);
    } else if (!strcmp(a, "--check-threads")) {
      ok = v && parse_ints(v, cfg.check_threads, &cfg.ncheck_threads);
    } else if (!strcmp(a, "--chunk-bytes")) {
      ok = v && parse_sizes(v, cfg.chunk, &cfg.nchunk);
    } else if (!strcmp(a, "--workloads")) {
      ok = v != NULL;
      for (int w = 0; ok && w < 3; w++) {
        char name[4] = {'W', (char)('1' + w), 0};
        cfg.run_w[w] = strstr(v, name) != NULL;
      }
    } else {
      takes = false;
      if (!strcmp(a, "--quick")) {
        quick = true;
      } else if (!strcmp(a, "--json")) {
        cfg.json = true;
      } else if (!strcmp(a, "--no-reference")) {
        cfg.reference = false;
      } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        usage(stdout);
        return 0;
      } else {
        ok = false;
      }
    }
    if (!ok) {
      fprintf(stderr, "bench_arrays: bad or incomplete option '%s'%s%s\n", a, v ? " " : "",
              v && takes ? v : "");
      usage(stderr);
      return 2;
    }
    i += takes;
  }
  cfg.n = n ? n : quick ? 20000000 : 200000000;
  cfg.w3_n = w3_n ? w3_n : cfg.n;
  cfg.rows = rows ? rows : quick ? 5000 : 20000;
  cfg.cols = cols ? cols : 10000;

  if (strcmp(floe_version_string(), FLOE_VERSION_STRING) != 0) {
    fprintf(stderr, "bench_arrays: header %s, library %s\n", FLOE_VERSION_STRING,
            floe_version_string());
    return 1;
  }
  if (!cfg.json) {
    printf("floe %s; W1 n=%lld, W2 %lldx%lld, W3 n=%lld; median of %d after a warm-up\n",
           floe_version_string(), (long long)cfg.n, (long long)cfg.rows, (long long)cfg.cols,
           (long long)cfg.w3_n, cfg.reps);
  }
  int failed = 0;
  for (int w = 0; w < 3; w++) {
    if (cfg.run_w[w]) {
      workload wl = {&cfg, w};
      failed += in_child(run_workload, &wl) != 0;
    }
  }
  if (failed) {
    fprintf(stderr, "bench_arrays: %d workload(s) failed\n", failed);
  }
  return failed ? 1 : 0;
}
