/* floe demo: the showcase.  Makes the sample climate cube when it is
 * missing, then computes its climatology, anomalies, spread and extremes
 * and a few global figures in one job (one pass over the inputs, out of
 * core when the cube is larger than the memory limit), and shows the
 * inputs, the plan, progress, the results and the run's figures. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "cli-internal.h"
#include "sample.h"

/* The arrays written to climate-results.h5, by the expressions that make
 * them (over temperature, and climatology once it exists). */
static const struct {
  const char *name, *expr, *what;
} outputs[] = {
    {"climatology", "mean(temperature, axis=0)", "mean over time"},
    {"anomalies", "temperature - climatology", "departure from the mean"},
    {"stddev", "std(temperature, axis=0)", "spread over time"},
    {"tmax", "max(temperature, axis=0)", "warmest day"},
    {"tmin", "min(temperature, axis=0)", "coldest day"},
};
enum { NOUT = sizeof outputs / sizeof outputs[0] };

/* The figures printed, each one element computed into memory.  Global
 * means weigh every grid cell by its area. */
enum { G_MEAN, G_WARMEST, G_WARMEST_AT, G_CLIM_MIN, G_CLIM_MAX, G_SD, G_RAIN, G_WET, NFIG };
static const char *const figure_exprs[NFIG] = {
    "sum(climatology * cell_area) / sum(cell_area)",
    "max(anomalies)",
    "argmax(anomalies)",
    "min(climatology)",
    "max(climatology)",
    "sum(stddev * cell_area) / sum(cell_area)",
    "sum(mean(precipitation, axis=0) * cell_area) / sum(cell_area)",
    "sum(mean(precipitation > 0.1, axis=0) * cell_area) / sum(cell_area)",
};

typedef struct demo {
  cli_args args;
  floe_ctx *ctx;
  floe_job *job;
  floe_options *wopts;
  char *data, *results, *partial; /* results are written as `partial`, then renamed */
  unsigned char figures[NFIG][8];
  floe_dtype figure_dtype[NFIG];
  double *time, *lat, *lon;
  int64_t nt;
} demo;

static double figure(const demo *d, int i) {
  const void *p = d->figures[i];
  switch (d->figure_dtype[i]) {
  case FLOE_FLOAT32:
    return *(const float *)p;
  case FLOE_FLOAT64:
    return *(const double *)p;
  case FLOE_INT64:
    return (double)*(const int64_t *)p;
  case FLOE_INT32:
    return *(const int32_t *)p;
  default:
    return *(const unsigned char *)p;
  }
}

static const char *deg(void) {
  return cli_utf8() ? "\u00b0" : " deg";
}

/* Days since 2000-01-01 as a date (proleptic Gregorian; H. Hinnant's
 * civil_from_days). */
static void date_of(double days, char buf[16]) {
  long z = (long)floor(days) + 10957 + 719468; /* 2000-01-01 is day 10957 of 1970 */
  long era = (z >= 0 ? z : z - 146096) / 146097;
  long doe = z - era * 146097;
  long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1, mm = mp < 10 ? mp + 3 : mp - 9;
  snprintf(buf, 16, "%04ld-%02ld-%02ld", y + (mm <= 2), mm, dd);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The time length of an existing sample file; -1 when it is not one. */
static int64_t existing_days(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || H5Fis_hdf5(path) <= 0) {
    return -1;
  }
  int64_t days = -1;
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    return -1;
  }
  if (H5Lexists(f, "temperature", H5P_DEFAULT) > 0 &&
      H5Lexists(f, "precipitation", H5P_DEFAULT) > 0 && H5Lexists(f, "time", H5P_DEFAULT) > 0 &&
      H5Lexists(f, "lat", H5P_DEFAULT) > 0 && H5Lexists(f, "lon", H5P_DEFAULT) > 0 &&
      H5Lexists(f, "cell_area", H5P_DEFAULT) > 0) {
    hid_t ds = H5Dopen2(f, "temperature", H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t dims[3];
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 3) {
      H5Sget_simple_extent_dims(sp, dims, NULL);
      if (dims[1] == FLOE_SAMPLE_NLAT && dims[2] == FLOE_SAMPLE_NLON) {
        days = (int64_t)dims[0];
      }
    }
    if (sp >= 0) {
      H5Sclose(sp);
    }
    if (ds >= 0) {
      H5Dclose(ds);
    }
  }
  H5Fclose(f);
  return days;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/%s", dir, name);
  }
  return p;
}

static int prepare_data(demo *d, uint64_t bytes) {
  int64_t want = floe_sample_climate_days(bytes);
  int64_t have = existing_days(d->data);
  char b[32];
  puts("Sample data");
  if (have > 0 && (d->args.size == NULL || have == want)) {
    printf("  using %s (%" PRId64 " days); remove it or pass --size to make another\n\n", d->data,
           have);
    d->nt = have;
    return CLI_OK;
  }
  uint64_t size = (uint64_t)want * FLOE_SAMPLE_NLAT * FLOE_SAMPLE_NLON * sizeof(float) * 2;
  printf("  generating %s: %" PRId64 " days x %d x %d, temperature and precipitation, %s\n",
         d->data, want, FLOE_SAMPLE_NLAT, FLOE_SAMPLE_NLON, cli_bytes(size, b));
  fflush(stdout);
  double t0 = now();
  cli_progress_begin("generating");
  floe_status st = floe_sample_climate(d->ctx, d->data, bytes, 1);
  cli_progress_end();
  if (st != FLOE_OK) {
    return cli_fail_floe(st, "generating the sample data");
  }
  printf("  written in %s\n\n", cli_seconds(now() - t0, b));
  d->nt = want;
  return CLI_OK;
}

static int build(demo *d) {
  floe_ctx *ctx = d->ctx;
  /* the file's own chunks, 73 days each: enough tasks for every core */
  const floe_shape chunks = FLOE_SHAPE(FLOE_SAMPLE_CHUNK_DAYS, -1, -1);
  floe_array *temperature = floe_from_hdf5(ctx, d->data, "temperature", chunks);
  floe_array *precipitation = floe_from_hdf5(ctx, d->data, "precipitation", chunks);
  floe_array *coords[3] = {floe_from_hdf5(ctx, d->data, "time", FLOE_AUTO),
                           floe_from_hdf5(ctx, d->data, "lat", FLOE_AUTO),
                           floe_from_hdf5(ctx, d->data, "lon", FLOE_AUTO)};
  floe_array *area = floe_from_hdf5(ctx, d->data, "cell_area", FLOE_AUTO);
  floe_eval_var vars[3 + NOUT] = {
      {"temperature", temperature}, {"precipitation", precipitation}, {"cell_area", area}};
  size_t nvars = 3;
  floe_array *out[NOUT];
  for (int i = 0; i < NOUT; i++) {
    out[i] = floe_eval(ctx, outputs[i].expr, vars, nvars);
    /* later expressions may use the earlier results by name */
    vars[nvars++] = (floe_eval_var){outputs[i].name, out[i]};
  }
  d->job = floe_job_new(ctx);
  if (d->job == NULL) {
    return cli_fail_floe(FLOE_ERR_NOMEM, NULL);
  }
  for (int i = 0; i < NOUT; i++) {
    floe_job_add_hdf5(d->job, out[i], d->partial, outputs[i].name, d->wopts);
  }
  for (int i = 0; i < NFIG; i++) {
    floe_array *f = floe_eval(ctx, figure_exprs[i], vars, nvars);
    d->figure_dtype[i] = floe_array_dtype(f);
    floe_job_add_buffer(d->job, f, d->figures[i], sizeof d->figures[i]);
  }
  double **dst[3] = {&d->time, &d->lat, &d->lon};
  for (int i = 0; i < 3; i++) {
    floe_array *c = floe_astype(coords[i], FLOE_FLOAT64);
    int64_t n = floe_array_size(c);
    *dst[i] = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    if (*dst[i] == NULL) {
      return cli_fail("out of memory");
    }
    floe_job_add_buffer(d->job, c, *dst[i], (size_t)n * sizeof(double));
  }
  /* every failure above is sticky in the job and surfaces in the plan */
  floe_plan_info plan;
  floe_status st = floe_job_plan(d->job, &plan);
  if (st != FLOE_OK) {
    return cli_fail_floe(st, NULL);
  }

  char s[96];
  printf("Job: %d arrays to %s and %d figures, in one pass\n", NOUT, d->results, NFIG);
  for (int i = 0; i < NOUT; i++) {
    printf("  %-12s = %-27s %-16s %-8s %s\n", outputs[i].name, outputs[i].expr,
           cli_shape(floe_array_shape(out[i]), s, sizeof s),
           floe_dtype_name(floe_array_dtype(out[i])), outputs[i].what);
  }
  printf("  and figures: global means (weighted by cell_area) of temperature, stddev and\n"
         "  precipitation, wet-day fraction, max(anomalies) and where, range of climatology\n\n");
  puts("Plan");
  cli_print_plan(stdout, "  ", &plan, floe_ctx_memory_limit(ctx));
  putchar('\n');
  return CLI_OK;
}

static void print_results(const demo *d) {
  const char *dg = deg();
  char date[16];
  puts("Results");
  printf("  global mean temperature    %.2f%sC (area-weighted)\n", figure(d, G_MEAN), dg);
  int64_t at = (int64_t)figure(d, G_WARMEST_AT);
  int64_t per_day = (int64_t)FLOE_SAMPLE_NLAT * FLOE_SAMPLE_NLON;
  int64_t t = at / per_day, i = at / FLOE_SAMPLE_NLON % FLOE_SAMPLE_NLAT, j = at % FLOE_SAMPLE_NLON;
  if (t >= 0 && t < d->nt) {
    double lat = d->lat[i], lon = d->lon[j];
    date_of(d->time[t], date);
    printf("  warmest anomaly            %+.2f%sC on %s at %.2f%s%c %.2f%s%c\n",
           figure(d, G_WARMEST), dg, date, fabs(lat), dg, lat >= 0 ? 'N' : 'S',
           lon > 180 ? 360 - lon : lon, dg, lon > 180 ? 'W' : 'E');
  }
  printf("  climatology                %.1f%sC to %.1f%sC\n", figure(d, G_CLIM_MIN), dg,
         figure(d, G_CLIM_MAX), dg);
  printf("  spread over time           %.2f%sC (global mean of stddev)\n", figure(d, G_SD), dg);
  printf("  precipitation              %.2f mm/day global mean, %.0f%% of days wet\n",
         figure(d, G_RAIN), 100.0 * figure(d, G_WET));
  putchar('\n');
}

static int run(demo *d) {
  cli_args *a = &d->args;
  if (a->npos > 0) {
    return cli_usage("demo", "unexpected argument '%s'", a->pos[0]);
  }
  uint64_t bytes = 0;
  if (a->size != NULL && floe_parse_size(a->size, 0, &bytes) != FLOE_OK) {
    return cli_usage("demo", "--size: %s", floe_error_message(NULL));
  }
  if (a->size != NULL && bytes == 0) {
    return cli_usage("demo", "--size: '%s' is no size", a->size);
  }
  const char *dir = a->dir != NULL ? a->dir : "notebooks-data";
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    return cli_fail("cannot make the directory '%s': %s", dir, strerror(errno));
  }
  d->data = join(dir, "climate.h5");
  d->results = join(dir, "climate-results.h5");
  d->partial = join(dir, "climate-results.h5.partial");
  d->wopts = floe_options_new();
  if (d->data == NULL || d->results == NULL || d->partial == NULL || d->wopts == NULL) {
    return cli_fail("out of memory");
  }
  /* each run writes a new file and renames it over the last results, so
     that they never grow with the space of replaced datasets */
  floe_options_parse(d->wopts, "overwrite", "0");
  remove(d->partial);
  floe_options_parse(d->wopts, "compress", "none");
  bool bar = a->progress == 1 || (a->progress < 0 && isatty(STDERR_FILENO));
  int rc = cli_progress_install(a->opts, bar);
  if (rc != CLI_OK) {
    return rc;
  }
  floe_status st = floe_open(a->opts, &d->ctx);
  if (st != FLOE_OK) {
    return cli_fail_floe(st, NULL);
  }
  char b[32];
  printf("floe %s demo: climate statistics of a daily temperature cube, out of core\n",
         floe_version_string());
  printf("  %d worker threads, memory limit %s\n\n", floe_ctx_threads(d->ctx),
         cli_bytes(floe_ctx_memory_limit(d->ctx), b));
  if ((rc = prepare_data(d, bytes)) != CLI_OK) {
    return rc;
  }
  puts("Inputs");
  if ((rc = cli_info_list(stdout, d->data, NULL, "  ")) != CLI_OK) {
    return rc;
  }
  putchar('\n');
  if ((rc = build(d)) != CLI_OK) {
    return rc;
  }
  fflush(stdout);
  cli_progress_begin("computing");
  st = floe_job_run(d->job);
  cli_progress_end();
  if (st != FLOE_OK) {
    return cli_fail_floe(st, NULL);
  }
  if (rename(d->partial, d->results) != 0) {
    return cli_fail("cannot rename '%s' to '%s': %s", d->partial, d->results, strerror(errno));
  }
  print_results(d);
  floe_stats s;
  floe_job_stats(d->job, &s);
  puts("Statistics");
  cli_print_stats(stdout, "  ", &s);
  printf("\nNext:\n"
         "  floe info %s\n"
         "  floe eval \"mean(tmax - tmin)\" -i tmax=%s:tmax -i tmin=%s:tmin\n",
         d->results, d->results, d->results);
  return CLI_OK;
}

int cli_demo(int argc, char **argv) {
  demo d;
  memset(&d, 0, sizeof d);
  int rc = cli_args_parse(&d.args, "demo", CMD_DEMO, argc, argv, 2);
  if (rc == CLI_OK) {
    rc = d.args.help ? (cli_help(stdout, "demo"), CLI_OK) : run(&d);
  }
  floe_job_free(d.job);
  floe_close(d.ctx);
  floe_options_free(d.wopts);
  free(d.time);
  free(d.lat);
  free(d.lon);
  free(d.data);
  free(d.results);
  free(d.partial);
  cli_args_destroy(&d.args);
  return rc;
}
