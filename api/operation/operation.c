/* What every step of the lifecycle works with: refusals, statements, the
 * record read and its precondition (see operation.h).  The lifecycle that
 * runs them is lifecycle.c. */
#include "operation/operation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/server.h"
#include "json.h"
#include "operation/audit_log.h"

#define SQL_SIZE 4096

void operation_today(char out[CLOCK_DATE_SIZE])
{
    date_format(clock_today(), out);
}

const char *operation_uuid_param(struct request *request, const char *name)
{
    /* The value lives in the request's route match, which we may rewrite:
     * ids are compared and printed in the database's canonical lower case. */
    char *id = (char *)route_param(&request->match, name);
    if (!json_is_uuid_text(id))
        return NULL;
    for (char *c = id; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return id;
}

/* ---- refusals and failures ---------------------------------------------- */

void operation_clear_problem(struct operation_problem *problem)
{
    json_decref(problem->errors);
    json_decref(problem->members);
    memset(problem, 0, sizeof *problem);
}

static enum db_outcome refuse(struct operation *operation, enum problem_type type,
                              const char *audit_outcome, const char *detail)
{
    operation_clear_problem(&operation->problem);
    operation->problem.set = true;
    operation->problem.type = type;
    operation->problem.audit_outcome = audit_outcome;
    snprintf(operation->problem.detail, sizeof operation->problem.detail, "%s", detail);
    return DB_ROLLBACK;
}

enum db_outcome operation_refuse(struct operation *operation, enum problem_type type,
                                 const char *audit_outcome, const char *detail, ...)
{
    char text[512];
    va_list args;
    va_start(args, detail);
    vsnprintf(text, sizeof text, detail, args);
    va_end(args);
    return refuse(operation, type, audit_outcome, text);
}

enum db_outcome operation_refuse_invalid(struct operation *operation, json_t *errors,
                                         const char *detail)
{
    refuse(operation, PROBLEM_VALIDATION, "invalid", detail);
    operation->problem.errors = errors;
    return DB_ROLLBACK;
}

enum db_outcome operation_refuse_with(struct operation *operation, enum problem_type type,
                                      const char *audit_outcome, json_t *members,
                                      const char *detail)
{
    refuse(operation, type, audit_outcome, detail);
    operation->problem.members = members;
    return DB_ROLLBACK;
}

/* The answer to a failed statement, by what the failure means.  A lost
 * connection in a write may have happened at COMMIT: the client is told the
 * outcome is unknown and to retry with the same Idempotency-Key, which is
 * safe whether or not the write was saved. */
void operation_refuse_failure(struct operation *operation, enum db_failure failure)
{
    bool writing = operation->steps->write != NULL;
    switch (failure) {
    case DB_FAILURE_LOST:
        refuse(operation, writing ? PROBLEM_OUTCOME_UNKNOWN : PROBLEM_DATABASE_UNAVAILABLE, NULL,
               writing ? "The database connection was lost while saving; the change may or "
                         "may not be saved. Retry with the same Idempotency-Key."
                       : "The database connection was lost; nothing was written. Retry.");
        operation->problem.connection_lost = true;
        break;
    case DB_FAILURE_INPUT:
        refuse(operation, PROBLEM_INVALID_PARAMETER, "invalid",
               "A value in the request is not acceptable to the database.");
        break;
    case DB_FAILURE_BUSY:
        refuse(operation, PROBLEM_DATABASE_UNAVAILABLE, NULL,
               "The database is overloaded; nothing was written. Retry shortly.");
        break;
    case DB_FAILURE_INTERNAL:
        refuse(operation, PROBLEM_INTERNAL, NULL, "A database statement failed.");
        break;
    }
}

enum db_outcome operation_replica_behind(struct operation *operation)
{
    operation->replica_behind = true;
    return DB_ROLLBACK;
}

enum db_outcome operation_failed(struct operation *operation, const char *what,
                                 const PGresult *result)
{
    if (db_retryable(result))
        return DB_RETRY;
    if (strcmp(db_sqlstate(result), OPERATION_PRINCIPAL_REFUSED) == 0) {
        /* scope_enter() refused the principal: on a standby that may be
         * lag (the primary decides); on the primary, the request is
         * authenticated again and run once more (http/dispatch.c). */
        if (operation->on_replica)
            return operation_replica_behind(operation);
        operation->request->principal_stale = true;
        return DB_ROLLBACK;
    }
    db_log_failure(what, operation->connection, result);
    operation_refuse_failure(operation, db_failure_class(operation->connection, result));
    return DB_FAILED;
}

/* result when it succeeded; otherwise NULL, with *outcome as
 * operation_failed() decides (result cleared). */
static PGresult *operation_checked(struct operation *operation, PGresult *result,
                                   enum db_outcome *outcome)
{
    if (db_ok(result)) {
        /* Its scope_enter() (the first statement, or deferred to travel
         * with this one) passed: the primary verified the principal. */
        if (!operation->on_replica)
            operation->request->principal_unverified = false;
        return result;
    }
    *outcome = operation_failed(operation, "operation statement", result);
    PQclear(result);
    return NULL;
}

PGresult *operation_query(struct operation *operation, const char *sql,
                          const struct db_params *params, enum db_outcome *outcome)
{
    return operation_checked(operation, db_query(operation->connection, sql, params), outcome);
}

bool operation_command(struct operation *operation, const char *sql,
                       const struct db_params *params, enum db_outcome *outcome)
{
    if (db_defer(operation->connection, sql, params))
        return true; /* travels with the next statement or the COMMIT */
    PGresult *result = operation_query(operation, sql, params, outcome);
    PQclear(result);
    return result != NULL;
}

bool operation_command_committing(struct operation *operation, const char *sql,
                                  const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = operation_checked(
        operation, db_query_committing(operation->connection, sql, params), outcome);
    PQclear(result);
    return result != NULL;
}

enum db_outcome operation_query_document(struct operation *operation, const char *sql,
                                         const struct db_params *params)
{
    enum db_outcome outcome = DB_COMMIT;
    PGresult *result = operation_query(operation, sql, params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_document(operation, db_text(result, 0, 0));
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

/* ---- the record ------------------------------------------------------------ */

bool operation_keep_document(struct operation *operation, const char *document)
{
    free(operation->document);
    operation->document = document != NULL ? strdup(document) : NULL;
    return document == NULL || operation->document != NULL;
}

bool operation_keep_json(struct operation *operation, json_t *value)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(value);
    free(operation->document);
    operation->document = text;
    return text != NULL;
}

bool operation_keep_items(struct operation *operation, const char *items,
                          const char *next_cursor)
{
    char *body = NULL;
    int length = next_cursor != NULL
                     ? asprintf(&body, "{\"items\":%s,\"next_cursor\":\"%s\"}", items,
                                next_cursor)
                     : asprintf(&body, "{\"items\":%s,\"next_cursor\":null}", items);
    if (length < 0)
        return false;
    free(operation->document);
    operation->document = body;
    return true;
}

bool operation_keep_list(struct operation *operation, const PGresult *result)
{
    free(operation->audit_ids);
    operation->audit_ids = strdup(db_text(result, 0, 2));
    return operation_keep_items(operation, db_text(result, 0, 0), db_text(result, 0, 1)) &&
           operation->audit_ids != NULL;
}

bool operation_keep_page(struct operation *operation, const PGresult *result, long long limit)
{
    int rows = PQntuples(result);
    bool more = rows > limit;
    if (more)
        rows = (int)limit;
    /* The answer and the audit's id list, built in one pass. */
    size_t answer_size = 128, ids_size = 3;
    for (int row = 0; row < rows; row++) {
        answer_size += strlen(db_text(result, row, 1)) + 1;
        ids_size += 37;
    }
    char *answer = malloc(answer_size), *ids = malloc(ids_size);
    if (answer == NULL || ids == NULL) {
        free(answer);
        free(ids);
        return false;
    }
    char *end = answer + sprintf(answer, "{\"items\":["), *id_end = ids;
    *id_end++ = '{';
    for (int row = 0; row < rows; row++) {
        end += sprintf(end, "%s%s", row ? "," : "", db_text(result, row, 1));
        id_end += sprintf(id_end, "%s%s", row ? "," : "", db_text(result, row, 0));
    }
    strcpy(id_end, "}");
    if (more)
        sprintf(end, "],\"next_cursor\":\"%s\"}", db_text(result, rows - 1, 0));
    else
        strcpy(end, "],\"next_cursor\":null}");
    free(operation->document);
    free(operation->audit_ids);
    operation->document = answer;
    operation->audit_ids = ids;
    return true;
}

/* Takes a record's version (column 0) and representation from result. */
static PGresult *keep_record(struct operation *operation, PGresult *result,
                             int document_column, enum db_outcome *outcome)
{
    if (result == NULL)
        return NULL;
    operation->found = PQntuples(result) == 1;
    if (operation->found) {
        operation->version = db_integer(result, 0, 0);
        if (!operation_keep_document(operation, db_text(result, 0, document_column))) {
            PQclear(result);
            *outcome = DB_FAILED;
            return NULL;
        }
    }
    return result;
}

PGresult *operation_query_record(struct operation *operation, const char *sql,
                                 const struct db_params *params, int document_column,
                                 enum db_outcome *outcome)
{
    return keep_record(operation, operation_query(operation, sql, params, outcome),
                       document_column, outcome);
}

/* operation_query_record for the transaction's last statement, sent with
 * its COMMIT (db_query_committing). */
static PGresult *operation_query_committing(struct operation *operation, const char *sql,
                                            const struct db_params *params,
                                            int document_column, enum db_outcome *outcome)
{
    PGresult *result = db_query_committing(operation->connection, sql, params);
    return keep_record(operation, operation_checked(operation, result, outcome),
                       document_column, outcome);
}

/* Reads the record by id (a resource without a read hook).  With
 * audit_clause (audit_log_read_clause over "record WHERE NOT deleted", its
 * parameters already in params after the first two), the same statement
 * writes the read's audit entry and travels with the COMMIT. */
static bool read_by_id(struct operation *operation, bool lock, struct db_params *params,
                       const char *audit_clause, enum db_outcome *outcome)
{
    const struct resource *resource = operation->resource;
    char sql[SQL_SIZE];
    /* Table and expressions are constants of the domains, never request data. */
    int length = snprintf(
        sql, sizeof sql,
        "WITH record AS (SELECT r.version, %s AS unit_id, %s AS deleted, %s::text AS document "
        "  FROM %s r, (SELECT $1::date AS today) t WHERE r.id = $2::uuid%s)%s%s "
        "SELECT version, unit_id, deleted, document FROM record",
        resource->unit ? resource->unit : "r.unit_id",
        resource->deleted ? resource->deleted : "false", resource->document, resource->table,
        lock ? " FOR UPDATE OF r" : "", audit_clause ? ", " : "", audit_clause ? audit_clause : "");
    if (length < 0 || (size_t)length >= sizeof sql) {
        *outcome = DB_FAILED;
        return false;
    }
    PGresult *result =
        audit_clause != NULL
            ? operation_query_committing(operation, sql, params, 3, outcome)
            : operation_query_record(operation, sql, params, 3, outcome);
    if (result == NULL)
        return false;
    if (operation->found) {
        operation->unit_id = db_integer(result, 0, 1);
        operation->deleted = db_bool(result, 0, 2);
    }
    PQclear(result);
    return true;
}

/* The first two parameters of a read by id: today (written to the
 * caller's today, which the parameters point into) and the id. */
static void read_params(struct operation *operation, struct db_params *params,
                        char today[CLOCK_DATE_SIZE])
{
    operation_today(today);
    db_params_init(params);
    db_param_text(params, today);
    db_param_text(params, operation->id);
}

bool operation_read(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    operation->found = operation->deleted = false;
    if (operation->resource->read != NULL)
        return operation->resource->read(operation, lock, outcome);
    struct db_params params;
    char today[CLOCK_DATE_SIZE];
    read_params(operation, &params, today);
    return read_by_id(operation, lock, &params, NULL, outcome);
}

bool operation_read_audited(struct operation *operation, const char *action, const char *ids,
                            enum db_outcome *outcome)
{
    operation->audited = false;
    if (operation->resource->read != NULL || operation->on_replica)
        return operation_read(operation, false, outcome);
    operation->found = operation->deleted = false;
    struct db_params params;
    char today[CLOCK_DATE_SIZE];
    read_params(operation, &params, today);
    char clause[1024];
    if (!audit_log_read_clause(clause, sizeof clause, &params, operation->request, action,
                               operation->resource->audit_type, ids,
                               "record WHERE NOT deleted")) {
        *outcome = DB_FAILED;
        return false;
    }
    if (!read_by_id(operation, false, &params, clause, outcome))
        return false;
    operation->audited = operation->found && !operation->deleted;
    return true;
}

bool operation_precondition(struct operation *operation, enum db_outcome *outcome)
{
    if (operation->if_match == operation->version)
        return true;
    if (operation->if_match == 0) {
        *outcome = operation_refuse(operation, PROBLEM_PRECONDITION_REQUIRED, "conflict",
                                    "Send If-Match with the ETag of the version you last "
                                    "read.");
        return false;
    }
    json_t *current = operation->document ? json_loads(operation->document, 0, NULL) : NULL;
    char detail[160];
    snprintf(detail, sizeof detail,
             "The %s was changed since that version; the current record is in `current`.",
             operation->resource->name);
    *outcome = operation_refuse_with(
        operation, PROBLEM_PRECONDITION_FAILED, "conflict",
        json_pack("{s:o}", "current", current ? current : json_null()),
        detail);
    operation->problem.etag = operation->version;
    return false;
}

