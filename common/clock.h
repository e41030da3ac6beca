/* The one clock of Baove, and the district's calendar.
 *
 * "Now" is the wall clock unless BAOVE_NOW (an RFC 3339 instant) fixes it,
 * which tests and demos use to stand on a given day of the 2020 plan.  The
 * district's calendar is Asia/Ho_Chi_Minh, which has been UTC+07:00 without
 * daylight saving since 1975, so local dates are computed with that fixed
 * offset rather than through the process's TZ setting. */
#ifndef BAOVE_CLOCK_H
#define BAOVE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_LOCAL_OFFSET_SECONDS (7 * 3600)
#define CLOCK_INSTANT_SIZE 40 /* enough for "YYYY-MM-DDTHH:MM:SS.ffffff+07:00" */
#define CLOCK_DATE_SIZE 11    /* "YYYY-MM-DD" and its terminator */

struct civil_date {
    int year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
};

/* Reads BAOVE_NOW.  Returns false and fills error when it is set but not a
 * valid RFC 3339 instant.  Call once before threads start. */
bool clock_init(char *error, size_t error_size);

/* Microseconds since the Unix epoch: BAOVE_NOW when set, else the wall clock. */
int64_t clock_now_us(void);

/* The real wall clock, for durations and log timestamps only. */
int64_t clock_wall_us(void);

/* Monotonic microseconds, for measuring durations. */
int64_t clock_monotonic_us(void);

/* Today's date in Asia/Ho_Chi_Minh, according to clock_now_us(). */
struct civil_date clock_today(void);

/* The Asia/Ho_Chi_Minh date of an instant. */
struct civil_date clock_local_date(int64_t instant_us);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t civil_to_days(struct civil_date date);
struct civil_date days_to_civil(int64_t days);

/* 1 = Monday … 7 = Sunday. */
int civil_weekday(struct civil_date date);

bool civil_is_valid(struct civil_date date);
int civil_compare(struct civil_date a, struct civil_date b);

/* The working day `count` working days after `start` (count ≥ 0): weekends
 * and the given days off are skipped, except the given make-up working days
 * (a Saturday swapped for a day of Tết).  Both are the year's calendar
 * (common/working_calendar.h), passed in sorted or not. */
struct civil_date civil_add_working_days(struct civil_date start, int count,
                                         const struct civil_date *holidays,
                                         size_t holiday_count,
                                         const struct civil_date *working_days,
                                         size_t working_day_count);

/* Strict "YYYY-MM-DD" of a real calendar day. */
bool date_parse(const char *text, struct civil_date *out);
void date_format(struct civil_date date, char out[CLOCK_DATE_SIZE]);

/* RFC 3339 instants: "2020-01-22T10:00:00+07:00", "…Z", optional fraction. */
bool clock_parse_instant(const char *text, int64_t *out_us);
/* Formats in UTC with a "Z" suffix (logs). */
void clock_format_instant(int64_t instant_us, char *out, size_t size);
/* Formats in Asia/Ho_Chi_Minh with a "+07:00" suffix (API responses). */
void clock_format_local_instant(int64_t instant_us, char *out, size_t size);

#endif
