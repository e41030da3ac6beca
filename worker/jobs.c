#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define CHANGE_LOG_RETENTION_DEFAULT "90d"

/* Settings read once by jobs_init() before the loop starts, then only read. */
static long long change_log_retention_seconds;
static bool test_jobs_enabled;
/* BAOVE_APP_URL: the front-end's page of a report, "{period}" and "{unit}"
 * standing for the period's key and the commune's code; NULL when unset. */
static const char *app_url;

static json_t *change_log_defaults(void)
{
    return json_pack("{s:I}", "retention_seconds", (json_int_t)change_log_retention_seconds);
}

/* Reminders link to the front-end when it has a URL (report_reminders). */
static json_t *report_reminder_defaults(void)
{
    return app_url != NULL ? json_pack("{s:s}", "app_url", app_url) : json_object();
}

/* Adding a kind is one line here (and its SQL function in a migration). */
static const struct job_kind job_kinds[] = {
    {"prune_change_log", "SELECT prune_change_log($1::jsonb, $2::timestamptz)",
     change_log_defaults, false},
    {"prune_jobs", "SELECT prune_jobs($1::jsonb, $2::timestamptz)", NULL, false},
    {"rollup_indicators", "SELECT rollup_indicators($1::jsonb, $2::timestamptz)", NULL, false},
    {"report_reminders", "SELECT report_reminders($1::jsonb, $2::timestamptz)",
     report_reminder_defaults, false},
    {"case_deadline_alerts", "SELECT case_deadline_alerts($1::jsonb, $2::timestamptz)", NULL,
     false},
    {"fund_instalment_reminders",
     "SELECT fund_instalment_reminders($1::jsonb, $2::timestamptz)", NULL, false},
    {"report_periods_from_rules", "SELECT report_periods_job($1::jsonb, $2::timestamptz)", NULL,
     false},
    /* Test kinds: their functions exist only in test databases (created by
     * tests/integration/test_worker.c), so a job can be made to sleep or
     * fail on demand without any test hook in production code paths. */
    {"test_sleep", "SELECT test_sleep($1::jsonb, $2::timestamptz)", NULL, true},
    {"test_fail", "SELECT test_fail($1::jsonb, $2::timestamptz)", NULL, true},
};

const struct queue_kind jobs_queue_kind = {
    .name = "job",
    .table = "jobs",
    .label = "q.kind",
    /* A waiting job whose key has a running job is skipped (the partial
     * unique index jobs_one_running_per_key makes that hold under
     * concurrency too).  A running one is due only when its lease expired
     * (the core's part): its worker died. */
    .due = "(q.status IN ('queued', 'failed') AND q.run_at <= $2 "
           "  AND (q.unique_key IS NULL OR NOT EXISTS ( "
           "       SELECT 1 FROM jobs r WHERE r.unique_key = q.unique_key "
           "          AND r.status = 'running'))) "
           "OR (q.status = 'running' AND q.attempts < q.max_attempts)",
    .order = "q.run_at, q.created_at, q.id",
    .claim_set = ", status = 'running', started_at = $2, finished_at = NULL",
    .returning = ", q.payload::text",
    .held = "AND q.status = 'running'",
    .retry_column = "run_at",
    .done_status = "succeeded",
    .done_at_column = "finished_at",
    .result_column = "result",
    .finished_column = "finished_at",
    .attempt_limit = "q.max_attempts",
    .abandon = JOBS_SUPERSEDED,
    .abandon_note = " (not retried: a job with the same key is waiting)",
};

const char *const jobs_on_change[] = {"rollup_indicators", NULL};

bool jobs_init(char *error, size_t error_size)
{
    const char *retention = config_string("BAOVE_CHANGE_LOG_RETENTION",
                                          CHANGE_LOG_RETENTION_DEFAULT);
    if (!config_parse_duration(retention, &change_log_retention_seconds) ||
        change_log_retention_seconds < 1) {
        snprintf(error, error_size,
                 "BAOVE_CHANGE_LOG_RETENTION must be a duration such as 90d, not \"%s\"",
                 retention);
        return false;
    }
    const char *tests = config_string("BAOVE_WORKER_TEST_JOBS", "0");
    if (strcmp(tests, "0") != 0 && strcmp(tests, "1") != 0) {
        snprintf(error, error_size, "BAOVE_WORKER_TEST_JOBS must be 0 or 1, not \"%s\"", tests);
        return false;
    }
    test_jobs_enabled = strcmp(tests, "1") == 0;
    app_url = config_string("BAOVE_APP_URL", NULL);
    if (app_url != NULL && ((strncmp(app_url, "https://", 8) != 0 &&
                             strncmp(app_url, "http://", 7) != 0) || strlen(app_url) > 500)) {
        snprintf(error, error_size,
                 "BAOVE_APP_URL must be an http(s) URL of at most 500 bytes, such as "
                 "https://baove.example/reports/{period}/{unit}");
        return false;
    }
    return true;
}

const struct job_kind *jobs_find(const char *kind)
{
    for (size_t i = 0; i < sizeof job_kinds / sizeof job_kinds[0]; i++)
        if (strcmp(job_kinds[i].kind, kind) == 0)
            return job_kinds[i].test_only && !test_jobs_enabled ? NULL : &job_kinds[i];
    return NULL;
}

char *jobs_effective_payload(const struct job_kind *kind, const char *payload)
{
    json_t *given = json_loads(payload != NULL ? payload : "{}", 0, NULL);
    if (!json_is_object(given)) {
        json_decref(given);
        return NULL;
    }
    json_t *effective = kind->defaults != NULL ? kind->defaults() : json_object();
    json_object_update(effective, given);
    char *text = json_dumps(effective, JSON_COMPACT);
    json_decref(effective);
    json_decref(given);
    return text;
}
