/* The API in headless Chromium (tests/contract/browser/browser.mjs): the
 * /docs page renders the operation list without console errors (its
 * screenshot kept in var/test-artefacts/docs.png), a page from an origin of
 * BAOVE_CORS_ORIGINS signs in and reads a child with fetch, and the same
 * page from another origin is refused by the browser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CHILD "5a1c0b6e-2f3d-4e8a-9b7c-6d5e4f3a2b1c"

static struct test_database database;
static struct test_process api;
static int allowed_port, other_port;

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database("baove_t_browser", true, true, &database))
        return -1;
    allowed_port = harness_free_port();
    other_port = harness_free_port();
    char origins[128];
    snprintf(origins, sizeof origins, "BAOVE_CORS_ORIGINS=http://127.0.0.1:%d", allowed_port);
    const char *env[] = {origins, NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    char *commune = harness_login(&api, "demo_commune", "baove-demo");
    struct http_response *created = http_call(
        &api, &(struct http_options){
                  .method = "PUT", .path = "/v1/children/" CHILD, .token = commune,
                  .body = "{\"unit\":\"29983\",\"full_name\":\"Lê Văn Trình Duyệt\","
                          "\"sex\":\"male\",\"date_of_birth\":\"2011-02-03\"}"});
    int status = (int)created->status;
    http_free(created);
    free(commune);
    return status == 201 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&api);
    return 0;
}

static void docs_and_cors_in_chromium(void **state)
{
    (void)state;
    char url[128], allowed[64], other[64], screenshot[700];
    snprintf(url, sizeof url, "BAOVE_API_URL=http://127.0.0.1:%d", api.port);
    snprintf(allowed, sizeof allowed, "BAOVE_ALLOWED_PORT=%d", allowed_port);
    snprintf(other, sizeof other, "BAOVE_OTHER_PORT=%d", other_port);
    snprintf(screenshot, sizeof screenshot, "BAOVE_SCREENSHOT=%s/docs.png",
             harness_env("BAOVE_ARTEFACT_DIR"));
    const char *argv[] = {"/usr/bin/env", "node", harness_env("BAOVE_BROWSER_SCRIPT"), NULL};
    const char *env[] = {url, allowed, other, "BAOVE_CHILD_ID=" CHILD, screenshot, NULL};
    assert_int_equal(harness_run(argv, env, NULL, NULL), 0);
}

/* The same rules without a browser: what the preflight and the answer say. */
static void preflights_and_exposed_headers(void **state)
{
    (void)state;
    char origin[64], stranger[] = "Origin: http://127.0.0.1:1";
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d", allowed_port);
    const char *preflight[] = {origin, "Access-Control-Request-Method: GET",
                               "Access-Control-Request-Headers: authorization", NULL};
    struct http_response *response = http_call(
        &api, &(struct http_options){.method = "OPTIONS", .path = "/v1/children/" CHILD,
                                     .headers = preflight});
    assert_int_equal(response->status, 204);
    assert_string_equal(http_header(response, "Access-Control-Allow-Origin"), origin + 8);
    assert_non_null(strstr(http_header(response, "Access-Control-Allow-Methods"), "PATCH"));
    assert_non_null(strstr(http_header(response, "Access-Control-Allow-Headers"), "If-Match"));
    http_free(response);
    const char *refused[] = {stranger, "Access-Control-Request-Method: GET", NULL};
    response = http_call(&api, &(struct http_options){.method = "OPTIONS",
                                                      .path = "/v1/children", .headers = refused});
    assert_int_equal(response->status, 405);
    assert_null(http_header(response, "Access-Control-Allow-Origin"));
    http_free(response);
    const char *simple[] = {origin, NULL};
    response = http_call(&api, &(struct http_options){.path = "/healthz", .headers = simple});
    assert_int_equal(response->status, 200);
    assert_non_null(strstr(http_header(response, "Access-Control-Expose-Headers"), "ETag"));
    http_free(response);
    /* The contract itself, and the docs page's script. */
    response = http_get(&api, "/openapi.yaml", NULL);
    assert_int_equal(response->status, 200);
    assert_non_null(strstr(response->body, "openapi: 3.1.0"));
    http_free(response);
    response = http_get(&api, "/docs", NULL);
    assert_int_equal(response->status, 200);
    assert_non_null(strstr(response->body, "<redoc spec-url=\"/openapi.yaml\""));
    http_free(response);
    response = http_get(&api, "/docs/redoc.standalone.js", NULL);
    assert_int_equal(response->status, 200);
    assert_null(strstr(response->body, "cdn.redoc.ly")); /* nothing fetched from elsewhere */
    http_free(response);
}

int main(void)
{
    harness_init("browser");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(preflights_and_exposed_headers),
        cmocka_unit_test(docs_and_cors_in_chromium),
    };
    int failed = cmocka_run_group_tests_name("browser", tests, setup, teardown);
    harness_finish();
    return failed;
}
