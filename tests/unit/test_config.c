/* Environment settings: integers, durations, fallbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void integers_within_range(void **state)
{
    (void)state;
    long long value = 0;
    assert_true(config_parse_integer("8080", 1, 65535, &value));
    assert_int_equal(value, 8080);
    assert_true(config_parse_integer("-3", -5, 5, &value));
    assert_int_equal(value, -3);
    const char *refused[] = {"", "0", "65536", "80x", " 80", "+80", "8 0", "1e3",
                             "99999999999999999999"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_false(config_parse_integer(refused[i], 1, 65535, &value));
    assert_false(config_parse_integer(NULL, 1, 2, &value));
}

static void durations_with_units(void **state)
{
    (void)state;
    long long seconds = 0;
    struct {
        const char *text;
        long long seconds;
    } cases[] = {{"90", 90}, {"45s", 45}, {"30m", 1800}, {"8h", 28800}, {"30d", 2592000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(config_parse_duration(cases[i].text, &seconds));
        assert_int_equal(seconds, cases[i].seconds);
    }
    const char *refused[] = {"", "h", "0h", "-1h", "8w", "1.5h", "99999999999d", "8 h"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_false(config_parse_duration(refused[i], &seconds));
}

static void variables_fall_back_and_are_checked(void **state)
{
    (void)state;
    char error[256];
    long long value = 0;
    unsetenv("BAOVE_TEST_SETTING");
    assert_true(config_integer("BAOVE_TEST_SETTING", 7, 1, 10, &value, error, sizeof error));
    assert_int_equal(value, 7);
    setenv("BAOVE_TEST_SETTING", "11", 1);
    assert_false(config_integer("BAOVE_TEST_SETTING", 7, 1, 10, &value, error, sizeof error));
    assert_string_equal(error,
                        "BAOVE_TEST_SETTING must be a whole number from 1 to 10, not \"11\"");
    setenv("BAOVE_TEST_SETTING", "", 1);
    assert_string_equal(config_string("BAOVE_TEST_SETTING", "fallback"), "fallback");
    char url[CONFIG_DATABASE_URL_SIZE];
    setenv("DATABASE_URL", "postgresql:///app", 1);
    unsetenv("BAOVE_ADMIN_DATABASE_URL");
    assert_int_equal(config_admin_database_url(url), CONFIG_DATABASE_SET);
    assert_string_equal(url, "postgresql:///app");
    setenv("BAOVE_ADMIN_DATABASE_URL", "postgresql:///owner", 1);
    assert_int_equal(config_admin_database_url(url), CONFIG_DATABASE_SET);
    assert_string_equal(url, "postgresql:///owner");
}

/* No URL set: the cluster of `make run`, on the port pg.sh recorded. */
static void without_a_url_the_embedded_cluster(void **state)
{
    (void)state;
    char directory[] = "/tmp/baove config-XXXXXX", path[64], url[CONFIG_DATABASE_URL_SIZE];
    assert_non_null(mkdtemp(directory));
    unsetenv("DATABASE_URL");
    unsetenv("BAOVE_ADMIN_DATABASE_URL");
    unsetenv("BAOVE_PG_DB");
    setenv("BAOVE_PG_DIR", directory, 1);
    setenv("BAOVE_PG_PORT", "5999", 1);
    char expected[256];
    snprintf(expected, sizeof expected,
             "postgresql:///baove?host=%%2Ftmp%%2Fbaove%%20config-%s%%2Frun&port=5999&user=baove_app",
             directory + strlen("/tmp/baove config-"));
    assert_int_equal(config_database_url(url), CONFIG_DATABASE_EMBEDDED);
    assert_string_equal(url, expected);
    snprintf(path, sizeof path, "%s/port", directory);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("54400\n", file);
    fclose(file);
    setenv("BAOVE_PG_DB", "other", 1);
    assert_int_equal(config_admin_database_url(url), CONFIG_DATABASE_EMBEDDED);
    assert_non_null(strstr(url, "postgresql:///other?host="));
    assert_non_null(strstr(url, "&port=54400&user=baove_owner"));
    unlink(path);
    rmdir(directory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_within_range),
        cmocka_unit_test(durations_with_units),
        cmocka_unit_test(variables_fall_back_and_are_checked),
        cmocka_unit_test(without_a_url_the_embedded_cluster),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
