#include "http/workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "http/request.h"

struct worker_pool {
    pthread_mutex_t lock;      /* guards everything below but the constants */
    pthread_cond_t filled;     /* a request was queued, or stopping */
    pthread_cond_t changed;    /* a request into an empty queue, or stopping: for the watchdog */
    struct request *head, *tail; /* linked through next_queued, oldest first */
    bool stopping;
    /* The watchdog waits, without a timeout, for the queue to fill: only
     * then does a submit wake it.  Otherwise it is already timed for the
     * oldest queued request, which is due before any newer one; waking it
     * on every submit cost every request a context switch and a contended
     * lock (5 % of the API's CPU on reads). */
    bool watchdog_idle;
    /* Constant once started. */
    unsigned count;
    int64_t wait_us;
    worker_job run, overdue;
    pthread_t *threads;
    unsigned started;
    pthread_t watchdog;
    bool watchdog_started;
};

/* Hands an answered request back to libmicrohttpd, which sends the reply. */
static void finish(struct request *request, bool answered)
{
    if (!answered)
        return; /* another pool owns it now */
    request->stage = REQUEST_ANSWERED;
    MHD_resume_connection(request->connection);
}

/* Takes the oldest queued request; the lock is held. */
static struct request *dequeue(struct worker_pool *pool)
{
    struct request *request = pool->head;
    if (request == NULL)
        return NULL;
    pool->head = request->next_queued;
    if (pool->head == NULL)
        pool->tail = NULL;
    request->next_queued = NULL;
    return request;
}

static void *work(void *context)
{
    struct worker_pool *pool = context;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->filled, &pool->lock);
        struct request *request = dequeue(pool);
        if (request == NULL)
            break; /* stopping, and nothing left */
        pthread_mutex_unlock(&pool->lock);
        request->stage = REQUEST_RUNNING;
        bool answered = pool->run(request);
        /* A streamed reply goes on here once its head is handed over. */
        void (*after)(struct request *) = answered ? request->after_answer : NULL;
        finish(request, answered);
        if (after != NULL)
            after(request);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static struct timespec monotonic_at(int64_t us)
{
    struct timespec at = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    return at;
}

/* Hands requests that waited too long to overdue, oldest first.  The queue
 * is in arrival order, so its head is always the first to be overdue. */
static void *watch(void *context)
{
    struct worker_pool *pool = context;
    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        int64_t now = clock_monotonic_us();
        if (pool->head != NULL && now - pool->head->queued_us >= pool->wait_us) {
            struct request *late = dequeue(pool);
            pthread_mutex_unlock(&pool->lock);
            finish(late, pool->overdue(late));
            pthread_mutex_lock(&pool->lock);
        } else if (pool->head == NULL) {
            pool->watchdog_idle = true;
            pthread_cond_wait(&pool->changed, &pool->lock);
            pool->watchdog_idle = false;
        } else {
            struct timespec due = monotonic_at(pool->head->queued_us + pool->wait_us);
            pthread_cond_timedwait(&pool->changed, &pool->lock, &due);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static bool init_sync(struct worker_pool *pool)
{
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0 &&
              pthread_mutex_init(&pool->lock, NULL) == 0 &&
              pthread_cond_init(&pool->filled, &attributes) == 0 &&
              pthread_cond_init(&pool->changed, &attributes) == 0;
    pthread_condattr_destroy(&attributes);
    return ok;
}

struct worker_pool *worker_pool_start(unsigned count, unsigned wait_ms, worker_job run,
                                      worker_job overdue)
{
    struct worker_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    pool->count = count;
    pool->wait_us = (int64_t)wait_ms * 1000;
    pool->run = run;
    pool->overdue = overdue;
    pool->threads = calloc(count, sizeof *pool->threads);
    if (pool->threads == NULL || !init_sync(pool)) {
        free(pool->threads);
        free(pool);
        return NULL;
    }
    while (pool->started < count &&
           pthread_create(&pool->threads[pool->started], NULL, work, pool) == 0)
        pool->started++;
    pool->watchdog_started = pool->started == count &&
                             pthread_create(&pool->watchdog, NULL, watch, pool) == 0;
    if (!pool->watchdog_started) {
        worker_pool_stop(pool);
        worker_pool_free(pool);
        return NULL;
    }
    return pool;
}

void worker_pool_submit(struct worker_pool *pool, struct request *request)
{
    request->stage = REQUEST_QUEUED;
    request->queued_us = clock_monotonic_us();
    pthread_mutex_lock(&pool->lock);
    if (pool->stopping) {
        pthread_mutex_unlock(&pool->lock);
        finish(request, pool->overdue(request));
        return;
    }
    if (pool->tail != NULL)
        pool->tail->next_queued = request;
    else
        pool->head = request;
    pool->tail = request;
    pthread_cond_signal(&pool->filled);
    if (pool->watchdog_idle)
        pthread_cond_signal(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
}

void worker_pool_stop(struct worker_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    struct request *left = pool->head;
    pool->head = pool->tail = NULL;
    pthread_cond_broadcast(&pool->filled);
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
    while (left != NULL) {
        struct request *next = left->next_queued;
        left->next_queued = NULL;
        finish(left, pool->overdue(left));
        left = next;
    }
    for (unsigned index = 0; index < pool->started; index++)
        pthread_join(pool->threads[index], NULL);
    if (pool->watchdog_started)
        pthread_join(pool->watchdog, NULL);
    pool->started = 0;
    pool->watchdog_started = false;
}

void worker_pool_free(struct worker_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_cond_destroy(&pool->filled);
    pthread_cond_destroy(&pool->changed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}
