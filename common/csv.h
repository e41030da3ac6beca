/* CSV for spreadsheets (RFC 4180): UTF-8 with a byte order mark so that
 * Excel opens Vietnamese text intact, CRLF line ends, fields quoted when
 * they need it.  Text fields that a spreadsheet would take for a formula
 * (starting with = + - @, tab or CR) are prefixed with an apostrophe: donor
 * names and narratives come from users and end up in Excel. */
#ifndef BAOVE_CSV_H
#define BAOVE_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct csv {
    char *data;       /* owned; NUL-terminated while building */
    size_t length;
    size_t capacity;
    bool row_started; /* a field was written on the current row */
    bool failed;      /* out of memory: csv_finish returns NULL */
    char delimiter;   /* ',' or ';' (what Vietnamese-locale Excel expects) */
};

/* Starts a document with the byte order mark, comma-separated. */
void csv_init(struct csv *csv);

/* The same with another delimiter: ';' opens as columns in Excel set to a
 * locale whose decimal separator is the comma (Vietnamese). */
void csv_init_delimited(struct csv *csv, char delimiter);

/* Appends a text field (NULL: an empty field). */
void csv_text(struct csv *csv, const char *text);

/* Appends an integer field, never quoted nor prefixed. */
void csv_integer(struct csv *csv, long long value);

/* Ends the current row. */
void csv_end_row(struct csv *csv);

/* The finished document, owned by the caller (free()), and its length; NULL
 * when memory ran out (everything is freed then). */
char *csv_finish(struct csv *csv, size_t *length);

/* Discards a document being built. */
void csv_discard(struct csv *csv);

#endif
