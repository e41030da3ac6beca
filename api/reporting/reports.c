/* Commune reports of a period (báo cáo sơ kết 6 tháng, báo cáo tổng kết
 * năm): GET /v1/reports?period=&unit=, GET/PUT /v1/reports/{period}/{unit}
 * (the draft), POST …/submit, …/return and …/accept, and the district's
 * summary GET /v1/reports/{period}/summary?unit= (JSON or CSV).
 *
 * States: draft → submitted → accepted, or submitted → returned →
 * submitted.  A report may be submitted only once its period's cut-off day has
 * ended, and is on time when submitted before its due date ends, both in
 * Asia/Ho_Chi_Minh; submitting freezes the commune's indicator snapshot for
 * the period's cut-off into the report.  Row-level security
 * keeps a commune to its own reports; a unit outside the scope is 404.
 * Reports are aggregates, not personal data: reads are not audited, writes
 * and their refusals are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/spreadsheet.h"
#include "reporting/report_sheets.h"
#include "json.h"
#include "operation/lifecycle.h"
#include "operation/scope.h"
#include "reporting/reporting.h"

/* One request's report: named by period and commune code, not by an id. */
struct report {
    const char *period;
    const char *unit_code;
    char covers_to[CLOCK_DATE_SIZE]; /* the period's cut-off */
    char due_on[CLOCK_DATE_SIZE];
    const char *status;              /* the report's state as read */
    char id[AUTH_UUID_SIZE];         /* its id, for the audit entries */
    bool commune_indicators;         /* the summary: each commune's figures too (.xlsx) */
};

/* The period's cut-off and due date; false (404 recorded) when it does not
 * exist. */
static bool enter_period(struct operation *operation, enum db_outcome *outcome)
{
    struct report *report = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->period);
    PGresult *result = operation_query(
        operation, "SELECT covers_to::text, due_on::text FROM report_periods WHERE key = $1",
        &params, outcome);
    if (result == NULL)
        return false;
    bool found = PQntuples(result) == 1;
    if (found) {
        snprintf(report->covers_to, sizeof report->covers_to, "%s", db_text(result, 0, 0));
        snprintf(report->due_on, sizeof report->due_on, "%s", db_text(result, 0, 1));
    }
    PQclear(result);
    if (!found)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such report period.");
    return found;
}

/* Period and commune (valid at the period's cut-off, in the caller's
 * scope) into operation->unit_id; false when the transaction must end. */
static bool enter_report(struct operation *operation, enum db_outcome *outcome)
{
    struct report *report = operation->domain;
    operation->id = NULL; /* of an attempt that was retried */
    if (!enter_period(operation, outcome))
        return false;
    operation->unit_id =
        scope_commune_id(operation, report->unit_code, report->covers_to, outcome);
    if (operation->unit_id < 0)
        return false;
    if (operation->unit_id == 0) {
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such commune in your scope.");
        return false;
    }
    return true;
}

/* The resource's read: the report of the period and commune entered. */
static bool read_report(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    struct report *report = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->period);
    db_param_integer(&params, operation->unit_id);
    PGresult *result = operation_query_record(
        operation,
        lock ? "SELECT r.version, report_document(r)::text, r.id, r.status FROM reports r "
               " WHERE r.period_key = $1 AND r.unit_id = $2 FOR UPDATE"
             : "SELECT r.version, report_document(r)::text, r.id, r.status FROM reports r "
               " WHERE r.period_key = $1 AND r.unit_id = $2",
        &params, 1, outcome);
    if (result == NULL)
        return false;
    if (operation->found) {
        static const char *const states[] = {"draft", "submitted", "returned", "accepted"};
        snprintf(report->id, sizeof report->id, "%s", db_text(result, 0, 2));
        operation->id = report->id;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            if (strcmp(states[i], db_text(result, 0, 3)) == 0)
                report->status = states[i];
    }
    PQclear(result);
    return true;
}

static void locate_report(const struct operation *operation, char *out, size_t size)
{
    const struct report *report = operation->domain;
    snprintf(out, size, "/v1/reports/%s/%s", report->period, report->unit_code);
}

static const struct resource report_resource = {
    .name = "report", .table = "reports", .document = "report_document(r)",
    .audit_type = "reports", .read = read_report, .locate = locate_report};

/* Enters the report and reads it (locked when the step writes); an absent
 * report is refused 404. */
static bool enter_existing(struct operation *operation, enum db_outcome *outcome)
{
    if (!enter_report(operation, outcome) ||
        !operation_read(operation, operation->steps->write != NULL, outcome))
        return false;
    if (!operation->found)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "This commune has no report for the period yet.");
    return operation->found;
}

/* Runs an UPDATE/INSERT of the report, then reads it back as the answer
 * (the lifecycle audits it). */
static enum db_outcome write_report(struct operation *operation, const char *sql,
                                    const struct db_params *params)
{
    enum db_outcome outcome = DB_COMMIT;
    PGresult *result = operation_query(operation, sql, params, &outcome);
    if (result == NULL)
        return outcome;
    PQclear(result);
    if (!operation_read(operation, true, &outcome))
        return outcome;
    return operation->found ? DB_COMMIT : DB_FAILED;
}

/* ---- GET ------------------------------------------------------------------- */

static enum db_outcome get_report(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    enter_existing(operation, &outcome);
    return outcome;
}

static const struct operation_steps get_steps = {
    .action = "read", .query = get_report, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

/* ---- the draft ------------------------------------------------------------ */

#define NARRATIVE_MAX 20000
#define COUNT_MAX 10000000

static const struct json_field report_fields[] = {
    {.name = "narrative", .kind = JSON_FIELD_OBJECT, .required = true},
    {.name = "activities", .kind = JSON_FIELD_OBJECT, .required = true},
};

/* kết quả đạt được; khó khăn, vướng mắc; đề xuất, kiến nghị */
static const struct json_field narrative_fields[] = {
    {.name = "results", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = NARRATIVE_MAX},
    {.name = "difficulties", .kind = JSON_FIELD_STRING, .nullable = true,
     .max_length = NARRATIVE_MAX},
    {.name = "proposals", .kind = JSON_FIELD_STRING, .nullable = true,
     .max_length = NARRATIVE_MAX},
};

#define COUNT_FIELD(field_name)                                                             \
    {.name = field_name, .kind = JSON_FIELD_INTEGER, .nullable = true, .minimum = 0,       \
     .maximum = COUNT_MAX}
static const struct json_field activity_fields[] = {
    COUNT_FIELD("school_year_gift_children"), /* quà khai giảng năm học */
    COUNT_FIELD("mid_autumn_gift_children"),  /* quà Trung thu */
    COUNT_FIELD("forum_participants"),        /* diễn đàn trẻ em */
    COUNT_FIELD("month_of_action_events"),    /* Tháng hành động vì trẻ em */
    COUNT_FIELD("communication_events"),      /* truyền thông */
};

static json_t *check_report(struct operation *operation)
{
    const json_t *body = operation->body;
    json_t *errors = json_array();
    if (!json_check_fields(body, report_fields, sizeof report_fields / sizeof report_fields[0],
                           "", false, errors))
        return errors;
    json_check_fields(json_object_get(body, "narrative"), narrative_fields,
                      sizeof narrative_fields / sizeof narrative_fields[0], "/narrative", false,
                      errors);
    json_check_fields(json_object_get(body, "activities"), activity_fields,
                      sizeof activity_fields / sizeof activity_fields[0], "/activities", false,
                      errors);
    return errors;
}

static bool editable(const char *status)
{
    return strcmp(status, "draft") == 0 || strcmp(status, "returned") == 0;
}

/* A save of a report that exists: If-Match, a state that may be edited,
 * then the new narrative and counts ($1..$5 as save_report binds them). */
static enum db_outcome update_draft(struct operation *operation, const struct db_params *params)
{
    const struct report *report = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!reporting_precondition(operation, &outcome))
        return outcome;
    if (!editable(report->status))
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "A submitted or accepted report is not edited; the district "
                                "may return it.");
    return write_report(operation,
                        "UPDATE reports SET narrative = jsonb_strip_nulls($3::jsonb), "
                        "       activities = jsonb_strip_nulls($4::jsonb), "
                        "       version = version + 1, updated_at = $5 "
                        " WHERE period_key = $1 AND unit_id = $2",
                        params);
}

/* The first save: creates the draft and reads it back (*created), unless
 * another request created it after this one read nothing (two first saves
 * at once: its INSERT committed while ours waited on the key).  Then the
 * report is read again, locked, and *created stays false: this save is a
 * later one and answers as such (428 or 412 with the current report), not
 * with the unique key's violation.  False when the transaction must end. */
static bool create_draft(struct operation *operation, const struct db_params *params,
                         bool *created, enum db_outcome *outcome)
{
    PGresult *result = operation_query(
        operation,
        "INSERT INTO reports (period_key, unit_id, narrative, activities, created_at, "
        "                     updated_at) "
        "VALUES ($1, $2, jsonb_strip_nulls($3::jsonb), jsonb_strip_nulls($4::jsonb), $5, $5) "
        "ON CONFLICT (period_key, unit_id) DO NOTHING RETURNING 1",
        params, outcome);
    if (result == NULL)
        return false;
    *created = PQntuples(result) == 1;
    PQclear(result);
    if (!operation_read(operation, true, outcome))
        return false;
    if (!operation->found)
        *outcome = DB_FAILED;
    return operation->found;
}

/* The first save creates the draft; later ones need If-Match, and so does a
 * first save that finds the draft created meanwhile. */
static enum db_outcome save_report(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_report(operation, &outcome) || !operation_read(operation, true, &outcome))
        return outcome;
    const struct report *report = operation->domain;
    char *narrative = json_dumps(json_object_get(operation->body, "narrative"), JSON_COMPACT);
    char *activities = json_dumps(json_object_get(operation->body, "activities"), JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->period);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, narrative);
    db_param_text(&params, activities);
    db_param_instant(&params, clock_now_us());
    /* Null members mean "not filled in": they are not stored. */
    bool created = false;
    if (operation->found || create_draft(operation, &params, &created, &outcome))
        outcome = created ? DB_COMMIT : update_draft(operation, &params);
    free(narrative);
    free(activities);
    operation->status = created ? 201 : 200;
    return outcome;
}

/* Audited as an update whether it creates or edits the draft. */
static const struct operation_steps put_steps = {
    .action = "update", .check = check_report, .invalid_detail = "The request is invalid.",
    .write = save_report, .change = "update", .status = 200};

/* ---- submission and review ---------------------------------------------- */

/* Enters the report for a transition: If-Match is optional, but when sent
 * it must be current. */
static bool enter_transition(struct operation *operation, enum db_outcome *outcome)
{
    return enter_existing(operation, outcome) &&
           (operation->if_match == 0 || reporting_precondition(operation, outcome));
}

/* The commune's indicator snapshot at the period's cut-off (the indicator
 * period named by the cut-off date), computed now by rollup_indicators for
 * just this unit and period and read back: JSON text the caller frees
 * ("null" if there is none), or NULL after a failure. */
static char *freeze_indicators(struct operation *operation, enum db_outcome *outcome)
{
    struct report *report = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->unit_code);
    db_param_text(&params, report->covers_to);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
        "SELECT rollup_indicators(jsonb_build_object('unit', $1::text, 'period', $2::text), $3)",
        &params, outcome);
    PQclear(result);
    if (result == NULL)
        return NULL;
    /* A statement of its own: a STABLE function sees only what earlier
     * statements wrote, not the rollup running in the same one. */
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, report->covers_to);
    result = operation_query(operation, "SELECT indicator_snapshot($1, $2)::text", &params,
                             outcome);
    if (result == NULL)
        return NULL;
    const char *snapshot = db_text(result, 0, 0);
    char *copy = strdup(snapshot != NULL ? snapshot : "null");
    PQclear(result);
    if (copy == NULL)
        *outcome = DB_FAILED;
    return copy;
}

static enum db_outcome submit_report(struct operation *operation)
{
    struct report *report = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_transition(operation, &outcome))
        return outcome;
    if (!editable(report->status))
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "Only a draft or a returned report can be submitted.");
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    /* Submitting freezes the figures of the cut-off day: until that day has
     * ended they would miss what is still to come in it and after today, and
     * an early submission would count as on time with them.  The draft may
     * be saved meanwhile. */
    if (strcmp(today, report->covers_to) <= 0)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "The %s report cannot be submitted before its cut-off day "
                                "%s has ended (Asia/Ho_Chi_Minh): the figures it freezes "
                                "would be incomplete. Save the draft until then.",
                                report->period, report->covers_to);
    char *indicators = freeze_indicators(operation, &outcome);
    if (indicators == NULL)
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->period);
    db_param_integer(&params, operation->unit_id);
    db_param_instant(&params, clock_now_us());
    db_param_bool(&params, strcmp(today, report->due_on) <= 0);
    db_param_text(&params, indicators);
    outcome = write_report(
        operation,
        "UPDATE reports SET status = 'submitted', submitted_at = $3, on_time = $4, "
        "       first_submitted_at = coalesce(first_submitted_at, $3), "
        "       submissions = submissions + 1, indicators = $5::jsonb, "
        "       version = version + 1, updated_at = $3 "
        " WHERE period_key = $1 AND unit_id = $2",
        &params);
    free(indicators);
    return outcome;
}

static const struct json_field return_fields[] = {
    {.name = "reason", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 2000},
};

static json_t *check_return(struct operation *operation)
{
    json_t *errors = json_array();
    json_check_fields(operation->body, return_fields,
                      sizeof return_fields / sizeof return_fields[0], "", false, errors);
    return errors;
}

/* Returns (with the body's reason) or accepts a submitted report. */
static enum db_outcome review_report(struct operation *operation, bool accept)
{
    struct report *report = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_transition(operation, &outcome))
        return outcome;
    if (strcmp(report->status, "submitted") != 0)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                                "Only a submitted report can be returned or accepted.");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, report->period);
    db_param_integer(&params, operation->unit_id);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, operation->request->principal.username);
    if (accept)
        return write_report(operation,
                            "UPDATE reports SET status = 'accepted', accepted_at = $3, "
                            "       reviewed_by = $4, version = version + 1, updated_at = $3 "
                            " WHERE period_key = $1 AND unit_id = $2",
                            &params);
    db_param_text(&params, json_member_string(operation->body, "reason"));
    return write_report(operation,
                        "UPDATE reports SET status = 'returned', returned_reason = $5, "
                        "       returned_at = $3, reviewed_by = $4, version = version + 1, "
                        "       updated_at = $3 WHERE period_key = $1 AND unit_id = $2",
                        &params);
}

static enum db_outcome return_report(struct operation *operation)
{
    return review_report(operation, false);
}

static enum db_outcome accept_report(struct operation *operation)
{
    return review_report(operation, true);
}

static const struct operation_steps submit_steps = {
    .action = "update", .write = submit_report, .change = "update", .status = 200};
static const struct operation_steps return_steps = {
    .action = "update", .check = check_return, .invalid_detail = "The request is invalid.",
    .write = return_report, .change = "update", .status = 200};
static const struct operation_steps accept_steps = {
    .action = "update", .write = accept_report, .change = "update", .status = 200};

/* ---- the handlers ------------------------------------------------------------ */

static void run(struct request *request, const struct operation_steps *steps, bool body)
{
    struct report report = {.period = route_param(&request->match, "period"),
                            .unit_code = route_param(&request->match, "unit")};
    struct operation operation = {.domain = &report};
    if (reporting_begin(&operation, request, &report_resource, steps, body))
        operation_run(&operation);
    json_decref(operation.body);
}

void handle_report_get(struct request *request)
{
    run(request, &get_steps, false);
}

void handle_report_put(struct request *request)
{
    run(request, &put_steps, true);
}

void handle_report_submit(struct request *request)
{
    run(request, &submit_steps, false);
}

void handle_report_return(struct request *request)
{
    run(request, &return_steps, true);
}

void handle_report_accept(struct request *request)
{
    run(request, &accept_steps, false);
}

/* ---- list ------------------------------------------------------------------ */

struct report_list {
    const char *period;
    const char *unit;
};

/* A list's ?unit= names a unit of some period's tree in the caller's scope
 * (870 for 2020 after the reorganisation, 82 for 2026); false (after a 404,
 * as for an absent record) when it names none. */
static bool list_unit_known(struct operation *operation, const char *code,
                            enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, code);
    PGresult *result = operation_query(
        operation,
        "SELECT EXISTS (SELECT 1 FROM units u WHERE u.code = $1 "
        "                  AND u.id IN (SELECT id FROM scope_units()))",
        &params, outcome);
    if (result == NULL)
        return false;
    bool known = db_bool(result, 0, 0);
    PQclear(result);
    if (!known)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such unit in your scope.");
    return known;
}

/* The reports of a period, or all; with ?unit=, those under the unit with
 * that code in the tree valid on each period's cut-off (as indicators and
 * summaries resolve it): a 2020 report stays under 870 after the
 * reorganisation of 2025, a 2026 report is under 82. */
static enum db_outcome list_reports(struct operation *operation)
{
    struct report_list *list = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (list->unit != NULL && !list_unit_known(operation, list->unit, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, list->period);
    db_param_text(&params, list->unit);
    return operation_query_document(
        operation,
        "SELECT json_build_object('items', coalesce(json_agg(report_document(r) "
        "         ORDER BY p.due_on, u.code), '[]'), 'next_cursor', NULL)::text "
        "  FROM reports r JOIN report_periods p ON p.key = r.period_key "
        "  JOIN units u ON u.id = r.unit_id "
        " WHERE ($1::text IS NULL OR r.period_key = $1) "
        "   AND ($2::text IS NULL OR r.unit_id IN ( "
        "        SELECT s.id FROM units f CROSS JOIN LATERAL unit_subtree(f.id, p.covers_to) s "
        "         WHERE f.code = $2 AND f.id IN (SELECT id FROM scope_units()) "
        "           AND f.valid_from <= p.covers_to "
        "           AND (f.valid_to IS NULL OR f.valid_to >= p.covers_to)))", &params);
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_reports, .status = 200, .quiet_read = true,
    .quiet_refusals = true, .replica = true};

void handle_reports_list(struct request *request)
{
    struct report_list list = {.period = request_query(request, "period"),
                               .unit = request_query(request, "unit")};
    if (list.period != NULL && !report_period_key_valid(list.period)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "period", "must be a period key like 2020S1");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    struct operation operation = {.domain = &list};
    if (operation_begin(&operation, request, &report_resource, &list_steps, false))
        operation_run(&operation);
}

/* ---- summary --------------------------------------------------------------- */

/* Completeness and timeliness of the communes under a unit, the communes
 * not yet reported, and the district aggregate of the indicator snapshots
 * frozen in the reports submitted: per indicator code, numerators and
 * denominators summed and rates recomputed from the sums (per mille, round
 * half up, as the indicators compute them), never averaged; each rate beside
 * the summary unit's own target (plan_unit_target: its own, else the plan's)
 * and its status at the cut-off.  Each commune's frozen items carry its own
 * target already (the rollup's). */
static const char summary_sql[] =
    "WITH expected AS (SELECT * FROM expected_communes($1, $2::date)), "
    "rows AS (SELECT e.code, e.name, r.status, r.submitted_at, r.on_time, r.accepted_at, "
    "                r.indicators, coalesce(r.status IN ('submitted', 'accepted'), false) "
    "                  AS reported "
    "           FROM expected e LEFT JOIN reports r "
    "             ON r.unit_id = e.id AND r.period_key = $3), "
    "items AS (SELECT i.item ->> 'code' AS code, i.item ->> 'scale' AS scale, "
    "                 min(i.position) AS position, count(*) AS reports, "
    "                 sum((i.item ->> 'numerator')::bigint)::bigint AS numerator, "
    "                 sum((i.item ->> 'denominator')::bigint)::bigint AS denominator "
    "            FROM rows CROSS JOIN LATERAL jsonb_array_elements( "
    "                   CASE WHEN jsonb_typeof(rows.indicators -> 'items') = 'array' "
    "                        THEN rows.indicators -> 'items' ELSE '[]' END) "
    "                   WITH ORDINALITY AS i (item, position) "
    "           WHERE rows.reported GROUP BY 1, 2) "
    "SELECT json_build_object( "
    "  'period', $3::text, 'unit', $4::text, 'cut_off', $2::text, "
    "  'expected', count(*), "
    "  'submitted', count(*) FILTER (WHERE reported), "
    "  'on_time', count(*) FILTER (WHERE reported AND on_time), "
    "  'accepted', count(*) FILTER (WHERE status = 'accepted'), "
    "  'completeness_percent', CASE WHEN count(*) > 0 THEN round(100.0 * count(*) "
    "       FILTER (WHERE reported) / count(*), 1) END, "
    "  'timeliness_percent', CASE WHEN count(*) > 0 THEN round(100.0 * count(*) "
    "       FILTER (WHERE reported AND on_time) / count(*), 1) END, "
    "  'not_reported', coalesce(json_agg(json_build_object('unit', code, 'unit_name', name, "
    "       'status', status) ORDER BY code) FILTER (WHERE NOT reported), '[]'), "
    "  'communes', coalesce(json_agg(json_build_object('unit', code, 'unit_name', name, "
    "       'status', status, 'submitted_at', rfc3339(submitted_at), "
    "       'on_time', CASE WHEN reported THEN on_time END, "
    "       'accepted_at', rfc3339(accepted_at)) ORDER BY code), '[]'), "
    "  'indicators', (SELECT coalesce(json_agg(json_build_object( "
    "       'code', code, 'scale', scale, 'reports', reports, 'numerator', numerator, "
    "       'denominator', denominator, "
    "       'value', CASE WHEN scale <> 'per_mille' THEN numerator "
    "                     WHEN denominator > 0 "
    "                     THEN (2000 * numerator + denominator) / (2 * denominator) END, "
    "       'target', target, "
    "       'status', indicator_status(numerator, denominator, target ->> 'comparator', "
    "                                  (target ->> 'numerator')::bigint, "
    "                                  (target ->> 'denominator')::bigint, 1, 1, true)) "
    "       ORDER BY position, code), '[]') "
    "     FROM (SELECT items.*, plan_unit_target(p.year, items.code, $1) AS target "
    "             FROM items LEFT JOIN report_periods p ON p.key = $3) targeted))::text "
    "  FROM rows";

/* For the spreadsheet: each expected commune's figures as its report froze
 * them on submission ({code: items}, null before one). */
static const char commune_indicators_sql[] =
    "SELECT coalesce(json_object_agg(e.code, r.indicators -> 'items'), '{}')::text "
    "  FROM expected_communes($1, $2::date) e LEFT JOIN reports r "
    "    ON r.unit_id = e.id AND r.period_key = $3 AND r.status IN ('submitted', 'accepted')";

static enum db_outcome read_summary(struct operation *operation)
{
    struct report *report = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_period(operation, &outcome))
        return outcome;
    /* The unit in the tree valid on the period's cut-off, as indicators
     * resolve it: 2020's summary of 870 after the reorganisation of 2025. */
    operation->unit_id =
        scope_unit_id_on(operation, report->unit_code, report->covers_to, &outcome);
    if (operation->unit_id < 0)
        return outcome;
    if (operation->unit_id == 0)
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                "No such unit in your scope.");
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, report->covers_to);
    db_param_text(&params, report->period);
    db_param_text(&params, report->unit_code);
    PGresult *result = operation_query(operation, summary_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    /* Through jansson, as the answer always was (its numbers' form). */
    json_t *summary = json_loads(db_text(result, 0, 0), JSON_DECODE_ANY, NULL);
    PQclear(result);
    if (report->commune_indicators && summary != NULL) {
        params.count = 3; /* the unit, the cut-off, the period */
        result = operation_query(operation, commune_indicators_sql, &params, &outcome);
        if (result == NULL) {
            json_decref(summary);
            return outcome;
        }
        json_object_set_new(summary, "commune_indicators",
                            json_loads(db_text(result, 0, 0), JSON_DECODE_ANY, NULL));
        PQclear(result);
    }
    return operation_keep_json(operation, summary) ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps summary_steps = {
    .action = "read", .query = read_summary, .status = 200, .quiet_read = true,
    .quiet_refusals = true, .replica = true};

void handle_report_summary(struct request *request)
{
    const char *unit = request_query(request, "unit");
    bool xlsx = request_wants_xlsx(request);
    struct report report = {.period = route_param(&request->match, "period"),
                            .unit_code = unit != NULL ? unit : request->principal.unit_code,
                            .commune_indicators = xlsx};
    struct operation operation = {.domain = &report};
    if (!operation_begin(&operation, request, &report_resource, &summary_steps, false))
        return;
    enum db_outcome outcome = operation_execute(&operation);
    if (outcome != DB_COMMIT || (!xlsx && !request_wants_csv(request))) {
        operation_answer(&operation, outcome);
        return;
    }
    json_t *summary = json_loads(operation.document, 0, NULL);
    free(operation.document);
    operation.document = NULL;
    if (summary == NULL)
        reply_problem(request, PROBLEM_INTERNAL, "The summary could not be read.");
    else if (xlsx)
        report_summary_xlsx(request, summary);
    else
        report_summary_csv(request, summary);
    json_decref(summary);
}
