/* The request lifecycle: the steps in their order, the transaction and the
 * answer (the picture is in operation.h and docs/lifecycle.md). */
#include "operation/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/metrics.h"
#include "http/pool.h"
#include "http/replica.h"
#include "http/request_body.h"
#include "http/server.h"
#include "json.h"
#include "operation/audit_log.h"
#include "operation/change_log.h"
#include "operation/idempotency.h"
#include "operation/scope.h"

const struct operation_steps operation_read_steps = {
    .action = "read", .reads_record = true, .status = 200};

/* Parses If-Match: the version, 0 when absent, -1 when malformed. */
static long long if_match_version(const struct request *request)
{
    const char *header = request_header(request, MHD_HTTP_HEADER_IF_MATCH);
    if (header == NULL)
        return 0;
    if (strncmp(header, "W/", 2) == 0)
        header += 2;
    char digits[24];
    size_t length = strlen(header);
    if (length >= 2 && header[0] == '"' && header[length - 1] == '"') {
        header++;
        length -= 2;
    }
    if (length == 0 || length >= sizeof digits)
        return -1;
    memcpy(digits, header, length);
    digits[length] = '\0';
    long long version;
    return config_parse_integer(digits, 1, 1LL << 62, &version) ? version : -1;
}

bool operation_begin(struct operation *operation, struct request *request,
                     const struct resource *resource, const struct operation_steps *steps,
                     bool body)
{
    void *domain = operation->domain; /* the one member a handler may set first */
    memset(operation, 0, sizeof *operation);
    operation->request = request;
    operation->resource = resource;
    operation->steps = steps;
    operation->domain = domain;
    operation->if_match = if_match_version(request);
    if (steps->reads_record) {
        operation->id = operation_uuid_param(request, "id");
        if (operation->id == NULL) {
            reply_problem(request, PROBLEM_NOT_FOUND, "No such %s.", resource->name);
            return false;
        }
    }
    if (resource->is_child)
        operation->child_id = operation->id;
    if (body && (operation->body = request_json_body(request)) == NULL)
        return false; /* answered 400/415 */
    return true;
}

void operation_handle(struct request *request, const struct resource *resource,
                      const struct operation_steps *steps)
{
    struct operation operation = {0};
    if (operation_begin(&operation, request, resource, steps, steps->reads_body))
        operation_run(&operation);
    json_decref(operation.body);
}

/* The audit entry's ids: the record, and the child it is about when that is
 * another record. */
static void audit_ids_of(const char *id, const char *child_id, char *out, size_t size)
{
    if (child_id != NULL && id != NULL && strcmp(child_id, id) != 0)
        snprintf(out, size, "{%s,%s}", id, child_id);
    else
        snprintf(out, size, "{%s}", id != NULL ? id : "");
}

bool operation_record_write(struct operation *operation, const struct resource *resource,
                            const char *change, const char *id, const char *document,
                            long long version, long long unit_id, enum db_outcome *outcome)
{
    char *wrapped = NULL;
    if (resource->feed_type != NULL && document != NULL && resource->feed_kind != NULL &&
        asprintf(&wrapped, "{\"kind\":\"%s\",\"document\":%s}", resource->feed_kind,
                 document) < 0) {
        *outcome = DB_FAILED;
        return false;
    }
    struct change entry = {
        .resource_type = resource->feed_type, .resource_id = id,
        .child_id = operation->child_id, .operation = change, .version = version,
        .record = wrapped != NULL ? wrapped : document,
        /* Records about a child are in the child's unit, read back. */
        .unit_id = operation->child_id != NULL ? 0 : unit_id,
        .previous_unit_id = operation->previous_unit_id};
    bool logged = resource->feed_type == NULL || change_log_append(operation, &entry, outcome);
    free(wrapped);
    if (!logged)
        return false;
    char ids[128];
    audit_ids_of(id, operation->child_id, ids, sizeof ids);
    if (!audit_log_append(operation->connection, operation->request, change,
                          resource->audit_type, ids, unit_id, "success")) {
        *outcome = DB_FAILED;
        return false;
    }
    return true;
}

bool operation_written(struct operation *operation, const char *change,
                       enum db_outcome *outcome)
{
    if (!operation_read(operation, false, outcome))
        return false;
    if (!operation->found) {
        *outcome = operation_refuse(operation, PROBLEM_INTERNAL, NULL, "The record vanished.");
        return false;
    }
    return operation_record_write(operation, operation->resource, change, operation->id,
                                  operation->document, operation->version, operation->unit_id,
                                  outcome);
}

/* ---- the transaction ---------------------------------------------------------- */

/* Idempotency-Key, or the record read and its precondition. */
static bool enter(struct operation *operation, enum db_outcome *outcome)
{
    const struct operation_steps *steps = operation->steps;
    if ((steps->creates || steps->remembers) && !idempotency_check(operation, outcome))
        return false;
    if (steps->creates) {
        /* A fresh id each attempt: a retried transaction starts over. */
        auth_random_uuid(operation->new_id);
        operation->id = operation->new_id;
        return true;
    }
    if (!steps->reads_record)
        return true;
    bool writes = steps->write != NULL && !steps->reads_unlocked;
    /* A read that hands the record out is audited by its own statement. */
    bool read;
    if (steps->write == NULL && steps->query == NULL && !steps->quiet_read) {
        char ids[128];
        audit_ids_of(operation->id, operation->child_id, ids, sizeof ids);
        read = operation_read_audited(operation, steps->action, ids, outcome);
    } else {
        read = operation_read(operation, writes, outcome);
    }
    if (!read)
        return false;
    if (operation->deleted || (!operation->found && !steps->may_be_absent)) {
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such %s.",
                                    operation->resource->name);
        return false;
    }
    return !steps->requires_if_match || !operation->found ||
           operation_precondition(operation, outcome);
}

/* The statement of a successful read's or list's audit entry, its
 * parameters in params (ids, the caller's, holds its ids); NULL when none
 * is due: a quiet read, or one whose own statement wrote it. */
static const char *read_entry(struct operation *operation, struct db_params *params,
                              char ids[static 128])
{
    if (operation->steps->quiet_read || operation->audited)
        return NULL;
    if (operation->audit_ids == NULL)
        audit_ids_of(operation->id, operation->child_id, ids, 128);
    return audit_log_entry(params, operation->request, operation->steps->action,
                           operation->resource->audit_type,
                           operation->audit_ids ? operation->audit_ids : ids,
                           operation->unit_id ? operation->unit_id
                                              : operation->request->principal.unit_id,
                           "success");
}

/* The audit entry of a successful read or list, in the transaction: it
 * travels with the COMMIT. */
static bool audit_read(struct operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    char ids[128];
    const char *entry = read_entry(operation, &params, ids);
    return entry == NULL || operation_command(operation, entry, &params, outcome);
}

/* What a successful operation leaves: the feed and audit entries, and the
 * answer under its Idempotency-Key. */
static bool record_success(struct operation *operation, enum db_outcome *outcome)
{
    const struct operation_steps *steps = operation->steps;
    const struct resource *resource = operation->resource;
    if (steps->write == NULL || operation->change == NULL) {
        /* A read, a list, or a write that recorded itself.  A standby
         * cannot write: a read there is audited on the primary after it. */
        if (steps->write == NULL && !operation->on_replica && !audit_read(operation, outcome))
            return false;
    } else {
        struct operation *o = operation;
        const char *record = strcmp(o->change, "delete") == 0 ? NULL
                             : o->feed_record ? o->feed_record : o->document;
        if (!operation_record_write(o, resource, o->change, o->id, record, o->version,
                                    o->unit_id, outcome))
            return false;
    }
    if (operation->status == 201 && operation->location[0] == '\0' &&
        (resource->locate != NULL || resource->path != NULL)) {
        if (resource->locate != NULL)
            resource->locate(operation, operation->location, sizeof operation->location);
        else
            snprintf(operation->location, sizeof operation->location, resource->path,
                     operation->id);
    }
    return idempotency_remember(operation, outcome);
}

static enum db_outcome transaction(PGconn *connection, void *context)
{
    struct operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    operation->connection = connection;
    operation_clear_problem(&operation->problem); /* of an attempt that was retried */
    operation->status = operation->steps->status;
    operation->change = operation->steps->change;
    operation->location[0] = '\0';
    if (!scope_set(operation, &outcome) || !enter(operation, &outcome))
        return outcome;
    const struct operation_steps *steps = operation->steps;
    if (steps->write != NULL || steps->query != NULL) {
        outcome = steps->write != NULL ? steps->write(operation) : steps->query(operation);
        if (outcome != DB_COMMIT)
            return outcome;
    }
    record_success(operation, &outcome);
    return outcome;
}

/* Forgets what a read on the standby left before it runs on the primary. */
static void forget_attempt(struct operation *operation)
{
    operation_clear_problem(&operation->problem);
    free(operation->document);
    free(operation->audit_ids);
    operation->document = operation->audit_ids = NULL;
    operation->on_replica = operation->replica_behind = false;
}

/* The audit entry of a read the standby served, on the primary, in a
 * transaction of its own whose scope_enter() verifies the principal there
 * in flight: BEGIN, scope_enter() and the entry travel with the COMMIT, one
 * round trip.  A standby cannot judge a token: it may not have replayed a
 * revocation yet, and a streamed pull reads page after page long after its
 * token was looked up.  So nothing read on a standby is handed out unless
 * the primary still accepts the principal (otherwise principal_stale: 401,
 * or the request judged again as the account now is). */
static enum db_outcome audit_replica_read(PGconn *connection, void *context)
{
    struct operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    operation->connection = connection;
    operation_clear_problem(&operation->problem); /* of an attempt that was retried */
    struct db_params params;
    char ids[128];
    const char *entry = read_entry(operation, &params, ids);
    if (!scope_set(operation, &outcome) ||
        !operation_command_committing(operation, entry, &params, &outcome))
        return outcome;
    return DB_COMMIT;
}

/* A read marked `replica` on the hot standby, when there is one that is
 * reachable and caught up with the client; its audit entry on the primary
 * before the answer (audit_replica_read).  True with *outcome when it ran
 * there (answered, refused 503 because the audit entry could not be
 * written, or its principal refused by the primary); false when
 * the read must run on the primary: no standby, or it is behind, or the
 * read failed there (lost, cancelled by a conflict with recovery). */
static bool execute_on_replica(struct operation *operation, enum db_outcome *outcome)
{
    struct request *request = operation->request;
    PGconn *connection = replica_connection(request);
    if (connection == NULL)
        return false;
    /* A standby cannot judge a token (it may not have replayed its
     * revocation yet): a principal from the cache is looked up on the
     * primary first. */
    if (request->principal_unverified && request_database(request) == NULL) {
        *outcome = DB_FAILED; /* answered 401 or 503, or principal_stale */
        return true;
    }
    operation->on_replica = true;
    *outcome = db_transaction(connection, transaction, operation);
    operation->connection = NULL;
    if (operation->replica_behind || *outcome == DB_FAILED) {
        replica_fall_back(request, operation->replica_behind ? REPLICA_BEHIND : REPLICA_FAILED);
        forget_attempt(operation);
        return false;
    }
    metrics_replica_read(METRICS_READ_REPLICA);
    if (*outcome != DB_COMMIT)
        return true; /* a refusal, answered (and audited) as on the primary */
    if (operation->steps->quiet_read)
        return true; /* no entry: the principal was verified before the read */
    PGconn *primary = request_database(request);
    if (primary == NULL) {
        *outcome = DB_FAILED; /* answered 503 */
        return true;
    }
    operation->on_replica = false; /* the primary judges from here */
    *outcome = db_transaction(primary, audit_replica_read, operation);
    operation->connection = NULL;
    if (*outcome == DB_FAILED) {
        /* Nothing is handed out unaudited (the failure itself was logged). */
        operation_clear_problem(&operation->problem);
        operation_refuse(operation, PROBLEM_DATABASE_UNAVAILABLE, NULL,
                         "The read could not be recorded in the audit log; nothing was "
                         "handed out. Retry.");
        operation->problem.connection_lost = db_connection_lost(primary, NULL);
    }
    return true;
}

enum db_outcome operation_execute(struct operation *operation)
{
    const struct operation_steps *steps = operation->steps;
    if (operation->request->principal_stale)
        return DB_ROLLBACK; /* refused in flight already: nothing more runs */
    if (steps->check != NULL) {
        json_t *errors = steps->check(operation);
        if (json_array_size(errors) > 0)
            return operation_refuse_invalid(operation, errors, steps->invalid_detail);
        json_decref(errors);
    }
    enum db_outcome outcome;
    if (steps->replica && steps->write == NULL && execute_on_replica(operation, &outcome))
        return outcome;
    /* The transaction's scope_enter() verifies the principal itself. */
    PGconn *connection = request_database_verified_in_flight(operation->request);
    if (connection == NULL)
        return DB_FAILED; /* answered 503 */
    bool commit_lost;
    outcome = db_transaction_tracked(connection, transaction, operation, &commit_lost);
    operation->connection = NULL;
    if (outcome == DB_COMMIT) /* scope_enter() traveled at the latest with the COMMIT */
        operation->request->principal_unverified = false;
    /* Read your writes: where a standby serves reads, the answer says how far
     * it must have replayed to show this write. */
    if (outcome == DB_COMMIT && steps->write != NULL && pool_replica != NULL)
        replica_commit_position(connection, operation->consistent_after);
    /* Lost at COMMIT, or before it in a statement whose failure nothing
     * classified (BEGIN, the audit or change log, the idempotency record):
     * 503, not 500, whatever step met it. */
    if (commit_lost || (outcome == DB_FAILED && !operation->problem.set &&
                        db_connection_lost(connection, NULL)))
        operation_refuse_failure(operation, DB_FAILURE_LOST);
    return outcome;
}

/* ---- the answer ---------------------------------------------------------------- */

static void answer_problem(struct operation *operation)
{
    struct request *request = operation->request;
    struct operation_problem *problem = &operation->problem;
    if (problem->connection_lost)
        request_discard_database(request);
    if (problem->etag > 0)
        reply_etag(request, problem->etag);
    if (problem->members != NULL) {
        reply_problem_members(request, problem->type, problem->detail, problem->members);
        problem->members = NULL;
    } else {
        reply_problem_errors(request, problem->type, problem->detail, problem->errors);
        problem->errors = NULL;
    }
    if (problem->audit_outcome != NULL && !operation->steps->quiet_refusals)
        audit_log_refusal(request, operation->steps->action, operation->resource->audit_type,
                          operation->id ? operation->id : operation->parent_id,
                          problem->audit_outcome);
}

static void answer_document(struct operation *operation)
{
    struct request *request = operation->request;
    if (operation->version > 0)
        reply_etag(request, operation->version);
    if (operation->consistent_after[0] != '\0')
        reply_add_header(request, REPLICA_CONSISTENT_AFTER, operation->consistent_after);
    if (operation->location[0] != '\0' &&
        (operation->status == 201 || operation->idempotency == IDEMPOTENCY_KEY_REPLAYED))
        reply_add_header(request, MHD_HTTP_HEADER_LOCATION, operation->location);
    if (operation->status == 204) {
        reply_empty(request, 204);
        return;
    }
    reply_text(request, operation->status, "application/json", operation->document,
               strlen(operation->document));
    operation->document = NULL;
}

/* Whether the operation may be answered: not when its principal was
 * refused in flight (dispatch runs the request again), nor, before it is
 * looked up (request_database, which answers 401 when the token is no
 * longer valid, or marks the principal stale), a failure or refusal for a
 * principal from the cache that no statement verified: a body refused
 * before the transaction, or a transaction whose scope_enter() travelled
 * with its COMMIT and failed there (the database layer reports that as the
 * COMMIT's failure, whatever refused it). */
static bool answerable(struct operation *operation, enum db_outcome outcome)
{
    struct request *request = operation->request;
    if (request->principal_stale)
        return false;
    bool unverified_failure = request->principal_unverified && outcome != DB_COMMIT &&
                              !operation->problem.connection_lost;
    return !unverified_failure || request_database(request) != NULL;
}

void operation_answer(struct operation *operation, enum db_outcome outcome)
{
    struct request *request = operation->request;
    if (!answerable(operation, outcome)) {
        /* Nothing answered here: dispatch answers or runs it again. */
    } else if (operation->idempotency == IDEMPOTENCY_KEY_REPLAYED && operation->document != NULL) {
        reply_add_header(request, "Idempotency-Replayed", "true");
        answer_document(operation);
        /* A replay hands the record out again: audited as a read. */
        audit_log_refusal(request, "read", operation->resource->audit_type, operation->new_id,
                          "success");
    } else if (operation->problem.set) {
        answer_problem(operation);
    } else if (outcome == DB_COMMIT && (operation->document != NULL || operation->status == 204)) {
        answer_document(operation);
    } else if (!request->replied) {
        reply_problem(request, PROBLEM_INTERNAL, "The request could not be completed.");
    }
    operation_clear_problem(&operation->problem);
    free(operation->document);
    free(operation->feed_record);
    free(operation->audit_ids);
    operation->document = operation->feed_record = operation->audit_ids = NULL;
}

void operation_run(struct operation *operation)
{
    operation_answer(operation, operation_execute(operation));
}
