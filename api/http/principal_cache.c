#include "http/principal_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"

/* Direct-mapped: a token's slot is fixed by its hash, and a newer token in
 * the same slot evicts the older one (which is then looked up again).  The
 * hashes are SHA-256 of random tokens, hence evenly spread. */
#define PRINCIPAL_CACHE_SLOTS 2048

struct slot {
    struct principal principal; /* principal.token_hash[0] == '\0': empty */
    int64_t stored_us;          /* monotonic: real elapsed time, not BAOVE_NOW */
};

/* The process's cache: global mutable state, shared by every request
 * thread, each of which may find, store or forget an entry; under
 * cache_lock, held only to copy one slot in or out.  It is a cache of the
 * database, never trusted on its own (principal_cache.h): losing or
 * evicting an entry costs one lookup. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[PRINCIPAL_CACHE_SLOTS];

/* The slot of a token hash (64 lower-case hex digits): its first eight. */
static struct slot *slot_of(const char *token_hash)
{
    uint32_t value = 0;
    for (int i = 0; i < 8 && token_hash[i] != '\0'; i++) {
        char c = token_hash[i];
        value = value << 4 | (uint32_t)(c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    return &slots[value % PRINCIPAL_CACHE_SLOTS];
}

bool principal_cache_find(const char *token_hash, struct principal *principal)
{
    struct slot *slot = slot_of(token_hash);
    int64_t now = clock_monotonic_us();
    pthread_mutex_lock(&cache_lock);
    bool found = slot->principal.token_hash[0] != '\0' &&
                 strcmp(slot->principal.token_hash, token_hash) == 0 &&
                 now - slot->stored_us < PRINCIPAL_CACHE_MAX_AGE_US;
    if (found)
        *principal = slot->principal;
    pthread_mutex_unlock(&cache_lock);
    return found;
}

void principal_cache_store(const struct principal *principal)
{
    struct slot *slot = slot_of(principal->token_hash);
    int64_t now = clock_monotonic_us();
    pthread_mutex_lock(&cache_lock);
    slot->principal = *principal;
    slot->stored_us = now;
    pthread_mutex_unlock(&cache_lock);
}

void principal_cache_forget(const char *token_hash)
{
    struct slot *slot = slot_of(token_hash);
    pthread_mutex_lock(&cache_lock);
    if (strcmp(slot->principal.token_hash, token_hash) == 0)
        slot->principal.token_hash[0] = '\0';
    pthread_mutex_unlock(&cache_lock);
}
