#include "operation/legacy.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "log.h"

#define IDEMPOTENCY_KEY_MAX 200

PGresult *registry_query(struct request *request, const char *sql,
                         const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = db_query(request->database, sql, params);
    if (db_ok(result))
        return result;
    if (db_retryable(result)) {
        *outcome = DB_RETRY;
    } else {
        reply_database_failure(request, "registry statement", result);
        *outcome = DB_FAILED;
    }
    PQclear(result);
    return NULL;
}

void registry_today(char out[CLOCK_DATE_SIZE])
{
    date_format(clock_today(), out);
}

bool scope_enter(struct request *request, enum db_outcome *outcome)
{
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, request->principal.unit_id);
    db_param_text(&params, today);
    PGresult *result = registry_query(request,
                                      "SELECT set_config('baove.scope_unit', $1, true), "
                                      "       set_config('baove.scope_on', $2, true)",
                                      &params, outcome);
    PQclear(result);
    return result != NULL;
}

static long long find_unit(struct request *request, const char *sql, const char *code,
                           const char *on, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, code);
    db_param_text(&params, on);
    PGresult *result = registry_query(request, sql, &params, outcome);
    if (result == NULL)
        return -1;
    long long id = PQntuples(result) == 1 ? db_integer(result, 0, 0) : 0;
    PQclear(result);
    return id;
}

long long scope_commune(struct request *request, const char *code, const char *on,
                        enum db_outcome *outcome)
{
    return find_unit(request,
                     "SELECT u.id FROM units u WHERE u.code = $1 "
                     "   AND u.kind IN ('commune', 'township', 'ward') "
                     "   AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2) "
                     "   AND u.id IN (SELECT id FROM scope_units())",
                     code, on, outcome);
}

long long scope_unit(struct request *request, const char *code, enum db_outcome *outcome)
{
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    return find_unit(request,
                     "SELECT u.id FROM units u WHERE u.code = $1 "
                     "   AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2) "
                     "   AND u.id IN (SELECT id FROM scope_units())",
                     code, today, outcome);
}

const char *request_uuid_param(struct request *request, const char *name, const char *what)
{
    /* The value lives in the request's route match, which we may rewrite. */
    char *id = (char *)route_param(&request->match, name);
    if (!json_is_uuid_text(id)) {
        reply_problem(request, PROBLEM_NOT_FOUND, "No such %s.", what);
        return NULL;
    }
    for (char *c = id; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return id;
}

long long scope_list_filter(struct request *request, const char *code, bool *not_found,
                            enum db_outcome *outcome)
{
    if (code == NULL)
        return 0;
    long long unit_id = scope_unit(request, code, outcome);
    if (unit_id == 0) {
        *not_found = true;
        reply_problem(request, PROBLEM_NOT_FOUND, "No such unit in your scope.");
        *outcome = DB_ROLLBACK;
        return -1;
    }
    return unit_id;
}

/* ---- audit -------------------------------------------------------------- */

bool audit_write(struct request *request, const char *action, const char *resource_type,
                 const char *ids, long long unit_id, const char *outcome)
{
    const struct principal *principal = &request->principal;
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, principal->id[0] != '\0' ? principal->id : NULL);
    db_param_text(&params, principal->username);
    db_param_text(&params, role_name(principal->role));
    db_param_text(&params, action);
    db_param_text(&params, resource_type);
    db_param_text(&params, ids != NULL ? ids : "{}");
    db_param_id(&params, unit_id);
    db_param_text(&params, request->id);
    db_param_text(&params, outcome);
    return db_command(request->database,
                      "INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type, "
                      "resource_ids, unit_id, request_id, outcome) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7::uuid[], $8, $9, $10)",
                      &params);
}

void audit_refusal(struct request *request, const char *action, const char *resource_type,
                   const char *id, const char *outcome)
{
    if (request->database == NULL)
        return;
    char ids[64] = "{}";
    if (id != NULL && json_is_uuid_text(id))
        snprintf(ids, sizeof ids, "{%s}", id);
    if (!audit_write(request, action, resource_type, ids, request->principal.unit_id, outcome))
        log_event(LOG_ERROR, "audit_failed", json_pack("{s:s}", "request_id", request->id));
}

/* ---- optimistic concurrency ---------------------------------------------- */

long long request_if_match(const struct request *request)
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

void reply_record(struct request *request, enum db_outcome outcome, char **document,
                  unsigned status, long long version, const char *location)
{
    if (outcome == DB_COMMIT && *document != NULL) {
        if (version > 0)
            reply_etag(request, version);
        if (status == 201 && location != NULL)
            reply_add_header(request, MHD_HTTP_HEADER_LOCATION, location);
        reply_text(request, status, "application/json", *document, strlen(*document));
        *document = NULL;
    } else if (!request->replied) {
        reply_problem(request, PROBLEM_INTERNAL, "The request could not be completed.");
    }
}


/* ---- idempotency --------------------------------------------------------- */

/* SHA-256 of method, path and body: what "the same request" means. */
static void request_hash(const struct request *request, char out[65])
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestInit_ex(context, EVP_sha256(), NULL);
    EVP_DigestUpdate(context, request->method, strlen(request->method));
    EVP_DigestUpdate(context, " ", 1);
    EVP_DigestUpdate(context, request->path, strlen(request->path));
    EVP_DigestUpdate(context, "\n", 1);
    if (request->body != NULL)
        EVP_DigestUpdate(context, request->body, request->body_length);
    EVP_DigestFinal_ex(context, digest, &length);
    EVP_MD_CTX_free(context);
    sodium_bin2hex(out, 65, digest, length);
}

/* What a replayed response carries besides its body: the record's version
 * as ETag (as the original response had), and its id for the audit entry
 * that dispatch() writes. */
static void replay_describe(struct request *request, const char *body)
{
    request->idempotent_replay = true;
    json_t *document = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(document, "id"));
    if (id != NULL && json_is_uuid_text(id))
        snprintf(request->replayed_id, sizeof request->replayed_id, "%s", id);
    json_t *version = json_object_get(document, "version");
    if (json_is_integer(version))
        reply_etag(request, json_integer_value(version));
    json_decref(document);
}

enum idempotency idempotency_begin(struct request *request, enum db_outcome *outcome)
{
    const char *key = request_header(request, "Idempotency-Key");
    if (key == NULL)
        return IDEMPOTENCY_NO_KEY;
    size_t length = strlen(key);
    if (length == 0 || length > IDEMPOTENCY_KEY_MAX) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "Idempotency-Key",
                                    "must be 1 to %d characters", IDEMPOTENCY_KEY_MAX);
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "Bad Idempotency-Key header.",
                             errors);
        *outcome = DB_ROLLBACK;
        return IDEMPOTENCY_ANSWERED;
    }
    char hash[65];
    request_hash(request, hash);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.id);
    db_param_text(&params, key);
    db_param_instant(&params, clock_now_us());
    /* The transaction-scoped lock is held until the first request commits:
     * a concurrent retry cannot take it and is told to wait (409). */
    PGresult *result = registry_query(
        request,
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 0)), "
        "       (SELECT json_build_array(request_hash, status, response_body, location)::text "
        "          FROM idempotency_keys WHERE principal_id = $1::uuid AND key = $2 "
        "           AND created_at >= $3::timestamptz - interval '30 days')",
        &params, outcome);
    if (result == NULL)
        return IDEMPOTENCY_ANSWERED;
    bool locked = db_bool(result, 0, 0);
    json_t *stored = db_text(result, 0, 1) ? json_loads(db_text(result, 0, 1), 0, NULL) : NULL;
    PQclear(result);
    if (!locked) {
        json_decref(stored);
        reply_problem(request, PROBLEM_REQUEST_IN_PROGRESS,
                      "A request with this Idempotency-Key is still being processed.");
        *outcome = DB_ROLLBACK;
        return IDEMPOTENCY_ANSWERED;
    }
    if (stored == NULL)
        return IDEMPOTENCY_NEW;
    *outcome = DB_ROLLBACK;
    if (strcmp(json_string_value(json_array_get(stored, 0)), hash) != 0) {
        reply_problem(request, PROBLEM_IDEMPOTENCY_KEY_REUSED,
                      "This Idempotency-Key was used for a different request.");
    } else {
        const char *body = json_string_value(json_array_get(stored, 2));
        const char *location = json_string_value(json_array_get(stored, 3));
        reply_text(request, (unsigned)json_integer_value(json_array_get(stored, 1)),
                   "application/json", strdup(body), strlen(body));
        reply_add_header(request, "Idempotency-Replayed", "true");
        if (location != NULL)
            reply_add_header(request, MHD_HTTP_HEADER_LOCATION, location);
        replay_describe(request, body);
    }
    json_decref(stored);
    return IDEMPOTENCY_ANSWERED;
}

bool idempotency_store(struct request *request, unsigned status, const char *body,
                       const char *location, enum db_outcome *outcome)
{
    const char *key = request_header(request, "Idempotency-Key");
    char hash[65];
    request_hash(request, hash);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.id);
    db_param_text(&params, key);
    db_param_text(&params, hash);
    db_param_integer(&params, status);
    db_param_text(&params, body);
    db_param_text(&params, location);
    db_param_instant(&params, clock_now_us());
    /* Keys are kept 30 days (field devices may be offline that long); this
     * principal's older ones are pruned as new ones arrive. */
    PGresult *result = registry_query(
        request,
        "WITH expired AS (DELETE FROM idempotency_keys WHERE principal_id = $1::uuid "
        "                  AND created_at < $7::timestamptz - interval '30 days') "
        "INSERT INTO idempotency_keys (principal_id, key, request_hash, status, "
        "response_body, location, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* ---- change log ---------------------------------------------------------- */

bool change_record(struct request *request, const char *resource_type,
                   const char *resource_id, const char *child_id, const char *operation,
                   long long version, const char *record, long long unit_id,
                   long long previous_unit_id, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, resource_type);
    db_param_text(&params, resource_id);
    db_param_text(&params, child_id);
    db_param_text(&params, operation);
    db_param_integer(&params, version);
    db_param_text(&params, record);
    db_param_id(&params, previous_unit_id);
    db_param_id(&params, unit_id);
    db_param_instant(&params, clock_now_us()); /* recorded_at: retention (0006) */
    /* The child's unit is read back here rather than passed in, so the log
     * always names the unit the child is in after this transaction.  A
     * record that hangs off no child (the fund's) names its unit. */
    PGresult *result = registry_query(
        request,
        "INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, "
        "previous_unit_id, operation, version, record, recorded_at) "
        "SELECT $1, $2::uuid, $3::uuid, coalesce($8::bigint, c.unit_id), "
        "       nullif($7::bigint, coalesce($8::bigint, c.unit_id)), $4, $5, $6::jsonb, $9 "
        "  FROM (SELECT 1) one LEFT JOIN children c ON c.id = $3::uuid "
        " WHERE c.id IS NOT NULL OR ($3::uuid IS NULL AND $8::bigint IS NOT NULL)",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}
