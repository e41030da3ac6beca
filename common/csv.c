#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(struct csv *csv, const char *bytes, size_t count)
{
    if (csv->failed)
        return;
    if (csv->length + count + 1 > csv->capacity) {
        size_t capacity = csv->capacity ? csv->capacity : 1024;
        while (csv->length + count + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(csv->data, capacity);
        if (grown == NULL) {
            csv->failed = true;
            return;
        }
        csv->data = grown;
        csv->capacity = capacity;
    }
    memcpy(csv->data + csv->length, bytes, count);
    csv->length += count;
    csv->data[csv->length] = '\0';
}

static void separate(struct csv *csv)
{
    if (csv->row_started)
        append(csv, &csv->delimiter, 1);
    csv->row_started = true;
}

void csv_init(struct csv *csv)
{
    csv_init_delimited(csv, ',');
}

void csv_init_delimited(struct csv *csv, char delimiter)
{
    *csv = (struct csv){.delimiter = delimiter};
    append(csv, "\xEF\xBB\xBF", 3);
}

void csv_text(struct csv *csv, const char *text)
{
    separate(csv);
    if (text == NULL || *text == '\0')
        return;
    bool formula = strchr("=+-@\t\r", text[0]) != NULL;
    const char special[] = {csv->delimiter, '"', '\r', '\n', '\0'};
    bool quote = formula || strpbrk(text, special) != NULL;
    if (quote)
        append(csv, "\"", 1);
    if (formula)
        append(csv, "'", 1);
    for (const char *run = text; *run != '\0';) {
        size_t plain = strcspn(run, "\"");
        append(csv, run, plain);
        run += plain;
        if (*run == '"') {
            append(csv, "\"\"", 2);
            run++;
        }
    }
    if (quote)
        append(csv, "\"", 1);
}

void csv_integer(struct csv *csv, long long value)
{
    separate(csv);
    char digits[24];
    int count = snprintf(digits, sizeof digits, "%lld", value);
    append(csv, digits, (size_t)count);
}

void csv_end_row(struct csv *csv)
{
    append(csv, "\r\n", 2);
    csv->row_started = false;
}

char *csv_finish(struct csv *csv, size_t *length)
{
    if (csv->failed) {
        csv_discard(csv);
        return NULL;
    }
    char *data = csv->data;
    *length = csv->length;
    *csv = (struct csv){0};
    return data;
}

void csv_discard(struct csv *csv)
{
    free(csv->data);
    *csv = (struct csv){0};
}
