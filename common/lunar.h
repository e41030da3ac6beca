/* The Vietnamese lunar calendar (âm lịch), computed for the UTC+07:00
 * meridian with Hồ Ngọc Đức's algorithm (astronomical new moons and solar
 * terms after Meeus, as published with his "Âm lịch Việt Nam" tables).  It
 * differs from the Chinese calendar (UTC+08:00) in some years: the lunar
 * new year of 1985 is 21/1 in Vietnam and 20/2 in China.  Public holidays
 * by the lunar calendar (Tết, the Hùng Kings' day) are computed from it. */
#ifndef BAOVE_LUNAR_H
#define BAOVE_LUNAR_H

#include <stdbool.h>

#include "clock.h"

/* The solar date of lunar day `day` of lunar month `month` (1..12; `leap`
 * for the leap month of that number) of the lunar year that begins in
 * solar year `year`.  False when that month is not a leap month of the
 * year, or the arguments are out of range (years 1800..2199). */
bool lunar_to_solar(int year, int month, int day, bool leap, struct civil_date *out);

/* The solar date of the lunar new year (mùng 1 Tết) of `year`. */
struct civil_date lunar_new_year(int year);

#endif
