#include "http/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "http/router.h"

#define METRICS_MAX_ROUTES 128

/* Statuses the API answers with; anything else is counted as "other". */
static const unsigned known_statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                          409, 410, 412, 413, 415, 422, 428, 429, 500, 503};
#define STATUS_SLOTS (sizeof known_statuses / sizeof known_statuses[0] + 1)

/* Histogram bucket upper bounds in microseconds (and their labels). */
static const int64_t bucket_bounds_us[] = {1000, 5000, 10000, 25000, 50000, 100000,
                                           250000, 500000, 1000000, 2500000, 5000000};
static const char *const bucket_labels[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
                                            "0.25", "0.5", "1", "2.5", "5"};
#define BUCKETS (sizeof bucket_bounds_us / sizeof bucket_bounds_us[0])

/* Process-wide counters, updated by every pool thread with relaxed atomics:
 * each value is independent and a scrape may see them a moment apart.
 * Index METRICS_MAX_ROUTES … is for unmatched requests. */
static atomic_ulong request_counts[METRICS_MAX_ROUTES + 1][STATUS_SLOTS];
static atomic_ulong latency_buckets[METRICS_MAX_ROUTES + 1][BUCKETS];
static atomic_ulong latency_counts[METRICS_MAX_ROUTES + 1];
static atomic_ullong latency_sum_us[METRICS_MAX_ROUTES + 1];
static atomic_long in_flight;
static atomic_ulong database_errors;
static atomic_ulong replica_reads[METRICS_READ_ROUTES];

static size_t route_slot(size_t route_index)
{
    return route_index < api_route_count && route_index < METRICS_MAX_ROUTES
               ? route_index : METRICS_MAX_ROUTES;
}

static size_t status_slot(unsigned status)
{
    for (size_t i = 0; i < STATUS_SLOTS - 1; i++)
        if (known_statuses[i] == status)
            return i;
    return STATUS_SLOTS - 1;
}

void metrics_record_request(size_t route_index, unsigned status, int64_t duration_us)
{
    size_t route = route_slot(route_index);
    atomic_fetch_add_explicit(&request_counts[route][status_slot(status)], 1,
                              memory_order_relaxed);
    for (size_t i = 0; i < BUCKETS; i++)
        if (duration_us <= bucket_bounds_us[i])
            atomic_fetch_add_explicit(&latency_buckets[route][i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_counts[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us[route],
                              (unsigned long long)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

void metrics_request_started(void)
{
    atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
}

void metrics_request_finished(void)
{
    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
}

long metrics_requests_in_flight(void)
{
    return atomic_load_explicit(&in_flight, memory_order_relaxed);
}

void metrics_database_error(void)
{
    atomic_fetch_add_explicit(&database_errors, 1, memory_order_relaxed);
}

/* A growing text buffer for the exposition. */
struct text {
    char *data;
    size_t length;
    size_t capacity;
};

__attribute__((format(printf, 2, 3))) static void append(struct text *text, const char *format,
                                                         ...)
{
    for (;;) {
        va_list args;
        va_start(args, format);
        size_t room = text->capacity - text->length;
        int written = vsnprintf(text->data + text->length, room, format, args);
        va_end(args);
        if (written < 0)
            return;
        if ((size_t)written < room) {
            text->length += (size_t)written;
            return;
        }
        size_t capacity = text->capacity * 2 + (size_t)written;
        char *grown = realloc(text->data, capacity);
        if (grown == NULL)
            return;
        text->data = grown;
        text->capacity = capacity;
    }
}

static void route_label(size_t slot, char *out, size_t size)
{
    if (slot == METRICS_MAX_ROUTES)
        snprintf(out, size, "method=\"\",route=\"unmatched\"");
    else
        snprintf(out, size, "method=\"%s\",route=\"%s\"", api_routes[slot].method,
                 api_routes[slot].pattern);
}

static void render_requests(struct text *text)
{
    append(text, "# HELP baove_http_requests_total HTTP requests by route template and "
                 "status.\n# TYPE baove_http_requests_total counter\n");
    char label[256];
    for (size_t slot = 0; slot <= METRICS_MAX_ROUTES; slot++) {
        if (slot < METRICS_MAX_ROUTES && slot >= api_route_count)
            continue;
        route_label(slot, label, sizeof label);
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            unsigned long count = atomic_load_explicit(&request_counts[slot][s],
                                                       memory_order_relaxed);
            if (count == 0)
                continue;
            if (s < STATUS_SLOTS - 1)
                append(text, "baove_http_requests_total{%s,status=\"%u\"} %lu\n", label,
                       known_statuses[s], count);
            else
                append(text, "baove_http_requests_total{%s,status=\"other\"} %lu\n", label,
                       count);
        }
    }
}

static void render_latency(struct text *text)
{
    append(text, "# HELP baove_http_request_duration_seconds Time from request start to "
                 "response queued.\n# TYPE baove_http_request_duration_seconds histogram\n");
    char label[256];
    for (size_t slot = 0; slot <= METRICS_MAX_ROUTES; slot++) {
        unsigned long count = atomic_load_explicit(&latency_counts[slot], memory_order_relaxed);
        if (count == 0)
            continue;
        route_label(slot, label, sizeof label);
        for (size_t i = 0; i < BUCKETS; i++)
            append(text, "baove_http_request_duration_seconds_bucket{%s,le=\"%s\"} %lu\n",
                   label, bucket_labels[i],
                   atomic_load_explicit(&latency_buckets[slot][i], memory_order_relaxed));
        append(text, "baove_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %lu\n", label,
               count);
        unsigned long long sum = atomic_load_explicit(&latency_sum_us[slot],
                                                      memory_order_relaxed);
        append(text, "baove_http_request_duration_seconds_sum{%s} %llu.%06llu\n", label,
               sum / 1000000, sum % 1000000);
        append(text, "baove_http_request_duration_seconds_count{%s} %lu\n", label, count);
    }
}

/* Queue depth by status, every status present (0 when none), so a rule
 * like baove_jobs{status="dead"} > 0 always has a series. */
static void render_jobs(struct text *text, PGconn *database)
{
    PGresult *result = db_query(
        database,
        "SELECT s.status, count(j.id) FROM unnest(ARRAY['queued', 'running', 'succeeded', "
        "       'failed', 'dead']) AS s(status) "
        "  LEFT JOIN jobs j ON j.status = s.status GROUP BY s.status ORDER BY s.status",
        NULL);
    if (db_ok(result)) {
        append(text, "# HELP baove_jobs Jobs in the worker's queue by status, read at scrape "
                     "time.\n# TYPE baove_jobs gauge\n");
        for (int row = 0; row < PQntuples(result); row++)
            append(text, "baove_jobs{status=\"%s\"} %lld\n", db_text(result, row, 0),
                   db_integer(result, row, 1));
    } else {
        metrics_database_error();
    }
    PQclear(result);
}

void metrics_replica_read(enum metrics_read_route route)
{
    atomic_fetch_add_explicit(&replica_reads[route], 1, memory_order_relaxed);
}

static void render_replica_reads(struct text *text)
{
    static const char *const labels[METRICS_READ_ROUTES] = {
        "served_by=\"replica\",reason=\"caught_up\"",
        "served_by=\"primary\",reason=\"unreachable\"",
        "served_by=\"primary\",reason=\"behind\"",
        "served_by=\"primary\",reason=\"failed\""};
    append(text, "# HELP baove_replica_reads_total Reads that a hot standby may serve "
                 "(BAOVE_READ_DATABASE_URL), by where they ran.\n"
                 "# TYPE baove_replica_reads_total counter\n");
    for (int route = 0; route < METRICS_READ_ROUTES; route++)
        append(text, "baove_replica_reads_total{%s} %lu\n", labels[route],
               atomic_load_explicit(&replica_reads[route], memory_order_relaxed));
}

char *metrics_render(size_t *length, PGconn *database)
{
    struct text text = {malloc(8192), 0, 8192};
    if (text.data == NULL)
        return NULL;
    text.data[0] = '\0';
    render_requests(&text);
    render_latency(&text);
    append(&text, "# HELP baove_http_requests_in_flight Requests being handled now.\n"
                  "# TYPE baove_http_requests_in_flight gauge\nbaove_http_requests_in_flight "
                  "%ld\n", metrics_requests_in_flight());
    append(&text, "# HELP baove_database_errors_total Failed database statements and "
                  "connections.\n# TYPE baove_database_errors_total counter\n"
                  "baove_database_errors_total %lu\n",
           atomic_load_explicit(&database_errors, memory_order_relaxed));
    render_replica_reads(&text);
    if (database != NULL)
        render_jobs(&text, database);
    *length = text.length;
    return text.data;
}
