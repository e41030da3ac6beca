/* The control connection's work: one "tick" at a time fires due schedules,
 * buries jobs whose last attempt's worker vanished, and claims due jobs for
 * free executors.  Ticks run on start-up, on NOTIFY 'job', after each job,
 * and every BAOVE_WORKER_POLL_SECONDS in case a notification was missed.
 * That poll also reads the change log's position: writes are noticed there,
 * not by a NOTIFY from each writer (change_log_position.sql says why). */
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
    struct worker *worker = executor->owner;
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
    executor_start(executor, result, 0);
    claim_next(worker);
}

/* Claims the oldest due job for a free executor (jobs_queue_kind says
 * which are due), one at a time: each claim reserves its executor. */
static void claim_next(struct worker *worker)
{
    struct executor *executor = worker->stopping ? NULL : free_executor(worker);
    if (executor == NULL) {
        tick_finished(worker, false);
        return;
    }
    executor->busy = true; /* reserved for the job this claim returns */
    if (!queue_claim(&worker->jobs, 1, on_claimed, executor)) {
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
                            db_text(result, row, 2), "attempt",
                            (json_int_t)db_integer(result, row, 1), "error",
                            db_text(result, row, 3)));
        worker->any_job_failed = true;
    }
    claim_next(worker);
}

/* A job whose last allowed attempt lost its worker (lease expired) is dead:
 * running it again would exceed max_attempts. */
static void bury_abandoned(struct worker *worker)
{
    if (!queue_bury(&worker->jobs, on_buried, worker))
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

void worker_job_finished(void *owner, struct executor *executor, bool failed)
{
    (void)executor;
    struct worker *worker = owner;
    if (failed)
        worker->any_job_failed = true;
    if (worker->stopping) {
        worker_stop(worker); /* finishes the shutdown once nothing runs */
        return;
    }
    worker_tick(worker);
}

static void data_changed(struct worker *worker);

/* The change log's position: past the last poll's, records were written
 * since.  The first reading (when the control connection is ready) only
 * takes note: the schedules' rollups cover what came before. */
static void on_change_position(void *context, PGresult *result)
{
    struct worker *worker = context;
    if (result == NULL || !db_ok(result) || PQntuples(result) != 1)
        return; /* the next poll asks again */
    long long position = db_integer(result, 0, 0);
    if (worker->change_position >= 0 && position > worker->change_position)
        data_changed(worker);
    worker->change_position = position;
}

void worker_poll(struct worker *worker)
{
    worker_tick(worker);
    if (!worker->stopping && pgloop_ready(&worker->control) &&
        !pgloop_query(&worker->control, "SELECT change_log_position()", NULL,
                      on_change_position, worker))
        log_event(LOG_WARN, "change_position_failed", NULL);
}

static void on_poll_timer(uv_timer_t *timer)
{
    worker_poll(timer->data);
}

static void on_enqueued(void *context, PGresult *result)
{
    const char *kind = context;
    if (result == NULL || !db_ok(result))
        log_event(LOG_WARN, "enqueue_failed", json_pack("{s:s}", "kind", kind));
}

/* The debounce ran out: queue the kinds that follow data changes, spaced
 * by job_enqueue_after_change() (BAOVE_WORKER_CHANGE_INTERVAL_SECONDS,
 * BAOVE_WORKER_CHANGE_BUSY_PERCENT) so that writers do not pay for them. */
static void on_debounce_timer(uv_timer_t *timer)
{
    struct worker *worker = timer->data;
    struct db_params params;
    for (size_t i = 0; jobs_on_change[i] != NULL; i++) {
        db_params_init(&params);
        db_param_text(&params, jobs_on_change[i]);
        db_param_instant(&params, clock_now_us());
        db_param_integer(&params, worker->settings.change_interval_seconds);
        db_param_integer(&params, worker->settings.change_busy_percent);
        if (!pgloop_query(&worker->control, "SELECT job_enqueue_after_change($1, $2, $3, $4)",
                          &params, on_enqueued, (void *)jobs_on_change[i]))
            log_event(LOG_WARN, "enqueue_failed", json_pack("{s:s}", "kind", jobs_on_change[i]));
    }
}

/* Records were written: the first change starts the wait; later ones ride
 * along, so a burst of writes costs one job, at most debounce seconds late. */
static void data_changed(struct worker *worker)
{
    if (!worker->stopping && !uv_is_active((uv_handle_t *)&worker->debounce_timer))
        uv_timer_start(&worker->debounce_timer, on_debounce_timer,
                       (uint64_t)worker->settings.debounce_seconds * 1000, 0);
}

void worker_notified(struct worker *worker, const char *payload)
{
    (void)payload; /* 'job', 'notification': look for work */
    if (!worker->stopping)
        worker_tick(worker);
}

void worker_start_timers(struct worker *worker)
{
    uint64_t poll_ms = (uint64_t)worker->settings.poll_seconds * 1000;
    uv_timer_start(&worker->poll_timer, on_poll_timer, poll_ms, poll_ms);
    queue_start(&worker->jobs); /* renews the running jobs' leases */
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
    queue_close(&worker->jobs, NULL);
    close_handle((uv_handle_t *)&worker->poll_timer);
    close_handle((uv_handle_t *)&worker->debounce_timer);
    close_handle((uv_handle_t *)&worker->grace_timer);
    close_handle((uv_handle_t *)&worker->once_timer);
    close_handle((uv_handle_t *)&worker->terminate);
    close_handle((uv_handle_t *)&worker->interrupt);
}
