/* Trusted reverse proxies (BAOVE_TRUSTED_PROXIES): only a connection from
 * one of them may say, in the one header they write
 * (BAOVE_TRUSTED_PROXY_HEADER: X-Forwarded-For or Forwarded), which client
 * it speaks for; that address then counts for sign-in throttling.  From
 * anyone else the header is ignored, and the other header always is. */
#ifndef BAOVE_API_PROXIES_H
#define BAOVE_API_PROXIES_H

#include <stdbool.h>
#include <stddef.h>

#define PROXIES_MAX 16

/* Reads a comma-separated list of IP addresses and the header they write
 * ("x-forwarded-for" or "forwarded"); false (error set) when one is not an
 * address or the header is neither.  Call once, before serving. */
bool proxies_init(const char *list, const char *header, char *error, size_t error_size);

/* The name of the header the proxies write. */
const char *proxies_header(void);

/* How many proxies are trusted. */
size_t proxies_trusted_count(void);

/* Whether this numeric address is a trusted proxy. */
bool proxies_trusted(const char *address);

/* The client's address: peer itself unless peer is trusted, else the
 * nearest untrusted address the proxies' header (its value, or NULL) names,
 * read from the right (the proxies' own end). */
void proxies_client_address(const char *peer, const char *header, char *out, size_t size);

/* The network a client address stands for when failures are counted: an
 * IPv4 address itself (also when mapped into IPv6), an IPv6 address's /64,
 * the block one subscriber usually holds whole (otherwise every address of
 * it would be a fresh address to guess from). */
void proxies_client_network(const char *address, char *out, size_t size);

#endif
