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

/* A pool: the API has one on the primary and, with BAOVE_READ_DATABASE_URL,
 * one on a hot standby (pool_primary, pool_replica below).  Set up once by
 * pool_create() before the server starts, then only touched under `lock`
 * (slots, waiters, the reconnect pause) or read (url, statements, wait). */
struct slot {
    PGconn *connection; /* NULL until first used, or after a failure */
    bool in_use;
};

/* A thread waiting for a slot.  Waiters queue in arrival order and a freed
 * slot is handed to the oldest one directly (put_slot), so that slots go
 * first come, first served rather than to whichever thread wakes first. */
struct waiter {
    pthread_cond_t handed;  /* signalled when slot is set */
    struct slot *slot;      /* the slot handed over, or NULL */
    struct waiter *next;
};

struct pool {
    const char *name;       /* "primary", "replica": for the log */
    const char *url;
    enum db_statement_mode statements;
    unsigned wait_ms;
    struct slot *slots;
    unsigned size;
    pthread_mutex_t lock;
    struct waiter *waiters_head, *waiters_tail;
    /* Reconnecting during an outage backs off, so that every request does
     * not open a connection attempt of its own: after a failure, none is
     * tried before next_attempt_us, and the pause doubles up to a ceiling. */
    int64_t reconnect_pause_us;
    int64_t next_attempt_us;
    struct log_rate unreachable_lines;
};

/* The API's pools, set once by main() before serving, read-only after. */
struct pool *pool_primary;
struct pool *pool_replica;

#define RECONNECT_FIRST_PAUSE_US 100000LL
#define RECONNECT_LONGEST_PAUSE_US 2000000LL
#define UNREACHABLE_LOG_INTERVAL_US (10 * 1000000LL)

struct pool *pool_create(const char *name, const char *url, enum db_statement_mode statements,
                         unsigned connections, unsigned wait_ms)
{
    struct pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    *pool = (struct pool){.name = name, .url = url, .statements = statements,
                          .wait_ms = wait_ms, .size = connections,
                          .unreachable_lines = LOG_RATE_INITIALIZER};
    pthread_mutex_init(&pool->lock, NULL);
    pool->slots = calloc(connections, sizeof *pool->slots);
    if (pool->slots == NULL) {
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    return pool;
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
static struct slot *free_slot(struct pool *pool)
{
    struct slot *empty = NULL;
    for (unsigned index = 0; index < pool->size; index++) {
        struct slot *slot = &pool->slots[index];
        if (slot->in_use)
            continue;
        if (slot->connection != NULL)
            return slot;
        if (empty == NULL)
            empty = slot;
    }
    return empty;
}

static struct slot *slot_of(struct pool *pool, PGconn *connection)
{
    for (unsigned index = 0; index < pool->size; index++)
        if (pool->slots[index].connection == connection)
            return &pool->slots[index];
    return NULL;
}

static void remove_waiter(struct pool *pool, struct waiter *gone)
{
    struct waiter **link = &pool->waiters_head, *previous = NULL;
    while (*link != NULL && *link != gone) {
        previous = *link;
        link = &(*link)->next;
    }
    if (*link == NULL)
        return;
    *link = gone->next;
    if (pool->waiters_tail == gone)
        pool->waiters_tail = previous;
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

/* Waits (up to pool->wait_ms) for a free slot and takes it.  A free slot is
 * taken at once only when nobody waits before us. */
static struct slot *take_slot(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    struct slot *slot = pool->waiters_head == NULL ? free_slot(pool) : NULL;
    if (slot != NULL || pool->wait_ms == 0) {
        if (slot != NULL)
            slot->in_use = true;
        pthread_mutex_unlock(&pool->lock);
        return slot;
    }
    struct waiter self = {.slot = NULL, .next = NULL};
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self.handed, &attributes);
    pthread_condattr_destroy(&attributes);
    if (pool->waiters_tail != NULL)
        pool->waiters_tail->next = &self;
    else
        pool->waiters_head = &self;
    pool->waiters_tail = &self;
    struct timespec deadline = deadline_after(pool->wait_ms);
    int waited = 0;
    while (self.slot == NULL && waited != ETIMEDOUT)
        waited = pthread_cond_timedwait(&self.handed, &pool->lock, &deadline);
    if (self.slot == NULL)
        remove_waiter(pool, &self);
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_destroy(&self.handed);
    return self.slot;
}

/* Sets the connection of a slot this thread holds.  Under the lock all the
 * same: slot_of() reads every slot's connection. */
static void set_connection(struct pool *pool, struct slot *slot, PGconn *connection)
{
    pthread_mutex_lock(&pool->lock);
    slot->connection = connection;
    pthread_mutex_unlock(&pool->lock);
}

/* Gives a slot back, with its connection or (connection NULL) without. */
static void put_slot(struct pool *pool, struct slot *slot, PGconn *connection)
{
    pthread_mutex_lock(&pool->lock);
    slot->connection = connection;
    struct waiter *oldest = pool->waiters_head;
    if (oldest != NULL) {
        /* Handed over still in use: nobody can overtake the oldest waiter. */
        pool->waiters_head = oldest->next;
        if (pool->waiters_head == NULL)
            pool->waiters_tail = NULL;
        oldest->slot = slot;
        pthread_cond_signal(&oldest->handed);
    } else {
        slot->in_use = false;
    }
    pthread_mutex_unlock(&pool->lock);
}

static bool may_attempt_connection(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    bool may = clock_monotonic_us() >= pool->next_attempt_us;
    pthread_mutex_unlock(&pool->lock);
    return may;
}

static void note_connection_attempt(struct pool *pool, bool connected)
{
    pthread_mutex_lock(&pool->lock);
    if (connected) {
        pool->reconnect_pause_us = 0;
    } else {
        pool->reconnect_pause_us = pool->reconnect_pause_us == 0 ? RECONNECT_FIRST_PAUSE_US
                                                     : 2 * pool->reconnect_pause_us;
        if (pool->reconnect_pause_us > RECONNECT_LONGEST_PAUSE_US)
            pool->reconnect_pause_us = RECONNECT_LONGEST_PAUSE_US;
    }
    pool->next_attempt_us = clock_monotonic_us() + pool->reconnect_pause_us;
    pthread_mutex_unlock(&pool->lock);
}

PGconn *pool_acquire(struct pool *pool, enum pool_failure *failure)
{
    struct slot *slot = take_slot(pool);
    if (slot == NULL) {
        *failure = POOL_BUSY;
        log_event(LOG_WARN, "database_pool_exhausted",
                  json_pack("{s:s, s:i, s:i}", "pool", pool->name, "connections",
                            (int)pool->size, "waited_ms", (int)pool->wait_ms));
        return NULL;
    }
    /* The slot is ours: no other thread changes its connection. */
    pthread_mutex_lock(&pool->lock);
    PGconn *connection = slot->connection;
    pthread_mutex_unlock(&pool->lock);
    if (connection != NULL && still_alive(connection))
        return connection;
    if (connection != NULL) {
        log_event(LOG_WARN, "database_reconnect",
                  json_pack("{s:s, s:s}", "pool", pool->name, "reason",
                            "connection lost or left mid-transaction"));
        set_connection(pool, slot, NULL);
        PQfinish(connection);
    }
    if (!may_attempt_connection(pool)) {
        put_slot(pool, slot, NULL);
        *failure = POOL_UNREACHABLE;
        return NULL;
    }
    char error[512];
    connection = db_connect(pool->url, "baove-api", error, sizeof error);
    note_connection_attempt(pool, connection != NULL);
    if (connection == NULL) {
        put_slot(pool, slot, NULL);
        metrics_database_error();
        unsigned suppressed;
        if (log_rate_allow(&pool->unreachable_lines, UNREACHABLE_LOG_INTERVAL_US, &suppressed))
            log_event(LOG_ERROR, "database_unreachable",
                      json_pack("{s:s, s:s, s:i}", "pool", pool->name, "error", error,
                                "similar_not_logged", (int)suppressed));
        *failure = POOL_UNREACHABLE;
        return NULL;
    }
    bool prepared = db_statements_prepared(connection, pool->statements);
    if (prepared && !db_prepare_statements(connection))
        log_event(LOG_WARN, "statement_cache_unavailable", NULL);
    if (!db_pipeline_transactions(connection))
        log_event(LOG_WARN, "pipelining_unavailable", NULL);
    log_event(LOG_DEBUG, "database_connected",
              json_pack("{s:s, s:s}", "pool", pool->name, "statements",
                        prepared ? "prepared" : "unnamed"));
    set_connection(pool, slot, connection);
    return connection;
}

/* Gives a slot back: with its connection when keep, else empty, the
 * connection closed.  The slot is emptied under the lock before the
 * connection is closed: once freed, its address may come back from another
 * thread's connect, and must never name two slots. */
static void give_back(struct pool *pool, PGconn *connection, bool keep)
{
    pthread_mutex_lock(&pool->lock);
    struct slot *slot = slot_of(pool, connection);
    if (slot != NULL && !keep)
        slot->connection = NULL;
    pthread_mutex_unlock(&pool->lock);
    if (!keep)
        PQfinish(connection);
    if (slot != NULL)
        put_slot(pool, slot, keep ? connection : NULL);
}

void pool_release(struct pool *pool, PGconn *connection)
{
    if (connection == NULL)
        return;
    bool reusable = PQstatus(connection) == CONNECTION_OK &&
                    PQtransactionStatus(connection) == PQTRANS_IDLE;
    if (!reusable)
        log_event(LOG_WARN, "database_connection_dropped",
                  json_pack("{s:s}", "reason", "returned broken or inside a transaction"));
    give_back(pool, connection, reusable);
}

void pool_discard(struct pool *pool, PGconn *connection)
{
    if (connection != NULL)
        give_back(pool, connection, false);
}

void pool_destroy(struct pool *pool)
{
    if (pool == NULL)
        return;
    for (unsigned index = 0; index < pool->size; index++)
        PQfinish(pool->slots[index].connection);
    free(pool->slots);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
