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
#include <stdio.h>

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
  X(PROFILE_PATH, profile_path, string)             /* Chrome trace JSON of every task */          \
  X(REDUCE_FANIN, reduce_fanin, count)              /* partials combined per tree node, 2..64 */ \
  X(COMPRESS, compress, string)                     /* outputs: "none", "zstd", "zstd:LEVEL" */    \
  X(OVERWRITE, overwrite, count)                    /* outputs: 0 refuse, 1 replace the dataset */

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
 *  spill_level 1, devices -1, device_memory_limit 90%, chunk_bytes 64MiB, reduce_fanin 8,
 *  no progress callback, no profile, compress "none", overwrite 0.
 *  The last two are read by the file writers (floe_to_hdf5,
 *  floe_job_add_hdf5), which take a floe_options of their own; a context
 *  ignores them.
 *
 *  Memory.  memory_limit bounds the chunk data a context holds in RAM:
 *  chunks read from files, chunks of persisted arrays, reductions' results
 *  and the buffers tasks compute chunks in are all counted before they are
 *  allocated.  When a request does not fit, floe first drops chunks it can
 *  read again from their input file, then compresses other idle chunks
 *  (persisted arrays) with zstd into a spill file in spill_dir
 *  (floe-spill-PID-N.h5, an HDF5 file; removed at floe_close, and when
 *  left by a process that died, at the next floe_open), and otherwise waits
 *  for running tasks to give memory back.  Read tasks are admitted the
 *  same way, so inputs are never read faster than they are consumed.
 *  A run whose largest task (a chunk of each input it reads, its output
 *  chunk and its compression buffers), beside the reductions' results,
 *  cannot fit fails with FLOE_ERR_NOMEM before anything is allocated, with
 *  a message naming the task and the bytes; smaller chunks (chunk_bytes,
 *  or explicit chunks) make smaller tasks.  The process holds, beyond the
 *  limit, the library itself and each worker's registers and reduction
 *  accumulators (tens of MB).  Results do not depend on the limit: they
 *  are the same bits as an unlimited run's with the same chunks.  The
 *  limit does not change automatic chunks for that reason. */
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

/* ================================================================ arrays */

/* A floe_array is an immutable, lazy, chunked N-d array: a handle to a node
 * of a graph that nothing computes until floe_compute (or a sibling) asks.
 *
 * Ownership.  Every function that returns a floe_array * returns a new
 * reference (a new handle) owned by the caller; arguments are borrowed, never
 * stolen.  floe_release() drops a reference.  Every handle still alive dies
 * with its context at floe_close, so short programs may skip releases; loops
 * that build many graphs bracket each iteration with floe_scope_begin /
 * floe_scope_end.  A released handle is poisoned: passing it again gives
 * FLOE_ERR_INVALID ("released array"), never a crash (within the last 65536
 * releases of the context).
 *
 * Sticky errors.  No operation returns NULL for bad input: it returns an
 * array in an error state that holds the status and a message naming the
 * operation; operations on it pass the error on unchanged, and it surfaces at
 * compute, or at once through floe_array_status().  Nested expressions are
 * therefore safe to write without checks.  NULL is returned only when the
 * context itself is NULL or memory for a handle cannot be had.
 *
 * Thread safety.  Arrays may be created, combined, computed and released
 * from several threads on one context.  A handle is one reference: do not
 * release the same handle from two threads. */

typedef struct floe_array floe_array;

#define FLOE_MAX_DIMS 8

/* X(NAME, name, C type, bytes).  Codes are never renumbered. */
#define FLOE_DTYPE_MAP(X)                                                                          \
  X(BOOL, bool, _Bool, 1)                                                                          \
  X(UINT8, uint8, uint8_t, 1)                                                                      \
  X(INT32, int32, int32_t, 4)                                                                      \
  X(INT64, int64, int64_t, 8)                                                                      \
  X(FLOAT32, float32, float, 4)                                                                    \
  X(FLOAT64, float64, double, 8)

typedef enum floe_dtype {
#define FLOE__DTYPE_ENUM(NAME, name, ctype, bytes) FLOE_##NAME,
  FLOE_DTYPE_MAP(FLOE__DTYPE_ENUM)
#undef FLOE__DTYPE_ENUM
      FLOE_DTYPE_COUNT_
} floe_dtype;

/** "float64", ...; NULL for a value out of range. */
FLOE_API const char *floe_dtype_name(floe_dtype dtype);
/** Bytes per element; 0 for a value out of range. */
FLOE_API size_t floe_dtype_size(floe_dtype dtype);
/** The dtype of array-with-array arithmetic (NumPy 2 promotion). */
FLOE_API floe_dtype floe_result_type(floe_dtype a, floe_dtype b);

/** A shape or a chunk shape, passed by value.  Build with FLOE_SHAPE(...).
 *  As chunks, an entry of -1 means the whole axis, and FLOE_AUTO lets floe
 *  pick chunks near the context's chunk_bytes. */
typedef struct floe_shape {
  int ndim;
  int64_t dim[FLOE_MAX_DIMS];
} floe_shape;

#define FLOE__NARGS64(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define FLOE_SHAPE(...) ((floe_shape){FLOE__NARGS64(__VA_ARGS__), {__VA_ARGS__}})
/** The shape of a 0-d array (a scalar). */
#define FLOE_SCALAR_SHAPE ((floe_shape){0, {0}})
/** Automatic chunks, as the chunks argument. */
#define FLOE_AUTO ((floe_shape){-1, {0}})

/** A set of axes for reductions; negative axes count from the end.
 *  FLOE_AXES(0, 2), FLOE_ALL (every axis), FLOE_KEEPDIMS(axes) keeps the
 *  reduced axes with length 1. */
typedef struct floe_axes {
  int n; /* -1: all axes */
  int keepdims;
  int axis[FLOE_MAX_DIMS];
} floe_axes;

#define FLOE__NARGSI(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))
#define FLOE_AXES(...) ((floe_axes){FLOE__NARGSI(__VA_ARGS__), 0, {__VA_ARGS__}})
#define FLOE_ALL ((floe_axes){-1, 0, {0}})
static inline floe_axes floe__keepdims(floe_axes a) {
  a.keepdims = 1;
  return a;
}
#define FLOE_KEEPDIMS(axes) floe__keepdims(axes)

/* ------------------------------------------------------- handles, scopes */

/** Drops one reference; NULL is a no-op. */
FLOE_API void floe_release(floe_array *a);

/** Opens a scope on the calling thread: every array handle created by this
 *  thread on `ctx` until the matching floe_scope_end is released then,
 *  except those passed to floe_keep.  Scopes nest.  FLOE_ERR_INVALID for a
 *  NULL context. */
FLOE_API floe_status floe_scope_begin(floe_ctx *ctx);

/** Closes the innermost scope of the calling thread (see above).
 *  FLOE_ERR_INVALID when no scope is open. */
FLOE_API floe_status floe_scope_end(floe_ctx *ctx);

/** Moves a handle out of the innermost scope into the enclosing one (or
 *  out of all scopes), so that floe_scope_end does not release it.
 *  Returns `a`. */
FLOE_API floe_array *floe_keep(floe_array *a);

/** FLOE_OK, or the status of an array in an error state (FLOE_ERR_INVALID
 *  for NULL or a released handle). */
FLOE_API floe_status floe_array_status(const floe_array *a);

/** The message of an array in an error state; "" for a good array. */
FLOE_API const char *floe_array_message(const floe_array *a);

/** Shape, chunks (regular chunk lengths; edge chunks may be shorter), dtype,
 *  element count and bytes.  For NULL, released or error arrays: ndim 0,
 *  size 0, and FLOE_DTYPE_COUNT_ as the dtype. */
FLOE_API floe_shape floe_array_shape(const floe_array *a);
FLOE_API floe_shape floe_array_chunks(const floe_array *a);
FLOE_API floe_dtype floe_array_dtype(const floe_array *a);
FLOE_API int floe_array_ndim(const floe_array *a);
FLOE_API int64_t floe_array_size(const floe_array *a);
FLOE_API uint64_t floe_array_nbytes(const floe_array *a);
FLOE_API floe_ctx *floe_array_ctx(const floe_array *a);

/* -------------------------------------------------------------- creation */

FLOE_API floe_array *floe_zeros(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                                floe_shape chunks);
FLOE_API floe_array *floe_ones(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                               floe_shape chunks);
/** Every element `value` converted to dtype as by a C cast (NaN → 0 for
 *  integers). */
FLOE_API floe_array *floe_full(floe_ctx *ctx, floe_dtype dtype, floe_shape shape, floe_shape chunks,
                               double value);
/** [start, stop) in steps of `step`, like numpy.arange: ceil((stop-start)/step)
 *  elements, element i = start + i*step.  FLOE_ERR_INVALID for step 0. */
FLOE_API floe_array *floe_arange(floe_ctx *ctx, floe_dtype dtype, double start, double stop,
                                 double step, floe_shape chunks);
/** `num` evenly spaced values from start to stop inclusive, like
 *  numpy.linspace. */
FLOE_API floe_array *floe_linspace(floe_ctx *ctx, floe_dtype dtype, double start, double stop,
                                   int64_t num, floe_shape chunks);
/** Wraps caller memory in C order; nothing is copied.
 *  @note The caller keeps `data` alive and unchanged until the last compute
 *  that reads it has returned. */
FLOE_API floe_array *floe_from_buffer(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                                      floe_shape chunks, const void *data);
/** Uniform numbers in [low, high) from Philox4x32-10 keyed by `seed` and the
 *  element's flat index: the same values whatever the chunking, thread count
 *  or device.  dtype float32 or float64. */
FLOE_API floe_array *floe_random_uniform(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                                         floe_shape chunks, uint64_t seed, double low, double high);
/** Normal numbers with the given mean and standard deviation (Box–Muller
 *  over the same counter-based stream as floe_random_uniform). */
FLOE_API floe_array *floe_random_normal(floe_ctx *ctx, floe_dtype dtype, floe_shape shape,
                                        floe_shape chunks, uint64_t seed, double mean,
                                        double stddev);
/** A weak scalar, like a Python float in NumPy 2: it takes the other
 *  operand's dtype when that is floating (x_f32 * 2.0 stays float32) and
 *  makes integers float64. */
FLOE_API floe_array *floe_scalar(floe_ctx *ctx, double value);
/** A weak integer scalar, like a Python int: x_i32 + 1 stays int32; an
 *  integer dtype that cannot hold the value is an error, as in NumPy 2. */
FLOE_API floe_array *floe_scalar_int(floe_ctx *ctx, int64_t value);

/* ----------------------------------------------------------- elementwise */

/* X(NAME, name).  floe_unary(FLOE_SQRT, a) == floe_sqrt(a).  Result dtypes
 * follow NumPy, with the types floe lacks (float16, int8) replaced by the
 * next one up: math functions (sqrt, exp, log, trig, floor, ceil, round
 * (half to even), trunc) of bool and uint8 give float32, of int32 and int64
 * float64, and keep float32/float64; abs, negative, sign, square and
 * reciprocal keep the dtype (integers wrap; negative and sign of bool are
 * errors, as in NumPy); isnan, isinf, isfinite and logical_not give bool. */
#define FLOE_UNARY_MAP(X)                                                                          \
  X(NEGATIVE, negative)                                                                            \
  X(ABS, abs)                                                                                      \
  X(SIGN, sign)                                                                                    \
  X(SQRT, sqrt)                                                                                    \
  X(SQUARE, square)                                                                                \
  X(RECIPROCAL, reciprocal)                                                                        \
  X(EXP, exp)                                                                                      \
  X(EXPM1, expm1)                                                                                  \
  X(LOG, log)                                                                                      \
  X(LOG1P, log1p)                                                                                  \
  X(LOG2, log2)                                                                                    \
  X(LOG10, log10)                                                                                  \
  X(SIN, sin)                                                                                      \
  X(COS, cos)                                                                                      \
  X(TAN, tan)                                                                                      \
  X(ARCSIN, arcsin)                                                                                \
  X(ARCCOS, arccos)                                                                                \
  X(ARCTAN, arctan)                                                                                \
  X(SINH, sinh)                                                                                    \
  X(COSH, cosh)                                                                                    \
  X(TANH, tanh)                                                                                    \
  X(FLOOR, floor)                                                                                  \
  X(CEIL, ceil)                                                                                    \
  X(ROUND, round)                                                                                  \
  X(TRUNC, trunc)                                                                                  \
  X(ISNAN, isnan)                                                                                  \
  X(ISINF, isinf)                                                                                  \
  X(ISFINITE, isfinite)                                                                            \
  X(LOGICAL_NOT, logical_not)

/* X(NAME, name).  Arithmetic promotes by floe_result_type (weak scalars
 * adapt); divide of integers gives float64; floor_divide and mod floor like
 * Python (integer division by zero gives 0, as NumPy does); power of
 * integers stays integer; comparisons and logical ops give bool. */
#define FLOE_BINARY_MAP(X)                                                                         \
  X(ADD, add)                                                                                      \
  X(SUBTRACT, subtract)                                                                            \
  X(MULTIPLY, multiply)                                                                            \
  X(DIVIDE, divide)                                                                                \
  X(FLOOR_DIVIDE, floor_divide)                                                                    \
  X(MOD, mod)                                                                                      \
  X(POWER, power)                                                                                  \
  X(MINIMUM, minimum)                                                                              \
  X(MAXIMUM, maximum)                                                                              \
  X(ARCTAN2, arctan2)                                                                              \
  X(HYPOT, hypot)                                                                                  \
  X(EQUAL, equal)                                                                                  \
  X(NOT_EQUAL, not_equal)                                                                          \
  X(LESS, less)                                                                                    \
  X(LESS_EQUAL, less_equal)                                                                        \
  X(GREATER, greater)                                                                              \
  X(GREATER_EQUAL, greater_equal)                                                                  \
  X(LOGICAL_AND, logical_and)                                                                      \
  X(LOGICAL_OR, logical_or)                                                                        \
  X(LOGICAL_XOR, logical_xor)

typedef enum floe_unary_op {
#define FLOE__UNARY_ENUM(NAME, name) FLOE_##NAME,
  FLOE_UNARY_MAP(FLOE__UNARY_ENUM)
#undef FLOE__UNARY_ENUM
      FLOE_UNARY_COUNT_
} floe_unary_op;

typedef enum floe_binary_op {
#define FLOE__BINARY_ENUM(NAME, name) FLOE_##NAME,
  FLOE_BINARY_MAP(FLOE__BINARY_ENUM)
#undef FLOE__BINARY_ENUM
      FLOE_BINARY_COUNT_
} floe_binary_op;

/** op(a), elementwise.  FLOE_ERR_INVALID for an unknown op. */
FLOE_API floe_array *floe_unary(floe_unary_op op, floe_array *a);
/** op(a, b), elementwise with NumPy broadcasting; FLOE_ERR_SHAPE when the
 *  shapes do not broadcast, FLOE_ERR_INVALID when the arrays belong to
 *  different contexts. */
FLOE_API floe_array *floe_binary(floe_binary_op op, floe_array *a, floe_array *b);

#define FLOE__UNARY_DECL(NAME, name) FLOE_API floe_array *floe_##name(floe_array *a);
FLOE_UNARY_MAP(FLOE__UNARY_DECL)
#undef FLOE__UNARY_DECL
#define FLOE__BINARY_DECL(NAME, name)                                                              \
  FLOE_API floe_array *floe_##name(floe_array *a, floe_array *b);
FLOE_BINARY_MAP(FLOE__BINARY_DECL)
#undef FLOE__BINARY_DECL

/** cond ? a : b elementwise, broadcasting all three; cond is read as bool. */
FLOE_API floe_array *floe_where(floe_array *cond, floe_array *a, floe_array *b);
/** Converts to dtype as a C cast does (float to integer truncates; NaN and
 *  out-of-range floats give an unspecified integer, as in NumPy). */
FLOE_API floe_array *floe_astype(floe_array *a, floe_dtype dtype);
/** minimum(maximum(a, lo), hi); lo or hi may be NULL for no bound. */
FLOE_API floe_array *floe_clip(floe_array *a, floe_array *lo, floe_array *hi);

/* ------------------------------------------------------------ reductions */

/* X(NAME, name).  Result dtypes follow NumPy: sum and prod of bool and
 * integers give int64, of floats keep the dtype (float32 accumulates in
 * float64); mean, var, std give float64 for integers, else the dtype;
 * argmin/argmax give int64; any/all give bool; min/max keep the dtype.
 * NaN propagates (min, max, argmin, argmax take the first NaN); the nan*
 * forms skip NaN (nanmean of none gives NaN). */
#define FLOE_REDUCE_MAP(X)                                                                         \
  X(SUM, sum)                                                                                      \
  X(PROD, prod)                                                                                    \
  X(MIN, min)                                                                                      \
  X(MAX, max)                                                                                      \
  X(MEAN, mean)                                                                                    \
  X(VAR, var)                                                                                      \
  X(STD, std)                                                                                      \
  X(ARGMIN, argmin)                                                                                \
  X(ARGMAX, argmax)                                                                                \
  X(ANY_TRUE, any)                                                                                 \
  X(ALL_TRUE, all)                                                                                 \
  X(NANSUM, nansum)                                                                                \
  X(NANMEAN, nanmean)                                                                              \
  X(NANMIN, nanmin)                                                                                \
  X(NANMAX, nanmax)

typedef enum floe_reduce_op {
#define FLOE__REDUCE_ENUM(NAME, name) FLOE_##NAME,
  FLOE_REDUCE_MAP(FLOE__REDUCE_ENUM)
#undef FLOE__REDUCE_ENUM
      FLOE_REDUCE_COUNT_
} floe_reduce_op;

/** Reduces `a` over `axes` (FLOE_ALL for all; FLOE_KEEPDIMS(...) keeps them
 *  as length 1).  Partial results per chunk are combined by a tree of fixed
 *  shape (fan-in: the reduce_fanin option), so results are bit-identical
 *  for any thread count.  argmin/argmax take FLOE_ALL (flat index) or one
 *  axis.  FLOE_ERR_INVALID for a bad or repeated axis; min, max, argmin and
 *  argmax of an empty selection are errors, as in NumPy. */
FLOE_API floe_array *floe_reduce(floe_reduce_op op, floe_array *a, floe_axes axes);
/** Variance/standard deviation with `ddof` delta degrees of freedom. */
FLOE_API floe_array *floe_reduce_ddof(floe_reduce_op op, floe_array *a, floe_axes axes, int ddof);

#define FLOE__REDUCE_DECL(NAME, name)                                                              \
  FLOE_API floe_array *floe_##name(floe_array *a, floe_axes axes);
FLOE_REDUCE_MAP(FLOE__REDUCE_DECL)
#undef FLOE__REDUCE_DECL

/* ------------------------------------------------------------- structure */

/* Selections, shapes and products.  These materialise their result chunk by
 * chunk: a task per output chunk copies (or multiplies) what it needs from
 * the input chunks, one input chunk at a time, so a task holds one output
 * chunk and one input chunk of each operand; the chunks are counted against
 * memory_limit and spill like any other.  Results are exact copies; a
 * product sums its blocks in a fixed order, so its bits do not depend on the
 * thread count. */

/** One axis of a basic selection, as in NumPy: a slice (start, stop, step;
 *  FLOE_NONE for an omitted bound, negative values count from the end, a
 *  negative step walks backwards), an integer (the axis is dropped), a new
 *  axis of length 1, or an ellipsis (as many whole axes as needed; one at
 *  most).  FLOE_NONE as the step means 1. */
typedef struct floe_index {
  int kind; /* FLOE_INDEX_SLICE, _INT, _NEWAXIS, _ELLIPSIS */
  int64_t start, stop, step;
} floe_index;

enum { FLOE_INDEX_SLICE, FLOE_INDEX_INT, FLOE_INDEX_NEWAXIS, FLOE_INDEX_ELLIPSIS };
#define FLOE_NONE INT64_MIN
#define FLOE_SLICE(start, stop, step) ((floe_index){FLOE_INDEX_SLICE, (start), (stop), (step)})
#define FLOE_AT(i) ((floe_index){FLOE_INDEX_INT, (i), 0, 0})
#define FLOE_NEWAXIS ((floe_index){FLOE_INDEX_NEWAXIS, 0, 0, 0})
#define FLOE_ELLIPSIS ((floe_index){FLOE_INDEX_ELLIPSIS, 0, 0, 0})
#define FLOE_WHOLE FLOE_SLICE(FLOE_NONE, FLOE_NONE, 1)

/** a[idx[0], idx[1], ...]: axes not indexed are taken whole.  An integer
 *  out of range is FLOE_ERR_INVALID (slices clip, as in NumPy); step 0 is
 *  FLOE_ERR_INVALID.  The result's chunks follow the input's along sliced
 *  axes (a step s makes them s times shorter, at least 1). */
FLOE_API floe_array *floe_slice(floe_array *a, int n, const floe_index *idx);
/** The axes permuted: result axis i is a's axis axes.axis[i] (FLOE_ALL:
 *  reversed, as NumPy's a.T).  Chunks move with their axes. */
FLOE_API floe_array *floe_transpose(floe_array *a, floe_axes axes);
/** The same values in other chunks (-1: the whole axis; FLOE_AUTO: near
 *  chunk_bytes).  Each output chunk is copied from the input chunks it
 *  overlaps, one at a time; input chunks are kept or spilled by the budget,
 *  so a change from row chunks to column chunks runs in bounded memory. */
FLOE_API floe_array *floe_rechunk(floe_array *a, floe_shape chunks);
/** a broadcast to `shape` (NumPy rules), materialised. */
FLOE_API floe_array *floe_broadcast_to(floe_array *a, floe_shape shape);
/** A new axis of length 1 at `axis` (negative counts from the end of the
 *  result). */
FLOE_API floe_array *floe_expand_dims(floe_array *a, int axis);
/** Drops axes of length 1: those given, or all of them (FLOE_ALL).  An axis
 *  of another length is FLOE_ERR_SHAPE. */
FLOE_API floe_array *floe_squeeze(floe_array *a, floe_axes axes);
/** The arrays joined along an existing axis (concat) or a new one (stack);
 *  shapes must agree elsewhere, dtypes promote as in arithmetic.  n <= 64. */
FLOE_API floe_array *floe_concat(floe_array *const *arrays, int n, int axis);
FLOE_API floe_array *floe_stack(floe_array *const *arrays, int n, int axis);

typedef enum floe_pad_mode { FLOE_PAD_CONSTANT, FLOE_PAD_EDGE } floe_pad_mode;
/** Pads axis d with before.dim[d] and after.dim[d] elements (shapes of
 *  a's rank): `value` (converted to a's dtype) or the edge element. */
FLOE_API floe_array *floe_pad(floe_array *a, floe_shape before, floe_shape after,
                              floe_pad_mode mode, double value);
/** a.take(indices, axis): `indices` is a 1-D integer array (negative
 *  values count from the end).  It is computed when floe_take is called,
 *  because it decides which chunks each task reads; an index out of range
 *  is FLOE_ERR_INVALID then. */
FLOE_API floe_array *floe_take(floe_array *a, floe_array *indices, int axis);

/** The same elements in C order in another shape (one entry may be -1).
 *  Axes at the end that both shapes share keep their chunks; the result's
 *  other chunks hold about as many elements as the input's. */
FLOE_API floe_array *floe_reshape(floe_array *a, floe_shape shape);
/** a[mask] for a bool mask of a's shape: the selected elements in C order,
 *  1-D.  The result's length depends on the mask's values, so the mask is
 *  computed when floe_mask is called (one byte per element of memory while
 *  it runs) and kept as the selected positions (eight bytes each); the
 *  array itself stays lazy. */
FLOE_API floe_array *floe_mask(floe_array *a, floe_array *mask);

/** One chunk handed to a floe_map_blocks function: its data (strides in
 *  elements, C order), dtype, extents, where it starts in the whole array
 *  (origin; with a halo, origin is where the halo starts and may be
 *  negative) and its coordinates in the chunk grid. */
typedef struct floe_block {
  void *data;
  floe_dtype dtype;
  int ndim;
  int64_t shape[FLOE_MAX_DIMS];
  int64_t stride[FLOE_MAX_DIMS];
  int64_t origin[FLOE_MAX_DIMS];
  int64_t index[FLOE_MAX_DIMS];
} floe_block;

/** A user kernel: fills `out` from the n input blocks (read-only).  Runs on
 *  a worker thread, any number at once; returns FLOE_OK, or a status with
 *  a message (floe_error_set), which fails the compute. */
typedef floe_status (*floe_block_fn)(void *user, const floe_block *out, const floe_block *in,
                                     int n);

/** Calls fn once per output chunk.  The inputs (1 to 3) share one shape,
 *  which is the result's; they are rechunked to `out_chunks` (FLOE_AUTO:
 *  the first input's chunks) so that block k of every input lines up with
 *  block k of the output.  floe_map_overlap also gives each input block a
 *  halo of depth.dim[d] elements on both sides of axis d, filled at the
 *  array's edges by `mode` (FLOE_PAD_EDGE, or FLOE_PAD_CONSTANT with 0):
 *  stencils.  The kernel must not keep pointers past its return. */
FLOE_API floe_array *floe_map_blocks(floe_block_fn fn, void *user, floe_array *const *inputs,
                                     int n, floe_dtype out_dtype, floe_shape out_chunks);
FLOE_API floe_array *floe_map_overlap(floe_block_fn fn, void *user, floe_array *const *inputs,
                                      int n, floe_dtype out_dtype, floe_shape depth,
                                      floe_pad_mode mode);

/** The matrix product (NumPy's matmul, a @ b): the last two axes are the
 *  matrices, the ones before them batch axes broadcast against each other
 *  (materialised where they broadcast), and a 1-D operand is a row (left)
 *  or a column (right) vector, dropped from the result.  Floating types through OpenBLAS (single-threaded inside a
 *  task: floe owns the parallelism), integers and bool by plain loops.
 *  Each output chunk sums the products of the operands' blocks along the
 *  inner axis in order.  FLOE_ERR_SHAPE when the inner lengths differ. */
FLOE_API floe_array *floe_matmul(floe_array *a, floe_array *b);
/** NumPy's tensordot with explicit axes: the sum over a's axes a_axes[i]
 *  paired with b's b_axes[i]; the result has a's other axes, then b's.
 *  Made of transposes, reshapes and one matmul. */
FLOE_API floe_array *floe_tensordot(floe_array *a, floe_array *b, floe_axes a_axes,
                                    floe_axes b_axes);
/** NumPy's dot for arrays of at most two dimensions (matmul; a 0-d operand
 *  multiplies), and outer for two 1-D arrays (a[:, None] * b[None, :]). */
FLOE_API floe_array *floe_dot(floe_array *a, floe_array *b);
FLOE_API floe_array *floe_outer(floe_array *a, floe_array *b);

/** Running sums and products along `axis` (NumPy's cumsum and cumprod: the
 *  same sequential additions, so the same bits; bool, uint8 and int32 give
 *  int64).  They keep the input's chunks: each chunk starts from the last
 *  values of the chunk before it along the axis (a carried prefix), so any
 *  length runs in bounded memory, in parallel across the other axes.
 *  sort: ascending along `axis`, NaNs last.  median and quantile
 *  (0 <= q <= 1, NumPy's default linear interpolation; float64 results,
 *  median keeps float32) reduce `axis`, exactly, over any chunking.  These
 *  three rechunk the input so that the axis is whole in every chunk (the
 *  other axes shrink to keep chunks near chunk_bytes; a rechunk under the
 *  budget, spilled as needed), then each chunk's lanes go through the
 *  kernel (a selection, not a sort, for quantiles); a lane holding NaN
 *  gives NaN.  One lane of the axis must therefore fit in a task: an axis
 *  longer than the budget allows is refused with FLOE_ERR_NOMEM.  An empty
 *  axis is FLOE_ERR_SHAPE for median and quantile. */
FLOE_API floe_array *floe_cumsum(floe_array *a, int axis);
FLOE_API floe_array *floe_cumprod(floe_array *a, int axis);
FLOE_API floe_array *floe_sort(floe_array *a, int axis);
FLOE_API floe_array *floe_median(floe_array *a, int axis);
FLOE_API floe_array *floe_quantile(floe_array *a, double q, int axis);

/* ---------------------------------------------------------------- running */

/** Computes `a` into `buffer` (C order, a's dtype).  FLOE_ERR_INVALID when
 *  nbytes < floe_array_nbytes(a) (nothing is written), the array's error
 *  status when it is in an error state, or the first failing task's.
 *  Blocks; thread-safe. */
FLOE_API floe_status floe_compute(floe_array *a, void *buffer, size_t nbytes);

/** Computes a one-element array and returns it as a double. */
FLOE_API floe_status floe_compute_scalar(floe_array *a, double *value);

/** Computes `a` once and returns a new array holding the result in the
 *  context's store, chunk by chunk; later computes read it instead of
 *  recomputing.  The chunks count against memory_limit and are spilled to
 *  compressed HDF5 in spill_dir when room is needed, so an array larger
 *  than the budget can be persisted; they are freed (and their spill space
 *  forgotten) when the array dies.  An error array for a failed compute. */
FLOE_API floe_array *floe_persist(floe_array *a);

/** What floe_plan reports, without running anything. */
typedef struct floe_plan_info {
  uint64_t tasks;          /* chunk tasks that would run */
  uint64_t bytes_read;     /* input bytes read from buffers and files */
  uint64_t bytes_written;  /* output bytes written */
  uint64_t peak_memory;    /* predicted peak bytes of chunk data held at once:
                              at most memory_limit (inputs read by two passes,
                              as x - mean(x, 0), are counted whole, up to it),
                              unless the largest task alone needs more, which
                              a run refuses with FLOE_ERR_NOMEM */
  uint64_t fused_programs; /* elementwise programs after fusion */
  uint64_t reserved[11];
} floe_plan_info;

FLOE_API floe_status floe_plan(floe_array *a, floe_plan_info *plan);

/** Writes the graph of `a` in Graphviz DOT to `out` (after the graph passes:
 *  fused programs appear as one node each). */
FLOE_API floe_status floe_graph_dot(floe_array *a, FILE *out);

/* A job computes several outputs in one pass over their shared inputs. */
typedef struct floe_job floe_job;

FLOE_API floe_job *floe_job_new(floe_ctx *ctx);
/** Adds an output computed into caller memory.  Sticky errors as for
 *  graphs: the first failure is returned by floe_job_run. */
FLOE_API floe_status floe_job_add_buffer(floe_job *job, floe_array *a, void *buffer, size_t nbytes);
/** Adds an output written to an HDF5 dataset (see floe_to_hdf5 for the
 *  format, `opts` and the policy on existing files).  Several outputs may go
 *  to one file; each file appears (is renamed into place) only when the
 *  whole job has succeeded. */
FLOE_API floe_status floe_job_add_hdf5(floe_job *job, floe_array *a, const char *path,
                                       const char *dataset, const floe_options *opts);
/** Runs every output; shared subexpressions and inputs are computed once. */
FLOE_API floe_status floe_job_run(floe_job *job);
/** What floe_plan says, for all the outputs of the job together (builds the
 *  job's graph if it has not run yet; runs nothing). */
FLOE_API floe_status floe_job_plan(floe_job *job, floe_plan_info *plan);
/** The job's graph in Graphviz DOT (as floe_graph_dot). */
FLOE_API floe_status floe_job_dot(floe_job *job, FILE *out);

/** Figures of a job's last run. */
typedef struct floe_stats {
  uint64_t tasks;          /* tasks run */
  uint64_t bytes_read;     /* bytes read from files (as stored: compressed),
                              reads again included */
  uint64_t bytes_written;  /* bytes written to files (as stored) */
  uint64_t bytes_spilled;  /* bytes written to spill files (compressed) */
  uint64_t bytes_reloaded; /* bytes read back from spill files (compressed) */
  uint64_t bytes_reread;   /* input bytes read again instead of spilled */
  uint64_t peak_memory;    /* most bytes counted against memory_limit at once */
  double seconds;          /* wall time of the run */
  double io_seconds;       /* time spent inside file reads and writes, all workers */
  double wait_seconds;     /* time tasks waited for memory */
  uint64_t reserved[6];
} floe_stats;

/** The figures of the job's last floe_job_run (all zero before the first). */
FLOE_API floe_status floe_job_stats(const floe_job *job, floe_stats *stats);
FLOE_API void floe_job_free(floe_job *job);

/* ------------------------------------------------------------------ files */

/* HDF5 in and out.  Every HDF5 call goes through one I/O path (HDF5 is
 * serialised by its global lock), while decompression, compression and byte
 * swapping run in the workers: chunks are read and written raw
 * (H5Dread_chunk / H5Dwrite_chunk, or plain positioned I/O on the file
 * where the layout allows it).
 *
 * Compression of outputs is HDF5's byte shuffle (filter 2) followed by zstd
 * (filter 32015, cd_values[0] = level, one frame per chunk carrying its
 * content size).  floe registers that filter with HDF5 itself; to read its
 * files with h5dump or h5py, point HDF5_PLUGIN_PATH at the plugin directory
 * of the build (build/plugins) or of the installation.
 *
 * floe turns HDF5's exit-time cleanup off (H5dont_atexit), because that
 * cleanup crashes on a file whose close failed, as on a full disk.  A
 * program that calls HDF5 itself before floe should call H5dont_atexit()
 * first for the same reason. */

/** A lazy array over dataset `dataset` of the HDF5 file `path`: nothing is
 *  read until a compute needs it, and then chunk by chunk in the workers.
 *  `chunks`: FLOE_AUTO aligns floe's chunks to the file's (whole file
 *  chunks, several together when they are small next to chunk_bytes; for a
 *  contiguous dataset, automatic chunks); explicit chunks are honoured, and
 *  file chunks that straddle them are read once per floe chunk.
 *  Types: any byte order of 8/16/32/64-bit integers and 32/64-bit floats;
 *  int8, int16 and uint16 read as int32, uint32 as int64 (values exact);
 *  h5py's booleans (an int8 enum FALSE/TRUE) as bool; uint64, strings,
 *  compounds and the rest give FLOE_ERR_DTYPE.  Filters: any that HDF5 can
 *  apply; deflate (gzip), shuffle, fletcher32 and zstd are decoded in the
 *  workers, others through HDF5.  Errors (an error array): FLOE_ERR_IO for a
 *  missing or unreadable file, FLOE_ERR_FORMAT for a file that is not HDF5
 *  or a missing dataset; messages name the file and dataset.  The file is
 *  opened here and must not be rewritten while arrays over it are alive. */
FLOE_API floe_array *floe_from_hdf5(floe_ctx *ctx, const char *path, const char *dataset,
                                    floe_shape chunks);

/** Computes `a` into dataset `dataset` of the HDF5 file `path` (a job with one
 *  output).  The dataset is chunked like `a` (a 0-d array becomes a scalar
 *  dataset), of a's dtype (bool as h5py's enum).  `opts` (may be NULL: then
 *  defaults and the FLOE_COMPRESS / FLOE_OVERWRITE environment) are read for
 *  compress ("none" or "zstd[:LEVEL]", level 1 by default) and overwrite.
 *  Policy: with overwrite 0 an existing file is refused (FLOE_ERR_IO); with
 *  overwrite 1 an existing file keeps its other datasets and the named one is
 *  replaced.  Nothing half-written: a new file is written under a temporary
 *  name and renamed when the compute has succeeded; in an existing file the
 *  dataset is written anonymous and linked under its name at the end.  A
 *  failed or cancelled compute leaves files as they were. */
FLOE_API floe_status floe_to_hdf5(floe_array *a, const char *path, const char *dataset,
                                  const floe_options *opts);

/* ------------------------------------------------------------ expressions */

/** A named array for floe_eval. */
typedef struct floe_eval_var {
  const char *name;
  floe_array *array;
} floe_eval_var;

/** Evaluates a NumPy-like expression over named arrays, lazily: the result
 *  is an array like any other (nothing is computed here).
 *
 *  Syntax: numbers (`2`, `2.5`, `1e-3`; integers are weak ints, others weak
 *  floats, as Python scalars in NumPy 2), `True`/`False`, `pi`, `e`, `inf`,
 *  `nan`, names of `vars`, parentheses, tuples (for axis=(0, 1)),
 *  `+ - * / // % **`, unary `-`, `+` and `~` (logical not on bools),
 *  comparisons `== != < <= > >=` (not chained), `&`, `|`, `^` (logical
 *  and/or/xor on bools).  Precedence is Python's except that `& ^ |` bind
 *  looser than comparisons, as in pandas.eval, so `x > 0 & y < 1` means
 *  `(x > 0) & (y < 1)`; `**` is right-associative and binds tighter than a
 *  unary minus on its left (-2**2 == -4).  Calls of every elementwise
 *  function by its NumPy name (`sqrt(x)`, `arctan2(y, x)`, `where(c, a, b)`,
 *  `clip(x, 0, 1)`, `astype(x, float32)` — dtype names `bool uint8 int32
 *  int64 float32 float64`), and of reductions with `axis=` (an int, a tuple
 *  or None) and `keepdims=`, `ddof=` for var/std (`mean(x, axis=0)`,
 *  `std(x, axis=(0, 1), ddof=1)`).
 *
 *  A syntax error or an unknown name gives an error array
 *  (FLOE_ERR_INVALID; FLOE_ERR_DTYPE for `& | ^ ~` on non-bools) whose
 *  message shows the position (columns from 0) with a caret:
 *      floe_eval: unknown name 'z' at column 7
 *        sqrt(x+z)
 *               ^
 *  `vars` may be NULL when n is 0; arrays are borrowed.  Thread-safe.  NULL
 *  only for a NULL context or expression. */
FLOE_API floe_array *floe_eval(floe_ctx *ctx, const char *expr, const floe_eval_var *vars,
                               size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FLOE_H */
