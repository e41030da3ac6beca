/* Route handlers of the reporting cycle (report periods, commune reports,
 * indicators, notifications) and of the oversight reads (the job queue,
 * the change feed, the audit trail).  The route table in http/routes.c is
 * the one place that maps paths to them. */
#ifndef BAOVE_REPORTING_H
#define BAOVE_REPORTING_H

#include <stdbool.h>

#include "http/server.h"
#include "operation/lifecycle.h"

/* operation_begin for the reporting cycle's records: a malformed If-Match
 * is answered 412 before anything else (false then), and the body is read
 * when `body`. */
bool reporting_begin(struct operation *operation, struct request *request,
                     const struct resource *resource, const struct operation_steps *steps,
                     bool body);

/* operation_precondition; a refusal also names the current version as
 * ETag, the 428 too. */
bool reporting_precondition(struct operation *operation, enum db_outcome *outcome);

/* Whether a write may still change plan year `year` (its plan, its report
 * periods): false, with a 409 recorded, once the year has ended in
 * Asia/Ho_Chi_Minh. */
bool reporting_year_open(struct operation *operation, int year, enum db_outcome *outcome);

/* indicators.c */
void handle_indicators_get(struct request *request);
void handle_indicator_series(struct request *request);
void handle_indicators_recompute(struct request *request);

/* plans.c */
void handle_plan_get(struct request *request);
void handle_plan_put(struct request *request);

/* report_periods.c */
void handle_report_periods_list(struct request *request);
void handle_report_period_get(struct request *request);
void handle_report_period_put(struct request *request);
/* True for a period key's shape: "2020" or "2020S1". */
bool report_period_key_valid(const char *key);

/* reports.c */
void handle_reports_list(struct request *request);
void handle_report_summary(struct request *request);
void handle_report_get(struct request *request);
void handle_report_put(struct request *request);
void handle_report_submit(struct request *request);
void handle_report_return(struct request *request);
void handle_report_accept(struct request *request);

/* notifications.c */
void handle_channels_list(struct request *request);
void handle_channel_put(struct request *request);
void handle_channel_delete(struct request *request);
void handle_notifications_list(struct request *request);
void handle_notification_resend(struct request *request);

/* jobs.c */
void handle_jobs_list(struct request *request);
void handle_job_get(struct request *request);

/* registry/changes.c: the change feed */
void handle_changes(struct request *request);

/* registry/audit.c: the audit trail */
void handle_audit_list(struct request *request);

#endif
