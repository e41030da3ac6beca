/* The fixed pool of threads that run requests needing the database.
 *
 * libmicrohttpd drives every socket from one epoll thread, which must never
 * block.  A routed request is suspended there (MHD_suspend_connection) and
 * queued here; one of a fixed number of workers, as many as the database
 * pool has connections, runs its handler and resumes the connection when
 * the answer is built.  A slow client costs a connection's memory, never a
 * thread.  Requests are taken first come, first served; one that waits
 * longer than the database wait (BAOVE_DB_WAIT_MS) because every worker is
 * busy is answered 503 with Retry-After by the watchdog thread instead, so
 * that a handler stuck on a row lock holds up nobody for longer than that. */
#ifndef BAOVE_API_WORKERS_H
#define BAOVE_API_WORKERS_H

#include <stdbool.h>

struct request;

/* Runs one request's handler and builds its answer (server.c). */
typedef void (*worker_job)(struct request *request);

/* Starts count workers and the watchdog.  Call once, before serving. */
bool workers_start(unsigned count, unsigned wait_ms, worker_job run);

/* Queues a suspended request; the connection is resumed once it is
 * answered, by a worker or by the watchdog. */
void workers_submit(struct request *request);

/* Requests queued or running now. */
unsigned workers_backlog(void);

/* Answers what is still queued (503), lets running handlers finish, joins
 * every thread.  Call before the daemon stops: resuming after is invalid. */
void workers_stop(void);

#endif
