/* Plan years (kế hoạch năm): GET /v1/plans/{year} and PUT /v1/plans/{year}.
 * A plan holds the year's indicator targets (rates as exact fractions, each
 * with the units that have their own, plan_unit_targets), the
 * fund's mobilisation targets per unit (integer VND) and, once written, the
 * year's report periods, created from the rules of migration 0014.  The
 * write itself is the SQL function plan_put(), the same path the seed of
 * 2020 takes; this file checks the body's shape, the caller's scope and
 * that the year has not ended (a closed year's plan is refused here, not in
 * plan_put, which the seed calls for 2020 on a new database).
 * Plans are not personal data: reads and refusals are not audited; writes
 * are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fund/fund.h"
#include "http/request_body.h"
#include "json.h"
#include "reporting/reporting.h"

/* The plan's year, as the path gives it; validated by the handlers. */
struct plan_request {
    const char *year;
};

static bool read_plan(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    const struct plan_request *plan = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, plan->year);
    PGresult *result = operation_query_record(
        operation,
        lock ? "SELECT p.version, p.unit_id, plan_document(p)::text "
               "  FROM plans p WHERE p.year = $1::smallint FOR UPDATE"
             : "SELECT p.version, p.unit_id, plan_document(p)::text "
               "  FROM plans p WHERE p.year = $1::smallint",
        &params, 2, outcome);
    if (result == NULL)
        return false;
    if (operation->found)
        operation->unit_id = db_integer(result, 0, 1);
    PQclear(result);
    return true;
}

/* A plan is audited with its unit and no id. */
static const struct resource plan_resource = {
    .name = "plan", .table = "plans", .document = "plan_document(r)", .audit_type = "plans",
    .read = read_plan};

/* The path's year, 2000 to 2100; false (after a 404) otherwise. */
static bool plan_year_valid(struct request *request, const char *year)
{
    long long value;
    if (config_parse_integer(year, 2000, 2100, &value))
        return true;
    reply_problem(request, PROBLEM_NOT_FOUND, "No such plan: the year must be 2000 to 2100.");
    return false;
}

/* ---- GET ------------------------------------------------------------------- */

static enum db_outcome get_plan(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    if (operation_read(operation, false, &outcome) && !operation->found) {
        const struct plan_request *plan = operation->domain;
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                   "No plan for %s: PUT /v1/plans/%s creates it.", plan->year,
                                   plan->year);
    }
    return outcome;
}

static const struct operation_steps get_steps = {
    .action = "read", .query = get_plan, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_plan_get(struct request *request)
{
    struct plan_request plan = {.year = route_param(&request->match, "year")};
    if (!plan_year_valid(request, plan.year))
        return;
    struct operation operation = {.domain = &plan};
    if (operation_begin(&operation, request, &plan_resource, &get_steps, false))
        operation_run(&operation);
}

/* ---- PUT ------------------------------------------------------------------- */

/* The rates the rollup compares with a target (rollup_indicators). */
static const char *const target_codes[] = {"csc_rate", "csc_supported_rate", NULL};
static const char *const comparators[] = {"lt", "le", "ge", "gt", NULL};

static const struct json_field plan_fields[] = {
    {.name = "title", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 300},
    {.name = "reference", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 100},
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "targets", .kind = JSON_FIELD_ARRAY, .required = true, .max_length = 50},
    {.name = "fund_targets", .kind = JSON_FIELD_ARRAY, .required = true,
     .max_length = 500},
};

static const struct json_field target_fields[] = {
    {.name = "code", .kind = JSON_FIELD_ENUM, .required = true, .choices = target_codes},
    {.name = "comparator", .kind = JSON_FIELD_ENUM, .required = true, .choices = comparators},
    {.name = "numerator", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 0,
     .maximum = 1000000000000LL},
    {.name = "denominator", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = 1000000000000LL},
    {.name = "description", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 500},
    /* A unit's own threshold (plan_unit_targets); the others take the plan's. */
    {.name = "units", .kind = JSON_FIELD_ARRAY, .max_length = 500},
};

static const struct json_field unit_target_fields[] = {
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "numerator", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 0,
     .maximum = 1000000000000LL},
    {.name = "denominator", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = 1000000000000LL},
};

static const struct json_field fund_target_fields[] = {
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 0,
     .maximum = 1000000000000LL},
};

/* Checks each element of the array member `name` of `object` (at `prefix`)
 * against `fields`.  A code named twice in the targets is an error too, and
 * each target's "units" are checked in turn (a unit named twice is found by
 * plan_put, which resolves codes). */
static void check_items(const json_t *object, const char *prefix, const char *name,
                        const struct json_field *fields, size_t count, json_t *errors)
{
    const json_t *items = json_object_get(object, name);
    size_t index;
    const json_t *item;
    json_array_foreach(items, index, item) {
        char pointer[96];
        snprintf(pointer, sizeof pointer, "%s/%s/%zu", prefix, name, index);
        if (!json_is_object(item)) {
            problem_add_field_error(errors, pointer, "must be an object");
            continue;
        }
        bool valid = json_check_fields(item, fields, count, pointer, false, errors);
        if (strcmp(name, "targets") != 0)
            continue;
        check_items(item, pointer, "units", unit_target_fields,
                    sizeof unit_target_fields / sizeof unit_target_fields[0], errors);
        if (!valid)
            continue;
        for (size_t earlier = 0; earlier < index; earlier++) {
            const char *code = json_member_string(json_array_get(items, earlier), "code");
            if (code != NULL && strcmp(code, json_member_string(item, "code")) == 0) {
                problem_add_field_error(errors, pointer, "names %s a second time", code);
                break;
            }
        }
    }
}

static json_t *check_plan(struct operation *operation)
{
    json_t *errors = json_array();
    const json_t *body = operation->body;
    json_check_fields(body, plan_fields, sizeof plan_fields / sizeof plan_fields[0], "", false,
                      errors);
    check_items(body, "", "targets", target_fields,
                sizeof target_fields / sizeof target_fields[0], errors);
    check_items(body, "", "fund_targets", fund_target_fields,
                sizeof fund_target_fields / sizeof fund_target_fields[0], errors);
    return errors;
}

/* The plan's unit is the caller's or one under it (a district officer plans
 * for the district, an administrator for anything). */
static bool plan_unit_in_scope(struct operation *operation, enum db_outcome *outcome)
{
    const struct plan_request *plan = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, json_member_string(operation->body, "unit"));
    db_param_text(&params, plan->year);
    PGresult *result = operation_query(
        operation,
        "SELECT plan_year_unit($1, $2::smallint) IS NULL "
        "    OR plan_year_unit($1, $2::smallint) IN (SELECT id FROM scope_units())",
        &params, outcome);
    if (result == NULL)
        return false;
    bool in_scope = db_bool(result, 0, 0);
    PQclear(result);
    if (!in_scope) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/unit", "must be your unit or a unit under it");
        *outcome = operation_refuse_invalid(operation, errors, "The plan is invalid.");
    }
    return in_scope;
}

/* ---- the fund targets a plan writes ------------------------------------------ */

/* The year's fund targets as they are, {unit id: version} (owned), before
 * plan_put() replaces them. */
static char *fund_targets_before(struct operation *operation, enum db_outcome *outcome)
{
    const struct plan_request *plan = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, plan->year);
    PGresult *result = operation_query(
        operation,
        "SELECT coalesce(json_object_agg(unit_id, version), '{}')::text "
        "  FROM fund_targets WHERE year = $1::smallint",
        &params, outcome);
    if (result == NULL)
        return NULL;
    char *before = strdup(db_text(result, 0, 0));
    PQclear(result);
    if (before == NULL)
        *outcome = DB_FAILED;
    return before;
}

/* Each fund target the plan created, changed or dropped goes to the change
 * feed and the audit as PUT /v1/fund/targets would send it: sync clients
 * keep the fund's targets from the feed, and the fund's audit shows who
 * set them. */
static bool fund_targets_recorded(struct operation *operation, const char *before,
                                  enum db_outcome *outcome)
{
    const struct plan_request *plan = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, plan->year);
    db_param_text(&params, before);
    PGresult *result = operation_query(
        operation,
        "WITH before AS (SELECT key::bigint AS unit_id, value::bigint AS version "
        "                  FROM json_each_text($2::json)), "
        "     after AS (SELECT t FROM fund_targets t WHERE t.year = $1::smallint) "
        "SELECT CASE WHEN b.unit_id IS NULL THEN 'create' "
        "            WHEN (a.t).unit_id IS NULL THEN 'delete' ELSE 'update' END, "
        "       fund_target_id($1::integer, coalesce((a.t).unit_id, b.unit_id))::text, "
        "       coalesce((a.t).unit_id, b.unit_id), coalesce((a.t).version, b.version + 1), "
        "       fund_target_document(a.t)::text "
        "  FROM after a FULL JOIN before b ON b.unit_id = (a.t).unit_id "
        " WHERE b.unit_id IS NULL OR (a.t).unit_id IS NULL OR (a.t).version <> b.version",
        &params, outcome);
    if (result == NULL)
        return false;
    bool recorded = true;
    for (int row = 0; recorded && row < PQntuples(result); row++)
        recorded = operation_record_write(operation, &fund_targets, db_text(result, row, 0),
                                          db_text(result, row, 1), db_text(result, row, 4),
                                          db_integer(result, row, 3),
                                          db_integer(result, row, 2), outcome);
    PQclear(result);
    return recorded;
}

/* plan_put()'s answer: [] once written, else the problems it found. */
static bool plan_written(struct operation *operation, enum db_outcome *outcome)
{
    const struct plan_request *plan = operation->domain;
    char *body = json_dumps(operation->body, JSON_COMPACT);
    if (body == NULL) {
        *outcome = DB_FAILED;
        return false;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, plan->year);
    db_param_text(&params, body);
    db_param_instant(&params, clock_now_us());
    /* The year's indicators (new targets, new periods) are computed by the
     * next rollup: queued now rather than in 10 minutes. */
    PGresult *result = operation_query(
        operation,
        "SELECT plan_put($1::smallint, $2::jsonb, $3)::text, "
        "       job_enqueue('rollup_indicators', 'rollup_indicators', '{}', $3, $3)",
        &params, outcome);
    free(body);
    if (result == NULL)
        return false;
    json_t *errors = json_loads(db_text(result, 0, 0), 0, NULL);
    PQclear(result);
    if (errors == NULL) {
        *outcome = DB_FAILED;
        return false;
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    *outcome = operation_refuse_invalid(operation, errors, "The plan is invalid.");
    return false;
}

static enum db_outcome put_plan(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    const struct plan_request *plan = operation->domain;
    /* A year that has ended is closed, whether it has a plan or not.  An
     * absent plan has version 0: created without If-Match, and If-Match on
     * it is a 412; an existing one needs the version last read. */
    if (!reporting_year_open(operation, atoi(plan->year), &outcome) ||
        !operation_read(operation, true, &outcome) ||
        (operation->found && !reporting_precondition(operation, &outcome)) ||
        (!operation->found && operation->if_match != 0 &&
         !reporting_precondition(operation, &outcome)) ||
        !plan_unit_in_scope(operation, &outcome))
        return outcome;
    bool existed = operation->found;
    char *before = fund_targets_before(operation, &outcome);
    bool written = before != NULL && plan_written(operation, &outcome) &&
                   fund_targets_recorded(operation, before, &outcome);
    free(before);
    if (!written || !operation_read(operation, false, &outcome))
        return outcome;
    if (!operation->found)
        return DB_FAILED;
    operation->change = existed ? "update" : "create";
    operation->status = existed ? 200 : 201;
    if (!existed)
        snprintf(operation->location, sizeof operation->location, "/v1/plans/%s", plan->year);
    return DB_COMMIT;
}

static const struct operation_steps put_steps = {
    .action = "update", .check = check_plan, .invalid_detail = "The plan is invalid.",
    .write = put_plan, .change = "update", .status = 200, .quiet_refusals = true};

void handle_plan_put(struct request *request)
{
    struct plan_request plan = {.year = route_param(&request->match, "year")};
    struct operation operation = {.domain = &plan};
    if (!reporting_begin(&operation, request, &plan_resource, &put_steps, false) ||
        !plan_year_valid(request, plan.year) ||
        (operation.body = request_json_body(request)) == NULL)
        return;
    operation_run(&operation);
    json_decref(operation.body);
}
