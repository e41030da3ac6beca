/* Reference data: every .sql file in sql/seed, in name order, in one
 * transaction.  The files are idempotent upserts, so seeding again brings
 * the reference data back to what the files say without touching records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "clock.h"
#include "db.h"

#define DEMO_PASSWORD "baove-demo"

/* One demo user per role, so a newcomer can try every role at once.  The
 * commune roles work in Xã Long Khánh A. */
static const struct {
    const char *username;
    const char *role;
    const char *unit_code;
    /* Since the reorganisation of 1/7/2025 (when unit_code is not valid
     * today): the district is gone, its officer works for province 82. */
    const char *role_since_2025;
    const char *unit_code_since_2025;
} demo_users[] = {
    {"demo_admin", "admin", "87", "admin", "82"},
    {"demo_district", "district_officer", "870", "province_officer", "82"},
    {"demo_commune", "commune_officer", "29980", "commune_officer", "29983"},
    {"demo_chair", "commune_chair", "29980", "commune_chair", "29983"},
    {"demo_collaborator", "collaborator", "29980", "collaborator", "29983"},
    {"demo_viewer", "viewer", "870", "viewer", "82"},
    {"demo_sync", "sync_client", "87", "sync_client", "82"},
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
        /* The tree valid today: before or after 1/7/2025. */
        char unit_id[32];
        bool before_2025 = admin_unit_id_today(connection, demo_users[i].unit_code, unit_id,
                                               sizeof unit_id);
        const char *role = before_2025 ? demo_users[i].role : demo_users[i].role_since_2025;
        const char *unit = before_2025 ? demo_users[i].unit_code
                                       : demo_users[i].unit_code_since_2025;
        if (admin_create_principal(connection, "user", demo_users[i].username, DEMO_PASSWORD,
                                   role, unit) != 0)
            return 1;
        fprintf(stderr, "baove-admin: demo user %s (%s, unit %s), password %s\n",
                demo_users[i].username, role, unit, DEMO_PASSWORD);
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

/* The lived-in demo year (sql/functions/demo/demo_lived_in.sql), standing
 * on BAOVE_NOW or the clock; says what it created. */
static int seed_lived_in(PGconn *connection)
{
    struct db_params params;
    db_params_init(&params);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(connection, "SELECT demo_lived_in($1)::text", &params);
    bool ok = db_ok(result) && PQntuples(result) == 1;
    if (ok)
        fprintf(stderr, "baove-admin: lived-in demo: %s\n", PQgetvalue(result, 0, 0));
    else
        fprintf(stderr, "baove-admin: lived-in demo failed: %s", PQresultErrorMessage(result));
    PQclear(result);
    return ok ? 0 : 1;
}

int admin_seed(PGconn *connection, const char *sql_dir, bool demo, bool lived_in)
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
        (demo && seed_demo_users(connection) != 0) ||
        (lived_in && seed_lived_in(connection) != 0) || !db_command(connection, "COMMIT", NULL)) {
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

/* A whole number from minimum (>= 0) to maximum in plain digits: no sign,
 * spaces or exponent, so that "1e6" or "-5" is refused rather than misread.
 * Nine digits at most keep strtoll() far from overflow. */
static bool parse_count(const char *option, const char *text, long long minimum,
                        long long maximum, long long *value)
{
    size_t digits = strspn(text, "0123456789");
    long long parsed = digits > 0 && digits <= 9 && text[digits] == '\0'
                           ? strtoll(text, NULL, 10)
                           : -1;
    if (parsed < minimum || parsed > maximum) {
        fprintf(stderr, "baove-admin: %s must be a whole number from %lld to %lld, not \"%s\"\n",
                option, minimum, maximum, text);
        return false;
    }
    *value = parsed;
    return true;
}

bool admin_seed_parse(int argc, char **argv, struct admin_seed_options *options)
{
    *options = (struct admin_seed_options){0};
    bool communes_given = false;
    for (int i = 0; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--demo") == 0) {
            options->demo = true;
            continue;
        }
        if (strcmp(option, "--users-only") == 0) {
            options->users_only = true;
            continue;
        }
        bool children = strcmp(option, "--children") == 0;
        if (!children && strcmp(option, "--communes") != 0) {
            fprintf(stderr, "baove-admin: seed: unknown argument \"%s\"\n", option);
            return false;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "baove-admin: seed: %s needs a number\n", option);
            return false;
        }
        if (children ? !parse_count(option, argv[++i], 1, ADMIN_DEMO_MAX_CHILDREN,
                                    &options->children)
                     : !parse_count(option, argv[++i], 0, ADMIN_DEMO_MAX_COMMUNES,
                                    &options->communes))
            return false;
        communes_given = communes_given || !children;
    }
    /* Synthetic records belong to a demo database only, and communes alone
     * would be empty. */
    if (options->children > 0 && !options->demo) {
        fprintf(stderr, "baove-admin: seed: --children needs --demo\n");
        return false;
    }
    if (options->users_only && (!options->demo || options->children > 0)) {
        fprintf(stderr, "baove-admin: seed: --users-only needs --demo and no --children\n");
        return false;
    }
    if (communes_given && options->children == 0) {
        fprintf(stderr, "baove-admin: seed: --communes needs --children\n");
        return false;
    }
    return true;
}
