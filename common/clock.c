#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The fixed "now" from BAOVE_NOW, written once by clock_init() before any
 * thread starts and only read afterwards. */
static bool clock_is_fixed = false;
static int64_t clock_fixed_us = 0;

bool clock_init(char *error, size_t error_size)
{
    const char *fixed = getenv("BAOVE_NOW");
    if (fixed == NULL || fixed[0] == '\0')
        return true;
    if (!clock_parse_instant(fixed, &clock_fixed_us)) {
        snprintf(error, error_size,
                 "BAOVE_NOW must be an RFC 3339 instant such as "
                 "2020-04-29T07:00:00+07:00, not \"%s\"", fixed);
        return false;
    }
    clock_is_fixed = true;
    return true;
}

int64_t clock_wall_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int64_t clock_monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int64_t clock_now_us(void)
{
    return clock_is_fixed ? clock_fixed_us : clock_wall_us();
}

/* Floor division, so that instants before 1970 map to the right day. */
static int64_t floor_divide(int64_t numerator, int64_t denominator)
{
    int64_t quotient = numerator / denominator;
    if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0)))
        quotient--;
    return quotient;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t civil_to_days(struct civil_date date)
{
    int64_t year = date.year - (date.month <= 2);
    int64_t era = floor_divide(year, 400);
    int64_t year_of_era = year - era * 400;
    int64_t month_index = date.month > 2 ? date.month - 3 : date.month + 9;
    int64_t day_of_year = (153 * month_index + 2) / 5 + date.day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

struct civil_date days_to_civil(int64_t days)
{
    days += 719468;
    int64_t era = floor_divide(days, 146097);
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    struct civil_date date;
    date.day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    date.month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    date.year = (int)(year_of_era + era * 400 + (date.month <= 2));
    return date;
}

int civil_weekday(struct civil_date date)
{
    int64_t days = civil_to_days(date); /* 1970-01-01 was a Thursday (4) */
    int64_t weekday = (days % 7 + 7 + 3) % 7;
    return (int)weekday + 1;
}

static bool is_listed(struct civil_date date, const struct civil_date *days, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (civil_compare(days[i], date) == 0)
            return true;
    return false;
}

struct civil_date civil_add_working_days(struct civil_date start, int count,
                                         const struct civil_date *holidays,
                                         size_t holiday_count,
                                         const struct civil_date *working_days,
                                         size_t working_day_count)
{
    int64_t day = civil_to_days(start);
    for (int counted = 0; counted < count;) {
        struct civil_date date = days_to_civil(++day);
        if (is_listed(date, working_days, working_day_count) ||
            (civil_weekday(date) < 6 && !is_listed(date, holidays, holiday_count)))
            counted++;
    }
    return days_to_civil(day);
}

static int days_in_month(int year, int month)
{
    static const int lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : lengths[month - 1];
}

bool civil_is_valid(struct civil_date date)
{
    return date.year >= 1 && date.year <= 9999 && date.month >= 1 && date.month <= 12 &&
           date.day >= 1 && date.day <= days_in_month(date.year, date.month);
}

int civil_compare(struct civil_date a, struct civil_date b)
{
    int64_t left = civil_to_days(a), right = civil_to_days(b);
    return (left > right) - (left < right);
}

struct civil_date clock_local_date(int64_t instant_us)
{
    int64_t seconds = floor_divide(instant_us, 1000000) + CLOCK_LOCAL_OFFSET_SECONDS;
    return days_to_civil(floor_divide(seconds, 86400));
}

struct civil_date clock_today(void)
{
    return clock_local_date(clock_now_us());
}

/* Reads exactly `count` decimal digits. */
static bool read_digits(const char **cursor, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        char c = (*cursor)[i];
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    *cursor += count;
    *out = value;
    return true;
}

static bool read_date(const char **cursor, struct civil_date *out)
{
    const char *p = *cursor;
    if (!read_digits(&p, 4, &out->year) || *p++ != '-' || !read_digits(&p, 2, &out->month) ||
        *p++ != '-' || !read_digits(&p, 2, &out->day))
        return false;
    if (!civil_is_valid(*out))
        return false;
    *cursor = p;
    return true;
}

bool date_parse(const char *text, struct civil_date *out)
{
    const char *cursor = text;
    struct civil_date date;
    if (text == NULL || !read_date(&cursor, &date) || *cursor != '\0')
        return false;
    *out = date;
    return true;
}

void date_format(struct civil_date date, char out[CLOCK_DATE_SIZE])
{
    /* The ranges are clamped so the compiler can see the text fits. */
    unsigned year = (unsigned)date.year % 10000u, month = (unsigned)date.month % 100u,
             day = (unsigned)date.day % 100u;
    snprintf(out, CLOCK_DATE_SIZE, "%04u-%02u-%02u", year, month, day);
}

bool clock_parse_instant(const char *text, int64_t *out_us)
{
    const char *p = text;
    struct civil_date date;
    int hour, minute, second;
    if (text == NULL || !read_date(&p, &date))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute) ||
        *p++ != ':' || !read_digits(&p, 2, &second))
        return false;
    if (hour > 23 || minute > 59 || second > 59)
        return false;
    int64_t fraction_us = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t scale = 100000;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                fraction_us += (*p - '0') * scale;
                scale /= 10;
            }
            digits++;
            p++;
        }
        if (digits == 0)
            return false;
    }
    int offset_seconds = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int offset_hours, offset_minutes;
        if (!read_digits(&p, 2, &offset_hours) || *p++ != ':' ||
            !read_digits(&p, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return false;
        offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    int64_t seconds = civil_to_days(date) * 86400 + hour * 3600 + minute * 60 + second -
                      offset_seconds;
    *out_us = seconds * 1000000 + fraction_us;
    return true;
}

static void format_with_offset(int64_t instant_us, int offset_seconds, const char *suffix,
                               char *out, size_t size)
{
    int64_t seconds = floor_divide(instant_us, 1000000);
    int64_t micros = instant_us - seconds * 1000000;
    seconds += offset_seconds;
    int64_t days = floor_divide(seconds, 86400);
    int64_t second_of_day = seconds - days * 86400;
    struct civil_date date = days_to_civil(days);
    char date_text[CLOCK_DATE_SIZE];
    date_format(date, date_text);
    int hour = (int)(second_of_day / 3600), minute = (int)(second_of_day / 60 % 60),
        second = (int)(second_of_day % 60);
    if (micros == 0)
        snprintf(out, size, "%sT%02d:%02d:%02d%s", date_text, hour, minute, second, suffix);
    else
        snprintf(out, size, "%sT%02d:%02d:%02d.%06d%s", date_text, hour, minute, second,
                 (int)micros, suffix);
}

void clock_format_instant(int64_t instant_us, char *out, size_t size)
{
    format_with_offset(instant_us, 0, "Z", out, size);
}

void clock_format_local_instant(int64_t instant_us, char *out, size_t size)
{
    format_with_offset(instant_us, CLOCK_LOCAL_OFFSET_SECONDS, "+07:00", out, size);
}
