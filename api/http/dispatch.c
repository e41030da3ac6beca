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
    dispatch_again_if_refused(request);
}

void dispatch_again_if_refused(struct request *request)
{
    if (!request->principal_stale)
        return;
    /* A transaction refused the principal in flight (revoked, disabled,
     * moved, another role since it was looked up): nothing was written,
     * nothing answered.  Once more from the real lookup, which answers 401,
     * or runs the route as the principal now is (403, another scope). */
    reply_forget(request);
    if (api_authenticate_again(request))
        dispatch_authenticated(request);
    if (request->principal_stale)
        api_refuse_token(request); /* refused again: revoked in between */
}

void dispatch_authenticated(struct request *request)
{
    const struct route *route = request->match.route;
    if (route->permission == PERMISSION_PUBLIC) {
        route->handler(request);
        return;
    }
    bool permitted = role_has_permission(request->principal.role, route->permission);
    /* A cached role may have gained the permission since. */
    if (!permitted && request->principal_unverified) {
        if (!api_authenticate_again(request))
            return; /* answered 401 or 503 */
        permitted = role_has_permission(request->principal.role, route->permission);
    }
    if (!permitted) {
        reply_problem(request, PROBLEM_FORBIDDEN, "The role %s may not do this.",
                      role_name(request->principal.role));
        if (route->audited != NULL)
            audit_log_refusal(request, "denied", route->audited,
                              route_param(&request->match, "id"), "denied");
        return;
    }
    route->handler(request);
}
