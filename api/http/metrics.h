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

/* Renders the text exposition format; the caller frees.  With a database
 * connection, adds gauges read from it at scrape time (the worker's queue
 * depth by job status: baove_jobs{status}); NULL leaves them out. */
char *metrics_render(size_t *length, PGconn *database);

#endif
