/* Producer tasks: values made chunk by chunk into the store.
 *
 * A selection (GATHER), a join (CONCAT) or a product (MATMUL) is computed
 * by one task per output chunk.  The task takes a buffer for its chunk from
 * the budget, reads what it needs from its inputs one input chunk at a time
 * (pinned in the store while it copies or multiplies, so a task holds its
 * output chunk and one chunk of each operand), and installs the chunk in
 * the store, where consumers find it like a chunk of a file: pinned while
 * read, freed after its last use, spilled when the budget needs room.
 *
 * Inputs held in memory whole (caller buffers, reductions' results) are
 * read in place, as one block; other inputs (elementwise expressions,
 * generated values) are first materialised chunk by chunk by tasks running
 * their fused program. */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/order-internal.h"
#include "lower-state.h"

bool floe__node_is_produced(const floe__node *n) {
  return n->kind == FLOE__NODE_GATHER || n->kind == FLOE__NODE_CONCAT ||
         n->kind == FLOE__NODE_MATMUL || n->kind == FLOE__NODE_AXIS ||
         n->kind == FLOE__NODE_RESHAPE || n->kind == FLOE__NODE_MAP;
}

/* ------------------------------------------------------------ the chunks */

/* Store chunks for lnode li, owned by this lowering, spilled to an area of
 * their own. */
static floe_status make_produced(floe__lower *L, int li) {
  lnode *x = &L->ln[li];
  const floe__node *n = x->n;
  chunked *ch = floe__lower_alloc(L, sizeof *ch);
  FLOE_RETURN_ERROR_IF(ch == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  memset(ch, 0, sizeof *ch);
  int64_t blocks = 1, elems = 1;
  for (int d = n->ndim - 1; d >= 0; d--) {
    ch->cstride[d] = elems;
    elems *= n->chunk[d];
    blocks *= (n->shape[d] + n->chunk[d] - 1) / n->chunk[d];
  }
  size_t nb = (size_t)(blocks > 0 ? blocks : 1);
  ch->block_bytes = (size_t)elems * floe_dtype_size(n->dtype);
  ch->L = L;
  ch->ln = li;
  ch->produced = true;
  ch->readers = floe__lower_alloc(L, nb * sizeof *ch->readers);
  ch->c = floe__lower_alloc(L, nb * sizeof *ch->c);
  x->done = floe__lower_alloc(L, nb * sizeof *x->done);
  FLOE_RETURN_ERROR_IF(ch->readers == NULL || ch->c == NULL || x->done == NULL, FLOE_ERR_NOMEM,
                       "out of memory planning a compute");
  memset(ch->readers, 0, nb * sizeof *ch->readers);
  memset(ch->c, 0, nb * sizeof *ch->c);
  memset(x->done, 0, nb * sizeof *x->done);
  FLOE_FORWARD_IF_ERROR(
      floe__spill_area_new(L->store, n->dtype, n->ndim, n->shape, n->chunk, &ch->area));
  for (size_t b = 0; b < nb; b++) {
    ch->c[b].bytes = ch->block_bytes;
    ch->c[b].index = (int64_t)b;
    ch->c[b].area = ch->area;
  }
  x->nblocks = blocks;
  x->ch = ch;
  return FLOE_OK;
}

/* ----------------------------------------------------------- the inputs */

/* How a producer reads input lnode m: by store blocks (chunked) or in
 * place (flat: one block covering the whole array, C strides). */
typedef struct view {
  const unsigned char *base;
  int64_t stride[FLOE_MAX_DIMS]; /* elements */
  floe__chunk *pinned;
} view;

static bool is_flat(const lnode *m) { return m->ch == NULL; }

/* The block grid of input m: its chunks, or the whole array. */
static int64_t block_len(const lnode *m, int k) {
  return is_flat(m) ? (m->n->shape[k] > 0 ? m->n->shape[k] : 1) : m->n->chunk[k];
}

static int64_t blocks_along(const lnode *m, int k) {
  int64_t c = block_len(m, k);
  return (m->n->shape[k] + c - 1) / c;
}

static int64_t flat_of(const lnode *m, const int64_t *bc) {
  int64_t f = 0;
  for (int k = 0; k < m->n->ndim; k++) {
    f = f * blocks_along(m, k) + bc[k];
  }
  return f;
}

static floe_status open_block(floe__lower *L, const lnode *m, const int64_t *bc, view *v) {
  v->pinned = NULL;
  if (is_flat(m)) {
    int64_t s = 1;
    for (int k = m->n->ndim - 1; k >= 0; k--) {
      v->stride[k] = s;
      s *= m->n->shape[k];
    }
    v->base = m->data;
    return FLOE_OK;
  }
  floe__chunk *c = &m->ch->c[flat_of(m, bc)];
  const void *data;
  FLOE_FORWARD_IF_ERROR(floe__store_pin(L->store, c, &data, &L->io));
  v->pinned = c;
  v->base = data;
  memcpy(v->stride, m->ch->cstride, sizeof v->stride);
  return FLOE_OK;
}

/* Ends a task's use of a block it opened: unpinned, and one use counted. */
static void close_block(floe__lower *L, const lnode *m, view *v) {
  if (v->pinned != NULL) {
    floe__store_unpin(L->store, v->pinned);
    if (m->ch->file || m->ch->produced) {
      floe__store_done(L->store, v->pinned);
    }
    v->pinned = NULL;
  }
}

/* Task t reads block bc of input m: it waits for the block's maker and
 * counts as one of the block's uses.  A flat input waits for all of its
 * makers (a reduction's result). */
static void depend_block(floe__lower *L, floe_task *t, lnode *m, const int64_t *bc) {
  if (t == NULL) {
    return;
  }
  if (is_flat(m)) {
    for (int64_t b = 0; m->done != NULL && b < m->nblocks; b++) {
      if (m->done[b] != NULL) {
        floe_task_depends(t, m->done[b]);
      }
    }
    return;
  }
  int64_t f = flat_of(m, bc);
  m->ch->readers[f]++;
  if (m->done != NULL && m->done[f] != NULL) {
    floe_task_depends(t, m->done[f]);
  }
  (void)L;
}

/* ------------------------------------------------------ materialising */

/* Input mi of a producer: chunked already, in memory whole, or made into
 * chunks by its program. */
static floe_status ensure_input(floe__lower *L, int mi) {
  lnode *m = &L->ln[mi];
  if (m->ch == NULL && floe__node_is_produced(m->n)) {
    return floe__produce(L, mi);
  }
  if (m->ch != NULL || m->n->kind == FLOE__NODE_REDUCE || m->n->kind == FLOE__NODE_BUFFER) {
    return FLOE_OK;
  }
  FLOE_FORWARD_IF_ERROR(make_produced(L, mi));
  m = &L->ln[mi];
  return floe__lower_program_chunks(L, mi, m->ch->c, m->ch->readers, m->done);
}

/* ------------------------------------------------------------ copying */

/* How one source fills an output block: per output axis, the input axis it
 * walks (-1: none) and, per position of the block along it, the input
 * index (-1: not from this source); input axes walked by none sit at
 * fixed[k]. */
typedef struct copy_map {
  int src[FLOE_MAX_DIMS];
  int64_t *idx[FLOE_MAX_DIMS];
  int64_t fixed[FLOE_MAX_DIMS];
} copy_map;

/* The blocks of input m the map touches: [blo, bhi) per input axis; false
 * when none. */
static bool touched(const lnode *m, int nd, const int64_t *ext, const copy_map *cm, int64_t *blo,
                    int64_t *bhi) {
  const floe__node *in = m->n;
  for (int k = 0; k < in->ndim; k++) {
    int64_t c = block_len(m, k);
    blo[k] = cm->fixed[k] / c;
    bhi[k] = blo[k] + 1;
  }
  for (int d = 0; d < nd; d++) {
    int k = cm->src[d];
    if (k < 0) {
      continue;
    }
    int64_t mn = INT64_MAX, mx = -1;
    for (int64_t p = 0; p < ext[d]; p++) {
      int64_t v = cm->idx[d][p];
      if (v >= 0) {
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
      }
    }
    if (mx < 0) {
      return false;
    }
    blo[k] = mn / block_len(m, k);
    bhi[k] = mx / block_len(m, k) + 1;
  }
  return true;
}

/* The positions of an output block along each axis, grouped by the input
 * block they read (a counting sort per axis): for block index j along
 * axis d (from blo), positions pos[d][first[d][j] .. first[d][j + 1]) at
 * element offsets within the block off[d][...] (unscaled). */
typedef struct buckets {
  int64_t *pos[FLOE_MAX_DIMS], *off[FLOE_MAX_DIMS], *first[FLOE_MAX_DIMS];
} buckets;

/* Bytes of work space buckets_fill needs for a block of extents ext over
 * input m's block ranges. */
static size_t buckets_words(int nd, const int64_t *ext, const int *src, const int64_t *blo,
                            const int64_t *bhi) {
  size_t w = 0;
  for (int d = 0; d < nd; d++) {
    int64_t nb = src[d] >= 0 ? bhi[src[d]] - blo[src[d]] : 1;
    w += (size_t)(2 * ext[d] + nb + 2);
  }
  return w;
}

static void buckets_fill(const lnode *m, int nd, const int64_t *ext, const copy_map *cm,
                         const int64_t *blo, const int64_t *bhi, int64_t *work, buckets *bk) {
  for (int d = 0; d < nd; d++) {
    int k = cm->src[d];
    int64_t nb = k >= 0 ? bhi[k] - blo[k] : 1;
    bk->pos[d] = work;
    bk->off[d] = work + ext[d];
    bk->first[d] = work + 2 * ext[d];
    work += 2 * ext[d] + nb + 2;
    int64_t *first = bk->first[d];
    memset(first, 0, (size_t)(nb + 2) * sizeof *first);
    if (k < 0) {
      for (int64_t p = 0; p < ext[d]; p++) {
        bk->pos[d][p] = p;
        bk->off[d][p] = 0;
      }
      first[1] = ext[d];
      continue;
    }
    const int64_t c = block_len(m, k);
    for (int64_t p = 0; p < ext[d]; p++) { /* count */
      int64_t i = cm->idx[d][p];
      if (i >= 0) {
        first[i / c - blo[k] + 2]++;
      }
    }
    for (int64_t j = 0; j < nb; j++) {
      first[j + 2] += first[j + 1];
    }
    for (int64_t p = 0; p < ext[d]; p++) { /* place, in position order */
      int64_t i = cm->idx[d][p];
      if (i >= 0) {
        int64_t j = first[i / c - blo[k] + 1]++;
        bk->pos[d][j] = p;
        bk->off[d][j] = i % c;
      }
    }
  }
}

/* Copies what block bc of input m holds of the map into `out` (a block of
 * C strides ostride). */
static void copy_block(const lnode *m, const view *v, const int64_t *bc, const int64_t *blo,
                       int nd, const int64_t *ostride, const copy_map *cm, const buckets *bk,
                       unsigned char *out) {
  const floe__node *in = m->n;
  const size_t esz = floe_dtype_size(in->dtype);
  int64_t base = 0;
  bool walked[FLOE_MAX_DIMS] = {false};
  const int64_t *pos[FLOE_MAX_DIMS], *off[FLOE_MAX_DIMS];
  int64_t npos[FLOE_MAX_DIMS], scale[FLOE_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    int k = cm->src[d];
    int64_t j = k >= 0 ? bc[k] - blo[k] : 0;
    pos[d] = bk->pos[d] + bk->first[d][j];
    off[d] = bk->off[d] + bk->first[d][j];
    npos[d] = bk->first[d][j + 1] - bk->first[d][j];
    scale[d] = k >= 0 ? v->stride[k] : 0;
    if (k >= 0) {
      walked[k] = true;
    }
    if (npos[d] == 0) {
      return;
    }
  }
  for (int k = 0; k < in->ndim; k++) {
    if (!walked[k]) {
      base += (cm->fixed[k] - bc[k] * block_len(m, k)) * v->stride[k];
    }
  }
  if (nd == 0) {
    memcpy(out, v->base + (size_t)base * esz, esz);
    return;
  }
  /* odometer over the leading axes; runs along the last */
  int64_t it[FLOE_MAX_DIMS] = {0};
  const int last = nd - 1;
  const int64_t ls = scale[last];
  for (;;) {
    int64_t so = base, doff = 0;
    for (int d = 0; d < last; d++) {
      so += off[d][it[d]] * scale[d];
      doff += pos[d][it[d]] * ostride[d];
    }
    const int64_t *lp = pos[last], *lo = off[last];
    unsigned char *dst = out + (size_t)doff * esz;
    const unsigned char *src = v->base + (size_t)so * esz;
    for (int64_t j = 0; j < npos[last];) {
      int64_t r = 1;
      if (ls == 1) {
        while (j + r < npos[last] && lp[j + r] == lp[j] + r && lo[j + r] == lo[j] + r) {
          r++;
        }
      }
      if (r > 1) {
        memcpy(dst + (size_t)lp[j] * esz, src + (size_t)lo[j] * esz, (size_t)r * esz);
      } else {
        const size_t at = (size_t)(lo[j] * ls);
        switch (esz) { /* strided (a transpose): element by element */
        case 8:
          memcpy(dst + (size_t)lp[j] * 8, src + at * 8, 8);
          break;
        case 4:
          memcpy(dst + (size_t)lp[j] * 4, src + at * 4, 4);
          break;
        default:
          dst[lp[j]] = src[at];
          break;
        }
      }
      j += r;
    }
    int d = last - 1;
    for (; d >= 0; d--) {
      if (++it[d] < npos[d]) {
        break;
      }
      it[d] = 0;
    }
    if (d < 0) {
      break;
    }
  }
}

/* Copies the map from every block of input m it touches, one at a time. */
static floe_status copy_from(floe__lower *L, const lnode *m, int nd, const int64_t *ext,
                             const int64_t *ostride, const copy_map *cm, unsigned char *out) {
  int64_t blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS], bc[FLOE_MAX_DIMS];
  if (!touched(m, nd, ext, cm, blo, bhi)) {
    return FLOE_OK;
  }
  int64_t *work = malloc(buckets_words(nd, ext, cm->src, blo, bhi) * sizeof *work + 8);
  FLOE_RETURN_ERROR_IF(work == NULL, FLOE_ERR_NOMEM, "out of memory for a selection's indices");
  buckets bk;
  buckets_fill(m, nd, ext, cm, blo, bhi, work, &bk);
  const int ind = m->n->ndim;
  memcpy(bc, blo, sizeof bc);
  floe_status st = FLOE_OK;
  do {
    view v;
    if ((st = open_block(L, m, bc, &v)) != FLOE_OK) {
      break;
    }
    copy_block(m, &v, bc, blo, nd, ostride, cm, &bk, out);
    close_block(L, m, &v);
  } while (next_in_box(ind, blo, bhi, bc));
  free(work);
  return st;
}

/* The uses copy_from would have made, for a block nobody needs. */
static void release_copy(floe__lower *L, const lnode *m, int nd, const int64_t *ext,
                         const copy_map *cm) {
  int64_t blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS], bc[FLOE_MAX_DIMS];
  if (is_flat(m) || !(m->ch->file || m->ch->produced) || !touched(m, nd, ext, cm, blo, bhi)) {
    return;
  }
  memcpy(bc, blo, sizeof bc);
  do {
    floe__store_done(L->store, &m->ch->c[flat_of(m, bc)]);
  } while (next_in_box(m->n->ndim, blo, bhi, bc));
}

/* Counts the uses and dependencies of copy_from, at build time. */
static void depend_copy(floe__lower *L, floe_task *t, lnode *m, int nd, const int64_t *ext,
                        const copy_map *cm) {
  int64_t blo[FLOE_MAX_DIMS], bhi[FLOE_MAX_DIMS], bc[FLOE_MAX_DIMS];
  if (!touched(m, nd, ext, cm, blo, bhi)) {
    return;
  }
  memcpy(bc, blo, sizeof bc);
  do {
    depend_block(L, t, m, bc);
  } while (next_in_box(m->n->ndim, blo, bhi, bc));
}

/* Fills the value `v` of dtype t into n elements. */
static void fill_value(void *dst, floe_dtype t, double v, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    switch (t) {
    case FLOE_BOOL:
      ((uint8_t *)dst)[i] = v != 0;
      break;
    case FLOE_UINT8:
      ((uint8_t *)dst)[i] = (uint8_t)v;
      break;
    case FLOE_INT32:
      ((int32_t *)dst)[i] = (int32_t)v;
      break;
    case FLOE_INT64:
      ((int64_t *)dst)[i] = (int64_t)v;
      break;
    case FLOE_FLOAT32:
      ((float *)dst)[i] = (float)v;
      break;
    default:
      ((double *)dst)[i] = v;
      break;
    }
  }
}

/* ------------------------------------------------------- gather, concat */

/* A producer task's argument: output chunk `flat` of lnode ln, region
 * [lo, hi) (selections, joins, products, reshapes, kernels). */
typedef struct sel_arg {
  floe__lower *L;
  int ln;
  int64_t flat;
  int64_t lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS];
} sel_arg;

/* The concat parts of x along its axis: nested concats on the same axis
 * are flattened. */
static int concat_parts(const floe__lower *L, int li, int axis, int *parts, int64_t *offset,
                        int n, int64_t at, bool top) {
  const lnode *x = &L->ln[li];
  if (x->n->kind == FLOE__NODE_CONCAT && x->n->p.concat.axis == axis && (top || x->ch == NULL)) {
    for (int i = 0; i < 2; i++) {
      n = concat_parts(L, x->in[i], axis, parts, offset, n, at, false);
      at += L->ln[x->in[i]].n->shape[axis];
    }
    return n;
  }
  parts[n] = li;
  offset[n] = at;
  return n + 1;
}

#define MAX_PARTS 64

/* The maps of part `i` of a selection or join over block [lo, hi) of x:
 * fills cm (idx arrays in `store`); returns the input lnode. */
static int part_map(const floe__lower *L, int li, int part, const int *parts,
                    const int64_t *offset, const int64_t *lo, const int64_t *hi, copy_map *cm,
                    int64_t *store) {
  const floe__node *n = L->ln[li].n;
  const int nd = n->ndim;
  /* the index arrays, one after another */
  int64_t at = 0;
  for (int d = 0; d < nd; d++) {
    cm->idx[d] = store + at;
    at += hi[d] - lo[d];
  }
  memset(cm->fixed, 0, sizeof cm->fixed);
  if (n->kind == FLOE__NODE_GATHER) {
    const lnode *m = &L->ln[L->ln[li].in[0]];
    for (int k = 0; k < m->n->ndim; k++) {
      cm->fixed[k] = n->p.gather.fixed[k];
    }
    for (int d = 0; d < nd; d++) {
      int k = n->p.gather.src[d];
      cm->src[d] = k;
      if (k < 0) {
        continue;
      }
      int64_t len = m->n->shape[k];
      for (int64_t i = lo[d]; i < hi[d]; i++) {
        int64_t v = n->p.gather.take != NULL && n->p.gather.take_axis == d
                        ? n->p.gather.take->idx[i]
                        : n->p.gather.start[d] + n->p.gather.step[d] * i;
        if (v < 0 || v >= len) {
          v = n->p.gather.pad == 1 + FLOE_PAD_EDGE ? (v < 0 ? 0 : len - 1) : -1;
        }
        cm->idx[d][i - lo[d]] = v;
      }
    }
    return L->ln[li].in[0];
  }
  /* a concat part: identity, shifted along the axis */
  const int axis = n->p.concat.axis;
  const int mi = parts[part];
  const int64_t len = L->ln[mi].n->shape[axis];
  for (int d = 0; d < nd; d++) {
    cm->src[d] = d;
    for (int64_t i = lo[d]; i < hi[d]; i++) {
      int64_t v = d == axis ? i - offset[part] : i;
      cm->idx[d][i - lo[d]] = d == axis && (v < 0 || v >= len) ? -1 : v;
    }
  }
  return mi;
}

static int sel_parts(const floe__lower *L, int li, int *parts, int64_t *offset) {
  const floe__node *n = L->ln[li].n;
  if (n->kind == FLOE__NODE_GATHER) {
    return 1;
  }
  return concat_parts(L, li, n->p.concat.axis, parts, offset, 0, 0, true);
}

static floe_status sel_task(void *arg) {
  sel_arg *a = arg;
  floe__lower *L = a->L;
  const lnode *x = &L->ln[a->ln];
  const floe__node *n = x->n;
  chunked *ch = x->ch;
  const int nd = n->ndim;
  int64_t ext[FLOE_MAX_DIMS], total = 0;
  bool edge = false;
  for (int d = 0; d < nd; d++) {
    ext[d] = a->hi[d] - a->lo[d];
    total += ext[d];
    edge = edge || ext[d] < n->chunk[d];
  }
  int parts[MAX_PARTS];
  int64_t offset[MAX_PARTS];
  int np = sel_parts(L, a->ln, parts, offset);
  if (ch->readers[a->flat] == 0) {
    int64_t *idx = malloc((size_t)(total + 1) * sizeof *idx);
    FLOE_RETURN_ERROR_IF(idx == NULL, FLOE_ERR_NOMEM, "out of memory for a selection's indices");
    for (int i = 0; i < np; i++) {
      copy_map cm;
      int mi = part_map(L, a->ln, i, parts, offset, a->lo, a->hi, &cm, idx);
      release_copy(L, &L->ln[mi], nd, ext, &cm);
    }
    free(idx);
    return FLOE_OK;
  }
  floe__chunk *c = &ch->c[a->flat];
  unsigned char *buf = floe__lower_chunk_begin(L, c, "a chunk of a selection");
  /* index arrays, and per axis the positions and offsets of one block */
  int64_t *work = buf != NULL ? malloc((size_t)(total + 1) * sizeof *work) : NULL;
  floe_status st = FLOE_OK;
  if (buf == NULL) {
    st = floe__error_slot()->status;
  } else if (work == NULL) {
    st = floe__fail(FLOE_ERR_NOMEM, "out of memory for a selection's indices");
  } else {
    bool constant = n->kind == FLOE__NODE_GATHER && n->p.gather.pad == 1 + FLOE_PAD_CONSTANT;
    if (constant) {
      fill_value(buf, n->dtype, n->p.gather.value, (int64_t)(c->bytes / floe_dtype_size(n->dtype)));
    } else if (edge) {
      memset(buf, 0, c->bytes);
    }
    for (int i = 0; i < np && st == FLOE_OK; i++) {
      copy_map cm;
      int mi = part_map(L, a->ln, i, parts, offset, a->lo, a->hi, &cm, work);
      st = copy_from(L, &L->ln[mi], nd, ext, ch->cstride, &cm, buf);
    }
  }
  free(work);
  return floe__lower_chunk_end(L, c, buf, st);
}

static floe_status build_selection(floe__lower *L, int li) {
  const floe__node *n = L->ln[li].n;
  int parts[MAX_PARTS];
  int64_t offset[MAX_PARTS];
  int np = sel_parts(L, li, parts, offset);
  for (int i = 0; i < np; i++) {
    int mi = n->kind == FLOE__NODE_GATHER ? L->ln[li].in[0] : parts[i];
    FLOE_FORWARD_IF_ERROR(ensure_input(L, mi));
  }
  FLOE_FORWARD_IF_ERROR(make_produced(L, li));
  lnode *x = &L->ln[li];
  uint64_t most_in = 0;
  for (int i = 0; i < np; i++) {
    const lnode *m = &L->ln[n->kind == FLOE__NODE_GATHER ? x->in[0] : parts[i]];
    uint64_t b = m->ch != NULL ? m->ch->block_bytes : 0;
    most_in = b > most_in ? b : most_in;
  }
  floe__lower_note_task(L, x->ch->block_bytes + most_in, "copying a chunk of a selection");
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  grid g = grid_of(n);
  int64_t total = 0;
  for (int d = 0; d < n->ndim; d++) {
    total += n->chunk[d];
  }
  int64_t *work = malloc((size_t)(total + 1) * sizeof *work);
  FLOE_RETURN_ERROR_IF(work == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  int64_t coord[FLOE_MAX_DIMS] = {0};
  floe_status st = FLOE_OK;
  for (int64_t b = 0; b < g.total && st == FLOE_OK; b++) {
    sel_arg *a = floe__lower_alloc(L, sizeof *a);
    if (a == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
      break;
    }
    memset(a, 0, sizeof *a);
    a->L = L;
    a->ln = li;
    a->flat = b;
    chunk_region(n, coord, a->lo, a->hi);
    floe_task *t = floe__lower_task(L, sel_task, a, "select");
    int64_t ext[FLOE_MAX_DIMS];
    for (int d = 0; d < n->ndim; d++) {
      ext[d] = a->hi[d] - a->lo[d];
    }
    for (int i = 0; i < np; i++) {
      copy_map cm;
      int mi = part_map(L, li, i, parts, offset, a->lo, a->hi, &cm, work);
      depend_copy(L, t, &L->ln[mi], n->ndim, ext, &cm);
    }
    x->done[b] = t;
    next_coord(n->ndim, g.n, coord);
  }
  free(work);
  return st;
}

/* --------------------------------------------------------------- matmul */

/* c[m x n] (+)= a[m x k] b[k x n], row-major with leading dimensions. */
static void gemm(floe_dtype t, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, void *c, int64_t ldc, bool accumulate) {
  switch (t) {
  case FLOE_FLOAT64:
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)n, (blasint)k,
                1.0, a, (blasint)lda, b, (blasint)ldb, accumulate ? 1.0 : 0.0, c, (blasint)ldc);
    return;
  case FLOE_FLOAT32:
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, (blasint)n, (blasint)k,
                1.0f, a, (blasint)lda, b, (blasint)ldb, accumulate ? 1.0f : 0.0f, c,
                (blasint)ldc);
    return;
  default:
    break;
  }
#define INT_GEMM(T, ACC)                                                                           \
  for (int64_t i = 0; i < m; i++) {                                                                \
    T *ci = (T *)c + i * ldc;                                                                      \
    if (!accumulate) {                                                                             \
      memset(ci, 0, (size_t)n * sizeof(T));                                                        \
    }                                                                                              \
    for (int64_t p = 0; p < k; p++) {                                                              \
      const T av = ((const T *)a)[i * lda + p];                                                    \
      const T *bp = (const T *)b + p * ldb;                                                        \
      for (int64_t j = 0; j < n; j++) {                                                            \
        ci[j] = ACC;                                                                               \
      }                                                                                            \
    }                                                                                              \
  }
  switch (t) {
  case FLOE_INT64:
    INT_GEMM(int64_t, (int64_t)((uint64_t)ci[j] + (uint64_t)av * (uint64_t)bp[j]))
    break;
  case FLOE_INT32:
    INT_GEMM(int32_t, (int32_t)((uint32_t)ci[j] + (uint32_t)av * (uint32_t)bp[j]))
    break;
  case FLOE_UINT8:
    INT_GEMM(uint8_t, (uint8_t)(ci[j] + av * bp[j]))
    break;
  default: /* bool: or of ands */
    INT_GEMM(uint8_t, (uint8_t)(ci[j] | (av & bp[j])))
    break;
  }
#undef INT_GEMM
}

/* One step of a product's output block: batch element `bi`, the inner
 * segment [k0, k1) where neither operand's blocks change, those blocks,
 * and where the batch element's matrix starts in the output block. */
typedef struct mm_step {
  const int64_t *bi;
  int64_t k0, k1;
  int64_t abc[FLOE_MAX_DIMS], bbc[FLOE_MAX_DIMS];
  int64_t out_off;
} mm_step;

typedef floe_status (*mm_fn)(void *ctx, const mm_step *st);

/* Walks output block [lo, hi) of x = a @ b (batch axes first, the last two
 * the matrix): every batch element, and along the inner axis in order. */
static floe_status mm_walk(const floe__lower *L, const lnode *x, const int64_t *lo,
                           const int64_t *hi, mm_fn fn, void *ctx) {
  const lnode *A = &L->ln[x->in[0]], *B = &L->ln[x->in[1]];
  const int nd = x->n->ndim, nb = nd - 2;
  const int64_t K = A->n->shape[nd - 1];
  int64_t bi[FLOE_MAX_DIMS];
  for (int d = 0; d < nb; d++) {
    bi[d] = lo[d];
  }
  for (;;) {
    mm_step st = {.bi = bi};
    for (int d = 0; d < nb; d++) {
      st.out_off += (bi[d] - lo[d]) * x->ch->cstride[d];
      st.abc[d] = bi[d] / block_len(A, d);
      st.bbc[d] = bi[d] / block_len(B, d);
    }
    st.abc[nb] = lo[nb] / block_len(A, nb);
    st.bbc[nb + 1] = lo[nb + 1] / block_len(B, nb + 1);
    for (st.k0 = 0; st.k0 < K; st.k0 = st.k1) {
      int64_t ca = block_len(A, nb + 1), cb = block_len(B, nb);
      int64_t k1 = (st.k0 / ca + 1) * ca, kb = (st.k0 / cb + 1) * cb;
      k1 = kb < k1 ? kb : k1;
      st.k1 = k1 < K ? k1 : K;
      st.abc[nb + 1] = st.k0 / ca;
      st.bbc[nb] = st.k0 / cb;
      FLOE_FORWARD_IF_ERROR(fn(ctx, &st));
    }
    if (K == 0) {
      FLOE_FORWARD_IF_ERROR(fn(ctx, &st)); /* k0 == k1 == 0: zeros */
    }
    int d = nb - 1;
    for (; d >= 0; d--) {
      if (++bi[d] < hi[d]) {
        break;
      }
      bi[d] = lo[d];
    }
    if (d < 0) {
      return FLOE_OK;
    }
  }
}

typedef struct mm_ctx {
  floe__lower *L;
  const lnode *x, *A, *B;
  lnode *Am, *Bm; /* for building */
  floe_task *t;
  const int64_t *lo, *hi;
  unsigned char *buf;
  bool release;
} mm_ctx;

static floe_status mm_depend_fn(void *ctx, const mm_step *st) {
  mm_ctx *c = ctx;
  if (st->k1 > st->k0) {
    depend_block(c->L, c->t, c->Am, st->abc);
    depend_block(c->L, c->t, c->Bm, st->bbc);
  }
  return FLOE_OK;
}

static void done_use(floe__lower *L, const lnode *m, const int64_t *bc) {
  if (!is_flat(m) && (m->ch->file || m->ch->produced)) {
    floe__store_done(L->store, &m->ch->c[flat_of(m, bc)]);
  }
}

/* The offset of batch element bi, row r, column c of operand m's block bc. */
static int64_t mm_at(const lnode *m, const view *v, const int64_t *bi, int nb, const int64_t *bc,
                     int64_t r, int64_t col) {
  int64_t off = 0;
  for (int d = 0; d < nb; d++) {
    off += (bi[d] - bc[d] * block_len(m, d)) * v->stride[d];
  }
  off += (r - bc[nb] * block_len(m, nb)) * v->stride[nb];
  off += col - bc[nb + 1] * block_len(m, nb + 1);
  return off;
}

static floe_status mm_run_fn(void *ctx, const mm_step *st) {
  mm_ctx *c = ctx;
  const int nd = c->x->n->ndim, nb = nd - 2;
  const size_t esz = floe_dtype_size(c->x->n->dtype);
  if (c->release) {
    if (st->k1 > st->k0) {
      done_use(c->L, c->A, st->abc);
      done_use(c->L, c->B, st->bbc);
    }
    return FLOE_OK;
  }
  const int64_t m = c->hi[nb] - c->lo[nb], n = c->hi[nb + 1] - c->lo[nb + 1];
  const int64_t ldc = c->x->n->chunk[nb + 1];
  unsigned char *out = c->buf + (size_t)st->out_off * esz;
  if (st->k1 == st->k0) {
    return FLOE_OK; /* an empty inner axis: the zeroed buffer */
  }
  view va, vb;
  FLOE_FORWARD_IF_ERROR(open_block(c->L, c->A, st->abc, &va));
  floe_status s = open_block(c->L, c->B, st->bbc, &vb);
  if (s == FLOE_OK) {
    int64_t ao = mm_at(c->A, &va, st->bi, nb, st->abc, c->lo[nb], st->k0);
    int64_t bo = mm_at(c->B, &vb, st->bi, nb, st->bbc, st->k0, c->lo[nb + 1]);
    gemm(c->x->n->dtype, m, n, st->k1 - st->k0, va.base + (size_t)ao * esz, va.stride[nb],
         vb.base + (size_t)bo * esz, vb.stride[nb], out, ldc, st->k0 > 0);
    close_block(c->L, c->B, &vb);
  }
  close_block(c->L, c->A, &va);
  return s;
}

/* Output block [lo, hi) of a @ b: for every batch element, the inner axis
 * walked in order, in segments where neither operand's blocks change. */
static floe_status mm_task(void *arg) {
  sel_arg *a = arg;
  floe__lower *L = a->L;
  const lnode *x = &L->ln[a->ln];
  mm_ctx c = {.L = L, .x = x, .A = &L->ln[x->in[0]], .B = &L->ln[x->in[1]], .lo = a->lo,
              .hi = a->hi};
  if (x->ch->readers[a->flat] == 0) {
    c.release = true; /* the uses it would have made */
    return mm_walk(L, x, a->lo, a->hi, mm_run_fn, &c);
  }
  floe__chunk *ck = &x->ch->c[a->flat];
  c.buf = floe__lower_chunk_begin(L, ck, "a chunk of a product");
  floe_status st = c.buf == NULL ? floe__error_slot()->status : FLOE_OK;
  if (st == FLOE_OK) {
    memset(c.buf, 0, ck->bytes);
    st = mm_walk(L, x, a->lo, a->hi, mm_run_fn, &c);
  }
  return floe__lower_chunk_end(L, ck, c.buf, st);
}

/* OpenBLAS runs single-threaded: floe's workers are the parallelism. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_one_thread(void) { openblas_set_num_threads(1); }

static floe_status build_matmul(floe__lower *L, int li) {
  pthread_once(&blas_once, blas_one_thread);
  FLOE_FORWARD_IF_ERROR(ensure_input(L, L->ln[li].in[0]));
  FLOE_FORWARD_IF_ERROR(ensure_input(L, L->ln[li].in[1]));
  FLOE_FORWARD_IF_ERROR(make_produced(L, li));
  lnode *x = &L->ln[li];
  lnode *A = &L->ln[x->in[0]], *B = &L->ln[x->in[1]];
  const floe__node *n = x->n;
  floe__lower_note_task(L,
                        x->ch->block_bytes + (A->ch != NULL ? A->ch->block_bytes : 0) +
                            (B->ch != NULL ? B->ch->block_bytes : 0),
                        "multiplying a chunk of a product");
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  grid g = grid_of(n);
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t b = 0; b < g.total; b++) {
    sel_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->L = L;
    a->ln = li;
    a->flat = b;
    chunk_region(n, coord, a->lo, a->hi);
    floe_task *t = floe__lower_task(L, mm_task, a, "matmul");
    mm_ctx c = {.L = L, .x = x, .A = A, .B = B, .Am = A, .Bm = B, .t = t};
    FLOE_FORWARD_IF_ERROR(mm_walk(L, x, a->lo, a->hi, mm_depend_fn, &c));
    x->done[b] = t;
    next_coord(n->ndim, g.n, coord);
  }
  return FLOE_OK;
}

/* ------------------------------------------------------ along an axis */

typedef struct ax_arg {
  floe__lower *L;
  int ln;
  int64_t flat;
  int64_t lo[FLOE_MAX_DIMS], hi[FLOE_MAX_DIMS]; /* of the input block */
  int64_t bc[FLOE_MAX_DIMS];                    /* the input block */
  int64_t prev[FLOE_MAX_DIMS];                  /* a scan's previous output block */
  bool carry;                                   /* along the axis: prev holds the carry */
} ax_arg;

/* One output chunk: every lane of the input chunk along the axis through
 * the kernel. */
static floe_status ax_task(void *arg) {
  ax_arg *a = arg;
  floe__lower *L = a->L;
  const lnode *x = &L->ln[a->ln];
  const lnode *m = &L->ln[x->in[0]];
  const floe__node *n = x->n, *in = m->n;
  const int axis = n->p.axis.axis, nd = in->ndim;
  floe__chunk *c = &x->ch->c[a->flat];
  if (x->ch->readers[a->flat] == 0) {
    if (!is_flat(m) && (m->ch->file || m->ch->produced)) {
      floe__store_done(L->store, &m->ch->c[flat_of(m, a->bc)]);
    }
    if (a->carry) {
      floe__store_done(L->store, &x->ch->c[flat_of(x, a->prev)]);
    }
    return FLOE_OK;
  }
  const int64_t len = a->hi[axis] - a->lo[axis]; /* the whole axis, but for scans */
  const size_t isz = floe_dtype_size(in->dtype), osz = floe_dtype_size(n->dtype);
  const floe__axis_op op = n->p.axis.op;
  unsigned char *buf = floe__lower_chunk_begin(L, c, "a chunk along an axis");
  unsigned char *lane = buf != NULL ? malloc((size_t)(len > 0 ? len : 1) * 16) : NULL;
  floe_status st = buf == NULL ? floe__error_slot()->status : FLOE_OK;
  if (st == FLOE_OK && lane == NULL) {
    st = floe__fail(FLOE_ERR_NOMEM, "out of memory for a lane of %lld elements", (long long)len);
  }
  view v = {.pinned = NULL}, pv = {.pinned = NULL};
  if (st == FLOE_OK) {
    st = open_block(L, m, a->bc, &v);
  }
  if (st == FLOE_OK && a->carry && (st = open_block(L, x, a->prev, &pv)) != FLOE_OK) {
    close_block(L, m, &v);
  }
  if (st == FLOE_OK) {
    memset(buf, 0, c->bytes);
    /* lanes: every position of the other axes within the block */
    int64_t it[FLOE_MAX_DIMS];
    memcpy(it, a->lo, sizeof it);
    it[axis] = 0;
    unsigned char *res = lane + (size_t)len * 8;
    const int64_t at = a->lo[axis] - a->bc[axis] * block_len(m, axis); /* the lane's start */
    for (;;) {
      int64_t so = 0;
      for (int d = 0; d < nd; d++) {
        if (d != axis) {
          so += (it[d] - a->bc[d] * block_len(m, d)) * v.stride[d];
        }
      }
      for (int64_t i = 0; i < len; i++) {
        memcpy(lane + (size_t)i * isz, v.base + (size_t)(so + (at + i) * v.stride[axis]) * isz,
               isz);
      }
      /* the output position: the same (scan, sort) or without the axis */
      int64_t oo = 0;
      for (int d = 0, e = 0; d < nd; d++) {
        bool keep = op <= FLOE__AXIS_SORT || d != axis;
        if (!keep) {
          continue;
        }
        int64_t rel = d == axis ? 0 : it[d] - a->lo[d];
        oo += rel * x->ch->cstride[e++];
      }
      int oaxis = axis; /* the axis in the output, for scan and sort */
      switch (op) {
      case FLOE__AXIS_CUMSUM:
      case FLOE__AXIS_CUMPROD:
        floe__scan(op == FLOE__AXIS_CUMPROD, in->dtype, lane, res, len,
                   a->carry ? pv.base + (size_t)(oo + (n->chunk[axis] - 1) *
                                                         x->ch->cstride[oaxis]) * osz
                            : NULL);
        for (int64_t i = 0; i < len; i++) {
          memcpy(buf + (size_t)(oo + i * x->ch->cstride[oaxis]) * osz, res + (size_t)i * osz, osz);
        }
        break;
      case FLOE__AXIS_SORT:
        floe__sort(in->dtype, lane, len);
        for (int64_t i = 0; i < len; i++) {
          memcpy(buf + (size_t)(oo + i * x->ch->cstride[oaxis]) * osz, lane + (size_t)i * osz, osz);
        }
        break;
      default:
        floe__quantile(in->dtype, lane, len, n->p.axis.q, op == FLOE__AXIS_MEDIAN,
                       buf + (size_t)oo * osz);
        break;
      }
      int d = nd - 1;
      for (; d >= 0; d--) {
        if (d == axis) {
          continue;
        }
        if (++it[d] < a->hi[d]) {
          break;
        }
        it[d] = a->lo[d];
      }
      if (d < 0) {
        break;
      }
    }
    close_block(L, m, &v);
    if (a->carry) {
      close_block(L, x, &pv);
    }
  }
  free(lane);
  return floe__lower_chunk_end(L, c, buf, st);
}

static floe_status build_axis(floe__lower *L, int li) {
  FLOE_FORWARD_IF_ERROR(ensure_input(L, L->ln[li].in[0]));
  FLOE_FORWARD_IF_ERROR(make_produced(L, li));
  lnode *x = &L->ln[li];
  lnode *m = &L->ln[x->in[0]];
  const floe__node *in = m->n;
  const int axis = x->n->p.axis.axis;
  floe__lower_note_task(L, x->ch->block_bytes + (m->ch != NULL ? m->ch->block_bytes : 0),
                        "computing along an axis");
  if (floe__node_size(x->n) == 0 || floe__node_size(in) == 0) {
    return FLOE_OK;
  }
  /* one task per input block (the axis is whole in each): its output
     block is the same one, or the one without the axis */
  int64_t nb[FLOE_MAX_DIMS], bc[FLOE_MAX_DIMS] = {0};
  int64_t total = 1;
  for (int d = 0; d < in->ndim; d++) {
    nb[d] = (in->shape[d] + in->chunk[d] - 1) / in->chunk[d];
    total *= nb[d];
  }
  for (int64_t b = 0; b < total; b++) {
    ax_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->L = L;
    a->ln = li;
    int64_t of = 0;
    for (int d = 0, e = 0; d < in->ndim; d++) {
      a->lo[d] = bc[d] * in->chunk[d];
      a->hi[d] = a->lo[d] + in->chunk[d] < in->shape[d] ? a->lo[d] + in->chunk[d] : in->shape[d];
      a->bc[d] = a->lo[d] / block_len(m, d);
      bool keep = x->n->p.axis.op <= FLOE__AXIS_SORT || d != axis;
      if (keep) {
        int64_t cn = (x->n->shape[e] + x->n->chunk[e] - 1) / x->n->chunk[e];
        of = of * cn + bc[d];
        e++;
      }
    }
    a->flat = of;
    floe_task *t = floe__lower_task(L, ax_task, a, "axis");
    depend_block(L, t, m, a->bc);
    if (x->n->p.axis.op <= FLOE__AXIS_CUMPROD && bc[axis] > 0) {
      /* a scan's chunk starts from the last values of the one before */
      memcpy(a->prev, bc, sizeof a->prev);
      a->prev[axis]--;
      a->carry = true;
      depend_block(L, t, x, a->prev);
    }
    x->done[of] = t;
    next_coord(in->ndim, nb, bc);
  }
  return FLOE_OK;
}

/* ---------------------------------------------------------------- reshape */

/* The walk of an output block of a reshape over its input: runs of
 * elements contiguous in both, each in one input block.  Calls `run` for
 * each run with the input block coordinates, the element's offset in that
 * block (from its origin, in the block's strides), the output offset in
 * the block buffer and the length; `change` is true when the input block
 * differs from the previous run's. */
typedef struct rs_walk {
  const lnode *m;
  const floe__node *out;
  const int64_t *lo, *hi;
  const int64_t *ostride; /* the output block's C strides */
} rs_walk;

typedef floe_status (*rs_fn)(void *ctx, const int64_t *bc, bool change, int64_t elem,
                             int64_t dst, int64_t len);

static floe_status rs_run(const rs_walk *w, rs_fn fn, void *ctx) {
  const floe__node *in = w->m->n, *out = w->out;
  const int ind = in->ndim, ond = out->ndim;
  int64_t ofs[FLOE_MAX_DIMS], c = 1; /* the output's C strides, whole array */
  for (int d = ond - 1; d >= 0; d--) {
    ofs[d] = c;
    c *= out->shape[d];
  }
  int64_t istr[FLOE_MAX_DIMS]; /* the input's strides within a block */
  c = 1;
  for (int d = ind - 1; d >= 0; d--) {
    istr[d] = w->m->ch != NULL ? w->m->ch->cstride[d] : c;
    c *= in->shape[d];
  }
  int64_t it[FLOE_MAX_DIMS] = {0}, prev[FLOE_MAX_DIMS];
  bool have = false;
  for (int d = 0; d < ond; d++) {
    it[d] = w->lo[d];
  }
  const int last = ond - 1;
  for (;;) {
    int64_t f = 0, dst = 0;
    for (int d = 0; d < ond; d++) {
      f += (d == last ? w->lo[d] : it[d]) * ofs[d];
      dst += ((d == last ? w->lo[d] : it[d]) - w->lo[d]) * w->ostride[d];
    }
    int64_t left = ond > 0 ? w->hi[last] - w->lo[last] : 1;
    while (left > 0) {
      int64_t co[FLOE_MAX_DIMS], rest = f, bc[FLOE_MAX_DIMS];
      for (int d = ind - 1; d >= 0; d--) {
        co[d] = rest % in->shape[d];
        rest /= in->shape[d];
      }
      int64_t r = left;
      if (ind > 0) {
        int64_t row_left = in->shape[ind - 1] - co[ind - 1];
        int64_t cl = block_len(w->m, ind - 1);
        int64_t blk_left = cl - co[ind - 1] % cl;
        r = r < row_left ? r : row_left;
        r = r < blk_left ? r : blk_left;
      }
      int64_t elem = 0;
      bool change = !have;
      for (int d = 0; d < ind; d++) {
        bc[d] = co[d] / block_len(w->m, d);
        change = change || bc[d] != prev[d];
        elem += (co[d] - bc[d] * block_len(w->m, d)) * istr[d];
      }
      FLOE_FORWARD_IF_ERROR(fn(ctx, bc, change, elem, dst, r));
      memcpy(prev, bc, sizeof prev);
      have = true;
      f += r;
      dst += r;
      left -= r;
    }
    int d = last - 1;
    for (; d >= 0; d--) {
      if (++it[d] < w->hi[d]) {
        break;
      }
      it[d] = w->lo[d];
    }
    if (d < 0) {
      return FLOE_OK;
    }
  }
}

typedef struct rs_copy {
  floe__lower *L;
  const lnode *m;
  view v;
  bool open;
  unsigned char *out;
  size_t esz;
} rs_copy;

static floe_status rs_copy_fn(void *ctx, const int64_t *bc, bool change, int64_t elem,
                              int64_t dst, int64_t len) {
  rs_copy *c = ctx;
  if (change) {
    if (c->open) {
      close_block(c->L, c->m, &c->v);
      c->open = false;
    }
    FLOE_FORWARD_IF_ERROR(open_block(c->L, c->m, bc, &c->v));
    c->open = true;
  }
  memcpy(c->out + (size_t)dst * c->esz, c->v.base + (size_t)elem * c->esz, (size_t)len * c->esz);
  return FLOE_OK;
}

typedef struct rs_dep {
  floe__lower *L;
  floe_task *t;
  lnode *m;
  bool release;
} rs_dep;

static floe_status rs_dep_fn(void *ctx, const int64_t *bc, bool change, int64_t elem,
                             int64_t dst, int64_t len) {
  (void)elem;
  (void)dst;
  (void)len;
  rs_dep *d = ctx;
  if (!change) {
    return FLOE_OK;
  }
  if (d->release) {
    if (!is_flat(d->m) && (d->m->ch->file || d->m->ch->produced)) {
      floe__store_done(d->L->store, &d->m->ch->c[flat_of(d->m, bc)]);
    }
  } else {
    depend_block(d->L, d->t, d->m, bc);
  }
  return FLOE_OK;
}

static floe_status rs_task(void *arg) {
  sel_arg *a = arg;
  floe__lower *L = a->L;
  const lnode *x = &L->ln[a->ln];
  lnode *m = &L->ln[x->in[0]];
  rs_walk w = {m, x->n, a->lo, a->hi, x->ch->cstride};
  if (x->ch->readers[a->flat] == 0) {
    rs_dep d = {L, NULL, m, true};
    return rs_run(&w, rs_dep_fn, &d);
  }
  floe__chunk *c = &x->ch->c[a->flat];
  unsigned char *buf = floe__lower_chunk_begin(L, c, "a chunk of a reshape");
  floe_status st = buf == NULL ? floe__error_slot()->status : FLOE_OK;
  if (st == FLOE_OK) {
    memset(buf, 0, c->bytes);
    rs_copy cp = {.L = L, .m = m, .out = buf, .esz = floe_dtype_size(x->n->dtype)};
    st = rs_run(&w, rs_copy_fn, &cp);
    if (cp.open) {
      close_block(L, m, &cp.v);
    }
  }
  return floe__lower_chunk_end(L, c, buf, st);
}

static floe_status build_reshape(floe__lower *L, int li) {
  FLOE_FORWARD_IF_ERROR(ensure_input(L, L->ln[li].in[0]));
  FLOE_FORWARD_IF_ERROR(make_produced(L, li));
  lnode *x = &L->ln[li];
  lnode *m = &L->ln[x->in[0]];
  const floe__node *n = x->n;
  floe__lower_note_task(L, x->ch->block_bytes + (m->ch != NULL ? m->ch->block_bytes : 0),
                        "copying a chunk of a reshape");
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  grid g = grid_of(n);
  int64_t coord[FLOE_MAX_DIMS] = {0};
  for (int64_t b = 0; b < g.total; b++) {
    sel_arg *a = floe__lower_alloc(L, sizeof *a);
    FLOE_RETURN_ERROR_IF(a == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
    memset(a, 0, sizeof *a);
    a->L = L;
    a->ln = li;
    a->flat = b;
    chunk_region(n, coord, a->lo, a->hi);
    floe_task *t = floe__lower_task(L, rs_task, a, "reshape");
    rs_walk w = {m, n, a->lo, a->hi, x->ch->cstride};
    rs_dep d = {L, t, m, false};
    FLOE_FORWARD_IF_ERROR(rs_run(&w, rs_dep_fn, &d));
    x->done[b] = t;
    next_coord(n->ndim, g.n, coord);
  }
  return FLOE_OK;
}

/* ------------------------------------------------------------ user kernels */

/* The map of input i over output block [lo, hi): the same positions, in
 * the input's coordinates, which are shifted by the halo (the inputs are
 * padded by depth on both sides). */
static void map_copy_map(const floe__node *n, const int64_t *lo, const int64_t *ext,
                         copy_map *cm, int64_t *store) {
  memset(cm->fixed, 0, sizeof cm->fixed);
  int64_t at = 0;
  for (int d = 0; d < n->ndim; d++) {
    cm->src[d] = d;
    cm->idx[d] = store + at;
    for (int64_t p = 0; p < ext[d]; p++) {
      cm->idx[d][p] = lo[d] + p; /* padded: output lo - depth is padded lo */
    }
    at += ext[d];
  }
}

static floe_status map_task(void *arg) {
  sel_arg *a = arg;
  floe__lower *L = a->L;
  const lnode *x = &L->ln[a->ln];
  const floe__node *n = x->n;
  const int nd = n->ndim, nin = n->nin;
  int64_t ext[FLOE_MAX_DIMS], iext[FLOE_MAX_DIMS], total = 0;
  size_t ielems = 1;
  for (int d = 0; d < nd; d++) {
    ext[d] = a->hi[d] - a->lo[d];
    iext[d] = ext[d] + 2 * n->p.map.depth[d];
    total += iext[d];
    ielems *= (size_t)iext[d];
  }
  int64_t *idx = malloc((size_t)(total + 1) * sizeof *idx);
  FLOE_RETURN_ERROR_IF(idx == NULL, FLOE_ERR_NOMEM, "out of memory for a kernel's indices");
  if (x->ch->readers[a->flat] == 0) {
    for (int i = 0; i < nin; i++) {
      copy_map cm;
      map_copy_map(n, a->lo, iext, &cm, idx);
      release_copy(L, &L->ln[x->in[i]], nd, iext, &cm);
    }
    free(idx);
    return FLOE_OK;
  }
  floe__chunk *c = &x->ch->c[a->flat];
  unsigned char *buf = floe__lower_chunk_begin(L, c, "a chunk of a kernel's output");
  floe_status st = buf == NULL ? floe__error_slot()->status : FLOE_OK;
  floe_block in[3], out;
  unsigned char *ibuf[3] = {NULL, NULL, NULL};
  size_t ibytes[3] = {0, 0, 0};
  for (int i = 0; i < nin && st == FLOE_OK; i++) {
    const lnode *m = &L->ln[x->in[i]];
    ibytes[i] = ielems * floe_dtype_size(m->n->dtype);
    ibuf[i] = floe__store_alloc(L->store, ibytes[i], "a kernel's input block", &L->io);
    if (ibuf[i] == NULL) {
      st = floe__error_slot()->status;
      break;
    }
    floe_block *b = &in[i];
    memset(b, 0, sizeof *b);
    b->data = ibuf[i];
    b->dtype = m->n->dtype;
    b->ndim = nd;
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
      b->shape[d] = iext[d];
      b->stride[d] = s;
      s *= iext[d];
      b->origin[d] = a->lo[d] - n->p.map.depth[d];
      b->index[d] = a->lo[d] / n->chunk[d];
    }
    copy_map cm;
    map_copy_map(n, a->lo, iext, &cm, idx);
    st = copy_from(L, m, nd, iext, b->stride, &cm, ibuf[i]);
  }
  if (st == FLOE_OK) {
    memset(buf, 0, c->bytes);
    memset(&out, 0, sizeof out);
    out.data = buf;
    out.dtype = n->dtype;
    out.ndim = nd;
    for (int d = 0; d < nd; d++) {
      out.shape[d] = ext[d];
      out.stride[d] = x->ch->cstride[d];
      out.origin[d] = a->lo[d];
      out.index[d] = a->lo[d] / n->chunk[d];
    }
    floe__error_slot()->set = 0;
    st = n->p.map.fn(n->p.map.user, &out, in, nin);
    if (st != FLOE_OK && !floe__error_slot()->set) {
      bool halo = false;
      for (int d = 0; d < nd; d++) {
        halo = halo || n->p.map.depth[d] > 0;
      }
      st = floe__fail(st, "%s: the kernel failed (%s, without a message) on the chunk at index "
                          "%lld",
                      halo ? "floe_map_overlap" : "floe_map_blocks", floe_status_name(st),
                      (long long)a->flat);
    }
  }
  for (int i = 0; i < nin; i++) {
    floe__store_release(L->store, ibuf[i], ibytes[i]);
  }
  free(idx);
  return floe__lower_chunk_end(L, c, buf, st);
}

static floe_status build_map(floe__lower *L, int li) {
  for (int i = 0; i < L->ln[li].n->nin; i++) {
    FLOE_FORWARD_IF_ERROR(ensure_input(L, L->ln[li].in[i]));
  }
  FLOE_FORWARD_IF_ERROR(make_produced(L, li));
  lnode *x = &L->ln[li];
  const floe__node *n = x->n;
  uint64_t ws = 2 * x->ch->block_bytes;
  for (int i = 0; i < n->nin; i++) {
    const lnode *m = &L->ln[x->in[i]];
    ws += 2 * (m->ch != NULL ? m->ch->block_bytes : 0);
  }
  floe__lower_note_task(L, ws, "running a kernel on a chunk");
  if (floe__node_size(n) == 0) {
    return FLOE_OK;
  }
  grid g = grid_of(n);
  int64_t total = 0;
  for (int d = 0; d < n->ndim; d++) {
    total += n->chunk[d] + 2 * n->p.map.depth[d];
  }
  int64_t *idx = malloc((size_t)(total + 1) * sizeof *idx);
  FLOE_RETURN_ERROR_IF(idx == NULL, FLOE_ERR_NOMEM, "out of memory planning a compute");
  int64_t coord[FLOE_MAX_DIMS] = {0};
  floe_status st = FLOE_OK;
  for (int64_t b = 0; b < g.total; b++) {
    sel_arg *a = floe__lower_alloc(L, sizeof *a);
    if (a == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory planning a compute");
      break;
    }
    memset(a, 0, sizeof *a);
    a->L = L;
    a->ln = li;
    a->flat = b;
    chunk_region(n, coord, a->lo, a->hi);
    floe_task *t = floe__lower_task(L, map_task, a, "kernel");
    int64_t iext[FLOE_MAX_DIMS];
    for (int d = 0; d < n->ndim; d++) {
      iext[d] = a->hi[d] - a->lo[d] + 2 * n->p.map.depth[d];
    }
    for (int i = 0; i < n->nin; i++) {
      copy_map cm;
      map_copy_map(n, a->lo, iext, &cm, idx);
      depend_copy(L, t, &L->ln[x->in[i]], n->ndim, iext, &cm);
    }
    x->done[b] = t;
    next_coord(n->ndim, g.n, coord);
  }
  free(idx);
  return st;
}

/* ---------------------------------------------------------------- entry */

floe_status floe__produce(floe__lower *L, int li) {
  if (L->ln[li].ch != NULL) {
    return FLOE_OK;
  }
  switch (L->ln[li].n->kind) {
  case FLOE__NODE_GATHER:
  case FLOE__NODE_CONCAT:
    return build_selection(L, li);
  case FLOE__NODE_MATMUL:
    return build_matmul(L, li);
  case FLOE__NODE_AXIS:
    return build_axis(L, li);
  case FLOE__NODE_RESHAPE:
    return build_reshape(L, li);
  case FLOE__NODE_MAP:
    return build_map(L, li);
  default:
    return ensure_input(L, li);
  }
}
