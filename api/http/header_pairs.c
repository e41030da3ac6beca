#include "http/header_pairs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Counted first (pairs NULL), then copied. */
struct header_copy {
    char **pairs;
    size_t count, stored;
    bool failed;
};

static enum MHD_Result copy_header(void *context, enum MHD_ValueKind kind, const char *name,
                                   const char *value)
{
    (void)kind;
    struct header_copy *copy = context;
    if (copy->pairs == NULL) {
        copy->count++;
        return MHD_YES;
    }
    if (copy->stored == copy->count)
        return MHD_NO;
    char *pair_name = strdup(name), *pair_value = strdup(value != NULL ? value : "");
    copy->pairs[2 * copy->stored] = pair_name;
    copy->pairs[2 * copy->stored + 1] = pair_value;
    copy->stored++;
    copy->failed = copy->failed || pair_name == NULL || pair_value == NULL;
    return copy->failed ? MHD_NO : MHD_YES;
}

char **header_pairs_copy(struct MHD_Connection *connection)
{
    struct header_copy copy = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, copy_header, &copy);
    copy.pairs = calloc(2 * copy.count + 2, sizeof *copy.pairs);
    if (copy.pairs == NULL)
        return NULL;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, copy_header, &copy);
    if (copy.failed) {
        header_pairs_free(copy.pairs);
        return NULL;
    }
    return copy.pairs;
}

void header_pairs_free(char **pairs)
{
    /* A failed copy may hold a NULL name beside a value: both are freed. */
    for (char **at = pairs; at != NULL && (at[0] != NULL || at[1] != NULL); at += 2) {
        free(at[0]);
        free(at[1]);
    }
    free(pairs);
}

const char *header_pairs_find(const char *const *pairs, const char *name)
{
    for (const char *const *header = pairs; header != NULL && *header != NULL; header += 2)
        if (strcasecmp(header[0], name) == 0)
            return header[1];
    return NULL;
}
