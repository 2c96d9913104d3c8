/* Array handles: one handle is one reference to a graph node.  Handles live
 * in context-owned slabs; a released handle is poisoned and kept in a
 * quarantine ring before its memory is reused, so that passing it again is
 * reported instead of crashing.  Scopes are per thread. */
#ifndef FLOE_ARRAY_ARRAY_INTERNAL_H
#define FLOE_ARRAY_ARRAY_INTERNAL_H

#include "graph/node-internal.h"

#define FLOE__HANDLE_LIVE 0xF10EA11Eu
#define FLOE__HANDLE_DEAD 0xDEADF10Eu

struct floe__scope;

struct floe_array {
  uint32_t magic;
  floe__node *node;
  floe_ctx *ctx;
  struct floe__scope *scope; /* the scope that releases it, or NULL */
  floe_array *prev, *next;   /* in that scope's list */
};

/* A new handle owning one reference to `node` (the caller's reference is
 * passed in).  NULL only when out of memory. */
floe_array *floe__handle_new(floe_ctx *ctx, floe__node *node);

/* A new handle to a new error node; NULL only when out of memory. */
floe_array *floe__handle_error(floe_ctx *ctx, floe_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Validates an argument: FLOE_OK, or FLOE_ERR_INVALID with the thread's
 * message naming `op` and the argument for NULL and released handles. */
floe_status floe__handle_check(const floe_array *a, const char *op, const char *what);

/* The checks of an operation on arrays (NULL, released, error states,
 * contexts): *failed and the array to return (an error, or an argument's
 * error passed on) when one fails; *ctx is the arguments' context. */
floe_array *floe__check_args(const char *op, floe_array *const *args, int n, floe_ctx **ctx,
                             bool *failed);

/* Frees every handle of a context (floe_close). */
void floe__handles_release_all(floe_ctx *ctx);

#endif
