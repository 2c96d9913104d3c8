/* The memory budget through the public API (src/store and the chunk tasks
 * of src/graph/lower.c): the memory_limit and spill_dir options; results
 * under a limit bit-identical to those of an unlimited run; chunks read
 * from input files dropped and read again instead of spilled; persisted
 * arrays larger than the limit spilled to floe-spill-<pid>-<n>.h5 in
 * spill_dir and read back; spill files removed at floe_close, and stale ones
 * of dead processes at the next floe_open; an unusable spill directory and a
 * task that cannot fit, each with its status and a message; the peak memory
 * floe_plan predicts and floe_job_stats measures; the peak RSS of a process
 * that runs anomalies over a file many times the size of its limit.
 *
 * Sizes.  The pipelines run over 1 GiB arrays with a 64 MiB limit; under a
 * sanitizer (which slows this code down 3-15x and inflates RSS) over
 * 128 MiB arrays with a 16 MiB limit, so that the limit stays a small
 * fraction of the data.  Everything else is small.  Chunks are 2 MiB
 * (512 x 512 float64) unless a test says otherwise, and contexts run two
 * workers.
 *
 * Bounds.  The budget counts chunk data; beyond it each worker may hold
 * the working set of the task it runs.  Measured peaks (floe_job_stats) must
 * stay within limit + workers * 2 chunks; predicted ones (floe_plan) within
 * limit + workers * 4 chunks; the peak RSS of the anomalies process within
 * limit + 160 MiB (see pipelines/anomalies_of_a_file).
 *
 * Every test works in a directory of its own under /tmp (mkdtemp) with a
 * spill directory inside it, removed at the end. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe.h"
#include "testutil.h"

#define MIB (1ull << 20)
#define THREADS 2

#if defined(TEST_ASAN) || defined(TEST_TSAN)
#define SANITIZED 1
#define BIG_ROWS 2048 /* (2048, 8192) float64: 128 MiB */
#define BIG_LIMIT (16 * MIB)
#define CUBE_T 2048 /* (2048, 128, 128) float32: 128 MiB */
#else
#define BIG_ROWS 16384 /* (16384, 8192) float64: 1 GiB */
#define BIG_LIMIT (64 * MIB)
#define CUBE_T 16384 /* (16384, 128, 128) float32: 1 GiB */
#endif
#define BIG_COLS 8192
#define BIG_CHUNK 512   /* (512, 512) float64 */
#define CUBE_CHUNK_T 32 /* (32, 128, 128) float32 */
#define CHUNK_BYTES (2 * MIB)

/* Besides the chunk data the budget counts, the anomalies process holds
 * its code and libraries (libc, HDF5, Criterion: about 20 MiB), HDF5's
 * per-file caches, the allocator's slack, and per worker the working set of
 * its task: an input chunk, the output chunk on its way to the file and a
 * fused program's tiles (under 10 MiB for two workers).  160 MiB covers all
 * of these with room to spare, and is far below the 1 GiB the input would
 * take if it were held. */
#define RSS_OVERHEAD (160 * MIB)

/* One time limit for every suite, long enough for the pipelines on a busy
 * machine: Criterion's runner leaks a timer (which LeakSanitizer reports,
 * failing the run) when a test with a shorter limit ends while one with a
 * longer limit runs. */
#define TIMEOUT_S 300.0

/* ------------------------------------------------------- the test's folder */

static char g_dir[64];

/* Buffers freed at the end of the test, also when an assertion stops it
 * early (so that a failing test reports its failure, not a leak). */
static void *g_owned[64];
static int g_nowned;

static void *tmalloc(size_t n) {
  cr_assert_lt(g_nowned, 64);
  void *p = malloc(n > 0 ? n : 1);
  cr_assert_not_null(p, "out of memory for %zu bytes", n);
  g_owned[g_nowned++] = p;
  return p;
}

static void tfree(void *p) {
  for (int i = g_nowned - 1; i >= 0; i--) {
    if (g_owned[i] == p) {
      g_owned[i] = g_owned[--g_nowned];
      free(p);
      return;
    }
  }
  cr_assert_fail("tfree of a buffer not from tmalloc");
}

static int make_writable(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag == FTW_D || flag == FTW_DNR) {
    chmod(path, 0700);
  }
  return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void setup(void) {
  H5dont_atexit();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures below are expected */
  unsetenv("FLOE_MEMORY_LIMIT");         /* "unlimited" means the default here */
  unsetenv("FLOE_SPILL_DIR");
  snprintf(g_dir, sizeof g_dir, "/tmp/floe-test-memory-XXXXXX");
  cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void) {
  while (g_nowned > 0) {
    free(g_owned[--g_nowned]);
  }
  if (g_dir[0] != '\0') {
    /* directories a test made read-only first, then everything */
    nftw(g_dir, make_writable, 16, FTW_PHYS);
    nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_dir[0] = '\0';
  }
}

TestSuite(options, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);
TestSuite(budget, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);
TestSuite(plan, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);
TestSuite(nomem, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);
TestSuite(spill, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);
TestSuite(pipelines, .init = setup, .fini = teardown, .timeout = TIMEOUT_S);

/* A path in the test's folder; a ring of buffers, so that a few may be
 * alive at once. */
static const char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tpath(const char *fmt, ...) {
  static char ring[32][256];
  static int next;
  char *p = ring[next++ % 32];
  int n = snprintf(p, sizeof ring[0], "%s/", g_dir);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p + n, sizeof ring[0] - (size_t)n, fmt, ap);
  va_end(ap);
  return p;
}

/* A new directory in the test's folder. */
static const char *make_dir(const char *name) {
  const char *p = tpath("%s", name);
  cr_assert_eq(mkdir(p, 0700), 0, "mkdir %s: %s", p, strerror(errno));
  return p;
}

static bool exists(const char *path) {
  return access(path, F_OK) == 0;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* The names in `dir`, sorted, separated by spaces ("" when empty). */
static const char *listing(const char *dir) {
  static char out[4096];
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name);
  cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
  size_t len = 0;
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    const char *s = names[i]->d_name;
    if (strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && len < sizeof out) {
      len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", len ? " " : "", s);
    }
    free(names[i]);
  }
  free(names);
  return out;
}

/* Whether `name` is a spill file of process `pid`: floe-spill-<pid>-<n>.h5. */
static bool is_spill_of(const char *name, long pid) {
  char prefix[64];
  int n = snprintf(prefix, sizeof prefix, "floe-spill-%ld-", pid);
  if (strncmp(name, prefix, (size_t)n) != 0) {
    return false;
  }
  const char *p = name + n;
  if (!isdigit((unsigned char)*p)) {
    return false;
  }
  while (isdigit((unsigned char)*p)) {
    p++;
  }
  return strcmp(p, ".h5") == 0;
}

/* Spill files of process `pid` in `dir`. */
static int count_spill_files(const char *dir, long pid) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    n += is_spill_of(e->d_name, pid);
  }
  closedir(d);
  return n;
}

#define assert_has(text, needle)                                                                   \
  cr_assert(contains((text), (needle)), "'%s' does not contain '%s'", (text), (needle))

#define assert_ok(a) cr_assert_eq(floe_array_status(a), FLOE_OK, "%s", floe_array_message(a))

#define assert_empty(dir)                                                                          \
  cr_assert_str_eq(listing(dir), "", "%s holds '%s' after floe_close", (dir), listing(dir))

/* -------------------------------------------------------------- soft checks */

/* Failed checks of the running test: the pipelines log the first few and
 * assert once at the end (check_done), so that one defect does not hide the
 * others. */
static int g_failures;

#define soft_fail(...)                                                                             \
  do {                                                                                             \
    if (++g_failures <= 12) {                                                                      \
      cr_log_error(__VA_ARGS__);                                                                   \
    }                                                                                              \
  } while (0)

static void check_done(void) {
  cr_assert_eq(g_failures, 0, "%d checks failed (the first are logged above)", g_failures);
}

/* Compares n elements of isz bytes bit for bit; logs the first difference
 * (its index counted from `base`).  Returns whether they are equal. */
static bool same_bytes(const void *got, const void *want, int64_t n, size_t isz, int64_t base,
                       const char *what) {
  if (n <= 0 || memcmp(got, want, (size_t)n * isz) == 0) {
    return true;
  }
  const unsigned char *g = got, *w = want;
  int64_t i = 0;
  while (memcmp(g + (size_t)i * isz, w + (size_t)i * isz, isz) == 0) {
    i++;
  }
  char gs[40] = "", ws[40] = "";
  for (size_t k = 0; k < isz; k++) {
    snprintf(gs + 2 * k, 3, "%02x", g[(size_t)i * isz + k]);
    snprintf(ws + 2 * k, 3, "%02x", w[(size_t)i * isz + k]);
  }
  soft_fail("%s: element %lld is %s, expected %s (bytes, little-endian)", what,
            (long long)(base + i), gs, ws);
  return false;
}

/* Statistics of a run under `limit`: a measured peak within the limit plus
 * two chunks per worker; soft. */
static void expect_bounded(const floe_stats *st, uint64_t limit, int threads, uint64_t chunk,
                           const char *what) {
  uint64_t bound = limit + (uint64_t)threads * 2 * chunk;
  if (st->peak_memory == 0 || st->peak_memory > bound) {
    soft_fail("%s: peak_memory %llu bytes, expected 1 to %llu (the limit %llu + %d workers x 2 "
              "chunks of %llu)",
              what, (unsigned long long)st->peak_memory, (unsigned long long)bound,
              (unsigned long long)limit, threads, (unsigned long long)chunk);
  }
  if (!(st->wait_seconds >= 0.0) || !isfinite(st->wait_seconds)) {
    soft_fail("%s: wait_seconds %g", what, st->wait_seconds);
  }
  if (st->tasks == 0 || !(st->seconds > 0.0)) {
    soft_fail("%s: %llu tasks in %g s", what, (unsigned long long)st->tasks, st->seconds);
  }
}

/* A run that needed chunks of an input file twice and could not hold them:
 * they were dropped and read again, never spilled; soft. */
static void expect_reread_not_spilled(const floe_stats *st, const char *what) {
  if (st->bytes_reread == 0) {
    soft_fail("%s: bytes_reread is 0: the input was not read again", what);
  }
  if (st->bytes_spilled != 0 || st->bytes_reloaded != 0) {
    soft_fail("%s: %llu bytes spilled and %llu reloaded; chunks of input files are read again, "
              "not spilled",
              what, (unsigned long long)st->bytes_spilled, (unsigned long long)st->bytes_reloaded);
  }
}

/* ------------------------------------------------------------ floe helpers */

/* Opens a context of THREADS workers that spills to `spill` (NULL: the
 * test's folder; never the shared /tmp) with a memory limit of `limit`
 * bytes (0: the default).  No assertions: also used in child processes. */
static floe_status try_open(uint64_t limit, const char *spill, floe_ctx **ctx) {
  *ctx = NULL;
  floe_options *o = floe_options_new();
  if (o == NULL) {
    return FLOE_ERR_NOMEM;
  }
  floe_status st = floe_options_set(o, FLOE_OPT_THREADS, THREADS);
  if (st == FLOE_OK) {
    st = floe_options_set(o, FLOE_OPT_SPILL_DIR, spill != NULL ? spill : g_dir);
  }
  if (st == FLOE_OK && limit > 0) {
    st = floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, (uint64_t)limit);
  }
  if (st == FLOE_OK) {
    st = floe_open(o, ctx);
  }
  floe_options_free(o);
  return st;
}

static floe_ctx *open_ctx(uint64_t limit, const char *spill) {
  floe_ctx *ctx;
  floe_status st = try_open(limit, spill, &ctx);
  cr_assert_eq(st, FLOE_OK, "floe_open (limit %llu, spill_dir %s): %s: %s",
               (unsigned long long)limit, spill ? spill : g_dir, floe_status_name(st),
               floe_error_message(NULL));
  if (limit > 0) {
    cr_assert_eq(floe_ctx_memory_limit(ctx), limit);
  }
  return ctx;
}

/* Computes `a` into a new buffer (asserting success); tfree'd by the
 * caller or at the end of the test. */
static void *compute_new(floe_array *a, const char *what) {
  assert_ok(a);
  size_t nbytes = (size_t)floe_array_nbytes(a);
  void *buf = tmalloc(nbytes + 8);
  floe_status st = floe_compute(a, buf, nbytes);
  cr_assert_eq(st, FLOE_OK, "%s: %s: %s", what, floe_status_name(st), floe_error_message(NULL));
  return buf;
}

/* The context still computes: a small sum that needs no spill. */
static void assert_still_computes(floe_ctx *ctx) {
  double v = -1;
  floe_array *a = floe_ones(ctx, FLOE_FLOAT64, FLOE_SHAPE(1000), FLOE_SHAPE(100));
  floe_status st = floe_compute_scalar(floe_sum(a, FLOE_ALL), &v);
  cr_assert_eq(st, FLOE_OK, "a small sum: %s", floe_error_message(NULL));
  cr_assert_eq(v, 1000.0);
}

/* Whether `msg` says "bytes" and names a byte count: a decimal number of
 * at least `need`, or the limit itself. */
static bool names_byte_count(const char *msg, uint64_t need, uint64_t limit) {
  if (!contains(msg, "bytes")) {
    return false;
  }
  for (const char *p = msg; *p != '\0';) {
    if (isdigit((unsigned char)*p)) {
      char *end;
      unsigned long long v = strtoull(p, &end, 10);
      if (v >= need || v == limit) {
        return true;
      }
      p = end;
    } else {
      p++;
    }
  }
  return false;
}

/* ------------------------------------------------------- child processes */

/* What a child sends back: its status, a message, its statistics and its
 * peak RSS. */
typedef struct report {
  int status;
  int threads;
  floe_stats stats;
  uint64_t hwm_kib;
  char msg[1024];
} report;

/* Runs fn(arg, rep) in a child process and returns its exit code, with the
 * child's *rep copied back through a pipe: a crash then fails the test
 * with its signal instead of killing it before its folder is removed, and
 * the child's peak RSS is its own.  ThreadSanitizer cannot start threads in
 * a child forked from a threaded process: there fn runs in this one. */
static int in_child(int (*fn)(void *, report *), void *arg, report *rep, const char *what) {
  memset(rep, 0, sizeof *rep);
#if defined(TEST_TSAN)
  (void)what;
  return fn(arg, rep);
#else
  int fds[2];
  cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    int rc = fn(arg, rep);
    const char *p = (const char *)rep;
    size_t left = sizeof *rep;
    while (left > 0) {
      ssize_t n = write(fds[1], p, left);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        _exit(99);
      }
      p += n;
      left -= (size_t)n;
    }
    _exit(rc);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t n = read(fds[0], (char *)rep + got, sizeof *rep - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  close(fds[0]);
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "%s: killed by signal %d", what,
            WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  cr_assert_eq(got, sizeof *rep, "%s: the child sent %zu of %zu bytes (exit %d)", what, got,
               sizeof *rep, WEXITSTATUS(status));
  return WEXITSTATUS(status);
#endif
}

static uint64_t vm_hwm_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) {
    return 0;
  }
  char line[256];
  uint64_t v = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmHWM:", 6) == 0) {
      v = strtoull(line + 6, NULL, 10);
    }
  }
  fclose(f);
  return v;
}

/* --------------------------------------------------------------- inputs */

/* An input file: normal random numbers (mean 5, standard deviation 2) of
 * `dtype`, written by floe in file chunks `chunks`. */
typedef struct input {
  const char *path, *dataset;
  floe_dtype dtype;
  floe_shape shape, chunks;
  uint64_t seed;
  const char *compress; /* NULL: none */
} input;

static int write_input(void *arg, report *rep) {
  const input *in = arg;
  floe_ctx *ctx;
  floe_status st = try_open(0, NULL, &ctx);
  if (st != FLOE_OK) {
    snprintf(rep->msg, sizeof rep->msg, "floe_open: %s", floe_error_message(NULL));
    return 1;
  }
  floe_array *a = floe_random_normal(ctx, in->dtype, in->shape, in->chunks, in->seed, 5.0, 2.0);
  floe_options *o = floe_options_new();
  if (in->compress != NULL) {
    floe_options_set(o, FLOE_OPT_COMPRESS, in->compress);
  }
  st = floe_to_hdf5(a, in->path, in->dataset, o);
  floe_options_free(o);
  if (st != FLOE_OK) {
    snprintf(rep->msg, sizeof rep->msg, "writing %s: %s", in->path, floe_error_message(NULL));
  }
  floe_close(ctx);
  return st == FLOE_OK ? 0 : 2;
}

/* Small inputs are written here; large ones in a child, so that this
 * process stays small before it forks the one whose RSS is measured. */
static void make_input(const input *in, bool big) {
  report rep;
  memset(&rep, 0, sizeof rep);
  int rc = big ? in_child(write_input, (void *)in, &rep, "writing the input")
               : write_input((void *)in, &rep);
  cr_assert_eq(rc, 0, "%s", rep.msg);
}

/* ------------------------------------------------------------ HDF5 helpers */

typedef struct h5ds {
  hid_t file, dset, space;
  int rank;
  hsize_t dims[FLOE_MAX_DIMS];
} h5ds;

static h5ds h5_open(const char *path, const char *name) {
  h5ds d;
  d.file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  cr_assert_geq(d.file, 0, "H5Fopen %s", path);
  d.dset = H5Dopen2(d.file, name, H5P_DEFAULT);
  cr_assert_geq(d.dset, 0, "%s has no dataset '%s'", path, name);
  d.space = H5Dget_space(d.dset);
  d.rank = H5Sget_simple_extent_ndims(d.space);
  cr_assert(d.rank >= 0 && d.rank <= FLOE_MAX_DIMS);
  H5Sget_simple_extent_dims(d.space, d.dims, NULL);
  return d;
}

static void h5_close(h5ds *d) {
  H5Sclose(d->space);
  H5Dclose(d->dset);
  H5Fclose(d->file);
}

static int64_t h5_size(const h5ds *d) {
  int64_t n = 1;
  for (int k = 0; k < d->rank; k++) {
    n *= (int64_t)d->dims[k];
  }
  return n;
}

/* Reads rows [row0, row0 + nrows) along the first axis (the whole dataset
 * for a scalar) as `memtype`. */
static void h5_rows(const h5ds *d, hid_t memtype, hsize_t row0, hsize_t nrows, void *buf) {
  herr_t e;
  if (d->rank == 0) {
    e = H5Dread(d->dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  } else {
    hsize_t start[FLOE_MAX_DIMS] = {0}, count[FLOE_MAX_DIMS];
    memcpy(count, d->dims, sizeof count);
    start[0] = row0;
    count[0] = nrows;
    hid_t fs = H5Scopy(d->space);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(d->rank, count, NULL);
    e = H5Dread(d->dset, memtype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
  }
  cr_assert_geq(e, 0, "H5Dread rows %llu..%llu", (unsigned long long)row0,
                (unsigned long long)(row0 + nrows));
}

/* Compares dataset `name` of `path` bit for bit with `want` (n elements of
 * isz bytes as `memtype`), about 32 MiB at a time; soft. */
static void expect_dataset(const char *path, const char *name, hid_t memtype, const void *want,
                           int64_t n, const char *what) {
  size_t isz = H5Tget_size(memtype);
  h5ds d = h5_open(path, name);
  if (h5_size(&d) != n) {
    soft_fail("%s: %s:%s has %lld elements, expected %lld", what, path, name,
              (long long)h5_size(&d), (long long)n);
    h5_close(&d);
    return;
  }
  hsize_t rows = d.rank > 0 ? d.dims[0] : 1;
  int64_t per_row = rows > 0 ? n / (int64_t)rows : 0;
  hsize_t step = per_row > 0 ? (hsize_t)((32 * MIB) / ((uint64_t)per_row * isz)) : 1;
  step = step > 0 ? step : 1;
  void *buf = tmalloc((size_t)((uint64_t)per_row * isz * step) + 8);
  for (hsize_t r = 0; r < rows; r += step) {
    hsize_t nr = rows - r < step ? rows - r : step;
    h5_rows(&d, memtype, r, nr, buf);
    int64_t base = (int64_t)r * per_row;
    if (!same_bytes(buf, (const char *)want + (size_t)base * isz, (int64_t)nr * per_row, isz, base,
                    what)) {
      break;
    }
  }
  tfree(buf);
  h5_close(&d);
}

/* The whole of a small dataset, as `memtype`; tfree'd by the caller. */
static void *h5_get(const char *path, const char *name, hid_t memtype, int64_t *n) {
  h5ds d = h5_open(path, name);
  *n = h5_size(&d);
  void *buf = tmalloc((size_t)*n * H5Tget_size(memtype) + 8);
  h5_rows(&d, memtype, 0, d.rank > 0 ? d.dims[0] : 1, buf);
  h5_close(&d);
  return buf;
}

/* Dataset `name` of two files, bit for bit; soft. */
static void expect_same_datasets(const char *got_path, const char *want_path, const char *name,
                                 hid_t memtype) {
  int64_t n;
  void *want = h5_get(want_path, name, memtype, &n);
  char what[320];
  snprintf(what, sizeof what, "'%s' under the limit", name);
  expect_dataset(got_path, name, memtype, want, n, what);
  tfree(want);
}

/* ================================================================ options */

/* A limit of zero and garbage are refused by the setter with a message
 * that names the option and quotes the text; the options keep their last
 * good value. */
Test(options, bad_memory_limits_and_spill_dirs_are_refused) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, "64MiB"), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, 0), FLOE_ERR_INVALID);
  assert_has(floe_error_message(NULL), "memory_limit");
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, (uint64_t)0), FLOE_ERR_INVALID);
  assert_has(floe_error_message(NULL), "memory_limit");
  uint64_t huge = UINT64_MAX;
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, huge), FLOE_ERR_INVALID,
               "2^64 - 1 bytes was accepted");
  const char *bad[] = {"0", "0MiB", "0%", "-64MiB", "lots", "64 parsecs", "64MiB of RAM", "1e400"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, bad[i]), FLOE_ERR_INVALID,
                 "memory_limit '%s' was accepted", bad[i]);
    assert_has(floe_error_message(NULL), "memory_limit");
    assert_has(floe_error_message(NULL), bad[i]);
  }
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, ""), FLOE_ERR_INVALID);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_DIR, ""), FLOE_ERR_INVALID);
  assert_has(floe_error_message(NULL), "spill_dir");
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_DIR, g_dir), FLOE_OK);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(floe_ctx_memory_limit(ctx), 64 * MIB, "the last good limit was 64MiB, not %llu",
               (unsigned long long)floe_ctx_memory_limit(ctx));
  floe_close(ctx);
  /* the integer form of the setter, as the tests below use it */
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, (uint64_t)(3 * MIB)), FLOE_OK);
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(floe_ctx_memory_limit(ctx), 3 * MIB);
  floe_close(ctx);
  floe_options_free(o);
}

/* The same text in the environment fails floe_open, naming the variable. */
Test(options, a_bad_limit_in_the_environment_fails_floe_open) {
  const char *bad[] = {"0", "0%", "-1GB", "lots", "64 parsecs"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(setenv("FLOE_MEMORY_LIMIT", bad[i], 1), 0);
    floe_ctx *ctx = (floe_ctx *)&g_failures; /* must be reset to NULL */
    floe_status st = floe_open(NULL, &ctx);
    cr_assert_eq(st, FLOE_ERR_INVALID, "FLOE_MEMORY_LIMIT='%s': %s", bad[i], floe_status_name(st));
    cr_assert_null(ctx, "FLOE_MEMORY_LIMIT='%s': a context after a failed open", bad[i]);
    assert_has(floe_error_message(NULL), "FLOE_MEMORY_LIMIT");
    assert_has(floe_error_message(NULL), bad[i]);
  }
  cr_assert_eq(setenv("FLOE_MEMORY_LIMIT", "16MiB", 1), 0);
  floe_ctx *ctx = NULL;
  cr_assert_eq(floe_open(NULL, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(floe_ctx_memory_limit(ctx), 16 * MIB);
  floe_close(ctx);
  ctx = open_ctx(5 * MIB, NULL); /* an explicit option wins over the environment */
  floe_close(ctx);
  unsetenv("FLOE_MEMORY_LIMIT");
}

/* ================================================ input chunks: read again */

/* (2048, 2048) float64 in file chunks (256, 256) of 512 KiB: 32 MiB. */
#define SMALL_N 2048
#define SMALL_CHUNK 256
#define SMALL_CHUNK_BYTES ((uint64_t)SMALL_CHUNK * SMALL_CHUNK * 8)
#define SMALL_LIMIT (4 * MIB)

static void make_small_input(const char *path) {
  input in = {.path = path,
              .dataset = "x",
              .dtype = FLOE_FLOAT64,
              .shape = FLOE_SHAPE(SMALL_N, SMALL_N),
              .chunks = FLOE_SHAPE(SMALL_CHUNK, SMALL_CHUNK),
              .seed = 3};
  make_input(&in, false);
}

static floe_array *small_x(floe_ctx *ctx, const char *path) {
  floe_array *x = floe_from_hdf5(ctx, path, "x", FLOE_SHAPE(SMALL_CHUNK, SMALL_CHUNK));
  assert_ok(x);
  return x;
}

static floe_array *anomalies(floe_array *x) {
  return floe_subtract(x, floe_mean(x, FLOE_AXES(0)));
}

/* x - mean(x, axis=0) needs every chunk of x twice: under a limit an
 * eighth of x, the chunks are dropped after the mean has used them and read
 * from the file again for the subtraction, never spilled; the result is
 * that of an unlimited run, bit for bit. */
Test(budget, chunks_of_an_input_file_are_read_again_not_spilled) {
  const char *in = tpath("x.h5"), *spill = make_dir("spill");
  make_small_input(in);
  floe_ctx *ctx = open_ctx(SMALL_LIMIT, spill);
  floe_array *x = small_x(ctx, in);
  size_t nbytes = (size_t)floe_array_nbytes(x);
  double *got = tmalloc(nbytes);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, anomalies(x), got, nbytes), FLOE_OK);
  floe_status st = floe_job_run(job);
  cr_assert_eq(st, FLOE_OK, "under a 4 MiB limit: %s: %s", floe_status_name(st),
               floe_error_message(NULL));
  floe_stats s;
  cr_assert_eq(floe_job_stats(job, &s), FLOE_OK);
  cr_log_info("read %llu, read again %llu, spilled %llu, peak %llu bytes, waited %.3f s",
              (unsigned long long)s.bytes_read, (unsigned long long)s.bytes_reread,
              (unsigned long long)s.bytes_spilled, (unsigned long long)s.peak_memory,
              s.wait_seconds);
  expect_reread_not_spilled(&s, "x - mean(x, axis=0)");
  expect_bounded(&s, SMALL_LIMIT, floe_ctx_threads(ctx), SMALL_CHUNK_BYTES, "x - mean(x, axis=0)");
  if (s.bytes_read < nbytes) {
    soft_fail("bytes_read %llu: less than the %zu bytes of x", (unsigned long long)s.bytes_read,
              nbytes);
  }
  floe_job_free(job);
  floe_close(ctx);
  assert_empty(spill);

  floe_ctx *ref = open_ctx(0, spill);
  double *want = compute_new(anomalies(small_x(ref, in)), "unlimited");
  same_bytes(got, want, SMALL_N * SMALL_N, 8, 0, "x - mean(x, axis=0) under a limit");
  floe_close(ref);
  check_done();
}

/* ==================================================================== plan */

/* floe_plan predicts, before anything runs, a peak within the limit plus a
 * few chunks per worker; without a limit, at least a chunk of x. */
Test(plan, peak_memory_is_predicted_within_the_limit) {
  const char *in = tpath("x.h5"), *spill = make_dir("spill");
  make_small_input(in);
  floe_plan_info p;

  floe_ctx *ref = open_ctx(0, spill);
  memset(&p, 0, sizeof p);
  cr_assert_eq(floe_plan(anomalies(small_x(ref, in)), &p), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(p.tasks, 0);
  cr_assert_geq(p.peak_memory, SMALL_CHUNK_BYTES,
                "unlimited: a predicted peak of %llu bytes, less than one chunk of x",
                (unsigned long long)p.peak_memory);
  floe_close(ref);

  floe_ctx *ctx = open_ctx(SMALL_LIMIT, spill);
  uint64_t bound = SMALL_LIMIT + (uint64_t)floe_ctx_threads(ctx) * 4 * SMALL_CHUNK_BYTES;
  floe_array *x = small_x(ctx, in);
  memset(&p, 0, sizeof p);
  cr_assert_eq(floe_plan(anomalies(x), &p), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(p.tasks, 0);
  cr_assert(p.peak_memory >= SMALL_CHUNK_BYTES && p.peak_memory <= bound,
            "under a %llu-byte limit: a predicted peak of %llu bytes, expected %llu to %llu",
            (unsigned long long)SMALL_LIMIT, (unsigned long long)p.peak_memory,
            (unsigned long long)SMALL_CHUNK_BYTES, (unsigned long long)bound);

  /* a job of several outputs over x, likewise */
  size_t nbytes = (size_t)floe_array_nbytes(x);
  void *buf = tmalloc(nbytes);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, anomalies(x), buf, nbytes), FLOE_OK);
  cr_assert_eq(floe_job_add_hdf5(job, floe_std(x, FLOE_AXES(0)), tpath("std.h5"), "std", NULL),
               FLOE_OK);
  memset(&p, 0, sizeof p);
  cr_assert_eq(floe_job_plan(job, &p), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_gt(p.tasks, 0);
  cr_assert(p.peak_memory >= SMALL_CHUNK_BYTES && p.peak_memory <= bound,
            "a job under a %llu-byte limit: a predicted peak of %llu bytes, expected %llu to %llu",
            (unsigned long long)SMALL_LIMIT, (unsigned long long)p.peak_memory,
            (unsigned long long)SMALL_CHUNK_BYTES, (unsigned long long)bound);
  floe_job_free(job);
  floe_close(ctx);
}

/* ================================================================== nomem */

/* A memory_limit of 1 MiB and chunks of 8 MiB (zstd-compressed in the file,
 * so each must be decoded into a buffer of its own): no task can run.
 * Every compute fails with FLOE_ERR_NOMEM before it allocates or reads,
 * with a message that gives the bytes; no output file is left; floe_plan
 * still reports the graph; the context goes on working. */
Test(nomem, a_task_that_cannot_fit_fails_before_it_allocates) {
  const uint64_t limit = 1 * MIB, chunk = 8 * MIB;
  const char *in = tpath("x.h5"), *out = tpath("y.h5"), *spill = make_dir("spill");
  input spec = {.path = in,
                .dataset = "x",
                .dtype = FLOE_FLOAT64,
                .shape = FLOE_SHAPE(2048, 2048),
                .chunks = FLOE_SHAPE(1024, 1024),
                .seed = 5,
                .compress = "zstd:1"};
  make_input(&spec, false);
  floe_ctx *ctx = open_ctx(limit, spill);
  floe_array *x = floe_from_hdf5(ctx, in, "x", FLOE_SHAPE(1024, 1024));
  assert_ok(x);
  floe_array *y = floe_add(x, floe_scalar(ctx, 1.0));

  floe_plan_info p;
  memset(&p, 0, sizeof p);
  cr_assert_eq(floe_plan(y, &p), FLOE_OK, "floe_plan: %s", floe_error_message(NULL));
  cr_assert_gt(p.tasks, 0);
  cr_assert_geq(p.peak_memory, chunk,
                "a predicted peak of %llu bytes, less than the one 8 MiB chunk a task needs",
                (unsigned long long)p.peak_memory);

  size_t nbytes = (size_t)floe_array_nbytes(y);
  void *buf = tmalloc(nbytes);
  floe_status st = floe_compute(y, buf, nbytes);
  const char *msg = floe_error_message(ctx);
  cr_assert_eq(st, FLOE_ERR_NOMEM, "floe_compute: %s: %s", floe_status_name(st), msg);
  cr_assert(names_byte_count(msg, chunk, limit),
            "the message does not give the bytes needed (>= %llu) or the limit: '%s'",
            (unsigned long long)chunk, msg);

  st = floe_to_hdf5(y, out, "y", NULL);
  msg = floe_error_message(ctx);
  cr_assert_eq(st, FLOE_ERR_NOMEM, "floe_to_hdf5: %s: %s", floe_status_name(st), msg);
  cr_assert(names_byte_count(msg, chunk, limit), "floe_to_hdf5: '%s'", msg);
  cr_assert(!exists(out), "a failed floe_to_hdf5 left %s", out);

  double total = 0;
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_buffer(job, floe_sum(x, FLOE_ALL), &total, sizeof total), FLOE_OK);
  st = floe_job_run(job);
  msg = floe_error_message(ctx);
  cr_assert_eq(st, FLOE_ERR_NOMEM, "floe_job_run: %s: %s", floe_status_name(st), msg);
  cr_assert(names_byte_count(msg, chunk, limit), "floe_job_run: '%s'", msg);
  floe_stats s;
  cr_assert_eq(floe_job_stats(job, &s), FLOE_OK);
  cr_assert_lt(s.peak_memory, chunk, "the failed job held %llu bytes at once: it allocated",
               (unsigned long long)s.peak_memory);
  cr_assert_eq(s.bytes_read, 0, "the failed job read %llu bytes", (unsigned long long)s.bytes_read);
  floe_job_free(job);

  assert_still_computes(ctx);
  floe_close(ctx);
  assert_empty(spill);
}

/* ================================================================== spill */

#if defined(SANITIZED)
#define SPILL_ROWS 2048 /* (2048, 2048) float64: 32 MiB */
#define SPILL_LIMIT (4 * MIB)
#else
#define SPILL_ROWS 4096 /* (4096, 2048) float64: 64 MiB */
#define SPILL_LIMIT (8 * MIB)
#endif
#define SPILL_COLS 2048

static floe_array *spill_random(floe_ctx *ctx, uint64_t seed) {
  return floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(SPILL_ROWS, SPILL_COLS),
                             FLOE_SHAPE(BIG_CHUNK, BIG_CHUNK), seed, -1.0, 1.0);
}

/* Reductions of a persisted p and of p * 2, computed in one job. */
typedef struct reductions {
  double total;
  double *colsum2; /* sum(p * 2, axis=0) */
  double *rowmax2; /* max(p * 2, axis=1) */
  int64_t rows, cols;
  floe_stats stats;
} reductions;

static void reduce_persisted(floe_array *p, reductions *r, const char *what) {
  floe_shape sh = floe_array_shape(p);
  r->rows = sh.dim[0];
  r->cols = sh.dim[1];
  r->colsum2 = tmalloc((size_t)r->cols * 8);
  r->rowmax2 = tmalloc((size_t)r->rows * 8);
  floe_ctx *ctx = floe_array_ctx(p);
  floe_array *p2 = floe_multiply(p, floe_scalar(ctx, 2.0));
  floe_job *job = floe_job_new(ctx);
  cr_assert_not_null(job);
  cr_assert_eq(floe_job_add_buffer(job, floe_sum(p, FLOE_ALL), &r->total, 8), FLOE_OK);
  cr_assert_eq(
      floe_job_add_buffer(job, floe_sum(p2, FLOE_AXES(0)), r->colsum2, (size_t)r->cols * 8),
      FLOE_OK);
  cr_assert_eq(
      floe_job_add_buffer(job, floe_max(p2, FLOE_AXES(1)), r->rowmax2, (size_t)r->rows * 8),
      FLOE_OK);
  floe_status st = floe_job_run(job);
  cr_assert_eq(st, FLOE_OK, "%s: %s: %s", what, floe_status_name(st), floe_error_message(NULL));
  floe_job_stats(job, &r->stats);
  floe_job_free(job);
}

static void expect_same_reductions(const reductions *got, const reductions *want,
                                   const char *what) {
  char w[256];
  snprintf(w, sizeof w, "%s: sum(p)", what);
  same_bytes(&got->total, &want->total, 1, 8, 0, w);
  snprintf(w, sizeof w, "%s: sum(p * 2, axis=0)", what);
  same_bytes(got->colsum2, want->colsum2, want->cols, 8, 0, w);
  snprintf(w, sizeof w, "%s: max(p * 2, axis=1)", what);
  same_bytes(got->rowmax2, want->rowmax2, want->rows, 8, 0, w);
}

static void free_reductions(reductions *r) {
  tfree(r->colsum2);
  tfree(r->rowmax2);
}

/* A persisted array eight times the limit: its chunks go to
 * floe-spill-<pid>-<n>.h5 in spill_dir; computes read them back exactly,
 * twice; floe_close removes the file. */
Test(spill, a_persisted_array_larger_than_the_limit_is_spilled_and_read_back) {
  const char *spill = make_dir("spill");
  floe_ctx *ctx = open_ctx(SPILL_LIMIT, spill);
  floe_array *p = floe_persist(spill_random(ctx, 11));
  assert_ok(p);
  cr_assert_geq(count_spill_files(spill, (long)getpid()), 1,
                "no floe-spill-%ld-<n>.h5 in %s while a persisted array larger than the limit "
                "is alive (it holds '%s')",
                (long)getpid(), spill, listing(spill));

  reductions got, again, want;
  reduce_persisted(p, &got, "reductions of p under the limit");
  if (got.stats.bytes_reloaded == 0) {
    soft_fail("bytes_reloaded is 0 after reading a persisted array 8x the limit");
  }
  expect_bounded(&got.stats, SPILL_LIMIT, floe_ctx_threads(ctx), CHUNK_BYTES, "reductions of p");
  reduce_persisted(p, &again, "reductions of p, again");
  expect_same_reductions(&again, &got, "the second read");
  void *all = compute_new(p, "p itself");

  floe_ctx *ref = open_ctx(0, spill);
  floe_array *r = spill_random(ref, 11);
  void *want_all = compute_new(r, "the random numbers");
  same_bytes(all, want_all, SPILL_ROWS * SPILL_COLS, 8, 0, "p read back from the spill file");
  floe_array *pu = floe_persist(r);
  assert_ok(pu);
  reduce_persisted(pu, &want, "reductions of p without a limit");
  expect_same_reductions(&got, &want, "under the limit");
  tfree(all);
  tfree(want_all);
  free_reductions(&got);
  free_reductions(&again);
  free_reductions(&want);
  floe_close(ref);
  floe_close(ctx);
  assert_empty(spill);
  check_done();
}

/* Two contexts of one process spill to one directory: each its own file
 * (the <n> of floe-spill-<pid>-<n>.h5), the second floe_open leaves the
 * first context's file alone, and closing one context leaves the other's. */
Test(spill, two_contexts_keep_their_own_spill_files) {
  const char *spill = make_dir("spill");
  long pid = (long)getpid();
  floe_ctx *a = open_ctx(SPILL_LIMIT, spill);
  floe_array *pa = floe_persist(spill_random(a, 1));
  assert_ok(pa);
  int na = count_spill_files(spill, pid);
  cr_assert_geq(na, 1, "no spill file in %s: '%s'", spill, listing(spill));
  floe_ctx *b = open_ctx(SPILL_LIMIT, spill);
  cr_assert_eq(count_spill_files(spill, pid), na, "opening a second context removed '%s'",
               listing(spill));
  floe_array *pb = floe_persist(spill_random(b, 2));
  assert_ok(pb);
  cr_assert_gt(count_spill_files(spill, pid), na, "the two contexts share a spill file: '%s'",
               listing(spill));
  floe_close(a);
  cr_assert_geq(count_spill_files(spill, pid), 1,
                "closing one context removed the other's spill file: '%s'", listing(spill));

  floe_ctx *ref = open_ctx(0, spill);
  void *want = compute_new(spill_random(ref, 2), "the random numbers");
  void *got = compute_new(pb, "the other context's persisted array");
  same_bytes(got, want, SPILL_ROWS * SPILL_COLS, 8, 0, "p of the context still open");
  tfree(got);
  tfree(want);
  floe_close(ref);
  floe_close(b);
  assert_empty(spill);
  check_done();
}

/* The next floe_open with a spill_dir removes spill files of processes that
 * have died, and nothing else: not those of a live process, not files that
 * only look alike. */
Test(spill, stale_files_of_dead_processes_are_removed_at_open) {
  const char *spill = make_dir("spill");
  fflush(NULL);
  pid_t dead = fork();
  cr_assert_geq(dead, 0, "fork: %s", strerror(errno));
  if (dead == 0) {
    _exit(0);
  }
  cr_assert_eq(waitpid(dead, NULL, 0), dead);
  long live = (long)getppid();
  cr_assert_neq(live, (long)dead);
  char stale0[256], stale12[256], alive[256], lookalike[256];
  snprintf(stale0, sizeof stale0, "%s/floe-spill-%ld-0.h5", spill, (long)dead);
  snprintf(stale12, sizeof stale12, "%s/floe-spill-%ld-12.h5", spill, (long)dead);
  snprintf(alive, sizeof alive, "%s/floe-spill-%ld-0.h5", spill, live);
  snprintf(lookalike, sizeof lookalike, "%s/floe-spill-%ld-0.h5.bak", spill, (long)dead);
  const char *data = tpath("spill/data.h5"), *notes = tpath("spill/notes.txt");
  const char *made[] = {stale0, stale12, alive, lookalike, data, notes};
  for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
    write_text(made[i], "not really HDF5\n");
  }

  floe_ctx *ctx = open_ctx(SPILL_LIMIT, spill);
  cr_assert(!exists(stale0), "the spill file of dead process %ld is still there: '%s'", (long)dead,
            listing(spill));
  cr_assert(!exists(stale12), "a spill file of dead process %ld is still there: '%s'", (long)dead,
            listing(spill));
  cr_assert(exists(alive), "the spill file of live process %ld was removed", live);
  cr_assert(exists(lookalike), "%s is not a spill file but was removed", lookalike);
  cr_assert(exists(data) && exists(notes), "other files were removed: '%s'", listing(spill));
  floe_close(ctx);
  cr_assert(exists(alive), "floe_close removed another process's spill file");
  cr_assert(exists(lookalike) && exists(data) && exists(notes), "floe_close removed '%s'",
            listing(spill));
}

/* Persists an array eight times the limit with spill_dir `bad`: the
 * persist and a write to a file that depends on it fail with FLOE_ERR_IO
 * and a message naming the directory, leave no output file, and the
 * context goes on working. */
static void expect_spill_fails(const char *bad, const char *what) {
  const char *out = tpath("out.h5");
  floe_ctx *ctx = open_ctx(SPILL_LIMIT, bad);
  assert_still_computes(ctx);
  floe_array *r = spill_random(ctx, 7);
  floe_array *p = floe_persist(r);
  cr_assert_eq(floe_array_status(p), FLOE_ERR_IO, "%s: persisting 8x the limit: %s: %s", what,
               floe_status_name(floe_array_status(p)), floe_array_message(p));
  assert_has(floe_array_message(p), bad);
  assert_has(floe_error_message(ctx), bad);

  floe_status st =
      floe_to_hdf5(floe_multiply(floe_persist(r), floe_scalar(ctx, 2.0)), out, "y", NULL);
  cr_assert_eq(st, FLOE_ERR_IO, "%s: floe_to_hdf5: %s: %s", what, floe_status_name(st),
               floe_error_message(ctx));
  assert_has(floe_error_message(ctx), bad);
  cr_assert(!exists(out), "%s: a failed compute left %s", what, out);
  assert_still_computes(ctx);
  floe_close(ctx);
  cr_assert(!exists(out));
}

Test(spill, an_unusable_spill_dir_fails_the_compute_that_spills) {
  /* a directory that does not exist (and is not created) */
  const char *missing = tpath("missing");
  expect_spill_fails(missing, "a missing spill_dir");
  cr_assert(!exists(missing), "%s was created", missing);

  /* a regular file, left as it was */
  const char *file = tpath("file");
  write_text(file, "a file, not a directory\n");
  expect_spill_fails(file, "a spill_dir that is a file");
  struct stat sb;
  cr_assert_eq(stat(file, &sb), 0);
  cr_assert(S_ISREG(sb.st_mode) && sb.st_size == 24, "the file %s changed", file);

  /* a directory without write permission: root writes there anyway */
  if (geteuid() == 0) {
    cr_log_info("running as root, which ignores permissions: the read-only spill_dir case "
                "is skipped");
  } else {
    const char *ro = make_dir("readonly");
    cr_assert_eq(chmod(ro, 0500), 0);
    expect_spill_fails(ro, "a read-only spill_dir");
    chmod(ro, 0700);
    assert_empty(ro);
  }
}

/* ============================================================== pipelines */

static floe_array *big_x(floe_ctx *ctx, const char *path) {
  floe_array *x = floe_from_hdf5(ctx, path, "x", FLOE_SHAPE(BIG_CHUNK, BIG_CHUNK));
  assert_ok(x);
  return x;
}

static void make_big_input(const char *path) {
  input in = {.path = path,
              .dataset = "x",
              .dtype = FLOE_FLOAT64,
              .shape = FLOE_SHAPE(BIG_ROWS, BIG_COLS),
              .chunks = FLOE_SHAPE(BIG_CHUNK, BIG_CHUNK),
              .seed = 21};
  make_input(&in, true);
}

typedef struct anomalies_job {
  const char *in, *out, *spill;
} anomalies_job;

/* In the child: anomalies of the file written to another file under
 * BIG_LIMIT, then the process's peak RSS. */
static int run_anomalies(void *arg, report *rep) {
  const anomalies_job *a = arg;
  floe_ctx *ctx;
  floe_status st = try_open(BIG_LIMIT, a->spill, &ctx);
  if (st != FLOE_OK) {
    snprintf(rep->msg, sizeof rep->msg, "floe_open: %s", floe_error_message(NULL));
    return 1;
  }
  rep->threads = floe_ctx_threads(ctx);
  floe_array *x = floe_from_hdf5(ctx, a->in, "x", FLOE_SHAPE(BIG_CHUNK, BIG_CHUNK));
  floe_job *job = floe_job_new(ctx);
  floe_job_add_hdf5(job, anomalies(x), a->out, "anom", NULL);
  st = floe_job_run(job);
  rep->status = (int)st;
  snprintf(rep->msg, sizeof rep->msg, "%s", floe_error_message(NULL));
  floe_job_stats(job, &rep->stats);
  floe_job_free(job);
  floe_close(ctx);
  rep->hwm_kib = vm_hwm_kib();
  return st == FLOE_OK ? 0 : 2;
}

/* x - mean(x, axis=0) over a 1 GiB file into a 1 GiB file, in a process of
 * its own with a 64 MiB limit: the file holds exactly what an unlimited
 * run computes, the chunks of x were read again rather than spilled, and
 * the process's peak RSS stayed under the limit plus RSS_OVERHEAD.  The
 * sanitizers inflate RSS, so there the run is checked but not its RSS. */
Test(pipelines, anomalies_of_a_file) {
  anomalies_job a = {tpath("x.h5"), tpath("anom.h5"), make_dir("spill")};
  make_big_input(a.in);
  report rep;
  int rc = in_child(run_anomalies, &a, &rep, "anomalies under the limit");
  cr_assert_eq(rc, 0, "anomalies under a %llu MiB limit: %s: %s",
               (unsigned long long)(BIG_LIMIT / MIB), floe_status_name((floe_status)rep.status),
               rep.msg);
  cr_log_info("anomalies: %.2f s, read %llu, read again %llu, spilled %llu, peak %llu bytes, "
              "peak RSS %llu KiB",
              rep.stats.seconds, (unsigned long long)rep.stats.bytes_read,
              (unsigned long long)rep.stats.bytes_reread,
              (unsigned long long)rep.stats.bytes_spilled,
              (unsigned long long)rep.stats.peak_memory, (unsigned long long)rep.hwm_kib);
  expect_reread_not_spilled(&rep.stats, "anomalies");
  expect_bounded(&rep.stats, BIG_LIMIT, rep.threads, CHUNK_BYTES, "anomalies");
  if (listing(a.spill)[0] != '\0') {
    soft_fail("the spill directory holds '%s' after floe_close", listing(a.spill));
  }
#if defined(SANITIZED)
  cr_log_info("built with a sanitizer: the peak RSS (%llu KiB) is not checked",
              (unsigned long long)rep.hwm_kib);
#else
  uint64_t rss = rep.hwm_kib * 1024, bound = BIG_LIMIT + RSS_OVERHEAD;
  if (rss == 0 || rss > bound) {
    soft_fail("peak RSS %llu MiB, expected at most %llu MiB (the limit %llu MiB + %llu MiB)",
              (unsigned long long)(rss / MIB), (unsigned long long)(bound / MIB),
              (unsigned long long)(BIG_LIMIT / MIB), (unsigned long long)(RSS_OVERHEAD / MIB));
  }
#endif

  floe_ctx *ref = open_ctx(0, a.spill);
  void *want = compute_new(anomalies(big_x(ref, a.in)), "unlimited anomalies");
  floe_close(ref);
  expect_dataset(a.out, "anom", H5T_NATIVE_DOUBLE, want, (int64_t)BIG_ROWS * BIG_COLS,
                 "anomalies under the limit");
  tfree(want);
  check_done();
}

static floe_array *big_random(floe_ctx *ctx, uint64_t seed) {
  return floe_random_uniform(ctx, FLOE_FLOAT64, FLOE_SHAPE(BIG_ROWS, BIG_COLS),
                             FLOE_SHAPE(BIG_CHUNK, BIG_CHUNK), seed, -1.0, 1.0);
}

/* p = floe_persist(1 GiB of random numbers) under a 64 MiB limit, read by
 * two computes of reductions of p and p * 2: the results of the same
 * computes without a limit, bit for bit. */
Test(pipelines, a_persisted_array_read_twice) {
  const char *spill = make_dir("spill");
  floe_ctx *ctx = open_ctx(BIG_LIMIT, spill);
  floe_array *p = floe_persist(big_random(ctx, 31));
  assert_ok(p);
  cr_assert_geq(count_spill_files(spill, (long)getpid()), 1, "no spill file in %s: '%s'", spill,
                listing(spill));
  reductions got, again, want;
  reduce_persisted(p, &got, "reductions of p under the limit");
  reduce_persisted(p, &again, "reductions of p under the limit, again");
  cr_log_info("reductions of p: %.2f s, reloaded %llu, spilled %llu, peak %llu bytes",
              got.stats.seconds, (unsigned long long)got.stats.bytes_reloaded,
              (unsigned long long)got.stats.bytes_spilled,
              (unsigned long long)got.stats.peak_memory);
  if (got.stats.bytes_reloaded == 0 || again.stats.bytes_reloaded == 0) {
    soft_fail("bytes_reloaded %llu then %llu: p, many times the limit, was not read back from "
              "the spill file",
              (unsigned long long)got.stats.bytes_reloaded,
              (unsigned long long)again.stats.bytes_reloaded);
  }
  expect_bounded(&got.stats, BIG_LIMIT, floe_ctx_threads(ctx), CHUNK_BYTES, "reductions of p");
  expect_bounded(&again.stats, BIG_LIMIT, floe_ctx_threads(ctx), CHUNK_BYTES,
                 "reductions of p, again");
  expect_same_reductions(&again, &got, "the second read");
  floe_close(ctx);
  if (listing(spill)[0] != '\0') {
    soft_fail("the spill directory holds '%s' after floe_close", listing(spill));
  }

  floe_ctx *ref = open_ctx(0, spill);
  floe_array *pu = floe_persist(big_random(ref, 31));
  assert_ok(pu);
  reduce_persisted(pu, &want, "reductions of p without a limit");
  expect_same_reductions(&got, &want, "under the limit");
  floe_close(ref);
  free_reductions(&got);
  free_reductions(&again);
  free_reductions(&want);
  check_done();
}

/* One job, three outputs sharing x and mean(x, axis=0): two datasets in a
 * file and one buffer. */
typedef struct three {
  double *rowmax; /* max(x - mean(x, axis=0), axis=1) */
  floe_stats stats;
  int threads;
} three;

static void run_three(floe_ctx *ctx, const char *in, const char *out, three *t) {
  floe_array *x = big_x(ctx, in);
  floe_array *m = floe_mean(x, FLOE_AXES(0));
  floe_array *anom = floe_subtract(x, m);
  t->rowmax = tmalloc((size_t)BIG_ROWS * 8);
  t->threads = floe_ctx_threads(ctx);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_hdf5(job, m, out, "colmean", NULL), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(floe_job_add_hdf5(job, floe_std(anom, FLOE_AXES(0)), out, "/stats/anomstd", NULL),
               FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_eq(
      floe_job_add_buffer(job, floe_max(anom, FLOE_AXES(1)), t->rowmax, (size_t)BIG_ROWS * 8),
      FLOE_OK);
  floe_status st = floe_job_run(job);
  cr_assert_eq(st, FLOE_OK, "the job (limit %llu): %s: %s",
               (unsigned long long)floe_ctx_memory_limit(ctx), floe_status_name(st),
               floe_error_message(NULL));
  floe_job_stats(job, &t->stats);
  floe_job_free(job);
}

Test(pipelines, a_job_with_three_outputs_sharing_x) {
  const char *in = tpath("x.h5"), *spill = make_dir("spill");
  const char *out = tpath("limited.h5"), *ref_out = tpath("unlimited.h5");
  make_big_input(in);
  three got, want;
  floe_ctx *ctx = open_ctx(BIG_LIMIT, spill);
  run_three(ctx, in, out, &got);
  floe_close(ctx);
  cr_log_info("three outputs: %.2f s, read %llu, read again %llu, spilled %llu, peak %llu bytes",
              got.stats.seconds, (unsigned long long)got.stats.bytes_read,
              (unsigned long long)got.stats.bytes_reread,
              (unsigned long long)got.stats.bytes_spilled,
              (unsigned long long)got.stats.peak_memory);
  expect_reread_not_spilled(&got.stats, "the job of three outputs");
  expect_bounded(&got.stats, BIG_LIMIT, got.threads, CHUNK_BYTES, "the job of three outputs");
  if (listing(spill)[0] != '\0') {
    soft_fail("the spill directory holds '%s' after floe_close", listing(spill));
  }

  floe_ctx *ref = open_ctx(0, spill);
  run_three(ref, in, ref_out, &want);
  floe_close(ref);
  expect_same_datasets(out, ref_out, "colmean", H5T_NATIVE_DOUBLE);
  expect_same_datasets(out, ref_out, "/stats/anomstd", H5T_NATIVE_DOUBLE);
  same_bytes(got.rowmax, want.rowmax, BIG_ROWS, 8, 0, "max(x - mean(x, axis=0), axis=1)");
  tfree(got.rowmax);
  tfree(want.rowmax);
  check_done();
}

/* The climatology of the C walkthrough over a 1 GiB float32 cube
 * [time, lat, lon] in a file: its mean over time, the spread of the
 * anomalies about it (both written to a file) and the standard deviation
 * of the cube over time (into memory). */
typedef struct climate {
  float *std; /* std(t, axis=0) */
  floe_stats stats;
  int threads;
} climate;

static void run_climatology(floe_ctx *ctx, const char *in, const char *out, climate *c) {
  floe_array *t = floe_from_hdf5(ctx, in, "temperature", FLOE_SHAPE(CUBE_CHUNK_T, 128, 128));
  assert_ok(t);
  floe_array *clim = floe_mean(t, FLOE_AXES(0));
  floe_array *spread = floe_std(floe_subtract(t, clim), FLOE_AXES(0));
  c->std = tmalloc(128 * 128 * sizeof(float));
  c->threads = floe_ctx_threads(ctx);
  floe_job *job = floe_job_new(ctx);
  cr_assert_eq(floe_job_add_hdf5(job, clim, out, "climatology", NULL), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(floe_job_add_hdf5(job, spread, out, "spread", NULL), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(
      floe_job_add_buffer(job, floe_std(t, FLOE_AXES(0)), c->std, 128 * 128 * sizeof(float)),
      FLOE_OK, "%s", floe_error_message(NULL));
  floe_status st = floe_job_run(job);
  cr_assert_eq(st, FLOE_OK, "the climatology (limit %llu): %s: %s",
               (unsigned long long)floe_ctx_memory_limit(ctx), floe_status_name(st),
               floe_error_message(NULL));
  floe_job_stats(job, &c->stats);
  floe_job_free(job);
}

Test(pipelines, climatology_of_a_cube) {
  const char *in = tpath("climate.h5"), *spill = make_dir("spill");
  const char *out = tpath("limited.h5"), *ref_out = tpath("unlimited.h5");
  input spec = {.path = in,
                .dataset = "temperature",
                .dtype = FLOE_FLOAT32,
                .shape = FLOE_SHAPE(CUBE_T, 128, 128),
                .chunks = FLOE_SHAPE(CUBE_CHUNK_T, 128, 128),
                .seed = 41};
  make_input(&spec, true);
  climate got, want;
  floe_ctx *ctx = open_ctx(BIG_LIMIT, spill);
  run_climatology(ctx, in, out, &got);
  floe_close(ctx);
  cr_log_info("climatology: %.2f s, read %llu, read again %llu, spilled %llu, peak %llu bytes",
              got.stats.seconds, (unsigned long long)got.stats.bytes_read,
              (unsigned long long)got.stats.bytes_reread,
              (unsigned long long)got.stats.bytes_spilled,
              (unsigned long long)got.stats.peak_memory);
  expect_reread_not_spilled(&got.stats, "the climatology");
  expect_bounded(&got.stats, BIG_LIMIT, got.threads, CHUNK_BYTES, "the climatology");
  if (listing(spill)[0] != '\0') {
    soft_fail("the spill directory holds '%s' after floe_close", listing(spill));
  }

  floe_ctx *ref = open_ctx(0, spill);
  run_climatology(ref, in, ref_out, &want);
  floe_close(ref);
  expect_same_datasets(out, ref_out, "climatology", H5T_NATIVE_FLOAT);
  expect_same_datasets(out, ref_out, "spread", H5T_NATIVE_FLOAT);
  same_bytes(got.std, want.std, 128 * 128, sizeof(float), 0, "std(t, axis=0)");
  tfree(got.std);
  tfree(want.std);
  check_done();
}
