/* State of one lowering, shared by lower.c (passes, tasks) and fuse.c
 * (fused programs).  Private to src/graph. */
#ifndef FLOE_GRAPH_LOWER_STATE_H
#define FLOE_GRAPH_LOWER_STATE_H

#include <stdatomic.h>

#include "kernels/vm-internal.h"
#include "lower-internal.h"
#include "scheduler/sched-internal.h"
#include "store/file-internal.h"
#include "store/store-internal.h"

/* A value held as separate chunk buffers in the store: a file, read chunk
 * by chunk (each block made by its read task when a program first needs
 * it, dropped when the last reader is done or when the budget needs room,
 * and then read again), or a persisted array (its blocks owned by its
 * node, spilled when the budget needs room).  Blocks have the full chunk
 * shape (edge blocks padded). */
typedef struct chunked {
  floe__reload reload; /* first: the store calls back with its address */
  struct floe__lower *L;
  int ln;
  floe__chunk *c;      /* per block of the node's chunk grid */
  int *readers;        /* per block, counted while building */
  bool file;           /* made by read tasks */
  bool produced;       /* made by producer tasks (produce.c); else persisted */
  floe__spill_area *area; /* produced: where its chunks spill */
  size_t block_bytes;
  int64_t cstride[FLOE_MAX_DIMS]; /* C strides of one block buffer */
} chunked;

#include <pthread.h>

/* One canonical node of this lowering. */
typedef struct lnode {
  floe__node *n;
  int in[3];        /* canonical inputs */
  void *data;       /* the materialised value: caller, node or lowering memory */
  bool owned;       /* data was allocated by the lowering */
  bool bound;       /* a reduction whose data is an output's memory */
  floe_task **done; /* per block of n's chunk grid: the task that completes it */
  int64_t nblocks;
  chunked *ch;      /* held as chunk buffers, or NULL for one buffer */
} lnode;

/* A fused program and the materialised nodes it reads. */
typedef struct prog {
  floe__vm_program vm;
  int root;        /* lnode computed (elementwise root, or a reduction's input) */
  int sink;        /* the reduction it feeds, or the output it stores; -1 none */
  int *leaf_lnode; /* per vm leaf: the lnode it reads, -1 for generated leaves */
  size_t scratch;
  int fout;        /* the file output it writes, or -1 */
  int nchunked;    /* leaves that read chunk buffers */
  int chunked_leaf[FLOE__VM_MAX_LEAVES];
} prog;

/* An output written to a file. */
typedef struct ftarget {
  int ln;
  char *path, *dataset;
  int level, overwrite;
  floe__h5out *file;      /* during a run */
  floe__h5out_dset *dset; /* during a run */
} ftarget;

struct floe__lower {
  floe_ctx *ctx;
  lnode *ln;
  int nln, capln;
  /* node pointer -> lnode, and structural hash -> lnode, open addressing */
  struct {
    const floe__node *key;
    int val;
  } * byptr;
  int *byhash;
  size_t tabcap;
  /* targets */
  struct target {
    int ln;
    void *dst;
    floe__chunk *chunks; /* or: computed into these store chunks (persist) */
  } * targets;
  int ntargets, captargets;
  ftarget *ftargets;
  int nftargets, capftargets;
  prog **progs;
  int nprogs, capprogs;
  floe_taskgraph *g;
  bool dry;      /* plan only: no output memory, nothing allocated, never run */
  void ***slots; /* reduction partials in flight, freed if a run stops early */
  int64_t nslots, capslots;
  /* plan figures, gathered while lowering */
  uint64_t bytes_read, bytes_written, owned_bytes, max_scratch, max_acc_block;
  uint64_t max_blocks;    /* chunk buffers of chunked inputs, one block of each */
  uint64_t max_out_chunk; /* the largest file output chunk */
  const char *op;         /* the public operation, for messages */
  floe_stats stats; /* of the last run */
  floe__store *store; /* the context's */
  floe__io_counters io;
  uint64_t max_task;     /* the largest working set of one task (bytes) */
  const char *max_task_name;
  uint64_t held_between; /* bytes of inputs read by more than one pass */
  /* everything task arguments and programs need, freed at once */
  floe__arena_block *arena;
};

/* ------------------------------------------------------------ chunk grids */

typedef struct grid {
  int ndim;
  int64_t n[FLOE_MAX_DIMS]; /* chunks per axis */
  int64_t total;
} grid;

static inline grid grid_of(const floe__node *x) {
  grid g = {.ndim = x->ndim, .total = 1};
  for (int d = 0; d < x->ndim; d++) {
    g.n[d] = (x->shape[d] + x->chunk[d] - 1) / x->chunk[d];
    g.total *= g.n[d];
  }
  return g;
}

static inline void chunk_region(const floe__node *x, const int64_t *coord, int64_t *lo, int64_t *hi) {
  for (int d = 0; d < x->ndim; d++) {
    lo[d] = coord[d] * x->chunk[d];
    hi[d] = lo[d] + x->chunk[d] < x->shape[d] ? lo[d] + x->chunk[d] : x->shape[d];
  }
}

/* The next coordinates after c in the box [lo, hi), C order; false after
 * the last (c is then back at lo). */
static inline bool next_in_box(int ndim, const int64_t *lo, const int64_t *hi, int64_t *c) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++c[d] < hi[d]) {
      return true;
    }
    c[d] = lo[d];
  }
  return false;
}

static inline bool next_coord(int ndim, const int64_t *n, int64_t *coord) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++coord[d] < n[d]) {
      return true;
    }
    coord[d] = 0;
  }
  return false;
}

void *floe__lower_alloc(floe__lower *L, size_t n);

/* Shared by lower.c and produce.c. */
floe_task *floe__lower_task(floe__lower *L, floe_task_fn fn, void *arg, const char *name);
floe_status floe__lower_program(floe__lower *L, int root, int sink, prog **out);
/* Makes t depend on the tasks that make the blocks program p reads over
 * region [lo, hi), counting them as read (uses of chunks). */
void floe__lower_depend(floe__lower *L, floe_task *t, const prog *p, const int64_t *lo,
                        const int64_t *hi);
floe_status floe__lower_run_region(floe__lower *L, const prog *p, const int64_t *lo,
                                   const int64_t *hi, const floe__vm_sink *sinks, int nsinks,
                                   void *scratch);
void floe__lower_note_task(floe__lower *L, uint64_t bytes, const char *name);
uint64_t floe__lower_prog_blocks(const floe__lower *L, const prog *p);
/* The uses of chunks program p would make over [lo, hi), ended without
 * running it (a producer whose chunk nobody needs). */
void floe__lower_release_region(floe__lower *L, const prog *p, const int64_t *lo,
                                const int64_t *hi);
/* A task making chunk c brackets its work with these: begin enters the
 * store and takes a buffer of c's size from the budget (NULL with the
 * thread's error set); end installs the buffer as c's bytes when st is
 * FLOE_OK, else gives it back, leaves the store and returns st. */
unsigned char *floe__lower_chunk_begin(floe__lower *L, const floe__chunk *c, const char *what);
floe_status floe__lower_chunk_end(floe__lower *L, floe__chunk *c, unsigned char *buf,
                                  floe_status st);
/* One task per chunk of lnode li's grid (C order) computing it by its
 * program into chunks[i]: an intermediate's (readers: its uses; a chunk
 * nobody reads is skipped; done[i] gets the task) or a persisted array's
 * (readers and done NULL: every chunk is made). */
floe_status floe__lower_program_chunks(floe__lower *L, int li, floe__chunk *chunks,
                                       const int *readers, floe_task **done);
/* Work buffers of the HDF5 paths, from the budget (floe__bufs callbacks). */
void *floe__lower_buf_get(void *L, size_t bytes);
void floe__lower_buf_put(void *L, void *p, size_t bytes);

/* The chunks of lnode li (GATHER, CONCAT, MATMUL, or an input of one that
 * is not held in memory yet) made by producer tasks (produce.c). */
floe_status floe__produce(floe__lower *L, int li);
bool floe__node_is_produced(const floe__node *n);

/* Builds the fused program computing lnode `root` over its own shape. */
floe_status floe__fuse(floe__lower *L, int root, prog **out);

/* Element strides of node n broadcast into an iteration space of ndim axes
 * (right-aligned, 0 where broadcast): the strides of n's C-order memory,
 * which are also those of its flat element index (random numbers). */
void floe__broadcast_strides(const floe__node *n, int ndim, const int64_t *shape, int64_t *stride);

#endif
