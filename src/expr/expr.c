/* floe_eval: lex, parse, run; and the error messages that point into the
 * expression with a caret. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array/array-internal.h"
#include "core/error-internal.h"
#include "expr-internal.h"

/* Long expressions are shown as a window around the error. */
enum { SHOW_BEFORE = 60, SHOW_MAX = 100 };

bool floe__expr_fail(floe__expr_error *err, floe_status status, size_t pos, const char *fmt, ...) {
  if (err->status != FLOE_OK) {
    return false;
  }
  err->status = status;
  err->pos = pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->what, sizeof err->what, fmt, ap);
  va_end(ap);
  /* quoted source text may hold control characters; the message keeps its
     three lines */
  for (char *c = err->what; *c != '\0'; c++) {
    if ((unsigned char)*c < 0x20 || *c == 0x7f) {
      *c = ' ';
    }
  }
  return false;
}

static bool continuation(char c) {
  return ((unsigned char)c & 0xC0) == 0x80;
}

/*   floe_eval: <what> at column N
 *     <the expression, or a window of it>
 *     <spaces>^
 * Columns count bytes from 0; the caret line counts characters (UTF-8), and
 * control characters are shown as spaces so that the caret lines up. */
static floe_array *error_array(floe_ctx *ctx, const char *expr, const floe__expr_error *e) {
  size_t len = strlen(expr);
  size_t pos = e->pos < len ? e->pos : len;
  size_t start = 0, end = len;
  if (len > SHOW_MAX) {
    start = pos > SHOW_BEFORE ? pos - SHOW_BEFORE : 0;
    end = start + SHOW_MAX < len ? start + SHOW_MAX : len;
    while (start < pos && continuation(expr[start])) {
      start++;
    }
    while (end > pos && end < len && continuation(expr[end])) {
      end--;
    }
  }
  char shown[SHOW_MAX + 1], caret[SHOW_MAX + 1];
  size_t ns = 0, nc = 0;
  for (size_t i = start; i < end; i++) {
    unsigned char c = (unsigned char)expr[i];
    shown[ns++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    if (i < pos && !continuation(expr[i])) {
      caret[nc++] = ' ';
    }
  }
  shown[ns] = '\0';
  caret[nc] = '\0';
  const char *dots = start > 0 ? "..." : "";
  return floe__handle_error(ctx, e->status, "floe_eval: %s at column %zu\n  %s%s%s\n  %s%s^",
                            e->what, e->pos, dots, shown, end < len ? "..." : "",
                            start > 0 ? "   " : "", caret);
}

floe_array *floe_eval(floe_ctx *ctx, const char *expr, const floe_eval_var *vars, size_t n) {
  if (ctx == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_eval: the context is NULL");
    return NULL;
  }
  if (expr == NULL) {
    floe__fail(FLOE_ERR_INVALID, "floe_eval: the expression is NULL");
    return NULL;
  }
  if (n > 0 && vars == NULL) {
    return floe__handle_error(ctx, FLOE_ERR_INVALID, "floe_eval: vars is NULL but n is %zu", n);
  }
  for (size_t i = 0; i < n; i++) {
    if (vars[i].name == NULL) {
      return floe__handle_error(ctx, FLOE_ERR_INVALID, "floe_eval: vars[%zu].name is NULL", i);
    }
  }
  floe__expr_error err = {.status = FLOE_OK};
  floe__token *toks = NULL;
  size_t ntoks;
  floe__program prog = {0};
  floe_array *result = NULL;
  if (floe__expr_lex(expr, &toks, &ntoks, &err) &&
      floe__expr_parse(expr, toks, vars, n, &prog, &err)) {
    result = floe__expr_run(ctx, &prog, vars, &err);
  }
  free(toks);
  floe__program_destroy(&prog);
  if (err.status == FLOE_ERR_NOMEM || (result == NULL && err.status == FLOE_OK)) {
    return floe__handle_error(ctx, FLOE_ERR_NOMEM, "floe_eval: out of memory");
  }
  if (err.status != FLOE_OK) {
    return error_array(ctx, expr, &err);
  }
  return result;
}
