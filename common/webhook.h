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

/* ---- secrets at rest ----
 *
 * A channel's secret signs every message sent to it, so a copy of the
 * database (a dump, a backup, a standby's disk) must not hand it out.
 * With BAOVE_SECRETS_KEY_FILE set (a file of 64 hex digits: 32 random bytes;
 * scripts/run.sh makes var/secrets.key), secrets are stored sealed:
 * "sealed:v1:" + base64(nonce || XChaCha20-Poly1305 of the secret), which
 * only a holder of the key opens.  Without it they are stored as they are,
 * and the processes say so when they start.  Secrets stored before sealing
 * (whsec_…) still open as they are; `baove-admin secrets seal` seals them. */
#define WEBHOOK_SEALED_PREFIX "sealed:v1:"
#define WEBHOOK_SEALED_SIZE 192 /* prefix + base64 of nonce, secret and tag + NUL */

struct webhook_key {
    unsigned char bytes[32];
};

/* Reads a key file (64 hex digits); false, with why in error, when it cannot
 * be read or holds anything else. */
bool webhook_key_read(const char *path, struct webhook_key *key, char *error,
                      size_t error_size);

/* Loads the key named by BAOVE_SECRETS_KEY_FILE as the process's, once, at
 * start (before any thread): true when there is none to load, false (why in
 * error) when the file cannot be read or is not 64 hex digits. */
bool webhook_sealing_init(char *error, size_t error_size);

/* Whether a key was loaded: new secrets are stored sealed. */
bool webhook_sealing_enabled(void);

/* Seals a secret for storage; false without a key. */
bool webhook_secret_seal(const char *secret, char out[WEBHOOK_SEALED_SIZE]);

/* The secret a stored value holds: a sealed one opened with the key, an
 * unsealed one as it is.  False when it is sealed and there is no key, or
 * another key sealed it, or it was altered. */
bool webhook_secret_open(const char *stored, char out[WEBHOOK_SECRET_SIZE]);

/* The same with a given key (NULL: none), for replacing the key. */
bool webhook_secret_seal_with(const struct webhook_key *key, const char *secret,
                              char out[WEBHOOK_SEALED_SIZE]);
bool webhook_secret_open_with(const struct webhook_key *key, const char *stored,
                              char out[WEBHOOK_SECRET_SIZE]);

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
