/* Principals and their credentials: people with passwords, machine clients
 * with API keys, and the bearer tokens both use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "db.h"

#define DEFAULT_SESSION_TTL "8h"

const char *admin_option(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

bool admin_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

/* The id of the unit with this code valid today (BAOVE_NOW or the clock),
 * as text in id_out; false when none is.  Quiet: callers say why it
 * matters. */
bool admin_unit_id_today(PGconn *connection, const char *code, char *id_out, size_t size)
{
    char today[CLOCK_DATE_SIZE];
    date_format(clock_today(), today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, code);
    db_param_text(&params, today);
    PGresult *result = db_query(connection,
                                "SELECT id FROM units WHERE code = $1 AND valid_from <= $2 "
                                "AND (valid_to IS NULL OR valid_to >= $2)", &params);
    bool found = db_ok(result) && PQntuples(result) == 1;
    if (found)
        snprintf(id_out, size, "%s", db_text(result, 0, 0));
    PQclear(result);
    return found;
}

/* admin_unit_id_today, telling the operator when there is none. */
static bool unit_id_today(PGconn *connection, const char *code, char *id_out, size_t size)
{
    if (admin_unit_id_today(connection, code, id_out, size))
        return true;
    char today[CLOCK_DATE_SIZE];
    date_format(clock_today(), today);
    fprintf(stderr, "baove-admin: no administrative unit %s is valid on %s\n", code, today);
    return false;
}

/* Whether role names one; otherwise says which do. */
static bool known_role(const char *role)
{
    if (role_parse(role) != ROLE_INVALID)
        return true;
    fprintf(stderr, "baove-admin: unknown role \"%s\" (admin, district_officer, "
                    "province_officer, commune_officer, commune_chair, collaborator, viewer, "
                    "sync_client)\n",
            role);
    return false;
}

int admin_create_principal(PGconn *connection, const char *kind, const char *username,
                           const char *password, const char *role, const char *unit_code)
{
    if (!known_role(role))
        return 1;
    char unit_id[32];
    if (!unit_id_today(connection, unit_code, unit_id, sizeof unit_id))
        return 1;
    char hash[AUTH_PASSWORD_HASH_SIZE];
    if (password != NULL && !auth_password_hash(password, hash)) {
        fprintf(stderr, "baove-admin: cannot hash the password (out of memory?)\n");
        return 1;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, kind);
    db_param_text(&params, username);
    db_param_text(&params, password != NULL ? hash : NULL);
    db_param_text(&params, role);
    db_param_text(&params, unit_id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(connection,
                                "INSERT INTO principals (kind, username, password_hash, role, "
                                "unit_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)", &params);
    bool ok = db_ok(result);
    if (!ok) {
        if (strcmp(db_sqlstate(result), "23505") == 0)
            fprintf(stderr, "baove-admin: the name \"%s\" is taken\n", username);
        else
            fprintf(stderr, "baove-admin: cannot create \"%s\": %s", username,
                    PQresultErrorMessage(result));
    }
    PQclear(result);
    return ok ? 0 : 1;
}

/* Reads one line from stdin without its newline. */
static bool read_password(char *out, size_t size)
{
    if (fgets(out, (int)size, stdin) == NULL)
        return false;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] != '\0';
}

/* A new password from stdin (--password-stdin) or generated into `out`. */
static bool new_password(int argc, char **argv, char out[AUTH_PASSWORD_MAX_LENGTH + 2],
                         bool *generated)
{
    *generated = !admin_flag(argc, argv, "--password-stdin");
    if (*generated) {
        auth_token_generate("", out);
        return true;
    }
    if (read_password(out, AUTH_PASSWORD_MAX_LENGTH + 2) &&
        strlen(out) <= AUTH_PASSWORD_MAX_LENGTH)
        return true;
    fprintf(stderr, "baove-admin: no password (or one over %d bytes) on stdin\n",
            AUTH_PASSWORD_MAX_LENGTH);
    return false;
}

int admin_user_add(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    const char *role = admin_option(argc, argv, "--role");
    const char *unit = admin_option(argc, argv, "--unit");
    if (username == NULL || role == NULL || unit == NULL) {
        fprintf(stderr, "usage: baove-admin user add --username U --role R --unit CODE "
                        "[--password-stdin]\n");
        return 2;
    }
    char password[AUTH_PASSWORD_MAX_LENGTH + 2];
    bool generated;
    if (!new_password(argc, argv, password, &generated))
        return 2;
    int status = admin_create_principal(connection, "user", username, password, role, unit);
    if (status == 0 && generated) {
        fprintf(stderr, "baove-admin: created %s; its generated password follows\n", username);
        printf("%s\n", password);
    }
    sodium_memzero(password, sizeof password);
    return status;
}

void admin_print_table(const char *header, const PGresult *result)
{
    printf("%s\n", header);
    int columns = PQnfields(result);
    for (int row = 0; row < PQntuples(result); row++)
        for (int column = 0; column < columns; column++)
            printf("%s%c", db_text(result, row, column), column == columns - 1 ? '\n' : '\t');
}

int admin_user_list(PGconn *connection, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    PGresult *result = db_query(
        connection,
        "SELECT p.username, p.role, u.code, rfc3339(p.created_at), "
        "       CASE WHEN p.disabled_at IS NULL THEN 'active' "
        "            ELSE 'disabled ' || rfc3339(p.disabled_at) END "
        "  FROM principals p JOIN units u ON u.id = p.unit_id "
        " WHERE p.kind = 'user' ORDER BY lower(p.username)", NULL);
    if (!db_ok(result)) {
        fprintf(stderr, "baove-admin: cannot list the users: %s", PQresultErrorMessage(result));
        PQclear(result);
        return 1;
    }
    admin_print_table("username\trole\tunit\tcreated\tstate", result);
    PQclear(result);
    return 0;
}

int admin_user_reset_password(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    char password[AUTH_PASSWORD_MAX_LENGTH + 2], hash[AUTH_PASSWORD_HASH_SIZE];
    bool generated;
    if (username == NULL) {
        fprintf(stderr, "usage: baove-admin user reset-password --username U "
                        "[--password-stdin]\n");
        return 2;
    }
    if (!new_password(argc, argv, password, &generated))
        return 2;
    bool hashed = auth_password_hash(password, hash);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, username);
    db_param_text(&params, hash);
    db_param_instant(&params, clock_now_us());
    /* The sessions the old password opened end with it, in the same
     * statement; a disabled user stays disabled. */
    PGresult *result = hashed ? db_query(
        connection,
        "WITH changed AS (UPDATE principals SET password_hash = $2 "
        "                  WHERE lower(username) = lower($1) AND kind = 'user' RETURNING id), "
        "     revoked AS (UPDATE access_tokens SET revoked_at = $3 "
        "                  WHERE principal_id IN (SELECT id FROM changed) "
        "                    AND kind = 'session' AND revoked_at IS NULL) "
        "SELECT count(*) FROM changed", &params) : NULL;
    bool found = db_ok(result) && db_integer(result, 0, 0) == 1;
    PQclear(result);
    sodium_memzero(hash, sizeof hash);
    if (found) {
        fprintf(stderr, "baove-admin: new password for %s, its sessions revoked%s\n", username,
                generated ? "; the generated password follows" : "");
        if (generated)
            printf("%s\n", password);
    } else {
        fprintf(stderr, "baove-admin: no such user \"%s\"\n", username);
    }
    sodium_memzero(password, sizeof password);
    return found ? 0 : 1;
}

int admin_user_disable(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    if (username == NULL) {
        fprintf(stderr, "usage: baove-admin user disable --username U\n");
        return 2;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, username);
    db_param_instant(&params, clock_now_us());
    /* Disabling also revokes every live token, in the same statement, so no
     * token outlives its principal. */
    PGresult *result = db_query(
        connection,
        "WITH disabled AS (UPDATE principals SET disabled_at = coalesce(disabled_at, $2) "
        "                   WHERE lower(username) = lower($1) RETURNING id), "
        "     revoked AS (UPDATE access_tokens SET revoked_at = $2 "
        "                  WHERE principal_id IN (SELECT id FROM disabled) "
        "                    AND revoked_at IS NULL) "
        "SELECT count(*) FROM disabled", &params);
    bool found = db_ok(result) && db_integer(result, 0, 0) == 1;
    PQclear(result);
    if (!found) {
        fprintf(stderr, "baove-admin: no such user \"%s\"\n", username);
        return 1;
    }
    fprintf(stderr, "baove-admin: disabled %s and revoked its tokens\n", username);
    return 0;
}

/* Changes one column of a principal, found by its name, and audits it in
 * the same statement (actor baove-admin, the command as the request id, the
 * principal's unit after the change).  `assignment` is a constant of this
 * file whose only value is $2.  Sessions and API keys stay valid: the API
 * verifies the principal in every transaction and judges the next request
 * as the principal now is (docs/lifecycle.md).  Returns 0, or 1 after
 * saying why. */
static int change_principal(PGconn *connection, const char *username, const char *assignment,
                            const char *value, const char *command)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, username);
    db_param_text(&params, value);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, command);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "WITH changed AS (UPDATE principals SET %s "
             "                  WHERE lower(username) = lower($1) RETURNING id, unit_id), "
             "     audited AS (INSERT INTO audit_log (at, actor, role, action, resource_type, "
             "                   resource_ids, unit_id, request_id, outcome) "
             "                 SELECT $3, 'baove-admin', 'admin', 'update', 'principals', "
             "                        array_agg(id), min(unit_id), $4, 'success' FROM changed "
             "                 HAVING count(*) > 0) "
             "SELECT count(*) FROM changed",
             assignment);
    PGresult *result = db_query(connection, sql, &params);
    bool found = db_ok(result) && db_integer(result, 0, 0) == 1;
    if (!db_ok(result))
        fprintf(stderr, "baove-admin: %s: %s", command, PQresultErrorMessage(result));
    else if (!found)
        fprintf(stderr, "baove-admin: no such user \"%s\"\n", username);
    PQclear(result);
    return found ? 0 : 1;
}

/* Moves a principal to another unit valid today (after a reorganisation:
 * `units apply` moves only the principals of a whole succession), audited
 * like the moves it makes. */
int admin_user_move(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    const char *unit = admin_option(argc, argv, "--unit");
    if (username == NULL || unit == NULL) {
        fprintf(stderr, "usage: baove-admin user move --username U --unit CODE\n");
        return 2;
    }
    char unit_id[32];
    if (!unit_id_today(connection, unit, unit_id, sizeof unit_id))
        return 1;
    int status = change_principal(connection, username, "unit_id = $2::bigint", unit_id,
                                  "user move");
    if (status == 0)
        fprintf(stderr, "baove-admin: moved %s to unit %s\n", username, unit);
    return status;
}

/* Gives a principal another role (a commune officer who becomes the
 * chair), audited. */
int admin_user_set_role(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    const char *role = admin_option(argc, argv, "--role");
    if (username == NULL || role == NULL) {
        fprintf(stderr, "usage: baove-admin user set-role --username U --role R\n");
        return 2;
    }
    if (!known_role(role))
        return 1;
    int status = change_principal(connection, username, "role = $2", role, "user set-role");
    if (status == 0)
        fprintf(stderr, "baove-admin: %s is now %s\n", username, role);
    return status;
}

bool admin_store_token(PGconn *connection, const char *username, const char *kind,
                       const char *prefix, long long ttl_seconds, char *token)
{
    char hash[AUTH_TOKEN_HASH_HEX_SIZE];
    auth_token_generate(prefix, token);
    auth_token_hash_hex(token, hash);
    int64_t now = clock_now_us();
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, hash);
    db_param_text(&params, username);
    db_param_text(&params, kind);
    db_param_instant(&params, now);
    if (ttl_seconds > 0)
        db_param_instant(&params, now + ttl_seconds * 1000000);
    else
        db_param_text(&params, NULL);
    PGresult *result = db_query(
        connection,
        "INSERT INTO access_tokens (token_hash, principal_id, kind, issued_at, expires_at) "
        "SELECT $1, id, $3, $4, $5 FROM principals "
        " WHERE lower(username) = lower($2) AND disabled_at IS NULL", &params);
    bool ok = db_ok(result) && strcmp(PQcmdTuples(result), "1") == 0;
    PQclear(result);
    if (!ok) {
        sodium_memzero(token, AUTH_TOKEN_SIZE);
        fprintf(stderr, "baove-admin: no active principal \"%s\"\n", username);
    }
    return ok;
}

int admin_issue_token(PGconn *connection, const char *username, const char *kind,
                      const char *prefix, long long ttl_seconds)
{
    char token[AUTH_TOKEN_SIZE];
    if (!admin_store_token(connection, username, kind, prefix, ttl_seconds, token))
        return 1;
    printf("%s\n", token);
    sodium_memzero(token, sizeof token);
    return 0;
}

int admin_token_issue(PGconn *connection, int argc, char **argv)
{
    const char *username = admin_option(argc, argv, "--username");
    const char *ttl = admin_option(argc, argv, "--ttl");
    long long ttl_seconds;
    if (username == NULL || !config_parse_duration(ttl ? ttl : DEFAULT_SESSION_TTL,
                                                   &ttl_seconds)) {
        fprintf(stderr, "usage: baove-admin token issue --username U [--ttl 8h]\n");
        return 2;
    }
    return admin_issue_token(connection, username, "session", AUTH_SESSION_TOKEN_PREFIX,
                             ttl_seconds);
}
