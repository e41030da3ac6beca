/* Parsing request bodies and checking their fields declaratively.
 *
 * A handler describes the fields it accepts as a static array of
 * json_field, and json_check_fields() reports every violation at once as
 * RFC 9457 validation errors, so a client fixes all of them in one round. */
#ifndef BAOVE_JSON_H
#define BAOVE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 32

enum json_parse_result {
    JSON_PARSE_OK,
    JSON_PARSE_MALFORMED,     /* not JSON, or not UTF-8 */
    JSON_PARSE_TOO_DEEP,      /* nesting deeper than the limit */
    JSON_PARSE_DUPLICATE_KEY, /* an object names a key twice */
    JSON_PARSE_NOT_OBJECT     /* valid JSON, but not an object */
};

/* The deepest nesting of objects and arrays in a JSON text (strings are
 * skipped, escapes honoured).  Stops counting once `limit` is exceeded. */
size_t json_nesting_depth(const char *text, size_t length, size_t limit);

/* Parses exactly `length` bytes as one JSON object.  On success *out owns
 * the object; otherwise *out is NULL and detail says what is wrong. */
enum json_parse_result json_parse_object(const char *text, size_t length, json_t **out,
                                         char *detail, size_t detail_size);

enum json_field_kind {
    JSON_FIELD_STRING,
    JSON_FIELD_INTEGER, /* a JSON integer: 1.0, 1e6 and "1" are refused */
    JSON_FIELD_BOOLEAN,
    JSON_FIELD_DATE,    /* "YYYY-MM-DD", a real calendar day */
    JSON_FIELD_INSTANT, /* RFC 3339 with offset */
    JSON_FIELD_ENUM,    /* a string among `choices` */
    JSON_FIELD_UUID,
    JSON_FIELD_OBJECT,
    JSON_FIELD_ARRAY
};

struct json_field {
    const char *name;
    enum json_field_kind kind;
    bool required;
    bool nullable;              /* null is accepted (and means "absent") */
    size_t min_length;          /* strings, in characters */
    size_t max_length;          /* strings, in characters; arrays, in items;
                                 * 0 = unlimited */
    const char *const *choices; /* enums: NULL-terminated list */
    long long minimum;          /* integers; used when minimum < maximum */
    long long maximum;
};

/* Checks `object` against `fields`.  Each violation is appended to errors
 * with a pointer made of pointer_prefix + "/" + name.  Members not listed
 * are violations too unless allow_unknown.  Returns true when none was found. */
bool json_check_fields(const json_t *object, const struct json_field *fields, size_t count,
                       const char *pointer_prefix, bool allow_unknown, json_t *errors);

/* Applies a JSON Merge Patch (RFC 7396) to the object target, in place:
 * null removes a member, objects merge recursively, anything else replaces. */
void json_merge_patch(json_t *target, const json_t *patch);

/* The string member `name`, or NULL when absent or not a string. */
const char *json_member_string(const json_t *object, const char *name);

/* The number of Unicode characters in a valid UTF-8 string. */
size_t json_utf8_length(const char *text);

/* True for a canonical textual UUID (8-4-4-4-12 hexadecimal digits). */
bool json_is_uuid_text(const char *text);

#endif
