/* Indicators of the plan: GET /v1/indicators (the latest snapshot of a unit
 * and period), GET /v1/indicators/{code} (the history of one indicator) and
 * POST /v1/indicators/recompute (queues the rollup job).
 *
 * The figures are computed by the job rollup_indicators (SQL, migration
 * 0008), never by a request: a read only fetches a stored snapshot, so it
 * costs the same whatever the size of the registry.  Snapshots are
 * aggregates, not personal data, so reads are not audited; they are still
 * scoped: a unit outside the caller's scope is answered 404 like a unit
 * that does not exist.  The scope is the caller's subtree in the tree valid
 * at the period's end (the 2020 tree for 2020), the tree the figures were
 * rolled up in. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "reporting/reporting.h"

/* The indicator codes, as rollup_indicators() names them (0008). */
static const char *const indicator_codes[] = {
    "children_total", "csc_total", "csc_rate", "csc_supported", "csc_supported_rate",
    "at_risk_total", "abused_children", "cases_opened", "cases_closed", "cases_open",
    "emergency_cases", "emergency_deadline_met_rate", "plan_on_time_rate", "fund_target_vnd",
    "fund_pledged_vnd", "fund_raised_vnd", "fund_raised_rate", NULL};

static bool is_indicator_code(const char *code)
{
    for (size_t i = 0; indicator_codes[i] != NULL; i++)
        if (strcmp(indicator_codes[i], code) == 0)
            return true;
    return false;
}

/* A unit code: 2 to 5 digits (GSO). */
static bool is_unit_code(const char *text)
{
    size_t length = strlen(text);
    if (length < 2 || length > 5)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

/* A period key: a plan year "2020", its first half "2020S1", or a report
 * period's cut-off "2020-04-30". */
static bool is_period_key(const char *text)
{
    struct civil_date date;
    size_t length = strlen(text);
    bool year = length >= 4 && text[0] >= '1' && text[0] <= '9' && text[1] >= '0' &&
                text[1] <= '9' && text[2] >= '0' && text[2] <= '9' && text[3] >= '0' &&
                text[3] <= '9';
    return (year && length == 4) || (year && length == 6 && strcmp(text + 4, "S1") == 0) ||
           date_parse(text, &date);
}

/* The ?unit= parameter, or the caller's own unit when absent. */
static const char *unit_parameter(struct request *request, json_t *errors)
{
    const char *unit = request_query(request, "unit");
    if (unit == NULL)
        return request->principal.unit_code;
    if (!is_unit_code(unit))
        problem_add_parameter_error(errors, "unit", "must be a unit code of 2 to 5 digits");
    return unit;
}

static const char *period_parameter(struct request *request, bool required, json_t *errors)
{
    const char *period = request_query(request, "period");
    if (period == NULL && required)
        problem_add_parameter_error(errors, "period",
                                    "is required: a plan year (2020), its first half (2020S1) "
                                    "or a report cut-off date (2020-04-30)");
    else if (period != NULL && !is_period_key(period))
        problem_add_parameter_error(errors, "period",
                                    "must be a plan year (2020), its first half (2020S1) or a "
                                    "report cut-off date (2020-04-30)");
    return period;
}

/* Answers 400 with the collected errors (and returns false), or frees them. */
static bool parameters_valid(struct request *request, json_t *errors)
{
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return false;
    }
    json_decref(errors);
    return true;
}

/* Snapshots are aggregates, not personal data: neither reads nor their
 * refusals are audited. */
static const struct resource indicators_resource = {.name = "indicators",
                                                    .audit_type = "indicators"};

/* One read of the figures: its statement and parameters, set by the
 * handler; the statement's first columns say whether the period exists and
 * the unit's id in scope (NULL: none), the third is the answer; a fourth,
 * when there is one, whether the period's year has a plan. */
struct indicators_read {
    const char *sql;
    struct db_params params;
    const char *unit, *period;
    bool snapshot; /* a NULL answer is "not computed yet" rather than empty */
};

static enum db_outcome read_indicators(struct operation *operation)
{
    struct indicators_read *read = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    PGresult *result = operation_query(operation, read->sql, &read->params, &outcome);
    if (result == NULL)
        return outcome;
    const char *answer = db_text(result, 0, 2);
    if (read->period != NULL && PQnfields(result) > 3 && !db_bool(result, 0, 3))
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, NULL,
                                   "No plan for %.4s, so no period %s: PUT /v1/plans/%.4s "
                                   "creates the year's plan and its report periods.",
                                   read->period, read->period, read->period);
    else if (read->period != NULL && !db_bool(result, 0, 0))
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, NULL,
                                   "No period %s: periods are the plan years, their first "
                                   "halves and the report periods' cut-off dates.",
                                   read->period);
    else if (db_text(result, 0, 1) == NULL)
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, NULL,
                                   "No such unit in your scope.");
    else if (answer == NULL && read->snapshot)
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, NULL,
                                   "No indicators have been computed for unit %s and period "
                                   "%s yet: the rollup runs every 10 minutes and after "
                                   "changes, or ask for one with POST "
                                   "/v1/indicators/recompute.",
                                   read->unit, read->period);
    else if (!operation_keep_document(operation, answer))
        outcome = DB_FAILED;
    PQclear(result);
    return outcome;
}

static const struct operation_steps read_steps = {
    .action = "read", .query = read_indicators, .status = 200, .quiet_read = true,
    .quiet_refusals = true, .replica = true};

static void run_read(struct request *request, struct indicators_read *read)
{
    struct operation operation = {.domain = read};
    if (operation_begin(&operation, request, &indicators_resource, &read_steps, false))
        operation_run(&operation);
}

/* ---- GET /v1/indicators ---------------------------------------------------- */

void handle_indicators_get(struct request *request)
{
    json_t *errors = json_array();
    const char *unit = unit_parameter(request, errors);
    const char *period = period_parameter(request, true, errors);
    if (!parameters_valid(request, errors))
        return;
    struct indicators_read read = {.unit = unit, .period = period, .snapshot = true};
    db_params_init(&read.params);
    db_param_text(&read.params, unit);
    db_param_text(&read.params, period);
    db_param_integer(&read.params, request->principal.unit_id);
    char today[CLOCK_DATE_SIZE];
    date_format(clock_today(), today);
    db_param_text(&read.params, today);
    read.sql =
        "WITH p AS (SELECT * FROM indicator_periods() WHERE key = $2), "
        "     u AS (SELECT u.id FROM units u JOIN p ON u.valid_from <= p.ends_on "
        "                  AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on) "
        "            WHERE u.code = $1 "
        "              AND u.id IN (SELECT s.id FROM p, scope_subtree($3, $4, p.ends_on) s)) "
        "SELECT EXISTS (SELECT FROM p), (SELECT id FROM u), "
        "       indicator_snapshot((SELECT id FROM u), $2)::text, "
        "       EXISTS (SELECT FROM plans WHERE year::text = left($2, 4))";
    run_read(request, &read);
}

/* ---- GET /v1/indicators/{code} ---------------------------------------------- */

/* ?from= / ?to=: a date, or NULL. */
static const char *date_parameter(struct request *request, const char *name, json_t *errors)
{
    const char *text = request_query(request, name);
    struct civil_date date;
    if (text != NULL && !date_parse(text, &date))
        problem_add_parameter_error(errors, name, "must be a real date YYYY-MM-DD");
    return text;
}

void handle_indicator_series(struct request *request)
{
    const char *code = route_param(&request->match, "code");
    if (!is_indicator_code(code)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such indicator.");
        return;
    }
    json_t *errors = json_array();
    const char *unit = unit_parameter(request, errors);
    const char *period = period_parameter(request, false, errors);
    const char *from = date_parameter(request, "from", errors);
    const char *to = date_parameter(request, "to", errors);
    if (from != NULL && to != NULL && json_array_size(errors) == 0 && strcmp(from, to) > 0)
        problem_add_parameter_error(errors, "to", "must not be before from");
    if (!parameters_valid(request, errors))
        return;
    char today[CLOCK_DATE_SIZE];
    date_format(clock_today(), today);
    struct indicators_read read = {.unit = unit, .period = period};
    struct db_params *params = &read.params;
    db_params_init(params);
    db_param_text(params, unit);
    db_param_text(params, period);
    db_param_text(params, code);
    db_param_text(params, from);
    db_param_text(params, to);
    db_param_text(params, today);
    db_param_integer(params, request->principal.unit_id);
    /* The unit is the one with the code valid at the period's end, or, for
     * every period, on `to` (today by default).  An entry is a snapshot in
     * which this indicator differs from the previous snapshot of the same
     * period (snapshots are written when any indicator changes). */
    read.sql =
        "WITH p AS (SELECT * FROM indicator_periods() WHERE $2::text IS NULL OR key = $2), "
        "     d AS (SELECT CASE WHEN $2::text IS NOT NULL THEN (SELECT ends_on FROM p) "
        "                       ELSE coalesce($5::date, $6::date) END AS on_day), "
        "     u AS (SELECT u.id, u.code FROM units u JOIN d ON u.valid_from <= d.on_day "
        "                  AND (u.valid_to IS NULL OR u.valid_to >= d.on_day) "
        "            WHERE u.code = $1 "
        "              AND u.id IN (SELECT s.id FROM d, scope_subtree($7, $6, d.on_day) s)), "
        "     entries AS ("
        "       SELECT p.ends_on, s.period, s.computed_at, x.item, "
        "              lag(x.item) OVER (PARTITION BY s.period ORDER BY s.computed_at) AS previous "
        "         FROM indicator_snapshots s JOIN u ON u.id = s.unit_id "
        "         JOIN p ON p.key = s.period "
        "        CROSS JOIN LATERAL (SELECT e AS item "
        "                              FROM jsonb_array_elements("
        "                                     indicator_document(s, s.computed_at) -> 'items') e "
        "                             WHERE e->>'code' = $3) x "
        "        WHERE ($4::date IS NULL "
        "               OR (s.computed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date >= $4::date) "
        "          AND ($5::date IS NULL "
        "               OR (s.computed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= $5::date)) "
        "SELECT EXISTS (SELECT FROM p), (SELECT id FROM u), "
        "       json_build_object('unit', $1::text, 'code', $3::text, 'items', "
        "         (SELECT coalesce(json_agg((e.item - 'code') || jsonb_build_object("
        "                    'period', e.period, 'computed_at', rfc3339(e.computed_at)) "
        "                  ORDER BY e.ends_on, e.period, e.computed_at), '[]') "
        "            FROM entries e WHERE e.previous IS DISTINCT FROM e.item))::text";
    run_read(request, &read);
}

/* ---- POST /v1/indicators/recompute ------------------------------------------- */

static enum db_outcome queue_rollup(struct operation *operation)
{
    /* One waiting rollup at a time: asking again while one waits returns
     * that job (the unique key). */
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation, "SELECT job_enqueue('rollup_indicators', 'rollup_indicators', '{}', $1, $1)",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_json(operation, json_pack("{s:s}", "job_id", db_text(result, 0, 0)));
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

/* Queuing a job writes no record of the registry: nothing for the feed or
 * the audit log. */
static const struct operation_steps recompute_steps = {
    .action = "create", .write = queue_rollup, .status = 202};

void handle_indicators_recompute(struct request *request)
{
    operation_handle(request, &indicators_resource, &recompute_steps);
}
