/* The services of a case's plan: POST /v1/cases/{id}/services and PATCH
 * …/services/{service_id}.  A delivered service is also a support of the
 * child (one source of truth for the "supported" indicator), linked both
 * ways and written through the registry's own code (child_records.h): the
 * first delivery creates the support; later edits of the delivered service
 * (date, measure, sector, note) update it, so the two never disagree.  The
 * answer is the case, whose version every change of a service moves on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "http/handlers.h"
#include "http/server.h"
#include "json.h"
#include "registry/child_records.h"

static const char *const service_statuses[] = {"planned", "delivered", "cancelled", NULL};

static const struct json_field service_fields[] = {
    {.name = "measure", .kind = JSON_FIELD_ENUM, .required = true,
     .choices = case_plan_measures},
    {.name = "provider_sector", .kind = JSON_FIELD_ENUM, .required = true,
     .choices = case_sectors},
    {.name = "responsible", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "planned_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "delivered_on", .kind = JSON_FIELD_DATE, .nullable = true},
    {.name = "status", .kind = JSON_FIELD_ENUM, .required = true, .choices = service_statuses},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
#define SERVICE_FIELD_COUNT (sizeof service_fields / sizeof service_fields[0])

static bool delivered(const json_t *service)
{
    return strcmp(json_member_string(service, "status"), "delivered") == 0;
}

/* The kind of child support a delivered measure counts as. */
static const char *support_kind_of(const char *measure)
{
    static const char *const pairs[][2] = {
        {"psychological_therapy", "psychological_counselling"},
        {"parent_counselling", "psychological_counselling"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (strcmp(pairs[i][0], measure) == 0)
            return pairs[i][1];
    return measure; /* the other measures share their support kind's name */
}

static json_t *check_service(json_t *service)
{
    json_t *errors = json_array();
    if (!json_check_fields(service, service_fields, SERVICE_FIELD_COUNT, "", false, errors))
        return errors;
    const char *delivered_on = json_member_string(service, "delivered_on");
    struct civil_date day;
    if (delivered(service) != (delivered_on != NULL))
        problem_add_field_error(errors, "/delivered_on",
                                "is required exactly when the status is delivered");
    else if (delivered_on != NULL && date_parse(delivered_on, &day) &&
             civil_compare(day, clock_today()) > 0)
        problem_add_field_error(errors, "/delivered_on", "must not be in the future");
    return errors;
}

/* Links the service to the support that records its delivery. */
static bool link_support(struct operation *operation, const char *service_id,
                         const char *support_id, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, service_id);
    db_param_text(&params, support_id);
    PGresult *result = operation_query(
        operation, "UPDATE case_services SET support_id = $2 WHERE id = $1::uuid", &params,
        outcome);
    PQclear(result);
    return result != NULL;
}

/* Admits the child of a case transferred to another commune, which the
 * caller cannot see, to the scope for the support's write only
 * (case_child_scope_widen.sql); *previous: the scope to put back (owned),
 * NULL when the child was in sight already. */
static bool admit_child(struct operation *operation, char **previous, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "SELECT case_child_scope_widen($1::uuid)",
                                       &params, outcome);
    if (result == NULL)
        return false;
    const char *was = db_text(result, 0, 0);
    *previous = was != NULL ? strdup(was) : NULL;
    bool ok = was == NULL || *previous != NULL;
    PQclear(result);
    if (!ok)
        *outcome = DB_FAILED;
    return ok;
}

static void narrow_back(struct operation *operation, char *previous, enum db_outcome *outcome)
{
    if (previous == NULL)
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, previous);
    PQclear(operation_query(operation, "SELECT set_config('baove.scope_units', $1, true)",
                            &params, outcome));
    free(previous);
}

/* The support a delivered service is: created on the first delivery
 * (support_id NULL), updated after. */
static bool record_delivery(struct operation *operation, const char *service_id,
                            const json_t *service, const char *support_id,
                            enum db_outcome *outcome)
{
    const struct case_context *context = operation->domain;
    json_t *support = json_pack(
        "{s:s, s:s, s:s, s:s?}", "kind", support_kind_of(json_member_string(service, "measure")),
        "provider_sector", json_member_string(service, "provider_sector"), "provided_on",
        json_member_string(service, "delivered_on"), "note", json_member_string(service, "note"));
    char *previous = NULL;
    if (support == NULL || !admit_child(operation, &previous, outcome)) {
        json_decref(support);
        *outcome = *outcome != DB_COMMIT ? *outcome : DB_FAILED;
        return false;
    }
    if (support_id != NULL) {
        *outcome = support_update(operation, context->child_id, support_id, support);
    } else {
        json_object_set_new(support, "level", json_string("intervention"));
        json_object_set_new(support, "funded_by_fund", json_false());
        char new_support[AUTH_UUID_SIZE];
        struct support_origin origin = {operation->id, service_id};
        *outcome = support_create(operation, context->child_id, support, &origin, new_support);
        if (*outcome == DB_COMMIT)
            link_support(operation, service_id, new_support, outcome);
    }
    json_decref(support);
    if (*outcome == DB_COMMIT)
        narrow_back(operation, previous, outcome);
    else
        free(previous); /* the rollback narrows it */
    return *outcome == DB_COMMIT;
}

/* Ends a change of a service: the case's new version, history, feed, audit. */
static void service_changed(struct operation *operation, const char *note, const char *key,
                            const char *service_id, const json_t *what,
                            enum db_outcome *outcome)
{
    json_t *details = json_pack("{s:s, s:O}", "service_id", service_id, key, what);
    if (cases_touch(operation, outcome))
        cases_updated(operation, "updated", note, details, 0, outcome);
    json_decref(details);
}

/* ---- POST /v1/cases/{id}/services ----------------------------------------------- */

static json_t *check_new_service(struct operation *operation)
{
    return check_service(operation->body);
}

static bool insert_service(struct operation *operation, const char *service_id,
                           enum db_outcome *outcome)
{
    char *body = json_dumps(operation->body, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, body);
    db_param_text(&params, service_id);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
        "INSERT INTO case_services SELECT * FROM jsonb_populate_record(NULL::case_services, "
        "  $1::jsonb || jsonb_build_object('id', $2::uuid, 'case_id', $3::uuid, 'version', 1, "
        "  'created_at', $4::timestamptz, 'updated_at', $4::timestamptz))",
        &params, outcome);
    free(body);
    PQclear(result);
    return result != NULL;
}

/* The lifecycle drew a new id (the service's); the operation is the case's
 * (its answer, Location, audit), read and locked here. */
static enum db_outcome add_service(struct operation *operation)
{
    const struct case_context *context = operation->domain;
    char service_id[AUTH_UUID_SIZE];
    snprintf(service_id, sizeof service_id, "%s", operation->id);
    operation->id = operation->parent_id;
    enum db_outcome outcome = DB_COMMIT;
    if (!operation_read(operation, true, &outcome))
        return outcome;
    if (!operation->found)
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
    if (context->status == STATUS_CLOSED)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "The case is closed: its plan takes no more services.");
    if (insert_service(operation, service_id, &outcome) &&
        (!delivered(operation->body) ||
         record_delivery(operation, service_id, operation->body, NULL, &outcome)))
        service_changed(operation, "service added", "service", service_id, operation->body,
                        &outcome);
    return outcome;
}

/* change NULL: cases_written() logs and audits the case itself. */
static const struct operation_steps add_steps = {
    .action = "update", .creates = true, .check = check_new_service,
    .invalid_detail = "The service is invalid.", .write = add_service, .status = 201};

void handle_case_service_create(struct request *request)
{
    /* A new service's own 422 was never audited. */
    cases_run(request, &case_resource, &add_steps, NULL, false);
}

/* ---- PATCH /v1/cases/{id}/services/{service_id} ------------------------------------ */

struct service_row {
    long long version;
    bool delivered;
    char support_id[AUTH_UUID_SIZE]; /* "" before its first delivery */
    json_t *members;                 /* the writable members with a value (owned) */
};

/* Reads and locks the service; false after refusing 404 or on a failure. */
static bool read_service(struct operation *operation, const char *service_id,
                         struct service_row *row, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, service_id);
    PGresult *result = operation_query(
        operation,
        "SELECT s.version, s.status, coalesce(s.support_id::text, ''), "
        "  jsonb_strip_nulls(to_jsonb(s) - 'id' - 'case_id' - 'support_id' - "
        "  'version' - 'created_at' - 'updated_at')::text "
        "  FROM case_services s WHERE s.case_id = $1::uuid AND s.id = $2::uuid FOR UPDATE",
        &params, outcome);
    if (result == NULL)
        return false;
    bool found = PQntuples(result) == 1;
    if (found) {
        row->version = db_integer(result, 0, 0);
        row->delivered = strcmp(db_text(result, 0, 1), "delivered") == 0;
        snprintf(row->support_id, sizeof row->support_id, "%s", db_text(result, 0, 2));
        row->members = json_loads(db_text(result, 0, 3), 0, NULL);
    }
    PQclear(result);
    if (!found)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such service.");
    else if (row->members == NULL)
        *outcome = DB_FAILED;
    return found && row->members != NULL;
}

/* The service's If-Match (the case's answer carries the case's version). */
static bool service_precondition(struct operation *operation, const struct service_row *row,
                                 enum db_outcome *outcome)
{
    if (operation->if_match == row->version)
        return true;
    *outcome = operation_refuse(operation,
                                operation->if_match == 0 ? PROBLEM_PRECONDITION_REQUIRED
                                                         : PROBLEM_PRECONDITION_FAILED,
                                "conflict", "Send If-Match with the service's current version.");
    operation->problem.etag = row->version;
    return false;
}

static bool update_service(struct operation *operation, const char *service_id,
                           const json_t *merged, enum db_outcome *outcome)
{
    char *text = json_dumps(merged, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, service_id);
    db_param_text(&params, text);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
        "UPDATE case_services s SET measure = i.measure, provider_sector = i.provider_sector, "
        "  responsible = i.responsible, planned_on = i.planned_on, "
        "  delivered_on = i.delivered_on, status = i.status, note = i.note, "
        "  version = s.version + 1, updated_at = $4 "
        "  FROM jsonb_populate_record(NULL::case_services, $3::jsonb) i "
        " WHERE s.case_id = $1::uuid AND s.id = $2::uuid",
        &params, outcome);
    free(text);
    PQclear(result);
    return result != NULL;
}

static enum db_outcome change_service(struct operation *operation)
{
    const char *service_id = ((struct case_context *)operation->domain)->more;
    enum db_outcome outcome = DB_COMMIT;
    struct service_row row = {0};
    if (!read_service(operation, service_id, &row, &outcome) ||
        !service_precondition(operation, &row, &outcome)) {
        json_decref(row.members);
        return outcome;
    }
    json_merge_patch(row.members, operation->body);
    json_t *errors = check_service(row.members);
    if (json_array_size(errors) == 0 && row.delivered && !delivered(row.members))
        problem_add_field_error(errors, "/status", "a delivered service stays delivered");
    if (json_array_size(errors) > 0) {
        outcome = operation_refuse_invalid(operation, errors, "The service is invalid.");
    } else {
        json_decref(errors);
        if (update_service(operation, service_id, row.members, &outcome) &&
            (!delivered(row.members) ||
             record_delivery(operation, service_id, row.members,
                             row.delivered && row.support_id[0] ? row.support_id : NULL,
                             &outcome)))
            service_changed(operation, "service changed", "change", service_id,
                            operation->body, &outcome);
    }
    json_decref(row.members);
    return outcome;
}

/* The case is read and locked first; the service has its own If-Match. */
static const struct operation_steps change_steps = {
    .action = "update", .reads_record = true, .write = change_service, .status = 200};

void handle_case_service_patch(struct request *request)
{
    const char *service_id = NULL;
    if (operation_uuid_param(request, "id") != NULL &&
        (service_id = operation_uuid_param(request, "service_id")) == NULL) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such service.");
        return;
    }
    cases_run(request, &case_resource, &change_steps, (void *)service_id, true);
}
