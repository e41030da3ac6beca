#include "http/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "http/server.h"

/* The pool: global because the daemon's thread submits to it and the
 * workers take from it; set up once by workers_start() before serving, then
 * touched only under queue_lock (queue, counts, stopping) or read (the
 * rest). */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_filled;  /* a request was queued, or stopping */
static pthread_cond_t watchdog_wake; /* the queue changed, or stopping */
static struct request *queue_head, *queue_tail;
static unsigned queued_count, running_count;
static bool stopping;
static unsigned worker_count;
static int64_t queue_wait_us;
static worker_job run_job;
static pthread_t *worker_threads;
static pthread_t watchdog_thread;
static bool watchdog_started;

/* Hands an answered request back to libmicrohttpd, which sends the reply. */
static void resume(struct request *request)
{
    request->stage = REQUEST_ANSWERED;
    MHD_resume_connection(request->connection);
}

/* Takes the oldest queued request; queue_lock is held. */
static struct request *dequeue(void)
{
    struct request *request = queue_head;
    if (request == NULL)
        return NULL;
    queue_head = request->next_queued;
    if (queue_head == NULL)
        queue_tail = NULL;
    request->next_queued = NULL;
    queued_count--;
    return request;
}

static void *work(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&queue_lock);
    for (;;) {
        while (queue_head == NULL && !stopping)
            pthread_cond_wait(&queue_filled, &queue_lock);
        struct request *request = dequeue();
        if (request == NULL)
            break; /* stopping, and nothing left */
        running_count++;
        pthread_mutex_unlock(&queue_lock);
        request->stage = REQUEST_RUNNING;
        run_job(request);
        resume(request);
        pthread_mutex_lock(&queue_lock);
        running_count--;
    }
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

static void refuse_busy(struct request *request)
{
    reply_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    reply_problem(request, PROBLEM_DATABASE_UNAVAILABLE,
                  "Every database connection is busy; nothing was read or written. "
                  "Retry shortly.");
    resume(request);
}

static struct timespec monotonic_at(int64_t us)
{
    struct timespec at = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    return at;
}

/* Answers requests that waited too long for a worker, oldest first.  The
 * queue is in arrival order, so only its head can be overdue first. */
static void *watch(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&queue_lock);
    while (!stopping) {
        int64_t now = clock_monotonic_us();
        if (queue_head != NULL && now - queue_head->queued_us >= queue_wait_us) {
            struct request *overdue = dequeue();
            pthread_mutex_unlock(&queue_lock);
            refuse_busy(overdue);
            pthread_mutex_lock(&queue_lock);
            continue;
        }
        if (queue_head == NULL) {
            pthread_cond_wait(&watchdog_wake, &queue_lock);
        } else {
            struct timespec due = monotonic_at(queue_head->queued_us + queue_wait_us);
            pthread_cond_timedwait(&watchdog_wake, &queue_lock, &due);
        }
    }
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

static bool init_conditions(void)
{
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&queue_filled, &attributes) == 0 &&
              pthread_cond_init(&watchdog_wake, &attributes) == 0;
    pthread_condattr_destroy(&attributes);
    return ok;
}

bool workers_start(unsigned count, unsigned wait_ms, worker_job run)
{
    worker_count = count;
    queue_wait_us = (int64_t)wait_ms * 1000;
    run_job = run;
    worker_threads = calloc(count, sizeof *worker_threads);
    if (worker_threads == NULL || !init_conditions())
        return false;
    for (unsigned index = 0; index < count; index++) {
        if (pthread_create(&worker_threads[index], NULL, work, NULL) != 0) {
            worker_count = index;
            workers_stop();
            return false;
        }
    }
    watchdog_started = pthread_create(&watchdog_thread, NULL, watch, NULL) == 0;
    if (!watchdog_started)
        workers_stop();
    return watchdog_started;
}

void workers_submit(struct request *request)
{
    request->stage = REQUEST_QUEUED;
    request->queued_us = clock_monotonic_us();
    pthread_mutex_lock(&queue_lock);
    if (stopping) {
        pthread_mutex_unlock(&queue_lock);
        refuse_busy(request);
        return;
    }
    if (queue_tail != NULL)
        queue_tail->next_queued = request;
    else
        queue_head = request;
    queue_tail = request;
    queued_count++;
    pthread_cond_signal(&queue_filled);
    pthread_cond_signal(&watchdog_wake);
    pthread_mutex_unlock(&queue_lock);
}

unsigned workers_backlog(void)
{
    pthread_mutex_lock(&queue_lock);
    unsigned backlog = queued_count + running_count;
    pthread_mutex_unlock(&queue_lock);
    return backlog;
}

void workers_stop(void)
{
    pthread_mutex_lock(&queue_lock);
    stopping = true;
    struct request *left = queue_head;
    queue_head = queue_tail = NULL;
    queued_count = 0;
    pthread_cond_broadcast(&queue_filled);
    pthread_cond_broadcast(&watchdog_wake);
    pthread_mutex_unlock(&queue_lock);
    while (left != NULL) {
        struct request *next = left->next_queued;
        left->next_queued = NULL;
        refuse_busy(left);
        left = next;
    }
    for (unsigned index = 0; index < worker_count; index++)
        pthread_join(worker_threads[index], NULL);
    if (watchdog_started)
        pthread_join(watchdog_thread, NULL);
    watchdog_started = false;
    free(worker_threads);
    worker_threads = NULL;
    worker_count = 0;
}
