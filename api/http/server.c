/* The HTTP server: libmicrohttpd callbacks, request bodies, authentication,
 * dispatch through the route table, replies, logs and metrics. */
#include "http/server.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "http/pool.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "http/cors.h"
#include "http/header_pairs.h"
#include "http/metrics.h"
#include "http/connections.h"
#include "http/proxies.h"
#include "http/request_input.h"
#include "http/stream.h"
#include "http/workers.h"

/* Settings of the running server, copied once by server_start() before the
 * daemon's threads exist and only read afterwards. */
static struct server_settings active_settings;

/* The pools requests run on (workers.h), started by server_start() before
 * the daemon, stopped by server_stop() after it stops accepting, and freed once
 * the daemon is gone (free_workers). */
static struct worker_pool *request_workers;
static struct worker_pool *cpu_workers;

const struct server_settings *server_settings(void)
{
    return &active_settings;
}

/* ---- replies ---------------------------------------------------------- */

static void set_reply(struct request *request, unsigned status, const char *content_type,
                      char *body, size_t length)
{
    if (request->replied) {
        /* A handler answered twice: keep the first answer, drop this one. */
        log_event(LOG_ERROR, "double_reply", json_pack("{s:s}", "request_id", request->id));
        free(body);
        return;
    }
    request->replied = true;
    request->status = status;
    request->content_type = content_type;
    request->reply_body = body;
    request->reply_length = length;
}

void reply_json(struct request *request, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL) {
        static const char out_of_memory[] =
            "{\"type\":\"/problems/internal\",\"title\":\"Internal error\","
            "\"status\":500,\"detail\":\"Out of memory.\"}";
        char *copy = strdup(out_of_memory);
        set_reply(request, 500, PROBLEM_CONTENT_TYPE, copy, copy != NULL ? strlen(copy) : 0);
        return;
    }
    set_reply(request, status, "application/json", text, strlen(text));
}


void reply_text(struct request *request, unsigned status, const char *content_type,
                char *text, size_t length)
{
    set_reply(request, status, content_type, text, length);
}

void reply_csv(struct request *request, char *text, size_t length, const char *filename)
{
    if (text == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory while building the CSV.");
        return;
    }
    char disposition[256];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    reply_add_header(request, "Content-Disposition", disposition);
    set_reply(request, 200, "text/csv; charset=utf-8", text, length);
}

/* Streamed replies being produced now.  Each holds a request thread and its
 * database connection for as long as its client takes to read it, so a few
 * slow bulk pulls could otherwise hold every thread: at most
 * active_settings.max_streams run at once.  Shared by the request threads,
 * hence atomic; the only state of its kind here. */
static atomic_uint streams_producing;

/* The request thread, once the streamed reply's head is handed over: the
 * producer, then whoever lets go last frees the request (request_end). */
static void request_free(struct request *request);
static void produce_stream(struct request *request)
{
    struct stream *stream = request->stream;
    stream_finish(stream, request->produce(request, stream));
    request_release_database(request);
    atomic_fetch_sub(&streams_producing, 1);
    if (stream_release(stream))
        request_free(request);
}

bool reply_stream(struct request *request, const char *content_type,
                  bool (*produce)(struct request *request, struct stream *stream))
{
    if (request->principal_unverified && request_database(request) == NULL)
        return false;
    /* Copied now, while the connection is certainly there. */
    if (request->connection == NULL ||
        (request->stream_headers = header_pairs_copy(request->connection)) == NULL)
        return false;
    if (atomic_fetch_add(&streams_producing, 1) >= active_settings.max_streams) {
        atomic_fetch_sub(&streams_producing, 1);
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "5");
        reply_problem(request, PROBLEM_SERVER_BUSY,
                      "As many streamed pulls as the server runs at once are under way; "
                      "nothing was read. Retry after the seconds in Retry-After, or page "
                      "through the JSON form.");
        return false;
    }
    if ((request->stream = stream_open(request->connection)) == NULL) {
        atomic_fetch_sub(&streams_producing, 1);
        return false;
    }
    set_reply(request, 200, content_type, NULL, 0);
    request->produce = produce;
    request->after_answer = produce_stream;
    return true;
}

void reply_forget(struct request *request)
{
    free(request->reply_body);
    if (request->free_handler_state != NULL)
        request->free_handler_state(request->handler_state);
    request->reply_body = NULL;
    request->handler_state = NULL;
    request->free_handler_state = NULL;
    request->replied = false;
    request->status = 0;
    request->reply_length = 0;
    request->content_type = NULL;
    request->header_count = 0;
}

void reply_empty(struct request *request, unsigned status)
{
    set_reply(request, status, NULL, NULL, 0);
}

void reply_add_header(struct request *request, const char *name, const char *value)
{
    if (request->header_count == REPLY_MAX_HEADERS)
        return;
    struct reply_header *header = &request->headers[request->header_count++];
    snprintf(header->name, sizeof header->name, "%s", name);
    snprintf(header->value, sizeof header->value, "%s", value);
}

void reply_etag(struct request *request, long long version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", version);
    reply_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
}

void request_discard_database(struct request *request)
{
    if (request->database != NULL)
        pool_discard(pool_primary, request->database);
    request->database = NULL;
}

void reply_database_failure(struct request *request, const char *what, PGresult *result)
{
    PGconn *connection = request->database;
    db_log_failure(what, connection, result);
    metrics_database_error();
    switch (db_failure_class(connection, result)) {
    case DB_FAILURE_LOST:
        request_discard_database(request);
        /* A change may have been lost at COMMIT: its outcome is unknown. */
        if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
            reply_problem(request, PROBLEM_OUTCOME_UNKNOWN,
                          "The database connection was lost while saving; the change may or "
                          "may not be saved. Retry with the same Idempotency-Key.");
        else
            reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                          "The database connection was lost; nothing was written. Retry.");
        break;
    case DB_FAILURE_INPUT:
        reply_problem(request, PROBLEM_INVALID_PARAMETER,
                      "A value in the request is not acceptable to the database.");
        break;
    case DB_FAILURE_BUSY:
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                      "The database is overloaded; nothing was written. Retry shortly.");
        break;
    case DB_FAILURE_INTERNAL:
        reply_problem(request, PROBLEM_INTERNAL, "A database statement failed.");
        break;
    }
}

/* ---- request accessors ------------------------------------------------ */

const char *request_query(const struct request *request, const char *name)
{
    if (request->connection == NULL)
        return NULL; /* a batch's item */
    return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *request_header(const struct request *request, const char *name)
{
    if (request->stream_headers != NULL)
        return header_pairs_find((const char *const *)request->stream_headers, name);
    if (request->connection == NULL)
        return header_pairs_find(request->item_headers, name);
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

void request_client_address(const struct request *request, char *out, size_t size)
{
    char peer[64];
    connections_peer_address(request->connection, peer, sizeof peer);
    proxies_client_address(peer, request_header(request, proxies_header()), out, size);
}

void request_release_database(struct request *request)
{
    pool_release(pool_primary, request->database);
    request->database = NULL;
    pool_release(pool_replica, request->read_database);
    request->read_database = NULL;
}

void request_run_aside(struct request *request, void (*aside)(struct request *request),
                       void (*then)(struct request *request))
{
    request_release_database(request);
    request->aside = aside;
    request->then = then;
    request->aside_skipped = false;
}

PGconn *request_database(struct request *request)
{
    /* Only the lifecycle's scope_enter() verifies in flight (server.h). */
    if (request_database_verified_in_flight(request) == NULL ||
        (request->principal_unverified && !active_settings.verify_principal(request)))
        return NULL;
    return request->database;
}

PGconn *request_database_verified_in_flight(struct request *request)
{
    if (request->database != NULL)
        return request->database;
    enum pool_failure failure;
    request->database = pool_acquire(pool_primary, &failure);
    if (request->database == NULL && failure == POOL_BUSY) {
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                      "Every database connection is busy; nothing was read or written. "
                      "Retry shortly.");
    } else if (request->database == NULL) {
        reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                      "The database cannot be reached; nothing was read or written.");
    }
    return request->database;
}

/* ---- the request's life ----------------------------------------------- */

/* Client-supplied request ids are echoed only when they are short and
 * harmless in logs and headers, and valid as a problem's `instance` (a URI
 * reference: hence no ':'); otherwise we make our own. */
static bool acceptable_request_id(const char *id)
{
    size_t length = id != NULL ? strlen(id) : 0;
    if (length == 0 || length >= REQUEST_ID_SIZE)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}


/* Called by libmicrohttpd when a request line arrives, before headers: the
 * request context is born here so that every request is counted and timed. */
static void *request_begin(void *closure, const char *uri, struct MHD_Connection *connection)
{
    (void)closure;
    (void)uri;
    struct request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return NULL;
    request->connection = connection;
    request->started_us = clock_monotonic_us();
    request->match.index = api_route_count; /* unmatched until routed */
    metrics_request_started();
    return request;
}

static void request_end(void *closure, struct MHD_Connection *connection, void **context,
                        enum MHD_RequestTerminationCode termination)
{
    (void)closure;
    struct request *request = *context;
    if (request == NULL)
        return;
    int64_t duration = clock_monotonic_us() - request->started_us;
    if (request->method[0] != '\0') {
        metrics_record_request(request->match.index, request->status, duration);
        const char *route = request->match.index < api_route_count
                                ? api_routes[request->match.index].pattern : "unmatched";
        log_event(request->status >= 500 ? LOG_WARN : LOG_INFO, "request",
                  json_pack("{s:s, s:s, s:i, s:f, s:s, s:b}", "method", request->method,
                            "route", route, "status", (int)request->status, "duration_ms",
                            (double)duration / 1000.0, "request_id", request->id,
                            "completed", termination == MHD_REQUEST_TERMINATED_COMPLETED_OK));
    }
    metrics_request_finished();
    connections_request_answered(connection);
    *context = NULL;
    /* A streamed reply's producer may still run: it frees the request. */
    if (request->stream == NULL || stream_release(request->stream))
        request_free(request);
}

static void request_free(struct request *request)
{
    request_release_database(request); /* when a handler did not run to its end */
    if (request->free_handler_state != NULL)
        request->free_handler_state(request->handler_state);
    free(request->path);
    free(request->body);
    free(request->reply_body);
    header_pairs_free(request->stream_headers);
    free(request);
}

/* Hands the chosen reply to libmicrohttpd, with the common headers. */
static enum MHD_Result send_reply(struct request *request)
{
    if (!request->replied)
        reply_problem(request, PROBLEM_INTERNAL, "The handler produced no answer.");
    struct MHD_Response *response =
        request->stream != NULL
            ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read,
                                                request->stream, NULL)
            : MHD_create_response_from_buffer(request->reply_length, request->reply_body,
                                              MHD_RESPMEM_MUST_FREE);
    if (response == NULL)
        return MHD_NO;
    request->reply_body = NULL; /* now owned by the response */
    if (request->content_type != NULL)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, request->content_type);
    MHD_add_response_header(response, "X-Request-Id", request->id);
    /* Personal data must not linger in caches; only the static problem
     * pages may be cached. */
    bool problem_page = strncmp(request->path ? request->path : "", "/problems/", 10) == 0 &&
                        request->status == 200;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            problem_page ? "public, max-age=86400" : "no-store");
    for (int i = 0; i < request->header_count; i++)
        MHD_add_response_header(response, request->headers[i].name, request->headers[i].value);
    cors_add_headers(request->connection, request->preflight ? request->match.allow : NULL,
                     response);
    enum MHD_Result queued = MHD_queue_response(request->connection, request->status, response);
    MHD_destroy_response(response);
    return queued;
}

/* A request thread's job: the routed handler, or what follows work handed
 * aside; then the work aside goes to the CPU pool, or the answer out. */
static bool run_request(struct request *request)
{
    void (*then)(struct request *) = request->then;
    request->then = NULL;
    if (then != NULL)
        then(request);
    else
        active_settings.dispatch(request);
    /* The answer is built: the database connection serves others while it
     * is sent (a streamed answer keeps it until produced). */
    if (request->stream == NULL)
        request_release_database(request);
    if (request->aside == NULL)
        return true;
    worker_pool_submit(cpu_workers, request);
    return false;
}

/* Every request thread stayed busy for the whole wait. */
static bool refuse_busy(struct request *request)
{
    request->then = request->aside = NULL;
    reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                  "Every database connection is busy; nothing was read or written. "
                  "Retry shortly.");
    return true;
}

static bool run_aside(struct request *request)
{
    void (*aside)(struct request *) = request->aside;
    request->aside = NULL;
    aside(request);
    worker_pool_submit(request_workers, request);
    return false;
}

static bool skip_aside(struct request *request)
{
    request->aside = NULL;
    request->aside_skipped = true;
    worker_pool_submit(request_workers, request);
    return false;
}

/* First call for a request: headers are in, the body is not. */
static enum MHD_Result request_start(struct request *request, const char *url,
                                     const char *method)
{
    const char *given_id = request_header(request, "X-Request-Id");
    if (acceptable_request_id(given_id))
        snprintf(request->id, sizeof request->id, "%s", given_id);
    else
        auth_random_uuid(request->id);
    snprintf(request->method, sizeof request->method, "%s", method);
    request->path = strdup(url);
    if (request->path == NULL)
        return MHD_NO;
    request->routing = route_find(api_routes, api_route_count, method, url, &request->match);
    if (request->routing != ROUTE_FOUND)
        request->match.index = api_route_count;
    if (connections_over_limit(request->connection)) {
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        reply_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
        reply_problem(request, PROBLEM_SERVER_BUSY,
                      "The server holds as many connections as it can; retry shortly.");
        return send_reply(request);
    }
    json_t *input_errors = request_input_errors(request, url);
    if (input_errors != NULL) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER,
                             "A parameter is not valid text: see errors.", input_errors);
        return send_reply(request);
    }
    /* A body over the limit is refused now, from its declared length,
     * rather than read and thrown away.  (libmicrohttpd then closes the
     * connection, since the body was not read.) */
    const char *declared = request_header(request, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long length = 0;
    if (declared != NULL &&
        !config_parse_integer(declared, 0, (long long)active_settings.max_body, &length)) {
        reply_problem(request, PROBLEM_PAYLOAD_TOO_LARGE, "The body may be at most %zu bytes.",
                      active_settings.max_body);
        return send_reply(request);
    }
    return MHD_YES;
}

/* Answers paths and methods that match no route. */
static void reply_unrouted(struct request *request)
{
    if (request->routing == ROUTE_METHOD_NOT_ALLOWED) {
        reply_add_header(request, MHD_HTTP_HEADER_ALLOW, request->match.allow);
        reply_problem(request, PROBLEM_METHOD_NOT_ALLOWED, "This path supports: %s.",
                      request->match.allow);
    } else {
        reply_problem(request, PROBLEM_NOT_FOUND, "No resource lives at this path.");
    }
}

/* How much of a refused body is read and dropped before the connection is
 * cut: enough for an honest client to get its 413. */
#define DISCARD_LIMIT (64u * 1024 * 1024)

/* Appends an upload chunk; answers 413 once the limit is passed. */
static bool append_body(struct request *request, const char *data, size_t size)
{
    if (request->body_length + size > active_settings.max_body) {
        reply_problem(request, PROBLEM_PAYLOAD_TOO_LARGE, "The body may be at most %zu bytes.",
                      active_settings.max_body);
        return false;
    }
    if (request->body_length + size + 1 > request->body_capacity) {
        size_t capacity = request->body_capacity ? request->body_capacity : 4096;
        while (capacity < request->body_length + size + 1)
            capacity *= 2;
        char *grown = realloc(request->body, capacity);
        if (grown == NULL) {
            reply_problem(request, PROBLEM_INTERNAL, "Out of memory reading the body.");
            return false;
        }
        request->body = grown;
        request->body_capacity = capacity;
    }
    memcpy(request->body + request->body_length, data, size);
    request->body_length += size;
    request->body[request->body_length] = '\0';
    return true;
}

static enum MHD_Result handle_request(void *closure, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **context)
{
    (void)closure;
    (void)version;
    struct request *request = *context;
    if (request == NULL)
        return MHD_NO;
    if (request->method[0] == '\0')
        return request_start(request, url, method);
    if (*upload_data_size != 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (!request->replied) {
            append_body(request, upload_data, size);
            return MHD_YES;
        }
        /* libmicrohttpd 0.9 cannot queue a response while a body is still
         * arriving, so the rest of a refused (chunked) body is read and
         * dropped, and the 413 goes out at the end.  A sender that will not
         * stop is cut off instead. */
        request->discarded_length += size;
        return request->discarded_length <= DISCARD_LIMIT ? MHD_YES : MHD_NO;
    }
    connections_request_received(connection);
    if (request->replied)
        return send_reply(request);
    if (request->routing == ROUTE_METHOD_NOT_ALLOWED &&
        (request->preflight = cors_preflight(connection, method))) {
        reply_empty(request, 204); /* the CORS headers are added by send_reply */
        return send_reply(request);
    }
    if (request->routing != ROUTE_FOUND) {
        reply_unrouted(request);
        return send_reply(request);
    }
    /* Handlers block on the database: never on this thread, which serves
     * every connection.  The reply is sent when a worker resumes us. */
    MHD_suspend_connection(connection);
    worker_pool_submit(request_workers, request);
    return MHD_YES;
}

/* ---- start and stop --------------------------------------------------- */

static void log_microhttpd(void *closure, const char *format, va_list args)
{
    (void)closure;
    char message[512];
    vsnprintf(message, sizeof message, format, args);
    message[strcspn(message, "\n")] = '\0';
    log_event(LOG_WARN, "microhttpd", json_pack("{s:s}", "message", message));
}

/* One thread drives every socket with epoll; requests that need the
 * database are suspended and run by a fixed pool of workers (workers.h), so
 * that the thread count does not grow with connections, however slow they
 * are, and a request waiting on a row lock holds up only its own worker. */
/* Connections accepted past the soft limits, so that they can still be
 * answered 503 rather than closed bare. */
#define HARD_LIMIT_MARGIN 64u

/* The CPU pool first: what it still holds goes back to the request pool,
 * which answers it. */
/* Stops both pools; they keep refusing what is submitted to them until
 * free_workers(), so that neither the daemon's thread nor a request thread
 * finishing its work ever submits to freed memory. */
static void stop_workers(void)
{
    connections_stop();
    worker_pool_stop(cpu_workers);
    worker_pool_stop(request_workers);
}

/* Once the daemon is gone (or never started): nothing submits any more. */
static void free_workers(void)
{
    worker_pool_free(cpu_workers);
    cpu_workers = NULL;
    worker_pool_free(request_workers);
    request_workers = NULL;
}

struct MHD_Daemon *server_start(const struct server_settings *settings)
{
    active_settings = *settings;
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *ipv4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)&address;
    if (inet_pton(AF_INET, settings->address, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons((uint16_t)settings->port);
    } else if (inet_pton(AF_INET6, settings->address, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons((uint16_t)settings->port);
        flags |= MHD_USE_IPv6;
    } else {
        log_message(LOG_ERROR, "BAOVE_HTTP_ADDR \"%s\" is not an IPv4 or IPv6 address",
                    settings->address);
        return NULL;
    }
    struct connection_limits limits = {settings->max_connections,
                                       settings->max_connections_per_address,
                                       settings->request_deadline, settings->connection_timeout};
    if (!connections_start(&limits)) {
        log_message(LOG_ERROR, "cannot start the connection watchdog");
        return NULL;
    }
    request_workers = worker_pool_start(settings->workers, settings->worker_wait_ms,
                                        run_request, refuse_busy);
    cpu_workers = worker_pool_start(settings->cpu_workers, settings->cpu_wait_ms, run_aside,
                                    skip_aside);
    if (request_workers == NULL || cpu_workers == NULL) {
        log_message(LOG_ERROR, "cannot start %u + %u worker threads", settings->workers,
                    settings->cpu_workers);
        stop_workers();
        free_workers();
        return NULL;
    }
    /* Behind trusted proxies every connection may come from one address:
     * then only the soft, proxy-aware limit applies per address. */
    unsigned hard_per_address = proxies_trusted_count() > 0
                                    ? 0 : settings->max_connections_per_address + HARD_LIMIT_MARGIN;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, (uint16_t)settings->port, NULL, NULL, handle_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, log_microhttpd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_CONNECTION_TIMEOUT, settings->connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, settings->max_connections + HARD_LIMIT_MARGIN,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, hard_per_address,
        MHD_OPTION_NOTIFY_CONNECTION, connections_notify, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, settings->connection_memory,
        MHD_OPTION_URI_LOG_CALLBACK, request_begin, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, request_end, NULL,
        MHD_OPTION_END);
    if (daemon == NULL) {
        log_message(LOG_ERROR, "cannot listen on %s port %u", settings->address,
                    settings->port);
        stop_workers();
        free_workers();
    }
    return daemon;
}

void server_stop(struct MHD_Daemon *daemon, unsigned grace_seconds)
{
    /* Stop accepting first, then let requests already being handled finish
     * before the connection threads go away. */
    MHD_socket listener = MHD_quiesce_daemon(daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    int64_t deadline = clock_monotonic_us() + (int64_t)grace_seconds * 1000000;
    while (metrics_requests_in_flight() > 0 && clock_monotonic_us() < deadline)
        usleep(20000);
    /* Every suspended connection is resumed before the daemon goes. */
    stop_workers();
    MHD_stop_daemon(daemon);
    free_workers();
}
