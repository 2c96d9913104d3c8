/* Arrays from C: a lazy expression over 50 million random numbers, fused
 * into one pass per chunk, then column statistics of a matrix.  Nothing is
 * computed until floe_compute_scalar / floe_compute.  Build and run with
 * `make demo`. */
#include <floe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(floe_ctx *ctx, const char *what) {
  fprintf(stderr, "%s: %s\n", what, floe_error_message(ctx));
  floe_close(ctx);
  return 1;
}

int main(void) {
  floe_ctx *ctx;
  if (floe_open(NULL, &ctx) != FLOE_OK) {
    fprintf(stderr, "floe_open: %s\n", floe_error_message(NULL));
    return 1;
  }
  const int64_t n = 50000000;

  /* sum(sqrt(x*x + y*y) * 0.5 + sin(x)) over random x, y: no input memory */
  floe_array *x = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n), FLOE_AUTO, 1, 0.0, 1.0);
  floe_array *y = floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(n), FLOE_AUTO, 2, 0.0, 1.0);
  floe_array *r = floe_sqrt(floe_add(floe_multiply(x, x), floe_multiply(y, y)));
  floe_array *total =
      floe_sum(floe_add(floe_multiply(r, floe_scalar(ctx, 0.5)), floe_sin(x)), FLOE_ALL);

  floe_plan_info plan;
  if (floe_plan(total, &plan) != FLOE_OK) {
    return fail(ctx, "floe_plan");
  }
  printf("plan: %llu tasks, %llu fused program(s), predicted peak %.1f MiB\n",
         (unsigned long long)plan.tasks, (unsigned long long)plan.fused_programs,
         (double)plan.peak_memory / 1048576.0);
  double value, t0 = seconds();
  if (floe_compute_scalar(total, &value) != FLOE_OK) {
    return fail(ctx, "floe_compute_scalar");
  }
  printf("sum over %lld random pairs = %.6f in %.3f s\n", (long long)n, value, seconds() - t0);

  /* column means and the anomalies' spread of a 4000 x 2500 matrix */
  floe_array *m = floe_random_normal(ctx, FLOE_FLOAT32, FLOE_SHAPE(4000, 2500),
                                     FLOE_SHAPE(500, 2500), 7, 10.0, 2.0);
  floe_array *colmean = floe_mean(m, FLOE_KEEPDIMS(FLOE_AXES(0)));
  floe_array *anomaly = floe_subtract(m, colmean);
  floe_array *spread = floe_std(anomaly, FLOE_ALL);
  float sd;
  float means[2500];
  floe_job *job = floe_job_new(ctx);
  floe_job_add_buffer(job, colmean, means, sizeof means);
  floe_job_add_buffer(job, spread, &sd, sizeof sd);
  t0 = seconds();
  if (floe_job_run(job) != FLOE_OK) {
    return fail(ctx, "floe_job_run");
  }
  printf("column means %.4f %.4f ... %.4f, std of anomalies %.4f (expected ~2) in %.3f s\n",
         means[0], means[1], means[2499], sd, seconds() - t0);
  floe_job_free(job);

  /* a mistake surfaces as a status and a message, never a crash */
  floe_array *bad = floe_add(m, floe_ones(ctx, FLOE_FLOAT32, FLOE_SHAPE(3), FLOE_AUTO));
  printf("a shape mistake: %s: %s\n", floe_status_name(floe_array_status(bad)),
         floe_array_message(bad));

  floe_close(ctx); /* releases every array */
  return 0;
}
