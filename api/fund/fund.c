/* What every fund resource shares: the resources themselves, reading one,
 * listing, creating, answering, preconditions and the checks of dates and
 * earmarks.  See fund.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fund/fund.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define SQL_SIZE 4096

static const char *const pledge_statuses[] = {"pending", "in_progress", "completed", "overdue",
                                              "cancelled", NULL};
static const char *const payment_statuses[] = {"applied", "overpaid", "donation", "voided",
                                               NULL};
static const char *const disbursement_statuses[] = {"general", "earmarked", NULL};

const struct fund_resource fund_donors = {
    .kind = "donor", .table = "fund_donors", .document = "fund_donor_document(r)",
    .audit_type = "fund_donors", .path = "/v1/fund/donors",
    .year_filter = "(EXISTS (SELECT 1 FROM fund_pledges p WHERE p.donor_id = r.id "
                   "AND p.year = $3) OR EXISTS (SELECT 1 FROM fund_payments p "
                   "WHERE p.donor_id = r.id AND p.year = $3))"};
const struct fund_resource fund_pledges = {
    .kind = "pledge", .table = "fund_pledges", .document = "fund_pledge_document(r, t.today)",
    .audit_type = "fund_pledges", .path = "/v1/fund/pledges", .year_filter = "r.year = $3",
    .status_filter = "fund_pledge_status(r, t.today) = $4", .statuses = pledge_statuses};
const struct fund_resource fund_payments = {
    .kind = "payment", .table = "fund_payments", .document = "fund_payment_document(r)",
    .audit_type = "fund_payments", .path = "/v1/fund/payments", .year_filter = "r.year = $3",
    .status_filter = "CASE WHEN r.voided_on IS NOT NULL THEN 'voided' "
                     "WHEN r.pledge_id IS NULL THEN 'donation' "
                     "WHEN r.overpaid_vnd > 0 THEN 'overpaid' ELSE 'applied' END = $4",
    .statuses = payment_statuses};
const struct fund_resource fund_disbursements = {
    .kind = "disbursement", .table = "fund_disbursements",
    .document = "fund_disbursement_document(r)", .audit_type = "fund_disbursements",
    .path = "/v1/fund/disbursements", .year_filter = "r.year = $3",
    .status_filter = "CASE WHEN r.earmarked THEN 'earmarked' ELSE 'general' END = $4",
    .statuses = disbursement_statuses};

/* ---- shared ---------------------------------------------------------------- */

enum db_outcome fund_refuse(struct fund_operation *operation, enum problem_type type,
                            const char *refusal, const char *detail)
{
    reply_problem(operation->request, type, "%s", detail);
    operation->refusal = refusal;
    return DB_ROLLBACK;
}

enum db_outcome fund_refuse_invalid(struct fund_operation *operation, json_t *errors,
                                    const char *detail)
{
    reply_problem_errors(operation->request, PROBLEM_VALIDATION, detail, errors);
    operation->refusal = "invalid";
    return DB_ROLLBACK;
}

bool fund_read(struct fund_operation *operation, bool lock, bool *found,
               enum db_outcome *outcome)
{
    const struct fund_resource *resource = operation->resource;
    char sql[SQL_SIZE], today[CLOCK_DATE_SIZE];
    /* Table and document are constants of this file, never request data. */
    snprintf(sql, sizeof sql,
             "SELECT r.version, r.unit_id, %s::text FROM %s r, (SELECT $1::date AS today) t "
             " WHERE r.id = $2::uuid%s",
             resource->document, resource->table, lock ? " FOR UPDATE OF r" : "");
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, today);
    db_param_text(&params, operation->id);
    PGresult *result = registry_query(operation->request, sql, &params, outcome);
    if (result == NULL)
        return false;
    *found = PQntuples(result) == 1;
    if (*found) {
        operation->version = db_integer(result, 0, 0);
        operation->unit_id = db_integer(result, 0, 1);
        free(operation->document);
        operation->document = strdup(db_text(result, 0, 2));
    }
    PQclear(result);
    return true;
}

long long fund_resolve_unit(struct fund_operation *operation, const char *code,
                            enum db_outcome *outcome)
{
    long long unit_id = scope_unit(operation->request, code, outcome);
    if (unit_id == 0) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/unit", "must be a unit valid today within your scope");
        *outcome = fund_refuse_invalid(operation, errors, "The unit is not yours.");
    }
    return unit_id;
}

bool fund_visible(struct fund_operation *operation, const char *table, const char *id,
                  bool *visible, enum db_outcome *outcome)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = $1::uuid", table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    PGresult *result = registry_query(operation->request, sql, &params, outcome);
    if (result == NULL)
        return false;
    *visible = PQntuples(result) == 1;
    PQclear(result);
    return true;
}

bool fund_written(struct fund_operation *operation, const char *change,
                  enum db_outcome *outcome)
{
    bool found = false;
    if (!fund_read(operation, false, &found, outcome))
        return false;
    if (!found) {
        reply_problem(operation->request, PROBLEM_INTERNAL, "The record vanished.");
        *outcome = DB_FAILED;
        return false;
    }
    char *record = NULL;
    if (asprintf(&record, "{\"kind\":\"%s\",\"document\":%s}", operation->resource->kind,
                 operation->document) < 0) {
        *outcome = DB_FAILED;
        return false;
    }
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", operation->id);
    bool ok = change_record(operation->request, "fund", operation->id, NULL, change,
                            operation->version, record, operation->unit_id, 0, outcome);
    free(record);
    if (ok && !audit_write(operation->request, change, operation->resource->audit_type, ids,
                           operation->unit_id, "success")) {
        *outcome = DB_FAILED;
        ok = false;
    }
    return ok;
}

static void location_of(const struct fund_operation *operation, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", operation->resource->path, operation->id);
}

bool fund_remember(struct fund_operation *operation, enum idempotency idempotency,
                   enum db_outcome *outcome)
{
    if (idempotency != IDEMPOTENCY_NEW)
        return true;
    char location[96];
    location_of(operation, location, sizeof location);
    return idempotency_store(operation->request, operation->status, operation->document,
                             location, outcome);
}

void fund_answer(struct fund_operation *operation, enum db_outcome outcome, const char *action)
{
    struct request *request = operation->request;
    char location[96] = "";
    if (operation->status == 201)
        location_of(operation, location, sizeof location);
    reply_record(request, operation->status != 0 ? outcome : DB_FAILED, &operation->document,
                 operation->status, operation->version, location);
    if (operation->refusal != NULL)
        audit_refusal(request, action, operation->resource->audit_type, operation->id,
                      operation->refusal);
    free(operation->document);
    operation->document = NULL;
}

bool fund_precondition(struct fund_operation *operation, enum db_outcome *outcome)
{
    if (operation->if_match == operation->version)
        return true;
    if (operation->if_match == 0) {
        *outcome = fund_refuse(operation, PROBLEM_PRECONDITION_REQUIRED, "conflict",
                               "Send If-Match with the ETag of the version you last read.");
        return false;
    }
    json_t *current = json_loads(operation->document, 0, NULL);
    reply_etag(operation->request, operation->version);
    reply_problem_members(operation->request, PROBLEM_PRECONDITION_FAILED,
                          "The record was changed since that version; the current record is "
                          "in `current`.",
                          json_pack("{s:o}", "current", current ? current : json_null()));
    operation->refusal = "conflict";
    *outcome = DB_ROLLBACK;
    return false;
}

bool fund_enter_record(struct fund_operation *operation, bool lock, enum db_outcome *outcome)
{
    bool found = false;
    operation->refusal = NULL;
    if (!scope_enter(operation->request, outcome) ||
        !fund_read(operation, lock, &found, outcome))
        return false;
    if (!found) {
        char detail[64];
        snprintf(detail, sizeof detail, "No such %s.", operation->resource->kind);
        *outcome = fund_refuse(operation, PROBLEM_NOT_FOUND, "not_found", detail);
        return false;
    }
    return true;
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

/* ---- create, get, list ----------------------------------------------------------- */

struct create_run {
    struct fund_operation *operation;
    enum db_outcome (*insert)(struct fund_operation *operation, enum idempotency idempotency);
};

static enum db_outcome run_create(PGconn *connection, void *context)
{
    (void)connection;
    struct create_run *run = context;
    struct fund_operation *operation = run->operation;
    enum db_outcome outcome = DB_COMMIT;
    operation->refusal = NULL;
    if (!scope_enter(operation->request, &outcome))
        return outcome;
    enum idempotency idempotency = idempotency_begin(operation->request, &outcome);
    if (idempotency == IDEMPOTENCY_ANSWERED)
        return outcome;
    auth_random_uuid(operation->new_id);
    operation->id = operation->new_id;
    return run->insert(operation, idempotency);
}

void fund_create(struct request *request, const struct fund_resource *resource,
                 json_t *(*check)(json_t *body),
                 enum db_outcome (*insert)(struct fund_operation *operation,
                                           enum idempotency idempotency))
{
    json_t *body = request_json_body(request);
    if (body == NULL)
        return;
    json_t *errors = check(body);
    if (json_array_size(errors) > 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "The %s is invalid.", resource->kind);
        reply_problem_errors(request, PROBLEM_VALIDATION, detail, errors);
        audit_refusal(request, "create", resource->audit_type, NULL, "invalid");
    } else {
        json_decref(errors);
        struct fund_operation operation = {.request = request, .resource = resource,
                                           .body = body};
        struct create_run run = {&operation, insert};
        fund_answer(&operation, db_transaction(request->database, run_create, &run), "create");
    }
    json_decref(body);
}

static enum db_outcome get_record(PGconn *connection, void *context)
{
    (void)connection;
    struct fund_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!fund_enter_record(operation, false, &outcome))
        return outcome;
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", operation->id);
    operation->status = 200;
    return audit_write(operation->request, "read", operation->resource->audit_type, ids,
                       operation->unit_id, "success")
               ? DB_COMMIT
               : DB_FAILED;
}

void fund_update(struct request *request, const struct fund_resource *resource,
                 const struct json_field *fields, size_t field_count,
                 const char *invalid_detail, enum db_outcome (*update)(PGconn *, void *))
{
    char what[32];
    snprintf(what, sizeof what, "%s", resource->kind);
    struct fund_operation operation = {.request = request, .resource = resource,
                                       .id = request_uuid_param(request, "id", what),
                                       .if_match = request_if_match(request)};
    if (operation.id == NULL || (operation.body = request_json_body(request)) == NULL)
        return;
    json_t *errors = json_array();
    if (fields != NULL &&
        !json_check_fields(operation.body, fields, field_count, "", false, errors)) {
        reply_problem_errors(request, PROBLEM_VALIDATION, invalid_detail, errors);
        audit_refusal(request, "update", resource->audit_type, operation.id, "invalid");
    } else {
        json_decref(errors);
        fund_answer(&operation, db_transaction(request->database, update, &operation),
                    "update");
    }
    json_decref(operation.body);
}

void fund_get(struct request *request, const struct fund_resource *resource)
{
    char what[32];
    snprintf(what, sizeof what, "%s", resource->kind);
    struct fund_operation operation = {.request = request, .resource = resource,
                                       .id = request_uuid_param(request, "id", what)};
    if (operation.id != NULL)
        fund_answer(&operation, db_transaction(request->database, get_record, &operation),
                    "read");
}

struct fund_list_query {
    struct request *request;
    const struct fund_resource *resource;
    const char *unit, *year, *status, *cursor;
    long long limit;
    char *body;
    bool unit_not_found;
};

static enum db_outcome read_list(PGconn *connection, void *context)
{
    (void)connection;
    struct fund_list_query *list = context;
    const struct fund_resource *resource = list->resource;
    struct request *request = list->request;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(request, &outcome))
        return outcome;
    long long unit_id = scope_list_filter(request, list->unit, &list->unit_not_found, &outcome);
    if (unit_id < 0)
        return outcome;
    char sql[SQL_SIZE], today[CLOCK_DATE_SIZE];
    registry_today(today);
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
             resource->table, resource->year_filter ? resource->year_filter : "true",
             resource->status_filter ? resource->status_filter : "true", resource->document,
             resource->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, today);
    db_param_id(&params, unit_id);
    db_param_text(&params, list->year);
    db_param_text(&params, list->status);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, list->limit);
    PGresult *result = registry_query(request, sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    const char *next = db_text(result, 0, 1);
    free(list->body); /* of an attempt that was retried */
    list->body = NULL;
    int length = next != NULL ? asprintf(&list->body, "{\"items\":%s,\"next_cursor\":\"%s\"}",
                                         db_text(result, 0, 0), next)
                              : asprintf(&list->body, "{\"items\":%s,\"next_cursor\":null}",
                                         db_text(result, 0, 0));
    if (length < 0)
        list->body = NULL;
    bool audited = audit_write(request, "list", resource->audit_type, db_text(result, 0, 2),
                               unit_id > 0 ? unit_id : request->principal.unit_id, "success");
    PQclear(result);
    return audited && list->body != NULL ? DB_COMMIT : DB_FAILED;
}

static bool known_status(const struct fund_resource *resource, const char *status)
{
    for (size_t i = 0; resource->statuses != NULL && resource->statuses[i] != NULL; i++)
        if (strcmp(resource->statuses[i], status) == 0)
            return true;
    return false;
}

void fund_list(struct request *request, const struct fund_resource *resource)
{
    struct fund_list_query list = {.request = request, .resource = resource,
                                   .unit = request_query(request, "unit"),
                                   .year = request_query(request, "year"),
                                   .status = request_query(request, "status"),
                                   .cursor = request_query(request, "cursor"),
                                   .limit = LIST_DEFAULT_LIMIT};
    const char *limit = request_query(request, "limit");
    long long year;
    json_t *errors = json_array();
    if (list.year != NULL &&
        !config_parse_integer(list.year, FUND_FIRST_YEAR, FUND_LAST_YEAR, &year))
        problem_add_parameter_error(errors, "year", "must be a year from %d to %d",
                                    FUND_FIRST_YEAR, FUND_LAST_YEAR);
    if (list.status != NULL && resource->statuses == NULL)
        problem_add_parameter_error(errors, "status", "%ss have no status", resource->kind);
    else if (list.status != NULL && !known_status(resource, list.status))
        problem_add_parameter_error(errors, "status", "is not a %s status", resource->kind);
    if (list.cursor != NULL && !json_is_uuid_text(list.cursor))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit != NULL && !config_parse_integer(limit, 1, LIST_MAX_LIMIT, &list.limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", LIST_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    enum db_outcome outcome = db_transaction(request->database, read_list, &list);
    reply_record(request, outcome, &list.body, 200, 0, NULL);
    if (outcome != DB_COMMIT && list.unit_not_found)
        audit_refusal(request, "list", resource->audit_type, NULL, "not_found");
    free(list.body);
}
