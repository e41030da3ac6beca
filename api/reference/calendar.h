/* The working-day calendar the legal deadlines are counted in: for a span
 * of years, each year's stored decision or, without one, its default days
 * off (common/working_calendar.h).  Handlers of GET/PUT /v1/calendar/{year}
 * are in reference.h. */
#ifndef BAOVE_REFERENCE_CALENDAR_H
#define BAOVE_REFERENCE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>

#include "clock.h"
#include "operation/operation.h"
#include "working_calendar.h"

/* Two years of days off or of make-up working days, at most. */
#define CALENDAR_SPAN_DAYS (2 * CALENDAR_MAX_DAYS)

struct calendar_span {
    struct civil_date days_off[CALENDAR_SPAN_DAYS];
    size_t days_off_count;
    struct civil_date working_days[CALENDAR_SPAN_DAYS];
    size_t working_day_count;
};

/* Reads the calendar of first_year..last_year (at most two years) in the
 * operation's transaction; false after recording a failure in *outcome. */
bool calendar_span_load(struct operation *operation, int first_year, int last_year,
                        struct calendar_span *span, enum db_outcome *outcome);

#endif
