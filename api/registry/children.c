/* The child registry: PUT (create with a client-chosen UUID, or replace),
 * GET, PATCH (JSON Merge Patch), DELETE (soft, a tombstone) and the list.
 *
 * Every operation runs in one transaction that first sets the caller's
 * scope for row-level security; a child outside the scope does not exist
 * (404).  Writes are versioned (ETag / If-Match), audited, and appended to
 * the change log in the same transaction.  The representation is built by
 * the SQL function child_document(), the one place that defines it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/handlers.h"
#include "json.h"
#include "http/handlers.h"
#include "http/server.h"
#include "operation/lifecycle.h"
#include "operation/scope.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define MAX_GUARDIANS 10

static const char *const sexes[] = {"male", "female", NULL};
static const char *const poverty_statuses[] = {"none", "near_poor", "poor", NULL};

/* Fields a client writes (PUT, PATCH).  Read-only members of the
 * representation are accepted in a PUT body and ignored (see below). */
static const struct json_field child_fields[] = {
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "hamlet", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 200},
    {.name = "full_name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "sex", .kind = JSON_FIELD_ENUM, .required = true, .choices = sexes},
    {.name = "date_of_birth", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "ethnicity", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 100},
    {.name = "address", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 500},
    {.name = "household_head", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 200},
    {.name = "guardians", .kind = JSON_FIELD_ARRAY, .nullable = true},
    {.name = "household_poverty_status", .kind = JSON_FIELD_ENUM, .nullable = true,
     .choices = poverty_statuses},
    {.name = "school_status", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 100},
    {.name = "notes", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
    {.name = "registered_on", .kind = JSON_FIELD_DATE, .nullable = true},
};
#define CHILD_FIELD_COUNT (sizeof child_fields / sizeof child_fields[0])

static const struct json_field guardian_fields[] = {
    {.name = "name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "relation", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 50},
    {.name = "phone", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 20},
};

/* Members of the representation that the server computes. */
static const char *const read_only_members[] = {"id", "age", "under_16", "consent", "version",
                                                "created_at", "updated_at", NULL};

static void drop_read_only(json_t *document)
{
    for (size_t i = 0; read_only_members[i] != NULL; i++)
        json_object_del(document, read_only_members[i]);
}

static void check_guardians(const json_t *guardians, json_t *errors)
{
    if (!json_is_array(guardians))
        return;
    if (json_array_size(guardians) > MAX_GUARDIANS)
        problem_add_field_error(errors, "/guardians", "at most %d guardians", MAX_GUARDIANS);
    size_t index;
    const json_t *guardian;
    json_array_foreach(guardians, index, guardian) {
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/guardians/%zu", index);
        if (!json_is_object(guardian))
            problem_add_field_error(errors, pointer, "must be an object");
        else
            json_check_fields(guardian, guardian_fields,
                              sizeof guardian_fields / sizeof guardian_fields[0], pointer, false,
                              errors);
    }
}

/* Checks a complete child document; fills in registered_on (today) when
 * absent.  Returns the errors (an empty array when valid). */
static json_t *check_child(json_t *document)
{
    json_t *errors = json_array();
    char today_text[CLOCK_DATE_SIZE];
    operation_today(today_text);
    json_t *registered_on = json_object_get(document, "registered_on");
    if (registered_on == NULL || json_is_null(registered_on))
        json_object_set_new(document, "registered_on", json_string(today_text));
    if (!json_check_fields(document, child_fields, CHILD_FIELD_COUNT, "", false, errors))
        return errors;
    check_guardians(json_object_get(document, "guardians"), errors);
    struct civil_date today = clock_today(), born, registered;
    date_parse(json_member_string(document, "date_of_birth"), &born);
    date_parse(json_member_string(document, "registered_on"), &registered);
    if (civil_compare(born, today) > 0)
        problem_add_field_error(errors, "/date_of_birth", "must not be in the future");
    if (civil_compare(registered, today) > 0)
        problem_add_field_error(errors, "/registered_on", "must not be in the future");
    if (civil_compare(born, registered) > 0)
        problem_add_field_error(errors, "/date_of_birth", "must not be after registered_on");
    /* A child is a person under 16 (Law on Children, Art. 1) on registration. */
    struct civil_date sixteenth = {born.year + 16, born.month, born.day};
    if (born.month == 2 && born.day == 29)
        sixteenth = (struct civil_date){born.year + 16, 3, 1};
    if (civil_compare(registered, sixteenth) >= 0)
        problem_add_field_error(errors, "/date_of_birth",
                                "the child must be under 16 on registered_on");
    return errors;
}

/* ---- the resource ------------------------------------------------------ */

/* Also the audit of the feed: a child's entries name the child itself. */
static const struct resource child_resource = {
    .name = "child", .table = "children", .document = "child_document(r, t.today)",
    .deleted = "r.deleted_at IS NOT NULL", .is_child = true, .audit_type = "children", .feed_type = "children",
    .path = "/v1/children/%s"};

/* Resolves the document's unit code to a commune in scope on registered_on;
 * 0 after refusing 422 when there is none. */
static long long resolve_unit(struct operation *operation, json_t *document,
                              enum db_outcome *outcome)
{
    long long unit_id = scope_commune_id(operation, json_member_string(document, "unit"),
                                         json_member_string(document, "registered_on"), outcome);
    if (unit_id == 0) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/unit",
                                "must be a commune valid on registered_on and within your scope");
        *outcome = operation_refuse_invalid(operation, errors, "The child is invalid.");
    }
    return unit_id;
}

static const char insert_child[] =
    "WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, $3::jsonb)), "
    "written AS (INSERT INTO children (id, unit_id, hamlet, full_name, search_name, "
    "  sex, date_of_birth, ethnicity, address, household_head, guardians, "
    "  household_poverty_status, school_status, notes, registered_on, version, "
    "  created_at, updated_at) "
    "  SELECT $1, $2, hamlet, full_name, search_fold(full_name), sex, date_of_birth, "
    "    ethnicity, address, household_head, coalesce(guardians, '[]'), "
    "    coalesce(household_poverty_status, 'none'), school_status, notes, "
    "    registered_on, 1, $4, $4 FROM input "
    "  ON CONFLICT (id) DO NOTHING RETURNING *) "
    "SELECT w.version, child_document(w, $5)::text FROM written w";

static const char update_child[] =
    "WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, $3::jsonb)), "
    "written AS (UPDATE children c SET unit_id = $2, hamlet = i.hamlet, "
    "  full_name = i.full_name, search_name = search_fold(i.full_name), sex = i.sex, "
    "  date_of_birth = i.date_of_birth, ethnicity = i.ethnicity, "
    "  address = i.address, household_head = i.household_head, "
    "  guardians = coalesce(i.guardians, '[]'), "
    "  household_poverty_status = coalesce(i.household_poverty_status, 'none'), "
    "  school_status = i.school_status, notes = i.notes, "
    "  registered_on = i.registered_on, version = c.version + 1, updated_at = $4 "
    "  FROM input i WHERE c.id = $1 RETURNING c.*) "
    "SELECT w.version, child_document(w, $5)::text FROM written w";

/* Writes a validated document into the child (a create when it was not
 * found) and keeps the new representation; the lifecycle then logs the
 * change and audits it. */
static enum db_outcome write_child(struct operation *operation, json_t *document)
{
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = resolve_unit(operation, document, &outcome);
    if (unit_id <= 0)
        return outcome;
    bool create = !operation->found;
    operation->previous_unit_id =
        !create && operation->unit_id != unit_id ? operation->unit_id : 0;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    char *text = json_dumps(document, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_text(&params, text);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, today);
    /* jsonb_populate_record maps the validated members onto the columns of
     * the same names, with their SQL types; members it does not know
     * (unit, a code) are ignored. */
    PGresult *result =
        operation_query(operation, create ? insert_child : update_child, &params, &outcome);
    free(text);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) != 1) {
        /* The id exists but not for this caller (another commune's child):
         * it must look like nothing at all. */
        PQclear(result);
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    }
    operation->version = db_integer(result, 0, 0);
    operation->unit_id = unit_id;
    bool kept = operation_keep_document(operation, db_text(result, 0, 1));
    PQclear(result);
    operation->change = create ? "create" : "update";
    operation->status = create ? 201 : 200;
    return kept ? DB_COMMIT : DB_FAILED;
}

/* ---- PUT: create with a client-chosen id, or replace ------------------------ */

static json_t *check_put(struct operation *operation)
{
    drop_read_only(operation->body);
    return check_child(operation->body);
}

static enum db_outcome put_child(struct operation *operation)
{
    if (!operation->found && operation->if_match != 0)
        return operation_refuse(operation, PROBLEM_PRECONDITION_FAILED, "conflict",
                                "If-Match names a version, but there is no such child.");
    return write_child(operation, operation->body);
}

static const struct operation_steps put_steps = {
    .action = "update", .remembers = true, .reads_record = true, .may_be_absent = true,
    .reads_body = true,
    .requires_if_match = true, .check = check_put, .invalid_detail = "The child is invalid.",
    .write = put_child, .change = "update", .status = 200};

/* ---- PATCH (JSON Merge Patch, RFC 7396) ------------------------------------ */

static enum db_outcome patch_child(struct operation *operation)
{
    json_t *document = json_loads(operation->document, 0, NULL);
    if (document == NULL)
        return DB_FAILED;
    drop_read_only(document);
    json_merge_patch(document, operation->body);
    json_t *errors = check_child(document);
    enum db_outcome outcome;
    if (json_array_size(errors) > 0) {
        outcome = operation_refuse_invalid(operation, errors, "The patched child is invalid.");
    } else {
        json_decref(errors);
        outcome = write_child(operation, document);
    }
    json_decref(document);
    return outcome;
}

static const struct operation_steps patch_steps = {
    .action = "update", .remembers = true, .reads_record = true, .requires_if_match = true,
    .reads_body = true, .write = patch_child, .change = "update", .status = 200};

/* ---- DELETE (soft: a tombstone) ---------------------------------------------- */

static enum db_outcome delete_child(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation,
                                       "UPDATE children SET deleted_at = $2, updated_at = $2, "
                                       "version = version + 1 WHERE id = $1 RETURNING version",
                                       &params, &outcome);
    if (result == NULL)
        return outcome;
    operation->version = db_integer(result, 0, 0);
    PQclear(result);
    return DB_COMMIT;
}

static const struct operation_steps delete_steps = {
    .action = "delete", .reads_record = true, .requires_if_match = true,
    .write = delete_child, .change = "delete", .status = 204};

/* ---- the handlers ------------------------------------------------------------------- */

void handle_child_put(struct request *request)
{
    operation_handle(request, &child_resource, &put_steps);
}

void handle_child_get(struct request *request)
{
    operation_handle(request, &child_resource, &operation_read_steps);
}

void handle_child_patch(struct request *request)
{
    operation_handle(request, &child_resource, &patch_steps);
}

void handle_child_delete(struct request *request)
{
    operation_handle(request, &child_resource, &delete_steps);
}

/* ---- list ------------------------------------------------------------------ */

struct child_list {
    const char *unit;
    const char *hamlet;
    const char *circumstance;
    const char *at_risk;       /* "true" | "false" | NULL */
    char *search;              /* LIKE-escaped */
    const char *updated_since;
    char after[37];            /* from the cursor, or "" */
    long long limit;
};

/* Escapes LIKE's wildcards so a name search matches text literally. */
static char *like_escape(const char *text)
{
    char *out = malloc(strlen(text) * 2 + 1), *p = out;
    for (; out != NULL && *text != '\0'; text++) {
        if (*text == '%' || *text == '_' || *text == '\\')
            *p++ = '\\';
        *p++ = *text;
    }
    if (out != NULL)
        *p = '\0';
    return out;
}

static enum db_outcome list_children(struct operation *operation)
{
    struct child_list *list = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, list->unit, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, today);
    db_param_id(&params, unit_id);
    db_param_text(&params, list->hamlet);
    db_param_text(&params, list->circumstance);
    db_param_text(&params, list->at_risk);
    db_param_text(&params, list->search);
    db_param_text(&params, list->updated_since);
    db_param_text(&params, list->after[0] != '\0' ? list->after : NULL);
    db_param_integer(&params, list->limit + 1);
    /* A unit filter takes its whole subtree (a district officer may list a
     * commune or the district). */
    PGresult *result = operation_query(
        operation,
        "SELECT c.id, child_document(c, $1::date)::text, c.unit_id FROM children c "
        " WHERE c.deleted_at IS NULL "
        "   AND ($2::bigint IS NULL OR c.unit_id IN (SELECT id FROM unit_subtree($2, $1)))"
        "   AND ($3::text IS NULL OR c.hamlet = $3) "
        "   AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM child_circumstances s "
        "        WHERE s.child_id = c.id AND s.\"group\" = $4 AND s.since <= $1 "
        "          AND (s.until IS NULL OR s.until >= $1))) "
        "   AND ($5::boolean IS NULL OR $5 = EXISTS (SELECT 1 FROM child_risks r "
        "        WHERE r.child_id = c.id AND r.since <= $1 "
        "          AND (r.until IS NULL OR r.until >= $1))) "
        "   AND ($6::text IS NULL OR c.search_name LIKE '%' || search_fold($6) || '%') "
        "   AND ($7::timestamptz IS NULL OR c.updated_at >= $7) "
        "   AND ($8::uuid IS NULL OR c.id > $8) "
        " ORDER BY c.id LIMIT $9",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    /* Without a unit filter the list spans the caller's whole scope. */
    operation->unit_id = unit_id;
    bool kept = operation_keep_page(operation, result, list->limit);
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static bool read_list_parameters(struct request *request, struct child_list *list)
{
    json_t *errors = json_array();
    list->unit = request_query(request, "unit");
    list->hamlet = request_query(request, "hamlet");
    list->circumstance = request_query(request, "circumstance");
    list->at_risk = request_query(request, "at_risk");
    list->updated_since = request_query(request, "updated_since");
    const char *q = request_query(request, "q");
    const char *limit = request_query(request, "limit");
    const char *cursor = request_query(request, "cursor");
    int64_t instant;
    list->limit = LIST_DEFAULT_LIMIT;
    if (limit != NULL && !config_parse_integer(limit, 1, LIST_MAX_LIMIT, &list->limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", LIST_MAX_LIMIT);
    if (list->at_risk != NULL && strcmp(list->at_risk, "true") != 0 &&
        strcmp(list->at_risk, "false") != 0)
        problem_add_parameter_error(errors, "at_risk", "must be true or false");
    if (list->updated_since != NULL && !clock_parse_instant(list->updated_since, &instant))
        problem_add_parameter_error(errors, "updated_since",
                                    "must be an RFC 3339 date-time with offset");
    if (cursor != NULL && !json_is_uuid_text(cursor))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    else if (cursor != NULL)
        snprintf(list->after, sizeof list->after, "%s", cursor);
    if (q != NULL && (q[0] == '\0' || json_utf8_length(q) > 200))
        problem_add_parameter_error(errors, "q", "must be 1 to 200 characters");
    else if (q != NULL)
        list->search = like_escape(q);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return false;
    }
    json_decref(errors);
    return true;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_children, .status = 200, .replica = true};

void handle_children_list(struct request *request)
{
    struct child_list list = {0};
    struct operation operation = {.domain = &list};
    if (read_list_parameters(request, &list) &&
        operation_begin(&operation, request, &child_resource, &list_steps, false))
        operation_run(&operation);
    free(list.search);
}
