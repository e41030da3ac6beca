/* Batches from offline devices (issue 13, POST /v1/batch): a commune
 * worker's phone that was offline for a week uploads 500 operations in one
 * request — children created under the UUIDs it chose, patches with
 * If-Match, supports added with their own Idempotency-Keys, a few bad
 * ones — while the office had changed some of the same children.  Each
 * item is answered on its own and in order; the conflicts block nothing;
 * the audit and feed entries are those of the single requests; the batch,
 * sent again as a phone does after a lost answer, doubles nothing. */
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

#define TODAY "2020-06-15"
#define KNOWN 100        /* children the phone had before going offline */
#define STALE 10         /* of them, changed by the office meanwhile */
#define CREATED 200      /* children the phone registered offline */
#define SUPPORTED 190    /* of them, with a support recorded */
#define INVALID 10       /* risks of an unknown category */
#define ITEMS (CREATED + KNOWN + SUPPORTED + INVALID)

static struct test_database database;
static struct test_process api;
static char *phone, *office;
static PGconn *owner;

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_batch", true, true, TODAY "T09:00:00+07:00", &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" TODAY "T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    phone = harness_login(&api, "demo_commune", "baove-demo");
    office = harness_login(&api, "demo_district", "baove-demo");
    owner = PQconnectdb(database.admin_url);
    return phone != NULL && office != NULL && PQstatus(owner) == CONNECTION_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(phone);
    free(office);
    PQfinish(owner);
    return harness_stop(&api) == 0 ? 0 : -1;
}

static long long count_of(const char *sql)
{
    PGresult *result = PQexec(owner, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(owner));
    long long count = atoll(PQgetvalue(result, 0, 0));
    PQclear(result);
    return count;
}

static void known_id(unsigned number, char out[37])
{
    snprintf(out, 37, "6a0b%04x-1b2c-4d3e-8f4a-%012x", number, number);
}

static void created_id(unsigned number, char out[37])
{
    snprintf(out, 37, "7c0d%04x-1b2c-4d3e-8f4a-%012x", number, number);
}

static json_t *item(const char *method, const char *path, const char *if_match,
                    const char *key, json_t *body)
{
    json_t *object = json_pack("{s:s, s:s}", "method", method, "path", path);
    if (if_match != NULL)
        json_object_set_new(object, "if_match", json_string(if_match));
    if (key != NULL)
        json_object_set_new(object, "idempotency_key", json_string(key));
    if (body != NULL)
        json_object_set_new(object, "body", body);
    return object;
}

/* What the phone collected, in the order it did it: registrations each
 * followed by the support given, the patches of children it knew, and risks
 * it typed under a category the province does not use. */
enum expected { CREATE, SUPPORT, PATCH, CONFLICT, INVALID_RISK };

static json_t *week_offline(enum expected expected[ITEMS])
{
    json_t *items = json_array();
    char id[37], path[128], key[32];
    size_t n = 0;
    for (unsigned i = 0; i < CREATED; i++) {
        created_id(i, id);
        snprintf(path, sizeof path, "/v1/children/%s", id);
        snprintf(key, sizeof key, "create-%u", i);
        json_array_append_new(items, item("PUT", path, NULL, key,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "unit", "29980", "full_name",
                      "Nguyễn Thị Hoa", "sex", "female", "date_of_birth", "2013-02-03",
                      "registered_on", "2020-06-10", "hamlet", "Thôn 3")));
        expected[n++] = CREATE;
        if (i >= SUPPORTED)
            continue;
        snprintf(path, sizeof path, "/v1/children/%s/supports", id);
        snprintf(key, sizeof key, "support-%u", i);
        json_array_append_new(items, item("POST", path, NULL, key,
            json_pack("{s:s, s:s, s:s, s:s}", "kind", "material_aid", "level", "support",
                      "provider_sector", "labour", "provided_on", "2020-06-11")));
        expected[n++] = SUPPORT;
        if (i % 20 != 7)
            continue;
        /* The known children, patched in between (some changed at the office). */
        for (unsigned k = i / 20 * 10; k < i / 20 * 10 + 10; k++) {
            known_id(k, id);
            snprintf(path, sizeof path, "/v1/children/%s", id);
            snprintf(key, sizeof key, "patch-%u", k);
            json_array_append_new(items, item("PATCH", path, "\"1\"", key,
                json_pack("{s:s}", "notes", "Visited at home on 2020-06-12.")));
            expected[n++] = k % (KNOWN / STALE) == 3 ? CONFLICT : PATCH;
        }
    }
    for (unsigned i = 0; i < INVALID; i++) {
        known_id(i * 10 + 1, id);
        snprintf(path, sizeof path, "/v1/children/%s/risks", id);
        json_array_append_new(items, item("POST", path, NULL, NULL,
            json_pack("{s:s, s:s}", "category", "ghosts", "since", "2020-06-01")));
        expected[n++] = INVALID_RISK;
    }
    assert_int_equal(n, ITEMS);
    return items;
}

static struct http_response *send_batch(const json_t *items, const char *request_id)
{
    json_t *body = json_pack("{s:O}", "items", items);
    char *text = json_dumps(body, JSON_COMPACT);
    char header[64];
    snprintf(header, sizeof header, "X-Request-Id: %s", request_id);
    struct http_options options = {.method = "POST", .path = "/v1/batch", .token = phone,
                                   .body = text,
                                   .headers = (const char *const[]){header, NULL}};
    struct http_response *response = http_call(&api, &options);
    free(text);
    json_decref(body);
    assert_int_equal(response->status, 200);
    assert_int_equal(json_array_size(json_object_get(response->json, "items")), ITEMS);
    return response;
}

/* Each answer is its single request's: status, ETag, Location, body. */
static void check_answers(const json_t *answers, const json_t *items,
                          const enum expected expected[ITEMS], bool replayed)
{
    for (size_t i = 0; i < ITEMS; i++) {
        const json_t *answer = json_array_get(answers, i);
        const json_t *body = json_object_get(answer, "body");
        const char *path = json_text(json_array_get(items, i), "path", NULL);
        long long status = json_integer_value(json_object_get(answer, "status"));
        bool was_replayed = json_is_true(json_object_get(answer, "replayed"));
        switch (expected[i]) {
        case CREATE:
            assert_int_equal(status, 201);
            assert_string_equal(json_text(answer, "etag", NULL), "\"1\"");
            assert_string_equal(json_text(answer, "location", NULL), path);
            assert_string_equal(json_text(body, "id", NULL), path + strlen("/v1/children/"));
            assert_int_equal(json_integer_value(json_object_get(body, "age")), 7);
            assert_int_equal(was_replayed, replayed);
            break;
        case SUPPORT:
            assert_int_equal(status, 201);
            assert_string_equal(json_text(answer, "etag", NULL), "\"1\"");
            assert_memory_equal(json_text(answer, "location", NULL), path, strlen(path));
            assert_string_equal(json_text(body, "kind", NULL), "material_aid");
            assert_int_equal(was_replayed, replayed);
            break;
        case PATCH:
            assert_int_equal(status, 200);
            assert_string_equal(json_text(answer, "etag", NULL), "\"2\"");
            assert_string_equal(json_text(body, "notes", NULL), "Visited at home on 2020-06-12.");
            assert_int_equal(was_replayed, replayed);
            break;
        case CONFLICT:
            /* The office's version is the current one; the phone decides. */
            assert_int_equal(status, 412);
            assert_string_equal(json_text(body, "type", NULL), "/problems/precondition-failed");
            assert_string_equal(json_text(body, "current", "notes", NULL), "Seen at the office.");
            assert_string_equal(json_text(answer, "etag", NULL), "\"2\"");
            assert_false(was_replayed);
            break;
        case INVALID_RISK:
            assert_int_equal(status, 422);
            assert_string_equal(json_text(body, "type", NULL), "/problems/validation");
            assert_false(was_replayed);
            break;
        }
    }
}

/* The audit entries of one request: action/resource/outcome → how many. */
static long long audited(const char *request_id, const char *action, const char *type,
                         const char *outcome)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_log WHERE request_id = '%s' AND action = '%s' "
             "AND resource_type = '%s' AND outcome = '%s'", request_id, action, type, outcome);
    return count_of(sql);
}

static void a_week_offline_uploads_once(void **state)
{
    (void)state;
    char id[37], path[128];
    for (unsigned k = 0; k < KNOWN; k++) {
        known_id(k, id);
        assert_int_equal(harness_put_child(&api, phone, id), 201);
    }
    /* Meanwhile the office writes down what it learnt about some of them. */
    for (unsigned k = 3; k < KNOWN; k += KNOWN / STALE) {
        known_id(k, id);
        snprintf(path, sizeof path, "/v1/children/%s", id);
        struct http_options patch = {.method = "PATCH", .path = path, .token = office,
                                     .body = "{\"notes\":\"Seen at the office.\"}",
                                     .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
        struct http_response *response = http_call(&api, &patch);
        assert_int_equal(response->status, 200);
        http_free(response);
    }
    long long feed_before = count_of("SELECT count(*) FROM change_log");

    enum expected expected[ITEMS];
    json_t *items = week_offline(expected);
    struct http_response *first = send_batch(items, "phone-upload-1");
    check_answers(json_object_get(first->json, "items"), items, expected, false);
    http_free(first);

    /* What was written: each success once, in the feed and the audit trail
     * as its single request writes it; refusals audited as theirs are. */
    long long written = CREATED + (KNOWN - STALE) + SUPPORTED;
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE id::text LIKE '7c0d%'"),
                     CREATED);
    assert_int_equal(count_of("SELECT count(*) FROM child_supports"), SUPPORTED);
    assert_int_equal(count_of("SELECT count(*) FROM change_log") - feed_before, written);
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE notes = "
                              "'Visited at home on 2020-06-12.' AND version = 2"),
                     KNOWN - STALE);
    assert_int_equal(audited("phone-upload-1", "create", "children", "success"), CREATED);
    assert_int_equal(audited("phone-upload-1", "create", "supports", "success"), SUPPORTED);
    assert_int_equal(audited("phone-upload-1", "update", "children", "success"),
                     KNOWN - STALE);
    assert_int_equal(audited("phone-upload-1", "update", "children", "conflict"), STALE);
    assert_int_equal(audited("phone-upload-1", "create", "risks", "invalid"), INVALID);
    assert_int_equal(count_of("SELECT count(*) FROM audit_log "
                              "WHERE request_id = 'phone-upload-1'"), ITEMS);
    /* A single PUT's entries are the same: one create of the child. */
    assert_int_equal(count_of("SELECT count(*) FROM change_log l JOIN children c "
                              "ON c.id = l.resource_id WHERE c.id::text LIKE '7c0d%' "
                              "AND l.operation = 'create' AND l.resource_type = 'children' "
                              "AND l.record->>'id' = c.id::text"), CREATED);

    /* The answer was lost; the phone sends the same batch again. */
    struct http_response *again = send_batch(items, "phone-upload-2");
    check_answers(json_object_get(again->json, "items"), items, expected, true);
    http_free(again);
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE id::text LIKE '7c0d%'"),
                     CREATED);
    assert_int_equal(count_of("SELECT count(*) FROM child_supports"), SUPPORTED);
    assert_int_equal(count_of("SELECT count(*) FROM change_log") - feed_before, written);
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE version > 2"), 0);
    /* Replays hand the records out again: audited as reads, nothing else. */
    assert_int_equal(audited("phone-upload-2", "read", "children", "success"),
                     CREATED + KNOWN - STALE);
    assert_int_equal(audited("phone-upload-2", "read", "supports", "success"), SUPPORTED);
    assert_int_equal(count_of("SELECT count(*) FROM audit_log WHERE request_id = "
                              "'phone-upload-2' AND outcome = 'success' AND action <> 'read'"),
                     0);
    json_decref(items);
}

/* A batch that is not one is refused whole, before anything runs. */
static void a_bad_batch_does_nothing(void **state)
{
    (void)state;
    long long feed_before = count_of("SELECT count(*) FROM change_log");
    static const char *const bodies[] = {
        "{\"items\":[]}",
        "{\"items\":[{\"method\":\"PUT\",\"path\":\"/v1/children/7e000000-1b2c-4d3e-8f4a-"
        "000000000001\",\"body\":{\"unit\":\"29980\",\"full_name\":\"A\",\"sex\":\"male\","
        "\"date_of_birth\":\"2012-01-01\"}},{\"method\":\"GET\",\"path\":\"/v1/children\"}]}",
        "{\"items\":[{\"method\":\"POST\",\"path\":\"/v1/cases\",\"body\":{}}]}",
        "{\"items\":[{\"method\":\"PUT\",\"path\":\"/v1/children/x\",\"colour\":\"red\"}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct http_response *response = http_post_json(&api, "/v1/batch", phone, bodies[i]);
        assert_int_equal(response->status, 422);
        assert_string_equal(json_text(response->json, "type", NULL), "/problems/validation");
        http_free(response);
    }
    assert_int_equal(count_of("SELECT count(*) FROM change_log"), feed_before);
    /* Over the limit of items. */
    json_t *items = json_array();
    for (int i = 0; i < 501; i++)
        json_array_append_new(items, item("DELETE", "/v1/children/x", NULL, NULL, NULL));
    json_t *body = json_pack("{s:o}", "items", items);
    char *text = json_dumps(body, JSON_COMPACT);
    struct http_response *response = http_post_json(&api, "/v1/batch", phone, text);
    assert_int_equal(response->status, 422);
    http_free(response);
    free(text);
    json_decref(body);
    /* An item refused by its precondition is answered alone, as its request
     * would be. */
    struct http_response *stale = http_post_json(
        &api, "/v1/batch", phone,
        "{\"items\":[{\"method\":\"DELETE\",\"path\":\"/v1/children/"
        "6a0b0000-1b2c-4d3e-8f4a-000000000000\",\"if_match\":\"\\\"9\\\"\"}]}");
    assert_int_equal(stale->status, 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(stale->json, "items"), 0), "status")),
                     412);
    http_free(stale);
}

/* A batch sent by a thread of the test, so that it can change the account
 * while the batch runs. */
struct sent_batch {
    const char *token, *body;
    struct http_response *response;
};

static void *post_batch(void *context)
{
    struct sent_batch *sent = context;
    sent->response = http_post_json(&api, "/v1/batch", sent->token, sent->body);
    return NULL;
}

#define HELD_CHILD "7e100000-1b2c-4d3e-8f4a-000000000001"
#define LATER_CHILD "7e100000-1b2c-4d3e-8f4a-000000000002"

/* An account changed while its batch runs: the items after the change are
 * judged as their own requests would be now.  The collaborator made a
 * viewer meanwhile gets 403 (audited as denied) for a registration, not
 * 401, and the item it had begun before the change stays done. */
static void an_account_changed_while_its_batch_runs(void **state)
{
    (void)state;
    char *collaborator = harness_login(&api, "demo_collaborator", "baove-demo");
    assert_non_null(collaborator);
    assert_int_equal(harness_put_child(&api, collaborator, HELD_CHILD), 201);
    /* The first item waits on its child's row, after its scope was checked. */
    PGconn *holder = PQconnectdb(database.admin_url);
    PGresult *locked = PQexec(holder, "BEGIN; SELECT 1 FROM children WHERE id = '" HELD_CHILD
                                      "' FOR UPDATE");
    assert_int_equal(PQresultStatus(locked), PGRES_TUPLES_OK);
    PQclear(locked);
    struct sent_batch sent = {
        .token = collaborator,
        .body = "{\"items\":["
                "{\"method\":\"PATCH\",\"path\":\"/v1/children/" HELD_CHILD "\","
                "\"if_match\":\"\\\"1\\\"\",\"body\":{\"notes\":\"Seen again.\"}},"
                "{\"method\":\"PUT\",\"path\":\"/v1/children/" LATER_CHILD "\","
                "\"body\":{\"unit\":\"29980\",\"full_name\":\"Lê Thị Mai\",\"sex\":\"female\","
                "\"date_of_birth\":\"2014-03-04\",\"registered_on\":\"2020-06-10\"}}]}"};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, post_batch, &sent), 0);
    /* A condition, not a duration: the item waits on the row. */
    int waiting = 0;
    for (int tries = 0; tries < 2000 && (waiting = harness_lock_waiters(&database)) < 1; tries++)
        usleep(10000);
    assert_int_equal(waiting, 1);
    assert_int_equal(count_of("WITH changed AS (UPDATE principals SET role = 'viewer' "
                              "WHERE username = 'demo_collaborator' RETURNING 1) "
                              "SELECT count(*) FROM changed"), 1);
    PQclear(PQexec(holder, "COMMIT"));
    PQfinish(holder);
    assert_int_equal(pthread_join(thread, NULL), 0);

    assert_int_equal(sent.response->status, 200);
    const json_t *answers = json_object_get(sent.response->json, "items");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(answers, 0), "status")),
                     200);
    const json_t *refused = json_array_get(answers, 1);
    assert_int_equal(json_integer_value(json_object_get(refused, "status")), 403);
    assert_string_equal(json_string_value(json_object_get(json_object_get(refused, "body"),
                                                          "type")),
                        "/problems/forbidden");
    http_free(sent.response);
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE id = '" HELD_CHILD
                              "' AND notes = 'Seen again.'"), 1);
    assert_int_equal(count_of("SELECT count(*) FROM children WHERE id = '" LATER_CHILD "'"), 0);
    assert_int_equal(count_of("SELECT count(*) FROM audit_log WHERE actor = "
                              "'demo_collaborator' AND action = 'denied' AND outcome = 'denied' "
                              "AND resource_type = 'children'"), 1);
    assert_int_equal(count_of("WITH changed AS (UPDATE principals SET role = 'collaborator' "
                              "WHERE username = 'demo_collaborator' RETURNING 1) "
                              "SELECT count(*) FROM changed"), 1);
    free(collaborator);
}

/* A role that may not write children is refused the whole batch (403) and
 * the refusal is audited as denied, as each of its requests sent alone
 * would be. */
static void a_batch_refused_by_role_is_audited(void **state)
{
    (void)state;
    char *viewer = harness_login(&api, "demo_viewer", "baove-demo");
    assert_non_null(viewer);
    struct http_options options = {
        .method = "POST", .path = "/v1/batch", .token = viewer,
        .body = "{\"items\":[{\"method\":\"GET\",\"path\":\"/v1/me\"}]}",
        .headers = (const char *const[]){"X-Request-Id: batch-viewer", NULL}};
    struct http_response *refused = http_call(&api, &options);
    assert_int_equal(refused->status, 403);
    http_free(refused);
    assert_int_equal(audited("batch-viewer", "denied", "batch", "denied"), 1);
    free(viewer);
}

int main(void)
{
    harness_init("batch");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_week_offline_uploads_once),
        cmocka_unit_test(a_bad_batch_does_nothing),
        cmocka_unit_test(an_account_changed_while_its_batch_runs),
        cmocka_unit_test(a_batch_refused_by_role_is_audited),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
