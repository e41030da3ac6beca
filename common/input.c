#include "input.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the UTF-8 sequence at text (of at most available bytes),
 * or 0 when it is malformed (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF); code_point gets its value. */
static size_t sequence_length(const unsigned char *text, size_t available, uint32_t *code_point)
{
    unsigned char lead = text[0];
    size_t length;
    uint32_t value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, value = lead & 0x1F, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, value = lead & 0x0F, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (length > available)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (text[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

static bool is_control(uint32_t code_point, bool allow_tab)
{
    if (code_point == '\t')
        return !allow_tab;
    return code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
}

enum input_fault input_check(const char *value, size_t length, size_t max_length,
                             bool allow_tab)
{
    if (length > max_length)
        return INPUT_TOO_LONG;
    const unsigned char *text = (const unsigned char *)value;
    for (size_t at = 0; at < length;) {
        uint32_t code_point;
        size_t step = sequence_length(text + at, length - at, &code_point);
        if (step == 0)
            return INPUT_NOT_UTF8;
        if (is_control(code_point, allow_tab))
            return INPUT_CONTROL;
        at += step;
    }
    return INPUT_OK;
}

const char *input_fault_text(enum input_fault fault)
{
    switch (fault) {
    case INPUT_OK: return "is valid";
    case INPUT_TOO_LONG: return "is too long";
    case INPUT_NOT_UTF8: return "is not valid UTF-8";
    case INPUT_CONTROL: return "contains a control character";
    }
    return "is invalid";
}

void input_printable(const char *value, size_t length, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)value[i];
        char piece[5];
        int written = byte >= 0x20 && byte < 0x7F && byte != '\\'
                          ? snprintf(piece, sizeof piece, "%c", byte)
                          : snprintf(piece, sizeof piece, "\\x%02X", byte);
        if (used + (size_t)written >= size)
            break;
        for (int j = 0; j < written; j++)
            out[used++] = piece[j];
    }
    out[used] = '\0';
}

int input_header_weight(const char *element, size_t length)
{
    const char *end = element + length;
    const char *value = NULL;
    for (const char *parameter = memchr(element, ';', length); parameter != NULL;
         parameter = memchr(parameter + 1, ';', (size_t)(end - parameter - 1))) {
        const char *name = parameter + 1;
        while (name < end && (*name == ' ' || *name == '\t'))
            name++;
        if (end - name >= 2 && (name[0] == 'q' || name[0] == 'Q') && name[1] == '=') {
            value = name + 2;
            break;
        }
    }
    if (value == NULL)
        return 1000;
    /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
    if (value >= end || (*value != '0' && *value != '1'))
        return 0;
    int weight = (*value - '0') * 1000, scale = 100;
    const char *digit = value + 1;
    if (digit < end && *digit == '.')
        for (digit++; digit < end && scale > 0 && *digit >= '0' && *digit <= '9'; digit++) {
            weight += (*digit - '0') * scale;
            scale /= 10;
        }
    return weight <= 1000 ? weight : 0;
}
