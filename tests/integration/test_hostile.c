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

#include "harness.h"

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
    struct http_options create = {
        .method = "PUT", .path = "/v1/children/" HELD_CHILD, .token = token,
        .body = "{\"unit\":\"29980\",\"full_name\":\"Lê Văn Tâm\",\"sex\":\"male\","
                "\"date_of_birth\":\"2012-05-01\",\"registered_on\":\"2020-01-02\"}"};
    struct http_response *created = http_call(&api, &create);
    assert_int_equal(created->status, 201);
    http_free(created);
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

int main(void)
{
    harness_init("hostile");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_outside_the_body_is_checked),
        cmocka_unit_test(a_write_that_loses_its_connection_is_outcome_unknown),
    };
    int failed = cmocka_run_group_tests_name("hostile", tests, start, stop);
    harness_finish();
    return failed;
}
