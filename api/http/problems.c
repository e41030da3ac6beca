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
    enum problem_type type = (enum problem_type)(info - problem_info(0));
    /* Both languages on one page, so that a link in a problem works for
     * every reader.  The texts are our own constants: no HTML escaping. */
    char *page = NULL;
    int length = asprintf(&page,
                          "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<title>%s · %s</title></head>\n<body><h1>%s</h1>\n"
                          "<p>HTTP status %u. Problem type <code>/problems/%s</code>.</p>\n"
                          "<p>%s</p>\n"
                          "<section lang=\"vi\"><h2>%s</h2>\n"
                          "<p>Mã HTTP %u. Loại lỗi <code>/problems/%s</code>.</p>\n"
                          "<p>%s</p></section>\n</body></html>\n",
                          info->title, problem_title_in(type, PROBLEM_VIETNAMESE), info->title,
                          info->status, info->slug, info->explanation,
                          problem_title_in(type, PROBLEM_VIETNAMESE), info->status, info->slug,
                          problem_explanation_in(type, PROBLEM_VIETNAMESE));
    if (length < 0) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        return;
    }
    reply_text(request, 200, "text/html; charset=utf-8", page, (size_t)length);
}
