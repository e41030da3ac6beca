/* Credentials and roles: bearer tokens, password hashes, and what each role
 * may do.  Scope (which administrative units a principal sees) is data in
 * the database; this file only knows roles and permissions. */
#ifndef BAOVE_AUTH_H
#define BAOVE_AUTH_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_RANDOM_BYTES 32 /* 256 bits of entropy */
#define AUTH_TOKEN_SIZE 64         /* prefix + base64url of 32 bytes + NUL */
#define AUTH_TOKEN_HASH_HEX_SIZE 65
#define AUTH_PASSWORD_HASH_SIZE crypto_pwhash_STRBYTES
#define AUTH_PASSWORD_MAX_LENGTH 1024

/* Prefixes tell a leaked secret's kind at a glance (and let secret
 * scanners find them): session tokens and machine API keys. */
#define AUTH_SESSION_TOKEN_PREFIX "bvt_"
#define AUTH_API_KEY_PREFIX "bvk_"

enum role {
    ROLE_ADMIN,
    ROLE_DISTRICT_OFFICER,
    ROLE_COMMUNE_OFFICER,
    ROLE_COMMUNE_CHAIR,
    ROLE_COLLABORATOR,
    ROLE_VIEWER,
    ROLE_SYNC_CLIENT,
    ROLE_PROVINCE_OFFICER, /* after 1/7/2025: the whole province, as a district officer had */
    ROLE_COUNT,
    ROLE_INVALID = -1
};

enum permission {
    PERMISSION_PUBLIC,        /* no credentials needed */
    PERMISSION_AUTHENTICATED, /* any valid credentials */
    PERMISSION_REFERENCE_READ, /* administrative units and other reference data */
    PERMISSION_CHILDREN_READ,  /* children, circumstances, risks, supports */
    PERMISSION_CHILDREN_WRITE,
    PERMISSION_CONSENTS_READ,
    PERMISSION_CONSENTS_WRITE,
    PERMISSION_CHANGES_READ,   /* the change feed */
    PERMISSION_AUDIT_READ,
    PERMISSION_CASES_READ,     /* cases, their history */
    PERMISSION_CASES_WRITE,    /* intake, transitions, notes */
    PERMISSION_CASES_TRANSFER, /* moving a case to another commune */
    PERMISSION_FUND_READ,      /* donors, pledges, payments, disbursements */
    PERMISSION_FUND_WRITE,
    PERMISSION_FUND_SUMMARY_READ, /* fund summary, targets, public disclosure */
    PERMISSION_FUND_TARGETS_WRITE,
    PERMISSION_JOBS_READ,         /* the worker's job queue */
    PERMISSION_INDICATORS_READ,   /* indicator snapshots */
    PERMISSION_INDICATORS_RECOMPUTE,
    PERMISSION_REPORTS_READ,      /* report periods, commune reports, summaries */
    PERMISSION_REPORTS_WRITE,     /* a commune's draft and submission */
    PERMISSION_REPORTS_REVIEW,    /* returning or accepting a submitted report */
    PERMISSION_REPORT_PERIODS_WRITE,
    PERMISSION_PLANS_WRITE,        /* plan years: targets, fund targets, periods */
    PERMISSION_NOTIFICATIONS_READ, /* outbox, channels */
    PERMISSION_NOTIFICATIONS_WRITE, /* channels, resending */
    PERMISSION_COUNT
};

/* Initialises libsodium; false when it cannot. Call once at start-up. */
bool auth_init(void);

const char *role_name(enum role role);
enum role role_parse(const char *name);
bool role_has_permission(enum role role, enum permission permission);

/* A new random token: prefix followed by base64url (no padding). */
void auth_token_generate(const char *prefix, char out[AUTH_TOKEN_SIZE]);

#define AUTH_UUID_SIZE 37
/* A random (version 4) UUID in canonical text form. */
void auth_random_uuid(char out[AUTH_UUID_SIZE]);

/* The SHA-256 of length bytes as 64 lower-case hex digits (tokens,
 * migration and function files' checksums). */
void auth_sha256_hex(const void *data, size_t length, char out[AUTH_TOKEN_HASH_HEX_SIZE]);

/* Lower-case hex SHA-256 of the token text: what the database stores. */
void auth_token_hash_hex(const char *token, char out[AUTH_TOKEN_HASH_HEX_SIZE]);

/* argon2id (libsodium's crypto_pwhash_str, interactive limits). */
bool auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_SIZE]);

/* Verifies a password.  With stored_hash NULL it verifies against a fixed
 * dummy hash and returns false, so an unknown username costs the same time
 * as a wrong password. */
bool auth_password_verify(const char *stored_hash, const char *password);

#endif
