/* What happens to a routed request between the transport and its handler:
 * authentication, the route's permission (a refusal by role is audited for
 * routes of personal data), then the handler. */
#ifndef BAOVE_DISPATCH_H
#define BAOVE_DISPATCH_H

struct request;

/* Runs the matched route for a request (server_settings.dispatch).  When
 * the principal came from the principal cache and the route's transaction
 * refused it (request->principal_stale), runs it once more after the real
 * lookup. */
void dispatch_route(struct request *request);

/* The same for a request whose principal is already known (a batch's
 * item): the route's permission, then its handler.  A refusal for a
 * principal from the cache is judged again after the real lookup. */
void dispatch_authenticated(struct request *request);

/* After dispatch_authenticated: when a transaction refused the principal
 * in flight (request->principal_stale), forgets whatever was answered,
 * looks the token up again and runs the route once more as the principal
 * now is (401 when the token is no longer valid). */
void dispatch_again_if_refused(struct request *request);

#endif
