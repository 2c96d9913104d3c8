/* Printing computed arrays as NumPy's print() does, and figures in human
 * units.
 *
 * The array layout follows numpy/core/arrayprint.py (NumPy >= 1.14): every
 * element formatted to one width, a line width of 75 with continuation
 * lines indented under the first element, rows of a matrix on their own
 * lines and one blank line more per extra dimension.  Floats use NumPy's
 * default "maxprec" mode: the shortest digits that read back to the same
 * value, at most 8 after the point, decimal points aligned; scientific
 * notation when the largest magnitude is >= 1e8, the smallest non-zero is
 * < 1e-4, or they are more than 1e3 apart. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli-internal.h"

enum { LINE_WIDTH = 75, PRECISION = 8 };

/* ---------------------------------------------------------------- units */

const char *cli_bytes(uint64_t bytes, char buf[32]) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    snprintf(buf, 32, "%" PRIu64 " B", bytes);
    return buf;
  }
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    u++;
  }
  snprintf(buf, 32, v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v, unit[u]);
  return buf;
}

const char *cli_seconds(double s, char buf[32]) {
  if (s < 0 || !isfinite(s)) {
    s = 0;
  }
  if (s < 1.0) {
    snprintf(buf, 32, "%.0f ms", s * 1e3);
  } else if (s < 60.0) {
    snprintf(buf, 32, "%.2f s", s);
  } else if (s < 3600.0) {
    snprintf(buf, 32, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60.0));
  } else {
    snprintf(buf, 32, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60.0, 60.0));
  }
  return buf;
}

const char *cli_count(uint64_t n, char buf[32]) {
  char digits[24];
  int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
  int j = 0;
  for (int i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0) {
      buf[j++] = ',';
    }
    buf[j++] = digits[i];
  }
  buf[j] = '\0';
  return buf;
}

const char *cli_shape(floe_shape s, char *buf, size_t size) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, size - n, "(");
  for (int d = 0; d < s.ndim && n < size; d++) {
    n += (size_t)snprintf(buf + n, size - n, d > 0 ? ", %" PRId64 : "%" PRId64, s.dim[d]);
  }
  if (n < size) {
    snprintf(buf + n, size - n, s.ndim == 1 ? ",)" : ")");
  }
  return buf;
}

/* ---------------------------------------------------------------- floats */

/* The shortest decimal digits that read back as x (a float when single):
 * digits without the point in `digits`, the decimal exponent of the first
 * one in *exp10.  x is finite and not zero. */
static void shortest(double x, bool single, char digits[24], int *exp10) {
  char buf[40];
  int max = single ? 9 : 17;
  for (int p = 1; p <= max; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, fabs(x));
    bool same = single ? strtof(buf, NULL) == (float)fabs(x) : strtod(buf, NULL) == fabs(x);
    if (same || p == max) {
      break;
    }
  }
  /* buf is "d.ddde[+-]xx" */
  int n = 0;
  const char *c = buf;
  for (; *c != 'e'; c++) {
    if (*c != '.') {
      digits[n++] = *c;
    }
  }
  while (n > 1 && digits[n - 1] == '0') {
    n--;
  }
  digits[n] = '\0';
  *exp10 = atoi(c + 1);
}

typedef struct float_format {
  bool sci;
  int pad_left, pad_right; /* widths of the integer part and of the fraction */
  int precision;           /* sci: digits after the point, all elements alike */
  int exp_digits;          /* sci: digits of the exponent */
  bool single;
} float_format;

/* Positional form split at the point: "-12" and "375" for -12.375. */
static void positional(double x, bool single, char *ipart, char *fpart) {
  if (x == 0) {
    strcpy(ipart, signbit(x) ? "-0" : "0");
    fpart[0] = '\0';
    return;
  }
  char d[24];
  int e;
  shortest(x, single, d, &e);
  int nd = (int)strlen(d);
  if (nd - 1 - e > PRECISION) {
    /* more than 8 decimals: round there and drop trailing zeros */
    char buf[400];
    snprintf(buf, sizeof buf, "%.*f", PRECISION, x);
    char *dot = strchr(buf, '.');
    *dot = '\0';
    strcpy(ipart, buf);
    size_t n = strlen(dot + 1);
    while (n > 0 && dot[n] == '0') {
      n--;
    }
    memcpy(fpart, dot + 1, n);
    fpart[n] = '\0';
    return;
  }
  char *ip = ipart;
  if (x < 0) {
    *ip++ = '-';
  }
  if (e < 0) {
    *ip++ = '0';
    *ip = '\0';
    int k = 0;
    for (int z = 0; z < -e - 1; z++) {
      fpart[k++] = '0';
    }
    memcpy(fpart + k, d, (size_t)nd);
    fpart[k + nd] = '\0';
    return;
  }
  for (int i = 0; i <= e; i++) {
    *ip++ = i < nd ? d[i] : '0';
  }
  *ip = '\0';
  int k = 0;
  for (int i = e + 1; i < nd; i++) {
    fpart[k++] = d[i];
  }
  fpart[k] = '\0';
}

static void scientific_parts(double x, bool single, char *digits, int *exp10) {
  if (x == 0) {
    strcpy(digits, "0");
    *exp10 = 0;
    return;
  }
  shortest(x, single, digits, exp10);
  if ((int)strlen(digits) - 1 > PRECISION) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.*e", PRECISION, fabs(x));
    int n = 0;
    const char *c = buf;
    for (; *c != 'e'; c++) {
      if (*c != '.') {
        digits[n++] = *c;
      }
    }
    while (n > 1 && digits[n - 1] == '0') {
      n--;
    }
    digits[n] = '\0';
    *exp10 = atoi(c + 1);
  }
}

static float_format float_setup(const double *v, int64_t n, bool single) {
  float_format f = {.single = single};
  double lo = INFINITY, hi = 0;
  bool any = false;
  for (int64_t i = 0; i < n; i++) {
    double a = fabs(v[i]);
    if (isfinite(a) && a != 0) {
      lo = a < lo ? a : lo;
      hi = a > hi ? a : hi;
      any = true;
    }
  }
  f.sci = any && (hi >= 1e8 || lo < 1e-4 || hi / lo > 1e3);
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(v[i])) {
      continue;
    }
    if (f.sci) {
      char d[24];
      int e;
      scientific_parts(v[i], single, d, &e);
      int prec = (int)strlen(d) - 1;
      char es[16];
      int ne = snprintf(es, sizeof es, "%d", abs(e));
      f.precision = prec > f.precision ? prec : f.precision;
      f.exp_digits = ne > f.exp_digits ? ne : f.exp_digits;
      int il = signbit(v[i]) ? 2 : 1;
      f.pad_left = il > f.pad_left ? il : f.pad_left;
    } else {
      char ip[400], fp[400];
      positional(v[i], single, ip, fp);
      int il = (int)strlen(ip), fl = (int)strlen(fp);
      f.pad_left = il > f.pad_left ? il : f.pad_left;
      f.pad_right = fl > f.pad_right ? fl : f.pad_right;
    }
  }
  if (f.sci) {
    f.exp_digits = f.exp_digits < 2 ? 2 : f.exp_digits;
    f.pad_right = f.precision + f.exp_digits + 2; /* fraction, 'e', sign, exponent */
  }
  /* nan, inf and -inf right-aligned in the same width as the numbers */
  bool special = false, neginf = false;
  for (int64_t i = 0; i < n; i++) {
    special |= !isfinite(v[i]);
    neginf |= isinf(v[i]) && v[i] < 0;
  }
  if (special) {
    int offset = f.pad_right + 1;
    int need = (neginf ? 4 : 3) - offset;
    f.pad_left = need > f.pad_left ? need : f.pad_left;
  }
  return f;
}

static void float_format_one(const float_format *f, double x, char *out, size_t size) {
  int width = f->pad_left + 1 + f->pad_right;
  if (!isfinite(x)) {
    const char *s = isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
    snprintf(out, size, "%*s", width, s);
    return;
  }
  if (f->sci) {
    char d[24];
    int e;
    scientific_parts(x, f->single, d, &e);
    char mant[48];
    size_t k = 0;
    if (signbit(x)) {
      mant[k++] = '-';
    }
    mant[k++] = d[0];
    mant[k++] = '.';
    int nd = (int)strlen(d);
    for (int i = 1; i <= f->precision; i++) {
      mant[k++] = i < nd ? d[i] : '0';
    }
    mant[k] = '\0';
    snprintf(out, size, "%*s%se%c%0*d", f->pad_left - (signbit(x) ? 2 : 1), "", mant,
             e < 0 ? '-' : '+', f->exp_digits, abs(e));
    return;
  }
  char ip[400], fp[400];
  positional(x, f->single, ip, fp);
  snprintf(out, size, "%*s.%-*s", f->pad_left, ip, f->pad_right, fp);
}

/* ---------------------------------------------------------------- arrays */

typedef struct printer {
  FILE *out;
  floe_dtype dtype;
  floe_shape shape;
  const void *data;
  double *as_double; /* floats, converted once */
  float_format ff;
  int int_width;
  int64_t index; /* next element in C order */
  /* the text is built in a growing buffer so that lines can be wrapped */
  char *s;
  size_t len, cap;
} printer;

static void emit(printer *p, const char *text, size_t n) {
  if (p->len + n + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 256;
    while (p->len + n + 1 > cap) {
      cap *= 2;
    }
    char *grown = realloc(p->s, cap);
    if (grown == NULL) {
      return; /* a truncated print of at most 1000 elements; nothing to recover */
    }
    p->s = grown;
    p->cap = cap;
  }
  memcpy(p->s + p->len, text, n);
  p->len += n;
  p->s[p->len] = '\0';
}

static void emits(printer *p, const char *text) {
  emit(p, text, strlen(text));
}

static int64_t load_int(const printer *p, int64_t i) {
  switch (p->dtype) {
  case FLOE_UINT8:
    return ((const uint8_t *)p->data)[i];
  case FLOE_INT32:
    return ((const int32_t *)p->data)[i];
  case FLOE_INT64:
    return ((const int64_t *)p->data)[i];
  case FLOE_BOOL:
    return ((const _Bool *)p->data)[i];
  default:
    return 0;
  }
}

static void element(printer *p, int64_t i, char *out, size_t size) {
  switch (p->dtype) {
  case FLOE_BOOL:
    snprintf(out, size, "%s", load_int(p, i) ? " True" : "False");
    break;
  case FLOE_FLOAT32:
  case FLOE_FLOAT64:
    float_format_one(&p->ff, p->as_double[i], out, size);
    break;
  default:
    snprintf(out, size, "%*" PRId64, p->int_width, load_int(p, i));
    break;
  }
}

/* One nesting level of numpy's _formatArray: the level's '[' stands in
 * column h - 1, its elements start in column h (continuation lines too),
 * and `width` is the room left once the enclosing levels' ']' are counted. */
static void recurse(printer *p, int axis, int h, int width) {
  int left = p->shape.ndim - axis;
  int64_t len = p->shape.dim[axis];
  emit(p, "[", 1);
  if (left == 1) {
    int line = h; /* the column where the next word goes */
    for (int64_t i = 0; i < len; i++) {
      char word[128];
      element(p, p->index++, word, sizeof word);
      int wl = (int)strlen(word);
      if (i > 0) {
        /* the word with its separator must end before the closing ']' */
        if (line + 1 + wl > width - 1) {
          emit(p, "\n", 1);
          for (int k = 0; k < h; k++) {
            emit(p, " ", 1);
          }
          line = h;
        } else {
          emit(p, " ", 1);
          line += 1;
        }
      }
      emits(p, word);
      line += wl;
    }
  } else {
    for (int64_t i = 0; i < len; i++) {
      if (i > 0) {
        for (int k = 0; k < left - 1; k++) {
          emit(p, "\n", 1);
        }
        for (int k = 0; k < h; k++) {
          emit(p, " ", 1);
        }
      }
      recurse(p, axis + 1, h + 1, width - 1);
    }
  }
  emit(p, "]", 1);
}

static void print_scalar(FILE *out, floe_dtype dtype, const void *data) {
  switch (dtype) {
  case FLOE_BOOL:
    fputs(*(const _Bool *)data ? "True\n" : "False\n", out);
    return;
  case FLOE_UINT8:
    fprintf(out, "%u\n", (unsigned)*(const uint8_t *)data);
    return;
  case FLOE_INT32:
    fprintf(out, "%" PRId32 "\n", *(const int32_t *)data);
    return;
  case FLOE_INT64:
    fprintf(out, "%" PRId64 "\n", *(const int64_t *)data);
    return;
  default: {
    double v = dtype == FLOE_FLOAT32 ? (double)*(const float *)data : *(const double *)data;
    if (isnan(v)) {
      fputs("nan\n", out);
    } else {
      fprintf(out, "%.17g\n", v);
    }
    return;
  }
  }
}

void cli_print_array(FILE *out, floe_dtype dtype, floe_shape shape, const void *data) {
  if (shape.ndim == 0) {
    print_scalar(out, dtype, data);
    return;
  }
  int64_t n = 1;
  for (int d = 0; d < shape.ndim; d++) {
    n *= shape.dim[d];
  }
  if (n == 0) {
    fputs("[]\n", out);
    return;
  }
  printer p = {.out = out, .dtype = dtype, .shape = shape, .data = data};
  if (dtype == FLOE_FLOAT32 || dtype == FLOE_FLOAT64) {
    p.as_double = malloc((size_t)n * sizeof(double));
    if (p.as_double == NULL) {
      fputs("floe: out of memory printing the result\n", stderr);
      return;
    }
    for (int64_t i = 0; i < n; i++) {
      p.as_double[i] =
          dtype == FLOE_FLOAT32 ? (double)((const float *)data)[i] : ((const double *)data)[i];
    }
    p.ff = float_setup(p.as_double, n, dtype == FLOE_FLOAT32);
  } else if (dtype != FLOE_BOOL) {
    for (int64_t i = 0; i < n; i++) {
      char buf[32];
      int w = snprintf(buf, sizeof buf, "%" PRId64, load_int(&p, i));
      p.int_width = w > p.int_width ? w : p.int_width;
    }
  }
  recurse(&p, 0, 1, LINE_WIDTH);
  if (p.s != NULL) {
    fputs(p.s, out);
  }
  fputc('\n', out);
  free(p.s);
  free(p.as_double);
}

/* --------------------------------------------------------- plan, stats */

void cli_print_plan(FILE *out, const char *indent, const floe_plan_info *p, uint64_t memory_limit) {
  char a[32], b[32], c[32], d[32], e[32];
  fprintf(out, "%stasks           %s (%s fused program%s)\n", indent, cli_count(p->tasks, a),
          cli_count(p->fused_programs, e), p->fused_programs == 1 ? "" : "s");
  fprintf(out, "%sread            %s\n", indent, cli_bytes(p->bytes_read, b));
  fprintf(out, "%swrite           %s\n", indent, cli_bytes(p->bytes_written, c));
  fprintf(out, "%speak memory     %s predicted", indent, cli_bytes(p->peak_memory, d));
  if (memory_limit > 0) {
    fprintf(out, " (limit %s)", cli_bytes(memory_limit, a));
  }
  fputc('\n', out);
}

void cli_print_stats(FILE *out, const char *indent, const floe_stats *s) {
  char a[32], b[32];
  double secs = s->seconds > 0 ? s->seconds : 1e-9;
  fprintf(out, "%stasks           %s (%s/s)\n", indent, cli_count(s->tasks, a),
          cli_count((uint64_t)((double)s->tasks / secs), b));
  fprintf(out, "%sread            %s\n", indent, cli_bytes(s->bytes_read, a));
  fprintf(out, "%swritten         %s\n", indent, cli_bytes(s->bytes_written, a));
  fprintf(out, "%sspilled         %s", indent, cli_bytes(s->bytes_spilled, a));
  if (s->bytes_reloaded > 0 || s->bytes_reread > 0) {
    fprintf(out, " (reloaded %s, ", cli_bytes(s->bytes_reloaded, a));
    fprintf(out, "inputs re-read %s)", cli_bytes(s->bytes_reread, b));
  }
  fputc('\n', out);
  fprintf(out, "%speak memory     %s\n", indent, cli_bytes(s->peak_memory, a));
  fprintf(out, "%stime            %s", indent, cli_seconds(s->seconds, a));
  fprintf(out, " (I/O %s", cli_seconds(s->io_seconds, b));
  if (s->wait_seconds > 0) {
    fprintf(out, ", waiting for memory %s", cli_seconds(s->wait_seconds, a));
  }
  fputs(", summed over workers)\n", out);
  uint64_t moved = s->bytes_read + s->bytes_written;
  fprintf(out, "%sthroughput      %s/s read and written\n", indent,
          cli_bytes((uint64_t)((double)moved / secs), a));
}
