#include "config.h"

#include <errno.h>
#include <limits.h>
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

/* Percent-encodes every byte outside the unreserved set, as pg.sh does, so
 * that libpq decodes the socket directory back exactly. */
static bool append_encoded(char *out, size_t size, size_t *used, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        bool plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                     (*c >= '0' && *c <= '9') || strchr("._~-", *c) != NULL;
        if (*used + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            out[(*used)++] = (char)*c;
        } else {
            out[(*used)++] = '%';
            out[(*used)++] = hex[*c >> 4];
            out[(*used)++] = hex[*c & 15];
        }
    }
    out[*used] = '\0';
    return true;
}

/* The port in <directory>/port when it holds one, else 0. */
static long long recorded_port(const char *directory)
{
    char path[PATH_MAX + 8], line[32] = "";
    if ((size_t)snprintf(path, sizeof path, "%s/port", directory) >= sizeof path)
        return 0;
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    bool read = fgets(line, sizeof line, file) != NULL;
    fclose(file);
    line[strcspn(line, "\n")] = '\0';
    long long port;
    return read && config_parse_integer(line, 1, 65535, &port) ? port : 0;
}

bool config_embedded_database_url(const char *user, char out[CONFIG_DATABASE_URL_SIZE])
{
    const char *directory = config_string("BAOVE_PG_DIR", BAOVE_DEFAULT_PG_DIR);
    long long port = recorded_port(directory);
    if (port == 0 && !config_parse_integer(config_string("BAOVE_PG_PORT", "54329"), 1, 65535,
                                           &port))
        port = 54329;
    /* The socket path as pg.sh prints it: through the symlink that a
     * relocated cluster leaves in var/ (a shorter path, too). */
    char real[PATH_MAX], socket_directory[PATH_MAX + 8];
    if (realpath(directory, real) == NULL)
        snprintf(real, sizeof real, "%s", directory);
    if ((size_t)snprintf(socket_directory, sizeof socket_directory, "%s/run", real) >=
        sizeof socket_directory)
        return false;
    size_t used = (size_t)snprintf(out, CONFIG_DATABASE_URL_SIZE, "postgresql:///%s?host=",
                                   config_string("BAOVE_PG_DB", "baove"));
    if (used >= CONFIG_DATABASE_URL_SIZE ||
        !append_encoded(out, CONFIG_DATABASE_URL_SIZE, &used, socket_directory))
        return false;
    int written = snprintf(out + used, CONFIG_DATABASE_URL_SIZE - used, "&port=%lld&user=%s",
                           port, user);
    return written > 0 && (size_t)written < CONFIG_DATABASE_URL_SIZE - used;
}

/* Copies the first variable set among names, else the embedded cluster's URL. */
static enum config_database_source database_url(const char *const names[], const char *user,
                                                char out[CONFIG_DATABASE_URL_SIZE])
{
    for (size_t i = 0; names[i] != NULL; i++) {
        const char *value = config_string(names[i], NULL);
        if (value != NULL) {
            int written = snprintf(out, CONFIG_DATABASE_URL_SIZE, "%s", value);
            return written < CONFIG_DATABASE_URL_SIZE ? CONFIG_DATABASE_SET : CONFIG_DATABASE_NONE;
        }
    }
    return config_embedded_database_url(user, out) ? CONFIG_DATABASE_EMBEDDED
                                                   : CONFIG_DATABASE_NONE;
}

enum config_database_source config_database_url(char out[CONFIG_DATABASE_URL_SIZE])
{
    return database_url((const char *const[]){"DATABASE_URL", NULL}, "baove_app", out);
}

enum config_database_source config_admin_database_url(char out[CONFIG_DATABASE_URL_SIZE])
{
    return database_url((const char *const[]){"BAOVE_ADMIN_DATABASE_URL", "DATABASE_URL", NULL},
                        "baove_owner", out);
}
