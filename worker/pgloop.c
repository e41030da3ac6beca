#include "pgloop.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

#define BACKOFF_INITIAL_MS 250
#define BACKOFF_MAX_MS 30000

static void on_socket(uv_poll_t *poll, int status, int events);
static void connect_now(struct pgloop *pgloop);
static void retry_later(struct pgloop *pgloop, const char *reason);

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
    const char *values[] = {pgloop->url, "baove-worker", NULL};
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
    if (!PQsendQuery(pgloop->connection, "SET TIME ZONE 'UTC'; LISTEN " PGLOOP_WAKEUP_CHANNEL)) {
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

/* Reads what the server sent: query results while LISTEN is pending,
 * notifications when idle.  Returns false when the connection is gone. */
static bool consume(struct pgloop *pgloop)
{
    if (!PQconsumeInput(pgloop->connection))
        return false;
    if (pgloop->state == PGLOOP_LISTENING) {
        if (PQflush(pgloop->connection) < 0)
            return false;
        bool failed = false;
        while (!PQisBusy(pgloop->connection)) {
            PGresult *result = PQgetResult(pgloop->connection);
            if (result == NULL) {
                pgloop->state = PGLOOP_READY;
                pgloop->backoff_ms = BACKOFF_INITIAL_MS;
                watch(pgloop, UV_READABLE);
                log_event(LOG_INFO, "database_ready", NULL);
                if (pgloop->callbacks.ready != NULL)
                    pgloop->callbacks.ready(pgloop);
                break;
            }
            failed |= PQresultStatus(result) != PGRES_COMMAND_OK;
            PQclear(result);
        }
        if (failed)
            return false;
    }
    PGnotify *notification;
    while (pgloop->connection != NULL && (notification = PQnotifies(pgloop->connection))) {
        if (pgloop->callbacks.notified != NULL)
            pgloop->callbacks.notified(pgloop, notification->extra);
        PQfreemem(notification);
    }
    return PQstatus(pgloop->connection) == CONNECTION_OK;
}

static void on_socket(uv_poll_t *poll, int status, int events)
{
    (void)events;
    struct pgloop *pgloop = poll->data;
    if (pgloop->state == PGLOOP_CLOSED)
        return;
    if (status < 0) {
        retry_later(pgloop, uv_strerror(status));
        return;
    }
    if (pgloop->state == PGLOOP_CONNECTING) {
        advance_connect(pgloop);
        return;
    }
    if (!consume(pgloop)) {
        char reason[256];
        first_line(PQerrorMessage(pgloop->connection), reason, sizeof reason);
        retry_later(pgloop, reason[0] ? reason : "connection lost");
    }
}

void pgloop_start(struct pgloop *pgloop)
{
    connect_now(pgloop);
}

void pgloop_close(struct pgloop *pgloop, void (*closed)(struct pgloop *pgloop))
{
    pgloop->closed = closed;
    pgloop->state = PGLOOP_CLOSED;
    stop_polling(pgloop);
    PQfinish(pgloop->connection);
    pgloop->connection = NULL;
    uv_timer_stop(&pgloop->retry_timer);
    uv_close((uv_handle_t *)&pgloop->retry_timer, handle_closed);
}
