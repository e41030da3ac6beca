/* The child registry end to end: children and their records, concurrency,
 * validation, scope (BOLA probes by id, list filter, body and feed), the
 * role × route matrix, row-level security as a second line, the audit log,
 * idempotent retries and the change feed under concurrent writers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct test_database database;
static struct test_process api;
/* Tokens of the demo users, by role.  demo_commune, demo_chair and
 * demo_collaborator work in Xã Long Khánh A (29980). */
static char *admin, *district, *commune, *chair, *collaborator, *viewer, *sync_client;

#define AN "0b0e3c1a-9a7f-4a52-8a10-6a3f1d2b3c4d"   /* in 29980 */
#define BINH "1c1f4d2b-0b80-4b63-9b21-7b4a2e3c4d5e" /* in 29983: another commune */

static const char *an_body =
    "{\"unit\":\"29980\",\"full_name\":\"Nguyễn Văn An\",\"sex\":\"male\","
    "\"date_of_birth\":\"2011-05-04\",\"hamlet\":\"Ấp 2\",\"registered_on\":\"2020-01-10\","
    "\"guardians\":[{\"name\":\"Trần Thị Bé\",\"relation\":\"mother\",\"phone\":\"0912345678\"}]}";
static const char *binh_body =
    "{\"unit\":\"29983\",\"full_name\":\"Lê Thị Bình\",\"sex\":\"female\","
    "\"date_of_birth\":\"2014-09-30\",\"registered_on\":\"2020-02-03\"}";

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_registry", true, true, "2020-06-15T09:00:00+07:00",
                                    &database))
        return -1;
    /* Stand on a day of the 2020 plan: ages and "today" are stable. */
    const char *env[] = {"BAOVE_NOW=2020-06-15T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    admin = harness_login(&api, "demo_admin", "baove-demo");
    district = harness_login(&api, "demo_district", "baove-demo");
    commune = harness_login(&api, "demo_commune", "baove-demo");
    chair = harness_login(&api, "demo_chair", "baove-demo");
    collaborator = harness_login(&api, "demo_collaborator", "baove-demo");
    viewer = harness_login(&api, "demo_viewer", "baove-demo");
    sync_client = harness_login(&api, "demo_sync", "baove-demo");
    return admin && district && commune && chair && collaborator && viewer && sync_client ? 0
                                                                                          : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(admin);
    free(district);
    free(commune);
    free(chair);
    free(collaborator);
    free(viewer);
    free(sync_client);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* Sends a request with optional body and extra header lines. */
static struct http_response *call(const char *method, const char *path, const char *token,
                                  const char *body, const char *header1, const char *header2)
{
    const char *headers[3] = {header1, header2, NULL};
    if (header1 == NULL)
        headers[0] = header2, headers[1] = NULL;
    struct http_options options = {.method = method, .path = path, .token = token,
                                   .body = body, .headers = headers};
    return http_call(&api, &options);
}

static long status_of(const char *method, const char *path, const char *token,
                      const char *body, const char *header)
{
    struct http_response *response = call(method, path, token, body, header, NULL);
    long status = response->status;
    http_free(response);
    return status;
}

static void assert_type(const struct http_response *response, long status, const char *type)
{
    if (response->status != status)
        fail_msg("expected %ld, got %ld: %s", status, response->status, response->body);
    assert_string_equal(json_text(response->json, "type", NULL), type);
}

static void create_and_read(void **state)
{
    (void)state;
    struct http_response *created = call("PUT", "/v1/children/" AN, commune, an_body, NULL, NULL);
    assert_int_equal(created->status, 201);
    assert_string_equal(http_header(created, "ETag"), "\"1\"");
    assert_string_equal(http_header(created, "Location"), "/v1/children/" AN);
    assert_string_equal(json_text(created->json, "full_name", NULL), "Nguyễn Văn An");
    assert_int_equal(json_integer_value(json_object_get(created->json, "age")), 9);
    assert_true(json_is_true(json_object_get(created->json, "under_16")));
    assert_string_equal(json_text(created->json, "created_at", NULL), "2020-06-15T09:00:00+07:00");
    http_free(created);

    struct http_response *read = http_get(&api, "/v1/children/" AN, collaborator);
    assert_int_equal(read->status, 200);
    assert_string_equal(http_header(read, "ETag"), "\"1\"");
    assert_string_equal(http_header(read, "Cache-Control"), "no-store");
    assert_string_equal(json_text(json_array_get(json_object_get(read->json, "guardians"), 0),
                                  "name", NULL), "Trần Thị Bé");
    http_free(read);

    /* The district officer registers a child in another commune. */
    assert_int_equal(status_of("PUT", "/v1/children/" BINH, district, binh_body, NULL), 201);
}

static void replace_and_patch_need_the_current_version(void **state)
{
    (void)state;
    assert_int_equal(status_of("PUT", "/v1/children/" AN, commune, an_body, NULL), 428);
    struct http_response *stale =
        call("PUT", "/v1/children/" AN, commune, an_body, "If-Match: \"7\"", NULL);
    assert_type(stale, 412, "/problems/precondition-failed");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stale->json, "current"),
                                                        "version")), 1);
    http_free(stale);

    struct http_response *patched =
        call("PATCH", "/v1/children/" AN, commune, "{\"notes\":\"Gia đình khó khăn\",\"hamlet\":null}",
             "If-Match: \"1\"", "Content-Type: application/merge-patch+json");
    assert_int_equal(patched->status, 200);
    assert_string_equal(http_header(patched, "ETag"), "\"2\"");
    assert_string_equal(json_text(patched->json, "notes", NULL), "Gia đình khó khăn");
    assert_true(json_is_null(json_object_get(patched->json, "hamlet")));
    assert_string_equal(json_text(patched->json, "full_name", NULL), "Nguyễn Văn An");
    http_free(patched);

    /* Two writers with the same If-Match: exactly one wins. */
    long first = status_of("PATCH", "/v1/children/" AN, commune, "{\"hamlet\":\"Ấp 3\"}",
                           "If-Match: \"2\"");
    long second = status_of("PATCH", "/v1/children/" AN, collaborator, "{\"hamlet\":\"Ấp 4\"}",
                            "If-Match: \"2\"");
    assert_int_equal(first, 200);
    assert_int_equal(second, 412);
}

static void bad_children_are_refused_whole(void **state)
{
    (void)state;
    const char *id = "/v1/children/2d2e5f3c-1c91-4c74-8c32-8c5b3f4d5e6f";
    struct http_response *response = call(
        "PUT", id, commune,
        "{\"unit\":\"29983\",\"full_name\":\"\",\"sex\":\"boy\",\"date_of_birth\":\"2003-01-01\","
        "\"guardians\":[{\"relation\":\"mother\"}],\"household_poverty_status\":\"rich\"}",
        NULL, NULL);
    assert_type(response, 422, "/problems/validation");
    const char *expected[] = {"/full_name", "/sex", "/household_poverty_status"};
    json_t *errors = json_object_get(response->json, "errors");
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_text(json_array_get(errors, i), "pointer", NULL), expected[i]);
    http_free(response);

    /* Fields fine, but born more than 16 years before registration. */
    response = call("PUT", id, commune,
                    "{\"unit\":\"29980\",\"full_name\":\"Võ Văn Cường\",\"sex\":\"male\","
                    "\"date_of_birth\":\"2003-01-01\",\"registered_on\":\"2020-01-10\"}",
                    NULL, NULL);
    assert_type(response, 422, "/problems/validation");
    http_free(response);
    /* A unit outside the caller's scope. */
    response = call("PUT", id, commune,
                    "{\"unit\":\"29983\",\"full_name\":\"Võ Văn Cường\",\"sex\":\"male\","
                    "\"date_of_birth\":\"2012-01-01\",\"registered_on\":\"2020-01-10\"}",
                    NULL, NULL);
    assert_type(response, 422, "/problems/validation");
    assert_string_equal(json_text(json_array_get(json_object_get(response->json, "errors"), 0),
                                  "pointer", NULL), "/unit");
    http_free(response);
    /* A date in the future (BAOVE_NOW is 2020-06-15). */
    response = call("PUT", id, commune,
                    "{\"unit\":\"29980\",\"full_name\":\"Võ Văn Cường\",\"sex\":\"male\","
                    "\"date_of_birth\":\"2020-07-01\"}", NULL, NULL);
    assert_type(response, 422, "/problems/validation");
    http_free(response);
    /* Nothing was written. */
    assert_int_equal(status_of("GET", id, district, NULL, NULL), 404);
}

static void search_ignores_diacritics_and_pages(void **state)
{
    (void)state;
    const char *queries[] = {"/v1/children?q=nguyen%20van%20an", "/v1/children?q=NGUY%E1%BB%84N",
                             "/v1/children?q=van%20an&unit=29980"};
    for (size_t i = 0; i < 3; i++) {
        struct http_response *found = http_get(&api, queries[i], commune);
        assert_int_equal(found->status, 200);
        json_t *items = json_object_get(found->json, "items");
        assert_int_equal(json_array_size(items), 1);
        assert_string_equal(json_text(json_array_get(items, 0), "id", NULL), AN);
        http_free(found);
    }
    /* A literal '%' matches nothing rather than everything. */
    struct http_response *none = http_get(&api, "/v1/children?q=%25", district);
    assert_int_equal(json_array_size(json_object_get(none->json, "items")), 0);
    http_free(none);

    struct http_response *page = http_get(&api, "/v1/children?limit=1", district);
    assert_int_equal(json_array_size(json_object_get(page->json, "items")), 1);
    const char *cursor = json_text(page->json, "next_cursor", NULL);
    assert_non_null(cursor);
    char path[128];
    snprintf(path, sizeof path, "/v1/children?limit=1&cursor=%s", cursor);
    struct http_response *next = http_get(&api, path, district);
    assert_int_equal(json_array_size(json_object_get(next->json, "items")), 1);
    assert_true(json_is_null(json_object_get(next->json, "next_cursor")));
    assert_string_not_equal(json_text(json_array_get(json_object_get(page->json, "items"), 0),
                                      "id", NULL),
                            json_text(json_array_get(json_object_get(next->json, "items"), 0),
                                      "id", NULL));
    http_free(page);
    http_free(next);
    assert_int_equal(status_of("GET", "/v1/children?limit=0", district, NULL, NULL), 400);
}

static void another_communes_child_does_not_exist(void **state)
{
    (void)state;
    /* demo_commune (29980) probing Bình (29983) every way it can. */
    assert_int_equal(status_of("GET", "/v1/children/" BINH, commune, NULL, NULL), 404);
    assert_int_equal(status_of("PATCH", "/v1/children/" BINH, commune, "{\"notes\":\"x\"}",
                               "If-Match: \"1\""), 404);
    assert_int_equal(status_of("DELETE", "/v1/children/" BINH, commune, NULL, "If-Match: \"1\""),
                     404);
    assert_int_equal(status_of("PUT", "/v1/children/" BINH, commune, an_body, NULL), 404);
    assert_int_equal(status_of("GET", "/v1/children?unit=29983", commune, NULL, NULL), 404);
    assert_int_equal(status_of("POST", "/v1/children/" BINH "/circumstances", commune,
                               "{\"group\":\"a\",\"since\":\"2020-01-01\"}", NULL), 404);
    assert_int_equal(status_of("GET", "/v1/children/" BINH "/supports", commune, NULL, NULL),
                     404);
    struct http_response *list = http_get(&api, "/v1/children?limit=500", commune);
    assert_null(strstr(list->body, BINH));
    http_free(list);
    /* The district officer sees both. */
    assert_int_equal(status_of("GET", "/v1/children/" BINH, district, NULL, NULL), 200);
    assert_int_equal(status_of("GET", "/v1/children?unit=29983", district, NULL, NULL), 200);
}

/* Every connection of the API keeps the units of the scopes it served
 * (scope_enter(), migration 0022): a change of the tree must reach the very
 * next request, on whichever pooled connection it lands.  Here 29983 is
 * recorded as merged into 29980 and the merger taken back, with the API
 * running; before, between and after, the commune worker's requests warm
 * every pooled connection with the scope as it then stood. */
/* The commune worker asks for Bình more times than the API has pooled
 * connections, and gets `status` every time. */
static void commune_asks_for_binh(long status)
{
    for (int i = 0; i < 12; i++)
        assert_int_equal(status_of("GET", "/v1/children/" BINH, commune, NULL, NULL), status);
}

static void a_changed_tree_changes_the_scope_at_once(void **state)
{
    (void)state;
    commune_asks_for_binh(404);
    assert_true(harness_query_equals(
        &database,
        "INSERT INTO unit_successions (predecessor_id, successor_id, effective_on, note) "
        "SELECT b.id, a.id, '2020-01-01', 'test: a merger' FROM units a, units b "
        " WHERE a.code = '29980' AND b.code = '29983' RETURNING 'merged'",
        "merged"));
    commune_asks_for_binh(200);
    assert_true(harness_query_equals(
        &database, "DELETE FROM unit_successions WHERE note = 'test: a merger' RETURNING 'undone'",
        "undone"));
    commune_asks_for_binh(404);
}

/* role × route: the expected status for each role, in the order admin,
 * district, commune, chair, collaborator, viewer, sync_client. */
static void the_role_matrix(void **state)
{
    (void)state;
    char *tokens[] = {admin, district, commune, chair, collaborator, viewer, sync_client};
    const char *names[] = {"admin", "district", "commune", "chair", "collaborator", "viewer",
                           "sync"};
    struct {
        const char *method, *path, *body;
        long expected[7];
    } matrix[] = {
        {"GET", "/v1/children/" AN, NULL, {200, 200, 200, 200, 200, 403, 403}},
        {"GET", "/v1/children", NULL, {200, 200, 200, 200, 200, 403, 403}},
        {"GET", "/v1/children/" AN "/circumstances", NULL, {200, 200, 200, 200, 200, 403, 403}},
        {"GET", "/v1/children/" AN "/risks", NULL, {200, 200, 200, 200, 200, 403, 403}},
        {"GET", "/v1/children/" AN "/supports", NULL, {200, 200, 200, 200, 200, 403, 403}},
        {"GET", "/v1/children/" AN "/consents", NULL, {200, 200, 200, 200, 403, 403, 403}},
        {"POST", "/v1/children/" AN "/risks", "{\"category\":\"dropping_out\",\"since\":\"2020-03-01\"}",
         {201, 201, 201, 403, 201, 403, 403}},
        {"POST", "/v1/children/" AN "/consents",
         "{\"given_by\":\"parent\",\"name\":\"Trần Thị Bé\",\"scope\":\"registry\","
         "\"given_on\":\"2020-01-10\",\"legal_basis\":\"consent\"}",
         {201, 201, 201, 403, 403, 403, 403}},
        {"PATCH", "/v1/children/" AN, "{}", {428, 428, 428, 403, 428, 403, 403}},
        {"GET", "/v1/changes", NULL, {200, 200, 200, 403, 403, 403, 200}},
        {"GET", "/v1/audit", NULL, {200, 200, 403, 403, 403, 403, 403}},
        {"GET", "/v1/reference/support-kinds", NULL, {200, 200, 200, 200, 200, 200, 200}},
    };
    for (size_t row = 0; row < sizeof matrix / sizeof matrix[0]; row++)
        for (size_t role = 0; role < 7; role++) {
            long status = status_of(matrix[row].method, matrix[row].path, tokens[role],
                                    matrix[row].body, NULL);
            if (status != matrix[row].expected[role])
                fail_msg("%s %s as %s: expected %ld, got %ld", matrix[row].method,
                         matrix[row].path, names[role], matrix[row].expected[role], status);
        }
}

static void records_about_a_child(void **state)
{
    (void)state;
    struct http_response *created =
        call("POST", "/v1/children/" AN "/circumstances", commune,
             "{\"group\":\"l\",\"subgroup\":\"l4\",\"since\":\"2020-02-01\",\"note\":\"\"}",
             NULL, NULL);
    assert_int_equal(created->status, 201);
    char path[160];
    snprintf(path, sizeof path, "/v1/children/" AN "/circumstances/%s",
             json_text(created->json, "id", NULL));
    assert_string_equal(http_header(created, "Location"), path);
    http_free(created);
    /* Ending it is a PATCH setting `until`; history is kept. */
    struct http_response *ended =
        call("PATCH", path, commune, "{\"until\":\"2020-05-31\"}", "If-Match: \"1\"", NULL);
    assert_int_equal(ended->status, 200);
    assert_string_equal(json_text(ended->json, "until", NULL), "2020-05-31");
    http_free(ended);
    struct http_response *backwards =
        call("PATCH", path, commune, "{\"until\":\"2019-05-31\"}", "If-Match: \"2\"", NULL);
    assert_type(backwards, 422, "/problems/validation");
    http_free(backwards);
    /* Bad references are per-field 422s too. */
    struct http_response *unknown = call("POST", "/v1/children/" AN "/supports", commune,
                                         "{\"kind\":\"lottery\",\"level\":\"support\","
                                         "\"provider_sector\":\"health\",\"provided_on\":\"2020-03-01\"}",
                                         NULL, NULL);
    assert_type(unknown, 422, "/problems/validation");
    assert_string_equal(json_text(json_array_get(json_object_get(unknown->json, "errors"), 0),
                                  "pointer", NULL), "/kind");
    http_free(unknown);
    struct http_response *money = call("POST", "/v1/children/" AN "/supports", commune,
                                       "{\"kind\":\"medical_care\",\"level\":\"support\","
                                       "\"provider_sector\":\"health\",\"provided_on\":\"2020-03-01\","
                                       "\"value_vnd\":100.5}", NULL, NULL);
    assert_type(money, 422, "/problems/validation");
    http_free(money);
    assert_int_equal(status_of("POST", "/v1/children/" AN "/supports", commune,
                               "{\"kind\":\"medical_care\",\"level\":\"support\","
                               "\"provider_sector\":\"health\",\"provided_on\":\"2020-03-01\","
                               "\"value_vnd\":500000}", NULL), 201);
    /* The child (9 years old) consents alongside the parent: the summary says so. */
    assert_int_equal(status_of("POST", "/v1/children/" AN "/consents", commune,
                               "{\"given_by\":\"child\",\"name\":\"Nguyễn Văn An\","
                               "\"scope\":\"registry\",\"given_on\":\"2020-01-10\","
                               "\"legal_basis\":\"consent\"}", NULL), 201);
    struct http_response *child = http_get(&api, "/v1/children/" AN, commune);
    json_t *consent = json_object_get(child->json, "consent");
    assert_true(json_is_true(json_object_get(consent, "child_consent_required")));
    assert_true(json_is_true(json_object_get(consent, "child_consented")));
    assert_true(json_is_true(json_object_get(consent, "parent_or_guardian_consented")));
    assert_true(json_is_true(json_object_get(consent, "complete")));
    http_free(child);
    struct http_response *history = http_get(&api, "/v1/children/" AN "/circumstances", chair);
    assert_int_equal(json_array_size(json_object_get(history->json, "items")), 1);
    http_free(history);
}

static void retries_with_the_same_key_create_once(void **state)
{
    (void)state;
    const char *body = "{\"category\":\"violence\",\"since\":\"2020-04-01\"}";
    struct http_response *first = call("POST", "/v1/children/" AN "/risks", collaborator, body,
                                       "Idempotency-Key: device-7-0001", NULL);
    struct http_response *again = call("POST", "/v1/children/" AN "/risks", collaborator, body,
                                       "Idempotency-Key: device-7-0001", NULL);
    assert_int_equal(first->status, 201);
    assert_int_equal(again->status, 201);
    assert_string_equal(http_header(again, "Idempotency-Replayed"), "true");
    assert_string_equal(json_text(first->json, "id", NULL), json_text(again->json, "id", NULL));
    /* The replay carries the ETag the original had, and is audited as the
     * read of the record that it is. */
    char first_etag[64];
    snprintf(first_etag, sizeof first_etag, "%s", http_header(first, "ETag"));
    assert_string_equal(http_header(again, "ETag"), first_etag);
    char audit_path[160];
    snprintf(audit_path, sizeof audit_path, "/v1/audit?resource_id=%s&limit=100",
             json_text(first->json, "id", NULL));
    struct http_response *trail = http_get(&api, audit_path, admin);
    int reads = 0;
    json_t *entries = json_object_get(trail->json, "items");
    for (size_t i = 0; i < json_array_size(entries); i++)
        reads += !strcmp(json_text(json_array_get(entries, i), "action", NULL), "read") &&
                 !strcmp(json_text(json_array_get(entries, i), "actor", NULL),
                         "demo_collaborator");
    assert_int_equal(reads, 1);
    http_free(trail);
    http_free(first);
    http_free(again);
    struct http_response *other = call("POST", "/v1/children/" AN "/risks", collaborator,
                                       "{\"category\":\"abandonment\",\"since\":\"2020-04-01\"}",
                                       "Idempotency-Key: device-7-0001", NULL);
    assert_type(other, 422, "/problems/idempotency-key-reused");
    http_free(other);
    /* Keys are per user: another user's identical key is a new request. */
    assert_int_equal(status_of("POST", "/v1/children/" AN "/risks", commune, body,
                               "Idempotency-Key: device-7-0001"), 201);

    /* While the first request with a key is in flight (its lock held), a
     * retry is told to wait. */
    PGconn *holder = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    PGresult *result = PQexec(holder,
                              "SELECT pg_advisory_lock(hashtextextended(id::text || ':' || "
                              "'device-7-0002', 0)) FROM principals WHERE username = "
                              "'demo_collaborator'");
    assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
    PQclear(result);
    struct http_response *busy = call("POST", "/v1/children/" AN "/risks", collaborator, body,
                                      "Idempotency-Key: device-7-0002", NULL);
    assert_type(busy, 409, "/problems/request-in-progress");
    http_free(busy);
    /* Released explicitly: closing the connection would release it only
     * once the server process has noticed, a moment later. */
    PQclear(PQexec(holder, "SELECT pg_advisory_unlock_all()"));
    PQfinish(holder);
    assert_int_equal(status_of("POST", "/v1/children/" AN "/risks", collaborator, body,
                               "Idempotency-Key: device-7-0002"), 201);
}

/* A replayed answer hands the record out again: once the record has left
 * the caller's scope, or been deleted, the replay is 404 like its read, and
 * the stored answer does not go out (audited as not_found, naming it). */
static void a_replay_hands_out_only_what_is_still_in_reach(void **state)
{
    (void)state;
    const char *moved = "0b0e3c1a-9a7f-4a52-8a10-00000000e001";
    const char *deleted = "0b0e3c1a-9a7f-4a52-8a10-00000000e002";
    const char *ids[] = {moved, deleted};
    const char *child =
        "{\"unit\":\"29980\",\"full_name\":\"Phạm Văn Lặp\",\"sex\":\"male\","
        "\"date_of_birth\":\"2012-02-02\",\"registered_on\":\"2020-03-01\"}";
    for (int i = 0; i < 2; i++) {
        char path[96], key[64];
        snprintf(path, sizeof path, "/v1/children/%s", ids[i]);
        snprintf(key, sizeof key, "Idempotency-Key: replay-%d", i);
        assert_int_equal(status_of("PUT", path, commune, child, key), 201);
        struct http_response *again = call("PUT", path, commune, child, key, NULL);
        assert_int_equal(again->status, 201);
        assert_string_equal(http_header(again, "Idempotency-Replayed"), "true");
        http_free(again);
    }
    char moved_path[96], deleted_path[96];
    snprintf(moved_path, sizeof moved_path, "/v1/children/%s", moved);
    snprintf(deleted_path, sizeof deleted_path, "/v1/children/%s", deleted);
    struct http_response *move = call("PATCH", moved_path, district, "{\"unit\":\"29983\"}",
                                      "If-Match: \"1\"",
                                      "Content-Type: application/merge-patch+json");
    assert_int_equal(move->status, 200);
    http_free(move);
    assert_int_equal(status_of("DELETE", deleted_path, district, NULL, "If-Match: \"1\""), 204);

    const char *paths[] = {moved_path, deleted_path};
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "Idempotency-Key: replay-%d", i);
        struct http_response *replay = call("PUT", paths[i], commune, child, key, NULL);
        assert_type(replay, 404, "/problems/not-found");
        assert_null(http_header(replay, "Idempotency-Replayed"));
        assert_null(strstr(replay->body, "Phạm Văn Lặp"));
        http_free(replay);
    }
    char audit_path[160];
    snprintf(audit_path, sizeof audit_path, "/v1/audit?resource_id=%s&limit=100", moved);
    struct http_response *trail = http_get(&api, audit_path, admin);
    int refused = 0;
    json_t *entries = json_object_get(trail->json, "items");
    for (size_t i = 0; i < json_array_size(entries); i++)
        refused += !strcmp(json_text(json_array_get(entries, i), "outcome", NULL), "not_found") &&
                   !strcmp(json_text(json_array_get(entries, i), "actor", NULL), "demo_commune");
    assert_int_equal(refused, 1);
    http_free(trail);
}

/* A record's stored answer is not replayed once its child is deleted (the
 * risk, note included, went out again), and a key older than the 30 days
 * keys are kept is new again (it answered 500: the old row was still
 * there when the new one was stored). */
static void keys_of_deleted_children_and_old_keys(void **state)
{
    (void)state;
    const char *child_path = "/v1/children/0b0e3c1a-9a7f-4a52-8a10-00000000e003";
    const char *child =
        "{\"unit\":\"29980\",\"full_name\":\"Lê Thị Cũ\",\"sex\":\"female\","
        "\"date_of_birth\":\"2013-03-03\",\"registered_on\":\"2020-03-01\"}";
    assert_int_equal(status_of("PUT", child_path, commune, child, NULL), 201);
    char risks_path[128];
    snprintf(risks_path, sizeof risks_path, "%s/risks", child_path);
    const char *risk = "{\"category\":\"dropping_out\",\"since\":\"2020-03-01\","
                       "\"note\":\"Nghỉ học nhiều\"}";
    assert_int_equal(status_of("POST", risks_path, commune, risk, "Idempotency-Key: gone-1"),
                     201);
    assert_int_equal(status_of("DELETE", child_path, district, NULL, "If-Match: \"1\""), 204);
    struct http_response *replay = call("POST", risks_path, commune, risk,
                                        "Idempotency-Key: gone-1", NULL);
    assert_type(replay, 404, "/problems/not-found");
    assert_null(strstr(replay->body, "Nghỉ học nhiều"));
    http_free(replay);

    const char *first = "/v1/children/0b0e3c1a-9a7f-4a52-8a10-00000000e004";
    const char *second = "/v1/children/0b0e3c1a-9a7f-4a52-8a10-00000000e005";
    assert_int_equal(status_of("PUT", first, commune, child, "Idempotency-Key: month-old"), 201);
    char *aged = harness_superuser_text(
        &database, "UPDATE idempotency_keys SET created_at = created_at - interval '31 days' "
                   " WHERE key = 'month-old'; SELECT 1");
    assert_non_null(aged);
    free(aged);
    assert_int_equal(status_of("PUT", second, commune, child, "Idempotency-Key: month-old"), 201);
}

/* Runs one statement as the application role and returns the first value. */
static void app_query(PGconn *connection, const char *sql, char *value, size_t size,
                      char state[6])
{
    PGresult *result = PQexec(connection, sql);
    const char *code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", code ? code : "");
    snprintf(value, size, "%s",
             PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0
                 ? PQgetvalue(result, 0, 0) : "");
    PQclear(result);
}

static void row_level_security_is_a_second_line(void **state)
{
    (void)state;
    PGconn *connection = PQconnectdb(database.app_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    char value[64], sql_state[6];
    /* No scope set: a query that skips every application check sees nothing. */
    app_query(connection, "SELECT count(*) FROM children", value, sizeof value, sql_state);
    assert_string_equal(value, "0");
    app_query(connection, "SELECT count(*) FROM child_risks", value, sizeof value, sql_state);
    assert_string_equal(value, "0");
    /* Scoped to Xã Long Khánh A: An, not Bình, whatever the WHERE says. */
    app_query(connection,
              "BEGIN; SELECT set_config('baove.scope_unit', (SELECT id::text FROM units "
              "WHERE code = '29980'), true), set_config('baove.scope_on', '2020-06-15', true)",
              value, sizeof value, sql_state);
    app_query(connection, "SELECT string_agg(full_name, ',') FROM children WHERE true", value,
              sizeof value, sql_state);
    assert_string_equal(value, "Nguyễn Văn An");
    app_query(connection, "SELECT count(*) FROM children WHERE id = '" BINH "'", value,
              sizeof value, sql_state);
    assert_string_equal(value, "0");
    app_query(connection, "COMMIT", value, sizeof value, sql_state);
    /* The audit log is append-only for this role. */
    app_query(connection, "UPDATE audit_log SET outcome = 'success'", value, sizeof value,
              sql_state);
    assert_string_equal(sql_state, "42501");
    app_query(connection, "DELETE FROM audit_log", value, sizeof value, sql_state);
    assert_string_equal(sql_state, "42501");
    PQfinish(connection);
}

static void reads_writes_and_refusals_are_audited(void **state)
{
    (void)state;
    /* A denied attempt (viewer) and an out-of-scope probe (commune). */
    assert_int_equal(status_of("GET", "/v1/children/" BINH, viewer, NULL, NULL), 403);
    assert_int_equal(status_of("GET", "/v1/children/" BINH, commune, NULL, NULL), 404);
    struct http_response *trail =
        http_get(&api, "/v1/audit?resource_id=" BINH "&limit=100", admin);
    assert_int_equal(trail->status, 200);
    json_t *items = json_object_get(trail->json, "items");
    bool created = false, read = false, denied = false, probed = false;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *entry = json_array_get(items, i);
        const char *actor = json_text(entry, "actor", NULL);
        const char *action = json_text(entry, "action", NULL);
        const char *outcome = json_text(entry, "outcome", NULL);
        assert_non_null(json_text(entry, "request_id", NULL));
        created |= !strcmp(actor, "demo_district") && !strcmp(action, "create");
        read |= !strcmp(actor, "demo_district") && !strcmp(action, "read");
        denied |= !strcmp(actor, "demo_viewer") && !strcmp(outcome, "denied");
        probed |= !strcmp(actor, "demo_commune") && !strcmp(outcome, "not_found");
    }
    assert_true(created && read && denied && probed);
    http_free(trail);
    /* A commune officer may not read the audit log; the district's is scoped. */
    struct http_response *scoped = http_get(&api, "/v1/audit?actor=demo_viewer", district);
    assert_int_equal(scoped->status, 200);
    http_free(scoped);
}

/* Calls of this database's top-level statements whose text is LIKE
 * pattern, from pg_stat_statements. */
static long long statement_calls(const char *pattern)
{
    long long count = harness_statement_calls(&database, pattern);
    assert_true(count >= 0);
    return count;
}

/* GETs path as token, expecting status, and checks the audit entries its
 * request left ("action:outcome:unit code", in order). */
static void read_leaves(const char *path, const char *token, long status, const char *entries)
{
    struct http_response *response = call("GET", path, token, NULL, NULL, NULL);
    assert_int_equal(response->status, status);
    const char *request_id = http_header(response, "X-Request-Id");
    assert_non_null(request_id);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(a.action || ':' || a.outcome || ':' || u.code, ',' ORDER BY a.id) "
             "  FROM audit_log a JOIN units u ON u.id = a.unit_id WHERE a.request_id = '%s'",
             request_id);
    assert_true(harness_query_equals(&database, sql, entries));
    http_free(response);
}

/* A read hands the record out and writes its audit entry in the same
 * statement, which travels with the COMMIT (operation_read_audited): one
 * success entry per read, in the child's unit, and no audit INSERT of its
 * own; a read answered 404 (out of scope, or deleted) leaves its not_found
 * entry and no success. */
static void a_read_is_audited_by_its_own_statement(void **state)
{
    (void)state;
    if (!harness_track_statements(&database))
        fail_msg("pg_stat_statements is not loaded: restart the test cluster");
    static const char own_insert[] = "INSERT INTO audit_log%";
    static const char read_with_audit[] = "WITH record AS (%audited AS (INSERT INTO audit_log%";
    long long inserts = statement_calls(own_insert), reads = statement_calls(read_with_audit);
    for (int read = 0; read < 3; read++)
        read_leaves("/v1/children/" AN, commune, 200, "read:success:29980");
    assert_int_equal(statement_calls(own_insert), inserts);
    assert_int_equal(statement_calls(read_with_audit), reads + 3);

    read_leaves("/v1/children/" BINH, commune, 404, "read:not_found:29980");
    static const char gone[] = "5d2f6a41-3c1e-4e8b-9f70-2a6b8c9d0e1f";
    assert_int_equal(harness_put_child(&api, district, gone), 201);
    assert_int_equal(status_of("DELETE", "/v1/children/5d2f6a41-3c1e-4e8b-9f70-2a6b8c9d0e1f",
                               district, NULL, "If-Match: \"1\""),
                     204);
    read_leaves("/v1/children/5d2f6a41-3c1e-4e8b-9f70-2a6b8c9d0e1f", commune, 404,
                "read:not_found:29980");
}

/* Reads the whole feed from `cursor` ("" to start with the snapshot) as
 * `token`, appending "type:id:op" lines. */
static char *read_feed(const char *token, char *cursor, size_t cursor_size)
{
    size_t size = 65536, used = 0;
    char *seen = calloc(1, size);
    for (int page = 0; page < 100; page++) {
        char path[256];
        snprintf(path, sizeof path, "/v1/changes?limit=2%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        struct http_response *response = http_get(&api, path, token);
        assert_int_equal(response->status, 200);
        json_t *items = json_object_get(response->json, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *entry = json_array_get(items, i);
            used += (size_t)snprintf(seen + used, size - used, "%s:%s:%s\n",
                                     json_text(entry, "type", NULL), json_text(entry, "id", NULL),
                                     json_text(entry, "operation", NULL));
        }
        snprintf(cursor, cursor_size, "%s", json_text(response->json, "next_cursor", NULL));
        size_t count = json_array_size(items);
        http_free(response);
        if (count == 0)
            break;
    }
    return seen;
}

static int occurrences(const char *text, const char *needle)
{
    int count = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        count++;
    return count;
}

static void the_feed_delivers_every_commit_once(void **state)
{
    (void)state;
    char cursor[160] = "";
    char *before = read_feed(sync_client, cursor, sizeof cursor);
    assert_int_equal(occurrences(before, "children:" AN ":snapshot"), 1);
    assert_int_equal(occurrences(before, "children:" BINH ":snapshot"), 1);
    free(before);

    /* A writer that holds its transaction open while others commit after it. */
    PGconn *slow = PQconnectdb(database.app_url);
    assert_int_equal(PQstatus(slow), CONNECTION_OK);
    PGresult *result = PQexec(
        slow, "BEGIN; SELECT set_config('baove.scope_unit', (SELECT id::text FROM units "
              "WHERE code = '87'), true), set_config('baove.scope_on', '2020-06-15', true); "
              "INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation, "
              "version, record) SELECT 'children', id, id, unit_id, 'update', version, NULL "
              "FROM children WHERE id = '" AN "'");
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    const char *ids[] = {"3e3f6a4d-2da2-4d85-9d43-9d6c4a5e6f70", "4f4a7b5e-3eb3-4e96-8e54-ae7d5b6f7a81",
                         "5a5b8c6f-4fc4-4fa7-9f65-bf8e6c7a8b92"};
    for (size_t i = 0; i < 3; i++) {
        char path[64], body[256];
        snprintf(path, sizeof path, "/v1/children/%s", ids[i]);
        snprintf(body, sizeof body,
                 "{\"unit\":\"29980\",\"full_name\":\"Phạm Thị Hoa %zu\",\"sex\":\"female\","
                 "\"date_of_birth\":\"2015-0%zu-01\"}", i, i + 1);
        assert_int_equal(status_of("PUT", path, commune, body, NULL), 201);
    }
    /* Later commits wait behind the open transaction: nothing is delivered past it. */
    char *during = read_feed(sync_client, cursor, sizeof cursor);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(occurrences(during, ids[i]), 0);
    result = PQexec(slow, "COMMIT");
    PQclear(result);
    PQfinish(slow);
    char *after = read_feed(sync_client, cursor, sizeof cursor);
    assert_int_equal(occurrences(after, "children:" AN ":update"), 1);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(occurrences(after, ids[i]), 1);
    /* And the late one comes before those committed after it began. */
    assert_true(strstr(after, AN) < strstr(after, ids[0]));
    free(during);
    free(after);
    /* Nothing more, and nothing twice. */
    char *again = read_feed(sync_client, cursor, sizeof cursor);
    assert_string_equal(again, "");
    free(again);
    assert_int_equal(status_of("GET", "/v1/changes?cursor=garbage", sync_client, NULL, NULL), 400);
    /* Cursors this database never issued: the old form, another database's,
     * a position not reached yet. */
    assert_int_equal(status_of("GET", "/v1/changes?cursor=999999-1", sync_client, NULL, NULL), 400);
    struct http_response *foreign = http_get(
        &api, "/v1/changes?cursor=00000000-0000-4000-8000-000000000000:1-1", sync_client);
    assert_type(foreign, 400, "/problems/invalid-parameter");
    http_free(foreign);
    char future[256];
    snprintf(future, sizeof future, "/v1/changes?cursor=%.36s:99999999-1", cursor);
    assert_int_equal(status_of("GET", future, sync_client, NULL, NULL), 400);
    assert_int_equal(status_of("GET", "/v1/changes?types=children,notes", sync_client, NULL, NULL),
                     400);

    /* Once the log before a cursor is pruned, its holder must resync. */
    PGconn *owner = PQconnectdb(database.admin_url);
    result = PQexec(owner, "UPDATE change_log_horizon SET pruned_through = "
                           "(SELECT max(transaction_id) FROM change_log)");
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    char path[256];
    snprintf(path, sizeof path, "/v1/changes?cursor=%.36s:1-1", cursor);
    struct http_response *expired = http_get(&api, path, sync_client);
    assert_type(expired, 410, "/problems/cursor-expired");
    /* The 410 says how to start again, and a sync client can. */
    const char *restart = json_text(expired->json, "restart", NULL);
    assert_string_equal(restart, "/v1/changes");
    char again_cursor[160] = "";
    char *resynced = read_feed(sync_client, again_cursor, sizeof again_cursor);
    assert_int_equal(occurrences(resynced, "children:" AN ":snapshot"), 1);
    assert_int_equal(occurrences(resynced, ":create"), 0);
    free(resynced);
    http_free(expired);
    /* A snapshot begun before the pruning must start again too. */
    snprintf(path, sizeof path,
             "/v1/changes?cursor=%.36s:snapshot:1:children:00000000-0000-0000-0000-000000000000",
             cursor);
    assert_int_equal(status_of("GET", path, sync_client, NULL, NULL), 410);
    result = PQexec(owner, "UPDATE change_log_horizon SET pruned_through = '0'");
    PQclear(result);
    PQfinish(owner);
}

/* A cursor is given out for a scope: once the reader's account has moved
 * to another commune, its cursor is a 410 that sends it to a new snapshot
 * (the changes alone would never bring the new commune's records nor take
 * the old one's away).  A cursor from before scopes were marked is still
 * read. */
static void a_cursor_of_another_scope_starts_again(void **state)
{
    (void)state;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username", "mover",
                                                         "--role", "commune_officer", "--unit",
                                                         "29980", "--password-stdin", NULL},
                                   "mover-password\n", NULL),
                     0);
    char *token = NULL;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"token", "issue", "--username",
                                                         "mover", NULL},
                                   NULL, &token),
                     0);
    token[strcspn(token, "\r\n")] = '\0';
    char cursor[160] = "";
    free(read_feed(token, cursor, sizeof cursor));
    assert_non_null(strchr(cursor, '.'));
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "move", "--username", "mover",
                                                         "--unit", "29983", NULL},
                                   NULL, NULL),
                     0);
    char path[256];
    snprintf(path, sizeof path, "/v1/changes?cursor=%s", cursor);
    struct http_response *moved = http_get(&api, path, token);
    assert_type(moved, 410, "/problems/cursor-expired");
    assert_non_null(strstr(moved->body, "another scope"));
    http_free(moved);
    snprintf(path, sizeof path, "/v1/changes?cursor=%.36s%s", cursor, strchr(cursor, ':'));
    assert_int_equal(status_of("GET", path, token, NULL, NULL), 200);
    free(token);
}

/* The feed follows the writing transactions' ids: a transaction that got
 * its id first, then logged a record after a later one had changed and
 * committed it, would put the older state last.  Its entry is refused as a
 * serialization failure (which the API retries with a new, higher id). */
static void an_older_transaction_cannot_log_over_a_newer_one(void **state)
{
    (void)state;
    const char *path = "/v1/children/0b0e3c1a-9a7f-4a52-8a10-00000000e006";
    const char *child =
        "{\"unit\":\"29980\",\"full_name\":\"Đỗ Văn Thứ Tự\",\"sex\":\"male\","
        "\"date_of_birth\":\"2014-04-04\",\"registered_on\":\"2020-03-01\"}";
    assert_int_equal(status_of("PUT", path, commune, child, NULL), 201);
    PGconn *older = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(older), CONNECTION_OK);
    PQclear(PQexec(older, "BEGIN; SELECT pg_current_xact_id()"));
    struct http_response *newer = call("PATCH", path, commune, "{\"hamlet\":\"Ấp 3\"}",
                                       "If-Match: \"1\"",
                                       "Content-Type: application/merge-patch+json");
    assert_int_equal(newer->status, 200);
    http_free(newer);
    PGresult *result = PQexec(
        older, "INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, "
               "operation, version, record, recorded_at) "
               "SELECT 'children', id, id, unit_id, 'update', 1, '{}'::jsonb, now() "
               "  FROM children WHERE id = '0b0e3c1a-9a7f-4a52-8a10-00000000e006'");
    const char *state_code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    assert_string_equal(state_code != NULL ? state_code : "none", "40001");
    PQclear(result);
    PQclear(PQexec(older, "ROLLBACK"));
    PQfinish(older);
}

static void moves_and_deletes_reach_the_feed(void **state)
{
    (void)state;
    char commune_cursor[160] = "", district_cursor[160] = "";
    free(read_feed(commune, commune_cursor, sizeof commune_cursor));
    free(read_feed(district, district_cursor, sizeof district_cursor));
    /* An moves to Xã Long Khánh B (29983): the district officer does it. */
    struct http_response *current = http_get(&api, "/v1/children/" AN, district);
    char if_match[48];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(current, "ETag"));
    http_free(current);
    struct http_response *moved = call("PATCH", "/v1/children/" AN, district,
                                       "{\"unit\":\"29983\"}", if_match, NULL);
    assert_int_equal(moved->status, 200);
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(moved, "ETag"));
    http_free(moved);
    /* The old commune loses him, and is told so once. */
    assert_int_equal(status_of("GET", "/v1/children/" AN, commune, NULL, NULL), 404);
    char *commune_seen = read_feed(commune, commune_cursor, sizeof commune_cursor);
    assert_int_equal(occurrences(commune_seen, "children:" AN ":scope_exit"), 1);
    assert_int_equal(occurrences(commune_seen, ":update"), 0);
    free(commune_seen);
    /* Deleting leaves a tombstone. */
    assert_int_equal(status_of("DELETE", "/v1/children/" AN, district, NULL, if_match), 204);
    assert_int_equal(status_of("GET", "/v1/children/" AN, district, NULL, NULL), 404);
    char *district_seen = read_feed(district, district_cursor, sizeof district_cursor);
    assert_int_equal(occurrences(district_seen, "children:" AN ":update"), 1);
    assert_int_equal(occurrences(district_seen, "children:" AN ":delete"), 1);
    free(district_seen);
    /* The commune learns nothing more of him. */
    char *commune_after = read_feed(commune, commune_cursor, sizeof commune_cursor);
    assert_string_equal(commune_after, "");
    free(commune_after);
}

int main(void)
{
    harness_init("registry");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_read),
        cmocka_unit_test(replace_and_patch_need_the_current_version),
        cmocka_unit_test(bad_children_are_refused_whole),
        cmocka_unit_test(search_ignores_diacritics_and_pages),
        cmocka_unit_test(another_communes_child_does_not_exist),
        cmocka_unit_test(a_changed_tree_changes_the_scope_at_once),
        cmocka_unit_test(the_role_matrix),
        cmocka_unit_test(records_about_a_child),
        cmocka_unit_test(retries_with_the_same_key_create_once),
        cmocka_unit_test(row_level_security_is_a_second_line),
        cmocka_unit_test(reads_writes_and_refusals_are_audited),
        cmocka_unit_test(a_read_is_audited_by_its_own_statement),
        cmocka_unit_test(the_feed_delivers_every_commit_once),
        cmocka_unit_test(moves_and_deletes_reach_the_feed),
        cmocka_unit_test(a_cursor_of_another_scope_starts_again),
        cmocka_unit_test(an_older_transaction_cannot_log_over_a_newer_one),
        /* Last: it leaves a deleted child and a moved one behind. */
        cmocka_unit_test(a_replay_hands_out_only_what_is_still_in_reach),
        cmocka_unit_test(keys_of_deleted_children_and_old_keys),
    };
    int failed = cmocka_run_group_tests_name("registry", tests, setup, teardown);
    harness_finish();
    return failed;
}
