/* The expression language (src/expr): every expression is computed twice,
 * through floe_eval and through the same calls written against the array
 * API, and the two results must agree bit for bit (NaN with NaN), in dtype
 * and in shape.  Covers precedence and associativity, literals and their
 * weak dtypes, every function name, reductions with their keywords, the
 * caret error messages (compared whole), ownership and threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context-internal.h"
#include "floe.h"
#include "graph/node-internal.h"
#include "testutil.h"

/* ------------------------------------------------------------- fixture */

static floe_ctx *ctx;

enum { N = 12 };
static double x_data[N], y_data[N], v_data[4] = {0.5, -1.0, 2.0, 3.0}, w_data[5], t_data[24];
static int32_t xi_data[N];
static int64_t li_data[N];
static _Bool b_data[N];
static float f_data[N];
static uint8_t u_data[N];

/* x, y, xi, li, b, f, u: 3x4; v: 4; w: 5; t: 2x3x4 */
static floe_eval_var vars[10];
static const size_t NVARS = sizeof vars / sizeof vars[0];

static floe_array *var(const char *name) {
  for (size_t i = 0; i < NVARS; i++) {
    if (strcmp(vars[i].name, name) == 0) {
      return vars[i].array;
    }
  }
  cr_assert_fail("no test variable %s", name);
  return NULL;
}

static void setup(void) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  floe_options_set(o, FLOE_OPT_THREADS, 2);
  cr_assert_eq(floe_open(o, &ctx), FLOE_OK, "%s", floe_error_message(NULL));
  floe_options_free(o);
  for (int i = 0; i < N; i++) {
    x_data[i] = (i - 5) * 0.75;
    y_data[i] = (i * 7 % 11) * 0.5 - 2.0;
    xi_data[i] = i * 3 - 10;
    li_data[i] = i - 6;
    b_data[i] = i % 3 == 0;
    f_data[i] = (float)i * 0.5f - 2.0f;
    u_data[i] = (uint8_t)(i * 20);
  }
  for (int i = 0; i < 5; i++) {
    w_data[i] = i;
  }
  for (int i = 0; i < 24; i++) {
    t_data[i] = i * 0.125 - 1.0 + (i % 5 == 0 ? 0.5 : 0.0);
  }
  floe_shape s34 = FLOE_SHAPE(3, 4);
  int k = 0;
  vars[k++] =
      (floe_eval_var){"x", floe_from_buffer(ctx, FLOE_FLOAT64, s34, FLOE_SHAPE(2, 3), x_data)};
  vars[k++] =
      (floe_eval_var){"y", floe_from_buffer(ctx, FLOE_FLOAT64, s34, FLOE_SHAPE(3, 2), y_data)};
  vars[k++] = (floe_eval_var){"xi", floe_from_buffer(ctx, FLOE_INT32, s34, FLOE_AUTO, xi_data)};
  vars[k++] = (floe_eval_var){"li", floe_from_buffer(ctx, FLOE_INT64, s34, FLOE_AUTO, li_data)};
  vars[k++] = (floe_eval_var){"b", floe_from_buffer(ctx, FLOE_BOOL, s34, FLOE_SHAPE(1, 4), b_data)};
  vars[k++] = (floe_eval_var){"f", floe_from_buffer(ctx, FLOE_FLOAT32, s34, FLOE_AUTO, f_data)};
  vars[k++] = (floe_eval_var){"u", floe_from_buffer(ctx, FLOE_UINT8, s34, FLOE_AUTO, u_data)};
  vars[k++] =
      (floe_eval_var){"v", floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO, v_data)};
  vars[k++] =
      (floe_eval_var){"w", floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(5), FLOE_AUTO, w_data)};
  vars[k++] = (floe_eval_var){
      "t", floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2, 3, 4), FLOE_SHAPE(1, 2, 3), t_data)};
  for (size_t i = 0; i < NVARS; i++) {
    cr_assert_eq(floe_array_status(vars[i].array), FLOE_OK, "%s",
                 floe_array_message(vars[i].array));
  }
}

static void teardown(void) {
  floe_close(ctx);
  ctx = NULL;
}

TestSuite(expr, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* ------------------------------------------------------------- helpers */

static floe_array *S(double v) {
  return floe_scalar(ctx, v);
}
static floe_array *I(int64_t v) {
  return floe_scalar_int(ctx, v);
}
static floe_array *B(int v) {
  return floe_full(ctx, FLOE_BOOL, FLOE_SCALAR_SHAPE, FLOE_AUTO, v);
}
#define X var("x")
#define Y var("y")

static int same_value(floe_dtype dt, const unsigned char *a, const unsigned char *b) {
  size_t sz = floe_dtype_size(dt);
  if (memcmp(a, b, sz) == 0) {
    return 1;
  }
  if (dt == FLOE_FLOAT64) {
    double p, q;
    memcpy(&p, a, sizeof p);
    memcpy(&q, b, sizeof q);
    return isnan(p) && isnan(q);
  }
  if (dt == FLOE_FLOAT32) {
    float p, q;
    memcpy(&p, a, sizeof p);
    memcpy(&q, b, sizeof q);
    return isnan(p) && isnan(q);
  }
  return 0;
}

/* Asserts that `got` (from floe_eval of `expr`) equals `want` (from the API)
 * in dtype, shape and every element; releases both. */
static void check(const char *expr, floe_array *got, floe_array *want) {
  cr_assert_not_null(got, "%s: NULL", expr);
  cr_assert_eq(floe_array_status(want), FLOE_OK, "%s: reference failed: %s", expr,
               floe_array_message(want));
  cr_assert_eq(floe_array_status(got), FLOE_OK, "%s: %s", expr, floe_array_message(got));
  cr_assert_eq(floe_array_dtype(got), floe_array_dtype(want), "%s: dtype %s, want %s", expr,
               floe_dtype_name(floe_array_dtype(got)), floe_dtype_name(floe_array_dtype(want)));
  floe_shape sg = floe_array_shape(got), sw = floe_array_shape(want);
  cr_assert_eq(sg.ndim, sw.ndim, "%s: ndim %d, want %d", expr, sg.ndim, sw.ndim);
  for (int d = 0; d < sg.ndim; d++) {
    cr_assert_eq(sg.dim[d], sw.dim[d], "%s: axis %d has %lld, want %lld", expr, d,
                 (long long)sg.dim[d], (long long)sw.dim[d]);
  }
  size_t nbytes = (size_t)floe_array_nbytes(want);
  unsigned char *a = malloc(nbytes + 1), *b = malloc(nbytes + 1);
  cr_assert(a != NULL && b != NULL);
  cr_assert_eq(floe_compute(got, a, nbytes), FLOE_OK, "%s: %s", expr, floe_error_message(ctx));
  cr_assert_eq(floe_compute(want, b, nbytes), FLOE_OK, "%s: %s", expr, floe_error_message(ctx));
  floe_dtype dt = floe_array_dtype(want);
  size_t sz = floe_dtype_size(dt);
  for (size_t i = 0; i < nbytes / sz; i++) {
    cr_assert(same_value(dt, a + i * sz, b + i * sz), "%s: element %zu differs", expr, i);
  }
  free(a);
  free(b);
  floe_release(got);
  floe_release(want);
}

#define SAME(expr, want) check((expr), floe_eval(ctx, (expr), vars, NVARS), (want))

/* Asserts a scalar result's value. */
static void check_scalar(const char *expr, floe_dtype dtype, double want) {
  floe_array *a = floe_eval(ctx, expr, vars, NVARS);
  cr_assert_eq(floe_array_status(a), FLOE_OK, "%s: %s", expr, floe_array_message(a));
  cr_assert_eq(floe_array_dtype(a), dtype, "%s: dtype %s", expr,
               floe_dtype_name(floe_array_dtype(a)));
  double got;
  cr_assert_eq(floe_compute_scalar(a, &got), FLOE_OK, "%s: %s", expr, floe_error_message(ctx));
  cr_assert_eq(got, want, "%s = %.17g, want %.17g", expr, got, want);
  floe_release(a);
}

/* Asserts that `expr` fails with `status` and exactly `msg`, both on the
 * array and as the thread's last error. */
static void check_error(const char *expr, floe_status status, const char *msg) {
  floe_array *a = floe_eval(ctx, expr, vars, NVARS);
  cr_assert_not_null(a, "%s: NULL", expr);
  cr_assert_eq(floe_array_status(a), status, "%s: status %s, want %s (%s)", expr,
               floe_status_name(floe_array_status(a)), floe_status_name(status),
               floe_array_message(a));
  cr_assert(strcmp(floe_array_message(a), msg) == 0, "%s:\n got: %s\nwant: %s", expr,
            floe_array_message(a), msg);
  cr_assert_str_eq(floe_error_message(ctx), msg);
  floe_release(a);
}

/* -------------------------------------------------- precedence, assoc */

Test(expr, arithmetic_is_left_associative) {
  check_scalar("2-3-4", FLOE_INT64, -5);
  check_scalar("2 - 3 - 4", FLOE_INT64, -5);
  check_scalar("100 // 7 // 2", FLOE_INT64, 7);
  check_scalar("2 * 3 % 4", FLOE_INT64, 2);
  check_scalar("7 % 4 * 3", FLOE_INT64, 9);
  check_scalar("8 / 4 / 2", FLOE_FLOAT64, 1);
  SAME("x - y - v", floe_subtract(floe_subtract(X, Y), var("v")));
  SAME("x / y * v", floe_multiply(floe_divide(X, Y), var("v")));
  SAME("x // 2 % 3", floe_mod(floe_floor_divide(X, I(2)), I(3)));
}

Test(expr, power_is_right_associative_and_binds_tighter_than_unary_minus) {
  check_scalar("2**3**2", FLOE_INT64, 512);
  check_scalar("(2**3)**2", FLOE_INT64, 64);
  check_scalar("-2**2", FLOE_INT64, -4);
  check_scalar("(-2)**2", FLOE_INT64, 4);
  check_scalar("2.0**-1", FLOE_FLOAT64, 0.5);
  check_scalar("--3", FLOE_INT64, 3);
  check_scalar("-+-3", FLOE_INT64, 3);
  check_scalar("2 * 3 ** 2", FLOE_INT64, 18);
  SAME("-x**2", floe_negative(floe_power(X, I(2))));
  SAME("x**-y", floe_power(X, floe_negative(Y)));
  SAME("x ** 2 ** 0.5", floe_power(X, floe_power(I(2), S(0.5))));
  SAME("-x", floe_negative(X));
  SAME("+x", floe_astype(X, FLOE_FLOAT64));
  SAME("x * -y", floe_multiply(X, floe_negative(Y)));
}

Test(expr, products_bind_tighter_than_sums) {
  SAME("x + y * v", floe_add(X, floe_multiply(Y, var("v"))));
  SAME("x * y + v", floe_add(floe_multiply(X, Y), var("v")));
  SAME("(x + y) * v", floe_multiply(floe_add(X, Y), var("v")));
  SAME("x - y / 2", floe_subtract(X, floe_divide(Y, I(2))));
  SAME("x + y // 3 - v % 2",
       floe_subtract(floe_add(X, floe_floor_divide(Y, I(3))), floe_mod(var("v"), I(2))));
}

Test(expr, comparisons_bind_tighter_than_logic) {
  SAME("x > 0 & y < 1", floe_logical_and(floe_greater(X, I(0)), floe_less(Y, I(1))));
  SAME("x > 0 | y < 1 & b",
       floe_logical_or(floe_greater(X, I(0)), floe_logical_and(floe_less(Y, I(1)), var("b"))));
  SAME("b ^ x >= y | b & x != y",
       floe_logical_or(floe_logical_xor(var("b"), floe_greater_equal(X, Y)),
                       floe_logical_and(var("b"), floe_not_equal(X, Y))));
  SAME("x == y ^ b", floe_logical_xor(floe_equal(X, Y), var("b")));
  SAME("x + 1 <= y * 2", floe_less_equal(floe_add(X, I(1)), floe_multiply(Y, I(2))));
  SAME("~b", floe_logical_not(var("b")));
  SAME("~(x > 0) | b", floe_logical_or(floe_logical_not(floe_greater(X, I(0))), var("b")));
  SAME("~~b", floe_logical_not(floe_logical_not(var("b"))));
  SAME("(x < y) == b", floe_equal(floe_less(X, Y), var("b")));
  SAME("b & True", floe_logical_and(var("b"), B(1)));
  SAME("b | False", floe_logical_or(var("b"), B(0)));
}

Test(expr, every_operator_maps_to_its_function) {
  struct {
    const char *expr;
    floe_binary_op op;
  } ops[] = {
      {"x + y", FLOE_ADD},
      {"x - y", FLOE_SUBTRACT},
      {"x * y", FLOE_MULTIPLY},
      {"x / y", FLOE_DIVIDE},
      {"x // y", FLOE_FLOOR_DIVIDE},
      {"x % y", FLOE_MOD},
      {"x ** y", FLOE_POWER},
      {"x == y", FLOE_EQUAL},
      {"x != y", FLOE_NOT_EQUAL},
      {"x < y", FLOE_LESS},
      {"x <= y", FLOE_LESS_EQUAL},
      {"x > y", FLOE_GREATER},
      {"x >= y", FLOE_GREATER_EQUAL},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    SAME(ops[i].expr, floe_binary(ops[i].op, X, Y));
  }
  SAME("(x>0)&(y>0)", floe_logical_and(floe_greater(X, I(0)), floe_greater(Y, I(0))));
  SAME("(x>0)|(y>0)", floe_logical_or(floe_greater(X, I(0)), floe_greater(Y, I(0))));
  SAME("(x>0)^(y>0)", floe_logical_xor(floe_greater(X, I(0)), floe_greater(Y, I(0))));
}

/* ------------------------------------------------------------- numbers */

Test(expr, integers_are_weak_ints_and_floats_weak_floats) {
  SAME("xi + 1", floe_add(var("xi"), I(1)));
  floe_array *a = floe_eval(ctx, "xi + 1", vars, NVARS);
  cr_assert_eq(floe_array_dtype(a), FLOE_INT32);
  floe_release(a);
  a = floe_eval(ctx, "xi + 1.0", vars, NVARS);
  cr_assert_eq(floe_array_dtype(a), FLOE_FLOAT64);
  floe_release(a);
  a = floe_eval(ctx, "f * 2.0", vars, NVARS);
  cr_assert_eq(floe_array_dtype(a), FLOE_FLOAT32);
  floe_release(a);
  a = floe_eval(ctx, "u - 1", vars, NVARS);
  cr_assert_eq(floe_array_dtype(a), FLOE_UINT8);
  floe_release(a);
  SAME("xi + 1.0", floe_add(var("xi"), S(1.0)));
  SAME("xi * -2", floe_multiply(var("xi"), I(-2)));
  SAME("f * 2", floe_multiply(var("f"), I(2)));
  SAME("f + 0.1", floe_add(var("f"), S(0.1)));
  SAME("li + xi", floe_add(var("li"), var("xi")));
  SAME("u + 255", floe_add(var("u"), I(255)));
  SAME(".5 * x + 5. - 1e-3 + 2.5E+2",
       floe_add(floe_subtract(floe_add(floe_multiply(S(.5), X), S(5.)), S(1e-3)), S(2.5e2)));
  SAME("li + -9223372036854775808", floe_add(var("li"), I(INT64_MIN)));
  SAME("li + 9223372036854775807", floe_add(var("li"), I(INT64_MAX)));
  check_scalar("1e3", FLOE_FLOAT64, 1000);
  check_scalar("0.1", FLOE_FLOAT64, 0.1);
  check_scalar("1.7976931348623157e308", FLOE_FLOAT64, 1.7976931348623157e308);
  check_scalar("007", FLOE_INT64, 7);
  check_scalar("-0.0", FLOE_FLOAT64, 0.0);
  check_scalar("7 // 2", FLOE_INT64, 3);
  check_scalar("-7 // 2", FLOE_INT64, -4);
  check_scalar("-7 % 3", FLOE_INT64, 2);
  check_scalar("7 / 2", FLOE_FLOAT64, 3.5);
  check_scalar("pi", FLOE_FLOAT64, 3.14159265358979323846);
  check_scalar("e", FLOE_FLOAT64, 2.71828182845904523536);
  check_scalar("-inf", FLOE_FLOAT64, -INFINITY);
  SAME("where(x > 0, x, nan)", floe_where(floe_greater(X, I(0)), X, S(NAN)));
}

Test(expr, a_weak_int_that_does_not_fit_is_the_array_layers_error) {
  floe_array *want = floe_add(var("u"), I(256));
  floe_array *got = floe_eval(ctx, "u + 256", vars, NVARS);
  cr_assert_neq(floe_array_status(want), FLOE_OK);
  cr_assert_eq(floe_array_status(got), floe_array_status(want));
  cr_assert_str_eq(floe_array_message(got), floe_array_message(want));
}

Test(expr, true_and_false_are_bool_scalars) {
  check_scalar("True", FLOE_BOOL, 1);
  check_scalar("False", FLOE_BOOL, 0);
  check_scalar("True & False", FLOE_BOOL, 0);
  check_scalar("True ^ True", FLOE_BOOL, 0);
  check_scalar("~False", FLOE_BOOL, 1);
  SAME("where(b, True, x > 1)", floe_where(var("b"), B(1), floe_greater(X, I(1))));
  SAME("xi + True", floe_add(var("xi"), B(1)));
}

Test(expr, names_and_whitespace) {
  SAME("x", floe_astype(X, FLOE_FLOAT64));
  SAME(" \t( x )\n", floe_astype(X, FLOE_FLOAT64));
  SAME("t", floe_astype(var("t"), FLOE_FLOAT64));
  /* vars come first: a variable may shadow a constant */
  floe_eval_var ev[] = {{"e", var("v")}, {"pi", var("w")}};
  check("e", floe_eval(ctx, "e", ev, 2), floe_astype(var("v"), FLOE_FLOAT64));
  check("pi * 2", floe_eval(ctx, "pi * 2", ev, 2), floe_multiply(var("w"), I(2)));
  /* no variables at all */
  check("1 + 2", floe_eval(ctx, "1 + 2", NULL, 0), floe_add(I(1), I(2)));
}

/* ----------------------------------------------------------- functions */

Test(expr, every_unary_function_by_name) {
  static const char *const names[] = {
#define NAME(NAME, name) #name,
      FLOE_UNARY_MAP(NAME)
#undef NAME
  };
  char expr[64];
  for (int op = 0; op < FLOE_UNARY_COUNT_; op++) {
    snprintf(expr, sizeof expr, "%s(x)", names[op]);
    SAME(expr, floe_unary((floe_unary_op)op, X));
    snprintf(expr, sizeof expr, "%s( f )", names[op]);
    SAME(expr, floe_unary((floe_unary_op)op, var("f")));
  }
  SAME("absolute(xi)", floe_abs(var("xi")));
  SAME("abs(xi)", floe_abs(var("xi")));
  SAME("asin(x / 10)", floe_arcsin(floe_divide(X, I(10))));
  SAME("acos(x / 10)", floe_arccos(floe_divide(X, I(10))));
  SAME("atan(x)", floe_arctan(X));
  SAME("sqrt(abs(x)) + log1p(abs(y))", floe_add(floe_sqrt(floe_abs(X)), floe_log1p(floe_abs(Y))));
}

Test(expr, every_binary_function_by_name) {
  static const char *const names[] = {
#define NAME(NAME, name) #name,
      FLOE_BINARY_MAP(NAME)
#undef NAME
  };
  char expr[64];
  for (int op = 0; op < FLOE_BINARY_COUNT_; op++) {
    snprintf(expr, sizeof expr, "%s(x, y)", names[op]);
    SAME(expr, floe_binary((floe_binary_op)op, X, Y));
    snprintf(expr, sizeof expr, "%s(li, 3)", names[op]);
    SAME(expr, floe_binary((floe_binary_op)op, var("li"), I(3)));
  }
  SAME("remainder(x, 2)", floe_mod(X, I(2)));
  SAME("pow(x, 2)", floe_power(X, I(2)));
  SAME("true_divide(xi, 3)", floe_divide(var("xi"), I(3)));
  SAME("atan2(y, x)", floe_arctan2(Y, X));
  SAME("logical_not(x)", floe_logical_not(X));
  SAME("logical_and(x, y,)", floe_logical_and(X, Y));
}

Test(expr, where_clip_astype) {
  SAME("where(b, x, y)", floe_where(var("b"), X, Y));
  SAME("where(x > 0, x, 0)", floe_where(floe_greater(X, I(0)), X, I(0)));
  SAME("where(x > y, xi, li)", floe_where(floe_greater(X, Y), var("xi"), var("li")));
  SAME("clip(x, 0, 1)", floe_clip(X, I(0), I(1)));
  SAME("clip(x, -1.5, y)", floe_clip(X, S(-1.5), Y));
  SAME("clip(x, None, 1)", floe_clip(X, NULL, I(1)));
  SAME("clip(x, -1, None)", floe_clip(X, I(-1), NULL));
  SAME("clip(x, -1)", floe_clip(X, I(-1), NULL));
  SAME("clip(xi, None, None)", floe_clip(var("xi"), NULL, NULL));
  static const char *const dtypes[] = {"bool", "uint8", "int32", "int64", "float32", "float64"};
  char expr[64];
  for (int d = 0; d < FLOE_DTYPE_COUNT_; d++) {
    /* non-negative: a negative float to uint8 is undefined in C */
    snprintf(expr, sizeof expr, "astype(abs(x) * 3, %s)", dtypes[d]);
    SAME(expr, floe_astype(floe_multiply(floe_abs(X), I(3)), (floe_dtype)d));
    snprintf(expr, sizeof expr, "astype(abs(y), '%s')", dtypes[d]);
    SAME(expr, floe_astype(floe_abs(Y), (floe_dtype)d));
    snprintf(expr, sizeof expr, "astype(xi, dtype=\"%s\")", dtypes[d]);
    SAME(expr, floe_astype(var("xi"), (floe_dtype)d));
  }
  SAME("astype(xi, float)", floe_astype(var("xi"), FLOE_FLOAT64));
  SAME("astype(x, int)", floe_astype(X, FLOE_INT64));
}

/* ---------------------------------------------------------- reductions */

Test(expr, every_reduction_by_name) {
  static const char *const names[] = {
#define NAME(NAME, name) #name,
      FLOE_REDUCE_MAP(NAME)
#undef NAME
  };
  char expr[96];
  for (int op = 0; op < FLOE_REDUCE_COUNT_; op++) {
    floe_reduce_op r = (floe_reduce_op)op;
    snprintf(expr, sizeof expr, "%s(x)", names[op]);
    SAME(expr, floe_reduce(r, X, FLOE_ALL));
    snprintf(expr, sizeof expr, "%s(x, axis=0)", names[op]);
    SAME(expr, floe_reduce(r, X, FLOE_AXES(0)));
    snprintf(expr, sizeof expr, "%s(t, axis=-1)", names[op]);
    SAME(expr, floe_reduce(r, var("t"), FLOE_AXES(-1)));
    snprintf(expr, sizeof expr, "%s(t, 1, keepdims=True)", names[op]);
    SAME(expr, floe_reduce(r, var("t"), FLOE_KEEPDIMS(FLOE_AXES(1))));
    if (r != FLOE_ARGMIN && r != FLOE_ARGMAX) {
      snprintf(expr, sizeof expr, "%s(t, axis=(0, -1))", names[op]);
      SAME(expr, floe_reduce(r, var("t"), FLOE_AXES(0, -1)));
      snprintf(expr, sizeof expr, "%s(t, axis=(2, 0), keepdims=True)", names[op]);
      SAME(expr, floe_reduce(r, var("t"), FLOE_KEEPDIMS(FLOE_AXES(2, 0))));
    }
  }
}

Test(expr, reduction_keywords) {
  SAME("amin(x, axis=1)", floe_min(X, FLOE_AXES(1)));
  SAME("amax(x)", floe_max(X, FLOE_ALL));
  SAME("sum(x, axis=None)", floe_sum(X, FLOE_ALL));
  SAME("sum(x, axis=None, keepdims=True)", floe_sum(X, FLOE_KEEPDIMS(FLOE_ALL)));
  SAME("sum(x, axis=(1,))", floe_sum(X, FLOE_AXES(1)));
  SAME("sum(x, axis=(1))", floe_sum(X, FLOE_AXES(1)));
  SAME("sum(t, (0, 1, 2))", floe_sum(var("t"), FLOE_AXES(0, 1, 2)));
  SAME("sum(x, keepdims=1, axis=-2)", floe_sum(X, FLOE_KEEPDIMS(FLOE_AXES(-2))));
  SAME("sum(x, keepdims=False)", floe_sum(X, FLOE_ALL));
  SAME("var(x, ddof=1)", floe_reduce_ddof(FLOE_VAR, X, FLOE_ALL, 1));
  SAME("var(x, axis=0, ddof=1)", floe_reduce_ddof(FLOE_VAR, X, FLOE_AXES(0), 1));
  SAME("std(t, axis=(0, 2), ddof=2, keepdims=True)",
       floe_reduce_ddof(FLOE_STD, var("t"), FLOE_KEEPDIMS(FLOE_AXES(0, 2)), 2));
  SAME("std(x, 1, ddof=+0)", floe_reduce_ddof(FLOE_STD, X, FLOE_AXES(1), 0));
  SAME("argmax(x, axis=0)", floe_argmax(X, FLOE_AXES(0)));
  SAME("any(b, axis=1)", floe_any(var("b"), FLOE_AXES(1)));
  SAME("all(x > -5)", floe_all(floe_greater(X, I(-5)), FLOE_ALL));
  SAME("mean(sqrt(x*x + y*y), axis=0)",
       floe_mean(floe_sqrt(floe_add(floe_multiply(X, X), floe_multiply(Y, Y))), FLOE_AXES(0)));
  SAME("x - mean(x, axis=0)", floe_subtract(X, floe_mean(X, FLOE_AXES(0))));
  SAME("sum(sum(t, axis=0), axis=0)", floe_sum(floe_sum(var("t"), FLOE_AXES(0)), FLOE_AXES(0)));
}

/* -------------------------------------------------------------- errors */

Test(expr, the_header_example) {
  floe_eval_var xy[] = {{"x", X}, {"y", Y}};
  floe_array *a = floe_eval(ctx, "sqrt(x+z)", xy, 2);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  cr_assert_str_eq(floe_array_message(a), "floe_eval: unknown name 'z' at column 7\n"
                                          "  sqrt(x+z)\n"
                                          "         ^");
}

Test(expr, syntax_errors_point_at_the_offending_character) {
  check_error("x +", FLOE_ERR_INVALID,
              "floe_eval: expected a value, found the end of the expression at column 3\n"
              "  x +\n"
              "     ^");
  check_error("(x", FLOE_ERR_INVALID,
              "floe_eval: '(' was never closed at column 0\n"
              "  (x\n"
              "  ^");
  check_error("x)", FLOE_ERR_INVALID,
              "floe_eval: unmatched ')' at column 1\n"
              "  x)\n"
              "   ^");
  check_error("3 $ 4", FLOE_ERR_INVALID,
              "floe_eval: unexpected character '$' at column 2\n"
              "  3 $ 4\n"
              "    ^");
  check_error("x y", FLOE_ERR_INVALID,
              "floe_eval: expected an operator, found name 'y' at column 2\n"
              "  x y\n"
              "    ^");
  check_error("x * (y + )", FLOE_ERR_INVALID,
              "floe_eval: expected a value, found ')' at column 9\n"
              "  x * (y + )\n"
              "           ^");
  check_error("sqrt(x", FLOE_ERR_INVALID,
              "floe_eval: '(' was never closed at column 4\n"
              "  sqrt(x\n"
              "      ^");
  check_error("sqrt(x y)", FLOE_ERR_INVALID,
              "floe_eval: expected ',' or ')', found name 'y' at column 7\n"
              "  sqrt(x y)\n"
              "         ^");
  check_error("x ** * y", FLOE_ERR_INVALID,
              "floe_eval: expected a value, found '*' at column 5\n"
              "  x ** * y\n"
              "       ^");
  check_error("x < y < v", FLOE_ERR_INVALID,
              "floe_eval: chained comparisons are not supported; write (a < b) & (b < c) at "
              "column 6\n"
              "  x < y < v\n"
              "        ^");
  check_error("x = 1", FLOE_ERR_INVALID,
              "floe_eval: unexpected '=' (use == to compare) at column 2\n"
              "  x = 1\n"
              "    ^");
  check_error("(x, y)", FLOE_ERR_INVALID,
              "floe_eval: a tuple is only allowed as an axis= value at column 2\n"
              "  (x, y)\n"
              "    ^");
  check_error("x, y", FLOE_ERR_INVALID,
              "floe_eval: a tuple is only allowed as an axis= value at column 1\n"
              "  x, y\n"
              "   ^");
  check_error("2x", FLOE_ERR_INVALID,
              "floe_eval: invalid number '2x' at column 0\n"
              "  2x\n"
              "  ^");
  check_error("x + 1.2.3", FLOE_ERR_INVALID,
              "floe_eval: invalid number '1.2.3' at column 4\n"
              "  x + 1.2.3\n"
              "      ^");
  check_error("x != !y", FLOE_ERR_INVALID,
              "floe_eval: unexpected character '!' (use ~ for not) at column 5\n"
              "  x != !y\n"
              "       ^");
  check_error("x and y", FLOE_ERR_INVALID,
              "floe_eval: 'and' is not supported; use & (and), | (or), ~ (not) at column 2\n"
              "  x and y\n"
              "    ^");
  check_error("not b", FLOE_ERR_INVALID,
              "floe_eval: 'not' is not supported; use & (and), | (or), ~ (not) at column 0\n"
              "  not b\n"
              "  ^");
  check_error("'x' + 1", FLOE_ERR_INVALID,
              "floe_eval: a string is only allowed as a dtype, as in astype(x, 'float32') at "
              "column 0\n"
              "  'x' + 1\n"
              "  ^");
  check_error("astype(x, 'float32)", FLOE_ERR_INVALID,
              "floe_eval: unterminated string at column 10\n"
              "  astype(x, 'float32)\n"
              "            ^");
  check_error("x + None", FLOE_ERR_INVALID,
              "floe_eval: None is only allowed as an axis or as a bound of clip() at column 4\n"
              "  x + None\n"
              "      ^");
}

Test(expr, empty_expressions) {
  check_error("", FLOE_ERR_INVALID,
              "floe_eval: empty expression at column 0\n"
              "  \n"
              "  ^");
  check_error("  ", FLOE_ERR_INVALID,
              "floe_eval: empty expression at column 2\n"
              "    \n"
              "    ^");
  check_error("()", FLOE_ERR_INVALID,
              "floe_eval: expected a value, found ')' at column 1\n"
              "  ()\n"
              "   ^");
}

Test(expr, names_and_functions_that_do_not_exist) {
  check_error("x + zz * 2", FLOE_ERR_INVALID,
              "floe_eval: unknown name 'zz' at column 4\n"
              "  x + zz * 2\n"
              "      ^");
  check_error("1 + foo(x)", FLOE_ERR_INVALID,
              "floe_eval: unknown function 'foo' at column 4\n"
              "  1 + foo(x)\n"
              "      ^");
  check_error("x(1)", FLOE_ERR_INVALID,
              "floe_eval: 'x' is a variable, not a function at column 0\n"
              "  x(1)\n"
              "  ^");
  check_error("sqrt + 1", FLOE_ERR_INVALID,
              "floe_eval: 'sqrt' is a function; call it as sqrt(...) at column 0\n"
              "  sqrt + 1\n"
              "  ^");
  check_error("float32", FLOE_ERR_INVALID,
              "floe_eval: unknown name 'float32' at column 0\n"
              "  float32\n"
              "  ^");
  check_error("astype(x, float16)", FLOE_ERR_INVALID,
              "floe_eval: unknown dtype 'float16' (expected bool, uint8, int32, int64, float32 "
              "or float64) at column 10\n"
              "  astype(x, float16)\n"
              "            ^");
  check_error("astype(x, 3)", FLOE_ERR_INVALID,
              "floe_eval: expected a dtype (bool, uint8, int32, int64, float32 or float64), "
              "found number 3 at column 10\n"
              "  astype(x, 3)\n"
              "            ^");
}

Test(expr, wrong_argument_counts_and_keywords) {
  check_error("sqrt(x, y)", FLOE_ERR_INVALID,
              "floe_eval: too many arguments: sqrt() takes 1 argument at column 8\n"
              "  sqrt(x, y)\n"
              "          ^");
  check_error("sqrt()", FLOE_ERR_INVALID,
              "floe_eval: sqrt() takes 1 argument, got 0 at column 5\n"
              "  sqrt()\n"
              "       ^");
  check_error("where(b, x)", FLOE_ERR_INVALID,
              "floe_eval: where() takes 3 arguments, got 2 at column 10\n"
              "  where(b, x)\n"
              "            ^");
  check_error("clip(x)", FLOE_ERR_INVALID,
              "floe_eval: clip() takes 2 to 3 arguments, got 1 at column 6\n"
              "  clip(x)\n"
              "        ^");
  check_error("sum(x, 0, 1)", FLOE_ERR_INVALID,
              "floe_eval: too many arguments: sum() takes 1 to 2 arguments at column 10\n"
              "  sum(x, 0, 1)\n"
              "            ^");
  check_error("sqrt(x, axis=0)", FLOE_ERR_INVALID,
              "floe_eval: unexpected keyword 'axis' for sqrt() at column 8\n"
              "  sqrt(x, axis=0)\n"
              "          ^");
  check_error("sum(x, axes=0)", FLOE_ERR_INVALID,
              "floe_eval: unexpected keyword 'axes' for sum() at column 7\n"
              "  sum(x, axes=0)\n"
              "         ^");
  check_error("mean(x, ddof=1)", FLOE_ERR_INVALID,
              "floe_eval: unexpected keyword 'ddof' for mean() at column 8\n"
              "  mean(x, ddof=1)\n"
              "          ^");
  check_error("sum(x, 0, axis=1)", FLOE_ERR_INVALID,
              "floe_eval: sum() got 'axis' twice at column 10\n"
              "  sum(x, 0, axis=1)\n"
              "            ^");
  check_error("sum(x, axis=0, 1)", FLOE_ERR_INVALID,
              "floe_eval: positional argument follows keyword argument at column 15\n"
              "  sum(x, axis=0, 1)\n"
              "                 ^");
  check_error("astype(dtype=int32)", FLOE_ERR_INVALID,
              "floe_eval: astype() takes 2 arguments, got 1 at column 18\n"
              "  astype(dtype=int32)\n"
              "                    ^");
}

Test(expr, bad_axis_keepdims_and_ddof_values) {
  check_error("sum(x, axis=x)", FLOE_ERR_INVALID,
              "floe_eval: axis must be an integer, a tuple of integers or None at column 12\n"
              "  sum(x, axis=x)\n"
              "              ^");
  check_error("sum(x, axis=1.5)", FLOE_ERR_INVALID,
              "floe_eval: axis must be an integer, a tuple of integers or None at column 12\n"
              "  sum(x, axis=1.5)\n"
              "              ^");
  check_error("sum(x, axis=(0, y))", FLOE_ERR_INVALID,
              "floe_eval: axis must be an integer, a tuple of integers or None at column 16\n"
              "  sum(x, axis=(0, y))\n"
              "                  ^");
  check_error("sum(x, axis=2)", FLOE_ERR_INVALID,
              "floe_eval: axis 2 is out of bounds for an array of 2 dimensions at column 12\n"
              "  sum(x, axis=2)\n"
              "              ^");
  check_error("mean(v, axis=(0, -2))", FLOE_ERR_INVALID,
              "floe_eval: axis -2 is out of bounds for an array of 1 dimension at column 17\n"
              "  mean(v, axis=(0, -2))\n"
              "                   ^");
  check_error("sum(x, axis=(0, -2))", FLOE_ERR_INVALID,
              "floe_eval: axis 0 is repeated at column 16\n"
              "  sum(x, axis=(0, -2))\n"
              "                  ^");
  check_error("sum(t, axis=(0, 1, 2, 0, 1, 2, 0, 1, 2))", FLOE_ERR_INVALID,
              "floe_eval: too many axes (at most 8) at column 37\n"
              "  sum(t, axis=(0, 1, 2, 0, 1, 2, 0, 1, 2))\n"
              "                                       ^");
  check_error("sum(x, keepdims=2)", FLOE_ERR_INVALID,
              "floe_eval: keepdims must be True or False at column 16\n"
              "  sum(x, keepdims=2)\n"
              "                  ^");
  check_error("var(x, ddof=-1)", FLOE_ERR_INVALID,
              "floe_eval: ddof must be a non-negative integer at column 12\n"
              "  var(x, ddof=-1)\n"
              "              ^");
  check_error("sum(x, axis=99999999999)", FLOE_ERR_INVALID,
              "floe_eval: axis 99999999999 is out of bounds at column 12\n"
              "  sum(x, axis=99999999999)\n"
              "              ^");
}

Test(expr, integers_that_do_not_fit) {
  check_error("x + 9223372036854775808", FLOE_ERR_INVALID,
              "floe_eval: integer 9223372036854775808 does not fit in int64 (write it as a "
              "float: 9223372036854775808.0) at column 4\n"
              "  x + 9223372036854775808\n"
              "      ^");
  check_error("x + 99999999999999999999", FLOE_ERR_INVALID,
              "floe_eval: integer 99999999999999999999 does not fit in int64 (write it as a "
              "float: 99999999999999999999.0) at column 4\n"
              "  x + 99999999999999999999\n"
              "      ^");
  check_error("--9223372036854775808", FLOE_ERR_INVALID,
              "floe_eval: integer 9223372036854775808 does not fit in int64 (write it as a "
              "float: 9223372036854775808.0) at column 2\n"
              "  --9223372036854775808\n"
              "    ^");
}

Test(expr, bitwise_operators_on_numbers_are_dtype_errors) {
  check_error("~x", FLOE_ERR_DTYPE,
              "floe_eval: '~' needs a bool operand, not float64 (floe has no bitwise "
              "operations; negate a comparison: ~(x > 0)) at column 0\n"
              "  ~x\n"
              "  ^");
  check_error("b & xi", FLOE_ERR_DTYPE,
              "floe_eval: '&' needs bool operands, not int32 (floe has no bitwise operations; "
              "combine comparisons: (x > 0) & (y < 1)) at column 2\n"
              "  b & xi\n"
              "    ^");
  check_error("x > 0 | 1", FLOE_ERR_DTYPE,
              "floe_eval: '|' needs bool operands, not int64 (floe has no bitwise operations; "
              "combine comparisons: (x > 0) | (y < 1)) at column 6\n"
              "  x > 0 | 1\n"
              "        ^");
}

Test(expr, nesting_is_limited) {
  /* 200 levels are fine */
  char *expr = malloc(2000);
  cr_assert_not_null(expr);
  size_t n = 0;
  for (int i = 0; i < 200; i++) {
    expr[n++] = '(';
  }
  expr[n++] = 'x';
  for (int i = 0; i < 200; i++) {
    expr[n++] = ')';
  }
  expr[n] = '\0';
  SAME(expr, floe_astype(X, FLOE_FLOAT64));
  /* 1000 are not */
  n = 0;
  for (int i = 0; i < 1000; i++) {
    expr[n++] = i % 2 ? '(' : '-';
  }
  expr[n++] = 'x';
  expr[n] = '\0';
  floe_array *a = floe_eval(ctx, expr, vars, NVARS);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  const char *msg = floe_array_message(a);
  cr_assert(starts_with(msg, "floe_eval: expression nested too deeply (more than 256 levels) at "
                             "column 256\n  ...-(-(-("),
            "%s", msg);
  free(expr);
  /* nested calls count too */
  size_t cap = 10 * 300 + 10;
  expr = malloc(cap);
  cr_assert_not_null(expr);
  n = 0;
  for (int i = 0; i < 300; i++) {
    n += (size_t)snprintf(expr + n, cap - n, "sqrt(");
  }
  expr[n++] = 'x';
  for (int i = 0; i < 300; i++) {
    expr[n++] = ')';
  }
  expr[n] = '\0';
  a = floe_eval(ctx, expr, vars, NVARS);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  cr_assert(contains(floe_array_message(a), "nested too deeply"));
  free(expr);
}

Test(expr, long_flat_expressions_need_no_stack) {
  enum { TERMS = 20000 };
  char *expr = malloc(TERMS * 4 + 8);
  cr_assert_not_null(expr);
  size_t n = 0;
  expr[n++] = 'x';
  for (int i = 1; i < TERMS; i++) {
    memcpy(expr + n, " + x", 4);
    n += 4;
  }
  expr[n] = '\0';
  floe_array *a = floe_eval(ctx, expr, vars, NVARS);
  cr_assert_eq(floe_array_status(a), FLOE_OK, "%s", floe_array_message(a));
  floe_release(a);
  /* a shorter one, computed */
  expr[1 + 4 * 50] = '\0';
  floe_array *want = floe_astype(X, FLOE_FLOAT64);
  for (int i = 1; i < 51; i++) {
    floe_array *next = floe_add(want, X);
    floe_release(want);
    want = next;
  }
  SAME(expr, want);
  free(expr);
}

Test(expr, long_expressions_are_shown_around_the_error) {
  char expr[400];
  size_t n = 0;
  for (int i = 0; i < 60; i++) {
    n += (size_t)snprintf(expr + n, sizeof expr - n, "x + ");
  }
  size_t bad = n;
  n += (size_t)snprintf(expr + n, sizeof expr - n,
                        "$ + y + y + y + y + y + y + y + y + y + y + y "
                        "+ y + y + y + y + y + y + y + y + y + y + y");
  floe_array *a = floe_eval(ctx, expr, vars, NVARS);
  const char *msg = floe_array_message(a);
  char head[96];
  snprintf(head, sizeof head, "floe_eval: unexpected character '$' at column %zu\n  ...", bad);
  cr_assert(starts_with(msg, head), "%s", msg);
  const char *line2 = strchr(msg, '\n') + 1;
  const char *line3 = strchr(line2, '\n') + 1;
  cr_assert(strlen(line2) - strlen(line3) <= 2 + 3 + 100 + 3 + 1, "%s", msg);
  size_t caret = strlen(line3) - 1;
  cr_assert_eq(line3[caret], '^');
  cr_assert_eq(line2[caret], '$', "%s", msg);
  cr_assert(contains(line2, "+ y + ...\n"), "%s", msg);
  floe_release(a);
}

Test(expr, control_characters_and_utf8_keep_the_caret_in_place) {
  check_error("x +\n\t$", FLOE_ERR_INVALID,
              "floe_eval: unexpected character '$' at column 5\n"
              "  x +  $\n"
              "       ^");
  check_error("astype(x, 'a\nb')", FLOE_ERR_INVALID,
              "floe_eval: unknown dtype 'a b' (expected bool, uint8, int32, int64, float32 or "
              "float64) at column 10\n"
              "  astype(x, 'a b')\n"
              "            ^");
  check_error("\xc3\xa9 + 1", FLOE_ERR_INVALID,
              "floe_eval: unexpected byte 0xc3 at column 0\n"
              "  \xc3\xa9 + 1\n"
              "  ^");
  check_error("x + 'caf\xc3\xa9' + $", FLOE_ERR_INVALID,
              "floe_eval: unexpected character '$' at column 14\n"
              "  x + 'caf\xc3\xa9' + $\n"
              "               ^");
}

/* ------------------------------------------------- arguments, ownership */

Test(expr, null_arguments) {
  cr_assert_null(floe_eval(NULL, "x", vars, NVARS));
  cr_assert(contains(floe_error_message(NULL), "context is NULL"));
  cr_assert_null(floe_eval(ctx, NULL, vars, NVARS));
  cr_assert(contains(floe_error_message(NULL), "expression is NULL"));
  floe_array *a = floe_eval(ctx, "x", NULL, 2);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  cr_assert_str_eq(floe_array_message(a), "floe_eval: vars is NULL but n is 2");
  floe_eval_var bad[] = {{"x", X}, {NULL, Y}};
  a = floe_eval(ctx, "x", bad, 2);
  cr_assert_eq(floe_array_status(a), FLOE_ERR_INVALID);
  cr_assert_str_eq(floe_array_message(a), "floe_eval: vars[1].name is NULL");
}

Test(expr, unusable_variables) {
  floe_array *gone = floe_add(X, Y);
  floe_release(gone);
  floe_eval_var bad[] = {{"n", NULL}, {"r", gone}, {"x", X}};
  floe_array *a = floe_eval(ctx, "x + 1", bad, 3); /* unused ones do not matter */
  cr_assert_eq(floe_array_status(a), FLOE_OK);
  a = floe_eval(ctx, "x + n", bad, 3);
  cr_assert_str_eq(floe_array_message(a), "floe_eval: variable 'n' is NULL at column 4\n"
                                          "  x + n\n"
                                          "      ^");
  a = floe_eval(ctx, "sqrt(r)", bad, 3);
  cr_assert_str_eq(floe_array_message(a),
                   "floe_eval: variable 'r' is a released array at column 5\n"
                   "  sqrt(r)\n"
                   "       ^");
  floe_ctx *other;
  cr_assert_eq(floe_open(NULL, &other), FLOE_OK);
  floe_eval_var alien[] = {{"a", floe_zeros(other, FLOE_FLOAT64, FLOE_SHAPE(3), FLOE_AUTO)}};
  a = floe_eval(ctx, "a", alien, 1);
  cr_assert_str_eq(floe_array_message(a),
                   "floe_eval: variable 'a' belongs to another context at column 0\n"
                   "  a\n"
                   "  ^");
  floe_close(other);
}

Test(expr, array_layer_errors_pass_through) {
  floe_array *want = floe_add(X, var("w"));
  floe_array *got = floe_eval(ctx, "sqrt(x + w) * 2", vars, NVARS);
  cr_assert_eq(floe_array_status(got), FLOE_ERR_SHAPE, "%s", floe_array_message(got));
  cr_assert_str_eq(floe_array_message(got), floe_array_message(want));
  /* a variable in an error state is passed on as it is */
  floe_eval_var ev[] = {{"bad", want}, {"x", X}};
  floe_array *again = floe_eval(ctx, "mean(x + bad, axis=0) & ~bad", ev, 2);
  cr_assert_eq(floe_array_status(again), FLOE_ERR_SHAPE);
  cr_assert_str_eq(floe_array_message(again), floe_array_message(want));
  floe_array *alone = floe_eval(ctx, "bad", ev, 2);
  cr_assert_str_eq(floe_array_message(alone), floe_array_message(want));
}

Test(expr, results_are_new_references) {
  floe_array *a = floe_eval(ctx, "x", vars, NVARS);
  cr_assert_neq(a, X);
  floe_release(a);
  floe_array *b = floe_eval(ctx, "x * x + x", vars, NVARS);
  floe_release(b);
  /* the variables are untouched */
  double buf[N];
  cr_assert_eq(floe_compute(X, buf, sizeof buf), FLOE_OK, "%s", floe_error_message(ctx));
  cr_assert_eq(memcmp(buf, x_data, sizeof buf), 0);
  /* an expression inside a scope is released with it */
  cr_assert_eq(floe_scope_begin(ctx), FLOE_OK);
  floe_array *c = floe_eval(ctx, "sum(x * y, axis=0)", vars, NVARS);
  floe_array *kept = floe_keep(floe_eval(ctx, "x + 1", vars, NVARS));
  cr_assert_eq(floe_scope_end(ctx), FLOE_OK);
  cr_assert_eq(floe_array_status(c), FLOE_ERR_INVALID); /* released */
  cr_assert_eq(floe_array_status(kept), FLOE_OK);
  SAME("x + 1", kept);
}

static size_t live_nodes(void) {
  size_t n = 0;
  pthread_mutex_lock(&ctx->lock);
  for (const floe__node *x = ctx->nodes; x != NULL; x = x->ctx_next) {
    n++;
  }
  pthread_mutex_unlock(&ctx->lock);
  return n;
}

Test(expr, intermediates_are_released) {
  static const char *const exprs[] = {
      "x + y * 2 - sqrt(abs(x)) ** 2",
      "mean(where(x > 0 & b, x, -y), axis=(0, 1), keepdims=True)",
      "clip(astype(x, int32), None, li) + clip(y, -1, 1)",
      "std(t - mean(t, axis=0), axis=-1, ddof=1)",
      "x + y * (v + w)",    /* an error from the array layer in the middle */
      "sqrt(x) + foo(y)",   /* a parse error */
      "sum(x * y, axis=5)", /* an error while running */
      "b & (x > 0) | xi",
      "x",
  };
  size_t before = live_nodes();
  for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
    floe_release(floe_eval(ctx, exprs[i], vars, NVARS));
    cr_assert_eq(live_nodes(), before, "%s leaves %zu nodes", exprs[i], live_nodes() - before);
  }
}

typedef struct worker {
  int failures;
} worker;

static void *eval_many(void *arg) {
  worker *w = arg;
  static const char *const exprs[] = {"x + y * 2",
                                      "mean(sqrt(abs(x)), axis=0)",
                                      "where(x > 0 & b, x, -y)",
                                      "sum(t, axis=(0, 2))",
                                      "x +",
                                      "foo(x)",
                                      "~x"};
  for (int i = 0; i < 300; i++) {
    size_t k = (size_t)i % (sizeof exprs / sizeof exprs[0]);
    floe_array *a = floe_eval(ctx, exprs[k], vars, NVARS);
    floe_status want = k < 4 ? FLOE_OK : (k == 6 ? FLOE_ERR_DTYPE : FLOE_ERR_INVALID);
    if (floe_array_status(a) != want) {
      w->failures++;
    }
    if (k == 5 && strcmp(floe_error_message(ctx), floe_array_message(a)) != 0) {
      w->failures++;
    }
    floe_release(a);
  }
  return NULL;
}

Test(expr, threads_share_a_context) {
  enum { T = 4 };
  pthread_t th[T];
  worker w[T] = {{0}};
  for (int i = 0; i < T; i++) {
    cr_assert_eq(pthread_create(&th[i], NULL, eval_many, &w[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(w[i].failures, 0, "thread %d: %d failures", i, w[i].failures);
  }
}
