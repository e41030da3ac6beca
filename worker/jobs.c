#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define CHANGE_LOG_RETENTION_DEFAULT "90d"

/* Settings read once by jobs_init() before the loop starts, then only read. */
static long long change_log_retention_seconds;
static bool test_jobs_enabled;

static json_t *change_log_defaults(void)
{
    return json_pack("{s:I}", "retention_seconds", (json_int_t)change_log_retention_seconds);
}

/* Adding a kind is one line here (and its SQL function in a migration). */
static const struct job_kind job_kinds[] = {
    {"prune_change_log", "SELECT prune_change_log($1::jsonb, $2::timestamptz)",
     change_log_defaults, false},
    {"prune_jobs", "SELECT prune_jobs($1::jsonb, $2::timestamptz)", NULL, false},
    {"rollup_indicators", "SELECT rollup_indicators($1::jsonb, $2::timestamptz)", NULL, false},
    {"report_reminders", "SELECT report_reminders($1::jsonb, $2::timestamptz)", NULL, false},
    {"case_deadline_alerts", "SELECT case_deadline_alerts($1::jsonb, $2::timestamptz)", NULL,
     false},
    {"fund_instalment_reminders",
     "SELECT fund_instalment_reminders($1::jsonb, $2::timestamptz)", NULL, false},
    /* Test kinds: their functions exist only in test databases (created by
     * tests/integration/test_worker.c), so a job can be made to sleep or
     * fail on demand without any test hook in production code paths. */
    {"test_sleep", "SELECT test_sleep($1::jsonb, $2::timestamptz)", NULL, true},
    {"test_fail", "SELECT test_fail($1::jsonb, $2::timestamptz)", NULL, true},
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
