/* Cross-origin requests from web front-ends (CORS, the Fetch standard):
 * the origins of BAOVE_CORS_ORIGINS (exact "scheme://host[:port]" values,
 * separated by commas; none by default, so no browser page on another
 * origin can read an answer) may call the API with a bearer token. */
#ifndef BAOVE_HTTP_CORS_H
#define BAOVE_HTTP_CORS_H

#include <microhttpd.h>
#include <stdbool.h>

#include "http/server.h"

/* Answers a preflight (OPTIONS with Origin and Access-Control-Request-Method)
 * from an allowed origin for a path the API serves: 204 with the methods of
 * the path and the request headers a client may send.  False (nothing
 * answered) for anything else, which is then answered as usual (405). */
bool cors_preflight(struct request *request);

/* Adds Access-Control-Allow-Origin and the headers a client may read to an
 * answer for an allowed origin; nothing for other requests. */
void cors_add_headers(const struct request *request, struct MHD_Response *response);

#endif
