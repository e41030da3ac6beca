/* What happens when the database is not there or stuck: readiness follows
 * it, the API and the worker reconnect on their own, pending migrations keep
 * the API not ready, a request stuck on a lock holds up no other.  These tests stop and start the whole test cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* harness_put_child's child is of the 2020 tree (Long Khánh A 29980): the
 * tests that write it stand on a day of that tree. */
#define RESILIENCE_NOW "2020-06-15T09:00:00+07:00"

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
    assert_true(harness_create_database_on("baove_t_outage", true, true, RESILIENCE_NOW,
                                           &database));
    struct test_process api;
    const char *env[] = {"BAOVE_NOW=" RESILIENCE_NOW, NULL};
    assert_true(harness_start_api(&database, env, &api));
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

/* ---- a request waiting on a lock ------------------------------------------ */

#define HELD_CHILD "3e0c9f4a-2b1d-4c5e-8f70-a1b2c3d4e5f6"

struct waiting_patch {
    const struct test_process *api;
    const char *token;
    long status;
};

static void *patch_held_child(void *context)
{
    struct waiting_patch *patch = context;
    struct http_options options = {
        .method = "PATCH", .path = "/v1/children/" HELD_CHILD, .token = patch->token,
        .content_type = "application/merge-patch+json", .body = "{\"hamlet\":\"Ấp 2\"}",
        .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *response = http_call(patch->api, &options);
    patch->status = response->status;
    http_free(response);
    return NULL;
}

/* Sessions waiting for a lock, until there are `count` (a condition, not a
 * duration; gives up after 30 s). */
static void wait_for_lock_waiters(PGconn *observer, int count)
{
    for (int tries = 0; tries < 3000; tries++) {
        PGresult *result =
            PQexec(observer, "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted");
        int waiting = PQresultStatus(result) == PGRES_TUPLES_OK ? atoi(PQgetvalue(result, 0, 0))
                                                                 : -1;
        PQclear(result);
        if (waiting >= count)
            return;
        usleep(10000);
    }
    fail_msg("fewer than %d sessions ever waited on a lock", count);
}

/* Every HTTP connection has its own thread and database connections come
 * from a pool: a request stuck on a row lock holds up nobody else; when
 * every pooled connection is stuck, others get 503 with Retry-After once
 * BAOVE_DB_WAIT_MS has passed, and everything works again once the lock
 * goes. */
static void a_request_waiting_on_a_lock_holds_up_no_one_else(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database_on("baove_t_pool", true, true, RESILIENCE_NOW,
                                           &database));
    struct test_process api;
    const char *env[] = {"BAOVE_DB_CONNECTIONS=2", "BAOVE_DB_WAIT_MS=300",
                         "BAOVE_NOW=" RESILIENCE_NOW, NULL};
    assert_true(harness_start_api(&database, env, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    assert_int_equal(harness_put_child(&api, token, HELD_CHILD), 201);

    PGconn *holder = PQconnectdb(database.admin_url);
    PGconn *observer = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    assert_int_equal(PQstatus(observer), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *locked =
        PQexec(holder, "SELECT 1 FROM children WHERE id = '" HELD_CHILD "' FOR UPDATE");
    assert_int_equal(PQresultStatus(locked), PGRES_TUPLES_OK);
    PQclear(locked);

    struct waiting_patch patches[2] = {{&api, token, 0}, {&api, token, 0}};
    pthread_t threads[2];
    assert_int_equal(pthread_create(&threads[0], NULL, patch_held_child, &patches[0]), 0);
    wait_for_lock_waiters(observer, 1);
    /* One pooled connection waits on the lock: the other serves. */
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    assert_int_equal(pthread_create(&threads[1], NULL, patch_held_child, &patches[1]), 0);
    wait_for_lock_waiters(observer, 2);
    /* Both wait: a third request gets 503 after BAOVE_DB_WAIT_MS. */
    struct http_response *busy = http_get(&api, "/v1/me", token);
    assert_int_equal(busy->status, 503);
    assert_string_equal(json_text(busy->json, "type", NULL), "/problems/database-unavailable");
    assert_string_equal(http_header(busy, "Retry-After"), "1");
    http_free(busy);

    PQclear(PQexec(holder, "COMMIT"));
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    /* The first writer wins; the second carried the same If-Match. */
    assert_int_equal(patches[0].status + patches[1].status, 200 + 412);
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    PQfinish(holder);
    PQfinish(observer);
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

/* `baove-worker --once` from cron must end even when the database never
 * comes: after BAOVE_WORKER_ONCE_DEADLINE_SECONDS it gives up, exit 1. */
static void a_once_run_gives_up_without_a_database(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_once_down", true, false, &database));
    assert_true(harness_cluster("stop"));
    char url[600];
    snprintf(url, sizeof url, "DATABASE_URL=%s", database.app_url);
    const char *const env[] = {url, "BAOVE_WORKER_ONCE_DEADLINE_SECONDS=2", NULL};
    const char *const argv[] = {harness_env("BAOVE_WORKER_BIN"), "--once", NULL};
    int status = harness_run(argv, env, NULL, NULL);
    assert_true(harness_cluster("start"));
    assert_int_equal(status, 1);
}

int main(void)
{
    harness_init("resilience");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_migrations_mean_not_ready),
        cmocka_unit_test(the_api_recovers_when_the_database_returns),
        cmocka_unit_test(a_request_waiting_on_a_lock_holds_up_no_one_else),
        cmocka_unit_test(the_worker_reconnects_and_stops_cleanly),
        cmocka_unit_test(a_once_run_gives_up_without_a_database),
    };
    int failed = cmocka_run_group_tests_name("resilience", tests, NULL, NULL);
    harness_finish();
    return failed;
}
