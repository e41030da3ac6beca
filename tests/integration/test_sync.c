/* The replica test (issue 13, docs/sync.md): reference clients replicate
 * the feed of a district officer, a sync client and a commune officer into
 * a separate database while a writer creates, updates, deletes and moves
 * children between communes, and the log is pruned half-way (the lagging
 * sync client gets a 410 and resynchronises through its `restart`).  Once
 * the writer stops and the clients catch up, each replica equals the
 * server's view of that reader, document for document, computed from the
 * tables themselves. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "standby.h"

#define TODAY "2020-06-15"
#define CHILDREN 12
#define WRITES 90
#define PRUNE_AT 45

static struct test_database database, replica_database;
static struct test_process api;
static char *writer;
static PGconn *replica, *owner;

/* A reference client: its cursor, and how often the feed sent it back. */
struct reader {
    const char *name;     /* the replica's `reader` column */
    const char *username;
    const char *scope;    /* its unit's code */
    char *token;
    char cursor[192];     /* "" before the first page */
    int expired;          /* 410s followed */
};

static struct reader readers[] = {
    {.name = "district", .username = "demo_district", .scope = "870"},
    {.name = "sync", .username = "demo_sync", .scope = "87"},
    {.name = "commune", .username = "demo_commune", .scope = "29980"},
};
#define READERS (sizeof readers / sizeof readers[0])

static PGresult *exec_ok(PGconn *connection, const char *sql, int count, const char *const *values)
{
    PGresult *result = PQexecParams(connection, sql, count, NULL, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(connection));
    return result;
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_sync", true, true, TODAY "T09:00:00+07:00", &database) ||
        !harness_create_database("baove_t_sync_replica", false, false, &replica_database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" TODAY "T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    writer = harness_login(&api, "demo_district", "baove-demo");
    for (size_t i = 0; i < READERS; i++)
        readers[i].token = harness_login(&api, readers[i].username, "baove-demo");
    replica = PQconnectdb(replica_database.admin_url);
    owner = PQconnectdb(database.admin_url);
    if (PQstatus(replica) != CONNECTION_OK || PQstatus(owner) != CONNECTION_OK)
        return -1;
    PQclear(exec_ok(replica, "CREATE TABLE replica (reader text, type text, id uuid, "
                             "record jsonb NOT NULL, PRIMARY KEY (reader, type, id))", 0, NULL));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(writer);
    for (size_t i = 0; i < READERS; i++)
        free(readers[i].token);
    PQfinish(replica);
    PQfinish(owner);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* Applies one entry to the reader's replica (docs/sync.md, the rules). */
static void apply(const struct reader *reader, const json_t *entry)
{
    const char *operation = json_text(entry, "operation", NULL);
    char *record = json_dumps(json_object_get(entry, "record"), JSON_COMPACT | JSON_ENCODE_ANY);
    const char *values[] = {reader->name, json_text(entry, "type", NULL),
                            json_text(entry, "id", NULL), record};
    bool removes = strcmp(operation, "delete") == 0 || strcmp(operation, "scope_exit") == 0;
    PQclear(exec_ok(replica,
                    removes ? "DELETE FROM replica WHERE reader = $1 AND type = $2 AND id = $3"
                            : "INSERT INTO replica VALUES ($1, $2, $3, $4) ON CONFLICT "
                              "(reader, type, id) DO UPDATE SET record = excluded.record",
                    removes ? 3 : 4, values));
    free(record);
}

/* One page of the feed, applied; returns how many entries it had (-1 after
 * following a 410, which empties the replica: the new snapshot refills it). */
static int read_page(struct reader *reader)
{
    char path[320];
    snprintf(path, sizeof path, "/v1/changes?limit=3&types=children,circumstances,risks,supports"
                                "%s%s", reader->cursor[0] ? "&cursor=" : "", reader->cursor);
    struct http_response *response = http_get(&api, path, reader->token);
    if (response->status == 410) {
        assert_string_equal(json_text(response->json, "restart", NULL),
                            "/v1/changes?types=children,circumstances,risks,supports");
        const char *values[] = {reader->name};
        PQclear(exec_ok(replica, "DELETE FROM replica WHERE reader = $1", 1, values));
        reader->cursor[0] = '\0';
        reader->expired++;
        http_free(response);
        return -1;
    }
    if (response->status != 200)
        fail_msg("%s: %ld %s", path, response->status, response->body);
    json_t *items = json_object_get(response->json, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        apply(reader, json_array_get(items, i));
    snprintf(reader->cursor, sizeof reader->cursor, "%s",
             json_text(response->json, "next_cursor", NULL));
    bool snapshot = strcmp(json_text(response->json, "phase", NULL), "snapshot") == 0;
    int count = (int)json_array_size(items);
    http_free(response);
    return snapshot && count == 0 ? 1 : count; /* a snapshot is never "caught up" */
}

/* ---- the writer -------------------------------------------------------------- */

static unsigned random_state = 20200615;
static unsigned next_random(unsigned bound)
{
    random_state = random_state * 1103515245u + 12345u;
    return (random_state >> 16) % bound;
}

static void child_id(unsigned number, char out[37])
{
    snprintf(out, 37, "5e0a%04x-1b2c-4d3e-8f4a-%012x", number, number);
}

/* Sends a write; returns its status. */
static long write_request(const char *method, const char *path, const char *body,
                          const char *if_match)
{
    char header[64];
    snprintf(header, sizeof header, "If-Match: %s", if_match != NULL ? if_match : "");
    const char *headers[] = {header, NULL};
    struct http_options options = {.method = method, .path = path, .token = writer, .body = body,
                                   .headers = if_match != NULL ? headers : NULL};
    struct http_response *response = http_call(&api, &options);
    long status = response->status;
    http_free(response);
    return status;
}

/* The child's ETag, or "" when it does not exist (any more). */
static void current_etag(const char *path, char out[32])
{
    struct http_response *response = http_get(&api, path, writer);
    snprintf(out, 32, "%s", response->status == 200 ? http_header(response, "ETag") : "");
    http_free(response);
}

/* One write of a random kind to a random child of the pool. */
static void write_something(void)
{
    char id[37], path[128], etag[32], body[512];
    child_id(next_random(CHILDREN), id);
    snprintf(path, sizeof path, "/v1/children/%s", id);
    current_etag(path, etag);
    const char *unit = next_random(2) ? "29980" : "29983";
    unsigned kind = next_random(8);
    if (etag[0] == '\0') {
        snprintf(body, sizeof body,
                 "{\"unit\":\"%s\",\"full_name\":\"Trẻ %.8s\",\"sex\":\"female\","
                 "\"date_of_birth\":\"2012-0%u-01\",\"registered_on\":\"2020-01-02\"}",
                 unit, id, 1 + next_random(9));
        long status = write_request("PUT", path, body, NULL);
        assert_true(status == 201 || status == 404); /* 404: deleted, its id is not reused */
    } else if (kind == 0) {
        assert_int_equal(write_request("DELETE", path, NULL, etag), 204);
    } else if (kind <= 2) { /* a move (or a stay) between the two communes */
        snprintf(body, sizeof body, "{\"unit\":\"%s\"}", unit);
        assert_int_equal(write_request("PATCH", path, body, etag), 200);
    } else if (kind == 3) {
        snprintf(body, sizeof body, "{\"notes\":\"ghi chú %u\"}", next_random(1000));
        assert_int_equal(write_request("PATCH", path, body, etag), 200);
    } else {
        static const char *const records[][2] = {
            {"circumstances", "{\"group\":\"l\",\"subgroup\":\"l4\",\"since\":\"2020-02-01\"}"},
            {"risks", "{\"category\":\"dropping_out\",\"since\":\"2020-03-01\"}"},
            {"supports", "{\"kind\":\"medical_care\",\"level\":\"support\","
                         "\"provider_sector\":\"health\",\"provided_on\":\"2020-03-01\"}"},
            {"supports", "{\"kind\":\"legal_aid\",\"level\":\"prevention\","
                         "\"provider_sector\":\"justice\",\"provided_on\":\"2020-04-01\"}"}};
        snprintf(path, sizeof path, "/v1/children/%s/%s", id, records[kind - 4][0]);
        assert_int_equal(write_request("POST", path, records[kind - 4][1], NULL), 201);
    }
}

/* ---- the comparison ------------------------------------------------------------ */

/* "type id md5(record)" lines, sorted, of one statement's rows. */
static char *lines_of(PGconn *connection, const char *sql, const char *value)
{
    const char *values[] = {value};
    PGresult *result = exec_ok(connection, sql, 1, values);
    char *text = strdup(PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)
                            ? PQgetvalue(result, 0, 0) : "");
    PQclear(result);
    return text;
}

/* The server's view of a reader whose scope is the unit `code`: every live
 * child in it and the records about them, as documents. */
static char *server_view(const char *code)
{
    return lines_of(
        owner,
        "WITH scope AS (SELECT s.id FROM units u, unit_subtree(u.id, '" TODAY "') s "
        "               WHERE u.code = $1), "
        "live AS (SELECT * FROM children WHERE deleted_at IS NULL "
        "           AND unit_id IN (SELECT id FROM scope)), "
        "rows AS ( "
        "  SELECT 'children' AS type, c.id, child_document(c, '" TODAY "')::jsonb AS record "
        "    FROM live c "
        "  UNION ALL SELECT r.type, r.id, (r.row - 'created_at' - 'updated_at') || "
        "         jsonb_build_object('created_at', rfc3339(r.created_at), "
        "                            'updated_at', rfc3339(r.updated_at)) "
        "    FROM (SELECT 'circumstances' AS type, x.id, x.child_id, x.created_at, "
        "                 x.updated_at, to_jsonb(x) AS row FROM child_circumstances x "
        "          UNION ALL SELECT 'risks', x.id, x.child_id, x.created_at, x.updated_at, "
        "                 to_jsonb(x) FROM child_risks x "
        "          UNION ALL SELECT 'supports', x.id, x.child_id, x.created_at, x.updated_at, "
        "                 to_jsonb(x) FROM child_supports x) r "
        "   WHERE r.child_id IN (SELECT id FROM live)) "
        "SELECT string_agg(type || ' ' || id || ' ' || md5(record::text), E'\\n' "
        "                  ORDER BY type, id) FROM rows",
        code);
}

static char *replica_view(const char *reader)
{
    return lines_of(replica,
                    "SELECT string_agg(type || ' ' || id || ' ' || md5(record::text), E'\\n' "
                    "ORDER BY type, id) FROM replica WHERE reader = $1",
                    reader);
}

/* Reads until the replica equals the server's view.  A page can come back
 * empty while a transaction of another test's database is still running
 * (the feed waits for the oldest one of the cluster), so an empty page is
 * not proof: compare, and poll a little while the log still has more. */
static void catch_up_and_compare(struct reader *reader)
{
    char *expected = server_view(reader->scope), *actual = NULL;
    for (int attempt = 0; attempt < 300; attempt++) {
        while (read_page(reader) != 0)
            ;
        free(actual);
        actual = replica_view(reader->name);
        if (strcmp(expected, actual) == 0)
            break;
        usleep(100 * 1000);
    }
    if (strcmp(expected, actual) != 0)
        fail_msg("replica of %s differs:\nserver:\n%s\nreplica:\n%s", reader->name, expected,
                 actual);
    assert_true(strlen(expected) > 0);
    free(expected);
    free(actual);
}

/* The log up to its last transaction goes, as the worker's prune would. */
static void prune_everything_written(void)
{
    PQclear(exec_ok(owner,
                    "WITH boundary AS (SELECT max(transaction_id) AS through FROM change_log), "
                    "gone AS (DELETE FROM change_log WHERE transaction_id <= "
                    "         (SELECT through FROM boundary)) "
                    "UPDATE change_log_horizon SET pruned_through = (SELECT through FROM boundary)",
                    0, NULL));
}

static void replicas_equal_the_server(void **state)
{
    (void)state;
    for (int write = 0; write < WRITES; write++) {
        write_something();
        /* The district and the commune follow closely; the sync client
         * lags (every third write) and sleeps over the pruning. */
        read_page(&readers[0]);
        read_page(&readers[2]);
        if (write % 3 == 0 && (write < PRUNE_AT - 6 || write > PRUNE_AT))
            read_page(&readers[1]);
        if (write == PRUNE_AT)
            prune_everything_written();
    }
    for (size_t i = 0; i < READERS; i++)
        catch_up_and_compare(&readers[i]);
    assert_true(readers[1].expired >= 1);

    /* A resync forced by a 410 after everything: the replica is rebuilt
     * from the snapshot alone and is exact again. */
    prune_everything_written();
    for (int write = 0; write < 10; write++)
        write_something();
    prune_everything_written();
    int before = readers[0].expired;
    catch_up_and_compare(&readers[0]);
    assert_int_equal(readers[0].expired, before + 1);
}

/* ---- the bulk pull as NDJSON ------------------------------------------------- */

/* Every entry from `cursor` ("": a snapshot first) until caught up, by
 * pages of JSON (limit 3); the last next_cursor in `next`. */
static json_t *paged_pull(const char *token, const char *cursor, char next[192])
{
    json_t *entries = json_array();
    snprintf(next, 192, "%s", cursor);
    for (;;) {
        char path[320];
        snprintf(path, sizeof path, "/v1/changes?limit=3%s%s", next[0] ? "&cursor=" : "", next);
        struct http_response *response = http_get(&api, path, token);
        assert_int_equal(response->status, 200);
        json_t *items = json_object_get(response->json, "items");
        json_array_extend(entries, items);
        snprintf(next, 192, "%s", json_text(response->json, "next_cursor", NULL));
        bool done = strcmp(json_text(response->json, "phase", NULL), "changes") == 0 &&
                    json_array_size(items) < 3;
        http_free(response);
        if (done)
            return entries;
    }
}

/* The same pull in one request with Accept: application/x-ndjson (read by
 * pages of `limit`): one entry a line, then {"next_cursor": …}. */
static json_t *ndjson_pull(const char *token, const char *cursor, int limit, char next[192])
{
    char path[320];
    snprintf(path, sizeof path, "/v1/changes?limit=%d%s%s", limit, cursor[0] ? "&cursor=" : "",
             cursor);
    struct http_options options = {
        .path = path, .token = token,
        .headers = (const char *const[]){"Accept: application/x-ndjson", NULL}};
    struct http_response *response = http_call(&api, &options);
    assert_int_equal(response->status, 200);
    assert_string_equal(response->content_type, "application/x-ndjson");
    assert_true(response->length > 0 && response->body[response->length - 1] == '\n');
    json_t *entries = json_array();
    char *saveptr = NULL;
    json_t *last = NULL;
    for (char *line = strtok_r(response->body, "\n", &saveptr); line != NULL;
         line = strtok_r(NULL, "\n", &saveptr)) {
        json_t *entry = json_loads(line, 0, NULL);
        assert_non_null(entry);
        if (last != NULL)
            json_array_append_new(entries, last);
        last = entry;
    }
    /* The last line says the stream is whole, and where to go on. */
    assert_non_null(last);
    assert_null(json_object_get(last, "type"));
    snprintf(next, 192, "%s", json_text(last, "next_cursor", NULL));
    json_decref(last);
    http_free(response);
    return entries;
}

static void drop_cursors(json_t *entries)
{
    size_t index;
    json_t *entry;
    json_array_foreach(entries, index, entry)
        json_object_del(entry, "cursor");
}

/* Both pulls, until they agree: an entry is only delivered once every
 * older transaction of the cluster has ended (another test's may still
 * run), so one pull may stop short of the other for a moment. */
static void pulls_agree(const char *token, const char *cursor)
{
    bool equal = false;
    for (int attempt = 0; attempt < 50 && !equal; attempt++) {
        char paged_next[192], streamed_next[192];
        json_t *paged = paged_pull(token, cursor, paged_next);
        json_t *streamed = ndjson_pull(token, cursor, 2, streamed_next);
        assert_true(json_array_size(paged) > 0);
        if (cursor[0] == '\0') {
            /* Two snapshots start at two positions of the log. */
            drop_cursors(paged);
            drop_cursors(streamed);
            equal = json_equal(paged, streamed);
        } else {
            equal = json_equal(paged, streamed) && strcmp(paged_next, streamed_next) == 0;
        }
        json_decref(paged);
        json_decref(streamed);
        if (!equal)
            usleep(100 * 1000);
    }
    assert_true(equal);
}

static void ndjson_equals_the_paged_pull(void **state)
{
    (void)state;
    char cursor[192];
    for (size_t i = 0; i < READERS; i++)
        pulls_agree(readers[i].token, "");
    json_decref(paged_pull(readers[0].token, "", cursor));
    for (int write = 0; write < 20; write++)
        write_something();
    pulls_agree(readers[0].token, cursor);
    /* A refused cursor is a problem, not a stream. */
    struct http_options options = {
        .path = "/v1/changes?cursor=00000000-0000-4000-8000-000000000000:1-1", .token = writer,
        .headers = (const char *const[]){"Accept: application/x-ndjson", NULL}};
    struct http_response *foreign = http_call(&api, &options);
    assert_int_equal(foreign->status, 400);
    http_free(foreign);
}

/* A page of records about children names the children in its audit
 * entry too, as a GET of such a record does: the child's trail shows the
 * read even when the page holds no entry of the child itself. */
static void a_page_audits_the_children_of_its_records(void **state)
{
    (void)state;
    struct http_response *page =
        http_get(&api, "/v1/changes?types=risks,supports&limit=20", readers[0].token);
    assert_int_equal(page->status, 200);
    assert_true(json_array_size(json_object_get(page->json, "items")) > 0);
    http_free(page);
    assert_true(harness_query_equals(
        &database,
        "WITH entry AS (SELECT resource_ids FROM audit_log WHERE resource_type = 'changes' "
        "                ORDER BY id DESC LIMIT 1), "
        "     listed AS (SELECT r.id, r.child_id FROM child_risks r UNION ALL "
        "                SELECT s.id, s.child_id FROM child_supports s) "
        "SELECT count(*) > 0 AND count(*) FILTER (WHERE l.child_id = ANY (e.resource_ids)) "
        "       = count(*) "
        "  FROM entry e JOIN listed l ON l.id = ANY (e.resource_ids)",
        "t"));
}

/* A streamed pull, sent by a thread of the test. */
struct streamed_pull {
    const char *token;
    struct http_response *response;
};

static void *pull_in_thread(void *context)
{
    struct streamed_pull *pull = context;
    struct http_options options = {
        .path = "/v1/changes?limit=2", .token = pull->token,
        .headers = (const char *const[]){"Accept: application/x-ndjson", NULL}};
    pull->response = http_call(&api, &options);
    return NULL;
}

/* A pull refused after its head went out ends with a line that says why
 * and where to resume.  The token is revoked while the first page (of
 * `limit` entries) waits on the audit log, which the test holds: that page
 * was read as a valid token's, the next one is refused (401).  Resumed from
 * that line's next_cursor with a new token, the pull gives every entry the
 * stream did not.  With the API reading from a standby, the standby's replay
 * is paused before the revocation: the standby still holds the token valid,
 * and the primary, which writes each page's audit entry, refuses it. */
static void a_pull_refused_midway_says_where_to_resume(void **state)
{
    (void)state;
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    PGconn *holder = PQconnectdb(database.admin_url);
    PQclear(exec_ok(holder, "BEGIN", 0, NULL));
    PQclear(exec_ok(holder, "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE", 0, NULL));
    struct streamed_pull pull = {.token = token};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, pull_in_thread, &pull), 0);
    int waiting = 0;
    for (int tries = 0; tries < 2000 && (waiting = harness_lock_waiters(&database)) < 1; tries++)
        usleep(10000);
    assert_true(read_replica_replay(&database, true));
    const char *values[] = {token};
    PQclear(exec_ok(owner,
                    "UPDATE access_tokens SET revoked_at = '" TODAY "T09:00:00+07:00' "
                    "WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
                    1, values));
    PQclear(exec_ok(holder, "COMMIT", 0, NULL));
    PQfinish(holder);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(read_replica_replay(&database, false));
    assert_int_equal(waiting, 1);

    /* Two entries, then the refusal, in a whole answer. */
    struct http_response *response = pull.response;
    assert_int_equal(response->status, 200);
    assert_true(response->length > 0 && response->body[response->length - 1] == '\n');
    json_t *received = json_array();
    char *saveptr = NULL;
    for (char *line = strtok_r(response->body, "\n", &saveptr); line != NULL;
         line = strtok_r(NULL, "\n", &saveptr))
        json_array_append_new(received, json_loads(line, 0, NULL));
    assert_int_equal(json_array_size(received), 3);
    json_t *last = json_array_get(received, 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "problem"),
                                                        "status")),
                     401);
    assert_string_equal(json_text(last, "problem", "type", NULL), "/problems/unauthorized");
    char resume[192];
    snprintf(resume, sizeof resume, "%s", json_text(last, "next_cursor", NULL));
    assert_string_equal(resume, json_text(json_array_get(received, 1), "cursor", NULL));
    json_array_remove(received, 2);
    http_free(response);

    /* Resumed with a new token: the stream's entries and the rest are the
     * whole pull. */
    char next[192];
    json_t *rest = paged_pull(writer, resume, next);
    json_array_extend(received, rest);
    json_decref(rest);
    json_t *whole = paged_pull(writer, "", next);
    drop_cursors(received);
    drop_cursors(whole);
    assert_true(json_array_size(whole) > 2);
    assert_true(json_equal(received, whole));
    json_decref(received);
    json_decref(whole);
    free(token);
}

int main(void)
{
    harness_init("sync");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replicas_equal_the_server),
        cmocka_unit_test(ndjson_equals_the_paged_pull),
        cmocka_unit_test(a_page_audits_the_children_of_its_records),
        cmocka_unit_test(a_pull_refused_midway_says_where_to_resume),
    };
    int failed = cmocka_run_group_tests_name("sync", tests, setup, teardown);
    harness_finish();
    return failed;
}
