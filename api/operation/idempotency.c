#include "operation/idempotency.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "json.h"

#define IDEMPOTENCY_KEY_MAX 200

/* SHA-256 of method, path and body: what "the same request" means. */
static void request_hash(const struct request *request, char out[65])
{
    crypto_hash_sha256_state state;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, (const unsigned char *)request->method,
                              strlen(request->method));
    crypto_hash_sha256_update(&state, (const unsigned char *)" ", 1);
    crypto_hash_sha256_update(&state, (const unsigned char *)request->path,
                              strlen(request->path));
    crypto_hash_sha256_update(&state, (const unsigned char *)"\n", 1);
    if (request->body != NULL)
        crypto_hash_sha256_update(&state, (const unsigned char *)request->body,
                                  request->body_length);
    crypto_hash_sha256_final(&state, digest);
    sodium_bin2hex(out, 65, digest, sizeof digest);
}

/* Takes a stored answer [hash, status, body, location] as the operation's:
 * the record's id and version (its ETag) come from the body, as the first
 * answer had them. */
static enum db_outcome replay(struct operation *operation, const json_t *stored)
{
    const char *body = json_string_value(json_array_get(stored, 2));
    const char *location = json_string_value(json_array_get(stored, 3));
    operation->idempotency = IDEMPOTENCY_KEY_REPLAYED;
    operation->status = (unsigned)json_integer_value(json_array_get(stored, 1));
    if (!operation_keep_document(operation, body))
        return DB_FAILED;
    snprintf(operation->location, sizeof operation->location, "%s", location ? location : "");
    json_t *document = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(document, "id"));
    if (id != NULL && json_is_uuid_text(id))
        snprintf(operation->new_id, sizeof operation->new_id, "%s", id);
    json_t *version = json_object_get(document, "version");
    operation->version = json_is_integer(version) ? json_integer_value(version) : 0;
    json_decref(document);
    return DB_ROLLBACK;
}

/* A replay hands the record out again, so only to a caller who could read
 * it now: in the transaction's scope (row-level security) and not deleted.
 * A record moved out of the caller's scope, or deleted, since the first
 * answer is 404, as its read would be, and nothing of the stored answer
 * goes out.  An answer without a record id (a 204) replays as it was. */
static enum db_outcome replay_if_visible(struct operation *operation, const json_t *stored)
{
    enum db_outcome outcome = replay(operation, stored);
    const struct resource *resource = operation->resource;
    if (outcome != DB_ROLLBACK || operation->new_id[0] == '\0' || resource->table == NULL)
        return outcome;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s r WHERE r.id = $1::uuid%s%s%s",
             resource->table, resource->deleted ? " AND NOT (" : "",
             resource->deleted ? resource->deleted : "", resource->deleted ? ")" : "");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->new_id);
    PGresult *result = operation_query(operation, sql, &params, &outcome);
    bool visible = result != NULL && strcmp(db_text(result, 0, 0), "1") == 0;
    PQclear(result);
    if (visible)
        return DB_ROLLBACK; /* answered from the stored answer */
    /* Not handed out: not when the check itself failed either (the
     * failure's problem, or a retry, is the answer). */
    free(operation->document);
    operation->document = NULL;
    operation->idempotency = IDEMPOTENCY_KEY_NONE;
    if (result == NULL)
        return outcome;
    operation->id = operation->new_id; /* the refusal's audit entry names it */
    return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such %s.",
                            resource->name);
}

static bool key_acceptable(struct operation *operation, const char *key,
                           enum db_outcome *outcome)
{
    size_t length = strlen(key);
    if (length > 0 && length <= IDEMPOTENCY_KEY_MAX)
        return true;
    json_t *errors = json_array();
    problem_add_parameter_error(errors, "Idempotency-Key", "must be 1 to %d characters",
                                IDEMPOTENCY_KEY_MAX);
    *outcome = operation_refuse_invalid(operation, errors, "Bad Idempotency-Key header.");
    operation->problem.type = PROBLEM_INVALID_PARAMETER;
    operation->problem.audit_outcome = NULL; /* as before: a bad header is not audited */
    return false;
}

bool idempotency_check(struct operation *operation, enum db_outcome *outcome)
{
    struct request *request = operation->request;
    const char *key = request_header(request, "Idempotency-Key");
    operation->idempotency = IDEMPOTENCY_KEY_NONE;
    if (key == NULL)
        return true;
    if (!key_acceptable(operation, key, outcome))
        return false;
    char hash[65];
    request_hash(request, hash);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.id);
    db_param_text(&params, key);
    db_param_instant(&params, clock_now_us());
    /* The transaction-scoped lock is held until the first request commits:
     * a concurrent retry cannot take it and is told to wait (409). */
    PGresult *result = operation_query(
        operation,
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 0)), "
        "       (SELECT json_build_array(request_hash, status, response_body, location)::text "
        "          FROM idempotency_keys WHERE principal_id = $1::uuid AND key = $2 "
        "           AND created_at >= $3::timestamptz - interval '30 days')",
        &params, outcome);
    if (result == NULL)
        return false;
    bool locked = db_bool(result, 0, 0);
    json_t *stored = db_text(result, 0, 1) ? json_loads(db_text(result, 0, 1), 0, NULL) : NULL;
    PQclear(result);
    if (!locked)
        *outcome = operation_refuse(operation, PROBLEM_REQUEST_IN_PROGRESS, NULL,
                                    "A request with this Idempotency-Key is still being "
                                    "processed.");
    else if (stored != NULL && strcmp(json_string_value(json_array_get(stored, 0)), hash) != 0)
        *outcome = operation_refuse(operation, PROBLEM_IDEMPOTENCY_KEY_REUSED, NULL,
                                    "This Idempotency-Key was used for a different request.");
    else if (stored != NULL)
        *outcome = replay_if_visible(operation, stored);
    else
        operation->idempotency = IDEMPOTENCY_KEY_NEW;
    json_decref(stored);
    return operation->idempotency == IDEMPOTENCY_KEY_NEW;
}

bool idempotency_remember(struct operation *operation, enum db_outcome *outcome)
{
    if (operation->idempotency != IDEMPOTENCY_KEY_NEW)
        return true;
    struct request *request = operation->request;
    char hash[65];
    request_hash(request, hash);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.id);
    db_param_text(&params, request_header(request, "Idempotency-Key"));
    db_param_text(&params, hash);
    db_param_integer(&params, operation->status);
    db_param_text(&params, operation->document);
    db_param_text(&params, operation->location[0] != '\0' ? operation->location : NULL);
    db_param_instant(&params, clock_now_us());
    /* This principal's keys older than 30 days are pruned as new ones
     * arrive, before the insert (which reads the prune's count): a key
     * older than that is new again, and its old row must be gone first or
     * the insert meets it (a 500 where a new answer was due). */
    return operation_command(
        operation,
        "WITH expired AS (DELETE FROM idempotency_keys WHERE principal_id = $1::uuid "
        "                  AND created_at < $7::timestamptz - interval '30 days' "
        "                 RETURNING 1) "
        "INSERT INTO idempotency_keys (principal_id, key, request_hash, status, "
        "response_body, location, created_at) "
        "SELECT $1, $2, $3, $4, $5, $6, $7 FROM (SELECT count(*) FROM expired) pruned",
        &params, outcome);
}
