/* `secrets seal`: seals, with the key of BAOVE_SECRETS_KEY_FILE, every
 * webhook secret still stored as it is (made before the key was set, or by
 * an API without it), so that a copy of the database holds none it could
 * sign with (common/webhook.h).  One transaction; running it again changes
 * nothing. */
#include <stdio.h>

#include <sodium.h>

#include "admin.h"
#include "db.h"
#include "webhook.h"

/* Seals the secret of row `row` of `unsealed` (id, secret) in place. */
static bool seal_one(PGconn *connection, const PGresult *unsealed, int row)
{
    char sealed[WEBHOOK_SEALED_SIZE];
    if (!webhook_secret_seal(db_text(unsealed, row, 1), sealed))
        return false;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, db_text(unsealed, row, 0));
    db_param_text(&params, sealed);
    bool ok = db_command(connection,
                         "UPDATE notification_channels SET secret = $2 WHERE id = $1", &params);
    sodium_memzero(sealed, sizeof sealed);
    return ok;
}

int admin_secrets_seal(PGconn *connection, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: baove-admin secrets seal\n");
        return 2;
    }
    char error[512];
    if (!webhook_sealing_init(error, sizeof error)) {
        fprintf(stderr, "baove-admin: %s\n", error);
        return 1;
    }
    if (!webhook_sealing_enabled()) {
        fprintf(stderr, "baove-admin: BAOVE_SECRETS_KEY_FILE is not set: no key to seal "
                        "with\n");
        return 1;
    }
    PGresult *begun = PQexec(connection, "BEGIN");
    bool ok = db_ok(begun);
    PQclear(begun);
    PGresult *unsealed =
        ok ? db_query(connection,
                      "SELECT id, secret FROM notification_channels "
                      " WHERE secret IS NOT NULL AND secret NOT LIKE '" WEBHOOK_SEALED_PREFIX
                      "%' ORDER BY id FOR UPDATE",
                      NULL)
           : NULL;
    ok = ok && db_ok(unsealed);
    int count = ok ? PQntuples(unsealed) : 0;
    for (int row = 0; ok && row < count; row++)
        ok = seal_one(connection, unsealed, row);
    PQclear(unsealed);
    PGresult *ended = PQexec(connection, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && db_ok(ended);
    PQclear(ended);
    if (!ok) {
        fprintf(stderr, "baove-admin: the secrets could not be sealed: %s",
                PQerrorMessage(connection));
        return 1;
    }
    fprintf(stderr, "baove-admin: %d webhook secret%s sealed\n", count, count == 1 ? "" : "s");
    return 0;
}
