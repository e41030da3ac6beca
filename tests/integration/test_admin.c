/* baove-admin against a real database: migrations (idempotent, concurrent,
 * tamper-evident), the roles' rights, and the credential commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *const migrate[] = {"migrate", NULL};

/* Runs one SQL statement; returns its SQLSTATE ("" on success). */
static void run_sql(const char *url, const char *sql, char state[6], char *value, size_t size)
{
    PGconn *connection = PQconnectdb(url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection, sql);
    const char *code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", code != NULL ? code : "");
    if (value != NULL)
        snprintf(value, size, "%s",
                 PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0
                     ? PQgetvalue(result, 0, 0) : "");
    PQclear(result);
    PQfinish(connection);
}

static void migrations_apply_once_even_when_racing(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_admin_race", false, false, &database));
    /* Two migrators at the same moment on an empty database. */
    pid_t first = fork();
    if (first == 0)
        _exit(harness_admin(&database, migrate, NULL, NULL));
    pid_t second = fork();
    if (second == 0)
        _exit(harness_admin(&database, migrate, NULL, NULL));
    int first_status, second_status;
    waitpid(first, &first_status, 0);
    waitpid(second, &second_status, 0);
    assert_int_equal(WEXITSTATUS(first_status), 0);
    assert_int_equal(WEXITSTATUS(second_status), 0);
    char sql_state[6], value[64];
    run_sql(database.admin_url,
            "SELECT count(*) = count(DISTINCT version) AND count(*) > 0 FROM schema_migrations",
            sql_state, value, sizeof value);
    assert_string_equal(value, "t");
    /* Again: nothing to do, still fine; and the seed loads twice alike. */
    assert_int_equal(harness_admin(&database, migrate, NULL, NULL), 0);
    assert_int_equal(harness_admin(&database, (const char *const[]){"seed", NULL}, NULL, NULL),
                     0);
    assert_int_equal(harness_admin(&database, (const char *const[]){"seed", NULL}, NULL, NULL),
                     0);
    run_sql(database.admin_url,
            "SELECT sum(amount_vnd) FROM fund_targets WHERE year = 2020", sql_state, value,
            sizeof value);
    assert_string_equal(value, "300000000");
    run_sql(database.admin_url, "SELECT count(*) FROM circumstance_groups", sql_state, value,
            sizeof value);
    assert_string_equal(value, "14");
}

static void an_edited_migration_is_refused(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_admin_tamper", true, false, &database));
    /* A copy of sql/ whose first migration gained a line after it was applied. */
    char directory[] = "/tmp/baove-sql-XXXXXX";
    assert_non_null(mkdtemp(directory));
    char command[2048];
    snprintf(command, sizeof command,
             "cp -r '%s/migrations' '%s/' && echo '-- edited' >> '%s/migrations/0001_foundation.sql'",
             harness_env("BAOVE_SQL_DIR"), directory, directory);
    assert_int_equal(system(command), 0);
    char sql_dir[600], url[600];
    snprintf(sql_dir, sizeof sql_dir, "BAOVE_SQL_DIR=%s", directory);
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    const char *argv[] = {harness_env("BAOVE_ADMIN_BIN"), "migrate", NULL};
    const char *env[] = {url, sql_dir, NULL};
    assert_int_equal(harness_run(argv, env, NULL, NULL), 1);
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    assert_int_equal(system(command), 0);
}

static void the_application_role_cannot_change_the_schema(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_admin_roles", true, true, &database));
    char sql_state[6], value[64];
    run_sql(database.app_url, "CREATE TABLE intruder (x int)", sql_state, NULL, 0);
    assert_string_equal(sql_state, "42501"); /* insufficient_privilege */
    run_sql(database.app_url, "DROP TABLE units", sql_state, NULL, 0);
    assert_string_equal(sql_state, "42501");
    run_sql(database.app_url, "DELETE FROM units", sql_state, NULL, 0);
    assert_string_equal(sql_state, "42501");
    run_sql(database.app_url, "SELECT count(*) FROM units", sql_state, value, sizeof value);
    assert_string_equal(sql_state, "");
    /* The seeded units: the 2020 tree (13) and the one of 1/7/2025 (6). */
    assert_string_equal(value, "19");
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t expression;
    assert_int_equal(regcomp(&expression, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int result = regexec(&expression, text, 0, NULL, 0);
    regfree(&expression);
    if (result != 0)
        fail_msg("\"%s\" does not match %s", text, pattern);
}

static void secrets_alone_on_stdout(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_admin_secrets", true, true, &database));
    char *printed = NULL;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"token", "issue", "--username",
                                                         "demo_chair", "--ttl", "30m", NULL},
                                   NULL, &printed), 0);
    assert_matches(printed, "^bvt_[A-Za-z0-9_-]{43}\n$");
    free(printed);
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"apikey", "issue", "--client", "sync-1",
                                                         "--role", "sync_client", "--unit", "82",
                                                         NULL}, NULL, &printed), 0);
    assert_matches(printed, "^bvk_[A-Za-z0-9_-]{43}\n$");
    free(printed);
    /* A user added without --password-stdin gets a generated password. */
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "officer2",
                                                         "--role", "province_officer", "--unit",
                                                         "82", NULL}, NULL, &printed), 0);
    assert_matches(printed, "^[A-Za-z0-9_-]{43}\n$");
    free(printed);
    /* Refusals: unknown role, unknown unit, a unit not valid today, a taken name. */
    const char *const refused[][10] = {
        {"user", "add", "--username", "x1", "--role", "root", "--unit", "870", NULL},
        {"user", "add", "--username", "x2", "--role", "viewer", "--unit", "99999", NULL},
        {"user", "add", "--username", "x3", "--role", "viewer", "--unit", "29968", NULL},
        {"user", "add", "--username", "OFFICER2", "--role", "viewer", "--unit", "870", NULL},
        {"token", "issue", "--username", "nobody", NULL},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        printed = NULL;
        assert_int_equal(harness_admin(&database, refused[i], NULL, &printed), 1);
        assert_string_equal(printed, "");
        free(printed);
    }
}

int main(void)
{
    harness_init("admin");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrations_apply_once_even_when_racing),
        cmocka_unit_test(an_edited_migration_is_refused),
        cmocka_unit_test(the_application_role_cannot_change_the_schema),
        cmocka_unit_test(secrets_alone_on_stdout),
    };
    int failed = cmocka_run_group_tests_name("admin", tests, NULL, NULL);
    harness_finish();
    return failed;
}
