/* Fixed pools of threads that run requests away from the event loop.
 *
 * libmicrohttpd drives every socket from one epoll thread, which must never
 * block.  A routed request is suspended there (MHD_suspend_connection) and
 * queued on the request pool, whose threads, as many as the database pool
 * has connections, run its handler; the connection is resumed when the
 * answer is built.  A slow client costs a connection's memory, never a
 * thread.  Sign-in hands its password check to a second, smaller pool (one
 * thread per core) and comes back to the request pool afterwards, so that
 * argon2 never holds a database connection nor a request thread.
 *
 * Requests are taken first come, first served.  One that waits longer than
 * its pool's wait because every thread is busy is handed to the pool's
 * `overdue` function by the watchdog thread instead (the request pool
 * answers 503 with Retry-After), so that a handler stuck on a row lock holds
 * up nobody for longer than that. */
#ifndef BAOVE_API_WORKERS_H
#define BAOVE_API_WORKERS_H

#include <stdbool.h>

struct request;
struct worker_pool;

/* Runs a request (or answers it when overdue); true when it is answered
 * and its connection may be resumed, false when it was handed on to
 * another pool, which then owns it. */
typedef bool (*worker_job)(struct request *request);

/* Starts a pool of count threads and its watchdog; NULL on failure. */
struct worker_pool *worker_pool_start(unsigned count, unsigned wait_ms, worker_job run,
                                      worker_job overdue);

/* Queues a suspended request. */
void worker_pool_submit(struct worker_pool *pool, struct request *request);

/* Answers what is still queued (through overdue), lets running jobs finish
 * and joins every thread.  Call before the daemon stops: resuming a
 * connection after is invalid.  The pool stays valid, answering whatever is
 * still submitted to it through overdue (a request on a kept-alive
 * connection, work handed aside by a request that was finishing), until
 * worker_pool_free(). */
void worker_pool_stop(struct worker_pool *pool);

/* Frees a stopped pool, once nothing can submit to it any more (the daemon
 * has stopped). */
void worker_pool_free(struct worker_pool *pool);

#endif
