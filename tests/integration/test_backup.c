/* Backups that restore: the test cluster archives its WAL with pgBackRest
 * (scripts/pg.sh).  Children are written, a backup is taken, more children
 * are written, and `pg.sh restore --to TIME` builds a new cluster at a time
 * between the two: it holds exactly the first children.  A feed cursor the
 * original gave out after that time is refused by the copy (400, start again
 * without a cursor) - even once the copy's own transaction numbers have
 * passed the cursor's - and the copy's snapshot is the resynchronisation. */
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
static char restore_directory[1024], restore_port[16];

/* pg.sh of the test cluster with these arguments; its stdout into out. */
static bool pg_sh(const char *const arguments[], char *out, size_t size)
{
    const char *argv[8] = {"/bin/bash", harness_env("BAOVE_TEST_PG_CTL")};
    for (size_t index = 0; arguments[index] != NULL && index < 5; index++)
        argv[index + 2] = arguments[index];
    char *printed = NULL;
    int status = harness_run(argv, NULL, NULL, &printed);
    if (out != NULL)
        snprintf(out, size, "%s", printed != NULL ? printed : "");
    free(printed);
    return status == 0;
}

/* pg.sh of the restored copy (its directory and port). */
static bool restored_ctl(const char *action, const char *argument, char *out, size_t size)
{
    char directory[1100], port[40];
    snprintf(directory, sizeof directory, "BAOVE_PG_DIR=%s", restore_directory);
    snprintf(port, sizeof port, "BAOVE_PG_PORT=%s", restore_port);
    const char *env[] = {directory, port, NULL};
    return harness_pg_ctl(env, action, argument, out, size);
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
    if (!harness_create_database("baove_t_backup", true, true, &database))
        return -1;
    /* A test cluster started before pg.sh archived is restarted once. */
    char *archive_mode = harness_sql(database.admin_url, "SHOW archive_mode");
    bool archiving = archive_mode != NULL && strcmp(archive_mode, "on") == 0;
    free(archive_mode);
    if (!archiving && !(harness_cluster("stop") && harness_cluster("start")))
        return -1;
    snprintf(restore_directory, sizeof restore_directory, "%s-restore",
             harness_env("BAOVE_PG_DIR"));
    const char *fixed_port = getenv("BAOVE_TEST_RESTORE_PORT");
    snprintf(restore_port, sizeof restore_port, "%d",
             fixed_port != NULL ? atoi(fixed_port) : harness_free_port());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    restored_ctl("destroy", NULL, NULL, 0);
    return 0;
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
    assert_true(pg_sh((const char *const[]){"backup", "full", NULL}, label, sizeof label));
    assert_non_null(strstr(label, "F"));
    char cursor_before[CURSOR_SIZE], cursor_after[CURSOR_SIZE];
    json_decref(pull_children(&api, token, "", cursor_before));

    /* The restore point: after the backup and the first children, before
     * the second ones (the server's clock, which stamps the commits). */
    char *restore_point = sql_value(database.admin_url, "SELECT clock_timestamp()::text");
    write_children(&api, token, WRITES, WRITES, ids);
    json_t *later = pull_children(&api, token, cursor_before, cursor_after);
    for (int index = WRITES; index < 2 * WRITES; index++)
        assert_true(holds(later, ids[index]));
    json_decref(later);
    assert_int_equal(harness_stop(&api), 0);
    /* The WAL holding the second children reaches the repository. */
    assert_true(pg_sh((const char *const[]){"backup-check", NULL}, NULL, 0));

    assert_true(pg_sh((const char *const[]){"restore", "--to", restore_point, restore_directory,
                                            restore_port, NULL},
                      NULL, 0));
    snprintf(restored.name, sizeof restored.name, "%s", database.name);
    assert_true(restored_ctl("url", database.name, restored.app_url, sizeof restored.app_url));
    assert_true(restored_ctl("admin-url", database.name, restored.admin_url,
                             sizeof restored.admin_url));
    snprintf(restored.api_url, sizeof restored.api_url, "%s", restored.app_url);

    /* Exactly the first writes. */
    char *children_now = sql_value(restored.admin_url, "SELECT count(*) FROM children");
    assert_string_equal(children_now, children_then);
    assert_int_equal(children_in(restored.admin_url, ids, 0, WRITES), WRITES);
    assert_int_equal(children_in(restored.admin_url, ids, WRITES, WRITES), 0);
    char *recovering = sql_value(restored.admin_url, "SELECT pg_is_in_recovery()::text");
    assert_string_equal(recovering, "false");

    /* The copy's feed: both cursors of the original are refused, and the
     * resynchronisation (no cursor) gives the first children only. */
    struct test_process copy;
    assert_true(harness_start_api(&restored, env, &copy));
    free(token);
    token = harness_login(&copy, "demo_commune", "baove-demo");
    assert_non_null(token);
    assert_cursor_refused(&copy, token, cursor_after);
    assert_cursor_refused(&copy, token, cursor_before);
    char cursor_copy[CURSOR_SIZE];
    json_t *resynchronised = pull_children(&copy, token, "", cursor_copy);
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
    for (; written < 3 * WRITES; written++) {
        char *passed = sql_value(restored.app_url, query);
        bool done = strcmp(passed, "t") == 0;
        free(passed);
        if (done)
            break;
        write_children(&copy, token, written, 1, ids);
    }
    assert_true(written < 3 * WRITES);
    assert_cursor_refused(&copy, token, cursor_after);
    /* The copy's own cursors go on. */
    char cursor_next[CURSOR_SIZE];
    json_t *new_on_copy = pull_children(&copy, token, cursor_copy, cursor_next);
    assert_int_equal(json_array_size(new_on_copy), (size_t)(written - 2 * WRITES));
    json_decref(new_on_copy);

    free(token);
    free(children_then);
    free(children_now);
    free(recovering);
    free(restore_point);
    assert_int_equal(harness_stop(&copy), 0);
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
