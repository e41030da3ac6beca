/* Case management (Decree 56/2017/NĐ-CP, Arts. 25–32): intake (Mẫu 01),
 * the workflow of assessed, planned, approved, reviewed and closed steps
 * with each step's form, the legal deadlines those steps start and stop,
 * and the append-only history.
 *
 * Like the registry, every operation runs in one transaction under the
 * caller's scope (row-level security on cases), is audited, and writes are
 * versioned (If-Match). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/handlers.h"
#include "json.h"
#include "operation/legacy.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500

/* ---- the workflow ---------------------------------------------------------- */

enum case_status {
    STATUS_RECEIVED,
    STATUS_INITIAL_ASSESSED,
    STATUS_EMERGENCY_APPLIED,
    STATUS_DETAILED_ASSESSED,
    STATUS_PLAN_SUBMITTED,
    STATUS_PLAN_APPROVED,
    STATUS_IN_PROGRESS,
    STATUS_REVIEWED,
    STATUS_CLOSED,
    STATUS_COUNT
};

static const char *const status_names[STATUS_COUNT + 1] = {
    "received", "initial_assessed", "emergency_applied", "detailed_assessed", "plan_submitted",
    "plan_approved", "in_progress", "reviewed", "closed", NULL};

static enum case_status status_parse(const char *name)
{
    for (int status = 0; status < STATUS_COUNT; status++)
        if (name != NULL && strcmp(status_names[status], name) == 0)
            return (enum case_status)status;
    return STATUS_COUNT;
}

/* The steps that may follow each status, before the rules that depend on
 * the case's content (serious risk, the review's outcome, the reason). */
static const bool next_steps[STATUS_COUNT][STATUS_COUNT] = {
    [STATUS_RECEIVED] = {[STATUS_INITIAL_ASSESSED] = true, [STATUS_CLOSED] = true},
    [STATUS_INITIAL_ASSESSED] = {[STATUS_EMERGENCY_APPLIED] = true,
                                 [STATUS_DETAILED_ASSESSED] = true, [STATUS_CLOSED] = true},
    [STATUS_EMERGENCY_APPLIED] = {[STATUS_DETAILED_ASSESSED] = true},
    [STATUS_DETAILED_ASSESSED] = {[STATUS_PLAN_SUBMITTED] = true},
    [STATUS_PLAN_SUBMITTED] = {[STATUS_PLAN_APPROVED] = true},
    [STATUS_PLAN_APPROVED] = {[STATUS_IN_PROGRESS] = true},
    [STATUS_IN_PROGRESS] = {[STATUS_REVIEWED] = true},
    /* After a review: close, or re-plan (a new plan is submitted). */
    [STATUS_REVIEWED] = {[STATUS_CLOSED] = true, [STATUS_PLAN_SUBMITTED] = true},
};

struct case_state {
    enum case_status status;
    bool serious_risk;
    const char *review_outcome; /* "close" | "replan" | NULL */
};

/* Whether `to` may follow, given what the case says.  Decree 56: when the
 * initial assessment finds a serious risk, emergency measures come first;
 * an early closure is only for unfounded or duplicate reports. */
static bool transition_allowed(const struct case_state *state, enum case_status to,
                               const char *closed_reason)
{
    if (!next_steps[state->status][to])
        return false;
    if (state->status == STATUS_INITIAL_ASSESSED && to == STATUS_DETAILED_ASSESSED)
        return !state->serious_risk;
    if (state->status == STATUS_INITIAL_ASSESSED && to == STATUS_EMERGENCY_APPLIED)
        return state->serious_risk;
    if (to == STATUS_CLOSED && state->status != STATUS_REVIEWED)
        return closed_reason == NULL || strcmp(closed_reason, "unfounded") == 0 ||
               strcmp(closed_reason, "duplicate") == 0;
    if (state->status == STATUS_REVIEWED && state->review_outcome != NULL)
        return strcmp(state->review_outcome, to == STATUS_CLOSED ? "close" : "replan") == 0;
    return true;
}

/* The allowed next states, as a JSON array (for the 409 problem). */
static json_t *allowed_next(const struct case_state *state)
{
    json_t *allowed = json_array();
    for (int to = 0; to < STATUS_COUNT; to++)
        if (transition_allowed(state, (enum case_status)to, NULL))
            json_array_append_new(allowed, json_string(status_names[to]));
    return allowed;
}

/* ---- the forms of the steps (Mẫu 02 … 07) ------------------------------------ */

static const char *const levels[] = {"none", "low", "medium", "high", NULL};
static const char *const ratings[] = {"high", "medium", "low", NULL};
static const char *const outcomes[] = {"close", "replan", NULL};
static const char *const closed_reasons[] = {"safe_and_stable", "unfounded", "duplicate",
                                             "moved", "turned_16", "deceased", "other", NULL};

static const struct json_field initial_assessment_form[] = {  /* Mẫu 02 */
    {.name = "harm_level", .kind = JSON_FIELD_ENUM, .required = true, .choices = levels},
    {.name = "serious_risk", .kind = JSON_FIELD_BOOLEAN, .required = true},
    {.name = "immediate_needs", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
static const struct json_field emergency_form[] = {  /* Mẫu 07 */
    {.name = "measures", .kind = JSON_FIELD_ARRAY, .required = true},
    {.name = "taken_by", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "decision_number", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 100},
};
static const struct json_field detailed_assessment_form[] = {  /* Mẫu 03 */
    {.name = "physical_state", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 4000},
    {.name = "psychological_state", .kind = JSON_FIELD_STRING, .required = true,
     .min_length = 1, .max_length = 4000},
    {.name = "family_situation", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 4000},
    {.name = "protective_capacity", .kind = JSON_FIELD_STRING, .required = true,
     .min_length = 1, .max_length = 4000},
    {.name = "needs", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 4000},
    {.name = "meeting_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "meeting_minutes", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 8000},
};
static const struct json_field plan_form[] = {  /* Mẫu 04 */
    {.name = "measures", .kind = JSON_FIELD_ARRAY, .required = true},
    {.name = "review_on", .kind = JSON_FIELD_DATE, .required = true},
};
static const struct json_field approval_form[] = {  /* Mẫu 05 */
    {.name = "decision_number", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 100},
    {.name = "decision_on", .kind = JSON_FIELD_DATE, .required = true},
};
static const struct json_field review_form[] = {  /* Mẫu 06 */
    {.name = "harm", .kind = JSON_FIELD_ENUM, .required = true, .choices = ratings},
    {.name = "abuser_access", .kind = JSON_FIELD_ENUM, .required = true, .choices = ratings},
    {.name = "obstacles", .kind = JSON_FIELD_ENUM, .required = true, .choices = ratings},
    {.name = "self_protection", .kind = JSON_FIELD_ENUM, .required = true, .choices = ratings},
    {.name = "recovery", .kind = JSON_FIELD_ENUM, .required = true, .choices = ratings},
    {.name = "outcome", .kind = JSON_FIELD_ENUM, .required = true, .choices = outcomes},
};
static const struct json_field closure_form[] = {
    {.name = "reason", .kind = JSON_FIELD_ENUM, .required = true, .choices = closed_reasons},
};
static const struct json_field no_form[] = {
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

/* Each plan measure (Law on Children, Arts. 49–50). */
static const char *const plan_measures[] = {
    "medical_care", "psychological_therapy", "safe_shelter", "alternative_care",
    "parent_counselling", "legal_aid", "education_support", "material_aid",
    "vocational_training", "other", NULL};
static const char *const sectors[] = {"labour", "health", "education", "justice", "police",
                                      "union", "ngo", "other", NULL};
static const struct json_field plan_measure_fields[] = {
    {.name = "measure", .kind = JSON_FIELD_ENUM, .required = true, .choices = plan_measures},
    {.name = "responsible_sector", .kind = JSON_FIELD_ENUM, .required = true,
     .choices = sectors},
    {.name = "responsible_person", .kind = JSON_FIELD_STRING, .required = true,
     .min_length = 1, .max_length = 200},
    {.name = "planned_from", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "planned_to", .kind = JSON_FIELD_DATE, .nullable = true},
};
static const char *const emergency_measures[] = {"temporary_separation", "safe_shelter",
                                                 "medical_care", "police_protection", "other",
                                                 NULL};

static const struct {
    const struct json_field *fields;
    size_t count;
} step_forms[STATUS_COUNT] = {
#define FORM(status, fields) [status] = {fields, sizeof fields / sizeof fields[0]}
    FORM(STATUS_INITIAL_ASSESSED, initial_assessment_form),
    FORM(STATUS_EMERGENCY_APPLIED, emergency_form),
    FORM(STATUS_DETAILED_ASSESSED, detailed_assessment_form),
    FORM(STATUS_PLAN_SUBMITTED, plan_form),
    FORM(STATUS_PLAN_APPROVED, approval_form),
    FORM(STATUS_IN_PROGRESS, no_form),
    FORM(STATUS_REVIEWED, review_form),
    FORM(STATUS_CLOSED, closure_form),
#undef FORM
};

/* Checks the lists inside the forms that the flat field specs cannot. */
static void check_form_lists(enum case_status to, const json_t *form, json_t *errors)
{
    const json_t *measures = json_object_get(form, "measures");
    if (!json_is_array(measures))
        return;
    if (json_array_size(measures) == 0)
        problem_add_field_error(errors, "/form/measures", "must not be empty");
    size_t index;
    const json_t *measure;
    json_array_foreach(measures, index, measure) {
        char pointer[48];
        snprintf(pointer, sizeof pointer, "/form/measures/%zu", index);
        if (to == STATUS_EMERGENCY_APPLIED) {
            bool known = false;
            for (size_t i = 0; json_is_string(measure) && emergency_measures[i] != NULL; i++)
                known |= strcmp(emergency_measures[i], json_string_value(measure)) == 0;
            if (!known)
                problem_add_field_error(errors, pointer,
                                        "must be one of: temporary_separation, safe_shelter, "
                                        "medical_care, police_protection, other");
        } else if (!json_is_object(measure)) {
            problem_add_field_error(errors, pointer, "must be an object");
        } else {
            json_check_fields(measure, plan_measure_fields,
                              sizeof plan_measure_fields / sizeof plan_measure_fields[0],
                              pointer, false, errors);
        }
    }
}

/* ---- shared pieces ----------------------------------------------------------- */

static const char *const sources[] = {"hotline_111", "police", "school", "health_facility",
                                      "community", "family", "self", "other", NULL};
static const char *const concern_names[] = {"violence", "sexual_abuse", "exploitation",
                                            "trafficking", "neglect", "abandonment", "other",
                                            NULL};

static const struct json_field case_fields[] = {  /* Mẫu 01 */
    {.name = "child_id", .kind = JSON_FIELD_UUID, .required = true},
    {.name = "received_at", .kind = JSON_FIELD_INSTANT, .required = true},
    {.name = "source", .kind = JSON_FIELD_ENUM, .required = true, .choices = sources},
    {.name = "reporter", .kind = JSON_FIELD_OBJECT, .nullable = true},
    {.name = "concerns", .kind = JSON_FIELD_ARRAY, .required = true},
    {.name = "summary", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 4000},
};
static const struct json_field reporter_fields[] = {
    {.name = "name", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 200},
    {.name = "relation", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 100},
    {.name = "phone", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 20},
};
static const struct json_field transition_fields[] = {
    {.name = "to", .kind = JSON_FIELD_ENUM, .required = true, .choices = status_names},
    {.name = "at", .kind = JSON_FIELD_INSTANT, .required = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
    {.name = "form", .kind = JSON_FIELD_OBJECT, .nullable = true},
};

struct case_operation {
    struct request *request;
    const char *id;
    json_t *body;
    long long if_match;
    unsigned status;
    char *document;          /* the answer */
    long long version;
    const char *refusal;     /* audit outcome of a refusal */
    char new_id[AUTH_UUID_SIZE];
};

/* The representation of the case, with its version. */
static bool read_case_document(struct case_operation *operation, const char *id,
                               enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(operation->request,
                                      "SELECT c.version, case_document(c, $2, true)::text "
                                      "  FROM cases c WHERE c.id = $1::uuid", &params, outcome);
    if (result == NULL)
        return false;
    bool found = PQntuples(result) == 1;
    if (found) {
        operation->version = db_integer(result, 0, 0);
        free(operation->document);
        operation->document = strdup(db_text(result, 0, 1));
    }
    PQclear(result);
    return found;
}

static enum db_outcome refuse_case(struct case_operation *operation, enum problem_type type,
                                   const char *outcome_name, const char *detail)
{
    reply_problem(operation->request, type, "%s", detail);
    operation->refusal = outcome_name;
    return DB_ROLLBACK;
}

static bool record_history(struct case_operation *operation, const char *id,
                           const char *action, const char *from, const char *to,
                           const char *note, const json_t *details, const char *at,
                           enum db_outcome *outcome)
{
    char *details_text = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    db_param_text(&params, at);
    db_param_text(&params, operation->request->principal.username);
    db_param_text(&params, action);
    db_param_text(&params, from);
    db_param_text(&params, to);
    db_param_text(&params, note);
    db_param_text(&params, details_text);
    PGresult *result = registry_query(
        operation->request,
        "INSERT INTO case_history (case_id, at, actor, action, from_status, to_status, note, "
        "details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        &params, outcome);
    free(details_text);
    PQclear(result);
    return result != NULL;
}

/* The audit entry of an operation on a case or its notes: ids is the
 * array literal of the records; the entry names the case's commune (where
 * the record lives, as for children), not the caller's unit. */
static bool audit_case_records(struct case_operation *operation, const char *action,
                               const char *resource_type, const char *case_id,
                               const char *ids, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, case_id);
    PGresult *result = registry_query(operation->request,
                                      "SELECT unit_id FROM cases WHERE id = $1::uuid", &params,
                                      outcome);
    if (result == NULL)
        return false;
    long long unit_id = PQntuples(result) == 1 ? db_integer(result, 0, 0)
                                               : operation->request->principal.unit_id;
    PQclear(result);
    if (audit_write(operation->request, action, resource_type, ids, unit_id, "success"))
        return true;
    *outcome = DB_FAILED;
    return false;
}

static bool audit_case(struct case_operation *operation, const char *action, const char *id,
                       enum db_outcome *outcome)
{
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", id);
    return audit_case_records(operation, action, "cases", id, ids, outcome);
}

/* Appends the case to the change feed: status, concerns, deadlines and
 * services, never the reporter (and notes are not part of the case). */
static bool case_changed(struct case_operation *operation, const char *id,
                         const char *change, long long previous_unit_id,
                         enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(operation->request,
                                      "SELECT c.child_id, c.unit_id, c.version, "
                                      "       case_document(c, $2, false)::text "
                                      "  FROM cases c WHERE c.id = $1::uuid",
                                      &params, outcome);
    if (result == NULL)
        return false;
    bool ok = PQntuples(result) == 1 &&
              change_record(operation->request, "cases", id, db_text(result, 0, 0), change,
                            db_integer(result, 0, 2), db_text(result, 0, 3),
                            db_integer(result, 0, 1), previous_unit_id, outcome);
    PQclear(result);
    return ok;
}

static void answer(struct case_operation *operation, enum db_outcome outcome,
                   const char *action, const char *id)
{
    struct request *request = operation->request;
    char location[64];
    snprintf(location, sizeof location, "/v1/cases/%s", id);
    reply_record(request, outcome, &operation->document, operation->status, operation->version,
                 location);
    if (operation->refusal != NULL)
        audit_refusal(request, action, "cases", id, operation->refusal);
    free(operation->document);
}

/* ---- intake (POST /v1/cases) -------------------------------------------------- */

static json_t *check_case(json_t *body)
{
    json_t *errors = json_array();
    if (!json_check_fields(body, case_fields, sizeof case_fields / sizeof case_fields[0], "",
                           false, errors))
        return errors;
    const json_t *reporter = json_object_get(body, "reporter");
    if (json_is_object(reporter))
        json_check_fields(reporter, reporter_fields,
                          sizeof reporter_fields / sizeof reporter_fields[0], "/reporter", false,
                          errors);
    const json_t *concerns = json_object_get(body, "concerns");
    if (json_array_size(concerns) == 0)
        problem_add_field_error(errors, "/concerns", "must name at least one concern");
    size_t index;
    const json_t *concern;
    json_array_foreach(concerns, index, concern) {
        bool known = false;
        for (size_t i = 0; json_is_string(concern) && concern_names[i] != NULL; i++)
            known |= strcmp(concern_names[i], json_string_value(concern)) == 0;
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/concerns/%zu", index);
        if (!known)
            problem_add_field_error(errors, pointer,
                                    "must be one of: violence, sexual_abuse, exploitation, "
                                    "trafficking, neglect, abandonment, other");
    }
    int64_t received;
    if (clock_parse_instant(json_member_string(body, "received_at"), &received) &&
        received > clock_now_us())
        problem_add_field_error(errors, "/received_at", "must not be in the future");
    return errors;
}

static enum db_outcome create_case(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(request, &outcome))
        return outcome;
    enum idempotency idempotency = idempotency_begin(request, &outcome);
    if (idempotency == IDEMPOTENCY_ANSWERED)
        return outcome;
    auth_random_uuid(operation->new_id);
    json_t *reporter = json_object_get(operation->body, "reporter");
    char *reporter_text = json_is_object(reporter) ? json_dumps(reporter, JSON_COMPACT) : NULL;
    char *concerns = json_dumps(json_object_get(operation->body, "concerns"), JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->new_id);
    db_param_text(&params, json_member_string(operation->body, "child_id"));
    db_param_text(&params, json_member_string(operation->body, "received_at"));
    db_param_text(&params, json_member_string(operation->body, "source"));
    db_param_text(&params, reporter_text);
    db_param_text(&params, concerns);
    db_param_text(&params, json_member_string(operation->body, "summary"));
    db_param_instant(&params, clock_now_us());
    /* The case belongs to the child's commune; a child the caller cannot
     * see (row-level security) inserts nothing: 404. */
    PGresult *result = registry_query(
        request,
        "INSERT INTO cases (id, child_id, unit_id, received_at, source, reporter, concerns, "
        "  summary, status, created_at, updated_at) "
        "SELECT $1, c.id, c.unit_id, $3, $4, $5::jsonb, "
        "       ARRAY(SELECT json_array_elements_text($6::json)), $7, 'received', $8, $8 "
        "  FROM children c WHERE c.id = $2::uuid AND c.deleted_at IS NULL",
        &params, &outcome);
    free(reporter_text);
    free(concerns);
    if (result == NULL)
        return outcome;
    bool inserted = strcmp(PQcmdTuples(result), "1") == 0;
    PQclear(result);
    if (!inserted)
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
    if (!record_history(operation, operation->new_id, "received", NULL, "received",
                        json_member_string(operation->body, "summary"), NULL,
                        json_member_string(operation->body, "received_at"), &outcome) ||
        !case_changed(operation, operation->new_id, "create", 0, &outcome) ||
        !read_case_document(operation, operation->new_id, &outcome) ||
        !audit_case(operation, "create", operation->new_id, &outcome))
        return outcome;
    operation->status = 201;
    if (idempotency == IDEMPOTENCY_NEW) {
        char location[64];
        snprintf(location, sizeof location, "/v1/cases/%s", operation->new_id);
        idempotency_store(request, 201, operation->document, location, &outcome);
    }
    return outcome;
}

void handle_case_create(struct request *request)
{
    json_t *body = request_json_body(request);
    if (body == NULL)
        return;
    json_t *errors = check_case(body);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The case is invalid.", errors);
        audit_refusal(request, "create", "cases", json_member_string(body, "child_id"),
                      "invalid");
    } else {
        json_decref(errors);
        struct case_operation operation = {.request = request, .body = body};
        answer(&operation, db_transaction(request->database, create_case, &operation),
               "create", operation.new_id);
    }
    json_decref(body);
}

/* ---- read ---------------------------------------------------------------------- */

/* The {id} of the path in canonical lower case, or NULL after a 404. */
static const char *case_id(struct request *request)
{
    return request_uuid_param(request, "id", "case");
}

static enum db_outcome get_case(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(operation->request, &outcome))
        return outcome;
    if (!read_case_document(operation, operation->id, &outcome))
        return outcome != DB_COMMIT ? outcome
                                    : refuse_case(operation, PROBLEM_NOT_FOUND, "not_found",
                                                  "No such case.");
    operation->status = 200;
    audit_case(operation, "read", operation->id, &outcome);
    return outcome;
}

void handle_case_get(struct request *request)
{
    struct case_operation operation = {.request = request, .id = case_id(request)};
    if (operation.id != NULL)
        answer(&operation, db_transaction(request->database, get_case, &operation), "read",
               operation.id);
}

static enum db_outcome get_history(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(operation->request, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT c.version, (SELECT json_build_object('items', coalesce(json_agg(json_build_object("
        "    'at', rfc3339(h.at), 'actor', h.actor, 'action', h.action, "
        "    'from', h.from_status, 'to', h.to_status, 'note', h.note, 'details', h.details) "
        "    ORDER BY h.id), '[]'), 'next_cursor', NULL) "
        "    FROM case_history h WHERE h.case_id = c.id)::text "
        "  FROM cases c WHERE c.id = $1::uuid",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) != 1) {
        PQclear(result);
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
    }
    operation->version = db_integer(result, 0, 0);
    operation->document = strdup(db_text(result, 0, 1));
    PQclear(result);
    operation->status = 200;
    audit_case(operation, "read", operation->id, &outcome);
    return outcome;
}

void handle_case_history(struct request *request)
{
    struct case_operation operation = {.request = request, .id = case_id(request)};
    if (operation.id != NULL)
        answer(&operation, db_transaction(request->database, get_history, &operation), "read",
               operation.id);
}

/* ---- legal deadlines ------------------------------------------------------------ */

/* Decree 56/2017 Art. 26: the plan is drafted within 5 working days of the
 * detailed assessment; the approval (local procedure sheets) defaults to 2
 * working days after submission.  Both are settings, read when used. */
static long long working_days_setting(const char *name, long long fallback)
{
    long long days;
    char error[128];
    return config_integer(name, fallback, 0, 60, &days, error, sizeof error) ? days : fallback;
}

#define EMERGENCY_HOURS 12 /* Decree 56/2017 Art. 25: emergency measures within 12 hours */
#define MAX_HOLIDAYS 64

/* The end (23:59:59 in Asia/Ho_Chi_Minh) of the day `count` working days
 * after the local date of `at`, skipping weekends and stored holidays. */
static bool working_deadline(struct case_operation *operation, int64_t at, long long count,
                             int64_t *due, enum db_outcome *outcome)
{
    struct civil_date start = clock_local_date(at);
    char start_text[CLOCK_DATE_SIZE];
    date_format(start, start_text);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, start_text);
    PGresult *result = registry_query(operation->request,
                                      "SELECT day::text FROM public_holidays "
                                      " WHERE day > $1::date AND day <= $1::date + 180 "
                                      " ORDER BY day LIMIT 64",
                                      &params, outcome);
    if (result == NULL)
        return false;
    struct civil_date holidays[MAX_HOLIDAYS];
    size_t holiday_count = 0;
    for (int row = 0; row < PQntuples(result) && holiday_count < MAX_HOLIDAYS; row++)
        if (date_parse(db_text(result, row, 0), &holidays[holiday_count]))
            holiday_count++;
    PQclear(result);
    struct civil_date day = civil_add_working_days(start, (int)count, holidays, holiday_count);
    *due = ((civil_to_days(day) + 1) * 86400 - CLOCK_LOCAL_OFFSET_SECONDS - 1) * 1000000LL;
    return true;
}

static bool set_deadline(struct case_operation *operation, const char *kind, int64_t due,
                         enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, kind);
    db_param_instant(&params, due);
    /* A re-plan starts the clocks again. */
    PGresult *result = registry_query(
        operation->request,
        "INSERT INTO case_deadlines (case_id, kind, due_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (case_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, met_at = NULL",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}

static bool meet_deadline(struct case_operation *operation, const char *kind, int64_t at,
                          enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, kind);
    db_param_instant(&params, at);
    PGresult *result = registry_query(operation->request,
                                      "UPDATE case_deadlines SET met_at = $3 "
                                      " WHERE case_id = $1 AND kind = $2 AND met_at IS NULL",
                                      &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* Starts and stops the clocks a step affects. */
static bool update_deadlines(struct case_operation *operation, enum case_status to, int64_t at,
                             int64_t received_at, const json_t *form, enum db_outcome *outcome)
{
    int64_t due;
    switch (to) {
    case STATUS_INITIAL_ASSESSED:
        if (!json_is_true(json_object_get(form, "serious_risk")))
            return true;
        return set_deadline(operation, "emergency",
                            received_at + (int64_t)EMERGENCY_HOURS * 3600 * 1000000, outcome);
    case STATUS_EMERGENCY_APPLIED:
        return meet_deadline(operation, "emergency", at, outcome);
    case STATUS_DETAILED_ASSESSED:
        return working_deadline(operation, at,
                                working_days_setting("BAOVE_PLAN_SUBMISSION_WORKING_DAYS", 5),
                                &due, outcome) &&
               set_deadline(operation, "plan_submission", due, outcome);
    case STATUS_PLAN_SUBMITTED: {
        struct civil_date review;
        date_parse(json_member_string(form, "review_on"), &review);
        int64_t review_due = ((civil_to_days(review) + 1) * 86400 -
                              CLOCK_LOCAL_OFFSET_SECONDS - 1) * 1000000LL;
        return meet_deadline(operation, "plan_submission", at, outcome) &&
               working_deadline(operation, at,
                                working_days_setting("BAOVE_PLAN_APPROVAL_WORKING_DAYS", 2),
                                &due, outcome) &&
               set_deadline(operation, "plan_approval", due, outcome) &&
               set_deadline(operation, "review", review_due, outcome);
    }
    case STATUS_PLAN_APPROVED:
        return meet_deadline(operation, "plan_approval", at, outcome);
    case STATUS_REVIEWED:
        return meet_deadline(operation, "review", at, outcome);
    default:
        return true;
    }
}

/* ---- transitions ----------------------------------------------------------------- */

struct current_case {
    long long version;
    enum case_status status;
    bool serious_risk;
    char review_outcome[16];
    int64_t received_at;
    int64_t last_step_at;   /* when the latest step happened */
};

static bool read_current_case(struct case_operation *operation, struct current_case *current,
                              bool *found, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT version, status, coalesce(serious_risk, false), "
        "       coalesce(forms->'reviewed'->>'outcome', ''), rfc3339(received_at), "
        "       rfc3339((SELECT max(h.at) FROM case_history h WHERE h.case_id = cases.id "
        "                   AND h.to_status IS NOT NULL)) "
        "  FROM cases WHERE id = $1::uuid FOR UPDATE",
        &params, outcome);
    if (result == NULL)
        return false;
    *found = PQntuples(result) == 1;
    if (*found) {
        current->version = db_integer(result, 0, 0);
        current->status = status_parse(db_text(result, 0, 1));
        current->serious_risk = db_bool(result, 0, 2);
        snprintf(current->review_outcome, sizeof current->review_outcome, "%s",
                 db_text(result, 0, 3));
        clock_parse_instant(db_text(result, 0, 4), &current->received_at);
        current->last_step_at = current->received_at;
        if (db_text(result, 0, 5) != NULL)
            clock_parse_instant(db_text(result, 0, 5), &current->last_step_at);
    }
    PQclear(result);
    return true;
}

/* 428 without If-Match; 412 with the current case when it is stale. */
static bool case_precondition(struct case_operation *operation, long long version,
                              enum db_outcome *outcome)
{
    if (operation->if_match == version)
        return true;
    if (operation->if_match == 0) {
        *outcome = refuse_case(operation, PROBLEM_PRECONDITION_REQUIRED, "conflict",
                               "Send If-Match with the ETag of the version you last read.");
        return false;
    }
    if (read_case_document(operation, operation->id, outcome)) {
        reply_etag(operation->request, operation->version);
        reply_problem_members(operation->request, PROBLEM_PRECONDITION_FAILED,
                              "The case was changed since that version; the current case is in "
                              "`current`.",
                              json_pack("{s:o}", "current",
                                        json_loads(operation->document, 0, NULL)));
        operation->refusal = "conflict";
        *outcome = DB_ROLLBACK;
    }
    return false;
}

/* Checks the step's form; answers 422 (false) when it is wrong. */
static bool check_step_form(struct case_operation *operation, enum case_status to,
                            const json_t *form, int64_t at, const struct current_case *current,
                            enum db_outcome *outcome)
{
    json_t *errors = json_array();
    json_check_fields(form, step_forms[to].fields, step_forms[to].count, "/form", false, errors);
    check_form_lists(to, form, errors);
    if (at > clock_now_us())
        problem_add_field_error(errors, "/at", "must not be in the future");
    if (at < current->last_step_at)
        problem_add_field_error(errors, "/at", "must not be before the previous step");
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    reply_problem_errors(operation->request, PROBLEM_VALIDATION, "The step's form is invalid.",
                         errors);
    operation->refusal = "invalid";
    *outcome = DB_ROLLBACK;
    return false;
}

static bool apply_transition(struct case_operation *operation, enum case_status to,
                             const json_t *form, const char *at_text, enum db_outcome *outcome)
{
    /* Stored in the district's time, whatever offset the client used. */
    int64_t at = 0;
    char local_at[CLOCK_INSTANT_SIZE];
    clock_parse_instant(at_text, &at);
    clock_format_local_instant(at, local_at, sizeof local_at);
    json_t *step = json_deep_copy(form);
    json_object_set_new(step, "at", json_string(local_at));
    json_object_set_new(step, "by", json_string(operation->request->principal.username));
    char *step_text = json_dumps(step, JSON_COMPACT);
    json_decref(step);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, status_names[to]);
    db_param_text(&params, step_text);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        operation->request,
        "UPDATE cases SET status = $2::text, "
        "  forms = forms || jsonb_build_object($2::text, $3::jsonb), "
        "  serious_risk = CASE WHEN $2::text = 'initial_assessed' "
        "                      THEN ($3::jsonb->>'serious_risk')::boolean ELSE serious_risk END, "
        "  closed_reason = CASE WHEN $2::text = 'closed' THEN $3::jsonb->>'reason' END, "
        "  version = version + 1, updated_at = $4 WHERE id = $1::uuid",
        &params, outcome);
    free(step_text);
    PQclear(result);
    return result != NULL;
}

static enum db_outcome transition_case(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    struct request *request = operation->request;
    enum db_outcome outcome = DB_COMMIT;
    struct current_case current;
    bool found = false;
    if (!scope_enter(request, &outcome) ||
        !read_current_case(operation, &current, &found, &outcome))
        return outcome;
    if (!found)
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
    if (!case_precondition(operation, current.version, &outcome))
        return outcome;
    enum case_status to = status_parse(json_member_string(operation->body, "to"));
    /* Approving the plan is the commune chair's decision (Mẫu 05). */
    if (to == STATUS_PLAN_APPROVED && request->principal.role != ROLE_COMMUNE_CHAIR &&
        request->principal.role != ROLE_ADMIN)
        return refuse_case(operation, PROBLEM_FORBIDDEN, "denied",
                           "Only the commune chair approves a plan.");
    json_t *empty = json_object();
    const json_t *form = json_is_object(json_object_get(operation->body, "form"))
                             ? json_object_get(operation->body, "form") : empty;
    const char *at_text = json_member_string(operation->body, "at");
    int64_t at = 0;
    clock_parse_instant(at_text, &at);
    struct case_state state = {current.status, current.serious_risk,
                               current.review_outcome[0] ? current.review_outcome : NULL};
    const char *reason = json_member_string(form, "reason");
    if (!transition_allowed(&state, to, reason)) {
        reply_problem_members(request, PROBLEM_CONFLICT,
                              "This step cannot follow the case's current state.",
                              json_pack("{s:s, s:o}", "current_status",
                                        status_names[current.status], "allowed",
                                        allowed_next(&state)));
        operation->refusal = "conflict";
        outcome = DB_ROLLBACK;
    } else if (check_step_form(operation, to, form, at, &current, &outcome) &&
               apply_transition(operation, to, form, at_text, &outcome) &&
               update_deadlines(operation, to, at, current.received_at, form, &outcome) &&
               record_history(operation, operation->id, "transition",
                              status_names[current.status], status_names[to],
                              json_member_string(operation->body, "note"), form, at_text,
                              &outcome) &&
               case_changed(operation, operation->id, "update", 0, &outcome) &&
               read_case_document(operation, operation->id, &outcome) &&
               audit_case(operation, "update", operation->id, &outcome)) {
        operation->status = 200;
    }
    json_decref(empty);
    return outcome;
}

/* Parses and checks a change's body, then runs it in a transaction and
 * answers: the shape of PATCH, transfer and transitions alike. */
static void change_case(struct request *request, const struct json_field *fields,
                        size_t field_count, enum db_outcome (*body)(PGconn *, void *),
                        const char *invalid)
{
    struct case_operation operation = {.request = request, .id = case_id(request)};
    if (operation.id == NULL || (operation.body = request_json_body(request)) == NULL)
        return;
    json_t *errors = json_array();
    if (!json_check_fields(operation.body, fields, field_count, "", false, errors)) {
        reply_problem_errors(request, PROBLEM_VALIDATION, invalid, errors);
        audit_refusal(request, "update", "cases", operation.id, "invalid");
    } else {
        json_decref(errors);
        operation.if_match = request_if_match(request);
        answer(&operation, db_transaction(request->database, body, &operation), "update",
               operation.id);
    }
    json_decref(operation.body);
}

void handle_case_transition(struct request *request)
{
    change_case(request, transition_fields,
                sizeof transition_fields / sizeof transition_fields[0], transition_case,
                "The transition is invalid.");
}

/* ---- the list ---------------------------------------------------------------------- */

struct case_list {
    struct request *request;
    const char *unit, *status, *concern, *overdue, *emergency, *cursor;
    bool assigned_to_me;
    long long limit;
    char *body;
    bool unit_not_found;
};

static enum db_outcome read_case_list(PGconn *connection, void *context)
{
    (void)connection;
    struct case_list *list = context;
    struct request *request = list->request;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(request, &outcome))
        return outcome;
    long long unit_id = scope_list_filter(request, list->unit, &list->unit_not_found, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    db_param_id(&params, unit_id);
    db_param_text(&params, today);
    db_param_text(&params, list->status);
    db_param_text(&params, list->concern);
    db_param_text(&params, list->overdue);
    db_param_text(&params, list->emergency);
    db_param_text(&params, list->assigned_to_me ? request->principal.id : NULL);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, list->limit);
    /* Overdue: a deadline missed, or pending and past due, at "now". */
    PGresult *result = registry_query(
        request,
        "WITH page AS (SELECT c.id, row_number() OVER (ORDER BY c.id) AS rank FROM cases c "
        "  WHERE ($2::bigint IS NULL OR c.unit_id IN (SELECT id FROM unit_subtree($2, $3))) "
        "    AND ($4::text IS NULL OR c.status = $4) "
        "    AND ($5::text IS NULL OR $5 = ANY (c.concerns)) "
        "    AND ($6::boolean IS NULL OR $6 = (c.status <> 'closed' AND EXISTS ( "
        "         SELECT 1 FROM case_deadlines d WHERE d.case_id = c.id "
        "            AND deadline_state(d.due_at, d.met_at, $1) = 'missed'))) "
        "    AND ($7::boolean IS NULL OR $7 = coalesce(c.serious_risk, false)) "
        "    AND ($8::uuid IS NULL OR c.assigned_to = $8::uuid) "
        "    AND ($9::uuid IS NULL OR c.id > $9::uuid) "
        "  ORDER BY c.id LIMIT $10 + 1) "
        "SELECT coalesce(json_agg(case_document(c, $1, true) ORDER BY c.id) "
        "         FILTER (WHERE p.rank <= $10), '[]')::text, "
        "       CASE WHEN count(*) > $10 THEN max(c.id::text) FILTER (WHERE p.rank <= $10) END, "
        "       coalesce(array_agg(c.id) FILTER (WHERE p.rank <= $10), '{}')::text "
        "  FROM page p JOIN cases c ON c.id = p.id",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    const char *next = db_text(result, 0, 1);
    int length = next != NULL
                     ? asprintf(&list->body, "{\"items\":%s,\"next_cursor\":\"%s\"}",
                                db_text(result, 0, 0), next)
                     : asprintf(&list->body, "{\"items\":%s,\"next_cursor\":null}",
                                db_text(result, 0, 0));
    bool audited = audit_write(request, "list", "cases", db_text(result, 0, 2),
                               unit_id > 0 ? unit_id : request->principal.unit_id, "success");
    PQclear(result);
    if (length < 0)
        list->body = NULL;
    return audited && list->body != NULL ? DB_COMMIT : DB_FAILED;
}

static void list_cases(struct case_list *list)
{
    struct request *request = list->request;
    enum db_outcome outcome = db_transaction(request->database, read_case_list, list);
    reply_record(request, outcome, &list->body, 200, 0, NULL);
    if (outcome != DB_COMMIT && list->unit_not_found)
        audit_refusal(request, "list", "cases", NULL, "not_found");
    free(list->body);
}

void handle_cases_list(struct request *request)
{
    const char *unit = request_query(request, "unit");
    const char *status = request_query(request, "status");
    const char *concern = request_query(request, "concern");
    const char *overdue = request_query(request, "overdue");
    const char *assigned_to = request_query(request, "assigned_to");
    const char *emergency = request_query(request, "emergency");
    const char *cursor = request_query(request, "cursor");
    const char *limit_text = request_query(request, "limit");
    long long limit = LIST_DEFAULT_LIMIT;
    json_t *errors = json_array();
    if (status != NULL && status_parse(status) == STATUS_COUNT)
        problem_add_parameter_error(errors, "status", "is not a case status");
    bool known_concern = concern == NULL;
    for (size_t i = 0; !known_concern && concern_names[i] != NULL; i++)
        known_concern = strcmp(concern_names[i], concern) == 0;
    if (!known_concern)
        problem_add_parameter_error(errors, "concern", "is not a known concern");
    if (overdue != NULL && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0)
        problem_add_parameter_error(errors, "overdue", "must be true or false");
    if (emergency != NULL && strcmp(emergency, "true") != 0 && strcmp(emergency, "false") != 0)
        problem_add_parameter_error(errors, "emergency", "must be true or false");
    if (assigned_to != NULL && strcmp(assigned_to, "me") != 0)
        problem_add_parameter_error(errors, "assigned_to", "must be me");
    if (cursor != NULL && !json_is_uuid_text(cursor))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit_text != NULL && !config_parse_integer(limit_text, 1, LIST_MAX_LIMIT, &limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", LIST_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    struct case_list list = {.request = request, .unit = unit, .status = status,
                             .concern = concern, .overdue = overdue, .emergency = emergency,
                             .assigned_to_me = assigned_to != NULL, .cursor = cursor,
                             .limit = limit};
    list_cases(&list);
}

/* ---- assignment and summary (PATCH /v1/cases/{id}) ----------------------------------- */

static const struct json_field case_patch_fields[] = {
    {.name = "assigned_to", .kind = JSON_FIELD_STRING, .nullable = true, .min_length = 1,
     .max_length = 64},
    {.name = "summary", .kind = JSON_FIELD_STRING, .min_length = 1, .max_length = 4000},
};

/* Locks the case and checks If-Match; false when the transaction must end. */
static bool enter_case(struct case_operation *operation, struct current_case *current,
                       enum db_outcome *outcome)
{
    bool found = false;
    if (!scope_enter(operation->request, outcome) ||
        !read_current_case(operation, current, &found, outcome))
        return false;
    if (!found) {
        *outcome = refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
        return false;
    }
    return case_precondition(operation, current->version, outcome);
}

/* A change to what the case contains (its services) is a new version. */
static bool touch_case(struct case_operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(operation->request,
                                      "UPDATE cases SET version = version + 1, updated_at = $2 "
                                      " WHERE id = $1::uuid",
                                      &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* Finishes a change to the case: history, feed, the new representation, audit. */
static bool case_updated(struct case_operation *operation, const char *action,
                         const char *note, const json_t *details, long long previous_unit_id,
                         enum db_outcome *outcome)
{
    char now[CLOCK_INSTANT_SIZE];
    clock_format_instant(clock_now_us(), now, sizeof now);
    if (!record_history(operation, operation->id, action, NULL, NULL, note, details, now,
                        outcome) ||
        !case_changed(operation, operation->id, "update", previous_unit_id, outcome) ||
        !read_case_document(operation, operation->id, outcome) ||
        !audit_case(operation, "update", operation->id, outcome))
        return false;
    operation->status = 200;
    return true;
}

static enum db_outcome patch_case(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    struct current_case current;
    if (!enter_case(operation, &current, &outcome))
        return outcome;
    const json_t *assignee = json_object_get(operation->body, "assigned_to");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_bool(&params, assignee != NULL);
    db_param_text(&params, json_is_string(assignee) ? json_string_value(assignee) : NULL);
    db_param_text(&params, json_member_string(operation->body, "summary"));
    db_param_instant(&params, clock_now_us());
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    db_param_text(&params, today);
    /* The assignee must be an active person who may handle cases and whose
     * area includes the case's commune (another commune's officer could not
     * even see it). */
    PGresult *result = registry_query(
        operation->request,
        "WITH assignee AS (SELECT p.id FROM principals p, cases c "
        "                   WHERE lower(p.username) = lower($3) AND c.id = $1::uuid "
        "                     AND p.kind = 'user' AND p.disabled_at IS NULL AND p.role IN "
        "                    ('admin', 'district_officer', 'commune_officer', 'commune_chair') "
        "                     AND c.unit_id IN (SELECT id FROM unit_subtree(p.unit_id, "
        "                                                                   $6::date))) "
        "UPDATE cases SET assigned_to = CASE WHEN $2 THEN (SELECT id FROM assignee) "
        "                                    ELSE assigned_to END, "
        "  summary = coalesce($4, summary), version = version + 1, updated_at = $5 "
        " WHERE id = $1::uuid AND ($3 IS NULL OR EXISTS (SELECT 1 FROM assignee)) "
        "RETURNING id",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool updated = PQntuples(result) == 1;
    PQclear(result);
    if (!updated) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/assigned_to",
                                "must be the username of an active case worker whose "
                                "area includes the case's commune");
        reply_problem_errors(operation->request, PROBLEM_VALIDATION, "The change is invalid.",
                             errors);
        operation->refusal = "invalid";
        return DB_ROLLBACK;
    }
    case_updated(operation, assignee != NULL ? "assigned" : "updated", NULL, operation->body, 0,
                 &outcome);
    return outcome;
}

void handle_case_patch(struct request *request)
{
    change_case(request, case_patch_fields,
                sizeof case_patch_fields / sizeof case_patch_fields[0], patch_case,
                "The change is invalid.");
}

/* ---- transfer to another commune ---------------------------------------------------- */

static const struct json_field transfer_fields[] = {
    {.name = "to_unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static enum db_outcome transfer_case(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    struct current_case current;
    if (!enter_case(operation, &current, &outcome))
        return outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    long long unit_id = scope_commune(operation->request,
                                      json_member_string(operation->body, "to_unit"), today,
                                      &outcome);
    if (unit_id < 0)
        return outcome;
    if (current.status == STATUS_CLOSED)
        return refuse_case(operation, PROBLEM_CONFLICT, "conflict",
                           "A closed case is not transferred.");
    struct db_params unit_params;
    db_params_init(&unit_params);
    db_param_text(&unit_params, operation->id);
    db_param_integer(&unit_params, unit_id);
    PGresult *same = registry_query(operation->request,
                                    "SELECT unit_id = $2 FROM cases WHERE id = $1::uuid",
                                    &unit_params, &outcome);
    if (same == NULL)
        return outcome;
    bool already_there = db_bool(same, 0, 0);
    PQclear(same);
    if (unit_id == 0 || already_there) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "/to_unit",
                                unit_id == 0 ? "must be a commune within your scope"
                                             : "is already the case's commune");
        reply_problem_errors(operation->request, PROBLEM_VALIDATION,
                             "The transfer is invalid.", errors);
        operation->refusal = "invalid";
        return DB_ROLLBACK;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        operation->request,
        "UPDATE cases n SET unit_id = $2, version = n.version + 1, updated_at = $3 "
        "  FROM cases o WHERE n.id = $1::uuid AND o.id = n.id RETURNING o.unit_id",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    long long previous = db_integer(result, 0, 0);
    PQclear(result);
    json_t *details = json_pack("{s:s}", "to_unit", json_member_string(operation->body, "to_unit"));
    /* The old commune loses the case: the feed tells it so (a scope exit). */
    case_updated(operation, "transferred", json_member_string(operation->body, "note"), details,
                 previous != unit_id ? previous : 0, &outcome);
    json_decref(details);
    return outcome;
}

void handle_case_transfer(struct request *request)
{
    change_case(request, transfer_fields, sizeof transfer_fields / sizeof transfer_fields[0],
                transfer_case, "The transfer is invalid.");
}

/* ---- notes (never in the feed; every read audited) ------------------------------------ */

static const struct json_field note_fields[] = {
    {.name = "text", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 8000},
};

static enum db_outcome notes(PGconn *connection, void *context)
{
    (void)connection;
    struct case_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(operation->request, &outcome))
        return outcome;
    bool create = operation->body != NULL;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    if (create) {
        auth_random_uuid(operation->new_id);
        db_param_text(&params, operation->new_id);
        db_param_text(&params, operation->request->principal.username);
        db_param_text(&params, json_member_string(operation->body, "text"));
        db_param_instant(&params, clock_now_us());
    }
    PGresult *result = registry_query(
        operation->request,
        create ? "INSERT INTO case_notes (id, case_id, author, text, created_at) "
                 "SELECT $2, c.id, $3, $4, $5 FROM cases c WHERE c.id = $1::uuid "
                 "RETURNING json_build_object('id', id, 'author', author, 'text', text, "
                 "  'created_at', rfc3339(created_at))::text"
               : "SELECT (SELECT json_build_object('items', coalesce(json_agg(json_build_object("
                 "  'id', n.id, 'author', n.author, 'text', n.text, "
                 "  'created_at', rfc3339(n.created_at)) ORDER BY n.created_at, n.id), '[]'), "
                 "  'next_cursor', NULL) FROM case_notes n WHERE n.case_id = c.id)::text "
                 "  FROM cases c WHERE c.id = $1::uuid",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) != 1) {
        PQclear(result);
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
    }
    operation->document = strdup(db_text(result, 0, 0));
    PQclear(result);
    operation->status = create ? 201 : 200;
    char ids[96];
    snprintf(ids, sizeof ids, create ? "{%s,%s}" : "{%s}", operation->id, operation->new_id);
    audit_case_records(operation, create ? "create" : "read", "case_notes", operation->id, ids,
                       &outcome);
    return outcome;
}

static void answer_notes(struct case_operation *operation)
{
    struct request *request = operation->request;
    enum db_outcome outcome = db_transaction(request->database, notes, operation);
    reply_record(request, outcome, &operation->document, operation->status, 0, NULL);
    if (operation->refusal != NULL)
        audit_refusal(request, operation->body ? "create" : "read", "case_notes", operation->id,
                      operation->refusal);
    free(operation->document);
}

void handle_case_notes_list(struct request *request)
{
    struct case_operation operation = {.request = request, .id = case_id(request)};
    if (operation.id != NULL)
        answer_notes(&operation);
}

void handle_case_note_create(struct request *request)
{
    struct case_operation operation = {.request = request, .id = case_id(request)};
    if (operation.id == NULL || (operation.body = request_json_body(request)) == NULL)
        return;
    json_t *errors = json_array();
    if (!json_check_fields(operation.body, note_fields, 1, "", false, errors)) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The note is invalid.", errors);
    } else {
        json_decref(errors);
        answer_notes(&operation);
    }
    json_decref(operation.body);
}

/* ---- services of the plan ----------------------------------------------------------- */

static const char *const service_statuses[] = {"planned", "delivered", "cancelled", NULL};

static const struct json_field service_fields[] = {
    {.name = "measure", .kind = JSON_FIELD_ENUM, .required = true, .choices = plan_measures},
    {.name = "provider_sector", .kind = JSON_FIELD_ENUM, .required = true, .choices = sectors},
    {.name = "responsible", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "planned_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "delivered_on", .kind = JSON_FIELD_DATE, .nullable = true},
    {.name = "status", .kind = JSON_FIELD_ENUM, .required = true, .choices = service_statuses},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};
#define SERVICE_FIELD_COUNT (sizeof service_fields / sizeof service_fields[0])

/* The kind of child support a delivered measure counts as. */
static const char *support_kind_of(const char *measure)
{
    static const char *const pairs[][2] = {
        {"psychological_therapy", "psychological_counselling"},
        {"parent_counselling", "psychological_counselling"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (strcmp(pairs[i][0], measure) == 0)
            return pairs[i][1];
    return measure; /* the other measures share their support kind's name */
}

static json_t *check_service(json_t *service)
{
    json_t *errors = json_array();
    if (!json_check_fields(service, service_fields, SERVICE_FIELD_COUNT, "", false, errors))
        return errors;
    bool delivered = strcmp(json_member_string(service, "status"), "delivered") == 0;
    const char *delivered_on = json_member_string(service, "delivered_on");
    struct civil_date day;
    if (delivered != (delivered_on != NULL))
        problem_add_field_error(errors, "/delivered_on",
                                "is required exactly when the status is delivered");
    else if (delivered_on != NULL && date_parse(delivered_on, &day) &&
             civil_compare(day, clock_today()) > 0)
        problem_add_field_error(errors, "/delivered_on", "must not be in the future");
    return errors;
}

struct service_operation {
    struct case_operation base;
    const char *service_id;  /* PATCH */
    char new_id[AUTH_UUID_SIZE];
};

/* A delivered service is also a support of the child (one source of truth
 * for the "supported" indicator), linked both ways, and reaches the change
 * feed like any support.  The first delivery creates the support; later
 * edits of the delivered service (date, measure, sector, note) update it,
 * so the two never disagree. */
#define SUPPORT_DOCUMENT                                                                    \
    "((to_jsonb(r) - 'created_at' - 'updated_at') || "                                      \
    "  jsonb_build_object('created_at', rfc3339(r.created_at), "                             \
    "                     'updated_at', rfc3339(r.updated_at)))::text"

/* Parameters of both: $1 case, $2 service, $3 kind, $4 provider sector,
 * $5 delivered on, $6 note, $7 now; $8 the new support's id. */
static const char create_support_sql[] =
    "WITH support AS (INSERT INTO child_supports AS r (id, child_id, kind, level, "
    "    provider_sector, provided_on, funded_by_fund, note, version, created_at, "
    "    updated_at, case_id, case_service_id) "
    "  SELECT $8, c.child_id, $3, 'intervention', $4, $5, false, $6, 1, $7, $7, c.id, $2 "
    "    FROM cases c WHERE c.id = $1::uuid "
    "  RETURNING r.id, r.child_id, r.version, " SUPPORT_DOCUMENT " AS document), "
    "linked AS (UPDATE case_services SET support_id = $8 WHERE id = $2::uuid) "
    "SELECT id, child_id, version, document FROM support";

/* Changes nothing (no row) when the support already says the same. */
static const char update_support_sql[] =
    "UPDATE child_supports r SET kind = $3, provider_sector = $4, provided_on = $5, "
    "       note = $6, version = r.version + 1, updated_at = $7 "
    "  FROM case_services s "
    " WHERE s.id = $2::uuid AND s.case_id = $1::uuid AND r.id = s.support_id "
    "   AND (r.kind, r.provider_sector, r.provided_on, r.note) "
    "       IS DISTINCT FROM ($3, $4, $5::date, $6) "
    "RETURNING r.id, r.child_id, r.version, " SUPPORT_DOCUMENT;

static bool record_delivery(struct case_operation *operation, const char *service_id,
                            const json_t *service, bool first_delivery,
                            enum db_outcome *outcome)
{
    char support_id[AUTH_UUID_SIZE];
    auth_random_uuid(support_id);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, service_id);
    db_param_text(&params, support_kind_of(json_member_string(service, "measure")));
    db_param_text(&params, json_member_string(service, "provider_sector"));
    db_param_text(&params, json_member_string(service, "delivered_on"));
    db_param_text(&params, json_member_string(service, "note"));
    db_param_instant(&params, clock_now_us());
    if (first_delivery)
        db_param_text(&params, support_id);
    PGresult *result = registry_query(operation->request,
                                      first_delivery ? create_support_sql : update_support_sql,
                                      &params, outcome);
    if (result == NULL)
        return false;
    bool ok = (!first_delivery && PQntuples(result) == 0) ||
              (PQntuples(result) == 1 &&
               change_record(operation->request, "supports", db_text(result, 0, 0),
                             db_text(result, 0, 1), first_delivery ? "create" : "update",
                             db_integer(result, 0, 2), db_text(result, 0, 3), 0, 0, outcome));
    PQclear(result);
    return ok;
}

static enum db_outcome add_service(PGconn *connection, void *context)
{
    (void)connection;
    struct service_operation *service = context;
    struct case_operation *operation = &service->base;
    enum db_outcome outcome = DB_COMMIT;
    bool found = false;
    struct current_case current;
    if (!scope_enter(operation->request, &outcome) ||
        !read_current_case(operation, &current, &found, &outcome))
        return outcome;
    if (!found)
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such case.");
    if (current.status == STATUS_CLOSED)
        return refuse_case(operation, PROBLEM_CONFLICT, "conflict",
                           "The case is closed: its plan takes no more services.");
    enum idempotency idempotency = idempotency_begin(operation->request, &outcome);
    if (idempotency == IDEMPOTENCY_ANSWERED)
        return outcome;
    auth_random_uuid(service->new_id);
    char *body = json_dumps(operation->body, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, body);
    db_param_text(&params, service->new_id);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        operation->request,
        "INSERT INTO case_services SELECT * FROM jsonb_populate_record(NULL::case_services, "
        "  $1::jsonb || jsonb_build_object('id', $2::uuid, 'case_id', $3::uuid, 'version', 1, "
        "  'created_at', $4::timestamptz, 'updated_at', $4::timestamptz))",
        &params, &outcome);
    free(body);
    PQclear(result);
    if (result == NULL)
        return outcome;
    if (strcmp(json_member_string(operation->body, "status"), "delivered") == 0 &&
        !record_delivery(operation, service->new_id, operation->body, true, &outcome))
        return outcome;
    json_t *details = json_pack("{s:s, s:O}", "service_id", service->new_id, "service",
                                operation->body);
    bool updated = touch_case(operation, &outcome) &&
                   case_updated(operation, "updated", "service added", details, 0, &outcome);
    json_decref(details);
    if (!updated)
        return outcome;
    operation->status = 201;
    if (idempotency == IDEMPOTENCY_NEW) {
        char location[64];
        snprintf(location, sizeof location, "/v1/cases/%s", operation->id);
        idempotency_store(operation->request, 201, operation->document, location, &outcome);
    }
    return outcome;
}

void handle_case_service_create(struct request *request)
{
    struct service_operation service = {.base = {.request = request, .id = case_id(request)}};
    struct case_operation *operation = &service.base;
    if (operation->id == NULL || (operation->body = request_json_body(request)) == NULL)
        return;
    json_t *errors = check_service(operation->body);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The service is invalid.", errors);
    } else {
        json_decref(errors);
        answer(operation, db_transaction(request->database, add_service, &service), "update",
               operation->id);
    }
    json_decref(operation->body);
}

static enum db_outcome change_service(PGconn *connection, void *context)
{
    (void)connection;
    struct service_operation *service = context;
    struct case_operation *operation = &service->base;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(operation->request, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, service->service_id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT s.version, s.status, (to_jsonb(s) - 'id' - 'case_id' - 'support_id' - "
        "  'version' - 'created_at' - 'updated_at')::text "
        "  FROM case_services s WHERE s.case_id = $1::uuid AND s.id = $2::uuid FOR UPDATE",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) != 1) {
        PQclear(result);
        return refuse_case(operation, PROBLEM_NOT_FOUND, "not_found", "No such service.");
    }
    long long version = db_integer(result, 0, 0);
    bool was_delivered = strcmp(db_text(result, 0, 1), "delivered") == 0;
    json_t *merged = json_loads(db_text(result, 0, 2), 0, NULL);
    PQclear(result);
    if (operation->if_match != version) {
        json_decref(merged);
        reply_etag(operation->request, version);
        return refuse_case(operation,
                           operation->if_match == 0 ? PROBLEM_PRECONDITION_REQUIRED
                                                    : PROBLEM_PRECONDITION_FAILED,
                           "conflict", "Send If-Match with the service's current version.");
    }
    /* Absent members are null in the stored row: drop them before merging. */
    const char *key;
    json_t *value;
    void *iterator_safe;
    json_object_foreach_safe(merged, iterator_safe, key, value)
        if (json_is_null(value))
            json_object_del(merged, key);
    json_merge_patch(merged, operation->body);
    json_t *errors = check_service(merged);
    if (json_array_size(errors) == 0 && was_delivered &&
        strcmp(json_member_string(merged, "status"), "delivered") != 0)
        problem_add_field_error(errors, "/status", "a delivered service stays delivered");
    if (json_array_size(errors) > 0) {
        json_decref(merged);
        reply_problem_errors(operation->request, PROBLEM_VALIDATION, "The service is invalid.",
                             errors);
        operation->refusal = "invalid";
        return DB_ROLLBACK;
    }
    json_decref(errors);
    char *text = json_dumps(merged, JSON_COMPACT);
    db_param_text(&params, text);
    db_param_instant(&params, clock_now_us());
    result = registry_query(
        operation->request,
        "UPDATE case_services s SET measure = i.measure, provider_sector = i.provider_sector, "
        "  responsible = i.responsible, planned_on = i.planned_on, "
        "  delivered_on = i.delivered_on, status = i.status, note = i.note, "
        "  version = s.version + 1, updated_at = $4 "
        "  FROM jsonb_populate_record(NULL::case_services, $3::jsonb) i "
        " WHERE s.case_id = $1::uuid AND s.id = $2::uuid",
        &params, &outcome);
    free(text);
    PQclear(result);
    bool delivered = strcmp(json_member_string(merged, "status"), "delivered") == 0;
    if (result != NULL &&
        (!delivered ||
         record_delivery(operation, service->service_id, merged, !was_delivered, &outcome))) {
        json_t *details = json_pack("{s:s, s:O}", "service_id", service->service_id, "change",
                                    operation->body);
        if (touch_case(operation, &outcome))
            case_updated(operation, "updated", "service changed", details, 0, &outcome);
        json_decref(details);
    }
    json_decref(merged);
    return outcome;
}

void handle_case_service_patch(struct request *request)
{
    struct service_operation service = {.base = {.request = request, .id = case_id(request)}};
    struct case_operation *operation = &service.base;
    if (operation->id == NULL ||
        (service.service_id = request_uuid_param(request, "service_id", "service")) == NULL)
        return;
    if ((operation->body = request_json_body(request)) == NULL)
        return;
    operation->if_match = request_if_match(request);
    answer(operation, db_transaction(request->database, change_service, &service), "update",
           operation->id);
    json_decref(operation->body);
}
