/* The memory-bandwidth floor the W2 reductions are measured against: a
 * 2-thread vectorised sum of a 20000 x 10000 float64 array (1.6 GB), best
 * of 7 runs.  Built with -ffast-math so that the compiler keeps several
 * independent partial sums (the order of a floating sum does not matter
 * for a floor).  Run it beside bench/run_arrays.sh: OMP_NUM_THREADS=2
 * build/bench/bandwidth_floor */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void) {
  const size_t n = 200000000;
  double *a = aligned_alloc(64, n * sizeof *a);
  if (a == NULL) {
    fprintf(stderr, "bandwidth_floor: out of memory\n");
    return 1;
  }
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) {
    a[i] = (double)i * 1e-9;
  }
  double best = 1e300, check = 0;
  for (int r = 0; r < 7; r++) {
    double t0 = now(), total = 0;
#pragma omp parallel for reduction(+ : total)
    for (size_t i = 0; i < n; i++) {
      total += a[i];
    }
    double t = now() - t0;
    best = t < best ? t : best;
    check += total;
  }
  printf("%d-thread sum of %.1f GB: best %.4f s, %.1f GB/s (checksum %g)\n",
         omp_get_max_threads(), (double)(n * sizeof *a) / 1e9, best,
         (double)(n * sizeof *a) / best / 1e9, check);
  free(a);
  return 0;
}
