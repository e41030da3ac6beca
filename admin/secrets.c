/* `secrets seal [--from-key-file OLD]`: seals, with the key of
 * BAOVE_SECRETS_KEY_FILE, every webhook secret still stored as it is (made
 * before the key was set, or by an API without it), so that a copy of the
 * database holds none it could sign with (common/webhook.h).  With
 * --from-key-file, the secrets sealed with that old key are sealed again with
 * the new one: how a key is replaced.  One transaction; running it again
 * changes nothing. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "admin.h"
#include "db.h"
#include "webhook.h"

/* Seals again the secret of row `row` of `channels` (id, secret) with the
 * process's key, opening it with old_key (or as it is, when unsealed).
 * *changed says whether it was rewritten: not when the process's key sealed
 * it already. */
static bool seal_one(PGconn *connection, const PGresult *channels, int row,
                     const struct webhook_key *old_key, bool *changed)
{
    const char *stored = db_text(channels, row, 1);
    char secret[WEBHOOK_SECRET_SIZE], sealed[WEBHOOK_SEALED_SIZE];
    *changed = false;
    bool sealed_now = strncmp(stored, WEBHOOK_SEALED_PREFIX, strlen(WEBHOOK_SEALED_PREFIX)) == 0;
    if (sealed_now && webhook_secret_open(stored, secret)) {
        sodium_memzero(secret, sizeof secret);
        return true; /* sealed with the new key already */
    }
    if (!webhook_secret_open_with(old_key, stored, secret)) {
        fprintf(stderr, "baove-admin: the secret of channel %s opens with neither key\n",
                db_text(channels, row, 0));
        return false;
    }
    bool ok = webhook_secret_seal(secret, sealed);
    sodium_memzero(secret, sizeof secret);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, db_text(channels, row, 0));
    db_param_text(&params, sealed);
    ok = ok && db_command(connection,
                          "UPDATE notification_channels SET secret = $2 WHERE id = $1",
                          &params);
    sodium_memzero(sealed, sizeof sealed);
    *changed = ok;
    return ok;
}

/* Reads the keys: the process's (required) and --from-key-file's, if any. */
static bool read_keys(int argc, char **argv, struct webhook_key *old_key, bool *has_old_key)
{
    char error[512];
    if (!webhook_sealing_init(error, sizeof error)) {
        fprintf(stderr, "baove-admin: %s\n", error);
        return false;
    }
    if (!webhook_sealing_enabled()) {
        fprintf(stderr, "baove-admin: BAOVE_SECRETS_KEY_FILE is not set: no key to seal "
                        "with\n");
        return false;
    }
    const char *old_path = admin_option(argc, argv, "--from-key-file");
    *has_old_key = old_path != NULL;
    if (old_path != NULL && !webhook_key_read(old_path, old_key, error, sizeof error)) {
        fprintf(stderr, "baove-admin: --from-key-file: %s\n", error);
        return false;
    }
    return true;
}

int admin_secrets_seal(PGconn *connection, int argc, char **argv)
{
    bool has_old_key = false;
    if (!(argc == 0 || (argc == 2 && admin_option(argc, argv, "--from-key-file") != NULL))) {
        fprintf(stderr, "usage: baove-admin secrets seal [--from-key-file OLD]\n");
        return 2;
    }
    struct webhook_key old_key;
    if (!read_keys(argc, argv, &old_key, &has_old_key))
        return 1;
    PGresult *begun = PQexec(connection, "BEGIN");
    bool ok = db_ok(begun);
    PQclear(begun);
    /* Without an old key only the unsealed ones can change. */
    PGresult *channels =
        ok ? db_query(connection,
                      has_old_key
                          ? "SELECT id, secret FROM notification_channels "
                            " WHERE secret IS NOT NULL ORDER BY id FOR UPDATE"
                          : "SELECT id, secret FROM notification_channels "
                            " WHERE secret IS NOT NULL AND secret NOT LIKE '" WEBHOOK_SEALED_PREFIX
                            "%' ORDER BY id FOR UPDATE",
                      NULL)
           : NULL;
    ok = ok && db_ok(channels);
    int rows = ok ? PQntuples(channels) : 0, count = 0;
    for (int row = 0; ok && row < rows; row++) {
        bool changed = false;
        ok = seal_one(connection, channels, row, has_old_key ? &old_key : NULL, &changed);
        count += changed;
    }
    PQclear(channels);
    sodium_memzero(&old_key, sizeof old_key);
    PGresult *ended = PQexec(connection, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && db_ok(ended);
    PQclear(ended);
    if (!ok) {
        fprintf(stderr, "baove-admin: nothing was sealed %s\n", PQerrorMessage(connection));
        return 1;
    }
    fprintf(stderr, "baove-admin: %d webhook secret%s sealed\n", count, count == 1 ? "" : "s");
    return 0;
}
