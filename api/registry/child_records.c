/* What is recorded about a child, under /v1/children/{id}/…: special
 * circumstances, risks, supports and consents.  The four kinds differ only
 * in their fields and rules, so one set of handlers serves them all, driven
 * by a `record_kind` description: create (with Idempotency-Key), list (the
 * history), get, and PATCH (ending a circumstance is a PATCH that sets
 * `until`).  Tables and columns come from these constant descriptions,
 * never from the request; values always travel as parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/handlers.h"
#include "json.h"
#include "operation/legacy.h"

#define SQL_SIZE 2048

struct record_kind {
    const char *name;   /* path segment, change-log and audit resource type */
    const char *table;
    const struct json_field *fields;
    size_t field_count;
    bool in_change_feed;
    /* Cross-field rules beyond the field descriptions; may fill in
     * defaults of absent members. */
    void (*check)(json_t *document, json_t *errors);
    /* Constraint names of the table whose violation means a bad reference
     * ({constraint, pointer}), NULL-terminated. */
    const char *const (*references)[2];
};

static const char *const circumstance_groups[] = {"a", "b", "c", "d", "đ", "e", "g", "h", "i",
                                                  "k", "l", "m", "n", "o", NULL};
static const char *const support_levels[] = {"prevention", "support", "intervention", NULL};
static const char *const sectors[] = {"labour", "health", "education", "justice", "police",
                                      "union", "ngo", "other", NULL};
static const char *const consent_givers[] = {"child", "parent", "guardian", NULL};
static const char *const legal_bases[] = {"consent", "statutory_duty", "vital_interest", NULL};

static const struct json_field circumstance_fields[] = {
    {.name = "group", .kind = JSON_FIELD_ENUM, .required = true, .choices = circumstance_groups},
    {.name = "subgroup", .kind = JSON_FIELD_STRING, .nullable = true, .min_length = 1,
     .max_length = 10},
    {.name = "since", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "until", .kind = JSON_FIELD_DATE, .nullable = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
static const struct json_field risk_fields[] = {
    {.name = "category", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 50},
    {.name = "since", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "until", .kind = JSON_FIELD_DATE, .nullable = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
static const struct json_field support_fields[] = {
    {.name = "kind", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 50},
    {.name = "level", .kind = JSON_FIELD_ENUM, .required = true, .choices = support_levels},
    {.name = "provider_sector", .kind = JSON_FIELD_ENUM, .required = true, .choices = sectors},
    {.name = "provided_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "value_vnd", .kind = JSON_FIELD_INTEGER, .nullable = true, .minimum = 1,
     .maximum = 1000000000000LL},
    {.name = "funded_by_fund", .kind = JSON_FIELD_BOOLEAN, .nullable = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
static const struct json_field consent_fields[] = {
    {.name = "given_by", .kind = JSON_FIELD_ENUM, .required = true, .choices = consent_givers},
    {.name = "name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "scope", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 1000},
    {.name = "given_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "withdrawn_on", .kind = JSON_FIELD_DATE, .nullable = true},
    {.name = "legal_basis", .kind = JSON_FIELD_ENUM, .required = true, .choices = legal_bases},
};

/* The date member `name` (already checked to be a date, or absent). */
static bool member_date(const json_t *document, const char *name, struct civil_date *date)
{
    const char *text = json_member_string(document, name);
    return text != NULL && date_parse(text, date);
}

/* `start` not in the future, and `end` (when given) not before it. */
static void check_interval(const json_t *document, const char *start, const char *end,
                           json_t *errors)
{
    struct civil_date from, to;
    char pointer[64];
    if (member_date(document, start, &from) && civil_compare(from, clock_today()) > 0) {
        snprintf(pointer, sizeof pointer, "/%s", start);
        problem_add_field_error(errors, pointer, "must not be in the future");
    }
    if (member_date(document, start, &from) && member_date(document, end, &to) &&
        civil_compare(to, from) < 0) {
        snprintf(pointer, sizeof pointer, "/%s", end);
        problem_add_field_error(errors, pointer, "must not be before %s", start);
    }
}

static void check_since_until(json_t *document, json_t *errors)
{
    check_interval(document, "since", "until", errors);
}

static void check_support(json_t *document, json_t *errors)
{
    check_interval(document, "provided_on", "", errors);
    if (!json_is_boolean(json_object_get(document, "funded_by_fund")))
        json_object_set_new(document, "funded_by_fund", json_false());
}

static void check_consent(json_t *document, json_t *errors)
{
    check_interval(document, "given_on", "withdrawn_on", errors);
}

static const char *const circumstance_references[][2] = {
    {"child_circumstances_group_subgroup_fkey", "/subgroup"}, {NULL, NULL}};
static const char *const risk_references[][2] = {{"child_risks_category_fkey", "/category"},
                                                  {NULL, NULL}};
static const char *const support_references[][2] = {{"child_supports_kind_fkey", "/kind"},
                                                     {NULL, NULL}};
static const char *const no_references[][2] = {{NULL, NULL}};

static const struct record_kind circumstances = {
    "circumstances", "child_circumstances", circumstance_fields,
    sizeof circumstance_fields / sizeof circumstance_fields[0], true, check_since_until,
    circumstance_references};
static const struct record_kind risks = {
    "risks", "child_risks", risk_fields, sizeof risk_fields / sizeof risk_fields[0], true,
    check_since_until, risk_references};
static const struct record_kind supports = {
    "supports", "child_supports", support_fields,
    sizeof support_fields / sizeof support_fields[0], true, check_support, support_references};
static const struct record_kind consents = {
    "consents", "child_consents", consent_fields,
    sizeof consent_fields / sizeof consent_fields[0], false, check_consent, no_references};

/* The representation of a record row `r`: its columns, with instants in
 * RFC 3339. */
#define RECORD_DOCUMENT                                                                     \
    "((to_jsonb(r) - 'created_at' - 'updated_at') || jsonb_build_object("                   \
    "'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at)))::text"

static json_t *check_record(const struct record_kind *kind, json_t *document)
{
    json_t *errors = json_array();
    if (json_check_fields(document, kind->fields, kind->field_count, "", false, errors))
        kind->check(document, errors);
    return errors;
}

struct record_operation {
    struct request *request;
    const struct record_kind *kind;
    const char *child_id;
    const char *record_id;  /* NULL for create and list */
    json_t *document;       /* create: the body; patch: the merged record */
    json_t *patch;
    long long if_match;
    unsigned status;
    char *body;
    long long version;
    const char *refusal;    /* audit outcome of a refusal */
    char new_id[37];
};

static void record_location(const struct record_operation *operation, char *out, size_t size)
{
    snprintf(out, size, "/v1/children/%s/%s/%s", operation->child_id, operation->kind->name,
             operation->new_id);
}

static enum db_outcome refuse(struct record_operation *operation, enum problem_type type,
                              const char *outcome_name, const char *detail)
{
    reply_problem(operation->request, type, "%s", detail);
    operation->refusal = outcome_name;
    return DB_ROLLBACK;
}

/* The child's unit when the caller can see it (row-level security decides)
 * and it is not deleted; 0 otherwise, -1 on failure. */
static long long visible_child(struct record_operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->child_id);
    PGresult *result = registry_query(operation->request,
                                      "SELECT unit_id FROM children "
                                      " WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
                                      &params, outcome);
    if (result == NULL)
        return -1;
    long long unit_id = PQntuples(result) == 1 ? db_integer(result, 0, 0) : 0;
    PQclear(result);
    return unit_id;
}

/* Sets the scope and finds the child: its unit, 0 after answering 404, or
 * -1 on a failure (outcome set). */
static long long enter_child(struct record_operation *operation, enum db_outcome *outcome)
{
    if (!scope_enter(operation->request, outcome))
        return -1;
    long long unit_id = visible_child(operation, outcome);
    if (unit_id == 0)
        *outcome = refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    return unit_id;
}

/* Maps a violated foreign key or check to a 422 on the field it guards;
 * other failures are the database's. */
static void reply_write_failure(struct record_operation *operation, PGresult *result,
                                enum db_outcome *outcome)
{
    const char *state = db_sqlstate(result);
    const char *constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    if (strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0) {
        const char *pointer = "";
        for (size_t i = 0; constraint != NULL && operation->kind->references[i][0] != NULL; i++)
            if (strcmp(operation->kind->references[i][0], constraint) == 0)
                pointer = operation->kind->references[i][1];
        json_t *errors = json_array();
        problem_add_field_error(errors, pointer, "is not a known value");
        reply_problem_errors(operation->request, PROBLEM_VALIDATION, "The record is invalid.",
                             errors);
        operation->refusal = "invalid";
        *outcome = DB_ROLLBACK;
    } else if (db_retryable(result)) {
        *outcome = DB_RETRY;
    } else {
        reply_database_failure(operation->request, "write record", result);
        *outcome = DB_FAILED;
    }
}

/* Runs the insert or update of a record and keeps its representation. */
static bool write_record(struct record_operation *operation, const char *sql,
                         const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = db_query(operation->request->database, sql, params);
    if (!db_ok(result)) {
        reply_write_failure(operation, result, outcome);
        PQclear(result);
        return false;
    }
    if (PQntuples(result) != 1) {
        PQclear(result);
        *outcome = refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such record.");
        return false;
    }
    operation->version = db_integer(result, 0, 0);
    operation->body = strdup(db_text(result, 0, 1));
    PQclear(result);
    return true;
}

/* Logs the change (for kinds in the feed) and audits the write. */
static bool record_written(struct record_operation *operation, const char *action,
                           const char *record_id, long long unit_id, enum db_outcome *outcome)
{
    const struct record_kind *kind = operation->kind;
    if (kind->in_change_feed &&
        !change_record(operation->request, kind->name, record_id, operation->child_id, action,
                       operation->version, operation->body, 0, 0, outcome))
        return false;
    char ids[96];
    snprintf(ids, sizeof ids, "{%s,%s}", record_id, operation->child_id);
    if (!audit_write(operation->request, action, kind->name, ids, unit_id, "success")) {
        *outcome = DB_FAILED;
        return false;
    }
    return true;
}

/* ---- create ------------------------------------------------------------- */

static enum db_outcome create_record(PGconn *connection, void *context)
{
    (void)connection;
    struct record_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, &outcome);
    if (unit_id <= 0)
        return outcome;
    enum idempotency idempotency = idempotency_begin(request, &outcome);
    if (idempotency == IDEMPOTENCY_ANSWERED)
        return outcome;
    /* A fresh id each attempt: a retried transaction starts over. */
    auth_random_uuid(operation->new_id);
    char *document = json_dumps(operation->document, JSON_COMPACT);
    char sql[SQL_SIZE];
    /* The validated members land in the columns of the same names. */
    snprintf(sql, sizeof sql,
             "INSERT INTO %s AS r SELECT * FROM jsonb_populate_record(NULL::%s, $1::jsonb "
             "  || jsonb_build_object('id', $2::uuid, 'child_id', $3::uuid, 'version', 1, "
             "                        'created_at', $4::timestamptz, 'updated_at', $4::timestamptz)) "
             "RETURNING r.version, " RECORD_DOCUMENT,
             operation->kind->table, operation->kind->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, document);
    db_param_text(&params, operation->new_id);
    db_param_text(&params, operation->child_id);
    db_param_instant(&params, clock_now_us());
    bool written = write_record(operation, sql, &params, &outcome);
    free(document);
    if (!written || !record_written(operation, "create", operation->new_id, unit_id, &outcome))
        return outcome;
    operation->status = 201;
    if (idempotency == IDEMPOTENCY_NEW) {
        char location[160];
        record_location(operation, location, sizeof location);
        idempotency_store(request, 201, operation->body, location, &outcome);
    }
    return outcome;
}

/* ---- read ---------------------------------------------------------------- */

static enum db_outcome read_records(PGconn *connection, void *context)
{
    (void)connection;
    struct record_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, &outcome);
    if (unit_id <= 0)
        return outcome;
    char sql[SQL_SIZE];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(json_agg(d.document ORDER BY d.created_at, d.id), '[]')::text, "
             "       array_append(coalesce(array_agg(d.id), '{}'), $1::uuid)::text, "
             "       max(d.version) "
             "  FROM (SELECT r.id, r.created_at, r.version, " RECORD_DOCUMENT "::json AS document "
             "          FROM %s r WHERE r.child_id = $1 AND ($2::uuid IS NULL OR r.id = $2)) d",
             operation->kind->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->child_id);
    db_param_text(&params, operation->record_id);
    PGresult *result = registry_query(request, sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    const char *items = db_text(result, 0, 0);
    bool empty = strcmp(items, "[]") == 0;
    if (operation->record_id != NULL && empty) {
        PQclear(result);
        return refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such record.");
    }
    if (operation->record_id != NULL) {
        /* One record: the array's only element. */
        json_t *array = json_loads(items, 0, NULL);
        operation->body = json_dumps(json_array_get(array, 0), JSON_COMPACT);
        json_decref(array);
        operation->version = db_integer(result, 0, 2);
    } else if (asprintf(&operation->body, "{\"items\":%s,\"next_cursor\":null}", items) < 0) {
        operation->body = NULL;
    }
    /* The records read and their child, so that the child's audit trail
     * shows who read what about it. */
    char *ids = strdup(db_text(result, 0, 1));
    PQclear(result);
    operation->status = 200;
    bool audited = ids != NULL && audit_write(request, operation->record_id ? "read" : "list",
                                              operation->kind->name, ids, unit_id, "success");
    free(ids);
    if (!audited)
        return DB_FAILED;
    return operation->body != NULL ? DB_COMMIT : DB_FAILED;
}

/* ---- patch ----------------------------------------------------------------- */

static enum db_outcome patch_record(PGconn *connection, void *context)
{
    (void)connection;
    struct record_operation *operation = context;
    struct request *request = operation->request;
    const struct record_kind *kind = operation->kind;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, &outcome);
    if (unit_id <= 0)
        return outcome;
    char sql[SQL_SIZE];
    snprintf(sql, sizeof sql,
             "SELECT r.version, " RECORD_DOCUMENT " FROM %s r "
             " WHERE r.child_id = $1 AND r.id = $2 FOR UPDATE",
             kind->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->child_id);
    db_param_text(&params, operation->record_id);
    PGresult *result = registry_query(request, sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) != 1) {
        PQclear(result);
        return refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such record.");
    }
    long long version = db_integer(result, 0, 0);
    json_t *current = json_loads(db_text(result, 0, 1), 0, NULL);
    PQclear(result);
    if (operation->if_match == 0 || operation->if_match != version) {
        reply_etag(request, version);
        if (operation->if_match == 0) {
            json_decref(current);
            return refuse(operation, PROBLEM_PRECONDITION_REQUIRED, "conflict",
                          "Send If-Match with the ETag of the version you last read.");
        }
        reply_problem_members(request, PROBLEM_PRECONDITION_FAILED,
                              "The record was changed since that version; the current record "
                              "is in `current`.", json_pack("{s:o}", "current", current));
        operation->refusal = "conflict";
        return DB_ROLLBACK;
    }
    /* Only the writable members take part in the merge and the checks. */
    operation->document = json_object();
    for (size_t i = 0; i < kind->field_count; i++) {
        json_t *value = json_object_get(current, kind->fields[i].name);
        if (value != NULL && !json_is_null(value))
            json_object_set(operation->document, kind->fields[i].name, value);
    }
    json_decref(current);
    json_merge_patch(operation->document, operation->patch);
    json_t *errors = check_record(kind, operation->document);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The patched record is invalid.",
                             errors);
        operation->refusal = "invalid";
        return DB_ROLLBACK;
    }
    json_decref(errors);
    /* SET col = input.col for every writable field; absent members are NULL. */
    char assignments[SQL_SIZE / 2] = ""; /* half: the statement around it fits */
    size_t used = 0;
    for (size_t i = 0; i < kind->field_count && used < sizeof assignments; i++)
        used += (size_t)snprintf(assignments + used, sizeof assignments - used,
                                 "\"%s\" = i.\"%s\", ", kind->fields[i].name,
                                 kind->fields[i].name);
    if (used >= sizeof assignments)
        abort(); /* a programming error: a descriptor with too many fields */
    snprintf(sql, sizeof sql,
             "UPDATE %s AS r SET %sversion = r.version + 1, updated_at = $4 "
             "  FROM jsonb_populate_record(NULL::%s, $3::jsonb) i "
             " WHERE r.child_id = $1 AND r.id = $2 RETURNING r.version, " RECORD_DOCUMENT,
             kind->table, assignments, kind->table);
    char *document = json_dumps(operation->document, JSON_COMPACT);
    db_param_text(&params, document);
    db_param_instant(&params, clock_now_us());
    bool written = write_record(operation, sql, &params, &outcome);
    free(document);
    if (written && record_written(operation, "update", operation->record_id, unit_id, &outcome))
        operation->status = 200;
    return outcome;
}

/* ---- the handlers ----------------------------------------------------------- */

static void answer(struct record_operation *operation, enum db_outcome outcome,
                   const char *action)
{
    struct request *request = operation->request;
    char location[160] = "";
    if (operation->status == 201)
        record_location(operation, location, sizeof location);
    reply_record(request, outcome, &operation->body, operation->status, operation->version,
                 location);
    if (operation->refusal != NULL)
        audit_refusal(request, action, operation->kind->name,
                      operation->record_id ? operation->record_id : operation->child_id,
                      operation->refusal);
    free(operation->body);
    json_decref(operation->document);
}

/* Reads the path's ids; answers 404 unless they are UUIDs. */
static bool read_path(struct request *request, struct record_operation *operation,
                      const struct record_kind *kind, bool with_record)
{
    *operation = (struct record_operation){.request = request, .kind = kind};
    operation->child_id = request_uuid_param(request, "id", "child");
    if (operation->child_id == NULL)
        return false;
    if (with_record) {
        operation->record_id = request_uuid_param(request, "record_id", "record");
        if (operation->record_id == NULL)
            return false;
    }
    return true;
}

static void record_create(struct request *request, const struct record_kind *kind)
{
    struct record_operation operation;
    if (!read_path(request, &operation, kind, false))
        return;
    operation.document = request_json_body(request);
    if (operation.document == NULL)
        return;
    json_t *errors = check_record(kind, operation.document);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The record is invalid.", errors);
        audit_refusal(request, "create", kind->name, operation.child_id, "invalid");
        json_decref(operation.document);
        return;
    }
    json_decref(errors);
    answer(&operation, db_transaction(request->database, create_record, &operation), "create");
}

static void record_list(struct request *request, const struct record_kind *kind)
{
    struct record_operation operation;
    if (read_path(request, &operation, kind, false))
        answer(&operation, db_transaction(request->database, read_records, &operation), "list");
}

static void record_get(struct request *request, const struct record_kind *kind)
{
    struct record_operation operation;
    if (read_path(request, &operation, kind, true))
        answer(&operation, db_transaction(request->database, read_records, &operation), "read");
}

static void record_patch(struct request *request, const struct record_kind *kind)
{
    struct record_operation operation;
    if (!read_path(request, &operation, kind, true))
        return;
    operation.patch = request_json_body(request);
    if (operation.patch == NULL)
        return;
    operation.if_match = request_if_match(request);
    answer(&operation, db_transaction(request->database, patch_record, &operation), "update");
    json_decref(operation.patch);
}

/* One set of route handlers per kind, all the same four operations. */
#define RECORD_HANDLERS(kind)                                                               \
    void handle_##kind##_create(struct request *request) { record_create(request, &kind); } \
    void handle_##kind##_list(struct request *request) { record_list(request, &kind); }     \
    void handle_##kind##_get(struct request *request) { record_get(request, &kind); }       \
    void handle_##kind##_patch(struct request *request) { record_patch(request, &kind); }

RECORD_HANDLERS(circumstances)
RECORD_HANDLERS(risks)
RECORD_HANDLERS(supports)
RECORD_HANDLERS(consents)
