#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *config_string(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

bool config_parse_integer(const char *text, long long minimum, long long maximum,
                          long long *out)
{
    if (text == NULL || text[0] == '\0' || text[0] == ' ' || text[0] == '+')
        return false;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum)
        return false;
    *out = value;
    return true;
}

bool config_parse_duration(const char *text, long long *seconds)
{
    if (text == NULL)
        return false;
    size_t length = strlen(text);
    if (length == 0 || length > 15)
        return false;
    long long unit = 1;
    char number[16];
    memcpy(number, text, length + 1);
    switch (number[length - 1]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: unit = 0; break;
    }
    if (unit != 0)
        number[length - 1] = '\0';
    else
        unit = 1;
    long long count;
    const long long ten_years = 10LL * 366 * 86400;
    if (!config_parse_integer(number, 1, ten_years, &count) || count > ten_years / unit)
        return false;
    *seconds = count * unit;
    return true;
}

bool config_integer(const char *name, long long fallback, long long minimum, long long maximum,
                    long long *out, char *error, size_t error_size)
{
    const char *text = config_string(name, NULL);
    if (text == NULL) {
        *out = fallback;
        return true;
    }
    if (!config_parse_integer(text, minimum, maximum, out)) {
        snprintf(error, error_size, "%s must be a whole number from %lld to %lld, not \"%s\"",
                 name, minimum, maximum, text);
        return false;
    }
    return true;
}

const char *config_database_url(void)
{
    return config_string("DATABASE_URL", NULL);
}

const char *config_admin_database_url(void)
{
    return config_string("BAOVE_ADMIN_DATABASE_URL", config_database_url());
}
