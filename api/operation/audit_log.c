#include "operation/audit_log.h"

#include <stdio.h>

#include "http/server.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "log.h"

/* An entry's columns; unit_id and outcome are the last two, which the
 * statements give each their own way. */
#define AUDIT_COLUMNS                                                                   \
    "at, actor_id, actor, role, action, resource_type, resource_ids, request_id, "      \
    "unit_id, outcome"

/* Appends the parameters every entry has: at, actor_id, actor, role,
 * action, resource_type, resource_ids and request_id, in that order.
 * Returns the $ number of the first. */
static int audit_params(struct db_params *params, const struct request *request,
                        const char *action, const char *resource_type, const char *ids)
{
    const struct principal *principal = &request->principal;
    int first = db_param_instant(params, clock_now_us());
    db_param_text(params, principal->id[0] != '\0' ? principal->id : NULL);
    db_param_text(params, principal->username);
    db_param_text(params, role_name(principal->role));
    db_param_text(params, action);
    db_param_text(params, resource_type);
    db_param_text(params, ids != NULL ? ids : "{}");
    db_param_text(params, request->id);
    return first;
}

const char *audit_log_entry(struct db_params *params, const struct request *request,
                            const char *action, const char *resource_type, const char *ids,
                            long long unit_id, const char *outcome)
{
    db_params_init(params);
    audit_params(params, request, action, resource_type, ids);
    db_param_id(params, unit_id);
    db_param_text(params, outcome);
    return "INSERT INTO audit_log (" AUDIT_COLUMNS ") "
           "VALUES ($1, $2, $3, $4, $5, $6, $7::uuid[], $8, $9, $10)";
}

bool audit_log_append(PGconn *connection, const struct request *request, const char *action,
                      const char *resource_type, const char *ids, long long unit_id,
                      const char *outcome)
{
    struct db_params params;
    const char *insert =
        audit_log_entry(&params, request, action, resource_type, ids, unit_id, outcome);
    /* Within the lifecycle's transaction the entry travels with the COMMIT
     * (a failure fails the COMMIT); a refusal's entry, after the rollback,
     * is written now. */
    return db_defer(connection, insert, &params) || db_command(connection, insert, &params);
}

bool audit_log_read_clause(char *out, size_t size, struct db_params *params,
                           const struct request *request, const char *action,
                           const char *resource_type, const char *ids, const char *rows)
{
    int first = audit_params(params, request, action, resource_type, ids);
    int length = snprintf(out, size,
                          "audited AS (INSERT INTO audit_log (" AUDIT_COLUMNS ") "
                          "SELECT $%d, $%d, $%d, $%d, $%d, $%d, $%d::uuid[], $%d, "
                          "unit_id, 'success' FROM %s)",
                          first, first + 1, first + 2, first + 3, first + 4, first + 5,
                          first + 6, first + 7, rows);
    return length > 0 && (size_t)length < size;
}

void audit_log_refusal(struct request *request, const char *action, const char *resource_type,
                       const char *id, const char *outcome)
{
    if (request->database == NULL)
        return; /* lost with the connection: the failure itself is logged */
    char ids[64] = "{}";
    if (id != NULL && json_is_uuid_text(id))
        snprintf(ids, sizeof ids, "{%s}", id);
    if (!audit_log_append(request->database, request, action, resource_type, ids,
                          request->principal.unit_id, outcome))
        log_event(LOG_ERROR, "audit_failed", json_pack("{s:s}", "request_id", request->id));
}
