/* The sample climate cube (see sample.h), built as floe arrays and written
 * by one floe_job.  Only the two small broadcast coordinates (day number as
 * [NT, 1, 1] and latitude as [72, 1]) come from C buffers: floe's creation
 * functions make 1-d arrays, which broadcast along the last axis only. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "sample.h"

#define PI 3.14159265358979323846
#define DEG (PI / 180.0)
#define YEAR 365.25

enum { NLAT = FLOE_SAMPLE_NLAT, NLON = FLOE_SAMPLE_NLON, CT = FLOE_SAMPLE_CHUNK_DAYS };
enum { NMODES = 6 };

int64_t floe_sample_climate_days(uint64_t bytes) {
  if (bytes == 0) {
    return FLOE_SAMPLE_DEFAULT_DAYS;
  }
  const double per_day = (double)NLAT * NLON * sizeof(float) * 2;
  double chunks = floor((double)bytes / per_day / CT + 0.5);
  return (int64_t)(chunks < 1 ? 1 : chunks) * CT;
}

/* Shorthands over one context; every array dies at the scope's end. */
typedef struct gen {
  floe_ctx *ctx;
} gen;

static floe_array *num(const gen *g, double v) {
  return floe_scalar(g->ctx, v);
}
static floe_array *add(floe_array *a, floe_array *b) {
  return floe_add(a, b);
}
static floe_array *mul(floe_array *a, floe_array *b) {
  return floe_multiply(a, b);
}
static floe_array *addc(const gen *g, floe_array *a, double c) {
  return floe_add(a, num(g, c));
}
static floe_array *mulc(const gen *g, floe_array *a, double c) {
  return floe_multiply(a, num(g, c));
}
/* exp(-((x - centre) / width)^2) */
static floe_array *bump(const gen *g, floe_array *x, double centre, double width) {
  floe_array *z = mulc(g, addc(g, x, -centre), 1.0 / width);
  return floe_exp(floe_negative(floe_square(z)));
}
static floe_array *bump_at(const gen *g, floe_array *x, floe_array *centre, double width) {
  floe_array *z = mulc(g, floe_subtract(x, centre), 1.0 / width);
  return floe_exp(floe_negative(floe_square(z)));
}

typedef struct fields {
  floe_array *temperature, *precipitation;
} fields;

static fields build(const gen *g, int64_t nt, const float *day, const float *phi_data) {
  floe_ctx *ctx = g->ctx;
  const floe_shape cube = FLOE_SHAPE(nt, NLAT, NLON), cube_chunks = FLOE_SHAPE(CT, NLAT, NLON);
  floe_array *t =
      floe_from_buffer(ctx, FLOE_FLOAT32, FLOE_SHAPE(nt, 1, 1), FLOE_SHAPE(CT, 1, 1), day);
  floe_array *phi =
      floe_from_buffer(ctx, FLOE_FLOAT32, FLOE_SHAPE(NLAT, 1), FLOE_SHAPE(NLAT, 1), phi_data);
  floe_array *lam =
      floe_linspace(ctx, FLOE_FLOAT32, 1.25 * DEG, 358.75 * DEG, NLON, FLOE_SHAPE(NLON));
  floe_array *latd = mulc(g, phi, 1.0 / DEG);
  floe_array *s = floe_sin(phi);
  floe_array *s2 = floe_square(s);
  floe_array *midlat = floe_square(floe_sin(mulc(g, phi, 2.0))); /* 0 at equator and poles */

  /* zonal climate, Antarctica's plateau, stationary waves */
  floe_array *base = addc(g, mulc(g, s2, -44.0), 28.0);
  base = add(base, mulc(g, bump(g, latd, -90.0, 15.0), -10.0));
  base = add(base, mul(mulc(g, midlat, 3.0), floe_cos(addc(g, mulc(g, lam, 2.0), 0.6))));

  /* seasons: sin(lat) flips the phase between the hemispheres */
  floe_array *year_phase = mulc(g, addc(g, t, -15.0), 2 * PI / YEAR);
  floe_array *season = mul(mulc(g, s, -14.0), floe_cos(year_phase));

  /* synoptic waves travelling east: phase k*lon - w*t */
  floe_array *w1 = floe_sin(add(mulc(g, lam, 6.0), addc(g, mulc(g, t, -2 * PI / 7.0), 1.3)));
  floe_array *w2 = floe_sin(add(mulc(g, lam, 4.0), addc(g, mulc(g, t, -2 * PI / 11.3), 0.4)));
  floe_array *synoptic = mul(mulc(g, midlat, 4.0), add(w1, mulc(g, w2, 0.6)));

  /* weather: large-scale patterns with random daily amplitudes */
  static const double m[NMODES] = {1, 2, 3, 4, 5, 7}, n[NMODES] = {2, 3, 4, 5, 6, 7},
                      psi[NMODES] = {0.3, 1.9, 4.1, 2.6, 5.3, 0.9};
  floe_array *weather = NULL;
  for (int k = 0; k < NMODES; k++) {
    floe_array *pattern = floe_cos(add(mulc(g, lam, m[k]), addc(g, mulc(g, phi, n[k]), psi[k])));
    floe_array *amp = floe_random_normal(ctx, FLOE_FLOAT32, FLOE_SHAPE(nt, 1, 1),
                                         FLOE_SHAPE(CT, 1, 1), 1000 + (uint64_t)k, 0.0, 1.0);
    floe_array *term = mul(amp, pattern);
    weather = weather == NULL ? term : add(weather, term);
  }
  weather = mulc(g, weather, 1.0 / sqrt(NMODES / 2.0)); /* unit variance */
  floe_array *spread = addc(g, mulc(g, floe_abs(s), 1.6), 0.6);
  floe_array *white = floe_random_normal(ctx, FLOE_FLOAT32, cube, cube_chunks, 1, 0.0, 0.5);

  floe_array *trend = mul(mulc(g, t, 0.03 / YEAR), addc(g, mulc(g, s2, 1.5), 1.0));

  fields f;
  f.temperature =
      add(add(add(base, season), add(synoptic, trend)), add(mul(spread, weather), white));

  /* rain belt following the sun, storm tracks near 45 degrees */
  floe_array *itcz =
      addc(g, mulc(g, floe_sin(mulc(g, addc(g, t, -105.0), 2 * PI / YEAR)), 8.0), 6.0);
  floe_array *wet = addc(g, mulc(g, bump_at(g, latd, itcz, 9.0), 10.0), 0.6);
  wet = add(wet, mulc(g, bump(g, floe_abs(latd), 45.0, 12.0), 4.0));
  floe_array *z = floe_random_normal(ctx, FLOE_FLOAT32, cube, cube_chunks, 2, 0.0, 0.75);
  /* lognormal with mean `wet`: exp(x - var/2), var = 0.75^2 + 0.28^2 */
  floe_array *x = add(z, mulc(g, weather, 0.28));
  floe_array *rain = mul(wet, floe_exp(addc(g, x, -0.5 * (0.5625 + 0.0784))));
  f.precipitation = floe_clip(addc(g, rain, -0.7), num(g, 0.0), NULL);
  return f;
}

/* CF-style attributes, as variable-length UTF-8 strings (str in h5py). */
static int set_attr(hid_t obj, const char *name, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int ok = attr >= 0 && H5Awrite(attr, type, &value) >= 0;
  if (attr >= 0) {
    H5Aclose(attr);
  }
  H5Sclose(space);
  H5Tclose(type);
  return ok;
}

static floe_status describe_file(const char *path) {
  static const char *const attrs[][3] = {
      {"temperature", "degC", "near-surface air temperature (synthetic)"},
      {"precipitation", "mm/day", "precipitation rate (synthetic)"},
      {"time", "days since 2000-01-01", "time"},
      {"lat", "degrees_north", "latitude"},
      {"lon", "degrees_east", "longitude"},
      {"cell_area", "km2", "area of the grid cell"},
  };
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) {
    return floe_error_set(FLOE_ERR_IO, "floe_sample_climate: cannot reopen '%s' to describe it",
                          path);
  }
  int ok = 1;
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0] && ok; i++) {
    hid_t d = H5Dopen2(f, attrs[i][0], H5P_DEFAULT);
    ok = d >= 0 && set_attr(d, "units", attrs[i][1]) && set_attr(d, "long_name", attrs[i][2]);
    if (d >= 0) {
      H5Dclose(d);
    }
  }
  ok = ok && set_attr(f, "title", "floe sample climate cube (synthetic daily data)");
  if (H5Fclose(f) < 0) {
    ok = 0;
  }
  return ok ? FLOE_OK
            : floe_error_set(FLOE_ERR_IO, "floe_sample_climate: cannot write attributes to '%s'",
                             path);
}

/* Cell areas in km^2: R^2 * dlon * (sin(lat + dlat/2) - sin(lat - dlat/2)). */
static floe_array *cell_area(const gen *g, const double *phi64) {
  const double r = 6371.0, half = 1.25 * DEG;
  floe_array *phi =
      floe_from_buffer(g->ctx, FLOE_FLOAT64, FLOE_SHAPE(NLAT, 1), FLOE_SHAPE(NLAT, 1), phi64);
  floe_array *band = floe_subtract(floe_sin(addc(g, phi, half)), floe_sin(addc(g, phi, -half)));
  floe_array *ones = floe_ones(g->ctx, FLOE_FLOAT64, FLOE_SHAPE(NLON), FLOE_SHAPE(NLON));
  return mul(mulc(g, band, r * r * 2.5 * DEG), ones);
}

static floe_status write_cube(floe_ctx *ctx, const char *path, int64_t nt, const float *day,
                              const float *phi, const double *phi64) {
  gen g = {ctx};
  floe_options *wopts = floe_options_new();
  floe_job *job = floe_job_new(ctx);
  if (wopts == NULL || job == NULL) {
    floe_options_free(wopts);
    floe_job_free(job);
    return floe_error_set(FLOE_ERR_NOMEM, "floe_sample_climate: out of memory");
  }
  /* explicit options: FLOE_COMPRESS in the environment must not change the sample */
  floe_options_parse(wopts, "compress", "none");
  floe_options_parse(wopts, "overwrite", "0");
  fields f = build(&g, nt, day, phi);
  floe_array *time = floe_arange(ctx, FLOE_FLOAT64, 0.0, (double)nt, 1.0, FLOE_SHAPE(nt));
  floe_array *lat = floe_linspace(ctx, FLOE_FLOAT64, -88.75, 88.75, NLAT, FLOE_SHAPE(NLAT));
  floe_array *lon = floe_linspace(ctx, FLOE_FLOAT64, 1.25, 358.75, NLON, FLOE_SHAPE(NLON));
  floe_job_add_hdf5(job, f.temperature, path, "temperature", wopts);
  floe_job_add_hdf5(job, f.precipitation, path, "precipitation", wopts);
  floe_job_add_hdf5(job, time, path, "time", wopts);
  floe_job_add_hdf5(job, lat, path, "lat", wopts);
  floe_job_add_hdf5(job, lon, path, "lon", wopts);
  floe_job_add_hdf5(job, cell_area(&g, phi64), path, "cell_area", wopts);
  floe_status st = floe_job_run(job); /* the first failure while adding, if any */
  floe_job_free(job);
  floe_options_free(wopts);
  return st;
}

floe_status floe_sample_climate(floe_ctx *ctx, const char *path, uint64_t bytes, int overwrite) {
  if (ctx == NULL || path == NULL) {
    return floe_error_set(FLOE_ERR_INVALID, "floe_sample_climate: NULL argument");
  }
  struct stat st;
  if (!overwrite && stat(path, &st) == 0) {
    return floe_error_set(FLOE_ERR_IO, "floe_sample_climate: '%s' exists (overwrite not asked)",
                          path);
  }
  int64_t nt = floe_sample_climate_days(bytes);
  size_t plen = strlen(path) + sizeof ".partial";
  char *partial = malloc(plen);
  float *day = malloc((size_t)nt * sizeof *day);
  float phi[NLAT];
  double phi64[NLAT];
  if (partial == NULL || day == NULL) {
    free(partial);
    free(day);
    return floe_error_set(FLOE_ERR_NOMEM, "floe_sample_climate: out of memory");
  }
  snprintf(partial, plen, "%s.partial", path);
  remove(partial); /* left by an interrupted run */
  for (int64_t i = 0; i < nt; i++) {
    day[i] = (float)i;
  }
  for (int i = 0; i < NLAT; i++) {
    phi64[i] = (-88.75 + 2.5 * i) * DEG;
    phi[i] = (float)phi64[i];
  }

  floe_status s = floe_scope_begin(ctx);
  if (s == FLOE_OK) {
    s = write_cube(ctx, partial, nt, day, phi, phi64);
    floe_scope_end(ctx);
  }
  if (s == FLOE_OK) {
    s = describe_file(partial);
  }
  if (s == FLOE_OK && rename(partial, path) != 0) {
    s = floe_error_set(FLOE_ERR_IO, "floe_sample_climate: cannot rename '%s' to '%s': %s", partial,
                       path, strerror(errno));
  }
  if (s != FLOE_OK) {
    remove(partial);
  }
  free(partial);
  free(day);
  return s;
}
