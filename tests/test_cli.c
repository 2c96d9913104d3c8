/* The floe command (src/cli), run as a program: every test works in its own
 * temporary directory, makes its input files with the library
 * (floe_to_hdf5), spawns the built binary (FLOE_CLI_PATH) and checks its
 * exit status, stdout and stderr, and the files it wrote, read back with
 * the HDF5 C API and compared with values computed here by plain loops. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "floe.h"

extern char **environ;

/* ------------------------------------------------------------- fixture */

static char dir[256];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static void setup(void) {
  snprintf(dir, sizeof dir, "%s/floe-test-cli-XXXXXX",
           getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
  cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  cr_assert_eq(chdir(dir), 0);
  /* the commands run with two workers and nothing from the caller's setup */
  setenv("FLOE_THREADS", "2", 1);
  unsetenv("FLOE_COMPRESS");
  unsetenv("FLOE_OVERWRITE");
  unsetenv("FLOE_MEMORY_LIMIT");
  unsetenv("FLOE_PROFILE_PATH");
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void) {
  if (chdir("/") == 0) {
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
}

TestSuite(cli, .init = setup, .fini = teardown);

/* ------------------------------------------------------------- running */

typedef struct result {
  int status; /* exit status, or 128 + signal */
  char out[65536], err[16384];
} result;

static void slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;
  buf[n] = '\0';
  if (f != NULL) {
    fclose(f);
  }
}

/* Runs `floe ARGS...` (args NULL-terminated) in the test's directory. */
static result *floe_runv(const char *const *args) {
  static result r;
  const char *argv[64] = {FLOE_CLI_PATH};
  int argc = 1;
  for (; args[argc - 1] != NULL && argc < 63; argc++) {
    argv[argc] = args[argc - 1];
  }
  argv[argc] = NULL;
  int out = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(out >= 0 && err >= 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO);
  pid_t pid;
  int rc = posix_spawn(&pid, FLOE_CLI_PATH, &fa, NULL, (char *const *)argv, environ);
  cr_assert_eq(rc, 0, "cannot start %s: %s", FLOE_CLI_PATH, strerror(rc));
  posix_spawn_file_actions_destroy(&fa);
  close(out);
  close(err);
  int ws;
  cr_assert_eq(waitpid(pid, &ws, 0), pid);
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  slurp("stdout.txt", r.out, sizeof r.out);
  slurp("stderr.txt", r.err, sizeof r.err);
  remove("stdout.txt");
  remove("stderr.txt");
  return &r;
}

#define floe_run(...) floe_runv((const char *const[]){__VA_ARGS__})

#define expect_status(r, want)                                                                     \
  cr_assert_eq((r)->status, (want), "exit status %d, expected %d\nstdout:\n%s\nstderr:\n%s",       \
               (r)->status, (want), (r)->out, (r)->err)

#define expect_contains(text, what)                                                                \
  cr_assert_not_null(strstr((text), (what)), "expected \"%s\" in:\n%s", (what), (text))

/* Every line written to stderr by a failing command is a "floe: " message
 * (continuation lines of the caret display aside). */
static void expect_message(const result *r, const char *what) {
  cr_assert(strncmp(r->err, "floe: ", 6) == 0, "stderr does not start with 'floe: ':\n%s", r->err);
  expect_contains(r->err, what);
}

/* ------------------------------------------------------------- files */

enum { ROWS = 3, COLS = 4 };
static double x_data[ROWS * COLS];

/* x: float64 [3, 4] = 0, 0.5, ..., 5.5 and i: int32 [2, 3] in data.h5 */
static void make_inputs(void) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_THREADS, 2);
  floe_ctx *ctx;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  floe_options_free(o);
  static const int32_t i_data[6] = {1, -20, 300, 4, 5, 6};
  for (int k = 0; k < ROWS * COLS; k++) {
    x_data[k] = 0.5 * k;
  }
  floe_options *w = floe_options_new();
  floe_options_parse(w, "overwrite", "1");
  floe_array *x = floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(ROWS, COLS), FLOE_AUTO, x_data);
  floe_array *i = floe_from_buffer(ctx, FLOE_INT32, FLOE_SHAPE(2, 3), FLOE_AUTO, i_data);
  cr_assert_eq(floe_to_hdf5(x, "data.h5", "x", w), FLOE_OK, "%s", floe_error_message(ctx));
  cr_assert_eq(floe_to_hdf5(i, "data.h5", "/grp/i", w), FLOE_OK, "%s", floe_error_message(ctx));
  floe_options_free(w);
  floe_close(ctx);
}

/* Reads a dataset as doubles; returns its rank, or -1 when it is missing. */
static int read_doubles(const char *path, const char *name, double *out, size_t n) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    return -1;
  }
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  int rank = -1;
  if (d >= 0) {
    hid_t sp = H5Dget_space(d);
    rank = H5Sget_simple_extent_ndims(sp);
    cr_assert_eq((size_t)H5Sget_simple_extent_npoints(sp), n, "%s:%s has %lld elements", path, name,
                 (long long)H5Sget_simple_extent_npoints(sp));
    cr_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
  }
  H5Fclose(f);
  return rank;
}

/* Reads a dataset through floe, which decodes its own zstd filter. */
static void read_with_floe(const char *path, const char *name, double *out, size_t n) {
  floe_ctx *ctx;
  cr_assert_eq(floe_open(NULL, &ctx), FLOE_OK);
  floe_array *a = floe_astype(floe_from_hdf5(ctx, path, name, FLOE_AUTO), FLOE_FLOAT64);
  cr_assert_eq(floe_compute(a, out, n * sizeof *out), FLOE_OK, "%s", floe_error_message(ctx));
  floe_close(ctx);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ------------------------------------------------------------- commands */

Test(cli, version) {
  result *r = floe_run("--version", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "floe " FLOE_VERSION_STRING "\n");
}

Test(cli, help) {
  const char *forms[] = {"help", "-h", "--help"};
  for (int k = 0; k < 3; k++) {
    result *r = floe_run(forms[k], NULL);
    expect_status(r, 0);
    const char *words[] = {"floe eval",  "floe info",     "floe demo",   "--memory-limit",
                           "--threads",  "--chunks",      "--compress",  "--overwrite",
                           "--progress", "--no-progress", "--profile",   "--plan",
                           "--dot",      "--stats",       "-i, --input", "-o, --output",
                           "--size",     "--dir",         "--version"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
      expect_contains(r->out, words[w]);
    }
  }
  result *r = floe_run("help", "eval", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "NAME=FILE:DATASET");
  expect_contains(r->out, "Examples");
  r = floe_run("eval", "--help", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "Usage: floe eval");
  r = floe_run("help", "nonsense", NULL);
  expect_status(r, 2);
}

Test(cli, usage_errors) {
  static const char *const cases[][8] = {
      {NULL},
      {"frobnicate", NULL},
      {"--bogus", NULL},
      {"eval", NULL},
      {"eval", "1", "--bogus", NULL},
      {"eval", "1", "--threads", NULL},
      {"eval", "1", "--threads", "many", NULL},
      {"eval", "1", "--memory-limit=4XB", NULL},
      {"eval", "1", "--chunks", "10,x", NULL},
      {"eval", "x", "-i", "x=data.h5", NULL},
      {"eval", "x", "-i", "data.h5:x", NULL},
      {"eval", "x", "-i", "2x=data.h5:x", NULL},
      {"eval", "1; 2", "-o", "out.h5:a", NULL},
      {"eval", "1", "-o", "out.h5", NULL},
      {"eval", "1", "2", NULL},
      {"eval", "1", "--compress", "lzma", NULL},
      {"eval", "1", "--plan=yes", NULL},
      {"eval", "x", "-i", "x=data.h5:x", "-o", "data.h5:/x", "--overwrite", NULL},
      {"info", NULL},
      {"demo", "--size", "lots", NULL},
      {"demo", "--chunks", "10", NULL},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *const *c = cases[k];
    result *r = floe_runv(c);
    cr_expect_eq(r->status, 2, "case %zu (%s ...): status %d\n%s", k, c[0] ? c[0] : "", r->status,
                 r->err);
    cr_expect(strncmp(r->err, "floe: ", 6) == 0 || strncmp(r->err, "Usage", 5) == 0, "case %zu: %s",
              k, r->err);
  }
  /* the library's own message for a bad option value */
  result *r = floe_run("eval", "1", "--memory-limit", "4XB", NULL);
  expect_status(r, 2);
  expect_message(r, "4XB");
}

Test(cli, missing_input_names_the_file) {
  result *r = floe_run("eval", "mean(x)", "-i", "x=no-such-file.h5:x", NULL);
  expect_status(r, 1);
  expect_message(r, "no-such-file.h5");
  make_inputs();
  r = floe_run("eval", "mean(x)", "-i", "x=data.h5:/nope", NULL);
  expect_status(r, 1);
  expect_message(r, "nope");
}

Test(cli, bad_expression_shows_the_caret) {
  result *r = floe_run("eval", "sqrt(2 +* 3)", NULL);
  cr_assert(r->status == 1 || r->status == 2, "status %d", r->status);
  expect_message(r, "floe_eval");
  expect_contains(r->err, "sqrt(2 +* 3)\n");
  expect_contains(r->err, "^");
  r = floe_run("eval", "sqrt(x+z)", "-i", "x=data.h5:x", NULL);
  cr_assert(r->status == 1 || r->status == 2);
}

Test(cli, scalars) {
  static const char *const cases[][2] = {
      {"2*3", "6\n"},
      {"2**40", "1099511627776\n"},
      {"0.1 + 0.2", "0.30000000000000004\n"},
      {"1/3", "0.33333333333333331\n"},
      {"1 > 0", "True\n"},
      {"(1 > 0) & (2 < 1)", "False\n"},
      {"-2*3", "-6\n"},
      {"sqrt(-1.0)", "nan\n"},
      {"1; 2.5; 3 > 4", "1\n2.5\nFalse\n"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    result *r = floe_run("eval", cases[k][0], NULL);
    expect_status(r, 0);
    cr_expect_str_eq(r->out, cases[k][1], "floe eval \"%s\"", cases[k][0]);
  }
  /* an expression that starts like a flag goes after "--" */
  result *r = floe_run("eval", "--", "-(2+1)", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "-3\n");
}

Test(cli, expression_over_a_file) {
  make_inputs();
  double sum = 0, ssq = 0;
  for (int k = 0; k < ROWS * COLS; k++) {
    sum += x_data[k];
    ssq += x_data[k] * x_data[k];
  }
  char want[64];
  snprintf(want, sizeof want, "%.17g\n%.17g\n", sum, ssq);
  result *r = floe_run("eval", "sum(x); sum(x*x)", "-i", "x=data.h5:x", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, want);
  /* flags before the expression, --flag=value, and a dataset path */
  r = floe_run("--threads=1", NULL); /* a flag before the command is an error */
  expect_status(r, 2);
  r = floe_run("eval", "--input=v=data.h5:/grp/i", "--threads=1", "sum(v)", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "296\n");
  /* other chunks, the same numbers */
  r = floe_run("eval", "sum(x); sum(x*x)", "-i", "x=data.h5:x", "--chunks", "1,3", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, want);
}

Test(cli, arrays_print_like_numpy) {
  make_inputs();
  result *r = floe_run("eval", "x", "-i", "x=data.h5:x", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "[[0.  0.5 1.  1.5]\n [2.  2.5 3.  3.5]\n [4.  4.5 5.  5.5]]\n");
  r = floe_run("eval", "v; v > 4; sum(x, axis=1); x[0]", "-i", "v=data.h5:grp/i", "-i",
               "x=data.h5:x", NULL);
  expect_status(r, 0); /* x[0]: a row */
  cr_assert(strstr(r->out, "[ 3. 11. 19.]\n[0.  0.5 1.  1.5]\n") != NULL, "%s", r->out);
  r = floe_run("eval", "v; v > 4; sum(x, axis=1)", "-i", "v=data.h5:grp/i", "-i", "x=data.h5:x",
               NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "[[  1 -20 300]\n [  4   5   6]]\n"
                           "[[False False  True]\n [False  True  True]]\n"
                           "[ 3. 11. 19.]\n");
  r = floe_run("eval", "x * 1e-6", "-i", "x=data.h5:x", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out,
                   "[[0.0e+00 5.0e-07 1.0e-06 1.5e-06]\n [2.0e-06 2.5e-06 3.0e-06 3.5e-06]\n"
                   " [4.0e-06 4.5e-06 5.0e-06 5.5e-06]]\n");
}

Test(cli, large_results_are_not_printed) {
  make_inputs();
  result *r = floe_run("eval", "x + zeros", "-i", "x=data.h5:x", NULL);
  cr_assert_neq(r->status, 0); /* "zeros" is no name: a failure, not a crash */
  floe_options *o = floe_options_new();
  floe_ctx *ctx;
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK);
  floe_options_free(o);
  floe_options *w = floe_options_new();
  floe_options_parse(w, "overwrite", "1");
  floe_array *big = floe_ones(ctx, FLOE_FLOAT32, FLOE_SHAPE(40, 30), FLOE_AUTO);
  cr_assert_eq(floe_to_hdf5(big, "big.h5", "b", w), FLOE_OK, "%s", floe_error_message(ctx));
  floe_options_free(w);
  floe_close(ctx);
  r = floe_run("eval", "b * 2", "-i", "b=big.h5:b", NULL);
  expect_status(r, 1);
  expect_message(r, "-o FILE:DATASET");
  r = floe_run("eval", "sum(b * 2)", "-i", "b=big.h5:b", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "2400\n");
}

Test(cli, write_and_read_back) {
  make_inputs();
  result *r = floe_run("eval", "x * 2 + 1", "-i", "x=data.h5:x", "-o", "out.h5:/results/y", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "");
  double y[ROWS * COLS];
  cr_assert_eq(read_doubles("out.h5", "/results/y", y, ROWS * COLS), 2);
  for (int k = 0; k < ROWS * COLS; k++) {
    cr_assert_eq(y[k], x_data[k] * 2 + 1, "y[%d] = %g", k, y[k]);
  }
  /* compressed, and a scalar as a 0-d dataset */
  r = floe_run("eval", "sqrt(x)", "-i", "x=data.h5:x", "-o", "z.h5:s", "--compress", "zstd:3",
               NULL);
  expect_status(r, 0);
  read_with_floe("z.h5", "s", y, ROWS * COLS);
  for (int k = 0; k < ROWS * COLS; k++) {
    cr_assert_eq(y[k], sqrt(x_data[k]));
  }
  r = floe_run("info", "z.h5", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "zstd(3)");
  r = floe_run("eval", "sum(x)", "-i", "x=data.h5:x", "-o", "sc.h5:total", NULL);
  expect_status(r, 0);
  double total;
  cr_assert_eq(read_doubles("sc.h5", "total", &total, 1), 0);
  cr_assert_eq(total, 33.0);
}

Test(cli, several_outputs_in_one_job) {
  make_inputs();
  result *r = floe_run("eval", "x - mean(x, axis=0); max(x, axis=1); mean(x)", "-i", "x=data.h5:x",
                       "-o", "out.h5:anom", "-o", "out.h5:mx", "-o", "other.h5:m", "--stats", NULL);
  expect_status(r, 0);
  expect_contains(r->err, "tasks");
  double anom[ROWS * COLS], mx[ROWS], m;
  cr_assert_eq(read_doubles("out.h5", "anom", anom, ROWS * COLS), 2);
  cr_assert_eq(read_doubles("out.h5", "mx", mx, ROWS), 1);
  cr_assert_eq(read_doubles("other.h5", "m", &m, 1), 0);
  for (int j = 0; j < COLS; j++) {
    double mean = 0;
    for (int i = 0; i < ROWS; i++) {
      mean += x_data[i * COLS + j];
    }
    mean /= ROWS;
    for (int i = 0; i < ROWS; i++) {
      cr_assert_float_eq(anom[i * COLS + j], x_data[i * COLS + j] - mean, 1e-12);
    }
  }
  for (int i = 0; i < ROWS; i++) {
    cr_assert_eq(mx[i], x_data[i * COLS + COLS - 1]);
  }
  cr_assert_float_eq(m, 2.75, 1e-15);
}

Test(cli, plan_runs_nothing) {
  make_inputs();
  result *r = floe_run("eval", "x * 2; sum(x)", "-i", "x=data.h5:x", "-o", "p.h5:a", "-o", "p.h5:b",
                       "--plan", "--dot", "graph.dot", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "tasks");
  expect_contains(r->out, "read");
  expect_contains(r->out, "peak memory");
  cr_assert(!exists("p.h5"), "--plan wrote the output");
  char dot[4096];
  slurp("graph.dot", dot, sizeof dot);
  expect_contains(dot, "digraph");
}

Test(cli, overwrite_policy) {
  make_inputs();
  double y[ROWS * COLS];
  result *r = floe_run("eval", "x + 1", "-i", "x=data.h5:x", "-o", "out.h5:y", NULL);
  expect_status(r, 0);
  r = floe_run("eval", "x + 2", "-i", "x=data.h5:x", "-o", "out.h5:y", NULL);
  expect_status(r, 1);
  expect_message(r, "out.h5");
  cr_assert_eq(read_doubles("out.h5", "y", y, ROWS * COLS), 2);
  for (int k = 0; k < ROWS * COLS; k++) {
    cr_assert_eq(y[k], x_data[k] + 1, "the refused write changed the file");
  }
  r = floe_run("eval", "x + 2", "-i", "x=data.h5:x", "-o", "out.h5:y", "--overwrite", NULL);
  expect_status(r, 0);
  cr_assert_eq(read_doubles("out.h5", "y", y, ROWS * COLS), 2);
  for (int k = 0; k < ROWS * COLS; k++) {
    cr_assert_eq(y[k], x_data[k] + 2);
  }
}

Test(cli, info) {
  make_inputs();
  result *r = floe_run("info", "data.h5", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "data.h5");
  expect_contains(r->out, "/x ");
  expect_contains(r->out, "/grp/i");
  expect_contains(r->out, "(3, 4)");
  expect_contains(r->out, "(2, 3)");
  expect_contains(r->out, "float64");
  expect_contains(r->out, "int32");
  expect_contains(r->out, "chunks");
  r = floe_run("info", "data.h5:/grp/i", NULL);
  expect_status(r, 0);
  cr_assert_null(strstr(r->out, "float64"), "only /grp/i was asked for:\n%s", r->out);
  r = floe_run("info", "data.h5:nope", NULL);
  expect_status(r, 1);
  expect_message(r, "nope");
  r = floe_run("info", "missing.h5", NULL);
  expect_status(r, 1);
  expect_message(r, "missing.h5");
  FILE *f = fopen("text.h5", "w");
  fputs("not HDF5\n", f);
  fclose(f);
  r = floe_run("info", "text.h5", NULL);
  expect_status(r, 1);
  expect_message(r, "text.h5");
}

Test(cli, demo) {
  result *r = floe_run("demo", "--dir", "nb", "--size", "10MB", "--no-progress", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "generating");
  expect_contains(r->out, "/temperature");
  expect_contains(r->out, "Plan");
  expect_contains(r->out, "Results");
  expect_contains(r->out, "Statistics");
  cr_assert(exists("nb/climate.h5"));
  static double days[146];
  /* 10 MB make two 73-day chunks: [146, 72, 144] */
  static double anom[146 * 72 * 144];
  cr_assert_eq(read_doubles("nb/climate-results.h5", "anomalies", anom, 146 * 72 * 144), 3);
  double tmax[72 * 144];
  cr_assert_eq(read_doubles("nb/climate-results.h5", "tmax", tmax, 72 * 144), 2);
  cr_assert_eq(read_doubles("nb/climate.h5", "time", days, 146), 1);
  cr_assert_eq(days[145], 145.0);
  /* again: the data exist and the results are replaced */
  r = floe_run("demo", "--dir", "nb", "--size", "10MB", "--no-progress", "--threads", "1", NULL);
  expect_status(r, 0);
  expect_contains(r->out, "using");
}

Test(cli, progress_and_profile) {
  make_inputs();
  result *r = floe_run("eval", "sum(x * x)", "-i", "x=data.h5:x", "--progress", "--profile",
                       "trace.json", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->out, "126.5\n");
  expect_contains(r->err, "100%");
  expect_contains(r->err, "tasks");
  size_t n = strlen(r->err);
  cr_assert(n > 0 && r->err[n - 1] == '\n', "the bar's line is not finished:\n%s", r->err);
  char trace[65536];
  slurp("trace.json", trace, sizeof trace);
  expect_contains(trace, "traceEvents");
  /* no bar on a pipe unless asked for */
  r = floe_run("eval", "sum(x * x)", "-i", "x=data.h5:x", NULL);
  expect_status(r, 0);
  cr_assert_str_eq(r->err, "");
}
