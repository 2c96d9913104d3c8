/* src/core through the public API: statuses and their names, the version,
 * per-thread error messages, size parsing, options (typed setters, the
 * _Generic setter, the name-keyed parser) and how floe_open resolves them
 * from defaults, the environment and explicit options. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe.h"
#include "testutil.h"

/* The message must contain `needle`; shows the message when it does not. */
#define assert_message_has(needle)                                                                 \
  cr_assert(contains(floe_error_message(NULL), (needle)), "message '%s' does not contain '%s'",    \
            floe_error_message(NULL), (needle))

/* Puts a marker in the thread's message so that a test can tell a message
 * the call under test wrote from a stale one. */
static void mark_message(void) {
  floe_error_set(FLOE_ERR_INTERNAL, "<marker>");
}

static floe_ctx *open_or_fail(const floe_options *opts) {
  floe_ctx *ctx = NULL;
  floe_status st = floe_open(opts, &ctx);
  cr_assert_eq(st, FLOE_OK, "floe_open: %s", floe_error_message(NULL));
  cr_assert_not_null(ctx);
  return ctx;
}

/* ------------------------------------------------------------- statuses */

/* Written out by hand: codes are part of the ABI and never renumbered. */
static const struct {
  floe_status status;
  int code;
  const char *name;
  const char *text;
} known_statuses[] = {
    {FLOE_OK, 0, "OK", "success"},
    {FLOE_ERR_INVALID, 1, "ERR_INVALID", "invalid argument"},
    {FLOE_ERR_SHAPE, 2, "ERR_SHAPE", "shape mismatch"},
    {FLOE_ERR_DTYPE, 3, "ERR_DTYPE", "unsupported or mismatched dtype"},
    {FLOE_ERR_NOMEM, 4, "ERR_NOMEM", "out of memory"},
    {FLOE_ERR_IO, 5, "ERR_IO", "input/output error"},
    {FLOE_ERR_FORMAT, 6, "ERR_FORMAT", "bad file format"},
    {FLOE_ERR_DEVICE, 7, "ERR_DEVICE", "device error"},
    {FLOE_ERR_CANCELLED, 8, "ERR_CANCELLED", "cancelled"},
    {FLOE_ERR_INTERNAL, 9, "ERR_INTERNAL", "internal error"},
};

Test(status, codes_names_and_texts_are_fixed) {
  for (size_t i = 0; i < sizeof known_statuses / sizeof known_statuses[0]; i++) {
    cr_assert_eq((int)known_statuses[i].status, known_statuses[i].code, "%s was renumbered",
                 known_statuses[i].name);
    cr_assert_str_eq(floe_status_name(known_statuses[i].status), known_statuses[i].name);
    cr_assert_str_eq(floe_status_string(known_statuses[i].status), known_statuses[i].text);
  }
}

/* Every row of the table, including rows added later, has a name and a text. */
Test(status, every_status_in_the_map_has_its_name_and_text) {
  int rows = 0;
#define CHECK_ROW(NAME, code, msg)                                                                 \
  do {                                                                                             \
    rows++;                                                                                        \
    cr_assert_eq((int)FLOE_##NAME, code);                                                          \
    cr_assert_str_eq(floe_status_name(FLOE_##NAME), #NAME);                                        \
    cr_assert_str_eq(floe_status_string((floe_status)(code)), msg);                                \
  } while (0);
  FLOE_STATUS_MAP(CHECK_ROW)
#undef CHECK_ROW
  cr_assert_geq(rows, 10);
}

Test(status, out_of_range_is_unknown) {
  int max_code = 0;
#define MAX_ROW(NAME, code, msg) max_code = code > max_code ? code : max_code;
  FLOE_STATUS_MAP(MAX_ROW)
#undef MAX_ROW
  const int outside[] = {max_code + 1, max_code + 2, 1000, -1};
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
    floe_status s = (floe_status)outside[i];
    cr_assert_str_eq(floe_status_name(s), "UNKNOWN", "status %d", outside[i]);
    const char *text = floe_status_string(s);
    cr_assert(text != NULL && text[0] != '\0', "status %d has no text", outside[i]);
  }
}

/* -------------------------------------------------------------- version */

Test(version, string_and_number_match_the_header) {
  cr_assert_str_eq(floe_version_string(), FLOE_VERSION_STRING);
  cr_assert_eq(floe_version_number(), (unsigned)FLOE_VERSION_NUMBER);
  char expect[32];
  snprintf(expect, sizeof expect, "%d.%d.%d", FLOE_VERSION_MAJOR, FLOE_VERSION_MINOR,
           FLOE_VERSION_PATCH);
  cr_assert_str_eq(floe_version_string(), expect);
  cr_assert_eq(floe_version_number(), (unsigned)(FLOE_VERSION_MAJOR * 10000 +
                                                 FLOE_VERSION_MINOR * 100 + FLOE_VERSION_PATCH));
}

/* --------------------------------------------------------------- errors */

Test(error, set_returns_the_status_and_formats_the_message) {
  cr_assert_eq(floe_error_set(FLOE_ERR_IO, "disk %d is %s", 7, "full"), FLOE_ERR_IO);
  cr_assert_str_eq(floe_error_message(NULL), "disk 7 is full");
  cr_assert_eq(floe_error_set(FLOE_ERR_SHAPE, "%s", "second"), FLOE_ERR_SHAPE);
  cr_assert_str_eq(floe_error_message(NULL), "second");
}

Test(error, message_does_not_depend_on_the_context_argument) {
  floe_ctx *ctx = open_or_fail(NULL);
  floe_error_set(FLOE_ERR_NOMEM, "tired");
  cr_assert_str_eq(floe_error_message(ctx), "tired");
  cr_assert_str_eq(floe_error_message(NULL), "tired");
  floe_close(ctx);
}

Test(error, long_messages_are_cut_not_overflowed) {
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  cr_assert_eq(floe_error_set(FLOE_ERR_IO, "%s", big), FLOE_ERR_IO);
  const char *msg = floe_error_message(NULL);
  size_t len = strlen(msg);
  cr_assert(len > 100 && len < sizeof big, "message length %zu", len);
  cr_assert_eq(strspn(msg, "x"), len);
}

typedef struct thread_msgs {
  char before[64]; /* what the thread saw before it failed */
  char after[64];
} thread_msgs;

static void *set_on_other_thread(void *arg) {
  thread_msgs *m = arg;
  snprintf(m->before, sizeof m->before, "%s", floe_error_message(NULL));
  floe_error_set(FLOE_ERR_DEVICE, "from the other thread");
  snprintf(m->after, sizeof m->after, "%s", floe_error_message(NULL));
  return NULL;
}

Test(error, messages_are_per_thread) {
  floe_error_set(FLOE_ERR_IO, "from the main thread");
  thread_msgs m = {{0}, {0}};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, set_on_other_thread, &m), 0);
  pthread_join(t, NULL);
  cr_assert_str_eq(m.before, "", "a fresh thread saw '%s'", m.before);
  cr_assert_str_eq(m.after, "from the other thread");
  cr_assert_str_eq(floe_error_message(NULL), "from the main thread");
}

/* ----------------------------------------------------------- parse size */

typedef struct size_case {
  const char *text;
  uint64_t whole;
  uint64_t bytes;
} size_case;

Test(parse_size, accepts_numbers_units_and_percentages) {
  const size_case cases[] = {
      {"4GB", 0, 4000000000ull},
      {"512MiB", 0, 512ull << 20},
      {"1.5G", 0, 1500000000ull},
      {"1024", 0, 1024},
      {" 2 KiB ", 0, 2048},
      {"60%", 1000000000ull, 600000000ull},
      {"60%", 1000, 600},
      {"100%", 12345, 12345},
      {"1e3", 0, 1000},
      {"0", 0, 0},
      {"7kb", 0, 7000},
      {"3 MB", 0, 3000000},
      {"2TiB", 0, 2ull << 40},
      {"1.25KiB", 0, 1280},
      {"10b", 0, 10},
      {"5T", 0, 5000000000000ull},
      {".5k", 0, 500},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t got = 12345678;
    floe_status st = floe_parse_size(cases[i].text, cases[i].whole, &got);
    cr_assert_eq(st, FLOE_OK, "'%s': %s", cases[i].text, floe_error_message(NULL));
    cr_assert_eq(got, cases[i].bytes, "'%s' (whole %llu): got %llu, want %llu", cases[i].text,
                 (unsigned long long)cases[i].whole, (unsigned long long)got,
                 (unsigned long long)cases[i].bytes);
  }
}

Test(parse_size, rejects_bad_text_with_a_message_quoting_it) {
  const char *bad[] = {"",     "   ",  "-1", "abc",  "4XB",   "4 GB extra", "nan", "inf",
                       "0x10", "101%", "GB", "1..5", "12 34", "+",          "%"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t got = 0;
    mark_message();
    floe_status st = floe_parse_size(bad[i], 1000, &got);
    cr_assert_eq(st, FLOE_ERR_INVALID, "'%s' was accepted as %llu", bad[i],
                 (unsigned long long)got);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
    assert_message_has(quoted);
  }
}

Test(parse_size, null_arguments) {
  uint64_t got = 0;
  mark_message();
  cr_assert_eq(floe_parse_size(NULL, 0, &got), FLOE_ERR_INVALID);
  assert_message_has("floe_parse_size");
  mark_message();
  cr_assert_eq(floe_parse_size("1GB", 0, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_parse_size");
}

/* Sizes between 2^63 and 2^64 bytes pass the range check; they must come
 * back exact (or be refused), not wrapped. */
Test(parse_size, huge_sizes_are_exact_or_refused) {
  const size_case cases[] = {
      {"9e18", 0, 9000000000000000000ull},
      {"1e19", 0, 10000000000000000000ull},
      {"10000000TB", 0, 10000000000000000000ull},
      {"15EiB", 0, 0}, /* no such unit: refused */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t got = 0;
    floe_status st = floe_parse_size(cases[i].text, 0, &got);
    if (st == FLOE_OK) {
      cr_assert_eq(got, cases[i].bytes, "'%s' parsed as %llu bytes, want %llu", cases[i].text,
                   (unsigned long long)got, (unsigned long long)cases[i].bytes);
    } else {
      cr_assert_eq(st, FLOE_ERR_INVALID);
    }
  }
  uint64_t got = 0;
  cr_assert_eq(floe_parse_size("18446744073709551616", 0, &got), FLOE_ERR_INVALID,
               "2^64 bytes accepted as %llu", (unsigned long long)got);
}

/* -------------------------------------------------------------- options */

Test(options, names_match_the_option_map) {
#define NAME_ROW(KEY, name, kind) cr_assert_str_eq(floe_option_name(FLOE_OPT_##KEY), #name);
  FLOE_OPTION_MAP(NAME_ROW)
#undef NAME_ROW
  cr_assert_null(floe_option_name(FLOE_OPT_COUNT_));
  cr_assert_null(floe_option_name((floe_option)-1));
}

static int tally_progress(void *user, uint64_t done, uint64_t total) {
  uint64_t *calls = user;
  calls[0]++;
  calls[1] = done;
  calls[2] = total;
  return 0;
}

static floe_status nop_task(void *arg) {
  (void)arg;
  return FLOE_OK;
}

/* The _Generic setter picks the typed setter from the value's type; the
 * values then show in the opened context.  The options are freed before the
 * context is used: floe_open copies them. */
Test(options, generic_setter_dispatches_on_the_value_type) {
  floe_options *o = floe_options_new();
  cr_assert_not_null(o);
  uint64_t calls[3] = {0, 0, 0};
  char level[] = "3"; /* char *, not const char * */
  const char *dir = "/tmp";
  int64_t chunk = 1 << 20;
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, 3), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, "256MiB"), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_LEVEL, level), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_DIR, dir), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_CHUNK_BYTES, chunk), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_DEVICES, 0), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS, floe_progress(tally_progress)), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS_USER, (void *)calls), FLOE_OK);
  floe_ctx *ctx = open_or_fail(o);
  floe_options_free(o);
  cr_assert_eq(floe_ctx_threads(ctx), 3);
  cr_assert_eq(floe_ctx_memory_limit(ctx), 256ull << 20);

  floe_taskgraph *g = floe_taskgraph_new(ctx);
  for (int i = 0; i < 10; i++) {
    cr_assert_not_null(floe_task_add(g, nop_task, NULL));
  }
  cr_assert_eq(floe_taskgraph_run(g), FLOE_OK, "%s", floe_error_message(NULL));
  cr_assert_geq(calls[0], 1, "the progress callback was never called");
  cr_assert_eq(calls[1], 10, "last progress call: done %llu", (unsigned long long)calls[1]);
  cr_assert_eq(calls[2], 10, "last progress call: total %llu", (unsigned long long)calls[2]);
  floe_taskgraph_free(g);
  floe_close(ctx);
}

Test(options, strings_set_counts_and_sizes) {
  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, " 2 "), FLOE_OK, "%s",
               floe_error_message(NULL));
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, "1.5G"), FLOE_OK);
  floe_ctx *ctx = open_or_fail(o);
  cr_assert_eq(floe_ctx_threads(ctx), 2);
  cr_assert_eq(floe_ctx_memory_limit(ctx), 1500000000ull);
  floe_close(ctx);
  /* a later set replaces an earlier one */
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, 4096), FLOE_OK);
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, 1), FLOE_OK);
  ctx = open_or_fail(o);
  cr_assert_eq(floe_ctx_threads(ctx), 1);
  cr_assert_eq(floe_ctx_memory_limit(ctx), 4096);
  floe_close(ctx);
  floe_options_free(o);
}

/* A value of the wrong kind is refused with a message naming the option,
 * and leaves the option at its default. */
Test(options, wrong_kinds_are_refused_and_named) {
  floe_options *o = floe_options_new();
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS, "cb"), FLOE_ERR_INVALID);
  assert_message_has("progress");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_SPILL_DIR, 5), FLOE_ERR_INVALID);
  assert_message_has("spill_dir");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, (void *)o), FLOE_ERR_INVALID);
  assert_message_has("threads");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS_USER, 1), FLOE_ERR_INVALID);
  assert_message_has("progress_user");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS_USER, "x"), FLOE_ERR_INVALID);
  assert_message_has("progress_user");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, floe_progress(tally_progress)),
               FLOE_ERR_INVALID);
  assert_message_has("threads");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROGRESS, (void *)o), FLOE_ERR_INVALID);
  assert_message_has("progress");
  mark_message();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, (void *)o), FLOE_ERR_INVALID);
  assert_message_has("memory_limit");

  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  floe_ctx *ctx = open_or_fail(o);
  cr_assert_eq(floe_ctx_threads(ctx), CPU_COUNT(&set), "a refused value changed threads");
  floe_close(ctx);
  floe_options_free(o);
}

typedef struct range_case {
  floe_option key;
  int64_t value;
  const char *name;
} range_case;

Test(options, out_of_range_counts_and_sizes_are_refused) {
  const range_case bad[] = {
      {FLOE_OPT_THREADS, -1, "threads"},           {FLOE_OPT_THREADS, 100000, "threads"},
      {FLOE_OPT_SPILL_LEVEL, 0, "spill_level"},    {FLOE_OPT_SPILL_LEVEL, 20, "spill_level"},
      {FLOE_OPT_DEVICES, -2, "devices"},           {FLOE_OPT_MEMORY_LIMIT, 0, "memory_limit"},
      {FLOE_OPT_MEMORY_LIMIT, -5, "memory_limit"}, {FLOE_OPT_CHUNK_BYTES, 0, "chunk_bytes"},
  };
  floe_options *o = floe_options_new();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mark_message();
    cr_assert_eq(floe_options_set(o, bad[i].key, bad[i].value), FLOE_ERR_INVALID,
                 "%s = %lld was accepted", bad[i].name, (long long)bad[i].value);
    assert_message_has(bad[i].name);
    /* the same through the string parser */
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)bad[i].value);
    mark_message();
    cr_assert_eq(floe_options_set(o, bad[i].key, text), FLOE_ERR_INVALID, "%s = '%s' was accepted",
                 bad[i].name, text);
    assert_message_has(bad[i].name);
  }
  const range_case good[] = {
      {FLOE_OPT_THREADS, 0, "threads"},           {FLOE_OPT_THREADS, 64, "threads"},
      {FLOE_OPT_SPILL_LEVEL, 1, "spill_level"},   {FLOE_OPT_SPILL_LEVEL, 19, "spill_level"},
      {FLOE_OPT_DEVICES, -1, "devices"},          {FLOE_OPT_DEVICES, 0, "devices"},
      {FLOE_OPT_MEMORY_LIMIT, 1, "memory_limit"},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    cr_assert_eq(floe_options_set(o, good[i].key, good[i].value), FLOE_OK, "%s = %lld: %s",
                 good[i].name, (long long)good[i].value, floe_error_message(NULL));
  }
  floe_options_free(o);
}

/* Every spelling of a name reaches the same option; the value shows in the
 * context. */
Test(options, parse_accepts_every_spelling_of_a_name) {
  const char *names[] = {"memory_limit", "memory-limit", "--memory-limit", "FLOE_MEMORY_LIMIT"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    floe_options *o = floe_options_new();
    cr_assert_eq(floe_options_parse(o, names[i], "3GB"), FLOE_OK, "'%s': %s", names[i],
                 floe_error_message(NULL));
    floe_ctx *ctx = open_or_fail(o);
    cr_assert_eq(floe_ctx_memory_limit(ctx), 3000000000ull, "'%s'", names[i]);
    floe_close(ctx);
    floe_options_free(o);
  }
  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_parse(o, "--threads", "2"), FLOE_OK);
  cr_assert_eq(floe_options_parse(o, "FLOE_SPILL_LEVEL", "5"), FLOE_OK);
  cr_assert_eq(floe_options_parse(o, "spill-dir", "/tmp"), FLOE_OK);
  floe_ctx *ctx = open_or_fail(o);
  cr_assert_eq(floe_ctx_threads(ctx), 2);
  floe_close(ctx);
  floe_options_free(o);
}

Test(options, parse_refuses_unknown_names_and_bad_values) {
  floe_options *o = floe_options_new();
  mark_message();
  cr_assert_eq(floe_options_parse(o, "memory_limt", "1GB"), FLOE_ERR_INVALID);
  assert_message_has("memory_limt");
  mark_message();
  cr_assert_eq(floe_options_parse(o, "", "1"), FLOE_ERR_INVALID);
  mark_message();
  cr_assert_eq(floe_options_parse(o, "threads", "abc"), FLOE_ERR_INVALID);
  assert_message_has("threads");
  assert_message_has("abc");
  mark_message();
  cr_assert_eq(floe_options_parse(o, "threads", "2.5"), FLOE_ERR_INVALID);
  assert_message_has("threads");
  mark_message();
  cr_assert_eq(floe_options_parse(o, "spill_dir", ""), FLOE_ERR_INVALID);
  assert_message_has("spill_dir");
  /* callbacks and pointers have no text form */
  mark_message();
  cr_assert_eq(floe_options_parse(o, "progress", "0"), FLOE_ERR_INVALID);
  assert_message_has("progress");
  mark_message();
  cr_assert_eq(floe_options_parse(o, "progress_user", "0"), FLOE_ERR_INVALID);
  assert_message_has("progress_user");
  floe_options_free(o);
}

/* floe_options_set_string: "FLOE_ERR_INVALID with a message that quotes the
 * bad text"; for sizes the message must also name the option. */
Test(options, bad_size_text_is_quoted_in_the_message) {
  const char *bad[] = {"4XB", "abc", "-1", "nan", "101%"};
  floe_options *o = floe_options_new();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mark_message();
    cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, bad[i]), FLOE_ERR_INVALID, "'%s'",
                 bad[i]);
    assert_message_has("memory_limit");
    assert_message_has(bad[i]);
    mark_message();
    cr_assert_eq(floe_options_parse(o, "chunk-bytes", bad[i]), FLOE_ERR_INVALID, "'%s'", bad[i]);
    assert_message_has("chunk_bytes");
    assert_message_has(bad[i]);
  }
  floe_options_free(o);
}

Test(options, null_arguments) {
  floe_options *o = floe_options_new();
  mark_message();
  cr_assert_eq(floe_options_set_int(NULL, FLOE_OPT_THREADS, 1), FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  mark_message();
  cr_assert_eq(floe_options_set_string(NULL, FLOE_OPT_MEMORY_LIMIT, "1GB"), FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  mark_message();
  cr_assert_eq(floe_options_set_string(o, FLOE_OPT_MEMORY_LIMIT, NULL), FLOE_ERR_INVALID);
  assert_message_has("memory_limit");
  mark_message();
  cr_assert_eq(floe_options_set_pointer(NULL, FLOE_OPT_PROGRESS_USER, o), FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  mark_message();
  cr_assert_eq(
      floe_options_set((floe_options *)NULL, FLOE_OPT_PROGRESS, floe_progress(tally_progress)),
      FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  mark_message();
  cr_assert_eq(floe_options_parse(NULL, "threads", "1"), FLOE_ERR_INVALID);
  assert_message_has("floe_options_parse");
  mark_message();
  cr_assert_eq(floe_options_parse(o, NULL, "1"), FLOE_ERR_INVALID);
  assert_message_has("floe_options_parse");
  mark_message();
  cr_assert_eq(floe_options_parse(o, "threads", NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_options_parse");
  /* keys outside the enum */
  mark_message();
  cr_assert_eq(floe_options_set_int(o, FLOE_OPT_COUNT_, 1), FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  mark_message();
  cr_assert_eq(floe_options_set_string(o, (floe_option)-1, "1"), FLOE_ERR_INVALID);
  assert_message_has("floe_options_set");
  floe_options_free(o);
  floe_options_free(NULL);
}

/* -------------------------------------------------------------- context */

Test(context, open_with_null_output_fails) {
  mark_message();
  cr_assert_eq(floe_open(NULL, NULL), FLOE_ERR_INVALID);
  assert_message_has("floe_open");
  floe_close(NULL);
  cr_assert_eq(floe_ctx_threads(NULL), 0);
  cr_assert_eq(floe_ctx_memory_limit(NULL), 0);
}

Test(context, default_threads_are_one_per_core) {
  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
  floe_ctx *ctx = open_or_fail(NULL);
  cr_assert_eq(floe_ctx_threads(ctx), CPU_COUNT(&set));
  floe_close(ctx);
}

/* Physical memory, lowered to a cgroup limit when there is one. */
static uint64_t machine_memory(void) {
  uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  const char *files[] = {"/sys/fs/cgroup/memory.max",
                         "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
  for (size_t i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "r");
    unsigned long long v = 0;
    if (f == NULL) {
      continue;
    }
    int got = fscanf(f, "%llu", &v);
    fclose(f);
    if (got == 1 && v > 0) {
      if (v < phys) {
        phys = v;
      }
      break;
    }
  }
  return phys;
}

Test(context, default_memory_limit_is_half_the_machine) {
  uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  floe_ctx *ctx = open_or_fail(NULL);
  uint64_t limit = floe_ctx_memory_limit(ctx);
  cr_assert_gt(limit, 0);
  cr_assert_leq(limit, phys);
  uint64_t half = machine_memory() / 2;
  cr_assert(limit + 4096 >= half && limit <= half + 4096, "limit %llu, half of memory %llu",
            (unsigned long long)limit, (unsigned long long)half);
  floe_close(ctx);
}

Test(context, percent_memory_limit_is_of_the_machine) {
  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_MEMORY_LIMIT, "25%"), FLOE_OK);
  floe_ctx *ctx = open_or_fail(o);
  uint64_t quarter = machine_memory() / 4, limit = floe_ctx_memory_limit(ctx);
  cr_assert(limit + 4096 >= quarter && limit <= quarter + 4096, "limit %llu, a quarter %llu",
            (unsigned long long)limit, (unsigned long long)quarter);
  floe_close(ctx);
  floe_options_free(o);
}

Test(context, profile_in_a_missing_directory_is_an_io_error) {
  floe_options *o = floe_options_new();
  const char *path = "/nonexistent-floe-dir/sub/profile.json";
  cr_assert_eq(floe_options_set(o, FLOE_OPT_PROFILE_PATH, path), FLOE_OK);
  floe_ctx *ctx = (floe_ctx *)&ctx; /* anything but NULL */
  mark_message();
  cr_assert_eq(floe_open(o, &ctx), FLOE_ERR_IO);
  cr_assert_null(ctx);
  assert_message_has(path);
  floe_options_free(o);
}

/* ---------------------------------------------------------- environment */

Test(environment, threads_from_the_environment) {
  cr_assert_eq(setenv("FLOE_THREADS", "3", 1), 0);
  floe_ctx *ctx = open_or_fail(NULL);
  cr_assert_eq(floe_ctx_threads(ctx), 3);
  floe_close(ctx);
  unsetenv("FLOE_THREADS");
}

Test(environment, explicit_options_win_over_the_environment) {
  cr_assert_eq(setenv("FLOE_THREADS", "3", 1), 0);
  cr_assert_eq(setenv("FLOE_MEMORY_LIMIT", "1GB", 1), 0);
  floe_options *o = floe_options_new();
  cr_assert_eq(floe_options_set(o, FLOE_OPT_THREADS, 2), FLOE_OK);
  floe_ctx *ctx = open_or_fail(o);
  cr_assert_eq(floe_ctx_threads(ctx), 2, "the explicit option lost");
  cr_assert_eq(floe_ctx_memory_limit(ctx), 1000000000ull, "an option not set explicitly");
  floe_close(ctx);
  floe_options_free(o);
  unsetenv("FLOE_THREADS");
  unsetenv("FLOE_MEMORY_LIMIT");
}

Test(environment, memory_limit_from_the_environment) {
  cr_assert_eq(setenv("FLOE_MEMORY_LIMIT", "1GB", 1), 0);
  floe_ctx *ctx = open_or_fail(NULL);
  cr_assert_eq(floe_ctx_memory_limit(ctx), 1000000000ull);
  floe_close(ctx);
  cr_assert_eq(setenv("FLOE_MEMORY_LIMIT", "10%", 1), 0);
  ctx = open_or_fail(NULL);
  uint64_t tenth = machine_memory() / 10, limit = floe_ctx_memory_limit(ctx);
  cr_assert(limit + 4096 >= tenth && limit <= tenth + 4096, "limit %llu, a tenth %llu",
            (unsigned long long)limit, (unsigned long long)tenth);
  floe_close(ctx);
  unsetenv("FLOE_MEMORY_LIMIT");
}

Test(environment, bad_value_fails_open_and_names_the_variable) {
  const char *vars[][2] = {
      {"FLOE_THREADS", "abc"},    {"FLOE_THREADS", "-3"},       {"FLOE_MEMORY_LIMIT", "4XB"},
      {"FLOE_SPILL_LEVEL", "99"}, {"FLOE_CHUNK_BYTES", "lots"}, {"FLOE_SPILL_DIR", ""},
  };
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    cr_assert_eq(setenv(vars[i][0], vars[i][1], 1), 0);
    floe_ctx *ctx = (floe_ctx *)&ctx;
    mark_message();
    cr_assert_eq(floe_open(NULL, &ctx), FLOE_ERR_INVALID, "%s=%s", vars[i][0], vars[i][1]);
    cr_assert_null(ctx, "%s=%s", vars[i][0], vars[i][1]);
    assert_message_has(vars[i][0]);
    unsetenv(vars[i][0]);
  }
}

/* The environment's message must say what was wrong, not only where: the
 * bad text is quoted as it is by floe_options_set. */
Test(environment, bad_value_is_quoted_in_the_message) {
  const char *vars[][2] = {{"FLOE_THREADS", "abc"}, {"FLOE_MEMORY_LIMIT", "4XB"}};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    cr_assert_eq(setenv(vars[i][0], vars[i][1], 1), 0);
    floe_ctx *ctx = NULL;
    mark_message();
    cr_assert_eq(floe_open(NULL, &ctx), FLOE_ERR_INVALID);
    assert_message_has(vars[i][0]);
    assert_message_has(vars[i][1]);
    unsetenv(vars[i][0]);
  }
}

Test(environment, profile_path_in_a_missing_directory) {
  cr_assert_eq(setenv("FLOE_PROFILE_PATH", "/nonexistent-floe-dir/p.json", 1), 0);
  floe_ctx *ctx = (floe_ctx *)&ctx;
  cr_assert_eq(floe_open(NULL, &ctx), FLOE_ERR_IO);
  cr_assert_null(ctx);
  unsetenv("FLOE_PROFILE_PATH");
}
