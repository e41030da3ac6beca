/* The route table: every endpoint of the API, its handler and the
 * permission it needs.  openapi.yaml documents exactly these. */
#include "handlers.h"
#include "router.h"

const struct route api_routes[] = {
    {"GET", "/healthz", handle_healthz, PERMISSION_PUBLIC},
    {"GET", "/readyz", handle_readyz, PERMISSION_PUBLIC},
    {"GET", "/metrics", handle_metrics, PERMISSION_PUBLIC},
    {"GET", "/problems/{slug}", handle_problem_page, PERMISSION_PUBLIC},
    {"POST", "/v1/auth/token", handle_auth_token, PERMISSION_PUBLIC},
    {"POST", "/v1/auth/revoke", handle_auth_revoke, PERMISSION_AUTHENTICATED},
    {"GET", "/v1/me", handle_me, PERMISSION_AUTHENTICATED},
    {"GET", "/v1/units", handle_units_list, PERMISSION_REFERENCE_READ},
    {"GET", "/v1/units/{code}", handle_unit_get, PERMISSION_REFERENCE_READ},
};

const size_t api_route_count = sizeof api_routes / sizeof api_routes[0];
