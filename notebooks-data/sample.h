/* Synthetic climate data for the walkthroughs and `floe demo`, written by
 * floe itself (one floe_job over random numbers, coordinates and sin/cos).
 *
 * The file (HDF5, uncompressed, every dataset with a "units" and a
 * "long_name" attribute) holds, for NT daily time steps on a 2.5-degree
 * global grid:
 *
 *   temperature    float32 [time, lat, lon] = [NT, 72, 144]   degC
 *                  chunks (73, 72, 144): 73 days x the whole globe, ~3 MB
 *   precipitation  float32 [time, lat, lon] = [NT, 72, 144]   mm/day
 *                  chunks (73, 72, 144); >= 0, skewed, many dry (0) days
 *   time           float64 [NT]    days since 2000-01-01 (0, 1, ..., NT-1)
 *   lat            float64 [72]    degrees_north, -88.75 ... 88.75 (cell centres)
 *   lon            float64 [144]   degrees_east, 1.25 ... 358.75 (cell centres)
 *   cell_area      float64 [72, 144]  km2, area of each grid cell (sums to the
 *                  Earth's 510.1 million km2; weights for global means:
 *                  sum(mean(temperature, axis=0) * cell_area) / sum(cell_area))
 *
 * NT is 1095 (three years, ~91 MB for the two cubes) by default; a size in
 * bytes asks for NT = bytes / (72 * 144 * 4 * 2) rounded to whole 73-day
 * chunks (8 GB: 96 433 days, about 264 years).  The numbers are the same
 * for every run and thread count (floe's counter-based random numbers).
 *
 * temperature = zonal climate (about 28 degC at the equator, -16 at the
 *               north pole, colder over Antarctica; an area-weighted global
 *               mean near 13 degC) with stationary waves
 *             + a seasonal cycle of opposite phase in the two hemispheres
 *               (amplitude up to 14 degC near the poles, coldest in
 *               mid-January in the north)
 *             + eastward-travelling synoptic waves (periods 7 and 11.3 days,
 *               zonal wavenumbers 6 and 4, strongest at mid-latitudes)
 *             + spatially smooth weather noise (six large-scale patterns
 *               with random daily amplitudes, stronger at high latitudes)
 *               and 0.5 degC of white noise
 *             + a warming trend of 0.03 degC a year, up to 2.5 times
 *               that near the poles.
 * precipitation = lognormal around a tropical rain belt that follows the
 *               sun (6 +- 8 degrees north) and the two mid-latitude storm
 *               tracks, sharing the weather patterns of temperature, minus
 *               a threshold and clipped at 0 (drizzle becomes dry days).
 */
#ifndef FLOE_SAMPLE_H
#define FLOE_SAMPLE_H

#include <stdint.h>

#include "floe.h"

#define FLOE_SAMPLE_NLAT 72
#define FLOE_SAMPLE_NLON 144
#define FLOE_SAMPLE_CHUNK_DAYS 73
#define FLOE_SAMPLE_DEFAULT_DAYS 1095

/* The number of days (the time axis) written for a size in bytes of the
 * two cubes; 0 gives the default, FLOE_SAMPLE_DEFAULT_DAYS. */
int64_t floe_sample_climate_days(uint64_t bytes);

/* Writes the sample climate cube (see above) to `path` with `ctx`: one
 * floe_job; the file is written as PATH.partial and renamed into place when
 * complete, so an interrupted run leaves no half file.  `bytes` 0 for the
 * default size.  An existing file is refused (FLOE_ERR_IO) unless
 * `overwrite` is non-zero.  On failure the thread's floe_error_message
 * says why.  Arrays built here are released before it returns. */
floe_status floe_sample_climate(floe_ctx *ctx, const char *path, uint64_t bytes, int overwrite);

#endif /* FLOE_SAMPLE_H */
