/* One PostgreSQL connection driven asynchronously on a libuv loop.
 *
 * libpq's non-blocking connect and query APIs are driven from a uv_poll_t
 * on the connection's socket, so the worker never blocks its loop on the
 * database.  When the connection fails or is lost, it is re-established
 * with exponential backoff and jitter; the owner hears about both through
 * callbacks and LISTENs on the wake-up channel once connected. */
#ifndef BAOVE_PGLOOP_H
#define BAOVE_PGLOOP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <uv.h>

#define PGLOOP_WAKEUP_CHANNEL "baove_worker"

struct pgloop;

struct pgloop_callbacks {
    /* Connected (again) and listening: the owner may send work. */
    void (*ready)(struct pgloop *pgloop);
    /* The connection was lost; it is being re-established. */
    void (*lost)(struct pgloop *pgloop, const char *reason);
    /* A NOTIFY arrived on the wake-up channel. */
    void (*notified)(struct pgloop *pgloop, const char *payload);
};

enum pgloop_state {
    PGLOOP_WAITING,    /* between attempts (backoff timer running) */
    PGLOOP_CONNECTING, /* PQconnectPoll in progress */
    PGLOOP_LISTENING,  /* LISTEN sent, waiting for its result */
    PGLOOP_READY,      /* idle, watching for notifications and loss */
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
};

void pgloop_init(struct pgloop *pgloop, uv_loop_t *loop, const char *url,
                 struct pgloop_callbacks callbacks, void *data);

/* Starts connecting. */
void pgloop_start(struct pgloop *pgloop);

/* Closes the connection and the libuv handles; `closed` runs when done. */
void pgloop_close(struct pgloop *pgloop, void (*closed)(struct pgloop *pgloop));

#endif
