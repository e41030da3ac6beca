/* The control connection's work: one "tick" at a time fires due schedules,
 * buries jobs whose last attempt's worker vanished, and claims due jobs for
 * free executors.  Ticks run on start-up, on NOTIFY 'job', after each job,
 * and every BAOVE_WORKER_POLL_SECONDS in case a notification was missed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "delivery.h"
#include "log.h"
#include "worker.h"

static void claim_next(struct worker *worker);

/* A free executor whose connection is up, or NULL. */
static struct executor *free_executor(struct worker *worker)
{
    for (long long i = 0; i < worker->settings.concurrency; i++) {
        struct executor *executor = &worker->executors[i];
        if (!executor->busy && pgloop_ready(&executor->database) &&
            pgloop_idle(&executor->database))
            return executor;
    }
    return NULL;
}

static bool all_idle_and_ready(struct worker *worker)
{
    for (long long i = 0; i < worker->settings.concurrency; i++)
        if (worker->executors[i].busy || !pgloop_ready(&worker->executors[i].database))
            return false;
    return true;
}

static void once_delivered(void *context)
{
    struct worker *worker = context;
    log_event(LOG_INFO, "drained", json_pack("{s:b}", "failures", worker->any_job_failed));
    worker_stop(worker);
}

/* --once: the queue holds nothing due and nothing runs here; what the jobs
 * wrote to the outbox (and anything else due now) is sent before exiting. */
static void once_done(struct worker *worker)
{
    if (worker->delivery != NULL) /* NULL once shut down */
        delivery_drain(worker->delivery, once_delivered, worker);
}

static void tick_finished(struct worker *worker, bool claimed_nothing)
{
    worker->tick_running = false;
    if (worker->stopping) {
        worker_stop(worker); /* a claim was in flight when the stop came */
        return;
    }
    if (worker->tick_again) {
        worker->tick_again = false;
        worker_tick(worker);
        return;
    }
    if (worker->settings.once && claimed_nothing && all_idle_and_ready(worker) &&
        pgloop_ready(&worker->control))
        once_done(worker);
}

static void on_claimed(void *context, PGresult *result)
{
    struct executor *executor = context;
    struct worker *worker = executor->worker;
    executor->busy = false; /* the reservation ends here, either way */
    if (result == NULL || !db_ok(result)) {
        /* 23505: another worker took a job with the same key at the same
         * moment (one running job per key); the next tick tries again. */
        if (result != NULL)
            log_event(LOG_DEBUG, "claim_failed",
                      json_pack("{s:s}", "sqlstate", db_sqlstate(result)));
        if (result != NULL && strcmp(db_sqlstate(result), "23505") == 0)
            worker->tick_again = true;
        tick_finished(worker, false);
        return;
    }
    if (PQntuples(result) == 0) {
        tick_finished(worker, true);
        return;
    }
    /* Even if its connection dropped meanwhile: the attempt then fails and
     * is retried like any other. */
    executor_start(executor, db_text(result, 0, 0), db_text(result, 0, 1),
                   db_text(result, 0, 2), db_integer(result, 0, 3));
    claim_next(worker);
}

/* Claims the oldest due job: queued, or failed and due for its retry, or
 * running under an expired lease (its worker died).  A waiting job whose key
 * has a running job is skipped (the partial unique index
 * jobs_one_running_per_key makes that hold under concurrency too). */
static void claim_next(struct worker *worker)
{
    struct executor *executor = worker->stopping ? NULL : free_executor(worker);
    if (executor == NULL) {
        tick_finished(worker, false);
        return;
    }
    executor->busy = true; /* reserved for the job this claim returns */
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, worker->identity);
    db_param_instant(&params, clock_now_us());
    db_param_integer(&params, worker->settings.lease_seconds);
    if (!pgloop_query(
            &worker->control,
            "WITH candidate AS ( "
            "  SELECT id FROM jobs j "
            "   WHERE ((status IN ('queued', 'failed') AND run_at <= $2 "
            "           AND (unique_key IS NULL OR NOT EXISTS ( "
            "                SELECT 1 FROM jobs r WHERE r.unique_key = j.unique_key "
            "                   AND r.status = 'running'))) "
            "       OR (status = 'running' AND lease_expires_at <= clock_timestamp() "
            "           AND attempts < max_attempts)) "
            "   ORDER BY run_at, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, leased_by = $1, "
            "       lease_expires_at = clock_timestamp() + $3 * interval '1 second', "
            "       started_at = $2, finished_at = NULL "
            "  FROM candidate WHERE jobs.id = candidate.id "
            "RETURNING jobs.id, jobs.kind, jobs.payload::text, jobs.attempts",
            &params, on_claimed, executor)) {
        executor->busy = false;
        tick_finished(worker, false);
    }
}

static void on_buried(void *context, PGresult *result)
{
    struct worker *worker = context;
    int rows = result != NULL && db_ok(result) ? PQntuples(result) : 0;
    for (int row = 0; row < rows; row++) {
        log_event(LOG_ERROR, "job_dead",
                  json_pack("{s:s, s:s, s:I, s:s}", "id", db_text(result, row, 0), "kind",
                            db_text(result, row, 1), "attempt",
                            (json_int_t)db_integer(result, row, 2), "error",
                            db_text(result, row, 3)));
        worker->any_job_failed = true;
    }
    claim_next(worker);
}

/* A job whose last allowed attempt lost its worker (lease expired) is dead:
 * running it again would exceed max_attempts. */
static void bury_abandoned(struct worker *worker)
{
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    if (!pgloop_query(&worker->control,
                      "UPDATE jobs SET status = 'dead', lease_expires_at = NULL, "
                      "       finished_at = $1, "
                      "       last_error = 'the worker running the last attempt stopped "
                      "answering (lease expired)' "
                      " WHERE status = 'running' AND lease_expires_at <= clock_timestamp() "
                      "   AND attempts >= max_attempts "
                      "RETURNING id, kind, attempts, last_error",
                      &params, on_buried, worker))
        tick_finished(worker, false);
}

void worker_tick(struct worker *worker)
{
    if (worker->stopping || !pgloop_ready(&worker->control))
        return;
    if (worker->tick_running) {
        worker->tick_again = true;
        return;
    }
    worker->tick_running = true;
    schedules_fire_due(worker, bury_abandoned);
}

void worker_job_finished(struct worker *worker)
{
    if (worker->stopping) {
        worker_stop(worker); /* finishes the shutdown once nothing runs */
        return;
    }
    worker_tick(worker);
}

static void on_poll_timer(uv_timer_t *timer)
{
    worker_tick(timer->data);
}

static void on_lease_timer(uv_timer_t *timer)
{
    struct worker *worker = timer->data;
    for (long long i = 0; i < worker->settings.concurrency; i++)
        executor_renew_lease(&worker->executors[i]);
}

static void on_enqueued(void *context, PGresult *result)
{
    const char *kind = context;
    if (result == NULL || !db_ok(result))
        log_event(LOG_WARN, "enqueue_failed", json_pack("{s:s}", "kind", kind));
}

/* The debounce ran out: queue the kinds that follow data changes. */
static void on_debounce_timer(uv_timer_t *timer)
{
    struct worker *worker = timer->data;
    struct db_params params;
    for (size_t i = 0; jobs_on_change[i] != NULL; i++) {
        db_params_init(&params);
        db_param_text(&params, jobs_on_change[i]);
        db_param_instant(&params, clock_now_us());
        if (!pgloop_query(&worker->control, "SELECT job_enqueue($1, $1, '{}', $2, $2)",
                          &params, on_enqueued, (void *)jobs_on_change[i]))
            log_event(LOG_WARN, "enqueue_failed", json_pack("{s:s}", "kind", jobs_on_change[i]));
    }
}

void worker_notified(struct worker *worker, const char *payload)
{
    if (worker->stopping)
        return;
    if (strcmp(payload, "changed") == 0) {
        /* The first change starts the wait; later ones ride along, so a
         * burst of writes costs one job, at most debounce seconds late. */
        if (!uv_is_active((uv_handle_t *)&worker->debounce_timer))
            uv_timer_start(&worker->debounce_timer, on_debounce_timer,
                           (uint64_t)worker->settings.debounce_seconds * 1000, 0);
        return;
    }
    worker_tick(worker); /* 'job' and anything else: look for work */
}

void worker_start_timers(struct worker *worker)
{
    uint64_t poll_ms = (uint64_t)worker->settings.poll_seconds * 1000;
    uint64_t lease_ms = (uint64_t)worker->settings.lease_seconds * 1000 / 3;
    uv_timer_start(&worker->poll_timer, on_poll_timer, poll_ms, poll_ms);
    uv_timer_start(&worker->lease_timer, on_lease_timer, lease_ms, lease_ms);
}

static void on_grace_timer(uv_timer_t *timer)
{
    struct worker *worker = timer->data;
    log_event(LOG_WARN, "stop_grace_expired", NULL);
    for (long long i = 0; i < worker->settings.concurrency; i++)
        executor_release(&worker->executors[i]);
}

static bool any_busy(struct worker *worker)
{
    for (long long i = 0; i < worker->settings.concurrency; i++)
        if (worker->executors[i].busy)
            return true;
    return false;
}

static void close_handle(uv_handle_t *handle)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

/* Stops claiming; once no job runs here, closes every handle so uv_run()
 * returns.  Called again as running jobs finish. */
void worker_stop(struct worker *worker)
{
    if (!worker->stopping) {
        worker->stopping = true;
        uv_timer_stop(&worker->poll_timer);
        uv_timer_stop(&worker->debounce_timer);
        if (any_busy(worker))
            uv_timer_start(&worker->grace_timer, on_grace_timer,
                           (uint64_t)worker->settings.stop_grace_seconds * 1000, 0);
    }
    if (any_busy(worker) || worker->shut_down)
        return;
    worker->shut_down = true;
    delivery_stop(worker->delivery);
    worker->delivery = NULL;
    pgloop_close(&worker->control, NULL);
    for (long long i = 0; i < worker->settings.concurrency; i++)
        pgloop_close(&worker->executors[i].database, NULL);
    close_handle((uv_handle_t *)&worker->poll_timer);
    close_handle((uv_handle_t *)&worker->lease_timer);
    close_handle((uv_handle_t *)&worker->debounce_timer);
    close_handle((uv_handle_t *)&worker->grace_timer);
    close_handle((uv_handle_t *)&worker->once_timer);
    close_handle((uv_handle_t *)&worker->terminate);
    close_handle((uv_handle_t *)&worker->interrupt);
}
