/* Structure workloads (Step 5):
 *
 *   W3-matmul  C = A @ B for n x n float64 (n = 4096), A and B caller
 *              buffers filled with a fixed pattern, C into a caller buffer;
 *              seconds of floe_compute (median of --reps after a warm-up).
 *   W8         a 2 GiB float64 array of N x N random numbers (N = 16384) in
 *              (1, N) row chunks rechunked to (N, 1) column chunks and written
 *              to an HDF5 dataset with those chunks, under a memory limit of
 *              256 MiB; the file is then checked against the same numbers
 *              (floe_all(y == x)) and the peak RSS of the process reported.
 *   W9         the median along axis 0 of a rows x cols float64 caller buffer
 *              (20000 x 10000, FLOE_AUTO chunks) holding a fixed pattern,
 *              into a caller buffer of cols doubles; seconds of floe_compute
 *              (median of --reps after a warm-up).
 *
 *   bench_structure --workload W3-matmul [--n 4096] [--threads 2] [--reps 3]
 *   bench_structure --workload W8 [--n 16384] [--memory-limit 256MiB] [--dir DIR]
 *   bench_structure --workload W9 [--rows 20000] [--cols 10000] [--threads 2] [--reps 3]
 *
 * Prints one line per measure: "W3-matmul floe seconds S checksum C",
 * "W8 floe seconds S peak_rss_mb R ok 1 spilled B reloaded B" or
 * "W9 floe seconds S checksum C".  The checksums (the sum of C's elements,
 * the sum of the cols medians in index order) are what bench/structure.py
 * compares with NumPy's: W3's within rounding, W9's bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include <floe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss * 1024.0 / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int fail(floe_ctx *ctx, const char *what) {
  fprintf(stderr, "bench_structure: %s: %s\n", what, floe_error_message(ctx));
  return 1;
}

static int w3(int64_t n, int threads, int reps) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_THREADS, (int64_t)threads);
  floe_ctx *ctx;
  if (floe_open(o, &ctx) != FLOE_OK) {
    return fail(NULL, "floe_open");
  }
  floe_options_free(o);
  size_t bytes = (size_t)(n * n) * sizeof(double);
  double *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
  if (a == NULL || b == NULL || c == NULL) {
    return fail(ctx, "out of memory");
  }
  /* the pattern bench/structure.py makes too */
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < n; j++) {
      a[i * n + j] = (double)((i * 7 + j * 3) % 17) / 17.0 - 0.5;
      b[i * n + j] = (double)((i * 5 + j * 11) % 13) / 13.0 - 0.5;
    }
  }
  floe_array *A = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(n, n), FLOE_AUTO, a);
  floe_array *B = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(n, n), FLOE_AUTO, b);
  floe_array *C = floe_matmul(A, B);
  double *t = calloc((size_t)reps + 1, sizeof *t);
  for (int r = 0; r <= reps; r++) {
    double t0 = now();
    if (floe_compute(C, c, bytes) != FLOE_OK) {
      return fail(ctx, "floe_compute");
    }
    t[r] = now() - t0;
  }
  qsort(t + 1, (size_t)reps, sizeof *t, cmp_double);
  double sum = 0;
  for (int64_t i = 0; i < n * n; i++) {
    sum += c[i];
  }
  printf("W3-matmul floe seconds %.4f checksum %.17g threads %d peak_rss_mb %.0f\n",
         t[1 + reps / 2], sum, threads, peak_rss_mb());
  free(t);
  free(a);
  free(b);
  free(c);
  floe_close(ctx);
  return 0;
}

static int w8(int64_t n, const char *limit, const char *dir, int threads) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_THREADS, (int64_t)threads);
  if (floe_options_parse(o, "memory_limit", limit) != FLOE_OK ||
      floe_options_parse(o, "spill_dir", dir) != FLOE_OK) {
    return fail(NULL, "options");
  }
  floe_ctx *ctx;
  if (floe_open(o, &ctx) != FLOE_OK) {
    return fail(NULL, "floe_open");
  }
  floe_options_free(o);
  char path[4096];
  snprintf(path, sizeof path, "%s/w8-%ld.h5", dir, (long)getpid());
  floe_array *x = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n, n), FLOE_SHAPE(1, n), 8,
                                      0.0, 1.0);
  floe_array *y = floe_rechunk(x, FLOE_SHAPE(n, 1));
  floe_job *job = floe_job_new(ctx);
  floe_job_add_hdf5(job, y, path, "y", NULL);
  double t0 = now();
  if (floe_job_run(job) != FLOE_OK) {
    return fail(ctx, "floe_job_run");
  }
  double secs = now() - t0;
  floe_stats st;
  floe_job_stats(job, &st);
  double rss = peak_rss_mb();
  floe_job_free(job);
  floe_close(ctx);
  /* the file holds x: every element equal (checked without the limit) */
  if (floe_open(NULL, &ctx) != FLOE_OK) {
    return fail(NULL, "floe_open");
  }
  floe_array *back = floe_from_hdf5(ctx, path, "y", FLOE_AUTO);
  floe_array *xs = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n, n), FLOE_AUTO, 8, 0.0, 1.0);
  double ok = 0;
  floe_array *eq = floe_all(floe_equal(back, xs), FLOE_ALL);
  if (floe_compute_scalar(eq, &ok) != FLOE_OK) {
    return fail(ctx, "checking the output");
  }
  printf("W8 floe seconds %.3f peak_rss_mb %.0f ok %d limit %s spilled %llu reloaded %llu "
         "peak_memory %llu tasks %llu\n",
         secs, rss, ok == 1.0, limit, (unsigned long long)st.bytes_spilled,
         (unsigned long long)st.bytes_reloaded, (unsigned long long)st.peak_memory,
         (unsigned long long)st.tasks);
  unlink(path);
  floe_close(ctx);
  return ok == 1.0 ? 0 : 1;
}

static int w9(int64_t rows, int64_t cols, int threads, int reps) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_THREADS, (int64_t)threads);
  floe_ctx *ctx;
  if (floe_open(o, &ctx) != FLOE_OK) {
    return fail(NULL, "floe_open");
  }
  floe_options_free(o);
  double *x = malloc((size_t)(rows * cols) * sizeof(double));
  double *m = malloc((size_t)cols * sizeof(double));
  if (x == NULL || m == NULL) {
    return fail(ctx, "out of memory");
  }
  /* the pattern bench/structure.py makes too; the products fit in int64 */
  for (int64_t i = 0; i < rows; i++) {
    for (int64_t j = 0; j < cols; j++) {
      x[i * cols + j] = (double)((i * 7919 + j * 104729) % 1000003) / 1000003.0;
    }
  }
  floe_array *X = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(rows, cols), FLOE_AUTO, x);
  floe_array *M = floe_median(X, 0);
  double *t = calloc((size_t)reps + 1, sizeof *t);
  for (int r = 0; r <= reps; r++) {
    double t0 = now();
    if (floe_compute(M, m, (size_t)cols * sizeof(double)) != FLOE_OK) {
      return fail(ctx, "floe_compute");
    }
    t[r] = now() - t0;
  }
  qsort(t + 1, (size_t)reps, sizeof *t, cmp_double);
  /* in index order, as structure.py sums NumPy's medians, so equal medians give
   * equal bits */
  double sum = 0;
  for (int64_t j = 0; j < cols; j++) {
    sum += m[j];
  }
  printf("W9 floe seconds %.4f checksum %.17g threads %d peak_rss_mb %.0f\n", t[1 + reps / 2],
         sum, threads, peak_rss_mb());
  free(t);
  free(x);
  free(m);
  floe_close(ctx);
  return 0;
}

int main(int argc, char **argv) {
  const char *workload = "W3-matmul", *limit = "256MiB", *dir = "/tmp";
  int64_t n = 0, rows = 20000, cols = 10000;
  int threads = 2, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--workload") == 0) {
      workload = argv[i + 1];
    } else if (strcmp(argv[i], "--n") == 0) {
      n = atoll(argv[i + 1]);
    } else if (strcmp(argv[i], "--rows") == 0) {
      rows = atoll(argv[i + 1]);
    } else if (strcmp(argv[i], "--cols") == 0) {
      cols = atoll(argv[i + 1]);
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--reps") == 0) {
      reps = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--memory-limit") == 0) {
      limit = argv[i + 1];
    } else if (strcmp(argv[i], "--dir") == 0) {
      dir = argv[i + 1];
    } else {
      fprintf(stderr, "bench_structure: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  if (strcmp(workload, "W3-matmul") == 0) {
    return w3(n > 0 ? n : 4096, threads, reps);
  }
  if (strcmp(workload, "W8") == 0) {
    return w8(n > 0 ? n : 16384, limit, dir, threads);
  }
  if (strcmp(workload, "W9") == 0) {
    return w9(rows, cols, threads, reps);
  }
  fprintf(stderr, "bench_structure: unknown workload '%s'\n", workload);
  return 2;
}
