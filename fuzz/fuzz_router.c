/* The router: a method and a path (split at the first space) against the
 * real route table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    char *space = strchr(text, ' ');
    const char *method = space != NULL ? text : "GET";
    const char *path = space != NULL ? space + 1 : text;
    if (space != NULL)
        *space = '\0';
    struct route_match match;
    memset(&match, 0, sizeof match);
    if (route_find(api_routes, api_route_count, method, path, &match) == ROUTE_FOUND) {
        for (size_t i = 0; i < match.param_count; i++)
            if (route_param(&match, match.params[i].name) == NULL)
                abort();
    }
    free(text);
    return 0;
}
