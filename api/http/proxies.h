/* Trusted reverse proxies (BAOVE_TRUSTED_PROXIES): only a connection from
 * one of them may say, in Forwarded or X-Forwarded-For, which client it
 * speaks for; that address then counts for connection limits, sign-in
 * throttling and the audit.  From anyone else the headers are ignored. */
#ifndef BAOVE_API_PROXIES_H
#define BAOVE_API_PROXIES_H

#include <stdbool.h>
#include <stddef.h>

#define PROXIES_MAX 16

/* Reads a comma-separated list of IP addresses; false (error set) when one
 * is not an address.  Call once, before serving. */
bool proxies_init(const char *list, char *error, size_t error_size);

/* How many proxies are trusted. */
size_t proxies_trusted_count(void);

/* Whether this numeric address is a trusted proxy. */
bool proxies_trusted(const char *address);

/* The client's address: peer itself unless peer is trusted, else the
 * nearest untrusted address named by forwarded (RFC 7239 for=) or, when
 * absent, x_forwarded_for, read from the right (the proxies' own end). */
void proxies_client_address(const char *peer, const char *forwarded,
                            const char *x_forwarded_for, char *out, size_t size);

#endif
