/* GET /v1/jobs and GET /v1/jobs/{id}: the worker's queue, for admins and
 * district officers (PERMISSION_JOBS_READ).  Jobs are district-wide
 * housekeeping and carry no personal data, so they are not scoped to units
 * nor audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reporting/reporting.h"
#include "json.h"
#include "operation/lifecycle.h"

#define JOBS_DEFAULT_LIMIT 50
#define JOBS_MAX_LIMIT 500

static const char *const job_statuses[] = {"queued", "running", "succeeded", "failed", "dead",
                                           NULL};

static bool known_status(const char *status)
{
    for (size_t i = 0; job_statuses[i] != NULL; i++)
        if (strcmp(job_statuses[i], status) == 0)
            return true;
    return false;
}

/* A job kind as the jobs table allows it: ^[a-z][a-z0-9_]{0,62}$. */
static bool valid_kind(const char *kind)
{
    size_t length = strlen(kind);
    if (length == 0 || length > 63 || kind[0] < 'a' || kind[0] > 'z')
        return false;
    for (size_t i = 1; i < length; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
              kind[i] == '_'))
            return false;
    return true;
}

/* The cursor is "<created_at in µs since the epoch>_<id>" of the last job
 * delivered: newest first, keyset on (created_at, id). */
static bool parse_cursor(const char *cursor, long long *created_us, char id[37])
{
    const char *separator = strchr(cursor, '_');
    if (separator == NULL || separator - cursor > 20)
        return false;
    char number[21];
    memcpy(number, cursor, (size_t)(separator - cursor));
    number[separator - cursor] = '\0';
    if (!config_parse_integer(number, -(1LL << 62), 1LL << 62, created_us) ||
        !json_is_uuid_text(separator + 1))
        return false;
    snprintf(id, 37, "%s", separator + 1);
    return true;
}

static bool read_job(struct operation *operation, bool lock, enum db_outcome *outcome);

/* Jobs are neither scoped nor audited: the layer only runs the transaction. */
static const struct resource job_resource = {.name = "job", .table = "jobs",
                                             .audit_type = "jobs", .read = read_job};

struct job_list {
    const char *status;
    const char *kind;
    const char *cursor;
    char cursor_id[37];
    long long cursor_created_us;
    long long limit;
};

static enum db_outcome list_jobs(struct operation *operation)
{
    const struct job_list *list = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, list->status);
    db_param_text(&params, list->kind);
    db_param_text(&params, list->cursor != NULL ? list->cursor_id : NULL);
    db_param_integer(&params, list->cursor_created_us);
    db_param_integer(&params, list->limit);
    PGresult *result = operation_query(
        operation,
        "WITH page AS (SELECT j AS job, j.id, j.created_at, "
        "                     row_number() OVER (ORDER BY created_at DESC, id DESC) AS rank "
        "                FROM jobs j "
        "               WHERE ($1::text IS NULL OR status = $1) "
        "                 AND ($2::text IS NULL OR kind = $2) "
        "                 AND ($3::uuid IS NULL OR (created_at, id) < "
        "                      (timestamptz 'epoch' + $4 * interval '1 microsecond', $3::uuid)) "
        "               ORDER BY created_at DESC, id DESC LIMIT $5 + 1) "
        "SELECT coalesce(json_agg(job_document(p.job) ORDER BY p.rank) "
        "                FILTER (WHERE p.rank <= $5), '[]')::text, "
        "       CASE WHEN count(*) > $5 THEN "
        "         (SELECT ((extract(epoch FROM l.created_at) * 1000000)::bigint)::text "
        "                 || '_' || l.id FROM page l WHERE l.rank = $5) END "
        "  FROM page p",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept =
        operation_keep_items(operation, db_text(result, 0, 0), db_text(result, 0, 1));
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_jobs, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_jobs_list(struct request *request)
{
    struct job_list list = {.status = request_query(request, "status"),
                            .kind = request_query(request, "kind"),
                            .cursor = request_query(request, "cursor"),
                            .limit = JOBS_DEFAULT_LIMIT};
    const char *limit_text = request_query(request, "limit");
    json_t *errors = json_array();
    if (list.status != NULL && !known_status(list.status))
        problem_add_parameter_error(errors, "status",
                                    "must be queued, running, succeeded, failed or dead");
    if (list.kind != NULL && !valid_kind(list.kind))
        problem_add_parameter_error(errors, "kind", "is not a job kind");
    if (list.cursor != NULL &&
        !parse_cursor(list.cursor, &list.cursor_created_us, list.cursor_id))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit_text != NULL && !config_parse_integer(limit_text, 1, JOBS_MAX_LIMIT, &list.limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", JOBS_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    struct operation operation = {.domain = &list};
    if (operation_begin(&operation, request, &job_resource, &list_steps, false))
        operation_run(&operation);
}

/* The resource's read: the job of operation->id, its document the answer. */
static bool read_job(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    (void)lock; /* a job is only read here */
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(
        operation, "SELECT job_document(j)::text FROM jobs j WHERE id = $1::uuid", &params,
        outcome);
    if (result == NULL)
        return false;
    operation->found = PQntuples(result) == 1;
    bool kept = !operation->found || operation_keep_document(operation, db_text(result, 0, 0));
    PQclear(result);
    if (!kept)
        *outcome = DB_FAILED;
    return kept;
}

static const struct operation_steps get_steps = {
    .action = "read", .reads_record = true, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_job_get(struct request *request)
{
    struct operation operation = {0};
    if (operation_begin(&operation, request, &job_resource, &get_steps, false))
        operation_run(&operation);
}
