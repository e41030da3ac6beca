/* Answering with a problem (RFC 9457), declared in server.h: the body in
 * the language the client prefers (Accept-Language), with the type's
 * status. */
#include <stdarg.h>
#include <stdio.h>

#include "http/server.h"

/* The language of a problem: what Accept-Language prefers (common/problem.h),
 * said back in Content-Language when it is Vietnamese. */
static enum problem_language reply_language(struct request *request)
{
    enum problem_language language = problem_language(request_header(request, "Accept-Language"));
    if (language == PROBLEM_VIETNAMESE)
        reply_add_header(request, "Content-Language", "vi");
    return language;
}

void reply_problem_errors(struct request *request, enum problem_type type, const char *detail,
                          json_t *errors)
{
    json_t *body = problem_body_in(type, detail, request->id, errors, reply_language(request));
    unsigned status = problem_info(type)->status;
    reply_json(request, status, body);
    request->content_type = PROBLEM_CONTENT_TYPE;
}

void reply_problem_members(struct request *request, enum problem_type type, const char *detail,
                           json_t *members)
{
    json_t *body = problem_body_in(type, detail, request->id, NULL, reply_language(request));
    json_object_update_missing(body, members);
    json_decref(members);
    reply_json(request, problem_info(type)->status, body);
    request->content_type = PROBLEM_CONTENT_TYPE;
}

void reply_problem(struct request *request, enum problem_type type, const char *detail, ...)
{
    char text[1024];
    va_list args;
    va_start(args, detail);
    vsnprintf(text, sizeof text, detail, args);
    va_end(args);
    reply_problem_errors(request, type, text, NULL);
}
