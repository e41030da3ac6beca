/* What is recorded about a child, under /v1/children/{id}/…: special
 * circumstances, risks, supports and consents.  The four kinds differ only
 * in their fields and rules, so one set of steps serves them all, driven by
 * a `record_kind` (a resource of the operation layer and its fields):
 * create (with Idempotency-Key), list (the history), get, and PATCH (ending
 * a circumstance is a PATCH that sets `until`).  A record hangs off its
 * child: the child must be visible to the caller and not deleted (404 "No
 * such child."), and is locked FOR SHARE while its records are read or
 * written.  Tables and columns come from these constant descriptions, never
 * from the request; values always travel as parameters. */
#include "registry/child_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/handlers.h"
#include "http/server.h"
#include "json.h"

#define SQL_SIZE 2048

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

/* A kind of record: the resource (first, so that the lifecycle's resource
 * leads back to it) and what only records have. */
struct record_kind {
    struct resource resource;
    const char *segment; /* the path's segment: circumstances, risks… */
    const struct json_field *fields;
    size_t field_count;
    /* Cross-field rules beyond the field descriptions; may fill in
     * defaults of absent members. */
    void (*check)(json_t *document, json_t *errors);
    /* Constraint names of the table whose violation means a bad reference
     * ({constraint, pointer}), NULL-terminated. */
    const char *const (*references)[2];
};

static const char *const circumstance_references[][2] = {
    {"child_circumstances_group_subgroup_fkey", "/subgroup"}, {NULL, NULL}};
static const char *const risk_references[][2] = {{"child_risks_category_fkey", "/category"},
                                                  {NULL, NULL}};
static const char *const support_references[][2] = {{"child_supports_kind_fkey", "/kind"},
                                                     {NULL, NULL}};
static const char *const no_references[][2] = {{NULL, NULL}};

/* The representation of a record row `r`: its columns, with instants in
 * RFC 3339. */
#define RECORD_DOCUMENT                                                                     \
    "((to_jsonb(r) - 'created_at' - 'updated_at') || jsonb_build_object("                   \
    "'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at)))"

static bool read_child_record(struct operation *operation, bool lock, enum db_outcome *outcome);
static void locate_child_record(const struct operation *operation, char *out, size_t size);

/* Audited and (but consents) in the feed under the segment's name; "record"
 * in messages ("No such record."). */
/* A record is gone with its child: deleted is what an Idempotency-Key
 * replay checks before handing a stored answer out again. */
#define RECORD_RESOURCE(segment_name, table_name, in_feed)                                  \
    {.name = "record", .table = table_name, .document = RECORD_DOCUMENT,                    \
     .audit_type = segment_name, .feed_type = (in_feed) ? segment_name : NULL,              \
     .deleted = "NOT EXISTS (SELECT FROM children c WHERE c.id = r.child_id "              \
                "AND c.deleted_at IS NULL)",                                                \
     .read = read_child_record, .locate = locate_child_record}
#define FIELDS(fields) fields, sizeof fields / sizeof fields[0]

static const struct record_kind circumstances = {
    RECORD_RESOURCE("circumstances", "child_circumstances", true), "circumstances",
    FIELDS(circumstance_fields), check_since_until, circumstance_references};
static const struct record_kind risks = {
    RECORD_RESOURCE("risks", "child_risks", true), "risks", FIELDS(risk_fields),
    check_since_until, risk_references};
static const struct record_kind supports = {
    RECORD_RESOURCE("supports", "child_supports", true), "supports", FIELDS(support_fields),
    check_support, support_references};
static const struct record_kind consents = {
    RECORD_RESOURCE("consents", "child_consents", false), "consents", FIELDS(consent_fields),
    check_consent, no_references};

static const struct record_kind *kind_of(const struct resource *resource)
{
    return (const struct record_kind *)resource; /* resource is its first member */
}

static json_t *check_record(const struct record_kind *kind, json_t *document)
{
    json_t *errors = json_array();
    if (json_check_fields(document, kind->fields, kind->field_count, "", false, errors))
        kind->check(document, errors);
    return errors;
}

static void locate_child_record(const struct operation *operation, char *out, size_t size)
{
    snprintf(out, size, "/v1/children/%s/%s/%s", operation->parent_id,
             kind_of(operation->resource)->segment, operation->id);
}

/* ---- the child and the rows ----------------------------------------------- */

/* The child's unit when the caller can see it (row-level security decides)
 * and it is not deleted, locked FOR SHARE so that it stays while its records
 * change; 0 after refusing 404, -1 on a failure. */
static long long enter_child(struct operation *operation, const char *child_id,
                             enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, child_id);
    PGresult *result = operation_query(operation,
                                       "SELECT unit_id FROM children "
                                       " WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
                                       &params, outcome);
    if (result == NULL)
        return -1;
    long long unit_id = PQntuples(result) == 1 ? db_integer(result, 0, 0) : 0;
    PQclear(result);
    if (unit_id == 0)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    return unit_id;
}

/* A record row as read or written: found, its version and representation
 * (owned). */
struct record_row {
    bool found;
    long long version;
    char *document;
};

/* Reads the record `id` of the child (locking it when `lock`). */
static bool read_row(struct operation *operation, const struct record_kind *kind,
                     const char *child_id, const char *id, bool lock, struct record_row *row,
                     enum db_outcome *outcome)
{
    char sql[SQL_SIZE];
    snprintf(sql, sizeof sql,
             "SELECT r.version, " RECORD_DOCUMENT "::text FROM %s r "
             " WHERE r.child_id = $1 AND r.id = $2%s",
             kind->resource.table, lock ? " FOR UPDATE" : "");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, child_id);
    db_param_text(&params, id);
    PGresult *result = operation_query(operation, sql, &params, outcome);
    if (result == NULL)
        return false;
    *row = (struct record_row){.found = PQntuples(result) == 1};
    if (row->found) {
        row->version = db_integer(result, 0, 0);
        row->document = strdup(db_text(result, 0, 1));
    }
    PQclear(result);
    if (row->found && row->document == NULL)
        *outcome = DB_FAILED;
    return !row->found || row->document != NULL;
}

/* The resource's read: the child first (404 "No such child."), then the
 * record of operation->id; the record is in its child's unit. */
static bool read_child_record(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    long long unit_id = enter_child(operation, operation->parent_id, outcome);
    if (unit_id <= 0)
        return false;
    struct record_row row;
    if (!read_row(operation, kind_of(operation->resource), operation->parent_id, operation->id,
                  lock, &row, outcome))
        return false;
    operation->found = row.found;
    operation->version = row.version;
    operation->unit_id = unit_id;
    free(operation->document);
    operation->document = row.document;
    return true;
}

/* Maps a violated foreign key or check to a 422 on the field it guards;
 * other failures are the database's. */
static enum db_outcome write_failure(struct operation *operation, const struct record_kind *kind,
                                     const PGresult *result)
{
    const char *state = db_sqlstate(result);
    if (strcmp(state, "23503") != 0 && strcmp(state, "23514") != 0)
        return operation_failed(operation, "write record", result);
    const char *constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    const char *pointer = "";
    for (size_t i = 0; constraint != NULL && kind->references[i][0] != NULL; i++)
        if (strcmp(kind->references[i][0], constraint) == 0)
            pointer = kind->references[i][1];
    json_t *errors = json_array();
    problem_add_field_error(errors, pointer, "is not a known value");
    return operation_refuse_invalid(operation, errors, "The record is invalid.");
}

/* Runs the insert or update of a record; its new version and representation
 * in *row. */
static enum db_outcome write_row(struct operation *operation, const struct record_kind *kind,
                                 const char *sql, const struct db_params *params,
                                 struct record_row *row)
{
    PGresult *result = db_query(operation->connection, sql, params);
    enum db_outcome outcome = DB_COMMIT;
    if (!db_ok(result))
        outcome = write_failure(operation, kind, result);
    else if (PQntuples(result) != 1)
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such record.");
    else if ((row->document = strdup(db_text(result, 0, 1))) == NULL)
        outcome = DB_FAILED;
    else
        row->version = db_integer(result, 0, 0);
    PQclear(result);
    return outcome;
}

/* Inserts a checked record of the child; `extra` (a JSON object, or NULL)
 * adds columns the request does not write (a support's case). */
static enum db_outcome insert_row(struct operation *operation, const struct record_kind *kind,
                                  const char *child_id, const char *id, const json_t *document,
                                  const char *extra, struct record_row *row)
{
    char sql[SQL_SIZE];
    /* The validated members land in the columns of the same names. */
    snprintf(sql, sizeof sql,
             "INSERT INTO %s AS r SELECT * FROM jsonb_populate_record(NULL::%s, $1::jsonb "
             "  || $5::jsonb || jsonb_build_object('id', $2::uuid, 'child_id', $3::uuid, "
             "  'version', 1, 'created_at', $4::timestamptz, 'updated_at', $4::timestamptz)) "
             "RETURNING r.version, " RECORD_DOCUMENT "::text",
             kind->resource.table, kind->resource.table);
    char *text = json_dumps(document, JSON_COMPACT);
    if (text == NULL)
        return DB_FAILED;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, text);
    db_param_text(&params, id);
    db_param_text(&params, child_id);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, extra != NULL ? extra : "{}");
    enum db_outcome outcome = write_row(operation, kind, sql, &params, row);
    free(text);
    return outcome;
}

/* The writable members of a representation that hold a value: what a
 * merge patch applies to and what is checked again. */
static json_t *writable_members(const struct record_kind *kind, const char *document)
{
    json_t *current = json_loads(document, 0, NULL), *members = json_object();
    for (size_t i = 0; i < kind->field_count; i++) {
        json_t *value = json_object_get(current, kind->fields[i].name);
        if (value != NULL && !json_is_null(value))
            json_object_set(members, kind->fields[i].name, value);
    }
    json_decref(current);
    return members;
}

/* Checks the merged record and writes every writable field (absent members
 * are NULL). */
static enum db_outcome update_row(struct operation *operation, const struct record_kind *kind,
                                  const char *child_id, const char *id, json_t *merged,
                                  struct record_row *row)
{
    json_t *errors = check_record(kind, merged);
    if (json_array_size(errors) > 0)
        return operation_refuse_invalid(operation, errors, "The patched record is invalid.");
    json_decref(errors);
    char assignments[SQL_SIZE / 2] = ""; /* half: the statement around it fits */
    size_t used = 0;
    for (size_t i = 0; i < kind->field_count && used < sizeof assignments; i++)
        used += (size_t)snprintf(assignments + used, sizeof assignments - used,
                                 "\"%s\" = i.\"%s\", ", kind->fields[i].name,
                                 kind->fields[i].name);
    if (used >= sizeof assignments)
        abort(); /* a programming error: a descriptor with too many fields */
    char sql[SQL_SIZE];
    snprintf(sql, sizeof sql,
             "UPDATE %s AS r SET %sversion = r.version + 1, updated_at = $4 "
             "  FROM jsonb_populate_record(NULL::%s, $3::jsonb) i "
             " WHERE r.child_id = $1 AND r.id = $2 RETURNING r.version, " RECORD_DOCUMENT
             "::text",
             kind->resource.table, assignments, kind->resource.table);
    char *text = json_dumps(merged, JSON_COMPACT);
    if (text == NULL)
        return DB_FAILED;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, child_id);
    db_param_text(&params, id);
    db_param_text(&params, text);
    db_param_instant(&params, clock_now_us());
    enum db_outcome outcome = write_row(operation, kind, sql, &params, row);
    free(text);
    return outcome;
}

/* Takes a written row as the operation's record. */
static enum db_outcome keep_row(struct operation *operation, struct record_row *row)
{
    free(operation->document);
    operation->document = row->document;
    operation->version = row->version;
    row->document = NULL;
    return DB_COMMIT;
}

/* ---- the steps ------------------------------------------------------------- */

static json_t *check_body(struct operation *operation)
{
    return check_record(kind_of(operation->resource), operation->body);
}

static enum db_outcome create_record(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    struct record_row row = {0};
    long long unit_id = enter_child(operation, operation->parent_id, &outcome);
    if (unit_id > 0)
        outcome = insert_row(operation, kind_of(operation->resource), operation->parent_id,
                             operation->id, operation->body, NULL, &row);
    if (outcome == DB_ROLLBACK)
        operation->id = NULL; /* nothing was created: the refusal names the child */
    if (outcome != DB_COMMIT)
        return outcome;
    operation->unit_id = unit_id;
    return keep_row(operation, &row);
}

static const struct operation_steps create_steps = {
    .action = "create", .creates = true, .check = check_body,
    .invalid_detail = "The record is invalid.", .write = create_record, .change = "create",
    .status = 201};

/* The history: every record of the child, oldest first. */
static enum db_outcome list_records(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, operation->parent_id, &outcome);
    if (unit_id <= 0)
        return outcome;
    char sql[SQL_SIZE];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(json_agg(d.document ORDER BY d.created_at, d.id), '[]')::text, "
             "       array_append(coalesce(array_agg(d.id), '{}'), $1::uuid)::text "
             "  FROM (SELECT r.id, r.created_at, " RECORD_DOCUMENT "::json AS document "
             "          FROM %s r WHERE r.child_id = $1) d",
             operation->resource->table);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->parent_id);
    PGresult *result = operation_query(operation, sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    /* The records read and their child, so that the child's audit trail
     * shows who read what about it. */
    operation->unit_id = unit_id;
    operation->audit_ids = strdup(db_text(result, 0, 1));
    if (asprintf(&operation->document, "{\"items\":%s,\"next_cursor\":null}",
                 db_text(result, 0, 0)) < 0)
        operation->document = NULL;
    PQclear(result);
    return operation->document != NULL && operation->audit_ids != NULL ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_records, .status = 200};

static const struct operation_steps get_steps = {
    .action = "read", .reads_record = true, .status = 200};

static enum db_outcome patch_record(struct operation *operation)
{
    const struct record_kind *kind = kind_of(operation->resource);
    json_t *merged = writable_members(kind, operation->document);
    json_merge_patch(merged, operation->body);
    struct record_row row = {0};
    enum db_outcome outcome =
        update_row(operation, kind, operation->parent_id, operation->id, merged, &row);
    json_decref(merged);
    return outcome == DB_COMMIT ? keep_row(operation, &row) : outcome;
}

static const struct operation_steps patch_steps = {
    .action = "update", .remembers = true, .reads_record = true, .requires_if_match = true,
    .write = patch_record, .change = "update", .status = 200};

/* ---- supports written by other domains (child_records.h) ------------------ */

/* The feed and audit entries of a support written in another resource's
 * operation: they name the support's child. */
static bool support_written(struct operation *operation, const char *change, const char *id,
                            const char *child_id, const struct record_row *row,
                            long long unit_id, enum db_outcome *outcome)
{
    const char *operation_child = operation->child_id;
    operation->child_id = child_id;
    bool recorded = operation_record_write(operation, &supports.resource, change, id,
                                           row->document, row->version, unit_id, outcome);
    operation->child_id = operation_child;
    return recorded;
}

enum db_outcome support_create(struct operation *operation, const char *child_id,
                               json_t *support, const struct support_origin *origin,
                               char id_out[AUTH_UUID_SIZE])
{
    json_t *errors = check_record(&supports, support);
    if (json_array_size(errors) > 0)
        return operation_refuse_invalid(operation, errors, "The record is invalid.");
    json_decref(errors);
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, child_id, &outcome);
    if (unit_id <= 0)
        return outcome;
    json_t *link = json_pack("{s:s?, s:s?}", "case_id", origin ? origin->case_id : NULL,
                             "case_service_id", origin ? origin->case_service_id : NULL);
    char *extra = link != NULL ? json_dumps(link, JSON_COMPACT) : NULL;
    json_decref(link);
    if (extra == NULL)
        return DB_FAILED;
    auth_random_uuid(id_out);
    struct record_row row = {0};
    outcome = insert_row(operation, &supports, child_id, id_out, support, extra, &row);
    free(extra);
    if (outcome == DB_COMMIT &&
        !support_written(operation, "create", id_out, child_id, &row, unit_id, &outcome))
        outcome = outcome != DB_COMMIT ? outcome : DB_FAILED;
    free(row.document);
    return outcome;
}

enum db_outcome support_update(struct operation *operation, const char *child_id,
                               const char *support_id, const json_t *changes)
{
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = enter_child(operation, child_id, &outcome);
    struct record_row current = {0}, row = {0};
    if (unit_id <= 0 || !read_row(operation, &supports, child_id, support_id, true, &current,
                                  &outcome))
        return outcome;
    if (!current.found)
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such record.");
    json_t *before = writable_members(&supports, current.document);
    json_t *merged = json_deep_copy(before);
    json_merge_patch(merged, changes);
    /* A support that already says all that is not written again: no new
     * version, no feed entry. */
    if (!json_equal(before, merged)) {
        outcome = update_row(operation, &supports, child_id, support_id, merged, &row);
        if (outcome == DB_COMMIT &&
            !support_written(operation, "update", support_id, child_id, &row, unit_id,
                             &outcome))
            outcome = outcome != DB_COMMIT ? outcome : DB_FAILED;
    }
    json_decref(before);
    json_decref(merged);
    free(current.document);
    free(row.document);
    return outcome;
}

/* ---- the handlers ----------------------------------------------------------- */

/* The path's child (and record) ids, checked before anything else as they
 * always were: 404 "No such child." / "No such record." unless UUIDs. */
static void run(struct request *request, const struct record_kind *kind,
                const struct operation_steps *steps, bool body)
{
    const char *child_id = operation_uuid_param(request, "id");
    const char *record_id = steps->reads_record ? operation_uuid_param(request, "record_id")
                                                : NULL;
    if (child_id == NULL || (steps->reads_record && record_id == NULL)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such %s.",
                      child_id == NULL ? "child" : "record");
        return;
    }
    struct operation operation = {0};
    if (!operation_begin(&operation, request, &kind->resource, steps, body))
        return;
    operation.parent_id = operation.child_id = child_id;
    operation.id = record_id;
    operation_run(&operation);
    json_decref(operation.body);
}

/* One set of route handlers per kind, all the same four operations. */
#define RECORD_HANDLERS(kind)                                                               \
    void handle_##kind##_create(struct request *request)                                    \
    {                                                                                       \
        run(request, &kind, &create_steps, true);                                           \
    }                                                                                       \
    void handle_##kind##_list(struct request *request)                                      \
    {                                                                                       \
        run(request, &kind, &list_steps, false);                                            \
    }                                                                                       \
    void handle_##kind##_get(struct request *request)                                       \
    {                                                                                       \
        run(request, &kind, &get_steps, false);                                             \
    }                                                                                       \
    void handle_##kind##_patch(struct request *request)                                     \
    {                                                                                       \
        run(request, &kind, &patch_steps, true);                                            \
    }

RECORD_HANDLERS(circumstances)
RECORD_HANDLERS(risks)
RECORD_HANDLERS(supports)
RECORD_HANDLERS(consents)
