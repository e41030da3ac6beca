/* The legal deadlines of a case and the working-day calendar they are
 * counted in (Decree 56/2017/NĐ-CP, Arts. 25–26): a step starts some clocks
 * and stops others; a deadline's state (pending, met, missed) is computed
 * by the database from due_at and met_at. */
#include <stdio.h>

#include "cases/cases.h"
#include "config.h"
#include "json.h"
#include "reference/calendar.h"

#define EMERGENCY_HOURS 12 /* Decree 56/2017 Art. 25: emergency measures within 12 hours */

/* Decree 56/2017 Art. 26: the plan is drafted within 5 working days of the
 * detailed assessment; the approval (local procedure sheets) defaults to 2
 * working days after submission.  Both are settings, read when used. */
static long long working_days_setting(const char *name, long long fallback)
{
    long long days;
    char error[128];
    return config_integer(name, fallback, 0, 60, &days, error, sizeof error) ? days : fallback;
}

/* The last microsecond of a local day (23:59:59 in Asia/Ho_Chi_Minh). */
static int64_t end_of_local_day(struct civil_date day)
{
    return ((civil_to_days(day) + 1) * 86400 - CLOCK_LOCAL_OFFSET_SECONDS - 1) * 1000000LL;
}

/* The end of the day `count` working days after the local date of `at`, in
 * the working-day calendar of that year and the next (the deadlines are
 * days, never months). */
static bool working_deadline(struct operation *operation, int64_t at, long long count,
                             int64_t *due, enum db_outcome *outcome)
{
    struct civil_date start = clock_local_date(at);
    struct calendar_span calendar;
    if (!calendar_span_load(operation, start.year, start.year + 1, &calendar, outcome))
        return false;
    *due = end_of_local_day(civil_add_working_days(start, (int)count, calendar.days_off,
                                                   calendar.days_off_count,
                                                   calendar.working_days,
                                                   calendar.working_day_count));
    return true;
}

static bool set_deadline(struct operation *operation, const char *kind, int64_t due,
                         enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, kind);
    db_param_instant(&params, due);
    /* A re-plan starts the clocks again. */
    PGresult *result = operation_query(
        operation,
        "INSERT INTO case_deadlines (case_id, kind, due_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (case_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, met_at = NULL",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}

static bool meet_deadline(struct operation *operation, const char *kind, int64_t at,
                          enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, kind);
    db_param_instant(&params, at);
    PGresult *result = operation_query(operation,
                                       "UPDATE case_deadlines SET met_at = $3 "
                                       " WHERE case_id = $1 AND kind = $2 AND met_at IS NULL",
                                       &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* Submitting the plan meets its deadline and starts the approval's and the
 * review's (on the day the plan names). */
static bool plan_submitted(struct operation *operation, int64_t at, const json_t *form,
                           enum db_outcome *outcome)
{
    struct civil_date review;
    date_parse(json_member_string(form, "review_on"), &review);
    int64_t due;
    return meet_deadline(operation, "plan_submission", at, outcome) &&
           working_deadline(operation, at,
                            working_days_setting("BAOVE_PLAN_APPROVAL_WORKING_DAYS", 2), &due,
                            outcome) &&
           set_deadline(operation, "plan_approval", due, outcome) &&
           set_deadline(operation, "review", end_of_local_day(review), outcome);
}

bool cases_deadlines_update(struct operation *operation, enum case_status to, int64_t at,
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
    case STATUS_PLAN_SUBMITTED:
        return plan_submitted(operation, at, form, outcome);
    case STATUS_PLAN_APPROVED:
        return meet_deadline(operation, "plan_approval", at, outcome);
    case STATUS_REVIEWED:
        return meet_deadline(operation, "review", at, outcome);
    default:
        return true;
    }
}
