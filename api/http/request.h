/* One HTTP request: what arrived, who sent it, where it is in its life and
 * the reply chosen for it.  server.c owns it (see server.h); the worker
 * pools (workers.c) and the input check (request_input.c) read it. */
#ifndef BAOVE_REQUEST_H
#define BAOVE_REQUEST_H

#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "http/router.h"

#define REQUEST_ID_SIZE 65
#define REPLY_MAX_HEADERS 6

/* The authenticated caller. */
struct principal {
    char id[37];
    char username[65];
    bool is_client;       /* a machine client with an API key, not a person */
    enum role role;
    long long unit_id;    /* scope: this unit and its descendants */
    char unit_code[8];
    char token_hash[AUTH_TOKEN_HASH_HEX_SIZE];
};

struct reply_header {
    char name[32];
    char value[256];
};

/* Where a routed request is in its life (see http/workers.h). */
enum request_stage {
    REQUEST_RECEIVING, /* headers and body arriving, on the daemon's thread */
    REQUEST_QUEUED,    /* suspended, waiting for a worker */
    REQUEST_RUNNING,   /* a worker runs its handler */
    REQUEST_ANSWERED   /* the reply is built; the daemon's thread sends it */
};

struct request {
    struct MHD_Connection *connection; /* NULL for a batch's item */
    /* A batch's item (registry/batch.c), a request made inside another:
     * its headers as name, value, name, value…, NULL; it has no query. */
    const char *const *item_headers;
    enum request_stage stage;
    struct request *next_queued; /* in a worker pool's queue; not owned */
    int64_t queued_us;           /* monotonic, when it was queued */
    /* Work handed aside by request_run_aside(), and what follows it. */
    void (*aside)(struct request *request);
    void (*then)(struct request *request);
    bool aside_skipped;          /* the CPU pool stayed full: aside did not run */
    /* A reply streamed while it is produced (http/stream.h): the handler
     * leaves `produce`, which a request thread runs once the reply's head
     * is handed to libmicrohttpd (through after_answer); the request then
     * lives until both the producer and the connection are done with it. */
    struct stream *stream;
    /* Its request headers as name, value, name, value…, NULL (owned),
     * copied before the head goes out: once it has, the client may go and
     * libmicrohttpd free the connection while the producer still runs. */
    char **stream_headers;
    bool (*produce)(struct request *request, struct stream *stream);
    void (*after_answer)(struct request *request);
    void *handler_state;         /* a handler's state across aside or streamed work (owned) */
    void (*free_handler_state)(void *state);
    char id[REQUEST_ID_SIZE]; /* X-Request-Id, received or generated */
    int64_t started_us;       /* monotonic */
    char method[16];
    char *path;               /* owned; without the query string */
    enum route_result routing;
    struct route_match match;

    char *body;               /* owned; NUL-terminated copy of the upload */
    size_t body_length;
    size_t body_capacity;
    size_t discarded_length;  /* of a body refused while it was arriving */

    bool preflight;           /* a CORS preflight answered 204 (http/cors.h) */

    bool authenticated;
    struct principal principal;
    /* The principal came from the principal cache (http/principal_cache.h)
     * and nothing in this request has confirmed it yet: the lifecycle's
     * transaction verifies it in flight (scope_enter()); anything else
     * that uses the database looks the token up first (request_database). */
    bool principal_unverified;
    /* A transaction refused the principal in flight (or a lookup found it
     * changed): nothing was written, and nothing may be answered; dispatch
     * authenticates the request again from scratch and runs it once more
     * (http/dispatch.c). */
    bool principal_stale;
    PGconn *database;         /* this thread's connection; not owned */
    /* The hot standby's connection of a read marked `replica`
     * (http/replica.h), or NULL; not owned. */
    PGconn *read_database;

    /* The reply a handler chose. */
    bool replied;
    unsigned status;
    const char *content_type;
    char *reply_body;         /* owned */
    size_t reply_length;
    struct reply_header headers[REPLY_MAX_HEADERS];
    int header_count;
};

#endif
