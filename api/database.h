/* One PostgreSQL connection per HTTP pool thread.
 *
 * libmicrohttpd runs each connection on one pool thread, and a handler runs
 * to completion on it, so a thread-owned connection needs no locking and no
 * pool.  The connection is opened on the thread's first request, checked
 * (cheaply) before every request, re-established after loss, and closed
 * when the thread exits. */
#ifndef BAOVE_API_DATABASE_H
#define BAOVE_API_DATABASE_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Remembers the URL and creates the thread-local key.  Call once. */
bool database_init(const char *url);

/* This thread's connection, connecting or reconnecting when needed; NULL
 * when the database cannot be reached (logged, counted). */
PGconn *database_connection(void);

/* Drops this thread's connection so the next call reconnects. */
void database_discard(void);

#endif
