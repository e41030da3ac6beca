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
#include "operation/operation.h"

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
    registry_today(today_text);
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

/* ---- shared pieces ------------------------------------------------------- */

struct child_operation {
    struct request *request;
    const char *id;
    json_t *document;         /* validated input (PUT, PATCH) */
    json_t *patch;            /* PATCH only */
    long long if_match;       /* 0 when absent */
    /* outcome */
    unsigned status;
    char *body;               /* the representation to answer with */
    long long version;
    const char *refusal;      /* audit outcome of a refusal, NULL on success */
};

struct current_child {
    bool found;
    bool deleted;
    long long version;
    long long unit_id;
    char *document;           /* child_document() text, owned */
};

/* Reads the child (locking it for update when `lock`) as the caller sees it. */
static bool read_current(struct request *request, const char *id, bool lock,
                         struct current_child *current, enum db_outcome *outcome)
{
    memset(current, 0, sizeof *current);
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    db_param_text(&params, today);
    PGresult *result = registry_query(
        request,
        lock ? "SELECT c.version, c.unit_id, c.deleted_at IS NOT NULL, "
               "       child_document(c, $2)::text FROM children c WHERE c.id = $1 FOR UPDATE"
             : "SELECT c.version, c.unit_id, c.deleted_at IS NOT NULL, "
               "       child_document(c, $2)::text FROM children c WHERE c.id = $1",
        &params, outcome);
    if (result == NULL)
        return false;
    if (PQntuples(result) == 1) {
        current->found = true;
        current->version = db_integer(result, 0, 0);
        current->unit_id = db_integer(result, 0, 1);
        current->deleted = db_bool(result, 0, 2);
        current->document = strdup(db_text(result, 0, 3));
    }
    PQclear(result);
    return true;
}

static enum db_outcome refuse_not_found(struct child_operation *operation)
{
    reply_problem(operation->request, PROBLEM_NOT_FOUND, "No such child.");
    operation->refusal = "not_found";
    return DB_ROLLBACK;
}

/* Sets the scope and reads the child as the caller sees it.  Returns false
 * when the transaction must end (outcome set): a failure, or a 404 for a
 * child that is absent, deleted or out of scope (unless absent is fine). */
static bool enter_child(struct child_operation *operation, bool lock, bool may_be_absent,
                        struct current_child *current, enum db_outcome *outcome)
{
    memset(current, 0, sizeof *current);
    if (!scope_enter(operation->request, outcome) ||
        !read_current(operation->request, operation->id, lock, current, outcome))
        return false;
    if (current->deleted || (!current->found && !may_be_absent)) {
        *outcome = refuse_not_found(operation);
        return false;
    }
    return true;
}

/* 428 without If-Match, 412 (with the current record) when it is stale. */
static bool check_precondition(struct child_operation *operation,
                               const struct current_child *current, enum db_outcome *outcome)
{
    struct request *request = operation->request;
    if (operation->if_match == 0) {
        reply_problem(request, PROBLEM_PRECONDITION_REQUIRED,
                      "Send If-Match with the ETag of the version you last read.");
    } else if (operation->if_match != current->version) {
        json_t *document = json_loads(current->document, 0, NULL);
        reply_etag(request, current->version);
        reply_problem_members(request, PROBLEM_PRECONDITION_FAILED,
                              "The child was changed since that version; the current record "
                              "is in `current`.",
                              json_pack("{s:o}", "current", document ? document : json_null()));
    } else {
        return true;
    }
    operation->refusal = "conflict";
    *outcome = DB_ROLLBACK;
    return false;
}

/* Resolves the document's unit code to a commune in scope on registered_on;
 * answers 422 when there is none. */
static long long resolve_unit(struct child_operation *operation, enum db_outcome *outcome)
{
    long long unit_id = scope_commune(operation->request,
                                      json_member_string(operation->document, "unit"),
                                      json_member_string(operation->document, "registered_on"),
                                      outcome);
    if (unit_id == 0) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/unit",
                                "must be a commune valid on registered_on and within your scope");
        reply_problem_errors(operation->request, PROBLEM_VALIDATION, "The child is invalid.",
                             errors);
        operation->refusal = "invalid";
        *outcome = DB_ROLLBACK;
    }
    return unit_id;
}

/* Writes the document's fields into the child (insert or update) and keeps
 * the new representation; then logs the change and audits. */
static bool write_child(struct child_operation *operation, bool create, long long unit_id,
                        long long previous_unit_id, enum db_outcome *outcome)
{
    struct request *request = operation->request;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    char *document = json_dumps(operation->document, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_text(&params, document);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, today);
    /* jsonb_populate_record maps the validated members onto the columns of
     * the same names, with their SQL types; members it does not know
     * (unit, a code) are ignored. */
    PGresult *result = registry_query(
        request,
        create
            ? "WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, $3::jsonb)), "
              "written AS (INSERT INTO children (id, unit_id, hamlet, full_name, search_name, "
              "  sex, date_of_birth, ethnicity, address, household_head, guardians, "
              "  household_poverty_status, school_status, notes, registered_on, version, "
              "  created_at, updated_at) "
              "  SELECT $1, $2, hamlet, full_name, search_fold(full_name), sex, date_of_birth, "
              "    ethnicity, address, household_head, coalesce(guardians, '[]'), "
              "    coalesce(household_poverty_status, 'none'), school_status, notes, "
              "    registered_on, 1, $4, $4 FROM input "
              "  ON CONFLICT (id) DO NOTHING RETURNING *) "
              "SELECT w.version, child_document(w, $5)::text FROM written w"
            : "WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, $3::jsonb)), "
              "written AS (UPDATE children c SET unit_id = $2, hamlet = i.hamlet, "
              "  full_name = i.full_name, search_name = search_fold(i.full_name), sex = i.sex, "
              "  date_of_birth = i.date_of_birth, ethnicity = i.ethnicity, "
              "  address = i.address, household_head = i.household_head, "
              "  guardians = coalesce(i.guardians, '[]'), "
              "  household_poverty_status = coalesce(i.household_poverty_status, 'none'), "
              "  school_status = i.school_status, notes = i.notes, "
              "  registered_on = i.registered_on, version = c.version + 1, updated_at = $4 "
              "  FROM input i WHERE c.id = $1 RETURNING c.*) "
              "SELECT w.version, child_document(w, $5)::text FROM written w",
        &params, outcome);
    free(document);
    if (result == NULL)
        return false;
    if (PQntuples(result) != 1) {
        /* The id exists but not for this caller (another commune's child):
         * it must look like nothing at all. */
        PQclear(result);
        *outcome = refuse_not_found(operation);
        return false;
    }
    operation->version = db_integer(result, 0, 0);
    operation->body = strdup(db_text(result, 0, 1));
    PQclear(result);
    char ids[64];
    snprintf(ids, sizeof ids, "{%s}", operation->id);
    return change_record(request, "children", operation->id, operation->id,
                         create ? "create" : "update", operation->version, operation->body, 0,
                         previous_unit_id, outcome) &&
           audit_write(request, create ? "create" : "update", "children", ids, unit_id,
                       "success");
}

/* Answers the outcome of a transaction and audits refusals. */
static void finish(struct child_operation *operation, enum db_outcome outcome,
                   const char *action)
{
    struct request *request = operation->request;
    if (outcome == DB_COMMIT && operation->body != NULL) {
        reply_etag(request, operation->version);
        if (operation->status == 201) {
            char location[96];
            snprintf(location, sizeof location, "/v1/children/%s", operation->id);
            reply_add_header(request, MHD_HTTP_HEADER_LOCATION, location);
        }
        reply_text(request, operation->status, "application/json", operation->body,
                   strlen(operation->body));
        operation->body = NULL;
    } else if (outcome == DB_COMMIT && operation->status == 204) {
        reply_empty(request, 204);
    } else if (!request->replied) {
        reply_problem(request, PROBLEM_INTERNAL, "The change could not be committed.");
    }
    if (operation->refusal != NULL)
        audit_refusal(request, action, "children", operation->id, operation->refusal);
    free(operation->body);
}

/* The {id} of the path, answering 404 when it is not a UUID. */
static const char *child_id(struct request *request)
{
    return request_uuid_param(request, "id", "child");
}

/* ---- PUT ----------------------------------------------------------------- */

static enum db_outcome put_child(PGconn *connection, void *context)
{
    (void)connection;
    struct child_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    struct current_child current;
    if (!enter_child(operation, true, true, &current, &outcome)) {
        free(current.document);
        return outcome;
    }
    bool create = !current.found;
    if (current.found && !check_precondition(operation, &current, &outcome)) {
        /* answered */
    } else if (create && operation->if_match != 0) {
        reply_problem(operation->request, PROBLEM_PRECONDITION_FAILED,
                      "If-Match names a version, but there is no such child.");
        operation->refusal = "conflict";
        outcome = DB_ROLLBACK;
    } else {
        long long unit_id = resolve_unit(operation, &outcome);
        if (unit_id > 0) {
            operation->status = create ? 201 : 200;
            long long previous = !create && current.unit_id != unit_id ? current.unit_id : 0;
            write_child(operation, create, unit_id, previous, &outcome);
        }
    }
    free(current.document);
    return outcome;
}

void handle_child_put(struct request *request)
{
    const char *id = child_id(request);
    json_t *document = id != NULL ? request_json_body(request) : NULL;
    if (document == NULL)
        return;
    struct child_operation operation = {.request = request, .id = id, .document = document,
                                        .if_match = request_if_match(request)};
    drop_read_only(document);
    json_t *errors = check_child(document);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The child is invalid.", errors);
        audit_refusal(request, "update", "children", id, "invalid");
    } else {
        json_decref(errors);
        finish(&operation, db_transaction(request->database, put_child, &operation),
               "update");
    }
    json_decref(document);
}

/* ---- GET ----------------------------------------------------------------- */

static enum db_outcome get_child(PGconn *connection, void *context)
{
    (void)connection;
    struct child_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    struct current_child current;
    if (!enter_child(operation, false, false, &current, &outcome)) {
        /* answered */
    } else {
        char ids[64];
        snprintf(ids, sizeof ids, "{%s}", operation->id);
        if (audit_write(operation->request, "read", "children", ids, current.unit_id,
                        "success")) {
            operation->status = 200;
            operation->version = current.version;
            operation->body = current.document;
            current.document = NULL;
        } else {
            reply_problem(operation->request, PROBLEM_INTERNAL, "Could not audit the read.");
            outcome = DB_FAILED;
        }
    }
    free(current.document);
    return outcome;
}

void handle_child_get(struct request *request)
{
    const char *id = child_id(request);
    if (id == NULL)
        return;
    struct child_operation operation = {.request = request, .id = id};
    finish(&operation, db_transaction(request->database, get_child, &operation), "read");
}

/* ---- PATCH (JSON Merge Patch, RFC 7396) ----------------------------------- */

static enum db_outcome patch_child(PGconn *connection, void *context)
{
    (void)connection;
    struct child_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    struct current_child current;
    if (enter_child(operation, true, false, &current, &outcome) &&
        check_precondition(operation, &current, &outcome)) {
        json_decref(operation->document);
        operation->document = json_loads(current.document, 0, NULL);
        drop_read_only(operation->document);
        json_merge_patch(operation->document, operation->patch);
        json_t *errors = check_child(operation->document);
        if (json_array_size(errors) > 0) {
            reply_problem_errors(request, PROBLEM_VALIDATION, "The patched child is invalid.",
                                 errors);
            operation->refusal = "invalid";
            outcome = DB_ROLLBACK;
        } else {
            json_decref(errors);
            long long unit_id = resolve_unit(operation, &outcome);
            if (unit_id > 0) {
                operation->status = 200;
                write_child(operation, false, unit_id,
                            current.unit_id != unit_id ? current.unit_id : 0, &outcome);
            }
        }
    }
    free(current.document);
    return outcome;
}

void handle_child_patch(struct request *request)
{
    const char *id = child_id(request);
    json_t *patch = id != NULL ? request_json_body(request) : NULL;
    if (patch == NULL)
        return;
    struct child_operation operation = {.request = request, .id = id, .patch = patch,
                                        .if_match = request_if_match(request)};
    finish(&operation, db_transaction(request->database, patch_child, &operation), "update");
    json_decref(operation.document);
    json_decref(patch);
}

/* ---- DELETE (soft) -------------------------------------------------------- */

static enum db_outcome delete_child(PGconn *connection, void *context)
{
    (void)connection;
    struct child_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    struct current_child current;
    if (enter_child(operation, true, false, &current, &outcome) &&
        check_precondition(operation, &current, &outcome)) {
        struct db_params params;
        db_params_init(&params);
        db_param_text(&params, operation->id);
        db_param_instant(&params, clock_now_us());
        PGresult *result = registry_query(request,
                                          "UPDATE children SET deleted_at = $2, updated_at = $2, "
                                          "version = version + 1 WHERE id = $1 RETURNING version",
                                          &params, &outcome);
        if (result != NULL) {
            long long version = db_integer(result, 0, 0);
            PQclear(result);
            char ids[64];
            snprintf(ids, sizeof ids, "{%s}", operation->id);
            operation->status = 204;
            if (change_record(request, "children", operation->id, operation->id, "delete",
                              version, NULL, 0, 0, &outcome) &&
                !audit_write(request, "delete", "children", ids, current.unit_id, "success"))
                outcome = DB_FAILED;
        }
    }
    free(current.document);
    return outcome;
}

void handle_child_delete(struct request *request)
{
    const char *id = child_id(request);
    if (id == NULL)
        return;
    struct child_operation operation = {.request = request, .id = id,
                                        .if_match = request_if_match(request)};
    finish(&operation, db_transaction(request->database, delete_child, &operation), "delete");
}

/* ---- list ------------------------------------------------------------------ */

struct child_list {
    struct request *request;
    const char *unit;
    const char *hamlet;
    const char *circumstance;
    const char *at_risk;       /* "true" | "false" | NULL */
    char *search;              /* LIKE-escaped */
    const char *updated_since;
    char after[37];            /* from the cursor, or "" */
    long long limit;
    char *items;               /* JSON array text */
    char next_cursor[64];
    bool not_found;
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

static enum db_outcome list_children(PGconn *connection, void *context)
{
    (void)connection;
    struct child_list *list = context;
    struct request *request = list->request;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(request, &outcome))
        return outcome;
    long long unit_id = scope_list_filter(request, list->unit, &list->not_found, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
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
    PGresult *result = registry_query(
        request,
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
    int rows = PQntuples(result);
    bool more = rows > list->limit;
    if (more)
        rows = (int)list->limit;
    /* The items array and the audit's id list, built in one pass. */
    size_t items_size = 2, ids_size = 3;
    for (int row = 0; row < rows; row++) {
        items_size += strlen(db_text(result, row, 1)) + 1;
        ids_size += 37;
    }
    list->items = malloc(items_size + 1);
    char *ids = malloc(ids_size + 1), *items = list->items, *id_cursor = ids;
    *items++ = '[';
    *id_cursor++ = '{';
    for (int row = 0; row < rows; row++) {
        items += sprintf(items, "%s%s", row ? "," : "", db_text(result, row, 1));
        id_cursor += sprintf(id_cursor, "%s%s", row ? "," : "", db_text(result, row, 0));
    }
    strcpy(items, "]");
    strcpy(id_cursor, "}");
    if (more)
        snprintf(list->next_cursor, sizeof list->next_cursor, "%s",
                 db_text(result, rows - 1, 0));
    PQclear(result);
    /* Without a unit filter the list spans the caller's whole scope. */
    bool audited = audit_write(request, "list", "children", ids,
                               unit_id > 0 ? unit_id : request->principal.unit_id, "success");
    free(ids);
    return audited ? DB_COMMIT : DB_FAILED;
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

void handle_children_list(struct request *request)
{
    struct child_list list = {.request = request};
    if (read_list_parameters(request, &list)) {
        enum db_outcome outcome = db_transaction(request->database, list_children, &list);
        if (outcome == DB_COMMIT) {
            char *body = NULL;
            int length;
            if (list.next_cursor[0] != '\0')
                length = asprintf(&body, "{\"items\":%s,\"next_cursor\":\"%s\"}", list.items,
                                  list.next_cursor);
            else
                length = asprintf(&body, "{\"items\":%s,\"next_cursor\":null}", list.items);
            if (length >= 0)
                reply_text(request, 200, "application/json", body, (size_t)length);
            else
                reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        } else if (list.not_found) {
            audit_refusal(request, "list", "children", NULL, "not_found");
        } else if (!request->replied) {
            reply_problem(request, PROBLEM_INTERNAL, "The list could not be read.");
        }
    }
    free(list.items);
    free(list.search);
}
