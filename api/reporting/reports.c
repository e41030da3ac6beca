/* Commune reports of a period (báo cáo sơ kết 6 tháng, báo cáo tổng kết
 * năm): GET /v1/reports?period=&unit=, GET/PUT /v1/reports/{period}/{unit}
 * (the draft), POST …/submit, …/return and …/accept, and the district's
 * summary GET /v1/reports/{period}/summary?unit= (JSON or CSV).
 *
 * States: draft → submitted → accepted, or submitted → returned →
 * submitted.  A report is on time when it is submitted before its due date
 * ends in Asia/Ho_Chi_Minh; submitting freezes the commune's indicator
 * snapshot for the period's cut-off into the report.  Row-level security
 * keeps a commune to its own reports; a unit outside the scope is 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "http/handlers.h"
#include "json.h"
#include "operation/legacy.h"

enum report_action { REPORT_READ, REPORT_SAVE, REPORT_SUBMIT, REPORT_RETURN, REPORT_ACCEPT };

/* The audit log's actions: submitting and reviewing change the report. */
static const char *const action_names[] = {"read", "update", "update", "update", "update"};

struct report_operation {
    struct request *request;
    enum report_action action;
    const char *period;
    const char *unit_code;
    json_t *body;
    long long if_match;
    /* the period */
    char covers_to[CLOCK_DATE_SIZE];
    char due_on[CLOCK_DATE_SIZE];
    long long unit_id;
    /* the answer */
    unsigned status;
    char *document;
    long long version;
    char report_id[AUTH_UUID_SIZE];
    const char *refusal; /* audit outcome of a refusal */
};

/* The period's cut-off and due date; false (404 answered) when it does not
 * exist. */
static bool enter_period(struct report_operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->period);
    PGresult *result = registry_query(
        operation->request,
        "SELECT covers_to::text, due_on::text FROM report_periods WHERE key = $1", &params,
        outcome);
    if (result == NULL)
        return false;
    bool found = PQntuples(result) == 1;
    if (found) {
        snprintf(operation->covers_to, sizeof operation->covers_to, "%s",
                 db_text(result, 0, 0));
        snprintf(operation->due_on, sizeof operation->due_on, "%s", db_text(result, 0, 1));
    }
    PQclear(result);
    if (!found) {
        reply_problem(operation->request, PROBLEM_NOT_FOUND, "No such report period.");
        operation->refusal = "not_found";
        *outcome = DB_ROLLBACK;
    }
    return found;
}

/* Scope, period and commune (valid at the period's cut-off, in the
 * caller's scope); false when the transaction must end. */
static bool enter_report(struct report_operation *operation, enum db_outcome *outcome)
{
    if (!scope_enter(operation->request, outcome) || !enter_period(operation, outcome))
        return false;
    operation->unit_id =
        scope_commune(operation->request, operation->unit_code, operation->covers_to, outcome);
    if (operation->unit_id < 0)
        return false;
    if (operation->unit_id == 0) {
        reply_problem(operation->request, PROBLEM_NOT_FOUND, "No such commune in your scope.");
        operation->refusal = "not_found";
        *outcome = DB_ROLLBACK;
        return false;
    }
    return true;
}

/* Reads the report (locked for update when writing); *found tells whether
 * it exists. */
static bool read_report(struct report_operation *operation, bool *found, const char **status,
                        enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->period);
    db_param_integer(&params, operation->unit_id);
    PGresult *result = registry_query(
        operation->request,
        operation->action == REPORT_READ
            ? "SELECT r.version, report_document(r)::text, r.id, r.status FROM reports r "
              " WHERE r.period_key = $1 AND r.unit_id = $2"
            : "SELECT r.version, report_document(r)::text, r.id, r.status FROM reports r "
              " WHERE r.period_key = $1 AND r.unit_id = $2 FOR UPDATE",
        &params, outcome);
    if (result == NULL)
        return false;
    *found = PQntuples(result) == 1;
    if (*found) {
        operation->version = db_integer(result, 0, 0);
        free(operation->document);
        operation->document = strdup(db_text(result, 0, 1));
        snprintf(operation->report_id, sizeof operation->report_id, "%s",
                 db_text(result, 0, 2));
        static const char *const states[] = {"draft", "submitted", "returned", "accepted"};
        for (size_t i = 0; status != NULL && i < sizeof states / sizeof states[0]; i++)
            if (strcmp(states[i], db_text(result, 0, 3)) == 0)
                *status = states[i];
    }
    PQclear(result);
    return true;
}

static enum db_outcome refuse(struct report_operation *operation, enum problem_type type,
                              const char *refusal, const char *detail)
{
    reply_problem(operation->request, type, "%s", detail);
    operation->refusal = refusal;
    return DB_ROLLBACK;
}

/* 428 without If-Match when one is required; 412 (with the current ETag)
 * when it names another version. */
static bool report_precondition(struct report_operation *operation, bool required,
                                enum db_outcome *outcome)
{
    if (operation->if_match == operation->version || (!required && operation->if_match == 0))
        return true;
    reply_etag(operation->request, operation->version);
    *outcome = operation->if_match == 0
                   ? refuse(operation, PROBLEM_PRECONDITION_REQUIRED, "conflict",
                            "Send If-Match with the ETag of the version you last read.")
                   : refuse(operation, PROBLEM_PRECONDITION_FAILED, "conflict",
                            "The report was changed since that version.");
    return false;
}

static bool audit_report(struct report_operation *operation, enum db_outcome *outcome)
{
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", operation->report_id);
    if (audit_write(operation->request, action_names[operation->action], "reports", ids,
                    operation->unit_id, "success"))
        return true;
    *outcome = DB_FAILED;
    return false;
}

/* Runs an UPDATE/INSERT of the report, then reads it back and audits. */
static enum db_outcome write_report(struct report_operation *operation, const char *sql,
                                    const struct db_params *params)
{
    enum db_outcome outcome = DB_COMMIT;
    PGresult *result = registry_query(operation->request, sql, params, &outcome);
    if (result == NULL)
        return outcome;
    PQclear(result);
    bool found = false;
    if (!read_report(operation, &found, NULL, &outcome))
        return outcome;
    if (!found)
        return DB_FAILED;
    audit_report(operation, &outcome);
    return outcome;
}

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

static json_t *check_report(const json_t *body)
{
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

static enum db_outcome save_report(struct report_operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    bool found = false;
    const char *status = NULL;
    if (!read_report(operation, &found, &status, &outcome))
        return outcome;
    if (found && !report_precondition(operation, true, &outcome))
        return outcome;
    if (found && strcmp(status, "draft") != 0 && strcmp(status, "returned") != 0)
        return refuse(operation, PROBLEM_CONFLICT, "conflict",
                      "A submitted or accepted report is not edited; the district may return "
                      "it.");
    char *narrative = json_dumps(json_object_get(operation->body, "narrative"), JSON_COMPACT);
    char *activities = json_dumps(json_object_get(operation->body, "activities"), JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->period);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, narrative);
    db_param_text(&params, activities);
    db_param_instant(&params, clock_now_us());
    /* Null members mean "not filled in": they are not stored. */
    outcome = write_report(
        operation,
        found ? "UPDATE reports SET narrative = jsonb_strip_nulls($3::jsonb), "
                "       activities = jsonb_strip_nulls($4::jsonb), version = version + 1, "
                "       updated_at = $5 WHERE period_key = $1 AND unit_id = $2"
              : "INSERT INTO reports (period_key, unit_id, narrative, activities, created_at, "
                "                     updated_at) "
                "VALUES ($1, $2, jsonb_strip_nulls($3::jsonb), jsonb_strip_nulls($4::jsonb), "
                "        $5, $5)",
        &params);
    free(narrative);
    free(activities);
    operation->status = found ? 200 : 201;
    return outcome;
}

/* ---- submission and review ---------------------------------------------- */

/* The commune's indicator snapshot at the period's cut-off (the indicator
 * period named by the cut-off date), computed now by rollup_indicators for
 * just this unit and period and read back: JSON text the caller frees
 * ("null" if there is none), or NULL after a failure. */
static char *freeze_indicators(struct report_operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->unit_code);
    db_param_text(&params, operation->covers_to);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        operation->request,
        "SELECT rollup_indicators(jsonb_build_object('unit', $1::text, 'period', $2::text), $3)",
        &params, outcome);
    PQclear(result);
    if (result == NULL)
        return NULL;
    /* A statement of its own: a STABLE function sees only what earlier
     * statements wrote, not the rollup running in the same one. */
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, operation->covers_to);
    result = registry_query(operation->request, "SELECT indicator_snapshot($1, $2)::text",
                            &params, outcome);
    if (result == NULL)
        return NULL;
    const char *snapshot = db_text(result, 0, 0);
    char *copy = strdup(snapshot != NULL ? snapshot : "null");
    PQclear(result);
    return copy;
}

static enum db_outcome submit_report(struct report_operation *operation, const char *status)
{
    enum db_outcome outcome = DB_COMMIT;
    if (strcmp(status, "draft") != 0 && strcmp(status, "returned") != 0)
        return refuse(operation, PROBLEM_CONFLICT, "conflict",
                      "Only a draft or a returned report can be submitted.");
    char *indicators = freeze_indicators(operation, &outcome);
    if (indicators == NULL)
        return outcome == DB_COMMIT ? DB_FAILED : outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->period);
    db_param_integer(&params, operation->unit_id);
    db_param_instant(&params, clock_now_us());
    db_param_bool(&params, strcmp(today, operation->due_on) <= 0);
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

static enum db_outcome review_report(struct report_operation *operation, const char *status)
{
    if (strcmp(status, "submitted") != 0)
        return refuse(operation, PROBLEM_CONFLICT, "conflict",
                      "Only a submitted report can be returned or accepted.");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->period);
    db_param_integer(&params, operation->unit_id);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, operation->request->principal.username);
    if (operation->action == REPORT_ACCEPT)
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

static enum db_outcome run_report(PGconn *connection, void *context)
{
    (void)connection;
    struct report_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    operation->status = 200;
    if (!enter_report(operation, &outcome))
        return outcome;
    if (operation->action == REPORT_SAVE)
        return save_report(operation);
    bool found = false;
    const char *status = NULL;
    if (!read_report(operation, &found, &status, &outcome))
        return outcome;
    if (!found)
        return refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                      "This commune has no report for the period yet.");
    if (operation->action == REPORT_READ)
        return DB_COMMIT;
    if (!report_precondition(operation, false, &outcome))
        return outcome;
    return operation->action == REPORT_SUBMIT ? submit_report(operation, status)
                                              : review_report(operation, status);
}

static void answer_report(struct report_operation *operation, enum db_outcome outcome)
{
    struct request *request = operation->request;
    char location[96];
    snprintf(location, sizeof location, "/v1/reports/%s/%s", operation->period,
             operation->unit_code);
    reply_record(request, outcome, &operation->document, operation->status,
                 operation->version, location);
    if (operation->refusal != NULL && operation->action != REPORT_READ)
        audit_refusal(request, action_names[operation->action], "reports",
                      operation->report_id[0] != '\0' ? operation->report_id : NULL,
                      operation->refusal);
    free(operation->document);
}

static void report_request(struct request *request, enum report_action action,
                           const struct json_field *fields, size_t field_count)
{
    struct report_operation operation = {
        .request = request,
        .action = action,
        .period = route_param(&request->match, "period"),
        .unit_code = route_param(&request->match, "unit"),
        .if_match = request_if_match(request),
    };
    if (operation.if_match < 0) {
        reply_problem(request, PROBLEM_PRECONDITION_FAILED, "If-Match is not a version.");
        return;
    }
    json_t *body = NULL;
    if (action == REPORT_SAVE || fields != NULL) {
        body = request_json_body(request);
        if (body == NULL)
            return;
        json_t *errors = action == REPORT_SAVE ? check_report(body) : json_array();
        if (fields != NULL)
            json_check_fields(body, fields, field_count, "", false, errors);
        if (json_array_size(errors) > 0) {
            reply_problem_errors(request, PROBLEM_VALIDATION, "The request is invalid.",
                                 errors);
            audit_refusal(request, action_names[action], "reports", NULL, "invalid");
            json_decref(body);
            return;
        }
        json_decref(errors);
    }
    operation.body = body;
    answer_report(&operation, db_transaction(request->database, run_report, &operation));
    json_decref(body);
}

void handle_report_get(struct request *request)
{
    report_request(request, REPORT_READ, NULL, 0);
}

void handle_report_put(struct request *request)
{
    report_request(request, REPORT_SAVE, NULL, 0);
}

void handle_report_submit(struct request *request)
{
    report_request(request, REPORT_SUBMIT, NULL, 0);
}

void handle_report_return(struct request *request)
{
    report_request(request, REPORT_RETURN, return_fields,
                   sizeof return_fields / sizeof return_fields[0]);
}

void handle_report_accept(struct request *request)
{
    report_request(request, REPORT_ACCEPT, NULL, 0);
}

/* ---- list ------------------------------------------------------------------ */

struct report_list {
    struct request *request;
    const char *period;
    const char *unit;
    char *body;
};

static enum db_outcome read_report_list(PGconn *connection, void *context)
{
    (void)connection;
    struct report_list *list = context;
    enum db_outcome outcome = DB_COMMIT;
    bool not_found = false;
    if (!scope_enter(list->request, &outcome))
        return outcome;
    long long unit_id = scope_list_filter(list->request, list->unit, &not_found, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, list->period);
    db_param_id(&params, unit_id);
    db_param_text(&params, today);
    PGresult *result = registry_query(
        list->request,
        "SELECT json_build_object('items', coalesce(json_agg(report_document(r) "
        "         ORDER BY p.due_on, u.code), '[]'), 'next_cursor', NULL)::text "
        "  FROM reports r JOIN report_periods p ON p.key = r.period_key "
        "  JOIN units u ON u.id = r.unit_id "
        " WHERE ($1::text IS NULL OR r.period_key = $1) "
        "   AND ($2::bigint IS NULL OR r.unit_id IN (SELECT id FROM unit_subtree($2, $3)))",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    list->body = strdup(db_text(result, 0, 0));
    PQclear(result);
    return DB_COMMIT;
}

void handle_reports_list(struct request *request)
{
    struct report_list list = {.request = request,
                               .period = request_query(request, "period"),
                               .unit = request_query(request, "unit")};
    if (list.period != NULL && !report_period_key_valid(list.period)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "period", "must be a period key like 2020S1");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    enum db_outcome outcome = db_transaction(request->database, read_report_list, &list);
    reply_record(request, outcome, &list.body, 200, 0, NULL);
    free(list.body);
}

/* ---- summary --------------------------------------------------------------- */

struct report_summary {
    struct report_operation operation;
    json_t *summary;
};

/* Completeness and timeliness of the communes under a unit, the communes
 * not yet reported, and the district aggregate of the indicator snapshots
 * frozen in the reports submitted: per indicator code, numerators and
 * denominators summed and rates recomputed from the sums (per mille, round
 * half up, as the indicators compute them), never averaged. */
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
    "                     THEN (2000 * numerator + denominator) / (2 * denominator) END) "
    "       ORDER BY position, code), '[]') FROM items))::text "
    "  FROM rows";

static enum db_outcome read_summary(PGconn *connection, void *context)
{
    (void)connection;
    struct report_summary *summary = context;
    struct report_operation *operation = &summary->operation;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(operation->request, &outcome) || !enter_period(operation, &outcome))
        return outcome;
    operation->unit_id = scope_unit(operation->request, operation->unit_code, &outcome);
    if (operation->unit_id < 0)
        return outcome;
    if (operation->unit_id == 0)
        return refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such unit in your scope.");
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, operation->covers_to);
    db_param_text(&params, operation->period);
    db_param_text(&params, operation->unit_code);
    PGresult *result = registry_query(operation->request, summary_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    summary->summary = json_loads(db_text(result, 0, 0), JSON_DECODE_ANY, NULL);
    PQclear(result);
    return summary->summary != NULL ? DB_COMMIT : DB_FAILED;
}

static const char *json_text_or_null(const json_t *object, const char *name)
{
    return json_string_value(json_object_get(object, name));
}

/* One row per expected commune, then a total row. */
static void reply_summary_csv(struct request *request, const json_t *summary)
{
    struct csv csv;
    csv_init(&csv);
    const char *header[] = {"period", "unit", "unit_name", "status", "submitted_at",
                            "on_time", "accepted_at"};
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        csv_text(&csv, header[i]);
    csv_end_row(&csv);
    size_t index;
    const json_t *commune;
    const char *period = json_text_or_null(summary, "period");
    json_array_foreach(json_object_get(summary, "communes"), index, commune) {
        const json_t *on_time = json_object_get(commune, "on_time");
        csv_text(&csv, period);
        csv_text(&csv, json_text_or_null(commune, "unit"));
        csv_text(&csv, json_text_or_null(commune, "unit_name"));
        csv_text(&csv, json_text_or_null(commune, "status"));
        csv_text(&csv, json_text_or_null(commune, "submitted_at"));
        csv_text(&csv, json_is_boolean(on_time) ? (json_is_true(on_time) ? "yes" : "no") : NULL);
        csv_text(&csv, json_text_or_null(commune, "accepted_at"));
        csv_end_row(&csv);
    }
    size_t length = 0;
    char *text = csv_finish(&csv, &length);
    char filename[64];
    snprintf(filename, sizeof filename, "reports-%s-%s.csv", period,
             json_text_or_null(summary, "unit"));
    reply_csv(request, text, length, filename);
}

void handle_report_summary(struct request *request)
{
    const char *unit = request_query(request, "unit");
    struct report_summary summary = {
        .operation = {.request = request,
                      .period = route_param(&request->match, "period"),
                      .unit_code = unit != NULL ? unit : request->principal.unit_code}};
    enum db_outcome outcome = db_transaction(request->database, read_summary, &summary);
    if (outcome == DB_COMMIT) {
        if (request_wants_csv(request))
            reply_summary_csv(request, summary.summary);
        else
            reply_json(request, 200, json_incref(summary.summary));
    } else if (!request->replied) {
        reply_problem(request, PROBLEM_INTERNAL, "The summary could not be read.");
    }
    json_decref(summary.summary);
}
