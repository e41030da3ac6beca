/* Case management end to end (Decree 56/2017): a report to hotline 111 about
 * a 9-year-old in Xã Long Khánh A with serious risk, through emergency
 * separation within 12 hours, assessment, plan, approval by the commune
 * chair, review and closure; the legal deadlines across Tết 2020; illegal
 * steps; roles; scope; concurrent transitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct test_database database;
static struct test_process api;
static char *district, *commune, *chair, *collaborator, *viewer;

#define LAN "6b6c9d7a-5ad5-4ab8-8a76-c09f7d8b9ca3"  /* 9 years old, Xã Long Khánh A */
#define MINH "7c7dae8b-6be6-4bc9-9b87-d1a08e9cadb4" /* Xã Long Khánh B */

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_cases", true, true, "2020-07-01T09:00:00+07:00",
                                    &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=2020-07-01T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    district = harness_login(&api, "demo_district", "baove-demo");
    commune = harness_login(&api, "demo_commune", "baove-demo");
    chair = harness_login(&api, "demo_chair", "baove-demo");
    collaborator = harness_login(&api, "demo_collaborator", "baove-demo");
    viewer = harness_login(&api, "demo_viewer", "baove-demo");
    struct http_options lan = {
        .method = "PUT", .path = "/v1/children/" LAN, .token = commune,
        .body = "{\"unit\":\"29980\",\"full_name\":\"Trần Thị Lan\",\"sex\":\"female\","
                "\"date_of_birth\":\"2010-09-12\",\"registered_on\":\"2020-01-02\"}"};
    struct http_options minh = {
        .method = "PUT", .path = "/v1/children/" MINH, .token = district,
        .body = "{\"unit\":\"29983\",\"full_name\":\"Đỗ Văn Minh\",\"sex\":\"male\","
                "\"date_of_birth\":\"2012-03-01\",\"registered_on\":\"2020-01-02\"}"};
    struct http_response *first = http_call(&api, &lan), *second = http_call(&api, &minh);
    bool ok = first->status == 201 && second->status == 201;
    http_free(first);
    http_free(second);
    return ok && district && commune && chair && collaborator && viewer ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    free(commune);
    free(chair);
    free(collaborator);
    free(viewer);
    return harness_stop(&api) == 0 ? 0 : -1;
}

static struct http_response *post(const char *path, const char *token, const char *body,
                                  const char *if_match)
{
    char header[48];
    snprintf(header, sizeof header, "If-Match: \"%s\"", if_match ? if_match : "");
    const char *headers[] = {if_match ? header : NULL, NULL};
    struct http_options options = {.method = "POST", .path = path, .token = token,
                                   .body = body, .headers = headers};
    return http_call(&api, &options);
}

static char case_path[64], transitions_path[80];

/* Posts a transition at the case's current version and checks the status. */
static json_t *step(const char *token, const char *body, long expected)
{
    struct http_response *current = http_get(&api, case_path, district);
    char version[24];
    snprintf(version, sizeof version, "%lld",
             (long long)json_integer_value(json_object_get(current->json, "version")));
    http_free(current);
    struct http_response *response = post(transitions_path, token, body, version);
    if (response->status != expected)
        fail_msg("%s: expected %ld, got %ld: %s", body, expected, response->status,
                 response->body);
    json_t *document = json_incref(response->json);
    http_free(response);
    return document;
}

static const char *deadline_state(const json_t *document, const char *kind)
{
    json_t *deadlines = json_object_get(document, "deadlines");
    for (size_t i = 0; i < json_array_size(deadlines); i++)
        if (strcmp(json_text(json_array_get(deadlines, i), "kind", NULL), kind) == 0)
            return json_text(json_array_get(deadlines, i), "state", NULL);
    return "absent";
}

static const char *deadline_due(const json_t *document, const char *kind)
{
    json_t *deadlines = json_object_get(document, "deadlines");
    for (size_t i = 0; i < json_array_size(deadlines); i++)
        if (strcmp(json_text(json_array_get(deadlines, i), "kind", NULL), kind) == 0)
            return json_text(json_array_get(deadlines, i), "due_at", NULL);
    return "absent";
}

static void from_hotline_report_to_closure(void **state)
{
    (void)state;
    struct http_response *created = post(
        "/v1/cases", commune,
        "{\"child_id\":\"" LAN "\",\"received_at\":\"2020-01-20T08:00:00+07:00\","
        "\"source\":\"hotline_111\",\"reporter\":{\"name\":\"Người báo tin\","
        "\"relation\":\"neighbour\",\"phone\":\"0987654321\"},"
        "\"concerns\":[\"violence\"],\"summary\":\"Trẻ bị cha đánh nhiều lần\"}",
        NULL);
    assert_int_equal(created->status, 201);
    assert_string_equal(json_text(created->json, "status", NULL), "received");
    assert_string_equal(json_text(created->json, "unit", NULL), "29980");
    snprintf(case_path, sizeof case_path, "/v1/cases/%s", json_text(created->json, "id", NULL));
    snprintf(transitions_path, sizeof transitions_path, "%s/transitions", case_path);
    assert_string_equal(http_header(created, "Location"), case_path);
    http_free(created);

    /* An illegal step says which ones are allowed. */
    struct http_response *illegal = post(
        transitions_path, commune,
        "{\"to\":\"plan_submitted\",\"at\":\"2020-01-20T09:00:00+07:00\",\"form\":{}}", "1");
    assert_int_equal(illegal->status, 409);
    assert_string_equal(json_text(illegal->json, "type", NULL), "/problems/conflict");
    json_t *allowed = json_object_get(illegal->json, "allowed");
    assert_int_equal(json_array_size(allowed), 2);
    assert_string_equal(json_string_value(json_array_get(allowed, 0)), "initial_assessed");
    http_free(illegal);

    json_t *document = step(commune,
                            "{\"to\":\"initial_assessed\",\"at\":\"2020-01-20T10:00:00+07:00\","
                            "\"form\":{\"harm_level\":\"high\",\"serious_risk\":true,"
                            "\"immediate_needs\":\"Tách khỏi người gây hại\"}}", 200);
    assert_string_equal(deadline_due(document, "emergency"), "2020-01-20T20:00:00+07:00");
    json_decref(document);
    /* With serious risk, the detailed assessment must wait for emergency measures. */
    json_decref(step(commune,
                     "{\"to\":\"detailed_assessed\",\"at\":\"2020-01-20T11:00:00+07:00\","
                     "\"form\":{}}", 409));
    document = step(chair,
                    "{\"to\":\"emergency_applied\",\"at\":\"2020-01-20T18:30:00+07:00\","
                    "\"form\":{\"measures\":[\"temporary_separation\",\"medical_care\"],"
                    "\"taken_by\":\"Chủ tịch UBND xã\",\"decision_number\":\"12/QĐ-UBND\"}}",
                    200);
    assert_string_equal(deadline_state(document, "emergency"), "met");
    json_decref(document);
    /* Wednesday 22 January 2020: the plan is due five working days later,
     * after Tết and two weekends: Wednesday 5 February. */
    document = step(commune,
                    "{\"to\":\"detailed_assessed\",\"at\":\"2020-01-22T10:00:00+07:00\","
                    "\"form\":{\"physical_state\":\"Bầm tím\",\"psychological_state\":\"Sợ hãi\","
                    "\"family_situation\":\"Cha nghiện rượu\",\"protective_capacity\":\"Thấp\","
                    "\"needs\":\"Chăm sóc y tế, tư vấn tâm lý\",\"meeting_on\":\"2020-01-22\"}}",
                    200);
    assert_string_equal(deadline_due(document, "plan_submission"), "2020-02-05T23:59:59+07:00");
    json_decref(document);
    /* A step cannot be dated before the one it follows. */
    json_decref(step(commune,
                     "{\"to\":\"plan_submitted\",\"at\":\"2020-01-21T15:00:00+07:00\","
                     "\"form\":{\"measures\":[{\"measure\":\"legal_aid\","
                     "\"responsible_sector\":\"justice\",\"responsible_person\":\"Tư pháp\","
                     "\"planned_from\":\"2020-02-10\"}],\"review_on\":\"2020-05-15\"}}", 422));
    document = step(commune,
                    "{\"to\":\"plan_submitted\",\"at\":\"2020-02-04T15:00:00+07:00\","
                    "\"form\":{\"measures\":[{\"measure\":\"psychological_therapy\","
                    "\"responsible_sector\":\"health\",\"responsible_person\":\"Trạm y tế xã\","
                    "\"planned_from\":\"2020-02-10\"}],\"review_on\":\"2020-05-15\"}}", 200);
    assert_string_equal(deadline_state(document, "plan_submission"), "met");
    assert_string_equal(deadline_due(document, "plan_approval"), "2020-02-06T23:59:59+07:00");
    json_decref(document);
    /* Only the chair approves. */
    json_decref(step(commune,
                     "{\"to\":\"plan_approved\",\"at\":\"2020-02-05T09:00:00+07:00\","
                     "\"form\":{\"decision_number\":\"15/QĐ-UBND\",\"decision_on\":\"2020-02-05\"}}",
                     403));
    document = step(chair,
                    "{\"to\":\"plan_approved\",\"at\":\"2020-02-05T09:00:00+07:00\","
                    "\"form\":{\"decision_number\":\"15/QĐ-UBND\",\"decision_on\":\"2020-02-05\"}}",
                    200);
    assert_string_equal(deadline_state(document, "plan_approval"), "met");
    json_decref(document);
    json_decref(step(commune, "{\"to\":\"in_progress\",\"at\":\"2020-02-10T08:00:00+07:00\"}",
                     200));
    /* Services of the plan: a delivered one is a support of the child. */
    char services_path[96];
    snprintf(services_path, sizeof services_path, "%s/services", case_path);
    struct http_response *delivered = post(
        services_path, commune,
        "{\"measure\":\"psychological_therapy\",\"provider_sector\":\"health\","
        "\"responsible\":\"Trạm y tế xã\",\"planned_on\":\"2020-02-10\","
        "\"delivered_on\":\"2020-02-12\",\"status\":\"delivered\"}", NULL);
    assert_int_equal(delivered->status, 201);
    http_free(delivered);
    struct http_response *planned = post(
        services_path, commune,
        "{\"measure\":\"legal_aid\",\"provider_sector\":\"justice\","
        "\"responsible\":\"Phòng Tư pháp\",\"planned_on\":\"2020-03-01\","
        "\"status\":\"planned\"}", NULL);
    assert_int_equal(planned->status, 201);
    json_t *services = json_object_get(planned->json, "services");
    assert_int_equal(json_array_size(services), 2);
    /* Both were added at the same (fixed) instant: find the planned one. */
    json_t *legal_aid = json_array_get(services, 0);
    if (strcmp(json_text(legal_aid, "measure", NULL), "legal_aid") != 0)
        legal_aid = json_array_get(services, 1);
    char service_path[160];
    snprintf(service_path, sizeof service_path, "%s/%s", services_path,
             json_text(legal_aid, "id", NULL));
    http_free(planned);
    struct http_options deliver = {
        .method = "PATCH", .path = service_path, .token = commune,
        .body = "{\"status\":\"delivered\",\"delivered_on\":\"2020-03-02\"}",
        .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *patched = http_call(&api, &deliver);
    assert_int_equal(patched->status, 200);
    http_free(patched);
    /* A correction of the delivered service's date reaches its support. */
    struct http_options correct = {
        .method = "PATCH", .path = service_path, .token = commune,
        .body = "{\"delivered_on\":\"2020-03-03\"}",
        .headers = (const char *const[]){"If-Match: \"2\"", NULL}};
    patched = http_call(&api, &correct);
    assert_int_equal(patched->status, 200);
    http_free(patched);
    struct http_response *supports = http_get(&api, "/v1/children/" LAN "/supports", commune);
    json_t *support_items = json_object_get(supports->json, "items");
    assert_int_equal(json_array_size(support_items), 2);
    assert_non_null(strstr(supports->body, "\"kind\": \"psychological_counselling\""));
    assert_non_null(strstr(supports->body, "\"kind\": \"legal_aid\""));
    for (size_t i = 0; i < 2; i++) {
        json_t *support = json_array_get(support_items, i);
        assert_string_equal(json_text(support, "case_id", NULL),
                            case_path + strlen("/v1/cases/"));
        if (strcmp(json_text(support, "kind", NULL), "legal_aid") == 0) {
            assert_string_equal(json_text(support, "provided_on", NULL), "2020-03-03");
            assert_int_equal(json_integer_value(json_object_get(support, "version")), 2);
        }
    }
    http_free(supports);
    /* The review's form is checked like every other. */
    json_decref(step(commune,
                     "{\"to\":\"reviewed\",\"at\":\"2020-05-14T08:00:00+07:00\","
                     "\"form\":{\"harm\":\"very low\",\"outcome\":\"close\"}}", 422));
    document = step(commune,
                    "{\"to\":\"reviewed\",\"at\":\"2020-05-14T08:00:00+07:00\","
                    "\"form\":{\"harm\":\"low\",\"abuser_access\":\"low\",\"obstacles\":\"low\","
                    "\"self_protection\":\"medium\",\"recovery\":\"high\",\"outcome\":\"close\"}}",
                    200);
    assert_string_equal(deadline_state(document, "review"), "met");
    json_decref(document);
    document = step(commune,
                    "{\"to\":\"closed\",\"at\":\"2020-05-20T08:00:00+07:00\","
                    "\"form\":{\"reason\":\"safe_and_stable\"}}", 200);
    assert_string_equal(json_text(document, "status", NULL), "closed");
    assert_string_equal(json_text(document, "closed_reason", NULL), "safe_and_stable");
    /* Every step's form stays readable on the case. */
    assert_string_equal(json_text(document, "forms", "plan_approved", "decision_number", NULL),
                        "15/QĐ-UBND");
    json_t *deadlines = json_object_get(document, "deadlines");
    assert_int_equal(json_array_size(deadlines), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_text(json_array_get(deadlines, i), "state", NULL), "met");
    json_decref(document);

    char history_path[96];
    snprintf(history_path, sizeof history_path, "%s/history", case_path);
    struct http_response *history = http_get(&api, history_path, chair);
    assert_int_equal(history->status, 200);
    json_t *items = json_object_get(history->json, "items");
    /* Received, eight steps, and four service changes. */
    assert_int_equal(json_array_size(items), 13);
    assert_string_equal(json_text(json_array_get(items, 0), "to", NULL), "received");
    assert_string_equal(json_text(json_array_get(items, 5), "actor", NULL), "demo_chair");
    assert_string_equal(json_text(json_array_get(items, 12), "to", NULL), "closed");
    http_free(history);

    /* The audit trail names the case's readers and writers. */
    char audit_path[128];
    snprintf(audit_path, sizeof audit_path, "/v1/audit?resource_id=%s&limit=100",
             case_path + strlen("/v1/cases/"));
    struct http_response *audit = http_get(&api, audit_path, district);
    json_t *entries = json_object_get(audit->json, "items");
    assert_true(json_array_size(entries) >= 10);
    /* Every entry names the case's commune, whoever acted (the district
     * officer's reads too). */
    for (size_t i = 0; i < json_array_size(entries); i++)
        if (!strcmp(json_text(json_array_get(entries, i), "resource_type", NULL), "cases"))
            assert_string_equal(json_text(json_array_get(entries, i), "unit", NULL), "29980");
    http_free(audit);
}

static void a_missed_deadline_is_overdue(void **state)
{
    (void)state;
    struct http_response *created = post(
        "/v1/cases", commune,
        "{\"child_id\":\"" LAN "\",\"received_at\":\"2020-06-01T08:00:00+07:00\","
        "\"source\":\"school\",\"concerns\":[\"neglect\"],\"summary\":\"Bỏ bữa thường xuyên\"}",
        NULL);
    assert_int_equal(created->status, 201);
    snprintf(case_path, sizeof case_path, "/v1/cases/%s", json_text(created->json, "id", NULL));
    snprintf(transitions_path, sizeof transitions_path, "%s/transitions", case_path);
    const char *id = json_text(created->json, "id", NULL);
    char id_copy[40];
    snprintf(id_copy, sizeof id_copy, "%s", id);
    http_free(created);
    json_t *document = step(commune,
                            "{\"to\":\"initial_assessed\",\"at\":\"2020-06-01T09:00:00+07:00\","
                            "\"form\":{\"harm_level\":\"medium\",\"serious_risk\":true}}", 200);
    /* No emergency measures within 12 hours, and it is now 1 July. */
    assert_string_equal(deadline_state(document, "emergency"), "missed");
    json_decref(document);
    struct http_response *overdue = http_get(&api, "/v1/cases?overdue=true", district);
    assert_int_equal(overdue->status, 200);
    json_t *items = json_object_get(overdue->json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_text(json_array_get(items, 0), "id", NULL), id_copy);
    http_free(overdue);
    struct http_response *bad = http_get(&api, "/v1/cases?concern=gossip", district);
    assert_int_equal(bad->status, 400);
    http_free(bad);
    struct http_response *emergencies = http_get(&api, "/v1/cases?emergency=true&unit=29980",
                                                 commune);
    assert_int_equal(json_array_size(json_object_get(emergencies->json, "items")), 2);
    http_free(emergencies);
}

static void roles_and_scope(void **state)
{
    (void)state;
    const char *body = "{\"child_id\":\"" MINH "\",\"received_at\":\"2020-06-02T08:00:00+07:00\","
                       "\"source\":\"police\",\"concerns\":[\"exploitation\"],"
                       "\"summary\":\"Bị ép lao động\"}";
    /* A child of another commune, named in a body, does not exist; the
     * attempt's audit entry names that child (not the id the case would
     * have had), so the child's trail shows who looked for it. */
    struct http_response *probe = post("/v1/cases", commune, body, NULL);
    assert_int_equal(probe->status, 404);
    http_free(probe);
    struct http_response *trail =
        http_get(&api, "/v1/audit?resource_id=" MINH "&limit=100", district);
    json_t *entries = json_object_get(trail->json, "items");
    int attempts = 0;
    for (size_t i = 0; i < json_array_size(entries); i++)
        attempts += !strcmp(json_text(json_array_get(entries, i), "outcome", NULL), "not_found") &&
                    !strcmp(json_text(json_array_get(entries, i), "actor", NULL), "demo_commune");
    assert_int_equal(attempts, 1);
    http_free(trail);
    struct http_response *created = post("/v1/cases", district, body, NULL);
    assert_int_equal(created->status, 201);
    char path[64];
    snprintf(path, sizeof path, "/v1/cases/%s", json_text(created->json, "id", NULL));
    http_free(created);
    struct http_response *hidden = http_get(&api, path, commune);
    assert_int_equal(hidden->status, 404);
    http_free(hidden);
    struct http_response *list = http_get(&api, "/v1/cases?unit=29983", commune);
    assert_int_equal(list->status, 404);
    http_free(list);
    /* Collaborators and viewers see no cases at all. */
    const char *tokens[] = {collaborator, viewer};
    for (size_t i = 0; i < 2; i++) {
        struct http_response *denied = http_get(&api, "/v1/cases", tokens[i]);
        assert_int_equal(denied->status, 403);
        http_free(denied);
    }
}

static void concurrent_steps_with_one_version(void **state)
{
    (void)state;
    struct http_response *created = post(
        "/v1/cases", commune,
        "{\"child_id\":\"" LAN "\",\"received_at\":\"2020-06-10T08:00:00+07:00\","
        "\"source\":\"family\",\"concerns\":[\"other\"],\"summary\":\"Báo tin trùng\"}",
        NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%s/transitions",
             json_text(created->json, "id", NULL));
    http_free(created);
    const char *close = "{\"to\":\"closed\",\"at\":\"2020-06-10T09:00:00+07:00\","
                        "\"form\":{\"reason\":\"duplicate\"}}";
    struct http_response *first = post(path, commune, close, "1");
    struct http_response *second = post(path, chair, close, "1");
    assert_int_equal(first->status, 200);
    assert_int_equal(second->status, 412);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(second->json, "current"),
                                                        "version")), 2);
    http_free(first);
    http_free(second);
    /* Without If-Match: 428. */
    struct http_response *missing = post(path, commune, close, NULL);
    assert_int_equal(missing->status, 428);
    http_free(missing);
}

static void notes_assignment_and_transfer(void **state)
{
    (void)state;
    struct http_response *created = post(
        "/v1/cases", commune,
        "{\"child_id\":\"" LAN "\",\"received_at\":\"2020-06-20T08:00:00+07:00\","
        "\"source\":\"community\",\"reporter\":{\"name\":\"Bà Tư\"},"
        "\"concerns\":[\"neglect\"],\"summary\":\"Trẻ ở nhà một mình\"}", NULL);
    assert_int_equal(created->status, 201);
    char path[64], notes_path[80], transfer_path[80];
    snprintf(path, sizeof path, "/v1/cases/%s", json_text(created->json, "id", NULL));
    snprintf(notes_path, sizeof notes_path, "%s/notes", path);
    snprintf(transfer_path, sizeof transfer_path, "%s/transfer", path);
    http_free(created);

    /* Notes: confidential, for case workers only, never in the feed. */
    struct http_response *note = post(notes_path, commune,
                                      "{\"text\":\"Mẹ đi làm xa, bà ngoại chăm sóc\"}", NULL);
    assert_int_equal(note->status, 201);
    http_free(note);
    struct http_response *notes = http_get(&api, notes_path, chair);
    assert_int_equal(json_array_size(json_object_get(notes->json, "items")), 1);
    http_free(notes);
    struct http_response *denied = http_get(&api, notes_path, collaborator);
    assert_int_equal(denied->status, 403);
    http_free(denied);

    /* Assignment, with If-Match, to an active case worker only. */
    struct http_options patch = {.method = "PATCH", .path = path, .token = commune,
                                 .body = "{\"assigned_to\":\"demo_collaborator\"}",
                                 .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *refused = http_call(&api, &patch);
    assert_int_equal(refused->status, 422);
    http_free(refused);
    /* Nor to another commune's officer, who could not see the case. */
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"user", "add", "--username",
                                                         "officer_long_khanh_b", "--role",
                                                         "commune_officer", "--unit", "29983",
                                                         NULL},
                                   NULL, NULL),
                     0);
    patch.body = "{\"assigned_to\":\"officer_long_khanh_b\"}";
    refused = http_call(&api, &patch);
    assert_int_equal(refused->status, 422);
    http_free(refused);
    patch.body = "{\"assigned_to\":\"demo_commune\"}";
    struct http_response *assigned = http_call(&api, &patch);
    assert_int_equal(assigned->status, 200);
    assert_string_equal(json_text(assigned->json, "assigned_to", NULL), "demo_commune");
    http_free(assigned);
    struct http_response *mine = http_get(&api, "/v1/cases?assigned_to=me", commune);
    assert_int_equal(json_array_size(json_object_get(mine->json, "items")), 1);
    http_free(mine);

    /* The family moves to Xã Long Khánh B: only the district transfers. */
    char cursor[160];
    struct http_response *feed = http_get(&api, "/v1/changes?limit=1000", commune); /* snapshot */
    snprintf(cursor, sizeof cursor, "%s", json_text(feed->json, "next_cursor", NULL));
    assert_null(strstr(feed->body, "Mẹ đi làm xa"));   /* notes never in the feed */
    assert_null(strstr(feed->body, "Bà Tư"));          /* nor the reporter */
    assert_non_null(strstr(feed->body, "\"type\":\"cases\""));
    http_free(feed);
    struct http_response *forbidden = post(transfer_path, commune, "{\"to_unit\":\"29983\"}",
                                           "2");
    assert_int_equal(forbidden->status, 403);
    http_free(forbidden);
    struct http_response *moved = post(transfer_path, district,
                                       "{\"to_unit\":\"29983\",\"note\":\"Gia đình chuyển đến\"}",
                                       "2");
    assert_int_equal(moved->status, 200);
    assert_string_equal(json_text(moved->json, "unit", NULL), "29983");
    http_free(moved);
    struct http_response *gone = http_get(&api, path, commune);
    assert_int_equal(gone->status, 404);
    http_free(gone);
    char feed_path[256];
    snprintf(feed_path, sizeof feed_path, "/v1/changes?cursor=%s", cursor);
    struct http_response *exit_entry = http_get(&api, feed_path, commune);
    json_t *items = json_object_get(exit_entry->json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_text(json_array_get(items, 0), "operation", NULL), "scope_exit");
    assert_string_equal(json_text(json_array_get(items, 0), "type", NULL), "cases");
    http_free(exit_entry);
    char history_path[96];
    snprintf(history_path, sizeof history_path, "%s/history", path);
    struct http_response *history = http_get(&api, history_path, district);
    json_t *entries = json_object_get(history->json, "items");
    assert_string_equal(json_text(json_array_get(entries, json_array_size(entries) - 1),
                                  "action", NULL), "transferred");
    http_free(history);

    /* Xã Long Khánh B now works the case, while the child stays registered
     * in A, out of B's sight: B's changes to the case still reach the feed
     * (the log used to look the child up in the writer's scope, found
     * nothing, and dropped the entry). */
    char *officer_b = NULL;
    assert_int_equal(harness_admin(&database,
                                   (const char *const[]){"token", "issue", "--username",
                                                         "officer_long_khanh_b", NULL},
                                   NULL, &officer_b),
                     0);
    officer_b[strcspn(officer_b, "\r\n")] = '\0';
    char count_sql[160];
    snprintf(count_sql, sizeof count_sql,
             "SELECT count(*) FROM change_log WHERE resource_id = '%s'", path + strlen("/v1/cases/"));
    char *before = harness_query_text(&database, count_sql);
    assert_non_null(before);
    struct http_response *seen = http_get(&api, path, officer_b);
    assert_int_equal(seen->status, 200);
    char if_match[64];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(seen, "ETag"));
    http_free(seen);
    struct http_options take = {.method = "PATCH", .path = path, .token = officer_b,
                                .body = "{\"assigned_to\":\"officer_long_khanh_b\"}",
                                .headers = (const char *const[]){if_match, NULL}};
    struct http_response *taken = http_call(&api, &take);
    assert_int_equal(taken->status, 200);
    http_free(taken);
    char expected[24];
    snprintf(expected, sizeof expected, "%d", atoi(before) + 1);
    assert_true(harness_query_equals(&database, count_sql, expected));
    free(before);

    /* B delivers a service of the plan: it is a support of the child,
     * written in A where the child is (it was a 404 "No such child."), and
     * so is a correction of it; B still does not see the child. */
    char services_path[96];
    snprintf(services_path, sizeof services_path, "%s/services", path);
    struct http_response *delivered = post(
        services_path, officer_b,
        "{\"measure\":\"legal_aid\",\"provider_sector\":\"justice\","
        "\"responsible\":\"Phòng Tư pháp\",\"planned_on\":\"2020-06-22\","
        "\"delivered_on\":\"2020-06-23\",\"status\":\"delivered\"}", NULL);
    assert_int_equal(delivered->status, 201);
    char service_path[160];
    snprintf(service_path, sizeof service_path, "%s/%s", services_path,
             json_text(json_array_get(json_object_get(delivered->json, "services"), 0), "id",
                       NULL));
    http_free(delivered);
    struct http_options correct = {
        .method = "PATCH", .path = service_path, .token = officer_b,
        .body = "{\"delivered_on\":\"2020-06-24\"}",
        .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *corrected = http_call(&api, &correct);
    assert_int_equal(corrected->status, 200);
    http_free(corrected);
    struct http_response *unseen = http_get(&api, "/v1/children/" LAN, officer_b);
    assert_int_equal(unseen->status, 404);
    http_free(unseen);
    struct http_response *supports = http_get(&api, "/v1/children/" LAN "/supports", commune);
    json_t *support_items = json_object_get(supports->json, "items"), *support = NULL;
    for (size_t i = 0; i < json_array_size(support_items); i++)
        if (strcmp(json_text(json_array_get(support_items, i), "case_id", NULL),
                   path + strlen("/v1/cases/")) == 0)
            support = json_array_get(support_items, i);
    assert_non_null(support);
    assert_string_equal(json_text(support, "provided_on", NULL), "2020-06-24");
    assert_int_equal(json_integer_value(json_object_get(support, "version")), 2);
    /* Its feed entries are the child's commune's; its audit names B. */
    char support_sql[320];
    snprintf(support_sql, sizeof support_sql,
             "SELECT count(*) FROM change_log l JOIN units u ON u.id = l.unit_id "
             " WHERE l.resource_id = '%s' AND u.code = '29980'",
             json_text(support, "id", NULL));
    assert_true(harness_query_equals(&database, support_sql, "2"));
    snprintf(support_sql, sizeof support_sql,
             "SELECT count(*) FROM audit_log WHERE resource_type = 'supports' "
             "   AND resource_ids @> ARRAY['%s']::uuid[] AND actor = 'officer_long_khanh_b'",
             json_text(support, "id", NULL));
    assert_true(harness_query_equals(&database, support_sql, "2"));
    http_free(supports);
    free(officer_b);
}

int main(void)
{
    harness_init("cases");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_hotline_report_to_closure),
        cmocka_unit_test(a_missed_deadline_is_overdue),
        cmocka_unit_test(roles_and_scope),
        cmocka_unit_test(concurrent_steps_with_one_version),
        cmocka_unit_test(notes_assignment_and_transfer),
    };
    int failed = cmocka_run_group_tests_name("cases", tests, setup, teardown);
    harness_finish();
    return failed;
}
