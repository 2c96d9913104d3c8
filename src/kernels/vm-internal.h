/* The fused elementwise program: a small register bytecode interpreted over
 * cache-sized tiles (the numexpr idea), so a chain of elementwise operations
 * over a chunk reads each input once and never allocates a full-chunk
 * temporary.  A program ends in a sink: a strided store, or a reduction that
 * folds each tile into accumulators (an elementwise chain fused into the
 * partial step of a reduction).
 *
 * Coordinates: a program runs over a region [lo, hi) of its iteration space
 * (the shape of the expression).  Every view into memory — a source, the
 * store's destination, the accumulators, the index of argmin/argmax — is a
 * stride per iteration axis in elements (0 where it is broadcast), so one
 * loop nest serves broadcasting, chunk regions and reductions alike.
 * Adjacent axes that every view traverses contiguously are merged, so a
 * chunk of whole rows is walked as one long run. */
#ifndef FLOE_KERNELS_VM_INTERNAL_H
#define FLOE_KERNELS_VM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ewise-internal.h"
#include "reduce-internal.h"

#define FLOE__TILE 1024 /* elements per register */

typedef enum floe__vm_code {
  FLOE__VM_LOAD,   /* register = source leaf (aliased when contiguous) */
  FLOE__VM_FILL,   /* register = constant (filled once per run) */
  FLOE__VM_IOTA,   /* register = start + index * step (arange, linspace) */
  FLOE__VM_RANDOM, /* register = counter-based random numbers by index */
  FLOE__VM_UNARY,
  FLOE__VM_BINARY,
  FLOE__VM_WHERE,
  FLOE__VM_CAST,
} floe__vm_code;

typedef struct floe__vm_leaf {
  const void *base;                  /* memory sources: element 0 */
  int64_t stride[FLOE_MAX_DIMS];     /* per iteration axis, in elements */
  /* IOTA: value(i) = start + i * step, i the index through `stride`;
   * the element at index pin_index is exactly `stop` when pin_last */
  double start, step, stop;
  int64_t pin_index;
  bool pin_last;
  /* RANDOM */
  int random_kind; /* 0 uniform, 1 normal */
  uint64_t seed;
  double a, b;
} floe__vm_leaf;

typedef struct floe__vm_insn {
  floe__vm_code code;
  floe_dtype dtype; /* of the destination register */
  int dst, a, b, c; /* registers */
  int leaf;         /* LOAD, IOTA, RANDOM */
  double value;     /* FILL */
  int64_t ivalue;   /* FILL of integers, exact */
  union {
    floe__ufunc1 u1; /* UNARY, CAST */
    floe__ufunc2 u2; /* BINARY */
    floe__where_fn w;
  } fn;
} floe__vm_insn;

typedef struct floe__vm_program {
  int ndim; /* iteration space */
  int64_t shape[FLOE_MAX_DIMS];
  int ninsn, nregs, nleaves;
  floe__vm_insn *insn;
  floe__vm_leaf *leaves;
  int out; /* the register holding the result */
  floe_dtype out_dtype;
} floe__vm_program;

#define FLOE__VM_MAX_LEAVES 64
#define FLOE__VM_MAX_SINKS 8 /* reductions of one input fed by one program */

/* Per-run bases for memory leaves that live in separate chunk buffers: leaf
 * l reads base[l] (when not NULL) with its offsets reduced by bias[l] (the
 * offset of the buffer's first element in the leaf's stride space). */
typedef struct floe__vm_bind {
  const void *base[FLOE__VM_MAX_LEAVES];
  int64_t bias[FLOE__VM_MAX_LEAVES];
} floe__vm_bind;

typedef enum floe__vm_sink_kind { FLOE__SINK_STORE, FLOE__SINK_REDUCE } floe__vm_sink_kind;

typedef struct floe__vm_sink {
  floe__vm_sink_kind kind;
  /* STORE: destination of out_dtype */
  void *dst;
  int64_t dst_stride[FLOE_MAX_DIMS];
  int64_t dst_bias; /* subtracted from destination offsets (a chunk buffer's origin) */
  /* REDUCE: accumulators; acc_stride is 0 on reduced axes */
  const floe__reducer *red;
  void *acc;
  size_t acc_size;
  int64_t acc_stride[FLOE_MAX_DIMS];
  int64_t acc_bias; /* subtracted from accumulator offsets: the region's origin */
  int64_t index_stride[FLOE_MAX_DIMS]; /* argmin/argmax index of an element */
} floe__vm_sink;

/* Scratch bytes one run of the program needs (registers and temporaries). */
size_t floe__vm_scratch_bytes(const floe__vm_program *p);

/* Runs the program over [lo, hi) into `nsinks` sinks (1 to
 * FLOE__VM_MAX_SINKS; each tile of the result goes to every sink, so
 * several reductions of one input read it once), with leaves rebound by
 * `bind` (may be NULL).  `scratch` holds at least floe__vm_scratch_bytes(p)
 * bytes, 64-byte aligned. */
void floe__vm_run(const floe__vm_program *p, const int64_t *lo, const int64_t *hi,
                  const floe__vm_sink *sinks, int nsinks, const floe__vm_bind *bind,
                  void *scratch);

#endif
