#include "http/proxies.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The trusted proxies, in canonical text: written once by proxies_init()
 * before the daemon starts, then only read. */
static char trusted[PROXIES_MAX][INET6_ADDRSTRLEN];
static size_t trusted_count;

/* The one header the proxies write (BAOVE_TRUSTED_PROXY_HEADER), set with
 * the list.  Only that one is read: a proxy that appends to X-Forwarded-For
 * passes a client's own Forwarded through untouched, so reading whichever
 * is present let a client name any address it liked (and so escape sign-in
 * throttling, or lock someone else out). */
static bool forwarded_syntax = false;

/* The canonical text of an address (so that ::1 and 0:0::1 compare equal);
 * false when text is not one. */
static bool canonical(const char *text, size_t length, char out[INET6_ADDRSTRLEN])
{
    char copy[INET6_ADDRSTRLEN + 2];
    if (length == 0 || length >= sizeof copy)
        return false;
    memcpy(copy, text, length);
    copy[length] = '\0';
    unsigned char binary[16];
    if (inet_pton(AF_INET, copy, binary) == 1)
        return inet_ntop(AF_INET, binary, out, INET6_ADDRSTRLEN) != NULL;
    if (inet_pton(AF_INET6, copy, binary) == 1)
        return inet_ntop(AF_INET6, binary, out, INET6_ADDRSTRLEN) != NULL;
    return false;
}

bool proxies_init(const char *list, const char *header, char *error, size_t error_size)
{
    trusted_count = 0;
    if (strcasecmp(header, "forwarded") != 0 && strcasecmp(header, "x-forwarded-for") != 0) {
        snprintf(error, error_size, "BAOVE_TRUSTED_PROXY_HEADER must be x-forwarded-for or "
                                    "forwarded, not \"%s\"", header);
        return false;
    }
    forwarded_syntax = strcasecmp(header, "forwarded") == 0;
    for (const char *at = list; at != NULL && *at != '\0';) {
        at += strspn(at, " ,");
        size_t length = strcspn(at, " ,");
        if (length == 0)
            break;
        if (trusted_count == PROXIES_MAX || !canonical(at, length, trusted[trusted_count])) {
            snprintf(error, error_size, "BAOVE_TRUSTED_PROXIES must list at most %d IP "
                                        "addresses, separated by commas", PROXIES_MAX);
            return false;
        }
        trusted_count++;
        at += length;
    }
    return true;
}

const char *proxies_header(void)
{
    return forwarded_syntax ? "Forwarded" : "X-Forwarded-For";
}

size_t proxies_trusted_count(void)
{
    return trusted_count;
}

bool proxies_trusted(const char *address)
{
    char text[INET6_ADDRSTRLEN];
    if (trusted_count == 0 || !canonical(address, strlen(address), text))
        return false;
    for (size_t i = 0; i < trusted_count; i++)
        if (strcmp(trusted[i], text) == 0)
            return true;
    return false;
}

/* The address of one Forwarded element's for= (quoted, bracketed IPv6,
 * with or without a port), or of one X-Forwarded-For entry. */
static bool element_address(const char *element, size_t length, char out[INET6_ADDRSTRLEN])
{
    const char *value = element;
    size_t value_length = length;
    if (forwarded_syntax) {
        const char *end = element + length;
        const char *key = element;
        value = NULL;
        while (key < end) {
            key += strspn(key, " ;");
            size_t pair_length = strcspn(key, ";");
            if (key + pair_length > end)
                pair_length = (size_t)(end - key);
            if (pair_length > 4 && strncasecmp(key, "for=", 4) == 0) {
                value = key + 4;
                value_length = pair_length - 4;
            }
            key += pair_length;
        }
        if (value == NULL)
            return false;
    }
    while (value_length > 0 && (*value == ' ' || *value == '"')) {
        value++;
        value_length--;
    }
    while (value_length > 0 && (value[value_length - 1] == ' ' || value[value_length - 1] == '"'))
        value_length--;
    if (value_length > 0 && *value == '[') {
        const char *close = memchr(value, ']', value_length);
        if (close == NULL)
            return false;
        return canonical(value + 1, (size_t)(close - value - 1), out);
    }
    const char *colon = memchr(value, ':', value_length);
    if (colon != NULL && memchr(colon + 1, ':', value_length - (size_t)(colon - value) - 1) == NULL)
        value_length = (size_t)(colon - value); /* IPv4 with a port */
    return canonical(value, value_length, out);
}

/* Walks a comma-separated header from the right: the first address that is
 * not a trusted proxy.  False when the header names none. */
static bool nearest_untrusted(const char *header, char *out, size_t size)
{
    size_t end = strlen(header);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && header[start - 1] != ',')
            start--;
        char address[INET6_ADDRSTRLEN];
        if (!element_address(header + start, end - start, address))
            return false; /* garbled: trust nothing further left */
        if (!proxies_trusted(address)) {
            snprintf(out, size, "%s", address);
            return true;
        }
        end = start > 0 ? start - 1 : 0;
    }
    return false;
}

void proxies_client_network(const char *address, char *out, size_t size)
{
    unsigned char binary[16];
    snprintf(out, size, "%s", address);
    if (inet_pton(AF_INET6, address, binary) != 1)
        return;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN];
    if (memcmp(binary, mapped, sizeof mapped) == 0) { /* an IPv4 client, mapped */
        if (inet_ntop(AF_INET, binary + 12, text, sizeof text) != NULL)
            snprintf(out, size, "%s", text);
        return;
    }
    memset(binary + 8, 0, 8);
    if (inet_ntop(AF_INET6, binary, text, sizeof text) != NULL)
        snprintf(out, size, "%s/64", text);
}

void proxies_client_address(const char *peer, const char *header, char *out, size_t size)
{
    snprintf(out, size, "%s", peer);
    if (header != NULL && proxies_trusted(peer))
        nearest_untrusted(header, out, size);
}
