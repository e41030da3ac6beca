#include "http/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Compares one path against one pattern segment by segment.  Returns the
 * number of literal segments matched (for ranking), or -1. */
static int match_pattern(const char *pattern, const char *path, struct route_match *match)
{
    int literals = 0;
    match->param_count = 0;
    while (*pattern == '/' && *path == '/') {
        pattern++;
        path++;
        size_t pattern_length = strcspn(pattern, "/");
        size_t path_length = strcspn(path, "/");
        if (pattern_length > 2 && pattern[0] == '{' && pattern[pattern_length - 1] == '}') {
            if (path_length == 0 || path_length >= ROUTE_PARAM_SIZE ||
                match->param_count == ROUTE_MAX_PARAMS)
                return -1;
            struct route_param *param = &match->params[match->param_count++];
            size_t name_length = pattern_length - 2;
            if (name_length >= sizeof param->name)
                return -1;
            memcpy(param->name, pattern + 1, name_length);
            param->name[name_length] = '\0';
            memcpy(param->value, path, path_length);
            param->value[path_length] = '\0';
        } else {
            if (pattern_length != path_length || memcmp(pattern, path, path_length) != 0)
                return -1;
            literals++;
        }
        pattern += pattern_length;
        path += path_length;
    }
    return *pattern == '\0' && *path == '\0' ? literals : -1;
}

static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

enum route_result route_find(const struct route *routes, size_t count, const char *method,
                             const char *path, struct route_match *match)
{
    memset(match, 0, sizeof *match);
    /* First the best-ranked pattern for the path, whatever the method. */
    int best_rank = -1;
    const char *best_pattern = NULL;
    struct route_match candidate;
    for (size_t i = 0; i < count; i++) {
        int rank = match_pattern(routes[i].pattern, path, &candidate);
        if (rank > best_rank) {
            best_rank = rank;
            best_pattern = routes[i].pattern;
            match->index = i;
        }
    }
    if (best_pattern == NULL)
        return ROUTE_NOT_FOUND;
    /* Then the route with that pattern and this method. */
    size_t allow_used = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(routes[i].pattern, best_pattern) != 0)
            continue;
        if (method_matches(routes[i].method, method)) {
            match_pattern(routes[i].pattern, path, match);
            match->route = &routes[i];
            match->index = i;
            return ROUTE_FOUND;
        }
        allow_used += (size_t)snprintf(match->allow + allow_used,
                                       allow_used < ROUTE_ALLOW_SIZE
                                           ? ROUTE_ALLOW_SIZE - allow_used : 0,
                                       "%s%s", allow_used ? ", " : "", routes[i].method);
        if (allow_used >= ROUTE_ALLOW_SIZE)
            allow_used = ROUTE_ALLOW_SIZE - 1;
    }
    return ROUTE_METHOD_NOT_ALLOWED;
}

const char *route_param(const struct route_match *match, const char *name)
{
    for (size_t i = 0; i < match->param_count; i++)
        if (strcmp(match->params[i].name, name) == 0)
            return match->params[i].value;
    return NULL;
}
