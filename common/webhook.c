#include "webhook.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define BASE64_VARIANT sodium_base64_VARIANT_ORIGINAL

void webhook_secret_generate(char out[WEBHOOK_SECRET_SIZE])
{
    unsigned char key[WEBHOOK_SECRET_BYTES];
    randombytes_buf(key, sizeof key);
    memcpy(out, WEBHOOK_SECRET_PREFIX, sizeof WEBHOOK_SECRET_PREFIX);
    size_t prefix = strlen(WEBHOOK_SECRET_PREFIX);
    sodium_bin2base64(out + prefix, WEBHOOK_SECRET_SIZE - prefix, key, sizeof key,
                      BASE64_VARIANT);
    sodium_memzero(key, sizeof key);
}

bool webhook_sign(const char *secret, const char *id, const char *timestamp, const char *body,
                  size_t body_length, char out[WEBHOOK_SIGNATURE_SIZE])
{
    size_t prefix = strlen(WEBHOOK_SECRET_PREFIX);
    if (strncmp(secret, WEBHOOK_SECRET_PREFIX, prefix) != 0)
        return false;
    unsigned char key[128];
    size_t key_length = 0;
    if (sodium_base642bin(key, sizeof key, secret + prefix, strlen(secret + prefix), NULL,
                          &key_length, NULL, BASE64_VARIANT) != 0 ||
        key_length == 0)
        return false;
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&state, key, key_length);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)body, body_length);
    crypto_auth_hmacsha256_final(&state, mac);
    sodium_memzero(key, sizeof key);
    memcpy(out, "v1,", 4);
    sodium_bin2base64(out + 3, WEBHOOK_SIGNATURE_SIZE - 3, mac, sizeof mac, BASE64_VARIANT);
    return true;
}

/* ---- secrets at rest ---------------------------------------------------- */

/* The process's sealing key: set once by webhook_sealing_init() when a
 * process starts, before its threads, and only read after.  NULL: none. */
static struct webhook_key process_key;
static const struct webhook_key *sealing_key;

/* Bound to every sealed secret: a sealed value means nothing elsewhere. */
static const unsigned char SEALED_CONTEXT[] = "baove notification channel secret";

bool webhook_key_read(const char *path, struct webhook_key *key, char *error,
                      size_t error_size)
{
    char text[80] = "";
    FILE *file = fopen(path, "re");
    size_t length = file != NULL ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file != NULL)
        fclose(file);
    text[length] = '\0';
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r' ||
                          text[length - 1] == ' '))
        text[--length] = '\0';
    size_t decoded = 0;
    bool ok = file != NULL && length == 2 * sizeof key->bytes &&
              sodium_hex2bin(key->bytes, sizeof key->bytes, text, length, NULL, &decoded,
                             NULL) == 0 &&
              decoded == sizeof key->bytes;
    sodium_memzero(text, sizeof text);
    if (!ok) {
        sodium_memzero(key->bytes, sizeof key->bytes);
        snprintf(error, error_size, "the key file %s %s", path,
                 file == NULL ? "cannot be read"
                              : "must hold 64 hex digits (32 random bytes), such as "
                                "`od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'` writes");
    }
    return ok;
}

bool webhook_sealing_init(char *error, size_t error_size)
{
    const char *path = config_string("BAOVE_SECRETS_KEY_FILE", "");
    sealing_key = NULL;
    if (path[0] == '\0')
        return true;
    if (sodium_init() < 0) {
        snprintf(error, error_size, "libsodium could not be initialised");
        return false;
    }
    char why[256];
    if (!webhook_key_read(path, &process_key, why, sizeof why)) {
        snprintf(error, error_size, "BAOVE_SECRETS_KEY_FILE: %s", why);
        return false;
    }
    sealing_key = &process_key;
    return true;
}

bool webhook_sealing_enabled(void)
{
    return sealing_key != NULL;
}

/* A sealed secret's bytes: the nonce, then the ciphertext and its tag. */
enum {
    SEALED_NONCE = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    SEALED_TAG = crypto_aead_xchacha20poly1305_ietf_ABYTES
};

bool webhook_secret_seal_with(const struct webhook_key *key, const char *secret,
                              char out[WEBHOOK_SEALED_SIZE])
{
    size_t length = strlen(secret);
    unsigned char sealed[SEALED_NONCE + WEBHOOK_SECRET_SIZE + SEALED_TAG];
    if (key == NULL || length >= WEBHOOK_SECRET_SIZE)
        return false;
    randombytes_buf(sealed, SEALED_NONCE);
    unsigned long long sealed_length = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        sealed + SEALED_NONCE, &sealed_length, (const unsigned char *)secret, length,
        SEALED_CONTEXT, sizeof SEALED_CONTEXT - 1, NULL, sealed, key->bytes);
    size_t prefix = strlen(WEBHOOK_SEALED_PREFIX);
    memcpy(out, WEBHOOK_SEALED_PREFIX, prefix);
    sodium_bin2base64(out + prefix, WEBHOOK_SEALED_SIZE - prefix, sealed,
                      SEALED_NONCE + (size_t)sealed_length, BASE64_VARIANT);
    return true;
}

bool webhook_secret_open_with(const struct webhook_key *key, const char *stored,
                              char out[WEBHOOK_SECRET_SIZE])
{
    size_t prefix = strlen(WEBHOOK_SEALED_PREFIX);
    if (strncmp(stored, WEBHOOK_SEALED_PREFIX, prefix) != 0) {
        /* Stored before sealing, or without a key. */
        size_t length = strlen(stored);
        if (length >= WEBHOOK_SECRET_SIZE)
            return false;
        memcpy(out, stored, length + 1);
        return true;
    }
    unsigned char sealed[WEBHOOK_SEALED_SIZE];
    size_t sealed_length = 0;
    unsigned long long length = 0;
    bool opened = key != NULL &&
                  sodium_base642bin(sealed, sizeof sealed, stored + prefix,
                                    strlen(stored + prefix), NULL, &sealed_length, NULL,
                                    BASE64_VARIANT) == 0 &&
                  sealed_length >= SEALED_NONCE + SEALED_TAG &&
                  sealed_length - SEALED_NONCE - SEALED_TAG < WEBHOOK_SECRET_SIZE &&
                  crypto_aead_xchacha20poly1305_ietf_decrypt(
                      (unsigned char *)out, &length, NULL, sealed + SEALED_NONCE,
                      sealed_length - SEALED_NONCE, SEALED_CONTEXT, sizeof SEALED_CONTEXT - 1,
                      sealed, key->bytes) == 0;
    out[opened ? length : 0] = '\0';
    return opened;
}

bool webhook_secret_seal(const char *secret, char out[WEBHOOK_SEALED_SIZE])
{
    return webhook_secret_seal_with(sealing_key, secret, out);
}

bool webhook_secret_open(const char *stored, char out[WEBHOOK_SECRET_SIZE])
{
    return webhook_secret_open_with(sealing_key, stored, out);
}

bool webhook_host_allowed(const char *host)
{
    const char *list = config_string("BAOVE_WEBHOOK_ALLOW_HOSTS", "");
    size_t host_length = strlen(host);
    while (*list != '\0') {
        while (*list == ',' || *list == ' ')
            list++;
        size_t length = strcspn(list, ", ");
        if (length > 0 && length == host_length && strncasecmp(list, host, length) == 0)
            return true;
        list += length;
    }
    return false;
}

static bool ipv4_private(uint32_t address)
{
    static const struct {
        uint32_t network;
        int bits;
    } ranges[] = {
        {0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},
        {0xA9FE0000, 16}, {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24},
        {0xC0A80000, 16}, {0xC6120000, 15}, {0xC6336400, 24}, {0xCB007100, 24},
        {0xE0000000, 4},  {0xF0000000, 4},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - ranges[i].bits);
        if ((address & mask) == ranges[i].network)
            return true;
    }
    return false;
}

bool webhook_address_private(const struct sockaddr *address)
{
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)address;
        return ipv4_private(ntohl(v4->sin_addr.s_addr));
    }
    if (address->sa_family != AF_INET6)
        return true;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)address;
    const unsigned char *bytes = v6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) || IN6_IS_ADDR_V4COMPAT(&v6->sin6_addr)) {
        uint32_t embedded = (uint32_t)bytes[12] << 24 | (uint32_t)bytes[13] << 16 |
                            (uint32_t)bytes[14] << 8 | bytes[15];
        return ipv4_private(embedded);
    }
    /* Only global unicast (2000::/3) is public; within it, documentation
     * (2001:db8::/32) and NAT64/6to4 prefixes are refused too. */
    if ((bytes[0] & 0xE0) != 0x20)
        return true;
    if (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8)
        return true;
    if (bytes[0] == 0x20 && bytes[1] == 0x02)
        return true;
    return false;
}

const char *webhook_url_host(const char *url, bool *https, char host[WEBHOOK_HOST_SIZE])
{
    /* A URL has no spaces nor control characters: CR or LF in one would
     * split the request line or a header of every delivery. */
    for (const unsigned char *c = (const unsigned char *)url; *c != '\0'; c++)
        if (*c <= ' ' || *c == 0x7F)
            return "must not contain spaces or control characters";
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        rest = url + 7;
    } else {
        return "must be an https URL";
    }
    size_t authority = strcspn(rest, "/?#");
    if (memchr(rest, '@', authority) != NULL)
        return "must not carry user information";
    size_t length;
    if (rest[0] == '[') {
        const char *end = memchr(rest, ']', authority);
        if (end == NULL)
            return "has a malformed host";
        rest++;
        length = (size_t)(end - rest);
    } else {
        length = strcspn(rest, ":/?#");
    }
    if (length == 0 || length >= WEBHOOK_HOST_SIZE)
        return "must name a host";
    memcpy(host, rest, length);
    host[length] = '\0';
    for (size_t i = 0; i < length; i++)
        if (isspace((unsigned char)host[i]) || iscntrl((unsigned char)host[i]))
            return "has a malformed host";
    return NULL;
}

const char *webhook_url_refusal(const char *url)
{
    bool https = false;
    char host[WEBHOOK_HOST_SIZE];
    const char *refusal = webhook_url_host(url, &https, host);
    if (refusal != NULL)
        return refusal;
    bool allowed = webhook_host_allowed(host);
    if (!https && !allowed)
        return "must be an https URL";
    if (allowed)
        return NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    if (getaddrinfo(host, NULL, &hints, &addresses) != 0)
        return "names a host that does not resolve";
    for (struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        if (webhook_address_private(address->ai_addr)) {
            refusal = "resolves to a private, loopback or link-local address";
            break;
        }
    }
    freeaddrinfo(addresses);
    return refusal;
}
