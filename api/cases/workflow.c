/* The workflow of a case (Decree 56/2017/NĐ-CP, Arts. 25–32): which step
 * may follow which, the form each step records (Mẫu 02 … 07), and the
 * transition that applies a step: the case's status and forms, the legal
 * deadlines it starts and stops, the history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/cases.h"
#include "http/handlers.h"
#include "http/server.h"
#include "json.h"

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
            json_array_append_new(allowed, json_string(case_status_names[to]));
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

static const struct json_field plan_measure_fields[] = {
    {.name = "measure", .kind = JSON_FIELD_ENUM, .required = true, .choices = case_plan_measures},
    {.name = "responsible_sector", .kind = JSON_FIELD_ENUM, .required = true,
     .choices = case_sectors},
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

static const struct json_field transition_fields[] = {
    {.name = "to", .kind = JSON_FIELD_ENUM, .required = true, .choices = case_status_names},
    {.name = "at", .kind = JSON_FIELD_INSTANT, .required = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
    {.name = "form", .kind = JSON_FIELD_OBJECT, .nullable = true},
};

static json_t *check_transition(struct operation *operation)
{
    json_t *errors = json_array();
    json_check_fields(operation->body, transition_fields,
                      sizeof transition_fields / sizeof transition_fields[0], "", false, errors);
    return errors;
}

/* Checks the step's form and its time; refuses 422 (false) when wrong. */
static bool check_step_form(struct operation *operation, enum case_status to,
                            const json_t *form, int64_t at, enum db_outcome *outcome)
{
    const struct case_context *context = operation->domain;
    json_t *errors = json_array();
    json_check_fields(form, step_forms[to].fields, step_forms[to].count, "/form", false, errors);
    check_form_lists(to, form, errors);
    if (at > clock_now_us())
        problem_add_field_error(errors, "/at", "must not be in the future");
    if (at < context->last_step_at)
        problem_add_field_error(errors, "/at", "must not be before the previous step");
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    *outcome = operation_refuse_invalid(operation, errors, "The step's form is invalid.");
    return false;
}

/* Records the step: the status, its form (with when and by whom), and what
 * the initial assessment and the closure decide. */
static bool apply_transition(struct operation *operation, enum case_status to,
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
    db_param_text(&params, case_status_names[to]);
    db_param_text(&params, step_text);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
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

/* 409 with the current status and the steps that may follow it. */
static enum db_outcome refuse_step(struct operation *operation, const struct case_state *state)
{
    return operation_refuse_with(operation, PROBLEM_CONFLICT, "conflict",
                                 json_pack("{s:s, s:o}", "current_status",
                                           case_status_names[state->status], "allowed",
                                           allowed_next(state)),
                                 "This step cannot follow the case's current state.");
}

static enum db_outcome transition_case(struct operation *operation)
{
    const struct case_context *context = operation->domain;
    const struct principal *principal = &operation->request->principal;
    json_t *body = operation->body;
    enum case_status to = case_status_parse(json_member_string(body, "to"));
    /* Approving the plan is the commune chair's decision (Mẫu 05). */
    if (to == STATUS_PLAN_APPROVED && principal->role != ROLE_COMMUNE_CHAIR &&
        principal->role != ROLE_ADMIN)
        return operation_refuse(operation, PROBLEM_FORBIDDEN, "denied",
                                "Only the commune chair approves a plan.");
    json_t *empty = json_object();
    const json_t *form = json_is_object(json_object_get(body, "form"))
                             ? json_object_get(body, "form") : empty;
    const char *at_text = json_member_string(body, "at");
    int64_t at = 0;
    clock_parse_instant(at_text, &at);
    struct case_state state = {context->status, context->serious_risk,
                               context->review_outcome[0] ? context->review_outcome : NULL};
    enum db_outcome outcome = DB_COMMIT;
    if (!transition_allowed(&state, to, json_member_string(form, "reason")))
        outcome = refuse_step(operation, &state);
    else if (check_step_form(operation, to, form, at, &outcome) &&
             apply_transition(operation, to, form, at_text, &outcome) &&
             cases_deadlines_update(operation, to, at, context->received_at, form, &outcome) &&
             cases_history(operation, "transition", case_status_names[context->status],
                           case_status_names[to], json_member_string(body, "note"), form,
                           at_text, &outcome))
        cases_written(operation, "update", 0, &outcome);
    json_decref(empty);
    return outcome;
}

/* change NULL: cases_written() logs and audits the case itself. */
static const struct operation_steps transition_steps = {
    .action = "update", .reads_record = true, .requires_if_match = true,
    .check = check_transition, .invalid_detail = "The transition is invalid.",
    .write = transition_case, .status = 200};

void handle_case_transition(struct request *request)
{
    cases_run(request, &case_resource, &transition_steps, NULL, true);
}
