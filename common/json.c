#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "problem.h"

size_t json_nesting_depth(const char *text, size_t length, size_t limit)
{
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
            if (depth > deepest)
                deepest = depth;
            if (deepest > limit)
                return deepest;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

enum json_parse_result json_parse_object(const char *text, size_t length, json_t **out,
                                         char *detail, size_t detail_size)
{
    *out = NULL;
    /* Depth is checked before parsing: jansson's own limit (2048) is far
     * above anything a Baove document needs, and a shallow bound keeps
     * recursive handling of the parsed value cheap. */
    if (json_nesting_depth(text, length, JSON_MAX_DEPTH) > JSON_MAX_DEPTH) {
        snprintf(detail, detail_size, "The body nests objects or arrays more than %d deep.",
                 JSON_MAX_DEPTH);
        return JSON_PARSE_TOO_DEEP;
    }
    json_error_t error;
    json_t *value = json_loadb(text, length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (value == NULL) {
        if (json_error_code(&error) == json_error_duplicate_key) {
            snprintf(detail, detail_size, "%s (line %d, column %d).", error.text, error.line,
                     error.column);
            return JSON_PARSE_DUPLICATE_KEY;
        }
        snprintf(detail, detail_size, "The body is not valid JSON: %s (line %d, column %d).",
                 error.text, error.line, error.column);
        return JSON_PARSE_MALFORMED;
    }
    if (!json_is_object(value)) {
        json_decref(value);
        snprintf(detail, detail_size, "The body must be a JSON object.");
        return JSON_PARSE_NOT_OBJECT;
    }
    *out = value;
    return JSON_PARSE_OK;
}

void json_merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)patch, key, value) {
        if (json_is_null(value)) {
            json_object_del(target, key);
        } else if (json_is_object(value)) {
            json_t *existing = json_object_get(target, key);
            if (!json_is_object(existing)) {
                existing = json_object();
                json_object_set_new(target, key, existing);
            }
            json_merge_patch(existing, value);
        } else {
            json_object_set(target, key, value);
        }
    }
}

size_t json_utf8_length(const char *text)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if ((*p & 0xC0) != 0x80)
            count++;
    return count;
}

bool json_is_uuid_text(const char *text)
{
    if (text == NULL || strlen(text) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
            return false;
    }
    return true;
}

const char *json_member_string(const json_t *object, const char *name)
{
    const json_t *member = json_object_get(object, name);
    return json_is_string(member) ? json_string_value(member) : NULL;
}

static const char *kind_description(const struct json_field *field)
{
    switch (field->kind) {
    case JSON_FIELD_STRING: return "a string";
    case JSON_FIELD_INTEGER: return "a whole number";
    case JSON_FIELD_BOOLEAN: return "true or false";
    case JSON_FIELD_DATE: return "a date YYYY-MM-DD";
    case JSON_FIELD_INSTANT: return "an RFC 3339 date-time with offset";
    case JSON_FIELD_ENUM: return "one of the listed values";
    case JSON_FIELD_UUID: return "a UUID";
    case JSON_FIELD_OBJECT: return "an object";
    case JSON_FIELD_ARRAY: return "an array";
    }
    return "a value";
}

static bool check_string_length(const struct json_field *field, const char *text,
                                const char *pointer, json_t *errors)
{
    size_t length = json_utf8_length(text);
    if (length < field->min_length) {
        problem_add_field_error(errors, pointer,
                                field->min_length == 1 ? "must not be empty"
                                                       : "must be at least %zu characters",
                                field->min_length);
        return false;
    }
    if (field->max_length != 0 && length > field->max_length) {
        problem_add_field_error(errors, pointer, "must be at most %zu characters",
                                field->max_length);
        return false;
    }
    return true;
}

static void list_choices(const char *const *choices, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; choices[i] != NULL && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Checks one present, non-null member against its field description. */
static bool check_value(const struct json_field *field, const json_t *value,
                        const char *pointer, json_t *errors)
{
    bool type_ok = true;
    switch (field->kind) {
    case JSON_FIELD_STRING:
    case JSON_FIELD_DATE:
    case JSON_FIELD_INSTANT:
    case JSON_FIELD_ENUM:
    case JSON_FIELD_UUID: type_ok = json_is_string(value); break;
    case JSON_FIELD_INTEGER: type_ok = json_is_integer(value); break;
    case JSON_FIELD_BOOLEAN: type_ok = json_is_boolean(value); break;
    case JSON_FIELD_OBJECT: type_ok = json_is_object(value); break;
    case JSON_FIELD_ARRAY: type_ok = json_is_array(value); break;
    }
    if (!type_ok) {
        problem_add_field_error(errors, pointer, "must be %s", kind_description(field));
        return false;
    }
    const char *text = json_is_string(value) ? json_string_value(value) : NULL;
    switch (field->kind) {
    case JSON_FIELD_STRING:
        return check_string_length(field, text, pointer, errors);
    case JSON_FIELD_ARRAY:
        if (field->max_length > 0 && json_array_size(value) > field->max_length) {
            problem_add_field_error(errors, pointer, "must have at most %zu items",
                                    field->max_length);
            return false;
        }
        return true;
    case JSON_FIELD_DATE: {
        struct civil_date date;
        if (!date_parse(text, &date)) {
            problem_add_field_error(errors, pointer, "must be a real date YYYY-MM-DD");
            return false;
        }
        return true;
    }
    case JSON_FIELD_INSTANT: {
        int64_t instant;
        if (!clock_parse_instant(text, &instant)) {
            problem_add_field_error(errors, pointer,
                                    "must be an RFC 3339 date-time with offset");
            return false;
        }
        return true;
    }
    case JSON_FIELD_ENUM:
        for (size_t i = 0; field->choices[i] != NULL; i++)
            if (strcmp(field->choices[i], text) == 0)
                return true;
        char choices[512];
        list_choices(field->choices, choices, sizeof choices);
        problem_add_field_error(errors, pointer, "must be one of: %s", choices);
        return false;
    case JSON_FIELD_UUID:
        if (!json_is_uuid_text(text)) {
            problem_add_field_error(errors, pointer, "must be a UUID");
            return false;
        }
        return true;
    case JSON_FIELD_INTEGER: {
        long long number = json_integer_value(value);
        if (field->minimum < field->maximum &&
            (number < field->minimum || number > field->maximum)) {
            problem_add_field_error(errors, pointer, "must be from %lld to %lld",
                                    field->minimum, field->maximum);
            return false;
        }
        return true;
    }
    case JSON_FIELD_BOOLEAN:
    case JSON_FIELD_OBJECT:
        return true;
    }
    return true;
}

/* prefix + "/" + name, with name escaped as RFC 6901 requires ("~" and "/"). */
static void pointer_join(char *out, size_t size, const char *prefix, const char *name)
{
    size_t used = (size_t)snprintf(out, size, "%s/", prefix);
    for (const char *p = name; *p != '\0' && used + 3 < size; p++) {
        if (*p == '~' || *p == '/') {
            out[used++] = '~';
            out[used++] = *p == '~' ? '0' : '1';
        } else {
            out[used++] = *p;
        }
    }
    out[used < size ? used : size - 1] = '\0';
}

static const struct json_field *find_field(const struct json_field *fields, size_t count,
                                           const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

bool json_check_fields(const json_t *object, const struct json_field *fields, size_t count,
                       const char *pointer_prefix, bool allow_unknown, json_t *errors)
{
    size_t errors_before = json_array_size(errors);
    char pointer[256];
    for (size_t i = 0; i < count; i++) {
        const struct json_field *field = &fields[i];
        pointer_join(pointer, sizeof pointer, pointer_prefix, field->name);
        const json_t *value = json_object_get(object, field->name);
        if (value == NULL || (json_is_null(value) && field->nullable)) {
            if (field->required)
                problem_add_field_error(errors, pointer, "is required");
            continue;
        }
        if (json_is_null(value)) {
            problem_add_field_error(errors, pointer, "must not be null");
            continue;
        }
        check_value(field, value, pointer, errors);
    }
    if (!allow_unknown) {
        const char *name;
        const json_t *value;
        json_object_foreach((json_t *)object, name, value) {
            if (find_field(fields, count, name) == NULL) {
                pointer_join(pointer, sizeof pointer, pointer_prefix, name);
                problem_add_field_error(errors, pointer, "is not a known field");
            }
        }
    }
    return json_array_size(errors) == errors_before;
}
