/* The worker's shared state: one control connection and its timers, and a
 * fixed set of executors, each with its own execution connection.
 *
 * Control connection (LISTEN, schedules, claims, lease renewals, recording
 * failures): its statements are short, so a lease is always renewed in
 * time.  Execution connection: runs one job's transaction (BEGIN, the job's
 * function, UPDATE … succeeded, COMMIT), which may take long.
 *
 * Time: business time ("now": run_at, created_at, schedules, the job's $2)
 * is clock_now_us(), so BAOVE_NOW.  Leases measure whether a worker is alive
 * and are compared between processes, so they run on the database's clock
 * (clock_timestamp()): with BAOVE_NOW frozen, leases still expire. */
#ifndef BAOVE_WORKER_H
#define BAOVE_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "executor.h"
#include "jobs.h"
#include "pgloop.h"
#include "queue.h"

struct worker_settings {
    struct queue_settings jobs;     /* BAOVE_JOB_LEASE_SECONDS 60,
                                       BAOVE_JOB_RETRY_BASE_SECONDS 10,
                                       BAOVE_JOB_RETRY_MAX_SECONDS 3600; no age limit */
    struct queue_settings delivery; /* BAOVE_DELIVERY_LEASE_SECONDS 60,
                                       BAOVE_DELIVERY_RETRY_BASE_SECONDS 30,
                                       BAOVE_DELIVERY_RETRY_MAX_SECONDS 21600,
                                       BAOVE_DELIVERY_GIVE_UP 3d */
    long long poll_seconds;         /* BAOVE_WORKER_POLL_SECONDS, 5 */
    long long debounce_seconds;     /* BAOVE_WORKER_DEBOUNCE_SECONDS, 5 */
    long long change_interval_seconds; /* BAOVE_WORKER_CHANGE_INTERVAL_SECONDS, 60 */
    long long change_busy_percent;  /* BAOVE_WORKER_CHANGE_BUSY_PERCENT, 10 */
    long long stop_grace_seconds;   /* BAOVE_WORKER_STOP_GRACE_SECONDS, 30 */
    long long concurrency;          /* BAOVE_WORKER_CONCURRENCY, 1 */
    long long once_deadline_seconds; /* BAOVE_WORKER_ONCE_DEADLINE_SECONDS, 3600 */
    bool once;                      /* --once */
};

struct worker {
    uv_loop_t *loop;
    const char *url;
    struct worker_settings settings;
    char identity[128];             /* leased_by: host, pid and a random tag */
    struct pgloop control;
    struct queue jobs;              /* the jobs table, on the control connection */
    struct executor *executors;     /* owned, settings.concurrency of them */
    uv_timer_t poll_timer, debounce_timer, grace_timer;
    uv_timer_t once_timer;          /* --once: gives up when the run cannot finish */
    uv_signal_t terminate, interrupt;
    bool stopping;
    bool shut_down;
    bool tick_running, tick_again;
    /* change_log_position() at the last poll, -1 before the first: a larger
     * one means records were written since (control.c). */
    long long change_position;
    int schedules_pending;          /* schedule fires awaiting their answer */
    bool any_job_failed;            /* --once exit status */
    struct delivery *delivery;      /* owned: the notification outbox (delivery.c) */
};

/* control.c */
void worker_tick(struct worker *worker);
/* A tick, then a look at the change log's position (writes since the last
 * look queue the rollup, debounced): on connecting and every poll. */
void worker_poll(struct worker *worker);
void worker_start_timers(struct worker *worker);
void worker_notified(struct worker *worker, const char *payload);
void worker_stop(struct worker *worker);
/* The executors' `finished` callback (executor.h); owner is the worker. */
void worker_job_finished(void *owner, struct executor *executor, bool failed);

/* schedules.c: fires every due schedule, then calls `then`. */
void schedules_fire_due(struct worker *worker, void (*then)(struct worker *worker));
/* The next slot of a daily schedule at local time `seconds_of_day` strictly
 * after `now_us` (Asia/Ho_Chi_Minh). */
int64_t schedules_next_daily(int64_t now_us, long long seconds_of_day);

#endif
