/* The floe command: dispatch to the subcommands, help, version and the
 * shared message helpers. */
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "cli-internal.h"

/* ------------------------------------------------------------- messages */

static void vmessage(const char *fmt, va_list ap) CLI_PRINTF(1, 0);
static void vmessage(const char *fmt, va_list ap) {
  fputs("floe: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage(fmt, ap);
  va_end(ap);
  return CLI_FAIL;
}

int cli_fail_floe(floe_status st, const char *what) {
  const char *msg = floe_error_message(NULL);
  if (msg == NULL || msg[0] == '\0') {
    msg = floe_status_string(st);
  }
  if (st == FLOE_ERR_CANCELLED && cli_interrupted()) {
    fputs("floe: interrupted; outputs left as they were\n", stderr);
    return CLI_INTERRUPTED;
  }
  if (what != NULL && what[0] != '\0') {
    fprintf(stderr, "floe: %s: %s\n", what, msg);
  } else {
    fprintf(stderr, "floe: %s\n", msg);
  }
  return CLI_FAIL;
}

int cli_usage(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage(fmt, ap);
  va_end(ap);
  if (command != NULL) {
    fprintf(stderr, "floe: see 'floe help %s'\n", command);
  } else {
    fputs("floe: see 'floe help'\n", stderr);
  }
  return CLI_USAGE;
}

bool cli_utf8(void) {
  static int utf8 = -1;
  if (utf8 < 0) {
    /* LC_CTYPE only: LC_NUMERIC must stay "C" so numbers print with a dot */
    const char *loc = setlocale(LC_CTYPE, "");
    const char *cs = loc != NULL ? nl_langinfo(CODESET) : "";
    utf8 = cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
  }
  return utf8 == 1;
}

/* ----------------------------------------------------------------- help */

static const char usage_text[] =
    "Usage:\n"
    "  floe eval EXPR [-i NAME=FILE:DATASET]... [-o FILE:DATASET]... [flags]\n"
    "  floe info FILE[:DATASET]\n"
    "  floe demo [--size SIZE] [--dir DIR] [--threads N] [--memory-limit SIZE]\n"
    "  floe help [eval|info|demo]\n"
    "  floe --version\n";

static const char commands_text[] =
    "Commands:\n"
    "  eval   evaluate a NumPy-like expression over HDF5 datasets and print the\n"
    "         result, or write it with -o; \"EXPR1; EXPR2\" with one -o each\n"
    "         computes several outputs in one pass over the inputs\n"
    "  info   list the datasets of an HDF5 file: shape, dtype, chunks, filters,\n"
    "         stored and uncompressed size\n"
    "  demo   make a sample climate cube and compute its climatology, anomalies,\n"
    "         spread and extremes in one out-of-core job\n";

static const char eval_flags_text[] =
    "Flags of eval:\n"
    "  -i, --input NAME=FILE:DATASET  an input array named NAME in EXPR (repeatable;\n"
    "                                 the dataset may be a path: f.h5:/group/x)\n"
    "  -o, --output FILE:DATASET      write the result there (one per expression;\n"
    "                                 a scalar becomes a 0-d dataset)\n"
    "      --chunks N,N,...           chunks of every input, -1 for a whole axis\n"
    "                                 (default: aligned to the file's chunks)\n"
    "      --compress zstd[:LEVEL]|none  compression of the outputs (default none)\n"
    "      --overwrite                replace output datasets that exist\n"
    "      --plan                     print tasks, bytes and predicted peak memory;\n"
    "                                 run nothing\n"
    "      --dot FILE                 write the task graph for Graphviz\n"
    "      --stats                    print the run's figures on stderr\n";

static const char common_flags_text[] =
    "Flags of eval and demo:\n"
    "      --threads N                worker threads (default 0: one per core)\n"
    "      --memory-limit SIZE        RAM for chunk data: 4GB, 512MiB, 60%\n"
    "                                 (default 50% of memory)\n"
    "      --progress, --no-progress  progress bar on stderr (default: when stderr\n"
    "                                 is a terminal)\n"
    "      --profile FILE             write a Chrome/Perfetto trace of every task\n"
    "      --spill-dir DIR, --spill-level N, --chunk-bytes SIZE, --reduce-fanin N,\n"
    "      --devices N, --device-memory-limit SIZE   the other library options\n"
    "  -h, --help                     help\n";

static const char demo_flags_text[] =
    "Flags of demo:\n"
    "      --size SIZE                size of the sample cube (default 90MB; 8GB with\n"
    "                                 --memory-limit 1GB streams it through memory)\n"
    "      --dir DIR                  where the data go (default notebooks-data)\n";

static const char env_text[] =
    "Every option may also come from the environment (FLOE_THREADS=4,\n"
    "FLOE_MEMORY_LIMIT=4GB, FLOE_COMPRESS=zstd:3, ...); flags win.\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.\n";

static const char eval_text[] =
    "Usage: floe eval EXPR [-i NAME=FILE:DATASET]... [-o FILE:DATASET]... [flags]\n"
    "\n"
    "Evaluates EXPR over the inputs, chunk by chunk on every core, reading and\n"
    "writing HDF5 out of core.  Without -o the result is printed (a scalar with\n"
    "17 significant digits, an array of up to 1000 elements as NumPy prints it);\n"
    "with -o it is written to FILE:DATASET.  \"EXPR1; EXPR2\" with as many -o\n"
    "computes every output in one job: shared inputs are read once.\n"
    "\n"
    "Expressions (NumPy syntax): numbers, True, False, pi, e, inf, nan; input\n"
    "names; + - * / // % ** and unary -; comparisons == != < <= > >=; & | ^ ~ on\n"
    "booleans (looser than comparisons: x > 0 & y < 1); every elementwise\n"
    "function by its NumPy name (sqrt, exp, log, sin, arctan2, hypot, where,\n"
    "clip, minimum, isnan, astype(x, float32), ...); reductions sum prod min max\n"
    "mean var std argmin argmax any all nansum nanmean nanmin nanmax with\n"
    "axis=, keepdims=, ddof= (mean(x, axis=0), std(x, axis=(1, 2), ddof=1));\n"
    "indexing x[1:9, ::-2, 0], x[None, ..., 3], masks x[x > 0], x.T, a @ b;\n"
    "transpose, reshape(x, (n, -1)), ravel, concatenate((a, b), axis=0), stack,\n"
    "matmul, dot, outer, cumsum, cumprod, sort, median and quantile(x, q) with\n"
    "axis= (none: over the flattened array).\n"
    "\n"
    "Examples:\n"
    "  floe eval \"2**10\"\n"
    "  floe eval \"mean(t)\" -i t=climate.h5:temperature\n"
    "  floe eval \"t - mean(t, axis=0)\" -i t=climate.h5:temperature \\\n"
    "            -o anomalies.h5:anomalies --compress zstd --memory-limit 1GB\n"
    "  floe eval \"max(t, axis=0); min(t, axis=0)\" -i t=climate.h5:/temperature \\\n"
    "            -o ext.h5:tmax -o ext.h5:tmin --stats\n"
    "\n";

static const char info_text[] =
    "Usage: floe info FILE[:DATASET]\n"
    "\n"
    "Lists every dataset of an HDF5 file, through all its groups, with its\n"
    "shape, dtype (NumPy names; '>' notes big-endian), chunk shape or\n"
    "\"contiguous\", filters (shuffle, deflate(level), zstd(level), fletcher32,\n"
    "...), bytes stored, bytes uncompressed and their ratio.  With :DATASET\n"
    "(or :GROUP) only that one.\n";

static const char demo_text[] =
    "Usage: floe demo [--size SIZE] [--dir DIR] [--threads N] [--memory-limit SIZE]\n"
    "\n"
    "Makes DIR/climate.h5, a synthetic daily temperature and precipitation cube\n"
    "on a 2.5-degree grid (once; again when --size changes), then computes in\n"
    "one job the climatology (mean over time), the anomalies (temperature minus\n"
    "climatology), the standard deviation and the extremes over time, written\n"
    "to DIR/climate-results.h5 as climatology, anomalies, stddev, tmax and tmin,\n"
    "and a few global figures.  Shows the inputs, the plan, progress and the\n"
    "run's statistics.  With --size larger than --memory-limit the cube\n"
    "streams through memory.\n"
    "\n";

void cli_help(FILE *out, const char *command) {
  if (command != NULL && strcmp(command, "eval") == 0) {
    fputs(eval_text, out);
    fputs(eval_flags_text, out);
    fputs(common_flags_text, out);
    fputc('\n', out);
    fputs(env_text, out);
  } else if (command != NULL && strcmp(command, "info") == 0) {
    fputs(info_text, out);
  } else if (command != NULL && strcmp(command, "demo") == 0) {
    fputs(demo_text, out);
    fputs(demo_flags_text, out);
    fputs(common_flags_text, out);
    fputc('\n', out);
    fputs(env_text, out);
  } else {
    fprintf(out, "floe %s: parallel, out-of-core array computing over HDF5\n\n",
            floe_version_string());
    fputs(usage_text, out);
    fputc('\n', out);
    fputs(commands_text, out);
    fputc('\n', out);
    fputs(eval_flags_text, out);
    fputs(demo_flags_text, out);
    fputs(common_flags_text, out);
    fputc('\n', out);
    fputs(env_text, out);
  }
}

/* ----------------------------------------------------------------- main */

int main(int argc, char **argv) {
  /* the CLI reports HDF5 failures itself, in one line */
  /* before HDF5's first call: its exit-time cleanup would crash on an output
     whose close failed (a full disk), see floe.h */
  H5dont_atexit();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (argc < 2) {
    fputs(usage_text, stderr);
    fputs("floe: no command; see 'floe help'\n", stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "eval") == 0) {
    return cli_eval(argc, argv);
  }
  if (strcmp(cmd, "info") == 0) {
    return cli_info(argc, argv);
  }
  if (strcmp(cmd, "demo") == 0) {
    return cli_demo(argc, argv);
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("floe %s\n", floe_version_string());
    if (strcmp(floe_version_string(), FLOE_VERSION_STRING) != 0) {
      return cli_fail("this floe was built for library %s but runs with %s", FLOE_VERSION_STRING,
                      floe_version_string());
    }
    return CLI_OK;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    const char *topic = argc > 2 ? argv[2] : NULL;
    if (topic != NULL && strcmp(topic, "eval") != 0 && strcmp(topic, "info") != 0 &&
        strcmp(topic, "demo") != 0) {
      return cli_usage(NULL, "no help on '%s': the commands are eval, info and demo", topic);
    }
    cli_help(stdout, topic);
    return CLI_OK;
  }
  if (cmd[0] == '-') {
    return cli_usage(NULL, "unknown flag '%s' before the command", cmd);
  }
  return cli_usage(NULL, "unknown command '%s'", cmd);
}
