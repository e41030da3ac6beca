/* Stored webhook secrets (common/webhook.h) as the worker opens them: any
 * text must open into a bounded, NUL-terminated secret or not at all, and
 * what is sealed opens to itself.  The key is a fixed one, loaded once from a
 * file of this process's own (BAOVE_SECRETS_KEY_FILE is a path). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_text.h"

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads the fixed key the first time; aborts when it cannot. */
static void load_key_once(void)
{
    static bool loaded;
    if (loaded)
        return;
    char path[] = "/tmp/baove-fuzz-key-XXXXXX";
    int descriptor = mkstemp(path);
    static const char key[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char error[256];
    if (descriptor < 0 || write(descriptor, key, sizeof key - 1) != (ssize_t)(sizeof key - 1))
        abort();
    close(descriptor);
    setenv("BAOVE_SECRETS_KEY_FILE", path, 1);
    bool ok = webhook_sealing_init(error, sizeof error);
    unlink(path);
    if (!ok || !webhook_sealing_enabled())
        abort();
    loaded = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_key_once();
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    char opened[WEBHOOK_SECRET_SIZE];
    if (webhook_secret_open(text, opened) && strnlen(opened, sizeof opened) >= sizeof opened)
        abort(); /* an unterminated secret */
    char sealed[WEBHOOK_SEALED_SIZE];
    if (strlen(text) < WEBHOOK_SECRET_SIZE) {
        if (!webhook_secret_seal(text, sealed) || !webhook_secret_open(sealed, opened) ||
            strcmp(opened, text) != 0)
            abort(); /* a sealed secret that does not open to itself */
    }
    free(text);
    return 0;
}
