#include "queue.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* ---- composing the statements ---------------------------------------------- */

/* An optional piece of a kind's SQL: NULL stands for nothing. */
static const char *piece(const char *sql)
{
    return sql != NULL ? sql : "";
}

/* Appends to a statement being composed; false once it no longer fits. */
static bool append(char *sql, size_t *used, const char *format, ...)
{
    if (*used >= QUEUE_SQL_SIZE)
        return false;
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(sql + *used, QUEUE_SQL_SIZE - *used, format, arguments);
    va_end(arguments);
    if (length < 0 || (size_t)length >= QUEUE_SQL_SIZE - *used) {
        *used = QUEUE_SQL_SIZE;
        return false;
    }
    *used += (size_t)length;
    return true;
}

/* Claim: $1 identity, $2 "now", $3 how many, $4 lease seconds.  Whether the
 * row's lease is free or expired is decided here, on the database's clock,
 * for every kind alike. */
static bool compose_claim(struct queue *queue)
{
    const struct queue_kind *kind = queue->kind;
    size_t used = 0;
    return append(queue->claim_sql, &used,
                  "WITH candidate AS ( "
                  "  SELECT q.id FROM %s q %s "
                  "   WHERE (%s) "
                  "     AND (q.lease_expires_at IS NULL "
                  "          OR q.lease_expires_at <= clock_timestamp()) "
                  "   ORDER BY %s LIMIT $3 FOR UPDATE OF q SKIP LOCKED) "
                  "UPDATE %s q SET leased_by = $1, attempts = q.attempts + 1, "
                  "       lease_expires_at = clock_timestamp() + $4 * interval '1 second'%s "
                  "  FROM candidate%s WHERE q.id = candidate.id %s "
                  "RETURNING q.id, q.attempts, %s%s",
                  kind->table, piece(piece(kind->join)), kind->due, kind->order, kind->table,
                  piece(piece(kind->claim_set)), piece(piece(kind->claim_from)), piece(piece(kind->claim_where)), kind->label,
                  piece(kind->returning));
}

/* Renewal: QUEUE_HELD, $4 lease seconds.  Done: QUEUE_HELD, $4 "now", $5
 * the result when the kind keeps one. */
static bool compose_renew_and_done(struct queue *queue)
{
    const struct queue_kind *kind = queue->kind;
    size_t used = 0;
    if (!append(queue->renew_sql, &used,
                "UPDATE %s q SET lease_expires_at = clock_timestamp() + $4 * interval '1 second' "
                " WHERE " QUEUE_HELD " %s RETURNING q.id",
                kind->table, piece(kind->held)))
        return false;
    used = 0;
    return append(queue->done_sql, &used,
                  "UPDATE %s q SET status = '%s', %s = $4, lease_expires_at = NULL, "
                  "       last_error = NULL",
                  kind->table, kind->done_status, kind->done_at_column) &&
           (kind->result_column == NULL ||
            append(queue->done_sql, &used, ", %s = $5::jsonb", kind->result_column)) &&
           (!kind->clear_holder || append(queue->done_sql, &used, ", leased_by = NULL")) &&
           append(queue->done_sql, &used, " WHERE " QUEUE_HELD " %s RETURNING q.id",
                  piece(kind->held));
}

/* The retry time: $5 ("now") + $6 microseconds of backoff. */
#define RETRY "($5::timestamptz + $6::float8 * interval '1 microsecond')"
/* The retry would come later than $7 seconds after the row was written. */
#define PAST_AGE "($7::float8 > 0 AND " RETRY " > q.created_at + $7::float8 * interval '1 second')"

/* Failure: QUEUE_HELD, $4 the error, $5 "now", $6 the backoff in
 * microseconds, $7 the age limit in seconds (0: none).  A row at a limit
 * is dead and keeps its retry time; one abandoned under its limits is dead
 * with a note. */
static bool compose_fail(struct queue *queue)
{
    const struct queue_kind *kind = queue->kind;
    char limits[512];
    if (kind->attempt_limit != NULL)
        snprintf(limits, sizeof limits, "(q.attempts >= %s OR " PAST_AGE ")",
                 kind->attempt_limit);
    else
        snprintf(limits, sizeof limits, "(" PAST_AGE ")");
    char *sql = queue->fail_sql;
    size_t used = 0;
    bool fits = append(sql, &used, "UPDATE %s q SET status = CASE WHEN %s", kind->table,
                       limits) &&
                (kind->abandon == NULL || append(sql, &used, " OR %s", kind->abandon)) &&
                append(sql, &used, " THEN 'dead' ELSE 'failed' END, last_error = $4");
    if (fits && kind->abandon != NULL)
        fits = append(sql, &used, " || CASE WHEN NOT %s AND %s THEN '%s' ELSE '' END", limits,
                      kind->abandon, kind->abandon_note);
    return fits &&
           append(sql, &used,
                  ", %s = CASE WHEN %s THEN q.%s ELSE " RETRY " END, lease_expires_at = NULL",
                  kind->retry_column, limits, kind->retry_column) &&
           (kind->finished_column == NULL ||
            append(sql, &used, ", %s = $5", kind->finished_column)) &&
           (!kind->clear_holder || append(sql, &used, ", leased_by = NULL")) &&
           append(sql, &used, " WHERE " QUEUE_HELD " %s RETURNING q.status, rfc3339(q.%s)",
                  piece(piece(kind->held)), kind->retry_column);
}

/* Bury: $1 "now" when the kind has a finished column. */
static bool compose_bury(struct queue *queue)
{
    const struct queue_kind *kind = queue->kind;
    queue->bury_sql[0] = '\0';
    if (kind->attempt_limit == NULL)
        return true;
    size_t used = 0;
    return append(queue->bury_sql, &used,
                  "UPDATE %s q SET status = 'dead', lease_expires_at = NULL, "
                  "       last_error = 'the worker running the last attempt stopped "
                  "answering (lease expired)'",
                  kind->table) &&
           (kind->finished_column == NULL ||
            append(queue->bury_sql, &used, ", %s = $1", kind->finished_column)) &&
           (!kind->clear_holder || append(queue->bury_sql, &used, ", leased_by = NULL")) &&
           append(queue->bury_sql, &used,
                  " WHERE q.lease_expires_at <= clock_timestamp() %s "
                  "   AND q.attempts >= %s "
                  "RETURNING q.id, q.attempts, %s, q.last_error",
                  piece(piece(kind->held)), kind->attempt_limit, kind->label);
}

bool queue_init(struct queue *queue, const struct queue_kind *kind,
                const struct queue_settings *settings, struct pgloop *database,
                const char *identity, uv_loop_t *loop)
{
    queue->kind = kind;
    queue->settings = *settings;
    queue->database = database;
    queue->identity = identity;
    queue->holds = NULL;
    queue->closed = NULL;
    if (!compose_claim(queue) || !compose_renew_and_done(queue) || !compose_fail(queue) ||
        !compose_bury(queue)) {
        log_message(LOG_ERROR, "the %s queue's statements do not fit", kind->name);
        return false;
    }
    uv_timer_init(loop, &queue->lease_timer);
    queue->lease_timer.data = queue;
    return true;
}

/* ---- holding and renewing ---------------------------------------------------- */

void queue_hold(struct queue *queue, struct queue_hold *hold, const PGresult *claimed, int row)
{
    snprintf(hold->id, sizeof hold->id, "%s", db_text(claimed, row, 0));
    hold->attempt = db_integer(claimed, row, 1);
    const char *label = db_text(claimed, row, 2);
    snprintf(hold->label, sizeof hold->label, "%s", label != NULL ? label : "");
    if (!hold->linked) {
        hold->next = queue->holds;
        queue->holds = hold;
        hold->linked = true;
    }
}

void queue_unhold(struct queue *queue, struct queue_hold *hold)
{
    if (!hold->linked)
        return;
    for (struct queue_hold **link = &queue->holds; *link != NULL; link = &(*link)->next) {
        if (*link == hold) {
            *link = hold->next;
            break;
        }
    }
    hold->linked = false;
    hold->next = NULL;
}

void queue_held_params(const struct queue *queue, const struct queue_hold *hold,
                       struct db_params *params)
{
    db_params_init(params);
    db_param_text(params, hold->id);
    db_param_text(params, queue->identity);
    db_param_integer(params, hold->attempt);
}

/* One renewal in flight.  It copies the row it renews instead of pointing
 * at the hold, because the hold's owner may free it before the answer. */
struct renewal {
    struct queue *queue;
    char id[QUEUE_ID_SIZE];
    long long attempt;
};

static void on_renewed(void *context, PGresult *result)
{
    struct renewal *renewal = context; /* owned: freed here */
    struct queue *queue = renewal->queue;
    if (result != NULL && db_ok(result) && PQntuples(result) == 0) {
        /* Logged only while the attempt still runs here. */
        for (struct queue_hold *hold = queue->holds; hold != NULL; hold = hold->next) {
            if (hold->attempt != renewal->attempt || strcmp(hold->id, renewal->id) != 0)
                continue;
            char event[64];
            snprintf(event, sizeof event, "%s_lease_not_renewed", queue->kind->name);
            log_event(LOG_WARN, event,
                      json_pack("{s:s, s:s, s:I}", "id", hold->id, "kind", hold->label,
                                "attempt", (json_int_t)hold->attempt));
            break;
        }
    }
    free(renewal);
}

static void on_lease_timer(uv_timer_t *timer)
{
    struct queue *queue = timer->data;
    for (struct queue_hold *hold = queue->holds; hold != NULL; hold = hold->next) {
        struct renewal *renewal = malloc(sizeof *renewal);
        if (renewal == NULL)
            return; /* the next tick tries again, well within the lease */
        renewal->queue = queue;
        snprintf(renewal->id, sizeof renewal->id, "%s", hold->id);
        renewal->attempt = hold->attempt;
        struct db_params params;
        queue_held_params(queue, hold, &params);
        db_param_integer(&params, queue->settings.lease_seconds);
        if (!pgloop_query(queue->database, queue->renew_sql, &params, on_renewed, renewal))
            free(renewal);
    }
}

void queue_start(struct queue *queue)
{
    uint64_t every_ms = (uint64_t)queue->settings.lease_seconds * 1000 / 3;
    uv_timer_start(&queue->lease_timer, on_lease_timer, every_ms, every_ms);
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct queue *queue = handle->data;
    if (queue->closed != NULL)
        queue->closed(queue);
}

void queue_close(struct queue *queue, void (*closed)(struct queue *queue))
{
    if (uv_is_closing((uv_handle_t *)&queue->lease_timer))
        return;
    queue->closed = closed;
    uv_timer_stop(&queue->lease_timer);
    uv_close((uv_handle_t *)&queue->lease_timer, on_timer_closed);
}

/* ---- claiming and ending attempts ------------------------------------------- */

bool queue_claim(struct queue *queue, long long limit, pgloop_done done, void *context)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, queue->identity);
    db_param_instant(&params, clock_now_us());
    db_param_integer(&params, limit);
    db_param_integer(&params, queue->settings.lease_seconds);
    return pgloop_query(queue->database, queue->claim_sql, &params, done, context);
}

bool queue_complete(struct queue *queue, struct pgloop *on, const struct queue_hold *hold,
                    const char *result, pgloop_done done, void *context)
{
    struct db_params params;
    queue_held_params(queue, hold, &params);
    db_param_instant(&params, clock_now_us());
    if (queue->kind->result_column != NULL)
        db_param_text(&params, result);
    return pgloop_query(on, queue->done_sql, &params, done, context);
}

bool queue_fail(struct queue *queue, const struct queue_hold *hold, const char *error,
                pgloop_done done, void *context)
{
    struct db_params params;
    queue_held_params(queue, hold, &params);
    db_param_text(&params, error);
    db_param_instant(&params, clock_now_us());
    db_param_integer(&params, queue_retry_delay_us(&queue->settings, hold->attempt));
    db_param_integer(&params, queue->settings.give_up_seconds);
    return pgloop_query(queue->database, queue->fail_sql, &params, done, context);
}

bool queue_bury(struct queue *queue, pgloop_done done, void *context)
{
    if (queue->bury_sql[0] == '\0')
        return false;
    struct db_params params;
    db_params_init(&params);
    if (queue->kind->finished_column != NULL)
        db_param_instant(&params, clock_now_us());
    return pgloop_query(queue->database, queue->bury_sql, &params, done, context);
}

int64_t queue_retry_delay_us(const struct queue_settings *settings, long long attempt)
{
    long long ceiling = settings->retry_base_seconds;
    for (long long i = 1; i < attempt && ceiling < settings->retry_max_seconds; i++)
        ceiling *= 2;
    if (ceiling > settings->retry_max_seconds)
        ceiling = settings->retry_max_seconds;
    /* Full jitter spreads the retries of many rows that failed together
     * (one receiver down, one database hiccup) over the whole window. */
    uint64_t ceiling_ms = (uint64_t)ceiling * 1000;
    uint64_t random = ((uint64_t)randombytes_random() << 32) | randombytes_random();
    return (int64_t)(random % (ceiling_ms + 1)) * 1000;
}
