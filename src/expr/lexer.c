/* The tokenizer of floe_eval: Python's lexical rules for the subset we
 * accept.  Numbers are decimal only; a number run into letters ("2x", "1e5j")
 * is an error as in Python, so that "2x" is never read as 2 * x. */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* strtod_l */
#endif
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr-internal.h"

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
static bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

/* Converts a validated decimal float lexeme.  strtod follows LC_NUMERIC,
 * which a program may have set to a locale whose decimal point is ','; the
 * "C" locale object makes the conversion independent of it (glibc hands out
 * a static object for an all-categories "C", so this allocates nothing). */
static double to_double(const char *s, size_t len, bool *ok) {
  char *end = NULL;
  errno = 0;
#if defined(__GLIBC__)
  locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  double v = c != (locale_t)0 ? strtod_l(s, &end, c) : strtod(s, &end);
  if (c != (locale_t)0) {
    freelocale(c);
  }
#else
  double v = strtod(s, &end);
#endif
  /* ERANGE: overflow gives inf and underflow 0 or a subnormal, as Python */
  *ok = end == s + len;
  return v;
}

/* Scans a number at s[i]: digits [. digits] [e [+-] digits], or . digits.
 * Returns false (err set) for a malformed one. */
static bool lex_number(const char *s, size_t i, floe__token *t, floe__expr_error *err) {
  size_t j = i;
  bool is_float = false;
  while (is_digit(s[j])) {
    j++;
  }
  if (s[j] == '.') {
    is_float = true;
    j++;
    while (is_digit(s[j])) {
      j++;
    }
  }
  if (s[j] == 'e' || s[j] == 'E') {
    size_t k = j + 1;
    if (s[k] == '+' || s[k] == '-') {
      k++;
    }
    if (is_digit(s[k])) {
      is_float = true;
      while (is_digit(s[k])) {
        k++;
      }
      j = k;
    }
  }
  if (is_name_char(s[j]) || s[j] == '.') {
    size_t k = j;
    while (is_name_char(s[k]) || s[k] == '.') {
      k++;
    }
    int n = (int)(k - i < 40 ? k - i : 40);
    return floe__expr_fail(err, FLOE_ERR_INVALID, i, "invalid number '%.*s%s'", n, s + i,
                           k - i > 40 ? "..." : "");
  }
  t->pos = i;
  t->len = j - i;
  if (is_float) {
    bool ok;
    t->kind = FLOE__TOK_FLOAT;
    t->v.fval = to_double(s + i, j - i, &ok);
    if (!ok) {
      return floe__expr_fail(err, FLOE_ERR_INVALID, i, "invalid number");
    }
    return true;
  }
  t->kind = FLOE__TOK_INT;
  uint64_t v = 0;
  for (size_t k = i; k < j; k++) {
    uint64_t d = (uint64_t)(s[k] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      int n = (int)(j - i < 40 ? j - i : 40);
      const char *more = j - i > 40 ? "..." : "";
      return floe__expr_fail(err, FLOE_ERR_INVALID, i,
                             "integer %.*s%s does not fit in int64 (write it as a float: %.*s%s.0)",
                             n, s + i, more, n, s + i, more);
    }
    v = v * 10 + d;
  }
  t->v.ival = v;
  return true;
}

/* Two-character operators first, so that "**" is not read as "*" "*". */
static const struct {
  const char *text;
  floe__tok_kind kind;
} punct[] = {
    {"...", FLOE__TOK_ELLIPSIS},
    {"**", FLOE__TOK_POW},   {"//", FLOE__TOK_DSLASH}, {"==", FLOE__TOK_EQ},
    {"!=", FLOE__TOK_NE},    {"<=", FLOE__TOK_LE},     {">=", FLOE__TOK_GE},
    {"(", FLOE__TOK_LPAREN}, {")", FLOE__TOK_RPAREN},  {",", FLOE__TOK_COMMA},
    {"=", FLOE__TOK_ASSIGN}, {"+", FLOE__TOK_PLUS},    {"-", FLOE__TOK_MINUS},
    {"*", FLOE__TOK_STAR},   {"/", FLOE__TOK_SLASH},   {"%", FLOE__TOK_PERCENT},
    {"<", FLOE__TOK_LT},     {">", FLOE__TOK_GT},      {"&", FLOE__TOK_AMP},
    {"|", FLOE__TOK_PIPE},   {"^", FLOE__TOK_CARET},   {"~", FLOE__TOK_TILDE},
    {"[", FLOE__TOK_LBRACKET}, {"]", FLOE__TOK_RBRACKET}, {":", FLOE__TOK_COLON},
    {".", FLOE__TOK_DOT},    {"@", FLOE__TOK_AT},
};

static bool lex_one(const char *s, size_t i, floe__token *t, floe__expr_error *err) {
  char c = s[i];
  if (is_digit(c) || (c == '.' && is_digit(s[i + 1]))) {
    return lex_number(s, i, t, err);
  }
  t->pos = i;
  if (is_name_start(c)) {
    size_t j = i;
    while (is_name_char(s[j])) {
      j++;
    }
    t->kind = FLOE__TOK_NAME;
    t->len = j - i;
    return true;
  }
  if (c == '\'' || c == '"') {
    const char *close = strchr(s + i + 1, c);
    if (close == NULL) {
      return floe__expr_fail(err, FLOE_ERR_INVALID, i, "unterminated string");
    }
    t->kind = FLOE__TOK_STRING;
    t->len = (size_t)(close - (s + i)) + 1;
    return true;
  }
  for (size_t k = 0; k < sizeof punct / sizeof punct[0]; k++) {
    size_t n = strlen(punct[k].text);
    if (strncmp(s + i, punct[k].text, n) == 0) {
      t->kind = punct[k].kind;
      t->len = n;
      return true;
    }
  }
  unsigned char u = (unsigned char)c;
  if (c == '!') {
    return floe__expr_fail(err, FLOE_ERR_INVALID, i, "unexpected character '!' (use ~ for not)");
  }
  if (u > 0x20 && u < 0x7f) {
    return floe__expr_fail(err, FLOE_ERR_INVALID, i, "unexpected character '%c'", c);
  }
  return floe__expr_fail(err, FLOE_ERR_INVALID, i, "unexpected byte 0x%02x", u);
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool floe__expr_lex(const char *src, floe__token **toks, size_t *ntoks, floe__expr_error *err) {
  *toks = NULL;
  *ntoks = 0;
  size_t len = strlen(src), cap = 16, n = 0;
  floe__token *t = malloc(cap * sizeof *t);
  if (t == NULL) {
    return floe__expr_fail(err, FLOE_ERR_NOMEM, 0, "out of memory");
  }
  size_t i = 0;
  for (;;) {
    while (is_space(src[i])) {
      i++;
    }
    if (n == cap) {
      /* at most one token per byte, plus the end */
      cap = cap * 2 < len + 1 ? cap * 2 : len + 1;
      floe__token *bigger = realloc(t, cap * sizeof *t);
      if (bigger == NULL) {
        free(t);
        return floe__expr_fail(err, FLOE_ERR_NOMEM, i, "out of memory");
      }
      t = bigger;
    }
    floe__token *tok = &t[n];
    memset(tok, 0, sizeof *tok);
    if (src[i] == '\0') {
      tok->kind = FLOE__TOK_END;
      tok->pos = i;
      n++;
      break;
    }
    if (!lex_one(src, i, tok, err)) {
      free(t);
      return false;
    }
    i += tok->len;
    n++;
  }
  *toks = t;
  *ntoks = n;
  return true;
}

const char *floe__tok_describe(const char *src, const floe__token *t, char *buf, size_t size) {
  int n = (int)(t->len < 40 ? t->len : 40);
  const char *more = t->len > 40 ? "..." : "";
  switch (t->kind) {
  case FLOE__TOK_END:
    snprintf(buf, size, "the end of the expression");
    break;
  case FLOE__TOK_INT:
  case FLOE__TOK_FLOAT:
    snprintf(buf, size, "number %.*s%s", n, src + t->pos, more);
    break;
  case FLOE__TOK_NAME:
    snprintf(buf, size, "name '%.*s%s'", n, src + t->pos, more);
    break;
  case FLOE__TOK_STRING:
    snprintf(buf, size, "string %.*s%s", n, src + t->pos, more);
    break;
  default:
    snprintf(buf, size, "'%.*s'", n, src + t->pos);
    break;
  }
  return buf;
}
