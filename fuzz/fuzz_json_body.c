/* The JSON body checks: parsing (depth, duplicate keys, UTF-8) and field
 * rules of every kind, as a request body meets them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sexes[] = {"male", "female", NULL};
static const struct json_field fields[] = {
    {.name = "name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "count", .kind = JSON_FIELD_INTEGER, .minimum = 0, .maximum = 1000},
    {.name = "flag", .kind = JSON_FIELD_BOOLEAN, .nullable = true},
    {.name = "born", .kind = JSON_FIELD_DATE},
    {.name = "at", .kind = JSON_FIELD_INSTANT},
    {.name = "sex", .kind = JSON_FIELD_ENUM, .choices = sexes},
    {.name = "id", .kind = JSON_FIELD_UUID},
    {.name = "child", .kind = JSON_FIELD_OBJECT},
    {.name = "items", .kind = JSON_FIELD_ARRAY},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    json_t *object = NULL;
    char detail[256];
    if (json_parse_object(text, size, &object, detail, sizeof detail) == JSON_PARSE_OK) {
        json_t *errors = json_array();
        json_check_fields(object, fields, sizeof fields / sizeof fields[0], "", false, errors);
        json_t *patched = json_deep_copy(object);
        json_merge_patch(patched, object);
        json_decref(patched);
        json_decref(errors);
        json_decref(object);
    }
    free(text);
    return 0;
}
