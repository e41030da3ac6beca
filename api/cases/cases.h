/* What the files of case management share (Decree 56/2017/NĐ-CP,
 * Arts. 25–32): the statuses of the workflow, the case as a resource of the
 * operation layer, and the steps every change of a case ends with (history,
 * feed, audit).
 *
 *     intake.c      POST /v1/cases, GET, history; the resource and its read
 *     workflow.c    the state machine, the forms of the steps (Mẫu 02–07),
 *                   transitions
 *     deadlines.c   the working-day calendar and the legal deadlines
 *     case_list.c   GET /v1/cases
 *     assignment.c  PATCH (assignee, summary) and transfer
 *     notes.c       notes (never in the feed; every read audited)
 *     services.c    services of the plan; a delivered one is a support
 *
 * The case's feed and audit entries are written by cases_written(), not by
 * the lifecycle: a case's audit entry names the case alone (not its child)
 * and its commune, and its feed entry carries the child and a
 * representation without the reporter. */
#ifndef BAOVE_CASES_H
#define BAOVE_CASES_H

#include <stdint.h>

#include "auth.h"
#include "operation/lifecycle.h"

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

/* The statuses' names, NULL-terminated (a json_field's choices). */
extern const char *const case_status_names[STATUS_COUNT + 1];

/* The status of this name, or STATUS_COUNT. */
enum case_status case_status_parse(const char *name);

/* Concerns of a report; plan measures (Law on Children, Arts. 49–50); the
 * sectors that provide them.  NULL-terminated. */
extern const char *const case_concerns[];
extern const char *const case_plan_measures[];
extern const char *const case_sectors[];

/* Whether `name` is one of `names` (NULL-terminated). */
bool case_name_known(const char *const names[], const char *name);

/* What the read of a case leaves besides the operation's record: the domain
 * state (operation->domain) of every operation on a case. */
struct case_context {
    char child_id[AUTH_UUID_SIZE];
    enum case_status status;
    bool serious_risk;
    char review_outcome[16]; /* of the review: "close", "replan" or "" */
    int64_t received_at;
    int64_t last_step_at;    /* when the latest step happened */
    void *more;              /* a handler's own state */
};

/* Reads the case of operation->id (locked when `lock`) and its context
 * (operation->domain): the read hook of every resource on a case. */
bool cases_read(struct operation *operation, bool lock, enum db_outcome *outcome);

/* Cases (audit and feed type "cases"), read by id with their context. */
extern const struct resource case_resource;

/* Appends to the case's append-only history. */
bool cases_history(struct operation *operation, const char *action, const char *from,
                   const char *to, const char *note, const json_t *details, const char *at,
                   enum db_outcome *outcome);

/* Ends a write of the case: its feed entry (`change`; previous_unit_id when
 * it left a commune), its representation as the answer, its audit entry. */
bool cases_written(struct operation *operation, const char *change,
                   long long previous_unit_id, enum db_outcome *outcome);

/* Ends a change to the case: history (now), then cases_written(update). */
bool cases_updated(struct operation *operation, const char *action, const char *note,
                   const json_t *details, long long previous_unit_id, enum db_outcome *outcome);

/* Runs a statement whose one row's first column is the answer (a history,
 * notes, a note) and keeps it as the operation's document. */
bool cases_keep_answer(struct operation *operation, const char *sql,
                       const struct db_params *params, enum db_outcome *outcome);

/* A change to what the case contains (its services) is a new version. */
bool cases_touch(struct operation *operation, enum db_outcome *outcome);

/* Starts and stops the legal clocks the step `to` affects (deadlines.c). */
bool cases_deadlines_update(struct operation *operation, enum case_status to, int64_t at,
                            int64_t received_at, const json_t *form, enum db_outcome *outcome);

/* Runs the steps on a case for a request, with a case_context whose `more`
 * is the handler's state.  A 422 of the body's check is audited only when
 * `audit_invalid_body` (some requests never audited it). */
void cases_run(struct request *request, const struct resource *resource,
               const struct operation_steps *steps, void *more, bool audit_invalid_body);

#endif
