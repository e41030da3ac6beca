/* Cross-origin requests from web front-ends (CORS, the Fetch standard):
 * the origins of BAOVE_CORS_ORIGINS (exact "scheme://host[:port]" values,
 * separated by commas; none by default, so no browser page on another
 * origin can read an answer) may call the API with a bearer token.  This
 * module reads the request's headers from libmicrohttpd itself and knows
 * nothing of the server's request (so the server can include it). */
#ifndef BAOVE_HTTP_CORS_H
#define BAOVE_HTTP_CORS_H

#include <microhttpd.h>
#include <stdbool.h>

/* True for a preflight from an allowed origin: OPTIONS with
 * Access-Control-Request-Method.  The server answers it 204 when the path
 * exists (anything else is answered as usual: 404, 405). */
bool cors_preflight(struct MHD_Connection *connection, const char *method);

/* Adds the CORS headers of an answer to a request from an allowed origin:
 * for a preflight (preflight_methods: the path's methods) what it may send;
 * for any other answer the headers it may read.  Nothing for other origins. */
void cors_add_headers(struct MHD_Connection *connection, const char *preflight_methods,
                      struct MHD_Response *response);

#endif
