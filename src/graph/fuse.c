/* Fusion: an elementwise expression DAG becomes one register program.
 *
 * Values are numbered as they are emitted (one per lnode and dtype, so a
 * shared subexpression or cast is computed once per tile); physical
 * registers are then assigned by liveness, constants keeping theirs for the
 * whole run since they are filled once. */
#include <stdlib.h>
#include <string.h>

#include "lower-state.h"

enum { MAX_VALUES = 4096, MAX_REGS = 64 };

typedef struct builder {
  floe__lower *L;
  const floe__node *root;
  floe__vm_insn *insn;
  int ninsn, capinsn;
  floe__vm_leaf *leaves;
  int *leaf_lnode;
  int nleaves, capleaves;
  bool too_many_leaves;
  /* memo: (lnode, dtype) -> value */
  int *memo; /* nln * FLOE_DTYPE_COUNT_, -1 when absent */
  int nvalues;
} builder;

void floe__broadcast_strides(const floe__node *n, int ndim, const int64_t *shape,
                             int64_t *stride) {
  int64_t c = 1;
  int64_t cs[FLOE_MAX_DIMS];
  for (int k = n->ndim - 1; k >= 0; k--) {
    cs[k] = c;
    c *= n->shape[k];
  }
  for (int d = 0; d < ndim; d++) {
    int k = d - (ndim - n->ndim);
    stride[d] = (k < 0 || (n->shape[k] == 1 && shape[d] != 1)) ? 0 : cs[k];
  }
  for (int d = ndim; d < FLOE_MAX_DIMS; d++) {
    stride[d] = 0;
  }
}

static int emit(builder *b, floe__vm_insn in) {
  if (b->ninsn == b->capinsn) {
    int cap = b->capinsn ? b->capinsn * 2 : 32;
    floe__vm_insn *p = realloc(b->insn, (size_t)cap * sizeof *p);
    if (p == NULL) {
      return -1;
    }
    b->insn = p;
    b->capinsn = cap;
  }
  if (b->nvalues >= MAX_VALUES) {
    return -1;
  }
  in.dst = b->nvalues++;
  b->insn[b->ninsn++] = in;
  return in.dst;
}

static int add_leaf(builder *b, const floe__node *n, int ln) {
  if (b->nleaves >= FLOE__VM_MAX_LEAVES) {
    b->too_many_leaves = true;
    return -1;
  }
  if (b->nleaves == b->capleaves) {
    int cap = b->capleaves ? b->capleaves * 2 : 8;
    floe__vm_leaf *p = realloc(b->leaves, (size_t)cap * sizeof *p);
    int *q = realloc(b->leaf_lnode, (size_t)cap * sizeof *q);
    if (p != NULL) {
      b->leaves = p;
    }
    if (q != NULL) {
      b->leaf_lnode = q;
    }
    if (p == NULL || q == NULL) {
      return -1;
    }
    b->capleaves = cap;
  }
  floe__vm_leaf *l = &b->leaves[b->nleaves];
  memset(l, 0, sizeof *l);
  floe__broadcast_strides(n, b->root->ndim, b->root->shape, l->stride);
  b->leaf_lnode[b->nleaves] = ln;
  return b->nleaves++;
}

static int value_of(builder *b, int ln, floe_dtype want);

/* The value of lnode `ln` in its own dtype. */
static int compute(builder *b, int ln) {
  floe__lower *L = b->L;
  const lnode *x = &L->ln[ln];
  const floe__node *n = x->n;
  floe__vm_insn in = {.dtype = n->dtype, .a = -1, .b = -1, .c = -1, .leaf = -1};
  switch (n->kind) {
  case FLOE__NODE_FULL:
    in.code = FLOE__VM_FILL;
    in.value = n->p.full.value;
    in.ivalue = n->p.full.ivalue;
    return emit(b, in);
  case FLOE__NODE_ARANGE: {
    in.code = FLOE__VM_IOTA;
    if ((in.leaf = add_leaf(b, n, -1)) < 0) {
      return -1;
    }
    floe__vm_leaf *l = &b->leaves[in.leaf];
    l->start = n->p.arange.start;
    l->step = n->p.arange.step;
    l->stop = n->p.arange.stop;
    l->pin_last = n->p.arange.pin_last;
    l->pin_index = n->shape[0] - 1;
    return emit(b, in);
  }
  case FLOE__NODE_RANDOM: {
    in.code = FLOE__VM_RANDOM;
    if ((in.leaf = add_leaf(b, n, -1)) < 0) {
      return -1;
    }
    floe__vm_leaf *l = &b->leaves[in.leaf];
    l->random_kind = n->p.random.kind == FLOE__RANDOM_NORMAL;
    l->seed = n->p.random.seed;
    l->a = n->p.random.a;
    l->b = n->p.random.b;
    return emit(b, in);
  }
  case FLOE__NODE_UNARY: {
    floe_dtype c = n->p.unary.compute;
    in.code = FLOE__VM_UNARY;
    in.fn.u1 = floe__unary_kernel(n->p.unary.op, c);
    if (in.fn.u1 == NULL || (in.a = value_of(b, x->in[0], c)) < 0) {
      return -1;
    }
    return emit(b, in);
  }
  case FLOE__NODE_BINARY: {
    floe_dtype c = n->p.binary.compute;
    in.code = FLOE__VM_BINARY;
    in.fn.u2 = floe__binary_kernel(n->p.binary.op, c);
    if (in.fn.u2 == NULL || (in.a = value_of(b, x->in[0], c)) < 0 ||
        (in.b = value_of(b, x->in[1], c)) < 0) {
      return -1;
    }
    return emit(b, in);
  }
  case FLOE__NODE_WHERE:
    in.code = FLOE__VM_WHERE;
    in.fn.w = floe__where_kernel(n->dtype);
    if (in.fn.w == NULL || (in.a = value_of(b, x->in[0], FLOE_BOOL)) < 0 ||
        (in.b = value_of(b, x->in[1], n->dtype)) < 0 ||
        (in.c = value_of(b, x->in[2], n->dtype)) < 0) {
      return -1;
    }
    return emit(b, in);
  case FLOE__NODE_CAST:
    return value_of(b, x->in[0], n->dtype);
  default: /* materialised: read it */
    in.code = FLOE__VM_LOAD;
    if ((in.leaf = add_leaf(b, n, ln)) < 0) {
      return -1;
    }
    b->leaves[in.leaf].base = x->data;
    if (x->ch != NULL) {
      /* read from the block buffer of each run: strides of one padded block */
      floe__vm_leaf *l = &b->leaves[in.leaf];
      const int nd = b->root->ndim;
      for (int d = 0; d < nd; d++) {
        int k = d - (nd - n->ndim);
        l->stride[d] = (k < 0 || (n->shape[k] == 1 && b->root->shape[d] != 1)) ? 0 : x->ch->cstride[k];
      }
    }
    return emit(b, in);
  }
}

/* The value of lnode `ln` converted to `want`. */
static int value_of(builder *b, int ln, floe_dtype want) {
  int *slot = &b->memo[ln * FLOE_DTYPE_COUNT_ + want];
  if (*slot >= 0) {
    return *slot;
  }
  const floe__node *n = b->L->ln[ln].n;
  int v;
  if (n->dtype == want) {
    v = compute(b, ln);
  } else if (n->kind == FLOE__NODE_FULL) {
    /* a constant is filled in the wanted dtype directly */
    floe__vm_insn in = {.code = FLOE__VM_FILL, .dtype = want, .a = -1, .b = -1, .c = -1,
                        .leaf = -1, .value = n->p.full.value, .ivalue = n->p.full.ivalue};
    if (n->dtype == FLOE_BOOL) {
      in.ivalue = n->p.full.value != 0;
    }
    v = emit(b, in);
  } else {
    int src = value_of(b, ln, n->dtype);
    floe__vm_insn in = {.code = FLOE__VM_CAST, .dtype = want, .a = src, .b = -1, .c = -1,
                        .leaf = -1};
    in.fn.u1 = floe__cast_kernel(n->dtype, want);
    v = src < 0 ? -1 : emit(b, in);
  }
  *slot = v;
  return v;
}

/* Physical registers by liveness.  Returns the register count, -1 when more
 * than MAX_REGS are live at once. */
static int allocate(builder *b, int *out) {
  int nv = b->nvalues;
  int *last = malloc((size_t)nv * sizeof *last);
  int *phys = malloc((size_t)nv * sizeof *phys);
  if (last == NULL || phys == NULL) {
    free(last);
    free(phys);
    return -1;
  }
  for (int v = 0; v < nv; v++) {
    last[v] = -1;
  }
  for (int k = 0; k < b->ninsn; k++) {
    const floe__vm_insn *in = &b->insn[k];
    int srcs[3] = {in->a, in->b, in->c};
    for (int s = 0; s < 3; s++) {
      if (srcs[s] >= 0) {
        last[srcs[s]] = k;
      }
    }
  }
  last[*out] = b->ninsn; /* the result lives to the end */
  bool busy[MAX_REGS] = {false};
  int nregs = 0;
  int result = 0;
  /* constants are filled before the first instruction runs: each owns a
     register for the whole program */
  for (int k = 0; k < b->ninsn; k++) {
    if (b->insn[k].code == FLOE__VM_FILL) {
      if (nregs == MAX_REGS) {
        result = -1;
        break;
      }
      phys[k] = nregs;
      busy[nregs++] = true;
    }
  }
  for (int k = 0; k < b->ninsn && result == 0; k++) {
    floe__vm_insn *in = &b->insn[k];
    if (in->code == FLOE__VM_FILL) {
      in->dst = phys[k];
      continue;
    }
    int *srcs[3] = {&in->a, &in->b, &in->c};
    /* kernels may write in place over an input of the same element size,
       never over a narrower or wider one (a partial overlap) */
    bool clash[MAX_REGS] = {false};
    size_t out_size = floe_dtype_size(in->dtype);
    for (int s = 0; s < 3; s++) {
      int v = *srcs[s];
      if (v < 0) {
        continue;
      }
      *srcs[s] = phys[v];
      /* value v is produced by instruction v */
      if (floe_dtype_size(b->insn[v].dtype) != out_size) {
        clash[phys[v]] = true;
      }
      if (last[v] == k && b->insn[v].code != FLOE__VM_FILL) {
        busy[phys[v]] = false;
      }
    }
    int r = 0;
    while (r < MAX_REGS && (busy[r] || clash[r])) {
      r++;
    }
    if (r == MAX_REGS) {
      result = -1;
      break;
    }
    busy[r] = true;
    phys[in->dst] = r;
    in->dst = r;
    nregs = r + 1 > nregs ? r + 1 : nregs;
  }
  if (result == 0) {
    *out = phys[*out];
    result = nregs;
  }
  free(last);
  free(phys);
  return result;
}

floe_status floe__fuse(floe__lower *L, int root, prog **out) {
  *out = NULL;
  builder b = {.L = L, .root = L->ln[root].n};
  b.memo = malloc((size_t)L->nln * FLOE_DTYPE_COUNT_ * sizeof *b.memo);
  if (b.memo == NULL) {
    return floe__fail(FLOE_ERR_NOMEM, "out of memory fusing a program");
  }
  for (int i = 0; i < L->nln * FLOE_DTYPE_COUNT_; i++) {
    b.memo[i] = -1;
  }
  int res = value_of(&b, root, b.root->dtype);
  floe_status st = FLOE_OK;
  if (res < 0) {
    bool limit = b.nvalues >= MAX_VALUES || b.too_many_leaves;
    st = floe__fail(limit ? FLOE_ERR_INVALID : FLOE_ERR_NOMEM, "cannot fuse the expression: %s",
                    b.too_many_leaves      ? "more than 64 arrays read by one program"
                    : b.nvalues >= MAX_VALUES ? "more than 4096 operations in one program"
                                              : "out of memory or a missing kernel");
  }
  int nregs = 0;
  if (st == FLOE_OK) {
    nregs = allocate(&b, &res);
    if (nregs < 0) {
      st = floe__fail(FLOE_ERR_INVALID,
                      "cannot fuse the expression: more than %d values are live at once",
                      MAX_REGS);
    }
  }
  prog *p = NULL;
  if (st == FLOE_OK) {
    p = floe__lower_alloc(L, sizeof *p);
    floe__vm_insn *insn = floe__lower_alloc(L, (size_t)b.ninsn * sizeof *insn);
    floe__vm_leaf *leaves = floe__lower_alloc(L, (size_t)(b.nleaves + 1) * sizeof *leaves);
    int *leaf_lnode = floe__lower_alloc(L, (size_t)(b.nleaves + 1) * sizeof *leaf_lnode);
    if (p == NULL || insn == NULL || leaves == NULL || leaf_lnode == NULL) {
      st = floe__fail(FLOE_ERR_NOMEM, "out of memory fusing a program");
    } else {
      memcpy(insn, b.insn, (size_t)b.ninsn * sizeof *insn);
      if (b.nleaves > 0) {
        memcpy(leaves, b.leaves, (size_t)b.nleaves * sizeof *leaves);
        memcpy(leaf_lnode, b.leaf_lnode, (size_t)b.nleaves * sizeof *leaf_lnode);
      }
      memset(p, 0, sizeof *p);
      p->fout = -1;
      p->vm.ndim = b.root->ndim;
      memcpy(p->vm.shape, b.root->shape, sizeof p->vm.shape);
      p->vm.ninsn = b.ninsn;
      p->vm.nregs = nregs;
      p->vm.nleaves = b.nleaves;
      p->vm.insn = insn;
      p->vm.leaves = leaves;
      p->vm.out = res;
      p->vm.out_dtype = b.root->dtype;
      p->root = root;
      p->leaf_lnode = leaf_lnode;
      p->scratch = floe__vm_scratch_bytes(&p->vm);
      for (int l = 0; l < b.nleaves; l++) {
        if (leaf_lnode[l] >= 0 && L->ln[leaf_lnode[l]].ch != NULL) {
          p->chunked_leaf[p->nchunked++] = l;
        }
      }
    }
  }
  free(b.insn);
  free(b.leaves);
  free(b.leaf_lnode);
  free(b.memo);
  if (st == FLOE_OK) {
    *out = p;
  }
  return st;
}
