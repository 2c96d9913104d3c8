/* src/store/codec: HDF5's byte shuffle against a naive transpose, the
 * shuffle+zstd write path, pipelines decoded against HDF5 itself (chunks
 * written through HDF5's filters and read raw, chunks written raw and read
 * through HDF5), corrupt chunks, the per-thread contexts, and the zstd
 * filter as a loadable plugin (dlopen, HDF5's plugin path, h5dump). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dlfcn.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "floe.h"
#include "store/codec-internal.h"
#include "testutil.h"

#define assert_message_has(needle)                                                                 \
  cr_assert(contains(floe_error_message(NULL), (needle)), "message '%s' does not contain '%s'",    \
            floe_error_message(NULL), (needle))

static void quiet_hdf5(void) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n > 0 ? n : 1);
  cr_assert_not_null(p);
  return p;
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (unsigned char)rng_next(&seed);
  }
}

/* Smooth, compressible bytes whatever the element size: a slowly varying
 * float64 signal. */
static void fill_smooth(unsigned char *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    double v = 100.0 * sin((double)i * 1e-4) + (double)i * 1e-6;
    memcpy(p + i, &v, 8);
  }
  for (; i < n; i++) {
    p[i] = (unsigned char)i;
  }
}

/* ---------------------------------------------------------------- shuffle */

static void naive_shuffle(const unsigned char *src, unsigned char *dst, size_t k, size_t nbytes) {
  size_t n = nbytes / k;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < k; j++) {
      dst[j * n + i] = src[i * k + j];
    }
  }
  memcpy(dst + n * k, src + n * k, nbytes - n * k);
}

ParameterizedTestParameters(shuffle, matches_naive_transpose) {
  static size_t sizes[] = {1, 2, 3, 4, 5, 8, 12, 16};
  return cr_make_param_array(size_t, sizes, sizeof sizes / sizeof sizes[0]);
}

/* Element counts around the 16- and 32-element vector steps, with and
 * without trailing bytes, at an odd address too. */
ParameterizedTest(size_t *elem, shuffle, matches_naive_transpose) {
  const size_t k = *elem;
  const size_t counts[] = {0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 1000, 4099};
  const size_t tails[] = {0, 1, k > 1 ? k - 1 : 0};
  const size_t max = 4099 * k + k + 1;
  unsigned char *src = xmalloc(max), *want = xmalloc(max), *got = xmalloc(max + 1);
  unsigned char *back = xmalloc(max);
  for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
    for (size_t t = 0; t < 3; t++) {
      size_t nbytes = counts[c] * k + tails[t];
      fill_random(src, nbytes, nbytes * 31 + k);
      naive_shuffle(src, want, k, nbytes);
      for (size_t off = 0; off < 2; off++) {
        floe__shuffle(src, got + off, k, nbytes);
        cr_assert(memcmp(got + off, want, nbytes) == 0, "shuffle k=%zu nbytes=%zu off=%zu", k,
                  nbytes, off);
        memset(back, 0xa5, nbytes);
        floe__unshuffle(got + off, back, k, nbytes);
        cr_assert(memcmp(back, src, nbytes) == 0, "unshuffle k=%zu nbytes=%zu off=%zu", k, nbytes,
                  off);
      }
    }
  }
  free(src), free(want), free(got), free(back);
}

/* The AVX2 kernels directly (the dispatcher leaves them only 32-element
 * blocks), where the CPU has AVX2. */
Test(shuffle, avx2_kernels_match_naive_transpose) {
  if (!__builtin_cpu_supports("avx2")) {
    cr_skip_test("no AVX2 on this CPU");
  }
  const size_t n = 32 * 37;
  unsigned char *src = xmalloc(8 * n), *want = xmalloc(8 * n), *got = xmalloc(8 * n);
  unsigned char *back = xmalloc(8 * n);
  for (size_t k = 2; k <= 8; k *= 2) {
    fill_random(src, k * n, k);
    naive_shuffle(src, want, k, k * n);
    cr_assert_eq(floe__shuffle_avx2(src, got, k, n), n);
    cr_assert(memcmp(got, want, k * n) == 0, "k=%zu", k);
    cr_assert_eq(floe__unshuffle_avx2(got, back, k, n), n);
    cr_assert(memcmp(back, src, k * n) == 0, "k=%zu", k);
  }
  free(src), free(want), free(got), free(back);
}

/* -------------------------------------------------- encode / decode */

static floe__pipeline shuffle_zstd_pipeline(size_t k, int level) {
  floe__pipeline p = {.n = 2, .elem_size = k};
  p.f[0] = (floe__filter){.id = FLOE__H5Z_SHUFFLE, .ncd = 1, .cd = {(unsigned)k}};
  p.f[1] = (floe__filter){.id = FLOE__H5Z_ZSTD, .ncd = 1, .cd = {(unsigned)level}};
  return p;
}

/* Encodes `data`, checks the frame, decodes it through `p` and compares. */
static size_t round_trip(const floe__pipeline *p, const unsigned char *data, size_t nbytes,
                         size_t k, int level) {
  unsigned char *frame = xmalloc(floe__encode_bound(nbytes));
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(nbytes));
  unsigned char *back = xmalloc(nbytes);
  size_t size = 0;
  floe_status st = floe__encode_shuffle_zstd(data, nbytes, k, level, frame, &size, scratch);
  cr_assert_eq(st, FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_leq(size, floe__encode_bound(nbytes));
  cr_assert_eq(ZSTD_findFrameCompressedSize(frame, size), size, "one frame");
  cr_assert_eq(ZSTD_getFrameContentSize(frame, size), (unsigned long long)nbytes);
  st = floe__pipeline_decode(p, 0, frame, size, back, nbytes, scratch);
  cr_assert_eq(st, FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert(memcmp(back, data, nbytes) == 0, "k=%zu nbytes=%zu", k, nbytes);
  free(frame), free(scratch), free(back);
  return size;
}

ParameterizedTestParameters(codec, shuffle_zstd_round_trip) {
  static size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8};
  return cr_make_param_array(size_t, sizes, sizeof sizes / sizeof sizes[0]);
}

ParameterizedTest(size_t *elem, codec, shuffle_zstd_round_trip) {
  const size_t k = *elem;
  const size_t lengths[] = {0, 1, 7, 1000, 4096 * k + 3, 300000};
  unsigned char *data = xmalloc(300000);
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
    size_t nbytes = lengths[i];
    floe__pipeline p = shuffle_zstd_pipeline(k, 1);
    fill_random(data, nbytes, nbytes + k);
    round_trip(&p, data, nbytes, k, 1);
    fill_smooth(data, nbytes);
    size_t packed = round_trip(&p, data, nbytes, k, 9);
    if (nbytes == 300000 && k == 8) {
      cr_assert_lt(packed, nbytes * 3 / 4, "smooth float64 should compress: %zu of %zu", packed,
                   nbytes);
    }
  }
  free(data);
}

/* Out-of-range levels are clamped, not refused; negative levels work. */
Test(codec, levels_are_clamped) {
  unsigned char data[5000];
  fill_smooth(data, sizeof data);
  const int levels[] = {-1000000, -5, 0, 1, 19, 22, 1000};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    floe__pipeline p = shuffle_zstd_pipeline(4, levels[i]);
    round_trip(&p, data, sizeof data, 4, levels[i]);
  }
}

static void *thread_round_trips(void *arg) {
  size_t k = (size_t)(uintptr_t)arg;
  size_t nbytes = 65536 + k;
  unsigned char *data = malloc(nbytes), *frame = malloc(floe__encode_bound(nbytes));
  unsigned char *scratch = malloc(floe__decode_scratch_bytes(nbytes)), *back = malloc(nbytes);
  floe__pipeline p = shuffle_zstd_pipeline(k, (int)k);
  bool ok = data && frame && scratch && back;
  for (int it = 0; ok && it < 20; it++) {
    size_t size = 0;
    fill_smooth(data, nbytes);
    data[it] ^= (unsigned char)k;
    ok = floe__encode_shuffle_zstd(data, nbytes, k, (int)k + it % 3, frame, &size, scratch) ==
             FLOE_OK &&
         floe__pipeline_decode(&p, 0, frame, size, back, nbytes, scratch) == FLOE_OK &&
         memcmp(back, data, nbytes) == 0;
  }
  free(data), free(frame), free(scratch), free(back);
  return ok ? arg : NULL;
}

/* Threads encode and decode at once, each with its own contexts, which
 * are freed when the threads exit (LeakSanitizer checks). */
Test(codec, threads_have_their_own_contexts) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) {
    cr_assert_eq(pthread_create(&t[i], NULL, thread_round_trips, (void *)(i + 1)), 0);
  }
  for (uintptr_t i = 0; i < 4; i++) {
    void *r = NULL;
    pthread_join(t[i], &r);
    cr_assert_eq(r, (void *)(i + 1), "thread %zu failed", (size_t)i);
  }
}

/* A filter_mask bit skips its filter: here the stored chunk is only
 * shuffled (zstd skipped), then stored as is (both skipped). */
Test(codec, filter_mask_skips_filters) {
  enum { N = 4000 };
  unsigned char data[N], shuffled[N], back[N];
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(N));
  fill_random(data, N, 7);
  floe__shuffle(data, shuffled, 4, N);
  floe__pipeline p = shuffle_zstd_pipeline(4, 3);
  cr_assert_eq(floe__pipeline_decode(&p, 2, shuffled, N, back, N, scratch), FLOE_OK);
  cr_assert(memcmp(back, data, N) == 0);
  cr_assert_eq(floe__pipeline_decode(&p, 3, data, N, back, N, scratch), FLOE_OK);
  cr_assert(memcmp(back, data, N) == 0);
  floe__pipeline none = {.n = 0, .elem_size = 4};
  cr_assert_eq(floe__pipeline_decode(&none, 0, data, N, back, N, scratch), FLOE_OK);
  cr_assert(memcmp(back, data, N) == 0);
  cr_assert_eq(floe__pipeline_decode(&none, 0, data, N - 1, back, N, scratch), FLOE_ERR_FORMAT);
  free(scratch);
}

/* ------------------------------------------------------------ corruption */

typedef struct corrupt_fixture {
  unsigned char data[20000];
  unsigned char frame[ZSTD_COMPRESSBOUND(20000)];
  size_t size;
  unsigned char out[20000];
  unsigned char *scratch;
  floe__pipeline p;
} corrupt_fixture;

static void corrupt_setup(corrupt_fixture *f) {
  fill_smooth(f->data, sizeof f->data);
  f->scratch = xmalloc(floe__decode_scratch_bytes(sizeof f->data));
  f->p = shuffle_zstd_pipeline(8, 3);
  cr_assert_eq(
      floe__encode_shuffle_zstd(f->data, sizeof f->data, 8, 3, f->frame, &f->size, f->scratch),
      FLOE_OK);
}

static floe_status corrupt_decode(corrupt_fixture *f, const void *in, size_t size) {
  memset(f->out, 0, sizeof f->out);
  return floe__pipeline_decode(&f->p, 0, in, size, f->out, sizeof f->out, f->scratch);
}

Test(corrupt, zstd_flipped_byte_in_the_middle) {
  static corrupt_fixture f;
  corrupt_setup(&f);
  f.frame[f.size / 2] ^= 0x10;
  cr_assert_eq(corrupt_decode(&f, f.frame, f.size), FLOE_ERR_FORMAT);
  assert_message_has("zstd: ");
  free(f.scratch);
}

/* Every single flipped byte either fails cleanly or, where the format
 * ignores the bit, decodes to the original; never anything else. */
Test(corrupt, zstd_every_flipped_byte_fails_or_decodes_right) {
  static corrupt_fixture f;
  corrupt_setup(&f);
  int failed = 0;
  for (size_t i = 0; i < f.size; i++) {
    f.frame[i] ^= 0x40;
    floe_status st = corrupt_decode(&f, f.frame, f.size);
    f.frame[i] ^= 0x40;
    if (st == FLOE_OK) {
      cr_assert(memcmp(f.out, f.data, sizeof f.data) == 0, "byte %zu decoded to other data", i);
    } else {
      cr_assert_eq(st, FLOE_ERR_FORMAT, "byte %zu: %s", i, floe_error_message(NULL));
      failed++;
    }
  }
  cr_assert_geq(failed, (int)(f.size * 99 / 100), "only %d of %zu flips detected", failed, f.size);
  free(f.scratch);
}

Test(corrupt, zstd_truncated_frame) {
  static corrupt_fixture f;
  corrupt_setup(&f);
  const size_t sizes[] = {0, 1, 3, 4, 10, f.size / 2, f.size - 1};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    cr_assert_eq(corrupt_decode(&f, f.frame, sizes[i]), FLOE_ERR_FORMAT, "%zu bytes", sizes[i]);
    assert_message_has("zstd: ");
  }
  free(f.scratch);
}

/* A sound frame of the wrong size for the chunk. */
Test(corrupt, zstd_frame_of_the_wrong_size) {
  static corrupt_fixture f;
  corrupt_setup(&f);
  size_t size = 0;
  cr_assert_eq(floe__encode_shuffle_zstd(f.data, 1000, 8, 3, f.frame, &size, f.scratch), FLOE_OK);
  cr_assert_eq(corrupt_decode(&f, f.frame, size), FLOE_ERR_FORMAT);
  assert_message_has("expected");
  cr_assert_eq(floe__encode_shuffle_zstd(f.data, sizeof f.data, 8, 3, f.frame, &size, f.scratch),
               FLOE_OK);
  memset(f.out, 0, sizeof f.out);
  cr_assert_eq(floe__pipeline_decode(&f.p, 0, f.frame, size, f.out, 8000, f.scratch),
               FLOE_ERR_FORMAT);
  assert_message_has("zstd: frame of 20000 bytes");
  free(f.scratch);
}

Test(corrupt, bad_deflate_stream) {
  enum { N = 10000 };
  unsigned char data[N], out[N];
  unsigned char packed[N + 1000];
  uLongf psize = sizeof packed;
  fill_smooth(data, N);
  cr_assert_eq(compress2(packed, &psize, data, N, 6), Z_OK);
  floe__pipeline p = {
      .n = 1, .elem_size = 8, .f = {{.id = FLOE__H5Z_DEFLATE, .ncd = 1, .cd = {6}}}};
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(N));
  cr_assert_eq(floe__pipeline_decode(&p, 0, packed, psize, out, N, scratch), FLOE_OK);
  cr_assert(memcmp(out, data, N) == 0);

  unsigned char garbage[512];
  fill_random(garbage, sizeof garbage, 3);
  cr_assert_eq(floe__pipeline_decode(&p, 0, garbage, sizeof garbage, out, N, scratch),
               FLOE_ERR_FORMAT);
  assert_message_has("deflate: ");
  cr_assert_eq(floe__pipeline_decode(&p, 0, packed, psize / 2, out, N, scratch), FLOE_ERR_FORMAT);
  assert_message_has("deflate: truncated");
  packed[psize / 2] ^= 0xff;
  packed[psize / 2 + 1] ^= 0xff;
  cr_assert_eq(floe__pipeline_decode(&p, 0, packed, psize, out, N, scratch), FLOE_ERR_FORMAT);
  assert_message_has("deflate: ");
  /* a sound stream that holds more than the chunk */
  cr_assert_eq(floe__pipeline_decode(&p, 0, packed, psize, out, N / 2, scratch), FLOE_ERR_FORMAT);
  free(scratch);
}

/* ----------------------------------------------------------------- HDF5 */

enum { DIM0 = 45, DIM1 = 70, CH0 = 16, CH1 = 32 };

typedef enum h5type { T_F64, T_I32, T_I16, T_U8 } h5type;

static hid_t native(h5type t) {
  switch (t) {
  case T_F64:
    return H5T_NATIVE_DOUBLE;
  case T_I32:
    return H5T_NATIVE_INT32;
  case T_I16:
    return H5T_NATIVE_INT16;
  default:
    return H5T_NATIVE_UINT8;
  }
}

static size_t type_size(h5type t) {
  return t == T_F64 ? 8 : t == T_I32 ? 4 : t == T_I16 ? 2 : 1;
}

/* DIM0 x DIM1 values of type t, smooth enough to compress. */
static unsigned char *make_data(h5type t) {
  size_t k = type_size(t);
  unsigned char *d = xmalloc(DIM0 * DIM1 * k);
  for (size_t i = 0; i < DIM0; i++) {
    for (size_t j = 0; j < DIM1; j++) {
      double v = 1000.0 * sin(0.05 * (double)i) + 3.0 * (double)j + 0.25;
      size_t at = (i * DIM1 + j) * k;
      if (t == T_F64) {
        memcpy(d + at, &v, 8);
      } else if (t == T_I32) {
        int32_t x = (int32_t)(v * 1000);
        memcpy(d + at, &x, 4);
      } else if (t == T_I16) {
        int16_t x = (int16_t)v;
        memcpy(d + at, &x, 2);
      } else {
        d[at] = (unsigned char)(i + j);
      }
    }
  }
  return d;
}

static void temp_path(char *path, size_t size) {
  snprintf(path, size, "/tmp/floe-test-codec-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
}

/* A dcpl with the filters of `spec` in order: S shuffle, Z zstd (level
 * 5), D deflate, F fletcher32. */
static hid_t make_dcpl(const char *spec) {
  const hsize_t chunk[2] = {CH0, CH1};
  const unsigned level = 5;
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  cr_assert_geq(H5Pset_chunk(dcpl, 2, chunk), 0);
  for (const char *c = spec; *c != '\0'; c++) {
    herr_t rc = *c == 'S'   ? H5Pset_shuffle(dcpl)
                : *c == 'D' ? H5Pset_deflate(dcpl, 6)
                : *c == 'F' ? H5Pset_fletcher32(dcpl)
                            : H5Pset_filter(dcpl, FLOE__H5Z_ZSTD, H5Z_FLAG_MANDATORY, 1, &level);
    cr_assert_geq(rc, 0, "filter %c", *c);
  }
  return dcpl;
}

static hid_t create_dataset(hid_t file, const char *name, const char *spec, h5type t) {
  const hsize_t dims[2] = {DIM0, DIM1};
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t dcpl = make_dcpl(spec);
  hid_t dset = H5Dcreate2(file, name, native(t), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  cr_assert_geq(dset, 0, "H5Dcreate2 with filters '%s'", spec);
  H5Pclose(dcpl);
  H5Sclose(space);
  return dset;
}

/* Reads every chunk raw and decodes it with the dataset's own pipeline;
 * compares the part of the chunk inside the dataset. */
static void check_raw_chunks(hid_t dset, const unsigned char *data, int nfilters) {
  hid_t dcpl = H5Dget_create_plist(dset);
  hid_t type = H5Dget_type(dset);
  size_t k = H5Tget_size(type);
  floe__pipeline p;
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, k, &p), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(p.n, nfilters);
  cr_assert(floe__pipeline_decodable(&p));
  const size_t chunk_bytes = CH0 * CH1 * k;
  unsigned char *out = xmalloc(chunk_bytes);
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(chunk_bytes));
  for (hsize_t c0 = 0; c0 < DIM0; c0 += CH0) {
    for (hsize_t c1 = 0; c1 < DIM1; c1 += CH1) {
      hsize_t offset[2] = {c0, c1};
      hsize_t stored = 0;
      uint32_t mask = 0;
      cr_assert_geq(H5Dget_chunk_storage_size(dset, offset, &stored), 0);
      unsigned char *raw = xmalloc((size_t)stored);
      cr_assert_geq(H5Dread_chunk(dset, H5P_DEFAULT, offset, &mask, raw), 0);
      floe_status st =
          floe__pipeline_decode(&p, mask, raw, (size_t)stored, out, chunk_bytes, scratch);
      cr_assert_eq(st, FLOE_OK, "chunk (%d, %d): %s", (int)c0, (int)c1, floe_error_message(NULL));
      for (size_t i = c0; i < DIM0 && i < c0 + CH0; i++) {
        size_t w = (DIM1 - c1 < CH1 ? DIM1 - c1 : CH1) * k;
        cr_assert(memcmp(out + (i - c0) * CH1 * k, data + (i * DIM1 + c1) * k, w) == 0,
                  "chunk (%d, %d) row %zu", (int)c0, (int)c1, i);
      }
      free(raw);
    }
  }
  free(out), free(scratch);
  H5Tclose(type);
  H5Pclose(dcpl);
}

/* Parameters are copied into the test's process, which is the binary
 * started anew: no pointers in them. */
typedef struct h5_case {
  char spec[8];
  h5type type;
} h5_case;

ParameterizedTestParameters(hdf5, chunks_written_by_hdf5_decode) {
  static h5_case cases[] = {
      {"SZ", T_F64}, {"SZ", T_I32},  {"SZ", T_I16},  {"SZ", T_U8},   {"SD", T_F64}, {"Z", T_I32},
      {"D", T_I16},  {"FSZ", T_F64}, {"SDF", T_F64}, {"SZF", T_I32}, {"FD", T_I16}, {"", T_F64},
  };
  return cr_make_param_array(h5_case, cases, sizeof cases / sizeof cases[0]);
}

/* HDF5 applies the filters (its own shuffle, deflate and Fletcher-32, and
 * floe's registered zstd); floe decodes the raw chunks. */
ParameterizedTest(h5_case *c, hdf5, chunks_written_by_hdf5_decode, .init = quiet_hdf5) {
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(c->type);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert_geq(file, 0);
  hid_t dset = create_dataset(file, "/x", c->spec, c->type);
  cr_assert_geq(H5Dwrite(dset, native(c->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  H5Dclose(dset);
  H5Fclose(file);

  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2(file, "/x", H5P_DEFAULT);
  check_raw_chunks(dset, data, (int)strlen(c->spec));
  H5Dclose(dset);
  H5Fclose(file);
  unlink(path);
  free(data);
}

/* Writes every chunk of `data` raw: padded to the full chunk, shuffled and
 * zstd-compressed by floe, except for the filters `mask` skips. */
static void write_raw_chunks(hid_t dset, const unsigned char *data, size_t k, uint32_t mask) {
  const size_t chunk_bytes = CH0 * CH1 * k;
  unsigned char *chunk = xmalloc(chunk_bytes);
  unsigned char *frame = xmalloc(floe__encode_bound(chunk_bytes));
  unsigned char *scratch = xmalloc(chunk_bytes);
  for (hsize_t c0 = 0; c0 < DIM0; c0 += CH0) {
    for (hsize_t c1 = 0; c1 < DIM1; c1 += CH1) {
      memset(chunk, 0, chunk_bytes);
      for (size_t i = c0; i < DIM0 && i < c0 + CH0; i++) {
        size_t w = (DIM1 - c1 < CH1 ? DIM1 - c1 : CH1) * k;
        memcpy(chunk + (i - c0) * CH1 * k, data + (i * DIM1 + c1) * k, w);
      }
      size_t size = chunk_bytes;
      const void *stored = chunk;
      if (mask == 0) {
        cr_assert_eq(floe__encode_shuffle_zstd(chunk, chunk_bytes, k, 4, frame, &size, scratch),
                     FLOE_OK);
        stored = frame;
      } else if (mask == 2) {
        floe__shuffle(chunk, frame, k, chunk_bytes);
        stored = frame;
      }
      hsize_t offset[2] = {c0, c1};
      cr_assert_geq(H5Dwrite_chunk(dset, H5P_DEFAULT, mask, offset, size, stored), 0);
    }
  }
  free(chunk), free(frame), free(scratch);
}

static void check_read(hid_t dset, h5type t, const unsigned char *data) {
  size_t nbytes = DIM0 * DIM1 * type_size(t);
  unsigned char *back = xmalloc(nbytes);
  cr_assert_geq(H5Dread(dset, native(t), H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);
  cr_assert(memcmp(back, data, nbytes) == 0);
  free(back);
}

ParameterizedTestParameters(hdf5, chunks_written_raw_read_through_hdf5) {
  static h5_case cases[] = {{"SZ", T_F64}, {"SZ", T_I32}, {"SZ", T_I16}, {"SZ", T_U8}};
  return cr_make_param_array(h5_case, cases, sizeof cases / sizeof cases[0]);
}

/* floe compresses; HDF5 reads through its shuffle and the registered zstd
 * filter.  Chunks whose mask skips zstd, or both filters, read as well. */
ParameterizedTest(h5_case *c, hdf5, chunks_written_raw_read_through_hdf5, .init = quiet_hdf5) {
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(c->type);
  size_t k = type_size(c->type);
  const uint32_t masks[] = {0, 2, 3};
  const char *names[] = {"/all", "/shuffled", "/raw"};
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (int m = 0; m < 3; m++) {
    hid_t dset = create_dataset(file, names[m], c->spec, c->type);
    write_raw_chunks(dset, data, k, masks[m]);
    H5Dclose(dset);
  }
  H5Fclose(file);

  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  for (int m = 0; m < 3; m++) {
    hid_t dset = H5Dopen2(file, names[m], H5P_DEFAULT);
    check_read(dset, c->type, data);
    check_raw_chunks(dset, data, 2);
    H5Dclose(dset);
  }
  H5Fclose(file);
  unlink(path);
  free(data);
}

/* A frame without its content size (zstd's streaming API, as some writers
 * make them) decodes through the HDF5 filter and through floe. */
Test(hdf5, frames_without_content_size_decode, .init = quiet_hdf5) {
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(T_I32);
  const size_t k = 4, chunk_bytes = CH0 * CH1 * k;
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = create_dataset(file, "/x", "Z", T_I32);
  unsigned char *chunk = xmalloc(chunk_bytes);
  unsigned char *frame = xmalloc(ZSTD_compressBound(chunk_bytes) + 64);
  ZSTD_CStream *cs = ZSTD_createCStream();
  for (hsize_t c0 = 0; c0 < DIM0; c0 += CH0) {
    for (hsize_t c1 = 0; c1 < DIM1; c1 += CH1) {
      memset(chunk, 0, chunk_bytes);
      for (size_t i = c0; i < DIM0 && i < c0 + CH0; i++) {
        size_t w = (DIM1 - c1 < CH1 ? DIM1 - c1 : CH1) * k;
        memcpy(chunk + (i - c0) * CH1 * k, data + (i * DIM1 + c1) * k, w);
      }
      ZSTD_initCStream(cs, 3);
      ZSTD_inBuffer in = {chunk, chunk_bytes, 0};
      ZSTD_outBuffer out = {frame, ZSTD_compressBound(chunk_bytes) + 64, 0};
      cr_assert(!ZSTD_isError(ZSTD_compressStream(cs, &out, &in)));
      cr_assert_eq(ZSTD_endStream(cs, &out), 0);
      cr_assert_eq(ZSTD_getFrameContentSize(frame, out.pos), ZSTD_CONTENTSIZE_UNKNOWN);
      hsize_t offset[2] = {c0, c1};
      cr_assert_geq(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, out.pos, frame), 0);
    }
  }
  ZSTD_freeCStream(cs);
  H5Dclose(dset);
  H5Fclose(file);

  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2(file, "/x", H5P_DEFAULT);
  check_read(dset, T_I32, data);
  check_raw_chunks(dset, data, 1);
  H5Dclose(dset);
  H5Fclose(file);
  unlink(path);
  free(data), free(chunk), free(frame);
}

/* A corrupt chunk makes H5Dread fail through the filter, without a crash;
 * floe reports it as FLOE_ERR_FORMAT. */
Test(hdf5, corrupt_chunk_fails_cleanly, .init = quiet_hdf5) {
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(T_F64);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = create_dataset(file, "/x", "SZ", T_F64);
  write_raw_chunks(dset, data, 8, 0);
  /* chunk (0, 0) becomes garbage of a plausible size */
  unsigned char junk[700];
  fill_random(junk, sizeof junk, 11);
  hsize_t origin[2] = {0, 0};
  cr_assert_geq(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, origin, sizeof junk, junk), 0);
  unsigned char *back = xmalloc(DIM0 * DIM1 * 8);
  cr_assert_lt(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);

  floe__pipeline p;
  hid_t dcpl = H5Dget_create_plist(dset);
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 8, &p), FLOE_OK);
  unsigned char out[CH0 * CH1 * 8];
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(sizeof out));
  cr_assert_eq(floe__pipeline_decode(&p, 0, junk, sizeof junk, out, sizeof out, scratch),
               FLOE_ERR_FORMAT);
  assert_message_has("zstd: ");
  H5Pclose(dcpl);
  H5Dclose(dset);
  H5Fclose(file);
  unlink(path);
  free(data), free(back), free(scratch);
}

/* A Fletcher-32 mismatch in a chunk HDF5 wrote. */
Test(hdf5, fletcher32_mismatch, .init = quiet_hdf5) {
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(T_I16);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = create_dataset(file, "/x", "SDF", T_I16);
  cr_assert_geq(H5Dwrite(dset, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  hsize_t origin[2] = {0, 0}, stored = 0;
  uint32_t mask = 0;
  cr_assert_geq(H5Dget_chunk_storage_size(dset, origin, &stored), 0);
  unsigned char *raw = xmalloc((size_t)stored);
  cr_assert_geq(H5Dread_chunk(dset, H5P_DEFAULT, origin, &mask, raw), 0);
  floe__pipeline p;
  hid_t dcpl = H5Dget_create_plist(dset);
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 2, &p), FLOE_OK);
  cr_assert_eq(p.f[2].id, FLOE__H5Z_FLETCHER32);
  unsigned char out[CH0 * CH1 * 2];
  unsigned char *scratch = xmalloc(floe__decode_scratch_bytes(sizeof out));
  cr_assert_eq(floe__pipeline_decode(&p, mask, raw, (size_t)stored, out, sizeof out, scratch),
               FLOE_OK);
  for (size_t i = 0; i < (size_t)stored; i += 1 + (size_t)stored / 7) {
    raw[i] ^= 0x01;
    cr_assert_eq(floe__pipeline_decode(&p, mask, raw, (size_t)stored, out, sizeof out, scratch),
                 FLOE_ERR_FORMAT, "byte %zu", i);
    assert_message_has("fletcher32: checksum mismatch");
    raw[i] ^= 0x01;
  }
  cr_assert_eq(floe__pipeline_decode(&p, mask, raw, 3, out, sizeof out, scratch), FLOE_ERR_FORMAT);
  assert_message_has("fletcher32: ");
  H5Pclose(dcpl);
  H5Dclose(dset);
  H5Fclose(file);
  unlink(path);
  free(data), free(raw), free(scratch);
}

/* Filters floe leaves to HDF5 make the pipeline undecodable; the client
 * values come through. */
Test(hdf5, pipeline_from_dcpl, .init = quiet_hdf5) {
  hid_t dcpl = make_dcpl("FSZD");
  floe__pipeline p;
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 8, &p), FLOE_OK);
  cr_assert_eq(p.n, 4);
  cr_assert_eq(p.elem_size, 8);
  cr_assert_eq(p.f[0].id, FLOE__H5Z_FLETCHER32);
  cr_assert_eq(p.f[1].id, FLOE__H5Z_SHUFFLE);
  cr_assert_eq(p.f[2].id, FLOE__H5Z_ZSTD);
  cr_assert_eq(p.f[2].ncd, 1);
  cr_assert_eq(p.f[2].cd[0], 5);
  cr_assert_eq(p.f[3].id, FLOE__H5Z_DEFLATE);
  cr_assert_eq(p.f[3].cd[0], 6);
  cr_assert(floe__pipeline_decodable(&p));
  cr_assert_geq(H5Pset_scaleoffset(dcpl, H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT), 0);
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 8, &p), FLOE_OK);
  cr_assert_eq(p.n, 5);
  cr_assert_not(floe__pipeline_decodable(&p));
  p.f[4].id = 307; /* bzip2: still not floe's */
  cr_assert_not(floe__pipeline_decodable(&p));
  H5Pclose(dcpl);

  /* a contiguous layout has no filters */
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 4, &p), FLOE_OK);
  cr_assert_eq(p.n, 0);
  cr_assert(floe__pipeline_decodable(&p));
  H5Pclose(dcpl);
  cr_assert_eq(floe__pipeline_from_dcpl(H5I_INVALID_HID, 4, &p), FLOE_ERR_FORMAT);

  /* more filters than floe__pipeline holds */
  dcpl = make_dcpl("");
  for (int i = 0; i < 9; i++) {
    cr_assert_geq(H5Pset_filter(dcpl, 400 + i, H5Z_FLAG_OPTIONAL, 0, NULL), 0);
  }
  cr_assert_eq(floe__pipeline_from_dcpl(dcpl, 4, &p), FLOE_ERR_FORMAT);
  assert_message_has("9 filters");
  H5Pclose(dcpl);
}

static void *register_in_thread(void *arg) {
  return floe__zstd_filter_register() == FLOE_OK ? arg : NULL;
}

Test(hdf5, register_is_idempotent_and_thread_safe) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) {
    cr_assert_eq(pthread_create(&t[i], NULL, register_in_thread, (void *)(i + 1)), 0);
  }
  for (uintptr_t i = 0; i < 4; i++) {
    void *r = NULL;
    pthread_join(t[i], &r);
    cr_assert_eq(r, (void *)(i + 1));
  }
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  cr_assert_gt(H5Zfilter_avail(FLOE__H5Z_ZSTD), 0);
  unsigned config = 0;
  cr_assert_geq(H5Zget_filter_info(FLOE__H5Z_ZSTD, &config), 0);
  cr_assert(config & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
  cr_assert(config & H5Z_FILTER_CONFIG_DECODE_ENABLED);
}

/* ---------------------------------------------------------------- plugin */

#define PLUGIN_PATH FLOE_PLUGIN_DIR "/libh5zzstd.so"

/* The built plugin loads and describes filter 32015, whose function
 * round-trips a buffer both ways. */
Test(plugin, dlopen_gives_the_zstd_filter) {
  void *so = dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  cr_assert_not_null(so, "dlopen: %s", dlerror());
  /* through memcpy: ISO C has no cast from object to function pointers */
  void *sym_type = dlsym(so, "H5PLget_plugin_type");
  void *sym_info = dlsym(so, "H5PLget_plugin_info");
  cr_assert_not_null(sym_type);
  cr_assert_not_null(sym_info);
  H5PL_type_t (*get_type)(void);
  const void *(*get_info)(void);
  memcpy(&get_type, &sym_type, sizeof get_type);
  memcpy(&get_info, &sym_info, sizeof get_info);
  cr_assert_eq(get_type(), H5PL_TYPE_FILTER);
  const H5Z_class2_t *cls = get_info();
  cr_assert_eq(cls->version, H5Z_CLASS_T_VERS);
  cr_assert_eq(cls->id, FLOE__H5Z_ZSTD);
  cr_assert(cls->encoder_present && cls->decoder_present);
  cr_assert_not_null(cls->filter);

  enum { N = 50000 };
  unsigned char *data = xmalloc(N);
  fill_smooth(data, N);
  size_t cap = N;
  void *buf = H5allocate_memory(N, 0);
  memcpy(buf, data, N);
  const unsigned level[1] = {7};
  size_t packed = cls->filter(0, 1, level, N, &cap, &buf);
  cr_assert_gt(packed, 0);
  cr_assert_lt(packed, N);
  cr_assert_eq(ZSTD_getFrameContentSize(buf, packed), N);
  size_t back = cls->filter(H5Z_FLAG_REVERSE, 1, level, packed, &cap, &buf);
  cr_assert_eq(back, N);
  cr_assert_geq(cap, N);
  cr_assert(memcmp(buf, data, N) == 0);
  /* no level: the default; a corrupt frame: 0 and the buffer kept */
  packed = cls->filter(0, 0, NULL, N, &cap, &buf);
  cr_assert_gt(packed, 0);
  ((unsigned char *)buf)[packed / 2] ^= 0x5a;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  cr_assert_eq(cls->filter(H5Z_FLAG_REVERSE, 0, NULL, packed, &cap, &buf), 0);
  cr_assert_eq(cls->filter(H5Z_FLAG_REVERSE, 0, NULL, 3, &cap, &buf), 0);
  H5free_memory(buf);
  free(data);
  dlclose(so);
}

/* HDF5 finds the plugin on its search path before floe registers anything;
 * floe then decodes what the plugin wrote and leaves the plugin in place. */
Test(plugin, loaded_by_hdf5_from_its_plugin_path, .init = quiet_hdf5) {
  cr_assert_geq(H5PLprepend(FLOE_PLUGIN_DIR), 0);
  cr_assert_gt(H5Zfilter_avail(FLOE__H5Z_ZSTD), 0);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(T_F64);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = create_dataset(file, "/x", "SZ", T_F64);
  cr_assert_geq(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  check_read(dset, T_F64, data);
  check_raw_chunks(dset, data, 2);
  H5Dclose(dset);
  H5Fclose(file);
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  unlink(path);
  free(data);
}

/* h5dump, a process without floe, reads floe's raw chunks through the
 * plugin.  Needs hdf5-tools; not under the sanitizers, whose runtime an
 * uninstrumented h5dump cannot load with the instrumented plugin. */
Test(plugin, h5dump_reads_floe_chunks, .init = quiet_hdf5) {
#if defined(TEST_ASAN) || defined(TEST_TSAN)
  cr_skip_test("h5dump cannot load a sanitizer-instrumented plugin");
#endif
  if (system("command -v h5dump > /dev/null 2>&1") != 0) {
    cr_skip_test("h5dump is not installed");
  }
  cr_assert_eq(floe__zstd_filter_register(), FLOE_OK);
  char path[64];
  temp_path(path, sizeof path);
  unsigned char *data = make_data(T_F64);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = create_dataset(file, "/x", "SZ", T_F64);
  write_raw_chunks(dset, data, 8, 0);
  H5Dclose(dset);
  H5Fclose(file);

  char cmd[512];
  snprintf(cmd, sizeof cmd, "HDF5_PLUGIN_PATH='%s' h5dump -d /x '%s' 2>&1", FLOE_PLUGIN_DIR, path);
  FILE *pipe = popen(cmd, "r");
  cr_assert_not_null(pipe);
  size_t cap = 1 << 20, len = 0;
  char *text = xmalloc(cap + 1);
  size_t got;
  while ((got = fread(text + len, 1, cap - len, pipe)) > 0) {
    len += got;
  }
  text[len] = '\0';
  int status = pclose(pipe);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "h5dump failed:\n%.2000s", text);
  /* x[0][1] = 3.25, x[44][69] = 1000 sin(2.2) + 207.25 */
  char want[64];
  snprintf(want, sizeof want, "%.6g", 1000.0 * sin(0.05 * 44) + 3.0 * 69 + 0.25);
  cr_assert(contains(text, "3.25,"), "no 3.25 in:\n%.2000s", text);
  cr_assert(contains(text, want), "no %s in:\n%.2000s", want, text);
  unlink(path);
  free(data), free(text);
}
