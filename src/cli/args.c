/* Command-line flags.  Every flag that sets a library option goes through
 * floe_options_parse with the option's name, so the CLI, the environment
 * and C programs share one parser and one set of messages. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli-internal.h"

typedef enum { ACT_OPTION, ACT_SWITCH, ACT_VALUE } action;

typedef struct flag {
  const char *name;  /* long name without "--" */
  char short_name;   /* 0: none */
  unsigned commands; /* CMD_* */
  action act;
  const char *option; /* ACT_OPTION: floe's option name */
} flag;

#define ED (CMD_EVAL | CMD_DEMO)
static const flag flags[] = {
    {"threads", 0, ED, ACT_OPTION, "threads"},
    {"memory-limit", 0, ED, ACT_OPTION, "memory_limit"},
    {"profile", 0, ED, ACT_OPTION, "profile_path"},
    {"spill-dir", 0, ED, ACT_OPTION, "spill_dir"},
    {"spill-level", 0, ED, ACT_OPTION, "spill_level"},
    {"chunk-bytes", 0, ED, ACT_OPTION, "chunk_bytes"},
    {"reduce-fanin", 0, ED, ACT_OPTION, "reduce_fanin"},
    {"devices", 0, ED, ACT_OPTION, "devices"},
    {"device-memory-limit", 0, ED, ACT_OPTION, "device_memory_limit"},
    {"compress", 0, CMD_EVAL, ACT_OPTION, "compress"},
    {"overwrite", 0, CMD_EVAL, ACT_SWITCH, "overwrite"},
    {"progress", 0, ED, ACT_SWITCH, NULL},
    {"no-progress", 0, ED, ACT_SWITCH, NULL},
    {"plan", 0, CMD_EVAL, ACT_SWITCH, NULL},
    {"stats", 0, CMD_EVAL, ACT_SWITCH, NULL},
    {"dot", 0, CMD_EVAL, ACT_VALUE, NULL},
    {"chunks", 0, CMD_EVAL, ACT_VALUE, NULL},
    {"input", 'i', CMD_EVAL, ACT_VALUE, NULL},
    {"output", 'o', CMD_EVAL, ACT_VALUE, NULL},
    {"size", 0, CMD_DEMO, ACT_VALUE, NULL},
    {"dir", 0, CMD_DEMO, ACT_VALUE, NULL},
    {"help", 'h', CMD_EVAL | CMD_DEMO | CMD_INFO, ACT_SWITCH, NULL},
};
#undef ED

static const flag *find_long(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) {
      return &flags[i];
    }
  }
  return NULL;
}

static const flag *find_short(char c) {
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    if (flags[i].short_name == c) {
      return &flags[i];
    }
  }
  return NULL;
}

/* "-2*x", "-.5", "-(a+b)", "- x" are expressions, not flags */
static bool looks_positional(const char *arg) {
  if (arg[0] != '-' || arg[1] == '\0') {
    return true;
  }
  unsigned char c = (unsigned char)arg[1];
  return isdigit(c) || c == '.' || c == '(' || c == ' ';
}

static int push(const char ***list, size_t *n, const char *value) {
  const char **grown = realloc(*list, (*n + 1) * sizeof **list);
  if (grown == NULL) {
    return cli_fail("out of memory");
  }
  grown[(*n)++] = value;
  *list = grown;
  return CLI_OK;
}

/* "1000,2000", "-1,500", "auto" */
static int parse_chunks(const char *command, const char *text, floe_shape *out) {
  if (strcmp(text, "auto") == 0) {
    *out = FLOE_AUTO;
    return CLI_OK;
  }
  floe_shape s = {0, {0}};
  const char *p = text;
  for (;;) {
    if (s.ndim == FLOE_MAX_DIMS) {
      return cli_usage(command, "--chunks '%s': more than %d dimensions", text, FLOE_MAX_DIMS);
    }
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno != 0 || (v <= 0 && v != -1)) {
      return cli_usage(command,
                       "--chunks '%s': expected positive lengths (or -1 for a whole axis) "
                       "separated by commas, like 1000,2000",
                       text);
    }
    s.dim[s.ndim++] = v;
    while (*end == ' ') {
      end++;
    }
    if (*end == '\0') {
      break;
    }
    if (*end != ',') {
      return cli_usage(command, "--chunks '%s': unexpected '%c'", text, *end);
    }
    p = end + 1;
  }
  *out = s;
  return CLI_OK;
}

static int apply(cli_args *a, const char *command, const flag *f, const char *shown,
                 const char *value) {
  switch (f->act) {
  case ACT_OPTION:
    /* the writers' options go apart: a context has no use for them */
    if (floe_options_parse(strcmp(f->option, "compress") == 0 ? a->wopts : a->opts, f->option,
                           value) != FLOE_OK) {
      return cli_usage(command, "%s: %s", shown, floe_error_message(NULL));
    }
    a->threads_set |= strcmp(f->option, "threads") == 0;
    a->memory_set |= strcmp(f->option, "memory_limit") == 0;
    return CLI_OK;
  case ACT_SWITCH:
    if (strcmp(f->name, "overwrite") == 0) {
      if (floe_options_parse(a->wopts, "overwrite", value != NULL ? value : "1") != FLOE_OK) {
        return cli_usage(command, "%s: %s", shown, floe_error_message(NULL));
      }
    } else if (value != NULL) {
      return cli_usage(command, "%s takes no value", shown);
    } else if (strcmp(f->name, "progress") == 0) {
      a->progress = 1;
    } else if (strcmp(f->name, "no-progress") == 0) {
      a->progress = 0;
    } else if (strcmp(f->name, "plan") == 0) {
      a->plan = true;
    } else if (strcmp(f->name, "stats") == 0) {
      a->stats = true;
    } else if (strcmp(f->name, "help") == 0) {
      a->help = true;
    }
    return CLI_OK;
  case ACT_VALUE:
    if (value[0] == '\0') {
      return cli_usage(command, "%s: empty value", shown);
    }
    if (strcmp(f->name, "input") == 0) {
      return push(&a->inputs, &a->ninputs, value);
    }
    if (strcmp(f->name, "output") == 0) {
      return push(&a->outputs, &a->noutputs, value);
    }
    if (strcmp(f->name, "chunks") == 0) {
      return parse_chunks(command, value, &a->chunks);
    }
    if (strcmp(f->name, "dot") == 0) {
      a->dot = value;
    } else if (strcmp(f->name, "size") == 0) {
      a->size = value;
    } else if (strcmp(f->name, "dir") == 0) {
      a->dir = value;
    }
    return CLI_OK;
  }
  return CLI_OK;
}

int cli_args_parse(cli_args *a, const char *command, unsigned cmd, int argc, char **argv,
                   int first) {
  memset(a, 0, sizeof *a);
  a->progress = -1;
  a->chunks = FLOE_AUTO;
  a->opts = floe_options_new();
  a->wopts = floe_options_new();
  if (a->opts == NULL || a->wopts == NULL) {
    return cli_fail("out of memory");
  }
  bool flags_done = false;
  for (int i = first; i < argc; i++) {
    const char *arg = argv[i];
    if (flags_done || looks_positional(arg)) {
      if (push(&a->pos, &a->npos, arg) != CLI_OK) {
        return CLI_FAIL;
      }
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      flags_done = true;
      continue;
    }
    const flag *f;
    const char *value = NULL;
    char shown[64];
    if (arg[1] == '-') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
      f = find_long(name, len);
      snprintf(shown, sizeof shown, "--%.*s", (int)(len < 40 ? len : 40), name);
      if (eq != NULL) {
        value = eq + 1;
      }
    } else {
      f = find_short(arg[1]);
      snprintf(shown, sizeof shown, "-%c", arg[1]);
      if (arg[2] != '\0') {
        value = arg[2] == '=' ? arg + 3 : arg + 2; /* -ix=f.h5:d, -i=x=f.h5:d */
      }
    }
    if (f == NULL || (f->commands & cmd) == 0) {
      if (f == NULL && arg[1] != '-' && arg[2] != '\0') {
        return cli_usage(command,
                         "unknown flag '%s' (an expression that starts with '-' goes after "
                         "'--': floe %s -- \"%s\")",
                         arg, command, arg);
      }
      return cli_usage(command, "unknown flag '%s' for floe %s", shown, command);
    }
    if (f->act != ACT_SWITCH && value == NULL) {
      if (i + 1 >= argc) {
        return cli_usage(command, "%s needs a value", shown);
      }
      value = argv[++i];
    }
    int rc = apply(a, command, f, shown, value);
    if (rc != CLI_OK) {
      return rc;
    }
  }
  return CLI_OK;
}

void cli_args_destroy(cli_args *a) {
  floe_options_free(a->opts);
  floe_options_free(a->wopts);
  free(a->inputs);
  free(a->outputs);
  free(a->pos);
  memset(a, 0, sizeof *a);
}
