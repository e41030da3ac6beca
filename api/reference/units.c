/* Administrative units: GET /v1/units?on= and GET /v1/units/{code}?on=.
 * Units are reference data, not personal data: every role sees the whole
 * tree.  A code names different units at different times, so every read is
 * "as valid on" a date, today in Asia/Ho_Chi_Minh by default. */
#include <stdio.h>

#include "clock.h"
#include "db.h"
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

void handle_units_list(struct request *request)
{
    char on[CLOCK_DATE_SIZE];
    if (!read_on_date(request, on))
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, on);
    /* Depth-first order (parents before children) via the path of codes. */
    PGresult *result = db_query(
        request->database,
        "WITH RECURSIVE tree AS ("
        "  SELECT u.id, ARRAY[u.code] AS path FROM units u "
        "   WHERE u.parent_id IS NULL AND u.valid_from <= $1 "
        "     AND (u.valid_to IS NULL OR u.valid_to >= $1) "
        "  UNION ALL "
        "  SELECT u.id, tree.path || u.code FROM units u JOIN tree ON u.parent_id = tree.id "
        "   WHERE u.valid_from <= $1 AND (u.valid_to IS NULL OR u.valid_to >= $1)) "
        "SELECT " UNIT_COLUMNS " FROM tree JOIN units u ON u.id = tree.id "
        "  LEFT JOIN units parent ON parent.id = u.parent_id ORDER BY tree.path",
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "list units", result);
        PQclear(result);
        return;
    }
    json_t *items = json_array();
    for (int row = 0; row < PQntuples(result); row++)
        json_array_append_new(items, unit_json(result, row, 0));
    PQclear(result);
    reply_json(request, 200,
               json_pack("{s:s, s:o, s:n}", "on", on, "items", items, "next_cursor"));
}

/* Units related to `unit_id`: children valid on the date, predecessors and
 * successors at any time. */
static json_t *related_units(struct request *request, const char *sql, const char *unit_id,
                             const char *on, bool *failed)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, unit_id);
    db_param_text(&params, on);
    PGresult *result = db_query(request->database, sql, &params);
    if (!db_ok(result)) {
        *failed = true;
        reply_database_failure(request, "related units", result);
        PQclear(result);
        return NULL;
    }
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

void handle_unit_get(struct request *request)
{
    char on[CLOCK_DATE_SIZE];
    if (!read_on_date(request, on))
        return;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, route_param(&request->match, "code"));
    db_param_text(&params, on);
    PGresult *result = db_query(
        request->database,
        "SELECT u.id::text, " UNIT_COLUMNS " FROM units u "
        "  LEFT JOIN units parent ON parent.id = u.parent_id "
        " WHERE u.code = $1 AND u.valid_from <= $2 AND (u.valid_to IS NULL OR u.valid_to >= $2)",
        &params);
    if (!db_ok(result)) {
        reply_database_failure(request, "get unit", result);
        PQclear(result);
        return;
    }
    if (PQntuples(result) != 1) {
        PQclear(result);
        reply_problem(request, PROBLEM_NOT_FOUND, "No unit has this code on %s.", on);
        return;
    }
    json_t *unit = unit_json(result, 0, 1);
    char id[24];
    snprintf(id, sizeof id, "%s", db_text(result, 0, 0));
    PQclear(result);
    bool failed = false;
    json_t *children = related_units(
        request,
        "SELECT " UNIT_COLUMNS " FROM units u JOIN units parent ON parent.id = u.parent_id "
        " WHERE u.parent_id = $1 AND u.valid_from <= $2 "
        "   AND (u.valid_to IS NULL OR u.valid_to >= $2) ORDER BY u.code",
        id, on, &failed);
    json_t *predecessors = failed ? NULL : related_units(
        request,
        "SELECT " UNIT_COLUMNS ", s.effective_on::text FROM unit_successions s "
        "  JOIN units u ON u.id = s.predecessor_id "
        "  LEFT JOIN units parent ON parent.id = u.parent_id "
        " WHERE s.successor_id = $1 AND $2::date IS NOT NULL ORDER BY u.code",
        id, on, &failed);
    json_t *successors = failed ? NULL : related_units(
        request,
        "SELECT " UNIT_COLUMNS ", s.effective_on::text FROM unit_successions s "
        "  JOIN units u ON u.id = s.successor_id "
        "  LEFT JOIN units parent ON parent.id = u.parent_id "
        " WHERE s.predecessor_id = $1 AND $2::date IS NOT NULL ORDER BY u.code",
        id, on, &failed);
    if (failed) {
        json_decref(unit);
        json_decref(children);
        json_decref(predecessors);
        return;
    }
    json_object_set_new(unit, "on", json_string(on));
    json_object_set_new(unit, "children", children);
    json_object_set_new(unit, "predecessors", predecessors);
    json_object_set_new(unit, "successors", successors);
    reply_json(request, 200, unit);
}
