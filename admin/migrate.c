/* Schema migrations: sql/migrations/NNNN_name.sql, applied in order, under
 * an advisory lock so that two migrators started together apply each file
 * once.  The SHA-256 of every applied file is kept; an applied file that
 * has since changed stops the migrator, because the database would no
 * longer match what the file says.
 *
 * One run is one transaction: the pending migrations, then every file of
 * sql/functions (schema_objects.c).  A migration that changes a table and
 * the edited function files that follow it land together or not at all, so
 * the database is never left with a table its functions no longer match.
 * A failure anywhere rolls the whole run back. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "db.h"

/* Arbitrary but fixed: the advisory lock key that serialises migrators. */
#define MIGRATION_LOCK_KEY "7221030101"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int admin_list_sql_files(const char *directory, char ***names)
{
    *names = NULL;
    DIR *dir = opendir(directory);
    if (dir == NULL) {
        fprintf(stderr, "baove-admin: cannot open %s: %s\n", directory, strerror(errno));
        return -1;
    }
    int count = 0, capacity = 0;
    char **list = NULL;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length < 5 || strcmp(entry->d_name + length - 4, ".sql") != 0 ||
            entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            char **grown = realloc(list, (size_t)capacity * sizeof *list);
            if (grown == NULL) {
                admin_free_names(list, count);
                closedir(dir);
                return -1;
            }
            list = grown;
        }
        list[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    if (count > 0)
        qsort(list, (size_t)count, sizeof *list, compare_names);
    *names = list;
    return count;
}

void admin_free_names(char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

char *admin_read_file(const char *directory, const char *name, size_t *length)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", directory, name) >= sizeof path) {
        fprintf(stderr, "baove-admin: path too long: %s/%s\n", directory, name);
        return NULL;
    }
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "baove-admin: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 65536, used = 0;
    char *text = malloc(capacity);
    size_t got;
    while (text != NULL && (got = fread(text + used, 1, capacity - used - 1, file)) > 0) {
        used += got;
        if (capacity - used - 1 == 0) {
            char *grown = realloc(text, capacity * 2);
            if (grown == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            capacity *= 2;
        }
    }
    fclose(file);
    if (text == NULL)
        return NULL;
    text[used] = '\0';
    *length = used;
    return text;
}

/* "0007_cases.sql" → 7; -1 when the name does not start with four digits
 * and an underscore. */
static int migration_version(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return -1;
    if (name[4] != '_')
        return -1;
    return (name[0] - '0') * 1000 + (name[1] - '0') * 100 + (name[2] - '0') * 10 +
           (name[3] - '0');
}

int admin_schema_version(PGconn *connection)
{
    PGresult *result = db_query(connection,
                                "SELECT coalesce(max(version), -1) FROM schema_migrations", NULL);
    int version = db_ok(result) ? (int)db_integer(result, 0, 0) : -1;
    PQclear(result);
    return version;
}

struct migration {
    int version;
    char *name;
    char *text;
    size_t length;
    char checksum[65];
};

static void free_migrations(struct migration *migrations, int count)
{
    for (int i = 0; i < count; i++)
        free(migrations[i].text);
    free(migrations);
}

/* Reads and checksums every migration file; NULL (reported) on a bad name
 * or a duplicated version. */
static struct migration *load_migrations(const char *directory, char **names, int count)
{
    struct migration *migrations = calloc((size_t)(count ? count : 1), sizeof *migrations);
    if (migrations == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        struct migration *migration = &migrations[i];
        migration->name = names[i];
        migration->version = migration_version(names[i]);
        if (migration->version < 0 || (i > 0 && migrations[i - 1].version == migration->version)) {
            fprintf(stderr, "baove-admin: %s: migration names are NNNN_name.sql with "
                            "distinct numbers\n", names[i]);
            free_migrations(migrations, i);
            return NULL;
        }
        migration->text = admin_read_file(directory, names[i], &migration->length);
        if (migration->text == NULL) {
            free_migrations(migrations, i);
            return NULL;
        }
        auth_sha256_hex(migration->text, migration->length, migration->checksum);
    }
    return migrations;
}

/* Checks that every applied migration is still there, unchanged. */
static bool verify_applied(PGconn *connection, const struct migration *migrations, int count)
{
    PGresult *result = db_query(connection,
                                "SELECT version, name, checksum FROM schema_migrations "
                                "ORDER BY version", NULL);
    if (!db_ok(result)) {
        db_log_failure("read schema_migrations", connection, result);
        PQclear(result);
        return false;
    }
    bool ok = true;
    for (int row = 0; row < PQntuples(result); row++) {
        int version = (int)db_integer(result, row, 0);
        const struct migration *file = NULL;
        for (int i = 0; i < count; i++)
            if (migrations[i].version == version)
                file = &migrations[i];
        if (file == NULL) {
            fprintf(stderr, "baove-admin: migration %04d (%s) is applied but its file is "
                            "missing: this database is newer than this code\n",
                    version, db_text(result, row, 1));
            ok = false;
        } else if (strcmp(file->checksum, db_text(result, row, 2)) != 0) {
            fprintf(stderr, "baove-admin: migration %s was changed after it was applied "
                            "(checksum %s, applied %s); write a new migration instead\n",
                    file->name, file->checksum, db_text(result, row, 2));
            ok = false;
        }
    }
    PQclear(result);
    return ok;
}

static bool is_applied(PGconn *connection, int version, bool *applied)
{
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, version);
    PGresult *result =
        db_query(connection, "SELECT 1 FROM schema_migrations WHERE version = $1", &params);
    bool ok = db_ok(result);
    *applied = ok && PQntuples(result) == 1;
    PQclear(result);
    return ok;
}

/* Runs one migration inside the caller's transaction and records it. */
static bool apply_migration(PGconn *connection, const struct migration *migration)
{
    /* A migration file is a script of several statements: the simple query
     * protocol runs them all within the run's transaction. */
    PGresult *result = PQexec(connection, migration->text);
    if (!db_ok(result)) {
        fprintf(stderr, "baove-admin: migration %s failed: %s", migration->name,
                PQresultErrorMessage(result));
        PQclear(result);
        return false;
    }
    PQclear(result);
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, migration->version);
    db_param_text(&params, migration->name);
    db_param_text(&params, migration->checksum);
    if (!db_command(connection,
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                    "VALUES ($1, $2, $3, now())", &params))
        return false;
    fprintf(stderr, "baove-admin: applying %s\n", migration->name);
    return true;
}

/* The pending migrations, then sql/functions, in the transaction the caller
 * opened.  Counts the migrations applied. */
static bool migrate_in_transaction(PGconn *connection, const struct migration *migrations,
                                   int count, const struct admin_object_files *objects,
                                   int *applied_now)
{
    for (int i = 0; i < count; i++) {
        bool applied;
        if (!is_applied(connection, migrations[i].version, &applied))
            return false;
        if (applied)
            continue;
        if (!apply_migration(connection, &migrations[i]))
            return false;
        (*applied_now)++;
    }
    return admin_object_files_load(connection, objects);
}

int admin_migrate(PGconn *connection, const char *sql_dir)
{
    char directory[4096];
    snprintf(directory, sizeof directory, "%s/migrations", sql_dir);
    char **names;
    int count = admin_list_sql_files(directory, &names);
    if (count < 0)
        return 1;
    struct migration *migrations = load_migrations(directory, names, count);
    if (migrations == NULL) {
        admin_free_names(names, count);
        return 1;
    }
    int status = 1;
    /* Read before taking the lock: an unreadable file stops the run early. */
    struct admin_object_files *objects = admin_object_files_read(sql_dir);
    if (objects == NULL)
        goto done;
    /* Session-level lock: held across the run's transaction, released when
     * we unlock or the connection ends (also on a crash). */
    if (!db_command(connection, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", NULL))
        goto done;
    if (!db_command(connection,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " checksum text NOT NULL, applied_at timestamptz NOT NULL)", NULL) ||
        !verify_applied(connection, migrations, count))
        goto unlock;
    int applied_now = 0;
    if (!db_command(connection, "BEGIN", NULL))
        goto unlock;
    if (!migrate_in_transaction(connection, migrations, count, objects, &applied_now) ||
        !db_command(connection, "COMMIT", NULL)) {
        PQclear(PQexec(connection, "ROLLBACK"));
        fprintf(stderr, "baove-admin: migrate failed: nothing of this run was committed\n");
        goto unlock;
    }
    fprintf(stderr, "baove-admin: schema at version %d (%d applied now)\n",
            admin_schema_version(connection), applied_now);
    status = 0;
unlock:
    db_command(connection, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", NULL);
done:
    admin_object_files_free(objects);
    free_migrations(migrations, count);
    admin_free_names(names, count);
    return status;
}
