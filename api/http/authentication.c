/* Authentication: bearer tokens for every /v1 request, sign-in with
 * throttling, sign-out, and "who am I". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "db.h"
#include "http/handlers.h"
#include "json.h"

/* Failed sign-ins are counted over a sliding window; past the limit for a
 * username or for a client address, attempts get 429 until the oldest
 * failure leaves the window.  The address limit is higher because several
 * commune workers may share one office connection. */
#define THROTTLE_WINDOW_SECONDS (15 * 60)
#define THROTTLE_MAX_PER_USERNAME 5
#define THROTTLE_MAX_PER_ADDRESS 20
#define SUBJECT_SIZE 128

static void reply_unauthorized(struct request *request, const char *error, const char *detail)
{
    char challenge[128];
    if (error != NULL)
        snprintf(challenge, sizeof challenge, "Bearer realm=\"baove\", error=\"%s\"", error);
    else
        snprintf(challenge, sizeof challenge, "Bearer realm=\"baove\"");
    reply_add_header(request, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    reply_problem(request, PROBLEM_UNAUTHORIZED, "%s", detail);
}

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer_token(const struct request *request)
{
    const char *header = request_header(request, MHD_HTTP_HEADER_AUTHORIZATION);
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t length = strlen(token);
    return length > 0 && length < AUTH_TOKEN_SIZE ? token : NULL;
}

bool api_authenticate(struct request *request)
{
    const char *token = bearer_token(request);
    if (token == NULL) {
        reply_unauthorized(request, NULL,
                           "Send Authorization: Bearer <token>; get a token from "
                           "POST /v1/auth/token.");
        return false;
    }
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return false;
    struct db_params params;
    db_params_init(&params);
    auth_token_hash_hex(token, request->principal.token_hash);
    db_param_text(&params, request->principal.token_hash);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(
        connection,
        "SELECT p.id, p.username, p.kind, p.role, p.unit_id, u.code "
        "  FROM access_tokens t JOIN principals p ON p.id = t.principal_id "
        "  JOIN units u ON u.id = p.unit_id "
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL "
        "   AND (t.expires_at IS NULL OR t.expires_at > $2) AND p.disabled_at IS NULL",
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "authenticate", result);
        PQclear(result);
        return false;
    }
    if (PQntuples(result) != 1) {
        PQclear(result);
        reply_unauthorized(request, "invalid_token",
                           "The token is unknown, expired or revoked.");
        return false;
    }
    struct principal *principal = &request->principal;
    snprintf(principal->id, sizeof principal->id, "%s", db_text(result, 0, 0));
    snprintf(principal->username, sizeof principal->username, "%s", db_text(result, 0, 1));
    principal->is_client = strcmp(db_text(result, 0, 2), "client") == 0;
    principal->role = role_parse(db_text(result, 0, 3));
    principal->unit_id = db_integer(result, 0, 4);
    snprintf(principal->unit_code, sizeof principal->unit_code, "%s", db_text(result, 0, 5));
    PQclear(result);
    request->authenticated = principal->role != ROLE_INVALID;
    if (!request->authenticated)
        reply_unauthorized(request, "invalid_token", "The account's role is not recognised.");
    return request->authenticated;
}

/* ---- sign-in ----------------------------------------------------------- */

static const struct json_field token_fields[] = {
    {.name = "username", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 64},
    {.name = "password", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = AUTH_PASSWORD_MAX_LENGTH},
};

struct sign_in {
    const char *username;
    const char *password;
    char user_subject[SUBJECT_SIZE];
    char address_subject[SUBJECT_SIZE];
    int64_t now;
};

/* Seconds until sign-in may be tried again, 0 when not throttled, -1 on a
 * database failure (answered). */
static long long throttled_for(struct request *request, const struct sign_in *attempt)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, attempt->user_subject);
    db_param_text(&params, attempt->address_subject);
    db_param_instant(&params, attempt->now - (int64_t)THROTTLE_WINDOW_SECONDS * 1000000);
    db_param_integer(&params, THROTTLE_MAX_PER_USERNAME);
    db_param_integer(&params, THROTTLE_MAX_PER_ADDRESS);
    db_param_instant(&params, attempt->now);
    db_param_integer(&params, THROTTLE_WINDOW_SECONDS);
    /* For each subject over its limit: when will enough failures have left
     * the window to allow one more attempt? */
    PGresult *result = db_query(
        request->database,
        "SELECT coalesce(max(ceil(extract(epoch FROM "
        "         at + $7 * interval '1 second' - $6::timestamptz))), 0)::bigint FROM ("
        "  SELECT subject, failed_at AS at, row_number() OVER (PARTITION BY subject "
        "         ORDER BY failed_at DESC) AS newest_rank "
        "    FROM login_failures WHERE subject IN ($1, $2) AND failed_at > $3) ranked "
        " WHERE (subject = $1 AND newest_rank = $4) OR (subject = $2 AND newest_rank = $5)",
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "throttle check", result);
        PQclear(result);
        return -1;
    }
    long long seconds = db_integer(result, 0, 0);
    PQclear(result);
    return seconds;
}

static bool record_failure(struct request *request, const struct sign_in *attempt)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, attempt->user_subject);
    db_param_text(&params, attempt->address_subject);
    db_param_instant(&params, attempt->now);
    db_param_instant(&params, attempt->now - (int64_t)THROTTLE_WINDOW_SECONDS * 1000000);
    PGresult *result = db_query(
        request->database,
        "WITH expired AS (DELETE FROM login_failures "
        "                  WHERE subject IN ($1, $2) AND failed_at <= $4) "
        "INSERT INTO login_failures (subject, failed_at) VALUES ($1, $3), ($2, $3)", &params);
    bool ok = db_ok(result);
    if (!ok)
        reply_database_failure(request, "record sign-in failure", result);
    PQclear(result);
    return ok;
}

/* The stored password hash of an active user, copied into hash; false when
 * there is no such user (or a database failure, answered). */
static bool find_password_hash(struct request *request, const char *username,
                               char hash[AUTH_PASSWORD_HASH_SIZE], bool *failed)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, username);
    PGresult *result = db_query(request->database,
                                "SELECT password_hash FROM principals "
                                " WHERE lower(username) = lower($1) AND kind = 'user' "
                                "   AND disabled_at IS NULL AND password_hash IS NOT NULL",
                                &params);
    *failed = !db_ok(result);
    bool found = !*failed && PQntuples(result) == 1;
    if (*failed)
        reply_database_failure(request, "find user", result);
    else if (found)
        snprintf(hash, AUTH_PASSWORD_HASH_SIZE, "%s", db_text(result, 0, 0));
    PQclear(result);
    return found;
}

static void issue_session_token(struct request *request, const struct sign_in *attempt)
{
    char token[AUTH_TOKEN_SIZE], hash[AUTH_TOKEN_HASH_HEX_SIZE];
    auth_token_generate(AUTH_SESSION_TOKEN_PREFIX, token);
    auth_token_hash_hex(token, hash);
    long long ttl = server_settings()->token_ttl_seconds;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, hash);
    db_param_text(&params, attempt->username);
    db_param_instant(&params, attempt->now);
    db_param_instant(&params, attempt->now + ttl * 1000000);
    db_param_text(&params, attempt->user_subject);
    /* The token and the clearing of past failures commit together. */
    PGresult *result = db_query(
        request->database,
        "WITH cleared AS (DELETE FROM login_failures WHERE subject = $5) "
        "INSERT INTO access_tokens (token_hash, principal_id, kind, issued_at, expires_at) "
        "SELECT $1, id, 'session', $3, $4 FROM principals "
        " WHERE lower(username) = lower($2) AND kind = 'user' AND disabled_at IS NULL",
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "issue token", result);
    } else if (strcmp(PQcmdTuples(result), "1") != 0) {
        /* Disabled between the password check and now. */
        reply_unauthorized(request, NULL, "The username or password is wrong.");
    } else {
        reply_json(request, 200,
                   json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "Bearer",
                             "expires_in", ttl));
    }
    PQclear(result);
    sodium_memzero(token, sizeof token);
}

static void sign_in(struct request *request, struct sign_in *attempt)
{
    long long wait = throttled_for(request, attempt);
    if (wait < 0)
        return;
    if (wait > 0) {
        char seconds[24];
        snprintf(seconds, sizeof seconds, "%lld", wait);
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        reply_problem(request, PROBLEM_TOO_MANY_REQUESTS,
                      "Too many failed sign-ins; try again in %lld seconds.", wait);
        return;
    }
    char hash[AUTH_PASSWORD_HASH_SIZE];
    bool failed;
    bool found = find_password_hash(request, attempt->username, hash, &failed);
    if (failed)
        return;
    /* Unknown users are verified against a dummy hash: same time, same 401. */
    if (!auth_password_verify(found ? hash : NULL, attempt->password)) {
        if (record_failure(request, attempt))
            reply_unauthorized(request, NULL, "The username or password is wrong.");
        return;
    }
    issue_session_token(request, attempt);
}

void handle_auth_token(struct request *request)
{
    json_t *body = request_json_body(request);
    if (body == NULL)
        return;
    json_t *errors = json_array();
    if (!json_check_fields(body, token_fields, sizeof token_fields / sizeof token_fields[0], "",
                           false, errors)) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The sign-in request is invalid.",
                             errors);
        json_decref(body);
        return;
    }
    json_decref(errors);
    struct sign_in attempt = {
        .username = json_member_string(body, "username"),
        .password = json_member_string(body, "password"),
        .now = clock_now_us(),
    };
    char address[64];
    request_client_address(request, address, sizeof address);
    /* Usernames compare case-insensitively, so throttle them that way too. */
    snprintf(attempt.user_subject, sizeof attempt.user_subject, "user:%s", attempt.username);
    for (char *c = attempt.user_subject; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    snprintf(attempt.address_subject, sizeof attempt.address_subject, "address:%s", address);
    if (request_database(request) != NULL)
        sign_in(request, &attempt);
    json_decref(body);
}

void handle_auth_revoke(struct request *request)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.token_hash);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(request->database,
                                "UPDATE access_tokens SET revoked_at = $2 "
                                " WHERE token_hash = $1 AND revoked_at IS NULL", &params);
    if (db_ok(result))
        reply_empty(request, 204);
    else
        reply_database_failure(request, "revoke token", result);
    PQclear(result);
}

void handle_me(struct request *request)
{
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, request->principal.unit_id);
    PGresult *result = db_query(request->database,
                                "SELECT code, name, kind FROM units WHERE id = $1", &params);
    if (!db_ok(result) || PQntuples(result) != 1) {
        reply_database_failure(request, "read own unit", result);
        PQclear(result);
        return;
    }
    const struct principal *principal = &request->principal;
    reply_json(request, 200,
               json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", principal->id,
                         "username", principal->username, "kind",
                         principal->is_client ? "client" : "user", "role",
                         role_name(principal->role), "unit", "code", db_text(result, 0, 0),
                         "name", db_text(result, 0, 1), "kind", db_text(result, 0, 2)));
    PQclear(result);
}
