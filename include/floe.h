/*
 * floe — parallel, out-of-core array computing in C.
 *
 * This header is the whole public API and its manual.
 *
 * Design notes that hold everywhere:
 *
 *  - Statuses.  Every call that can fail returns a floe_status (or an object
 *    that carries one).  On failure the calling thread's last error message
 *    says, in words, which operation failed and why; read it with
 *    floe_error_message().  The library never prints, exits or aborts.
 *  - Ownership.  `_new` returns an object the caller owns and releases with
 *    the matching `_free`; `_free(NULL)` is a no-op.  Arguments are borrowed.
 *  - Thread safety.  A floe_ctx is thread-safe: several user threads may use
 *    one context at once.  A floe_taskgraph is built by one thread at a time;
 *    different graphs may be built and run concurrently on one context.
 *    floe_options is not thread-safe (build it on one thread, then open).
 *  - ABI.  No public struct has fields that later versions could grow:
 *    options go through one setter keyed by an enum.
 */
#ifndef FLOE_H
#define FLOE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FLOE_API __attribute__((visibility("default")))
#else
#define FLOE_API
#endif

/* ---------------------------------------------------------------- version */

#define FLOE_VERSION_MAJOR 0
#define FLOE_VERSION_MINOR 1
#define FLOE_VERSION_PATCH 0
#define FLOE_VERSION_NUMBER                                                                        \
  (FLOE_VERSION_MAJOR * 10000 + FLOE_VERSION_MINOR * 100 + FLOE_VERSION_PATCH)
#define FLOE__STR2(x) #x
#define FLOE__STR(x) FLOE__STR2(x)
#define FLOE_VERSION_STRING                                                                        \
  FLOE__STR(FLOE_VERSION_MAJOR) "." FLOE__STR(FLOE_VERSION_MINOR) "." FLOE__STR(FLOE_VERSION_PATCH)

/** The library's version as "MAJOR.MINOR.PATCH".  Compare with
 *  FLOE_VERSION_STRING to catch a header/library mismatch.  Thread-safe. */
FLOE_API const char *floe_version_string(void);

/** The library's version as FLOE_VERSION_NUMBER.  Thread-safe. */
FLOE_API unsigned floe_version_number(void);

/* ----------------------------------------------------------------- status */

/* X(NAME, code, default message).  Codes are never renumbered. */
#define FLOE_STATUS_MAP(X)                                                                         \
  X(OK, 0, "success")                                                                              \
  X(ERR_INVALID, 1, "invalid argument")                                                            \
  X(ERR_SHAPE, 2, "shape mismatch")                                                                \
  X(ERR_DTYPE, 3, "unsupported or mismatched dtype")                                               \
  X(ERR_NOMEM, 4, "out of memory")                                                                 \
  X(ERR_IO, 5, "input/output error")                                                               \
  X(ERR_FORMAT, 6, "bad file format")                                                              \
  X(ERR_DEVICE, 7, "device error")                                                                 \
  X(ERR_CANCELLED, 8, "cancelled")                                                                 \
  X(ERR_INTERNAL, 9, "internal error")

typedef enum floe_status {
#define FLOE__STATUS_ENUM(name, code, msg) FLOE_##name = code,
  FLOE_STATUS_MAP(FLOE__STATUS_ENUM)
#undef FLOE__STATUS_ENUM
} floe_status;

/** The enumerator's name without the prefix ("OK", "ERR_NOMEM", ...);
 *  "UNKNOWN" for a value outside the table.  Thread-safe; static storage. */
FLOE_API const char *floe_status_name(floe_status s);

/** The one-line default description of a status ("out of memory", ...). */
FLOE_API const char *floe_status_string(floe_status s);

typedef struct floe_ctx floe_ctx;

/** The calling thread's last failure, in words that name the operation and,
 *  where it applies, the file, dataset, array and chunk.  "" when the thread
 *  has not failed yet.  Messages are per thread, so the context argument may
 *  be NULL (as after a failed floe_open).
 *  @note The string stays valid until the thread's next failing floe call. */
FLOE_API const char *floe_error_message(const floe_ctx *ctx);

/** Records `status` and a printf-style message as the calling thread's last
 *  failure and returns `status`.  Task functions (floe_task_fn) call it to
 *  give their failure a message: `return floe_error_set(FLOE_ERR_IO, ...)`.
 *  Thread-safe. */
FLOE_API floe_status floe_error_set(floe_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---------------------------------------------------------------- options */

/** Progress of a running compute: `done` of `total` tasks finished.  Called
 *  on the thread that waits for the run (the one that called
 *  floe_taskgraph_run or a compute), at most about ten times a second, and
 *  once more with done == total when the run succeeds.  Return non-zero to
 *  cancel the run, which then fails with FLOE_ERR_CANCELLED. */
typedef int (*floe_progress_fn)(void *user, uint64_t done, uint64_t total);

/* X(KEY, name, kind).  `name` is the key in floe_options_parse, the CLI flag
 * (underscores written as dashes: --memory-limit) and, upper-cased with a
 * FLOE_ prefix, the environment variable (FLOE_MEMORY_LIMIT). */
#define FLOE_OPTION_MAP(X)                                                                         \
  X(THREADS, threads, count)                        /* worker threads; 0 = one per core */         \
  X(MEMORY_LIMIT, memory_limit, size)               /* bytes of chunk data in RAM */               \
  X(SPILL_DIR, spill_dir, string)                   /* where spill files go */                     \
  X(SPILL_LEVEL, spill_level, count)                /* zstd level for spill, 1..19 */              \
  X(DEVICES, devices, count)                        /* GPUs to use: -1 all, 0 none, N */           \
  X(DEVICE_MEMORY_LIMIT, device_memory_limit, size) /* per GPU */                                  \
  X(CHUNK_BYTES, chunk_bytes, size)                 /* target bytes for FLOE_AUTO chunks */        \
  X(PROGRESS, progress, callback)                   /* floe_progress_fn */                         \
  X(PROGRESS_USER, progress_user, pointer)          /* its user pointer */                         \
  X(PROFILE_PATH, profile_path, string)             /* Chrome trace JSON of every task */

typedef enum floe_option {
#define FLOE__OPTION_ENUM(key, name, kind) FLOE_OPT_##key,
  FLOE_OPTION_MAP(FLOE__OPTION_ENUM)
#undef FLOE__OPTION_ENUM
      FLOE_OPT_COUNT_
} floe_option;

typedef struct floe_options floe_options;

/** A new set of options, all at their defaults; NULL if out of memory.
 *  Defaults: threads 0 (one per core), memory_limit 50% of physical memory
 *  (or of the cgroup limit when lower), spill_dir $TMPDIR or /tmp,
 *  spill_level 1, devices -1, device_memory_limit 90%, chunk_bytes 64MiB,
 *  no progress callback, no profile. */
FLOE_API floe_options *floe_options_new(void);

/** Releases options; NULL is a no-op. */
FLOE_API void floe_options_free(floe_options *opts);

/** Sets option `key` from an integer: counts as they are, sizes in bytes.
 *  FLOE_ERR_INVALID (with a message) for a key that takes no integer or a
 *  value out of range. */
FLOE_API floe_status floe_options_set_int(floe_options *opts, floe_option key, int64_t value);

/** Sets option `key` from a string, through the same parser as the
 *  environment and the CLI: counts ("4"), sizes ("4GB" = 4e9, "512MiB",
 *  "1.5G", "60%" of physical or device memory, plain bytes), paths.
 *  FLOE_ERR_INVALID with a message that quotes the bad text. */
FLOE_API floe_status floe_options_set_string(floe_options *opts, floe_option key,
                                             const char *value);

/** Sets a pointer option: FLOE_OPT_PROGRESS (a floe_progress_fn cast with
 *  floe_progress_ptr) or FLOE_OPT_PROGRESS_USER. */
FLOE_API floe_status floe_options_set_pointer(floe_options *opts, floe_option key, void *value);

/** Parses `value` for the option named `name` ("memory_limit",
 *  "memory-limit" and "FLOE_MEMORY_LIMIT" are all accepted).  This is the
 *  one parser behind the environment and the CLI flags.  FLOE_ERR_INVALID
 *  for an unknown name or a bad value, with a message naming both. */
FLOE_API floe_status floe_options_parse(floe_options *opts, const char *name, const char *value);

/** The canonical name of an option ("memory_limit"); NULL if out of range. */
FLOE_API const char *floe_option_name(floe_option key);

/** A size string ("4GB", "512MiB", "1.5G", "1024", "60%") in bytes; a
 *  percentage is of `whole` bytes.  FLOE_ERR_INVALID for anything else. */
FLOE_API floe_status floe_parse_size(const char *text, uint64_t whole, uint64_t *bytes);

typedef struct floe__progress_box {
  floe_progress_fn fn;
} floe__progress_box;

#if !defined(__cplusplus)
/** The one setter: `floe_options_set(opts, FLOE_OPT_THREADS, 4)`,
 *  `floe_options_set(opts, FLOE_OPT_MEMORY_LIMIT, "4GB")`,
 *  `floe_options_set(opts, FLOE_OPT_PROGRESS, floe_progress(my_cb))`.
 *  Dispatches on the value's type to the typed setters above. */
#define floe_options_set(opts, key, value)                                                         \
  _Generic((value),                                                            \
      char *: floe_options_set_string,                                         \
      const char *: floe_options_set_string,                                   \
      void *: floe_options_set_pointer,                                        \
      floe__progress_box: floe__options_set_progress,                          \
      default: floe_options_set_int)((opts), (key), (value))
#endif

/** Wraps a progress callback for floe_options_set. */
static inline floe__progress_box floe_progress(floe_progress_fn fn) {
  floe__progress_box b = {fn};
  return b;
}
FLOE_API floe_status floe__options_set_progress(floe_options *opts, floe_option key,
                                                floe__progress_box fn);

/* ---------------------------------------------------------------- context */

/** Opens a context: worker threads, memory budget, spill directory.
 *  `opts` may be NULL.  Settings are taken from the defaults, then the
 *  FLOE_* environment variables, then `opts` (options set explicitly win
 *  over the environment).  The options are copied; free them when you like.
 *  FLOE_ERR_INVALID for a bad environment value (the message names the
 *  variable), FLOE_ERR_IO when the profile file cannot be created,
 *  FLOE_ERR_NOMEM; *ctx is then NULL.  Thread-safe. */
FLOE_API floe_status floe_open(const floe_options *opts, floe_ctx **ctx);

/** Closes a context: waits for runs in flight, stops the workers, frees
 *  every object that still belongs to it and finishes the profile file.
 *  NULL is a no-op.  No other thread may use the context during or after. */
FLOE_API void floe_close(floe_ctx *ctx);

/** Number of worker threads of the context (0 for NULL). */
FLOE_API int floe_ctx_threads(const floe_ctx *ctx);

/** The effective host memory limit in bytes (0 for NULL). */
FLOE_API uint64_t floe_ctx_memory_limit(const floe_ctx *ctx);

/* ----------------------------------------------------------- task graphs */

/* floe's counterpart of Dask's delayed: a graph of C functions with
 * dependencies, run by the same work-stealing runtime that runs array
 * computations.
 *
 *     floe_taskgraph *g = floe_taskgraph_new(ctx);
 *     floe_task *a = floe_task_add(g, load, &part0);
 *     floe_task *b = floe_task_add(g, reduce, &acc);
 *     floe_task_depends(b, a);                 // b runs after a
 *     floe_status s = floe_taskgraph_run(g);   // blocks; first error wins
 *     floe_taskgraph_free(g);
 *
 * Building is sticky: a failing floe_task_add / floe_task_depends records
 * its error in the graph, and floe_taskgraph_run returns it without running
 * anything, so a loop that builds a graph may check once, at the end.
 */

typedef struct floe_taskgraph floe_taskgraph;
typedef struct floe_task floe_task;

/** A task body.  Return FLOE_OK, or a failure status (give it a message with
 *  floe_error_set).  Runs on a worker thread; must not block on other tasks
 *  of the same run except through floe_taskgraph_run of another graph. */
typedef floe_status (*floe_task_fn)(void *arg);

/** A new, empty graph on `ctx`; NULL (with the thread's message set) for a
 *  NULL context or out of memory.  The graph belongs to the caller and is
 *  freed by floe_taskgraph_free, or at floe_close. */
FLOE_API floe_taskgraph *floe_taskgraph_new(floe_ctx *ctx);

/** Frees a graph that is not running; NULL is a no-op. */
FLOE_API void floe_taskgraph_free(floe_taskgraph *g);

/** Adds a task that calls fn(arg).  Returns the task, owned by the graph, or
 *  NULL when g or fn is NULL, the graph is running, or memory runs out (the
 *  error is also kept in the graph; see above).  Cost: tens of nanoseconds. */
FLOE_API floe_task *floe_task_add(floe_taskgraph *g, floe_task_fn fn, void *arg);

/** Makes `task` run only after `before` has finished.  Both must belong to
 *  the same graph.  FLOE_ERR_INVALID for NULL, different graphs, a task that
 *  depends on itself, or a running graph.  Cycles are found at run time. */
FLOE_API floe_status floe_task_depends(floe_task *task, floe_task *before);

/** Labels a task for profiles and error messages (the string is copied).
 *  FLOE_ERR_INVALID for NULL; FLOE_ERR_NOMEM. */
FLOE_API floe_status floe_task_name(floe_task *task, const char *name);

/** Sets a task's priority (default 0; higher runs earlier when several
 *  tasks are ready).  A hint for ordering, never a guarantee: work stealing
 *  keeps the runtime depth-first.  FLOE_ERR_INVALID for NULL. */
FLOE_API floe_status floe_task_priority(floe_task *task, int priority);

/** Number of tasks in the graph (0 for NULL). */
FLOE_API size_t floe_taskgraph_size(const floe_taskgraph *g);

/** Runs every task of the graph once, respecting dependencies, on the
 *  context's workers, and blocks until all have finished.  The first failing
 *  task's status is returned and its message becomes the calling thread's;
 *  tasks that had not started are cancelled (never called) and no worker
 *  deadlocks.  FLOE_ERR_INVALID for a cycle (nothing runs), for a graph that
 *  is already running, or a sticky build error; FLOE_ERR_CANCELLED when the
 *  progress callback asked to stop.  A graph may be run again.  May be called
 *  from several user threads at once (on different graphs), and from inside
 *  a task (the calling worker helps until the inner run is done). */
FLOE_API floe_status floe_taskgraph_run(floe_taskgraph *g);

#ifdef __cplusplus
}
#endif

#endif /* FLOE_H */
