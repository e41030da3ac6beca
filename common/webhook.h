/* Webhooks as Standard Webhooks (standardwebhooks.com) define them: the
 * signing secret ("whsec_" + base64 of random bytes), the signature
 * "v1," + base64(HMAC-SHA256(secret bytes, id "." timestamp "." body)), and
 * the rules that keep webhook URLs from reaching inside our network:
 * https only, and no private, loopback or link-local addresses, unless the
 * host is listed in BAOVE_WEBHOOK_ALLOW_HOSTS (comma-separated; tests
 * allow 127.0.0.1).  The API checks a URL when a channel is saved; the
 * worker checks the address it actually connects to, at every delivery. */
#ifndef BAOVE_WEBHOOK_H
#define BAOVE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_BYTES 32
#define WEBHOOK_SECRET_SIZE 64     /* prefix + base64 of 32 bytes + NUL */
#define WEBHOOK_SIGNATURE_SIZE 64  /* "v1," + base64 of 32 bytes + NUL */
#define WEBHOOK_HOST_SIZE 256

/* A new secret. */
void webhook_secret_generate(char out[WEBHOOK_SECRET_SIZE]);

/* Signs id.timestamp.body with the secret; false when the secret is not a
 * whsec_ secret. */
bool webhook_sign(const char *secret, const char *id, const char *timestamp, const char *body,
                  size_t body_length, char out[WEBHOOK_SIGNATURE_SIZE]);

/* Whether host is in BAOVE_WEBHOOK_ALLOW_HOSTS (exact, case-insensitive). */
bool webhook_host_allowed(const char *host);

/* Whether an address is private, loopback, link-local, unspecified,
 * multicast or otherwise not a public unicast address (IPv4 and IPv6,
 * including IPv4-mapped IPv6). */
bool webhook_address_private(const struct sockaddr *address);

/* Splits an http(s) URL into whether it is https and its host (without
 * IPv6 brackets).  Returns NULL, or why the URL is not acceptable. */
const char *webhook_url_host(const char *url, bool *https, char host[WEBHOOK_HOST_SIZE]);

/* Checks a webhook URL: http(s), a host, no user info; https unless the
 * host is allowed; every address the host resolves to public unless it is
 * allowed.  Returns NULL when acceptable, else why not (static text). */
const char *webhook_url_refusal(const char *url);

#endif
