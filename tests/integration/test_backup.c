/* Backups that restore: a cluster made by scripts/pg.sh archives its WAL
 * with pgBackRest, as every pg.sh cluster does (`make run`'s too).  Children are written, a backup is taken, more children
 * are written, and `pg.sh restore --to TIME` builds a new cluster at a time
 * between the two: it holds exactly the first children.  A feed cursor the
 * original gave out after that time is refused by the copy (400, start again
 * without a cursor) - even once the copy's own transaction numbers have
 * passed the cursor's - and the copy's snapshot is the resynchronisation.
 * The two clusters take free ports, or BAOVE_TEST_BACKUP_PORT and
 * BAOVE_TEST_RESTORE_PORT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOW "2020-04-29T07:00:00+07:00"
#define WRITES 4
#define CURSOR_SIZE 192

static struct test_database database, restored;

/* Two clusters of the test's own, made by pg.sh like every other: the
 * archived one (a fresh cluster holds only this test's database, so the
 * backup's time does not grow with the rest of the suite) and the copy. */
struct cluster {
    char directory[1024];
    char port[16];
};
static struct cluster original, copy;

static void cluster_env(const struct cluster *cluster, char directory[1100], char port[40],
                        const char *env[3])
{
    snprintf(directory, 1100, "BAOVE_PG_DIR=%s", cluster->directory);
    snprintf(port, 40, "BAOVE_PG_PORT=%s", cluster->port);
    env[0] = directory;
    env[1] = port;
    env[2] = NULL;
}

/* pg.sh of a cluster with these arguments; its stdout into out. */
static bool pg_sh(const struct cluster *cluster, const char *const arguments[], char *out,
                  size_t size)
{
    const char *argv[8] = {"/bin/bash", harness_env("BAOVE_TEST_PG_CTL")};
    for (size_t index = 0; arguments[index] != NULL && index < 5; index++)
        argv[index + 2] = arguments[index];
    char directory[1100], port[40];
    const char *env[3];
    cluster_env(cluster, directory, port, env);
    char *printed = NULL;
    int status = harness_run(argv, env, NULL, &printed);
    if (out != NULL) {
        snprintf(out, size, "%s", printed != NULL ? printed : "");
        out[strcspn(out, "\n")] = '\0';
    }
    free(printed);
    return status == 0;
}

static void cluster_place(struct cluster *cluster, const char *suffix, const char *port_variable)
{
    snprintf(cluster->directory, sizeof cluster->directory, "%s-%s",
             harness_env("BAOVE_PG_DIR"), suffix);
    const char *fixed_port = getenv(port_variable);
    snprintf(cluster->port, sizeof cluster->port, "%d",
             fixed_port != NULL ? atoi(fixed_port) : harness_free_port());
}

/* The database's URLs on a cluster. */
static bool database_on(const struct cluster *cluster, struct test_database *on)
{
    memset(on, 0, sizeof *on);
    snprintf(on->name, sizeof on->name, "baove_t_backup");
    if (!pg_sh(cluster, (const char *const[]){"url", on->name, NULL}, on->app_url,
               sizeof on->app_url) ||
        !pg_sh(cluster, (const char *const[]){"admin-url", on->name, NULL}, on->admin_url,
               sizeof on->admin_url))
        return false;
    snprintf(on->api_url, sizeof on->api_url, "%s", on->app_url);
    return true;
}

static char *sql_value(const char *url, const char *query)
{
    char *value = harness_sql(url, query);
    assert_non_null(value);
    return value;
}

static int setup(void **state)
{
    (void)state;
    cluster_place(&original, "backup", "BAOVE_TEST_BACKUP_PORT");
    cluster_place(&copy, "restore", "BAOVE_TEST_RESTORE_PORT");
    /* A cluster left by an interrupted run is made anew. */
    pg_sh(&original, (const char *const[]){"destroy", NULL}, NULL, 0);
    bool created =
        pg_sh(&original, (const char *const[]){"recreatedb", "baove_t_backup", NULL}, NULL, 0) &&
        database_on(&original, &database);
    return created &&
                   harness_admin(&database, (const char *const[]){"migrate", NULL}, NULL,
                                 NULL) == 0 &&
                   harness_admin(&database, (const char *const[]){"seed", "--demo", NULL},
                                 NULL, NULL) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    bool copy_destroyed = pg_sh(&copy, (const char *const[]){"destroy", NULL}, NULL, 0);
    bool original_destroyed = pg_sh(&original, (const char *const[]){"destroy", NULL}, NULL, 0);
    return copy_destroyed && original_destroyed ? 0 : -1;
}

static void write_children(const struct test_process *api, const char *token, int first,
                           int count, char ids[][40])
{
    for (int index = first; index < first + count; index++) {
        snprintf(ids[index], 40, "bac0b000-0000-4000-8000-%012d", index);
        assert_int_equal(harness_put_child(api, token, ids[index]), 201);
    }
}

/* Pages through the feed from `cursor` ("": a snapshot first) until caught
 * up; the children's ids it gave, the last next_cursor in `next`. */
static json_t *pull_children(const struct test_process *api, const char *token,
                             const char *cursor, char next[CURSOR_SIZE])
{
    json_t *ids = json_array();
    snprintf(next, CURSOR_SIZE, "%s", cursor);
    for (;;) {
        char path[320];
        snprintf(path, sizeof path, "/v1/changes?limit=50&types=children%s%s",
                 next[0] ? "&cursor=" : "", next);
        struct http_response *response = http_get(api, path, token);
        assert_int_equal(response->status, 200);
        json_t *items = json_object_get(response->json, "items"), *item;
        size_t index;
        json_array_foreach(items, index, item)
            json_array_append_new(ids, json_string(json_text(item, "id", NULL)));
        snprintf(next, CURSOR_SIZE, "%s", json_text(response->json, "next_cursor", NULL));
        bool done = strcmp(json_text(response->json, "phase", NULL), "changes") == 0 &&
                    json_array_size(items) < 50;
        http_free(response);
        if (done)
            return ids;
    }
}

static bool holds(const json_t *ids, const char *id)
{
    size_t index;
    json_t *value;
    json_array_foreach(ids, index, value) {
        if (strcmp(json_string_value(value), id) == 0)
            return true;
    }
    return false;
}

/* The copy answers this cursor 400 invalid-parameter: never a page. */
static void assert_cursor_refused(const struct test_process *api, const char *token,
                                  const char *cursor)
{
    char path[320];
    snprintf(path, sizeof path, "/v1/changes?types=children&cursor=%s", cursor);
    struct http_response *response = http_get(api, path, token);
    assert_int_equal(response->status, 400);
    assert_string_equal(response->content_type, "application/problem+json");
    assert_string_equal(json_text(response->json, "type", NULL), "/problems/invalid-parameter");
    assert_null(json_object_get(response->json, "items"));
    http_free(response);
}

static long long children_in(const char *url, char ids[][40], int first, int count)
{
    char query[2048] = "SELECT count(*) FROM children WHERE id IN (";
    for (int index = first; index < first + count; index++) {
        size_t length = strlen(query);
        snprintf(query + length, sizeof query - length, "%s'%s'", index > first ? "," : "",
                 ids[index]);
    }
    strncat(query, ")", sizeof query - strlen(query) - 1);
    char *value = sql_value(url, query);
    long long found = atoll(value);
    free(value);
    return found;
}

static void a_point_in_time_copy_holds_exactly_the_first_writes(void **state)
{
    (void)state;
    const char *env[] = {"BAOVE_NOW=" NOW, NULL};
    struct test_process api;
    assert_true(harness_start_api(&database, env, &api));
    char *token = harness_login(&api, "demo_commune", "baove-demo");
    assert_non_null(token);
    static char ids[3 * WRITES][40];

    write_children(&api, token, 0, WRITES, ids);
    char *children_then = sql_value(database.admin_url, "SELECT count(*) FROM children");
    char label[128];
    assert_true(pg_sh(&original, (const char *const[]){"backup", "full", NULL}, label,
                      sizeof label));
    char *backup_ended = sql_value(database.admin_url,
                                   "SELECT date_trunc('second', clock_timestamp())::text");
    assert_non_null(strstr(label, "F"));
    char cursor_before[CURSOR_SIZE], cursor_after[CURSOR_SIZE];
    json_decref(pull_children(&api, token, "", cursor_before));

    /* The restore point: after the backup and the first children, before
     * the second ones (the server's clock, which stamps the commits).
     * pgBackRest records a backup's end in whole seconds and wants it
     * before the restore point: the point is in a later second. */
    char next_second[160];
    snprintf(next_second, sizeof next_second,
             "SELECT pg_sleep(greatest(0, extract(epoch FROM '%s'::timestamptz "
             "+ interval '1 second' - clock_timestamp())))",
             backup_ended);
    free(sql_value(database.admin_url, next_second));
    char *restore_point = sql_value(database.admin_url, "SELECT clock_timestamp()::text");
    write_children(&api, token, WRITES, WRITES, ids);
    json_t *later = pull_children(&api, token, cursor_before, cursor_after);
    for (int index = WRITES; index < 2 * WRITES; index++)
        assert_true(holds(later, ids[index]));
    json_decref(later);
    assert_int_equal(harness_stop(&api), 0);
    /* The WAL holding the second children reaches the repository. */
    assert_true(pg_sh(&original, (const char *const[]){"backup-check", NULL}, NULL, 0));

    assert_true(pg_sh(&original,
                      (const char *const[]){"restore", "--to", restore_point, copy.directory,
                                            copy.port, NULL},
                      NULL, 0));
    assert_true(database_on(&copy, &restored));

    /* Exactly the first writes. */
    char *children_now = sql_value(restored.admin_url, "SELECT count(*) FROM children");
    assert_string_equal(children_now, children_then);
    assert_int_equal(children_in(restored.admin_url, ids, 0, WRITES), WRITES);
    assert_int_equal(children_in(restored.admin_url, ids, WRITES, WRITES), 0);
    char *recovering = sql_value(restored.admin_url, "SELECT pg_is_in_recovery()::text");
    assert_string_equal(recovering, "false");

    /* The copy's feed: both cursors of the original are refused, and the
     * resynchronisation (no cursor) gives the first children only. */
    struct test_process copy_api;
    assert_true(harness_start_api(&restored, env, &copy_api));
    free(token);
    token = harness_login(&copy_api, "demo_commune", "baove-demo");
    assert_non_null(token);
    assert_cursor_refused(&copy_api, token, cursor_after);
    assert_cursor_refused(&copy_api, token, cursor_before);
    char cursor_copy[CURSOR_SIZE];
    json_t *resynchronised = pull_children(&copy_api, token, "", cursor_copy);
    for (int index = 0; index < 2 * WRITES; index++)
        assert_int_equal(holds(resynchronised, ids[index]), index < WRITES);
    json_decref(resynchronised);

    /* The copy's transactions reuse the numbers of the lost ones: once they
     * pass the later cursor's position, only the identity tells the two
     * histories apart - and it still does. */
    const char *transaction = strchr(cursor_after, ':') + 1;
    char query[128];
    snprintf(query, sizeof query,
             "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= '%.*s'::xid8",
             (int)strcspn(transaction, "-"), transaction);
    int written = 2 * WRITES;
    bool passed = false;
    while (!passed && written < 3 * WRITES) {
        write_children(&copy_api, token, written++, 1, ids);
        char *answer = sql_value(restored.app_url, query);
        passed = strcmp(answer, "t") == 0;
        free(answer);
    }
    assert_true(passed);
    assert_cursor_refused(&copy_api, token, cursor_after);
    /* The copy's own cursors go on. */
    char cursor_next[CURSOR_SIZE];
    json_t *new_on_copy = pull_children(&copy_api, token, cursor_copy, cursor_next);
    assert_int_equal(json_array_size(new_on_copy), (size_t)(written - 2 * WRITES));
    json_decref(new_on_copy);

    free(token);
    free(children_then);
    free(children_now);
    free(recovering);
    free(restore_point);
    free(backup_ended);
    assert_int_equal(harness_stop(&copy_api), 0);
}

int main(void)
{
    harness_init("backup");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_point_in_time_copy_holds_exactly_the_first_writes),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
