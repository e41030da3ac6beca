/* The human pages behind problem types: GET /problems/{slug}. */
#include <stdio.h>
#include <stdlib.h>

#include "http/handlers.h"

void handle_problem_page(struct request *request)
{
    const struct problem_info *info = problem_find(route_param(&request->match, "slug"));
    if (info == NULL) {
        reply_problem(request, PROBLEM_NOT_FOUND, "There is no such problem type.");
        return;
    }
    /* The texts are our own constants, so no HTML escaping is needed. */
    char *page = NULL;
    int length = asprintf(&page,
                          "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<title>%s</title></head>\n<body><h1>%s</h1>\n"
                          "<p>HTTP status %u. Problem type <code>/problems/%s</code>.</p>\n"
                          "<p>%s</p>\n</body></html>\n",
                          info->title, info->title, info->status, info->slug,
                          info->explanation);
    if (length < 0) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        return;
    }
    reply_text(request, 200, "text/html; charset=utf-8", page, (size_t)length);
}
