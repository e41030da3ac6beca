/* Checks of text that arrives outside a JSON body: query parameters, path
 * segments and header values.  They are checked once, centrally, before any
 * handler runs, so that no handler sees bytes PostgreSQL would refuse
 * (SQLSTATE 22021) or that could split a header or a log line. */
#ifndef BAOVE_INPUT_H
#define BAOVE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

enum input_fault {
    INPUT_OK,
    INPUT_TOO_LONG,      /* more bytes than allowed */
    INPUT_NOT_UTF8,      /* malformed, overlong, surrogate or beyond U+10FFFF */
    INPUT_CONTROL        /* NUL, CR, LF or another C0/C1 control, or DEL */
};

/* Checks length bytes of value: at most max_length bytes of UTF-8 with no
 * control character (a horizontal tab is allowed when allow_tab, as in
 * header values). */
enum input_fault input_check(const char *value, size_t length, size_t max_length,
                             bool allow_tab);

/* What is wrong, as the end of a sentence: "is not valid UTF-8". */
const char *input_fault_text(enum input_fault fault);

/* A printable copy of a name that may be hostile, for a problem's errors:
 * bytes outside printable ASCII become \xNN; cut to fit size. */
void input_printable(const char *value, size_t length, char *out, size_t size);

/* The weight (RFC 9110 "q", 0 to 1000) of one element of an Accept or
 * Accept-Language header, the `length` bytes at `element`: 1000 without a
 * q parameter, 0 when it is malformed.  Looks no further than the element,
 * so reading a whole header stays linear in its length. */
int input_header_weight(const char *element, size_t length);

#endif
