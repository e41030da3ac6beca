/* GET /v1/changes: the change feed other systems sync from (docs/sync.md).
 *
 * Two phases, one cursor.  A client without a cursor first receives a
 * snapshot: the current entry of every live record in its scope
 * (feed_documents, 0016), in (type, id) order, paged.  The snapshot starts
 * at a position P of the log: every transaction older than P had finished
 * before its first page was read, so its effect is in the pages; everything
 * from P on follows as changes.  A record written while the client pages is
 * in both, and the changes, applied in order, end at its current state.
 *
 * Changes come in commit order of their transactions.  A reader only takes
 * transactions older than the oldest one still running (pg_snapshot_xmin),
 * so one that commits late is never skipped: it is simply delivered once
 * everything before it has settled.  Row-level security limits both phases
 * to the caller's scope; a log entry visible only through the child's
 * previous unit is a scope exit for this caller.
 *
 * Cursors carry the database's identity (database_identity):
 *     <identity>:<transaction>-<entry>                 a position in the log
 *     <identity>:snapshot:<P>:<type>:<id>              a position in the snapshot
 * so a cursor that another database issued is a 400, not an empty answer.
 *
 * The entries' JSON is built by PostgreSQL from stored JSON text and only
 * concatenated here: no entry is parsed or printed again in the API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "http/stream.h"
#include "operation/audit_log.h"
#include "operation/lifecycle.h"
#include "reporting/reporting.h"

#define CHANGES_DEFAULT_LIMIT 100
#define CHANGES_MAX_LIMIT 1000
#define IDENTITY_SIZE 37
/* A cursor names the database (its identity) and, after a dot, the scope it
 * was given out for (SCOPE_MARK_LENGTH hex digits of a hash of the units in
 * scope and of the fund's access): a reader whose account was moved or
 * re-roled, or whose scope a reorganisation changed, holds a copy of
 * another scope, which the changes alone would never repair. */
#define SCOPE_MARK_LENGTH 16
#define ISSUER_SIZE (IDENTITY_SIZE + 1 + SCOPE_MARK_LENGTH)

static const char *const feed_types[] = {"children", "circumstances", "risks", "supports",
                                         "cases", "fund", NULL};

struct feed {
    char identity[IDENTITY_SIZE]; /* the cursor's, or "" without one */
    char scope_mark[SCOPE_MARK_LENGTH + 1]; /* the cursor's, or "" (given out before marks) */
    char database[ISSUER_SIZE];   /* this database's identity and the caller's scope mark */
    bool snapshot;                /* reading the snapshot, not the log */
    char transaction[24];         /* the log's position, or the snapshot's start */
    long long entry;
    char after_type[16];          /* in the snapshot: the last record given */
    char after_id[IDENTITY_SIZE];
    char *types;                  /* PostgreSQL array literal, or NULL for all */
    long long limit;
    bool reads_fund;
    /* Accept: application/x-ndjson: pages are entries one a line, and the
     * pull goes on until it has caught up (produce_ndjson). */
    bool ndjson;
    enum problem_language language; /* of a refusal in the stream (Accept-Language) */
    char next_cursor[ISSUER_SIZE + 128]; /* of the page read */
    bool more;                    /* the page was full, or in the snapshot */
    char *first;                  /* the first page's lines, until streamed */
};

/* The feed's reads are audited (a list of the records handed out). */
static const struct resource feed_resource = {.name = "change", .audit_type = "changes"};

/* "children,risks" → "{children,risks}", every name checked. */
static bool parse_types(const char *text, struct feed *feed)
{
    feed->types = malloc(strlen(text) + 3);
    char *copy = strdup(text), *saveptr = NULL;
    if (feed->types == NULL || copy == NULL) {
        free(copy);
        return false; /* out of memory: refused as invalid, nothing crashes */
    }
    sprintf(feed->types, "{%s}", text);
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

/* "<digits>" of at most 20 characters → out. */
static bool copy_number(const char *start, size_t length, char out[24])
{
    long long ignored;
    if (length == 0 || length > 20)
        return false;
    memcpy(out, start, length);
    out[length] = '\0';
    return config_parse_integer(out, 0, 1LL << 62, &ignored);
}

/* The cursor's shape (its identity is checked against the database's in the
 * transaction). */
static bool parse_cursor(const char *cursor, struct feed *feed)
{
    const char *colon = strchr(cursor, ':');
    if (colon == NULL || (colon - cursor != IDENTITY_SIZE - 1 &&
                          (colon - cursor != ISSUER_SIZE - 1 || cursor[IDENTITY_SIZE - 1] != '.')))
        return false;
    memcpy(feed->identity, cursor, IDENTITY_SIZE - 1);
    feed->identity[IDENTITY_SIZE - 1] = '\0';
    if (colon - cursor == ISSUER_SIZE - 1) {
        memcpy(feed->scope_mark, cursor + IDENTITY_SIZE, SCOPE_MARK_LENGTH);
        feed->scope_mark[SCOPE_MARK_LENGTH] = '\0';
        if (strspn(feed->scope_mark, "0123456789abcdef") != SCOPE_MARK_LENGTH)
            return false;
    }
    const char *rest = colon + 1;
    if (strncmp(rest, "snapshot:", 9) == 0) {
        const char *position = rest + 9;
        const char *type = strchr(position, ':');
        const char *id = type != NULL ? strchr(type + 1, ':') : NULL;
        if (id == NULL || !copy_number(position, (size_t)(type - position), feed->transaction) ||
            (size_t)(id - type - 1) >= sizeof feed->after_type || strlen(id + 1) != 36)
            return false;
        memcpy(feed->after_type, type + 1, (size_t)(id - type - 1));
        feed->after_type[id - type - 1] = '\0';
        snprintf(feed->after_id, sizeof feed->after_id, "%s", id + 1);
        feed->snapshot = true;
        return strspn(feed->after_id, "0123456789abcdef-") == 36;
    }
    const char *dash = strchr(rest, '-');
    return dash != NULL && copy_number(rest, (size_t)(dash - rest), feed->transaction) &&
           config_parse_integer(dash + 1, 0, 1LL << 62, &feed->entry);
}

/* The 400 of a well-formed cursor that this database never gave out. */
static enum db_outcome refuse_foreign_cursor(struct operation *operation, const char *why)
{
    enum db_outcome outcome = operation_refuse(
        operation, PROBLEM_INVALID_PARAMETER, NULL,
        "This cursor was not issued by this database (%s). Discard what was synchronised "
        "with it and start again without a cursor.", why);
    operation->problem.errors = json_array();
    problem_add_parameter_error(operation->problem.errors, "cursor",
                                "is not a cursor this database issued");
    return outcome;
}

/* The 410: why (`reason`, a sentence), what to do, as text and as the
 * request that starts over. */
static enum db_outcome refuse_expired_cursor(struct operation *operation, const char *reason)
{
    const struct feed *feed = operation->domain;
    char restart[128];
    snprintf(restart, sizeof restart, "/v1/changes%s%.*s", feed->types != NULL ? "?types=" : "",
             feed->types != NULL ? (int)strlen(feed->types) - 2 : 0,
             feed->types != NULL ? feed->types + 1 : "");
    char detail[640];
    snprintf(detail, sizeof detail,
             "%s Start again without a cursor (the request in `restart`): the feed then sends "
             "a snapshot of every record in your scope and the changes after it. Replace what "
             "you hold with what it sends; a record you hold that the snapshot does not send "
             "no longer exists for you.", reason);
    return operation_refuse_with(operation, PROBLEM_CURSOR_EXPIRED, NULL,
                                 json_pack("{s:s}", "restart", restart), detail);
}

/* Checks the cursor against this database: identity, issued, retained.
 * Leaves in feed->transaction the snapshot's position when a snapshot
 * starts. */
static enum db_outcome check_cursor(struct operation *operation)
{
    struct feed *feed = operation->domain;
    bool has_cursor = feed->identity[0] != '\0';
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, has_cursor ? feed->transaction : NULL);
    db_param_bool(&params, feed->snapshot);
    db_param_integer(&params, feed->entry);
    db_param_bool(&params, feed->reads_fund);
    /* Column 4, for a hot standby: a log cursor names an entry the standby
     * has not replayed yet (the position alone cannot tell: a standby's
     * horizon may equal the entry's transaction before replaying it).
     * Column 5: the caller's scope mark (SCOPE_MARK_LENGTH). */
    PGresult *result = operation_query(
        operation,
        "SELECT d.id::text, pg_snapshot_xmin(pg_current_snapshot())::text, "
        "       $1::xid8 > pg_snapshot_xmin(pg_current_snapshot()), "
        "       h.pruned_through > $1::xid8 OR ($2 AND h.pruned_through >= $1::xid8), "
        "       NOT $2 AND $3 > 0 AND NOT EXISTS (SELECT FROM change_log c "
        "         WHERE c.transaction_id = $1::xid8 AND c.id = $3), "
        "       left(md5(coalesce((SELECT string_agg(u::text, ',' ORDER BY u) "
        "                            FROM unnest(scope_unit_ids()) u), '') "
        "                || CASE WHEN $4 THEN '|fund' ELSE '' END), 16) "
        "  FROM database_identity d, change_log_horizon h",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    const char *identity = db_text(result, 0, 0), *scope_mark = db_text(result, 0, 5);
    snprintf(feed->database, sizeof feed->database, "%s.%s", identity, scope_mark);
    if (!has_cursor) {
        feed->snapshot = true;
        snprintf(feed->transaction, sizeof feed->transaction, "%s", db_text(result, 0, 1));
    } else if (strcmp(feed->identity, identity) != 0) {
        outcome = refuse_foreign_cursor(operation, "another database's identity");
    } else if (feed->scope_mark[0] != '\0' && strcmp(feed->scope_mark, scope_mark) != 0) {
        outcome = refuse_expired_cursor(
            operation, "This cursor was given out for another scope than yours now (your "
                       "account moved or changed role, or a reorganisation changed your "
                       "units): what you hold was synchronised for that scope.");
    } else if (operation->on_replica && (db_bool(result, 0, 2) ||
                                         (!db_bool(result, 0, 3) && db_bool(result, 0, 4)))) {
        /* A hot standby that has not replayed the cursor's position yet:
         * the primary answers (never an empty page that should not be). */
        outcome = operation_replica_behind(operation);
    } else if (db_bool(result, 0, 2)) {
        outcome = refuse_foreign_cursor(operation, "a position this database has not reached");
    } else if (db_bool(result, 0, 3)) {
        outcome = refuse_expired_cursor(operation,
                                        "This cursor is older than the retained change log.");
    }
    PQclear(result);
    return outcome;
}

/* What a page's audit entry names of each entry (the statement's column
 * 3): the record and, for a record about a child, the child, so that the
 * child's trail shows every read of it, as a GET of the record would. */
#define AUDIT_IDS(table)                                                                    \
    "CASE WHEN " table ".child_id IS NULL OR " table ".child_id = " table ".resource_id "   \
    "THEN " table ".resource_id::text ELSE " table ".resource_id || ',' || " table          \
    ".child_id END"

/* Keeps {"items":[<the rows' first values>], "next_cursor": …, "phase": …}
 * and the ids handed out (AUDIT_IDS, column 3) for the audit entry. */
static bool keep_page(struct operation *operation, const PGresult *result,
                      const char *next_cursor, const char *phase)
{
    struct feed *feed = operation->domain;
    int rows = PQntuples(result);
    snprintf(feed->next_cursor, sizeof feed->next_cursor, "%s", next_cursor);
    feed->more = rows == feed->limit || feed->snapshot; /* the changes follow */
    size_t size = 128 + strlen(next_cursor);
    for (int row = 0; row < rows; row++)
        size += (size_t)PQgetlength(result, row, 0) + 1;
    char *page = malloc(size), *ids = malloc(3 + 2 * 37 * (size_t)rows);
    if (page == NULL || ids == NULL) {
        free(page);
        free(ids);
        return false;
    }
    /* NDJSON: the entries, each on its own line. */
    char *end = page + sprintf(page, "%s", feed->ndjson ? "" : "{\"items\":[");
    char *ids_end = ids + sprintf(ids, "{");
    for (int row = 0; row < rows; row++) {
        const char *separator = feed->ndjson ? "" : row ? "," : "";
        end += sprintf(end, "%s%s%s", separator, db_text(result, row, 0),
                       feed->ndjson ? "\n" : "");
        ids_end += sprintf(ids_end, "%s%.73s", row ? "," : "", db_text(result, row, 3));
    }
    if (!feed->ndjson)
        sprintf(end, "],\"next_cursor\":\"%s\",\"phase\":\"%s\"}", next_cursor, phase);
    sprintf(ids_end, "}");
    free(operation->document);
    operation->document = page;
    free(operation->audit_ids);
    operation->audit_ids = ids;
    return true;
}

/* One page of the snapshot; the last one (not full) leads to the log. */
static enum db_outcome read_snapshot(struct operation *operation)
{
    const struct feed *feed = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, feed->after_type);
    db_param_text(&params, feed->after_id[0] != '\0' ? feed->after_id
                                                      : "00000000-0000-0000-0000-000000000000");
    db_param_text(&params, feed->types);
    db_param_integer(&params, feed->limit);
    db_param_bool(&params, feed->reads_fund);
    char prefix[ISSUER_SIZE + 40];
    snprintf(prefix, sizeof prefix, "%s:snapshot:%s:", feed->database, feed->transaction);
    db_param_text(&params, prefix);
    PGresult *result = operation_query(
        operation,
        "SELECT '{\"cursor\":\"' || $6 || f.resource_type || ':' || f.resource_id "
        "       || '\",\"type\":\"' || f.resource_type || '\",\"id\":\"' || f.resource_id "
        "       || '\",\"child_id\":' || coalesce('\"' || f.child_id || '\"', 'null') "
        "       || ',\"version\":' || f.version || ',\"operation\":\"snapshot\",\"record\":' "
        "       || f.record || '}', f.resource_id, f.resource_type, "
        "       " AUDIT_IDS("f") " "
        "  FROM feed_documents f "
        " WHERE (f.resource_type, f.resource_id) > ($1, $2::uuid) "
        "   AND ($3::text[] IS NULL OR f.resource_type = ANY ($3::text[])) "
        "   AND (f.resource_type <> 'fund' OR $5::boolean) "
        " ORDER BY f.resource_type, f.resource_id LIMIT $4",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    int rows = PQntuples(result);
    char next_cursor[ISSUER_SIZE + 128];
    if (rows < feed->limit)
        snprintf(next_cursor, sizeof next_cursor, "%s:%s-0", feed->database, feed->transaction);
    else
        snprintf(next_cursor, sizeof next_cursor, "%s%s:%s", prefix,
                 db_text(result, rows - 1, 2), db_text(result, rows - 1, 1));
    bool kept = keep_page(operation, result, next_cursor, rows < feed->limit ? "changes"
                                                                               : "snapshot");
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

/* One page of the log after the cursor. */
static enum db_outcome read_changes(struct operation *operation)
{
    const struct feed *feed = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, feed->transaction);
    db_param_integer(&params, feed->entry);
    db_param_text(&params, feed->types);
    db_param_integer(&params, feed->limit);
    db_param_bool(&params, feed->reads_fund);
    char prefix[ISSUER_SIZE + 2];
    snprintf(prefix, sizeof prefix, "%s:", feed->database);
    db_param_text(&params, prefix);
    PGresult *result = operation_query(
        operation,
        "SELECT json_build_object('cursor', $6 || p.here, 'type', l.resource_type, "
        "         'id', l.resource_id, 'child_id', l.child_id, 'version', l.version, "
        "         'operation', CASE WHEN p.visible THEN l.operation ELSE 'scope_exit' END, "
        "         'record', CASE WHEN p.visible THEN l.record END)::text, "
        "       l.resource_id, $6 || p.here, " AUDIT_IDS("l") " "
        "  FROM change_log l, "
        "       LATERAL (SELECT l.unit_id IN (SELECT id FROM scope_units()) AS visible, "
        "                       l.transaction_id::text || '-' || l.id AS here) p "
        " WHERE (l.transaction_id, l.id) > ($1::xid8, $2::bigint) "
        "   AND l.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
        "   AND ($3::text[] IS NULL OR l.resource_type = ANY ($3::text[])) "
        "   AND (l.resource_type <> 'fund' OR $5::boolean) "
        " ORDER BY l.transaction_id, l.id LIMIT $4",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    int rows = PQntuples(result);
    /* With nothing new, the next cursor is the one given. */
    char next_cursor[ISSUER_SIZE + 64];
    if (rows > 0)
        snprintf(next_cursor, sizeof next_cursor, "%s", db_text(result, rows - 1, 2));
    else
        snprintf(next_cursor, sizeof next_cursor, "%s%s-%lld", prefix, feed->transaction,
                 feed->entry);
    bool kept = keep_page(operation, result, next_cursor, "changes");
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static enum db_outcome read_feed(struct operation *operation)
{
    const struct feed *feed = operation->domain;
    enum db_outcome outcome = check_cursor(operation);
    if (outcome != DB_COMMIT)
        return outcome;
    return feed->snapshot ? read_snapshot(operation) : read_changes(operation);
}

static const struct operation_steps feed_steps = {
    .action = "list", .query = read_feed, .status = 200, .replica = true};

/* ---- Accept: application/x-ndjson: the whole pull, streamed ------------- */

/* Pages of this size are read while streaming, unless the request's limit
 * asks for another. */
#define NDJSON_PAGE 1000

/* Reads the page after feed's position in its own transaction, as a paged
 * request would (audited the same way); the entries' lines are left in
 * *lines (owned).  A refusal (a 410 when the log was pruned under the pull)
 * leaves the problem in operation, and feed where it was: a page a standby
 * read and the primary then refused to hand out moved it on. */
static enum db_outcome read_page(struct request *request, struct feed *feed,
                                 struct operation *operation, char **lines)
{
    const struct feed before = *feed; /* no member the read frees or allocates */
    *operation = (struct operation){.domain = feed};
    if (!operation_begin(operation, request, &feed_resource, &feed_steps, false))
        return DB_FAILED;
    enum db_outcome outcome = operation_execute(operation);
    *lines = outcome == DB_COMMIT ? operation->document : NULL;
    if (outcome != DB_COMMIT) {
        *feed = before;
        free(operation->document);
    }
    operation->document = NULL;
    free(operation->audit_ids);
    operation->audit_ids = NULL;
    return outcome;
}

/* The next position: where the page just read ended. */
static bool advance(struct feed *feed)
{
    char cursor[sizeof feed->next_cursor];
    snprintf(cursor, sizeof cursor, "%s", feed->next_cursor);
    feed->snapshot = false;
    feed->after_type[0] = feed->after_id[0] = '\0';
    feed->entry = 0;
    return parse_cursor(cursor, feed);
}

/* The last line of a pull refused before it caught up: the problem (401
 * when the token was revoked or its account changed during the pull, 410
 * when the log was pruned under it, 503 when the database went away) and
 * the cursor to resume from, where the last page streamed ended.  The head
 * went out long ago, so the problem travels in the body; the refusal is
 * audited as a paged request's is. */
static bool write_refusal(struct request *request, struct stream *stream,
                          const struct feed *feed, struct operation *operation)
{
    struct operation_problem *problem = &operation->problem;
    enum problem_type type = PROBLEM_INTERNAL;
    const char *detail = "The pull could not go on; resume from next_cursor.";
    if (request->principal_stale) {
        type = PROBLEM_UNAUTHORIZED;
        detail = "The token was revoked or expired, or its account changed, during the pull; "
                 "nothing after next_cursor was read. Sign in again and resume from there.";
    } else if (problem->set) {
        type = problem->type;
        detail = problem->detail;
        if (problem->connection_lost)
            request_discard_database(request);
        if (problem->audit_outcome != NULL)
            audit_log_refusal(request, feed_steps.action, feed_resource.audit_type, NULL,
                              problem->audit_outcome);
    }
    json_t *line = json_pack("{s:o, s:s, s:s}", "problem",
                             problem_body_in(type, detail, request->id, NULL, feed->language),
                             "next_cursor", feed->next_cursor, "phase",
                             feed->snapshot ? "snapshot" : "changes");
    char *text = line != NULL ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(line);
    bool written = text != NULL && stream_write(stream, text, strlen(text)) &&
                   stream_write(stream, "\n", 1);
    free(text);
    return written;
}

/* The request thread, after the reply's head went out: every further page
 * until the feed has caught up, then a last line with the cursor to go on
 * with; or, when a page is refused, a last line with the problem and the
 * cursor to resume from.  A stream cut short (no last line: the client, the
 * network or the server went away) is resumed from the cursor of the last
 * entry received. */
static bool produce_ndjson(struct request *request, struct stream *stream)
{
    struct feed *feed = request->handler_state;
    char *lines = NULL;
    /* The first page was read by the handler (so that its refusals are
     * answered as problems); its lines wait in feed->first. */
    bool ok = stream_write(stream, feed->first, strlen(feed->first));
    struct operation operation;
    while (ok && feed->more) {
        if (!advance(feed))
            return false;
        if (read_page(request, feed, &operation, &lines) != DB_COMMIT) {
            ok = write_refusal(request, stream, feed, &operation);
            operation_clear_problem(&operation.problem);
            return ok;
        }
        ok = stream_write(stream, lines, strlen(lines));
        operation_clear_problem(&operation.problem);
        free(lines);
        lines = NULL;
    }
    char last[sizeof feed->next_cursor + 64];
    int length = snprintf(last, sizeof last, "{\"next_cursor\":\"%s\",\"phase\":\"changes\"}\n",
                          feed->next_cursor);
    return ok && stream_write(stream, last, (size_t)length);
}

static void free_feed(void *state)
{
    struct feed *feed = state;
    if (feed != NULL) {
        free(feed->types);
        free(feed->first);
    }
    free(feed);
}

/* The first page, read here so that a bad or expired cursor gets its
 * problem; then the stream, and the rest on the request thread. */
static void stream_feed(struct request *request, struct feed *feed, bool page_size_given)
{
    if (!page_size_given)
        feed->limit = NDJSON_PAGE;
    feed->ndjson = true;
    feed->language = problem_language(request_header(request, "Accept-Language"));
    struct operation operation;
    char *lines = NULL;
    enum db_outcome outcome = read_page(request, feed, &operation, &lines);
    if (outcome != DB_COMMIT || request->replied) {
        operation_answer(&operation, outcome);
        free_feed(feed);
        return;
    }
    feed->first = lines;
    request->handler_state = feed;
    request->free_handler_state = free_feed;
    if (!reply_stream(request, "application/x-ndjson", produce_ndjson) && !request->replied)
        reply_problem(request, PROBLEM_INTERNAL, "The stream could not be opened.");
}

void handle_changes(struct request *request)
{
    struct feed feed = {.limit = CHANGES_DEFAULT_LIMIT};
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
    /* The fund's books (donors, money) are for the district's (since
     * 1/7/2025 the province's) officers and administrators only, whatever
     * else a reader's scope holds. */
    feed.reads_fund = request->principal.role == ROLE_ADMIN ||
                      request->principal.role == ROLE_DISTRICT_OFFICER ||
                      request->principal.role == ROLE_PROVINCE_OFFICER;
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors); /* takes the errors */
    } else if (request_prefers(request, "application/x-ndjson")) {
        json_decref(errors);
        struct feed *streamed = malloc(sizeof *streamed);
        if (streamed == NULL) {
            reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        } else {
            *streamed = feed;
            feed.types = NULL; /* now the stream's */
            stream_feed(request, streamed, limit != NULL);
        }
    } else {
        json_decref(errors);
        struct operation operation = {.domain = &feed};
        if (operation_begin(&operation, request, &feed_resource, &feed_steps, false))
            operation_run(&operation);
    }
    free(feed.types);
}
