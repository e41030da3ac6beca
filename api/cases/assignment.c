/* Who handles a case and where it lives: PATCH /v1/cases/{id} (the
 * assignee, the summary) and the transfer to another commune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "http/handlers.h"
#include "json.h"
#include "operation/scope.h"

/* Checks a body against fields; the errors (empty when valid). */
static json_t *check_fields(const json_t *body, const struct json_field *fields, size_t count)
{
    json_t *errors = json_array();
    json_check_fields(body, fields, count, "", false, errors);
    return errors;
}

/* ---- assignment and summary (PATCH /v1/cases/{id}) ----------------------------------- */

static const struct json_field case_patch_fields[] = {
    {.name = "assigned_to", .kind = JSON_FIELD_STRING, .nullable = true, .min_length = 1,
     .max_length = 64},
    {.name = "summary", .kind = JSON_FIELD_STRING, .min_length = 1, .max_length = 4000},
};

static json_t *check_patch(struct operation *operation)
{
    return check_fields(operation->body, case_patch_fields,
                        sizeof case_patch_fields / sizeof case_patch_fields[0]);
}

/* The assignee must be an active person who may handle cases and whose
 * area includes the case's commune (another commune's officer could not
 * even see it). */
static const char patch_sql[] =
    "WITH assignee AS (SELECT p.id FROM principals p, cases c "
    "                   WHERE lower(p.username) = lower($3) AND c.id = $1::uuid "
    "                     AND p.kind = 'user' AND p.disabled_at IS NULL AND p.role IN "
    "                    ('admin', 'district_officer', 'province_officer', 'commune_officer', "
    "                      'commune_chair') "
    "                     AND c.unit_id IN (SELECT id FROM unit_subtree(p.unit_id, "
    "                                                                   $6::date))) "
    "UPDATE cases SET assigned_to = CASE WHEN $2 THEN (SELECT id FROM assignee) "
    "                                    ELSE assigned_to END, "
    "  summary = coalesce($4, summary), version = version + 1, updated_at = $5 "
    " WHERE id = $1::uuid AND ($3 IS NULL OR EXISTS (SELECT 1 FROM assignee)) "
    "RETURNING id";

static enum db_outcome patch_case(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    const json_t *assignee = json_object_get(operation->body, "assigned_to");
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_bool(&params, assignee != NULL);
    db_param_text(&params, json_is_string(assignee) ? json_string_value(assignee) : NULL);
    db_param_text(&params, json_member_string(operation->body, "summary"));
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, today);
    PGresult *result = operation_query(operation, patch_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    bool updated = PQntuples(result) == 1;
    PQclear(result);
    if (!updated) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/assigned_to",
                                "must be the username of an active case worker whose "
                                "area includes the case's commune");
        return operation_refuse_invalid(operation, errors, "The change is invalid.");
    }
    cases_updated(operation, assignee != NULL ? "assigned" : "updated", NULL, operation->body,
                  0, &outcome);
    return outcome;
}

/* change NULL: cases_written() logs and audits the case itself. */
static const struct operation_steps patch_steps = {
    .action = "update", .reads_record = true, .requires_if_match = true,
    .check = check_patch, .invalid_detail = "The change is invalid.", .write = patch_case,
    .status = 200};

void handle_case_patch(struct request *request)
{
    cases_run(request, &case_resource, &patch_steps, NULL, true);
}

/* ---- transfer to another commune ---------------------------------------------------- */

static const struct json_field transfer_fields[] = {
    {.name = "to_unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static json_t *check_transfer(struct operation *operation)
{
    return check_fields(operation->body, transfer_fields,
                        sizeof transfer_fields / sizeof transfer_fields[0]);
}

/* Moves the case to the commune unit_id; its commune before in *previous. */
static bool move_case(struct operation *operation, long long unit_id, long long *previous,
                      enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
        "UPDATE cases n SET unit_id = $2, version = n.version + 1, updated_at = $3 "
        "  FROM cases o WHERE n.id = $1::uuid AND o.id = n.id RETURNING o.unit_id",
        &params, outcome);
    if (result == NULL)
        return false;
    *previous = db_integer(result, 0, 0);
    PQclear(result);
    return true;
}

static enum db_outcome transfer_case(struct operation *operation)
{
    const struct case_context *context = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    const char *to_unit = json_member_string(operation->body, "to_unit");
    long long unit_id = scope_commune_id(operation, to_unit, today, &outcome);
    if (unit_id < 0)
        return outcome;
    if (context->status == STATUS_CLOSED)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "A closed case is not transferred.");
    /* operation->unit_id is the case's commune, as read (locked). */
    if (unit_id == 0 || unit_id == operation->unit_id) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/to_unit",
                                unit_id == 0 ? "must be a commune within your scope"
                                             : "is already the case's commune");
        return operation_refuse_invalid(operation, errors, "The transfer is invalid.");
    }
    long long previous = 0;
    if (!move_case(operation, unit_id, &previous, &outcome))
        return outcome;
    json_t *details = json_pack("{s:s}", "to_unit", to_unit);
    /* The old commune loses the case: the feed tells it so (a scope exit). */
    cases_updated(operation, "transferred", json_member_string(operation->body, "note"), details,
                  previous != unit_id ? previous : 0, &outcome);
    json_decref(details);
    return outcome;
}

static const struct operation_steps transfer_steps = {
    .action = "update", .reads_record = true, .requires_if_match = true,
    .check = check_transfer, .invalid_detail = "The transfer is invalid.",
    .write = transfer_case, .status = 200};

void handle_case_transfer(struct request *request)
{
    cases_run(request, &case_resource, &transfer_steps, NULL, true);
}
