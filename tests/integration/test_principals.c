/* The principal cache (api/http/principal_cache.h) end to end: a token used
 * once is not looked up again (counted in pg_stat_statements), and a change
 * made by someone else — another API process, an administrator in SQL or
 * baove-admin — is seen on the very next request: a revoked token or a
 * disabled account answers 401, a role without the route's permission 403
 * (and 200 again once it has it back), a moved account the new unit's
 * scope.  Each is checked over more requests than the API has pooled
 * connections (4, harness.c), so that no connection's session state can
 * hide it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TODAY "2020-06-15T09:00:00+07:00"
#define REQUESTS 10 /* more than the pool's connections */
#define IN_29980 "5a1e0c3b-7d2f-4e61-9a40-2b3c4d5e6f70"
#define IN_29983 "6b2f1d4c-8e3a-4f72-8b51-3c4d5e6f7a81"

static struct test_database database;
static struct test_process api;
static char *district;

/* Adds a user with this role in this unit and signs in; the token (caller
 * frees), used once so that the API has its principal in the cache. */
static char *signed_in(const char *username, const char *role, const char *unit)
{
    const char *const add[] = {"user", "add", "--username", username, "--role", role,
                               "--unit", unit, "--password-stdin", NULL};
    if (harness_admin(&database, add, "pw-of-a-tester\n", NULL) != 0)
        return NULL;
    char *token = harness_login(&api, username, "pw-of-a-tester");
    struct http_response *me = token != NULL ? http_get(&api, "/v1/me", token) : NULL;
    bool ok = me != NULL && me->status == 200;
    http_free(me);
    if (!ok) {
        free(token);
        return NULL;
    }
    return token;
}

static long get_status(const char *path, const char *token)
{
    struct http_response *response = http_get(&api, path, token);
    long status = response->status;
    http_free(response);
    return status;
}

/* Asserts that each of REQUESTS GETs of path answers `expected`. */
static void expect_each(const char *path, const char *token, long expected)
{
    for (int i = 0; i < REQUESTS; i++)
        assert_int_equal(get_status(path, token), expected);
}

/* Runs SQL as the database's owner, as an administrator (or another API
 * process) would. */
static void owner_sql(const char *sql)
{
    char *result = harness_sql(database.admin_url, sql);
    assert_non_null(result);
    free(result);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_principals", true, true, TODAY, &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" TODAY, NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    district = harness_login(&api, "demo_district", "baove-demo");
    if (district == NULL || harness_put_child(&api, district, IN_29980) != 201)
        return -1;
    struct http_options other = {
        .method = "PUT", .path = "/v1/children/" IN_29983, .token = district,
        .body = "{\"unit\":\"29983\",\"full_name\":\"Lê Thị Bình\",\"sex\":\"female\","
                "\"date_of_birth\":\"2014-09-30\",\"registered_on\":\"2020-02-03\"}"};
    struct http_response *created = http_call(&api, &other);
    long status = created->status;
    http_free(created);
    return status == 201 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* How many times the API has looked a token up in this database: the calls
 * of its lookup statement (api_authenticate), top-level only (scope_enter()'s
 * own check is a statement inside a function). */
static long long token_lookups(void)
{
    long long count = harness_statement_calls(
        &database, "%unit_successions%FROM access_tokens t JOIN principals p%");
    assert_true(count >= 0);
    return count;
}

static void a_known_token_is_not_looked_up_again(void **state)
{
    (void)state;
    if (!harness_track_statements(&database))
        fail_msg("pg_stat_statements is not loaded: restart the test cluster (scripts/pg.sh "
                 "stop, start) so that it reads shared_preload_libraries");
    long long before = token_lookups();
    char *token = signed_in("counted", "commune_officer", "29980"); /* one lookup (/v1/me) */
    assert_non_null(token);
    assert_int_equal(token_lookups(), before + 1);
    expect_each("/v1/children/" IN_29980, token, 200);
    expect_each("/v1/children?unit=29980", token, 200);
    assert_int_equal(token_lookups(), before + 1);
    free(token);
}

static void a_token_revoked_elsewhere_answers_401_next(void **state)
{
    (void)state;
    char *token = signed_in("revoked", "commune_officer", "29980");
    assert_non_null(token);
    expect_each("/v1/children/" IN_29980, token, 200);
    owner_sql("UPDATE access_tokens SET revoked_at = '" TODAY "' WHERE principal_id = "
              "(SELECT id FROM principals WHERE username = 'revoked')");
    expect_each("/v1/children/" IN_29980, token, 401);
    free(token);
}

static void a_disabled_account_answers_401_next(void **state)
{
    (void)state;
    char *token = signed_in("disabled", "collaborator", "29980");
    assert_non_null(token);
    expect_each("/v1/children/" IN_29980, token, 200);
    owner_sql("UPDATE principals SET disabled_at = '" TODAY "' WHERE username = 'disabled'");
    expect_each("/v1/children/" IN_29980, token, 401);
    free(token);
}

/* Down to a role without the route's permission, and back up, by
 * `baove-admin user set-role` (audited): the 403 of a role from the cache is
 * judged again by the real lookup. */
static void a_role_change_is_judged_on_the_next_request(void **state)
{
    (void)state;
    char *token = signed_in("demoted", "commune_officer", "29980");
    assert_non_null(token);
    expect_each("/v1/children/" IN_29980, token, 200);
    const char *const demote[] = {"user", "set-role", "--username", "demoted", "--role",
                                  "viewer", NULL};
    assert_int_equal(harness_admin(&database, demote, NULL, NULL), 0);
    expect_each("/v1/children/" IN_29980, token, 403);
    const char *const restore[] = {"user", "set-role", "--username", "demoted", "--role",
                                   "commune_officer", NULL};
    assert_int_equal(harness_admin(&database, restore, NULL, NULL), 0);
    expect_each("/v1/children/" IN_29980, token, 200);
    assert_true(harness_query_equals(
        &database,
        "SELECT count(*) FROM audit_log a JOIN principals p ON p.id = ANY (a.resource_ids) "
        "WHERE p.username = 'demoted' AND a.request_id = 'user set-role' AND a.actor = "
        "'baove-admin' AND a.unit_id = p.unit_id",
        "2"));
    const char *const unknown[] = {"user", "set-role", "--username", "demoted", "--role",
                                   "chief", NULL};
    assert_int_equal(harness_admin(&database, unknown, NULL, NULL), 1);
    const char *const nobody[] = {"user", "set-role", "--username", "nobody", "--role",
                                  "viewer", NULL};
    assert_int_equal(harness_admin(&database, nobody, NULL, NULL), 1);
    free(token);
}

/* Moved to another commune: the next read is in the new unit's scope (404
 * outside it), and /v1/me, which reads outside any transaction that
 * verifies the principal, names the new unit. */
static void a_moved_account_sees_its_new_scope_next(void **state)
{
    (void)state;
    char *token = signed_in("mover", "commune_officer", "29980");
    assert_non_null(token);
    expect_each("/v1/children/" IN_29980, token, 200);
    expect_each("/v1/children/" IN_29983, token, 404);
    const char *const move[] = {"user", "move", "--username", "mover", "--unit", "29983", NULL};
    assert_int_equal(harness_admin(&database, move, NULL, NULL), 0);
    expect_each("/v1/children/" IN_29980, token, 404);
    expect_each("/v1/children/" IN_29983, token, 200);
    for (int i = 0; i < REQUESTS; i++) {
        struct http_response *me = http_get(&api, "/v1/me", token);
        assert_int_equal(me->status, 200);
        assert_string_equal(json_text(me->json, "unit", "code", NULL), "29983");
        http_free(me);
    }
    free(token);
}

/* /v1/me is outside the lifecycle: a token revoked elsewhere is refused
 * there too, by the lookup request_database() makes first. */
static void me_verifies_a_cached_principal(void **state)
{
    (void)state;
    char *token = signed_in("asker", "viewer", "29980");
    assert_non_null(token);
    owner_sql("UPDATE access_tokens SET revoked_at = '" TODAY "' WHERE principal_id = "
              "(SELECT id FROM principals WHERE username = 'asker')");
    expect_each("/v1/me", token, 401);
    free(token);
}

int main(void)
{
    harness_init("principals");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_known_token_is_not_looked_up_again),
        cmocka_unit_test(a_token_revoked_elsewhere_answers_401_next),
        cmocka_unit_test(a_disabled_account_answers_401_next),
        cmocka_unit_test(a_role_change_is_judged_on_the_next_request),
        cmocka_unit_test(a_moved_account_sees_its_new_scope_next),
        cmocka_unit_test(me_verifies_a_cached_principal),
    };
    int failed = cmocka_run_group_tests_name("principals", tests, setup, teardown);
    harness_finish();
    return failed;
}
