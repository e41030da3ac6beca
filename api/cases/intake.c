/* Intake (Mẫu 01, POST /v1/cases), the case's representation (GET) and its
 * history; the case as a resource of the operation layer and the steps
 * every change of a case ends with (see cases.h).
 *
 * Like the registry, every operation runs in one transaction under the
 * caller's scope (row-level security on cases), is audited, and writes are
 * versioned (If-Match). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "http/handlers.h"
#include "http/server.h"
#include "json.h"
#include "operation/audit_log.h"
#include "operation/change_log.h"

const char *const case_status_names[STATUS_COUNT + 1] = {
    "received", "initial_assessed", "emergency_applied", "detailed_assessed", "plan_submitted",
    "plan_approved", "in_progress", "reviewed", "closed", NULL};

const char *const case_concerns[] = {"violence", "sexual_abuse", "exploitation", "trafficking",
                                     "neglect", "abandonment", "other", NULL};

const char *const case_plan_measures[] = {
    "medical_care", "psychological_therapy", "safe_shelter", "alternative_care",
    "parent_counselling", "legal_aid", "education_support", "material_aid",
    "vocational_training", "other", NULL};

const char *const case_sectors[] = {"labour", "health", "education", "justice", "police",
                                    "union", "ngo", "other", NULL};

bool case_name_known(const char *const names[], const char *name)
{
    for (size_t i = 0; name != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

enum case_status case_status_parse(const char *name)
{
    for (int status = 0; status < STATUS_COUNT; status++)
        if (name != NULL && strcmp(case_status_names[status], name) == 0)
            return (enum case_status)status;
    return STATUS_COUNT;
}

/* ---- the resource ------------------------------------------------------------ */

/* Reads the case (locked FOR UPDATE when it is written) with what the
 * workflow decides on; its representation is as of now (deadline states). */
bool cases_read(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    struct case_context *context = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT c.version, c.unit_id, case_document(c, $2, true)::text, c.child_id, "
             "       c.status, coalesce(c.serious_risk, false), "
             "       coalesce(c.forms->'reviewed'->>'outcome', ''), rfc3339(c.received_at), "
             "       rfc3339((SELECT max(h.at) FROM case_history h WHERE h.case_id = c.id "
             "                   AND h.to_status IS NOT NULL)) "
             "  FROM cases c WHERE c.id = $1::uuid%s",
             lock ? " FOR UPDATE" : "");
    PGresult *result = operation_query(operation, sql, &params, outcome);
    if (result == NULL)
        return false;
    operation->found = PQntuples(result) == 1;
    bool kept = !operation->found || operation_keep_document(operation, db_text(result, 0, 2));
    if (operation->found) {
        operation->version = db_integer(result, 0, 0);
        operation->unit_id = db_integer(result, 0, 1);
        snprintf(context->child_id, sizeof context->child_id, "%s", db_text(result, 0, 3));
        context->status = case_status_parse(db_text(result, 0, 4));
        context->serious_risk = db_bool(result, 0, 5);
        snprintf(context->review_outcome, sizeof context->review_outcome, "%s",
                 db_text(result, 0, 6));
        clock_parse_instant(db_text(result, 0, 7), &context->received_at);
        context->last_step_at = context->received_at;
        if (db_text(result, 0, 8) != NULL)
            clock_parse_instant(db_text(result, 0, 8), &context->last_step_at);
    }
    PQclear(result);
    if (!kept)
        *outcome = DB_FAILED;
    return kept;
}

const struct resource case_resource = {
    .name = "case", .table = "cases", .document = "case_document(r, now(), true)",
    .audit_type = "cases", .feed_type = "cases", .path = "/v1/cases/%s", .read = cases_read};

/* ---- what every change ends with -------------------------------------------- */

bool cases_history(struct operation *operation, const char *action, const char *from,
                   const char *to, const char *note, const json_t *details, const char *at,
                   enum db_outcome *outcome)
{
    char *details_text = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, at);
    db_param_text(&params, operation->request->principal.username);
    db_param_text(&params, action);
    db_param_text(&params, from);
    db_param_text(&params, to);
    db_param_text(&params, note);
    db_param_text(&params, details_text);
    PGresult *result = operation_query(
        operation,
        "INSERT INTO case_history (case_id, at, actor, action, from_status, to_status, note, "
        "details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        &params, outcome);
    free(details_text);
    PQclear(result);
    return result != NULL;
}

/* Appends the case to the change feed: status, concerns, deadlines and
 * services, never the reporter (and notes are not part of the case). */
static bool case_feed_entry(struct operation *operation, const PGresult *row, const char *change,
                            long long previous_unit_id, enum db_outcome *outcome)
{
    struct change entry = {
        .resource_type = "cases", .resource_id = operation->id,
        .child_id = db_text(row, 0, 0), .operation = change, .version = db_integer(row, 0, 2),
        .record = db_text(row, 0, 3), .unit_id = db_integer(row, 0, 1),
        .previous_unit_id = previous_unit_id};
    return change_log_append(operation, &entry, outcome);
}

bool cases_written(struct operation *operation, const char *change,
                   long long previous_unit_id, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation,
                                       "SELECT c.child_id, c.unit_id, c.version, "
                                       "       case_document(c, $2, false)::text, "
                                       "       case_document(c, $2, true)::text "
                                       "  FROM cases c WHERE c.id = $1::uuid",
                                       &params, outcome);
    if (result == NULL)
        return false;
    bool ok = PQntuples(result) == 1 &&
              case_feed_entry(operation, result, change, previous_unit_id, outcome) &&
              operation_keep_document(operation, db_text(result, 0, 4));
    if (ok) {
        operation->version = db_integer(result, 0, 2);
        operation->unit_id = db_integer(result, 0, 1);
    }
    PQclear(result);
    /* The entry names the case's commune (where the record lives, as for
     * children), not the caller's unit. */
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", operation->id);
    if (ok && !audit_log_append(operation->connection, operation->request, change, "cases", ids,
                                operation->unit_id, "success"))
        ok = false;
    if (!ok && *outcome == DB_COMMIT)
        *outcome = DB_FAILED;
    return ok;
}

bool cases_updated(struct operation *operation, const char *action, const char *note,
                   const json_t *details, long long previous_unit_id, enum db_outcome *outcome)
{
    char now[CLOCK_INSTANT_SIZE];
    clock_format_instant(clock_now_us(), now, sizeof now);
    return cases_history(operation, action, NULL, NULL, note, details, now, outcome) &&
           cases_written(operation, "update", previous_unit_id, outcome);
}

bool cases_keep_answer(struct operation *operation, const char *sql,
                       const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = operation_query(operation, sql, params, outcome);
    if (result == NULL)
        return false;
    bool kept = PQntuples(result) == 1 && operation_keep_document(operation, db_text(result, 0, 0));
    PQclear(result);
    if (!kept)
        *outcome = DB_FAILED;
    return kept;
}

bool cases_touch(struct operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation,
                                       "UPDATE cases SET version = version + 1, updated_at = $2 "
                                       " WHERE id = $1::uuid",
                                       &params, outcome);
    PQclear(result);
    return result != NULL;
}

void cases_run(struct request *request, const struct resource *resource,
               const struct operation_steps *steps, void *more, bool audit_invalid_body)
{
    struct case_context context = {.more = more};
    struct operation operation = {.domain = &context};
    bool body = steps->write != NULL;
    if (steps->creates && route_param(&request->match, "id") != NULL &&
        operation_uuid_param(request, "id") == NULL) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such case.");
        return;
    }
    if (!operation_begin(&operation, request, resource, steps, body))
        return;
    if (steps->creates) /* the case a service is added to, or an intake's child */
        operation.parent_id = route_param(&request->match, "id") != NULL
                                  ? operation_uuid_param(request, "id")
                                  : json_member_string(operation.body, "child_id");
    enum db_outcome outcome = operation_execute(&operation);
    /* status is set once the transaction started: before it, a refusal is
     * the body's check. */
    if (!audit_invalid_body && operation.status == 0 &&
        operation.problem.type == PROBLEM_VALIDATION)
        operation.problem.audit_outcome = NULL;
    operation_answer(&operation, outcome);
    json_decref(operation.body);
}

/* ---- intake (POST /v1/cases) -------------------------------------------------- */

static const char *const sources[] = {"hotline_111", "police", "school", "health_facility",
                                      "community", "family", "self", "other", NULL};

static const struct json_field case_fields[] = {  /* Mẫu 01 */
    {.name = "child_id", .kind = JSON_FIELD_UUID, .required = true},
    {.name = "received_at", .kind = JSON_FIELD_INSTANT, .required = true},
    {.name = "source", .kind = JSON_FIELD_ENUM, .required = true, .choices = sources},
    {.name = "reporter", .kind = JSON_FIELD_OBJECT, .nullable = true},
    {.name = "concerns", .kind = JSON_FIELD_ARRAY, .required = true},
    {.name = "summary", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 4000},
};
static const struct json_field reporter_fields[] = {
    {.name = "name", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 200},
    {.name = "relation", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 100},
    {.name = "phone", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 20},
};

static json_t *check_case(struct operation *operation)
{
    json_t *body = operation->body, *errors = json_array();
    if (!json_check_fields(body, case_fields, sizeof case_fields / sizeof case_fields[0], "",
                           false, errors))
        return errors;
    const json_t *reporter = json_object_get(body, "reporter");
    if (json_is_object(reporter))
        json_check_fields(reporter, reporter_fields,
                          sizeof reporter_fields / sizeof reporter_fields[0], "/reporter", false,
                          errors);
    const json_t *concerns = json_object_get(body, "concerns");
    if (json_array_size(concerns) == 0)
        problem_add_field_error(errors, "/concerns", "must name at least one concern");
    size_t index;
    const json_t *concern;
    json_array_foreach(concerns, index, concern) {
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/concerns/%zu", index);
        if (!case_name_known(case_concerns, json_string_value(concern)))
            problem_add_field_error(errors, pointer,
                                    "must be one of: violence, sexual_abuse, exploitation, "
                                    "trafficking, neglect, abandonment, other");
    }
    int64_t received;
    if (clock_parse_instant(json_member_string(body, "received_at"), &received) &&
        received > clock_now_us())
        problem_add_field_error(errors, "/received_at", "must not be in the future");
    return errors;
}

static enum db_outcome create_case(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    json_t *body = operation->body, *reporter = json_object_get(body, "reporter");
    char *reporter_text = json_is_object(reporter) ? json_dumps(reporter, JSON_COMPACT) : NULL;
    char *concerns = json_dumps(json_object_get(body, "concerns"), JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, json_member_string(body, "child_id"));
    db_param_text(&params, json_member_string(body, "received_at"));
    db_param_text(&params, json_member_string(body, "source"));
    db_param_text(&params, reporter_text);
    db_param_text(&params, concerns);
    db_param_text(&params, json_member_string(body, "summary"));
    db_param_instant(&params, clock_now_us());
    /* The case belongs to the child's commune; a child the caller cannot
     * see (row-level security) inserts nothing: 404. */
    PGresult *result = operation_query(
        operation,
        "INSERT INTO cases (id, child_id, unit_id, received_at, source, reporter, concerns, "
        "  summary, status, created_at, updated_at) "
        "SELECT $1, c.id, c.unit_id, $3, $4, $5::jsonb, "
        "       ARRAY(SELECT json_array_elements_text($6::json)), $7, 'received', $8, $8 "
        "  FROM children c WHERE c.id = $2::uuid AND c.deleted_at IS NULL",
        &params, &outcome);
    free(reporter_text);
    free(concerns);
    if (result == NULL)
        return outcome;
    bool inserted = strcmp(PQcmdTuples(result), "1") == 0;
    PQclear(result);
    if (!inserted) {
        /* Nothing was created: the refusal's audit entry names the child
         * asked for, not the new case's id. */
        operation->id = json_member_string(body, "child_id");
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    }
    if (cases_history(operation, "received", NULL, "received",
                      json_member_string(body, "summary"), NULL,
                      json_member_string(body, "received_at"), &outcome))
        cases_written(operation, "create", 0, &outcome);
    return outcome;
}

/* change NULL: cases_written() logs and audits the case itself. */
static const struct operation_steps create_steps = {
    .action = "create", .creates = true, .check = check_case,
    .invalid_detail = "The case is invalid.", .write = create_case, .status = 201};

void handle_case_create(struct request *request)
{
    cases_run(request, &case_resource, &create_steps, NULL, true);
}

/* ---- read ---------------------------------------------------------------------- */

static const struct operation_steps get_steps = {
    .action = "read", .reads_record = true, .status = 200};

void handle_case_get(struct request *request)
{
    cases_run(request, &case_resource, &get_steps, NULL, true);
}

/* The history, oldest first; with the case's version as ETag. */
static enum db_outcome read_history(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    cases_keep_answer(
        operation,
        "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
        "    'at', rfc3339(h.at), 'actor', h.actor, 'action', h.action, "
        "    'from', h.from_status, 'to', h.to_status, 'note', h.note, 'details', h.details) "
        "    ORDER BY h.id), '[]'), 'next_cursor', NULL)::text "
        "  FROM case_history h WHERE h.case_id = $1::uuid",
        &params, &outcome);
    return outcome;
}

static const struct operation_steps history_steps = {
    .action = "read", .reads_record = true, .query = read_history, .status = 200};

void handle_case_history(struct request *request)
{
    cases_run(request, &case_resource, &history_steps, NULL, true);
}
