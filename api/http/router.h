/* Matching a method and path against the static route table. */
#ifndef BAOVE_ROUTER_H
#define BAOVE_ROUTER_H

#include <stddef.h>

#include "auth.h"

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_SIZE 128 /* longer path segments match no route */
#define ROUTE_ALLOW_SIZE 64

struct request;
typedef void (*route_handler)(struct request *request);

struct route {
    const char *method;       /* "GET", "POST", … (HEAD is served by GET routes) */
    const char *pattern;      /* "/v1/units/{code}": literal and {param} segments */
    route_handler handler;
    enum permission permission;
    const char *audited;      /* resource type whose refusals are audited, or NULL */
};

struct route_param {
    char name[32];
    char value[ROUTE_PARAM_SIZE];
};

struct route_match {
    const struct route *route; /* NULL unless ROUTE_FOUND */
    size_t index;              /* of the route, or of the first route of the path */
    size_t param_count;
    struct route_param params[ROUTE_MAX_PARAMS];
    char allow[ROUTE_ALLOW_SIZE]; /* for ROUTE_METHOD_NOT_ALLOWED: "GET, PUT" */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/* Finds the route for method and path.  When several patterns match a path,
 * the one with more literal segments wins, earliest first on a tie, as in
 * OpenAPI.  Path parameter values are copied into match. */
enum route_result route_find(const struct route *routes, size_t count, const char *method,
                             const char *path, struct route_match *match);

/* The value of parameter `name`, or NULL. */
const char *route_param(const struct route_match *match, const char *name);

/* The application's route table (routes.c). */
extern const struct route api_routes[];
extern const size_t api_route_count;

#endif
