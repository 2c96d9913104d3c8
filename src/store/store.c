/* The chunk store (see store-internal.h): budget, LRU, pool, spill. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error-internal.h"
#include "core/sync-internal.h"
#include "store-internal.h"

#define POOL_MAX 64 /* free buffers kept for reuse */

struct floe__spill_area {
  floe_dtype dtype;
  int ndim;
  int64_t shape[FLOE_MAX_DIMS], chunk[FLOE_MAX_DIMS];
  floe__h5out_dset *dset; /* made at the first spill (under spill_lock) */
  unsigned id;
};

struct floe__store {
  pthread_mutex_t lock; /* the budget, the pool, the LRU list and every chunk's state */
  pthread_cond_t cv;    /* memory given back, a chunk loaded or spilled, a task gone */
  uint64_t limit, used, peak;
  uint64_t cached, cache_cap; /* idle input chunks kept for a later use */
  int active;   /* tasks inside enter/leave */
  int waiting;  /* of those, waiting for memory or for a chunk */
  int evicting; /* spills in flight */
  int runs;
  floe__chunk lru; /* sentinel: lru.next is the least recently used */
  struct {
    void *p;
    size_t bytes;
  } pool[POOL_MAX];
  int npool;
  /* the spill file */
  pthread_mutex_t spill_lock;
  char *spill_dir;
  int spill_level;
  floe__h5out *spill;
  unsigned nareas;
};

static _Atomic unsigned spill_counter;

/* ------------------------------------------------------------- the list */

static void lru_remove(floe__store *s, floe__chunk *c) {
  if (c->prev != NULL) {
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
  }
  if (c->cached) {
    c->cached = false;
    s->cached -= c->bytes;
  }
}

static void lru_append(floe__store *s, floe__chunk *c) {
  c->prev = s->lru.prev;
  c->next = &s->lru;
  s->lru.prev->next = c;
  s->lru.prev = c;
}

static void wake(floe__store *s) {
  if (s->waiting > 0) {
    pthread_cond_broadcast(&s->cv);
  }
}

/* ------------------------------------------------------------- buffers */

/* Chunk buffers are mappings of their own, never malloc's: glibc raises
 * its mmap threshold to the size of every mapped block freed, and after
 * that serves chunk-sized requests from arenas it does not give back, so
 * a process that once freed a chunk holds on to freed chunks for good. */
static void *big_alloc(size_t bytes) {
  void *p = mmap(NULL, (bytes + 4095) & ~(size_t)4095, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void big_free(void *p, size_t bytes) {
  if (p != NULL) {
    munmap(p, (bytes + 4095) & ~(size_t)4095);
  }
}

static void *take_pooled(floe__store *s, size_t bytes) {
  for (int i = 0; i < s->npool; i++) {
    if (s->pool[i].bytes == bytes) {
      void *p = s->pool[i].p;
      s->pool[i] = s->pool[--s->npool];
      return p;
    }
  }
  return NULL;
}

/* Gives a buffer back under the lock: into the pool while runs go on (it
 * stays counted), else freed. */
static void give_back(floe__store *s, void *p, size_t bytes) {
  if (s->runs > 0 && s->npool < POOL_MAX) {
    s->pool[s->npool].p = p;
    s->pool[s->npool++].bytes = bytes;
  } else {
    big_free(p, bytes);
    s->used -= bytes;
  }
  wake(s);
}

/* Frees the bytes of resident chunk c (not in the list, not pinned). */
static void free_bytes(floe__store *s, floe__chunk *c) {
  if (c->map != NULL) {
    munmap(c->map, c->maplen);
    c->map = NULL;
    s->used -= c->bytes;
    wake(s);
  } else if (c->data != NULL) {
    give_back(s, c->data, c->bytes);
  }
  c->data = NULL;
  c->state = FLOE__CHUNK_EMPTY;
}

/* ---------------------------------------------------------------- spill */

/* Work buffers of spills and reloads: outside the budget (memory is being
 * made), one per worker at a time. */
static void *plain_get(void *owner, size_t bytes) {
  (void)owner;
  return big_alloc(bytes);
}

static void plain_put(void *owner, void *p, size_t bytes) {
  (void)owner;
  big_free(p, bytes);
}

static void area_coord(const floe__spill_area *a, int64_t index, int64_t *coord) {
  for (int d = a->ndim - 1; d >= 0; d--) {
    int64_t n = (a->shape[d] + a->chunk[d] - 1) / a->chunk[d];
    coord[d] = index % n;
    index /= n;
  }
}

/* The area's dataset, and the spill file at the first spill. */
static floe_status area_dataset(floe__store *s, floe__spill_area *a) {
  pthread_mutex_lock(&s->spill_lock);
  floe_status st = FLOE_OK;
  if (s->spill == NULL) {
    size_t cap = strlen(s->spill_dir) + 64;
    char *path = malloc(cap);
    if (path == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "spill: out of memory");
    } else {
      snprintf(path, cap, "%s/floe-spill-%ld-%u.h5", s->spill_dir, (long)getpid(),
               atomic_fetch_add(&spill_counter, 1));
      st = floe__h5out_open_scratch("spill", path, &s->spill); /* keeps its own copy */
      free(path);
      if (st != FLOE_OK) {
        st = floe__fail(st, "%s (the spill directory '%s'; set spill_dir or --spill-dir)",
                        floe__error_slot()->msg, s->spill_dir);
      }
    }
  }
  if (st == FLOE_OK && a->dset == NULL) {
    char name[32];
    snprintf(name, sizeof name, "a%u", a->id);
    st = floe__h5out_dataset(s->spill, name, a->dtype, a->ndim, a->shape, a->chunk,
                             s->spill_level, &a->dset);
  }
  pthread_mutex_unlock(&s->spill_lock);
  return st;
}

/* Writes resident chunk c (state EVICTING, so its bytes stay) to its area;
 * runs without the store lock. */
static floe_status spill_write(floe__store *s, floe__chunk *c, floe__io_counters *io) {
  FLOE_FORWARD_IF_ERROR(area_dataset(s, c->area));
  int64_t coord[FLOE_MAX_DIMS];
  area_coord(c->area, c->index, coord);
  floe__io_counters local;
  memset(&local, 0, sizeof local);
  floe__bufs bufs = {plain_get, plain_put, NULL};
  floe_status st = floe__h5out_write(c->area->dset, coord, c->data, &bufs, &local);
  atomic_fetch_add_explicit(&io->bytes_spilled, atomic_load(&local.bytes_written),
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&io->io_ns, atomic_load(&local.io_ns), memory_order_relaxed);
  return st;
}

static floe_status spill_read(floe__store *s, floe__chunk *c, void *dst, floe__io_counters *io) {
  (void)s;
  int64_t coord[FLOE_MAX_DIMS];
  area_coord(c->area, c->index, coord);
  floe__io_counters local;
  memset(&local, 0, sizeof local);
  floe__bufs bufs = {plain_get, plain_put, NULL};
  floe_status st = floe__h5out_read(c->area->dset, coord, dst, &bufs, &local);
  atomic_fetch_add_explicit(&io->bytes_reloaded, atomic_load(&local.bytes_read),
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&io->io_ns, atomic_load(&local.io_ns), memory_order_relaxed);
  return st;
}

/* ------------------------------------------------------------ the budget */

/* Makes room for `bytes` more and counts them; under the lock, which it
 * drops while a chunk is spilled or while it waits. */
static floe_status make_room(floe__store *s, size_t bytes, const char *what,
                             floe__io_counters *io) {
  if (bytes > s->limit) {
    return floe__fail(FLOE_ERR_NOMEM,
                      "%s needs %zu bytes, more than the memory limit of %llu bytes (raise "
                      "memory_limit, or use smaller chunks)",
                      what, bytes, (unsigned long long)s->limit);
  }
  int64_t waited_from = 0;
  while (s->used + bytes > s->limit) {
    if (s->npool > 0) {
      s->npool--;
      big_free(s->pool[s->npool].p, s->pool[s->npool].bytes);
      s->used -= s->pool[s->npool].bytes;
      continue;
    }
    floe__chunk *c = s->lru.next;
    if (c != &s->lru) {
      lru_remove(s, c);
      if (c->reload != NULL || c->spilled) {
        free_bytes(s, c);
        continue;
      }
      c->state = FLOE__CHUNK_EVICTING;
      s->evicting++;
      pthread_mutex_unlock(&s->lock);
      floe_status st = spill_write(s, c, io);
      pthread_mutex_lock(&s->lock);
      s->evicting--;
      c->spilled = st == FLOE_OK;
      c->state = FLOE__CHUNK_RESIDENT;
      if (c->pins == 0) {
        if (st == FLOE_OK || (!c->keep && c->pending == 0)) {
          free_bytes(s, c);
        } else {
          lru_append(s, c);
        }
      }
      pthread_cond_broadcast(&s->cv);
      if (st != FLOE_OK) {
        return st;
      }
      continue;
    }
    if (s->active - s->waiting > 1 || s->evicting > 0) {
      /* someone else is running: they give memory back, or make chunks idle */
      if (waited_from == 0) {
        waited_from = floe__now_ns();
      }
      s->waiting++;
      pthread_cond_wait(&s->cv, &s->lock);
      s->waiting--;
      continue;
    }
    return floe__fail(FLOE_ERR_NOMEM,
                      "%s needs %zu bytes, but the memory limit of %llu bytes is held by chunks "
                      "in use (%llu bytes) and nothing running can give any back (raise "
                      "memory_limit, or use smaller chunks)",
                      what, bytes, (unsigned long long)s->limit, (unsigned long long)s->used);
  }
  if (waited_from != 0) {
    atomic_fetch_add_explicit(&io->wait_ns, (uint64_t)(floe__now_ns() - waited_from),
                              memory_order_relaxed);
  }
  s->used += bytes;
  if (s->used > s->peak) {
    s->peak = s->used;
  }
  return FLOE_OK;
}

void *floe__store_alloc(floe__store *s, size_t bytes, const char *what, floe__io_counters *io) {
  pthread_mutex_lock(&s->lock);
  void *p = take_pooled(s, bytes);
  if (p != NULL) {
    pthread_mutex_unlock(&s->lock);
    return p;
  }
  floe_status st = make_room(s, bytes, what, io);
  pthread_mutex_unlock(&s->lock);
  if (st != FLOE_OK) {
    return NULL;
  }
  p = big_alloc(bytes > 0 ? bytes : 1);
  if (p == NULL) {
    pthread_mutex_lock(&s->lock);
    s->used -= bytes;
    wake(s);
    pthread_mutex_unlock(&s->lock);
    floe__fail(FLOE_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
  }
  return p;
}

void floe__store_release(floe__store *s, void *p, size_t bytes) {
  if (p == NULL) {
    return;
  }
  pthread_mutex_lock(&s->lock);
  give_back(s, p, bytes);
  pthread_mutex_unlock(&s->lock);
}

floe_status floe__store_charge(floe__store *s, size_t bytes, const char *what,
                               floe__io_counters *io) {
  pthread_mutex_lock(&s->lock);
  floe_status st = make_room(s, bytes, what, io);
  pthread_mutex_unlock(&s->lock);
  return st;
}

void floe__store_uncharge(floe__store *s, size_t bytes) {
  pthread_mutex_lock(&s->lock);
  s->used -= bytes;
  wake(s);
  pthread_mutex_unlock(&s->lock);
}

void floe__store_enter(floe__store *s) {
  pthread_mutex_lock(&s->lock);
  s->active++;
  pthread_mutex_unlock(&s->lock);
}

void floe__store_leave(floe__store *s) {
  pthread_mutex_lock(&s->lock);
  s->active--;
  wake(s);
  pthread_mutex_unlock(&s->lock);
}

void floe__store_run_begin(floe__store *s) {
  pthread_mutex_lock(&s->lock);
  if (s->runs++ == 0) {
    s->peak = s->used;
  }
  pthread_mutex_unlock(&s->lock);
}

uint64_t floe__store_run_end(floe__store *s) {
  pthread_mutex_lock(&s->lock);
  uint64_t peak = s->peak;
  if (--s->runs == 0) {
    while (s->npool > 0) {
      s->npool--;
      big_free(s->pool[s->npool].p, s->pool[s->npool].bytes);
      s->used -= s->pool[s->npool].bytes;
    }
    wake(s);
  }
  pthread_mutex_unlock(&s->lock);
  return peak;
}

/* -------------------------------------------------------------- chunks */

void floe__store_put(floe__store *s, floe__chunk *c, void *data, void *map, size_t maplen) {
  pthread_mutex_lock(&s->lock);
  c->data = data;
  c->map = map;
  c->maplen = maplen;
  c->state = FLOE__CHUNK_RESIDENT;
  if (!c->keep && c->pending <= 0) {
    free_bytes(s, c);
  } else if (c->pins == 0) {
    lru_append(s, c);
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->lock);
}

floe_status floe__store_pin(floe__store *s, floe__chunk *c, const void **data,
                            floe__io_counters *io) {
  pthread_mutex_lock(&s->lock);
  for (;;) {
    if (c->state == FLOE__CHUNK_RESIDENT || c->state == FLOE__CHUNK_EVICTING) {
      if (c->pins++ == 0) {
        lru_remove(s, c);
      }
      *data = c->data;
      pthread_mutex_unlock(&s->lock);
      return FLOE_OK;
    }
    if (c->state == FLOE__CHUNK_LOADING) {
      s->waiting++;
      pthread_cond_wait(&s->cv, &s->lock);
      s->waiting--;
      continue;
    }
    break;
  }
  /* empty: read it again, or back from the spill file */
  if (c->reload == NULL && !c->spilled) {
    pthread_mutex_unlock(&s->lock);
    return floe__fail(FLOE_ERR_INTERNAL, "a chunk was needed after it was freed");
  }
  c->state = FLOE__CHUNK_LOADING; /* ours until loaded: others wait */
  pthread_mutex_unlock(&s->lock);
  void *buf = floe__store_alloc(s, c->bytes,
                                c->reload != NULL ? "reading a chunk again" : "reloading a chunk", io);
  floe_status st = buf == NULL ? floe__error_slot()->status : FLOE_OK;
  if (st == FLOE_OK) {
    if (c->reload != NULL) {
      floe__io_counters local;
      memset(&local, 0, sizeof local);
      st = c->reload->read(c->reload, c->index, buf, &local);
      uint64_t n = atomic_load(&local.bytes_read);
      atomic_fetch_add_explicit(&io->bytes_read, n, memory_order_relaxed);
      atomic_fetch_add_explicit(&io->bytes_reread, n, memory_order_relaxed);
      atomic_fetch_add_explicit(&io->io_ns, atomic_load(&local.io_ns), memory_order_relaxed);
    } else {
      st = spill_read(s, c, buf, io);
    }
  }
  pthread_mutex_lock(&s->lock);
  if (st != FLOE_OK) {
    if (buf != NULL) {
      give_back(s, buf, c->bytes);
    }
    c->state = FLOE__CHUNK_EMPTY;
  } else {
    c->data = buf;
    c->map = NULL;
    c->state = FLOE__CHUNK_RESIDENT;
    c->pins++;
    *data = buf;
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->lock);
  return st;
}

void floe__store_unpin(floe__store *s, floe__chunk *c) {
  pthread_mutex_lock(&s->lock);
  if (--c->pins == 0 && c->state == FLOE__CHUNK_RESIDENT) {
    if (!c->keep && c->pending <= 0) {
      free_bytes(s, c);
    } else {
      lru_append(s, c);
      wake(s);
    }
  }
  pthread_mutex_unlock(&s->lock);
}

void floe__store_done(floe__store *s, floe__chunk *c) {
  pthread_mutex_lock(&s->lock);
  bool idle = c->pins == 0 && c->state == FLOE__CHUNK_RESIDENT;
  if (--c->pending <= 0 && !c->keep && idle) {
    lru_remove(s, c);
    free_bytes(s, c);
  } else if (c->pending > 0 && c->reload != NULL && idle && !c->cached) {
    /* used, and needed again later: kept while the share of the budget for
       such chunks lasts (the first ones: a second pass over an input then
       finds its start in memory), else read again when the time comes */
    if (s->cached + c->bytes > s->cache_cap) {
      lru_remove(s, c);
      free_bytes(s, c);
    } else {
      c->cached = true;
      s->cached += c->bytes;
    }
  }
  pthread_mutex_unlock(&s->lock);
}

void floe__store_drop(floe__store *s, floe__chunk *c) {
  pthread_mutex_lock(&s->lock);
  while (c->state == FLOE__CHUNK_LOADING || c->state == FLOE__CHUNK_EVICTING) {
    pthread_cond_wait(&s->cv, &s->lock);
  }
  if (c->state == FLOE__CHUNK_RESIDENT) {
    lru_remove(s, c);
    free_bytes(s, c);
  }
  c->pins = 0;
  pthread_mutex_unlock(&s->lock);
}

/* ----------------------------------------------------------- spill areas */

floe_status floe__spill_area_new(floe__store *s, floe_dtype dtype, int ndim, const int64_t *shape,
                                 const int64_t *chunk, floe__spill_area **out) {
  floe__spill_area *a = calloc(1, sizeof *a);
  FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory");
  a->dtype = dtype;
  a->ndim = ndim;
  memcpy(a->shape, shape, sizeof(int64_t) * (size_t)ndim);
  memcpy(a->chunk, chunk, sizeof(int64_t) * (size_t)ndim);
  pthread_mutex_lock(&s->spill_lock);
  a->id = s->nareas++;
  pthread_mutex_unlock(&s->spill_lock);
  *out = a;
  return FLOE_OK;
}

/* The dataset stays in the spill file (which goes at floe_close). */
void floe__spill_area_free(floe__store *s, floe__spill_area *a) {
  (void)s;
  free(a);
}

/* ------------------------------------------------------------ lifecycle */

/* Removes the spill files of processes that are gone. */
static void remove_stale(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid;
    unsigned n;
    char tail[4];
    if (sscanf(e->d_name, "floe-spill-%ld-%u.%3s", &pid, &n, tail) != 3 ||
        strcmp(tail, "h5") != 0 || pid <= 0 || pid == (long)getpid()) {
      continue;
    }
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
      size_t cap = strlen(dir) + strlen(e->d_name) + 2;
      char *path = malloc(cap);
      if (path != NULL) {
        snprintf(path, cap, "%s/%s", dir, e->d_name);
        unlink(path);
        free(path);
      }
    }
  }
  closedir(d);
}

floe_status floe__store_new(const floe__config *cfg, floe__store **out) {
  *out = NULL;
  floe__store *s = calloc(1, sizeof *s);
  FLOE_RETURN_ERROR_IF(s == NULL, FLOE_ERR_NOMEM, "floe_open: out of memory for the store");
  s->spill_dir = strdup(cfg->spill_dir);
  if (s->spill_dir == NULL) {
    free(s);
    return floe__fail(FLOE_ERR_NOMEM, "floe_open: out of memory for the store");
  }
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->cv, NULL);
  pthread_mutex_init(&s->spill_lock, NULL);
  s->limit = cfg->memory_limit;
  s->cache_cap = s->limit / 4;
  s->spill_level = cfg->spill_level > 0 ? cfg->spill_level : 1;
  s->lru.next = s->lru.prev = &s->lru;
  remove_stale(s->spill_dir);
  *out = s;
  return FLOE_OK;
}

void floe__store_free(floe__store *s) {
  if (s == NULL) {
    return;
  }
  for (int i = 0; i < s->npool; i++) {
    big_free(s->pool[i].p, s->pool[i].bytes);
  }
  if (s->spill != NULL) {
    floe__h5out_abort(s->spill); /* closes and removes the file */
  }
  free(s->spill_dir);
  pthread_mutex_destroy(&s->spill_lock);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

uint64_t floe__store_limit(const floe__store *s) { return s->limit; }
