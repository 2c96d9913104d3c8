/* Helpers shared by the Criterion tests: sanitizer-aware sizes and time
 * limits, a seeded random generator, clocks and string checks.  Header-only;
 * every test file is its own executable. */
#ifndef FLOE_TESTS_TESTUTIL_H
#define FLOE_TESTS_TESTUTIL_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Work sizes are divided by TEST_SLOWDOWN under the sanitizers, which slow
 * this code down 3-20x, so that each executable stays within a minute or so;
 * time limits for deadlock detection are multiplied by it. */
#if defined(TEST_TSAN)
#define TEST_SLOWDOWN 8
#elif defined(TEST_ASAN)
#define TEST_SLOWDOWN 2
#else
#define TEST_SLOWDOWN 1
#endif
#define TEST_SIZE(n) ((n) / TEST_SLOWDOWN)
/* Criterion kills a test that runs longer and reports it as a failure: the
 * guard against deadlocks. */
#define TEST_TIMEOUT_S (30.0 * TEST_SLOWDOWN)

/* splitmix64: small, seeded, good enough for shapes of graphs. */
static inline uint64_t rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_below(uint64_t *state, uint64_t n) {
  return rng_next(state) % n;
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static inline int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

static inline int starts_with(const char *s, const char *prefix) {
  return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

#endif
