#include "http/pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "http/metrics.h"

/* The pool: global because every request thread shares it; set up once by
 * pool_init() before the server starts, then only touched under
 * pool_lock (slots) or read (url, wait). */
struct slot {
    PGconn *connection; /* NULL until first used, or after a failure */
    bool in_use;
};

static const char *pool_url;
static enum db_statement_mode pool_statements;
static unsigned pool_wait_ms;
static struct slot *pool_slots;
static unsigned pool_size;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reconnecting during an outage backs off, so that every request does not
 * open a connection attempt of its own: after a failure, none is tried
 * before next_attempt_us, and the pause doubles up to a ceiling.  Under
 * pool_lock. */
#define RECONNECT_FIRST_PAUSE_US 100000LL
#define RECONNECT_LONGEST_PAUSE_US 2000000LL
static int64_t reconnect_pause_us;
static int64_t next_attempt_us;
static struct log_rate unreachable_lines = LOG_RATE_INITIALIZER;
#define UNREACHABLE_LOG_INTERVAL_US (10 * 1000000LL)

bool pool_init(const char *url, enum db_statement_mode statements, unsigned connections,
               unsigned wait_ms)
{
    pool_url = url;
    pool_statements = statements;
    pool_wait_ms = wait_ms;
    pool_size = connections;
    pool_slots = calloc(connections, sizeof *pool_slots);
    return pool_slots != NULL;
}

/* An idle connection has nothing to read: the API never LISTENs.  If its
 * socket is readable, the server has sent something unasked, which in
 * practice is a FATAL before closing (a restart, an administrator) or EOF.
 * libpq may not have seen the EOF yet, so such a connection is not trusted
 * with the next request: it is replaced. */
static bool still_alive(PGconn *connection)
{
    if (PQstatus(connection) != CONNECTION_OK ||
        PQtransactionStatus(connection) != PQTRANS_IDLE)
        return false;
    struct pollfd descriptor = {.fd = PQsocket(connection), .events = POLLIN};
    if (descriptor.fd < 0)
        return false;
    if (poll(&descriptor, 1, 0) > 0) {
        PQconsumeInput(connection); /* logs the server's parting message */
        return false;
    }
    return true;
}

/* A free slot, preferring one with an open connection (its backend and
 * prepared statements are warm); NULL when all are in use. */
static struct slot *free_slot(void)
{
    struct slot *empty = NULL;
    for (unsigned index = 0; index < pool_size; index++) {
        struct slot *slot = &pool_slots[index];
        if (slot->in_use)
            continue;
        if (slot->connection != NULL)
            return slot;
        if (empty == NULL)
            empty = slot;
    }
    return empty;
}

static struct slot *slot_of(PGconn *connection)
{
    for (unsigned index = 0; index < pool_size; index++)
        if (pool_slots[index].connection == connection)
            return &pool_slots[index];
    return NULL;
}

/* A thread waiting for a slot.  Waiters queue in arrival order and a freed
 * slot is handed to the oldest one directly (put_slot), so that slots go
 * first come, first served rather than to whichever thread wakes first. */
struct waiter {
    pthread_cond_t handed;  /* signalled when slot is set */
    struct slot *slot;      /* the slot handed over, or NULL */
    struct waiter *next;
};

static struct waiter *waiters_head, *waiters_tail; /* under pool_lock */

static void remove_waiter(struct waiter *gone)
{
    struct waiter **link = &waiters_head, *previous = NULL;
    while (*link != NULL && *link != gone) {
        previous = *link;
        link = &(*link)->next;
    }
    if (*link == NULL)
        return;
    *link = gone->next;
    if (waiters_tail == gone)
        waiters_tail = previous;
}

static struct timespec deadline_after(unsigned milliseconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

/* Waits (up to pool_wait_ms) for a free slot and takes it.  A free slot is
 * taken at once only when nobody waits before us. */
static struct slot *take_slot(void)
{
    pthread_mutex_lock(&pool_lock);
    struct slot *slot = waiters_head == NULL ? free_slot() : NULL;
    if (slot != NULL || pool_wait_ms == 0) {
        if (slot != NULL)
            slot->in_use = true;
        pthread_mutex_unlock(&pool_lock);
        return slot;
    }
    struct waiter self = {.slot = NULL, .next = NULL};
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self.handed, &attributes);
    pthread_condattr_destroy(&attributes);
    if (waiters_tail != NULL)
        waiters_tail->next = &self;
    else
        waiters_head = &self;
    waiters_tail = &self;
    struct timespec deadline = deadline_after(pool_wait_ms);
    int waited = 0;
    while (self.slot == NULL && waited != ETIMEDOUT)
        waited = pthread_cond_timedwait(&self.handed, &pool_lock, &deadline);
    if (self.slot == NULL)
        remove_waiter(&self);
    pthread_mutex_unlock(&pool_lock);
    pthread_cond_destroy(&self.handed);
    return self.slot;
}

/* Sets the connection of a slot this thread holds.  Under the lock all the
 * same: slot_of() reads every slot's connection. */
static void set_connection(struct slot *slot, PGconn *connection)
{
    pthread_mutex_lock(&pool_lock);
    slot->connection = connection;
    pthread_mutex_unlock(&pool_lock);
}

/* Gives a slot back, with its connection or (connection NULL) without. */
static void put_slot(struct slot *slot, PGconn *connection)
{
    pthread_mutex_lock(&pool_lock);
    slot->connection = connection;
    struct waiter *oldest = waiters_head;
    if (oldest != NULL) {
        /* Handed over still in use: nobody can overtake the oldest waiter. */
        waiters_head = oldest->next;
        if (waiters_head == NULL)
            waiters_tail = NULL;
        oldest->slot = slot;
        pthread_cond_signal(&oldest->handed);
    } else {
        slot->in_use = false;
    }
    pthread_mutex_unlock(&pool_lock);
}

static bool may_attempt_connection(void)
{
    pthread_mutex_lock(&pool_lock);
    bool may = clock_monotonic_us() >= next_attempt_us;
    pthread_mutex_unlock(&pool_lock);
    return may;
}

static void note_connection_attempt(bool connected)
{
    pthread_mutex_lock(&pool_lock);
    if (connected) {
        reconnect_pause_us = 0;
    } else {
        reconnect_pause_us = reconnect_pause_us == 0 ? RECONNECT_FIRST_PAUSE_US
                                                     : 2 * reconnect_pause_us;
        if (reconnect_pause_us > RECONNECT_LONGEST_PAUSE_US)
            reconnect_pause_us = RECONNECT_LONGEST_PAUSE_US;
    }
    next_attempt_us = clock_monotonic_us() + reconnect_pause_us;
    pthread_mutex_unlock(&pool_lock);
}

PGconn *pool_acquire(enum pool_failure *failure)
{
    struct slot *slot = take_slot();
    if (slot == NULL) {
        *failure = POOL_BUSY;
        log_event(LOG_WARN, "database_pool_exhausted",
                  json_pack("{s:i, s:i}", "connections", (int)pool_size, "waited_ms",
                            (int)pool_wait_ms));
        return NULL;
    }
    /* The slot is ours: no other thread changes its connection. */
    pthread_mutex_lock(&pool_lock);
    PGconn *connection = slot->connection;
    pthread_mutex_unlock(&pool_lock);
    if (connection != NULL && still_alive(connection))
        return connection;
    if (connection != NULL) {
        log_event(LOG_WARN, "database_reconnect",
                  json_pack("{s:s}", "reason", "connection lost or left mid-transaction"));
        set_connection(slot, NULL);
        PQfinish(connection);
    }
    if (!may_attempt_connection()) {
        put_slot(slot, NULL);
        *failure = POOL_UNREACHABLE;
        return NULL;
    }
    char error[512];
    connection = db_connect(pool_url, "baove-api", error, sizeof error);
    note_connection_attempt(connection != NULL);
    if (connection == NULL) {
        put_slot(slot, NULL);
        metrics_database_error();
        unsigned suppressed;
        if (log_rate_allow(&unreachable_lines, UNREACHABLE_LOG_INTERVAL_US, &suppressed))
            log_event(LOG_ERROR, "database_unreachable",
                      json_pack("{s:s, s:i}", "error", error, "similar_not_logged",
                                (int)suppressed));
        *failure = POOL_UNREACHABLE;
        return NULL;
    }
    bool prepared = db_statements_prepared(connection, pool_statements);
    if (prepared && !db_prepare_statements(connection))
        log_event(LOG_WARN, "statement_cache_unavailable", NULL);
    if (!db_pipeline_transactions(connection))
        log_event(LOG_WARN, "pipelining_unavailable", NULL);
    log_event(LOG_DEBUG, "database_connected",
              json_pack("{s:s}", "statements", prepared ? "prepared" : "unnamed"));
    set_connection(slot, connection);
    return connection;
}

/* Gives a slot back: with its connection when keep, else empty, the
 * connection closed.  The slot is emptied under the lock before the
 * connection is closed: once freed, its address may come back from another
 * thread's connect, and must never name two slots. */
static void give_back(PGconn *connection, bool keep)
{
    pthread_mutex_lock(&pool_lock);
    struct slot *slot = slot_of(connection);
    if (slot != NULL && !keep)
        slot->connection = NULL;
    pthread_mutex_unlock(&pool_lock);
    if (!keep)
        PQfinish(connection);
    if (slot != NULL)
        put_slot(slot, keep ? connection : NULL);
}

void pool_release(PGconn *connection)
{
    if (connection == NULL)
        return;
    bool reusable = PQstatus(connection) == CONNECTION_OK &&
                    PQtransactionStatus(connection) == PQTRANS_IDLE;
    if (!reusable)
        log_event(LOG_WARN, "database_connection_dropped",
                  json_pack("{s:s}", "reason", "returned broken or inside a transaction"));
    give_back(connection, reusable);
}

void pool_discard(PGconn *connection)
{
    if (connection != NULL)
        give_back(connection, false);
}

void pool_close_all(void)
{
    for (unsigned index = 0; index < pool_size; index++)
        PQfinish(pool_slots[index].connection);
    free(pool_slots);
    pool_slots = NULL;
    pool_size = 0;
}
