/* The progress bar on stderr, and Ctrl-C as a clean cancel.
 *
 * The library calls the callback on the thread that waits for a run, at
 * most about ten times a second and once more with done == total when the
 * run succeeds.  The bar redraws one line with '\r'; the line is finished
 * with a newline at the end of the run, or cleared when the run failed, so
 * that the error message starts on a clean line. */
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"

typedef struct bar {
  bool draw, tty;
  const char *label;
  int last_len;
  double start, last_draw;
  bool drawn, finished; /* something is on the line; the line was ended */
  uint64_t last_done;
} bar;

static bar the_bar = {.label = "computing"};
static volatile sig_atomic_t interrupts;

static void on_interrupt(int sig) {
  (void)sig;
  /* the first Ctrl-C cancels the run cleanly, a second one kills */
  if (++interrupts > 1) {
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
  }
}

bool cli_interrupted(void) {
  return interrupts > 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int terminal_width(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) {
    return ws.ws_col;
  }
  return 80;
}

static const char *rate_text(double rate, char buf[32]) {
  if (rate >= 1e6) {
    snprintf(buf, 32, "%.1fM tasks/s", rate / 1e6);
  } else if (rate >= 1e4) {
    snprintf(buf, 32, "%.0fk tasks/s", rate / 1e3);
  } else if (rate >= 1e3) {
    snprintf(buf, 32, "%.1fk tasks/s", rate / 1e3);
  } else {
    snprintf(buf, 32, "%.0f tasks/s", rate);
  }
  return buf;
}

static const char *clock_text(double s, char buf[32]) {
  long t = (long)(s + 0.5);
  if (t >= 3600) {
    snprintf(buf, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    snprintf(buf, 32, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

static void draw(bar *b, uint64_t done, uint64_t total, double t) {
  double elapsed = t - b->start;
  int pct = total > 0 ? (int)(100.0 * (double)done / (double)total) : 100;
  if (done < total && pct == 100) {
    pct = 99;
  }
  char counts[64], rate[32], tail[48], c1[32], c2[32];
  snprintf(counts, sizeof counts, "%s/%s tasks", cli_count(done, c1), cli_count(total, c2));
  double r = elapsed > 0 ? (double)done / elapsed : 0;
  rate_text(r, rate);
  if (done >= total) {
    snprintf(tail, sizeof tail, "in %s", cli_seconds(elapsed, c1));
  } else if (done > 0 && r > 0) {
    snprintf(tail, sizeof tail, "ETA %s", clock_text((double)(total - done) / r, c1));
  } else {
    snprintf(tail, sizeof tail, "ETA -:--");
  }
  /* label [bar] pct% counts rate tail */
  int fixed = (int)strlen(b->label) + 2 + 2 + 5 + 2 + (int)strlen(counts) + 2 + (int)strlen(rate) +
              2 + (int)strlen(tail) + 2;
  int width = terminal_width() - fixed - 1;
  width = width > 40 ? 40 : width;
  bool utf8 = cli_utf8();
  char line[512];
  size_t n = 0;
  n += (size_t)snprintf(line + n, sizeof line - n, "\r  %s ", b->label);
  if (width >= 8) {
    int full = total > 0 ? (int)((double)width * (double)done / (double)total) : width;
    if (!utf8) {
      line[n++] = '[';
    }
    for (int i = 0; i < width && n + 8 < sizeof line; i++) {
      const char *cell = i < full ? (utf8 ? "\u2588" : "#") : (utf8 ? "\u2591" : "-");
      size_t cl = strlen(cell);
      memcpy(line + n, cell, cl);
      n += cl;
    }
    if (!utf8) {
      line[n++] = ']';
    }
  }
  n += (size_t)snprintf(line + n, sizeof line - n, " %3d%%  %s  %s  %s", pct, counts, rate, tail);
  /* a terminal erases the rest of the old line; a file gets spaces */
  int pad = b->tty ? 0 : b->last_len - (int)n;
  fprintf(stderr, "%s%*s%s", line, pad > 0 ? pad : 0, "", b->tty ? "\033[K" : "");
  b->last_len = (int)n;
  fflush(stderr);
  b->drawn = true;
  b->last_draw = t;
}

static int on_progress(void *user, uint64_t done, uint64_t total) {
  bar *b = user;
  if (b->draw && !b->finished) {
    double t = now();
    /* at most ~10 redraws a second, but always the final one */
    if (done >= total || t - b->last_draw >= 0.095 || !b->drawn) {
      draw(b, done, total, t);
    }
    if (done >= total && total > 0) {
      fputc('\n', stderr);
      b->finished = true;
    }
  }
  b->last_done = done;
  return interrupts > 0;
}

int cli_progress_install(floe_options *opts, bool draw_bar) {
  the_bar.draw = draw_bar;
  the_bar.tty = isatty(STDERR_FILENO);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  if (floe_options_set(opts, FLOE_OPT_PROGRESS, floe_progress(on_progress)) != FLOE_OK ||
      floe_options_set(opts, FLOE_OPT_PROGRESS_USER, (void *)&the_bar) != FLOE_OK) {
    return cli_fail("%s", floe_error_message(NULL));
  }
  return CLI_OK;
}

void cli_progress_begin(const char *label) {
  the_bar.label = label;
  the_bar.start = now();
  the_bar.last_draw = 0;
  the_bar.drawn = false;
  the_bar.finished = false;
  the_bar.last_done = 0;
  the_bar.last_len = 0;
}

void cli_progress_end(void) {
  if (the_bar.draw && the_bar.drawn && !the_bar.finished) {
    /* a run that failed or was cancelled: clear its bar */
    fprintf(stderr, "\r%*s\r", the_bar.tty ? 0 : the_bar.last_len, "");
    if (the_bar.tty) {
      fputs("\033[K", stderr);
    }
    fflush(stderr);
  }
  the_bar.finished = true;
}
