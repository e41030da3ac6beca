/* A request's headers as name, value, name, value…, NULL: how a batch's
 * items carry theirs (registry/batch.c) and how a streamed reply keeps its
 * request's once the head has gone out (libmicrohttpd may then free the
 * connection while the producer still reads them). */
#ifndef BAOVE_HEADER_PAIRS_H
#define BAOVE_HEADER_PAIRS_H

#include <microhttpd.h>

/* Copies the connection's request headers (owned: header_pairs_free);
 * NULL when memory ran out. */
char **header_pairs_copy(struct MHD_Connection *connection);

void header_pairs_free(char **pairs);

/* The value of the first header called name (any case), or NULL. */
const char *header_pairs_find(const char *const *pairs, const char *name);

#endif
