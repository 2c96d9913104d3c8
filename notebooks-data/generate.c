/* floe-sample: writes the sample climate cube of sample.h.
 *
 *   floe-sample [--size SIZE] [--overwrite] [--threads N] [--memory-limit SIZE] OUT.h5
 *
 * SIZE is the size of the two cubes ("90MB" is the default, "8GB" makes one
 * larger than most memory limits).  Exit status 0, 1 on failure, 2 on a
 * usage error. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"

static const char usage[] =
    "usage: floe-sample [--size SIZE] [--overwrite] [--threads N] [--memory-limit SIZE] OUT.h5\n";

static int show_progress(void *user, uint64_t done, uint64_t total) {
  (void)user;
  fprintf(stderr, "\r  writing %3d%%",
          total > 0 ? (int)(100.0 * (double)done / (double)total) : 100);
  fflush(stderr);
  return 0;
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  const char *out = NULL;
  uint64_t bytes = 0;
  int overwrite = 0;
  floe_options *opts = floe_options_new();
  if (opts == NULL) {
    fputs("floe-sample: out of memory\n", stderr);
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--overwrite") == 0) {
      overwrite = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      floe_options_free(opts);
      return 0;
    } else if (strcmp(a, "--size") == 0 || strcmp(a, "--threads") == 0 ||
               strcmp(a, "--memory-limit") == 0) {
      if (value == NULL) {
        fprintf(stderr, "floe-sample: %s needs a value\n%s", a, usage);
        floe_options_free(opts);
        return 2;
      }
      floe_status st = strcmp(a, "--size") == 0 ? floe_parse_size(value, 0, &bytes)
                                                : floe_options_parse(opts, a + 2, value);
      if (st != FLOE_OK) {
        fprintf(stderr, "floe-sample: %s: %s\n", a, floe_error_message(NULL));
        floe_options_free(opts);
        return 2;
      }
      i++;
    } else if (a[0] == '-' || out != NULL) {
      fprintf(stderr, "floe-sample: unexpected '%s'\n%s", a, usage);
      floe_options_free(opts);
      return 2;
    } else {
      out = a;
    }
  }
  if (out == NULL) {
    fprintf(stderr, "floe-sample: no output file\n%s", usage);
    floe_options_free(opts);
    return 2;
  }
  bool tty = isatty(STDERR_FILENO);
  if (tty) {
    floe_options_set(opts, FLOE_OPT_PROGRESS, floe_progress(show_progress));
  }
  floe_ctx *ctx;
  if (floe_open(opts, &ctx) != FLOE_OK) {
    fprintf(stderr, "floe-sample: %s\n", floe_error_message(NULL));
    floe_options_free(opts);
    return 1;
  }
  floe_options_free(opts);
  int64_t days = floe_sample_climate_days(bytes);
  double mb = (double)days * FLOE_SAMPLE_NLAT * FLOE_SAMPLE_NLON * 4 * 2 / 1e6;
  fprintf(stderr, "floe-sample: %s: %" PRId64 " days x %d x %d, %.0f MB\n", out, days,
          FLOE_SAMPLE_NLAT, FLOE_SAMPLE_NLON, mb);
  double t0 = seconds();
  floe_status st = floe_sample_climate(ctx, out, bytes, overwrite);
  if (tty) {
    fputc('\n', stderr);
  }
  if (st != FLOE_OK) {
    fprintf(stderr, "floe-sample: %s\n", floe_error_message(ctx));
    floe_close(ctx);
    return 1;
  }
  fprintf(stderr, "floe-sample: done in %.2f s\n", seconds() - t0);
  floe_close(ctx);
  return 0;
}
