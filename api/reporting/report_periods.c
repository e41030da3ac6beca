/* Report periods of a plan year: GET /v1/report-periods?year=,
 * GET /v1/report-periods/{key} and PUT /v1/report-periods/{key} (If-Match)
 * to move a period's cut-off or due date.  Periods are not personal data:
 * reads are not audited; changes are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/handlers.h"
#include "json.h"
#include "operation/legacy.h"

bool report_period_key_valid(const char *key)
{
    size_t length = strlen(key);
    for (size_t i = 0; i < 4 && i < length; i++)
        if (key[i] < '0' || key[i] > '9')
            return false;
    return length == 4 || (length == 6 && strcmp(key + 4, "S1") == 0);
}

struct period_operation {
    struct request *request;
    const char *key;
    const char *year;
    json_t *body;
    long long if_match;
    char *document;
    long long version;
};

static bool read_period(struct period_operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->key);
    PGresult *result = registry_query(operation->request,
                                      "SELECT p.version, report_period_document(p)::text "
                                      "  FROM report_periods p WHERE p.key = $1",
                                      &params, outcome);
    if (result == NULL)
        return false;
    bool found = PQntuples(result) == 1;
    if (found) {
        operation->version = db_integer(result, 0, 0);
        free(operation->document);
        operation->document = strdup(db_text(result, 0, 1));
    }
    PQclear(result);
    return found;
}

static void answer_period(struct period_operation *operation, enum db_outcome outcome)
{
    reply_record(operation->request, outcome, &operation->document, 200, operation->version,
                 NULL);
    free(operation->document);
}

static enum db_outcome list_periods(PGconn *connection, void *context)
{
    (void)connection;
    struct period_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->year);
    PGresult *result = registry_query(
        operation->request,
        "SELECT json_build_object('items', coalesce(json_agg(report_period_document(p) "
        "         ORDER BY p.due_on), '[]'), 'next_cursor', NULL)::text "
        "  FROM report_periods p WHERE $1::smallint IS NULL OR p.year = $1::smallint",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    operation->document = strdup(db_text(result, 0, 0));
    PQclear(result);
    return DB_COMMIT;
}

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
    struct period_operation operation = {.request = request, .year = year};
    reply_record(request, db_transaction(request->database, list_periods, &operation),
                 &operation.document, 200, 0, NULL);
    free(operation.document);
}

static enum db_outcome get_period(PGconn *connection, void *context)
{
    (void)connection;
    struct period_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (read_period(operation, &outcome))
        return DB_COMMIT;
    if (outcome == DB_COMMIT)
        reply_problem(operation->request, PROBLEM_NOT_FOUND, "No such report period.");
    return outcome == DB_COMMIT ? DB_ROLLBACK : outcome;
}

void handle_report_period_get(struct request *request)
{
    struct period_operation operation = {.request = request,
                                         .key = route_param(&request->match, "key")};
    answer_period(&operation, db_transaction(request->database, get_period, &operation));
}

static const struct json_field period_fields[] = {
    {.name = "covers_from", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "covers_to", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "due_on", .kind = JSON_FIELD_DATE, .required = true},
};

static enum db_outcome put_period(PGconn *connection, void *context)
{
    (void)connection;
    struct period_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    if (!read_period(operation, &outcome)) {
        if (outcome == DB_COMMIT)
            reply_problem(request, PROBLEM_NOT_FOUND, "No such report period.");
        return outcome == DB_COMMIT ? DB_ROLLBACK : outcome;
    }
    if (operation->if_match != operation->version) {
        reply_etag(request, operation->version);
        if (operation->if_match == 0)
            reply_problem(request, PROBLEM_PRECONDITION_REQUIRED,
                          "Send If-Match with the ETag of the version you last read.");
        else
            reply_problem(request, PROBLEM_PRECONDITION_FAILED,
                          "The period was changed since that version.");
        return DB_ROLLBACK;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->key);
    db_param_text(&params, json_member_string(operation->body, "covers_from"));
    db_param_text(&params, json_member_string(operation->body, "covers_to"));
    db_param_text(&params, json_member_string(operation->body, "due_on"));
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        request,
        "UPDATE report_periods SET covers_from = $2, covers_to = $3, due_on = $4, "
        "       version = version + 1, updated_at = $5 WHERE key = $1",
        &params, &outcome);
    PQclear(result);
    if (result == NULL || !read_period(operation, &outcome))
        return outcome == DB_COMMIT ? DB_FAILED : outcome;
    if (!audit_write(request, "update", "report_periods", NULL, request->principal.unit_id,
                     "success"))
        return DB_FAILED;
    return DB_COMMIT;
}

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

void handle_report_period_put(struct request *request)
{
    struct period_operation operation = {.request = request,
                                         .key = route_param(&request->match, "key"),
                                         .if_match = request_if_match(request)};
    if (operation.if_match < 0) {
        reply_problem(request, PROBLEM_PRECONDITION_FAILED, "If-Match is not a version.");
        return;
    }
    if (!report_period_key_valid(operation.key)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such report period.");
        return;
    }
    json_t *body = request_json_body(request);
    if (body == NULL)
        return;
    json_t *errors = json_array();
    if (json_check_fields(body, period_fields, sizeof period_fields / sizeof period_fields[0],
                          "", false, errors))
        check_period_dates(operation.key, body, errors);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The report period is invalid.",
                             errors);
    } else {
        json_decref(errors);
        operation.body = body;
        answer_period(&operation, db_transaction(request->database, put_period, &operation));
    }
    json_decref(body);
}
