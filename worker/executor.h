/* An executor runs one job at a time on its own execution connection (see
 * executor.c for the transaction).  It knows nothing of who claims jobs: it
 * is handed a claimed row, ends the attempt through the jobs queue
 * (queue.h), and reports that it is free again through the `finished`
 * callback its owner registered (control.c's), so the executor and the
 * control loop do not call each other. */
#ifndef BAOVE_WORKER_EXECUTOR_H
#define BAOVE_WORKER_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "pgloop.h"
#include "queue.h"

#define EXECUTOR_ERROR_SIZE 1024

struct executor;

/* The attempt is over and the executor free.  `failed`: it failed or died
 * (for --once's exit status); false when it succeeded, lost its lease after
 * the work, or was handed back at shutdown. */
typedef void (*executor_finished)(void *owner, struct executor *executor, bool failed);

struct executor {
    struct pgloop database;         /* the execution connection */
    struct queue *queue;            /* not owned: the jobs queue (control connection) */
    executor_finished finished;     /* the owner's, with `owner` */
    void *owner;
    bool busy;                      /* reserved for a claim, or running a job */
    bool releasing;                 /* shutdown: roll back and hand the job back */
    struct queue_hold hold;         /* the job's row: id, kind (label), attempt */
    char *payload;                  /* owned: effective payload (JSON text) */
    int64_t started_monotonic_us;
    char error[EXECUTOR_ERROR_SIZE]; /* why the attempt failed */
};

/* Sets the executor up on `loop`; its connection's callbacks get the
 * executor as their pgloop's data.  pgloop_start(&executor->database)
 * connects. */
void executor_init(struct executor *executor, uv_loop_t *loop, const char *url,
                   struct pgloop_callbacks callbacks, struct queue *queue,
                   executor_finished finished, void *owner);

/* Runs row `row` of a jobs claim (id, attempts, kind, payload). */
void executor_start(struct executor *executor, const PGresult *claimed, int row);

/* Shutdown grace ran out: cancel the job and hand it back to the queue. */
void executor_release(struct executor *executor);

#endif
