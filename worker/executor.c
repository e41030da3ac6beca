/* Runs one job on its executor's own connection, inside one transaction:
 *
 *   BEGIN
 *   SELECT <function>(payload, now)               -- the work
 *   UPDATE jobs SET status = 'succeeded' …        -- queue_complete()
 *    WHERE id = … AND leased_by = <me> AND attempts = <this attempt>
 *      AND status = 'running'
 *   COMMIT, or ROLLBACK when that UPDATE matched nothing
 *
 * If the lease was lost (this worker stalled, another one reclaimed the job),
 * the UPDATE matches no row and the work is rolled back: it takes effect
 * exactly once.  A failed attempt is rolled back and recorded on the control
 * connection (queue_fail(): failed with a retry time, or dead), under the
 * same condition.  The executor then tells its owner through the callback
 * it registered (executor.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "executor.h"
#include "jobs.h"
#include "log.h"

static void first_line(const char *message, char *out, size_t size)
{
    snprintf(out, size, "%s", message != NULL && message[0] ? message : "unknown error");
    out[strcspn(out, "\n")] = '\0';
}

static json_t *job_fields(const struct executor *executor)
{
    return json_pack("{s:s, s:s, s:I}", "id", executor->hold.id, "kind", executor->hold.label,
                     "attempt", (json_int_t)executor->hold.attempt);
}

static json_int_t elapsed_ms(const struct executor *executor)
{
    return (json_int_t)((clock_monotonic_us() - executor->started_monotonic_us) / 1000);
}

/* Frees the job and tells the owner the executor is free. */
static void end_attempt(struct executor *executor, bool failed)
{
    queue_unhold(executor->queue, &executor->hold);
    free(executor->payload);
    executor->payload = NULL;
    executor->busy = false;
    executor->releasing = false;
    executor->finished(executor->owner, executor, failed);
}

static void on_failure_recorded(void *context, PGresult *result)
{
    struct executor *executor = context;
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    json_object_set_new(fields, "error", json_string(executor->error));
    if (result == NULL || !db_ok(result)) {
        /* The row stays running; its lease expires and it is claimed again. */
        log_event(LOG_ERROR, "job_failure_unrecorded", fields);
    } else if (PQntuples(result) == 0) {
        log_event(LOG_WARN, "job_lease_lost", fields);
    } else {
        bool dead = strcmp(db_text(result, 0, 0), "dead") == 0;
        if (!dead)
            json_object_set_new(fields, "retry_at", json_string(db_text(result, 0, 1)));
        log_event(dead ? LOG_ERROR : LOG_WARN, dead ? "job_dead" : "job_failed", fields);
    }
    end_attempt(executor, true);
}

/* Records the failed attempt (executor->error) on the control connection:
 * failed and retried after the backoff, or dead. */
static void record_failure(struct executor *executor)
{
    if (!queue_fail(executor->queue, &executor->hold, executor->error, on_failure_recorded,
                    executor))
        on_failure_recorded(executor, NULL);
}

static void on_released(void *context, PGresult *result)
{
    struct executor *executor = context;
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    bool released = result != NULL && db_ok(result) && PQntuples(result) == 1;
    log_event(LOG_WARN, released ? "job_released" : "job_release_failed", fields);
    end_attempt(executor, false);
}

/* Hands the interrupted attempt back: queued again, the attempt not counted,
 * the lease cleared (or dead if a job with the same key already waits). */
static void hand_back(struct executor *executor)
{
    struct db_params params;
    queue_held_params(executor->queue, &executor->hold, &params);
    db_param_instant(&params, clock_now_us());
    bool queued = pgloop_query(
        executor->queue->database,
        "UPDATE jobs q SET status = CASE WHEN " JOBS_SUPERSEDED " THEN 'dead' ELSE 'queued' END, "
        "       attempts = q.attempts - 1, run_at = $4, lease_expires_at = NULL, "
        "       last_error = 'interrupted by a worker shutdown' "
        " WHERE " QUEUE_HELD " AND q.status = 'running' "
        "RETURNING q.status",
        &params, on_released, executor);
    if (!queued)
        on_released(executor, NULL);
}

/* The attempt is over without success: roll back (when the session still
 * exists), then record it. */
static void on_rolled_back(void *context, PGresult *result)
{
    (void)result; /* a lost session rolled back by itself */
    struct executor *executor = context;
    if (executor->releasing)
        hand_back(executor);
    else
        record_failure(executor);
}

/* Keeps why the attempt failed: the server's primary message and SQLSTATE
 * (no "ERROR:" prefix, no context lines), or `message`. */
static void fail(struct executor *executor, const char *message, PGresult *result)
{
    const char *primary = result != NULL ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                                         : NULL;
    if (primary != NULL)
        message = primary;
    if (result != NULL && db_sqlstate(result)[0] != '\0') {
        char line[EXECUTOR_ERROR_SIZE - 16];
        first_line(message, line, sizeof line);
        snprintf(executor->error, sizeof executor->error, "%s (SQLSTATE %s)", line,
                 db_sqlstate(result));
    } else {
        first_line(message, executor->error, sizeof executor->error);
    }
    if (!pgloop_query(&executor->database, "ROLLBACK", NULL, on_rolled_back, executor))
        on_rolled_back(executor, NULL);
}

static void on_committed(void *context, PGresult *result)
{
    struct executor *executor = context;
    if (result == NULL || !db_ok(result)) {
        /* If the commit did happen, the failure's UPDATE finds no running row. */
        fail(executor, result != NULL ? PQresultErrorMessage(result)
                                      : "database connection lost at commit", result);
        return;
    }
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    log_event(LOG_INFO, "job_succeeded", fields);
    end_attempt(executor, false);
}

static void on_lease_lost_rolled_back(void *context, PGresult *result)
{
    (void)result;
    struct executor *executor = context;
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    log_event(LOG_WARN, "job_lease_lost", fields);
    end_attempt(executor, false);
}

static void on_marked_succeeded(void *context, PGresult *result)
{
    struct executor *executor = context;
    if (result == NULL || !db_ok(result)) {
        fail(executor, result != NULL ? PQresultErrorMessage(result)
                                      : "database connection lost", result);
        return;
    }
    bool held = PQntuples(result) == 1;
    if (!pgloop_query(&executor->database, held ? "COMMIT" : "ROLLBACK", NULL,
                      held ? on_committed : on_lease_lost_rolled_back, executor))
        fail(executor, "database connection lost", NULL);
}

static void on_work_done(void *context, PGresult *result)
{
    struct executor *executor = context;
    if (result == NULL || !db_ok(result) || executor->releasing) {
        fail(executor, result != NULL ? PQresultErrorMessage(result)
                                      : "database connection lost while the job ran", result);
        return;
    }
    /* In the job's transaction: the work and its end commit together. */
    if (!queue_complete(executor->queue, &executor->database, &executor->hold,
                        PQntuples(result) > 0 ? db_text(result, 0, 0) : NULL,
                        on_marked_succeeded, executor))
        fail(executor, "database connection lost", NULL);
}

static void on_begun(void *context, PGresult *result)
{
    struct executor *executor = context;
    if (result == NULL || !db_ok(result)) {
        fail(executor, result != NULL ? PQresultErrorMessage(result)
                                      : "database connection lost before the job ran", result);
        return;
    }
    const struct job_kind *kind = jobs_find(executor->hold.label);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, executor->payload);
    db_param_instant(&params, clock_now_us());
    if (!pgloop_query(&executor->database, kind->sql, &params, on_work_done, executor))
        fail(executor, "database connection lost before the job ran", NULL);
}

void executor_init(struct executor *executor, uv_loop_t *loop, const char *url,
                   struct pgloop_callbacks callbacks, struct queue *queue,
                   executor_finished finished, void *owner)
{
    executor->queue = queue;
    executor->finished = finished;
    executor->owner = owner;
    pgloop_init(&executor->database, loop, url, callbacks, executor);
}

void executor_start(struct executor *executor, const PGresult *claimed, int row)
{
    executor->busy = true;
    executor->releasing = false;
    queue_hold(executor->queue, &executor->hold, claimed, row);
    executor->started_monotonic_us = clock_monotonic_us();
    executor->error[0] = '\0';
    log_event(LOG_INFO, "job_started", job_fields(executor));
    const struct job_kind *kind = jobs_find(executor->hold.label);
    if (kind == NULL) {
        snprintf(executor->error, sizeof executor->error,
                 "unknown job kind \"%s\": no worker of this version runs it",
                 executor->hold.label);
        record_failure(executor);
        return;
    }
    executor->payload = jobs_effective_payload(kind, db_text(claimed, row, 3));
    if (executor->payload == NULL) {
        snprintf(executor->error, sizeof executor->error, "the payload is not a JSON object");
        record_failure(executor);
        return;
    }
    if (!pgloop_query(&executor->database, "BEGIN", NULL, on_begun, executor))
        fail(executor, "the execution connection is not ready", NULL);
}

void executor_release(struct executor *executor)
{
    if (!executor->busy || executor->releasing)
        return;
    executor->releasing = true;
    /* Cancel the statement, then drop the session: every query still
     * pending is answered with NULL, which leads to hand_back(). */
    pgloop_cancel(&executor->database);
    pgloop_close(&executor->database, NULL);
}
