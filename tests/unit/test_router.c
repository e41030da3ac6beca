/* Route matching: literals, parameters, ranking, 404 and 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/router.h"

static void handler(struct request *request) { (void)request; }

static const struct route routes[] = {
    {"GET", "/healthz", handler, PERMISSION_PUBLIC, NULL},
    {"GET", "/v1/units", handler, PERMISSION_REFERENCE_READ, NULL},
    {"GET", "/v1/units/{code}", handler, PERMISSION_REFERENCE_READ, NULL},
    {"PUT", "/v1/children/{id}", handler, PERMISSION_AUTHENTICATED, NULL},
    {"GET", "/v1/children/{id}", handler, PERMISSION_AUTHENTICATED, NULL},
    {"GET", "/v1/children/search", handler, PERMISSION_AUTHENTICATED, NULL},
    {"POST", "/v1/reports/{period}/{unit}/submit", handler, PERMISSION_AUTHENTICATED, NULL},
};
static const size_t count = sizeof routes / sizeof routes[0];

static void literal_route_matches(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "GET", "/healthz", &match), ROUTE_FOUND);
    assert_ptr_equal(match.route, &routes[0]);
    assert_int_equal(match.param_count, 0);
}

static void parameters_are_captured(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "POST", "/v1/reports/2020S1/29980/submit", &match),
                     ROUTE_FOUND);
    assert_string_equal(route_param(&match, "period"), "2020S1");
    assert_string_equal(route_param(&match, "unit"), "29980");
    assert_null(route_param(&match, "missing"));
}

static void literal_segment_beats_parameter(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "GET", "/v1/children/search", &match),
                     ROUTE_FOUND);
    assert_ptr_equal(match.route, &routes[5]);
    assert_int_equal(route_find(routes, count, "GET", "/v1/children/abc", &match), ROUTE_FOUND);
    assert_ptr_equal(match.route, &routes[4]);
    assert_string_equal(route_param(&match, "id"), "abc");
}

static void method_chooses_among_same_pattern(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "PUT", "/v1/children/x", &match), ROUTE_FOUND);
    assert_ptr_equal(match.route, &routes[3]);
}

static void wrong_method_lists_allowed(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "DELETE", "/v1/children/x", &match),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_null(match.route);
    assert_string_equal(match.allow, "PUT, GET");
    assert_int_equal(route_find(routes, count, "POST", "/healthz", &match),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(match.allow, "GET");
}

static void head_is_served_by_get(void **state)
{
    (void)state;
    struct route_match match;
    assert_int_equal(route_find(routes, count, "HEAD", "/v1/units", &match), ROUTE_FOUND);
    assert_ptr_equal(match.route, &routes[1]);
}

static void unknown_paths_are_not_found(void **state)
{
    (void)state;
    struct route_match match;
    const char *paths[] = {"/", "", "/v1", "/v1/units/", "/v1/units/1/2", "/healthz/",
                           "//healthz", "/v1/reports/2020/29980/submit/x", "healthz"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(route_find(routes, count, "GET", paths[i], &match), ROUTE_NOT_FOUND);
}

static void overlong_parameter_matches_nothing(void **state)
{
    (void)state;
    char path[400] = "/v1/units/";
    memset(path + strlen(path), '7', 300);
    path[310] = '\0';
    struct route_match match;
    assert_int_equal(route_find(routes, count, "GET", path, &match), ROUTE_NOT_FOUND);
}

static void the_real_table_has_no_duplicates(void **state)
{
    (void)state;
    for (size_t i = 0; i < api_route_count; i++)
        for (size_t j = i + 1; j < api_route_count; j++)
            assert_false(strcmp(api_routes[i].method, api_routes[j].method) == 0 &&
                         strcmp(api_routes[i].pattern, api_routes[j].pattern) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_route_matches),
        cmocka_unit_test(parameters_are_captured),
        cmocka_unit_test(literal_segment_beats_parameter),
        cmocka_unit_test(method_chooses_among_same_pattern),
        cmocka_unit_test(wrong_method_lists_allowed),
        cmocka_unit_test(head_is_served_by_get),
        cmocka_unit_test(unknown_paths_are_not_found),
        cmocka_unit_test(overlong_parameter_matches_nothing),
        cmocka_unit_test(the_real_table_has_no_duplicates),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
