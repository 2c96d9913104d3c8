/* Options: one table of keys (FLOE_OPTION_MAP) drives the typed setters, the
 * name-keyed parser shared with the environment and the CLI, and the
 * resolution into a context's configuration. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error-internal.h"
#include "options-internal.h"

typedef struct opt_info {
  const char *name;
  floe__opt_kind kind;
} opt_info;

static const opt_info opt_table[FLOE_OPT_COUNT_] = {
#define OPT_ROW(key, name, kind) [FLOE_OPT_##key] = {#name, FLOE__KIND_##kind},
#define FLOE__KIND_count FLOE__KIND_COUNT
#define FLOE__KIND_size FLOE__KIND_SIZE
#define FLOE__KIND_string FLOE__KIND_STRING
#define FLOE__KIND_callback FLOE__KIND_CALLBACK
#define FLOE__KIND_pointer FLOE__KIND_POINTER
    FLOE_OPTION_MAP(OPT_ROW)
#undef OPT_ROW
};

static floe_status parse_compress(const char *op, const char *where, const char *text, int *level);

/* Inclusive ranges for counts. */
static int count_range(floe_option key, int64_t *lo, int64_t *hi) {
  switch (key) {
  case FLOE_OPT_THREADS:
    *lo = 0, *hi = 4096;
    return 1;
  case FLOE_OPT_SPILL_LEVEL:
    *lo = 1, *hi = 19;
    return 1;
  case FLOE_OPT_DEVICES:
    *lo = -1, *hi = 1024;
    return 1;
  case FLOE_OPT_REDUCE_FANIN:
    *lo = 2, *hi = 64;
    return 1;
  case FLOE_OPT_OVERWRITE:
    *lo = 0, *hi = 1;
    return 1;
  default:
    return 0;
  }
}

static int valid_key(floe_option key) {
  return (int)key >= 0 && key < FLOE_OPT_COUNT_;
}

const char *floe_option_name(floe_option key) {
  return valid_key(key) ? opt_table[key].name : NULL;
}

floe_options *floe_options_new(void) {
  floe_options *o = calloc(1, sizeof *o);
  if (o == NULL) {
    floe__fail(FLOE_ERR_NOMEM, "floe_options_new: out of memory");
  }
  return o;
}

void floe_options_free(floe_options *opts) {
  if (opts == NULL) {
    return;
  }
  for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
    free(opts->v[k].s);
  }
  free(opts);
}

/* ------------------------------------------------------------- parsing */

static const char *skip_space(const char *s) {
  while (isspace((unsigned char)*s)) {
    s++;
  }
  return s;
}

floe_status floe_parse_size(const char *text, uint64_t whole, uint64_t *bytes) {
  FLOE_RETURN_ERROR_IF(text == NULL || bytes == NULL, FLOE_ERR_INVALID,
                       "floe_parse_size: NULL argument");
  const char *s = skip_space(text);
  FLOE_RETURN_ERROR_IF(*s == '\0', FLOE_ERR_INVALID, "size '%s': empty", text);
  FLOE_RETURN_ERROR_IF(*s == '-', FLOE_ERR_INVALID, "size '%s': negative", text);
  char *end = NULL;
  errno = 0;
  double num = strtod(s, &end);
  FLOE_RETURN_ERROR_IF(end == s || errno != 0 || !isfinite(num) || num < 0, FLOE_ERR_INVALID,
                       "size '%s': expected a number with an optional unit (B, KB, MiB, GB, %%)",
                       text);
  /* hexadecimal floats and "inf" are accepted by strtod but not by us */
  FLOE_RETURN_ERROR_IF(!isdigit((unsigned char)*s) && *s != '.', FLOE_ERR_INVALID,
                       "size '%s': expected a number with an optional unit", text);
  for (const char *c = s; c < end; c++) {
    FLOE_RETURN_ERROR_IF(!isdigit((unsigned char)*c) && *c != '.' && *c != 'e' && *c != 'E' &&
                             *c != '+',
                         FLOE_ERR_INVALID, "size '%s': expected a decimal number", text);
  }
  const char *u = skip_space(end);
  char unit[8] = {0};
  size_t n = 0;
  while (u[n] != '\0' && !isspace((unsigned char)u[n])) {
    FLOE_RETURN_ERROR_IF(n + 1 >= sizeof unit, FLOE_ERR_INVALID, "size '%s': unknown unit", text);
    unit[n] = (char)tolower((unsigned char)u[n]);
    n++;
  }
  FLOE_RETURN_ERROR_IF(*skip_space(u + n) != '\0', FLOE_ERR_INVALID,
                       "size '%s': trailing characters", text);
  static const struct {
    const char *unit;
    double mult;
  } units[] = {
      {"", 1},
      {"b", 1},
      {"k", 1e3},
      {"kb", 1e3},
      {"kib", 1024.0},
      {"m", 1e6},
      {"mb", 1e6},
      {"mib", 1048576.0},
      {"g", 1e9},
      {"gb", 1e9},
      {"gib", 1073741824.0},
      {"t", 1e12},
      {"tb", 1e12},
      {"tib", 1099511627776.0},
  };
  double value = -1;
  if (strcmp(unit, "%") == 0) {
    FLOE_RETURN_ERROR_IF(num > 100, FLOE_ERR_INVALID, "size '%s': more than 100%%", text);
    value = num / 100.0 * (double)whole;
  } else {
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      if (strcmp(unit, units[i].unit) == 0) {
        value = num * units[i].mult;
        break;
      }
    }
    FLOE_RETURN_ERROR_IF(value < 0, FLOE_ERR_INVALID,
                         "size '%s': unknown unit '%s' (use B, KB, MB, GB, TB, KiB, MiB, GiB, "
                         "TiB or %%)",
                         text, unit);
  }
  FLOE_RETURN_ERROR_IF(value >= 18446744073709551615.0, FLOE_ERR_INVALID, "size '%s': too large",
                       text);
  *bytes = (uint64_t)(value + 0.5);
  return FLOE_OK;
}

static floe_status parse_count(const char *what, const char *text, int64_t *out) {
  const char *s = skip_space(text);
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  FLOE_RETURN_ERROR_IF(end == s || errno != 0 || *skip_space(end) != '\0', FLOE_ERR_INVALID,
                       "%s '%s': expected an integer", what, text);
  *out = v;
  return FLOE_OK;
}

static floe_status check_count(floe_option key, int64_t v) {
  int64_t lo = 0, hi = 0;
  if (count_range(key, &lo, &hi)) {
    FLOE_RETURN_ERROR_IF(v < lo || v > hi, FLOE_ERR_INVALID,
                         "option %s: %lld is out of range [%lld, %lld]", opt_table[key].name,
                         (long long)v, (long long)lo, (long long)hi);
  }
  return FLOE_OK;
}

/* A size given as text: "60%" stays a fraction until the whole is known. */
static floe_status parse_size_value(floe_option key, const char *text, floe__opt_value *v) {
  const char *s = skip_space(text);
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1])) {
    len--;
  }
  if (len > 0 && s[len - 1] == '%') {
    uint64_t per_mille = 0;
    floe_status st = floe_parse_size(text, 1000000, &per_mille);
    if (st != FLOE_OK) {
      return floe__fail(st, "option %s: %s", opt_table[key].name, floe__error_slot()->msg);
    }
    FLOE_RETURN_ERROR_IF(per_mille == 0, FLOE_ERR_INVALID, "option %s: '%s' is zero",
                         opt_table[key].name, text);
    v->fraction = (double)per_mille / 1e6;
    v->i = 0;
    return FLOE_OK;
  }
  uint64_t bytes = 0;
  floe_status st = floe_parse_size(text, 0, &bytes);
  if (st != FLOE_OK) {
    return floe__fail(st, "option %s: %s", opt_table[key].name, floe__error_slot()->msg);
  }
  FLOE_RETURN_ERROR_IF(bytes == 0 || bytes > INT64_MAX, FLOE_ERR_INVALID,
                       "option %s: '%s' must be between 1 byte and 8 EiB", opt_table[key].name,
                       text);
  v->i = (int64_t)bytes;
  v->fraction = 0;
  return FLOE_OK;
}

/* ------------------------------------------------------------- setters */

#define CHECK_OPTS(fn)                                                                             \
  FLOE_RETURN_ERROR_IF(opts == NULL, FLOE_ERR_INVALID, fn ": options are NULL");                   \
  FLOE_RETURN_ERROR_IF(!valid_key(key), FLOE_ERR_INVALID, fn ": unknown option key %d", (int)key)

floe_status floe_options_set_int(floe_options *opts, floe_option key, int64_t value) {
  CHECK_OPTS("floe_options_set");
  floe__opt_kind kind = opt_table[key].kind;
  FLOE_RETURN_ERROR_IF(kind != FLOE__KIND_COUNT && kind != FLOE__KIND_SIZE, FLOE_ERR_INVALID,
                       "floe_options_set: option %s does not take an integer", opt_table[key].name);
  if (kind == FLOE__KIND_COUNT) {
    FLOE_FORWARD_IF_ERROR(check_count(key, value));
  } else {
    FLOE_RETURN_ERROR_IF(value <= 0, FLOE_ERR_INVALID,
                         "floe_options_set: option %s must be a positive number of bytes, got "
                         "%lld",
                         opt_table[key].name, (long long)value);
  }
  opts->v[key].i = value;
  opts->v[key].fraction = 0;
  opts->set_mask |= 1u << key;
  return FLOE_OK;
}

floe_status floe_options_set_string(floe_options *opts, floe_option key, const char *value) {
  CHECK_OPTS("floe_options_set");
  FLOE_RETURN_ERROR_IF(value == NULL, FLOE_ERR_INVALID, "floe_options_set: option %s: NULL value",
                       opt_table[key].name);
  floe__opt_value v = opts->v[key];
  switch (opt_table[key].kind) {
  case FLOE__KIND_COUNT: {
    int64_t n = 0;
    char what[64];
    snprintf(what, sizeof what, "option %s:", opt_table[key].name);
    FLOE_FORWARD_IF_ERROR(parse_count(what, value, &n));
    FLOE_FORWARD_IF_ERROR(check_count(key, n));
    v.i = n;
    break;
  }
  case FLOE__KIND_SIZE:
    FLOE_FORWARD_IF_ERROR(parse_size_value(key, value, &v));
    break;
  case FLOE__KIND_STRING: {
    FLOE_RETURN_ERROR_IF(value[0] == '\0', FLOE_ERR_INVALID, "option %s: empty value",
                         opt_table[key].name);
    if (key == FLOE_OPT_COMPRESS) {
      int level;
      FLOE_FORWARD_IF_ERROR(parse_compress("floe_options_set", "compress", value, &level));
    }
    char *copy = strdup(value);
    FLOE_RETURN_ERROR_IF(copy == NULL, FLOE_ERR_NOMEM, "option %s: out of memory",
                         opt_table[key].name);
    free(v.s);
    v.s = copy;
    break;
  }
  default:
    return floe__fail(FLOE_ERR_INVALID, "option %s cannot be set from a string",
                      opt_table[key].name);
  }
  opts->v[key] = v;
  opts->set_mask |= 1u << key;
  return FLOE_OK;
}

floe_status floe_options_set_pointer(floe_options *opts, floe_option key, void *value) {
  CHECK_OPTS("floe_options_set");
  FLOE_RETURN_ERROR_IF(key != FLOE_OPT_PROGRESS_USER, FLOE_ERR_INVALID,
                       "floe_options_set: option %s does not take a pointer%s", opt_table[key].name,
                       key == FLOE_OPT_PROGRESS ? " (wrap the callback in floe_progress())" : "");
  opts->v[key].p = value;
  opts->set_mask |= 1u << key;
  return FLOE_OK;
}

floe_status floe__options_set_progress(floe_options *opts, floe_option key, floe__progress_box fn) {
  CHECK_OPTS("floe_options_set");
  FLOE_RETURN_ERROR_IF(key != FLOE_OPT_PROGRESS, FLOE_ERR_INVALID,
                       "floe_options_set: option %s does not take a callback", opt_table[key].name);
  opts->v[key].fn = fn.fn;
  opts->set_mask |= 1u << key;
  return FLOE_OK;
}

/* "memory_limit", "memory-limit", "--memory-limit", "FLOE_MEMORY_LIMIT" */
static int lookup_name(const char *name, floe_option *key) {
  const char *s = name;
  while (*s == '-') {
    s++;
  }
  if (strncasecmp(s, "FLOE_", 5) == 0) {
    s += 5;
  }
  char norm[64];
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    if (n + 1 >= sizeof norm) {
      return 0;
    }
    norm[n] = s[n] == '-' ? '_' : (char)tolower((unsigned char)s[n]);
  }
  norm[n] = '\0';
  for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
    if (strcmp(norm, opt_table[k].name) == 0) {
      *key = (floe_option)k;
      return 1;
    }
  }
  return 0;
}

floe_status floe_options_parse(floe_options *opts, const char *name, const char *value) {
  FLOE_RETURN_ERROR_IF(opts == NULL || name == NULL || value == NULL, FLOE_ERR_INVALID,
                       "floe_options_parse: NULL argument");
  floe_option key;
  FLOE_RETURN_ERROR_IF(!lookup_name(name, &key), FLOE_ERR_INVALID,
                       "floe_options_parse: unknown option '%s'", name);
  FLOE_RETURN_ERROR_IF(opt_table[key].kind == FLOE__KIND_CALLBACK ||
                           opt_table[key].kind == FLOE__KIND_POINTER,
                       FLOE_ERR_INVALID, "floe_options_parse: option %s cannot be given as text",
                       opt_table[key].name);
  return floe_options_set_string(opts, key, value);
}

/* ------------------------------------------------------------- machine */

int floe__cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) {
      return n;
    }
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static uint64_t read_limit_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return 0;
  }
  char buf[64] = {0};
  uint64_t v = 0;
  if (fgets(buf, sizeof buf, f) != NULL && isdigit((unsigned char)buf[0])) {
    v = strtoull(buf, NULL, 10);
  }
  fclose(f);
  return v;
}

uint64_t floe__physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  uint64_t phys = (pages > 0 && page > 0) ? (uint64_t)pages * (uint64_t)page : (1ull << 32);
  /* a container's limit is the machine we really have */
  uint64_t cg = read_limit_file("/sys/fs/cgroup/memory.max");
  if (cg == 0) {
    cg = read_limit_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  }
  if (cg > 0 && cg < phys) {
    phys = cg;
  }
  return phys;
}

/* ------------------------------------------------------------- resolve */

static floe_status load_environment(floe_options *env) {
  for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
    if (opt_table[k].kind == FLOE__KIND_CALLBACK || opt_table[k].kind == FLOE__KIND_POINTER) {
      continue;
    }
    char var[64] = "FLOE_";
    size_t n = 5;
    for (const char *c = opt_table[k].name; *c != '\0' && n + 1 < sizeof var; c++) {
      var[n++] = (char)toupper((unsigned char)*c);
    }
    var[n] = '\0';
    const char *text = getenv(var);
    if (text == NULL) {
      continue;
    }
    if (floe_options_set_string(env, (floe_option)k, text) != FLOE_OK) {
      return floe__fail(FLOE_ERR_INVALID, "environment variable %s: %s", var,
                        floe__error_slot()->msg);
    }
  }
  return FLOE_OK;
}

static uint64_t size_of(const floe__opt_value *v, uint64_t whole) {
  if (v->fraction > 0) {
    uint64_t b = (uint64_t)(v->fraction * (double)whole);
    return b > 0 ? b : 1;
  }
  return (uint64_t)v->i;
}

floe_status floe__config_resolve(const floe_options *opts, floe__config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  floe_options merged = {0};
  /* defaults */
  merged.v[FLOE_OPT_THREADS].i = 0;
  merged.v[FLOE_OPT_MEMORY_LIMIT].fraction = 0.5;
  merged.v[FLOE_OPT_SPILL_LEVEL].i = 1;
  merged.v[FLOE_OPT_DEVICES].i = -1;
  merged.v[FLOE_OPT_DEVICE_MEMORY_LIMIT].fraction = 0.9;
  merged.v[FLOE_OPT_CHUNK_BYTES].i = 64ll << 20;
  merged.v[FLOE_OPT_REDUCE_FANIN].i = 8;

  floe_options env = {0};
  floe_status st = load_environment(&env);
  for (int k = 0; k < FLOE_OPT_COUNT_ && st == FLOE_OK; k++) {
    const floe_options *src = NULL;
    if (opts != NULL && (opts->set_mask & (1u << k))) {
      src = opts;
    } else if (env.set_mask & (1u << k)) {
      src = &env;
    }
    if (src != NULL) {
      merged.v[k] = src->v[k];
      merged.v[k].s = NULL;
      if (src->v[k].s != NULL && (merged.v[k].s = strdup(src->v[k].s)) == NULL) {
        st = floe__fail(FLOE_ERR_NOMEM, "floe_open: out of memory");
      }
    }
  }
  for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
    free(env.v[k].s);
  }
  if (st != FLOE_OK) {
    for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
      free(merged.v[k].s);
    }
    return st;
  }

  int64_t threads = merged.v[FLOE_OPT_THREADS].i;
  cfg->threads = threads > 0 ? (int)threads : floe__cpu_count();
  cfg->memory_limit = size_of(&merged.v[FLOE_OPT_MEMORY_LIMIT], floe__physical_memory());
  cfg->spill_level = (int)merged.v[FLOE_OPT_SPILL_LEVEL].i;
  cfg->reduce_fanin = (int)merged.v[FLOE_OPT_REDUCE_FANIN].i;
  cfg->devices = (int)merged.v[FLOE_OPT_DEVICES].i;
  cfg->device_memory_fraction = merged.v[FLOE_OPT_DEVICE_MEMORY_LIMIT].fraction;
  cfg->device_memory_limit = (uint64_t)merged.v[FLOE_OPT_DEVICE_MEMORY_LIMIT].i;
  cfg->chunk_bytes = size_of(&merged.v[FLOE_OPT_CHUNK_BYTES], floe__physical_memory());
  cfg->progress = merged.v[FLOE_OPT_PROGRESS].fn;
  cfg->progress_user = merged.v[FLOE_OPT_PROGRESS_USER].p;
  cfg->profile_path = merged.v[FLOE_OPT_PROFILE_PATH].s;
  cfg->spill_dir = merged.v[FLOE_OPT_SPILL_DIR].s;
  for (int k = 0; k < FLOE_OPT_COUNT_; k++) {
    if (k != FLOE_OPT_PROFILE_PATH && k != FLOE_OPT_SPILL_DIR) {
      free(merged.v[k].s); /* strings a context does not keep (compress) */
    }
  }
  if (cfg->spill_dir == NULL) {
    const char *tmp = getenv("TMPDIR");
    cfg->spill_dir = strdup(tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (cfg->spill_dir == NULL) {
      free(cfg->profile_path);
      return floe__fail(FLOE_ERR_NOMEM, "floe_open: out of memory");
    }
  }
  return FLOE_OK;
}

/* "none", "zstd" or "zstd:LEVEL" (1..22) as a zstd level, 0 for none. */
static floe_status parse_compress(const char *op, const char *where, const char *text, int *level) {
  if (strcmp(text, "none") == 0) {
    *level = 0;
    return FLOE_OK;
  }
  if (strncmp(text, "zstd", 4) == 0 && (text[4] == '\0' || text[4] == ':')) {
    if (text[4] == '\0') {
      *level = 1;
      return FLOE_OK;
    }
    char *end;
    long v = strtol(text + 5, &end, 10);
    if (end != text + 5 && *end == '\0' && v >= 1 && v <= 22) {
      *level = (int)v;
      return FLOE_OK;
    }
  }
  return floe__fail(FLOE_ERR_INVALID,
                    "%s: %s '%s' is not a compression (use none, zstd or zstd:LEVEL with a level "
                    "from 1 to 22)",
                    op, where, text);
}

floe_status floe__output_config(const char *op, const floe_options *opts, int *level,
                                int *overwrite) {
  *level = 0;
  *overwrite = 0;
  const char *env = getenv("FLOE_COMPRESS");
  if (env != NULL && env[0] != '\0') {
    FLOE_FORWARD_IF_ERROR(parse_compress(op, "FLOE_COMPRESS", env, level));
  }
  env = getenv("FLOE_OVERWRITE");
  if (env != NULL && env[0] != '\0') {
    int64_t v;
    FLOE_FORWARD_IF_ERROR(parse_count("FLOE_OVERWRITE:", env, &v));
    FLOE_RETURN_ERROR_IF(v != 0 && v != 1, FLOE_ERR_INVALID, "%s: FLOE_OVERWRITE must be 0 or 1",
                         op);
    *overwrite = (int)v;
  }
  if (opts != NULL && (opts->set_mask & (1u << FLOE_OPT_COMPRESS))) {
    FLOE_FORWARD_IF_ERROR(
        parse_compress(op, "option compress", opts->v[FLOE_OPT_COMPRESS].s, level));
  }
  if (opts != NULL && (opts->set_mask & (1u << FLOE_OPT_OVERWRITE))) {
    *overwrite = opts->v[FLOE_OPT_OVERWRITE].i != 0;
  }
  return FLOE_OK;
}

void floe__config_destroy(floe__config *cfg) {
  free(cfg->spill_dir);
  free(cfg->profile_path);
  memset(cfg, 0, sizeof *cfg);
}
