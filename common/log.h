/* Structured logging: one JSON object per line on stderr.
 *
 * Log lines never carry personal data: callers pass identifiers (request
 * ids, route templates, job ids), not names or record contents. */
#ifndef BAOVE_LOG_H
#define BAOVE_LOG_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the program name written in every line and reads BAOVE_LOG_LEVEL
 * (debug|info|warn|error, default info).  Call once, before threads start. */
void log_init(const char *program);

/* Writes {"ts", "level", "program", "event", ...fields}.  Takes ownership of
 * fields (a JSON object, or NULL). */
void log_event(enum log_level level, const char *event, json_t *fields);

/* Writes {"ts", "level", "program", "event": "message", "message": ...}. */
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* A limit on how often one kind of line is written, for events that can
 * repeat by the thousand (a database outage, refused connections): one line
 * per interval, carrying how many were left out.  Each limiter is a static
 * of the code that logs, shared by its threads under its own lock. */
struct log_rate {
    pthread_mutex_t lock;
    int64_t next_us;     /* monotonic: when the next line may be written */
    unsigned suppressed; /* lines left out since the last one written */
};
#define LOG_RATE_INITIALIZER {PTHREAD_MUTEX_INITIALIZER, 0, 0}

/* True when a line may be written now (then *suppressed is how many were
 * left out before it); false: count it and write nothing. */
bool log_rate_allow(struct log_rate *rate, int64_t interval_us, unsigned *suppressed);

#endif
