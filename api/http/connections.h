/* Every open client connection, for what libmicrohttpd does not do itself:
 *
 * - A whole-request deadline.  libmicrohttpd's timeout counts inactivity
 *   only, so a client sending a header byte every few seconds would hold its
 *   connection for ever.  A request's headers and body must all arrive
 *   within BAOVE_HTTP_REQUEST_DEADLINE of the connection opening (or, on a
 *   kept-alive connection, of the idle timeout's end after the previous
 *   answer); a watchdog shuts the socket of one that does not.
 * - Soft connection limits, answered rather than cut: past
 *   BAOVE_HTTP_MAX_CONNECTIONS in all, or BAOVE_HTTP_MAX_CONNECTIONS_PER_IP
 *   from one address (trusted proxies excepted), a new connection's first
 *   request gets 503 /problems/server-busy with Retry-After, and the
 *   connection is closed.  libmicrohttpd's own hard limit sits a margin
 *   above, where it can only close.
 * Refusals and cut connections are logged as a rate, not one line each. */
#ifndef BAOVE_API_CONNECTIONS_H
#define BAOVE_API_CONNECTIONS_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct connection_limits {
    unsigned max_connections;      /* soft, in all */
    unsigned max_per_address;      /* soft, per client address */
    unsigned request_deadline_s;   /* headers and body */
    unsigned idle_timeout_s;       /* between requests of a kept-alive connection */
};

/* Starts the deadline watchdog; call once, before the daemon. */
bool connections_start(const struct connection_limits *limits);
void connections_stop(void);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback. */
void connections_notify(void *closure, struct MHD_Connection *connection,
                        void **socket_context, enum MHD_ConnectionNotificationCode code);

/* The request on this connection is fully received (its deadline no
 * longer applies) or answered (the next request's deadline starts). */
void connections_request_received(struct MHD_Connection *connection);
void connections_request_answered(struct MHD_Connection *connection);

/* The numeric address of the connection's peer, "unknown" when none. */
void connections_peer_address(struct MHD_Connection *connection, char *out, size_t size);

/* True when this connection was accepted over a soft limit: its request
 * is answered 503 and the connection closed. */
bool connections_over_limit(struct MHD_Connection *connection);

#endif
