/* The working-day calendar of the public service: Monday to Friday, less
 * the public holidays, plus the make-up working days (ngày làm bù) a
 * decision swaps in.  By default a year's days off are computed from the
 * Labour Code 2019, Art. 112 (and Art. 111.3: a holiday on a weekend is
 * taken on the next working day); the Prime Minister's decision for a year,
 * stored through PUT /v1/calendar/{year}, replaces them. */
#ifndef BAOVE_WORKING_CALENDAR_H
#define BAOVE_WORKING_CALENDAR_H

#include <stddef.h>

#include "clock.h"

/* More than any year has: 11 holidays, their compensations, a long Tết. */
#define CALENDAR_MAX_DAYS 32

struct calendar_day {
    struct civil_date date;
    const char *name_vi; /* static text */
    const char *name_en;
};

/* The days off of `year` by default, sorted, into out[CALENDAR_MAX_DAYS];
 * returns how many:
 *   1/1; Tết Nguyên đán, the last day of the lunar year and the first four
 *   of the new one (lunar calendar at UTC+07:00, common/lunar.h); the Hùng
 *   Kings' day, 10/3 lunar; 30/4; 1/5; 2/9 with one adjacent day (1/9 when
 *   that makes a long weekend: 2/9 a Tuesday, Friday or Saturday; else 3/9);
 *   then, for each of these on a Saturday or Sunday, the next working day.
 * The Code took effect in 2021; earlier years need their stored decision. */
size_t calendar_default_days_off(int year, struct calendar_day out[CALENDAR_MAX_DAYS]);

#endif
