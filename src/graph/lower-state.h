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
  bool file;           /* made by read tasks (else persisted: always there) */
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

void *floe__lower_alloc(floe__lower *L, size_t n);

/* Builds the fused program computing lnode `root` over its own shape. */
floe_status floe__fuse(floe__lower *L, int root, prog **out);

/* Element strides of node n broadcast into an iteration space of ndim axes
 * (right-aligned, 0 where broadcast): the strides of n's C-order memory,
 * which are also those of its flat element index (random numbers). */
void floe__broadcast_strides(const floe__node *n, int ndim, const int64_t *shape, int64_t *stride);

#endif
