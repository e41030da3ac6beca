/* RFC 9457 problem rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

static void body_has_every_member(void **state)
{
    (void)state;
    json_t *errors = json_array();
    problem_add_field_error(errors, "/date_of_birth", "must be before %s", "2020-01-01");
    problem_add_parameter_error(errors, "on", "must be a date");
    json_t *body = problem_body(PROBLEM_VALIDATION, "Two fields are wrong.", "req-1", errors);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text,
                        "{\"type\":\"/problems/validation\",\"title\":\"Validation failed\","
                        "\"status\":422,\"detail\":\"Two fields are wrong.\","
                        "\"instance\":\"req-1\",\"errors\":["
                        "{\"pointer\":\"/date_of_birth\",\"detail\":\"must be before "
                        "2020-01-01\"},{\"parameter\":\"on\",\"detail\":\"must be a date\"}]}");
    free(text);
    json_decref(body);
}

static void detail_defaults_to_title(void **state)
{
    (void)state;
    json_t *body = problem_body(PROBLEM_NOT_FOUND, NULL, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "detail")), "Not found");
    assert_null(json_object_get(body, "instance"));
    assert_null(json_object_get(body, "errors"));
    json_decref(body);
}

static void every_type_is_complete_and_unique(void **state)
{
    (void)state;
    for (int type = 0; type < PROBLEM_TYPE_COUNT; type++) {
        const struct problem_info *info = problem_info((enum problem_type)type);
        assert_non_null(info->slug);
        assert_non_null(info->title);
        assert_non_null(info->explanation);
        assert_true(info->status >= 400 && info->status <= 599);
        assert_ptr_equal(problem_find(info->slug), info);
    }
    assert_null(problem_find("no-such-problem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_has_every_member),
        cmocka_unit_test(detail_defaults_to_title),
        cmocka_unit_test(every_type_is_complete_and_unique),
    };
    return cmocka_run_group_tests_name("problem", tests, NULL, NULL);
}
