/* GET /v1/changes: the change feed other systems sync from.
 *
 * Entries come in commit order of their transactions.  A reader only takes
 * transactions older than the oldest one still running
 * (pg_snapshot_xmin), so one that commits late is never skipped: it is
 * simply delivered once everything before it has settled.  The cursor is
 * "<transaction id>-<entry id>" of the last entry delivered.  Row-level
 * security limits the log to the caller's scope; an entry visible only
 * through the child's previous unit is a scope exit for this caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reporting/reporting.h"
#include "json.h"
#include "operation/lifecycle.h"

#define CHANGES_DEFAULT_LIMIT 100
#define CHANGES_MAX_LIMIT 1000

static const char *const feed_types[] = {"children", "circumstances", "risks", "supports",
                                         "cases", "fund", NULL};

struct feed {
    char transaction[24];
    long long entry;
    char *types;       /* PostgreSQL array literal, or NULL for all */
    long long limit;
};

/* The feed's reads are audited (a list of the records handed out). */
static const struct resource feed_resource = {.name = "change", .audit_type = "changes"};

/* "123-45" → transaction 123, entry 45. */
static bool parse_cursor(const char *cursor, struct feed *feed)
{
    const char *dash = strchr(cursor, '-');
    if (dash == NULL || dash == cursor || (size_t)(dash - cursor) >= sizeof feed->transaction)
        return false;
    memcpy(feed->transaction, cursor, (size_t)(dash - cursor));
    feed->transaction[dash - cursor] = '\0';
    long long transaction;
    return config_parse_integer(feed->transaction, 0, 1LL << 62, &transaction) &&
           config_parse_integer(dash + 1, 0, 1LL << 62, &feed->entry);
}

/* "children,risks" → "{children,risks}", every name checked. */
static bool parse_types(const char *text, struct feed *feed)
{
    feed->types = malloc(strlen(text) + 3);
    sprintf(feed->types, "{%s}", text);
    char *copy = strdup(text), *saveptr = NULL;
    bool ok = true;
    for (char *name = strtok_r(copy, ",", &saveptr); name != NULL && ok;
         name = strtok_r(NULL, ",", &saveptr)) {
        ok = false;
        for (size_t i = 0; feed_types[i] != NULL; i++)
            ok |= strcmp(feed_types[i], name) == 0;
    }
    free(copy);
    /* strtok_r skips empty names; an empty list or stray commas are errors. */
    size_t length = strlen(text);
    return ok && length > 0 && text[0] != ',' && text[length - 1] != ',' &&
           strstr(text, ",,") == NULL;
}

static json_t *entry_json(const PGresult *result, int row)
{
    bool visible = db_bool(result, row, 7);
    const char *record = db_text(result, row, 6);
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s?, s:I}", "cursor", db_text(result, row, 8),
                              "type", db_text(result, row, 1), "id", db_text(result, row, 2),
                              "child_id", db_text(result, row, 3), "version",
                              (json_int_t)db_integer(result, row, 5));
    if (!visible) {
        /* The child moved out of the caller's scope: only that fact. */
        json_object_set_new(entry, "operation", json_string("scope_exit"));
        json_object_set_new(entry, "record", json_null());
    } else {
        json_object_set_new(entry, "operation", json_string(db_text(result, row, 4)));
        json_object_set_new(entry, "record",
                            record != NULL ? json_loads(record, 0, NULL) : json_null());
    }
    return entry;
}

/* Keeps the page as the answer and the ids handed out for the audit
 * entry. */
static bool keep_feed(struct operation *operation, const PGresult *result)
{
    const struct feed *feed = operation->domain;
    int rows = PQntuples(result);
    char *ids = malloc(3 + 37 * (size_t)rows), *end = ids;
    json_t *items = json_array();
    /* With nothing new, the next cursor is the one given. */
    char next_cursor[64];
    snprintf(next_cursor, sizeof next_cursor, "%s-%lld", feed->transaction, feed->entry);
    if (ids == NULL) {
        json_decref(items);
        return false;
    }
    end += sprintf(end, "{");
    for (int row = 0; row < rows; row++) {
        if (db_text(result, row, 2) == NULL)
            continue; /* the LEFT JOIN's empty row */
        json_array_append_new(items, entry_json(result, row));
        end += sprintf(end, "%s%s", row ? "," : "", db_text(result, row, 2));
        snprintf(next_cursor, sizeof next_cursor, "%s", db_text(result, row, 8));
    }
    sprintf(end, "}");
    free(operation->audit_ids);
    operation->audit_ids = ids;
    return operation_keep_json(operation, json_pack("{s:o, s:s}", "items", items,
                                                    "next_cursor", next_cursor));
}

static enum db_outcome read_feed(struct operation *operation)
{
    const struct feed *feed = operation->domain;
    const struct principal *principal = &operation->request->principal;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, feed->transaction);
    db_param_integer(&params, feed->entry);
    db_param_text(&params, feed->types);
    db_param_integer(&params, feed->limit);
    /* The fund's books (donors, money) are for the district's officers and
     * administrators only, whatever else a reader's scope holds. */
    db_param_bool(&params, principal->role == ROLE_ADMIN ||
                               principal->role == ROLE_DISTRICT_OFFICER ||
                               principal->role == ROLE_PROVINCE_OFFICER);
    PGresult *result = operation_query(
        operation,
        "SELECT (SELECT pruned_through FROM change_log_horizon) > $1::xid8, "
        "       l.resource_type, l.resource_id, l.child_id, l.operation, l.version, "
        "       l.record::text, l.unit_id IN (SELECT id FROM scope_units()), "
        "       l.transaction_id::text || '-' || l.id "
        "  FROM (SELECT 1) horizon LEFT JOIN LATERAL ( "
        "        SELECT * FROM change_log "
        "         WHERE (transaction_id, id) > ($1::xid8, $2::bigint) "
        "           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
        "           AND ($3::text[] IS NULL OR resource_type = ANY ($3::text[])) "
        "           AND (resource_type <> 'fund' OR $5::boolean) "
        "         ORDER BY transaction_id, id LIMIT $4) l ON true",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    if (PQntuples(result) > 0 && db_bool(result, 0, 0) && strcmp(feed->transaction, "0") != 0) {
        PQclear(result);
        return operation_refuse(operation, PROBLEM_CURSOR_EXPIRED, NULL, "%s",
                                "This cursor is older than the retained change log; "
                                "resynchronise.");
    }
    bool kept = keep_feed(operation, result);
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps feed_steps = {
    .action = "list", .query = read_feed, .status = 200};

void handle_changes(struct request *request)
{
    struct feed feed = {.transaction = "0", .limit = CHANGES_DEFAULT_LIMIT};
    const char *cursor = request_query(request, "cursor");
    const char *limit = request_query(request, "limit");
    const char *types = request_query(request, "types");
    json_t *errors = json_array();
    if (cursor != NULL && !parse_cursor(cursor, &feed))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit != NULL && !config_parse_integer(limit, 1, CHANGES_MAX_LIMIT, &feed.limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", CHANGES_MAX_LIMIT);
    if (types != NULL && !parse_types(types, &feed))
        problem_add_parameter_error(errors, "types",
                                    "must list some of children, circumstances, risks, "
                                    "supports, cases, fund, separated by commas");
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors); /* takes the errors */
    } else {
        json_decref(errors);
        struct operation operation = {.domain = &feed};
        if (operation_begin(&operation, request, &feed_resource, &feed_steps, false))
            operation_run(&operation);
    }
    free(feed.types);
}
