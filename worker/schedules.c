/* Schedules: a worker fires one only by moving next_run_at forward with a
 * compare-and-set, in the same statement that queues its job, so two workers
 * never fire one slot and a fired slot always has its job.  The next slot is
 * computed from "now", so after downtime a schedule runs once to catch up,
 * not once per missed slot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "worker.h"

#define SECONDS_PER_DAY 86400LL
#define MICROSECONDS 1000000LL

int64_t schedules_next_daily(int64_t now_us, long long seconds_of_day)
{
    struct civil_date today = clock_local_date(now_us);
    int64_t local_midnight_us =
        (civil_to_days(today) * SECONDS_PER_DAY - CLOCK_LOCAL_OFFSET_SECONDS) * MICROSECONDS;
    int64_t slot = local_midnight_us + (int64_t)seconds_of_day * MICROSECONDS;
    return slot > now_us ? slot : slot + SECONDS_PER_DAY * MICROSECONDS;
}

/* "HH:MM:SS" (PostgreSQL's time output; a fraction is ignored). */
static bool parse_time_of_day(const char *text, long long *seconds)
{
    int hours, minutes, secs;
    if (text == NULL || sscanf(text, "%2d:%2d:%2d", &hours, &minutes, &secs) != 3)
        return false;
    *seconds = hours * 3600LL + minutes * 60LL + secs;
    return hours < 24 && minutes < 60 && secs < 60;
}

struct fire {
    struct worker *worker;
    void (*then)(struct worker *worker);
    char name[64];
};

static void fire_answered(struct worker *worker, void (*then)(struct worker *worker))
{
    if (--worker->schedules_pending == 0)
        then(worker);
}

static void on_fired(void *context, PGresult *result)
{
    struct fire *fire = context;
    if (result == NULL || !db_ok(result))
        log_event(LOG_WARN, "schedule_fire_failed",
                  json_pack("{s:s, s:s}", "schedule", fire->name, "reason",
                            result != NULL ? db_sqlstate(result) : "connection lost"));
    else if (PQntuples(result) == 1)
        log_event(LOG_INFO, "schedule_fired",
                  json_pack("{s:s, s:s}", "schedule", fire->name, "job_id",
                            db_text(result, 0, 0)));
    /* No row: another worker fired this slot first. */
    struct worker *worker = fire->worker;
    void (*then)(struct worker *) = fire->then;
    free(fire);
    fire_answered(worker, then);
}

/* Queues the compare-and-set for one due schedule row. */
static bool fire_one(struct worker *worker, PGresult *due, int row, int64_t now,
                     void (*then)(struct worker *worker))
{
    const char *name = db_text(due, row, 0);
    int64_t next;
    long long seconds_of_day;
    if (db_text(due, row, 2) != NULL) {
        next = now + db_integer(due, row, 2);
    } else if (parse_time_of_day(db_text(due, row, 3), &seconds_of_day)) {
        next = schedules_next_daily(now, seconds_of_day);
    } else {
        log_event(LOG_ERROR, "schedule_invalid", json_pack("{s:s}", "schedule", name));
        return false;
    }
    struct fire *fire = calloc(1, sizeof *fire);
    if (fire == NULL)
        return false;
    fire->worker = worker;
    fire->then = then;
    snprintf(fire->name, sizeof fire->name, "%s", name);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, name);
    db_param_instant(&params, next);
    db_param_instant(&params, now);
    db_param_text(&params, db_text(due, row, 1));
    bool queued = pgloop_query(
        &worker->control,
        "WITH fired AS (UPDATE schedules SET next_run_at = $2, last_run_at = $3 "
        "                WHERE name = $1 AND enabled "
        "                  AND next_run_at IS NOT DISTINCT FROM $4::timestamptz "
        "               RETURNING job_kind, payload) "
        "SELECT job_enqueue(job_kind, $1, payload, $3, $3)::text FROM fired",
        &params, on_fired, fire);
    if (!queued)
        free(fire);
    return queued;
}

struct due_read {
    struct worker *worker;
    void (*then)(struct worker *worker);
    int64_t now;
};

static void on_due(void *context, PGresult *result)
{
    struct due_read *read = context;
    struct worker *worker = read->worker;
    void (*then)(struct worker *) = read->then;
    int64_t now = read->now;
    free(read);
    /* One extra count while queueing, so `then` runs once, after all. */
    worker->schedules_pending = 1;
    int rows = result != NULL && db_ok(result) ? PQntuples(result) : 0;
    for (int row = 0; row < rows; row++)
        if (fire_one(worker, result, row, now, then))
            worker->schedules_pending++;
    fire_answered(worker, then);
}

void schedules_fire_due(struct worker *worker, void (*then)(struct worker *worker))
{
    struct due_read *read = malloc(sizeof *read);
    if (read == NULL) {
        then(worker);
        return;
    }
    *read = (struct due_read){worker, then, clock_now_us()};
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, read->now);
    /* next_run_at is read as text and compared back as text: exact to the
     * microsecond, whatever the client's float handling. */
    if (!pgloop_query(&worker->control,
                      "SELECT name, next_run_at::text, "
                      "       (extract(epoch FROM every) * 1000000)::bigint, daily_at::text "
                      "  FROM schedules "
                      " WHERE enabled AND (next_run_at IS NULL OR next_run_at <= $1) "
                      " ORDER BY name",
                      &params, on_due, read)) {
        free(read);
        then(worker);
    }
}
