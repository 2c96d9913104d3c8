/* Profile output in the Chrome trace-event JSON format, which Perfetto and
 * chrome://tracing open: one complete ("X") event per task, on a track per
 * worker.  Workers append to their own buffers; the thread that finishes a
 * run writes every buffered event, so the file grows run by run and a
 * program that dies early still leaves the runs it finished.  The closing
 * bracket is written at floe_close (both viewers accept a file without it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched-internal.h"

floe_status floe__trace_open(floe__sched *s, const char *path) {
  FILE *f = fopen(path, "w");
  FLOE_RETURN_ERROR_IF(f == NULL, FLOE_ERR_IO, "floe_open: cannot create profile file '%s': %s",
                       path, strerror(errno));
  fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
  fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
             "\"args\":{\"name\":\"floe\"}}");
  for (int i = 0; i < s->nworkers; i++) {
    fprintf(f,
            ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
            "\"args\":{\"name\":\"worker %d\"}}",
            i, i);
  }
  fflush(f);
  s->trace_file = f;
  return FLOE_OK;
}

void floe__trace_record(floe__worker *w, const floe_task *t, int64_t t0, int64_t t1) {
  floe__trace_buf *b = &w->trace;
  pthread_mutex_lock(&b->lock);
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    floe__trace_event *ev = realloc(b->ev, cap * sizeof *ev);
    if (ev == NULL) {
      pthread_mutex_unlock(&b->lock);
      return; /* a profile with a gap beats a failed run */
    }
    b->ev = ev;
    b->cap = cap;
  }
  b->ev[b->n++] = (floe__trace_event){t->name, t->id, t0, t1};
  pthread_mutex_unlock(&b->lock);
}

static void write_name(FILE *f, const char *name) {
  for (const char *c = name; *c != '\0'; c++) {
    unsigned char ch = (unsigned char)*c;
    if (ch == '"' || ch == '\\') {
      fputc('\\', f);
      fputc(ch, f);
    } else if (ch < 0x20) {
      fprintf(f, "\\u%04x", ch);
    } else {
      fputc(ch, f);
    }
  }
}

void floe__trace_flush(floe__sched *s) {
  pthread_mutex_lock(&s->trace_lock);
  FILE *f = s->trace_file;
  for (int i = 0; i < s->nworkers; i++) {
    floe__trace_buf *b = &s->workers[i].trace;
    pthread_mutex_lock(&b->lock);
    for (size_t k = 0; k < b->n; k++) {
      const floe__trace_event *e = &b->ev[k];
      fputs(",\n{\"name\":\"", f);
      write_name(f, e->name != NULL ? e->name : "task");
      fprintf(f,
              "\",\"cat\":\"task\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,"
              "\"dur\":%.3f,\"args\":{\"id\":%u}}",
              i, (double)(e->t0 - s->t0) / 1e3, (double)(e->t1 - e->t0) / 1e3, e->id);
    }
    b->n = 0;
    pthread_mutex_unlock(&b->lock);
  }
  fflush(f);
  pthread_mutex_unlock(&s->trace_lock);
}

void floe__trace_close(floe__sched *s) {
  floe__trace_flush(s);
  fputs("\n]}\n", s->trace_file);
  fclose(s->trace_file);
  s->trace_file = NULL;
}
