/* The objects of sql/functions/: functions and trigger functions, one per
 * file (sql/README.md).  Unlike migrations they are not history but the
 * current definition, so `migrate` runs every file again after the pending
 * migrations, inside the same transaction, and records each file's SHA-256
 * in schema_objects (migration 0013) to tell the operator what is new or
 * changed since the last run.
 *
 * Every file is executed on every run, changed or not: a migration may have
 * dropped an object (DROP … CASCADE, a table re-created) whose file did not
 * change, and a hand-edited definition on a server is put back to what the
 * file says.  The files only CREATE OR REPLACE and GRANT, so running an
 * unchanged file again changes nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "auth.h"
#include "db.h"

struct object_file {
    char *path; /* relative to sql/functions, e.g. "cases/case_document.sql" */
    char *text;
    size_t length;
    char checksum[65];
};

struct admin_object_files {
    char *directory; /* <sql_dir>/functions */
    struct object_file *files;
    int count;
    int capacity;
};

void admin_object_files_free(struct admin_object_files *objects)
{
    if (objects == NULL)
        return;
    for (int i = 0; i < objects->count; i++) {
        free(objects->files[i].path);
        free(objects->files[i].text);
    }
    free(objects->files);
    free(objects->directory);
    free(objects);
}

/* Takes ownership of path (freed on failure too). */
static bool append_path(struct admin_object_files *objects, char *path)
{
    if (objects->count == objects->capacity) {
        int capacity = objects->capacity ? objects->capacity * 2 : 64;
        struct object_file *grown =
            realloc(objects->files, (size_t)capacity * sizeof *objects->files);
        if (grown == NULL) {
            free(path);
            return false;
        }
        objects->files = grown;
        objects->capacity = capacity;
    }
    objects->files[objects->count++] = (struct object_file){.path = path};
    return true;
}

/* Adds every *.sql file under directory/relative (relative "" is the
 * directory itself), descending into sub-directories; names starting with
 * a dot are skipped (editors' temporary files). */
static bool collect(struct admin_object_files *objects, const char *relative)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", objects->directory,
                         *relative ? "/" : "", relative) >= sizeof path) {
        fprintf(stderr, "baove-admin: path too long: %s/%s\n", objects->directory, relative);
        return false;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "baove-admin: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *entry;
    while (ok && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char *child = NULL;
        if (asprintf(&child, "%s%s%s", relative, *relative ? "/" : "", entry->d_name) < 0) {
            ok = false;
            break;
        }
        char child_path[4096];
        struct stat status;
        if ((size_t)snprintf(child_path, sizeof child_path, "%s/%s", objects->directory,
                             child) >= sizeof child_path ||
            stat(child_path, &status) != 0) {
            fprintf(stderr, "baove-admin: cannot read %s/%s\n", objects->directory, child);
            free(child);
            ok = false;
        } else if (S_ISDIR(status.st_mode)) {
            ok = collect(objects, child);
            free(child);
        } else {
            size_t length = strlen(child);
            if (length > 4 && strcmp(child + length - 4, ".sql") == 0)
                ok = append_path(objects, child);
            else
                free(child);
        }
    }
    closedir(dir);
    return ok;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(((const struct object_file *)a)->path, ((const struct object_file *)b)->path);
}

struct admin_object_files *admin_object_files_read(const char *sql_dir)
{
    struct admin_object_files *objects = calloc(1, sizeof *objects);
    if (objects == NULL)
        return NULL;
    if (asprintf(&objects->directory, "%s/functions", sql_dir) < 0) {
        objects->directory = NULL;
        admin_object_files_free(objects);
        return NULL;
    }
    if (!collect(objects, "")) {
        admin_object_files_free(objects);
        return NULL;
    }
    /* Byte order of the relative paths: the same order on every machine.
     * The order does not matter to PostgreSQL (bodies are not checked while
     * loading), but a deterministic one makes runs comparable. */
    if (objects->count > 0)
        qsort(objects->files, (size_t)objects->count, sizeof *objects->files, compare_paths);
    for (int i = 0; i < objects->count; i++) {
        struct object_file *file = &objects->files[i];
        file->text = admin_read_file(objects->directory, file->path, &file->length);
        if (file->text == NULL) {
            admin_object_files_free(objects);
            return NULL;
        }
        auth_sha256_hex(file->text, file->length, file->checksum);
    }
    return objects;
}

/* The checksum schema_objects holds for path, or NULL when none. */
static const char *recorded_checksum(const PGresult *recorded, const char *path)
{
    for (int row = 0; row < PQntuples(recorded); row++)
        if (strcmp(db_text(recorded, row, 0), path) == 0)
            return db_text(recorded, row, 1);
    return NULL;
}

static bool record_checksum(PGconn *connection, const struct object_file *file)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, file->path);
    db_param_text(&params, file->checksum);
    return db_command(connection,
                      "INSERT INTO schema_objects (path, checksum, loaded_at) "
                      "VALUES ($1, $2, now()) ON CONFLICT (path) DO UPDATE "
                      "SET checksum = excluded.checksum, loaded_at = excluded.loaded_at",
                      &params);
}

static bool exists_as_file(const struct admin_object_files *objects, const char *path)
{
    for (int i = 0; i < objects->count; i++)
        if (strcmp(objects->files[i].path, path) == 0)
            return true;
    return false;
}

bool admin_object_files_load(PGconn *connection, const struct admin_object_files *objects)
{
    /* As pg_dump does: a function's body is not checked when it is created,
     * so a file may name an object of a file loaded after it.  Bodies are
     * checked when first called; the test suite calls them all. */
    if (!db_command(connection, "SET LOCAL check_function_bodies = off", NULL))
        return false;
    PGresult *recorded =
        db_query(connection, "SELECT path, checksum FROM schema_objects ORDER BY path", NULL);
    if (!db_ok(recorded)) {
        db_log_failure("read schema_objects", connection, recorded);
        PQclear(recorded);
        return false;
    }
    int new_files = 0, changed_files = 0, unchanged_files = 0, removed_files = 0;
    bool ok = true;
    for (int i = 0; ok && i < objects->count; i++) {
        const struct object_file *file = &objects->files[i];
        /* One file may hold several statements (the function, its grants):
         * the simple query protocol runs them all, in this transaction. */
        PGresult *result = PQexec(connection, file->text);
        if (PQresultStatus(result) == PGRES_EMPTY_QUERY) {
            fprintf(stderr, "baove-admin: %s/%s holds no statement\n", objects->directory,
                    file->path);
            ok = false;
        } else if (!db_ok(result)) {
            fprintf(stderr, "baove-admin: %s/%s failed: %s", objects->directory, file->path,
                    PQresultErrorMessage(result));
            ok = false;
        }
        PQclear(result);
        if (!ok)
            break;
        const char *checksum = recorded_checksum(recorded, file->path);
        if (checksum != NULL && strcmp(checksum, file->checksum) == 0) {
            unchanged_files++;
            continue;
        }
        if (!record_checksum(connection, file)) {
            ok = false;
            break;
        }
        if (checksum == NULL) {
            new_files++;
            fprintf(stderr, "baove-admin: loaded %s (new)\n", file->path);
        } else {
            changed_files++;
            fprintf(stderr, "baove-admin: reloaded %s (changed)\n", file->path);
        }
    }
    /* A file deleted: its object is dropped by a migration (sql/README.md),
     * never here; only the record goes. */
    for (int row = 0; ok && row < PQntuples(recorded); row++) {
        const char *path = db_text(recorded, row, 0);
        if (exists_as_file(objects, path))
            continue;
        struct db_params params;
        db_params_init(&params);
        db_param_text(&params, path);
        if (!db_command(connection, "DELETE FROM schema_objects WHERE path = $1", &params)) {
            ok = false;
            break;
        }
        removed_files++;
        fprintf(stderr, "baove-admin: forgot %s (file removed; a migration drops its object)\n",
                path);
    }
    PQclear(recorded);
    if (ok)
        fprintf(stderr,
                "baove-admin: sql/functions: %d new, %d changed, %d unchanged, %d removed "
                "(all %d files run)\n",
                new_files, changed_files, unchanged_files, removed_files, objects->count);
    return ok;
}
