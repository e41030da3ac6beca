/* What every harness needs: the fuzzer's bytes as a NUL-terminated string
 * (owned by the caller: free()), or NULL when memory ran out. */
#ifndef BAOVE_FUZZ_TEXT_H
#define BAOVE_FUZZ_TEXT_H

#include <stddef.h>
#include <stdint.h>

char *fuzz_text(const uint8_t *data, size_t size);

#endif
