/* Options as the user sets them, and the configuration a context resolves
 * from defaults, the environment and those options. */
#ifndef FLOE_CORE_OPTIONS_INTERNAL_H
#define FLOE_CORE_OPTIONS_INTERNAL_H

#include <stdint.h>

#include "floe.h"

typedef enum floe__opt_kind {
  FLOE__KIND_COUNT,
  FLOE__KIND_SIZE,
  FLOE__KIND_STRING,
  FLOE__KIND_CALLBACK,
  FLOE__KIND_POINTER,
} floe__opt_kind;

/* One option's value.  A size is either `i` bytes or, when `fraction` > 0,
 * that share of a whole known only at open (physical or device memory). */
typedef struct floe__opt_value {
  int64_t i;
  double fraction;
  char *s;
  void *p;
  floe_progress_fn fn;
} floe__opt_value;

struct floe_options {
  floe__opt_value v[FLOE_OPT_COUNT_];
  uint32_t set_mask; /* bit k: option k was set explicitly */
};

/* What a context runs with: every field resolved to a concrete value. */
typedef struct floe__config {
  int threads;
  uint64_t memory_limit;
  char *spill_dir;
  int spill_level;
  int reduce_fanin;
  int devices;
  double device_memory_fraction; /* used when device_memory_limit is 0 */
  uint64_t device_memory_limit;
  uint64_t chunk_bytes;
  floe_progress_fn progress;
  void *progress_user;
  char *profile_path;
} floe__config;

/* Defaults, then FLOE_* environment variables, then `opts` (may be NULL).
 * FLOE_ERR_INVALID with a message naming a bad environment variable. */
floe_status floe__config_resolve(const floe_options *opts, floe__config *cfg);
void floe__config_destroy(floe__config *cfg);

/* The output options of a file writer (`op` names it in messages): the
 * zstd level (0: no compression) and the overwrite policy, from the
 * defaults, then FLOE_COMPRESS / FLOE_OVERWRITE, then `opts` (may be NULL).
 * FLOE_ERR_INVALID for a bad compress value. */
floe_status floe__output_config(const char *op, const floe_options *opts, int *level,
                                int *overwrite);

/* Machine facts used for defaults. */
int floe__cpu_count(void);
uint64_t floe__physical_memory(void);

#endif
