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
#include "operation/legacy.h"

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

static void reply_list(struct request *request, PGresult *result)
{
    const char *next = db_text(result, 0, 1);
    char *body = NULL;
    int length = next != NULL
                     ? asprintf(&body, "{\"items\":%s,\"next_cursor\":\"%s\"}",
                                db_text(result, 0, 0), next)
                     : asprintf(&body, "{\"items\":%s,\"next_cursor\":null}",
                                db_text(result, 0, 0));
    if (length < 0)
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
    else
        reply_text(request, 200, "application/json", body, (size_t)length);
}

void handle_jobs_list(struct request *request)
{
    const char *status = request_query(request, "status");
    const char *kind = request_query(request, "kind");
    const char *cursor = request_query(request, "cursor");
    const char *limit_text = request_query(request, "limit");
    long long limit = JOBS_DEFAULT_LIMIT, cursor_created_us = 0;
    char cursor_id[37] = "";
    json_t *errors = json_array();
    if (status != NULL && !known_status(status))
        problem_add_parameter_error(errors, "status",
                                    "must be queued, running, succeeded, failed or dead");
    if (kind != NULL && !valid_kind(kind))
        problem_add_parameter_error(errors, "kind", "is not a job kind");
    if (cursor != NULL && !parse_cursor(cursor, &cursor_created_us, cursor_id))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit_text != NULL && !config_parse_integer(limit_text, 1, JOBS_MAX_LIMIT, &limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", JOBS_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, status);
    db_param_text(&params, kind);
    db_param_text(&params, cursor != NULL ? cursor_id : NULL);
    db_param_integer(&params, cursor_created_us);
    db_param_integer(&params, limit);
    PGresult *result = db_query(
        request->database,
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
        &params);
    if (!db_ok(result))
        reply_database_failure(request, "read jobs", result);
    else
        reply_list(request, result);
    PQclear(result);
}

static void reply_document(struct request *request, const char *document)
{
    char *body = strdup(document);
    if (body == NULL)
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
    else
        reply_text(request, 200, "application/json", body, strlen(body));
}

void handle_job_get(struct request *request)
{
    const char *id = request_uuid_param(request, "id", "job");
    if (id == NULL)
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    PGresult *result = db_query(request->database,
                                "SELECT job_document(j)::text FROM jobs j WHERE id = $1::uuid",
                                &params);
    if (!db_ok(result))
        reply_database_failure(request, "read job", result);
    else if (PQntuples(result) == 0)
        reply_problem(request, PROBLEM_NOT_FOUND, "No such job.");
    else
        reply_document(request, db_text(result, 0, 0));
    PQclear(result);
}
