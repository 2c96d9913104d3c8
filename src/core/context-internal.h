/* The context: resolved configuration plus the subsystems of the layers
 * above, which core knows only as opaque pointers (core includes no upper
 * layer; src/floe.c wires them together in floe_open). */
#ifndef FLOE_CORE_CONTEXT_INTERNAL_H
#define FLOE_CORE_CONTEXT_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "floe.h"
#include "options-internal.h"

struct floe__sched;
struct floe__store;
struct floe__node;
struct floe__handles;

struct floe_ctx {
  floe__config cfg;
  int64_t t_open_ns; /* time origin of profiles */
  struct floe__sched *sched;
  struct floe__store *store; /* the memory budget and spill (src/store) */
  pthread_mutex_t lock;          /* guards the lists below */
  struct floe_taskgraph *graphs; /* alive graphs, freed at floe_close */
  struct floe__node *nodes;      /* alive array nodes, freed at floe_close */
  struct floe__handles *handles; /* array handles: slabs, quarantine */
};

#endif
