/* The library's assembly point: floe_open wires the layers together (core
 * configuration, then the scheduler; later the store and the devices) and
 * floe_close takes them down in the reverse order. */
#include <stdlib.h>
#include <string.h>

#include "core/context-internal.h"
#include "core/error-internal.h"
#include "core/sync-internal.h"
#include "array/array-internal.h"
#include "scheduler/sched-internal.h"
#include "store/store-internal.h"

floe_status floe_open(const floe_options *opts, floe_ctx **out) {
  FLOE_RETURN_ERROR_IF(out == NULL, FLOE_ERR_INVALID, "floe_open: the output pointer is NULL");
  *out = NULL;
  floe_ctx *ctx = calloc(1, sizeof *ctx);
  FLOE_RETURN_ERROR_IF(ctx == NULL, FLOE_ERR_NOMEM, "floe_open: out of memory");
  ctx->t_open_ns = floe__now_ns();
  pthread_mutex_init(&ctx->lock, NULL);
  floe_status st = floe__config_resolve(opts, &ctx->cfg);
  if (st == FLOE_OK) {
    st = floe__store_new(&ctx->cfg, &ctx->store);
    if (st == FLOE_OK) {
      st = floe__sched_new(ctx, &ctx->sched);
      if (st != FLOE_OK) {
        floe__store_free(ctx->store);
      }
    }
    if (st != FLOE_OK) {
      floe__config_destroy(&ctx->cfg);
    }
  }
  if (st != FLOE_OK) {
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
    return st;
  }
  *out = ctx;
  return FLOE_OK;
}

void floe_close(floe_ctx *ctx) {
  if (ctx == NULL) {
    return;
  }
  floe__sched_free(ctx->sched);
  floe__taskgraphs_release_all(ctx);
  floe__handles_release_all(ctx);
  floe__nodes_release_all(ctx);
  floe__store_free(ctx->store); /* after the nodes: persisted chunks go first */
  floe__config_destroy(&ctx->cfg);
  pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

int floe_ctx_threads(const floe_ctx *ctx) {
  return ctx == NULL ? 0 : ctx->cfg.threads;
}

uint64_t floe_ctx_memory_limit(const floe_ctx *ctx) {
  return ctx == NULL ? 0 : ctx->cfg.memory_limit;
}
