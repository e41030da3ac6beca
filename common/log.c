#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Process-wide logging settings, written once by log_init() before any
 * thread starts and only read afterwards. */
static const char *log_program = "baove";
static enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *program)
{
    log_program = program;
    const char *level = getenv("BAOVE_LOG_LEVEL");
    if (level == NULL)
        return;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(level, level_names[i]) == 0)
            log_threshold = (enum log_level)i;
}

void log_event(enum log_level level, const char *event, json_t *fields)
{
    if (level < log_threshold) {
        json_decref(fields);
        return;
    }
    json_t *line = json_object();
    char timestamp[40];
    /* Log times are the wall clock, not the overridable domain clock: logs
     * must say when things really happened, even under BAOVE_NOW. */
    clock_format_instant(clock_wall_us(), timestamp, sizeof timestamp);
    json_object_set_new(line, "ts", json_string(timestamp));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "program", json_string(log_program));
    json_object_set_new(line, "event", json_string(event));
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (text == NULL)
        return;
    /* One fputs per line: stdio locks the stream, so lines from several
     * threads never interleave. */
    flockfile(stderr);
    fputs(text, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
    free(text);
}

void log_message(enum log_level level, const char *format, ...)
{
    if (level < log_threshold)
        return;
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    log_event(level, "message", json_pack("{s:s}", "message", message));
}

bool log_rate_allow(struct log_rate *rate, int64_t interval_us, unsigned *suppressed)
{
    int64_t now = clock_monotonic_us();
    pthread_mutex_lock(&rate->lock);
    bool allowed = now >= rate->next_us;
    if (allowed) {
        *suppressed = rate->suppressed;
        rate->suppressed = 0;
        rate->next_us = now + interval_us;
    } else {
        rate->suppressed++;
    }
    pthread_mutex_unlock(&rate->lock);
    return allowed;
}
