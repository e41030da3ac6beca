/* Hồ Ngọc Đức's lunar calendar algorithm, transcribed from his published
 * reference implementation ("Computing the Vietnamese lunar calendar",
 * amlich.js): Julian day numbers, the k-th new moon after 1900-01-01, the
 * sun's longitude, the lunar month containing the winter solstice (month
 * 11) and the leap month, the first without a major solar term.  Times
 * are in days; the time zone is the Vietnamese +7 hours. */
#include "lunar.h"

#include <math.h>

#define TIME_ZONE_HOURS 7.0
#define SYNODIC_MONTH 29.530588853
#define NEW_MOON_EPOCH 2415021.076998695 /* the new moon of 1900-01-01, Julian day */

static const double pi = 3.14159265358979323846;

static long julian_day(struct civil_date date)
{
    return (long)(civil_to_days(date) + 2440588); /* 1970-01-01 is Julian day 2440588 */
}

static struct civil_date from_julian_day(long julian)
{
    return days_to_civil(julian - 2440588);
}

/* The instant (Julian day, UT) of the k-th new moon after the epoch. */
static double new_moon(long k)
{
    double t = k / 1236.85, t2 = t * t, t3 = t2 * t, radian = pi / 180;
    double moon = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
    moon += 0.00033 * sin((166.56 + 132.87 * t - 0.009173 * t2) * radian);
    double sun_anomaly = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
    double moon_anomaly = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
    double latitude = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
    double correction = (0.1734 - 0.000393 * t) * sin(sun_anomaly * radian) +
                        0.0021 * sin(2 * radian * sun_anomaly);
    correction = correction - 0.4068 * sin(moon_anomaly * radian) +
                 0.0161 * sin(radian * 2 * moon_anomaly);
    correction = correction - 0.0004 * sin(radian * 3 * moon_anomaly);
    correction = correction + 0.0104 * sin(radian * 2 * latitude) -
                 0.0051 * sin(radian * (sun_anomaly + moon_anomaly));
    correction = correction - 0.0074 * sin(radian * (sun_anomaly - moon_anomaly)) +
                 0.0004 * sin(radian * (2 * latitude + sun_anomaly));
    correction = correction - 0.0004 * sin(radian * (2 * latitude - sun_anomaly)) -
                 0.0006 * sin(radian * (2 * latitude + moon_anomaly));
    correction = correction + 0.0010 * sin(radian * (2 * latitude - moon_anomaly)) +
                 0.0005 * sin(radian * (2 * moon_anomaly + sun_anomaly));
    double delta_t = t < -11 ? 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 -
                                   0.000000081 * t * t3
                             : -0.000278 + 0.000265 * t + 0.000262 * t2;
    return moon + correction - delta_t;
}

/* The local day (Julian day number) of the k-th new moon. */
static long new_moon_day(long k)
{
    return (long)floor(new_moon(k) + 0.5 + TIME_ZONE_HOURS / 24);
}

/* The sun's longitude (radians, 0..2π) at an instant (Julian day, UT). */
static double sun_longitude(double julian)
{
    double t = (julian - 2451545.0) / 36525, t2 = t * t, radian = pi / 180;
    double anomaly = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    double mean = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    double center = (1.914600 - 0.004817 * t - 0.000014 * t2) * sin(radian * anomaly);
    center += (0.019993 - 0.000101 * t) * sin(radian * 2 * anomaly) +
              0.000290 * sin(radian * 3 * anomaly);
    double longitude = (mean + center) * radian;
    return longitude - pi * 2 * floor(longitude / (pi * 2));
}

/* The major solar term (0..11, 30° each) at the start of a local day. */
static int solar_term(long day)
{
    return (int)floor(sun_longitude(day - 0.5 - TIME_ZONE_HOURS / 24) / pi * 6);
}

/* The first day of the lunar month 11 (holding the winter solstice) that
 * begins in solar year `year`. */
static long lunar_month_11(int year)
{
    long offset = julian_day((struct civil_date){year, 12, 31}) - 2415021;
    long k = (long)floor(offset / SYNODIC_MONTH);
    long start = new_moon_day(k);
    return solar_term(start) >= 9 ? new_moon_day(k - 1) : start;
}

/* In a leap lunar year starting at month 11 `month_11`: the position
 * (months after it) of the leap month. */
static int leap_month_offset(long month_11)
{
    long k = (long)floor((month_11 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5);
    int i = 1, term = solar_term(new_moon_day(k + 1)), last;
    do {
        last = term;
        i++;
        term = solar_term(new_moon_day(k + i));
    } while (term != last && i < 14);
    return i - 1;
}

bool lunar_to_solar(int year, int month, int day, bool leap, struct civil_date *out)
{
    if (year < 1800 || year > 2199 || month < 1 || month > 12 || day < 1 || day > 30)
        return false;
    long first_11, next_11;
    if (month < 11) {
        first_11 = lunar_month_11(year - 1);
        next_11 = lunar_month_11(year);
    } else {
        first_11 = lunar_month_11(year);
        next_11 = lunar_month_11(year + 1);
    }
    long k = (long)floor(0.5 + (first_11 - NEW_MOON_EPOCH) / SYNODIC_MONTH);
    int offset = month - 11;
    if (offset < 0)
        offset += 12;
    if (next_11 - first_11 > 365) {
        int leap_offset = leap_month_offset(first_11);
        int leap_month = leap_offset - 2;
        if (leap_month < 0)
            leap_month += 12;
        if (leap && month != leap_month)
            return false;
        if (leap || offset >= leap_offset)
            offset += 1;
    } else if (leap) {
        return false;
    }
    *out = from_julian_day(new_moon_day(k + offset) + day - 1);
    return true;
}

struct civil_date lunar_new_year(int year)
{
    struct civil_date date = {year, 1, 1};
    lunar_to_solar(year, 1, 1, false, &date);
    return date;
}
