/* Structured logging: one JSON object per line on stderr.
 *
 * Log lines never carry personal data: callers pass identifiers (request
 * ids, route templates, job ids), not names or record contents. */
#ifndef BAOVE_LOG_H
#define BAOVE_LOG_H

#include <jansson.h>

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

#endif
