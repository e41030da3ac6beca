#include "working_calendar.h"

#include <stdlib.h>

#include "lunar.h"

static int64_t day_number(struct civil_date date)
{
    return civil_to_days(date);
}

static bool is_day_off(const struct calendar_day *days, size_t count, int64_t day)
{
    for (size_t i = 0; i < count; i++)
        if (day_number(days[i].date) == day)
            return true;
    return false;
}

static void add_day(struct calendar_day *days, size_t *count, struct civil_date date,
                    const char *name_vi, const char *name_en)
{
    if (*count < CALENDAR_MAX_DAYS && !is_day_off(days, *count, day_number(date)))
        days[(*count)++] = (struct calendar_day){date, name_vi, name_en};
}

static int by_date(const void *left, const void *right)
{
    return civil_compare(((const struct calendar_day *)left)->date,
                         ((const struct calendar_day *)right)->date);
}

size_t calendar_default_days_off(int year, struct calendar_day out[CALENDAR_MAX_DAYS])
{
    size_t count = 0;
    add_day(out, &count, (struct civil_date){year, 1, 1}, "Tết Dương lịch", "New Year's Day");
    int64_t new_year = day_number(lunar_new_year(year));
    for (int64_t day = new_year - 1; day <= new_year + 3; day++)
        add_day(out, &count, days_to_civil(day), "Tết Nguyên đán", "Lunar New Year (Tết)");
    struct civil_date hung_kings;
    if (lunar_to_solar(year, 3, 10, false, &hung_kings))
        add_day(out, &count, hung_kings, "Giỗ Tổ Hùng Vương", "Hùng Kings' Commemoration");
    add_day(out, &count, (struct civil_date){year, 4, 30},
            "Ngày Giải phóng miền Nam, thống nhất đất nước", "Reunification Day");
    add_day(out, &count, (struct civil_date){year, 5, 1}, "Ngày Quốc tế Lao động",
            "International Labour Day");
    struct civil_date national_day = {year, 9, 2};
    int weekday = civil_weekday(national_day);
    add_day(out, &count, national_day, "Quốc khánh", "National Day");
    add_day(out, &count, (struct civil_date){year, 9, weekday == 2 || weekday >= 5 ? 1 : 3},
            "Quốc khánh", "National Day");
    qsort(out, count, sizeof out[0], by_date);
    /* Art. 111.3: a holiday on the weekly rest is taken on the next working
     * day, in date order so two of them take two days. */
    size_t holidays = count;
    for (size_t i = 0; i < holidays; i++) {
        if (civil_weekday(out[i].date) < 6)
            continue;
        int64_t day = day_number(out[i].date) + 1;
        while (civil_weekday(days_to_civil(day)) >= 6 || is_day_off(out, count, day))
            day++;
        add_day(out, &count, days_to_civil(day), "Nghỉ bù", "Compensatory day off");
    }
    qsort(out, count, sizeof out[0], by_date);
    return count;
}
