/* Machine clients and their API keys: a client name is issued once (names
 * are unique, case-insensitively, among people and clients alike), its keys
 * are listed, revoked, and rotated; a key may carry an expiry (--ttl).  Keys
 * are printed alone on stdout, only once they are stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "db.h"

/* Reads --ttl (absent: 0, a key that never expires); false when malformed. */
static bool key_lifetime(int argc, char **argv, const char *name, long long *seconds)
{
    const char *text = admin_option(argc, argv, name);
    *seconds = 0;
    return text == NULL || config_parse_duration(text, seconds);
}

int admin_apikey_issue(PGconn *connection, int argc, char **argv)
{
    const char *client = admin_option(argc, argv, "--client");
    const char *role = admin_option(argc, argv, "--role");
    const char *unit = admin_option(argc, argv, "--unit");
    long long ttl_seconds;
    if (client == NULL || role == NULL || unit == NULL ||
        !key_lifetime(argc, argv, "--ttl", &ttl_seconds)) {
        fprintf(stderr, "usage: baove-admin apikey issue --client NAME --role R --unit CODE "
                        "[--ttl 90d]\n");
        return 2;
    }
    /* A second issue for the same name used to hand out another key
     * silently; a new key for an existing client is a rotation, said so. */
    if (admin_create_principal(connection, "client", client, NULL, role, unit) != 0) {
        fprintf(stderr, "baove-admin: for a new key of an existing client: "
                        "baove-admin apikey rotate --client %s\n", client);
        return 1;
    }
    return admin_issue_token(connection, client, "api_key", AUTH_API_KEY_PREFIX, ttl_seconds);
}

int admin_apikey_list(PGconn *connection, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    /* The key's id is the start of its hash: enough to tell keys apart in a
     * list, useless to sign in with. */
    PGresult *result = db_query(
        connection,
        "SELECT p.username, p.role, u.code, coalesce(left(t.token_hash, 12), '-'), "
        "       coalesce(rfc3339(t.issued_at), '-'), coalesce(rfc3339(t.expires_at), 'never'), "
        "       CASE WHEN p.disabled_at IS NOT NULL THEN 'disabled' "
        "            WHEN t.token_hash IS NULL THEN 'no key' "
        "            WHEN t.revoked_at IS NOT NULL THEN 'revoked' "
        "            WHEN t.expires_at <= $1 THEN 'expired' ELSE 'live' END "
        "  FROM principals p JOIN units u ON u.id = p.unit_id "
        "  LEFT JOIN access_tokens t ON t.principal_id = p.id AND t.kind = 'api_key' "
        " WHERE p.kind = 'client' "
        " ORDER BY lower(p.username), t.issued_at, t.token_hash", &params);
    if (!db_ok(result)) {
        fprintf(stderr, "baove-admin: cannot list the keys: %s", PQresultErrorMessage(result));
        PQclear(result);
        return 1;
    }
    admin_print_table("client\trole\tunit\tkey\tissued\texpires\tstate", result);
    PQclear(result);
    return 0;
}

/* Ends the live keys of a client: revoked now, or (grace_seconds > 0)
 * expiring after the grace, so that a client being rotated keeps working
 * until it has switched to its new key.  Returns how many keys, or -1. */
static long long end_keys(PGconn *connection, const char *client, long long grace_seconds)
{
    int64_t now = clock_now_us();
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, client);
    db_param_instant(&params, now);
    db_param_instant(&params, now + grace_seconds * 1000000);
    db_param_bool(&params, grace_seconds > 0);
    PGresult *result = db_query(
        connection,
        "UPDATE access_tokens t "
        "   SET revoked_at = CASE WHEN $4 THEN NULL ELSE $2 END, "
        "       expires_at = CASE WHEN $4 THEN least(coalesce(t.expires_at, $3), $3) "
        "                         ELSE t.expires_at END "
        "  FROM principals p "
        " WHERE p.id = t.principal_id AND p.kind = 'client' AND t.kind = 'api_key' "
        "   AND lower(p.username) = lower($1) AND t.revoked_at IS NULL "
        "   AND (t.expires_at IS NULL OR t.expires_at > $2)", &params);
    long long ended = db_ok(result) ? atoll(PQcmdTuples(result)) : -1;
    if (ended < 0)
        fprintf(stderr, "baove-admin: cannot end the keys: %s", PQresultErrorMessage(result));
    PQclear(result);
    return ended;
}

/* True when `client` is a machine client (said on stderr when not). */
static bool is_client(PGconn *connection, const char *client)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, client);
    PGresult *result = db_query(connection,
                                "SELECT 1 FROM principals "
                                "WHERE lower(username) = lower($1) AND kind = 'client'", &params);
    bool found = db_ok(result) && PQntuples(result) == 1;
    PQclear(result);
    if (!found)
        fprintf(stderr, "baove-admin: no client \"%s\"\n", client);
    return found;
}

int admin_apikey_revoke(PGconn *connection, int argc, char **argv)
{
    const char *client = admin_option(argc, argv, "--client");
    if (client == NULL) {
        fprintf(stderr, "usage: baove-admin apikey revoke --client NAME\n");
        return 2;
    }
    if (!is_client(connection, client))
        return 1;
    long long revoked = end_keys(connection, client, 0);
    if (revoked < 0)
        return 1;
    fprintf(stderr, "baove-admin: revoked %lld key%s of %s\n", revoked, revoked == 1 ? "" : "s",
            client);
    return 0;
}

struct rotation {
    const char *client;
    long long ttl_seconds, grace_seconds;
    long long ended;
    char key[AUTH_TOKEN_SIZE];
};

static enum db_outcome rotate(PGconn *connection, void *context)
{
    struct rotation *rotation = context;
    rotation->ended = end_keys(connection, rotation->client, rotation->grace_seconds);
    if (rotation->ended < 0)
        return DB_FAILED;
    return admin_store_token(connection, rotation->client, "api_key", AUTH_API_KEY_PREFIX,
                             rotation->ttl_seconds, rotation->key)
               ? DB_COMMIT
               : DB_ROLLBACK;
}

int admin_apikey_rotate(PGconn *connection, int argc, char **argv)
{
    struct rotation rotation = {.client = admin_option(argc, argv, "--client")};
    if (rotation.client == NULL || !key_lifetime(argc, argv, "--ttl", &rotation.ttl_seconds) ||
        !key_lifetime(argc, argv, "--grace", &rotation.grace_seconds)) {
        fprintf(stderr, "usage: baove-admin apikey rotate --client NAME [--ttl 90d] "
                        "[--grace 1h]\n");
        return 2;
    }
    if (!is_client(connection, rotation.client))
        return 1;
    /* The old keys end and the new one is stored in one transaction: a
     * failed rotation leaves the client with the keys it had. */
    bool stored = db_transaction(connection, rotate, &rotation) == DB_COMMIT;
    if (stored) {
        fprintf(stderr, "baove-admin: %s: old keys %s: %lld; the new key follows\n",
                rotation.client,
                rotation.grace_seconds > 0 ? "expiring after the grace" : "revoked",
                rotation.ended);
        printf("%s\n", rotation.key);
    }
    sodium_memzero(rotation.key, sizeof rotation.key);
    return stored ? 0 : 1;
}
