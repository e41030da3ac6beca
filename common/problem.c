#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct problem_info problems[PROBLEM_TYPE_COUNT] = {
    [PROBLEM_MALFORMED_JSON] = {"malformed-json", 400, "Malformed JSON",
        "The request body is not valid JSON (RFC 8259), or is not the JSON object the "
        "endpoint expects. Send a single UTF-8 JSON object with Content-Type: application/json."},
    [PROBLEM_JSON_TOO_DEEP] = {"json-too-deep", 400, "JSON nested too deeply",
        "The request body nests objects and arrays more than 32 levels deep. No Baove "
        "resource needs that much nesting; flatten the document."},
    [PROBLEM_DUPLICATE_KEY] = {"duplicate-key", 400, "Duplicate JSON key",
        "An object in the request body names the same key twice. Baove refuses such "
        "documents rather than guess which value was meant."},
    [PROBLEM_INVALID_PARAMETER] = {"invalid-parameter", 400, "Invalid query parameter",
        "A query parameter is malformed or out of range. The errors member names each "
        "parameter and what is wrong with it."},
    [PROBLEM_UNAUTHORIZED] = {"unauthorized", 401, "Authentication required",
        "The request carries no valid credentials: the bearer token is missing, unknown, "
        "expired or revoked, or the username and password do not match. Obtain a token "
        "with POST /v1/auth/token and send it as Authorization: Bearer <token>."},
    [PROBLEM_FORBIDDEN] = {"forbidden", 403, "Not allowed for this role",
        "The authenticated user's role does not permit this operation. Records outside the "
        "user's administrative scope are reported as not found instead."},
    [PROBLEM_UNIT_ENDED] = {"unit-ended", 403, "Your unit has ended",
        "The administrative unit of your account ended in a reorganisation (its district or "
        "commune was merged or abolished). The detail names its successor. An administrator "
        "moves the account with baove-admin user move; until then it can do nothing."},
    [PROBLEM_NOT_FOUND] = {"not-found", 404, "Not found",
        "There is no such resource, or it lies outside the administrative units the "
        "caller may see."},
    [PROBLEM_METHOD_NOT_ALLOWED] = {"method-not-allowed", 405, "Method not allowed",
        "The resource exists but does not support this HTTP method. The Allow header "
        "lists the methods it does support."},
    [PROBLEM_CONFLICT] = {"conflict", 409, "Conflict",
        "The request conflicts with the current state of the resource."},
    [PROBLEM_REQUEST_IN_PROGRESS] = {"request-in-progress", 409, "Request in progress",
        "Another request with the same Idempotency-Key is still being processed. Wait for "
        "it to finish, then retry: the stored response will be replayed."},
    [PROBLEM_CURSOR_EXPIRED] = {"cursor-expired", 410, "Cursor expired",
        "The change-feed cursor points before the oldest change still retained. Start again "
        "without a cursor (the request in restart): a snapshot, then the changes after it."},
    [PROBLEM_IDEMPOTENCY_KEY_REUSED] = {"idempotency-key-reused", 422,
        "Idempotency key reused",
        "This Idempotency-Key was already used with a different request body or path. Use a "
        "new key for a new request."},
    [PROBLEM_PRECONDITION_FAILED] = {"precondition-failed", 412, "Precondition failed",
        "The If-Match header names a version that is no longer current: someone else "
        "changed the record. The body carries the current record; merge and retry."},
    [PROBLEM_PAYLOAD_TOO_LARGE] = {"payload-too-large", 413, "Request body too large",
        "The request body exceeds the size this server accepts (BAOVE_MAX_BODY, 1 MiB by "
        "default)."},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", 415,
        "Unsupported media type",
        "This endpoint accepts application/json request bodies only."},
    [PROBLEM_VALIDATION] = {"validation", 422, "Validation failed",
        "The request is well-formed JSON but some fields are missing or invalid. The "
        "errors member lists every bad field by JSON pointer (RFC 6901) with the reason. "
        "Nothing was written."},
    [PROBLEM_PRECONDITION_REQUIRED] = {"precondition-required", 428,
        "Precondition required",
        "Changing this record requires an If-Match header carrying the version you last "
        "read (its ETag), so that concurrent edits are never silently lost."},
    [PROBLEM_TOO_MANY_REQUESTS] = {"too-many-requests", 429, "Too many attempts",
        "Too many failed sign-in attempts for this username or from this address. Wait "
        "the number of seconds given in the Retry-After header."},
    [PROBLEM_INTERNAL] = {"internal", 500, "Internal error",
        "The server failed to complete the request. Nothing was written. The instance "
        "member is the request id to quote when reporting it."},
    [PROBLEM_DATABASE_UNAVAILABLE] = {"database-unavailable", 503, "Database unavailable",
        "The server cannot reach its database right now. Nothing was written; retry "
        "later."},
    [PROBLEM_NOT_READY] = {"not-ready", 503, "Not ready",
        "The service is running but not ready to serve: its database is unreachable or "
        "its schema migrations are not all applied."},
    [PROBLEM_OUTCOME_UNKNOWN] = {"outcome-unknown", 503, "Outcome unknown",
        "The database connection was lost while a change was being saved, so the server "
        "cannot tell whether it was saved. Send the same request again with the same "
        "Idempotency-Key: if the change was saved you get its answer again, otherwise it is "
        "made now. Never change the key when retrying."},
    [PROBLEM_SERVER_BUSY] = {"server-busy", 503, "Server busy",
        "The server is handling as many connections or sign-ins as it can right now. Nothing "
        "was read or written; retry after the number of seconds given in Retry-After."},
};

const struct problem_info *problem_info(enum problem_type type)
{
    return &problems[type];
}

const struct problem_info *problem_find(const char *slug)
{
    for (size_t i = 0; i < PROBLEM_TYPE_COUNT; i++)
        if (strcmp(problems[i].slug, slug) == 0)
            return &problems[i];
    return NULL;
}

json_t *problem_body(enum problem_type type, const char *detail, const char *instance,
                     json_t *errors)
{
    const struct problem_info *info = &problems[type];
    char type_uri[96];
    snprintf(type_uri, sizeof type_uri, "/problems/%s", info->slug);
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(type_uri));
    json_object_set_new(body, "title", json_string(info->title));
    json_object_set_new(body, "status", json_integer(info->status));
    json_object_set_new(body, "detail", json_string(detail != NULL ? detail : info->title));
    if (instance != NULL)
        json_object_set_new(body, "instance", json_string(instance));
    if (errors != NULL)
        json_object_set_new(body, "errors", errors);
    return body;
}

static void add_error(json_t *errors, const char *key, const char *where, const char *format,
                      va_list args)
{
    char detail[512];
    vsnprintf(detail, sizeof detail, format, args);
    json_array_append_new(errors, json_pack("{s:s, s:s}", key, where, "detail", detail));
}

void problem_add_field_error(json_t *errors, const char *pointer, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_error(errors, "pointer", pointer, format, args);
    va_end(args);
}

void problem_add_parameter_error(json_t *errors, const char *name, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_error(errors, "parameter", name, format, args);
    va_end(args);
}
