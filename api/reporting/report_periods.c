/* Report periods of a plan year: GET /v1/report-periods?year=,
 * GET /v1/report-periods/{key} and PUT /v1/report-periods/{key} (If-Match)
 * to move a period's cut-off or due date, until its plan year has ended
 * (then the year is closed: 409).  Periods are not personal data:
 * reads and refusals are not audited; changes are.  Also what the reporting
 * cycle's records share in the lifecycle (reporting_begin,
 * reporting_precondition, reporting_year_open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/request_body.h"
#include "json.h"
#include "reporting/reporting.h"

bool report_period_key_valid(const char *key)
{
    size_t length = strlen(key);
    for (size_t i = 0; i < 4 && i < length; i++)
        if (key[i] < '0' || key[i] > '9')
            return false;
    return length == 4 || (length == 6 && strcmp(key + 4, "S1") == 0);
}

bool reporting_begin(struct operation *operation, struct request *request,
                     const struct resource *resource, const struct operation_steps *steps,
                     bool body)
{
    if (!operation_begin(operation, request, resource, steps, false))
        return false;
    /* Nothing to compare with: refused before the record is even read. */
    if (operation->if_match < 0) {
        reply_problem(request, PROBLEM_PRECONDITION_FAILED, "If-Match is not a version.");
        return false;
    }
    return !body || (operation->body = request_json_body(request)) != NULL;
}

bool reporting_precondition(struct operation *operation, enum db_outcome *outcome)
{
    if (operation_precondition(operation, outcome))
        return true;
    /* Clients of the reporting cycle take the version from a 428 as well. */
    operation->problem.etag = operation->version;
    return false;
}

bool reporting_year_open(struct operation *operation, int year, enum db_outcome *outcome)
{
    /* A year's plan and periods are what its reports, summaries and
     * indicators were measured against; rewritten later, they would change
     * figures that were final (a target, a fund target, a cut-off moved). */
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    if (year >= atoi(today))
        return true;
    *outcome = operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "The %d plan is closed: its year has ended; its reports stand "
                                "as they were.",
                                year);
    return false;
}

/* ---- the resource ------------------------------------------------------ */

/* The resource's read: the period whose key is operation->domain. */
static bool read_period(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->domain);
    PGresult *result = operation_query_record(
        operation,
        lock ? "SELECT p.version, report_period_document(p)::text "
               "  FROM report_periods p WHERE p.key = $1 FOR UPDATE"
             : "SELECT p.version, report_period_document(p)::text "
               "  FROM report_periods p WHERE p.key = $1",
        &params, 1, outcome);
    bool read = result != NULL;
    PQclear(result);
    return read;
}

/* Periods are district-wide: audited with the caller's unit and no id. */
static const struct resource period_resource = {
    .name = "report period", .table = "report_periods",
    .document = "report_period_document(r)", .audit_type = "report_periods",
    .read = read_period};

/* Reads the period (locked when the step writes); 404 when there is none. */
static bool enter_period(struct operation *operation, enum db_outcome *outcome)
{
    if (!operation_read(operation, operation->steps->write != NULL, outcome))
        return false;
    if (!operation->found)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such report period.");
    return operation->found;
}

/* ---- GET list, GET ---------------------------------------------------------- */

static enum db_outcome list_periods(struct operation *operation)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->domain);
    return operation_query_document(
        operation,
        "SELECT json_build_object('items', coalesce(json_agg(report_period_document(p) "
        "         ORDER BY p.due_on), '[]'), 'next_cursor', NULL)::text "
        "  FROM report_periods p WHERE $1::smallint IS NULL OR p.year = $1::smallint", &params);
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_periods, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_report_periods_list(struct request *request)
{
    const char *year = request_query(request, "year");
    long long value;
    if (year != NULL && !config_parse_integer(year, 2000, 2100, &value)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "year", "must be a year from 2000 to 2100");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    struct operation operation = {.domain = (void *)year};
    if (operation_begin(&operation, request, &period_resource, &list_steps, false))
        operation_run(&operation);
}

static enum db_outcome get_period(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    enter_period(operation, &outcome);
    return outcome;
}

static const struct operation_steps get_steps = {
    .action = "read", .query = get_period, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_report_period_get(struct request *request)
{
    struct operation operation = {.domain = (void *)route_param(&request->match, "key")};
    if (operation_begin(&operation, request, &period_resource, &get_steps, false))
        operation_run(&operation);
}

/* ---- PUT ------------------------------------------------------------------ */

static const struct json_field period_fields[] = {
    {.name = "covers_from", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "covers_to", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "due_on", .kind = JSON_FIELD_DATE, .required = true},
};

/* Cross-field rules: the period lies inside its year, and the report is
 * due after the cut-off. */
static void check_period_dates(const char *key, const json_t *body, json_t *errors)
{
    struct civil_date from, to, due;
    if (!date_parse(json_member_string(body, "covers_from"), &from) ||
        !date_parse(json_member_string(body, "covers_to"), &to) ||
        !date_parse(json_member_string(body, "due_on"), &due))
        return;
    int year = atoi(key);
    if (from.year != year)
        problem_add_field_error(errors, "/covers_from", "must be in %d", year);
    if (to.year != year)
        problem_add_field_error(errors, "/covers_to", "must be in %d", year);
    if (civil_compare(from, to) > 0)
        problem_add_field_error(errors, "/covers_to", "must not be before covers_from");
    if (civil_compare(due, to) <= 0)
        problem_add_field_error(errors, "/due_on", "must be after covers_to (the cut-off)");
}

static json_t *check_period(struct operation *operation)
{
    json_t *errors = json_array();
    if (json_check_fields(operation->body, period_fields,
                          sizeof period_fields / sizeof period_fields[0], "", false, errors))
        check_period_dates(operation->domain, operation->body, errors);
    return errors;
}

static enum db_outcome put_period(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    /* The key begins with its plan year (report_period_key_valid). */
    if (!enter_period(operation, &outcome) ||
        !reporting_year_open(operation, atoi(operation->domain), &outcome) ||
        !reporting_precondition(operation, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->domain);
    db_param_text(&params, json_member_string(operation->body, "covers_from"));
    db_param_text(&params, json_member_string(operation->body, "covers_to"));
    db_param_text(&params, json_member_string(operation->body, "due_on"));
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
        "UPDATE report_periods SET covers_from = $2, covers_to = $3, due_on = $4, "
        "       version = version + 1, updated_at = $5 WHERE key = $1",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    PQclear(result);
    /* The reminders still to come under the new due date go out again then
     * (sql/functions/reporting/report_reminders_forget_ahead.sql). */
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params forget;
    db_params_init(&forget);
    db_param_text(&forget, operation->domain);
    db_param_text(&forget, today);
    if (!operation_command(operation, "SELECT report_reminders_forget_ahead($1, $2::date)",
                           &forget, &outcome))
        return outcome;
    if (!operation_read(operation, true, &outcome))
        return outcome;
    operation->unit_id = operation->request->principal.unit_id;
    return operation->found ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps put_steps = {
    .action = "update", .check = check_period,
    .invalid_detail = "The report period is invalid.", .write = put_period,
    .change = "update", .status = 200, .quiet_refusals = true};

void handle_report_period_put(struct request *request)
{
    const char *key = route_param(&request->match, "key");
    struct operation operation = {.domain = (void *)key};
    if (!reporting_begin(&operation, request, &period_resource, &put_steps, false))
        return;
    if (!report_period_key_valid(key)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such report period.");
        return;
    }
    if ((operation.body = request_json_body(request)) == NULL)
        return;
    operation_run(&operation);
    json_decref(operation.body);
}
