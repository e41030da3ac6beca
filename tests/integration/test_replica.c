/* Reads from a streaming hot standby (BAOVE_READ_DATABASE_URL,
 * docs/scaling.md).  The test builds a real standby of its test cluster
 * (scripts/pg.sh standby: pg_basebackup -R -X stream) and starts the API
 * with its reads there, then shows:
 *
 *   - lists and the feed are served by the standby (its replay paused, a
 *     read without Baove-Consistent-After misses a write it has not
 *     replayed: only the standby can answer that), and their audit entries
 *     are on the primary;
 *   - read your writes: a write answers Baove-Consistent-After; a list or
 *     the feed sent with it shows the write, from the primary while the
 *     standby cannot catch up, from the standby once it has;
 *   - a feed cursor naming an entry the standby has not replayed is
 *     answered by the primary, never with a page that misses what follows;
 *   - a read whose audit entry the primary refuses is not answered (503);
 *   - /readyz reports the standby's lag; with the standby down, reads go
 *     to the primary (200, logged once), and /readyz stays ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "standby.h"

#define NOW "2020-04-29T07:00:00+07:00"
/* How long a read waits for the standby: long enough for a loaded machine
 * to replay a write, and what each read with a position waits while replay
 * is paused. */
#define READ_WAIT_MS "4000"

static struct test_database database;
static struct test_standby standby;
static char superuser_url[512];
static struct test_process api;
static char *token;

static void standby_sql(const char *query, const char *expected)
{
    char *value = harness_sql(superuser_url, query);
    assert_non_null(value);
    if (expected != NULL)
        assert_string_equal(value, expected);
    free(value);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_replica", true, true, NOW, &database))
        return -1;
    if (!standby_build(&standby, "replica"))
        return -1;
    /* The superuser pauses and resumes replay. */
    if (!standby_superuser_url(&standby, database.name, superuser_url, sizeof superuser_url))
        return -1;

    char read_url[512], read_env[600];
    if (!standby_ctl(&standby, "url", database.name, read_url, sizeof read_url))
        return -1;
    snprintf(read_env, sizeof read_env, "BAOVE_READ_DATABASE_URL=%s", read_url);
    const char *env[] = {"BAOVE_NOW=" NOW, read_env, "BAOVE_READ_WAIT_MS=" READ_WAIT_MS, NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    token = harness_login(&api, "demo_commune", "baove-demo");
    return token != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(token);
    int stopped = harness_stop(&api);
    standby_ctl(&standby, "destroy", NULL, NULL, 0);
    return stopped == 0 ? 0 : -1;
}

/* baove_replica_reads_total{served_by="<served_by>",reason="<reason>"}. */
static long replica_reads(const char *served_by, const char *reason)
{
    struct http_response *metrics = http_get(&api, "/metrics", NULL);
    assert_int_equal(metrics->status, 200);
    char series[160];
    snprintf(series, sizeof series,
             "baove_replica_reads_total{served_by=\"%s\",reason=\"%s\"} ", served_by, reason);
    const char *line = strstr(metrics->body, series);
    assert_non_null(line);
    long count = atol(line + strlen(series));
    http_free(metrics);
    return count;
}

/* Creates a child; returns its Baove-Consistent-After (static). */
static const char *create_child(const char *id)
{
    static char position[64];
    struct http_response *created = harness_put_child_response(&api, token, id);
    assert_int_equal(created->status, 201);
    const char *header = http_header(created, "Baove-Consistent-After");
    assert_non_null(header);
    assert_non_null(strchr(header, '/'));
    snprintf(position, sizeof position, "%s", header);
    http_free(created);
    return position;
}

/* GET path with an X-Request-Id and, when position is set, the header. */
static struct http_response *read_with(const char *path, const char *request_id,
                                       const char *position)
{
    char id_line[128], position_line[128];
    snprintf(id_line, sizeof id_line, "X-Request-Id: %s", request_id);
    snprintf(position_line, sizeof position_line, "Baove-Consistent-After: %s",
             position != NULL ? position : "");
    const char *headers[] = {id_line, position != NULL ? position_line : NULL, NULL};
    struct http_options options = {.path = path, .token = token, .headers = headers};
    struct http_response *response = http_call(&api, &options);
    assert_int_equal(response->status, 200);
    assert_non_null(response->json);
    return response;
}

static bool body_has(const struct http_response *response, const char *id)
{
    return strstr(response->body, id) != NULL;
}

/* The audit entry of request_id on the primary: "<action>|<type>|<has id>". */
static void audited_on_primary(const char *request_id, const char *type, const char *id)
{
    char query[512], expected[128];
    snprintf(query, sizeof query,
             "SELECT action || '|' || resource_type || '|' || ('%s' = ANY (resource_ids)) "
             "  FROM audit_log WHERE request_id = '%s' AND outcome = 'success'",
             id, request_id);
    snprintf(expected, sizeof expected, "list|%s|true", type);
    assert_true(harness_query_equals(&database, query, expected));
}

static void readiness_reports_the_standby(void **state)
{
    (void)state;
    standby_sql("SELECT pg_is_in_recovery()", "t");
    struct http_response *ready = http_get(&api, "/readyz", NULL);
    assert_int_equal(ready->status, 200);
    assert_string_equal(json_text(ready->json, "replica", "status", NULL), "streaming");
    assert_non_null(json_text(ready->json, "replica", "replayed", NULL));
    assert_true(json_is_integer(
        json_object_get(json_object_get(ready->json, "replica"), "lag_bytes")));
    http_free(ready);
}

/* Written, then read at once with the write's position: the standby
 * serves it, with the write in it, and the read is audited on the primary. */
static void the_standby_serves_lists_and_the_feed_with_your_writes(void **state)
{
    (void)state;
    const char *id = "7e910000-0000-4000-8000-000000000001";
    char position[64];
    snprintf(position, sizeof position, "%s", create_child(id));
    long served = replica_reads("replica", "caught_up");

    struct http_response *list = read_with("/v1/children?limit=500", "replica-list-1", position);
    assert_true(body_has(list, id));
    http_free(list);
    struct http_response *feed = read_with("/v1/changes?types=children&limit=1000",
                                           "replica-feed-1", position);
    assert_true(body_has(feed, id));
    http_free(feed);
    assert_int_equal(replica_reads("replica", "caught_up"), served + 2);
    audited_on_primary("replica-list-1", "children", id);
    audited_on_primary("replica-feed-1", "changes", id);
}

/* A batch answers one position for all its items. */
static void a_batch_answers_its_position_too(void **state)
{
    (void)state;
    const char *id = "7e910000-0000-4000-8000-000000000004";
    const char *batch =
        "{\"items\":[{\"method\":\"PUT\",\"path\":\"/v1/children/"
        "7e910000-0000-4000-8000-000000000004\",\"body\":{\"unit\":\"29980\","
        "\"full_name\":\"Trần Văn Bảo\",\"sex\":\"male\",\"date_of_birth\":\"2013-02-03\","
        "\"registered_on\":\"2020-01-02\"}}]}";
    struct http_response *answered = http_post_json(&api, "/v1/batch", token, batch);
    assert_int_equal(answered->status, 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(answered->json, "items"), 0), "status")),
                     201);
    const char *header = http_header(answered, "Baove-Consistent-After");
    assert_non_null(header);
    char position[64];
    snprintf(position, sizeof position, "%s", header);
    http_free(answered);
    struct http_response *list = read_with("/v1/children?limit=500", "replica-batch", position);
    assert_true(body_has(list, id));
    http_free(list);
}

/* Follows the feed from its start to the log: the cursor to go on with. */
static char *feed_position(const char *position)
{
    char path[512] = "/v1/changes?types=children&limit=1000";
    for (int page = 0; page < 100; page++) {
        struct http_response *feed = read_with(path, "replica-follow", position);
        const char *cursor = json_text(feed->json, "next_cursor", NULL);
        const char *phase = json_text(feed->json, "phase", NULL);
        assert_non_null(cursor);
        bool done = strcmp(phase, "changes") == 0 &&
                    json_array_size(json_object_get(feed->json, "items")) == 0;
        snprintf(path, sizeof path, "/v1/changes?types=children&limit=1000&cursor=%s", cursor);
        char *kept = strdup(cursor);
        http_free(feed);
        if (done)
            return kept;
        free(kept);
    }
    fail_msg("the feed did not catch up");
    return NULL;
}

/* With the standby's replay paused, what it has not replayed is absent
 * from what it serves (the proof that it serves), and present whenever the
 * client names it: by its position, or by a feed cursor past it. */
static void a_standby_behind_gives_the_read_to_the_primary(void **state)
{
    (void)state;
    char *cursor = feed_position(NULL);
    standby_sql("SELECT pg_wal_replay_pause()", NULL);
    const char *first = "7e910000-0000-4000-8000-000000000002";
    const char *second = "7e910000-0000-4000-8000-000000000003";
    create_child(first);
    char position[64];
    snprintf(position, sizeof position, "%s", create_child(second));

    long served = replica_reads("replica", "caught_up");
    long behind = replica_reads("primary", "behind");
    struct http_response *stale = read_with("/v1/children?limit=500", "replica-stale", NULL);
    assert_false(body_has(stale, first));
    http_free(stale);
    assert_int_equal(replica_reads("replica", "caught_up"), served + 1);
    audited_on_primary("replica-stale", "children",
                       "7e910000-0000-4000-8000-000000000001");

    /* Read your writes: the standby cannot catch up, the primary answers. */
    struct http_response *fresh = read_with("/v1/children?limit=500", "replica-fresh", position);
    assert_true(body_has(fresh, first) && body_has(fresh, second));
    http_free(fresh);
    assert_int_equal(replica_reads("primary", "behind"), behind + 1);

    /* One entry at a time from the cursor held before the writes: the first
     * from the primary (the position), the next by its cursor alone. */
    char path[512];
    snprintf(path, sizeof path, "/v1/changes?types=children&limit=1&cursor=%s", cursor);
    struct http_response *page = read_with(path, "replica-page-1", position);
    assert_true(body_has(page, first));
    snprintf(path, sizeof path, "/v1/changes?types=children&limit=1&cursor=%s",
             json_text(page->json, "next_cursor", NULL));
    http_free(page);
    page = read_with(path, "replica-page-2", NULL);
    assert_true(body_has(page, second));
    http_free(page);
    assert_int_equal(replica_reads("primary", "behind"), behind + 3);
    assert_int_equal(replica_reads("replica", "caught_up"), served + 1);

    /* Replay resumes: the standby serves the same read, with the writes. */
    standby_sql("SELECT pg_wal_replay_resume()", NULL);
    struct http_response *caught = read_with("/v1/children?limit=500", "replica-caught", position);
    assert_true(body_has(caught, first) && body_has(caught, second));
    http_free(caught);
    assert_int_equal(replica_reads("replica", "caught_up"), served + 2);
    audited_on_primary("replica-caught", "children", second);
    free(cursor);
}

/* A read the standby served whose audit entry the primary cannot take is
 * not handed out: 503, and nothing of it in the answer. */
static void an_unaudited_read_is_not_answered(void **state)
{
    (void)state;
    long served = replica_reads("replica", "caught_up");
    char *revoked = harness_sql(database.admin_url, "REVOKE INSERT ON audit_log FROM baove_app");
    assert_non_null(revoked);
    free(revoked);
    const char *headers[] = {"X-Request-Id: replica-unaudited", NULL};
    struct http_options options = {.path = "/v1/children?limit=500", .token = token,
                                   .headers = headers};
    struct http_response *refused = http_call(&api, &options);
    char *granted = harness_sql(database.admin_url, "GRANT INSERT ON audit_log TO baove_app");
    assert_non_null(granted);
    free(granted);
    assert_int_equal(refused->status, 503);
    assert_string_equal(refused->content_type, "application/problem+json");
    assert_non_null(strstr(json_text(refused->json, "type", NULL), "database-unavailable"));
    assert_null(strstr(refused->body, "7e910000-0000-4000-8000-000000000001"));
    http_free(refused);
    assert_int_equal(replica_reads("replica", "caught_up"), served + 1);
}

/* A streamed pull (NDJSON) through the standby. */
static void the_ndjson_feed_streams_from_the_standby(void **state)
{
    (void)state;
    long served = replica_reads("replica", "caught_up");
    const char *headers[] = {"Accept: application/x-ndjson", NULL};
    struct http_options options = {.path = "/v1/changes?types=children", .token = token,
                                   .headers = headers};
    struct http_response *stream = http_call(&api, &options);
    assert_int_equal(stream->status, 200);
    assert_true(body_has(stream, "7e910000-0000-4000-8000-000000000003"));
    http_free(stream);
    assert_true(replica_reads("replica", "caught_up") > served);
}

/* The standby stops: reads go to the primary, logged once, and the
 * service stays ready. */
static void without_the_standby_reads_go_to_the_primary(void **state)
{
    (void)state;
    assert_true(standby_ctl(&standby, "stop", NULL, NULL, 0));
    long unreachable = replica_reads("primary", "unreachable");
    for (int read = 0; read < 3; read++) {
        struct http_response *list = read_with("/v1/children?limit=500", "replica-down", NULL);
        assert_true(body_has(list, "7e910000-0000-4000-8000-000000000003"));
        http_free(list);
    }
    assert_true(replica_reads("primary", "unreachable") >= unreachable + 3);
    /* Logged once for the outage, not once per read. */
    assert_true(harness_wait_for_log(&api, "\"event\":\"read_replica_unusable\"", 1, 1));
    assert_false(harness_wait_for_log(&api, "\"event\":\"read_replica_unusable\"", 2, 1));
    struct http_response *ready = http_get(&api, "/readyz", NULL);
    assert_int_equal(ready->status, 200);
    assert_string_equal(json_text(ready->json, "replica", "status", NULL), "unreachable");
    http_free(ready);
}

int main(void)
{
    harness_init("replica");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readiness_reports_the_standby),
        cmocka_unit_test(the_standby_serves_lists_and_the_feed_with_your_writes),
        cmocka_unit_test(a_batch_answers_its_position_too),
        cmocka_unit_test(a_standby_behind_gives_the_read_to_the_primary),
        cmocka_unit_test(the_ndjson_feed_streams_from_the_standby),
        cmocka_unit_test(an_unaudited_read_is_not_answered),
        cmocka_unit_test(without_the_standby_reads_go_to_the_primary),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
