/* Notes on a case: GET and POST /v1/cases/{id}/notes.  Notes are never in
 * the feed (they are the workers' own), and every read of them is audited
 * as case_notes, naming the case's commune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "http/handlers.h"
#include "json.h"
#include "operation/audit_log.h"

/* A note has no Location of its own (it is listed under its case). */
static void locate_nowhere(const struct operation *operation, char *out, size_t size)
{
    (void)operation;
    if (size > 0)
        out[0] = '\0';
}

/* The case's notes: read through the case (404 "No such case."). */
static const struct resource note_resource = {
    .name = "case", .table = "cases", .document = "case_document(r, now(), true)",
    .audit_type = "case_notes", .read = cases_read, .locate = locate_nowhere};

static enum db_outcome list_notes(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    if (cases_keep_answer(
            operation,
            "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
            "  'id', n.id, 'author', n.author, 'text', n.text, "
            "  'created_at', rfc3339(n.created_at)) ORDER BY n.created_at, n.id), '[]'), "
            "  'next_cursor', NULL)::text FROM case_notes n WHERE n.case_id = $1::uuid",
            &params, &outcome))
        operation->version = 0; /* notes are not versioned: no ETag */
    return outcome;
}

static const struct operation_steps list_steps = {
    .action = "read", .reads_record = true, .query = list_notes, .status = 200};

void handle_case_notes_list(struct request *request)
{
    cases_run(request, &note_resource, &list_steps, NULL, true);
}

static const struct json_field note_fields[] = {
    {.name = "text", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 8000},
};

static json_t *check_note(struct operation *operation)
{
    json_t *errors = json_array();
    json_check_fields(operation->body, note_fields, 1, "", false, errors);
    return errors;
}

static enum db_outcome add_note(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    char note_id[AUTH_UUID_SIZE];
    auth_random_uuid(note_id);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, note_id);
    db_param_text(&params, operation->request->principal.username);
    db_param_text(&params, json_member_string(operation->body, "text"));
    db_param_instant(&params, clock_now_us());
    if (!cases_keep_answer(
            operation,
            "INSERT INTO case_notes (id, case_id, author, text, created_at) "
            "VALUES ($2, $1::uuid, $3, $4, $5) "
            "RETURNING json_build_object('id', id, 'author', author, 'text', text, "
            "  'created_at', rfc3339(created_at))::text",
            &params, &outcome))
        return outcome;
    operation->version = 0; /* notes are not versioned: no ETag */
    /* Not in the feed: the note audits itself, with its case. */
    char ids[96];
    snprintf(ids, sizeof ids, "{%s,%s}", operation->id, note_id);
    if (!audit_log_append(operation->connection, operation->request, "create",
                                   "case_notes", ids, operation->unit_id, "success"))
        return DB_FAILED;
    return DB_COMMIT;
}

/* change NULL: the note audits itself. */
static const struct operation_steps create_steps = {
    .action = "create", .reads_record = true, .check = check_note,
    .invalid_detail = "The note is invalid.", .write = add_note, .status = 201};

void handle_case_note_create(struct request *request)
{
    /* A note's own 422 was never audited. */
    cases_run(request, &note_resource, &create_steps, NULL, false);
}
