/* The request's JSON body, parsed for a handler. */
#include "http/request_body.h"

#include <string.h>
#include <strings.h>

#include "http/server.h"
#include "json.h"

/* application/json or application/merge-patch+json (RFC 7396, for PATCH),
 * optionally with parameters (charset=utf-8). */
static bool is_json_media_type(const char *content_type)
{
    if (content_type == NULL)
        return false;
    size_t length = strcspn(content_type, "; \t");
    static const char *const accepted[] = {"application/json", "application/merge-patch+json"};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (length == strlen(accepted[i]) && strncasecmp(content_type, accepted[i], length) == 0)
            return true;
    return false;
}

json_t *request_json_body(struct request *request)
{
    if (!is_json_media_type(request_header(request, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        reply_problem(request, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                      "Send the body as Content-Type: application/json.");
        return NULL;
    }
    json_t *object;
    char detail[256];
    switch (json_parse_object(request->body ? request->body : "", request->body_length,
                              &object, detail, sizeof detail)) {
    case JSON_PARSE_OK:
        return object;
    case JSON_PARSE_TOO_DEEP:
        reply_problem(request, PROBLEM_JSON_TOO_DEEP, "%s", detail);
        return NULL;
    case JSON_PARSE_DUPLICATE_KEY:
        reply_problem(request, PROBLEM_DUPLICATE_KEY, "%s", detail);
        return NULL;
    case JSON_PARSE_MALFORMED:
    case JSON_PARSE_NOT_OBJECT:
        break;
    }
    reply_problem(request, PROBLEM_MALFORMED_JSON, "%s", detail);
    return NULL;
}
