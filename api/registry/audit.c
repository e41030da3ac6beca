/* GET /v1/audit: who read or changed what, for admins and district
 * officers, limited to entries of units in their scope (and to entries
 * with no unit, such as denied attempts, for admins). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reporting/reporting.h"
#include "json.h"
#include "operation/legacy.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 1000

void handle_audit_list(struct request *request)
{
    const char *actor = request_query(request, "actor");
    const char *resource_id = request_query(request, "resource_id");
    const char *from = request_query(request, "from");
    const char *to = request_query(request, "to");
    const char *cursor = request_query(request, "cursor");
    const char *limit_text = request_query(request, "limit");
    long long limit = AUDIT_DEFAULT_LIMIT, before = 0;
    int64_t instant;
    json_t *errors = json_array();
    if (resource_id != NULL && !json_is_uuid_text(resource_id))
        problem_add_parameter_error(errors, "resource_id", "must be a UUID");
    if (from != NULL && !clock_parse_instant(from, &instant))
        problem_add_parameter_error(errors, "from", "must be an RFC 3339 date-time");
    if (to != NULL && !clock_parse_instant(to, &instant))
        problem_add_parameter_error(errors, "to", "must be an RFC 3339 date-time");
    if (cursor != NULL && !config_parse_integer(cursor, 1, 1LL << 62, &before))
        problem_add_parameter_error(errors, "cursor", "is not a cursor this API gave out");
    if (limit_text != NULL && !config_parse_integer(limit_text, 1, AUDIT_MAX_LIMIT, &limit))
        problem_add_parameter_error(errors, "limit", "must be from 1 to %d", AUDIT_MAX_LIMIT);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, request->principal.unit_id);
    db_param_text(&params, today);
    db_param_text(&params, actor);
    db_param_text(&params, resource_id);
    db_param_text(&params, from);
    db_param_text(&params, to);
    db_param_id(&params, before);
    db_param_integer(&params, limit + 1);
    db_param_bool(&params, request->principal.role == ROLE_ADMIN);
    /* Newest first; the cursor is the last id delivered. */
    PGresult *result = db_query(
        request->database,
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
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "read audit", result);
        PQclear(result);
        return;
    }
    const char *next = db_text(result, 0, 1);
    char *body = NULL;
    int length = next != NULL
                     ? asprintf(&body, "{\"items\":%s,\"next_cursor\":\"%s\"}",
                                db_text(result, 0, 0), next)
                     : asprintf(&body, "{\"items\":%s,\"next_cursor\":null}",
                                db_text(result, 0, 0));
    PQclear(result);
    if (length < 0)
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
    else
        reply_text(request, 200, "application/json", body, (size_t)length);
}
