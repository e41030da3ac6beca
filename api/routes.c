/* The route table: every endpoint of the API, its handler and the
 * permission it needs.  openapi.yaml documents exactly these. */
#include "handlers.h"
#include "router.h"

const struct route api_routes[] = {
    {"GET", "/healthz", handle_healthz, PERMISSION_PUBLIC, NULL},
    {"GET", "/readyz", handle_readyz, PERMISSION_PUBLIC, NULL},
    {"GET", "/metrics", handle_metrics, PERMISSION_PUBLIC, NULL},
    {"GET", "/problems/{slug}", handle_problem_page, PERMISSION_PUBLIC, NULL},
    {"POST", "/v1/auth/token", handle_auth_token, PERMISSION_PUBLIC, NULL},
    {"POST", "/v1/auth/revoke", handle_auth_revoke, PERMISSION_AUTHENTICATED, NULL},
    {"GET", "/v1/me", handle_me, PERMISSION_AUTHENTICATED, NULL},
    {"GET", "/v1/units", handle_units_list, PERMISSION_REFERENCE_READ, NULL},
    {"GET", "/v1/units/{code}", handle_unit_get, PERMISSION_REFERENCE_READ, NULL},
    {"GET", "/v1/children", handle_children_list, PERMISSION_CHILDREN_READ, "children"},
    {"PUT", "/v1/children/{id}", handle_child_put, PERMISSION_CHILDREN_WRITE, "children"},
    {"GET", "/v1/children/{id}", handle_child_get, PERMISSION_CHILDREN_READ, "children"},
    {"PATCH", "/v1/children/{id}", handle_child_patch, PERMISSION_CHILDREN_WRITE, "children"},
    {"DELETE", "/v1/children/{id}", handle_child_delete, PERMISSION_CHILDREN_WRITE,
     "children"},
#define RECORD_ROUTES(kind, read, write)                                                    \
    {"POST", "/v1/children/{id}/" #kind, handle_##kind##_create, write, #kind},             \
    {"GET", "/v1/children/{id}/" #kind, handle_##kind##_list, read, #kind},                 \
    {"GET", "/v1/children/{id}/" #kind "/{record_id}", handle_##kind##_get, read, #kind},   \
    {"PATCH", "/v1/children/{id}/" #kind "/{record_id}", handle_##kind##_patch, write, #kind}
    RECORD_ROUTES(circumstances, PERMISSION_CHILDREN_READ, PERMISSION_CHILDREN_WRITE),
    RECORD_ROUTES(risks, PERMISSION_CHILDREN_READ, PERMISSION_CHILDREN_WRITE),
    RECORD_ROUTES(supports, PERMISSION_CHILDREN_READ, PERMISSION_CHILDREN_WRITE),
    RECORD_ROUTES(consents, PERMISSION_CONSENTS_READ, PERMISSION_CONSENTS_WRITE),
    {"POST", "/v1/cases", handle_case_create, PERMISSION_CASES_WRITE, "cases"},
    {"GET", "/v1/cases", handle_cases_list, PERMISSION_CASES_READ, "cases"},
    {"GET", "/v1/cases/{id}", handle_case_get, PERMISSION_CASES_READ, "cases"},
    {"GET", "/v1/cases/{id}/history", handle_case_history, PERMISSION_CASES_READ, "cases"},
    {"PATCH", "/v1/cases/{id}", handle_case_patch, PERMISSION_CASES_WRITE, "cases"},
    {"POST", "/v1/cases/{id}/transitions", handle_case_transition, PERMISSION_CASES_WRITE,
     "cases"},
    {"POST", "/v1/cases/{id}/transfer", handle_case_transfer, PERMISSION_CASES_TRANSFER,
     "cases"},
    {"POST", "/v1/cases/{id}/services", handle_case_service_create, PERMISSION_CASES_WRITE,
     "cases"},
    {"PATCH", "/v1/cases/{id}/services/{service_id}", handle_case_service_patch,
     PERMISSION_CASES_WRITE, "cases"},
    {"GET", "/v1/cases/{id}/notes", handle_case_notes_list, PERMISSION_CASES_READ,
     "case_notes"},
    {"POST", "/v1/cases/{id}/notes", handle_case_note_create, PERMISSION_CASES_WRITE,
     "case_notes"},
    {"GET", "/v1/changes", handle_changes, PERMISSION_CHANGES_READ, "changes"},
    {"GET", "/v1/audit", handle_audit_list, PERMISSION_AUDIT_READ, NULL},
    {"GET", "/v1/reference/{name}", handle_reference, PERMISSION_REFERENCE_READ, NULL},
    {"GET", "/v1/indicators", handle_indicators_get, PERMISSION_INDICATORS_READ, NULL},
    {"POST", "/v1/indicators/recompute", handle_indicators_recompute,
     PERMISSION_INDICATORS_RECOMPUTE, NULL},
    {"GET", "/v1/indicators/{code}", handle_indicator_series, PERMISSION_INDICATORS_READ, NULL},
};

const size_t api_route_count = sizeof api_routes / sizeof api_routes[0];
