/* Prometheus metrics of the API process: requests by route template and
 * status, a latency histogram per route, database errors, in-flight
 * requests.  Counters are process-wide atomics (see metrics.c). */
#ifndef BAOVE_METRICS_H
#define BAOVE_METRICS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* route_index is an index into api_routes, or api_route_count for requests
 * that matched no route. */
void metrics_record_request(size_t route_index, unsigned status, int64_t duration_us);
void metrics_request_started(void);
void metrics_request_finished(void);
long metrics_requests_in_flight(void);
void metrics_database_error(void);

/* Where a read marked for the hot standby ran (http/replica.h):
 * baove_replica_reads_total{served_by, reason}. */
enum metrics_read_route {
    METRICS_READ_REPLICA,             /* on the standby */
    METRICS_READ_PRIMARY_UNREACHABLE, /* on the primary: standby down or busy */
    METRICS_READ_PRIMARY_BEHIND,      /* on the primary: standby not caught up */
    METRICS_READ_PRIMARY_FAILED,      /* on the primary: the standby's read failed */
    METRICS_READ_ROUTES
};
void metrics_replica_read(enum metrics_read_route route);

/* Renders the text exposition format; the caller frees.  With a database
 * connection, adds gauges read from it at scrape time (the worker's queue
 * depth by job status: baove_jobs{status}); NULL leaves them out. */
char *metrics_render(size_t *length, PGconn *database);

#endif
