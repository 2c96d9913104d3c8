/* floe eval: expressions over HDF5 datasets, printed or written back, all
 * outputs of one command computed by one job. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-internal.h"

enum { PRINT_MAX = 1000 }; /* elements; larger results go to files */

typedef struct input {
  char *name, *file, *dataset; /* one allocation, owned by name */
} input;

typedef struct output {
  char *file, *dataset; /* one allocation, owned by file */
} output;

typedef struct eval_run {
  cli_args args;
  char *text; /* the expressions, split in place at ';' */
  char **exprs;
  size_t nexprs;
  input *inputs;
  output *outputs;
  floe_ctx *ctx;
  floe_array **results;
  void **buffers;
  floe_job *job;
  bool plan_each; /* --plan of printed results too large to print: one plan each */
} eval_run;

static bool is_name(const char *s) {
  if (!isalpha((unsigned char)s[0]) && s[0] != '_') {
    return false;
  }
  for (; *s != '\0'; s++) {
    if (!isalnum((unsigned char)*s) && *s != '_') {
      return false;
    }
  }
  return true;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) {
    s++;
  }
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) {
    s[--n] = '\0';
  }
  return s;
}

/* "EXPR1; EXPR2" -> two expressions; a trailing ';' is allowed */
static int split_exprs(eval_run *r, const char *text) {
  r->text = strdup(text);
  r->exprs = calloc(strlen(text) + 1, sizeof *r->exprs);
  if (r->text == NULL || r->exprs == NULL) {
    return cli_fail("out of memory");
  }
  char *p = r->text;
  for (;;) {
    char *semi = strchr(p, ';');
    if (semi != NULL) {
      *semi = '\0';
    }
    char *e = trim(p);
    if (e[0] == '\0' && (semi != NULL || r->nexprs == 0)) {
      return cli_usage("eval", r->nexprs == 0 && semi == NULL ? "the expression is empty"
                                                              : "an empty expression between ';'");
    }
    if (e[0] != '\0') {
      r->exprs[r->nexprs++] = e;
    }
    if (semi == NULL) {
      break;
    }
    p = semi + 1;
  }
  return CLI_OK;
}

/* FILE:DATASET split at the last ':' (file names may hold colons) */
static bool split_target(char *spec, char **file, char **dataset) {
  char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec || colon[1] == '\0') {
    return false;
  }
  *colon = '\0';
  *file = spec;
  *dataset = colon + 1;
  return true;
}

static int parse_inputs(eval_run *r) {
  cli_args *a = &r->args;
  r->inputs = calloc(a->ninputs + 1, sizeof *r->inputs);
  if (r->inputs == NULL) {
    return cli_fail("out of memory");
  }
  for (size_t i = 0; i < a->ninputs; i++) {
    input *in = &r->inputs[i];
    in->name = strdup(a->inputs[i]);
    if (in->name == NULL) {
      return cli_fail("out of memory");
    }
    char *eq = strchr(in->name, '=');
    if (eq == NULL) {
      return cli_usage("eval", "-i '%s': expected NAME=FILE:DATASET", a->inputs[i]);
    }
    *eq = '\0';
    if (!is_name(in->name)) {
      return cli_usage("eval", "-i '%s': '%s' is not a name (letters, digits and '_')",
                       a->inputs[i], in->name);
    }
    if (!split_target(eq + 1, &in->file, &in->dataset)) {
      return cli_usage("eval", "-i '%s': expected NAME=FILE:DATASET", a->inputs[i]);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(r->inputs[j].name, in->name) == 0) {
        return cli_usage("eval", "-i: the name '%s' is given twice", in->name);
      }
    }
  }
  return CLI_OK;
}

static bool same_dataset(const char *file_a, const char *ds_a, const char *file_b,
                         const char *ds_b) {
  while (*ds_a == '/') {
    ds_a++;
  }
  while (*ds_b == '/') {
    ds_b++;
  }
  if (strcmp(ds_a, ds_b) != 0) {
    return false;
  }
  struct stat sa, sb;
  if (stat(file_a, &sa) != 0 || stat(file_b, &sb) != 0) {
    return strcmp(file_a, file_b) == 0;
  }
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int parse_outputs(eval_run *r) {
  cli_args *a = &r->args;
  r->outputs = calloc(a->noutputs + 1, sizeof *r->outputs);
  if (r->outputs == NULL) {
    return cli_fail("out of memory");
  }
  for (size_t i = 0; i < a->noutputs; i++) {
    output *o = &r->outputs[i];
    char *spec = strdup(a->outputs[i]);
    if (spec == NULL) {
      return cli_fail("out of memory");
    }
    o->file = spec; /* split_target keeps the start: freeing o->file frees both */
    if (!split_target(spec, &o->file, &o->dataset)) {
      return cli_usage("eval", "-o '%s': expected FILE:DATASET", a->outputs[i]);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(r->outputs[j].file, o->file) == 0 &&
          strcmp(r->outputs[j].dataset, o->dataset) == 0) {
        return cli_usage("eval", "-o '%s' is given twice", a->outputs[i]);
      }
    }
  }
  /* a dataset cannot be read and replaced by one job */
  for (size_t i = 0; i < a->noutputs; i++) {
    for (size_t j = 0; j < a->ninputs; j++) {
      if (same_dataset(r->outputs[i].file, r->outputs[i].dataset, r->inputs[j].file,
                       r->inputs[j].dataset)) {
        return cli_usage("eval", "-o '%s' is also the input '%s': write to another dataset",
                         a->outputs[i], r->inputs[j].name);
      }
    }
  }
  if (a->noutputs > 0 && a->noutputs != r->nexprs) {
    return cli_usage("eval", "%zu expression%s but %zu -o: give one -o per expression", r->nexprs,
                     r->nexprs == 1 ? "" : "s", a->noutputs);
  }
  return CLI_OK;
}

/* The library's message, with the expression named when there are several. */
static int expr_failed(const eval_run *r, size_t i, floe_status st) {
  if (r->nexprs > 1) {
    char what[64];
    snprintf(what, sizeof what, "expression %zu", i + 1);
    return cli_fail_floe(st, what);
  }
  return cli_fail_floe(st, NULL);
}

static int build(eval_run *r) {
  cli_args *a = &r->args;
  floe_eval_var *vars = calloc(a->ninputs + 1, sizeof *vars);
  r->results = calloc(r->nexprs, sizeof *r->results);
  r->buffers = calloc(r->nexprs, sizeof *r->buffers);
  if (vars == NULL || r->results == NULL || r->buffers == NULL) {
    free(vars);
    return cli_fail("out of memory");
  }
  for (size_t i = 0; i < a->ninputs; i++) {
    const input *in = &r->inputs[i];
    floe_array *x = floe_from_hdf5(r->ctx, in->file, in->dataset, a->chunks);
    floe_status st = floe_array_status(x);
    if (st != FLOE_OK) {
      free(vars);
      return cli_fail("%s", floe_array_message(x)[0] != '\0' ? floe_array_message(x)
                                                             : floe_status_string(st));
    }
    vars[i] = (floe_eval_var){in->name, x};
  }
  for (size_t i = 0; i < r->nexprs; i++) {
    floe_array *y = floe_eval(r->ctx, r->exprs[i], vars, a->ninputs);
    floe_status st = floe_array_status(y);
    if (st != FLOE_OK) {
      free(vars);
      floe_error_set(st, "%s", floe_array_message(y));
      return expr_failed(r, i, st);
    }
    r->results[i] = y;
  }
  free(vars);
  if (a->plan && a->noutputs == 0) {
    /* what would run is refused when a result is too large to print; its
       plan is still worth seeing, one expression at a time */
    for (size_t i = 0; i < r->nexprs; i++) {
      r->plan_each |= floe_array_size(r->results[i]) > PRINT_MAX;
    }
    if (r->plan_each) {
      return CLI_OK;
    }
  }
  r->job = floe_job_new(r->ctx);
  if (r->job == NULL) {
    return cli_fail_floe(FLOE_ERR_NOMEM, NULL);
  }
  for (size_t i = 0; i < r->nexprs; i++) {
    floe_array *y = r->results[i];
    floe_status st;
    if (a->noutputs > 0) {
      st = floe_job_add_hdf5(r->job, y, r->outputs[i].file, r->outputs[i].dataset, a->wopts);
    } else {
      int64_t n = floe_array_size(y);
      if (n > PRINT_MAX) {
        char s[160], c[32];
        return cli_fail("the result of '%s' has shape %s (%s elements), too many to print (at "
                        "most %d); write it to a file with -o FILE:DATASET",
                        r->exprs[i], cli_shape(floe_array_shape(y), s, sizeof s),
                        cli_count((uint64_t)n, c), PRINT_MAX);
      }
      size_t bytes = floe_array_nbytes(y);
      r->buffers[i] = calloc(bytes > 0 ? bytes : 1, 1);
      if (r->buffers[i] == NULL) {
        return cli_fail("out of memory");
      }
      st = floe_job_add_buffer(r->job, y, r->buffers[i], bytes);
    }
    if (st != FLOE_OK) {
      return expr_failed(r, i, st);
    }
  }
  return CLI_OK;
}

static int write_dot(eval_run *r) {
  if (r->job == NULL && r->nexprs > 1) {
    return cli_fail("--dot of several results too large to print needs -o for each");
  }
  FILE *f = fopen(r->args.dot, "w");
  if (f == NULL) {
    return cli_fail("cannot write '%s': %s", r->args.dot, strerror(errno));
  }
  floe_status st = r->job != NULL ? floe_job_dot(r->job, f) : floe_graph_dot(r->results[0], f);
  if (fclose(f) != 0 && st == FLOE_OK) {
    return cli_fail("cannot write '%s': %s", r->args.dot, strerror(errno));
  }
  if (st != FLOE_OK) {
    remove(r->args.dot);
    return cli_fail_floe(st, r->args.dot);
  }
  return CLI_OK;
}

static int run(eval_run *r) {
  cli_args *a = &r->args;
  int rc;
  if (a->npos == 0) {
    return cli_usage("eval", "no expression given");
  }
  if (a->npos > 1) {
    return cli_usage("eval",
                     "one expression expected, but '%s' follows it (quote the expression; "
                     "separate several with ';')",
                     a->pos[1]);
  }
  if ((rc = split_exprs(r, a->pos[0])) != CLI_OK || (rc = parse_inputs(r)) != CLI_OK ||
      (rc = parse_outputs(r)) != CLI_OK) {
    return rc;
  }
  bool bar = !a->plan && (a->progress == 1 || (a->progress < 0 && isatty(STDERR_FILENO)));
  if ((rc = cli_progress_install(a->opts, bar)) != CLI_OK) {
    return rc;
  }
  floe_status st = floe_open(a->opts, &r->ctx);
  if (st != FLOE_OK) {
    return cli_fail_floe(st, NULL);
  }
  if ((rc = build(r)) != CLI_OK) {
    return rc;
  }
  if (a->dot != NULL && (rc = write_dot(r)) != CLI_OK) {
    return rc;
  }
  if (a->plan && r->plan_each) {
    for (size_t i = 0; i < r->nexprs; i++) {
      floe_plan_info plan;
      st = floe_plan(r->results[i], &plan);
      if (st != FLOE_OK) {
        return expr_failed(r, i, st);
      }
      printf("plan of %s (nothing run)\n", r->exprs[i]);
      cli_print_plan(stdout, "  ", &plan, floe_ctx_memory_limit(r->ctx));
    }
    return CLI_OK;
  }
  if (a->plan) {
    floe_plan_info plan;
    st = floe_job_plan(r->job, &plan);
    if (st != FLOE_OK) {
      return cli_fail_floe(st, NULL);
    }
    printf("plan (%zu output%s, nothing run)\n", r->nexprs, r->nexprs == 1 ? "" : "s");
    cli_print_plan(stdout, "  ", &plan, floe_ctx_memory_limit(r->ctx));
    return CLI_OK;
  }
  cli_progress_begin("computing");
  st = floe_job_run(r->job);
  cli_progress_end();
  if (st != FLOE_OK) {
    return cli_fail_floe(st, NULL);
  }
  if (a->noutputs == 0) {
    for (size_t i = 0; i < r->nexprs; i++) {
      floe_array *y = r->results[i];
      cli_print_array(stdout, floe_array_dtype(y), floe_array_shape(y), r->buffers[i]);
    }
  }
  if (fflush(stdout) != 0) {
    return cli_fail("cannot write the result: %s", strerror(errno));
  }
  if (a->stats) {
    floe_stats s;
    if (floe_job_stats(r->job, &s) == FLOE_OK) {
      fputs("floe: statistics of the run\n", stderr);
      cli_print_stats(stderr, "  ", &s);
    }
  }
  return CLI_OK;
}

int cli_eval(int argc, char **argv) {
  eval_run r;
  memset(&r, 0, sizeof r);
  int rc = cli_args_parse(&r.args, "eval", CMD_EVAL, argc, argv, 2);
  if (rc == CLI_OK) {
    if (r.args.help) {
      cli_help(stdout, "eval");
    } else {
      rc = run(&r);
    }
  }
  floe_job_free(r.job);
  floe_close(r.ctx); /* releases every array */
  if (r.buffers != NULL) {
    for (size_t i = 0; i < r.nexprs; i++) {
      free(r.buffers[i]);
    }
  }
  free(r.buffers);
  free(r.results);
  if (r.inputs != NULL) {
    for (size_t i = 0; i < r.args.ninputs; i++) {
      free(r.inputs[i].name);
    }
  }
  if (r.outputs != NULL) {
    for (size_t i = 0; i < r.args.noutputs; i++) {
      free(r.outputs[i].file);
    }
  }
  free(r.inputs);
  free(r.outputs);
  free(r.exprs);
  free(r.text);
  cli_args_destroy(&r.args);
  return rc;
}
