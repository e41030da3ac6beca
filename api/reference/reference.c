/* GET /v1/reference/{name}: the registry's reference data (groups of special
 * circumstances with their sub-groups, risk categories, kinds of support). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "operation/lifecycle.h"
#include "reference/reference.h"

static const struct {
    const char *name;
    const char *sql;
} lists[] = {
    {"circumstance-groups",
     "SELECT coalesce(json_agg(json_build_object('key', g.key, 'label_vi', g.label_vi, "
     "  'label_en', g.label_en, 'subgroups', (SELECT coalesce(json_agg(json_build_object("
     "    'key', s.key, 'label_vi', s.label_vi, 'label_en', s.label_en) ORDER BY s.key), '[]') "
     "    FROM circumstance_subgroups s WHERE s.group_key = g.key)) ORDER BY g.position), "
     "  '[]')::text FROM circumstance_groups g"},
    {"risk-categories",
     "SELECT coalesce(json_agg(json_build_object('key', key, 'label_vi', label_vi, "
     "  'label_en', label_en) ORDER BY key), '[]')::text FROM risk_categories"},
    {"support-kinds",
     "SELECT coalesce(json_agg(json_build_object('key', key, 'label_vi', label_vi, "
     "  'label_en', label_en) ORDER BY key), '[]')::text FROM support_kinds"},
};

/* Reference data is neither scoped nor audited: the layer only runs the
 * transaction. */
static const struct resource reference_resource = {.name = "reference list",
                                                   .audit_type = "reference"};

/* operation->domain: the SQL of the list asked for. */
static enum db_outcome read_list(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    PGresult *result = operation_query(operation, operation->domain, NULL, &outcome);
    if (result == NULL)
        return outcome;
    bool kept = operation_keep_items(operation, db_text(result, 0, 0), NULL);
    PQclear(result);
    return kept ? DB_COMMIT : DB_FAILED;
}

static const struct operation_steps read_steps = {
    .action = "read", .query = read_list, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_reference(struct request *request)
{
    const char *name = route_param(&request->match, "name");
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        if (strcmp(lists[i].name, name) != 0)
            continue;
        struct operation operation = {.domain = (void *)lists[i].sql};
        if (operation_begin(&operation, request, &reference_resource, &read_steps, false))
            operation_run(&operation);
        return;
    }
    reply_problem(request, PROBLEM_NOT_FOUND, "No such reference list.");
}
