/* Settings come from the environment (twelve-factor style), read once at
 * start-up; every reader validates its value and says which variable was
 * wrong and why. */
#ifndef BAOVE_CONFIG_H
#define BAOVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The value of `name`, or `fallback` when it is unset or empty. */
const char *config_string(const char *name, const char *fallback);

/* Parses a whole decimal number in [minimum, maximum]. */
bool config_parse_integer(const char *text, long long minimum, long long maximum,
                          long long *out);

/* Parses a duration: a whole number with an optional unit s, m, h or d
 * ("90", "30m", "8h", "30d"), in seconds, at most 10 years. */
bool config_parse_duration(const char *text, long long *seconds);

/* Reads the integer variable `name` into *out (fallback when unset).
 * Returns false and fills error when it is set but malformed or out of range. */
bool config_integer(const char *name, long long fallback, long long minimum, long long maximum,
                    long long *out, char *error, size_t error_size);

/* The database URL for the application role: DATABASE_URL. */
const char *config_database_url(void);

/* The database URL for the owner role: BAOVE_ADMIN_DATABASE_URL, else DATABASE_URL. */
const char *config_admin_database_url(void);

#endif
