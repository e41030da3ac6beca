/* Reference data: every .sql file in sql/seed, in name order, in one
 * transaction.  The files are idempotent upserts, so seeding again brings
 * the reference data back to what the files say without touching records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "db.h"

#define DEMO_PASSWORD "baove-demo"

/* One demo user per role, so a newcomer can try every role at once.  The
 * commune roles work in Xã Long Khánh A. */
static const struct {
    const char *username;
    const char *role;
    const char *unit_code;
} demo_users[] = {
    {"demo_admin", "admin", "87"},
    {"demo_district", "district_officer", "870"},
    {"demo_commune", "commune_officer", "29980"},
    {"demo_chair", "commune_chair", "29980"},
    {"demo_collaborator", "collaborator", "29980"},
    {"demo_viewer", "viewer", "870"},
    {"demo_sync", "sync_client", "87"},
};

static bool user_exists(PGconn *connection, const char *username)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, username);
    PGresult *result = db_query(
        connection, "SELECT 1 FROM principals WHERE lower(username) = lower($1)", &params);
    bool exists = db_ok(result) && PQntuples(result) > 0;
    PQclear(result);
    return exists;
}

static int seed_demo_users(PGconn *connection)
{
    for (size_t i = 0; i < sizeof demo_users / sizeof demo_users[0]; i++) {
        if (user_exists(connection, demo_users[i].username))
            continue;
        if (admin_create_principal(connection, "user", demo_users[i].username, DEMO_PASSWORD,
                                   demo_users[i].role, demo_users[i].unit_code) != 0)
            return 1;
        fprintf(stderr, "baove-admin: demo user %s (%s, unit %s), password %s\n",
                demo_users[i].username, demo_users[i].role, demo_users[i].unit_code,
                DEMO_PASSWORD);
    }
    return 0;
}

static int run_seed_files(PGconn *connection, const char *directory, char **names, int count)
{
    for (int i = 0; i < count; i++) {
        size_t length;
        char *text = admin_read_file(directory, names[i], &length);
        if (text == NULL)
            return 1;
        PGresult *result = PQexec(connection, text);
        free(text);
        bool ok = db_ok(result);
        if (!ok)
            fprintf(stderr, "baove-admin: seed %s failed: %s", names[i],
                    PQresultErrorMessage(result));
        PQclear(result);
        if (!ok)
            return 1;
    }
    return 0;
}

int admin_seed(PGconn *connection, const char *sql_dir, bool demo)
{
    if (admin_schema_version(connection) < BAOVE_SCHEMA_VERSION) {
        fprintf(stderr, "baove-admin: the schema is not current; run baove-admin migrate "
                        "first\n");
        return 1;
    }
    char directory[4096];
    snprintf(directory, sizeof directory, "%s/seed", sql_dir);
    char **names;
    int count = admin_list_sql_files(directory, &names);
    if (count < 0)
        return 1;
    int status = 1;
    if (!db_command(connection, "BEGIN", NULL))
        goto done;
    if (run_seed_files(connection, directory, names, count) != 0 ||
        (demo && seed_demo_users(connection) != 0) || !db_command(connection, "COMMIT", NULL)) {
        PQclear(PQexec(connection, "ROLLBACK"));
        goto done;
    }
    fprintf(stderr, "baove-admin: loaded %d seed file(s)%s\n", count,
            demo ? " and the demo users" : "");
    status = 0;
done:
    admin_free_names(names, count);
    return status;
}
