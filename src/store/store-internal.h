/* The chunk store: the context's memory budget and the chunks that may
 * leave memory.
 *
 * Every byte of chunk data a compute holds in RAM is counted against
 * `memory_limit` before it is allocated: chunk buffers, buffers a task
 * works in, reductions' results and accumulators, and file pages mapped in
 * place of a copy.  A request that does not fit makes room first, in this
 * order:
 *   1. free buffers kept for reuse (the pool, which counts as held);
 *   2. evict the least recently used idle chunk (resident, no task using
 *      it, still needed later): a chunk that is a plain read of an input
 *      file, or that already has a copy in the spill file, is dropped and
 *      read again when needed; any other is shuffled and zstd-compressed in
 *      the requesting worker and written to the spill file (HDF5, filter
 *      32015, one dataset per spilled array, direct chunk writes);
 *   3. wait, while another task that is running and not itself waiting can
 *      still give memory back;
 *   4. fail with FLOE_ERR_NOMEM: nothing running can free what is needed.
 *
 * Input chunks that were used and are needed again later (x in
 * x - mean(x, axis=0), whose second use waits for the whole mean) are kept
 * only while they hold less than a quarter of the budget: the first ones
 * stay, later ones are dropped at once and read again when their use
 * comes.  Keeping the most recent instead would be useless for a second
 * pass in the same order (it evicts them before it reaches them), and
 * keeping all the budget would hold memory for little.
 *
 * A chunk entry (floe__chunk) is owned by the lowering (chunks of input
 * files) or by a persisted array; the store links it into its LRU list and
 * moves its bytes.  One mutex guards the budget and every entry's state; no
 * I/O runs under it.
 *
 * The spill file, `floe-spill-PID-N.h5` in spill_dir, is made at the first
 * spill and removed at floe_close; floe_open removes those left by dead
 * processes. */
#ifndef FLOE_STORE_STORE_INTERNAL_H
#define FLOE_STORE_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/options-internal.h"
#include "file-internal.h"
#include "floe.h"

typedef struct floe__store floe__store;
typedef struct floe__chunk floe__chunk;
typedef struct floe__spill_area floe__spill_area;

/* How a dropped chunk of an input is read again: fills dst (the chunk's
 * bytes) and counts the bytes read in io. */
typedef struct floe__reload {
  floe_status (*read)(const struct floe__reload *r, int64_t index, void *dst,
                      floe__io_counters *io);
} floe__reload;

enum { FLOE__CHUNK_EMPTY, FLOE__CHUNK_LOADING, FLOE__CHUNK_RESIDENT, FLOE__CHUNK_EVICTING };

struct floe__chunk {
  void *data; /* the bytes while resident */
  void *map;  /* the file mapping data points into, or NULL */
  size_t maplen;
  size_t bytes;
  int64_t index;              /* in the owner's chunk grid */
  int64_t pending;            /* uses left; at 0 the chunk is freed (unless keep) */
  int pins;                   /* tasks reading it now */
  int state;                  /* FLOE__CHUNK_* */
  bool keep;                  /* a persisted chunk: lives until its array dies */
  bool spilled;               /* `area` holds a copy */
  bool cached;                /* an input chunk used and kept for a later use */
  const floe__reload *reload; /* input chunks: read again instead of spilled */
  floe__spill_area *area;     /* other chunks: where they spill */
  floe__chunk *prev, *next;   /* the LRU list of idle resident chunks */
};

/* Creates the context's store (the budget from cfg->memory_limit) and
 * removes stale spill files of dead processes from cfg->spill_dir. */
floe_status floe__store_new(const floe__config *cfg, floe__store **out);
/* Frees everything and removes the spill file. */
void floe__store_free(floe__store *s);

/* Accounting of the tasks using the store: a task enters before it asks
 * for memory and leaves when done (the store then knows whether anyone
 * can still give memory back to a waiting request).  Runs bracket a
 * lowering's run: the pool is trimmed when the last run ends. */
void floe__store_enter(floe__store *s);
void floe__store_leave(floe__store *s);
void floe__store_run_begin(floe__store *s);
/* Returns the most bytes held at once since the runs in flight began. */
uint64_t floe__store_run_end(floe__store *s);

/* A buffer of `bytes` (4 KiB aligned) counted against the budget, making
 * room as described above.  NULL with the thread's error set (NOMEM naming
 * `what`) when it cannot.  Time spent waiting goes to io->wait_ns, spill
 * writes to io->bytes_spilled. */
void *floe__store_alloc(floe__store *s, size_t bytes, const char *what, floe__io_counters *io);
/* Gives a buffer back (kept for reuse while it fits the budget). */
void floe__store_release(floe__store *s, void *p, size_t bytes);

/* Counts bytes held outside chunk buffers (results, accumulators, mapped
 * pages), making room as floe__store_alloc does; and gives them back. */
floe_status floe__store_charge(floe__store *s, size_t bytes, const char *what,
                               floe__io_counters *io);
void floe__store_uncharge(floe__store *s, size_t bytes);

/* Installs the bytes of an empty chunk made by its producer: a buffer from
 * floe__store_alloc, or (map != NULL) a file mapping of c->bytes charged
 * with floe__store_charge.  The chunk becomes idle and resident. */
void floe__store_put(floe__store *s, floe__chunk *c, void *data, void *map, size_t maplen);

/* Pins chunk c for reading and returns its bytes: at once when resident,
 * else after reading it again (input chunks: io->bytes_reread) or back
 * from the spill file (io->bytes_reloaded), with memory made for it. */
floe_status floe__store_pin(floe__store *s, floe__chunk *c, const void **data,
                            floe__io_counters *io);
void floe__store_unpin(floe__store *s, floe__chunk *c);
/* One use of c is over; the last frees it (not a kept chunk). */
void floe__store_done(floe__store *s, floe__chunk *c);
/* Frees c's bytes whatever its state (its owner is going away); c must not
 * be pinned. */
void floe__store_drop(floe__store *s, floe__chunk *c);

/* A spill area for the chunks of one array (dtype, shape, chunk shape):
 * its dataset is made in the spill file at the first spill. */
floe_status floe__spill_area_new(floe__store *s, floe_dtype dtype, int ndim, const int64_t *shape,
                                 const int64_t *chunk, floe__spill_area **out);
void floe__spill_area_free(floe__store *s, floe__spill_area *a);

/* The budget (plans, checks). */
uint64_t floe__store_limit(const floe__store *s);

#endif
