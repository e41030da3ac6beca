/* GET /v1/reference/{name}: the registry's reference data (groups of special
 * circumstances with their sub-groups, risk categories, kinds of support). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
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

void handle_reference(struct request *request)
{
    const char *name = route_param(&request->match, "name");
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        if (strcmp(lists[i].name, name) != 0)
            continue;
        PGresult *result = db_query(request->database, lists[i].sql, NULL);
        if (!db_ok(result)) {
            reply_database_failure(request, "read reference data", result);
        } else {
            char *body = NULL;
            int length = asprintf(&body, "{\"items\":%s,\"next_cursor\":null}",
                                  db_text(result, 0, 0));
            if (length < 0)
                reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
            else
                reply_text(request, 200, "application/json", body, (size_t)length);
        }
        PQclear(result);
        return;
    }
    reply_problem(request, PROBLEM_NOT_FOUND, "No such reference list.");
}
