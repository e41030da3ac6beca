/* RFC 9457 problem details: the one shape of every 4xx and 5xx answer.
 *
 * Each kind of problem has a stable relative `type` URI (/problems/<slug>)
 * that the API also serves as a short human page, so a client developer who
 * meets one can read what it means and what to do. */
#ifndef BAOVE_PROBLEM_H
#define BAOVE_PROBLEM_H

#include <jansson.h>
#include <stddef.h>

#define PROBLEM_CONTENT_TYPE "application/problem+json"

enum problem_type {
    PROBLEM_MALFORMED_JSON,
    PROBLEM_JSON_TOO_DEEP,
    PROBLEM_DUPLICATE_KEY,
    PROBLEM_INVALID_PARAMETER,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_FORBIDDEN,
    PROBLEM_NOT_FOUND,
    PROBLEM_METHOD_NOT_ALLOWED,
    PROBLEM_CONFLICT,
    PROBLEM_REQUEST_IN_PROGRESS,
    PROBLEM_CURSOR_EXPIRED,
    PROBLEM_IDEMPOTENCY_KEY_REUSED,
    PROBLEM_PRECONDITION_FAILED,
    PROBLEM_PAYLOAD_TOO_LARGE,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_VALIDATION,
    PROBLEM_PRECONDITION_REQUIRED,
    PROBLEM_TOO_MANY_REQUESTS,
    PROBLEM_INTERNAL,
    PROBLEM_DATABASE_UNAVAILABLE,
    PROBLEM_NOT_READY,
    PROBLEM_OUTCOME_UNKNOWN,
    PROBLEM_SERVER_BUSY,
    PROBLEM_UNIT_ENDED,
    PROBLEM_TYPE_COUNT
};

struct problem_info {
    const char *slug;        /* the type is "/problems/" + slug */
    unsigned status;         /* the HTTP status that goes with it */
    const char *title;       /* short, the same for every occurrence */
    const char *explanation; /* the human page: what it means, what to do */
};

const struct problem_info *problem_info(enum problem_type type);

/* The problem with this slug, or NULL. */
const struct problem_info *problem_find(const char *slug);

/* Builds {type, title, status, detail, instance[, errors]}.  Takes ownership
 * of errors (an array of {pointer|parameter, detail}, or NULL). */
json_t *problem_body(enum problem_type type, const char *detail, const char *instance,
                     json_t *errors);

/* The languages of problems: English, or Vietnamese for people who prefer
 * it.  The type, status and errors are the same in both. */
enum problem_language { PROBLEM_ENGLISH, PROBLEM_VIETNAMESE };

/* The language an Accept-Language header (RFC 9110) prefers: Vietnamese when
 * its most preferred range is vi or vi-*, else (also for NULL) English. */
enum problem_language problem_language(const char *accept_language);

/* problem_body in a language: a Vietnamese title, and the detail from a
 * table of the common details, else the type's Vietnamese explanation
 * followed by the English detail in brackets. */
json_t *problem_body_in(enum problem_type type, const char *detail, const char *instance,
                        json_t *errors, enum problem_language language);

/* A problem type's title and explanation (its page) in a language. */
const char *problem_title_in(enum problem_type type, enum problem_language language);
const char *problem_explanation_in(enum problem_type type, enum problem_language language);

/* Appends {"pointer": pointer, "detail": …} to errors (a JSON array). */
void problem_add_field_error(json_t *errors, const char *pointer, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends {"parameter": name, "detail": …} to errors, for query parameters. */
void problem_add_parameter_error(json_t *errors, const char *name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
