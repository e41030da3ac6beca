/* Authentication: bearer tokens for every /v1 request, sign-in with
 * throttling, sign-out, and "who am I". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "db.h"
#include "http/handlers.h"
#include "http/principal_cache.h"
#include "http/proxies.h"
#include "http/request_body.h"
#include "json.h"

/* Failed sign-ins are counted over a sliding window, per (username, client
 * address) pair and per address; past either limit, attempts get 429 until
 * enough failures leave the window.  A username alone is never locked: a
 * guesser elsewhere cannot lock its owner out.  The address limit is much
 * higher because a commune office shares one NAT address.  See README.md,
 * "Sign-in policy". */
#define THROTTLE_WINDOW_SECONDS (15 * 60)
#define THROTTLE_MAX_PER_PAIR 5
#define THROTTLE_MAX_PER_ADDRESS 100
/* How long an attempt's reservation counts before a wrong password
 * confirms it (migration 0026): longer than any attempt waits for its
 * password check (BAOVE_CPU_WAIT_MS, then argon2id). */
#define THROTTLE_PENDING_SECONDS 60
#define SUBJECT_SIZE 200

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

/* The lookup itself; true with request->authenticated when the token is
 * valid. */
static bool look_up_principal(struct request *request)
{
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return false;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.token_hash);
    db_param_instant(&params, clock_now_us());
    char today[CLOCK_DATE_SIZE];
    date_format(clock_today(), today);
    db_param_text(&params, today);
    /* A unit that ended in a reorganisation: its name, end and successors,
     * for the principal's problem (unit_ended). */
    PGresult *result = db_query(
        connection,
        "SELECT p.id, p.username, p.kind, p.role, p.unit_id, u.code, u.valid_to < $3::date, "
        "       u.name, u.valid_to, (SELECT coalesce(string_agg(n.code || ' ' || n.name, ', ' "
        "                                                       ORDER BY n.code), 'none') "
        "                              FROM unit_successions s JOIN units n "
        "                                ON n.id = s.successor_id "
        "                             WHERE s.predecessor_id = u.id) "
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
    bool unit_ended = db_bool(result, 0, 6);
    if (unit_ended)
        reply_problem(request, PROBLEM_UNIT_ENDED,
                      "Your unit %s %s ended on %s; its successor: %s. An administrator must "
                      "move your account (baove-admin user move).",
                      principal->unit_code, db_text(result, 0, 7), db_text(result, 0, 8),
                      db_text(result, 0, 9));
    PQclear(result);
    if (unit_ended)
        return false;
    request->authenticated = principal->role != ROLE_INVALID;
    if (!request->authenticated)
        reply_unauthorized(request, "invalid_token", "The account's role is not recognised.");
    return request->authenticated;
}

/* The real lookup of the request's token (principal.token_hash): fills
 * request->principal and keeps it in the cache; otherwise forgets what the
 * cache held for the token, answers 401 (or unit_ended, or 503) and returns
 * false. */
static bool look_up_token(struct request *request)
{
    request->authenticated = request->principal_unverified = false;
    if (!look_up_principal(request))
        principal_cache_forget(request->principal.token_hash);
    else
        principal_cache_store(&request->principal);
    return request->authenticated;
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
    auth_token_hash_hex(token, request->principal.token_hash);
    /* Known: no round trip now; the transaction verifies it in flight. */
    if (principal_cache_find(request->principal.token_hash, &request->principal)) {
        request->authenticated = request->principal_unverified = true;
        return true;
    }
    return look_up_token(request);
}

bool api_authenticate_again(struct request *request)
{
    principal_cache_forget(request->principal.token_hash);
    request->principal_stale = false;
    return look_up_token(request);
}

bool api_verify_principal(struct request *request)
{
    struct principal claimed = request->principal;
    if (!look_up_token(request))
        return false;
    const struct principal *found = &request->principal;
    if (strcmp(claimed.id, found->id) == 0 && claimed.role == found->role &&
        claimed.unit_id == found->unit_id && strcmp(claimed.username, found->username) == 0)
        return true;
    /* Changed since it was cached: the route's permission and everything
     * after it are judged again with the principal found. */
    request->principal_stale = true;
    return false;
}

void api_refuse_token(struct request *request)
{
    reply_forget(request);
    reply_unauthorized(request, "invalid_token",
                       "The token was revoked or expired, or its account changed, while the "
                       "request ran; nothing was done. Sign in again.");
}

/* ---- sign-in ----------------------------------------------------------- */

static const struct json_field token_fields[] = {
    {.name = "username", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 64},
    {.name = "password", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = AUTH_PASSWORD_MAX_LENGTH},
};

/* One sign-in, kept across its three steps (handler_state of the request):
 * reserve an attempt (request thread, database), check the password (CPU
 * thread, no database), answer (request thread, database). */
struct sign_in {
    char username[72];
    char password[AUTH_PASSWORD_MAX_LENGTH + 1];
    char pair_subject[SUBJECT_SIZE];    /* "pair:<username>|<address>" */
    char address_subject[SUBJECT_SIZE]; /* "address:<address>" */
    int64_t now;
    bool found;                          /* an active user with a password */
    char hash[AUTH_PASSWORD_HASH_SIZE];
    bool correct;
    PGresult *failure; /* the reservation's failed statement, for its answer (owned) */
};

static void free_sign_in(void *state)
{
    if (state != NULL) {
        PQclear(((struct sign_in *)state)->failure);
        sodium_memzero(state, sizeof(struct sign_in));
    }
    free(state);
}

/* Counts this attempt as a failure before the password is checked (an
 * unconfirmed one, see confirm_failure), unless the pair or the address is
 * over its limit, and reads the stored hash.
 * Attempts from one address are serialised by an advisory lock, so the
 * limit holds however many arrive at once; counting and recording are one
 * statement.  Returns the seconds to wait (0: reserved), -1 on failure. */
static enum db_outcome reserve_attempt(PGconn *connection, void *context)
{
    struct sign_in *attempt = ((void **)context)[0];
    long long *wait = ((void **)context)[1];
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, attempt->address_subject);
    PGresult *locked = db_query(connection,
                                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &params);
    bool ok = db_ok(locked);
    PQclear(locked);
    if (!ok)
        return DB_FAILED;
    db_params_init(&params);
    db_param_text(&params, attempt->pair_subject);
    db_param_text(&params, attempt->address_subject);
    db_param_instant(&params, attempt->now - (int64_t)THROTTLE_WINDOW_SECONDS * 1000000);
    db_param_integer(&params, THROTTLE_MAX_PER_PAIR);
    db_param_integer(&params, THROTTLE_MAX_PER_ADDRESS);
    db_param_instant(&params, attempt->now);
    db_param_integer(&params, THROTTLE_WINDOW_SECONDS);
    db_param_text(&params, attempt->username);
    db_param_integer(&params, THROTTLE_PENDING_SECONDS);
    /* For each subject at its limit: when will enough of its counted
     * failures have stopped counting (a confirmed one when it leaves the
     * window, an unconfirmed one after $9 seconds)?  Under the limit:
     * reserve one more, unconfirmed. */
    PGresult *result = db_query(
        connection,
        "WITH expired AS (DELETE FROM login_failures "
        "                  WHERE subject IN ($1, $2) AND failed_at <= $3), "
        "counted AS (SELECT subject, failed_at + CASE WHEN confirmed THEN $7::integer "
        "                   ELSE $9::integer END * interval '1 second' AS counts_until "
        "              FROM login_failures WHERE subject IN ($1, $2) AND failed_at > $3), "
        "ranked AS (SELECT subject, counts_until, row_number() OVER (PARTITION BY subject "
        "                  ORDER BY counts_until DESC) AS newest_rank "
        "             FROM counted WHERE counts_until > $6), "
        "waiting AS (SELECT coalesce(max(ceil(extract(epoch FROM "
        "                   counts_until - $6::timestamptz))), 0)"
        "                   ::bigint AS seconds FROM ranked "
        "             WHERE (subject = $1 AND newest_rank = $4) "
        "                OR (subject = $2 AND newest_rank = $5)), "
        "reserved AS (INSERT INTO login_failures (subject, failed_at, confirmed) "
        "             SELECT subject, $6, false FROM waiting, unnest(ARRAY[$1, $2]) AS subject "
        "              WHERE waiting.seconds <= 0 RETURNING 1) "
        "SELECT greatest(waiting.seconds, 0), (SELECT password_hash FROM principals "
        "        WHERE lower(username) = lower($8) AND kind = 'user' "
        "          AND disabled_at IS NULL AND password_hash IS NOT NULL), "
        "       (SELECT count(*) FROM reserved) FROM waiting",
        &params);
    if (!db_ok(result)) {
        enum db_outcome outcome = db_retryable(result) ? DB_RETRY : DB_FAILED;
        PQclear(attempt->failure);
        attempt->failure = NULL;
        if (outcome == DB_FAILED)
            attempt->failure = result; /* answered as what it is: 503 when busy */
        else
            PQclear(result);
        return outcome;
    }
    *wait = db_integer(result, 0, 2) > 0 ? 0 : (db_integer(result, 0, 0) > 0
                                                     ? db_integer(result, 0, 0) : 1);
    attempt->found = db_text(result, 0, 1) != NULL;
    if (attempt->found)
        snprintf(attempt->hash, sizeof attempt->hash, "%s", db_text(result, 0, 1));
    PQclear(result);
    return DB_COMMIT;
}

/* Runs `sql` on the attempt's own reservation ($1 pair, $2 address, $3 its
 * instant); false after answering 503 when there is no connection. */
static bool settle_attempt(struct request *request, const struct sign_in *attempt,
                           const char *sql)
{
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return false;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, attempt->pair_subject);
    db_param_text(&params, attempt->address_subject);
    db_param_instant(&params, attempt->now);
    db_command(connection, sql, &params);
    return true;
}

/* A wrong password: the attempt's reservation becomes a failure for the
 * whole window.  False after answering 503 when there is no connection (as
 * a right password would be answered then: the 503 tells nothing); the
 * reservation then stops counting after THROTTLE_PENDING_SECONDS. */
static bool confirm_failure(struct request *request, const struct sign_in *attempt)
{
    return settle_attempt(request, attempt,
                          "UPDATE login_failures SET confirmed = true "
                          " WHERE subject IN ($1, $2) AND failed_at = $3 AND NOT confirmed");
}

/* Forgets the failure reserved for an attempt that was not checked. */
static void release_attempt(struct request *request, const struct sign_in *attempt)
{
    settle_attempt(request, attempt,
                   "DELETE FROM login_failures WHERE ctid IN (SELECT min(ctid) FROM "
                   " login_failures WHERE subject IN ($1, $2) AND failed_at = $3 "
                   " GROUP BY subject)");
}

static void issue_session_token(struct request *request, const struct sign_in *attempt)
{
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return;
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
    db_param_text(&params, attempt->pair_subject);
    db_param_text(&params, attempt->address_subject);
    /* The token and the clearing of the pair's failures (and of the one
     * this attempt reserved for the address) commit together. */
    PGresult *result = db_query(
        connection,
        "WITH cleared AS (DELETE FROM login_failures WHERE subject = $5 "
        "                    OR (subject = $6 AND failed_at = $3)) "
        "INSERT INTO access_tokens (token_hash, principal_id, kind, issued_at, expires_at) "
        "SELECT $1, id, 'session', $3, $4 FROM principals "
        " WHERE lower(username) = lower($2) AND kind = 'user' AND disabled_at IS NULL",
        &params);
    if (!db_ok(result)) {
        /* The password was right: the failure reserved for it is handed
         * back, or a database outage would lock out users who typed their
         * password correctly.  A lost connection cannot hand it back. */
        if (!db_connection_lost(connection, result))
            release_attempt(request, attempt);
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

/* On a CPU thread: argon2id, with no database connection held. */
static void check_password(struct request *request)
{
    struct sign_in *attempt = request->handler_state;
    /* Unknown users are verified against a dummy hash: same time, same 401. */
    attempt->correct = auth_password_verify(attempt->found ? attempt->hash : NULL,
                                            attempt->password);
    sodium_memzero(attempt->password, sizeof attempt->password);
}

/* Back on a request thread: the answer. */
static void answer_sign_in(struct request *request)
{
    struct sign_in *attempt = request->handler_state;
    if (request->aside_skipped) {
        release_attempt(request, attempt);
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        reply_problem(request, PROBLEM_SERVER_BUSY,
                      "Too many sign-ins are being checked at once; retry in a second.");
    } else if (!attempt->correct) {
        if (confirm_failure(request, attempt))
            reply_unauthorized(request, NULL, "The username or password is wrong.");
    } else {
        issue_session_token(request, attempt);
    }
}

/* The attempt's subjects: usernames compare case-insensitively, so they
 * are throttled that way too. */
static void name_subjects(struct request *request, struct sign_in *attempt)
{
    char client[64], address[72];
    request_client_address(request, client, sizeof client);
    proxies_client_network(client, address, sizeof address);
    for (char *c = attempt->username; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    snprintf(attempt->pair_subject, sizeof attempt->pair_subject, "pair:%s|%s",
             attempt->username, address);
    snprintf(attempt->address_subject, sizeof attempt->address_subject, "address:%s",
             address);
}

static void sign_in(struct request *request, struct sign_in *attempt)
{
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return;
    long long wait = -1;
    void *context[] = {attempt, &wait};
    if (db_transaction(connection, reserve_attempt, context) != DB_COMMIT) {
        reply_database_failure(request, "reserve sign-in attempt", attempt->failure);
        return;
    }
    if (wait > 0) {
        char seconds[24];
        snprintf(seconds, sizeof seconds, "%lld", wait);
        reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        reply_problem(request, PROBLEM_TOO_MANY_REQUESTS,
                      "Too many failed sign-ins; try again in %lld seconds.", wait);
        return;
    }
    request_run_aside(request, check_password, answer_sign_in);
}

/* What principals.username allows.  Checked before anything else: the
 * throttle's subjects fold ASCII case only, while PostgreSQL's lower()
 * also folds look-alikes ("İ" and the Kelvin sign "K" to "i" and "k"), so
 * each such spelling of a name got five fresh guesses; and a multi-byte
 * name cut to the attempt's buffer answered 500. */
static bool username_well_formed(const char *username)
{
    size_t length = strspn(username, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_.@-");
    return length >= 1 && length <= 64 && username[length] == '\0';
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
    if (!username_well_formed(json_member_string(body, "username"))) {
        json_decref(body);
        errors = json_array();
        problem_add_field_error(errors, "/username",
                                "is 1 to 64 ASCII letters, digits, '_', '.', '@' or '-'");
        reply_problem_errors(request, PROBLEM_VALIDATION, "The sign-in request is invalid.",
                             errors);
        return;
    }
    struct sign_in *attempt = calloc(1, sizeof *attempt);
    if (attempt == NULL) {
        json_decref(body);
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        return;
    }
    request->handler_state = attempt;
    request->free_handler_state = free_sign_in;
    snprintf(attempt->username, sizeof attempt->username, "%s",
             json_member_string(body, "username"));
    snprintf(attempt->password, sizeof attempt->password, "%s",
             json_member_string(body, "password"));
    attempt->now = clock_now_us();
    json_decref(body);
    name_subjects(request, attempt);
    sign_in(request, attempt);
}

void handle_auth_revoke(struct request *request)
{
    /* Verified first (a cached principal): never a write for a token that
     * is no longer valid. */
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, request->principal.token_hash);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(connection,
                                "UPDATE access_tokens SET revoked_at = $2 "
                                " WHERE token_hash = $1 AND revoked_at IS NULL", &params);
    /* This process forgets it now; the others on their next use of it,
     * when scope_enter() refuses it. */
    principal_cache_forget(request->principal.token_hash);
    if (db_ok(result))
        reply_empty(request, 204);
    else
        reply_database_failure(request, "revoke token", result);
    PQclear(result);
}

void handle_me(struct request *request)
{
    /* Outside any transaction that verifies it: the principal is looked up
     * first when it came from the cache (request_database). */
    PGconn *connection = request_database(request);
    if (connection == NULL)
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, request->principal.unit_id);
    PGresult *result = db_query(connection,
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
