#include "pgloop.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

#define BACKOFF_INITIAL_MS 250
#define BACKOFF_MAX_MS 30000

/* A statement waiting to be sent, or in flight (the queue's head). */
struct pgloop_query {
    struct pgloop_query *next;
    char *sql;
    int count;
    char *values[DB_MAX_PARAMS]; /* owned copies; NULL is SQL NULL */
    pgloop_done done;
    void *context;
};

static void on_socket(uv_poll_t *poll, int status, int events);
static void connect_now(struct pgloop *pgloop);
static void retry_later(struct pgloop *pgloop, const char *reason);

static void query_free(struct pgloop_query *query)
{
    for (int i = 0; i < query->count; i++)
        free(query->values[i]);
    free(query->sql);
    free(query);
}

/* Removes the head of the queue and answers it with `result`. */
static void answer_head(struct pgloop *pgloop, PGresult *result)
{
    struct pgloop_query *query = pgloop->queue_head;
    pgloop->queue_head = query->next;
    if (pgloop->queue_head == NULL)
        pgloop->queue_tail = NULL;
    pgloop->sent = false;
    query->done(query->context, result);
    query_free(query);
}

/* Answers every queued and running query with NULL: the session is gone.
 * The state has already left PGLOOP_READY, so `done` cannot queue more. */
static void fail_queries(struct pgloop *pgloop)
{
    PQclear(pgloop->pending_result);
    pgloop->pending_result = NULL;
    while (pgloop->queue_head != NULL)
        answer_head(pgloop, NULL);
}

void pgloop_init(struct pgloop *pgloop, uv_loop_t *loop, const char *url,
                 struct pgloop_callbacks callbacks, void *data)
{
    memset(pgloop, 0, sizeof *pgloop);
    pgloop->loop = loop;
    pgloop->url = url;
    pgloop->callbacks = callbacks;
    pgloop->data = data;
    pgloop->backoff_ms = BACKOFF_INITIAL_MS;
    pgloop->state = PGLOOP_WAITING;
    uv_timer_init(loop, &pgloop->retry_timer);
    pgloop->retry_timer.data = pgloop;
    pgloop->handles_open = 1;
}

static void handle_closed(uv_handle_t *handle)
{
    struct pgloop *pgloop = handle->data;
    if (--pgloop->handles_open == 0 && pgloop->closed != NULL)
        pgloop->closed(pgloop);
}

static void poll_closed(uv_handle_t *handle)
{
    handle_closed(handle);
    free(handle);
}

/* Stops watching the socket (its descriptor is about to change or close).
 * Poll handles are allocated per socket because a closing handle may not be
 * reused until libuv has called its close callback. */
static void stop_polling(struct pgloop *pgloop)
{
    if (pgloop->poll == NULL)
        return;
    uv_close((uv_handle_t *)pgloop->poll, poll_closed);
    pgloop->poll = NULL;
}

/* Watches the connection's current socket for `events`.  A poll handle is
 * tied to one descriptor, and libpq may open a new one while connecting. */
static void watch(struct pgloop *pgloop, int events)
{
    int socket = PQsocket(pgloop->connection);
    if (pgloop->poll != NULL && pgloop->polled_socket != socket)
        stop_polling(pgloop);
    if (pgloop->poll == NULL) {
        uv_poll_t *poll = malloc(sizeof *poll);
        if (poll == NULL || socket < 0 || uv_poll_init(pgloop->loop, poll, socket) != 0) {
            free(poll);
            retry_later(pgloop, "cannot watch the database socket");
            return;
        }
        poll->data = pgloop;
        pgloop->poll = poll;
        pgloop->polled_socket = socket;
        pgloop->handles_open++;
    }
    uv_poll_start(pgloop->poll, events, on_socket);
}

static void on_retry_timer(uv_timer_t *timer)
{
    connect_now(timer->data);
}

/* Drops the connection and schedules the next attempt with jittered backoff. */
static void retry_later(struct pgloop *pgloop, const char *reason)
{
    bool was_ready = pgloop->state == PGLOOP_READY;
    stop_polling(pgloop);
    PQfinish(pgloop->connection);
    pgloop->connection = NULL;
    pgloop->state = PGLOOP_WAITING;
    fail_queries(pgloop);
    if (pgloop->state == PGLOOP_CLOSED)
        return; /* a `done` closed the pgloop */
    /* Full jitter keeps several workers from reconnecting in lockstep. */
    unsigned delay = pgloop->backoff_ms / 2 + randombytes_uniform(pgloop->backoff_ms / 2 + 1);
    log_event(LOG_WARN, "database_retry",
              json_pack("{s:s, s:i}", "reason", reason, "retry_in_ms", (int)delay));
    if (pgloop->backoff_ms < BACKOFF_MAX_MS)
        pgloop->backoff_ms = pgloop->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                                     : pgloop->backoff_ms * 2;
    uv_timer_start(&pgloop->retry_timer, on_retry_timer, delay, 0);
    if (was_ready && pgloop->callbacks.lost != NULL)
        pgloop->callbacks.lost(pgloop, reason);
}

static void first_line(const char *message, char *out, size_t size)
{
    snprintf(out, size, "%s", message != NULL ? message : "");
    out[strcspn(out, "\n")] = '\0';
}

static void connect_now(struct pgloop *pgloop)
{
    const char *keywords[] = {"dbname", "application_name", NULL};
    const char *values[] = {pgloop->url,
                            pgloop->callbacks.notified != NULL ? "baove-worker"
                                                               : "baove-worker-job",
                            NULL};
    pgloop->connection = PQconnectStartParams(keywords, values, 1);
    if (pgloop->connection == NULL || PQstatus(pgloop->connection) == CONNECTION_BAD) {
        char reason[256];
        first_line(pgloop->connection ? PQerrorMessage(pgloop->connection) : "out of memory",
                   reason, sizeof reason);
        retry_later(pgloop, reason);
        return;
    }
    PQsetnonblocking(pgloop->connection, 1);
    db_log_notices(pgloop->connection);
    pgloop->state = PGLOOP_CONNECTING;
    watch(pgloop, UV_WRITABLE);
}

static void send_listen(struct pgloop *pgloop)
{
    const char *setup = pgloop->callbacks.notified != NULL
                            ? "SET TIME ZONE 'UTC'; LISTEN " PGLOOP_WAKEUP_CHANNEL
                            : "SET TIME ZONE 'UTC'";
    if (!PQsendQuery(pgloop->connection, setup)) {
        char reason[256];
        first_line(PQerrorMessage(pgloop->connection), reason, sizeof reason);
        retry_later(pgloop, reason);
        return;
    }
    pgloop->state = PGLOOP_LISTENING;
    watch(pgloop, UV_READABLE | UV_WRITABLE);
}

static void advance_connect(struct pgloop *pgloop)
{
    switch (PQconnectPoll(pgloop->connection)) {
    case PGRES_POLLING_READING:
        watch(pgloop, UV_READABLE);
        return;
    case PGRES_POLLING_WRITING:
        watch(pgloop, UV_WRITABLE);
        return;
    case PGRES_POLLING_OK:
        send_listen(pgloop);
        return;
    default: {
        char reason[256];
        first_line(PQerrorMessage(pgloop->connection), reason, sizeof reason);
        retry_later(pgloop, reason);
        return;
    }
    }
}

/* Sends the next queued statement when none is in flight, and watches for
 * writability only while libpq has output left to flush.  Returns false
 * when the connection is gone. */
static bool send_queued(struct pgloop *pgloop)
{
    if (!pgloop->sent && pgloop->queue_head != NULL) {
        struct pgloop_query *query = pgloop->queue_head;
        if (!PQsendQueryParams(pgloop->connection, query->sql, query->count, NULL,
                               (const char *const *)query->values, NULL, NULL, 0))
            return false;
        pgloop->sent = true;
    }
    int flushed = PQflush(pgloop->connection);
    if (flushed < 0)
        return false;
    watch(pgloop, flushed == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return true;
}

/* Collects the in-flight statement's results; when the last one is in,
 * answers it.  Keeps the first error when a statement yields several
 * results.  Returns false when the connection is gone or was closed. */
static bool collect_results(struct pgloop *pgloop)
{
    while (pgloop->sent && !PQisBusy(pgloop->connection)) {
        PGresult *result = PQgetResult(pgloop->connection);
        if (result != NULL) {
            if (pgloop->pending_result == NULL ||
                (db_ok(pgloop->pending_result) && !db_ok(result))) {
                PQclear(pgloop->pending_result);
                pgloop->pending_result = result;
            } else {
                PQclear(result);
            }
            continue;
        }
        PGresult *complete = pgloop->pending_result;
        pgloop->pending_result = NULL;
        answer_head(pgloop, complete);
        PQclear(complete);
        if (pgloop->state != PGLOOP_READY)
            return false; /* `done` closed the pgloop */
    }
    return true;
}

/* Reads the setup's results while it is pending. */
static bool finish_setup(struct pgloop *pgloop)
{
    if (PQflush(pgloop->connection) < 0)
        return false;
    bool failed = false;
    while (!PQisBusy(pgloop->connection)) {
        PGresult *result = PQgetResult(pgloop->connection);
        if (result == NULL) {
            if (failed)
                return false;
            pgloop->state = PGLOOP_READY;
            pgloop->backoff_ms = BACKOFF_INITIAL_MS;
            watch(pgloop, UV_READABLE);
            log_event(LOG_INFO, "database_ready",
                      json_pack("{s:b}", "listening", pgloop->callbacks.notified != NULL));
            if (pgloop->callbacks.ready != NULL)
                pgloop->callbacks.ready(pgloop);
            return true;
        }
        failed |= PQresultStatus(result) != PGRES_COMMAND_OK;
        PQclear(result);
    }
    return true;
}

/* Reads what the server sent: the setup's results, then query results and
 * notifications.  Returns false when the connection is gone (or the pgloop
 * was closed by a callback: check the state). */
static bool consume(struct pgloop *pgloop)
{
    if (!PQconsumeInput(pgloop->connection))
        return false;
    if (pgloop->state == PGLOOP_LISTENING) {
        if (!finish_setup(pgloop))
            return false;
        if (pgloop->state != PGLOOP_READY)
            return pgloop->state == PGLOOP_LISTENING;
    }
    if (!collect_results(pgloop))
        return false;
    PGnotify *notification;
    while (pgloop->state == PGLOOP_READY && (notification = PQnotifies(pgloop->connection))) {
        if (pgloop->callbacks.notified != NULL)
            pgloop->callbacks.notified(pgloop, notification->extra);
        PQfreemem(notification);
    }
    if (pgloop->state != PGLOOP_READY)
        return false;
    if (PQstatus(pgloop->connection) != CONNECTION_OK)
        return false;
    return send_queued(pgloop);
}

static void on_socket(uv_poll_t *poll, int status, int events)
{
    (void)events;
    struct pgloop *pgloop = poll->data;
    if (pgloop->state == PGLOOP_CLOSED || pgloop->state == PGLOOP_WAITING)
        return;
    if (status < 0) {
        retry_later(pgloop, uv_strerror(status));
        return;
    }
    if (pgloop->state == PGLOOP_CONNECTING) {
        advance_connect(pgloop);
        return;
    }
    if (consume(pgloop))
        return;
    if (pgloop->state == PGLOOP_CLOSED || pgloop->state == PGLOOP_WAITING)
        return; /* a callback closed it, or it is already reconnecting */
    char reason[256];
    first_line(PQerrorMessage(pgloop->connection), reason, sizeof reason);
    retry_later(pgloop, reason[0] ? reason : "connection lost");
}

bool pgloop_ready(const struct pgloop *pgloop)
{
    return pgloop->state == PGLOOP_READY;
}

bool pgloop_idle(const struct pgloop *pgloop)
{
    return pgloop->queue_head == NULL;
}

bool pgloop_query(struct pgloop *pgloop, const char *sql, const struct db_params *params,
                  pgloop_done done, void *context)
{
    if (pgloop->state != PGLOOP_READY)
        return false;
    struct pgloop_query *query = calloc(1, sizeof *query);
    if (query == NULL)
        return false;
    query->sql = strdup(sql);
    bool copied = query->sql != NULL;
    int count = params != NULL ? params->count : 0;
    for (int i = 0; i < count; i++) {
        query->count = i + 1;
        if (params->values[i] != NULL && (query->values[i] = strdup(params->values[i])) == NULL)
            copied = false;
    }
    if (!copied) {
        query_free(query);
        return false;
    }
    query->done = done;
    query->context = context;
    if (pgloop->queue_tail != NULL)
        pgloop->queue_tail->next = query;
    else
        pgloop->queue_head = query;
    pgloop->queue_tail = query;
    /* Sent from the socket callback (writable at once), so `done` never
     * runs inside this call and a send failure is handled in one place. */
    watch(pgloop, UV_READABLE | UV_WRITABLE);
    return true;
}

void pgloop_cancel(struct pgloop *pgloop)
{
    if (pgloop->state != PGLOOP_READY || !pgloop->sent)
        return;
    PGcancel *cancel = PQgetCancel(pgloop->connection);
    char error[256];
    if (cancel != NULL && !PQcancel(cancel, error, sizeof error))
        log_event(LOG_WARN, "database_cancel_failed", json_pack("{s:s}", "reason", error));
    PQfreeCancel(cancel);
}

void pgloop_start(struct pgloop *pgloop)
{
    connect_now(pgloop);
}

void pgloop_close(struct pgloop *pgloop, void (*closed)(struct pgloop *pgloop))
{
    if (pgloop->state == PGLOOP_CLOSED)
        return;
    pgloop->closed = closed;
    pgloop->state = PGLOOP_CLOSED;
    stop_polling(pgloop);
    PQfinish(pgloop->connection);
    pgloop->connection = NULL;
    fail_queries(pgloop);
    uv_timer_stop(&pgloop->retry_timer);
    uv_close((uv_handle_t *)&pgloop->retry_timer, handle_closed);
}
