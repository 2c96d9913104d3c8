/* Lowering passes and chunk tasks (see lower-internal.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lower-state.h"
#include "store/codec-internal.h"

/* ------------------------------------------------------------------ arena */

void *floe__lower_alloc(floe__lower *L, size_t n) {
  n = (n + 63) & ~(size_t)63;
  floe__arena_block *b = L->arena;
  if (b == NULL || b->cap - b->used < n) {
    size_t cap = n + 64 > (1 << 20) ? n + 64 : (1 << 20); /* room for the alignment too */
    floe__arena_block *nb = aligned_alloc(64, (sizeof *nb + cap + 63) & ~(size_t)63);
    if (nb == NULL) {
      return NULL;
    }
    nb->next = b;
    nb->used = (64 - ((uintptr_t)nb->data & 63)) & 63;
    nb->cap = cap;
    L->arena = nb;
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

floe_status floe__lower_new(floe_ctx *ctx, floe__lower **out) {
  floe__lower *L = calloc(1, sizeof *L);
  FLOE_RETURN_ERROR_IF(L == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  L->ctx = ctx;
  L->op = "floe_job_run";
  L->store = ctx->store;
  *out = L;
  return FLOE_OK;
}

void floe__lower_name(floe__lower *L, const char *op) { L->op = op; }

void floe__lower_free(floe__lower *L) {
  if (L == NULL) {
    return;
  }
  for (int i = 0; i < L->nln; i++) {
    if (L->ln[i].owned) {
      free(L->ln[i].data);
    }
    chunked *ch = L->ln[i].ch;
    if (ch != NULL && (ch->file || ch->produced)) {
      for (int64_t b = 0; b < L->ln[i].nblocks; b++) {
        floe__store_drop(L->store, &ch->c[b]);
      }
    }
    if (ch != NULL && ch->area != NULL) {
      floe__spill_area_free(L->store, ch->area);
    }
    floe__node_unref(L->ln[i].n);
  }
  for (int t = 0; t < L->nftargets; t++) {
    free(L->ftargets[t].path);
    free(L->ftargets[t].dataset);
  }
  free(L->ftargets);
  free(L->ln);
  free(L->byptr);
  free(L->byhash);
  free(L->targets);
  free(L->progs);
  for (int64_t i = 0; i < L->nslots; i++) {
    free(*L->slots[i]);
  }
  free(L->slots);
  floe_taskgraph_free(L->g);
  for (floe__arena_block *b = L->arena; b != NULL;) {
    floe__arena_block *next = b->next;
    free(b);
    b = next;
  }
  free(L);
}

/* ------------------------------------------------- pass 1: cull and merge */

static floe_status grow_tables(floe__lower *L) {
  size_t cap = L->tabcap ? L->tabcap * 2 : 256;
  void *byptr = calloc(cap, sizeof *L->byptr);
  int *byhash = malloc(cap * sizeof *byhash);
  if (byptr == NULL || byhash == NULL) {
    free(byptr);
    free(byhash);
    return floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
  }
  free(L->byptr);
  free(L->byhash);
  L->byptr = byptr;
  L->byhash = byhash;
  L->tabcap = cap;
  for (size_t i = 0; i < cap; i++) {
    byhash[i] = -1;
  }
  /* re-insert: every lnode by hash, and its representative by pointer */
  for (int i = 0; i < L->nln; i++) {
    size_t h = (size_t)L->ln[i].n->hash & (cap - 1);
    while (L->byhash[h] >= 0) {
      h = (h + 1) & (cap - 1);
    }
    L->byhash[h] = i;
    size_t p = ((uintptr_t)L->ln[i].n >> 4) & (cap - 1);
    while (L->byptr[p].key != NULL) {
      p = (p + 1) & (cap - 1);
    }
    L->byptr[p].key = L->ln[i].n;
    L->byptr[p].val = i;
  }
  return FLOE_OK;
}

static int find_ptr(const floe__lower *L, const floe__node *n) {
  if (L->tabcap == 0) {
    return -1;
  }
  size_t p = ((uintptr_t)n >> 4) & (L->tabcap - 1);
  while (L->byptr[p].key != NULL) {
    if (L->byptr[p].key == n) {
      return L->byptr[p].val;
    }
    p = (p + 1) & (L->tabcap - 1);
  }
  return -1;
}

static void put_ptr(floe__lower *L, const floe__node *n, int v) {
  size_t p = ((uintptr_t)n >> 4) & (L->tabcap - 1);
  while (L->byptr[p].key != NULL && L->byptr[p].key != n) {
    p = (p + 1) & (L->tabcap - 1);
  }
  L->byptr[p].key = n;
  L->byptr[p].val = v;
}

/* Same parameters and the same canonical inputs. */
static bool same_canonical(const floe__lower *L, const floe__node *n, const int *in, int cand) {
  const lnode *c = &L->ln[cand];
  floe__node tmp = *n;
  for (int i = 0; i < n->nin; i++) {
    if (c->in[i] != in[i]) {
      return false;
    }
    tmp.in[i] = c->n->in[i];
  }
  return floe__node_same(&tmp, c->n);
}

static floe_status reread_block(const floe__reload *r, int64_t index, void *dst,
                                floe__io_counters *io);

/* Chunk buffers for lnode x (li): its blocks in the store. */
static floe_status make_chunked(floe__lower *L, int li) {
  lnode *x = &L->ln[li];
  const floe__node *n = x->n;
  int64_t blocks = 1, elems = 1;
  chunked *ch = floe__lower_alloc(L, sizeof *ch);
  FLOE_RETURN_ERROR_IF(ch == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  memset(ch, 0, sizeof *ch);
  for (int d = n->ndim - 1; d >= 0; d--) {
    ch->cstride[d] = elems;
    elems *= n->chunk[d];
    blocks *= (n->shape[d] + n->chunk[d] - 1) / n->chunk[d];
  }
  ch->block_bytes = (size_t)elems * floe_dtype_size(n->dtype);
  ch->L = L;
  ch->ln = li;
  ch->reload.read = reread_block;
  size_t nb = (size_t)(blocks > 0 ? blocks : 1);
  ch->readers = floe__lower_alloc(L, nb * sizeof *ch->readers);
  x->done = floe__lower_alloc(L, nb * sizeof *x->done);
  FLOE_RETURN_ERROR_IF(ch->readers == NULL || x->done == NULL, FLOE_ERR_NOMEM,
                       "out of memory planning a compute");
  memset(ch->readers, 0, nb * sizeof *ch->readers);
  memset(x->done, 0, nb * sizeof *x->done);
  if (n->kind == FLOE__NODE_FILE) {
    ch->file = true;
    floe__lower_note_task(L, ch->block_bytes, "reading a file chunk");
    ch->c = floe__lower_alloc(L, nb * sizeof *ch->c);
    FLOE_RETURN_ERROR_IF(ch->c == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(ch->c, 0, nb * sizeof *ch->c);
    for (size_t b = 0; b < nb; b++) {
      ch->c[b].bytes = ch->block_bytes;
      ch->c[b].index = (int64_t)b;
      ch->c[b].reload = &ch->reload;
    }
  } else {
    ch->c = n->p.stored.blocks; /* always there: nothing to wait for */
    x->done = NULL;
  }
  x->nblocks = blocks;
  x->ch = ch;
  return FLOE_OK;
}

/* The canonical lnode of n, its inputs first (iteratively: graphs may be
 * deep chains). */
static floe_status canonical(floe__lower *L, floe__node *root, int *out) {
  typedef struct frame {
    floe__node *n;
    int next;
  } frame;
  int cap = 64, top = 0;
  frame *stack = malloc((size_t)cap * sizeof *stack);
  FLOE_RETURN_ERROR_IF(stack == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  stack[top++] = (frame){root, 0};
  floe_status st = FLOE_OK;
  while (top > 0 && st == FLOE_OK) {
    frame *f = &stack[top - 1];
    if (find_ptr(L, f->n) >= 0) {
      top--;
      continue;
    }
    if (f->next < f->n->nin) {
      floe__node *child = f->n->in[f->next++];
      if (find_ptr(L, child) < 0) {
        if (top == cap) {
          cap *= 2;
          frame *s = realloc(stack, (size_t)cap * sizeof *s);
          if (s == NULL) {
            st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
            break;
          }
          stack = s;
        }
        stack[top++] = (frame){child, 0};
      }
      continue;
    }
    floe__node *n = f->n;
    top--;
    int in[3] = {-1, -1, -1};
    for (int i = 0; i < n->nin; i++) {
      in[i] = find_ptr(L, n->in[i]);
    }
    if ((size_t)(L->nln + 1) * 2 > L->tabcap && (st = grow_tables(L)) != FLOE_OK) {
      break;
    }
    size_t h = (size_t)n->hash & (L->tabcap - 1);
    int found = -1;
    while (L->byhash[h] >= 0) {
      if (same_canonical(L, n, in, L->byhash[h])) {
        found = L->byhash[h];
        break;
      }
      h = (h + 1) & (L->tabcap - 1);
    }
    if (found < 0) {
      if (L->nln == L->capln) {
        int c = L->capln ? L->capln * 2 : 64;
        lnode *ln = realloc(L->ln, (size_t)c * sizeof *ln);
        if (ln == NULL) {
          st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
          break;
        }
        L->ln = ln;
        L->capln = c;
      }
      found = L->nln++;
      lnode *x = &L->ln[found];
      memset(x, 0, sizeof *x);
      x->n = n;
      floe__node_ref(n);
      memcpy(x->in, in, sizeof in);
      if (n->kind == FLOE__NODE_BUFFER) {
        x->data = (void *)n->p.buffer.data;
      } else if ((n->kind == FLOE__NODE_FILE || n->kind == FLOE__NODE_STORED) &&
                 (st = make_chunked(L, found)) != FLOE_OK) {
        break;
      }
      L->byhash[h] = found;
    }
    put_ptr(L, n, found);
  }
  if (st == FLOE_OK) {
    *out = find_ptr(L, root);
  }
  free(stack);
  return st;
}

floe_status floe__lower_add_target(floe__lower *L, floe__node *node, void *dst) {
  int ln;
  FLOE_FORWARD_IF_ERROR(canonical(L, node, &ln));
  if (L->ntargets == L->captargets) {
    int c = L->captargets ? L->captargets * 2 : 4;
    struct target *t = realloc(L->targets, (size_t)c * sizeof *t);
    FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    L->targets = t;
    L->captargets = c;
  }
  L->targets[L->ntargets++] = (struct target){ln, dst, NULL};
  return FLOE_OK;
}

floe_status floe__lower_add_chunks_target(floe__lower *L, floe__node *node, floe__chunk *chunks) {
  FLOE_FORWARD_IF_ERROR(floe__lower_add_target(L, node, NULL));
  L->targets[L->ntargets - 1].chunks = chunks;
  return FLOE_OK;
}

floe_status floe__lower_add_file_target(floe__lower *L, floe__node *node, const char *path,
                                        const char *dataset, int level, int overwrite) {
  int ln;
  FLOE_FORWARD_IF_ERROR(canonical(L, node, &ln));
  if (L->nftargets == L->capftargets) {
    int c = L->capftargets ? L->capftargets * 2 : 4;
    ftarget *t = realloc(L->ftargets, (size_t)c * sizeof *t);
    FLOE_RETURN_ERROR_IF(t == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    L->ftargets = t;
    L->capftargets = c;
  }
  ftarget *t = &L->ftargets[L->nftargets];
  memset(t, 0, sizeof *t);
  t->ln = ln;
  t->level = level;
  t->overwrite = overwrite;
  t->path = strdup(path);
  t->dataset = strdup(dataset);
  if (t->path == NULL || t->dataset == NULL) {
    free(t->path);
    free(t->dataset);
    return floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
  }
  L->nftargets++;
  return FLOE_OK;
}

/* ------------------------------------------------------------------ tasks */

typedef struct ewise_arg {
  floe__lower *L;
  const prog *p;
  floe__vm_sink sink;
  int64_t lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
} ewise_arg;

typedef struct read_arg {
  floe__lower *L;
  int ln, stream;
  int64_t flat;
  int64_t lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
} read_arg;

typedef struct fstore_arg {
  ewise_arg e;
  ftarget *ft;
  int64_t coord[FLOE_MAX_DIMS];
} fstore_arg;

/* ------------------------------------------------------------ chunk buffers */

/* Work buffers for the HDF5 paths, from the budget. */
void *floe__lower_buf_get(void *L, size_t bytes) {
  floe__lower *l = L;
  return floe__store_alloc(l->store, bytes, "a file chunk's work buffer", &l->io);
}

void floe__lower_buf_put(void *L, void *p, size_t bytes) {
  floe__store_release(((floe__lower *)L)->store, p, bytes);
}

static _Thread_local int reread_stream = -1;
static _Atomic int reread_streams;

/* Reads block `index` of a file lnode again (the store dropped it), on
 * this thread's own read stream. */
static floe_status reread_block(const floe__reload *r, int64_t index, void *dst,
                                floe__io_counters *io) {
  const chunked *ch = (const chunked *)r;
  floe__lower *L = ch->L;
  const floe__node *n = L->ln[ch->ln].n;
  int64_t c[FLOE_MAX_DIMS], lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS], rest = index;
  for (int d = n->ndim - 1; d >= 0; d--) {
    int64_t nd = (n->shape[d] + n->chunk[d] - 1) / n->chunk[d];
    c[d] = rest % nd;
    rest /= nd;
    lo[d] = c[d] * n->chunk[d];
    hi[d] = lo[d] + n->chunk[d] < n->shape[d] ? lo[d] + n->chunk[d] : n->shape[d];
  }
  if (reread_stream < 0) {
    reread_stream = atomic_fetch_add(&reread_streams, 1) % FLOE__H5_STREAMS;
  }
  floe__bufs bufs = {floe__lower_buf_get, floe__lower_buf_put, L};
  return floe__h5src_read(n->p.file.src, reread_stream, lo, hi, n->chunk, dst, &bufs, io);
}

/* The blocks of leaf l's node that region [lo, hi) of program p reads:
 * [blo, bhi) per node axis.  False when the region is empty. */
static bool leaf_blocks(const floe__lower *L, const prog *p, int l, const int64_t *lo,
                        const int64_t *hi, int64_t *blo, int64_t *bhi) {
  const floe__node *mn = L->ln[p->leaf_lnode[l]].n;
  const int nd = p->vm.ndim;
  for (int k = 0; k < mn->ndim; k++) {
    int d = k + (nd - mn->ndim);
    if (hi[d] <= lo[d]) {
      return false;
    }
    bool bcast = mn->shape[k] == 1 && p->vm.shape[d] != 1;
    blo[k] = bcast ? 0 : lo[d] / mn->chunk[k];
    bhi[k] = bcast ? 1 : (hi[d] - 1) / mn->chunk[k] + 1;
  }
  return true;
}

static int64_t flat_block(const floe__node *n, const int64_t *c) {
  int64_t flat = 0;
  for (int k = 0; k < n->ndim; k++) {
    flat = flat * ((n->shape[k] + n->chunk[k] - 1) / n->chunk[k]) + c[k];
  }
  return flat;
}

/* Where the next sub-region along axis d starts after x: the next chunk
 * boundary of any chunked leaf, or hi. */
static int64_t next_cut(const floe__lower *L, const prog *p, int d, int64_t x, int64_t hi) {
  const int nd = p->vm.ndim;
  int64_t cut = hi;
  for (int i = 0; i < p->nchunked; i++) {
    const floe__node *mn = L->ln[p->leaf_lnode[p->chunked_leaf[i]]].n;
    int k = d - (nd - mn->ndim);
    if (k < 0 || (mn->shape[k] == 1 && p->vm.shape[d] != 1)) {
      continue;
    }
    int64_t c = (x / mn->chunk[k] + 1) * mn->chunk[k];
    cut = c < cut ? c : cut;
  }
  return cut;
}

/* Runs program p over [lo, hi) into `sink`.  Chunked inputs split the
 * region where their blocks change, each piece pinning its blocks in the
 * store (reading them again if they were dropped) while it runs;
 * afterwards the task's uses of those blocks are over, and a block no task
 * still needs is freed. */
floe_status floe__lower_run_region(floe__lower *L, const prog *p, const int64_t *lo, const int64_t *hi,
                              const floe__vm_sink *sinks, int nsinks, void *scratch) {
  if (p->nchunked == 0) {
    floe__vm_run(&p->vm, lo, hi, sinks, nsinks, NULL, scratch);
    return FLOE_OK;
  }
  const int nd = p->vm.ndim;
  floe__vm_bind bind;
  memset(bind.base, 0, sizeof bind.base);
  int64_t slo[FLOE_MAX_DIMS], shi[FLOE_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    slo[d] = lo[d];
    shi[d] = next_cut(L, p, d, lo[d], hi[d]);
  }
  floe_status st = FLOE_OK;
  for (;;) {
    floe__chunk *pinned[FLOE__VM_MAX_LEAVES];
    int npinned = 0;
    for (int i = 0; i < p->nchunked && st == FLOE_OK; i++) {
      int l = p->chunked_leaf[i];
      const lnode *m = &L->ln[p->leaf_lnode[l]];
      const floe__node *mn = m->n;
      int64_t c[FLOE_MAX_DIMS], bias = 0;
      for (int k = 0; k < mn->ndim; k++) {
        int d = k + (nd - mn->ndim);
        bool bcast = mn->shape[k] == 1 && p->vm.shape[d] != 1;
        c[k] = bcast ? 0 : slo[d] / mn->chunk[k];
        bias += c[k] * mn->chunk[k] * p->vm.leaves[l].stride[d];
      }
      floe__chunk *blk = &m->ch->c[flat_block(mn, c)];
      const void *data;
      st = floe__store_pin(L->store, blk, &data, &L->io);
      if (st == FLOE_OK) {
        pinned[npinned++] = blk;
        bind.base[l] = data;
        bind.bias[l] = bias;
      }
    }
    if (st == FLOE_OK) {
      floe__vm_run(&p->vm, slo, shi, sinks, nsinks, &bind, scratch);
    }
    for (int i = 0; i < npinned; i++) {
      floe__store_unpin(L->store, pinned[i]);
    }
    if (st != FLOE_OK) {
      return st;
    }
    int d = nd - 1;
    for (; d >= 0; d--) {
      slo[d] = shi[d];
      if (slo[d] < hi[d]) {
        shi[d] = next_cut(L, p, d, slo[d], hi[d]);
        break;
      }
      slo[d] = lo[d];
      shi[d] = next_cut(L, p, d, lo[d], hi[d]);
    }
    if (d < 0) {
      break;
    }
  }
  floe__lower_release_region(L, p, lo, hi);
  return FLOE_OK;
}

void floe__lower_release_region(floe__lower *L, const prog *p, const int64_t *lo,
                                const int64_t *hi) {
  /* the uses are over, block by block as floe__lower_depend counted them */
  for (int i = 0; i < p->nchunked; i++) {
    int l = p->chunked_leaf[i];
    const lnode *m = &L->ln[p->leaf_lnode[l]];
    int64_t blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS], c[FLOE_MAX_DIMS];
    if (!(m->ch->file || m->ch->produced) || !leaf_blocks(L, p, l, lo, hi, blo, bhi)) {
      continue;
    }
    memcpy(c, blo, sizeof c);
    do {
      floe__store_done(L->store, &m->ch->c[flat_block(m->n, c)]);
    } while (next_in_box(m->n->ndim, blo, bhi, c));
  }
}

unsigned char *floe__lower_chunk_begin(floe__lower *L, const floe__chunk *c, const char *what) {
  floe__store_enter(L->store);
  return floe__store_alloc(L->store, c->bytes, what, &L->io);
}

floe_status floe__lower_chunk_end(floe__lower *L, floe__chunk *c, unsigned char *buf,
                                  floe_status st) {
  if (st == FLOE_OK) {
    floe__store_put(L->store, c, buf, NULL, 0);
  } else if (buf != NULL) {
    floe__store_release(L->store, buf, c->bytes);
  }
  floe__store_leave(L->store);
  return st;
}

/* Chunk c made by program p over [lo, hi), sink `tmpl` writing into its
 * buffer (zeroed first when the region is an edge chunk's). */
static floe_status program_chunk(floe__lower *L, const prog *p, const floe__vm_sink *tmpl,
                                 const int64_t *lo, const int64_t *hi, bool edge, floe__chunk *c,
                                 const char *what) {
  unsigned char *buf = floe__lower_chunk_begin(L, c, what);
  void *scratch = buf != NULL ? malloc(p->scratch) : NULL;
  floe_status st = FLOE_OK;
  if (buf == NULL) {
    st = floe__error_slot()->status;
  } else if (scratch == NULL) {
    st = floe__fail(FLOE_ERR_NOMEM, "out of memory for a chunk's registers");
  } else {
    if (edge) {
      memset(buf, 0, c->bytes); /* padding: zeros compress, and spills are reproducible */
    }
    floe__vm_sink sink = *tmpl;
    sink.dst = buf;
    st = floe__lower_run_region(L, p, lo, hi, &sink, 1, scratch);
  }
  free(scratch);
  return floe__lower_chunk_end(L, c, buf, st);
}

/* Reads block `flat` of a file the first time: mapped from the page cache
 * where it can be, else into a buffer from the budget. */
static floe_status read_task(void *arg) {
  read_arg *a = arg;
  floe__lower *L = a->L;
  lnode *x = &L->ln[a->ln];
  if (x->ch->readers[a->flat] == 0) {
    return FLOE_OK;
  }
  floe__chunk *c = &x->ch->c[a->flat];
  const size_t bytes = x->ch->block_bytes;
  floe__store_enter(L->store);
  const void *view;
  void *map = NULL;
  size_t maplen = 0;
  floe_status st = floe__h5src_map(x->n->p.file.src, a->lo, a->hi, x->n->chunk, &view, &map,
                                   &maplen, &L->io);
  if (st == FLOE_OK && view != NULL) {
    /* mapped pages count in the process's memory too */
    st = floe__store_charge(L->store, bytes, "reading a file chunk", &L->io);
    if (st == FLOE_OK) {
      floe__store_put(L->store, c, (void *)view, map, maplen);
    } else {
      munmap(map, maplen);
    }
  } else if (st == FLOE_OK) {
    void *buf = floe__store_alloc(L->store, bytes, "reading a file chunk", &L->io);
    if (buf == NULL) {
      st = floe__error_slot()->status;
    } else {
      floe__bufs bufs = {floe__lower_buf_get, floe__lower_buf_put, L};
      st = floe__h5src_read(x->n->p.file.src, a->stream, a->lo, a->hi, x->n->chunk, buf, &bufs,
                            &L->io);
      if (st == FLOE_OK) {
        floe__store_put(L->store, c, buf, NULL, 0);
      } else {
        floe__store_release(L->store, buf, bytes);
      }
    }
  }
  floe__store_leave(L->store);
  return st;
}

/* Computes one chunk of a file output into a padded buffer and writes it. */
static floe_status fstore_task(void *arg) {
  fstore_arg *a = arg;
  floe__lower *L = a->e.L;
  size_t bytes = floe__h5out_chunk_bytes(a->ft->dset);
  floe__store_enter(L->store);
  unsigned char *buf = floe__store_alloc(L->store, bytes, "a chunk of an output", &L->io);
  void *scratch = buf != NULL ? malloc(a->e.p->scratch) : NULL;
  if (buf == NULL || scratch == NULL) {
    floe_status st = buf == NULL ? floe__error_slot()->status : FLOE_ERR_NOMEM;
    if (buf == NULL) {
      st = floe__fail(st, "%s (dataset '%s')", floe__error_slot()->msg, a->ft->dataset);
    } else {
      floe__store_release(L->store, buf, bytes);
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory for a chunk of '%s'", a->ft->dataset);
    }
    floe__store_leave(L->store);
    return st;
  }
  const floe__node *n = L->ln[a->ft->ln].n;
  bool edge = false;
  for (int d = 0; d < n->ndim; d++) {
    edge = edge || a->e.hi[d] - a->e.lo[d] < n->chunk[d];
  }
  if (edge) {
    memset(buf, 0, bytes); /* padding: zeros compress, and files are reproducible */
  }
  floe__vm_sink sink = a->e.sink;
  sink.dst = buf;
  floe_status st = floe__lower_run_region(L, a->e.p, a->e.lo, a->e.hi, &sink, 1, scratch);
  free(scratch);
  if (st == FLOE_OK) {
    floe__bufs bufs = {floe__lower_buf_get, floe__lower_buf_put, L};
    st = floe__h5out_write(a->ft->dset, a->coord, buf, &bufs, &L->io);
  }
  floe__store_release(L->store, buf, bytes);
  floe__store_leave(L->store);
  return st;
}

typedef struct red_info {
  const floe__reducer *red;
  size_t acc_size;
  int ddof;
  const floe__node *out; /* the reduction node */
  void *out_data;
  size_t out_isz;
  double mean_count; /* > 0: a float mean kept as plain sums, divided by this at the end */
} red_info;

typedef struct partial_arg {
  ewise_arg e; /* program, region, sink template */
  const red_info *ri;
  int64_t block_elems;
  void **slot; /* where the accumulators go */
  bool finalize;
  int64_t out_lo[FLOE_MAX_DIMS], out_hi[FLOE_MAX_DIMS]; /* block in the output */
} partial_arg;

typedef struct combine_arg {
  const red_info *ri;
  int64_t block_elems;
  void ***children; /* slots, in order */
  int nchildren;
  void **slot;
  bool finalize;
  int64_t out_lo[FLOE_MAX_DIMS], out_hi[FLOE_MAX_DIMS];
} combine_arg;

static floe_status ewise_task(void *arg) {
  ewise_arg *a = arg;
  void *scratch = malloc(a->p->scratch);
  FLOE_RETURN_ERROR_IF(scratch == NULL, FLOE_ERR_NOMEM, "out of memory for a chunk's registers");
  floe__store_enter(a->L->store);
  floe_status st = floe__lower_run_region(a->L, a->p, a->lo, a->hi, &a->sink, 1, scratch);
  floe__store_leave(a->L->store);
  free(scratch);
  return st;
}

/* Writes finalised accumulators into their block of the output. */
static floe_status finalize_block(const red_info *ri, const void *acc, int64_t elems,
                                  const int64_t *lo, const int64_t *hi) {
  const floe__node *o = ri->out;
  void *tmp = malloc((size_t)(elems > 0 ? elems : 1) * ri->out_isz);
  FLOE_RETURN_ERROR_IF(tmp == NULL, FLOE_ERR_NOMEM, "out of memory finalising a reduction");
  if (ri->mean_count > 0) {
    const double *sum = acc;
    for (int64_t j = 0; j < elems; j++) {
      if (o->dtype == FLOE_FLOAT32) {
        ((float *)tmp)[j] = (float)(sum[j] / ri->mean_count);
      } else {
        ((double *)tmp)[j] = sum[j] / ri->mean_count;
      }
    }
  } else {
    ri->red->finalize(acc, tmp, elems, ri->ddof);
  }
  /* copy the block, C order, into the output */
  int64_t cs[FLOE_MAX_DIMS], c = 1;
  for (int d = o->ndim - 1; d >= 0; d--) {
    cs[d] = c;
    c *= o->shape[d];
  }
  int64_t row = o->ndim > 0 ? hi[o->ndim - 1] - lo[o->ndim - 1] : 1;
  int64_t pos[FLOE_MAX_DIMS];
  memcpy(pos, lo, sizeof(int64_t) * (size_t)o->ndim);
  for (int64_t done = 0; done < elems; done += row) {
    int64_t off = 0;
    for (int d = 0; d < o->ndim; d++) {
      off += pos[d] * cs[d];
    }
    memcpy((unsigned char *)ri->out_data + (size_t)off * ri->out_isz,
           (unsigned char *)tmp + (size_t)done * ri->out_isz, (size_t)row * ri->out_isz);
    for (int d = o->ndim - 2; d >= 0; d--) {
      if (++pos[d] < hi[d]) {
        break;
      }
      pos[d] = lo[d];
    }
  }
  free(tmp);
  return FLOE_OK;
}

static floe_status partial_task(void *arg) {
  partial_arg *a = arg;
  const red_info *ri = a->ri;
  void *acc = malloc((size_t)(a->block_elems > 0 ? a->block_elems : 1) * ri->acc_size);
  FLOE_RETURN_ERROR_IF(acc == NULL, FLOE_ERR_NOMEM, "out of memory for a reduction's partials");
  ri->red->init(acc, a->block_elems);
  if (a->e.p != NULL) {
    floe__vm_sink sink = a->e.sink;
    sink.acc = acc;
    void *scratch = malloc(a->e.p->scratch);
    if (scratch == NULL) {
      free(acc);
      return floe__fail(FLOE_ERR_NOMEM, "out of memory for a chunk's registers");
    }
    floe__store_enter(a->e.L->store);
    floe_status st = floe__lower_run_region(a->e.L, a->e.p, a->e.lo, a->e.hi, &sink, 1, scratch);
    floe__store_leave(a->e.L->store);
    free(scratch);
    if (st != FLOE_OK) {
      free(acc);
      return st;
    }
  }
  if (a->finalize) {
    floe_status st = finalize_block(ri, acc, a->block_elems, a->out_lo, a->out_hi);
    free(acc);
    return st;
  }
  *a->slot = acc;
  return FLOE_OK;
}

/* One member's share of a grouped partial: the accumulators it fills. */
typedef struct gpart {
  const red_info *ri;
  int64_t block_elems;
  void **slot;
  bool finalize;
  int64_t out_lo[FLOE_MAX_DIMS], out_hi[FLOE_MAX_DIMS];
  floe__vm_sink sink; /* template: acc filled in by the task */
} gpart;

/* The partials of several reductions of one input over one of its chunks,
 * computed by one run of the program with a sink per reduction. */
typedef struct group_arg {
  ewise_arg e;
  int n;
  gpart m[FLOE__VM_MAX_SINKS];
} group_arg;

static floe_status group_task(void *arg) {
  group_arg *a = arg;
  void *acc[FLOE__VM_MAX_SINKS] = {0};
  floe__vm_sink sinks[FLOE__VM_MAX_SINKS];
  void *scratch = malloc(a->e.p->scratch);
  bool ok = scratch != NULL;
  for (int k = 0; k < a->n && ok; k++) {
    const gpart *m = &a->m[k];
    acc[k] = malloc((size_t)(m->block_elems > 0 ? m->block_elems : 1) * m->ri->acc_size);
    ok = acc[k] != NULL;
    if (ok) {
      m->ri->red->init(acc[k], m->block_elems);
      sinks[k] = m->sink;
      sinks[k].acc = acc[k];
    }
  }
  if (!ok) {
    for (int k = 0; k < a->n; k++) {
      free(acc[k]);
    }
    free(scratch);
    return floe__fail(FLOE_ERR_NOMEM, "out of memory for a reduction's partials");
  }
  floe__store_enter(a->e.L->store);
  floe_status st = floe__lower_run_region(a->e.L, a->e.p, a->e.lo, a->e.hi, sinks, a->n, scratch);
  floe__store_leave(a->e.L->store);
  free(scratch);
  for (int k = 0; k < a->n; k++) {
    const gpart *m = &a->m[k];
    if (st != FLOE_OK) {
      free(acc[k]);
    } else if (m->finalize) {
      floe_status s2 = finalize_block(m->ri, acc[k], m->block_elems, m->out_lo, m->out_hi);
      st = st == FLOE_OK ? s2 : st;
      free(acc[k]);
    } else {
      *m->slot = acc[k];
    }
  }
  return st;
}

static floe_status combine_task(void *arg) {
  combine_arg *a = arg;
  void *acc = *a->children[0];
  for (int i = 1; i < a->nchildren; i++) {
    a->ri->red->merge(acc, *a->children[i], a->block_elems);
    free(*a->children[i]);
    *a->children[i] = NULL;
  }
  *a->children[0] = NULL;
  if (a->finalize) {
    floe_status st = finalize_block(a->ri, acc, a->block_elems, a->out_lo, a->out_hi);
    free(acc);
    return st;
  }
  *a->slot = acc;
  return FLOE_OK;
}

/* ------------------------------------------------------ building the tasks */

floe_task *floe__lower_task(floe__lower *L, floe_task_fn fn, void *arg, const char *name) {
  floe_task *t = floe_task_add(L->g, fn, arg);
  if (t != NULL && L->ctx->cfg.profile_path != NULL) {
    floe_task_name(t, name);
  }
  return t;
}

static void **new_slot(floe__lower *L) {
  void **slot = floe__lower_alloc(L, sizeof *slot);
  if (slot == NULL) {
    return NULL;
  }
  *slot = NULL;
  if (L->nslots == L->capslots) {
    int64_t c = L->capslots ? L->capslots * 2 : 64;
    void ***s = realloc(L->slots, (size_t)c * sizeof *s);
    if (s == NULL) {
      return NULL;
    }
    L->slots = s;
    L->capslots = c;
  }
  L->slots[L->nslots++] = slot;
  return slot;
}

/* The task that reads block `flat` (coordinates c) of chunked lnode li.
 * Read tasks are made first and in the file's chunk order, so that the
 * runtime, which starts roots in the order they were added, reads files
 * front to back (the disk's readahead then works); a block no program
 * needs is skipped when its task runs. */
static floe_task *read_task_for(floe__lower *L, int li, int64_t flat, const int64_t *c,
                                int stream) {
  const floe__node *n = L->ln[li].n;
  read_arg *a = floe__lower_alloc(L, sizeof *a);
  if (a == NULL) {
    floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
    return NULL;
  }
  memset(a, 0, sizeof *a);
  a->L = L;
  a->ln = li;
  a->flat = flat;
  a->stream = stream;
  chunk_region(n, c, a->lo, a->hi);
  return floe__lower_task(L, read_task, a, "read");
}

/* The blocks are split into one contiguous range per read stream (as many
 * as workers), and the ranges' tasks interleaved: each worker then streams
 * through its own part of the file, which is what keeps a disk's queue
 * full (two sequential readers here read 1.7 times faster than one).
 * Several files are interleaved too, block by block, so that a program
 * reading x and y finds both of its blocks read together. */
static floe_status make_read_tasks(floe__lower *L) {
  int ns = L->ctx->cfg.threads < FLOE__H5_STREAMS ? L->ctx->cfg.threads : FLOE__H5_STREAMS;
  ns = ns < 1 ? 1 : ns;
  int64_t most = 0;
  for (int i = 0; i < L->nln; i++) {
    const lnode *x = &L->ln[i];
    if (x->ch != NULL && x->ch->file && floe__node_size(x->n) > 0) {
      grid g = grid_of(x->n);
      int64_t per = (g.total + ns - 1) / ns;
      most = per > most ? per : most;
    }
  }
  for (int64_t k = 0; k < most; k++) {
    for (int st = 0; st < ns; st++) {
      for (int i = 0; i < L->nln; i++) {
        lnode *x = &L->ln[i];
        if (x->ch == NULL || !x->ch->file || floe__node_size(x->n) == 0) {
          continue;
        }
        grid g = grid_of(x->n);
        int64_t per = (g.total + ns - 1) / ns;
        int64_t b = st * per + k;
        if (k >= per || b >= g.total) {
          continue;
        }
        int64_t c[FLOE_MAX_DIMS], rest = b;
        for (int d = x->n->ndim - 1; d >= 0; d--) {
          c[d] = rest % g.n[d];
          rest /= g.n[d];
        }
        x->done[b] = read_task_for(L, i, b, c, st);
      }
    }
  }
  return FLOE_OK;
}

/* Makes t depend on the tasks that write the blocks of materialised inputs
 * that region [lo, hi) of program p reads; counts the bytes it reads. */
void floe__lower_depend(floe__lower *L, floe_task *t, const prog *p, const int64_t *lo,
                             const int64_t *hi) {
  const int nd = p->vm.ndim;
  for (int l = 0; l < p->vm.nleaves; l++) {
    int li = p->leaf_lnode[l];
    if (li < 0) {
      continue;
    }
    const lnode *m = &L->ln[li];
    const floe__node *mn = m->n;
    int64_t mlo[FLOE_MAX_DIMS], mhi[FLOE_MAX_DIMS], elems = 1;
    for (int k = 0; k < mn->ndim; k++) {
      int d = k + (nd - mn->ndim);
      bool bcast = mn->shape[k] == 1 && p->vm.shape[d] != 1;
      mlo[k] = bcast ? 0 : lo[d];
      mhi[k] = bcast ? 1 : hi[d];
      elems *= mhi[k] - mlo[k];
    }
    if (m->ch == NULL || !m->ch->file) {
      L->bytes_read += (uint64_t)elems * floe_dtype_size(mn->dtype);
    }
    if (m->done == NULL || elems == 0) {
      continue;
    }
    grid g = grid_of(mn);
    int64_t blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS], c[FLOE_MAX_DIMS];
    for (int k = 0; k < mn->ndim; k++) {
      blo[k] = mlo[k] / mn->chunk[k];
      bhi[k] = (mhi[k] - 1) / mn->chunk[k] + 1;
      c[k] = blo[k];
    }
    do {
      int64_t flat = 0;
      for (int k = 0; k < mn->ndim; k++) {
        flat = flat * g.n[k] + c[k];
      }
      if (m->ch != NULL && m->ch->readers[flat]++ == 0) {
        int64_t clo[FLOE_MAX_DIMS], chi[FLOE_MAX_DIMS], n = 1;
        chunk_region(mn, c, clo, chi);
        for (int k = 0; k < mn->ndim; k++) {
          n *= chi[k] - clo[k];
        }
        L->bytes_read += (uint64_t)n * floe_dtype_size(mn->dtype);
      }
      floe_task_depends(t, m->done[flat]);
    } while (next_in_box(mn->ndim, blo, bhi, c));
  }
}

/* Records the working set of a kind of task: the largest decides whether
 * a run can fit its budget at all. */
void floe__lower_note_task(floe__lower *L, uint64_t bytes, const char *name) {
  if (bytes > L->max_task) {
    L->max_task = bytes;
    L->max_task_name = name;
  }
}

/* Chunk data program p holds at once: one block of each chunked input. */
uint64_t floe__lower_prog_blocks(const floe__lower *L, const prog *p) {
  uint64_t b = 0;
  for (int i = 0; i < p->nchunked; i++) {
    b += L->ln[p->leaf_lnode[p->chunked_leaf[i]]].ch->block_bytes;
  }
  return b;
}

floe_status floe__lower_program(floe__lower *L, int root, int sink, prog **out) {
  FLOE_FORWARD_IF_ERROR(floe__fuse(L, root, out));
  (*out)->sink = sink;
  if (L->nprogs == L->capprogs) {
    int c = L->capprogs ? L->capprogs * 2 : 8;
    prog **p = realloc(L->progs, (size_t)c * sizeof *p);
    FLOE_RETURN_ERROR_IF(p == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    L->progs = p;
    L->capprogs = c;
  }
  L->progs[L->nprogs++] = *out;
  if ((*out)->scratch > L->max_scratch) {
    L->max_scratch = (*out)->scratch;
  }
  return FLOE_OK;
}

/* Combines the nleaf partials of one output block (their slots in
 * `level`, their tasks in `tasks`, in order) by a tree of fixed shape: groups
 * of `fanin` consecutive ones, level by level; the root finalises into the
 * output.  On return level[0] / tasks[0] hold the root. */
static floe_status build_tree(floe__lower *L, const red_info *ri, int64_t block_elems,
                              const int64_t *out_lo, const int64_t *out_hi, void ***level,
                              floe_task **tasks, int64_t nleaf) {
  const int fanin = L->ctx->cfg.reduce_fanin;
  int64_t count = nleaf;
  while (count > 1) {
    int64_t groups = (count + fanin - 1) / fanin;
    for (int64_t gi = 0; gi < groups; gi++) {
      int64_t first = gi * fanin;
      int nch = (int)(count - first < fanin ? count - first : fanin);
      combine_arg *a = floe__lower_alloc(L, sizeof *a);
      void ***children = floe__lower_alloc(L, (size_t)nch * sizeof *children);
      void **slot = new_slot(L);
      if (a == NULL || children == NULL || slot == NULL) {
        return FLOE_ERR_NOMEM;
      }
      memset(a, 0, sizeof *a);
      a->ri = ri;
      a->block_elems = block_elems;
      a->children = children;
      a->nchildren = nch;
      a->slot = slot;
      a->finalize = groups == 1;
      memcpy(a->out_lo, out_lo, sizeof a->out_lo);
      memcpy(a->out_hi, out_hi, sizeof a->out_hi);
      floe_task *t = floe__lower_task(L, combine_task, a, "combine");
      for (int c = 0; c < nch; c++) {
        children[c] = level[first + c];
        floe_task_depends(t, tasks[first + c]);
      }
      level[gi] = slot;
      tasks[gi] = t;
    }
    count = groups;
  }
  return FLOE_OK;
}

/* The block of reduction r's output that input region [lo, hi) (of nd
 * axes) feeds: kept axes as they are, reduced ones as [0, 1) with keepdims. */
static void out_block(const floe__node *r, int nd, const int64_t *lo, const int64_t *hi,
                      int64_t *out_lo, int64_t *out_hi) {
  for (int d = 0, o = 0; d < nd; d++) {
    if (!(r->p.reduce.axes & (1u << d))) {
      out_lo[o] = lo[d];
      out_hi[o++] = hi[d];
    } else if (r->p.reduce.keepdims) {
      out_lo[o] = 0;
      out_hi[o++] = 1;
    }
  }
}

/* The kernels and output of reduction lnode li. */
static floe_status make_red_info(floe__lower *L, int li, red_info **out) {
  const lnode *x = &L->ln[li];
  const floe__node *r = x->n;
  const floe__node *en = L->ln[x->in[0]].n;
  const floe_reduce_op op = r->p.reduce.op;
  red_info *ri = floe__lower_alloc(L, sizeof *ri);
  FLOE_RETURN_ERROR_IF(ri == NULL, FLOE_ERR_NOMEM, "out of memory planning a reduction");
  memset(ri, 0, sizeof *ri);
  ri->red = floe__reducer_get(op, en->dtype);
  ri->acc_size = floe__reduce_acc_size(op, en->dtype);
  if (op == FLOE_MEAN && floe__dtype_is_float(en->dtype) && floe__node_size(en) > 0) {
    /* Every accumulator of a mean counts the same number of values, known
     * here: keep plain sums (the same additions, in the same order) and
     * divide at the end.  Half the accumulator traffic, and the update
     * vectorises: mean(x, axis=0) runs near memory speed. */
    ri->red = floe__reducer_get(FLOE_SUM, en->dtype);
    ri->acc_size = floe__reduce_acc_size(FLOE_SUM, en->dtype);
    ri->mean_count = (double)(floe__node_size(en) / floe__node_size(r));
  }
  ri->ddof = r->p.reduce.ddof;
  ri->out = r;
  ri->out_data = x->data;
  ri->out_isz = floe_dtype_size(r->dtype);
  FLOE_RETURN_ERROR_IF(ri->red == NULL, FLOE_ERR_DTYPE, "no reduction kernel for %s",
                       floe_dtype_name(en->dtype));

  *out = ri;
  return FLOE_OK;
}

static floe_status build_reduction(floe__lower *L, int li) {
  lnode *x = &L->ln[li];
  const floe__node *r = x->n;
  const lnode *e = &L->ln[x->in[0]];
  const floe__node *en = e->n;
  const uint32_t mask = r->p.reduce.axes;
  const floe_reduce_op op = r->p.reduce.op;
  red_info *ri = NULL;
  FLOE_FORWARD_IF_ERROR(make_red_info(L, li, &ri));

  prog *p = NULL;
  if (floe__node_size(en) > 0) {
    FLOE_FORWARD_IF_ERROR(floe__lower_program(L, x->in[0], li, &p));
    floe__lower_note_task(L, floe__lower_prog_blocks(L, p), "a reduction's partial");
  }
  grid eg = grid_of(en), rg = grid_of(r);
  x->nblocks = rg.total;
  x->done = floe__lower_alloc(L, (size_t)(rg.total > 0 ? rg.total : 1) * sizeof *x->done);
  FLOE_RETURN_ERROR_IF(x->done == NULL, FLOE_ERR_NOMEM, "out of memory planning a reduction");

  int nd = en->ndim;
  int64_t kept_n[FLOE_MAX_DIMS], red_n[FLOE_MAX_DIMS];
  int kept_ax[FLOE_MAX_DIMS], red_ax[FLOE_MAX_DIMS], nk = 0, nr = 0;
  int64_t nred = 1;
  for (int d = 0; d < nd; d++) {
    if (mask & (1u << d)) {
      red_ax[nr] = d;
      red_n[nr++] = eg.n[d];
      nred *= eg.n[d];
    } else {
      kept_ax[nk] = d;
      kept_n[nk++] = eg.n[d];
    }
  }
  const bool flat_index = nr == nd;
  const char *name = "reduce";

  int64_t kc[FLOE_MAX_DIMS] = {0};
  for (int64_t blk = 0; blk < rg.total; blk++) {
    /* this output block: kept chunk coords kc */
    int64_t coord[FLOE_MAX_DIMS] = {0}, lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
    for (int i = 0; i < nk; i++) {
      coord[kept_ax[i]] = kc[i];
    }
    chunk_region(en, coord, lo, hi);
    int64_t block_elems = 1, acc_stride[FLOE_MAX_DIMS] = {0}, bias = 0;
    for (int i = nk - 1; i >= 0; i--) {
      int d = kept_ax[i];
      acc_stride[d] = block_elems;
      block_elems *= hi[d] - lo[d];
    }
    int64_t out_lo[FLOE_MAX_DIMS] = {0}, out_hi[FLOE_MAX_DIMS] = {0};
    out_block(r, nd, lo, hi, out_lo, out_hi);
    size_t acc_bytes = (size_t)block_elems * ri->acc_size;
    if (acc_bytes > L->max_acc_block) {
      L->max_acc_block = acc_bytes;
    }
    /* level 0: one partial per reduced chunk, in C order */
    int64_t nleaf = nred > 0 ? nred : 1;
    void ***level = malloc((size_t)nleaf * sizeof *level);
    floe_task **tasks = malloc((size_t)nleaf * sizeof *tasks);
    if (level == NULL || tasks == NULL) {
      free(level);
      free(tasks);
      return floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
    }
    int64_t rc[FLOE_MAX_DIMS] = {0};
    for (int64_t i = 0; i < nleaf; i++) {
      partial_arg *a = floe__lower_alloc(L, sizeof *a);
      void **slot = new_slot(L);
      if (a == NULL || slot == NULL) {
        free(level);
        free(tasks);
        return floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
      }
      memset(a, 0, sizeof *a);
      a->ri = ri;
      a->block_elems = block_elems;
      a->slot = slot;
      a->finalize = nleaf == 1;
      memcpy(a->out_lo, out_lo, sizeof out_lo);
      memcpy(a->out_hi, out_hi, sizeof out_hi);
      for (int j = 0; j < nr; j++) {
        coord[red_ax[j]] = rc[j];
      }
      a->e.L = L;
      if (nred > 0 && p != NULL) {
        a->e.p = p;
        chunk_region(en, coord, a->e.lo, a->e.hi);
        floe__vm_sink *s = &a->e.sink;
        s->kind = FLOE__SINK_REDUCE;
        s->red = ri->red;
        s->acc_size = ri->acc_size;
        memcpy(s->acc_stride, acc_stride, sizeof acc_stride);
        bias = 0;
        for (int d = 0; d < nd; d++) {
          bias += a->e.lo[d] * acc_stride[d];
        }
        s->acc_bias = bias;
        if (op == FLOE_ARGMIN || op == FLOE_ARGMAX) {
          if (flat_index) {
            int64_t c = 1;
            for (int d = nd - 1; d >= 0; d--) {
              s->index_stride[d] = c;
              c *= en->shape[d];
            }
          } else {
            s->index_stride[red_ax[0]] = 1;
          }
        }
      }
      floe_task *t = floe__lower_task(L, partial_task, a, name);
      if (t != NULL && a->e.p != NULL) {
        floe__lower_depend(L, t, p, a->e.lo, a->e.hi);
      }
      level[i] = slot;
      tasks[i] = t;
      next_coord(nr, red_n, rc);
    }
    /* the tree: groups of `fanin` consecutive partials */
    if (build_tree(L, ri, block_elems, out_lo, out_hi, level, tasks, nleaf) != FLOE_OK) {
      free(level);
      free(tasks);
      return floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
    }
    /* the block's index in r's chunk grid: kept coords, 0 on kept-dim axes */
    x->done[blk] = tasks[0];
    free(level);
    free(tasks);
    next_coord(nk, kept_n, kc);
  }
  return FLOE_OK;
}

/* Several reductions of the same input (mean and sum of x, or the mean,
 * std, max and min of a climate cube): one program over each input chunk
 * feeds every reduction's accumulators, so the chunk is read once.  Each
 * reduction keeps its own blocks, partial order and tree, so the results
 * are the bits each would have alone. */
static floe_status build_reduction_group(floe__lower *L, const int *lis, int n) {
  const int in0 = L->ln[lis[0]].in[0];
  const floe__node *en = L->ln[in0].n;
  const int nd = en->ndim;
  prog *p;
  FLOE_FORWARD_IF_ERROR(floe__lower_program(L, in0, lis[0], &p));
  floe__lower_note_task(L, floe__lower_prog_blocks(L, p), "a reduction's partial");
  grid eg = grid_of(en);
  struct member {
    const red_info *ri;
    grid rg;
    uint32_t mask;
    int nk, nr, kept_ax[FLOE_MAX_DIMS], red_ax[FLOE_MAX_DIMS];
    int64_t kept_n[FLOE_MAX_DIMS], red_n[FLOE_MAX_DIMS], nleaf;
    bool flat_index;
    void ***level;     /* [block][leaf] */
    floe_task **tasks; /* [block][leaf] */
  } mem[FLOE__VM_MAX_SINKS];
  memset(mem, 0, sizeof mem);
  floe_status st = FLOE_OK;
  for (int k = 0; k < n && st == FLOE_OK; k++) {
    struct member *m = &mem[k];
    lnode *x = &L->ln[lis[k]];
    red_info *ri = NULL;
    if ((st = make_red_info(L, lis[k], &ri)) != FLOE_OK) {
      break;
    }
    m->ri = ri;
    m->rg = grid_of(x->n);
    m->mask = x->n->p.reduce.axes;
    m->nleaf = 1;
    for (int d = 0; d < nd; d++) {
      if (m->mask & (1u << d)) {
        m->red_ax[m->nr] = d;
        m->red_n[m->nr++] = eg.n[d];
        m->nleaf *= eg.n[d];
      } else {
        m->kept_ax[m->nk] = d;
        m->kept_n[m->nk++] = eg.n[d];
      }
    }
    m->flat_index = m->nr == nd;
    x->nblocks = m->rg.total;
    x->done = floe__lower_alloc(L, (size_t)m->rg.total * sizeof *x->done);
    m->level = malloc((size_t)(m->rg.total * m->nleaf) * sizeof *m->level);
    m->tasks = malloc((size_t)(m->rg.total * m->nleaf) * sizeof *m->tasks);
    if (x->done == NULL || m->level == NULL || m->tasks == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
    }
  }
  int64_t c[FLOE_MAX_DIMS] = {0};
  for (int64_t i = 0; i < eg.total && st == FLOE_OK; i++) {
    group_arg *a = floe__lower_alloc(L, sizeof *a);
    if (a == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
      break;
    }
    memset(a, 0, sizeof *a);
    a->e.L = L;
    a->e.p = p;
    a->n = n;
    chunk_region(en, c, a->e.lo, a->e.hi);
    int64_t where[FLOE__VM_MAX_SINKS];
    for (int k = 0; k < n && st == FLOE_OK; k++) {
      struct member *m = &mem[k];
      gpart *g = &a->m[k];
      const floe__node *r = m->ri->out;
      /* this chunk's block (kept coords) and leaf (reduced coords), C order */
      int64_t blk = 0, leaf = 0, bc[FLOE_MAX_DIMS] = {0}, lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
      for (int j = 0; j < m->nk; j++) {
        blk = blk * m->kept_n[j] + c[m->kept_ax[j]];
        bc[m->kept_ax[j]] = c[m->kept_ax[j]];
      }
      for (int j = 0; j < m->nr; j++) {
        leaf = leaf * m->red_n[j] + c[m->red_ax[j]];
      }
      chunk_region(en, bc, lo, hi);
      int64_t block_elems = 1;
      g->sink.kind = FLOE__SINK_REDUCE;
      g->sink.red = m->ri->red;
      g->sink.acc_size = m->ri->acc_size;
      for (int j = m->nk - 1; j >= 0; j--) {
        int d = m->kept_ax[j];
        g->sink.acc_stride[d] = block_elems;
        block_elems *= hi[d] - lo[d];
      }
      for (int d = 0; d < nd; d++) {
        g->sink.acc_bias += a->e.lo[d] * g->sink.acc_stride[d];
      }
      floe_reduce_op op = r->p.reduce.op;
      if (op == FLOE_ARGMIN || op == FLOE_ARGMAX) {
        if (m->flat_index) {
          int64_t cs = 1;
          for (int d = nd - 1; d >= 0; d--) {
            g->sink.index_stride[d] = cs;
            cs *= en->shape[d];
          }
        } else {
          g->sink.index_stride[m->red_ax[0]] = 1;
        }
      }
      out_block(r, nd, lo, hi, g->out_lo, g->out_hi);
      size_t acc_bytes = (size_t)block_elems * m->ri->acc_size;
      if (acc_bytes > L->max_acc_block) {
        L->max_acc_block = acc_bytes;
      }
      g->ri = m->ri;
      g->block_elems = block_elems;
      g->finalize = m->nleaf == 1;
      g->slot = new_slot(L);
      if (g->slot == NULL) {
        st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
      }
      where[k] = blk * m->nleaf + leaf;
      m->level[where[k]] = g->slot;
    }
    if (st != FLOE_OK) {
      break;
    }
    floe_task *t = floe__lower_task(L, group_task, a, "reduce");
    if (t != NULL) {
      floe__lower_depend(L, t, p, a->e.lo, a->e.hi);
    }
    for (int k = 0; k < n; k++) {
      mem[k].tasks[where[k]] = t;
    }
    next_coord(nd, eg.n, c);
  }
  for (int k = 0; k < n && st == FLOE_OK; k++) {
    struct member *m = &mem[k];
    lnode *x = &L->ln[lis[k]];
    const floe__node *r = m->ri->out;
    int64_t kc[FLOE_MAX_DIMS] = {0};
    for (int64_t blk = 0; blk < m->rg.total && st == FLOE_OK; blk++) {
      int64_t bc[FLOE_MAX_DIMS] = {0}, lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
      int64_t out_lo[FLOE_MAX_DIMS] = {0}, out_hi[FLOE_MAX_DIMS] = {0}, block_elems = 1;
      for (int j = 0; j < m->nk; j++) {
        bc[m->kept_ax[j]] = kc[j];
      }
      chunk_region(en, bc, lo, hi);
      for (int j = 0; j < m->nk; j++) {
        block_elems *= hi[m->kept_ax[j]] - lo[m->kept_ax[j]];
      }
      out_block(r, nd, lo, hi, out_lo, out_hi);
      void ***level = m->level + blk * m->nleaf;
      floe_task **tasks = m->tasks + blk * m->nleaf;
      if (build_tree(L, m->ri, block_elems, out_lo, out_hi, level, tasks, m->nleaf) != FLOE_OK) {
        st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a reduction");
      }
      x->done[blk] = tasks[0];
      next_coord(m->nk, m->kept_n, kc);
    }
  }
  for (int k = 0; k < n; k++) {
    free(mem[k].level);
    free(mem[k].tasks);
  }
  return st;
}

static floe_status build_store(floe__lower *L, int li, void *dst) {
  const floe__node *n = L->ln[li].n;
  prog *p;
  FLOE_FORWARD_IF_ERROR(floe__lower_program(L, li, li, &p));
  floe__lower_note_task(L, floe__lower_prog_blocks(L, p), "an elementwise chunk");
  grid g = grid_of(n);
  int64_t cs[FLOE_MAX_DIMS], c = 1;
  for (int d = n->ndim - 1; d >= 0; d--) {
    cs[d] = c;
    c *= n->shape[d];
  }
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t i = 0; i < g.total; i++) {
    ewise_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->L = L;
    a->p = p;
    a->sink.kind = FLOE__SINK_STORE;
    a->sink.dst = dst;
    memcpy(a->sink.dst_stride, cs, sizeof(int64_t) * (size_t)n->ndim);
    chunk_region(n, coord, a->lo, a->hi);
    floe_task *t = floe__lower_task(L, ewise_task, a, "elementwise");
    if (t != NULL) {
      floe__lower_depend(L, t, p, a->lo, a->hi);
    }
    next_coord(n->ndim, g.n, coord);
  }
  return FLOE_OK;
}

typedef struct pchunk_arg {
  ewise_arg e;
  floe__chunk *c;
  const int *readers; /* the chunk's uses, or NULL: always made */
  int64_t flat;
  bool edge;
} pchunk_arg;

/* Computes one chunk by its program into a buffer of the budget and
 * installs it in the store; a chunk nobody reads only ends the uses its
 * program would have made. */
static floe_status pchunk_task(void *arg) {
  pchunk_arg *a = arg;
  if (a->readers != NULL && a->readers[a->flat] == 0) {
    floe__lower_release_region(a->e.L, a->e.p, a->e.lo, a->e.hi);
    return FLOE_OK;
  }
  return program_chunk(a->e.L, a->e.p, &a->e.sink, a->e.lo, a->e.hi, a->edge, a->c,
                       a->readers != NULL ? "a chunk of an intermediate"
                                          : "a chunk of a persisted array");
}

floe_status floe__lower_program_chunks(floe__lower *L, int li, floe__chunk *chunks,
                                       const int *readers, floe_task **done) {
  const floe__node *n = L->ln[li].n;
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  prog *p;
  FLOE_FORWARD_IF_ERROR(floe__lower_program(L, li, li, &p));
  int64_t cs[FLOE_MAX_DIMS], c = 1;
  for (int d = n->ndim - 1; d >= 0; d--) {
    cs[d] = c;
    c *= n->chunk[d];
  }
  floe__lower_note_task(L, floe__lower_prog_blocks(L, p) + (uint64_t)c * floe_dtype_size(n->dtype),
                        readers != NULL ? "computing a chunk of an intermediate"
                                        : "computing a chunk of a persisted array");
  grid g = grid_of(n);
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t i = 0; i < g.total; i++) {
    pchunk_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->e.L = L;
    a->e.p = p;
    a->c = &chunks[i];
    a->readers = readers;
    a->flat = i;
    a->e.sink.kind = FLOE__SINK_STORE;
    memcpy(a->e.sink.dst_stride, cs, sizeof(int64_t) * (size_t)n->ndim);
    chunk_region(n, coord, a->e.lo, a->e.hi);
    for (int d = 0; d < n->ndim; d++) {
      a->e.sink.dst_bias += a->e.lo[d] * cs[d];
      a->edge = a->edge || a->e.hi[d] - a->e.lo[d] < n->chunk[d];
    }
    floe_task *t = floe__lower_task(L, pchunk_task, a, readers != NULL ? "materialise" : "persist");
    if (t != NULL) {
      floe__lower_depend(L, t, p, a->e.lo, a->e.hi);
    }
    if (done != NULL) {
      done[i] = t;
    }
    next_coord(n->ndim, g.n, coord);
  }
  return FLOE_OK;
}

/* One task per chunk of a file output: compute the chunk into a padded
 * buffer, then encode and write it. */
static floe_status build_file_store(floe__lower *L, ftarget *ft) {
  const floe__node *n = L->ln[ft->ln].n;
  size_t isz = floe_dtype_size(n->dtype);
  uint64_t chunk_bytes = isz;
  for (int d = 0; d < n->ndim; d++) {
    chunk_bytes *= (uint64_t)n->chunk[d];
  }
  if (chunk_bytes > L->max_out_chunk) {
    L->max_out_chunk = chunk_bytes;
  }
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  prog *p;
  FLOE_FORWARD_IF_ERROR(floe__lower_program(L, ft->ln, ft->ln, &p));
  p->fout = (int)(ft - L->ftargets);
  floe__lower_note_task(L,
            floe__lower_prog_blocks(L, p) + chunk_bytes +
                (ft->level > 0 ? floe__encode_bound(chunk_bytes) + chunk_bytes : 0),
            "writing a chunk of an output");
  int64_t cs[FLOE_MAX_DIMS], c = 1;
  for (int d = n->ndim - 1; d >= 0; d--) {
    cs[d] = c;
    c *= n->chunk[d];
  }
  grid g = grid_of(n);
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t i = 0; i < g.total; i++) {
    fstore_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->e.L = L;
    a->e.p = p;
    a->ft = ft;
    memcpy(a->coord, coord, sizeof coord);
    a->e.sink.kind = FLOE__SINK_STORE;
    memcpy(a->e.sink.dst_stride, cs, sizeof(int64_t) * (size_t)n->ndim);
    chunk_region(n, coord, a->e.lo, a->e.hi);
    for (int d = 0; d < n->ndim; d++) {
      a->e.sink.dst_bias += a->e.lo[d] * cs[d];
    }
    floe_task *t = floe__lower_task(L, fstore_task, a, "write");
    if (t != NULL) {
      floe__lower_depend(L, t, p, a->e.lo, a->e.hi);
    }
    next_coord(n->ndim, g.n, coord);
  }
  return FLOE_OK;
}

floe_status floe__lower_build(floe__lower *L) {
  L->g = floe_taskgraph_new(L->ctx);
  FLOE_RETURN_ERROR_IF(L->g == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  L->dry = L->nftargets == 0;
  FLOE_FORWARD_IF_ERROR(make_read_tasks(L));
  for (int t = 0; t < L->ntargets; t++) {
    L->dry = L->dry && L->targets[t].dst == NULL && L->targets[t].chunks == NULL;
  }
  /* a reduction that is an output writes straight into the caller's memory */
  bool *direct = calloc((size_t)L->ntargets + 1, sizeof *direct);
  FLOE_RETURN_ERROR_IF(direct == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  for (int t = 0; t < L->ntargets; t++) {
    lnode *x = &L->ln[L->targets[t].ln];
    L->bytes_written += (uint64_t)floe__node_size(x->n) * floe_dtype_size(x->n->dtype);
    if (x->n->kind == FLOE__NODE_REDUCE && !x->bound && L->targets[t].chunks == NULL) {
      x->data = L->targets[t].dst;
      x->bound = true;
      direct[t] = true;
    }
  }
  floe_status st = FLOE_OK;
  for (int i = 0; i < L->nln && st == FLOE_OK; i++) {
    lnode *x = &L->ln[i];
    if (x->n->kind != FLOE__NODE_REDUCE) {
      continue;
    }
    if (!x->bound) {
      size_t bytes = (size_t)floe__node_size(x->n) * floe_dtype_size(x->n->dtype);
      L->owned_bytes += bytes;
      if (!L->dry) {
        x->data = malloc(bytes > 0 ? bytes : 1);
        x->owned = true;
        if (x->data == NULL) {
          st = floe__fail(FLOE_ERR_NOMEM, "out of memory for a reduction's result (%zu bytes)",
                          bytes);
          break;
        }
      }
    }
  }
  /* reductions of the same input (up to FLOE__VM_MAX_SINKS) share one pass;
     producers are built in the same order (inputs first), those whose only
     consumers are joins on the same axis (read through) excepted */
  bool *built = calloc((size_t)L->nln + 1, sizeof *built);
  bool *needed = calloc((size_t)L->nln + 1, sizeof *needed);
  if ((built == NULL || needed == NULL) && st == FLOE_OK) {
    st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
  }
  for (int i = 0; i < L->nln && st == FLOE_OK; i++) {
    const floe__node *n = L->ln[i].n;
    for (int k = 0; k < n->nin; k++) {
      const floe__node *m = L->ln[L->ln[i].in[k]].n;
      bool through = n->kind == FLOE__NODE_CONCAT && m->kind == FLOE__NODE_CONCAT &&
                     m->p.concat.axis == n->p.concat.axis;
      needed[L->ln[i].in[k]] = needed[L->ln[i].in[k]] || !through;
    }
  }
  for (int t = 0; t < L->ntargets && st == FLOE_OK; t++) {
    needed[L->targets[t].ln] = true;
  }
  for (int t = 0; t < L->nftargets && st == FLOE_OK; t++) {
    needed[L->ftargets[t].ln] = true;
  }
  for (int i = 0; i < L->nln && st == FLOE_OK; i++) {
    if (floe__node_is_produced(L->ln[i].n) && needed[i]) {
      st = floe__produce(L, i);
      continue;
    }
    if (L->ln[i].n->kind != FLOE__NODE_REDUCE || built[i]) {
      continue;
    }
    int group[FLOE__VM_MAX_SINKS], ng = 0;
    const int in0 = L->ln[i].in[0];
    for (int j = i; j < L->nln && ng < FLOE__VM_MAX_SINKS; j++) {
      if (L->ln[j].n->kind == FLOE__NODE_REDUCE && !built[j] && L->ln[j].in[0] == in0) {
        group[ng++] = j;
        built[j] = true;
      }
    }
    if (ng == 1 || floe__node_size(L->ln[in0].n) == 0) {
      for (int k = 0; k < ng && st == FLOE_OK; k++) {
        st = build_reduction(L, group[k]);
      }
    } else {
      st = build_reduction_group(L, group, ng);
    }
  }
  free(built);
  free(needed);
  for (int t = 0; t < L->ntargets && st == FLOE_OK; t++) {
    if (L->targets[t].chunks != NULL) {
      st = floe__lower_program_chunks(L, L->targets[t].ln, L->targets[t].chunks, NULL, NULL);
    } else if (!direct[t]) {
      st = build_store(L, L->targets[t].ln, L->targets[t].dst);
    }
  }
  for (int t = 0; t < L->nftargets && st == FLOE_OK; t++) {
    const floe__node *n = L->ln[L->ftargets[t].ln].n;
    L->bytes_written += (uint64_t)floe__node_size(n) * floe_dtype_size(n->dtype);
    st = build_file_store(L, &L->ftargets[t]);
  }
  for (int i = 0; i < L->nln; i++) {
    const chunked *ch = L->ln[i].ch;
    if (ch == NULL) {
      continue;
    }
    L->max_blocks += ch->block_bytes;
    /* a file read by more than one pass (x - mean(x)) may be held whole in
       between, as far as the budget lets it */
    for (int64_t b = 0; ch->file && b < L->ln[i].nblocks; b++) {
      if (ch->readers[b] > 1) {
        L->held_between += (uint64_t)floe__node_size(L->ln[i].n) * floe_dtype_size(L->ln[i].n->dtype);
        break;
      }
    }
  }
  free(direct);
  return st;
}

/* Creates the output files and datasets of a run; on failure, those already
 * made are removed. */
static floe_status open_outputs(floe__lower *L) {
  floe_status st = FLOE_OK;
  for (int t = 0; t < L->nftargets && st == FLOE_OK; t++) {
    ftarget *ft = &L->ftargets[t];
    ft->file = NULL;
    ft->dset = NULL;
    for (int u = 0; u < t; u++) {
      if (strcmp(L->ftargets[u].path, ft->path) == 0) {
        ft->file = L->ftargets[u].file;
        break;
      }
    }
    if (ft->file == NULL) {
      st = floe__h5out_open(L->op, ft->path, ft->overwrite != 0, &ft->file);
      if (st != FLOE_OK) {
        break;
      }
    }
    const floe__node *n = L->ln[ft->ln].n;
    st = floe__h5out_dataset(ft->file, ft->dataset, n->dtype, n->ndim, n->shape, n->chunk,
                             ft->level, &ft->dset);
  }
  return st;
}

/* Commits (ok) or removes every output file of the run. */
static floe_status close_outputs(floe__lower *L, bool ok) {
  floe_status st = FLOE_OK;
  for (int t = 0; t < L->nftargets; t++) {
    floe__h5out *f = L->ftargets[t].file;
    if (f == NULL) {
      continue;
    }
    for (int u = t; u < L->nftargets; u++) {
      if (L->ftargets[u].file == f) {
        L->ftargets[u].file = NULL;
        L->ftargets[u].dset = NULL;
      }
    }
    if (ok && st == FLOE_OK) {
      st = floe__h5out_commit(f);
    } else {
      floe__h5out_abort(f);
    }
  }
  return st;
}

/* Before anything is allocated: the run cannot fit when the results it
 * keeps and the largest task's chunk data exceed the budget. */
static floe_status check_fits(const floe__lower *L) {
  uint64_t limit = floe__store_limit(L->store);
  if (L->owned_bytes + L->max_task <= limit) {
    return FLOE_OK;
  }
  if (L->owned_bytes > limit) {
    return floe__fail(FLOE_ERR_NOMEM,
                      "%s: the reductions' results need %llu bytes, more than the memory limit "
                      "of %llu bytes (raise memory_limit)",
                      L->op, (unsigned long long)L->owned_bytes, (unsigned long long)limit);
  }
  return floe__fail(FLOE_ERR_NOMEM,
                    "%s: a task %s needs %llu bytes of chunk data at once (beside %llu bytes "
                    "of reductions' results), more than the memory limit of %llu bytes allows "
                    "(raise memory_limit, or use smaller chunks)",
                    L->op, L->max_task_name, (unsigned long long)L->max_task,
                    (unsigned long long)L->owned_bytes, (unsigned long long)limit);
}

floe_status floe__lower_run(floe__lower *L) {
  memset(&L->stats, 0, sizeof L->stats);
  memset(&L->io, 0, sizeof L->io);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  FLOE_FORWARD_IF_ERROR(check_fits(L));
  for (int i = 0; i < L->nln; i++) {
    chunked *ch = L->ln[i].ch;
    for (int64_t b = 0; ch != NULL && (ch->file || ch->produced) && b < L->ln[i].nblocks; b++) {
      ch->c[b].pending = ch->readers[b];
      ch->c[b].spilled = false;
    }
  }
  floe__store_run_begin(L->store);
  floe__store_enter(L->store);
  floe_status st = floe__store_charge(L->store, L->owned_bytes, "the reductions' results", &L->io);
  floe__store_leave(L->store);
  if (st == FLOE_OK) {
    st = open_outputs(L);
    if (st == FLOE_OK) {
      st = floe_taskgraph_run(L->g);
    }
    floe__store_uncharge(L->store, L->owned_bytes);
  }
  /* blocks left by a failed or cancelled run */
  for (int i = 0; i < L->nln; i++) {
    chunked *ch = L->ln[i].ch;
    for (int64_t b = 0; ch != NULL && (ch->file || ch->produced) && b < L->ln[i].nblocks; b++) {
      floe__store_drop(L->store, &ch->c[b]);
    }
  }
  L->stats.peak_memory = floe__store_run_end(L->store);
  if (st == FLOE_OK) {
    st = close_outputs(L, true);
  } else {
    /* keep the run's message: removing the outputs must not replace it */
    floe__error saved = *floe__error_slot();
    close_outputs(L, false);
    *floe__error_slot() = saved;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  L->stats.tasks = floe_taskgraph_size(L->g);
  L->stats.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  L->stats.bytes_read = atomic_load(&L->io.bytes_read);
  L->stats.bytes_written = atomic_load(&L->io.bytes_written);
  L->stats.bytes_spilled = atomic_load(&L->io.bytes_spilled);
  L->stats.bytes_reloaded = atomic_load(&L->io.bytes_reloaded);
  L->stats.bytes_reread = atomic_load(&L->io.bytes_reread);
  L->stats.io_seconds = 1e-9 * (double)atomic_load(&L->io.io_ns);
  L->stats.wait_seconds = 1e-9 * (double)atomic_load(&L->io.wait_ns);
  return st;
}

void floe__lower_stats(const floe__lower *L, floe_stats *stats) {
  *stats = L->stats;
}

void floe__lower_plan(const floe__lower *L, floe_plan_info *info) {
  memset(info, 0, sizeof *info);
  info->tasks = floe_taskgraph_size(L->g);
  info->bytes_read = L->bytes_read;
  info->bytes_written = L->bytes_written;
  info->fused_programs = (uint64_t)L->nprogs;
  uint64_t workers = (uint64_t)L->ctx->cfg.threads;
  uint64_t busy = info->tasks < workers ? info->tasks : workers;
  /* intermediates and inputs held between passes, plus per busy worker its
     registers, the partials of one tree level in flight and its chunks;
     never more than the budget (the store makes room first) */
  uint64_t peak =
      L->owned_bytes + L->held_between +
      busy * (L->max_scratch + (uint64_t)(L->ctx->cfg.reduce_fanin + 1) * L->max_acc_block +
              L->max_blocks + L->max_out_chunk);
  uint64_t limit = floe__store_limit(L->store);
  peak = peak < limit ? peak : limit;
  /* but never less than one task needs: a run that cannot fit shows it */
  uint64_t least = L->owned_bytes + L->max_task;
  info->peak_memory = peak > least ? peak : least;
}
