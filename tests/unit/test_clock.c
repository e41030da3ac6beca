/* The calendar: dates, weekdays, instants and the district's local day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "clock.h"

static void dates_parse_strictly(void **state)
{
    (void)state;
    struct civil_date date;
    assert_true(date_parse("2020-02-29", &date));
    assert_int_equal(date.year, 2020);
    assert_int_equal(date.month, 2);
    assert_int_equal(date.day, 29);
    const char *refused[] = {"2019-02-29", "2100-02-29", "2020-13-01", "2020-04-31",
                             "2020-1-01", "20200101", "2020-01-01T00:00:00Z", "", "0000-01-01"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_false(date_parse(refused[i], &date));
    assert_true(date_parse("2000-02-29", &date));
}

static void days_round_trip(void **state)
{
    (void)state;
    /* From year 1 to year 9999. */
    for (int64_t days = -719000; days < 2932000; days += 101) {
        struct civil_date date = days_to_civil(days);
        assert_true(civil_is_valid(date));
        assert_int_equal(civil_to_days(date), days);
    }
    assert_int_equal(civil_to_days((struct civil_date){1970, 1, 1}), 0);
}

static void weekdays(void **state)
{
    (void)state;
    assert_int_equal(civil_weekday((struct civil_date){2020, 1, 22}), 3); /* Wednesday */
    assert_int_equal(civil_weekday((struct civil_date){2020, 2, 5}), 3);
    assert_int_equal(civil_weekday((struct civil_date){2020, 5, 13}), 3);
    assert_int_equal(civil_weekday((struct civil_date){1970, 1, 1}), 4);
    assert_int_equal(civil_weekday((struct civil_date){2026, 11, 29}), 7); /* Sunday */
}

static void instants_parse_with_offsets(void **state)
{
    (void)state;
    int64_t a, b;
    assert_true(clock_parse_instant("2020-01-22T10:00:00+07:00", &a));
    assert_true(clock_parse_instant("2020-01-22T03:00:00Z", &b));
    assert_int_equal(a, b);
    assert_true(clock_parse_instant("2020-01-22T03:00:00.25Z", &b));
    assert_int_equal(b - a, 250000);
    const char *refused[] = {"2020-01-22T10:00:00", "2020-01-22T24:00:00Z",
                             "2020-01-22T10:00Z", "2020-01-22", "2020-01-22T10:00:00+7:00",
                             "2020-01-22T10:00:00.Z"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_false(clock_parse_instant(refused[i], &a));
}

static void instants_format_in_utc_and_local_time(void **state)
{
    (void)state;
    int64_t instant;
    char text[CLOCK_INSTANT_SIZE];
    assert_true(clock_parse_instant("2020-01-21T17:30:00Z", &instant));
    clock_format_instant(instant, text, sizeof text);
    assert_string_equal(text, "2020-01-21T17:30:00Z");
    clock_format_local_instant(instant, text, sizeof text);
    assert_string_equal(text, "2020-01-22T00:30:00+07:00");
    clock_format_instant(instant + 5, text, sizeof text);
    assert_string_equal(text, "2020-01-21T17:30:00.000005Z");
}

static void local_date_turns_at_local_midnight(void **state)
{
    (void)state;
    int64_t before, after;
    assert_true(clock_parse_instant("2020-05-12T16:59:59Z", &before));
    assert_true(clock_parse_instant("2020-05-12T17:00:00Z", &after));
    struct civil_date day = clock_local_date(before);
    assert_int_equal(day.day, 12);
    day = clock_local_date(after);
    assert_int_equal(day.day, 13);
}

/* The 2020 holidays as seeded in sql/seed/0004_holidays_2020.sql. */
static const struct civil_date holidays_2020[] = {
    {2020, 1, 1},  {2020, 1, 23}, {2020, 1, 24}, {2020, 1, 25}, {2020, 1, 26}, {2020, 1, 27},
    {2020, 1, 28}, {2020, 1, 29}, {2020, 4, 2},  {2020, 4, 30}, {2020, 5, 1},  {2020, 9, 2},
};

static void working_days_skip_tet_and_weekends(void **state)
{
    (void)state;
    size_t count = sizeof holidays_2020 / sizeof holidays_2020[0];
    /* A detailed assessment on Wednesday 22 January 2020: the plan is due
     * five working days later, on Wednesday 5 February, after Tết (23–29
     * January) and two weekends. */
    struct civil_date due = civil_add_working_days((struct civil_date){2020, 1, 22}, 5,
                                                   holidays_2020, count, NULL, 0);
    assert_int_equal(due.month, 2);
    assert_int_equal(due.day, 5);
    /* Across 30/4–1/5: Wednesday 29 April + 2 working days is Tuesday 5 May. */
    due = civil_add_working_days((struct civil_date){2020, 4, 29}, 2, holidays_2020, count, NULL, 0);
    assert_int_equal(due.month, 5);
    assert_int_equal(due.day, 5);
    /* Without holidays only weekends count; zero days is the same day. */
    due = civil_add_working_days((struct civil_date){2020, 1, 22}, 5, NULL, 0, NULL, 0);
    assert_int_equal(due.day, 29);
    due = civil_add_working_days((struct civil_date){2020, 1, 22}, 0, holidays_2020, count, NULL, 0);
    assert_int_equal(due.day, 22);
}

static void baove_now_fixes_the_clock(void **state)
{
    (void)state;
    char error[256];
    setenv("BAOVE_NOW", "2020-04-29T07:00:00+07:00", 1);
    assert_true(clock_init(error, sizeof error));
    struct civil_date today = clock_today();
    assert_int_equal(today.year, 2020);
    assert_int_equal(today.month, 4);
    assert_int_equal(today.day, 29);
    setenv("BAOVE_NOW", "yesterday", 1);
    assert_false(clock_init(error, sizeof error));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_parse_strictly),
        cmocka_unit_test(days_round_trip),
        cmocka_unit_test(weekdays),
        cmocka_unit_test(instants_parse_with_offsets),
        cmocka_unit_test(instants_format_in_utc_and_local_time),
        cmocka_unit_test(local_date_turns_at_local_midnight),
        cmocka_unit_test(working_days_skip_tet_and_weekends),
        cmocka_unit_test(baove_now_fixes_the_clock),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
