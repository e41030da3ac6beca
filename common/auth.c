#include "auth.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {
    [ROLE_ADMIN] = "admin",
    [ROLE_DISTRICT_OFFICER] = "district_officer",
    [ROLE_COMMUNE_OFFICER] = "commune_officer",
    [ROLE_COMMUNE_CHAIR] = "commune_chair",
    [ROLE_COLLABORATOR] = "collaborator",
    [ROLE_VIEWER] = "viewer",
    [ROLE_SYNC_CLIENT] = "sync_client",
    [ROLE_PROVINCE_OFFICER] = "province_officer",
};

/* The role × permission matrix.  Scope restrictions (which units) are applied
 * separately; this only says which operations a role may attempt at all. */
static const bool role_permissions[ROLE_COUNT][PERMISSION_COUNT] = {
    [ROLE_ADMIN] = {[PERMISSION_AUTHENTICATED] = true, [PERMISSION_REFERENCE_READ] = true,
                    [PERMISSION_CHILDREN_READ] = true, [PERMISSION_CHILDREN_WRITE] = true,
                    [PERMISSION_CONSENTS_READ] = true, [PERMISSION_CONSENTS_WRITE] = true,
                    [PERMISSION_CHANGES_READ] = true, [PERMISSION_AUDIT_READ] = true,
                    [PERMISSION_CASES_READ] = true, [PERMISSION_CASES_WRITE] = true,
                    [PERMISSION_CASES_TRANSFER] = true, [PERMISSION_FUND_READ] = true,
                    [PERMISSION_FUND_WRITE] = true, [PERMISSION_FUND_SUMMARY_READ] = true,
                    [PERMISSION_FUND_TARGETS_WRITE] = true, [PERMISSION_JOBS_READ] = true,
                    [PERMISSION_INDICATORS_READ] = true,
                    [PERMISSION_INDICATORS_RECOMPUTE] = true,
                    [PERMISSION_REPORTS_READ] = true, [PERMISSION_REPORTS_WRITE] = true,
                    [PERMISSION_REPORTS_REVIEW] = true,
                    [PERMISSION_REPORT_PERIODS_WRITE] = true,
                    [PERMISSION_PLANS_WRITE] = true,
                    [PERMISSION_NOTIFICATIONS_READ] = true,
                    [PERMISSION_NOTIFICATIONS_WRITE] = true},
    [ROLE_DISTRICT_OFFICER] = {[PERMISSION_AUTHENTICATED] = true,
                               [PERMISSION_REFERENCE_READ] = true,
                               [PERMISSION_CHILDREN_READ] = true,
                               [PERMISSION_CHILDREN_WRITE] = true,
                               [PERMISSION_CONSENTS_READ] = true,
                               [PERMISSION_CONSENTS_WRITE] = true,
                               [PERMISSION_CHANGES_READ] = true,
                               [PERMISSION_AUDIT_READ] = true,
                               [PERMISSION_CASES_READ] = true,
                               [PERMISSION_CASES_WRITE] = true,
                               [PERMISSION_CASES_TRANSFER] = true,
                               [PERMISSION_FUND_READ] = true,
                               [PERMISSION_FUND_WRITE] = true,
                               [PERMISSION_FUND_SUMMARY_READ] = true,
                               [PERMISSION_FUND_TARGETS_WRITE] = true,
                               [PERMISSION_JOBS_READ] = true,
                               [PERMISSION_INDICATORS_READ] = true,
                               [PERMISSION_INDICATORS_RECOMPUTE] = true,
                               [PERMISSION_REPORTS_READ] = true,
                               [PERMISSION_REPORTS_WRITE] = true,
                               [PERMISSION_REPORTS_REVIEW] = true,
                               [PERMISSION_REPORT_PERIODS_WRITE] = true,
                               [PERMISSION_PLANS_WRITE] = true,
                               [PERMISSION_NOTIFICATIONS_READ] = true,
                               [PERMISSION_NOTIFICATIONS_WRITE] = true},
    /* The commune's officer keeps its registry, cases, fund books and
     * reports. */
    [ROLE_COMMUNE_OFFICER] = {[PERMISSION_AUTHENTICATED] = true,
                              [PERMISSION_REFERENCE_READ] = true,
                              [PERMISSION_CHILDREN_READ] = true,
                              [PERMISSION_CHILDREN_WRITE] = true,
                              [PERMISSION_CONSENTS_READ] = true,
                              [PERMISSION_CONSENTS_WRITE] = true,
                              [PERMISSION_CHANGES_READ] = true,
                              [PERMISSION_CASES_READ] = true,
                              [PERMISSION_CASES_WRITE] = true,
                              [PERMISSION_FUND_READ] = true,
                              [PERMISSION_FUND_WRITE] = true,
                              [PERMISSION_FUND_SUMMARY_READ] = true,
                              [PERMISSION_INDICATORS_READ] = true,
                              [PERMISSION_REPORTS_READ] = true,
                              [PERMISSION_REPORTS_WRITE] = true},
    /* The chair approves plans (cases) and signs the commune's report; in
     * the registry, it reads. */
    [ROLE_COMMUNE_CHAIR] = {[PERMISSION_AUTHENTICATED] = true,
                            [PERMISSION_REFERENCE_READ] = true,
                            [PERMISSION_CHILDREN_READ] = true,
                            [PERMISSION_CONSENTS_READ] = true,
                            [PERMISSION_CASES_READ] = true,
                            [PERMISSION_CASES_WRITE] = true,
                            [PERMISSION_FUND_SUMMARY_READ] = true,
                            [PERMISSION_INDICATORS_READ] = true,
                            [PERMISSION_REPORTS_READ] = true,
                            [PERMISSION_REPORTS_WRITE] = true},
    /* Collaborators register children and what they see, nothing of
     * consents, cases, money or reports. */
    [ROLE_COLLABORATOR] = {[PERMISSION_AUTHENTICATED] = true,
                           [PERMISSION_REFERENCE_READ] = true,
                           [PERMISSION_CHILDREN_READ] = true,
                           [PERMISSION_CHILDREN_WRITE] = true},
    /* Aggregates only (e.g. the finance office, the Fatherland Front): no
     * personal data at all, not even donors'. */
    [ROLE_VIEWER] = {[PERMISSION_AUTHENTICATED] = true, [PERMISSION_REFERENCE_READ] = true,
                     [PERMISSION_FUND_SUMMARY_READ] = true,
                     [PERMISSION_INDICATORS_READ] = true,
                     [PERMISSION_REPORTS_READ] = true},
    /* The provincial database reads personal data through the feed only. */
    [ROLE_SYNC_CLIENT] = {[PERMISSION_AUTHENTICATED] = true,
                          [PERMISSION_REFERENCE_READ] = true,
                          [PERMISSION_CHANGES_READ] = true},
};

/* A hash of a random password nobody knows, computed once by auth_init()
 * and only read afterwards: verifying against it makes unknown usernames
 * cost as much as known ones. */
static char dummy_password_hash[AUTH_PASSWORD_HASH_SIZE];

bool auth_init(void)
{
    if (sodium_init() < 0)
        return false;
    char random_password[AUTH_TOKEN_SIZE];
    auth_token_generate("dummy_", random_password);
    return auth_password_hash(random_password, dummy_password_hash);
}

const char *role_name(enum role role)
{
    return role >= 0 && role < ROLE_COUNT ? role_names[role] : "invalid";
}

enum role role_parse(const char *name)
{
    for (int role = 0; role < ROLE_COUNT && name != NULL; role++)
        if (strcmp(role_names[role], name) == 0)
            return (enum role)role;
    return ROLE_INVALID;
}

bool role_has_permission(enum role role, enum permission permission)
{
    if (permission == PERMISSION_PUBLIC)
        return true;
    if (role < 0 || role >= ROLE_COUNT || permission >= PERMISSION_COUNT)
        return false;
    /* Since 1/7/2025 the province does what the district office did, over
     * the whole province (its scope is the province's unit). */
    if (role == ROLE_PROVINCE_OFFICER)
        role = ROLE_DISTRICT_OFFICER;
    return role_permissions[role][permission];
}

void auth_token_generate(const char *prefix, char out[AUTH_TOKEN_SIZE])
{
    unsigned char random[AUTH_TOKEN_RANDOM_BYTES];
    randombytes_buf(random, sizeof random);
    size_t prefix_length = strlen(prefix);
    memcpy(out, prefix, prefix_length);
    sodium_bin2base64(out + prefix_length, AUTH_TOKEN_SIZE - prefix_length, random,
                      sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(random, sizeof random);
}

void auth_random_uuid(char out[AUTH_UUID_SIZE])
{
    unsigned char bytes[16];
    randombytes_buf(bytes, sizeof bytes);
    bytes[6] = (bytes[6] & 0x0F) | 0x40; /* version 4 */
    bytes[8] = (bytes[8] & 0x3F) | 0x80; /* RFC 4122 variant */
    snprintf(out, AUTH_UUID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
             bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
             bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

void auth_sha256_hex(const void *data, size_t length, char out[AUTH_TOKEN_HASH_HEX_SIZE])
{
    /* libsodium's SHA-256, not OpenSSL 3's EVP_Digest(): that looks the
     * algorithm up (EVP_MD_fetch, under a lock shared by every thread) on
     * each call, 6 % of the API's CPU on reads when every request hashed
     * its token. */
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, length);
    sodium_bin2hex(out, AUTH_TOKEN_HASH_HEX_SIZE, digest, sizeof digest);
}

void auth_token_hash_hex(const char *token, char out[AUTH_TOKEN_HASH_HEX_SIZE])
{
    auth_sha256_hex(token, strlen(token), out);
}

bool auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_SIZE])
{
    return crypto_pwhash_str(out, password, strlen(password),
                             crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

bool auth_password_verify(const char *stored_hash, const char *password)
{
    size_t length = strlen(password);
    if (stored_hash == NULL) {
        /* The result is meaningless; only the time spent matters. */
        int ignored = crypto_pwhash_str_verify(dummy_password_hash, password, length);
        (void)ignored;
        return false;
    }
    return crypto_pwhash_str_verify(stored_hash, password, length) == 0;
}
