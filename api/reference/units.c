/* Administrative units: GET /v1/units?on= and GET /v1/units/{code}?on=.
 * Units are reference data, not personal data: every role sees the whole
 * tree.  A code names different units at different times, so every read is
 * "as valid on" a date, today in Asia/Ho_Chi_Minh by default. */
#include <stdio.h>

#include "clock.h"
#include "db.h"
#include "operation/lifecycle.h"
#include "reference/reference.h"

#define UNIT_COLUMNS                                                                        \
    "u.code, u.name, u.kind, parent.code, u.valid_from::text, u.valid_to::text"

/* Reads ?on=YYYY-MM-DD into out (today by default); answers 400 if bad. */
static bool read_on_date(struct request *request, char out[CLOCK_DATE_SIZE])
{
    const char *text = request_query(request, "on");
    struct civil_date date = clock_today();
    if (text != NULL && !date_parse(text, &date)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "on", "must be a real date YYYY-MM-DD");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return false;
    }
    date_format(date, out);
    return true;
}

static json_t *nullable_string(const char *text)
{
    return text != NULL ? json_string(text) : json_null();
}

/* One unit from a row of UNIT_COLUMNS starting at `column`. */
static json_t *unit_json(const PGresult *result, int row, int column)
{
    json_t *unit = json_object();
    json_object_set_new(unit, "code", json_string(db_text(result, row, column)));
    json_object_set_new(unit, "name", json_string(db_text(result, row, column + 1)));
    json_object_set_new(unit, "kind", json_string(db_text(result, row, column + 2)));
    json_object_set_new(unit, "parent_code", nullable_string(db_text(result, row, column + 3)));
    json_object_set_new(unit, "valid_from", json_string(db_text(result, row, column + 4)));
    json_object_set_new(unit, "valid_to", nullable_string(db_text(result, row, column + 5)));
    return unit;
}

/* Reference data for every role: nothing to audit. */
static const struct resource units_resource = {.name = "unit", .audit_type = "units"};

struct units_read {
    char on[CLOCK_DATE_SIZE];
    const char *code;         /* GET /v1/units/{code} */
};

/* The units a statement returns, as a JSON array (NULL on failure, *outcome
 * set).  A 7th column is the succession's effective date. */
static json_t *read_units(struct operation *operation, const char *sql,
                          const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = operation_query(operation, sql, params, outcome);
    if (result == NULL)
        return NULL;
    json_t *items = json_array();
    for (int row = 0; row < PQntuples(result); row++) {
        json_t *unit = unit_json(result, row, 0);
        if (PQnfields(result) > 6)
            json_object_set_new(unit, "effective_on", json_string(db_text(result, row, 6)));
        json_array_append_new(items, unit);
    }
    PQclear(result);
    return items;
}

/* Depth-first order (parents before children) via the path of codes. */
static const char tree_sql[] =
    "WITH RECURSIVE tree AS ("
    "  SELECT u.id, ARRAY[u.code] AS path FROM units u "
    "   WHERE u.parent_id IS NULL AND u.valid_from <= $1 "
    "     AND (u.valid_to IS NULL OR u.valid_to >= $1) "
    "  UNION ALL "
    "  SELECT u.id, tree.path || u.code FROM units u JOIN tree ON u.parent_id = tree.id "
    "   WHERE u.valid_from <= $1 AND (u.valid_to IS NULL OR u.valid_to >= $1)) "
    "SELECT " UNIT_COLUMNS " FROM tree JOIN units u ON u.id = tree.id "
    "  LEFT JOIN units parent ON parent.id = u.parent_id ORDER BY tree.path";

static enum db_outcome list_units(struct operation *operation)
{
    struct units_read *read = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, read->on);
    json_t *items = read_units(operation, tree_sql, &params, &outcome);
    if (items == NULL)
        return outcome;
    return operation_keep_json(operation, json_pack("{s:s, s:o, s:n}", "on", read->on, "items",
                                                    items, "next_cursor"))
               ? DB_COMMIT
               : DB_FAILED;
}

static const struct operation_steps list_steps = {
    .action = "list", .query = list_units, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_units_list(struct request *request)
{
    struct units_read read = {0};
    struct operation operation = {.domain = &read};
    if (read_on_date(request, read.on) &&
        operation_begin(&operation, request, &units_resource, &list_steps, false))
        operation_run(&operation);
}

/* The unit valid on the date, as JSON, and its id; NULL after refusing 404. */
static json_t *find_unit(struct operation *operation, char id[24], enum db_outcome *outcome)
{
    struct units_read *read = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, read->code);
    db_param_text(&params, read->on);
    PGresult *result = operation_query(
        operation,
        "SELECT u.id::text, " UNIT_COLUMNS " FROM units u "
        "  LEFT JOIN units parent ON parent.id = u.parent_id "
        " WHERE u.code = $1 AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2)",
        &params, outcome);
    if (result == NULL)
        return NULL;
    json_t *unit = NULL;
    if (PQntuples(result) == 1) {
        unit = unit_json(result, 0, 1);
        snprintf(id, 24, "%s", db_text(result, 0, 0));
    } else {
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, NULL,
                                    "No unit has this code on %s.", read->on);
    }
    PQclear(result);
    return unit;
}

/* Children valid on the date, predecessors and successors at any time. */
static const char *const related_sql[][2] = {
    {"children",
     "SELECT " UNIT_COLUMNS " FROM units u JOIN units parent ON parent.id = u.parent_id "
     " WHERE u.parent_id = $1::bigint AND u.valid_from <= $2 "
     "   AND (u.valid_to IS NULL OR u.valid_to >= $2) ORDER BY u.code"},
    {"predecessors",
     "SELECT " UNIT_COLUMNS ", s.effective_on::text FROM unit_successions s "
     "  JOIN units u ON u.id = s.predecessor_id "
     "  LEFT JOIN units parent ON parent.id = u.parent_id "
     " WHERE s.successor_id = $1::bigint AND $2::date IS NOT NULL ORDER BY u.code"},
    {"successors",
     "SELECT " UNIT_COLUMNS ", s.effective_on::text FROM unit_successions s "
     "  JOIN units u ON u.id = s.successor_id "
     "  LEFT JOIN units parent ON parent.id = u.parent_id "
     " WHERE s.predecessor_id = $1::bigint AND $2::date IS NOT NULL ORDER BY u.code"}};

static enum db_outcome get_unit(struct operation *operation)
{
    struct units_read *read = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    char id[24];
    json_t *unit = find_unit(operation, id, &outcome);
    if (unit == NULL)
        return outcome;
    json_object_set_new(unit, "on", json_string(read->on));
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, id);
    db_param_text(&params, read->on);
    for (size_t i = 0; i < sizeof related_sql / sizeof related_sql[0]; i++) {
        json_t *items = read_units(operation, related_sql[i][1], &params, &outcome);
        if (items == NULL) {
            json_decref(unit);
            return outcome;
        }
        json_object_set_new(unit, related_sql[i][0], items);
    }
    return operation_keep_json(operation, unit) ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps get_steps = {
    .action = "read", .query = get_unit, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_unit_get(struct request *request)
{
    struct units_read read = {.code = route_param(&request->match, "code")};
    struct operation operation = {.domain = &read};
    if (read_on_date(request, read.on) &&
        operation_begin(&operation, request, &units_resource, &get_steps, false))
        operation_run(&operation);
}
