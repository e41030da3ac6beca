/* One HTTP request as the handlers see it, and the ways to answer it.
 *
 * server.c owns the request: it is allocated when libmicrohttpd reports a
 * new request, filled with the body and the authenticated principal, handed
 * to exactly one route handler, and freed when the response is done.  A
 * handler answers by calling exactly one reply_* function; the server adds
 * the common headers (X-Request-Id, Cache-Control) and sends it. */
#ifndef BAOVE_SERVER_H
#define BAOVE_SERVER_H

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "problem.h"
#include "http/request.h"
#include "http/router.h"

/* Answers with a JSON document; takes ownership of body. */
void reply_json(struct request *request, unsigned status, json_t *body);

/* Answers with a problem of this type; detail is a printf format. */
void reply_problem(struct request *request, enum problem_type type, const char *detail, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 422 (or the problem's status) with per-field errors; takes
 * ownership of errors. */
void reply_problem_errors(struct request *request, enum problem_type type, const char *detail,
                          json_t *errors);

/* Answers with a problem carrying extension members (e.g. "current" for a
 * 412, "allowed" for a 409); takes ownership of members (an object). */
void reply_problem_members(struct request *request, enum problem_type type, const char *detail,
                           json_t *members);

/* Answers with text; takes ownership of text (malloc'd). */
void reply_text(struct request *request, unsigned status, const char *content_type,
                char *text, size_t length);

/* Answers with a CSV document (common/csv.h), as an attachment named
 * filename; takes ownership of text (malloc'd).  NULL text (out of memory)
 * answers 500. */
void reply_csv(struct request *request, char *text, size_t length, const char *filename);

/* Whether the client asked for CSV rather than JSON: ?format=csv, or an
 * Accept header giving text/csv a higher quality than application/json. */
bool request_wants_csv(const struct request *request);

/* Whether the Accept header gives media_type a higher quality than
 * application/json. */
bool request_prefers(const struct request *request, const char *media_type);

/* Answers 200 with a body streamed while it is produced (http/stream.h):
 * once the head is handed to libmicrohttpd, `produce` runs on the request
 * thread, with the request (its database connection, handler_state) and
 * the stream to write to, and returns whether it wrote everything.  False
 * when the server already produces max_streams of them (answered 503
 * server-busy with Retry-After) or no stream could be opened (nothing
 * answered).  The head goes out before the producer's transactions: a
 * principal from the principal cache is verified first (request_database;
 * false then too, maybe answered). */
struct stream;
bool reply_stream(struct request *request, const char *content_type,
                  bool (*produce)(struct request *request, struct stream *stream));

/* Answers with no body (204). */
void reply_empty(struct request *request, unsigned status);

/* Forgets the reply built so far, its headers and the handler's state:
 * the request is about to be run again (a principal refused in flight,
 * http/dispatch.c). */
void reply_forget(struct request *request);

/* Adds a header to the reply being built (before or after reply_*). */
void reply_add_header(struct request *request, const char *name, const char *value);

/* The query parameter `name`, or NULL. */
const char *request_query(const struct request *request, const char *name);

/* The request header `name`, or NULL. */
const char *request_header(const struct request *request, const char *name);

/* The client's IP address as text. */
void request_client_address(const struct request *request, char *out, size_t size);

/* A database connection from the pool for this request (taken on first
 * use, given back when the handler returns), or NULL after answering 503.
 * A principal from the principal cache is verified first (the real token
 * lookup, server_settings.verify_principal): NULL then also after
 * answering 401, or with request->principal_stale set (nothing answered). */
PGconn *request_database(struct request *request);

/* The same without that lookup, for the lifecycle's transaction alone,
 * whose first statement verifies the principal itself (scope_enter()). */
PGconn *request_database_verified_in_flight(struct request *request);

/* Gives the request's database connections (the primary's, and the hot
 * standby's of a replica read) back to their pools early. */
void request_release_database(struct request *request);

/* Runs aside(request), CPU-bound work such as a password hash, on the CPU
 * pool (one thread per core), without a database connection (given back
 * now) nor a request thread, then then(request) on a request thread.  The
 * handler returns right after this call.  When every CPU thread stayed busy
 * for BAOVE_CPU_WAIT_MS, aside is skipped and request->aside_skipped set:
 * then() answers 503.  State that then() needs lives in handler_state,
 * freed with the request by free_handler_state. */
void request_run_aside(struct request *request, void (*aside)(struct request *request),
                       void (*then)(struct request *request));

/* Sets the ETag header of a record's version. */
void reply_etag(struct request *request, long long version);

/* Drops the request's database connection after it was lost (the pool
 * opens a new one for the next request). */
void request_discard_database(struct request *request);

/* Reports a failed statement: logs it, counts it, and answers 503 when the
 * connection is gone or 500 otherwise. */
void reply_database_failure(struct request *request, const char *what, PGresult *result);

struct server_settings {
    const char *address;
    unsigned port;
    size_t max_body;
    unsigned connection_timeout;   /* idle keep-alive timeout, seconds */
    unsigned request_deadline;     /* headers and body must arrive within, seconds */
    unsigned max_connections;      /* soft: past it, 503 server-busy */
    unsigned max_connections_per_address; /* soft, trusted proxies excepted */
    size_t connection_memory;
    unsigned workers;        /* threads running handlers: the database pool's size */
    unsigned worker_wait_ms; /* longest wait for a worker before 503 */
    unsigned cpu_workers;    /* threads for CPU-bound work (password hashing) */
    unsigned cpu_wait_ms;    /* longest wait for one of them before 503 */
    unsigned max_streams;    /* streamed replies produced at once; past it, 503 */
    long long token_ttl_seconds; /* lifetime of session tokens */
    /* Answers a routed request (authentication, permission, handler): the
     * policy above the transport, given by main so that the server knows no
     * handler (http/dispatch.c). */
    void (*dispatch)(struct request *request);
    /* Verifies a principal taken from the principal cache before a use of
     * the database that does not verify it in flight (request_database):
     * api_verify_principal (http/handlers.h). */
    bool (*verify_principal)(struct request *request);
};

/* The settings the server was started with. */
const struct server_settings *server_settings(void);

/* Starts listening; NULL on failure (logged). */
struct MHD_Daemon *server_start(const struct server_settings *settings);

/* Stops accepting, waits for in-flight requests (up to grace_seconds), stops. */
void server_stop(struct MHD_Daemon *daemon, unsigned grace_seconds);

#endif
