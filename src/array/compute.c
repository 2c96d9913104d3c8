/* Running arrays: compute into memory, persist, plans, graph dumps and
 * multi-output jobs.  Each builds one lowering (src/graph) and runs it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array-internal.h"
#include "core/options-internal.h"
#include "core/context-internal.h"
#include "graph/lower-internal.h"
#include "store/store-internal.h"

struct floe_job {
  floe_ctx *ctx;
  floe__lower *L;
  bool built;         /* lowered at the first run; fixed after */
  floe_status status; /* sticky: the first failure while adding */
  char *msg;
};

/* The checks every entry point makes on its array. */
static floe_status usable(const floe_array *a, const char *op) {
  FLOE_FORWARD_IF_ERROR(floe__handle_check(a, op, "the array"));
  if (a->node->kind == FLOE__NODE_ERROR) {
    return floe__fail(a->node->status, "%s", a->node->msg);
  }
  return FLOE_OK;
}

static floe_status check_buffer(const floe_array *a, const char *op, const void *buffer,
                                size_t nbytes) {
  const floe__node *n = a->node;
  size_t need = (size_t)floe__node_size(n) * floe_dtype_size(n->dtype);
  FLOE_RETURN_ERROR_IF(buffer == NULL && need > 0, FLOE_ERR_INVALID, "%s: the buffer is NULL", op);
  if (nbytes < need) {
    char s[128];
    return floe__fail(FLOE_ERR_INVALID,
                      "%s: the buffer holds %zu bytes but the %s array of shape %s needs %zu", op,
                      nbytes, floe_dtype_name(n->dtype),
                      floe__shape_str(n->ndim, n->shape, s, sizeof s), need);
  }
  return FLOE_OK;
}

/* Lowers and runs one output. */
static floe_status run_one(floe_array *a, void *buffer) {
  floe__lower *L;
  FLOE_FORWARD_IF_ERROR(floe__lower_new(a->ctx, &L));
  floe_status st = floe__lower_add_target(L, a->node, buffer);
  if (st == FLOE_OK) {
    st = floe__lower_build(L);
  }
  if (st == FLOE_OK) {
    st = floe__lower_run(L);
  }
  floe__lower_free(L);
  return st;
}

floe_status floe_compute(floe_array *a, void *buffer, size_t nbytes) {
  FLOE_FORWARD_IF_ERROR(usable(a, "floe_compute"));
  FLOE_FORWARD_IF_ERROR(check_buffer(a, "floe_compute", buffer, nbytes));
  if (floe__node_size(a->node) == 0) {
    return FLOE_OK;
  }
  return run_one(a, buffer);
}

floe_status floe_compute_scalar(floe_array *a, double *value) {
  FLOE_FORWARD_IF_ERROR(usable(a, "floe_compute_scalar"));
  FLOE_RETURN_ERROR_IF(value == NULL, FLOE_ERR_INVALID, "floe_compute_scalar: value is NULL");
  const floe__node *n = a->node;
  if (floe__node_size(n) != 1) {
    char s[128];
    return floe__fail(FLOE_ERR_SHAPE,
                      "floe_compute_scalar: the array of shape %s has %lld elements, not one",
                      floe__shape_str(n->ndim, n->shape, s, sizeof s),
                      (long long)floe__node_size(n));
  }
  union {
    double d;
    unsigned char bytes[8];
  } out;
  FLOE_FORWARD_IF_ERROR(run_one(a, out.bytes));
  *value = floe__load_double(out.bytes, n->dtype, 0);
  return FLOE_OK;
}

floe_array *floe_persist(floe_array *a) {
  if (a == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_persist: the array is NULL");
    return NULL;
  }
  floe_ctx *ctx = a->ctx;
  if (usable(a, "floe_persist") != FLOE_OK) {
    if (a->magic == FLOE__HANDLE_LIVE && a->node->kind == FLOE__NODE_ERROR) {
      floe__node_ref(a->node);
      return floe__handle_new(ctx, a->node);
    }
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "%s", floe__error_slot()->msg);
  }
  const floe__node *n = a->node;
  if (n->kind == FLOE__NODE_STORED) {
    floe__node_ref(a->node);
    return floe__handle_new(ctx, a->node);
  }
  /* the result's chunks live in the store, spilled when the budget needs
     room (each with the full chunk shape) */
  int64_t nblocks = 1, elems = 1;
  for (int d = 0; d < n->ndim; d++) {
    nblocks *= (n->shape[d] + n->chunk[d] - 1) / n->chunk[d];
    elems *= n->chunk[d];
  }
  floe__chunk *blocks = calloc((size_t)(nblocks > 0 ? nblocks : 1), sizeof *blocks);
  floe__spill_area *area = NULL;
  floe_status st = blocks == NULL ? floe__fail(FLOE_ERR_NOMEM, "out of memory") : FLOE_OK;
  if (st == FLOE_OK) {
    st = floe__spill_area_new(ctx->store, n->dtype, n->ndim, n->shape, n->chunk, &area);
  }
  for (int64_t b = 0; st == FLOE_OK && b < nblocks; b++) {
    blocks[b].bytes = (size_t)elems * floe_dtype_size(n->dtype);
    blocks[b].index = b;
    blocks[b].keep = true;
    blocks[b].area = area;
  }
  if (st == FLOE_OK && floe__node_size(n) > 0) {
    floe__lower *L;
    st = floe__lower_new(ctx, &L);
    if (st == FLOE_OK) {
      floe__lower_name(L, "floe_persist");
      st = floe__lower_add_chunks_target(L, a->node, blocks);
      if (st == FLOE_OK) {
        st = floe__lower_build(L);
      }
      if (st == FLOE_OK) {
        st = floe__lower_run(L);
      }
      floe__lower_free(L);
    }
  }
  if (st != FLOE_OK) {
    floe__error saved = *floe__error_slot();
    floe__stored_free(ctx, blocks, blocks != NULL ? nblocks : 0, area);
    *floe__error_slot() = saved;
    const char *msg = floe__error_slot()->msg;
    return floe__handle_error(ctx, st, "%s%s",
                              strncmp(msg, "floe_persist:", 13) == 0 ? "" : "floe_persist: ", msg);
  }
  floe__node proto = {.kind = FLOE__NODE_STORED, .dtype = n->dtype, .ndim = n->ndim};
  memcpy(proto.shape, n->shape, sizeof proto.shape);
  memcpy(proto.chunk, n->chunk, sizeof proto.chunk);
  proto.p.stored.blocks = blocks;
  proto.p.stored.nblocks = nblocks;
  proto.p.stored.area = area;
  floe__node *s = floe__node_new(ctx, &proto);
  if (s == NULL) {
    floe__stored_free(ctx, blocks, nblocks, area);
    return NULL;
  }
  return floe__handle_new(ctx, s);
}

static floe_status dry_lowering(floe_array *a, const char *op, floe__lower **out) {
  *out = NULL;
  FLOE_FORWARD_IF_ERROR(usable(a, op));
  floe__lower *L;
  FLOE_FORWARD_IF_ERROR(floe__lower_new(a->ctx, &L));
  floe_status st = floe__lower_add_target(L, a->node, NULL);
  if (st == FLOE_OK) {
    st = floe__lower_build(L);
  }
  if (st != FLOE_OK) {
    floe__lower_free(L);
    return st;
  }
  *out = L;
  return FLOE_OK;
}

floe_status floe_plan(floe_array *a, floe_plan_info *plan) {
  FLOE_RETURN_ERROR_IF(plan == NULL, FLOE_ERR_INVALID, "floe_plan: plan is NULL");
  floe__lower *L;
  FLOE_FORWARD_IF_ERROR(dry_lowering(a, "floe_plan", &L));
  floe__lower_plan(L, plan);
  floe__lower_free(L);
  return FLOE_OK;
}

floe_status floe_graph_dot(floe_array *a, FILE *out) {
  FLOE_RETURN_ERROR_IF(out == NULL, FLOE_ERR_INVALID, "floe_graph_dot: the file is NULL");
  floe__lower *L;
  FLOE_FORWARD_IF_ERROR(dry_lowering(a, "floe_graph_dot", &L));
  floe_status st = floe__lower_dot(L, out);
  floe__lower_free(L);
  return st;
}

/* ------------------------------------------------------------------- jobs */

floe_job *floe_job_new(floe_ctx *ctx) {
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_job_new: context is NULL");
    return NULL;
  }
  floe_job *job = calloc(1, sizeof *job);
  if (job == NULL || floe__lower_new(ctx, &job->L) != FLOE_OK) {
    free(job);
    floe__fail(FLOE_ERR_NOMEM, "floe_job_new: out of memory");
    return NULL;
  }
  job->ctx = ctx;
  return job;
}

static floe_status job_fail(floe_job *job, floe_status st) {
  if (job->status == FLOE_OK) {
    job->status = st;
    job->msg = strdup(floe__error_slot()->msg);
  }
  return st;
}

floe_status floe_job_add_buffer(floe_job *job, floe_array *a, void *buffer, size_t nbytes) {
  FLOE_RETURN_ERROR_IF(job == NULL, FLOE_ERR_INVALID, "floe_job_add_buffer: job is NULL");
  FLOE_RETURN_ERROR_IF(job->built, FLOE_ERR_INVALID,
                       "floe_job_add_buffer: the job has run; outputs cannot be added after");
  floe_status st = usable(a, "floe_job_add_buffer");
  if (st == FLOE_OK && a->ctx != job->ctx) {
    st = floe__fail(FLOE_ERR_INVALID, "floe_job_add_buffer: the array belongs to another context");
  }
  if (st == FLOE_OK) {
    st = check_buffer(a, "floe_job_add_buffer", buffer, nbytes);
  }
  if (st == FLOE_OK && floe__node_size(a->node) > 0) {
    st = floe__lower_add_target(job->L, a->node, buffer);
  }
  return st == FLOE_OK ? FLOE_OK : job_fail(job, st);
}

static floe_status check_output(const char *op, const char *path, const char *dataset,
                                const floe_options *opts, int *level, int *overwrite) {
  FLOE_RETURN_ERROR_IF(path == NULL || path[0] == '\0', FLOE_ERR_INVALID, "%s: the path is %s",
                       op, path == NULL ? "NULL" : "empty");
  FLOE_RETURN_ERROR_IF(dataset == NULL || dataset[0] == '\0', FLOE_ERR_INVALID,
                       "%s: the dataset name is %s", op, dataset == NULL ? "NULL" : "empty");
  FLOE_FORWARD_IF_ERROR(floe__output_config(op, opts, level, overwrite));
  FLOE_RETURN_ERROR_IF(!*overwrite && access(path, F_OK) == 0, FLOE_ERR_IO,
                       "%s: '%s' exists; set the overwrite option (--overwrite) to replace the "
                       "dataset in it",
                       op, path);
  return FLOE_OK;
}

floe_status floe_job_add_hdf5(floe_job *job, floe_array *a, const char *path, const char *dataset,
                              const floe_options *opts) {
  const char *op = "floe_job_add_hdf5";
  FLOE_RETURN_ERROR_IF(job == NULL, FLOE_ERR_INVALID, "%s: job is NULL", op);
  FLOE_RETURN_ERROR_IF(job->built, FLOE_ERR_INVALID,
                       "%s: the job has run; outputs cannot be added after", op);
  int level = 0, overwrite = 0;
  floe_status st = usable(a, op);
  if (st == FLOE_OK && a->ctx != job->ctx) {
    st = floe__fail(FLOE_ERR_INVALID, "%s: the array belongs to another context", op);
  }
  if (st == FLOE_OK) {
    st = check_output(op, path, dataset, opts, &level, &overwrite);
  }
  if (st == FLOE_OK) {
    st = floe__lower_add_file_target(job->L, a->node, path, dataset, level, overwrite);
  }
  return st == FLOE_OK ? FLOE_OK : job_fail(job, st);
}

floe_status floe_to_hdf5(floe_array *a, const char *path, const char *dataset,
                         const floe_options *opts) {
  const char *op = "floe_to_hdf5";
  FLOE_FORWARD_IF_ERROR(usable(a, op));
  int level = 0, overwrite = 0;
  FLOE_FORWARD_IF_ERROR(check_output(op, path, dataset, opts, &level, &overwrite));
  floe__lower *L;
  FLOE_FORWARD_IF_ERROR(floe__lower_new(a->ctx, &L));
  floe__lower_name(L, op);
  floe_status st = floe__lower_add_file_target(L, a->node, path, dataset, level, overwrite);
  if (st == FLOE_OK) {
    st = floe__lower_build(L);
  }
  if (st == FLOE_OK) {
    st = floe__lower_run(L);
  }
  floe__lower_free(L);
  return st;
}

static floe_status job_built(floe_job *job, const char *op) {
  FLOE_RETURN_ERROR_IF(job == NULL, FLOE_ERR_INVALID, "%s: job is NULL", op);
  if (job->status != FLOE_OK) {
    return floe__fail(job->status, "%s: an output could not be added: %s", op,
                      job->msg ? job->msg : floe_status_string(job->status));
  }
  if (!job->built) {
    FLOE_FORWARD_IF_ERROR(floe__lower_build(job->L));
    job->built = true;
  }
  return FLOE_OK;
}

floe_status floe_job_run(floe_job *job) {
  /* a job's lowering is built once; running it again reruns the tasks */
  FLOE_FORWARD_IF_ERROR(job_built(job, "floe_job_run"));
  return floe__lower_run(job->L);
}

floe_status floe_job_plan(floe_job *job, floe_plan_info *plan) {
  FLOE_RETURN_ERROR_IF(plan == NULL, FLOE_ERR_INVALID, "floe_job_plan: plan is NULL");
  FLOE_FORWARD_IF_ERROR(job_built(job, "floe_job_plan"));
  floe__lower_plan(job->L, plan);
  return FLOE_OK;
}

floe_status floe_job_dot(floe_job *job, FILE *out) {
  FLOE_RETURN_ERROR_IF(out == NULL, FLOE_ERR_INVALID, "floe_job_dot: the file is NULL");
  FLOE_FORWARD_IF_ERROR(job_built(job, "floe_job_dot"));
  return floe__lower_dot(job->L, out);
}

floe_status floe_job_stats(const floe_job *job, floe_stats *stats) {
  FLOE_RETURN_ERROR_IF(job == NULL, FLOE_ERR_INVALID, "floe_job_stats: job is NULL");
  FLOE_RETURN_ERROR_IF(stats == NULL, FLOE_ERR_INVALID, "floe_job_stats: stats is NULL");
  floe__lower_stats(job->L, stats);
  return FLOE_OK;
}

void floe_job_free(floe_job *job) {
  if (job == NULL) {
    return;
  }
  floe__lower_free(job->L);
  free(job->msg);
  free(job);
}
