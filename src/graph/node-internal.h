/* Graph nodes: the immutable values behind array handles.
 *
 * A node knows its kind, dtype, shape, regular chunk grid and inputs; it is
 * reference counted (handles and consumer nodes hold references) and also
 * listed in its context so that floe_close frees whatever is left.  A node in
 * the error state carries the status and message of the operation that
 * failed; operations on it return it again (sticky errors). */
#ifndef FLOE_GRAPH_NODE_INTERNAL_H
#define FLOE_GRAPH_NODE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/context-internal.h"
#include "core/dtype-internal.h"
#include "core/error-internal.h"

typedef enum floe__node_kind {
  FLOE__NODE_ERROR,
  /* sources: random access, computed inside fused programs or read directly */
  FLOE__NODE_BUFFER,   /* caller memory, C order */
  FLOE__NODE_STORED,   /* a persisted result owned by the node */
  FLOE__NODE_FILE,     /* a dataset in a file, read chunk by chunk */
  FLOE__NODE_FULL,     /* every element one value */
  FLOE__NODE_ARANGE,   /* start + i * step */
  FLOE__NODE_RANDOM,   /* counter-based random numbers */
  /* elementwise: fused */
  FLOE__NODE_UNARY,
  FLOE__NODE_BINARY,
  FLOE__NODE_WHERE,
  FLOE__NODE_CAST,
  /* materialised */
  FLOE__NODE_REDUCE,
  /* materialised chunk by chunk by producer tasks (src/graph/produce.c) */
  FLOE__NODE_GATHER, /* a selection of one input: slice, transpose, broadcast, pad, take, rechunk */
  FLOE__NODE_CONCAT, /* two inputs joined along an axis */
  FLOE__NODE_MATMUL, /* the product of two matrices */
  FLOE__NODE_AXIS,   /* along one axis, whole in every chunk: scans, sort, quantiles */
  FLOE__NODE_RESHAPE, /* the same elements in C order, another shape */
  FLOE__NODE_MAP,     /* a user kernel per chunk, with an optional halo */
} floe__node_kind;

typedef enum floe__axis_op {
  FLOE__AXIS_CUMSUM,
  FLOE__AXIS_CUMPROD,
  FLOE__AXIS_SORT,
  FLOE__AXIS_MEDIAN,
  FLOE__AXIS_QUANTILE,
} floe__axis_op;

/* The indices of a take: shared by the nodes made from one call. */
typedef struct floe__take {
  atomic_int refs;
  int64_t n;
  int64_t idx[]; /* in range, non-negative */
} floe__take;

typedef enum floe__random_kind { FLOE__RANDOM_UNIFORM, FLOE__RANDOM_NORMAL } floe__random_kind;

typedef struct floe__node floe__node;

struct floe__node {
  atomic_int refs;
  floe__node_kind kind;
  floe_dtype dtype;
  floe__weak weak; /* a Python-like scalar (0-d FULL and ops on them) */
  int ndim;
  int64_t shape[FLOE_MAX_DIMS];
  int64_t chunk[FLOE_MAX_DIMS]; /* regular chunk length per axis (>= 1) */
  int nin;
  floe__node *in[3];
  union {
    struct {
      const void *data;
    } buffer;
    struct {
      struct floe__chunk *blocks;     /* owned: one per chunk, in the store */
      int64_t nblocks;
      struct floe__spill_area *area; /* where they spill */
    } stored;
    struct {
      struct floe__h5src *src; /* a reference */
    } file;
    struct {
      double value;
      int64_t ivalue; /* exact value of an integer fill */
    } full;
    struct {
      double start, step;
      double stop;   /* linspace: the exact last value */
      bool pin_last; /* linspace: element shape[0]-1 is `stop` */
    } arange;
    struct {
      floe__random_kind kind;
      uint64_t seed;
      double a, b;
    } random;
    struct {
      floe_unary_op op;
      floe_dtype compute; /* operands are cast to this first */
    } unary;
    struct {
      floe_binary_op op;
      floe_dtype compute;
    } binary;
    struct {
      floe_reduce_op op;
      uint32_t axes; /* bit d: input axis d is reduced */
      bool keepdims;
      int ddof;
    } reduce;
    /* out[i] = in[idx]: along output axis d, input axis src[d] (or none, -1)
       at index start[d] + step[d] * i_d, or take->idx[i_d] on take_axis;
       input axes walked by none stay at fixed[k].  With pad, indices out
       of range read `value` (constant) or the nearest edge. */
    struct {
      int8_t src[FLOE_MAX_DIMS];
      int64_t start[FLOE_MAX_DIMS], step[FLOE_MAX_DIMS];
      int64_t fixed[FLOE_MAX_DIMS];
      int pad; /* 0, or 1 + floe_pad_mode */
      double value;
      floe__take *take;
      int take_axis;
    } gather;
    struct {
      int axis;
    } concat;
    struct {
      floe__axis_op op;
      int axis; /* of the input */
      double q;
    } axis;
    struct {
      floe_block_fn fn;
      void *user;
      int64_t depth[FLOE_MAX_DIMS]; /* inputs are padded by this much per side */
    } map;
  } p;
  floe_status status; /* FLOE__NODE_ERROR */
  char *msg;
  uint64_t hash; /* structural: equal hashes are checked field by field */
  floe_ctx *ctx;
  floe__node *ctx_prev, *ctx_next;
};

/* A new node with one reference, linked into ctx, inputs referenced, the
 * hash computed; NULL when out of memory (message set).  `proto` supplies
 * every field but refs, links, hash, ctx. */
floe__node *floe__node_new(floe_ctx *ctx, const floe__node *proto);

/* Frees the blocks of a persisted array (from the store too) and its
 * spill area. */
void floe__stored_free(floe_ctx *ctx, struct floe__chunk *blocks, int64_t nblocks,
                       struct floe__spill_area *area);

/* An error node; NULL only when out of memory. */
floe__node *floe__node_error(floe_ctx *ctx, floe_status status, const char *msg);

void floe__node_ref(floe__node *n);
/* Drops a reference; frees the node, and inputs whose count drops to zero. */
void floe__node_unref(floe__node *n);

/* Frees every node of a context (floe_close). */
void floe__nodes_release_all(floe_ctx *ctx);

int64_t floe__node_size(const floe__node *n);

/* Structural equality (same kind, dtype, shape, chunks, params, inputs). */
bool floe__node_same(const floe__node *a, const floe__node *b);

static inline bool floe__node_is_elementwise(const floe__node *n) {
  return n->kind >= FLOE__NODE_FULL && n->kind <= FLOE__NODE_CAST;
}
static inline bool floe__node_is_memory(const floe__node *n) {
  return n->kind == FLOE__NODE_BUFFER || n->kind == FLOE__NODE_STORED ||
         n->kind == FLOE__NODE_FILE;
}

/* "(20000, 10000)" into buf. */
const char *floe__shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

#endif
