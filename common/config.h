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

/* Room for a database URL (an explicit one longer than this is refused). */
#define CONFIG_DATABASE_URL_SIZE 1024

/* Where a database URL came from: a variable, or the embedded cluster. */
enum config_database_source { CONFIG_DATABASE_NONE, CONFIG_DATABASE_SET, CONFIG_DATABASE_EMBEDDED };

/* The database URL for the application role: DATABASE_URL, else the
 * embedded cluster of scripts/pg.sh as baove_app (see
 * config_embedded_database_url).  NONE only when the URL does not fit. */
enum config_database_source config_database_url(char out[CONFIG_DATABASE_URL_SIZE]);

/* The database URL for the owner role: BAOVE_ADMIN_DATABASE_URL, else
 * DATABASE_URL, else the embedded cluster as baove_owner. */
enum config_database_source config_admin_database_url(char out[CONFIG_DATABASE_URL_SIZE]);

/* The libpq URL of the embedded cluster that `make run` starts
 * (scripts/pg.sh), as `user`: its socket directory <BAOVE_PG_DIR>/run
 * (BAOVE_PG_DIR defaulting to the source tree's var/pg), the port it last
 * started on (<BAOVE_PG_DIR>/port, written by pg.sh), else BAOVE_PG_PORT,
 * else 54329; the database BAOVE_PG_DB, else baove.  False when it does not fit. */
bool config_embedded_database_url(const char *user, char out[CONFIG_DATABASE_URL_SIZE]);

#endif
