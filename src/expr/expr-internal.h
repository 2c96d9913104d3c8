/* The expression language behind floe_eval.
 *
 * Three stages, one file each:
 *   lexer.c   text → tokens (numbers are converted here, locale-free);
 *   parser.c  tokens → a postfix program: a precedence-climbing parser that
 *             emits each node after its operands, i.e. the AST flattened;
 *             names, functions, arities, keywords and constant arguments
 *             (axis=, keepdims=, ddof=, dtypes) are all settled here;
 *   eval.c    runs the program over a stack of array handles, calling the
 *             public array API; each step releases what it pops.
 * funcs.c holds the table of function names, expr.c the entry point and the
 * caret-style error messages.
 *
 * A postfix program needs no recursion to run, so a long left-leaning chain
 * (x1 + x2 + ... + x10000) costs no stack; the parser's own recursion is
 * bounded by FLOE__EXPR_MAX_DEPTH.  Everything lives in the call: no global
 * state, hence thread-safe. */
#ifndef FLOE_EXPR_EXPR_INTERNAL_H
#define FLOE_EXPR_EXPR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe.h"

/* Nesting limit: parentheses, calls and unary operators each count one. */
#define FLOE__EXPR_MAX_DEPTH 256

/* ----------------------------------------------------------------- errors */

/* The first error of a floe_eval call: what went wrong and where.  The entry
 * point turns it into the message with the caret. */
typedef struct floe__expr_error {
  floe_status status; /* FLOE_OK while there is none */
  size_t pos;         /* byte offset into the expression */
  char what[256];
} floe__expr_error;

/* Records an error unless one is already recorded; returns false so that
 * callers can write `return floe__expr_fail(...)`. */
bool floe__expr_fail(floe__expr_error *err, floe_status status, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ----------------------------------------------------------------- tokens */

typedef enum floe__tok_kind {
  FLOE__TOK_END,
  FLOE__TOK_INT,    /* .ival: the magnitude; the sign is an operator */
  FLOE__TOK_FLOAT,  /* .fval */
  FLOE__TOK_NAME,   /* identifiers, including True, False and None */
  FLOE__TOK_STRING, /* '...' or "...", without escapes: only for dtypes */
  FLOE__TOK_LPAREN,
  FLOE__TOK_RPAREN,
  FLOE__TOK_COMMA,
  FLOE__TOK_ASSIGN, /* = */
  FLOE__TOK_PLUS,
  FLOE__TOK_MINUS,
  FLOE__TOK_STAR,
  FLOE__TOK_SLASH,
  FLOE__TOK_DSLASH, /* // */
  FLOE__TOK_PERCENT,
  FLOE__TOK_POW, /* ** */
  FLOE__TOK_EQ,
  FLOE__TOK_NE,
  FLOE__TOK_LT,
  FLOE__TOK_LE,
  FLOE__TOK_GT,
  FLOE__TOK_GE,
  FLOE__TOK_AMP,
  FLOE__TOK_PIPE,
  FLOE__TOK_CARET,
  FLOE__TOK_TILDE,
  FLOE__TOK_LBRACKET,
  FLOE__TOK_RBRACKET,
  FLOE__TOK_COLON,
  FLOE__TOK_DOT,
  FLOE__TOK_AT, /* @ */
  FLOE__TOK_ELLIPSIS,
} floe__tok_kind;

typedef struct floe__token {
  floe__tok_kind kind;
  size_t pos, len; /* the lexeme in the source */
  union {
    uint64_t ival;
    double fval;
  } v;
} floe__token;

/* Splits `src` into tokens, ending with one FLOE__TOK_END.  On success
 * *toks (malloc'ed, free it) and *ntoks are set; on failure err is set and
 * *toks is NULL. */
bool floe__expr_lex(const char *src, floe__token **toks, size_t *ntoks, floe__expr_error *err);

/* Printable description of a token for messages ("name 'x'", "')'", "the
 * end of the expression"), written into buf. */
const char *floe__tok_describe(const char *src, const floe__token *t, char *buf, size_t size);

/* -------------------------------------------------------------- functions */

typedef enum floe__fn_kind {
  FLOE__FN_UNARY,  /* op: floe_unary_op */
  FLOE__FN_BINARY, /* op: floe_binary_op */
  FLOE__FN_WHERE,
  FLOE__FN_CLIP,
  FLOE__FN_ASTYPE,
  FLOE__FN_REDUCE, /* op: floe_reduce_op */
  FLOE__FN_TRANSPOSE,
  FLOE__FN_PRODUCT, /* op: FLOE__PROD_* */
  FLOE__FN_JOIN,    /* op: 0 concatenate, 1 stack; a tuple of arrays, then axis */
  FLOE__FN_AXIS,    /* op: FLOE__AX_*; (x[, q], axis) */
  FLOE__FN_RESHAPE, /* op: 0 reshape(x, shape), 1 ravel(x) */
} floe__fn_kind;

enum { FLOE__PROD_MATMUL, FLOE__PROD_DOT, FLOE__PROD_OUTER };
enum { FLOE__AX_CUMSUM, FLOE__AX_CUMPROD, FLOE__AX_SORT, FLOE__AX_MEDIAN, FLOE__AX_QUANTILE };

typedef struct floe__fn {
  const char *name;
  floe__fn_kind kind;
  int op;
  int min_args, max_args; /* positional, counting keywords that name them */
} floe__fn;

/* The function called `name` (len bytes, not NUL-terminated); NULL if none. */
const floe__fn *floe__expr_fn_find(const char *name, size_t len);

/* The dtype called `name` ("float32", also "float" and "int"); returns
 * FLOE_DTYPE_COUNT_ if none. */
floe_dtype floe__expr_dtype_find(const char *name, size_t len);

/* ---------------------------------------------------------------- program */

typedef enum floe__opcode {
  FLOE__OP_INT,    /* push a weak int: .num (magnitude, sign) */
  FLOE__OP_FLOAT,  /* push a weak float: .fval */
  FLOE__OP_BOOL,   /* push a bool 0-d array: .flag */
  FLOE__OP_VAR,    /* push a new reference to vars[.index] */
  FLOE__OP_UNARY,  /* pop 1, push floe_unary(.op) */
  FLOE__OP_BINARY, /* pop 2, push floe_binary(.op) */
  FLOE__OP_NOT,    /* `~`: pop 1 (must be bool), push logical_not */
  FLOE__OP_LOGIC,  /* `& | ^`: pop 2 (must be bool), push floe_binary(.op) */
  FLOE__OP_WHERE,  /* pop 3 */
  FLOE__OP_CLIP,   /* pop 1 + .clip.has_lo + .clip.has_hi */
  FLOE__OP_ASTYPE, /* pop 1, .dtype */
  FLOE__OP_REDUCE, /* pop 1, .reduce */
  FLOE__OP_SLICE,  /* pop 1, .slice: a[...] */
  FLOE__OP_TRANSPOSE, /* pop 1: a.T */
  FLOE__OP_PRODUCT,   /* pop 2, .op: FLOE__PROD_* (a @ b is matmul) */
  FLOE__OP_JOIN,      /* pop .join.n, .join: concatenate or stack */
  FLOE__OP_AXIS,      /* pop 1, .along: cumsum, cumprod, sort, median, quantile */
  FLOE__OP_RESHAPE,   /* pop 1, .shape */
  FLOE__OP_MASK,      /* pop 2: a[mask] */
} floe__opcode;

/* A subscript as written: at most FLOE__EXPR_MAX_INDEX items. */
#define FLOE__EXPR_MAX_INDEX 16
typedef struct floe__expr_slice {
  int n;
  floe_index idx[FLOE__EXPR_MAX_INDEX];
} floe__expr_slice;

typedef struct floe__expr_reduce {
  int op;                         /* floe_reduce_op */
  floe_axes axes;                 /* as written; checked against the array when run */
  size_t axis_pos[FLOE_MAX_DIMS]; /* where each axis was written, for messages */
  int ddof;
} floe__expr_reduce;

typedef struct floe__instr {
  floe__opcode code;
  size_t pos; /* the token the instruction came from, for messages */
  union {
    struct {
      uint64_t mag;
      bool neg;
    } num;
    double fval;
    bool flag;
    size_t index;
    int op;
    floe_dtype dtype;
    struct {
      bool has_lo, has_hi;
    } clip;
    floe__expr_reduce reduce;
    floe__expr_slice slice;
    struct {
      int n, axis, stack;
    } join;
    struct {
      int op, axis;
      bool has_axis;
      double q;
    } along;
    floe_shape shape;
  } u;
} floe__instr;

typedef struct floe__program {
  floe__instr *code;
  size_t n, cap;
  size_t max_stack; /* the deepest the value stack gets */
} floe__program;

/* Parses the tokens of `src` into a program; names are looked up in vars.
 * On failure err is set.  Either way free the program with
 * floe__program_destroy. */
bool floe__expr_parse(const char *src, const floe__token *toks, const floe_eval_var *vars,
                      size_t nvars, floe__program *prog, floe__expr_error *err);

void floe__program_destroy(floe__program *prog);

/* Runs a program.  Returns a new reference: the result, which may be an
 * array in an error state passed on from the array layer.  Returns NULL with
 * err set for the expression's own errors (a bitwise operator on non-bool
 * arrays, an axis out of bounds, an unusable variable), and NULL with err
 * unset when no handle could be had (out of memory). */
floe_array *floe__expr_run(floe_ctx *ctx, const floe__program *prog, const floe_eval_var *vars,
                           floe__expr_error *err);

#endif
