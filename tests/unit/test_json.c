/* Body parsing and declarative field checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* {"k":[[…]]} nested `depth` levels deep (depth ≥ 1). */
static char *nested(size_t depth)
{
    static char text[512];
    size_t used = (size_t)sprintf(text, "{\"k\":");
    for (size_t i = 1; i < depth; i++)
        text[used++] = '[';
    text[used++] = '1';
    for (size_t i = 1; i < depth; i++)
        text[used++] = ']';
    text[used++] = '}';
    text[used] = '\0';
    return text;
}

static void depth_counts_brackets_outside_strings(void **state)
{
    (void)state;
    const char *text = "{\"a\": \"[[[{{{\\\"[[\", \"b\": [[1], {\"c\": []}]}";
    assert_int_equal(json_nesting_depth(text, strlen(text), 32), 4);
    assert_int_equal(json_nesting_depth("[]", 2, 32), 1);
    assert_int_equal(json_nesting_depth("1", 1, 32), 0);
}

static void thirty_two_levels_parse_and_thirty_three_do_not(void **state)
{
    (void)state;
    json_t *object;
    char detail[256];
    char *text = nested(32);
    assert_int_equal(json_nesting_depth(text, strlen(text), 100), 32);
    assert_int_equal(json_parse_object(text, strlen(text), &object, detail, sizeof detail),
                     JSON_PARSE_OK);
    json_decref(object);
    text = nested(33);
    assert_int_equal(json_parse_object(text, strlen(text), &object, detail, sizeof detail),
                     JSON_PARSE_TOO_DEEP);
    assert_null(object);
}

static void parse_results(void **state)
{
    (void)state;
    json_t *object;
    char detail[256];
    struct {
        const char *text;
        enum json_parse_result expected;
    } cases[] = {
        {"{\"a\": 1}", JSON_PARSE_OK},
        {"{\"a\": 1, \"a\": 2}", JSON_PARSE_DUPLICATE_KEY},
        {"{\"a\": }", JSON_PARSE_MALFORMED},
        {"", JSON_PARSE_MALFORMED},
        {"{\"a\": 1} trailing", JSON_PARSE_MALFORMED},
        {"[1, 2]", JSON_PARSE_NOT_OBJECT},
        {"\"text\"", JSON_PARSE_NOT_OBJECT},
        {"{\"a\": \"\\u0000\"}", JSON_PARSE_MALFORMED},
        {"{\"a\": \"\xff\"}", JSON_PARSE_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum json_parse_result result = json_parse_object(cases[i].text, strlen(cases[i].text),
                                                          &object, detail, sizeof detail);
        assert_int_equal(result, cases[i].expected);
        assert_true((result == JSON_PARSE_OK) == (object != NULL));
        json_decref(object);
    }
}

static void parse_uses_exact_length(void **state)
{
    (void)state;
    /* The buffer goes on past the body: only `length` bytes count. */
    const char buffer[] = "{\"a\": 1}GARBAGE";
    json_t *object;
    char detail[256];
    assert_int_equal(json_parse_object(buffer, 8, &object, detail, sizeof detail), JSON_PARSE_OK);
    json_decref(object);
}

static const char *const sexes[] = {"male", "female", NULL};
static const struct json_field fields[] = {
    {.name = "full_name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 5},
    {.name = "sex", .kind = JSON_FIELD_ENUM, .required = true, .choices = sexes},
    {.name = "date_of_birth", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .minimum = 1, .maximum = 1000},
    {.name = "id", .kind = JSON_FIELD_UUID},
    {.name = "at", .kind = JSON_FIELD_INSTANT},
    {.name = "notes", .kind = JSON_FIELD_STRING, .nullable = true},
    {.name = "flag", .kind = JSON_FIELD_BOOLEAN},
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

/* Checks `text` and returns the errors as compact JSON text (static). */
static const char *errors_of(const char *text, bool allow_unknown)
{
    static char out[2048];
    json_t *object = json_loads(text, 0, NULL);
    assert_non_null(object);
    json_t *errors = json_array();
    bool ok = json_check_fields(object, fields, FIELD_COUNT, "", allow_unknown, errors);
    assert_true(ok == (json_array_size(errors) == 0));
    char *dumped = json_dumps(errors, JSON_COMPACT);
    snprintf(out, sizeof out, "%s", dumped);
    free(dumped);
    json_decref(errors);
    json_decref(object);
    return out;
}

static void valid_object_has_no_errors(void **state)
{
    (void)state;
    assert_string_equal(
        errors_of("{\"full_name\":\"Ấn\",\"sex\":\"male\",\"date_of_birth\":\"2012-02-29\","
                  "\"amount_vnd\":1000,\"id\":\"0b0e3c1a-9a7f-4a52-8a10-6a3f1d2b3c4d\","
                  "\"at\":\"2020-01-22T10:00:00+07:00\",\"notes\":null,\"flag\":true}",
                  false),
        "[]");
}

static void every_violation_is_reported(void **state)
{
    (void)state;
    assert_string_equal(
        errors_of("{\"full_name\":\"\",\"sex\":\"other\",\"date_of_birth\":\"2019-02-29\"}",
                  false),
        "[{\"pointer\":\"/full_name\",\"detail\":\"must not be empty\"},"
        "{\"pointer\":\"/sex\",\"detail\":\"must be one of: male, female\"},"
        "{\"pointer\":\"/date_of_birth\",\"detail\":\"must be a real date YYYY-MM-DD\"}]");
    assert_string_equal(errors_of("{}", false),
                        "[{\"pointer\":\"/full_name\",\"detail\":\"is required\"},"
                        "{\"pointer\":\"/sex\",\"detail\":\"is required\"},"
                        "{\"pointer\":\"/date_of_birth\",\"detail\":\"is required\"}]");
}

static void lengths_count_characters_not_bytes(void **state)
{
    (void)state;
    /* Five Vietnamese characters are more than five bytes but within limit. */
    assert_int_equal(json_utf8_length("Nguyễ"), 5);
    assert_string_equal(errors_of("{\"full_name\":\"Nguyễ\",\"sex\":\"female\","
                                  "\"date_of_birth\":\"2015-01-01\"}", false), "[]");
    assert_string_equal(errors_of("{\"full_name\":\"Nguyễn\",\"sex\":\"female\","
                                  "\"date_of_birth\":\"2015-01-01\"}", false),
                        "[{\"pointer\":\"/full_name\",\"detail\":\"must be at most 5 "
                        "characters\"}]");
}

static void money_must_be_a_whole_number(void **state)
{
    (void)state;
    const char *base = "{\"full_name\":\"A\",\"sex\":\"male\",\"date_of_birth\":\"2015-01-01\","
                       "\"amount_vnd\":%s}";
    const char *refused[] = {"100.5", "1e2", "\"100\"", "0", "-5", "1001", "true", "null"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, base, refused[i]);
        assert_string_not_equal(errors_of(text, false), "[]");
    }
    char text[256];
    snprintf(text, sizeof text, base, "999");
    assert_string_equal(errors_of(text, false), "[]");
}

static void unknown_members_are_refused_unless_allowed(void **state)
{
    (void)state;
    const char *text = "{\"full_name\":\"A\",\"sex\":\"male\",\"date_of_birth\":\"2015-01-01\","
                       "\"a/b~c\":1}";
    assert_string_equal(errors_of(text, false),
                        "[{\"pointer\":\"/a~1b~0c\",\"detail\":\"is not a known field\"}]");
    assert_string_equal(errors_of(text, true), "[]");
}

static void uuid_and_instant_formats(void **state)
{
    (void)state;
    assert_true(json_is_uuid_text("0B0E3C1A-9A7F-4A52-8A10-6A3F1D2B3C4D"));
    assert_false(json_is_uuid_text("0b0e3c1a9a7f4a528a106a3f1d2b3c4d"));
    assert_false(json_is_uuid_text("0b0e3c1a-9a7f-4a52-8a10-6a3f1d2b3c4g"));
    assert_string_not_equal(errors_of("{\"full_name\":\"A\",\"sex\":\"male\","
                                      "\"date_of_birth\":\"2015-01-01\","
                                      "\"at\":\"2020-01-22 10:00\"}", false), "[]");
}

static void arrays_may_be_bounded(void **state)
{
    (void)state;
    static const struct json_field bounded[] = {
        {.name = "days", .kind = JSON_FIELD_ARRAY, .required = true, .max_length = 2},
        {.name = "any", .kind = JSON_FIELD_ARRAY},
    };
    const char *texts[] = {"{\"days\":[1,2],\"any\":[1,2,3,4]}", "{\"days\":[1,2,3]}"};
    for (size_t i = 0; i < 2; i++) {
        json_t *document = json_loads(texts[i], 0, NULL), *errors = json_array();
        json_check_fields(document, bounded, 2, "", false, errors);
        char *found = json_dumps(errors, JSON_COMPACT);
        assert_string_equal(found, i == 0 ? "[]"
                                          : "[{\"pointer\":\"/days\",\"detail\":\"must have at "
                                            "most 2 items\"}]");
        free(found);
        json_decref(errors);
        json_decref(document);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(depth_counts_brackets_outside_strings),
        cmocka_unit_test(thirty_two_levels_parse_and_thirty_three_do_not),
        cmocka_unit_test(parse_results),
        cmocka_unit_test(parse_uses_exact_length),
        cmocka_unit_test(valid_object_has_no_errors),
        cmocka_unit_test(every_violation_is_reported),
        cmocka_unit_test(lengths_count_characters_not_bytes),
        cmocka_unit_test(money_must_be_a_whole_number),
        cmocka_unit_test(unknown_members_are_refused_unless_allowed),
        cmocka_unit_test(uuid_and_instant_formats),
        cmocka_unit_test(arrays_may_be_bounded),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
