/* CORS (cors.h).  BAOVE_CORS_ORIGINS is read on every request rather than
 * kept in a global: a short list, compared byte for byte, costs nothing
 * beside a request, and nothing changes the environment while we run.
 * Credentials are bearer tokens sent by the page itself, never cookies, so
 * Access-Control-Allow-Credentials is not sent. */
#include "http/cors.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

/* What a client sends besides the CORS-safelisted headers. */
#define ALLOWED_REQUEST_HEADERS \
    "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-Id, Accept-Language"
/* What a client must be able to read: versions, where a creation lives, the
 * request's id for support, when to retry, a replayed answer. */
#define EXPOSED_HEADERS "ETag, Location, X-Request-Id, Retry-After, Idempotency-Replayed, Allow"
/* How long a browser may keep a preflight's answer, in seconds. */
#define PREFLIGHT_MAX_AGE "600"

/* The request's Origin when it is one of BAOVE_CORS_ORIGINS, else NULL. */
static const char *allowed_origin(const struct request *request)
{
    const char *origin = request_header(request, "Origin");
    const char *allowed = config_string("BAOVE_CORS_ORIGINS", NULL);
    if (origin == NULL || allowed == NULL || origin[0] == '\0')
        return NULL;
    size_t length = strlen(origin);
    for (const char *item = allowed; *item != '\0';) {
        item += strspn(item, " ,");
        size_t item_length = strcspn(item, " ,");
        if (item_length == length && memcmp(item, origin, length) == 0)
            return origin;
        item += item_length;
    }
    return NULL;
}

bool cors_preflight(struct request *request)
{
    if (strcmp(request->method, "OPTIONS") != 0 ||
        request_header(request, "Access-Control-Request-Method") == NULL ||
        request->routing != ROUTE_METHOD_NOT_ALLOWED)
        return false;
    const char *origin = allowed_origin(request);
    if (origin == NULL)
        return false;
    reply_empty(request, 204);
    reply_add_header(request, "Access-Control-Allow-Origin", origin);
    reply_add_header(request, "Access-Control-Allow-Methods", request->match.allow);
    reply_add_header(request, "Access-Control-Allow-Headers", ALLOWED_REQUEST_HEADERS);
    reply_add_header(request, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    reply_add_header(request, "Vary", "Origin");
    return true;
}

void cors_add_headers(const struct request *request, struct MHD_Response *response)
{
    const char *origin = allowed_origin(request);
    if (origin == NULL || strcmp(request->method, "OPTIONS") == 0)
        return;
    MHD_add_response_header(response, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(response, "Access-Control-Expose-Headers", EXPOSED_HEADERS);
    MHD_add_response_header(response, "Vary", "Origin");
}
