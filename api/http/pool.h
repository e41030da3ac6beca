/* The API's pool of PostgreSQL connections.
 *
 * Handlers run on a fixed set of worker threads (workers.h), as many as
 * there are connections here, and block on the database, so a request
 * waiting on a row lock holds up only its own worker.  A request takes a
 * connection when it first needs the database and gives it back as soon as
 * its handler returns; threads that must wait get one first come, first
 * served.  Connections are opened on first use, checked
 * (cheaply) whenever they are taken, re-established after loss, and keep
 * their prepared statements (db_prepare_statements) for their whole life,
 * unless they reach PostgreSQL through a transaction pooler
 * (db_statement_mode). */
#ifndef BAOVE_API_POOL_H
#define BAOVE_API_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db.h"

enum pool_failure {
    POOL_BUSY,       /* every connection stayed in use for the whole wait */
    POOL_UNREACHABLE /* connecting failed (logged, counted) */
};

struct pool;

/* The primary's pool (every write, and every read not marked for the
 * replica), and the hot standby's for reads marked `replica` in their
 * operation_steps (BAOVE_READ_DATABASE_URL; NULL without).  Set once by
 * main() before serving; read-only afterwards. */
extern struct pool *pool_primary;
extern struct pool *pool_replica;

/* A pool on url: remembers it and how statements are sent, and sizes the
 * pool.  name ("primary", "replica") labels its log lines.  NULL when out
 * of memory. */
struct pool *pool_create(const char *name, const char *url, enum db_statement_mode statements,
                         unsigned connections, unsigned wait_ms);

/* A connection for this request, or NULL with the reason. */
PGconn *pool_acquire(struct pool *pool, enum pool_failure *failure);

/* Gives a connection back.  One left inside a transaction (a bug) or broken
 * is closed instead of being handed to the next request. */
void pool_release(struct pool *pool, PGconn *connection);

/* Closes a connection that failed (lost, or in an unknown state) and frees
 * its place in the pool. */
void pool_discard(struct pool *pool, PGconn *connection);

/* Closes every connection and frees the pool (NULL: nothing); call once the
 * server has stopped and no request runs any more. */
void pool_destroy(struct pool *pool);

#endif
