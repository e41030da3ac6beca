/* The webhook URL rules (without name resolution, which would reach the
 * network): scheme, host, user info, and no space or control character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_text(data, size);
    if (url == NULL)
        return 0;
    bool https;
    char host[WEBHOOK_HOST_SIZE];
    if (webhook_url_host(url, &https, host) == NULL) {
        if (strpbrk(url, "\r\n\t ") != NULL || strlen(host) >= WEBHOOK_HOST_SIZE)
            abort(); /* a header-splitting URL was accepted */
        webhook_host_allowed(host);
    }
    free(url);
    return 0;
}
