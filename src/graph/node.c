#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node-internal.h"
#include "core/context-internal.h"
#include "store/file-internal.h"
#include "store/store-internal.h"

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

static uint64_t bits_of(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static uint64_t node_hash(const floe__node *n) {
  uint64_t h = mix(0, (uint64_t)n->kind);
  h = mix(h, (uint64_t)n->dtype);
  h = mix(h, (uint64_t)n->weak);
  h = mix(h, (uint64_t)n->ndim);
  for (int d = 0; d < n->ndim; d++) {
    h = mix(h, (uint64_t)n->shape[d]);
    h = mix(h, (uint64_t)n->chunk[d]);
  }
  for (int i = 0; i < n->nin; i++) {
    h = mix(h, n->in[i]->hash);
  }
  switch (n->kind) {
  case FLOE__NODE_BUFFER:
    h = mix(h, (uint64_t)(uintptr_t)n->p.buffer.data);
    break;
  case FLOE__NODE_STORED:
    h = mix(h, (uint64_t)(uintptr_t)n->p.stored.blocks);
    break;
  case FLOE__NODE_FILE:
    h = mix(h, (uint64_t)(uintptr_t)n->p.file.src);
    break;
  case FLOE__NODE_FULL:
    h = mix(mix(h, bits_of(n->p.full.value)), (uint64_t)n->p.full.ivalue);
    break;
  case FLOE__NODE_ARANGE:
    h = mix(mix(h, bits_of(n->p.arange.start)), bits_of(n->p.arange.step));
    h = mix(mix(h, bits_of(n->p.arange.stop)), (uint64_t)n->p.arange.pin_last);
    break;
  case FLOE__NODE_RANDOM:
    h = mix(mix(h, (uint64_t)n->p.random.kind), n->p.random.seed);
    h = mix(mix(h, bits_of(n->p.random.a)), bits_of(n->p.random.b));
    break;
  case FLOE__NODE_UNARY:
    h = mix(mix(h, (uint64_t)n->p.unary.op), (uint64_t)n->p.unary.compute);
    break;
  case FLOE__NODE_BINARY:
    h = mix(mix(h, (uint64_t)n->p.binary.op), (uint64_t)n->p.binary.compute);
    break;
  case FLOE__NODE_REDUCE:
    h = mix(mix(h, (uint64_t)n->p.reduce.op), n->p.reduce.axes);
    h = mix(mix(h, (uint64_t)n->p.reduce.keepdims), (uint64_t)n->p.reduce.ddof);
    break;
  case FLOE__NODE_GATHER:
    for (int d = 0; d < FLOE_MAX_DIMS; d++) {
      h = mix(mix(h, (uint64_t)n->p.gather.src[d]), (uint64_t)n->p.gather.start[d]);
      h = mix(mix(h, (uint64_t)n->p.gather.step[d]), (uint64_t)n->p.gather.fixed[d]);
    }
    h = mix(mix(h, (uint64_t)n->p.gather.pad), bits_of(n->p.gather.value));
    h = mix(mix(h, (uint64_t)(uintptr_t)n->p.gather.take), (uint64_t)n->p.gather.take_axis);
    break;
  case FLOE__NODE_CONCAT:
    h = mix(h, (uint64_t)n->p.concat.axis);
    break;
  case FLOE__NODE_MAP:
    h = mix(mix(h, (uint64_t)(uintptr_t)n->p.map.fn), (uint64_t)(uintptr_t)n->p.map.user);
    for (int d = 0; d < FLOE_MAX_DIMS; d++) {
      h = mix(h, (uint64_t)n->p.map.depth[d]);
    }
    break;
  case FLOE__NODE_AXIS:
    h = mix(mix(h, (uint64_t)n->p.axis.op), (uint64_t)n->p.axis.axis);
    h = mix(h, bits_of(n->p.axis.q));
    break;
  default:
    break;
  }
  return h;
}

bool floe__node_same(const floe__node *a, const floe__node *b) {
  if (a == b) {
    return true;
  }
  if (a->hash != b->hash || a->kind != b->kind || a->dtype != b->dtype || a->weak != b->weak ||
      a->ndim != b->ndim || a->nin != b->nin || a->kind == FLOE__NODE_ERROR) {
    return false;
  }
  for (int d = 0; d < a->ndim; d++) {
    if (a->shape[d] != b->shape[d] || a->chunk[d] != b->chunk[d]) {
      return false;
    }
  }
  for (int i = 0; i < a->nin; i++) {
    if (a->in[i] != b->in[i]) {
      return false;
    }
  }
  switch (a->kind) {
  case FLOE__NODE_BUFFER:
    return a->p.buffer.data == b->p.buffer.data;
  case FLOE__NODE_STORED:
    return a->p.stored.blocks == b->p.stored.blocks;
  case FLOE__NODE_FILE:
    return a->p.file.src == b->p.file.src;
  case FLOE__NODE_FULL:
    return bits_of(a->p.full.value) == bits_of(b->p.full.value) &&
           a->p.full.ivalue == b->p.full.ivalue;
  case FLOE__NODE_ARANGE:
    return bits_of(a->p.arange.start) == bits_of(b->p.arange.start) &&
           bits_of(a->p.arange.step) == bits_of(b->p.arange.step) &&
           bits_of(a->p.arange.stop) == bits_of(b->p.arange.stop) &&
           a->p.arange.pin_last == b->p.arange.pin_last;
  case FLOE__NODE_RANDOM:
    return a->p.random.kind == b->p.random.kind && a->p.random.seed == b->p.random.seed &&
           bits_of(a->p.random.a) == bits_of(b->p.random.a) &&
           bits_of(a->p.random.b) == bits_of(b->p.random.b);
  case FLOE__NODE_UNARY:
    return a->p.unary.op == b->p.unary.op && a->p.unary.compute == b->p.unary.compute;
  case FLOE__NODE_BINARY:
    return a->p.binary.op == b->p.binary.op && a->p.binary.compute == b->p.binary.compute;
  case FLOE__NODE_REDUCE:
    return a->p.reduce.op == b->p.reduce.op && a->p.reduce.axes == b->p.reduce.axes &&
           a->p.reduce.keepdims == b->p.reduce.keepdims && a->p.reduce.ddof == b->p.reduce.ddof;
  case FLOE__NODE_GATHER:
    return memcmp(a->p.gather.src, b->p.gather.src, sizeof a->p.gather.src) == 0 &&
           memcmp(a->p.gather.start, b->p.gather.start, sizeof a->p.gather.start) == 0 &&
           memcmp(a->p.gather.step, b->p.gather.step, sizeof a->p.gather.step) == 0 &&
           memcmp(a->p.gather.fixed, b->p.gather.fixed, sizeof a->p.gather.fixed) == 0 &&
           a->p.gather.pad == b->p.gather.pad &&
           bits_of(a->p.gather.value) == bits_of(b->p.gather.value) &&
           a->p.gather.take == b->p.gather.take && a->p.gather.take_axis == b->p.gather.take_axis;
  case FLOE__NODE_CONCAT:
    return a->p.concat.axis == b->p.concat.axis;
  case FLOE__NODE_MAP:
    return a->p.map.fn == b->p.map.fn && a->p.map.user == b->p.map.user &&
           memcmp(a->p.map.depth, b->p.map.depth, sizeof a->p.map.depth) == 0;
  case FLOE__NODE_AXIS:
    return a->p.axis.op == b->p.axis.op && a->p.axis.axis == b->p.axis.axis &&
           bits_of(a->p.axis.q) == bits_of(b->p.axis.q);
  default:
    return true;
  }
}

static void link_node(floe_ctx *ctx, floe__node *n) {
  n->ctx = ctx;
  pthread_mutex_lock(&ctx->lock);
  n->ctx_prev = NULL;
  n->ctx_next = ctx->nodes;
  if (ctx->nodes != NULL) {
    ctx->nodes->ctx_prev = n;
  }
  ctx->nodes = n;
  pthread_mutex_unlock(&ctx->lock);
}

floe__node *floe__node_new(floe_ctx *ctx, const floe__node *proto) {
  floe__node *n = malloc(sizeof *n);
  if (n == NULL) {
    floe__fail(FLOE_ERR_NOMEM, "out of memory for an array node");
    return NULL;
  }
  *n = *proto;
  atomic_init(&n->refs, 1);
  n->msg = NULL;
  for (int i = 0; i < n->nin; i++) {
    floe__node_ref(n->in[i]);
  }
  n->hash = node_hash(n);
  link_node(ctx, n);
  return n;
}

floe__node *floe__node_error(floe_ctx *ctx, floe_status status, const char *msg) {
  floe__node *n = calloc(1, sizeof *n);
  if (n == NULL) {
    return NULL;
  }
  atomic_init(&n->refs, 1);
  n->kind = FLOE__NODE_ERROR;
  n->status = status;
  n->msg = strdup(msg != NULL ? msg : floe_status_string(status));
  n->hash = mix((uint64_t)(uintptr_t)n, 0);
  link_node(ctx, n);
  return n;
}

void floe__node_ref(floe__node *n) { atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed); }

void floe__stored_free(floe_ctx *ctx, struct floe__chunk *blocks, int64_t nblocks,
                       struct floe__spill_area *area) {
  for (int64_t b = 0; blocks != NULL && b < nblocks; b++) {
    floe__store_drop(ctx->store, &blocks[b]);
  }
  free(blocks);
  if (area != NULL) {
    floe__spill_area_free(ctx->store, area);
  }
}

static void node_free(floe__node *n) {
  if (n->kind == FLOE__NODE_STORED) {
    floe__stored_free(n->ctx, n->p.stored.blocks, n->p.stored.nblocks, n->p.stored.area);
  } else if (n->kind == FLOE__NODE_FILE) {
    floe__h5src_unref(n->p.file.src);
  } else if (n->kind == FLOE__NODE_GATHER && n->p.gather.take != NULL &&
             atomic_fetch_sub_explicit(&n->p.gather.take->refs, 1, memory_order_acq_rel) == 1) {
    free(n->p.gather.take);
  }
  free(n->msg);
  free(n);
}

void floe__node_unref(floe__node *n) {
  /* iterative, so that long chains do not recurse deeply */
  floe__node *stack[64];
  int top = 0;
  stack[top++] = n;
  while (top > 0) {
    floe__node *x = stack[--top];
    if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) != 1) {
      continue;
    }
    floe_ctx *ctx = x->ctx;
    pthread_mutex_lock(&ctx->lock);
    if (x->ctx_prev != NULL) {
      x->ctx_prev->ctx_next = x->ctx_next;
    } else {
      ctx->nodes = x->ctx_next;
    }
    if (x->ctx_next != NULL) {
      x->ctx_next->ctx_prev = x->ctx_prev;
    }
    pthread_mutex_unlock(&ctx->lock);
    for (int i = 0; i < x->nin; i++) {
      if (top < (int)(sizeof stack / sizeof stack[0])) {
        stack[top++] = x->in[i];
      } else {
        floe__node_unref(x->in[i]); /* rare: a very wide frontier */
      }
    }
    node_free(x);
  }
}

void floe__nodes_release_all(floe_ctx *ctx) {
  floe__node *n = ctx->nodes;
  ctx->nodes = NULL;
  while (n != NULL) {
    floe__node *next = n->ctx_next;
    node_free(n);
    n = next;
  }
}

int64_t floe__node_size(const floe__node *n) {
  int64_t s = 1;
  for (int d = 0; d < n->ndim; d++) {
    s *= n->shape[d];
  }
  return s;
}

const char *floe__shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
  size_t used = 0;
  used += (size_t)snprintf(buf + used, cap - used, "(");
  for (int d = 0; d < ndim && used < cap; d++) {
    used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                             (long long)shape[d]);
  }
  if (used < cap) {
    snprintf(buf + used, cap - used, ndim == 1 ? ",)" : ")");
  }
  return buf;
}
