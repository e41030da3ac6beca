/* The HTTP core end to end: the real baove-api against a real database.
 * Health, request ids, routing errors, body limits, JSON errors, sign-in,
 * throttling, token rejection, units, problem pages and metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct test_database database;
static struct test_process api;

/* The foundation's fixtures are the 2020 tree (Long Khánh A 29980, district
 * 870): the test stands on a day of it, before the reorganisation of
 * 1/7/2025 that ended those units. */
#define FOUNDATION_NOW "2020-06-15T09:00:00+07:00"

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_foundation", true, true, FOUNDATION_NOW, &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" FOUNDATION_NOW, NULL};
    return harness_start_api(&database, env, &api) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    /* A clean exit also proves the sanitizers found no leak on shutdown. */
    return harness_stop(&api) == 0 ? 0 : -1;
}

static void assert_problem(const struct http_response *response, long status, const char *type)
{
    assert_int_equal(response->status, status);
    assert_string_equal(response->content_type, "application/problem+json");
    assert_non_null(response->json);
    assert_string_equal(json_text(response->json, "type", NULL), type);
    assert_int_equal(json_integer_value(json_object_get(response->json, "status")), status);
    assert_non_null(json_text(response->json, "title", NULL));
    assert_non_null(json_text(response->json, "detail", NULL));
    /* The instance is the request id, so a report can be traced in the logs. */
    assert_string_equal(json_text(response->json, "instance", NULL),
                        http_header(response, "X-Request-Id"));
}

static void health_answers_and_echoes_request_ids(void **state)
{
    (void)state;
    struct http_options options = {.path = "/healthz",
                                   .headers = (const char *const[]){"X-Request-Id: case-42.a_b",
                                                                    NULL}};
    struct http_response *response = http_call(&api, &options);
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "status", NULL), "ok");
    assert_string_equal(http_header(response, "X-Request-Id"), "case-42.a_b");
    http_free(response);

    /* An unacceptable id (spaces, too long) is replaced by a generated UUID. */
    options.headers = (const char *const[]){"X-Request-Id: two words", NULL};
    response = http_call(&api, &options);
    const char *generated = http_header(response, "X-Request-Id");
    assert_int_equal(strlen(generated), 36);
    assert_int_equal(generated[14], '4');
    http_free(response);

    response = http_get(&api, "/readyz", NULL);
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "status", NULL), "ready");
    assert_int_equal(json_integer_value(json_object_get(response->json, "schema_version")),
                     json_integer_value(json_object_get(response->json,
                                                        "expected_schema_version")));
    http_free(response);
}

static void unknown_paths_and_methods(void **state)
{
    (void)state;
    struct http_response *response = http_get(&api, "/v1/nothing-here", NULL);
    assert_problem(response, 404, "/problems/not-found");
    assert_string_equal(http_header(response, "Cache-Control"), "no-store");
    http_free(response);

    struct http_options options = {.method = "DELETE", .path = "/v1/units"};
    response = http_call(&api, &options);
    assert_problem(response, 405, "/problems/method-not-allowed");
    assert_string_equal(http_header(response, "Allow"), "GET");
    http_free(response);

    options = (struct http_options){.method = "GET", .path = "/v1/auth/token"};
    response = http_call(&api, &options);
    assert_problem(response, 405, "/problems/method-not-allowed");
    assert_string_equal(http_header(response, "Allow"), "POST");
    http_free(response);
}

static void oversized_bodies_are_refused(void **state)
{
    (void)state;
    size_t size = 1048576 + 10;
    char *body = malloc(size + 1);
    memset(body, ' ', size);
    body[0] = '{';
    body[size - 1] = '}';
    body[size] = '\0';
    /* Declared length over the limit: refused before the body is read. */
    struct http_options options = {.method = "POST", .path = "/v1/auth/token", .body = body};
    struct http_response *response = http_call(&api, &options);
    assert_problem(response, 413, "/problems/payload-too-large");
    http_free(response);
    /* No declared length (chunked): refused once the limit is passed. */
    options.chunked = true;
    response = http_call(&api, &options);
    assert_problem(response, 413, "/problems/payload-too-large");
    http_free(response);
    free(body);
}

static void malformed_json_is_a_clear_400(void **state)
{
    (void)state;
    struct {
        const char *body;
        const char *type;
    } cases[] = {
        {"{\"username\": ", "/problems/malformed-json"},
        {"[\"username\", \"password\"]", "/problems/malformed-json"},
        {"{\"username\": \"a\", \"username\": \"b\", \"password\": \"c\"}",
         "/problems/duplicate-key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response *response =
            http_post_json(&api, "/v1/auth/token", NULL, cases[i].body);
        assert_problem(response, 400, cases[i].type);
        http_free(response);
    }
    /* 33 levels of nesting. */
    char deep[256] = "{\"username\":";
    for (int i = 0; i < 32; i++)
        strcat(deep, "[");
    for (int i = 0; i < 32; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    struct http_response *response = http_post_json(&api, "/v1/auth/token", NULL, deep);
    assert_problem(response, 400, "/problems/json-too-deep");
    http_free(response);

    struct http_options options = {.method = "POST", .path = "/v1/auth/token",
                                   .content_type = "text/plain", .body = "username=a"};
    response = http_call(&api, &options);
    assert_problem(response, 415, "/problems/unsupported-media-type");
    http_free(response);
}

static void invalid_fields_are_all_listed(void **state)
{
    (void)state;
    struct http_response *response =
        http_post_json(&api, "/v1/auth/token", NULL, "{\"username\": 7, \"extra\": true}");
    assert_problem(response, 422, "/problems/validation");
    json_t *errors = json_object_get(response->json, "errors");
    assert_int_equal(json_array_size(errors), 3);
    assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL), "/username");
    assert_string_equal(json_text(json_array_get(errors, 1), "pointer", NULL), "/password");
    assert_string_equal(json_text(json_array_get(errors, 2), "pointer", NULL), "/extra");
    http_free(response);
}

static void sign_in_and_who_am_i(void **state)
{
    (void)state;
    struct http_response *response = http_post_json(
        &api, "/v1/auth/token", NULL,
        "{\"username\": \"Demo_Commune\", \"password\": \"baove-demo\"}");
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "token_type", NULL), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(response->json, "expires_in")), 28800);
    const char *token = json_text(response->json, "access_token", NULL);
    assert_non_null(token);
    assert_true(strlen(token) >= 22); /* at least 128 bits in base64 */

    struct http_response *me = http_get(&api, "/v1/me", token);
    assert_int_equal(me->status, 200);
    assert_string_equal(http_header(me, "Cache-Control"), "no-store");
    assert_string_equal(json_text(me->json, "username", NULL), "demo_commune");
    assert_string_equal(json_text(me->json, "role", NULL), "commune_officer");
    assert_string_equal(json_text(me->json, "kind", NULL), "user");
    assert_string_equal(json_text(me->json, "unit", "code", NULL), "29980");
    assert_string_equal(json_text(me->json, "unit", "name", NULL), "Xã Long Khánh A");
    http_free(me);
    http_free(response);
}

static void wrong_password_and_unknown_user_look_alike(void **state)
{
    (void)state;
    struct http_response *wrong = http_post_json(
        &api, "/v1/auth/token", NULL, "{\"username\": \"demo_viewer\", \"password\": \"nope\"}");
    struct http_response *unknown = http_post_json(
        &api, "/v1/auth/token", NULL, "{\"username\": \"no_such_user\", \"password\": \"nope\"}");
    assert_problem(wrong, 401, "/problems/unauthorized");
    assert_problem(unknown, 401, "/problems/unauthorized");
    assert_string_equal(json_text(wrong->json, "detail", NULL),
                        json_text(unknown->json, "detail", NULL));
    assert_string_equal(http_header(wrong, "WWW-Authenticate"), "Bearer realm=\"baove\"");
    http_free(wrong);
    http_free(unknown);
}

/* Usernames are ASCII (as principals.username allows): a look-alike
 * spelling that PostgreSQL's lower() would fold onto a real name is no
 * way around the throttle, and a long multi-byte one is no 500. */
static void usernames_outside_their_alphabet_are_invalid(void **state)
{
    (void)state;
    char long_name[64 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(long_name, "ệ");
    const char *names[] = {"DEMO_V" "\xc4\xb0" "EWER" /* U+0130 */, long_name, "demo viewer"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"username\": \"%s\", \"password\": \"baove-demo\"}",
                 names[i]);
        struct http_response *response = http_post_json(&api, "/v1/auth/token", NULL, body);
        assert_problem(response, 422, "/problems/validation");
        assert_string_equal(
            json_text(json_array_get(json_object_get(response->json, "errors"), 0), "pointer",
                      NULL),
            "/username");
        http_free(response);
    }
}

static void repeated_failures_are_throttled(void **state)
{
    (void)state;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "throttled",
                                                         "--role", "viewer", "--unit", "870",
                                                         "--password-stdin", NULL},
                                   "right-password\n", NULL),
                     0);
    const char *wrong = "{\"username\": \"throttled\", \"password\": \"wrong\"}";
    for (int attempt = 0; attempt < 5; attempt++) {
        struct http_response *response = http_post_json(&api, "/v1/auth/token", NULL, wrong);
        assert_int_equal(response->status, 401);
        http_free(response);
    }
    /* The sixth attempt, even with the right password, must wait. */
    struct http_response *response = http_post_json(
        &api, "/v1/auth/token", NULL,
        "{\"username\": \"THROTTLED\", \"password\": \"right-password\"}");
    assert_problem(response, 429, "/problems/too-many-requests");
    long retry_after = strtol(http_header(response, "Retry-After"), NULL, 10);
    assert_true(retry_after > 0 && retry_after <= 15 * 60);
    http_free(response);
    /* Other users from the same address are not locked out by it. */
    char *token = harness_login(&api, "demo_viewer", "baove-demo");
    assert_non_null(token);
    free(token);
}

/* A right password whose token cannot be written (here: the database is
 * out of resources) is no failed sign-in: a few such answers during an
 * outage must not lock the user out once the database is back. */
static void a_database_failure_after_a_right_password_is_no_failure(void **state)
{
    (void)state;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "unlucky",
                                                         "--role", "viewer", "--unit", "870",
                                                         "--password-stdin", NULL},
                                   "right-password\n", NULL),
                     0);
    char *made = harness_superuser_text(
        &database,
        "CREATE FUNCTION test_tokens_unwritable() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'out of resources' USING ERRCODE = '53000'; END$$; "
        "CREATE TRIGGER tokens_unwritable BEFORE INSERT ON access_tokens "
        "  FOR EACH ROW EXECUTE FUNCTION test_tokens_unwritable(); SELECT 1");
    assert_non_null(made);
    assert_string_equal(made, "1");
    free(made);
    const char *right = "{\"username\": \"unlucky\", \"password\": \"right-password\"}";
    for (int attempt = 0; attempt < 6; attempt++) {
        struct http_response *response = http_post_json(&api, "/v1/auth/token", NULL, right);
        assert_problem(response, 503, "/problems/database-unavailable");
        http_free(response);
    }
    /* An attempt that cannot even be counted, for the same reason, is the
     * same 503 (it was a 500). */
    made = harness_superuser_text(&database,
                                  "CREATE TRIGGER failures_unwritable BEFORE INSERT ON "
                                  "  login_failures FOR EACH ROW "
                                  "  EXECUTE FUNCTION test_tokens_unwritable(); SELECT 1");
    assert_non_null(made);
    free(made);
    struct http_response *uncounted = http_post_json(&api, "/v1/auth/token", NULL, right);
    assert_problem(uncounted, 503, "/problems/database-unavailable");
    assert_string_equal(http_header(uncounted, "Retry-After"), "1");
    http_free(uncounted);
    char *dropped = harness_superuser_text(&database,
                                           "DROP TRIGGER tokens_unwritable ON access_tokens; "
                                           "DROP TRIGGER failures_unwritable ON login_failures; "
                                           "DROP FUNCTION test_tokens_unwritable(); SELECT 1");
    assert_non_null(dropped);
    free(dropped);
    char *token = harness_login(&api, "unlucky", "right-password");
    assert_non_null(token);
    free(token);
}

/* Rows of login_failures for the pair (pending, this client), written
 * past the API: `count` unconfirmed reservations made at `at`. */
static void reserve_unjudged(int count, const char *at)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "DELETE FROM login_failures; INSERT INTO login_failures "
             "  (subject, failed_at, confirmed) SELECT 'pair:pending|127.0.0.1', '%s', false "
             "  FROM generate_series(1, %d); SELECT 1",
             at, count);
    char *done = harness_superuser_text(&database, sql);
    assert_non_null(done);
    free(done);
}

/* An attempt is reserved as a failure before its password is checked; one
 * never judged (its answer a 503 after the check: the pool full, the
 * database gone, the server stopping) counts for a minute only, and a
 * wrong password confirms its reservation for the whole window. */
static void an_unjudged_attempt_counts_for_a_minute(void **state)
{
    (void)state;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "pending",
                                                         "--role", "viewer", "--unit", "870",
                                                         "--password-stdin", NULL},
                                   "right-password\n", NULL),
                     0);
    const char *right = "{\"username\": \"pending\", \"password\": \"right-password\"}";
    reserve_unjudged(5, "2020-06-15T08:59:30+07:00"); /* 30 seconds ago */
    struct http_response *response = http_post_json(&api, "/v1/auth/token", NULL, right);
    assert_problem(response, 429, "/problems/too-many-requests");
    assert_string_equal(http_header(response, "Retry-After"), "30");
    http_free(response);
    reserve_unjudged(5, "2020-06-15T08:58:30+07:00"); /* 90 seconds ago */
    char *token = harness_login(&api, "pending", "right-password");
    assert_non_null(token);
    free(token);
    response = http_post_json(&api, "/v1/auth/token", NULL,
                              "{\"username\": \"pending\", \"password\": \"wrong\"}");
    assert_int_equal(response->status, 401);
    http_free(response);
    assert_true(harness_query_equals(&database,
                                     "SELECT count(*) FILTER (WHERE confirmed) || ' of ' || "
                                     "count(*) FROM login_failures "
                                     " WHERE subject = 'pair:pending|127.0.0.1'",
                                     "1 of 1"));
    char *cleared = harness_superuser_text(&database, "DELETE FROM login_failures; SELECT 1");
    assert_non_null(cleared);
    free(cleared);
}

/* One sign-in through a proxy at 127.0.0.1: the address it vouches for in
 * `proxy_header`, and a header the client wrote itself. */
static long sign_in_through_proxy(const struct test_process *behind_proxy, const char *password,
                                  const char *proxy_header, const char *client_header)
{
    char body[128];
    snprintf(body, sizeof body, "{\"username\": \"proxied\", \"password\": \"%s\"}",
             password);
    struct http_options options = {
        .method = "POST", .path = "/v1/auth/token", .body = body,
        .headers = (const char *const[]){proxy_header, client_header, NULL}};
    struct http_response *response = http_call(behind_proxy, &options);
    long status = response->status;
    http_free(response);
    return status;
}

/* "Name: value" naming `address` in the syntax of that header. */
static void address_header(char *out, size_t size, const char *name, const char *address)
{
    if (strcmp(name, "Forwarded") == 0)
        snprintf(out, size, "Forwarded: for=\"%s:4711\"", address); /* quoted, with a port */
    else
        snprintf(out, size, "%s: %s", name, address);
}

/* Guesses from one address, each carrying the other header with a new
 * address of the client's choosing: throttled all the same, and only
 * that address's pair is locked. */
static void expect_throttled_by(const char *header_setting, const char *proxy_name,
                                const char *client_name)
{
    char setting[64];
    snprintf(setting, sizeof setting, "BAOVE_TRUSTED_PROXY_HEADER=%s", header_setting);
    const char *env[] = {"BAOVE_NOW=" FOUNDATION_NOW, "BAOVE_TRUSTED_PROXIES=127.0.0.1",
                         setting, NULL};
    struct test_process behind_proxy;
    assert_true(harness_start_api(&database, env, &behind_proxy));
    char guesser[80], other[80], chosen[80], address[32];
    address_header(guesser, sizeof guesser, proxy_name, "192.0.2.50");
    address_header(other, sizeof other, proxy_name, "192.0.2.60");
    for (int attempt = 0; attempt < 6; attempt++) {
        snprintf(address, sizeof address, "198.51.100.%d", attempt + 1);
        address_header(chosen, sizeof chosen, client_name, address);
        assert_int_equal(sign_in_through_proxy(&behind_proxy,
                                               attempt < 5 ? "wrong" : "right-password",
                                               guesser, chosen),
                         attempt < 5 ? 401 : 429);
    }
    /* The owner, from elsewhere, even with a client header naming the
     * guesser's address. */
    address_header(chosen, sizeof chosen, client_name, "192.0.2.50");
    assert_int_equal(sign_in_through_proxy(&behind_proxy, "right-password", other, chosen), 200);
    assert_int_equal(harness_stop(&behind_proxy), 0);
    char *cleared = harness_superuser_text(&database, "DELETE FROM login_failures; SELECT 1");
    assert_non_null(cleared);
    free(cleared);
}

/* Behind a proxy, the client's address is what the one header the proxy
 * writes says; the other header is the client's own and means nothing (a
 * proxy appending to X-Forwarded-For passes a client's Forwarded through,
 * and reading it let a guesser escape throttling or lock out others). */
static void only_the_proxys_header_names_the_client(void **state)
{
    (void)state;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "proxied",
                                                         "--role", "viewer", "--unit", "870",
                                                         "--password-stdin", NULL},
                                   "right-password\n", NULL),
                     0);
    expect_throttled_by("x-forwarded-for", "X-Forwarded-For", "Forwarded");
    expect_throttled_by("forwarded", "Forwarded", "X-Forwarded-For");
    /* An IPv6 client is its /64: each of its addresses is not a fresh
     * address to guess from. */
    const char *xff_env[] = {"BAOVE_NOW=" FOUNDATION_NOW, "BAOVE_TRUSTED_PROXIES=127.0.0.1",
                             NULL};
    struct test_process behind_proxy;
    assert_true(harness_start_api(&database, xff_env, &behind_proxy));
    char address[64];
    for (int attempt = 0; attempt < 6; attempt++) {
        snprintf(address, sizeof address, "X-Forwarded-For: 2001:db8:1:2::%x", attempt + 1);
        assert_int_equal(sign_in_through_proxy(&behind_proxy,
                                               attempt < 5 ? "wrong" : "right-password",
                                               address, NULL),
                         attempt < 5 ? 401 : 429);
    }
    assert_int_equal(sign_in_through_proxy(&behind_proxy, "right-password",
                                           "X-Forwarded-For: 2001:db8:1:3::1", NULL),
                     200);
    assert_int_equal(harness_stop(&behind_proxy), 0);
    /* No third choice. */
    const char *env[] = {"BAOVE_NOW=" FOUNDATION_NOW, "BAOVE_TRUSTED_PROXIES=127.0.0.1",
                         "BAOVE_TRUSTED_PROXY_HEADER=bogus", NULL};
    struct test_process refused;
    assert_false(harness_start_api(&database, env, &refused));
}

static void expect_unauthorized(const char *token)
{
    struct http_response *response = http_get(&api, "/v1/me", token);
    assert_problem(response, 401, "/problems/unauthorized");
    assert_non_null(strstr(http_header(response, "WWW-Authenticate"), "Bearer"));
    http_free(response);
}

static void bad_tokens_are_refused(void **state)
{
    (void)state;
    expect_unauthorized(NULL);
    expect_unauthorized("bvt_not-a-real-token");

    /* Revoked: works before, not after. */
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    struct http_response *response = http_post_json(&api, "/v1/auth/revoke", token, NULL);
    assert_int_equal(response->status, 204);
    assert_int_equal(response->length, 0);
    http_free(response);
    expect_unauthorized(token);
    free(token);

    /* Expired: issued for one hour in 2020. */
    char *expired = NULL;
    const char *argv[] = {harness_env("BAOVE_ADMIN_BIN"), "token", "issue", "--username",
                          "demo_district", "--ttl", "1h", NULL};
    char url[600];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    const char *env[] = {url, "BAOVE_NOW=2020-01-02T08:00:00+07:00", NULL};
    assert_int_equal(harness_run(argv, env, NULL, &expired), 0);
    expired[strcspn(expired, "\n")] = '\0';
    expect_unauthorized(expired);
    free(expired);

    /* A disabled user's tokens stop working at once. */
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "leaver",
                                                         "--role", "collaborator", "--unit",
                                                         "29983", "--password-stdin", NULL},
                                   "pw-of-leaver\n", NULL),
                     0);
    token = harness_login(&api, "leaver", "pw-of-leaver");
    assert_non_null(token);
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "disable", "--username",
                                                         "leaver", NULL}, NULL, NULL), 0);
    expect_unauthorized(token);
    free(token);
}

static void api_keys_identify_machine_clients(void **state)
{
    (void)state;
    char *key = NULL;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"apikey", "issue", "--client",
                                                         "provincial-db", "--role", "sync_client",
                                                         "--unit", "87", NULL}, NULL, &key), 0);
    key[strcspn(key, "\n")] = '\0';
    assert_memory_equal(key, "bvk_", 4);
    struct http_response *me = http_get(&api, "/v1/me", key);
    assert_int_equal(me->status, 200);
    assert_string_equal(json_text(me->json, "kind", NULL), "client");
    assert_string_equal(json_text(me->json, "role", NULL), "sync_client");
    assert_string_equal(json_text(me->json, "unit", "code", NULL), "87");
    http_free(me);
    free(key);
}

/* Runs baove-admin; returns its stdout's first line (caller frees), NULL
 * when it failed. */
static char *admin_line(const char *const args[], const char *const env[])
{
    const char *argv[16] = {harness_env("BAOVE_ADMIN_BIN")};
    size_t count = 1;
    for (size_t i = 0; args[i] != NULL && count < 15; i++)
        argv[count++] = args[i];
    char url[600];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    /* The API of these tests stands on FOUNDATION_NOW: so does the tool,
     * unless told otherwise (units are resolved in the tree valid then). */
    const char *environment[4] = {url, env != NULL ? env[0] : "BAOVE_NOW=" FOUNDATION_NOW,
                                  NULL};
    char *printed = NULL;
    if (harness_run(argv, environment, NULL, &printed) != 0) {
        free(printed);
        return NULL;
    }
    printed[strcspn(printed, "\n")] = '\0';
    return printed;
}

static void expect_signed_in(const char *token)
{
    struct http_response *me = http_get(&api, "/v1/me", token);
    assert_int_equal(me->status, 200);
    http_free(me);
}

/* One name, one client; keys listed, rotated (with a grace, or not),
 * revoked, and expiring; a reset password ends the old sessions. */
static void api_keys_and_passwords_over_their_lifetime(void **state)
{
    (void)state;
    const char *issue[] = {"apikey", "issue", "--client", "mobile-sync", "--role",
                           "sync_client", "--unit", "87", "--ttl", "90d", NULL};
    char *first = admin_line(issue, NULL);
    assert_non_null(first);
    expect_signed_in(first);
    assert_null(admin_line(issue, NULL)); /* the name is taken */
    /* Rotation with a grace: both work until the grace ends. */
    const char *rotate[] = {"apikey", "rotate", "--client", "mobile-sync", "--grace", "1h", NULL};
    char *second = admin_line(rotate, NULL);
    assert_non_null(second);
    expect_signed_in(first);
    expect_signed_in(second);
    char *list = NULL;
    assert_int_equal(harness_admin(&database, (const char *const[]){"apikey", "list", NULL},
                                   NULL, &list), 0);
    assert_non_null(strstr(list, "client\trole\tunit\tkey\tissued\texpires\tstate\n"));
    assert_non_null(strstr(list, "mobile-sync\tsync_client\t87\t"));
    assert_null(strstr(list, first)); /* never the key itself */
    free(list);
    /* Without a grace the old key ends at once. */
    char *third = admin_line((const char *const[]){"apikey", "rotate", "--client", "mobile-sync",
                                                   NULL}, NULL);
    assert_non_null(third);
    expect_unauthorized(first);
    expect_unauthorized(second);
    expect_signed_in(third);
    char *revoked = admin_line((const char *const[]){"apikey", "revoke", "--client",
                                                     "mobile-sync", NULL}, NULL);
    assert_non_null(revoked);
    free(revoked);
    expect_unauthorized(third);
    /* A key issued in 2020 for a day is expired now. */
    char *expired = admin_line((const char *const[]){"apikey", "issue", "--client", "old-sync",
                                                     "--role", "sync_client", "--unit", "87",
                                                     "--ttl", "1d", NULL},
                               (const char *const[]){"BAOVE_NOW=2020-01-02T08:00:00+07:00"});
    assert_non_null(expired);
    expect_unauthorized(expired);
    assert_null(admin_line((const char *const[]){"apikey", "revoke", "--client", "nobody",
                                                 NULL}, NULL));
    free(first);
    free(second);
    free(third);
    free(expired);

    /* reset-password: the old password and its sessions end. */
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "forgetful",
                                                         "--role", "viewer", "--unit", "870",
                                                         "--password-stdin", NULL},
                                   "old-password\n", NULL), 0);
    char *session = harness_login(&api, "forgetful", "old-password");
    assert_non_null(session);
    char *password = admin_line((const char *const[]){"user", "reset-password", "--username",
                                                      "forgetful", NULL}, NULL);
    assert_non_null(password);
    expect_unauthorized(session);
    free(session);
    assert_null(harness_login(&api, "forgetful", "old-password"));
    session = harness_login(&api, "forgetful", password);
    assert_non_null(session);
    expect_signed_in(session);
    free(session);
    free(password);
    char *users = NULL;
    assert_int_equal(harness_admin(&database, (const char *const[]){"user", "list", NULL}, NULL,
                                   &users), 0);
    assert_non_null(strstr(users, "\nforgetful\tviewer\t870\t"));
    assert_null(strstr(users, "mobile-sync")); /* clients are not people */
    free(users);
}

/* True when the unit list contains `code`. */
static bool lists_unit(const struct http_response *response, const char *code)
{
    json_t *items = json_object_get(response->json, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(json_text(json_array_get(items, i), "code", NULL), code) == 0)
            return true;
    return false;
}

static void units_follow_the_calendar(void **state)
{
    (void)state;
    char *token = harness_login(&api, "demo_collaborator", "baove-demo");
    struct http_response *in_2019 = http_get(&api, "/v1/units?on=2019-06-01", token);
    struct http_response *in_2020 = http_get(&api, "/v1/units?on=2020-06-01", token);
    struct http_response *today = http_get(&api, "/v1/units", token);
    assert_int_equal(in_2019->status, 200);
    assert_int_equal(json_array_size(json_object_get(in_2019->json, "items")), 13);
    assert_true(lists_unit(in_2019, "29968"));
    assert_int_equal(json_array_size(json_object_get(in_2020->json, "items")), 12);
    assert_false(lists_unit(in_2020, "29968"));
    assert_true(lists_unit(today, "29980"));
    /* Parents come before their children. */
    json_t *first = json_array_get(json_object_get(in_2020->json, "items"), 0);
    assert_string_equal(json_text(first, "code", NULL), "87");
    assert_true(json_is_null(json_object_get(first, "parent_code")));
    http_free(in_2019);
    http_free(in_2020);
    http_free(today);

    struct http_response *lac = http_get(&api, "/v1/units/29977?on=2020-06-01", token);
    assert_int_equal(lac->status, 200);
    assert_string_equal(json_text(lac->json, "name", NULL), "Xã Thường Lạc");
    json_t *predecessor = json_array_get(json_object_get(lac->json, "predecessors"), 0);
    assert_string_equal(json_text(predecessor, "code", NULL), "29968");
    assert_string_equal(json_text(predecessor, "effective_on", NULL), "2020-01-01");
    http_free(lac);

    struct http_response *district = http_get(&api, "/v1/units/870?on=2020-06-01", token);
    assert_int_equal(json_array_size(json_object_get(district->json, "children")), 10);
    http_free(district);

    struct http_response *gone = http_get(&api, "/v1/units/29968?on=2020-06-01", token);
    assert_problem(gone, 404, "/problems/not-found");
    http_free(gone);

    struct http_response *bad = http_get(&api, "/v1/units?on=2019-02-29", token);
    assert_problem(bad, 400, "/problems/invalid-parameter");
    assert_string_equal(
        json_text(json_array_get(json_object_get(bad->json, "errors"), 0), "parameter", NULL),
        "on");
    http_free(bad);
    free(token);
}

static void problem_types_have_pages(void **state)
{
    (void)state;
    struct http_response *page = http_get(&api, "/problems/validation", NULL);
    assert_int_equal(page->status, 200);
    assert_string_equal(page->content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(page->body, "Validation failed"));
    http_free(page);
    struct http_response *missing = http_get(&api, "/problems/no-such-thing", NULL);
    assert_problem(missing, 404, "/problems/not-found");
    http_free(missing);
    /* The page is in both languages. */
    page = http_get(&api, "/problems/validation", NULL);
    assert_non_null(strstr(page->body, "<section lang=\"vi\"><h2>Dữ liệu không hợp lệ</h2>"));
    http_free(page);
}

/* Accept-Language preferring Vietnamese: the same type and status, the
 * title and detail in Vietnamese, said in Content-Language. */
static void problems_speak_vietnamese_when_asked(void **state)
{
    (void)state;
    const char *vietnamese[] = {"Accept-Language: vi-VN,vi;q=0.9,en;q=0.5", NULL};
    struct http_response *response =
        http_call(&api, &(struct http_options){.path = "/v1/me", .headers = vietnamese});
    assert_problem(response, 401, "/problems/unauthorized");
    assert_string_equal(json_text(response->json, "title", NULL), "Cần đăng nhập");
    assert_non_null(strstr(json_text(response->json, "detail", NULL), "Hãy đăng nhập"));
    assert_string_equal(http_header(response, "Content-Language"), "vi");
    http_free(response);
    /* A detail without a translation keeps the English in brackets. */
    response = http_call(&api, &(struct http_options){
                                   .method = "POST", .path = "/v1/children", .headers = vietnamese});
    assert_problem(response, 405, "/problems/method-not-allowed");
    assert_string_equal(json_text(response->json, "title", NULL),
                        "Phương thức không được hỗ trợ");
    assert_string_equal(json_text(response->json, "detail", NULL),
                        "Đường dẫn này chỉ hỗ trợ: GET.");
    http_free(response);
    /* English preferred, or no preference: English. */
    const char *english[] = {"Accept-Language: en-GB, vi;q=0.8", NULL};
    response = http_call(&api, &(struct http_options){.path = "/v1/me", .headers = english});
    assert_string_equal(json_text(response->json, "title", NULL), "Authentication required");
    assert_null(http_header(response, "Content-Language"));
    http_free(response);
}

static void metrics_count_what_happened(void **state)
{
    (void)state;
    struct http_response *metrics = http_get(&api, "/metrics", NULL);
    assert_int_equal(metrics->status, 200);
    assert_string_equal(metrics->content_type, "text/plain; version=0.0.4; charset=utf-8");
    const char *expected[] = {
        "baove_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "baove_http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"}",
        "baove_http_requests_total{method=\"POST\",route=\"/v1/auth/token\",status=\"429\"}",
        "baove_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/me\",le=\"+Inf\"}",
        "baove_database_errors_total ",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (strstr(metrics->body, expected[i]) == NULL)
            fail_msg("metrics lack %s", expected[i]);
    /* This very request is in flight while the text is rendered (the
     * previous connection's completion may still be counted too). */
    const char *gauge = strstr(metrics->body, "\nbaove_http_requests_in_flight ");
    assert_non_null(gauge);
    assert_true(strtol(gauge + strlen("\nbaove_http_requests_in_flight "), NULL, 10) >= 1);
    http_free(metrics);
}

int main(void)
{
    harness_init("foundation");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_answers_and_echoes_request_ids),
        cmocka_unit_test(unknown_paths_and_methods),
        cmocka_unit_test(oversized_bodies_are_refused),
        cmocka_unit_test(malformed_json_is_a_clear_400),
        cmocka_unit_test(invalid_fields_are_all_listed),
        cmocka_unit_test(sign_in_and_who_am_i),
        cmocka_unit_test(wrong_password_and_unknown_user_look_alike),
        cmocka_unit_test(usernames_outside_their_alphabet_are_invalid),
        cmocka_unit_test(repeated_failures_are_throttled),
        cmocka_unit_test(a_database_failure_after_a_right_password_is_no_failure),
        cmocka_unit_test(an_unjudged_attempt_counts_for_a_minute),
        cmocka_unit_test(only_the_proxys_header_names_the_client),
        cmocka_unit_test(bad_tokens_are_refused),
        cmocka_unit_test(api_keys_identify_machine_clients),
        cmocka_unit_test(api_keys_and_passwords_over_their_lifetime),
        cmocka_unit_test(units_follow_the_calendar),
        cmocka_unit_test(problem_types_have_pages),
        cmocka_unit_test(problems_speak_vietnamese_when_asked),
        cmocka_unit_test(metrics_count_what_happened),
    };
    int failed = cmocka_run_group_tests_name("foundation", tests, setup, teardown);
    harness_finish();
    return failed;
}
