/* GET /v1/audit: who read or changed what, for admins and district
 * officers, limited to entries of units in their scope (and to entries
 * with no unit, such as denied attempts, for admins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reporting/reporting.h"
#include "json.h"
#include "operation/lifecycle.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 1000

/* The audit trail's own reads are not audited (nor scoped beyond the
 * query's unit filter): the layer only runs the transaction. */
static const struct resource audit_resource = {.name = "audit entry",
                                               .audit_type = "audit_log"};

struct audit_query {
    const char *actor;
    const char *resource_id;
    const char *from;
    const char *to;
    long long before;
    long long limit;
};

static enum db_outcome read_audit(struct operation *operation)
{
    const struct audit_query *query = operation->domain;
    const struct principal *principal = &operation->request->principal;
    enum db_outcome outcome = DB_COMMIT;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, principal->unit_id);
    db_param_text(&params, today);
    db_param_text(&params, query->actor);
    db_param_text(&params, query->resource_id);
    db_param_text(&params, query->from);
    db_param_text(&params, query->to);
    db_param_id(&params, query->before);
    db_param_integer(&params, query->limit + 1);
    db_param_bool(&params, principal->role == ROLE_ADMIN);
    /* Newest first; the cursor is the last id delivered. */
    PGresult *result = operation_query(
        operation,
        "SELECT coalesce(json_agg(json_build_object('id', a.id, 'at', rfc3339(a.at), "
        "         'actor', a.actor, 'role', a.role, 'action', a.action, "
        "         'resource_type', a.resource_type, 'resource_ids', a.resource_ids, "
        "         'unit', u.code, 'request_id', a.request_id, 'outcome', a.outcome) "
        "         ORDER BY a.id DESC) FILTER (WHERE a.rank <= $8 - 1), '[]')::text, "
        "       CASE WHEN count(*) >= $8 THEN min(a.id) FILTER (WHERE a.rank <= $8 - 1) END "
        "  FROM (SELECT *, row_number() OVER (ORDER BY id DESC) AS rank FROM ( "
        "          SELECT * FROM audit_log "
        "           WHERE (unit_id IN (SELECT id FROM unit_subtree($1, $2)) "
        "                  OR (unit_id IS NULL AND $9)) "
        "             AND ($3::text IS NULL OR actor = $3) "
        "             AND ($4::uuid IS NULL OR resource_ids @> ARRAY[$4::uuid]) "
        "             AND ($5::timestamptz IS NULL OR at >= $5) "
        "             AND ($6::timestamptz IS NULL OR at < $6) "
        "             AND ($7::bigint IS NULL OR id < $7) "
        "           ORDER BY id DESC LIMIT $8) page) a "
        "  LEFT JOIN units u ON u.id = a.unit_id",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_items(operation, db_text(result, 0, 0), db_text(result, 0, 1));
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = read_audit, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_audit_list(struct request *request)
{
    struct audit_query query = {.actor = request_query(request, "actor"),
                                .resource_id = request_query(request, "resource_id"),
                                .from = request_query(request, "from"),
                                .to = request_query(request, "to"),
                                .limit = AUDIT_DEFAULT_LIMIT};
    const char *cursor = request_query(request, "cursor");
    const char *limit_text = request_query(request, "limit");
    int64_t instant;
    json_t *errors = json_array();
    if (query.resource_id != NULL && !json_is_uuid_text(query.resource_id))
        problem_add_parameter_error(errors, "resource_id", "must be a UUID");
    if (query.from != NULL && !clock_parse_instant(query.from, &instant))
        problem_add_parameter_error(errors, "from", "must be an RFC 3339 date-time");
    if (query.to != NULL && !clock_parse_instant(query.to, &instant))
        problem_add_parameter_error(errors, "to", "must be an RFC 3339 date-time");
    if (cursor != NULL && !config_parse_integer(cursor, 1, 1LL << 62, &query.before))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit_text != NULL &&
        !config_parse_integer(limit_text, 1, AUDIT_MAX_LIMIT, &query.limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", AUDIT_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    struct operation operation = {.domain = &query};
    if (operation_begin(&operation, request, &audit_resource, &list_steps, false))
        operation_run(&operation);
}
