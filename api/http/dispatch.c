#include "http/dispatch.h"

#include "http/handlers.h"
#include "http/server.h"
#include "operation/audit_log.h"

void dispatch_route(struct request *request)
{
    const struct route *route = request->match.route;
    if (route->permission != PERMISSION_PUBLIC && !api_authenticate(request))
        return; /* answered 401 or 503 */
    dispatch_authenticated(request);
}

void dispatch_authenticated(struct request *request)
{
    const struct route *route = request->match.route;
    if (route->permission != PERMISSION_PUBLIC &&
        !role_has_permission(request->principal.role, route->permission)) {
        reply_problem(request, PROBLEM_FORBIDDEN, "The role %s may not do this.",
                      role_name(request->principal.role));
        if (route->audited != NULL)
            audit_log_refusal(request, "denied", route->audited,
                              route_param(&request->match, "id"), "denied");
        return;
    }
    route->handler(request);
}
