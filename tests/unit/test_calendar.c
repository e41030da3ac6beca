/* The Vietnamese lunar calendar (common/lunar.c) against published dates,
 * and the default working-day calendar of a year (common/working_calendar.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lunar.h"
#include "working_calendar.h"

static void assert_date(struct civil_date date, const char *expected)
{
    char text[CLOCK_DATE_SIZE];
    date_format(date, text);
    assert_string_equal(text, expected);
}

static void lunar_new_years(void **state)
{
    (void)state;
    assert_date(lunar_new_year(2020), "2020-01-25");
    assert_date(lunar_new_year(2021), "2021-02-12");
    assert_date(lunar_new_year(2026), "2026-02-17");
    /* Vietnam's, at UTC+07:00: China's (UTC+08:00) was 1985-02-20. */
    assert_date(lunar_new_year(1985), "1985-01-21");
    assert_date(lunar_new_year(2023), "2023-01-22");
    assert_date(lunar_new_year(2024), "2024-02-10");
    assert_date(lunar_new_year(2025), "2025-01-29");
}

static void lunar_dates_and_leap_months(void **state)
{
    (void)state;
    struct civil_date date;
    assert_true(lunar_to_solar(2020, 3, 10, false, &date)); /* Hùng Kings 2020 */
    assert_date(date, "2020-04-02");
    assert_true(lunar_to_solar(2026, 3, 10, false, &date));
    assert_date(date, "2026-04-26");
    /* 2020 had a leap fourth month (tháng 4 nhuận) from 23/5. */
    assert_true(lunar_to_solar(2020, 4, 1, true, &date));
    assert_date(date, "2020-05-23");
    assert_true(lunar_to_solar(2020, 5, 1, false, &date));
    assert_date(date, "2020-06-21");
    assert_false(lunar_to_solar(2020, 5, 1, true, &date));
    assert_false(lunar_to_solar(2026, 1, 1, true, &date));
    assert_false(lunar_to_solar(2026, 13, 1, false, &date));
}

static void default_days_off_2026(void **state)
{
    (void)state;
    struct calendar_day days[CALENDAR_MAX_DAYS];
    size_t count = calendar_default_days_off(2026, days);
    const char *expected[] = {"2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18",
                              "2026-02-19", "2026-02-20", "2026-04-26", "2026-04-27",
                              "2026-04-30", "2026-05-01", "2026-09-02", "2026-09-03"};
    assert_int_equal(count, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < count; i++)
        assert_date(days[i].date, expected[i]);
    assert_string_equal(days[7].name_en, "Compensatory day off"); /* Hùng Kings on a Sunday */
}

static void default_days_off_2023(void **state)
{
    (void)state;
    /* 2/9/2023 was a Saturday: 1/9 joins it, and it is taken again on 4/9. */
    struct calendar_day days[CALENDAR_MAX_DAYS];
    size_t count = calendar_default_days_off(2023, days);
    char text[CLOCK_DATE_SIZE];
    bool first = false, fourth = false;
    for (size_t i = 0; i < count; i++) {
        date_format(days[i].date, text);
        first = first || strcmp(text, "2023-09-01") == 0;
        fourth = fourth || strcmp(text, "2023-09-04") == 0;
    }
    assert_true(first);
    assert_true(fourth);
}

/* A detailed assessment on the eve of the 2026 break: 5 working days later
 * is after Tết, and a make-up Saturday counts. */
static void working_days_skip_the_break(void **state)
{
    (void)state;
    struct calendar_day days[CALENDAR_MAX_DAYS];
    size_t count = calendar_default_days_off(2026, days);
    struct civil_date off[CALENDAR_MAX_DAYS];
    for (size_t i = 0; i < count; i++)
        off[i] = days[i].date;
    assert_date(civil_add_working_days((struct civil_date){2026, 2, 13}, 5, off, count, NULL, 0),
                "2026-02-27");
    struct civil_date saturday = {2026, 2, 28};
    assert_date(
        civil_add_working_days((struct civil_date){2026, 2, 24}, 4, off, count, &saturday, 1),
        "2026-02-28");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lunar_new_years),
        cmocka_unit_test(lunar_dates_and_leap_months),
        cmocka_unit_test(default_days_off_2026),
        cmocka_unit_test(default_days_off_2023),
        cmocka_unit_test(working_days_skip_the_break),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
