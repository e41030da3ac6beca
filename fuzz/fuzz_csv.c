/* The CSV writer: fields split at NUL bytes, rows at 0x1E, every kind of
 * text a user may put in a narrative. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    struct csv csv;
    csv_init(&csv);
    for (size_t at = 0; at <= size; at += strlen(text + at) + 1) {
        char *field = text + at;
        char *row_end = strchr(field, 0x1E);
        if (row_end != NULL)
            *row_end = '\0';
        csv_text(&csv, field);
        csv_integer(&csv, (long long)at - 1000);
        if (row_end != NULL)
            csv_end_row(&csv);
    }
    csv_end_row(&csv);
    size_t length;
    char *document = csv_finish(&csv, &length);
    if (document != NULL && strlen(document) != length)
        abort(); /* a NUL inside the document */
    free(document);
    free(text);
    return 0;
}
