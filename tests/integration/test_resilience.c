/* What happens when the database is not there: readiness follows it, the
 * API and the worker reconnect on their own, pending migrations keep the API
 * not ready.  These tests stop and start the whole test cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static long status_of(const struct test_process *api, const char *path, const char *token,
                      const char *expected_type)
{
    struct http_response *response = http_get(api, path, token);
    long status = response->status;
    if (expected_type != NULL)
        assert_string_equal(json_text(response->json, "type", NULL), expected_type);
    http_free(response);
    return status;
}

static void pending_migrations_mean_not_ready(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_pending", false, false, &database));
    struct test_process api;
    assert_true(harness_start_api(&database, NULL, &api));
    assert_int_equal(status_of(&api, "/readyz", NULL, "/problems/not-ready"), 503);
    assert_int_equal(status_of(&api, "/healthz", NULL, NULL), 200);
    assert_int_equal(harness_admin(&database, (const char *const[]){"migrate", NULL}, NULL, NULL),
                     0);
    assert_int_equal(status_of(&api, "/readyz", NULL, NULL), 200);
    assert_int_equal(harness_stop(&api), 0);
}

static void the_api_recovers_when_the_database_returns(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_outage", true, true, &database));
    struct test_process api;
    assert_true(harness_start_api(&database, NULL, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);

    assert_true(harness_cluster("stop"));
    assert_int_equal(status_of(&api, "/readyz", NULL, "/problems/not-ready"), 503);
    assert_int_equal(status_of(&api, "/v1/me", token, "/problems/database-unavailable"), 503);
    assert_int_equal(status_of(&api, "/healthz", NULL, NULL), 200);

    assert_true(harness_cluster("start"));
    /* Same process, no restart: every pool thread reconnects by itself. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(status_of(&api, "/readyz", NULL, NULL), 200);
        assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    }
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

static void the_worker_reconnects_and_stops_cleanly(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_worker", true, false, &database));
    struct test_process worker;
    assert_true(harness_start_worker(&database, NULL, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_ready\"", 1, 20));
    assert_true(harness_cluster("stop"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_lost\"", 1, 20));
    assert_true(harness_cluster("start"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_ready\"", 2, 60));
    assert_int_equal(harness_stop(&worker), 0);
    assert_true(harness_wait_for_log(&worker, "\"event\":\"stopped\"", 1, 1));
}

int main(void)
{
    harness_init("resilience");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_migrations_mean_not_ready),
        cmocka_unit_test(the_api_recovers_when_the_database_returns),
        cmocka_unit_test(the_worker_reconnects_and_stops_cleanly),
    };
    int failed = cmocka_run_group_tests_name("resilience", tests, NULL, NULL);
    harness_finish();
    return failed;
}
