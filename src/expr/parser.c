/* The parser of floe_eval: precedence climbing over the token array, which
 * emits a postfix program (each operation after its operands).
 *
 *   expr    := binary(1)
 *   binary  := unary (binop binary(prec + 1))*   binop of precedence >= min
 *                1 |   2 ^   3 &   4 == != < <= > >= (no chains)
 *                5 + -   6 * / // %
 *   unary   := ('-' | '+' | '~') unary | power
 *   power   := atom ['**' unary]                  right-associative
 *   atom    := INT | FLOAT | True | False | NAME | NAME '(' args ')' | '(' expr ')'
 *   args    := [arg (',' arg)* [',']]
 *   arg     := expr | NAME '=' value              axis=, keepdims=, ddof=, dtype=
 *
 * `& | ^` sit below the comparisons, as in pandas.eval, so that
 * `x > 0 & y < 1` means what it says; in Python it would be a chained
 * comparison.  Constant arguments (axes, keepdims, ddof, dtypes, clip's None)
 * are consumed here and stored in the call's instruction. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr-internal.h"

enum { PREC_CMP = 4 };

typedef struct parser {
  const char *src;
  const floe__token *t; /* the current token; the last one is always END */
  const floe__token *first;
  const floe_eval_var *vars;
  size_t nvars;
  floe__program *prog;
  floe__expr_error *err;
  int depth;
  int open;     /* parentheses open around the current token */
  size_t stack; /* values on the stack after the code emitted so far */
} parser;

/* ---------------------------------------------------------------- helpers */

static void advance(parser *p) {
  if (p->t->kind != FLOE__TOK_END) {
    p->t++;
  }
}

static const floe__token *peek2(const parser *p) {
  return p->t->kind == FLOE__TOK_END ? p->t : p->t + 1;
}

static bool tok_is(const parser *p, const floe__token *t, const char *name) {
  size_t n = strlen(name);
  return t->kind == FLOE__TOK_NAME && t->len == n && strncmp(p->src + t->pos, name, n) == 0;
}

static int shown(size_t len) {
  return (int)(len < 40 ? len : 40);
}
static const char *more(size_t len) {
  return len > 40 ? "..." : "";
}

/* Python's word operators, which floe writes as & | ~. */
static bool is_word_op(const parser *p, const floe__token *t) {
  return tok_is(p, t, "and") || tok_is(p, t, "or") || tok_is(p, t, "not");
}

static bool fail_found(parser *p, const char *expected) {
  char what[96];
  if (is_word_op(p, p->t)) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                           "'%.*s' is not supported; use & (and), | (or), ~ (not)", (int)p->t->len,
                           p->src + p->t->pos);
  }
  return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "expected %s, found %s", expected,
                         floe__tok_describe(p->src, p->t, what, sizeof what));
}

static int stack_effect(const floe__instr *in) {
  switch (in->code) {
  case FLOE__OP_INT:
  case FLOE__OP_FLOAT:
  case FLOE__OP_BOOL:
  case FLOE__OP_VAR:
    return 1;
  case FLOE__OP_BINARY:
  case FLOE__OP_LOGIC:
  case FLOE__OP_PRODUCT:
  case FLOE__OP_MASK:
    return -1;
  case FLOE__OP_JOIN:
    return 1 - in->u.join.n;
  case FLOE__OP_WHERE:
    return -2;
  case FLOE__OP_CLIP:
    return -(int)in->u.clip.has_lo - (int)in->u.clip.has_hi;
  default:
    return 0;
  }
}

static bool emit(parser *p, floe__instr in) {
  floe__program *g = p->prog;
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 32;
    floe__instr *code = realloc(g->code, cap * sizeof *code);
    if (code == NULL) {
      return floe__expr_fail(p->err, FLOE_ERR_NOMEM, in.pos, "out of memory");
    }
    g->code = code;
    g->cap = cap;
  }
  g->code[g->n++] = in;
  p->stack = (size_t)((ptrdiff_t)p->stack + stack_effect(&in));
  if (p->stack > g->max_stack) {
    g->max_stack = p->stack;
  }
  return true;
}

static bool emit_op(parser *p, floe__opcode code, int op, size_t pos) {
  floe__instr in = {.code = code, .pos = pos};
  in.u.op = op;
  return emit(p, in);
}

static bool find_var(const parser *p, const floe__token *t, size_t *index) {
  for (size_t i = 0; i < p->nvars; i++) {
    const char *name = p->vars[i].name;
    if (strncmp(name, p->src + t->pos, t->len) == 0 && name[t->len] == '\0') {
      *index = i;
      return true;
    }
  }
  return false;
}

/* -------------------------------------------------------- constant values */

/* [+-]INT, for axes. */
static bool parse_small_int(parser *p, const char *what, int *value, size_t *pos) {
  *pos = p->t->pos;
  bool neg = false;
  while (p->t->kind == FLOE__TOK_MINUS || p->t->kind == FLOE__TOK_PLUS) {
    neg ^= p->t->kind == FLOE__TOK_MINUS;
    advance(p);
  }
  if (p->t->kind != FLOE__TOK_INT) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, *pos,
                           "%s must be an integer, a tuple of integers or None", what);
  }
  if (p->t->v.ival > INT_MAX) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, *pos, "%s %s%.*s is out of bounds", what,
                           neg ? "-" : "", shown(p->t->len), p->src + p->t->pos);
  }
  *value = neg ? -(int)p->t->v.ival : (int)p->t->v.ival;
  advance(p);
  return true;
}

/* axis=: an integer, a tuple of them, or None. */
static bool parse_axis(parser *p, floe__expr_reduce *r) {
  if (tok_is(p, p->t, "None")) {
    r->axes = FLOE_ALL;
    advance(p);
    return true;
  }
  if (p->t->kind != FLOE__TOK_LPAREN) {
    r->axes.n = 1;
    return parse_small_int(p, "axis", &r->axes.axis[0], &r->axis_pos[0]);
  }
  size_t open = p->t->pos;
  advance(p);
  r->axes.n = 0;
  while (p->t->kind != FLOE__TOK_RPAREN) {
    if (r->axes.n == FLOE_MAX_DIMS) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "too many axes (at most %d)",
                             FLOE_MAX_DIMS);
    }
    int k = r->axes.n++;
    if (!parse_small_int(p, "axis", &r->axes.axis[k], &r->axis_pos[k])) {
      return false;
    }
    if (p->t->kind == FLOE__TOK_COMMA) {
      advance(p);
    } else if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'(' was never closed");
    } else if (p->t->kind != FLOE__TOK_RPAREN) {
      return fail_found(p, "',' or ')' in the axis tuple");
    }
  }
  advance(p);
  return true;
}

static bool parse_keepdims(parser *p, int *keepdims) {
  const floe__token *t = p->t;
  if (tok_is(p, t, "True") || (t->kind == FLOE__TOK_INT && t->v.ival == 1)) {
    *keepdims = 1;
  } else if (tok_is(p, t, "False") || (t->kind == FLOE__TOK_INT && t->v.ival == 0)) {
    *keepdims = 0;
  } else {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos, "keepdims must be True or False");
  }
  advance(p);
  return true;
}

static bool parse_ddof(parser *p, int *ddof) {
  size_t pos = p->t->pos;
  if (p->t->kind == FLOE__TOK_PLUS) {
    advance(p);
  }
  if (p->t->kind != FLOE__TOK_INT || p->t->v.ival > INT_MAX) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos, "ddof must be a non-negative integer");
  }
  *ddof = (int)p->t->v.ival;
  advance(p);
  return true;
}

/* A dtype: a bare name (float32) or a string ('float32'). */
static bool parse_dtype(parser *p, floe_dtype *dtype) {
  const floe__token *t = p->t;
  const char *name = p->src + t->pos;
  size_t len = t->len;
  if (t->kind == FLOE__TOK_STRING) {
    name++;
    len -= 2;
  } else if (t->kind != FLOE__TOK_NAME) {
    return fail_found(p, "a dtype (bool, uint8, int32, int64, float32 or float64)");
  }
  *dtype = floe__expr_dtype_find(name, len);
  if (*dtype == FLOE_DTYPE_COUNT_) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos,
                           "unknown dtype '%.*s%s' (expected bool, uint8, int32, int64, "
                           "float32 or float64)",
                           shown(len), name, more(len));
  }
  advance(p);
  return true;
}

/* ------------------------------------------------------------ expressions */

static bool parse_expr(parser *p);
static bool parse_unary(parser *p);
static bool parse_index_int(parser *p, int64_t *value, bool *given);

/* A call's state while its arguments are read. */
typedef struct call {
  const floe__fn *fn;
  size_t name_pos;
  int npos;                                         /* positional arguments so far */
  bool axis_set, dtype_set, keepdims_set, ddof_set; /* given, by position or keyword */
  bool keywords;                                    /* a keyword argument was seen */
  floe__instr in;
} call;

/* A shape: an integer or a tuple of them (-1 for one unknown length). */
static bool parse_shape(parser *p, floe_shape *shape) {
  size_t pos = p->t->pos;
  bool tuple = p->t->kind == FLOE__TOK_LPAREN;
  shape->ndim = 0;
  if (tuple) {
    advance(p);
  }
  while (!tuple || p->t->kind != FLOE__TOK_RPAREN) {
    if (shape->ndim == FLOE_MAX_DIMS) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "more than %d axes",
                             FLOE_MAX_DIMS);
    }
    int64_t v = 0;
    bool given;
    if (!parse_index_int(p, &v, &given)) {
      return false;
    }
    if (!given) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                             "a shape is an integer or a tuple of integers");
    }
    shape->dim[shape->ndim++] = v;
    if (!tuple) {
      return true;
    }
    if (p->t->kind == FLOE__TOK_COMMA) {
      advance(p);
    } else if (p->t->kind != FLOE__TOK_RPAREN) {
      return p->t->kind == FLOE__TOK_END
                 ? floe__expr_fail(p->err, FLOE_ERR_INVALID, pos, "'(' was never closed")
                 : fail_found(p, "',' or ')'");
    }
  }
  advance(p);
  return true;
}

/* A constant number argument ([-]int or float), as quantile's q. */
static bool parse_number(parser *p, const char *what, double *value) {
  size_t pos = p->t->pos;
  bool neg = false;
  if (p->t->kind == FLOE__TOK_MINUS) {
    neg = true;
    advance(p);
  }
  if (p->t->kind == FLOE__TOK_INT) {
    *value = (double)p->t->v.ival;
  } else if (p->t->kind == FLOE__TOK_FLOAT) {
    *value = p->t->v.fval;
  } else {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos, "%s must be a number", what);
  }
  *value = neg ? -*value : *value;
  advance(p);
  return true;
}

/* (a, b, ...): the arrays of concatenate and stack. */
static bool parse_tuple(parser *p, call *c) {
  size_t open = p->t->pos;
  if (p->t->kind != FLOE__TOK_LPAREN) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, open,
                           "%s() takes a tuple of arrays, as in %s((x, y), axis=0)", c->fn->name,
                           c->fn->name);
  }
  advance(p);
  while (p->t->kind != FLOE__TOK_RPAREN) {
    if (c->in.u.join.n == 64) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "more than 64 arrays");
    }
    if (!parse_expr(p)) {
      return false;
    }
    c->in.u.join.n++;
    if (p->t->kind == FLOE__TOK_COMMA) {
      advance(p);
    } else if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'(' was never closed");
    } else if (p->t->kind != FLOE__TOK_RPAREN) {
      return fail_found(p, "',' or ')'");
    }
  }
  if (c->in.u.join.n == 0) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "need at least one array to %s",
                           c->fn->name);
  }
  advance(p);
  return true;
}

static bool is_arg_end(const floe__token *t) {
  return t->kind == FLOE__TOK_COMMA || t->kind == FLOE__TOK_RPAREN;
}

static bool parse_positional(parser *p, call *c) {
  int i = c->npos++;
  switch (c->fn->kind) {
  case FLOE__FN_CLIP:
    if (i >= 1 && tok_is(p, p->t, "None") && is_arg_end(peek2(p))) {
      advance(p);
      return true; /* no bound: has_lo / has_hi stay false */
    }
    if (i == 1) {
      c->in.u.clip.has_lo = true;
    } else if (i == 2) {
      c->in.u.clip.has_hi = true;
    }
    return parse_expr(p);
  case FLOE__FN_ASTYPE:
    if (i == 1) {
      c->dtype_set = true;
      return parse_dtype(p, &c->in.u.dtype);
    }
    return parse_expr(p);
  case FLOE__FN_REDUCE:
    if (i == 1) {
      c->axis_set = true;
      return parse_axis(p, &c->in.u.reduce);
    }
    return parse_expr(p);
  case FLOE__FN_JOIN:
    if (i == 1) {
      size_t pos;
      c->axis_set = true;
      return parse_small_int(p, "axis", &c->in.u.join.axis, &pos);
    }
    return parse_tuple(p, c);
  case FLOE__FN_RESHAPE:
    if (i == 1) {
      return parse_shape(p, &c->in.u.shape);
    }
    return parse_expr(p);
  case FLOE__FN_AXIS:
    if (i == 1 && c->fn->op == FLOE__AX_QUANTILE) {
      return parse_number(p, "q", &c->in.u.along.q);
    }
    if (i >= 1) {
      size_t pos;
      c->axis_set = true;
      c->in.u.along.has_axis = true;
      return parse_small_int(p, "axis", &c->in.u.along.axis, &pos);
    }
    return parse_expr(p);
  default:
    return parse_expr(p);
  }
}

static bool parse_keyword(parser *p, call *c) {
  const floe__token *key = p->t;
  advance(p); /* the name */
  advance(p); /* '=' */
  const floe__fn *fn = c->fn;
  bool *seen = NULL;
  if (fn->kind == FLOE__FN_REDUCE && tok_is(p, key, "axis")) {
    seen = &c->axis_set;
  } else if (fn->kind == FLOE__FN_REDUCE && tok_is(p, key, "keepdims")) {
    seen = &c->keepdims_set;
  } else if (fn->kind == FLOE__FN_REDUCE && tok_is(p, key, "ddof") &&
             (fn->op == FLOE_VAR || fn->op == FLOE_STD)) {
    seen = &c->ddof_set;
  } else if (fn->kind == FLOE__FN_ASTYPE && tok_is(p, key, "dtype")) {
    seen = &c->dtype_set;
  } else if (fn->kind == FLOE__FN_AXIS && tok_is(p, key, "axis")) {
    if (c->axis_set) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, key->pos, "%s() got 'axis' twice",
                             fn->name);
    }
    c->axis_set = true;
    c->keywords = true;
    c->in.u.along.has_axis = true;
    size_t pos;
    return parse_small_int(p, "axis", &c->in.u.along.axis, &pos);
  } else if (fn->kind == FLOE__FN_JOIN && tok_is(p, key, "axis")) {
    if (c->axis_set) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, key->pos, "%s() got 'axis' twice",
                             fn->name);
    }
    c->axis_set = true;
    c->keywords = true;
    size_t pos;
    return parse_small_int(p, "axis", &c->in.u.join.axis, &pos);
  } else {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, key->pos,
                           "unexpected keyword '%.*s%s' for %s()", shown(key->len),
                           p->src + key->pos, more(key->len), fn->name);
  }
  if (*seen) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, key->pos, "%s() got '%.*s' twice", fn->name,
                           (int)key->len, p->src + key->pos);
  }
  *seen = true;
  c->keywords = true;
  if (seen == &c->axis_set) {
    return parse_axis(p, &c->in.u.reduce);
  }
  if (seen == &c->keepdims_set) {
    return parse_keepdims(p, &c->in.u.reduce.axes.keepdims);
  }
  if (seen == &c->ddof_set) {
    return parse_ddof(p, &c->in.u.reduce.ddof);
  }
  return parse_dtype(p, &c->in.u.dtype);
}

static const char *arg_count_text(const floe__fn *fn, char *buf, size_t size) {
  if (fn->min_args == fn->max_args) {
    snprintf(buf, size, "%d argument%s", fn->min_args, fn->min_args == 1 ? "" : "s");
  } else {
    snprintf(buf, size, "%d to %d arguments", fn->min_args, fn->max_args);
  }
  return buf;
}

static bool parse_call(parser *p) {
  const floe__token *name = p->t;
  const floe__fn *fn = floe__expr_fn_find(p->src + name->pos, name->len);
  if (fn == NULL) {
    size_t index;
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, name->pos,
                           find_var(p, name, &index) ? "'%.*s%s' is a variable, not a function"
                                                     : "unknown function '%.*s%s'",
                           shown(name->len), p->src + name->pos, more(name->len));
  }
  advance(p);
  size_t open = p->t->pos;
  advance(p);
  p->open++;
  call c = {.fn = fn, .name_pos = name->pos};
  c.in.pos = name->pos;
  if (fn->kind == FLOE__FN_REDUCE) {
    c.in.u.reduce.axes = FLOE_ALL;
  }
  while (p->t->kind != FLOE__TOK_RPAREN) {
    char buf[64];
    if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'(' was never closed");
    }
    if (p->t->kind == FLOE__TOK_NAME && peek2(p)->kind == FLOE__TOK_ASSIGN) {
      if (!parse_keyword(p, &c)) {
        return false;
      }
    } else if (c.keywords) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                             "positional argument follows keyword argument");
    } else if (c.npos == fn->max_args) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                             "too many arguments: %s() takes %s", fn->name,
                             arg_count_text(fn, buf, sizeof buf));
    } else if (!parse_positional(p, &c)) {
      return false;
    }
    if (p->t->kind == FLOE__TOK_COMMA) {
      advance(p);
    } else if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'(' was never closed");
    } else if (p->t->kind != FLOE__TOK_RPAREN) {
      return fail_found(p, "',' or ')'");
    }
  }
  /* keywords that name positional parameters count as given */
  int given = c.npos;
  if (fn->kind == FLOE__FN_ASTYPE && c.dtype_set && c.npos < 2) {
    given++;
  }
  if (given < fn->min_args) {
    char buf[64];
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "%s() takes %s, got %d", fn->name,
                           arg_count_text(fn, buf, sizeof buf), given);
  }
  advance(p); /* ')' */
  p->open--;
  switch (fn->kind) {
  case FLOE__FN_UNARY:
    return emit_op(p, FLOE__OP_UNARY, fn->op, c.name_pos);
  case FLOE__FN_BINARY:
    return emit_op(p, FLOE__OP_BINARY, fn->op, c.name_pos);
  case FLOE__FN_WHERE:
    return emit_op(p, FLOE__OP_WHERE, 0, c.name_pos);
  case FLOE__FN_CLIP:
    c.in.code = FLOE__OP_CLIP;
    return emit(p, c.in);
  case FLOE__FN_ASTYPE:
    c.in.code = FLOE__OP_ASTYPE;
    return emit(p, c.in);
  case FLOE__FN_REDUCE:
    c.in.code = FLOE__OP_REDUCE;
    c.in.u.reduce.op = fn->op;
    return emit(p, c.in);
  case FLOE__FN_TRANSPOSE:
    return emit_op(p, FLOE__OP_TRANSPOSE, 0, c.name_pos);
  case FLOE__FN_PRODUCT:
    return emit_op(p, FLOE__OP_PRODUCT, fn->op, c.name_pos);
  case FLOE__FN_JOIN:
    c.in.code = FLOE__OP_JOIN;
    c.in.u.join.stack = fn->op;
    return emit(p, c.in);
  case FLOE__FN_AXIS:
    c.in.code = FLOE__OP_AXIS;
    c.in.u.along.op = fn->op;
    return emit(p, c.in);
  case FLOE__FN_RESHAPE:
    c.in.code = FLOE__OP_RESHAPE;
    if (fn->op == 1) {
      c.in.u.shape = FLOE_SHAPE(-1);
    }
    return emit(p, c.in);
  }
  return false;
}

/* A name that is not a call: a variable, a constant, or a helpful error. */
static bool parse_name(parser *p) {
  const floe__token *t = p->t;
  const char *s = p->src + t->pos;
  floe__instr in = {.pos = t->pos};
  size_t index;
  static const struct {
    const char *name;
    double value;
  } constants[] = {
      {"pi", 3.14159265358979323846},
      {"e", 2.71828182845904523536},
      {"inf", INFINITY},
      {"nan", NAN},
  };
  if (tok_is(p, t, "True") || tok_is(p, t, "False")) {
    in.code = FLOE__OP_BOOL;
    in.u.flag = tok_is(p, t, "True");
    advance(p);
    return emit(p, in);
  }
  if (tok_is(p, t, "None")) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos,
                           "None is only allowed as an axis or as a bound of clip()");
  }
  if (find_var(p, t, &index)) {
    in.code = FLOE__OP_VAR;
    in.u.index = index;
    advance(p);
    return emit(p, in);
  }
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    if (tok_is(p, t, constants[i].name)) {
      in.code = FLOE__OP_FLOAT;
      in.u.fval = constants[i].value;
      advance(p);
      return emit(p, in);
    }
  }
  if (is_word_op(p, t)) {
    return fail_found(p, "a value");
  }
  if (floe__expr_fn_find(s, t->len) != NULL) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos,
                           "'%.*s' is a function; call it as %.*s(...)", (int)t->len, s,
                           (int)t->len, s);
  }
  return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos, "unknown name '%.*s%s'", shown(t->len),
                         s, more(t->len));
}

static bool parse_atom(parser *p) {
  const floe__token *t = p->t;
  floe__instr in = {.pos = t->pos};
  switch (t->kind) {
  case FLOE__TOK_INT:
    in.code = FLOE__OP_INT;
    in.u.num.mag = t->v.ival;
    advance(p);
    return emit(p, in);
  case FLOE__TOK_FLOAT:
    in.code = FLOE__OP_FLOAT;
    in.u.fval = t->v.fval;
    advance(p);
    return emit(p, in);
  case FLOE__TOK_NAME:
    return peek2(p)->kind == FLOE__TOK_LPAREN ? parse_call(p) : parse_name(p);
  case FLOE__TOK_LPAREN:
    advance(p);
    p->open++;
    if (!parse_expr(p)) {
      return false;
    }
    p->open--;
    if (p->t->kind == FLOE__TOK_COMMA) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                             "a tuple is only allowed as an axis= value");
    }
    if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos, "'(' was never closed");
    }
    if (p->t->kind != FLOE__TOK_RPAREN) {
      return fail_found(p, "')'");
    }
    advance(p);
    return true;
  case FLOE__TOK_RPAREN:
    if (p->open == 0) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos, "unmatched ')'");
    }
    return fail_found(p, "a value");
  case FLOE__TOK_STRING:
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos,
                           "a string is only allowed as a dtype, as in astype(x, 'float32')");
  case FLOE__TOK_END:
    if (t == p->first) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, t->pos, "empty expression");
    }
    return fail_found(p, "a value");
  default:
    return fail_found(p, "a value");
  }
}

/* An integer of a subscript: [-]digits; *given false when absent. */
static bool parse_index_int(parser *p, int64_t *value, bool *given) {
  size_t pos = p->t->pos;
  bool neg = false;
  *given = false;
  if (p->t->kind == FLOE__TOK_MINUS) {
    neg = true;
    advance(p);
  }
  if (p->t->kind != FLOE__TOK_INT) {
    if (neg) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos, "an index must be an integer");
    }
    return true;
  }
  if (p->t->v.ival > (uint64_t)INT64_MAX) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos, "index out of range");
  }
  *value = neg ? -(int64_t)p->t->v.ival : (int64_t)p->t->v.ival;
  *given = true;
  advance(p);
  return true;
}

/* [i, a:b:c, None, ...]: basic indexing with integer constants; or
 * [mask]: a bool array expression. */
static bool parse_subscript(parser *p) {
  floe__instr in = {.code = FLOE__OP_SLICE, .pos = p->t->pos};
  size_t open = p->t->pos;
  advance(p); /* '[' */
  const floe__tok_kind k0 = p->t->kind, k1 = peek2(p)->kind;
  bool basic = k0 == FLOE__TOK_ELLIPSIS || k0 == FLOE__TOK_COLON || k0 == FLOE__TOK_RBRACKET ||
               tok_is(p, p->t, "None") ||
               (k0 == FLOE__TOK_INT && (k1 == FLOE__TOK_COMMA || k1 == FLOE__TOK_COLON ||
                                        k1 == FLOE__TOK_RBRACKET)) ||
               (k0 == FLOE__TOK_MINUS && k1 == FLOE__TOK_INT);
  if (!basic) {
    if (!parse_expr(p)) {
      return false;
    }
    if (p->t->kind != FLOE__TOK_RBRACKET) {
      return p->t->kind == FLOE__TOK_END
                 ? floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'[' was never closed")
                 : fail_found(p, "']' (a mask is a single bool array)");
    }
    advance(p);
    return emit_op(p, FLOE__OP_MASK, 0, open);
  }
  floe__expr_slice *s = &in.u.slice;
  while (p->t->kind != FLOE__TOK_RBRACKET) {
    if (s->n == FLOE__EXPR_MAX_INDEX) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos, "more than %d indices",
                             FLOE__EXPR_MAX_INDEX);
    }
    floe_index *ix = &s->idx[s->n++];
    if (p->t->kind == FLOE__TOK_ELLIPSIS) {
      *ix = FLOE_ELLIPSIS;
      advance(p);
    } else if (tok_is(p, p->t, "None")) {
      *ix = FLOE_NEWAXIS;
      advance(p);
    } else {
      int64_t v = 0;
      bool given;
      if (!parse_index_int(p, &v, &given)) {
        return false;
      }
      if (p->t->kind != FLOE__TOK_COLON) {
        if (!given) {
          if (p->t->kind == FLOE__TOK_END) {
            return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'[' was never closed");
          }
          return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                                 "an index must be an integer, a slice, None or ...");
        }
        *ix = FLOE_AT(v);
      } else {
        *ix = FLOE_SLICE(given ? v : FLOE_NONE, FLOE_NONE, 1);
        advance(p); /* ':' */
        if (!parse_index_int(p, &v, &given)) {
          return false;
        }
        ix->stop = given ? v : FLOE_NONE;
        if (p->t->kind == FLOE__TOK_COLON) {
          advance(p);
          size_t spos = p->t->pos;
          if (!parse_index_int(p, &v, &given)) {
            return false;
          }
          if (given && v == 0) {
            return floe__expr_fail(p->err, FLOE_ERR_INVALID, spos, "slice step cannot be zero");
          }
          ix->step = given ? v : 1;
        }
      }
    }
    if (p->t->kind == FLOE__TOK_COMMA) {
      advance(p);
    } else if (p->t->kind == FLOE__TOK_END) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, open, "'[' was never closed");
    } else if (p->t->kind != FLOE__TOK_RBRACKET) {
      return fail_found(p, "',' or ']'");
    }
  }
  advance(p); /* ']' */
  return emit(p, in);
}

/* Subscripts and .T after an atom. */
static bool parse_trailers(parser *p) {
  for (;;) {
    if (p->t->kind == FLOE__TOK_LBRACKET) {
      if (!parse_subscript(p)) {
        return false;
      }
    } else if (p->t->kind == FLOE__TOK_DOT) {
      size_t pos = p->t->pos;
      advance(p);
      if (p->t->kind != FLOE__TOK_NAME || !tok_is(p, p->t, "T")) {
        return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos,
                               "the only attribute is .T (the transpose)");
      }
      advance(p);
      if (!emit_op(p, FLOE__OP_TRANSPOSE, 0, pos)) {
        return false;
      }
    } else {
      return true;
    }
  }
}

static bool parse_power(parser *p) {
  if (!parse_atom(p) || !parse_trailers(p)) {
    return false;
  }
  if (p->t->kind != FLOE__TOK_POW) {
    return true;
  }
  size_t pos = p->t->pos;
  advance(p);
  /* the exponent is a unary expression: 2**-1, and 2**3**2 == 2**(3**2) */
  return parse_unary(p) && emit_op(p, FLOE__OP_BINARY, FLOE_POWER, pos);
}

static bool parse_unary_body(parser *p) {
  const floe__token *t = p->t;
  if (t->kind == FLOE__TOK_PLUS) {
    advance(p);
    return parse_unary(p); /* +x is x */
  }
  if (t->kind == FLOE__TOK_TILDE) {
    advance(p);
    return parse_unary(p) && emit_op(p, FLOE__OP_NOT, FLOE_LOGICAL_NOT, t->pos);
  }
  if (t->kind != FLOE__TOK_MINUS) {
    return parse_power(p);
  }
  advance(p);
  size_t start = p->prog->n;
  if (!parse_unary(p)) {
    return false;
  }
  /* -<number> is a negative literal, so that -5 stays a weak int that
     floe can range-check and -9223372036854775808 is representable */
  floe__instr *last = &p->prog->code[p->prog->n - 1];
  if (p->prog->n == start + 1 && last->code == FLOE__OP_INT) {
    last->u.num.neg = !last->u.num.neg;
    return true;
  }
  if (p->prog->n == start + 1 && last->code == FLOE__OP_FLOAT) {
    last->u.fval = -last->u.fval;
    return true;
  }
  return emit_op(p, FLOE__OP_UNARY, FLOE_NEGATIVE, t->pos);
}

static bool parse_unary(parser *p) {
  if (p->depth == FLOE__EXPR_MAX_DEPTH) {
    return floe__expr_fail(p->err, FLOE_ERR_INVALID, p->t->pos,
                           "expression nested too deeply (more than %d levels)",
                           FLOE__EXPR_MAX_DEPTH);
  }
  p->depth++;
  bool ok = parse_unary_body(p);
  p->depth--;
  return ok;
}

typedef struct binop {
  int prec;
  floe__opcode code;
  floe_binary_op op;
} binop;

static bool binop_of(floe__tok_kind kind, binop *b) {
  switch (kind) {
  case FLOE__TOK_PIPE:
    *b = (binop){1, FLOE__OP_LOGIC, FLOE_LOGICAL_OR};
    return true;
  case FLOE__TOK_CARET:
    *b = (binop){2, FLOE__OP_LOGIC, FLOE_LOGICAL_XOR};
    return true;
  case FLOE__TOK_AMP:
    *b = (binop){3, FLOE__OP_LOGIC, FLOE_LOGICAL_AND};
    return true;
  case FLOE__TOK_EQ:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_EQUAL};
    return true;
  case FLOE__TOK_NE:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_NOT_EQUAL};
    return true;
  case FLOE__TOK_LT:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_LESS};
    return true;
  case FLOE__TOK_LE:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_LESS_EQUAL};
    return true;
  case FLOE__TOK_GT:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_GREATER};
    return true;
  case FLOE__TOK_GE:
    *b = (binop){PREC_CMP, FLOE__OP_BINARY, FLOE_GREATER_EQUAL};
    return true;
  case FLOE__TOK_PLUS:
    *b = (binop){5, FLOE__OP_BINARY, FLOE_ADD};
    return true;
  case FLOE__TOK_MINUS:
    *b = (binop){5, FLOE__OP_BINARY, FLOE_SUBTRACT};
    return true;
  case FLOE__TOK_STAR:
    *b = (binop){6, FLOE__OP_BINARY, FLOE_MULTIPLY};
    return true;
  case FLOE__TOK_SLASH:
    *b = (binop){6, FLOE__OP_BINARY, FLOE_DIVIDE};
    return true;
  case FLOE__TOK_DSLASH:
    *b = (binop){6, FLOE__OP_BINARY, FLOE_FLOOR_DIVIDE};
    return true;
  case FLOE__TOK_PERCENT:
    *b = (binop){6, FLOE__OP_BINARY, FLOE_MOD};
    return true;
  case FLOE__TOK_AT:
    *b = (binop){6, FLOE__OP_PRODUCT, (floe_binary_op)FLOE__PROD_MATMUL};
    return true;
  default:
    return false;
  }
}

/* Left-associative levels loop here; only right operands recurse, at most
 * once per level before reaching parse_unary, which counts the depth. */
static bool parse_binary(parser *p, int min_prec) {
  if (!parse_unary(p)) {
    return false;
  }
  bool after_cmp = false;
  binop b;
  while (binop_of(p->t->kind, &b) && b.prec >= min_prec) {
    size_t pos = p->t->pos;
    if (b.prec == PREC_CMP && after_cmp) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, pos,
                             "chained comparisons are not supported; write (a < b) & (b < c)");
    }
    advance(p);
    if (!parse_binary(p, b.prec + 1) || !emit_op(p, b.code, (int)b.op, pos)) {
      return false;
    }
    after_cmp = b.prec == PREC_CMP;
  }
  return true;
}

static bool parse_expr(parser *p) {
  return parse_binary(p, 1);
}

/* Integer literals become int64 weak scalars once their sign is known. */
static bool check_ints(parser *p) {
  for (size_t i = 0; i < p->prog->n; i++) {
    const floe__instr *in = &p->prog->code[i];
    if (in->code != FLOE__OP_INT) {
      continue;
    }
    uint64_t limit = in->u.num.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (in->u.num.mag > limit) {
      return floe__expr_fail(p->err, FLOE_ERR_INVALID, in->pos,
                             "integer %s%llu does not fit in int64 (write it as a float: %s%llu.0)",
                             in->u.num.neg ? "-" : "", (unsigned long long)in->u.num.mag,
                             in->u.num.neg ? "-" : "", (unsigned long long)in->u.num.mag);
    }
  }
  return true;
}

bool floe__expr_parse(const char *src, const floe__token *toks, const floe_eval_var *vars,
                      size_t nvars, floe__program *prog, floe__expr_error *err) {
  parser p = {
      .src = src, .t = toks, .first = toks, .vars = vars, .nvars = nvars, .prog = prog, .err = err};
  memset(prog, 0, sizeof *prog);
  if (!parse_expr(&p)) {
    return false;
  }
  switch (p.t->kind) {
  case FLOE__TOK_END:
    return check_ints(&p);
  case FLOE__TOK_RPAREN:
    return floe__expr_fail(err, FLOE_ERR_INVALID, p.t->pos, "unmatched ')'");
  case FLOE__TOK_ASSIGN:
    return floe__expr_fail(err, FLOE_ERR_INVALID, p.t->pos, "unexpected '=' (use == to compare)");
  case FLOE__TOK_COMMA:
    return floe__expr_fail(err, FLOE_ERR_INVALID, p.t->pos,
                           "a tuple is only allowed as an axis= value");
  default:
    return fail_found(&p, "an operator");
  }
}

void floe__program_destroy(floe__program *prog) {
  free(prog->code);
  memset(prog, 0, sizeof *prog);
}
