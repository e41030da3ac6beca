/* GET /v1/cases: the cases in the caller's scope, filtered, a page at a
 * time in id order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "config.h"
#include "http/handlers.h"
#include "http/server.h"
#include "json.h"
#include "operation/scope.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500

struct case_list {
    const char *unit, *status, *concern, *overdue, *emergency, *cursor;
    bool assigned_to_me;
    long long limit;
};

/* Overdue: a deadline missed, or pending and past due, at "now". */
static const char list_sql[] =
    "WITH page AS (SELECT c.id, row_number() OVER (ORDER BY c.id) AS rank FROM cases c "
    "  WHERE ($2::bigint IS NULL OR c.unit_id IN (SELECT id FROM unit_subtree($2, $3))) "
    "    AND ($4::text IS NULL OR c.status = $4) "
    "    AND ($5::text IS NULL OR $5 = ANY (c.concerns)) "
    "    AND ($6::boolean IS NULL OR $6 = (c.status <> 'closed' AND EXISTS ( "
    "         SELECT 1 FROM case_deadlines d WHERE d.case_id = c.id "
    "            AND deadline_state(d.due_at, d.met_at, $1) = 'missed'))) "
    "    AND ($7::boolean IS NULL OR $7 = coalesce(c.serious_risk, false)) "
    "    AND ($8::uuid IS NULL OR c.assigned_to = $8::uuid) "
    "    AND ($9::uuid IS NULL OR c.id > $9::uuid) "
    "  ORDER BY c.id LIMIT $10 + 1) "
    "SELECT coalesce(json_agg(case_document(c, $1, true) ORDER BY c.id) "
    "         FILTER (WHERE p.rank <= $10), '[]')::text, "
    "       CASE WHEN count(*) > $10 THEN max(c.id::text) FILTER (WHERE p.rank <= $10) END, "
    "       coalesce(array_agg(c.id) FILTER (WHERE p.rank <= $10), '{}')::text "
    "  FROM page p JOIN cases c ON c.id = p.id";

static enum db_outcome list_cases(struct operation *operation)
{
    const struct case_list *list = ((struct case_context *)operation->domain)->more;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, list->unit, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    db_param_id(&params, unit_id);
    db_param_text(&params, today);
    db_param_text(&params, list->status);
    db_param_text(&params, list->concern);
    db_param_text(&params, list->overdue);
    db_param_text(&params, list->emergency);
    db_param_text(&params, list->assigned_to_me ? operation->request->principal.id : NULL);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, list->limit);
    PGresult *result = operation_query(operation, list_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_list(operation, result);
    operation->unit_id = unit_id; /* 0: the caller's unit */
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_cases, .status = 200, .replica = true};

static bool is_boolean_text(const char *text)
{
    return strcmp(text, "true") == 0 || strcmp(text, "false") == 0;
}

/* Reads the query; false after answering 400. */
static bool read_list_parameters(struct request *request, struct case_list *list)
{
    const char *assigned_to = request_query(request, "assigned_to");
    const char *limit = request_query(request, "limit");
    *list = (struct case_list){
        .unit = request_query(request, "unit"), .status = request_query(request, "status"),
        .concern = request_query(request, "concern"),
        .overdue = request_query(request, "overdue"),
        .emergency = request_query(request, "emergency"),
        .cursor = request_query(request, "cursor"), .assigned_to_me = assigned_to != NULL,
        .limit = LIST_DEFAULT_LIMIT};
    json_t *errors = json_array();
    if (list->status != NULL && case_status_parse(list->status) == STATUS_COUNT)
        problem_add_parameter_error(errors, "status", "is not a case status");
    if (list->concern != NULL && !case_name_known(case_concerns, list->concern))
        problem_add_parameter_error(errors, "concern", "is not a known concern");
    if (list->overdue != NULL && !is_boolean_text(list->overdue))
        problem_add_parameter_error(errors, "overdue", "must be true or false");
    if (list->emergency != NULL && !is_boolean_text(list->emergency))
        problem_add_parameter_error(errors, "emergency", "must be true or false");
    if (assigned_to != NULL && strcmp(assigned_to, "me") != 0)
        problem_add_parameter_error(errors, "assigned_to", "must be me");
    if (list->cursor != NULL && !json_is_uuid_text(list->cursor))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit != NULL && !config_parse_integer(limit, 1, LIST_MAX_LIMIT, &list->limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", LIST_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return false;
    }
    json_decref(errors);
    return true;
}

void handle_cases_list(struct request *request)
{
    struct case_list list;
    if (read_list_parameters(request, &list))
        cases_run(request, &case_resource, &list_steps, &list, true);
}
