/* floe info: what an HDF5 file holds, read with the HDF5 C API directly
 * (metadata only: no filter needs to be loadable to be listed). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "cli-internal.h"

typedef struct row {
  char *name;
  char shape[160], dtype[48], chunks[160], filters[256], units[48];
  uint64_t stored, size;
} row;

typedef struct table {
  row *rows;
  size_t n, cap;
  const char *prefix; /* the path of the group visited, "" for the root */
  bool failed;
} table;

/* NumPy's name for an HDF5 type; big-endian types carry NumPy's code. */
static void type_name(hid_t t, char *buf, size_t n) {
  size_t size = H5Tget_size(t);
  H5T_class_t cls = H5Tget_class(t);
  char kind = 0;
  switch (cls) {
  case H5T_INTEGER:
    kind = H5Tget_sign(t) == H5T_SGN_NONE ? 'u' : 'i';
    snprintf(buf, n, "%sint%zu", kind == 'u' ? "u" : "", size * 8);
    break;
  case H5T_FLOAT:
    kind = 'f';
    snprintf(buf, n, "float%zu", size * 8);
    break;
  case H5T_ENUM: {
    /* h5py stores numpy.bool_ as an int8 enum {FALSE = 0, TRUE = 1} */
    char *a = H5Tget_member_name(t, 0), *b = H5Tget_member_name(t, 1);
    bool is_bool = size == 1 && H5Tget_nmembers(t) == 2 && a != NULL && b != NULL &&
                   strcmp(a, "FALSE") == 0 && strcmp(b, "TRUE") == 0;
    H5free_memory(a);
    H5free_memory(b);
    snprintf(buf, n, is_bool ? "bool" : "enum%zu", size * 8);
    break;
  }
  case H5T_STRING:
    if (H5Tis_variable_str(t) > 0) {
      snprintf(buf, n, "str (variable)");
    } else {
      snprintf(buf, n, "S%zu", size);
    }
    break;
  case H5T_COMPOUND:
    snprintf(buf, n, "compound (%zu B)", size);
    break;
  case H5T_ARRAY:
    snprintf(buf, n, "array (%zu B)", size);
    break;
  case H5T_OPAQUE:
    snprintf(buf, n, "opaque (%zu B)", size);
    break;
  case H5T_BITFIELD:
    snprintf(buf, n, "bitfield%zu", size * 8);
    break;
  case H5T_REFERENCE:
    snprintf(buf, n, "reference");
    break;
  case H5T_VLEN:
    snprintf(buf, n, "vlen");
    break;
  default:
    snprintf(buf, n, "unknown");
    break;
  }
  if (kind != 0 && size > 1 && H5Tget_order(t) == H5T_ORDER_BE) {
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " (>%c%zu)", kind, size);
  }
}

static void filter_names(hid_t dcpl, char *buf, size_t n) {
  int nf = H5Pget_nfilters(dcpl);
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < nf && len < n; i++) {
    unsigned flags = 0, config = 0, cd[8] = {0};
    size_t ncd = 8;
    char name[64] = "";
    H5Z_filter_t id =
        H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, &config);
    char one[96];
    switch (id) {
    case H5Z_FILTER_DEFLATE:
      snprintf(one, sizeof one, "deflate(%u)", ncd > 0 ? cd[0] : 6u);
      break;
    case H5Z_FILTER_SHUFFLE:
      snprintf(one, sizeof one, "shuffle");
      break;
    case H5Z_FILTER_FLETCHER32:
      snprintf(one, sizeof one, "fletcher32");
      break;
    case H5Z_FILTER_SZIP:
      snprintf(one, sizeof one, "szip");
      break;
    case H5Z_FILTER_NBIT:
      snprintf(one, sizeof one, "nbit");
      break;
    case H5Z_FILTER_SCALEOFFSET:
      snprintf(one, sizeof one, "scaleoffset");
      break;
    case 32015:
      if (ncd > 0) {
        snprintf(one, sizeof one, "zstd(%d)", (int)cd[0]);
      } else {
        snprintf(one, sizeof one, "zstd");
      }
      break;
    case 307:
      snprintf(one, sizeof one, "bzip2");
      break;
    case 32001:
      snprintf(one, sizeof one, "blosc");
      break;
    case 32004:
      snprintf(one, sizeof one, "lz4");
      break;
    case 32008:
      snprintf(one, sizeof one, "bitshuffle");
      break;
    case 32026:
      snprintf(one, sizeof one, "blosc2");
      break;
    default:
      if (name[0] != '\0') {
        snprintf(one, sizeof one, "filter %d (%.60s)", (int)id, name);
      } else {
        snprintf(one, sizeof one, "filter %d", (int)id);
      }
      break;
    }
    len += (size_t)snprintf(buf + len, n - len, "%s%s", i > 0 ? ", " : "", one);
  }
  if (nf <= 0) {
    snprintf(buf, n, "-");
  }
}

/* The dataset's "units" attribute, when it has a string one. */
static void units_of(hid_t d, char *buf, size_t n) {
  buf[0] = '\0';
  if (H5Aexists(d, "units") <= 0) {
    return;
  }
  hid_t a = H5Aopen(d, "units", H5P_DEFAULT);
  hid_t ft = a >= 0 ? H5Aget_type(a) : -1;
  hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
  if (ft >= 0 && sp >= 0 && H5Tget_class(ft) == H5T_STRING &&
      H5Sget_simple_extent_npoints(sp) == 1) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts no character sets */
    if (H5Tis_variable_str(ft) > 0) {
      char *s = NULL;
      H5Tset_size(mt, H5T_VARIABLE);
      if (H5Aread(a, mt, &s) >= 0 && s != NULL) {
        snprintf(buf, n, "%s", s);
        H5free_memory(s);
      }
    } else {
      size_t size = H5Tget_size(ft);
      char *s = calloc(size + 1, 1);
      H5Tset_size(mt, size + 1);
      if (s != NULL && H5Aread(a, mt, s) >= 0) {
        snprintf(buf, n, "%s", s);
      }
      free(s);
    }
    H5Tclose(mt);
  }
  if (sp >= 0) {
    H5Sclose(sp);
  }
  if (ft >= 0) {
    H5Tclose(ft);
  }
  if (a >= 0) {
    H5Aclose(a);
  }
}

static void describe(hid_t d, row *r) {
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
  type_name(t, r->dtype, sizeof r->dtype);
  int nd = H5Sget_simple_extent_ndims(sp);
  hsize_t dims[H5S_MAX_RANK] = {0};
  if (nd > 0 && nd <= H5S_MAX_RANK) {
    H5Sget_simple_extent_dims(sp, dims, NULL);
  }
  uint64_t points = (uint64_t)H5Sget_simple_extent_npoints(sp);
  /* shapes are written here, not through floe_shape, which stops at 8 axes */
  size_t len = (size_t)snprintf(r->shape, sizeof r->shape, "(");
  for (int i = 0; i < nd && len < sizeof r->shape; i++) {
    len += (size_t)snprintf(r->shape + len, sizeof r->shape - len,
                            i > 0 ? ", %" PRIu64 : "%" PRIu64, (uint64_t)dims[i]);
  }
  if (len < sizeof r->shape) {
    snprintf(r->shape + len, sizeof r->shape - len, nd == 1 ? ",)" : ")");
  }
  switch (H5Pget_layout(dcpl)) {
  case H5D_CHUNKED: {
    hsize_t c[H5S_MAX_RANK] = {0};
    int nc = H5Pget_chunk(dcpl, H5S_MAX_RANK, c);
    len = (size_t)snprintf(r->chunks, sizeof r->chunks, "(");
    for (int i = 0; i < nc && len < sizeof r->chunks; i++) {
      len += (size_t)snprintf(r->chunks + len, sizeof r->chunks - len,
                              i > 0 ? ", %" PRIu64 : "%" PRIu64, (uint64_t)c[i]);
    }
    if (len < sizeof r->chunks) {
      snprintf(r->chunks + len, sizeof r->chunks - len, nc == 1 ? ",)" : ")");
    }
    break;
  }
  case H5D_COMPACT:
    snprintf(r->chunks, sizeof r->chunks, "compact");
    break;
  case H5D_VIRTUAL:
    snprintf(r->chunks, sizeof r->chunks, "virtual");
    break;
  default:
    snprintf(r->chunks, sizeof r->chunks, "contiguous");
    break;
  }
  filter_names(dcpl, r->filters, sizeof r->filters);
  units_of(d, r->units, sizeof r->units);
  r->stored = (uint64_t)H5Dget_storage_size(d);
  r->size = points * (uint64_t)H5Tget_size(t);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(t);
}

static int add_row(table *tb, hid_t d, const char *name) {
  if (tb->n == tb->cap) {
    size_t cap = tb->cap ? tb->cap * 2 : 16;
    row *grown = realloc(tb->rows, cap * sizeof *grown);
    if (grown == NULL) {
      tb->failed = true;
      return -1;
    }
    tb->rows = grown;
    tb->cap = cap;
  }
  row *r = &tb->rows[tb->n];
  memset(r, 0, sizeof *r);
  size_t len = strlen(tb->prefix) + strlen(name) + 2;
  r->name = malloc(len);
  if (r->name == NULL) {
    tb->failed = true;
    return -1;
  }
  snprintf(r->name, len, "%s/%s", tb->prefix, name[0] == '/' ? name + 1 : name);
  describe(d, r);
  tb->n++;
  return 0;
}

static herr_t visit(hid_t group, const char *name, const H5L_info_t *info, void *user) {
  table *tb = user;
  if (info->type != H5L_TYPE_HARD && info->type != H5L_TYPE_SOFT) {
    return 0; /* external links lead to other files */
  }
  hid_t o = H5Oopen(group, name, H5P_DEFAULT);
  if (o < 0) {
    return 0; /* a dangling soft link */
  }
  int rc = 0;
  if (H5Iget_type(o) == H5I_DATASET) {
    rc = add_row(tb, o, name);
  }
  H5Oclose(o);
  return rc;
}

enum { NCOL = 9 };

static void row_cells(const row *r, char cells[NCOL][256]) {
  char a[32], b[32];
  snprintf(cells[0], 256, "%s", r->name);
  snprintf(cells[1], 256, "%s", r->shape);
  snprintf(cells[2], 256, "%s", r->dtype);
  snprintf(cells[3], 256, "%s", r->chunks);
  snprintf(cells[4], 256, "%s", r->filters);
  snprintf(cells[5], 256, "%s", r->stored > 0 ? cli_bytes(r->stored, a) : "-");
  snprintf(cells[6], 256, "%s", cli_bytes(r->size, b));
  if (r->stored > 0) {
    snprintf(cells[7], 256, "%.2f", (double)r->size / (double)r->stored);
  } else {
    snprintf(cells[7], 256, "%s", r->size > 0 ? "unwritten" : "-");
  }
  snprintf(cells[8], 256, "%s", r->units);
}

static void print_line(FILE *out, const char *indent, char cells[NCOL][256], const int *w,
                       int ncol) {
  fputs(indent, out);
  for (int c = 0; c < ncol; c++) {
    bool right = c >= 5 && c <= 7; /* the figures */
    int pad = w[c] - (int)strlen(cells[c]);
    if (right) {
      fprintf(out, "%*s%s", pad, "", cells[c]);
    } else {
      fputs(cells[c], out);
    }
    if (c + 1 < ncol) {
      fprintf(out, "%*s", (right ? 0 : pad) + 2, "");
    }
  }
  fputc('\n', out);
}

static void print_table(FILE *out, const table *tb, const char *indent) {
  static const char *const head[NCOL] = {"dataset", "shape", "dtype", "chunks", "filters",
                                         "stored",  "size",  "ratio", "units"};
  char cells[NCOL][256];
  int w[NCOL];
  bool any_units = false;
  for (int c = 0; c < NCOL; c++) {
    w[c] = (int)strlen(head[c]);
  }
  for (size_t i = 0; i < tb->n; i++) {
    row_cells(&tb->rows[i], cells);
    for (int c = 0; c < NCOL; c++) {
      int l = (int)strlen(cells[c]);
      w[c] = l > w[c] ? l : w[c];
    }
    any_units |= tb->rows[i].units[0] != '\0';
  }
  int ncol = any_units ? NCOL : NCOL - 1;
  for (int c = 0; c < NCOL; c++) {
    snprintf(cells[c], 256, "%s", head[c]);
  }
  print_line(out, indent, cells, w, ncol);
  for (size_t i = 0; i < tb->n; i++) {
    row_cells(&tb->rows[i], cells);
    print_line(out, indent, cells, w, ncol);
  }
}

/* The innermost HDF5 error's description ("truncated file: eof = ..."). */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *user) {
  char *buf = user;
  if (n == 0 && e->desc != NULL) {
    snprintf(buf, 256, ": %s", e->desc);
  }
  return 0;
}

int cli_info_list(FILE *out, const char *path, const char *object, const char *indent) {
  struct stat st;
  if (stat(path, &st) != 0) {
    return cli_fail("cannot open '%s': %s", path, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return cli_fail("'%s' is a directory, not an HDF5 file", path);
  }
  if (H5Fis_hdf5(path) <= 0) {
    return cli_fail("'%s' is not an HDF5 file", path);
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    char why[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, why);
    return cli_fail("cannot open '%s' as HDF5%s", path, why);
  }
  table tb = {.prefix = ""};
  int rc = CLI_OK;
  char *prefix = NULL;
  if (object != NULL && strcmp(object, "/") != 0) {
    hid_t o = H5Lexists(f, object, H5P_DEFAULT) > 0 ? H5Oopen(f, object, H5P_DEFAULT) : -1;
    if (o < 0) {
      rc = cli_fail("'%s' has no dataset or group '%s'", path, object);
    } else if (H5Iget_type(o) == H5I_DATASET) {
      tb.prefix = "";
      add_row(&tb, o, object);
    } else if (H5Iget_type(o) == H5I_GROUP) {
      size_t len = strlen(object);
      prefix = malloc(len + 2);
      if (prefix != NULL) {
        snprintf(prefix, len + 2, "%s%s", object[0] == '/' ? "" : "/", object);
        while (strlen(prefix) > 1 && prefix[strlen(prefix) - 1] == '/') {
          prefix[strlen(prefix) - 1] = '\0';
        }
        tb.prefix = prefix;
        H5Lvisit(o, H5_INDEX_NAME, H5_ITER_INC, visit, &tb);
      }
    } else {
      rc = cli_fail("'%s' in '%s' is neither a dataset nor a group", object, path);
    }
    if (o >= 0) {
      H5Oclose(o);
    }
  } else {
    H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, visit, &tb);
  }
  if (rc == CLI_OK && tb.failed) {
    rc = cli_fail("out of memory listing '%s'", path);
  }
  if (rc == CLI_OK) {
    /* the file's size, or what the selected datasets take in it */
    uint64_t size = (uint64_t)st.st_size;
    if (object != NULL) {
      size = 0;
      for (size_t i = 0; i < tb.n; i++) {
        size += tb.rows[i].stored;
      }
    }
    char a[32];
    fprintf(out, "%s%s%s%s: HDF5, %zu dataset%s, %s\n", indent, path, object != NULL ? ":" : "",
            object != NULL ? object : "", tb.n, tb.n == 1 ? "" : "s", cli_bytes(size, a));
    if (tb.n > 0) {
      char deeper[64];
      snprintf(deeper, sizeof deeper, "%s  ", indent);
      print_table(out, &tb, deeper);
    }
  }
  for (size_t i = 0; i < tb.n; i++) {
    free(tb.rows[i].name);
  }
  free(tb.rows);
  free(prefix);
  H5Fclose(f);
  return rc;
}

int cli_info(int argc, char **argv) {
  cli_args a;
  int rc = cli_args_parse(&a, "info", CMD_INFO, argc, argv, 2);
  if (rc == CLI_OK && a.help) {
    cli_help(stdout, "info");
  } else if (rc == CLI_OK && a.npos != 1) {
    rc = a.npos == 0 ? cli_usage("info", "no file given")
                     : cli_usage("info", "one FILE[:DATASET] expected, got also '%s'", a.pos[1]);
  } else if (rc == CLI_OK) {
    const char *spec = a.pos[0];
    struct stat st;
    char *file = strdup(spec);
    const char *object = NULL;
    if (file == NULL) {
      rc = cli_fail("out of memory");
    } else {
      /* FILE:DATASET, unless the whole argument names a file (colons allowed) */
      char *colon = strrchr(file, ':');
      if (stat(spec, &st) != 0 && colon != NULL && colon != file) {
        *colon = '\0';
        object = colon + 1;
      }
      rc = cli_info_list(stdout, file, object != NULL && object[0] != '\0' ? object : NULL, "");
      free(file);
    }
  }
  cli_args_destroy(&a);
  return rc;
}
