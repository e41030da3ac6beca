/* baove-worker: the background process.  It keeps an asynchronous
 * PostgreSQL connection on a libuv loop (pgloop.c), re-establishing it
 * after loss, and stops cleanly on SIGTERM or SIGINT.  Jobs, schedules and
 * deliveries run on this loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "pgloop.h"
#include <sodium.h>

struct worker {
    uv_loop_t *loop;
    struct pgloop database;
    uv_signal_t terminate;
    uv_signal_t interrupt;
    bool stopping;
};

static void on_database_ready(struct pgloop *database)
{
    (void)database;
}

static void on_database_lost(struct pgloop *database, const char *reason)
{
    (void)database;
    log_event(LOG_WARN, "database_lost", json_pack("{s:s}", "reason", reason));
}

static void on_wakeup(struct pgloop *database, const char *payload)
{
    (void)database;
    log_event(LOG_DEBUG, "wakeup", json_pack("{s:s}", "payload", payload));
}

static void on_stop_signal(uv_signal_t *handle, int signal_number)
{
    struct worker *worker = handle->data;
    if (worker->stopping)
        return;
    worker->stopping = true;
    log_event(LOG_INFO, "stopping", json_pack("{s:s}", "signal", strsignal(signal_number)));
    /* Closing every handle lets uv_run() return once nothing is left. */
    pgloop_close(&worker->database, NULL);
    uv_close((uv_handle_t *)&worker->terminate, NULL);
    uv_close((uv_handle_t *)&worker->interrupt, NULL);
}

int main(void)
{
    log_init("baove-worker");
    char error[256];
    if (!clock_init(error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    const char *url = config_database_url();
    if (url == NULL) {
        log_message(LOG_ERROR, "DATABASE_URL is not set");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    struct worker worker = {.loop = uv_default_loop()};
    struct pgloop_callbacks callbacks = {on_database_ready, on_database_lost, on_wakeup};
    pgloop_init(&worker.database, worker.loop, url, callbacks, &worker);
    uv_signal_init(worker.loop, &worker.terminate);
    uv_signal_init(worker.loop, &worker.interrupt);
    worker.terminate.data = worker.interrupt.data = &worker;
    uv_signal_start(&worker.terminate, on_stop_signal, SIGTERM);
    uv_signal_start(&worker.interrupt, on_stop_signal, SIGINT);
    log_event(LOG_INFO, "starting", json_pack("{s:s}", "version", BAOVE_VERSION));
    pgloop_start(&worker.database);
    uv_run(worker.loop, UV_RUN_DEFAULT);
    uv_loop_close(worker.loop);
    log_event(LOG_INFO, "stopped", NULL);
    return 0;
}
