/* Query parameters, path segments and header values: the central text
 * check, the printable naming of hostile names, and the reading of
 * Forwarded / X-Forwarded-For behind a trusted proxy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"

#include "http/proxies.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    input_check(text, size, 1024, size % 2 == 0);
    char printable[96];
    input_printable(text, size, printable, sizeof printable);
    if (strlen(printable) >= sizeof printable)
        abort();
    char *header = fuzz_text(data, size);
    if (header == NULL)
        return 0;
    /* Either header syntax, chosen by the input. */
    char error[128];
    proxies_init("127.0.0.1, ::1", size % 3 == 0 ? "forwarded" : "x-forwarded-for", error,
                 sizeof error);
    char address[64];
    proxies_client_address("127.0.0.1", header, address, sizeof address);
    proxies_client_address("::1", header, address, sizeof address);
    char network[72];
    proxies_client_network(address, network, sizeof network);
    proxies_client_network(header, network, sizeof network);
    proxies_client_address("10.0.0.1", header, address, sizeof address);
    if (strcmp(address, "10.0.0.1") != 0)
        abort(); /* never trusted from anyone else */
    free(header);
    return 0;
}
