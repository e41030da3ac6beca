/* CORS (cors.h).  BAOVE_CORS_ORIGINS is read on every request rather than
 * kept in a global: a short list, compared byte for byte, costs nothing
 * beside a request, and nothing changes the environment while we run.
 * Credentials are bearer tokens sent by the page itself, never cookies, so
 * Access-Control-Allow-Credentials is not sent. */
#include "http/cors.h"

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
static const char *allowed_origin(struct MHD_Connection *connection)
{
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
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

bool cors_preflight(struct MHD_Connection *connection, const char *method)
{
    return strcmp(method, "OPTIONS") == 0 &&
           MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                       "Access-Control-Request-Method") != NULL &&
           allowed_origin(connection) != NULL;
}

void cors_add_headers(struct MHD_Connection *connection, const char *preflight_methods,
                      struct MHD_Response *response)
{
    const char *origin = allowed_origin(connection);
    if (origin == NULL)
        return;
    MHD_add_response_header(response, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(response, "Vary", "Origin");
    if (preflight_methods != NULL) {
        MHD_add_response_header(response, "Access-Control-Allow-Methods", preflight_methods);
        MHD_add_response_header(response, "Access-Control-Allow-Headers",
                                ALLOWED_REQUEST_HEADERS);
        MHD_add_response_header(response, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    } else {
        MHD_add_response_header(response, "Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
}
