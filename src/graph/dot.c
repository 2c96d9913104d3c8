/* The lowered graph in Graphviz DOT: materialised values (inputs,
 * reductions, outputs) and one node per fused program, labelled with its
 * instructions, so what fusion did is visible. */
#include <stdio.h>

#include "lower-state.h"

static const char *kind_name(const floe__node *n) {
  switch (n->kind) {
  case FLOE__NODE_BUFFER:
    return "buffer";
  case FLOE__NODE_STORED:
    return "persisted";
  case FLOE__NODE_FILE:
    return "file";
  case FLOE__NODE_REDUCE:
    return "reduce";
  case FLOE__NODE_GATHER:
    return "select";
  case FLOE__NODE_CONCAT:
    return "concat";
  case FLOE__NODE_MATMUL:
    return "matmul";
  case FLOE__NODE_AXIS:
    return "along axis";
  case FLOE__NODE_RESHAPE:
    return "reshape";
  case FLOE__NODE_MAP:
    return "kernel";
  default:
    return "array";
  }
}

static const char *code_name(floe__vm_code c) {
  static const char *const names[] = {"load", "fill", "iota", "random",
                                      "unary", "binary", "where", "cast"};
  return names[c];
}

floe_status floe__lower_dot(const floe__lower *L, FILE *out) {
  FLOE_RETURN_ERROR_IF(out == NULL, FLOE_ERR_INVALID, "floe_graph_dot: the file is NULL");
  char shape[128];
  fprintf(out, "digraph floe {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
  for (int i = 0; i < L->nln; i++) {
    const floe__node *n = L->ln[i].n;
    if (n->kind == FLOE__NODE_FILE) {
      floe__h5src_info in;
      floe__h5src_describe(n->p.file.src, &in);
      fprintf(out, "  v%d [shape=cylinder,label=\"%s:%s\\n%s %s\"];\n", i, in.path, in.dataset,
              floe_dtype_name(n->dtype), floe__shape_str(n->ndim, n->shape, shape, sizeof shape));
    } else if (floe__node_is_memory(n) || n->kind == FLOE__NODE_REDUCE ||
               floe__node_is_produced(n)) {
      fprintf(out, "  v%d [shape=box,label=\"%s %s\\n%s\"];\n", i, kind_name(n),
              floe_dtype_name(n->dtype), floe__shape_str(n->ndim, n->shape, shape, sizeof shape));
      for (int k = 0; floe__node_is_produced(n) && k < n->nin; k++) {
        /* made chunk by chunk from its inputs (drawn, or materialised) */
        fprintf(out, "  v%d -> v%d;\n", L->ln[i].in[k], i);
      }
    }
  }
  for (int t = 0; t < L->ntargets; t++) {
    const floe__node *n = L->ln[L->targets[t].ln].n;
    fprintf(out, "  out%d [shape=doubleoctagon,label=\"output %d\\n%s %s\"];\n", t, t,
            floe_dtype_name(n->dtype), floe__shape_str(n->ndim, n->shape, shape, sizeof shape));
  }
  for (int t = 0; t < L->nftargets; t++) {
    const floe__node *n = L->ln[L->ftargets[t].ln].n;
    fprintf(out, "  fout%d [shape=cylinder,label=\"%s:%s\\n%s %s\"];\n", t,
            L->ftargets[t].path, L->ftargets[t].dataset, floe_dtype_name(n->dtype),
            floe__shape_str(n->ndim, n->shape, shape, sizeof shape));
  }
  for (int k = 0; k < L->nprogs; k++) {
    const prog *p = L->progs[k];
    fprintf(out, "  p%d [shape=component,label=\"fused program %d (%d registers)\\l", k, k,
            p->vm.nregs);
    for (int j = 0; j < p->vm.ninsn; j++) {
      const floe__vm_insn *in = &p->vm.insn[j];
      fprintf(out, "r%d = %s %s", in->dst, code_name(in->code), floe_dtype_name(in->dtype));
      if (in->a >= 0 && in->code >= FLOE__VM_UNARY) {
        fprintf(out, " r%d", in->a);
      }
      if (in->b >= 0) {
        fprintf(out, " r%d", in->b);
      }
      if (in->c >= 0) {
        fprintf(out, " r%d", in->c);
      }
      if (in->code == FLOE__VM_FILL) {
        fprintf(out, " %g", in->value);
      }
      fprintf(out, "\\l");
    }
    fprintf(out, "\"];\n");
    for (int l = 0; l < p->vm.nleaves; l++) {
      if (p->leaf_lnode[l] >= 0) {
        fprintf(out, "  v%d -> p%d;\n", p->leaf_lnode[l], k);
      }
    }
    if (p->fout >= 0) {
      fprintf(out, "  p%d -> fout%d;\n", k, p->fout);
      continue;
    }
    if (p->sink >= 0 && L->ln[p->sink].n->kind == FLOE__NODE_REDUCE) {
      fprintf(out, "  p%d -> v%d;\n", k, p->sink);
    }
    for (int t = 0; t < L->ntargets; t++) {
      if (L->targets[t].ln == p->sink && L->ln[p->sink].n->kind != FLOE__NODE_REDUCE) {
        fprintf(out, "  p%d -> out%d;\n", k, t);
      }
    }
  }
  for (int t = 0; t < L->ntargets; t++) {
    if (L->ln[L->targets[t].ln].n->kind == FLOE__NODE_REDUCE) {
      fprintf(out, "  v%d -> out%d;\n", L->targets[t].ln, t);
    }
  }
  fprintf(out, "}\n");
  return ferror(out) ? floe__fail(FLOE_ERR_IO, "floe_graph_dot: write error") : FLOE_OK;
}
