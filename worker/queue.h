/* The one queue core shared by the worker's two queues: jobs (the jobs
 * table, run by executors) and notification delivery (the notifications
 * table, sent by delivery.c).  A queue is a table of rows that are due at
 * some time, claimed by one worker at a time under a lease, and that end
 * done, failed (retried later) or dead.
 *
 * What the core does, the same way for both:
 *   - claims due rows with FOR UPDATE SKIP LOCKED, so concurrent workers
 *     never take one row twice, and leases them to this worker on the
 *     database's clock (clock_timestamp()): leases say whether a worker is
 *     alive and are compared across processes, so BAOVE_NOW must not
 *     freeze them;
 *   - renews the lease of every row it holds every third of the lease;
 *   - ends an attempt: done, or failed with a retry time drawn with full
 *     jitter (queue_retry_delay_us), or dead once the attempt limit or the
 *     age limit is reached (dead-lettering);
 *   - buries rows whose last allowed attempt lost its worker.
 *
 * What differs is data, in a struct queue_kind: the table, the SQL pieces
 * that say which rows are due and what a claim returns, and which columns
 * an ending attempt sets.  Every value reaches SQL as a parameter; the
 * pieces are constants of this program, composed once at queue_init().
 *
 * Every statement that changes a held row matches it with QUEUE_HELD (its
 * id, this worker, this attempt), so an attempt whose lease was lost and
 * whose row was claimed again changes nothing. */
#ifndef BAOVE_WORKER_QUEUE_H
#define BAOVE_WORKER_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "pgloop.h"

#define QUEUE_ID_SIZE 40
#define QUEUE_LABEL_SIZE 64
#define QUEUE_SQL_SIZE 2048

/* A held row: $1 its id, $2 this worker's identity, $3 the attempt.  The
 * queue's table is called q in every statement. */
#define QUEUE_HELD "q.id = $1::uuid AND q.leased_by = $2 AND q.attempts = $3"

struct queue_settings {
    long long lease_seconds;      /* renewed every third of it */
    long long retry_base_seconds; /* backoff: base·2^(attempt−1) … */
    long long retry_max_seconds;  /* … capped here, then full jitter */
    long long give_up_seconds;    /* dead when the retry would come later than
                                     this after created_at; 0: no age limit */
};

/* A queue's table and SQL pieces (constants; see the two users: jobs.c's
 * jobs_queue_kind, delivery.c's notifications).  Pieces marked NULL are
 * optional: left out, they add nothing. */
struct queue_kind {
    const char *name;       /* in log events: "<name>_lease_not_renewed" */
    const char *table;      /* needs id uuid, attempts, leased_by, lease_expires_at,
                               status, last_error, created_at */
    const char *label;      /* claim column 2: what the row is, for logs */
    /* Claiming ($1 identity, $2 "now", $3 how many, $4 lease seconds). */
    const char *join;       /* NULL: joined to q when choosing due rows */
    const char *due;        /* which rows are due (whether the lease is free
                               or expired is the core's part) */
    const char *order;      /* which due rows first */
    const char *claim_set;  /* NULL: more ", column = …" set at claim */
    const char *claim_from; /* NULL: ", table alias" the label and returning read */
    const char *claim_where; /* NULL: "AND …" joining claim_from to q */
    const char *returning;  /* NULL: ", columns" returned after id, attempts, label */
    /* Holding. */
    const char *held;       /* NULL: "AND …" a held row also satisfies */
    bool clear_holder;      /* leased_by is cleared when an attempt ends */
    /* Ending an attempt. */
    const char *retry_column;    /* when a failed row is due again */
    const char *done_status;     /* the status of a row done */
    const char *done_at_column;  /* set to "now" when done */
    const char *result_column;   /* NULL: set to the attempt's result (jsonb) */
    const char *finished_column; /* NULL: set to "now" when failed or dead too */
    const char *attempt_limit;   /* NULL: dead after attempts >= this */
    const char *abandon;         /* NULL: a failed row is dead under its
                                    limits too when this holds… */
    const char *abandon_note;    /* …and this is appended to last_error */
};

/* A row this worker holds, embedded in whatever works on it.  Linked into
 * its queue between queue_hold() and queue_unhold(), so its lease is
 * renewed meanwhile. */
struct queue_hold {
    struct queue_hold *next; /* not owned: the queue's list */
    bool linked;
    char id[QUEUE_ID_SIZE];
    char label[QUEUE_LABEL_SIZE];
    long long attempt;
};

struct queue {
    const struct queue_kind *kind;
    struct queue_settings settings;
    struct pgloop *database;     /* not owned: claims, renewals, failures */
    const char *identity;        /* not owned: leased_by */
    uv_timer_t lease_timer;
    struct queue_hold *holds;    /* not owned: rows held now */
    void *data;                  /* the owner's */
    void (*closed)(struct queue *queue);
    char claim_sql[QUEUE_SQL_SIZE];
    char renew_sql[QUEUE_SQL_SIZE];
    char done_sql[QUEUE_SQL_SIZE];
    char fail_sql[QUEUE_SQL_SIZE];
    char bury_sql[QUEUE_SQL_SIZE]; /* "" without an attempt limit */
};

/* Composes the kind's statements and sets up the lease timer on `loop`.
 * Returns false when a statement does not fit (a programming error). */
bool queue_init(struct queue *queue, const struct queue_kind *kind,
                const struct queue_settings *settings, struct pgloop *database,
                const char *identity, uv_loop_t *loop);

/* Starts renewing the leases of held rows, every third of the lease. */
void queue_start(struct queue *queue);

/* Stops renewing and closes the timer; `closed` (may be NULL) runs once it
 * is closed: only then may the queue's memory go. */
void queue_close(struct queue *queue, void (*closed)(struct queue *queue));

/* Claims up to `limit` due rows for this worker.  `done` gets rows of
 * id, attempts, label, then the kind's returning columns. */
bool queue_claim(struct queue *queue, long long limit, pgloop_done done, void *context);

/* Holds row `row` of a claim's result (id, attempt and label copied). */
void queue_hold(struct queue *queue, struct queue_hold *hold, const PGresult *claimed, int row);
/* The attempt is over (or abandoned): its lease is no longer renewed. */
void queue_unhold(struct queue *queue, struct queue_hold *hold);

/* $1, $2, $3 of QUEUE_HELD for `hold`, for statements of the kind's own. */
void queue_held_params(const struct queue *queue, const struct queue_hold *hold,
                       struct db_params *params);

/* Marks the held row done (done_status) on `on`: the queue's connection,
 * or one whose transaction makes the work and its end one.  `result` is
 * JSON text for result_column (ignored without one).  `done` gets one row
 * (the id), or none when the lease was lost. */
bool queue_complete(struct queue *queue, struct pgloop *on, const struct queue_hold *hold,
                    const char *result, pgloop_done done, void *context);

/* Records a failed attempt with `error`: failed and due again after the
 * backoff, or dead at a limit.  `done` gets one row (status, the retry
 * time in RFC 3339), or none when the lease was lost. */
bool queue_fail(struct queue *queue, const struct queue_hold *hold, const char *error,
                pgloop_done done, void *context);

/* Dead-letters rows whose last allowed attempt lost its worker (lease
 * expired): running them again would pass the attempt limit.  `done` gets
 * rows of id, attempts, label, last_error.  False without an attempt
 * limit. */
bool queue_bury(struct queue *queue, pgloop_done done, void *context);

/* Full jitter: uniform in [0, min(max, base·2^(attempt−1))], microseconds. */
int64_t queue_retry_delay_us(const struct queue_settings *settings, long long attempt);

#endif
