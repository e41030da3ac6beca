/* One PostgreSQL connection driven asynchronously on a libuv loop.
 *
 * libpq's non-blocking connect and query APIs are driven from a uv_poll_t
 * on the connection's socket, so the worker never blocks its loop on the
 * database.  When the connection fails or is lost, it is re-established
 * with exponential backoff and jitter; the owner hears about both through
 * callbacks.  A pgloop with a `notified` callback LISTENs on the wake-up
 * channel once connected; one without does not (execution connections).
 *
 * Several pgloops may share one loop: the worker keeps a "control"
 * connection (LISTEN, claims, schedules, lease renewals) and one
 * "execution" connection per running job, so a long job's SQL never delays
 * lease renewal.  A pgloop has no global state.
 *
 * Queries: pgloop_query() queues a statement; statements are sent one at a
 * time (PQsendQueryParams, text parameters) in the order queued, and each
 * one's `done` runs on the loop with its result.  Statements queued one after
 * another on the same pgloop therefore run in order on one session, which is
 * how a caller runs a transaction (BEGIN, …, COMMIT as separate queries). */
#ifndef BAOVE_PGLOOP_H
#define BAOVE_PGLOOP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <uv.h>

#include "db.h"

#define PGLOOP_WAKEUP_CHANNEL "baove_worker"

struct pgloop;
struct pgloop_query;

struct pgloop_callbacks {
    /* Connected (again), and listening when `notified` is set: the owner may
     * send work. */
    void (*ready)(struct pgloop *pgloop);
    /* The connection was lost; it is being re-established.  Every query
     * that was queued or running has already been answered with NULL. */
    void (*lost)(struct pgloop *pgloop, const char *reason);
    /* A NOTIFY arrived on the wake-up channel.  NULL: do not LISTEN. */
    void (*notified)(struct pgloop *pgloop, const char *payload);
};

/* Receives a statement's result: PGRES_COMMAND_OK / PGRES_TUPLES_OK, or an
 * error result (check with db_ok(); the session is still usable), or NULL
 * when the connection was lost (or closed) before the statement completed
 * — then its effects, and those of its open transaction, are gone.  The
 * result belongs to the pgloop and is cleared after `done` returns; `done`
 * may queue further queries or close the pgloop. */
typedef void (*pgloop_done)(void *context, PGresult *result);

enum pgloop_state {
    PGLOOP_WAITING,    /* between attempts (backoff timer running) */
    PGLOOP_CONNECTING, /* PQconnectPoll in progress */
    PGLOOP_LISTENING,  /* session setup (and LISTEN) sent, waiting for its result */
    PGLOOP_READY,      /* connected: queries are sent; notifications watched */
    PGLOOP_CLOSED
};

struct pgloop {
    uv_loop_t *loop;
    const char *url;           /* not owned; outlives the pgloop */
    PGconn *connection;        /* owned */
    uv_poll_t *poll;           /* owned; NULL when not watching a socket */
    int polled_socket;
    uv_timer_t retry_timer;
    unsigned backoff_ms;
    enum pgloop_state state;
    struct pgloop_callbacks callbacks;
    void *data;                /* the owner's */
    int handles_open;          /* libuv handles not yet closed */
    void (*closed)(struct pgloop *pgloop);
    struct pgloop_query *queue_head; /* owned; the head is in flight when `sent` */
    struct pgloop_query *queue_tail;
    bool sent;
    PGresult *pending_result;  /* owned: the in-flight statement's result so far */
};

void pgloop_init(struct pgloop *pgloop, uv_loop_t *loop, const char *url,
                 struct pgloop_callbacks callbacks, void *data);

/* Starts connecting. */
void pgloop_start(struct pgloop *pgloop);

/* True when connected and set up (queries may be queued). */
bool pgloop_ready(const struct pgloop *pgloop);

/* True when no query is queued or running. */
bool pgloop_idle(const struct pgloop *pgloop);

/* Queues a statement with its parameters (copied: params may be freed on
 * return; NULL for none).  Returns false, without calling `done`, when the
 * pgloop is not ready or memory ran out; otherwise `done` is called exactly
 * once, on the loop, never from inside this call. */
bool pgloop_query(struct pgloop *pgloop, const char *sql, const struct db_params *params,
                  pgloop_done done, void *context);

/* Asks the server to cancel the statement running now (if any).  Blocks
 * briefly on a separate connection to the server; meant for shutdown. */
void pgloop_cancel(struct pgloop *pgloop);

/* Closes the connection and the libuv handles; queued and running queries
 * are answered with NULL first; `closed` runs when every handle is closed. */
void pgloop_close(struct pgloop *pgloop, void (*closed)(struct pgloop *pgloop));

#endif
