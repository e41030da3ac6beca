/* baove-admin: migrate | seed [--demo [--users-only | --children N [--communes M]]] | user
 * add|list|disable|reset-password|move | units apply|successions|hamlets | token issue |
 * apikey issue|list|revoke|rotate | secrets seal.  Secrets go to stdout alone; everything
 * else to stderr. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: baove-admin migrate\n"
            "       baove-admin seed [--demo [--users-only | --children N [--communes M]]]\n"
            "       baove-admin user add --username U --role R --unit CODE [--password-stdin]\n"
            "       baove-admin user list | disable --username U\n"
            "       baove-admin user reset-password --username U [--password-stdin]\n"
            "       baove-admin user move --username U --unit CODE\n"
            "       baove-admin user set-role --username U --role R\n"
            "       baove-admin units apply | successions --on YYYY-MM-DD\n"
            "       baove-admin units hamlets --from CODE --to CODE --on YYYY-MM-DD\n"
            "                                 --hamlet NAME [--hamlet NAME ...]\n"
            "       baove-admin token issue --username U [--ttl 8h]\n"
            "       baove-admin apikey issue --client NAME --role R --unit CODE [--ttl 90d]\n"
            "       baove-admin apikey list | revoke --client NAME\n"
            "       baove-admin apikey rotate --client NAME [--ttl 90d] [--grace 1h]\n"
            "       baove-admin secrets seal [--from-key-file OLD]\n"
            "Connects with BAOVE_ADMIN_DATABASE_URL, else DATABASE_URL, else the embedded\n"
            "cluster of `make run` (BAOVE_PG_DIR, default %s); reads SQL from\n"
            "BAOVE_SQL_DIR (default %s).\n",
            BAOVE_DEFAULT_PG_DIR, BAOVE_DEFAULT_SQL_DIR);
}

static int run(PGconn *connection, int argc, char **argv,
               const struct admin_seed_options *seed_options)
{
    const char *sql_dir = config_string("BAOVE_SQL_DIR", BAOVE_DEFAULT_SQL_DIR);
    const char *command = argv[1];
    const char *subcommand = argc > 2 ? argv[2] : "";
    if (strcmp(command, "migrate") == 0)
        return admin_migrate(connection, sql_dir);
    if (strcmp(command, "seed") == 0) {
        /* The lived-in year belongs to a plain `seed --demo`: synthetic
         * children for benchmarks come alone. */
        bool lived_in = seed_options->demo && !seed_options->users_only &&
                        seed_options->children == 0;
        int status = admin_seed(connection, sql_dir, seed_options->demo, lived_in);
        if (status == 0 && seed_options->children > 0)
            status = admin_seed_demo(connection, seed_options->children, seed_options->communes);
        return status;
    }
    static const struct {
        const char *command, *subcommand;
        int (*run)(PGconn *connection, int argc, char **argv);
    } commands[] = {
        {"user", "add", admin_user_add},
        {"user", "list", admin_user_list},
        {"user", "disable", admin_user_disable},
        {"user", "reset-password", admin_user_reset_password},
        {"user", "move", admin_user_move},
        {"user", "set-role", admin_user_set_role},
        {"units", "apply", admin_units_apply},
        {"units", "successions", admin_units_successions},
        {"units", "hamlets", admin_units_hamlets},
        {"token", "issue", admin_token_issue},
        {"apikey", "issue", admin_apikey_issue},
        {"apikey", "list", admin_apikey_list},
        {"apikey", "revoke", admin_apikey_revoke},
        {"apikey", "rotate", admin_apikey_rotate},
        {"secrets", "seal", admin_secrets_seal},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(command, commands[i].command) == 0 &&
            strcmp(subcommand, commands[i].subcommand) == 0)
            return commands[i].run(connection, argc - 3, argv + 3);
    usage();
    return 2;
}

int main(int argc, char **argv)
{
    log_init("baove-admin");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    /* Bad seed arguments are a usage error before any connection attempt. */
    struct admin_seed_options seed_options = {0};
    if (strcmp(argv[1], "seed") == 0 && !admin_seed_parse(argc - 2, argv + 2, &seed_options)) {
        usage();
        return 2;
    }
    char error[512];
    if (!clock_init(error, sizeof error)) {
        fprintf(stderr, "baove-admin: %s\n", error);
        return 2;
    }
    if (!auth_init()) {
        fprintf(stderr, "baove-admin: libsodium failed to initialise\n");
        return 1;
    }
    char url[CONFIG_DATABASE_URL_SIZE];
    enum config_database_source source = config_admin_database_url(url);
    if (source == CONFIG_DATABASE_NONE) {
        fprintf(stderr, "baove-admin: the database URL is too long\n");
        return 2;
    }
    PGconn *connection = db_connect(url, "baove-admin", error, sizeof error);
    if (connection == NULL) {
        /* Without a URL the operator meant the cluster of `make run`: say so. */
        fprintf(stderr, "baove-admin: cannot connect to the database%s: %s\n",
                source == CONFIG_DATABASE_EMBEDDED
                    ? " (no DATABASE_URL: the embedded cluster of `make run`; is it running? "
                      "scripts/pg.sh status)"
                    : "",
                error);
        return 1;
    }
    /* Keep the server's notices (e.g. "relation exists, skipping") off the
     * operator's screen; errors are reported by the commands themselves. */
    PQclear(PQexec(connection, "SET client_min_messages = warning"));
    int status = run(connection, argc, argv, &seed_options);
    PQfinish(connection);
    return status;
}
