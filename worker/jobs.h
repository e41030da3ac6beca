/* The kinds of job the worker knows, and what runs for each.
 *
 * A kind is one SQL statement, `SELECT <function>($1::jsonb, $2::timestamptz)`:
 * $1 is the job's payload (over the kind's defaults), $2 the worker's "now"
 * (clock_now_us, so BAOVE_NOW).  The function returns jsonb, stored as
 * jobs.result.  The worker runs it inside a transaction that also marks the
 * job succeeded, so a job's work takes effect exactly once. */
#ifndef BAOVE_WORKER_JOBS_H
#define BAOVE_WORKER_JOBS_H

#include <jansson.h>
#include <stdbool.h>

#include "queue.h"

struct job_kind {
    const char *kind;
    const char *sql;
    /* Payload members the job gets unless its payload sets them (settings
     * read from the environment); NULL for none.  Returns a new object. */
    json_t *(*defaults)(void);
    /* Only known when BAOVE_WORKER_TEST_JOBS=1 (see README: Worker). */
    bool test_only;
};

/* Reads the settings the defaults depend on (BAOVE_CHANGE_LOG_RETENTION,
 * BAOVE_WORKER_TEST_JOBS).  Returns false and fills error when one is
 * malformed.  Call once at start-up. */
bool jobs_init(char *error, size_t error_size);

/* The kind named `kind`, or NULL when this worker does not know it. */
const struct job_kind *jobs_find(const char *kind);

/* The payload to pass to the kind's statement: `payload` (JSON text) over
 * the kind's defaults.  Returns JSON text the caller frees, or NULL when the
 * payload is not a JSON object. */
char *jobs_effective_payload(const struct job_kind *kind, const char *payload);

/* The jobs table as a queue (queue.h): due when queued, or failed and due
 * for its retry, or running under an expired lease with attempts left;
 * dead after max_attempts, or when superseded (JOBS_SUPERSEDED). */
extern const struct queue_kind jobs_queue_kind;

/* A waiting job with the same key will do this work, so a failed or
 * interrupted attempt is not retried: its retry could not wait beside it
 * (one waiting job per key).  The job is q. */
#define JOBS_SUPERSEDED                                                                    \
    "EXISTS (SELECT 1 FROM jobs w WHERE w.unique_key = q.unique_key "                     \
    "AND w.status IN ('queued', 'failed') AND w.id <> q.id)"

/* Kinds queued (with their name as unique key) after a debounced
 * look at the change log found writes (control.c): NULL-terminated. */
extern const char *const jobs_on_change[];

#endif
