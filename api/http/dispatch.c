#include "http/dispatch.h"

#include "http/handlers.h"
#include "http/server.h"
#include "operation/audit_log.h"

void dispatch_route(struct request *request)
{
    const struct route *route = request->match.route;
    if (route->permission != PERMISSION_PUBLIC) {
        if (!api_authenticate(request))
            return; /* answered 401 or 503 */
        if (!role_has_permission(request->principal.role, route->permission)) {
            reply_problem(request, PROBLEM_FORBIDDEN, "The role %s may not do this.",
                          role_name(request->principal.role));
            if (route->audited != NULL)
                audit_log_refusal(request, "denied", route->audited,
                                  route_param(&request->match, "id"), "denied");
            return;
        }
    }
    route->handler(request);
    /* A replayed create hands a personal record out again, without the
     * handler having run its audited transaction: record that read here.
     * (Handlers on the operation layer audit their replays themselves.) */
    if (request->idempotent_replay && route->audited != NULL)
        audit_log_refusal(request, "read", route->audited, request->replayed_id, "success");
}
