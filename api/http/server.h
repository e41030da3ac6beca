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

struct request {
    struct MHD_Connection *connection;
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
    PGconn *database;         /* this thread's connection; not owned */

    /* The reply a handler chose. */
    bool replied;
    unsigned status;
    const char *content_type;
    char *reply_body;         /* owned */
    size_t reply_length;
    struct reply_header headers[REPLY_MAX_HEADERS];
    int header_count;
};

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

/* Answers with no body (204). */
void reply_empty(struct request *request, unsigned status);

/* Adds a header to the reply being built (before or after reply_*). */
void reply_add_header(struct request *request, const char *name, const char *value);

/* The query parameter `name`, or NULL. */
const char *request_query(const struct request *request, const char *name);

/* The request header `name`, or NULL. */
const char *request_header(const struct request *request, const char *name);

/* Parses the body as a JSON object, answering 400/415 itself when it is not
 * one; NULL then.  The caller owns the result. */
json_t *request_json_body(struct request *request);

/* The client's IP address as text. */
void request_client_address(const struct request *request, char *out, size_t size);

/* A database connection from the pool for this request (taken on first
 * use, given back when the handler returns), or NULL after answering 503. */
PGconn *request_database(struct request *request);

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
    unsigned connection_timeout;
    unsigned max_connections;
    unsigned max_connections_per_address;
    size_t connection_memory;
    long long token_ttl_seconds; /* lifetime of session tokens */
    /* Answers a routed request (authentication, permission, handler): the
     * policy above the transport, given by main so that the server knows no
     * handler (http/dispatch.c). */
    void (*dispatch)(struct request *request);
};

/* The settings the server was started with. */
const struct server_settings *server_settings(void);

/* Starts listening; NULL on failure (logged). */
struct MHD_Daemon *server_start(const struct server_settings *settings);

/* Stops accepting, waits for in-flight requests (up to grace_seconds), stops. */
void server_stop(struct MHD_Daemon *daemon, unsigned grace_seconds);

#endif
