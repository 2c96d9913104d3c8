/* The floe command: shared pieces of the subcommands (every file of src/cli).
 *
 * Exit statuses: 0 success, 1 failure (the message carries the library's
 * words), 2 usage error, 130 interrupted by Ctrl-C.  Everything written to
 * stderr starts with "floe: " (the progress bar aside). */
#ifndef FLOE_CLI_INTERNAL_H
#define FLOE_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "floe.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* ------------------------------------------------------------ messages */

/* "floe: <message>" on stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "floe: <what>: <the library's last message>"; returns CLI_FAIL, or
 * CLI_INTERRUPTED when the failure was a cancel asked for with Ctrl-C. */
int cli_fail_floe(floe_status st, const char *what);
/* "floe: <message>" and a hint to `floe help COMMAND`; returns CLI_USAGE. */
int cli_usage(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Whether the terminal takes UTF-8 (for the bar's blocks and the degree
 * sign); decided once from the locale's LC_CTYPE. */
bool cli_utf8(void);

/* ----------------------------------------------------------- arguments */

/* The commands a flag belongs to. */
enum { CMD_EVAL = 1u << 0, CMD_DEMO = 1u << 1, CMD_INFO = 1u << 2 };

typedef struct cli_args {
  floe_options *opts;  /* the context's options, all set through floe_options_parse */
  floe_options *wopts; /* the writers' (compress, overwrite), likewise */
  int progress;        /* -1: when stderr is a terminal; 0 off; 1 on */
  bool plan, stats, help;
  const char *dot;   /* --dot FILE */
  floe_shape chunks; /* --chunks, or FLOE_AUTO */
  const char *size;  /* demo: --size */
  const char *dir;   /* demo: --dir */
  bool threads_set, memory_set;
  const char **inputs, **outputs, **pos; /* -i, -o and positional arguments, in order */
  size_t ninputs, noutputs, npos;
} cli_args;

/* Parses argv[first..argc) for `command` (CMD_*).  Flags and positional
 * arguments mix in any order; `--flag value` and `--flag=value` both work;
 * "--" ends the flags, and an argument that starts with '-' and then a
 * digit, '.', '(' or a space is positional (an expression like "-x" needs
 * the "--").  Returns CLI_OK, or CLI_USAGE after printing the message. */
int cli_args_parse(cli_args *a, const char *command, unsigned cmd, int argc, char **argv,
                   int first);
void cli_args_destroy(cli_args *a);

/* -------------------------------------------------------------- output */

/* Byte counts in binary units: "512 B", "43.3 MiB". */
const char *cli_bytes(uint64_t bytes, char buf[32]);
/* Seconds as "850 ms", "2.41 s", "3 min 05 s". */
const char *cli_seconds(double s, char buf[32]);
/* A count with thousands grouped by thin spaces would confuse pipes;
 * plain groups of three with commas: "1,234,567". */
const char *cli_count(uint64_t n, char buf[32]);
/* A shape as NumPy writes it: "(1095, 72, 144)", "(72,)", "()". */
const char *cli_shape(floe_shape s, char *buf, size_t size);

/* Prints a computed array of `dtype` and `shape` held in `data` (C order)
 * to `out` as NumPy's print() does; a 0-d array prints as a scalar with 17
 * significant digits (integers exactly, bools as True/False). */
void cli_print_array(FILE *out, floe_dtype dtype, floe_shape shape, const void *data);

/* Prints a plan as "tasks ..., read ..., write ..., predicted peak ...". */
void cli_print_plan(FILE *out, const char *indent, const floe_plan_info *p, uint64_t memory_limit);
/* Prints a job's figures after its run. */
void cli_print_stats(FILE *out, const char *indent, const floe_stats *s);

/* ------------------------------------------------------------ progress */

/* Installs the progress callback into `opts` (always: it also carries the
 * Ctrl-C cancel); `draw` says whether a bar is drawn on stderr. */
int cli_progress_install(floe_options *opts, bool draw);
/* Labels the next run's bar ("computing", "generating"). */
void cli_progress_begin(const char *label);
/* Ends the bar's line after a run (clears a bar left unfinished). */
void cli_progress_end(void);
/* Whether Ctrl-C was pressed since the start. */
bool cli_interrupted(void);

/* ------------------------------------------------------------ commands */

int cli_eval(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_demo(int argc, char **argv);
void cli_help(FILE *out, const char *command);

/* Lists the datasets of `path` (all of them, or the one or the group
 * `object` names, which may be NULL) as a table; `indent` starts each
 * line.  CLI_OK, or CLI_FAIL after the message. */
int cli_info_list(FILE *out, const char *path, const char *object, const char *indent);

#endif /* FLOE_CLI_INTERNAL_H */
