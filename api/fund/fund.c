/* What every fund resource shares: the resources themselves, reading one,
 * listing, creating, answering, preconditions and the checks of dates and
 * earmarks.  See fund.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fund/fund.h"
#include "http/server.h"
#include "operation/scope.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define SQL_SIZE 4096

static const char *const pledge_statuses[] = {"pending", "in_progress", "completed", "overdue",
                                              "cancelled", NULL};
static const char *const payment_statuses[] = {"applied", "overpaid", "donation", "voided",
                                               NULL};
static const char *const disbursement_statuses[] = {"general", "earmarked", NULL};

const struct fund_filters fund_donor_filters = {
    .year_filter = "(EXISTS (SELECT 1 FROM fund_pledges p WHERE p.donor_id = r.id "
                   "AND p.year = $3) OR EXISTS (SELECT 1 FROM fund_payments p "
                   "WHERE p.donor_id = r.id AND p.year = $3))"};
const struct fund_filters fund_pledge_filters = {
    .year_filter = "r.year = $3", .status_filter = "fund_pledge_status(r, t.today) = $4",
    .statuses = pledge_statuses};
const struct fund_filters fund_payment_filters = {
    .year_filter = "r.year = $3",
    .status_filter = "CASE WHEN r.voided_on IS NOT NULL THEN 'voided' "
                     "WHEN r.pledge_id IS NULL THEN 'donation' "
                     "WHEN r.overpaid_vnd > 0 THEN 'overpaid' ELSE 'applied' END = $4",
    .statuses = payment_statuses};
const struct fund_filters fund_disbursement_filters = {
    .year_filter = "r.year = $3",
    .status_filter = "CASE WHEN r.earmarked THEN 'earmarked' ELSE 'general' END = $4",
    .statuses = disbursement_statuses};

const struct resource fund_donors = {
    .name = "donor", .table = "fund_donors", .document = "fund_donor_document(r)",
    .audit_type = "fund_donors", .feed_type = "fund", .feed_kind = "donor",
    .path = "/v1/fund/donors/%s"};
const struct resource fund_pledges = {
    .name = "pledge", .table = "fund_pledges", .document = "fund_pledge_document(r, t.today)",
    .audit_type = "fund_pledges", .feed_type = "fund", .feed_kind = "pledge",
    .path = "/v1/fund/pledges/%s"};
const struct resource fund_payments = {
    .name = "payment", .table = "fund_payments", .document = "fund_payment_document(r)",
    .audit_type = "fund_payments", .feed_type = "fund", .feed_kind = "payment",
    .path = "/v1/fund/payments/%s"};
const struct resource fund_disbursements = {
    .name = "disbursement", .table = "fund_disbursements",
    .document = "fund_disbursement_document(r)", .audit_type = "fund_disbursements",
    .feed_type = "fund", .feed_kind = "disbursement", .path = "/v1/fund/disbursements/%s"};

/* ---- shared ---------------------------------------------------------------- */

long long fund_resolve_unit(struct operation *operation, const char *code,
                            enum db_outcome *outcome)
{
    long long unit_id = scope_unit_id(operation, code, outcome);
    if (unit_id == 0) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/unit", "must be a unit valid today within your scope");
        *outcome = operation_refuse_invalid(operation, errors, "The unit is not yours.");
    }
    return unit_id;
}

bool fund_require_visible(struct operation *operation, const char *table, const char *id,
                          const char *what, enum db_outcome *outcome)
{
    if (id == NULL)
        return true;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = $1::uuid", table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    PGresult *result = operation_query(operation, sql, &params, outcome);
    if (result == NULL)
        return false;
    bool visible = PQntuples(result) == 1;
    PQclear(result);
    if (!visible) {
        /* Nothing was created: the refusal's audit entry names what was
         * asked for, not the new record's id. */
        operation->id = id;
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such %s.",
                                    what);
    }
    return visible;
}

/* Whether the child is one of the unit's books: registered in the unit or a
 * unit under it in today's tree.  No row: not visible (row-level security)
 * or deleted, gone for the fund too as for every child route; false:
 * another unit's child. */
static const char child_of_unit_sql[] =
    "SELECT c.unit_id IN (SELECT id FROM unit_subtree($2::bigint, $3::date)) "
    "  FROM children c WHERE c.id = $1::uuid AND c.deleted_at IS NULL";

bool fund_require_child_of(struct operation *operation, long long unit_id, const char *child_id,
                           const char *pointer, enum db_outcome *outcome)
{
    if (child_id == NULL)
        return true;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, child_id);
    db_param_integer(&params, unit_id);
    db_param_text(&params, today);
    PGresult *result = operation_query(operation, child_of_unit_sql, &params, outcome);
    if (result == NULL)
        return false;
    bool visible = PQntuples(result) == 1, of_unit = visible && db_bool(result, 0, 0);
    PQclear(result);
    if (of_unit)
        return true;
    /* Nothing was created: the refusal's audit entry names the child asked
     * for, as fund_require_visible's does. */
    operation->id = child_id;
    if (!visible) {
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    } else {
        /* Visible but another commune's: money of one unit's books must not
         * go to (or be kept for) a child those books do not cover. */
        json_t *errors = json_array();
        problem_add_field_error(errors, pointer, "must be a child of the unit's books");
        *outcome = operation_refuse_invalid(operation, errors,
                                            "The child is not one of the unit's.");
    }
    return false;
}

void fund_check_not_future(const json_t *body, const char *name, json_t *errors)
{
    struct civil_date date;
    if (date_parse(json_member_string(body, name), &date) &&
        civil_compare(date, clock_today()) > 0) {
        char pointer[48];
        snprintf(pointer, sizeof pointer, "/%s", name);
        problem_add_field_error(errors, pointer, "must not be in the future");
    }
}

void fund_check_entry_date(const json_t *body, const char *name, json_t *errors)
{
    struct civil_date date;
    if (!date_parse(json_member_string(body, name), &date))
        return;
    /* The entry's year is this date's (fund_year_of), stored where a CHECK
     * allows the books' years only: outside them the insert would fail. */
    if (date.year < FUND_FIRST_YEAR || date.year > FUND_LAST_YEAR) {
        char pointer[48];
        snprintf(pointer, sizeof pointer, "/%s", name);
        problem_add_field_error(errors, pointer, "must be in the years %d to %d",
                                FUND_FIRST_YEAR, FUND_LAST_YEAR);
        return;
    }
    fund_check_not_future(body, name, errors);
}

int fund_year_of(const json_t *body, const char *name)
{
    struct civil_date date = {0, 1, 1};
    date_parse(json_member_string(body, name), &date);
    return date.year;
}

static const struct json_field earmark_fields[] = {
    {.name = "child_id", .kind = JSON_FIELD_UUID},
    {.name = "purpose", .kind = JSON_FIELD_STRING, .min_length = 1, .max_length = 200},
};

void fund_check_earmark(const json_t *earmark, const char *pointer, json_t *errors)
{
    if (!json_is_object(earmark))
        return;
    if (!json_check_fields(earmark, earmark_fields, 2, pointer, false, errors))
        return;
    if ((json_object_get(earmark, "child_id") != NULL) ==
        (json_object_get(earmark, "purpose") != NULL))
        problem_add_field_error(errors, pointer, "must name either child_id or purpose");
}

/* ---- the list ---------------------------------------------------------------- */

struct fund_list_query {
    const struct fund_filters *filters;
    const char *unit, *year, *status, *cursor;
    long long limit;
};

static enum db_outcome read_list(struct operation *operation)
{
    struct fund_list_query *list = operation->domain;
    const struct resource *resource = operation->resource;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, list->unit, &outcome);
    if (unit_id < 0)
        return outcome;
    char sql[SQL_SIZE], today[CLOCK_DATE_SIZE];
    operation_today(today);
    const char *year_filter = list->filters->year_filter, *status = list->filters->status_filter;
    snprintf(sql, sizeof sql,
             "WITH page AS (SELECT r.id, row_number() OVER (ORDER BY r.id) AS rank "
             "  FROM %s r, (SELECT $1::date AS today) t "
             " WHERE ($2::bigint IS NULL OR r.unit_id IN (SELECT id FROM unit_subtree($2, $1)))"
             "   AND ($3::integer IS NULL OR %s) AND ($4::text IS NULL OR %s) "
             "   AND ($5::uuid IS NULL OR r.id > $5::uuid) ORDER BY r.id LIMIT $6 + 1) "
             "SELECT coalesce(json_agg(%s ORDER BY r.id) FILTER (WHERE p.rank <= $6), "
             "                '[]')::text, "
             "       CASE WHEN count(*) > $6 THEN max(r.id::text) FILTER (WHERE p.rank <= $6) "
             "       END, coalesce(array_agg(r.id) FILTER (WHERE p.rank <= $6), '{}')::text "
             "  FROM page p JOIN %s r ON r.id = p.id, (SELECT $1::date AS today) t",
             resource->table, year_filter ? year_filter : "true", status ? status : "true",
             resource->document, resource->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, today);
    db_param_id(&params, unit_id);
    db_param_text(&params, list->year);
    db_param_text(&params, list->status);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, list->limit);
    PGresult *result = operation_query(operation, sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_list(operation, result);
    operation->unit_id = unit_id; /* without a filter: the caller's whole scope */
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static bool known_status(const struct fund_filters *filters, const char *status)
{
    for (size_t i = 0; filters->statuses != NULL && filters->statuses[i] != NULL; i++)
        if (strcmp(filters->statuses[i], status) == 0)
            return true;
    return false;
}

static bool read_list_parameters(struct request *request, const struct resource *resource,
                                 struct fund_list_query *list)
{
    const char *limit = request_query(request, "limit");
    long long year;
    json_t *errors = json_array();
    if (list->year != NULL &&
        !config_parse_integer(list->year, FUND_FIRST_YEAR, FUND_LAST_YEAR, &year))
        problem_add_parameter_error(errors, "year", "must be a year from %d to %d",
                                    FUND_FIRST_YEAR, FUND_LAST_YEAR);
    if (list->status != NULL && list->filters->statuses == NULL)
        problem_add_parameter_error(errors, "status", "%ss have no status", resource->name);
    else if (list->status != NULL && !known_status(list->filters, list->status))
        problem_add_parameter_error(errors, "status", "is not a %s status", resource->name);
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

static const struct operation_steps list_steps = {
    .action = "list", .query = read_list, .status = 200, .replica = true};

void fund_list(struct request *request, const struct resource *resource,
               const struct fund_filters *filters)
{
    struct fund_list_query list = {.filters = filters,
                                   .unit = request_query(request, "unit"),
                                   .year = request_query(request, "year"),
                                   .status = request_query(request, "status"),
                                   .cursor = request_query(request, "cursor"),
                                   .limit = LIST_DEFAULT_LIMIT};
    struct operation operation = {.domain = &list};
    if (read_list_parameters(request, resource, &list) &&
        operation_begin(&operation, request, resource, &list_steps, false))
        operation_run(&operation);
}
