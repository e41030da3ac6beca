/* RFC 9457 problem rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
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
    /* Every type has its Vietnamese title and explanation too. */
    for (int type = 0; type < PROBLEM_TYPE_COUNT; type++) {
        assert_non_null(problem_title_in((enum problem_type)type, PROBLEM_VIETNAMESE));
        assert_non_null(problem_explanation_in((enum problem_type)type, PROBLEM_VIETNAMESE));
    }
}

static void the_preferred_language_wins(void **state)
{
    (void)state;
    const char *vietnamese[] = {"vi", "vi-VN", "VI", "en;q=0.5, vi", "vi-VN,vi;q=0.9,en;q=0.8",
                                "fr;q=0.2, vi;q=0.4", "en; q=0.3, vi; Q=0.7",
                                "en;q=0.5;x=1, vi;x=2;q=0.6"};
    for (size_t i = 0; i < sizeof vietnamese / sizeof vietnamese[0]; i++)
        assert_int_equal(problem_language(vietnamese[i]), PROBLEM_VIETNAMESE);
    const char *english[] = {"", "en", "en-US,vi;q=0.9", "*", "vietnamese", "vi;q=0, en",
                             "en;q=0.5, vi;q=0.5", "vi;q=nan, en;q=0.1",
                             "vi;q=-1, en;q=0.001"};
    for (size_t i = 0; i < sizeof english / sizeof english[0]; i++)
        assert_int_equal(problem_language(english[i]), PROBLEM_ENGLISH);
    assert_int_equal(problem_language(NULL), PROBLEM_ENGLISH);
}

/* An element's q is read within the element only: a q= further on
 * belongs to another one (and looking for it there made reading a long
 * header quadratic). */
static void weights_belong_to_their_element(void **state)
{
    (void)state;
    const struct {
        const char *element;
        int weight;
    } cases[] = {{"vi", 1000}, {"vi;q=0.5", 500}, {"vi; q=0.25", 250}, {"vi;Q=0.125", 125},
                 {"vi;q=0", 0}, {"vi;q=1", 1000}, {"vi;q=1.000", 1000}, {"vi;q=1.5", 0},
                 {"vi;q=0.9999", 999}, {"vi;q=", 0}, {"vi;q=x", 0}, {"vi;level=1", 1000},
                 {"vi;level=1;q=0.3", 300}, {"vi;aq=0.5", 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(input_header_weight(cases[i].element, strlen(cases[i].element)),
                         cases[i].weight);
    const char *header = "vi, en;q=0.5";
    assert_int_equal(input_header_weight(header, 2), 1000); /* "vi" alone */
    /* Thousands of elements without a q, then one with a low q: English. */
    size_t count = 20000;
    char *long_header = malloc(count * 4 + 16);
    assert_non_null(long_header);
    long_header[0] = '\0';
    for (size_t i = 0; i < count; i++)
        memcpy(long_header + i * 4, "xx, ", 5);
    strcat(long_header, "vi;q=0.5");
    assert_int_equal(problem_language(long_header), PROBLEM_ENGLISH);
    free(long_header);
}

static void vietnamese_details_from_the_table_or_in_brackets(void **state)
{
    (void)state;
    json_t *body = problem_body_in(PROBLEM_FORBIDDEN, "The role viewer may not do this.", NULL,
                                   NULL, PROBLEM_VIETNAMESE);
    assert_string_equal(json_string_value(json_object_get(body, "title")),
                        "Vai trò này không được phép");
    assert_string_equal(json_string_value(json_object_get(body, "detail")),
                        "Vai trò viewer không được làm việc này.");
    assert_string_equal(json_string_value(json_object_get(body, "type")), "/problems/forbidden");
    json_decref(body);
    body = problem_body_in(PROBLEM_CONFLICT, "Something new.", NULL, NULL, PROBLEM_VIETNAMESE);
    assert_string_equal(json_string_value(json_object_get(body, "detail")),
                        "Yêu cầu mâu thuẫn với trạng thái hiện tại của hồ sơ. (Something new.)");
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_has_every_member),
        cmocka_unit_test(detail_defaults_to_title),
        cmocka_unit_test(every_type_is_complete_and_unique),
        cmocka_unit_test(the_preferred_language_wins),
        cmocka_unit_test(weights_belong_to_their_element),
        cmocka_unit_test(vietnamese_details_from_the_table_or_in_brackets),
    };
    return cmocka_run_group_tests_name("problem", tests, NULL, NULL);
}
