/* baove-worker: the background process.  It runs jobs from the jobs table
 * and fires schedules (see worker.h for the connections and clocks), on one
 * libuv loop with libpq driven asynchronously (pgloop.c).
 *
 *   baove-worker          run until SIGTERM/SIGINT, then stop claiming, let
 *                         the running job finish (or release it after
 *                         BAOVE_WORKER_STOP_GRACE_SECONDS) and exit 0
 *   baove-worker --once   fire every schedule due at "now", run every due
 *                         job, exit 0, or 1 if a job failed or died */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "delivery.h"
#include "webhook.h"
#include "worker.h"

static struct worker *worker_of(struct pgloop *database)
{
    return database->data;
}

static void on_control_ready(struct pgloop *database)
{
    worker_poll(worker_of(database));
}

static void on_database_lost(struct pgloop *database, const char *reason)
{
    (void)database;
    log_event(LOG_WARN, "database_lost", json_pack("{s:s}", "reason", reason));
}

static void on_wakeup(struct pgloop *database, const char *payload)
{
    worker_notified(worker_of(database), payload);
}

static void on_executor_ready(struct pgloop *database)
{
    struct executor *executor = database->data;
    worker_tick(executor->owner);
}

static void on_stop_signal(uv_signal_t *handle, int signal_number)
{
    struct worker *worker = handle->data;
    if (worker->stopping)
        return;
    log_event(LOG_INFO, "stopping", json_pack("{s:s}", "signal", strsignal(signal_number)));
    worker_stop(worker);
}

struct setting {
    const char *name;
    long long fallback, minimum, maximum;
    long long *out;
};

/* BAOVE_DELIVERY_GIVE_UP: a duration such as 3d (config_parse_duration). */
static bool read_give_up(struct queue_settings *delivery, char *error, size_t size)
{
    const char *text = config_string("BAOVE_DELIVERY_GIVE_UP", "3d");
    if (!config_parse_duration(text, &delivery->give_up_seconds) ||
        delivery->give_up_seconds < 1) {
        snprintf(error, size, "BAOVE_DELIVERY_GIVE_UP must be a duration such as 3d, not \"%s\"",
                 text);
        return false;
    }
    return true;
}

static bool read_settings(struct worker_settings *settings, char *error, size_t size)
{
    struct queue_settings *jobs = &settings->jobs, *delivery = &settings->delivery;
    const struct setting table[] = {
        {"BAOVE_JOB_LEASE_SECONDS", 60, 3, 86400, &jobs->lease_seconds},
        {"BAOVE_WORKER_POLL_SECONDS", 5, 1, 3600, &settings->poll_seconds},
        {"BAOVE_WORKER_DEBOUNCE_SECONDS", 5, 0, 3600, &settings->debounce_seconds},
        {"BAOVE_WORKER_CHANGE_INTERVAL_SECONDS", 60, 0, 86400,
         &settings->change_interval_seconds},
        {"BAOVE_WORKER_CHANGE_BUSY_PERCENT", 10, 1, 100, &settings->change_busy_percent},
        {"BAOVE_WORKER_STOP_GRACE_SECONDS", 30, 0, 3600, &settings->stop_grace_seconds},
        {"BAOVE_JOB_RETRY_BASE_SECONDS", 10, 0, 86400, &jobs->retry_base_seconds},
        {"BAOVE_JOB_RETRY_MAX_SECONDS", 3600, 0, 7 * 86400, &jobs->retry_max_seconds},
        {"BAOVE_DELIVERY_LEASE_SECONDS", 60, 3, 86400, &delivery->lease_seconds},
        {"BAOVE_DELIVERY_RETRY_BASE_SECONDS", 30, 1, 86400, &delivery->retry_base_seconds},
        {"BAOVE_DELIVERY_RETRY_MAX_SECONDS", 6 * 3600, 0, 7 * 86400,
         &delivery->retry_max_seconds},
        {"BAOVE_WORKER_CONCURRENCY", 1, 1, 64, &settings->concurrency},
        {"BAOVE_WORKER_ONCE_DEADLINE_SECONDS", 3600, 1, 86400,
         &settings->once_deadline_seconds},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!config_integer(table[i].name, table[i].fallback, table[i].minimum,
                            table[i].maximum, table[i].out, error, size))
            return false;
    jobs->give_up_seconds = 0; /* jobs die by max_attempts, not by age */
    return read_give_up(delivery, error, size) && jobs_init(error, size);
}

static bool parse_arguments(int argc, char **argv, struct worker_settings *settings)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            settings->once = true;
        } else {
            fprintf(stderr, "usage: baove-worker [--once]\n");
            return false;
        }
    }
    return true;
}

static void on_once_deadline(uv_timer_t *timer)
{
    struct worker *worker = timer->data;
    log_event(LOG_ERROR, "once_deadline_passed",
              json_pack("{s:I}", "seconds", (json_int_t)worker->settings.once_deadline_seconds));
    worker->any_job_failed = true; /* exit status 1 */
    worker_stop(worker);
}

/* host:pid:random, so a restarted worker with a reused pid is a new holder. */
static void make_identity(char *out, size_t size)
{
    char host[64] = "unknown";
    gethostname(host, sizeof host - 1);
    snprintf(out, size, "%s:%ld:%08x", host, (long)getpid(), randombytes_random());
}

static bool start(struct worker *worker, const char *url)
{
    worker->url = url;
    worker->change_position = -1; /* not polled yet */
    make_identity(worker->identity, sizeof worker->identity);
    worker->executors = calloc((size_t)worker->settings.concurrency, sizeof *worker->executors);
    if (worker->executors == NULL)
        return false;
    struct pgloop_callbacks control = {on_control_ready, on_database_lost, on_wakeup};
    pgloop_init(&worker->control, worker->loop, url, control, worker);
    if (!queue_init(&worker->jobs, &jobs_queue_kind, &worker->settings.jobs, &worker->control,
                    worker->identity, worker->loop))
        return false;
    /* The executors report back through worker_job_finished (control.c). */
    struct pgloop_callbacks execution = {on_executor_ready, on_database_lost, NULL};
    for (long long i = 0; i < worker->settings.concurrency; i++)
        executor_init(&worker->executors[i], worker->loop, url, execution, &worker->jobs,
                      worker_job_finished, worker);
    uv_timer_t *timers[] = {&worker->poll_timer, &worker->debounce_timer, &worker->grace_timer,
                            &worker->once_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        uv_timer_init(worker->loop, timers[i]);
        timers[i]->data = worker;
    }
    uv_signal_init(worker->loop, &worker->terminate);
    uv_signal_init(worker->loop, &worker->interrupt);
    worker->terminate.data = worker->interrupt.data = worker;
    uv_signal_start(&worker->terminate, on_stop_signal, SIGTERM);
    uv_signal_start(&worker->interrupt, on_stop_signal, SIGINT);
    log_event(LOG_INFO, "starting",
              json_pack("{s:s, s:s, s:b, s:I}", "version", BAOVE_VERSION, "identity",
                        worker->identity, "once", worker->settings.once, "concurrency",
                        (json_int_t)worker->settings.concurrency));
    worker->delivery = delivery_start(worker->loop, url, worker->identity,
                                      &worker->settings.delivery,
                                      worker->settings.poll_seconds);
    if (worker->delivery == NULL)
        return false;
    worker_start_timers(worker);
    /* A run from cron or a test must end even when the database never
     * answers (pgloop keeps reconnecting forever otherwise). */
    if (worker->settings.once)
        uv_timer_start(&worker->once_timer, on_once_deadline,
                       (uint64_t)worker->settings.once_deadline_seconds * 1000, 0);
    pgloop_start(&worker->control);
    for (long long i = 0; i < worker->settings.concurrency; i++)
        pgloop_start(&worker->executors[i].database);
    return true;
}

int main(int argc, char **argv)
{
    log_init("baove-worker");
    struct worker worker = {.loop = uv_default_loop()};
    if (!parse_arguments(argc, argv, &worker.settings))
        return 2;
    char error[256];
    if (!clock_init(error, sizeof error) || !read_settings(&worker.settings, error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    /* Lives as long as main: the loop reconnects with it. */
    char url[CONFIG_DATABASE_URL_SIZE];
    if (config_database_url(url) == CONFIG_DATABASE_NONE) {
        log_message(LOG_ERROR, "DATABASE_URL is too long, or the embedded cluster's path is");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    if (!webhook_sealing_init(error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!start(&worker, url)) {
        free(worker.executors);
        return 1;
    }
    uv_run(worker.loop, UV_RUN_DEFAULT);
    uv_loop_close(worker.loop);
    free(worker.executors);
    log_event(LOG_INFO, "stopped", json_pack("{s:b}", "failures", worker.any_job_failed));
    return worker.settings.once && worker.any_job_failed ? 1 : 0;
}
