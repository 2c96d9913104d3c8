/* The fused-program interpreter (see vm-internal.h). */
#include <string.h>

#include "rng-internal.h"
#include "vm-internal.h"

enum { MAX_VIEWS = FLOE__VM_MAX_LEAVES + 2 * FLOE__VM_MAX_SINKS };

size_t floe__vm_scratch_bytes(const floe__vm_program *p) {
  /* one tile per register, one float64 tile of temporaries, alignment slack */
  return ((size_t)p->nregs + 1) * FLOE__TILE * 8 + 64;
}

static void fill(void *dst, const void *elem, size_t itemsize, int64_t n) {
  switch (itemsize) {
  case 1:
    memset(dst, *(const unsigned char *)elem, (size_t)n);
    break;
  case 4: {
    uint32_t v;
    memcpy(&v, elem, 4);
    uint32_t *d = dst;
    for (int64_t j = 0; j < n; j++) {
      d[j] = v;
    }
    break;
  }
  default: {
    uint64_t v;
    memcpy(&v, elem, 8);
    uint64_t *d = dst;
    for (int64_t j = 0; j < n; j++) {
      d[j] = v;
    }
    break;
  }
  }
}

static void gather(void *dst, const unsigned char *src, size_t itemsize, int64_t stride,
                   int64_t n) {
  unsigned char *d = dst;
  for (int64_t j = 0; j < n; j++) {
    memcpy(d + (size_t)j * itemsize, src + (size_t)(j * stride) * itemsize, itemsize);
  }
}

static void put_value(void *dst, floe_dtype t, double v, int64_t iv, int64_t n) {
  union {
    _Bool b;
    uint8_t u8;
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
  } e;
  switch (t) {
  case FLOE_BOOL:
    e.b = v != 0;
    break;
  case FLOE_UINT8:
    e.u8 = (uint8_t)iv;
    break;
  case FLOE_INT32:
    e.i32 = (int32_t)iv;
    break;
  case FLOE_INT64:
    e.i64 = iv;
    break;
  case FLOE_FLOAT32:
    e.f32 = (float)v;
    break;
  default:
    e.f64 = v;
    break;
  }
  fill(dst, &e, floe_dtype_size(t), n);
}

static void iota(const floe__vm_leaf *l, floe_dtype t, int64_t i0, int64_t s, int64_t n,
                 double *tmp, void *out) {
  for (int64_t j = 0; j < n; j++) {
    int64_t i = i0 + j * s;
    tmp[j] = (l->pin_last && i == l->pin_index) ? l->stop : l->start + (double)i * l->step;
  }
  if (t == FLOE_FLOAT64) {
    memcpy(out, tmp, (size_t)n * sizeof(double));
  } else {
    floe__cast_kernel(FLOE_FLOAT64, t)(tmp, out, n);
  }
}

static void random_values(const floe__vm_leaf *l, floe_dtype t, uint64_t first, int64_t n,
                          void *out) {
  if (t == FLOE_FLOAT32) {
    (l->random_kind ? floe__random_normal_f32 : floe__random_uniform_f32)(l->seed, first, n, l->a,
                                                                          l->b, out);
  } else {
    (l->random_kind ? floe__random_normal_f64 : floe__random_uniform_f64)(l->seed, first, n, l->a,
                                                                          l->b, out);
  }
}

static void random_leaf(const floe__vm_leaf *l, floe_dtype t, int64_t i0, int64_t s, int64_t n,
                        void *out) {
  size_t isz = floe_dtype_size(t);
  if (s == 1) {
    random_values(l, t, (uint64_t)i0, n, out);
  } else if (s == 0) {
    random_values(l, t, (uint64_t)i0, 1, out);
    fill((unsigned char *)out + isz, out, isz, n - 1);
  } else {
    for (int64_t j = 0; j < n; j++) {
      random_values(l, t, (uint64_t)(i0 + j * s), 1, (unsigned char *)out + (size_t)j * isz);
    }
  }
}

typedef struct walk {
  int nd;                             /* merged axes */
  int64_t ext[FLOE_MAX_DIMS];
  int nviews;
  int64_t *stride[MAX_VIEWS];         /* views' strides over merged axes */
  int64_t off0[MAX_VIEWS];            /* offsets at the region's origin */
  int64_t strides[MAX_VIEWS][FLOE_MAX_DIMS];
} walk;

/* Drops unit axes and merges adjacent axes that every view walks
 * contiguously.  Returns 0 when the region is empty. */
static int plan_walk(walk *w, int ndim, const int64_t *lo, const int64_t *hi,
                     const int64_t *const *views, int nviews) {
  int keep[FLOE_MAX_DIMS], nk = 0;
  for (int d = 0; d < ndim; d++) {
    int64_t e = hi[d] - lo[d];
    if (e <= 0) {
      return 0;
    }
    if (e > 1) {
      keep[nk++] = d;
    }
  }
  w->nviews = nviews;
  for (int v = 0; v < nviews; v++) {
    int64_t off = 0;
    for (int d = 0; d < ndim; d++) {
      off += lo[d] * views[v][d];
    }
    w->off0[v] = off;
    w->stride[v] = w->strides[v];
  }
  w->nd = 0;
  for (int k = 0; k < nk; k++) {
    int d = keep[k];
    int64_t e = hi[d] - lo[d];
    if (w->nd > 0) {
      int prev = w->nd - 1;
      int ok = 1;
      for (int v = 0; v < nviews && ok; v++) {
        ok = w->strides[v][prev] == views[v][d] * e;
      }
      if (ok) {
        w->ext[prev] *= e;
        for (int v = 0; v < nviews; v++) {
          w->strides[v][prev] = views[v][d];
        }
        continue;
      }
    }
    w->ext[w->nd] = e;
    for (int v = 0; v < nviews; v++) {
      w->strides[v][w->nd] = views[v][d];
    }
    w->nd++;
  }
  if (w->nd == 0) {
    w->nd = 1;
    w->ext[0] = 1;
    for (int v = 0; v < nviews; v++) {
      w->strides[v][0] = 0;
    }
  }
  return 1;
}

/* The store or reduce step of one sink, for the tile [t0, t0 + n) of the
 * inner axis at view offsets off (sv: the sink's first view). */
static void sink_tile(const floe__vm_sink *sink, const walk *w, int sv, const int64_t *off,
                      int inner, int64_t t0, int64_t n, const void *res, size_t osz) {
  if (sink->kind == FLOE__SINK_STORE) {
    int64_t s = w->stride[sv][inner];
    unsigned char *d = (unsigned char *)sink->dst + (size_t)(off[sv] + t0 * s) * osz;
    if (s == 1) {
      memcpy(d, res, (size_t)n * osz);
    } else {
      for (int64_t j = 0; j < n; j++) {
        memcpy(d + (size_t)(j * s) * osz, (const unsigned char *)res + (size_t)j * osz, osz);
      }
    }
    return;
  }
  int64_t as = w->stride[sv][inner], is = w->stride[sv + 1][inner];
  unsigned char *acc = (unsigned char *)sink->acc + (size_t)(off[sv] + t0 * as) * sink->acc_size;
  int64_t index = off[sv + 1] + t0 * is;
  if (as == 0 && is <= 1) {
    sink->red->fold(acc, res, n, index);
  } else if (as == 1 && is == 0) {
    sink->red->accumulate(acc, res, n, index);
  } else {
    /* an unusual layout (a unit-width chunk of a wider array): one
       element at a time keeps the semantics */
    for (int64_t j = 0; j < n; j++) {
      const void *x = (const unsigned char *)res + (size_t)j * osz;
      unsigned char *a = acc + (size_t)(j * as) * sink->acc_size;
      if (as == 0) {
        sink->red->fold(a, x, 1, index + j * is);
      } else {
        sink->red->accumulate(a, x, 1, index + j * is);
      }
    }
  }
}

void floe__vm_run(const floe__vm_program *p, const int64_t *lo, const int64_t *hi,
                  const floe__vm_sink *sinks, int nsinks, const floe__vm_bind *bind,
                  void *scratch) {
  const int64_t *views[MAX_VIEWS];
  int nviews = 0;
  for (int l = 0; l < p->nleaves; l++) {
    views[nviews++] = p->leaves[l].stride;
  }
  int sv[FLOE__VM_MAX_SINKS]; /* each sink's first view */
  for (int k = 0; k < nsinks; k++) {
    sv[k] = nviews;
    if (sinks[k].kind == FLOE__SINK_STORE) {
      views[nviews++] = sinks[k].dst_stride;
    } else {
      views[nviews++] = sinks[k].acc_stride;
      views[nviews++] = sinks[k].index_stride;
    }
  }
  walk w;
  if (!plan_walk(&w, p->ndim, lo, hi, views, nviews)) {
    return;
  }
  for (int k = 0; k < nsinks; k++) {
    w.off0[sv[k]] -= sinks[k].kind == FLOE__SINK_REDUCE ? sinks[k].acc_bias : sinks[k].dst_bias;
  }
  const floe__vm_sink *sink = &sinks[0];
  const void *base[FLOE__VM_MAX_LEAVES];
  for (int l = 0; l < p->nleaves; l++) {
    base[l] = p->leaves[l].base;
    if (bind != NULL && bind->base[l] != NULL) {
      base[l] = bind->base[l];
      w.off0[l] -= bind->bias[l];
    }
  }

  unsigned char *regbase = (unsigned char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  void *own[64];
  void *rp[64];
  for (int r = 0; r < p->nregs; r++) {
    own[r] = regbase + (size_t)r * FLOE__TILE * 8;
    rp[r] = own[r];
  }
  double *tmp = (double *)(regbase + (size_t)p->nregs * FLOE__TILE * 8);

  /* constants once per run */
  int last_compute = -1;
  for (int k = 0; k < p->ninsn; k++) {
    const floe__vm_insn *in = &p->insn[k];
    if (in->code == FLOE__VM_FILL) {
      put_value(own[in->dst], in->dtype, in->value, in->ivalue, FLOE__TILE);
    } else if (in->code >= FLOE__VM_UNARY && in->dst == p->out) {
      last_compute = k;
    }
  }
  const size_t osz = floe_dtype_size(p->out_dtype);
  const int inner = w.nd - 1;
  const int64_t L = w.ext[inner];
  const bool store = nsinks == 1 && sink->kind == FLOE__SINK_STORE;
  const bool direct = store && last_compute >= 0 && w.stride[sv[0]][inner] == 1;

  int64_t pos[FLOE_MAX_DIMS] = {0};
  int64_t off[MAX_VIEWS];
  for (;;) {
    for (int v = 0; v < nviews; v++) {
      int64_t o = w.off0[v];
      for (int d = 0; d < inner; d++) {
        o += pos[d] * w.stride[v][d];
      }
      off[v] = o;
    }
    for (int64_t t0 = 0; t0 < L; t0 += FLOE__TILE) {
      int64_t n = L - t0 < FLOE__TILE ? L - t0 : FLOE__TILE;
      for (int k = 0; k < p->ninsn; k++) {
        const floe__vm_insn *in = &p->insn[k];
        void *dst = own[in->dst];
        if (direct && k == last_compute) {
          dst = (unsigned char *)sink->dst + (size_t)(off[sv[0]] + t0) * osz;
        }
        switch (in->code) {
        case FLOE__VM_LOAD: {
          size_t isz = floe_dtype_size(in->dtype);
          int64_t s = w.stride[in->leaf][inner];
          const unsigned char *src =
              (const unsigned char *)base[in->leaf] + (size_t)(off[in->leaf] + t0 * s) * isz;
          if (s == 1) {
            rp[in->dst] = (void *)src; /* alias: never written through */
            continue;
          }
          if (s == 0) {
            fill(dst, src, isz, n);
          } else {
            gather(dst, src, isz, s, n);
          }
          break;
        }
        case FLOE__VM_FILL:
          continue;
        case FLOE__VM_IOTA: {
          int64_t s = w.stride[in->leaf][inner];
          iota(&p->leaves[in->leaf], in->dtype, off[in->leaf] + t0 * s, s, n, tmp, dst);
          break;
        }
        case FLOE__VM_RANDOM: {
          int64_t s = w.stride[in->leaf][inner];
          random_leaf(&p->leaves[in->leaf], in->dtype, off[in->leaf] + t0 * s, s, n, dst);
          break;
        }
        case FLOE__VM_UNARY:
        case FLOE__VM_CAST:
          in->fn.u1(rp[in->a], dst, n);
          break;
        case FLOE__VM_BINARY:
          in->fn.u2(rp[in->a], rp[in->b], dst, n);
          break;
        case FLOE__VM_WHERE:
          in->fn.w(rp[in->a], rp[in->b], rp[in->c], dst, n);
          break;
        }
        rp[in->dst] = dst;
      }
      const void *res = rp[p->out];
      if (!direct) {
        for (int k = 0; k < nsinks; k++) {
          sink_tile(&sinks[k], &w, sv[k], off, inner, t0, n, res, osz);
        }
      }
    }
    /* next outer position */
    int d = inner - 1;
    for (; d >= 0; d--) {
      if (++pos[d] < w.ext[d]) {
        break;
      }
      pos[d] = 0;
    }
    if (d < 0) {
      break;
    }
  }
}
