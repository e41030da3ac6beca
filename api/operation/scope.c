#include "operation/scope.h"

#include "http/server.h"

bool scope_set(struct operation *operation, enum db_outcome *outcome)
{
    const struct principal *principal = &operation->request->principal;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, principal->token_hash);
    db_param_text(&params, principal->id);
    db_param_text(&params, role_name(principal->role));
    db_param_integer(&params, principal->unit_id);
    db_param_instant(&params, clock_now_us());
    db_param_text(&params, today);
    return operation_command(operation, "SELECT scope_enter($1, $2, $3, $4, $5, $6)", &params,
                             outcome);
}

static long long find_unit(struct operation *operation, const char *sql, const char *code,
                           const char *on, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, code);
    db_param_text(&params, on);
    PGresult *result = operation_query(operation, sql, &params, outcome);
    if (result == NULL)
        return -1;
    long long id = PQntuples(result) == 1 ? db_integer(result, 0, 0) : 0;
    PQclear(result);
    return id;
}

long long scope_commune_id(struct operation *operation, const char *code, const char *on,
                           enum db_outcome *outcome)
{
    return find_unit(operation,
                     "SELECT u.id FROM units u WHERE u.code = $1 "
                     "   AND u.kind IN ('commune', 'township', 'ward') "
                     "   AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2) "
                     "   AND u.id IN (SELECT id FROM scope_units())",
                     code, on, outcome);
}

long long scope_unit_id(struct operation *operation, const char *code,
                        enum db_outcome *outcome)
{
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    return scope_unit_id_on(operation, code, today, outcome);
}

long long scope_unit_id_on(struct operation *operation, const char *code, const char *on,
                           enum db_outcome *outcome)
{
    return find_unit(operation,
                     "SELECT u.id FROM units u WHERE u.code = $1 "
                     "   AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2) "
                     "   AND u.id IN (SELECT id FROM scope_units())",
                     code, on, outcome);
}

long long scope_list_unit(struct operation *operation, const char *code,
                          enum db_outcome *outcome)
{
    if (code == NULL)
        return 0;
    long long unit_id = scope_unit_id(operation, code, outcome);
    if (unit_id == 0)
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such unit in your scope.");
    return unit_id > 0 ? unit_id : -1;
}
