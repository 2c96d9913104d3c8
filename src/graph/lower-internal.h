/* Lowering: from array nodes to chunk tasks on the runtime.
 *
 * The passes, in order:
 *  1. cull and merge common subexpressions: only nodes reachable from the
 *     targets are visited, and structurally equal nodes become one;
 *  2. fuse: every elementwise subexpression is inlined into the program of
 *     the materialised node that consumes it (a reduction, or a target), so a
 *     chain of elementwise ops over a chunk is one task running one program,
 *     and an elementwise chain feeding a reduction is folded into the
 *     reduction's partial step;
 *  3. lower: one task per chunk of each program; reductions get a partial
 *     task per input chunk and a fixed tree of combine tasks per output block
 *     (fan-in from the context), the root writing the block's final values;
 *  4. order: tasks are added so that the runtime, which takes roots in order
 *     and runs readied successors depth-first, finishes each reduction tree
 *     before starting far-away chunks, releasing partials early.
 *
 * Materialised intermediates (a reduction consumed by another program) are
 * whole buffers for now; consumers depend only on the blocks they read.
 * Inputs held as chunks (files, persisted arrays) live in the context's
 * store (src/store): every chunk buffer is counted against the memory
 * budget, dropped or spilled when room is needed, and pinned by the task
 * reading it. */
#ifndef FLOE_GRAPH_LOWER_INTERNAL_H
#define FLOE_GRAPH_LOWER_INTERNAL_H

#include <stdio.h>

#include "node-internal.h"

typedef struct floe__lower floe__lower;

floe_status floe__lower_new(floe_ctx *ctx, floe__lower **out);
/* Names the public operation in the lowering's messages (static string). */
void floe__lower_name(floe__lower *L, const char *op);
void floe__lower_free(floe__lower *L);

/* Adds an output: `node` computed into `dst` (C order, node's dtype), or
 * into nowhere when dst is NULL (plans and graph dumps). */
floe_status floe__lower_add_target(floe__lower *L, floe__node *node, void *dst);

/* Adds an output computed into the store: one chunk of `chunks` per block
 * of node's chunk grid (C order), each with the full chunk shape (edge
 * blocks padded with zeros), installed in the store as it is made (they
 * may spill while the rest is computed).  For floe_persist. */
floe_status floe__lower_add_chunks_target(floe__lower *L, floe__node *node,
                                          struct floe__chunk *chunks);

/* Adds an output written to dataset `dataset` of the HDF5 file `path`
 * (zstd `level`, 0 for none; the overwrite policy of floe_to_hdf5).  The
 * file is created when the lowering runs and committed when the run
 * succeeds. */
floe_status floe__lower_add_file_target(floe__lower *L, floe__node *node, const char *path,
                                        const char *dataset, int level, int overwrite);

/* Runs the passes and builds the task graph. */
floe_status floe__lower_build(floe__lower *L);

/* Runs the task graph built by floe__lower_build. */
floe_status floe__lower_run(floe__lower *L);

void floe__lower_plan(const floe__lower *L, floe_plan_info *info);
/* The figures of the last run (zero before the first). */
void floe__lower_stats(const floe__lower *L, floe_stats *stats);
floe_status floe__lower_dot(const floe__lower *L, FILE *out);

#endif
