/* The fund in figures: mobilisation targets (chỉ tiêu vận động), the
 * summary of a unit and its subtree, and the public receipts-and-spending
 * statement (công khai thu–chi) as JSON or CSV.  No personal data leaves
 * here: donors appear only by the name they agreed to disclose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "csv.h"
#include "fund/disclosure_sheet.h"
#include "http/spreadsheet.h"
#include "fund/fund.h"
#include "http/handlers.h"
#include "http/server.h"
#include "operation/scope.h"

#define ANONYMOUS_DONOR "Nhà hảo tâm ẩn danh"
#define CHILD_EARMARK_LABEL "hỗ trợ trẻ em có hoàn cảnh đặc biệt"

struct figures_query {
    long long year;
    const char *unit;      /* code; the caller's own unit by default */
    const char *sql;       /* the statement whose one value is the answer */
};

/* A target has no id of its own: its feed and audit entries carry a UUID
 * derived from the year and unit, the same every time (fund_target_id). */
const struct resource fund_targets = {
    .name = "target", .table = "fund_targets", .audit_type = "fund_targets",
    .feed_type = "fund", .feed_kind = "target"};

/* The figures are read in the unit's books; they name no one. */
static const struct resource figures_resource = {.name = "figures", .audit_type = "fund"};

/* ?year= (default: this year in the district) and ?unit= (default: the
 * caller's unit); false after answering 400. */
static bool read_year_and_unit(struct request *request, struct figures_query *query)
{
    const char *year = request_query(request, "year");
    query->unit = request_query(request, "unit");
    if (query->unit == NULL)
        query->unit = request->principal.unit_code;
    query->year = clock_today().year;
    if (year != NULL && !config_parse_integer(year, FUND_FIRST_YEAR, FUND_LAST_YEAR,
                                              &query->year)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "year", "must be a year from %d to %d",
                                    FUND_FIRST_YEAR, FUND_LAST_YEAR);
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return false;
    }
    return true;
}

/* Runs the query's statement of ($1 unit, $2 year, $3 today), whose single
 * value is the answer, for a unit in the caller's scope (404 outside). */
static enum db_outcome read_figures(struct operation *operation)
{
    struct figures_query *query = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, query->unit, &outcome);
    if (unit_id <= 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, unit_id);
    db_param_integer(&params, query->year);
    db_param_text(&params, today);
    return operation_query_document(operation, query->sql, &params);
}

static const struct operation_steps figures_steps = {
    .action = "read", .query = read_figures, .status = 200, .quiet_read = true, .quiet_refusals = true,
    .replica = true};

/* Answers the figures of ?year= and ?unit= by the statement `sql`. */
static void answer_figures(struct request *request, const char *sql)
{
    struct figures_query query = {.sql = sql};
    struct operation operation = {.domain = &query};
    if (read_year_and_unit(request, &query) &&
        operation_begin(&operation, request, &figures_resource, &figures_steps, false))
        operation_run(&operation);
}

/* ---- targets ---------------------------------------------------------------------- */

static const char targets_sql[] =
        "SELECT json_build_object('year', $2::integer, 'unit', "
        "         (SELECT code FROM units WHERE id = $1::bigint), "
        "       'items', coalesce(json_agg(json_build_object('unit', u.code, 'name', u.name, "
        "         'amount_vnd', t.amount_vnd, 'version', t.version) "
        "         ORDER BY length(u.code), u.code), '[]'), "
        "       'total_vnd', coalesce(sum(t.amount_vnd), 0)::bigint)::text "
        "  FROM fund_targets t JOIN units u ON u.id = t.unit_id "
        " WHERE t.year = $2 AND t.unit_id IN (SELECT id FROM unit_subtree($1, $3::date))";

void handle_fund_targets_list(struct request *request)
{
    answer_figures(request, targets_sql);
}

static const struct json_field target_fields[] = {
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 0,
     .maximum = FUND_MAX_AMOUNT},
};

static enum db_outcome write_target(struct operation *operation)
{
    struct figures_query *query = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, query->unit, &outcome);
    if (unit_id <= 0)
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, query->year);
    db_param_integer(&params, unit_id);
    db_param_integer(&params, json_integer_value(json_object_get(operation->body, "amount_vnd")));
    PGresult *result = operation_query(
        operation,
        "WITH written AS (INSERT INTO fund_targets AS t (year, unit_id, amount_vnd) "
        "  VALUES ($1, $2, $3) ON CONFLICT (year, unit_id) DO UPDATE "
        "  SET amount_vnd = EXCLUDED.amount_vnd, version = t.version + 1 RETURNING t) "
        "SELECT (w.t).version, fund_target_document(w.t)::text, "
        "       fund_target_id((w.t).year, (w.t).unit_id)::text "
        "  FROM written w",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    operation->version = db_integer(result, 0, 0);
    operation->unit_id = unit_id;
    operation->status = operation->version == 1 ? 201 : 200;
    char id[AUTH_UUID_SIZE];
    snprintf(id, sizeof id, "%s", db_text(result, 0, 2));
    bool kept = operation_keep_document(operation, db_text(result, 0, 1));
    PQclear(result);
    if (kept)
        operation_record_write(operation, &fund_targets,
                               operation->version == 1 ? "create" : "update", id,
                               operation->document, operation->version, unit_id, &outcome);
    return kept ? outcome : DB_FAILED;
}

static json_t *check_target(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    json_check_fields(body, target_fields, 1, "", false, errors);
    return errors;
}

static const struct operation_steps target_put_steps = {
    .action = "update", .reads_body = true, .check = check_target,
    .invalid_detail = "The target is invalid.", .write = write_target, .status = 200};

void handle_fund_target_put(struct request *request)
{
    struct figures_query query = {.unit = route_param(&request->match, "unit")};
    if (!config_parse_integer(route_param(&request->match, "year"), FUND_FIRST_YEAR,
                              FUND_LAST_YEAR, &query.year)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such target: the year must be %d to %d.",
                      FUND_FIRST_YEAR, FUND_LAST_YEAR);
        return;
    }
    struct operation operation = {.domain = &query};
    if (operation_begin(&operation, request, &fund_targets, &target_put_steps, true))
        operation_run(&operation);
    json_decref(operation.body);
}

/* ---- summary ---------------------------------------------------------------------- */

/* Per unit of the subtree, its own books; then the subtree's total (voided
 * payments count nowhere).  Target,
 * pledged and raised come from fund_unit_figures (the same figures the
 * indicators use).  Every sum is numeric (no overflow, whatever the number
 * of entries) and cast back to bigint; per-mille is floored. */
static const char summary_sql[] =
    "WITH tree AS (SELECT id FROM unit_subtree($1, $3::date)), "
    "figures AS (SELECT * FROM fund_unit_figures($2::integer, $3::date) f "
    "             WHERE f.unit_id IN (SELECT id FROM tree)), "
    "books AS (SELECT u.id, u.code, u.name, "
    "  coalesce(f.target_vnd, 0)::numeric AS target, "
    "  coalesce(f.pledged_vnd, 0)::numeric AS pledged, "
    "  coalesce(f.raised_vnd, 0)::numeric AS raised, "
    "  (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p WHERE p.unit_id = u.id "
    "     AND p.year = $2 AND p.received_on <= $3::date AND p.method = 'in_kind' "
    "     AND p.voided_on IS NULL) AS in_kind, "
    "  (SELECT coalesce(sum(i.amount_vnd - i.paid_vnd), 0) FROM fund_instalments i "
    "     JOIN fund_pledges p ON p.id = i.pledge_id WHERE p.unit_id = u.id AND p.year = $2 "
    "      AND p.cancelled_on IS NULL) AS outstanding, "
    "  (SELECT coalesce(sum(i.amount_vnd - i.paid_vnd), 0) FROM fund_instalments i "
    "     JOIN fund_pledges p ON p.id = i.pledge_id WHERE p.unit_id = u.id AND p.year = $2 "
    "      AND p.cancelled_on IS NULL AND i.due_on < $3::date) AS overdue, "
    "  (SELECT coalesce(sum(d.amount_vnd), 0) FROM fund_disbursements d WHERE d.unit_id = u.id "
    "     AND d.year = $2) AS disbursed, "
    "  (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p WHERE p.unit_id = u.id "
    "     AND p.year <= $2 AND p.voided_on IS NULL "
    "     AND p.earmark_child_id IS NULL AND p.earmark_purpose IS NULL) "
    "  - (SELECT coalesce(sum(d.amount_vnd), 0) FROM fund_disbursements d "
    "     WHERE d.unit_id = u.id AND d.year <= $2 AND NOT d.earmarked) AS general, "
    "  (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p WHERE p.unit_id = u.id "
    "     AND p.year <= $2 AND p.voided_on IS NULL "
    "     AND (p.earmark_child_id IS NOT NULL OR p.earmark_purpose IS NOT NULL))"
    "  - (SELECT coalesce(sum(d.amount_vnd), 0) FROM fund_disbursements d "
    "     WHERE d.unit_id = u.id AND d.year <= $2 AND d.earmarked) AS earmarked "
    "  FROM units u LEFT JOIN figures f ON f.unit_id = u.id WHERE u.id IN (SELECT id FROM tree)), "
    "total AS (SELECT sum(target) AS target, sum(pledged) AS pledged, sum(raised) AS raised, "
    "  sum(in_kind) AS in_kind, sum(outstanding) AS outstanding, sum(overdue) AS overdue, "
    "  sum(disbursed) AS disbursed, sum(general) AS general, sum(earmarked) AS earmarked "
    "  FROM books) "
    "SELECT json_build_object('year', $2::integer, 'unit', (SELECT code FROM units WHERE id = $1),"
    "  'as_of', $3::date, "
    "  'units', (SELECT json_agg(fund_figures(b.code, b.name, b.target, b.pledged, b.raised, "
    "             b.in_kind, b.outstanding, b.overdue, b.disbursed, b.general, b.earmarked) "
    "             ORDER BY length(b.code), b.code) FROM books b), "
    "  'total', (SELECT fund_figures(NULL, NULL, t.target, t.pledged, t.raised, t.in_kind, "
    "             t.outstanding, t.overdue, t.disbursed, t.general, t.earmarked) "
    "             FROM total t))::text";

void handle_fund_summary(struct request *request)
{
    answer_figures(request, summary_sql);
}

/* ---- disclosure (công khai thu–chi) ------------------------------------------------ */

#define DISCLOSURE_SQL \
    "WITH tree AS (SELECT id FROM unit_subtree($1, $3::date)), " \
    "receipts AS (SELECT p.received_on, u.code, u.name, p.receipt_no, " \
    "    fund_disclosed_donor(p.donor_id) AS donor, p.method, p.in_kind_description, " \
    "    CASE WHEN p.earmark_child_id IS NOT NULL THEN '" CHILD_EARMARK_LABEL "' " \
    "         ELSE p.earmark_purpose END AS earmark, p.amount_vnd " \
    "  FROM fund_payments p JOIN units u ON u.id = p.unit_id " \
    " WHERE p.year = $2 AND p.voided_on IS NULL AND p.unit_id IN (SELECT id FROM tree)), " \
    "spending AS (SELECT d.disbursed_on, u.code, u.name, d.decision_no, " \
    "    CASE WHEN d.child_id IS NOT NULL THEN '" CHILD_EARMARK_LABEL "' " \
    "         ELSE d.purpose END AS purpose, d.earmarked, d.in_kind, d.amount_vnd " \
    "  FROM fund_disbursements d JOIN units u ON u.id = d.unit_id " \
    " WHERE d.year = $2 AND d.unit_id IN (SELECT id FROM tree)), " \
    "sums AS (SELECT (SELECT coalesce(sum(amount_vnd), 0) FROM receipts) AS received, " \
    "                (SELECT coalesce(sum(amount_vnd), 0) FROM spending) AS spent) " \
    "SELECT json_build_object('year', $2::integer, " \
    "  'unit', (SELECT code FROM units WHERE id = $1), " \
    "  'unit_name', (SELECT name FROM units WHERE id = $1), " \
    "  'receipts', (SELECT coalesce(json_agg(json_build_object('received_on', r.received_on, " \
    "       'unit', r.code, 'unit_name', r.name, 'receipt_no', r.receipt_no, " \
    "       'donor', r.donor, 'method', r.method, " \
    "       'in_kind_description', r.in_kind_description, 'earmark', r.earmark, " \
    "       'amount_vnd', r.amount_vnd) ORDER BY r.received_on, r.code, r.receipt_no), '[]') " \
    "     FROM receipts r), " \
    "  'spending', (SELECT coalesce(json_agg(json_build_object('disbursed_on', s.disbursed_on, " \
    "       'unit', s.code, 'unit_name', s.name, 'decision_no', s.decision_no, " \
    "       'purpose', s.purpose, 'earmarked', s.earmarked, 'in_kind', s.in_kind, " \
    "       'amount_vnd', s.amount_vnd) " \
    "       ORDER BY s.disbursed_on, s.code, s.decision_no), '[]') FROM spending s), " \
    "  'total_receipts_vnd', sums.received::bigint, 'total_spending_vnd', sums.spent::bigint, " \
    "  'balance_vnd', (sums.received - sums.spent)::bigint)::text FROM sums"
static const char disclosure_sql[] = DISCLOSURE_SQL;

/* The workbook's: the statement, and each unit's target against what it
 * raised, for the chart. */
static const char disclosure_workbook_sql[] =
    "SELECT json_build_object('statement', (" DISCLOSURE_SQL ")::json, "
    "  'books', (SELECT coalesce(json_agg(json_build_object('unit', u.code, 'unit_name', u.name, "
    "       'target_vnd', f.target_vnd, 'raised_vnd', f.raised_vnd) "
    "       ORDER BY length(u.code), u.code), '[]') "
    "     FROM fund_unit_figures($2::integer, $3::date) f JOIN units u ON u.id = f.unit_id "
    "    WHERE f.unit_id IN (SELECT id FROM unit_subtree($1, $3::date))))::text";

static void csv_line(struct csv *csv, const char *kind, const char *date, const char *unit,
                     const char *document_no, const char *donor, const char *content,
                     const char *method, long long amount)
{
    csv_text(csv, kind);
    csv_text(csv, date);
    csv_text(csv, unit);
    csv_text(csv, document_no);
    csv_text(csv, donor);
    csv_text(csv, content);
    csv_text(csv, method);
    csv_integer(csv, amount);
    csv_end_row(csv);
}

/* The statement as one sheet: a header row, a row per receipt (Thu) and per
 * disbursement (Chi), then the totals. */
static char *disclosure_csv(const json_t *statement, char delimiter, size_t *length)
{
    struct csv csv;
    csv_init_delimited(&csv, delimiter);
    const char *header[] = {"Loại", "Ngày", "Đơn vị", "Số chứng từ", "Nhà hảo tâm",
                            "Nội dung", "Hình thức", "Số tiền (đồng)"};
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        csv_text(&csv, header[i]);
    csv_end_row(&csv);
    size_t index;
    const json_t *line;
    json_array_foreach(json_object_get(statement, "receipts"), index, line) {
        const char *earmark = json_string_value(json_object_get(line, "earmark"));
        const char *goods = json_string_value(json_object_get(line, "in_kind_description"));
        char content[1400];
        snprintf(content, sizeof content, "%s%s%s", goods ? goods : "",
                 goods && earmark ? "; " : "", earmark ? earmark : "");
        csv_line(&csv, "Thu", json_string_value(json_object_get(line, "received_on")),
                 json_string_value(json_object_get(line, "unit_name")),
                 json_string_value(json_object_get(line, "receipt_no")),
                 json_string_value(json_object_get(line, "donor")), content,
                 fund_method_label(json_string_value(json_object_get(line, "method"))),
                 json_integer_value(json_object_get(line, "amount_vnd")));
    }
    json_array_foreach(json_object_get(statement, "spending"), index, line) {
        csv_line(&csv, "Chi", json_string_value(json_object_get(line, "disbursed_on")),
                 json_string_value(json_object_get(line, "unit_name")),
                 json_string_value(json_object_get(line, "decision_no")), NULL,
                 json_string_value(json_object_get(line, "purpose")),
                 json_is_true(json_object_get(line, "in_kind")) ? "Hiện vật" : "Tiền",
                 json_integer_value(json_object_get(line, "amount_vnd")));
    }
    csv_line(&csv, "Tổng thu", NULL, NULL, NULL, NULL, NULL, NULL,
             json_integer_value(json_object_get(statement, "total_receipts_vnd")));
    csv_line(&csv, "Tổng chi", NULL, NULL, NULL, NULL, NULL, NULL,
             json_integer_value(json_object_get(statement, "total_spending_vnd")));
    csv_line(&csv, "Còn lại", NULL, NULL, NULL, NULL, NULL, NULL,
             json_integer_value(json_object_get(statement, "balance_vnd")));
    return csv_finish(&csv, length);
}

void handle_fund_disclosure(struct request *request)
{
    bool xlsx = request_wants_xlsx(request);
    struct figures_query query = {.sql = xlsx ? disclosure_workbook_sql : disclosure_sql};
    struct operation operation = {.domain = &query};
    if (!read_year_and_unit(request, &query) ||
        !operation_begin(&operation, request, &figures_resource, &figures_steps, false))
        return;
    enum db_outcome outcome = operation_execute(&operation);
    if (outcome != DB_COMMIT || (!xlsx && !request_wants_csv(request))) {
        operation_answer(&operation, outcome);
        return;
    }
    json_t *document = json_loads(operation.document, 0, NULL);
    char filename[64];
    /* The unit's code, found in the caller's scope: digits only. */
    snprintf(filename, sizeof filename, "cong-khai-quy-%s-%lld.%s", query.unit, query.year,
             xlsx ? "xlsx" : "csv");
    if (xlsx && document != NULL) {
        fund_disclosure_xlsx(request, json_object_get(document, "statement"),
                             json_object_get(document, "books"), filename);
    } else if (xlsx) {
        reply_problem(request, PROBLEM_INTERNAL, "The statement could not be read.");
    } else {
        size_t length = 0;
        char *text = document != NULL ? disclosure_csv(document, request_csv_delimiter(request),
                                                       &length)
                                      : NULL;
        reply_csv(request, text, length, filename);
    }
    json_decref(document);
    free(operation.document);
}
