/* Hostile and careless clients: text that is not valid outside a body, slow
 * sockets by the thousand, guessed passwords.  The API must answer each with
 * a problem and keep serving honest clients meanwhile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "harness.h"
#include "hostile_clients.h"

static struct test_database database;
static struct test_process api;
static char *token;

static int start(void **state)
{
    (void)state;
    if (!harness_create_database("baove_t_hostile", true, true, &database))
        return -1;
    const char *env[] = {"BAOVE_HTTP_MAX_CONNECTIONS=4096", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    token = harness_login(&api, "demo_district", "baove-demo");
    return token != NULL ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    free(token);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* The problem of a refused input, and that it names the parameter. */
static void assert_invalid_parameter(const struct http_response *response, const char *name)
{
    assert_int_equal(response->status, 400);
    assert_string_equal(response->content_type, "application/problem+json");
    assert_string_equal(json_text(response->json, "type", NULL), "/problems/invalid-parameter");
    json_t *errors = json_object_get(response->json, "errors");
    bool named = false;
    for (size_t i = 0; i < json_array_size(errors); i++) {
        const char *parameter = json_text(json_array_get(errors, i), "parameter", NULL);
        named = named || (parameter != NULL && strcmp(parameter, name) == 0);
    }
    if (!named)
        fail_msg("no error names %s: %s", name, response->body);
}

static void refused_path(const char *path, const char *name)
{
    struct http_response *response = http_get(&api, path, token);
    assert_invalid_parameter(response, name);
    http_free(response);
}

static void refused_header(const char *header, const char *name)
{
    struct http_options options = {
        .method = "POST", .path = "/v1/children", .token = token, .body = "{}",
        .headers = (const char *const[]){header, NULL}};
    struct http_response *response = http_call(&api, &options);
    assert_invalid_parameter(response, name);
    http_free(response);
}

/* Invalid UTF-8, control characters and overlong values in query
 * parameters, path segments and headers: 400 naming them, never a 500. */
static void text_outside_the_body_is_checked(void **state)
{
    (void)state;
    refused_path("/v1/children?q=%FF%FE", "q");
    refused_path("/v1/children?q=a%00b", "q");
    refused_path("/v1/children?q=line%0D%0Abreak", "q");
    refused_path("/v1/children?q=%C0%AF", "q");            /* overlong '/' */
    refused_path("/v1/children?q=%ED%A0%80", "q");         /* a surrogate */
    refused_path("/v1/children?cursor=%C2%85", "cursor");  /* C1 control NEL */
    refused_path("/v1/units/%FF", "code");
    refused_path("/v1/children/%E2%82", "id");
    refused_path("/v1/children?%FF=1", "\\xFF");
    char *long_query = malloc(3000);
    strcpy(long_query, "/v1/children?q=");
    memset(long_query + 15, 'a', 2000);
    long_query[2015] = '\0';
    refused_path(long_query, "q");
    free(long_query);
    refused_header("Idempotency-Key: \xFF\xFE", "Idempotency-Key");
    refused_header("Idempotency-Key: a\x01" "b", "Idempotency-Key");
    /* Valid Vietnamese text still goes through. */
    struct http_response *fine = http_get(&api, "/v1/children?q=L%C3%AA%20V%C4%83n", token);
    assert_int_equal(fine->status, 200);
    http_free(fine);
}

/* ---- a write whose connection is lost --------------------------------------- */

#define HELD_CHILD "5a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"

struct lost_patch {
    long status;
    char type[64];
};

static void *patch_held_child(void *context)
{
    struct lost_patch *patch = context;
    struct http_options options = {
        .method = "PATCH", .path = "/v1/children/" HELD_CHILD, .token = token,
        .content_type = "application/merge-patch+json", .body = "{\"hamlet\":\"Ấp 3\"}",
        .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *response = http_call(&api, &options);
    patch->status = response->status;
    snprintf(patch->type, sizeof patch->type, "%s",
             json_text(response->json, "type", NULL) ? json_text(response->json, "type", NULL)
                                                     : "");
    http_free(response);
    return NULL;
}

/* The backend of a write waiting on a lock is terminated: the client is told
 * the outcome is unknown and to retry with the same Idempotency-Key (503
 * /problems/outcome-unknown), and the API carries on. */
static void a_write_that_loses_its_connection_is_outcome_unknown(void **state)
{
    (void)state;
    assert_int_equal(harness_put_child(&api, token, HELD_CHILD), 201);
    PGconn *holder = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PQclear(PQexec(holder, "SELECT 1 FROM children WHERE id = '" HELD_CHILD "' FOR UPDATE"));
    /* The API's role may end the API's own sessions. */
    PGconn *terminator = PQconnectdb(database.app_url);
    assert_int_equal(PQstatus(terminator), CONNECTION_OK);
    struct lost_patch patch = {0, ""};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, patch_held_child, &patch), 0);
    int terminated = 0;
    for (int tries = 0; tries < 3000 && terminated == 0; tries++) {
        usleep(10000);
        PGresult *result = PQexec(terminator,
                                  "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                                  " WHERE NOT granted AND pid <> pg_backend_pid()");
        if (PQresultStatus(result) != PGRES_TUPLES_OK)
            fail_msg("%s", PQerrorMessage(terminator));
        terminated = atoi(PQgetvalue(result, 0, 0));
        PQclear(result);
    }
    pthread_join(thread, NULL);
    PQclear(PQexec(holder, "ROLLBACK"));
    PQfinish(holder);
    PQfinish(terminator);
    assert_int_equal(terminated, 1);
    assert_int_equal(patch.status, 503);
    assert_string_equal(patch.type, "/problems/outcome-unknown");
    struct http_response *me = http_get(&api, "/v1/me", token);
    assert_int_equal(me->status, 200);
    http_free(me);
}

/* ---- slow clients ------------------------------------------------------------ */

#define SLOW_ADDRESSES 8
#define SLOW_PER_ADDRESS 100
#define SLOW_SECONDS 12
#define SLOW_DEADLINE "3"

struct honest_client {
    const struct test_process *api;
    const char *token;
    int attempts, successes;
};

static void *ask_honestly(void *context)
{
    struct honest_client *client = context;
    time_t end = time(NULL) + SLOW_SECONDS;
    while (time(NULL) < end) {
        struct http_response *response = http_get(client->api, "/v1/me", client->token);
        client->attempts++;
        client->successes += response->status == 200;
        http_free(response);
        usleep(20000);
    }
    return NULL;
}

static void open_slow(int port, int sockets[], int index)
{
    char source[32];
    snprintf(source, sizeof source, "127.0.0.%d", 2 + index / SLOW_PER_ADDRESS);
    sockets[index] = hostile_connect(port, source);
    if (sockets[index] >= 0)
        send(sockets[index], "GET /v1/me HTTP/1.1\r\nX-Slow: ", 29, MSG_NOSIGNAL);
}

/* 800 sockets from 8 addresses trickle one header byte a second, reopened
 * whenever the deadline cuts them, while an honest client keeps asking:
 * it is answered every time, the API's threads stay a fixed few, and each
 * slow request is cut at the deadline. */
static void slow_clients_do_not_shut_out_an_honest_one(void **state)
{
    (void)state;
    hostile_raise_descriptor_limit();
    struct test_process slow_api;
    const char *env[] = {"BAOVE_DB_CONNECTIONS=4", "BAOVE_CPU_THREADS=2",
                         "BAOVE_HTTP_REQUEST_DEADLINE=" SLOW_DEADLINE, NULL};
    assert_true(harness_start_api(&database, env, &slow_api));
    char *own_token = harness_login(&slow_api, "demo_district", "baove-demo");
    assert_non_null(own_token);
    static int sockets[SLOW_ADDRESSES * SLOW_PER_ADDRESS];
    const int count = SLOW_ADDRESSES * SLOW_PER_ADDRESS;
    for (int i = 0; i < count; i++)
        open_slow(slow_api.port, sockets, i);
    struct honest_client honest = {&slow_api, own_token, 0, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, ask_honestly, &honest), 0);
    long most_threads = 0;
    int cut = 0;
    for (int second = 0; second < SLOW_SECONDS; second++) {
        sleep(1);
        for (int i = 0; i < count; i++) {
            if (sockets[i] >= 0 && hostile_closed_by_server(sockets[i])) {
                close(sockets[i]);
                cut++;
                open_slow(slow_api.port, sockets, i);
            } else if (sockets[i] >= 0) {
                send(sockets[i], "x", 1, MSG_NOSIGNAL);
            }
        }
        long threads = hostile_thread_count(slow_api.pid);
        most_threads = threads > most_threads ? threads : most_threads;
    }
    pthread_join(thread, NULL);
    for (int i = 0; i < count; i++)
        if (sockets[i] >= 0)
            close(sockets[i]);
    print_message("honest %d/%d, most threads %ld, slow requests cut %d\n", honest.successes,
                  honest.attempts, most_threads, cut);
    assert_true(honest.attempts >= 50);
    assert_true(honest.successes * 100 >= honest.attempts * 99);
    /* 4 request + 2 CPU workers, 3 watchdogs, the event loop, main. */
    assert_true(most_threads <= 4 + 2 + 5);
    assert_true(cut >= count); /* every first slow request at least */
    free(own_token);
    assert_int_equal(harness_stop(&slow_api), 0);
}

/* Past BAOVE_HTTP_MAX_CONNECTIONS_PER_IP from one address, a request is
 * answered 503 server-busy with Retry-After, not cut; other addresses are
 * served. */
static void connections_over_the_address_limit_get_an_answer(void **state)
{
    (void)state;
    struct test_process limited_api;
    const char *env[] = {"BAOVE_HTTP_MAX_CONNECTIONS_PER_IP=4", NULL};
    assert_true(harness_start_api(&database, env, &limited_api));
    int held[4];
    for (int i = 0; i < 4; i++)
        assert_true((held[i] = hostile_connect(limited_api.port, "127.0.0.20")) >= 0);
    usleep(200000); /* the daemon has accepted them */
    char response[4096];
    long status = hostile_exchange(limited_api.port, "127.0.0.20",
                                   "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   response, sizeof response);
    assert_int_equal(status, 503);
    assert_non_null(strstr(response, "/problems/server-busy"));
    assert_non_null(strcasestr(response, "Retry-After: 1"));
    status = hostile_exchange(limited_api.port, "127.0.0.21",
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              response, sizeof response);
    assert_int_equal(status, 200);
    for (int i = 0; i < 4; i++)
        close(held[i]);
    assert_int_equal(harness_stop(&limited_api), 0);
}

/* ---- guessed passwords --------------------------------------------------------- */

#define GUESSES 100

static long guess_statuses[GUESSES];

static void *guess(void *context)
{
    long *status = context;
    struct http_response *response = http_post_json(
        &api, "/v1/auth/token", NULL, "{\"username\":\"demo_viewer\",\"password\":\"guess\"}");
    *status = response->status;
    http_free(response);
    return NULL;
}

static long sign_in_from(const char *source, const char *username, const char *password)
{
    char request[512], response[4096];
    char body[160];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    snprintf(request, sizeof request,
             "POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    return hostile_exchange(api.port, source, request, response, sizeof response);
}

/* 100 parallel wrong passwords for one user from one address: at most 5
 * are checked (401), the rest wait (429); meanwhile the owner signs in from
 * another address, and even from the guessers' address another user does. */
static void guessing_throttles_the_guesser_not_the_owner(void **state)
{
    (void)state;
    pthread_t threads[GUESSES];
    for (int i = 0; i < GUESSES; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, guess, &guess_statuses[i]), 0);
    long owner = sign_in_from("127.0.0.30", "demo_viewer", "baove-demo");
    for (int i = 0; i < GUESSES; i++)
        pthread_join(threads[i], NULL);
    int checked = 0, throttled = 0;
    for (int i = 0; i < GUESSES; i++) {
        checked += guess_statuses[i] == 401;
        throttled += guess_statuses[i] == 429;
    }
    print_message("checked %d, throttled %d\n", checked, throttled);
    assert_true(checked <= 5);
    assert_int_equal(checked + throttled, GUESSES);
    assert_int_equal(owner, 200);
    assert_int_equal(sign_in_from("127.0.0.30", "demo_viewer", "baove-demo"), 200);
    char *other = harness_login(&api, "demo_commune", "baove-demo");
    assert_non_null(other);
    free(other);
}

/* ---- bulk pulls ---------------------------------------------------------------- */

/* A streamed pull of the feed holds a request thread and its database
 * connection for as long as its client takes to read.  With
 * BAOVE_HTTP_MAX_STREAMS=1, a client that asks for the whole feed as NDJSON
 * and stops reading holds the one slot: the next pull is answered 503
 * server-busy with Retry-After before anything is read, every other request
 * is still served, and once the reader goes the slot is free again.  The
 * feed is made larger than what the sockets buffer (20 000 demo children),
 * so that the producer really waits on its reader. */
static void bulk_pulls_leave_threads_for_everyone_else(void **state)
{
    (void)state;
    const char *seed[] = {"seed", "--demo", "--children", "20000", NULL};
    assert_int_equal(harness_admin(&database, seed, NULL, NULL), 0);
    struct test_process streams_api;
    const char *env[] = {"BAOVE_HTTP_MAX_STREAMS=1", NULL};
    assert_true(harness_start_api(&database, env, &streams_api));
    char *own_token = harness_login(&streams_api, "demo_district", "baove-demo");
    assert_non_null(own_token);
    char pull[512];
    snprintf(pull, sizeof pull,
             "GET /v1/changes HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n"
             "Authorization: Bearer %s\r\n\r\n", own_token);
    int reader = hostile_connect(streams_api.port, "127.0.0.30");
    assert_true(reader >= 0);
    assert_int_equal(send(reader, pull, strlen(pull), MSG_NOSIGNAL), (ssize_t)strlen(pull));
    char head[64];
    assert_true(recv(reader, head, sizeof head - 1, 0) > 0); /* then reads no more */
    head[sizeof head - 1] = '\0';
    assert_non_null(strstr(head, "HTTP/1.1 200"));
    usleep(500000); /* the producer fills the buffers and waits */
    struct http_options ndjson = {
        .path = "/v1/changes", .token = own_token,
        .headers = (const char *const[]){"Accept: application/x-ndjson", NULL}};
    struct http_response *refused = http_call(&streams_api, &ndjson);
    assert_int_equal(refused->status, 503);
    assert_string_equal(refused->content_type, "application/problem+json");
    assert_string_equal(json_text(refused->json, "type", NULL), "/problems/server-busy");
    assert_non_null(strcasestr(refused->headers, "Retry-After: 5"));
    http_free(refused);
    struct http_response *served = http_get(&streams_api, "/v1/children?limit=1", own_token);
    assert_int_equal(served->status, 200);
    http_free(served);
    close(reader);
    long status = 0;
    for (int attempt = 0; attempt < 100 && status != 200; attempt++) {
        usleep(100000); /* until the producer notices its reader is gone */
        struct http_options page = ndjson;
        page.path = "/v1/changes?limit=10";
        struct http_response *again = http_call(&streams_api, &page);
        status = again->status;
        http_free(again);
    }
    assert_int_equal(status, 200);
    free(own_token);
    assert_int_equal(harness_stop(&streams_api), 0);
}

/* A client that goes while its pull is read page after page (pages of one
 * entry: the producer is reading the next page, not waiting for the
 * reader): the producer must not touch the connection libmicrohttpd has
 * freed meanwhile (it read the request's headers from it for every page;
 * ASan in `make test` aborts on that).  Several times over, then the API
 * still answers, and stops cleanly. */
static void a_reader_gone_mid_pull_leaves_the_api_whole(void **state)
{
    (void)state;
    char pull[512];
    snprintf(pull, sizeof pull,
             "GET /v1/changes?limit=1 HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n"
             "Authorization: Bearer %s\r\n\r\n", token);
    for (int round = 0; round < 5; round++) {
        int reader = hostile_connect(api.port, "127.0.0.31");
        assert_true(reader >= 0);
        assert_int_equal(send(reader, pull, strlen(pull), MSG_NOSIGNAL), (ssize_t)strlen(pull));
        char received[4096];
        size_t total = 0;
        while (total < 2 * sizeof received) { /* the head and a few entries */
            ssize_t got = recv(reader, received, sizeof received, 0);
            assert_true(got > 0);
            total += (size_t)got;
        }
        close(reader);
        usleep(200000); /* the producer reads on past the reader's going */
    }
    struct http_response *alive = http_get(&api, "/v1/children?limit=1", token);
    assert_int_equal(alive->status, 200);
    http_free(alive);
}

int main(void)
{
    harness_init("hostile");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_outside_the_body_is_checked),
        cmocka_unit_test(a_write_that_loses_its_connection_is_outcome_unknown),
        cmocka_unit_test(guessing_throttles_the_guesser_not_the_owner),
        cmocka_unit_test(connections_over_the_address_limit_get_an_answer),
        cmocka_unit_test(slow_clients_do_not_shut_out_an_honest_one),
        cmocka_unit_test(bulk_pulls_leave_threads_for_everyone_else),
        cmocka_unit_test(a_reader_gone_mid_pull_leaves_the_api_whole),
    };
    int failed = cmocka_run_group_tests_name("hostile", tests, start, stop);
    harness_finish();
    return failed;
}
