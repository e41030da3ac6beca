/* Runs one job on its executor's own connection, inside one transaction:
 *
 *   BEGIN
 *   SELECT <function>(payload, now)               -- the work
 *   UPDATE jobs SET status = 'succeeded' …
 *    WHERE id = … AND leased_by = <me> AND attempts = <this attempt>
 *      AND status = 'running'
 *   COMMIT, or ROLLBACK when that UPDATE matched nothing
 *
 * If the lease was lost (this worker stalled, another one reclaimed the job),
 * the UPDATE matches no row and the work is rolled back: it takes effect
 * exactly once.  A failed attempt is rolled back and recorded on the control
 * connection (failed with a retry time, or dead), under the same condition. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "worker.h"

static void first_line(const char *message, char *out, size_t size)
{
    snprintf(out, size, "%s", message != NULL && message[0] ? message : "unknown error");
    out[strcspn(out, "\n")] = '\0';
}

static json_t *job_fields(const struct executor *executor)
{
    return json_pack("{s:s, s:s, s:I}", "id", executor->id, "kind", executor->kind, "attempt",
                     (json_int_t)executor->attempt);
}

static json_int_t elapsed_ms(const struct executor *executor)
{
    return (json_int_t)((clock_monotonic_us() - executor->started_monotonic_us) / 1000);
}

/* Frees the job and tells the worker the executor is free. */
static void finished(struct executor *executor)
{
    free(executor->payload);
    executor->payload = NULL;
    executor->busy = false;
    executor->releasing = false;
    worker_job_finished(executor->worker);
}

/* The job's identity as the first three parameters of every statement that
 * changes its row: only this attempt, still running under this lease. */
static void job_params(const struct executor *executor, struct db_params *params)
{
    db_params_init(params);
    db_param_text(params, executor->id);
    db_param_text(params, executor->worker->identity);
    db_param_integer(params, executor->attempt);
}

/* Full jitter: a uniform delay in [0, min(cap, base·2^(attempt-1))]. */
static int64_t retry_delay_us(const struct worker_settings *settings, long long attempt)
{
    long long ceiling = settings->retry_base_seconds;
    for (long long i = 1; i < attempt && ceiling < settings->retry_max_seconds; i++)
        ceiling *= 2;
    if (ceiling > settings->retry_max_seconds)
        ceiling = settings->retry_max_seconds;
    uint64_t ceiling_ms = (uint64_t)ceiling * 1000;
    uint64_t random = ((uint64_t)randombytes_random() << 32) | randombytes_random();
    return (int64_t)(random % (ceiling_ms + 1)) * 1000;
}

/* A waiting job with the same key will do this work, so a failed attempt is
 * not retried (its retry could not wait beside it: one waiting job per key). */
#define SUPERSEDED "EXISTS (SELECT 1 FROM jobs w WHERE w.unique_key = jobs.unique_key " \
                   "AND w.status IN ('queued', 'failed') AND w.id <> jobs.id)"

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
    executor->worker->any_job_failed = true;
    finished(executor);
}

/* Records the failed attempt (executor->error) on the control connection. */
static void record_failure(struct executor *executor)
{
    struct db_params params;
    job_params(executor, &params);
    int64_t now = clock_now_us();
    db_param_text(&params, executor->error);
    db_param_instant(&params, now);
    db_param_instant(&params, now + retry_delay_us(&executor->worker->settings,
                                                   executor->attempt));
    bool queued = pgloop_query(
        &executor->worker->control,
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts OR " SUPERSEDED
        "                              THEN 'dead' ELSE 'failed' END, "
        "       last_error = $4 || CASE WHEN attempts < max_attempts AND " SUPERSEDED
        "                               THEN ' (not retried: a job with the same key is "
        "waiting)' ELSE '' END, "
        "       run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE $6 END, "
        "       finished_at = $5, lease_expires_at = NULL "
        " WHERE id = $1::uuid AND leased_by = $2 AND attempts = $3 AND status = 'running' "
        "RETURNING status, run_at::text",
        &params, on_failure_recorded, executor);
    if (!queued)
        on_failure_recorded(executor, NULL);
}

static void on_released(void *context, PGresult *result)
{
    struct executor *executor = context;
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    bool released = result != NULL && db_ok(result) && PQntuples(result) == 1;
    log_event(LOG_WARN, released ? "job_released" : "job_release_failed", fields);
    finished(executor);
}

/* Hands the interrupted attempt back: queued again, the attempt not counted,
 * the lease cleared (or dead if a job with the same key already waits). */
static void hand_back(struct executor *executor)
{
    struct db_params params;
    job_params(executor, &params);
    db_param_instant(&params, clock_now_us());
    bool queued = pgloop_query(
        &executor->worker->control,
        "UPDATE jobs SET status = CASE WHEN " SUPERSEDED " THEN 'dead' ELSE 'queued' END, "
        "       attempts = attempts - 1, run_at = $4, lease_expires_at = NULL, "
        "       last_error = 'interrupted by a worker shutdown' "
        " WHERE id = $1::uuid AND leased_by = $2 AND attempts = $3 AND status = 'running' "
        "RETURNING status",
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

static void fail(struct executor *executor, const char *message, PGresult *result)
{
    if (result != NULL && db_sqlstate(result)[0] != '\0') {
        char line[WORKER_ERROR_SIZE - 16];
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
    finished(executor);
}

static void on_lease_lost_rolled_back(void *context, PGresult *result)
{
    (void)result;
    struct executor *executor = context;
    json_t *fields = job_fields(executor);
    json_object_set_new(fields, "duration_ms", json_integer(elapsed_ms(executor)));
    log_event(LOG_WARN, "job_lease_lost", fields);
    finished(executor);
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
    struct db_params params;
    job_params(executor, &params);
    db_param_text(&params, PQntuples(result) > 0 ? db_text(result, 0, 0) : NULL);
    db_param_instant(&params, clock_now_us());
    if (!pgloop_query(&executor->database,
                      "UPDATE jobs SET status = 'succeeded', result = $4::jsonb, "
                      "       finished_at = $5, lease_expires_at = NULL, last_error = NULL "
                      " WHERE id = $1::uuid AND leased_by = $2 AND attempts = $3 "
                      "   AND status = 'running' RETURNING id",
                      &params, on_marked_succeeded, executor))
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
    const struct job_kind *kind = jobs_find(executor->kind);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, executor->payload);
    db_param_instant(&params, clock_now_us());
    if (!pgloop_query(&executor->database, kind->sql, &params, on_work_done, executor))
        fail(executor, "database connection lost before the job ran", NULL);
}

void executor_start(struct executor *executor, const char *id, const char *kind_name,
                    const char *payload, long long attempt)
{
    executor->busy = true;
    executor->releasing = false;
    snprintf(executor->id, sizeof executor->id, "%s", id);
    snprintf(executor->kind, sizeof executor->kind, "%s", kind_name);
    executor->attempt = attempt;
    executor->started_monotonic_us = clock_monotonic_us();
    executor->error[0] = '\0';
    log_event(LOG_INFO, "job_started", job_fields(executor));
    const struct job_kind *kind = jobs_find(kind_name);
    if (kind == NULL) {
        snprintf(executor->error, sizeof executor->error,
                 "unknown job kind \"%s\": no worker of this version runs it", kind_name);
        record_failure(executor);
        return;
    }
    executor->payload = jobs_effective_payload(kind, payload);
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

static void on_lease_renewed(void *context, PGresult *result)
{
    struct executor *executor = context;
    if (result != NULL && db_ok(result) && PQntuples(result) == 0 && executor->busy)
        log_event(LOG_WARN, "job_lease_not_renewed", job_fields(executor));
}

void executor_renew_lease(struct executor *executor)
{
    if (!executor->busy)
        return;
    struct db_params params;
    job_params(executor, &params);
    db_param_integer(&params, executor->worker->settings.lease_seconds);
    pgloop_query(&executor->worker->control,
                 "UPDATE jobs SET lease_expires_at = clock_timestamp() + $4 * interval '1 second' "
                 " WHERE id = $1::uuid AND leased_by = $2 AND attempts = $3 "
                 "   AND status = 'running' RETURNING id",
                 &params, on_lease_renewed, executor);
}
