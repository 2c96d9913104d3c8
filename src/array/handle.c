/* Handles, scopes, release and the read-only accessors of arrays. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array-internal.h"

#define SLAB 1024
#define QUARANTINE 65536

typedef struct floe__handles {
  floe_array **slabs;
  size_t nslabs, slabs_cap, used_in_last;
  floe_array *free_list; /* linked through `next` */
  floe_array **ring;     /* released handles, oldest first */
  size_t ring_head, ring_count;
} floe__handles;

typedef struct floe__scope {
  floe_ctx *ctx;
  floe_array *head;
  struct floe__scope *parent; /* the enclosing scope of this thread, any ctx */
} floe__scope;

static _Thread_local floe__scope *tls_scope;

static floe__scope *scope_for(floe_ctx *ctx, floe__scope *from) {
  for (floe__scope *s = from; s != NULL; s = s->parent) {
    if (s->ctx == ctx) {
      return s;
    }
  }
  return NULL;
}

/* ctx->lock held */
static void scope_link(floe__scope *s, floe_array *a) {
  a->scope = s;
  a->prev = NULL;
  a->next = NULL;
  if (s != NULL) {
    a->next = s->head;
    if (s->head != NULL) {
      s->head->prev = a;
    }
    s->head = a;
  }
}

/* ctx->lock held */
static void scope_unlink(floe_array *a) {
  floe__scope *s = a->scope;
  if (s == NULL) {
    return;
  }
  if (a->prev != NULL) {
    a->prev->next = a->next;
  } else {
    s->head = a->next;
  }
  if (a->next != NULL) {
    a->next->prev = a->prev;
  }
  a->scope = NULL;
  a->prev = a->next = NULL;
}

/* ctx->lock held */
static floe_array *handle_alloc(floe_ctx *ctx) {
  floe__handles *h = ctx->handles;
  if (h == NULL) {
    h = ctx->handles = calloc(1, sizeof *h);
    if (h == NULL) {
      return NULL;
    }
  }
  if (h->free_list != NULL) {
    floe_array *a = h->free_list;
    h->free_list = a->next;
    return a;
  }
  if (h->nslabs == 0 || h->used_in_last == SLAB) {
    if (h->nslabs == h->slabs_cap) {
      size_t cap = h->slabs_cap ? h->slabs_cap * 2 : 8;
      floe_array **slabs = realloc(h->slabs, cap * sizeof *slabs);
      if (slabs == NULL) {
        return NULL;
      }
      h->slabs = slabs;
      h->slabs_cap = cap;
    }
    floe_array *slab = malloc(SLAB * sizeof *slab);
    if (slab == NULL) {
      return NULL;
    }
    h->slabs[h->nslabs++] = slab;
    h->used_in_last = 0;
  }
  return &h->slabs[h->nslabs - 1][h->used_in_last++];
}

/* ctx->lock held.  Poisons a handle and quarantines it. */
static void handle_retire(floe_ctx *ctx, floe_array *a) {
  floe__handles *h = ctx->handles;
  a->magic = FLOE__HANDLE_DEAD;
  if (h->ring == NULL) {
    h->ring = malloc(QUARANTINE * sizeof *h->ring);
    if (h->ring == NULL) {
      return; /* no quarantine: the handle stays poisoned, never reused */
    }
  }
  if (h->ring_count == QUARANTINE) {
    floe_array *old = h->ring[h->ring_head];
    h->ring_head = (h->ring_head + 1) % QUARANTINE;
    h->ring_count--;
    old->next = h->free_list;
    h->free_list = old;
  }
  h->ring[(h->ring_head + h->ring_count) % QUARANTINE] = a;
  h->ring_count++;
}

floe_array *floe__handle_new(floe_ctx *ctx, floe__node *node) {
  pthread_mutex_lock(&ctx->lock);
  floe_array *a = handle_alloc(ctx);
  if (a != NULL) {
    a->magic = FLOE__HANDLE_LIVE;
    a->node = node;
    a->ctx = ctx;
    scope_link(scope_for(ctx, tls_scope), a);
  }
  pthread_mutex_unlock(&ctx->lock);
  if (a == NULL) {
    floe__fail(FLOE_ERR_NOMEM, "out of memory for an array handle");
    floe__node_unref(node);
  }
  return a;
}

floe_array *floe__handle_error(floe_ctx *ctx, floe_status status, const char *fmt, ...) {
  char msg[FLOE__MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  floe__fail_copy(status, msg);
  floe__node *n = floe__node_error(ctx, status, msg);
  return n != NULL ? floe__handle_new(ctx, n) : NULL;
}

floe_status floe__handle_check(const floe_array *a, const char *op, const char *what) {
  FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_INVALID, "%s: %s is NULL", op, what);
  FLOE_RETURN_ERROR_IF(a->magic == FLOE__HANDLE_DEAD, FLOE_ERR_INVALID,
                       "%s: %s is a released array", op, what);
  FLOE_RETURN_ERROR_IF(a->magic != FLOE__HANDLE_LIVE, FLOE_ERR_INVALID,
                       "%s: %s is not a floe array", op, what);
  return FLOE_OK;
}

void floe_release(floe_array *a) {
  if (a == NULL || a->magic != FLOE__HANDLE_LIVE) {
    return;
  }
  floe_ctx *ctx = a->ctx;
  floe__node *node = a->node;
  pthread_mutex_lock(&ctx->lock);
  scope_unlink(a);
  handle_retire(ctx, a);
  pthread_mutex_unlock(&ctx->lock);
  floe__node_unref(node);
}

floe_status floe_scope_begin(floe_ctx *ctx) {
  FLOE_RETURN_ERROR_IF(ctx == NULL, FLOE_ERR_INVALID, "floe_scope_begin: context is NULL");
  floe__scope *s = calloc(1, sizeof *s);
  FLOE_RETURN_ERROR_IF(s == NULL, FLOE_ERR_NOMEM, "floe_scope_begin: out of memory");
  s->ctx = ctx;
  s->parent = tls_scope;
  tls_scope = s;
  return FLOE_OK;
}

floe_status floe_scope_end(floe_ctx *ctx) {
  FLOE_RETURN_ERROR_IF(ctx == NULL, FLOE_ERR_INVALID, "floe_scope_end: context is NULL");
  floe__scope **link = &tls_scope;
  while (*link != NULL && (*link)->ctx != ctx) {
    link = &(*link)->parent;
  }
  FLOE_RETURN_ERROR_IF(*link == NULL, FLOE_ERR_INVALID,
                       "floe_scope_end: no scope is open on this thread for this context");
  floe__scope *s = *link;
  *link = s->parent;
  for (;;) {
    pthread_mutex_lock(&ctx->lock);
    floe_array *a = s->head;
    pthread_mutex_unlock(&ctx->lock);
    if (a == NULL) {
      break;
    }
    floe_release(a);
  }
  free(s);
  return FLOE_OK;
}

floe_array *floe_keep(floe_array *a) {
  if (floe__handle_check(a, "floe_keep", "the array") != FLOE_OK) {
    return a;
  }
  floe_ctx *ctx = a->ctx;
  pthread_mutex_lock(&ctx->lock);
  floe__scope *s = a->scope;
  if (s != NULL) {
    floe__scope *parent = scope_for(ctx, s->parent);
    scope_unlink(a);
    scope_link(parent, a);
  }
  pthread_mutex_unlock(&ctx->lock);
  return a;
}

void floe__handles_release_all(floe_ctx *ctx) {
  /* this thread's scopes on ctx die with it; other threads must have
     closed theirs (floe_close's contract) */
  floe__scope **link = &tls_scope;
  while (*link != NULL) {
    floe__scope *s = *link;
    if (s->ctx == ctx) {
      *link = s->parent;
      free(s);
    } else {
      link = &s->parent;
    }
  }
  floe__handles *h = ctx->handles;
  if (h == NULL) {
    return;
  }
  for (size_t i = 0; i < h->nslabs; i++) {
    free(h->slabs[i]);
  }
  free(h->slabs);
  free(h->ring);
  free(h);
  ctx->handles = NULL;
}

/* ------------------------------------------------------------- accessors */

static const floe__node *good_node(const floe_array *a) {
  if (a == NULL || a->magic != FLOE__HANDLE_LIVE || a->node->kind == FLOE__NODE_ERROR) {
    return NULL;
  }
  return a->node;
}

floe_status floe_array_status(const floe_array *a) {
  if (floe__handle_check(a, "floe_array_status", "the array") != FLOE_OK) {
    return FLOE_ERR_INVALID;
  }
  return a->node->kind == FLOE__NODE_ERROR ? a->node->status : FLOE_OK;
}

const char *floe_array_message(const floe_array *a) {
  if (a == NULL) {
    return "the array is NULL";
  }
  if (a->magic != FLOE__HANDLE_LIVE) {
    return "the array was released";
  }
  return a->node->kind == FLOE__NODE_ERROR ? a->node->msg : "";
}

floe_shape floe_array_shape(const floe_array *a) {
  floe_shape s = {0, {0}};
  const floe__node *n = good_node(a);
  if (n != NULL) {
    s.ndim = n->ndim;
    memcpy(s.dim, n->shape, sizeof(int64_t) * (size_t)n->ndim);
  }
  return s;
}

floe_shape floe_array_chunks(const floe_array *a) {
  floe_shape s = {0, {0}};
  const floe__node *n = good_node(a);
  if (n != NULL) {
    s.ndim = n->ndim;
    memcpy(s.dim, n->chunk, sizeof(int64_t) * (size_t)n->ndim);
  }
  return s;
}

floe_dtype floe_array_dtype(const floe_array *a) {
  const floe__node *n = good_node(a);
  return n != NULL ? n->dtype : FLOE_DTYPE_COUNT_;
}

int floe_array_ndim(const floe_array *a) {
  const floe__node *n = good_node(a);
  return n != NULL ? n->ndim : 0;
}

int64_t floe_array_size(const floe_array *a) {
  const floe__node *n = good_node(a);
  return n != NULL ? floe__node_size(n) : 0;
}

uint64_t floe_array_nbytes(const floe_array *a) {
  const floe__node *n = good_node(a);
  return n != NULL ? (uint64_t)floe__node_size(n) * floe_dtype_size(n->dtype) : 0;
}

floe_ctx *floe_array_ctx(const floe_array *a) {
  return (a != NULL && a->magic == FLOE__HANDLE_LIVE) ? a->ctx : NULL;
}
