/* libFuzzer target for floe_eval: the input bytes, up to the first NUL, are
 * an expression over a few small predefined arrays.  Checks that nothing
 * crashes, that every call returns an array, that a failing expression has a
 * message, that a good result computes, and that no graph node outlives its
 * last handle (intermediates are released).
 *
 * Build (clang; the library built with the same sanitizers and coverage):
 *   CC=clang cmake -S . -B /tmp/fz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 *     -DFLOE_SANITIZE=address,undefined -DFLOE_BUILD_TESTS=OFF -DFLOE_BUILD_BENCH=OFF \
 *     -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link
 *   cmake --build /tmp/fz --target floe_static
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Iinclude -Isrc tests/fuzz/fuzz_expr.c /tmp/fz/libfloe_static.a \
 *     $(pkg-config --libs sleef) -lpthread -lm -o /tmp/fz/fuzz_expr
 *   /tmp/fz/fuzz_expr -max_total_time=60 -dict=tests/fuzz/expr.dict /tmp/fz/corpus
 * or configure with -DFLOE_FUZZ=ON (tests/fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context-internal.h"
#include "floe.h"
#include "graph/node-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static floe_ctx *ctx;
static floe_eval_var vars[6];
static size_t baseline;
static double x_data[12], y_data[4], t_data[24];
static int32_t i_data[12];
static _Bool b_data[12];
static float f_data[4];

static size_t live_nodes(void) {
  size_t n = 0;
  pthread_mutex_lock(&ctx->lock);
  for (const floe__node *x = ctx->nodes; x != NULL; x = x->ctx_next) {
    n++;
  }
  pthread_mutex_unlock(&ctx->lock);
  return n;
}

static void die(const char *what, const char *expr, const char *msg) {
  fprintf(stderr, "fuzz_expr: %s\nexpression: %s\nmessage: %s\n", what, expr, msg);
  abort();
}

static void setup(void) {
  floe_options *o = floe_options_new();
  floe_options_set(o, FLOE_OPT_THREADS, 1);
  if (floe_open(o, &ctx) != FLOE_OK) {
    die("floe_open failed", "", floe_error_message(NULL));
  }
  floe_options_free(o);
  for (int k = 0; k < 24; k++) {
    t_data[k] = k * 0.5 - 3.0;
    if (k < 12) {
      x_data[k] = k - 5.5;
      i_data[k] = k * 7 - 40;
      b_data[k] = k % 3 == 0;
    }
    if (k < 4) {
      y_data[k] = k * 1.25 - 1;
      f_data[k] = (float)k * 0.5f;
    }
  }
  floe_shape s34 = FLOE_SHAPE(3, 4);
  vars[0] =
      (floe_eval_var){"x", floe_from_buffer(ctx, FLOE_FLOAT64, s34, FLOE_SHAPE(2, 3), x_data)};
  vars[1] =
      (floe_eval_var){"y", floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(4), FLOE_AUTO, y_data)};
  vars[2] = (floe_eval_var){"i", floe_from_buffer(ctx, FLOE_INT32, s34, FLOE_AUTO, i_data)};
  vars[3] = (floe_eval_var){"b", floe_from_buffer(ctx, FLOE_BOOL, s34, FLOE_AUTO, b_data)};
  vars[4] =
      (floe_eval_var){"f", floe_from_buffer(ctx, FLOE_FLOAT32, FLOE_SHAPE(4), FLOE_AUTO, f_data)};
  vars[5] = (floe_eval_var){
      "t", floe_from_buffer(ctx, FLOE_FLOAT64, FLOE_SHAPE(2, 3, 4), FLOE_SHAPE(1, 2, 2), t_data)};
  baseline = live_nodes();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ctx == NULL) {
    setup();
  }
  char *expr = malloc(size + 1);
  if (expr == NULL) {
    return 0;
  }
  memcpy(expr, data, size);
  expr[size] = '\0';
  floe_array *a = floe_eval(ctx, expr, vars, sizeof vars / sizeof vars[0]);
  if (a == NULL) {
    die("floe_eval returned NULL", expr, floe_error_message(ctx));
  }
  if (floe_array_status(a) != FLOE_OK) {
    const char *msg = floe_array_message(a);
    if (msg[0] == '\0') {
      die("an error array without a message", expr, msg);
    }
    if (strncmp(msg, "floe_eval: ", 11) == 0 && strstr(msg, " at column ") != NULL &&
        (strchr(msg, '\n') == NULL || strchr(strchr(msg, '\n') + 1, '\n') == NULL ||
         strchr(msg, '^') == NULL)) {
      die("a positioned message without the caret lines", expr, msg);
    }
  } else if (floe_array_nbytes(a) <= 4096) {
    unsigned char buf[4096];
    floe_status s = floe_compute(a, buf, sizeof buf);
    if (s == FLOE_ERR_INTERNAL) {
      die("compute failed with an internal error", expr, floe_error_message(ctx));
    }
  }
  floe_release(a);
  size_t live = live_nodes();
  if (live != baseline) {
    char msg[64];
    snprintf(msg, sizeof msg, "%zu nodes alive, %zu expected", live, baseline);
    die("a graph node leaked", expr, msg);
  }
  free(expr);
  return 0;
}
