/* baove-api: the HTTP JSON API.  Settings come from the environment (see
 * README.md); SIGTERM or SIGINT stops it gracefully. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "http/dispatch.h"
#include "http/handlers.h"
#include "http/pool.h"
#include "http/proxies.h"
#include "http/replica.h"
#include "log.h"
#include "http/server.h"
#include "webhook.h"

#define SHUTDOWN_GRACE_SECONDS 10

/* Reads every BAOVE_HTTP_* setting; false (reported) on the first bad one. */
static bool load_settings(struct server_settings *settings)
{
    char error[256];
    long long port, max_body, timeout, deadline, max_connections, per_address, memory;
    const char *ttl = config_string("BAOVE_TOKEN_TTL", "8h");
    bool ok = config_integer("BAOVE_HTTP_PORT", 8080, 1, 65535, &port, error, sizeof error) &&
              config_integer("BAOVE_MAX_BODY", 1048576, 1024, 64 * 1048576, &max_body, error,
                             sizeof error) &&
              config_integer("BAOVE_HTTP_TIMEOUT", 30, 1, 3600, &timeout, error,
                             sizeof error) &&
              config_integer("BAOVE_HTTP_REQUEST_DEADLINE", 10, 1, 3600, &deadline, error,
                             sizeof error) &&
              config_integer("BAOVE_HTTP_MAX_CONNECTIONS", 8192, 1, 100000, &max_connections,
                             error, sizeof error) &&
              config_integer("BAOVE_HTTP_MAX_CONNECTIONS_PER_IP", 1024, 1, 100000,
                             &per_address, error, sizeof error) &&
              config_integer("BAOVE_HTTP_CONNECTION_MEMORY", 131072, 16384, 16777216, &memory,
                             error, sizeof error);
    if (ok)
        ok = proxies_init(config_string("BAOVE_TRUSTED_PROXIES", ""),
                          config_string("BAOVE_TRUSTED_PROXY_HEADER", "x-forwarded-for"), error,
                          sizeof error);
    if (ok && !config_parse_duration(ttl, &settings->token_ttl_seconds)) {
        snprintf(error, sizeof error, "BAOVE_TOKEN_TTL must be a duration such as 8h, not "
                                      "\"%s\"", ttl);
        ok = false;
    }
    if (!ok) {
        log_message(LOG_ERROR, "%s", error);
        return false;
    }
    settings->address = config_string("BAOVE_HTTP_ADDR", "127.0.0.1");
    settings->port = (unsigned)port;
    settings->max_body = (size_t)max_body;
    settings->connection_timeout = (unsigned)timeout;
    settings->request_deadline = (unsigned)deadline;
    settings->max_connections = (unsigned)max_connections;
    settings->max_connections_per_address = (unsigned)per_address;
    settings->connection_memory = (size_t)memory;
    settings->dispatch = dispatch_route;
    settings->verify_principal = api_verify_principal;
    return true;
}

struct database_settings {
    unsigned connections; /* BAOVE_DB_CONNECTIONS */
    unsigned wait_ms;     /* BAOVE_DB_WAIT_MS */
    unsigned cpu_threads; /* BAOVE_CPU_THREADS: concurrent password hashings */
    unsigned cpu_wait_ms; /* BAOVE_CPU_WAIT_MS */
    enum db_statement_mode statements; /* BAOVE_DATABASE_STATEMENTS */
    unsigned read_wait_ms; /* BAOVE_READ_WAIT_MS: for a standby to catch up */
};

/* The pool: by default four connections per core.  A request spends much
 * of its time in round trips, so more requests in flight than cores keep
 * PostgreSQL busy: on 2 cores (bench/README.md) reads went from 2 200/s
 * with 4 connections to 2 640/s with 8, and no further with 16. */
static bool load_database_settings(struct database_settings *settings)
{
    char error[256];
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    long long connections, wait_ms, cpu_threads, cpu_wait_ms, read_wait_ms;
    if (!config_integer("BAOVE_DB_CONNECTIONS", online > 0 ? 4 * online : 8, 1, 1000,
                        &connections, error, sizeof error) ||
        !config_integer("BAOVE_DB_WAIT_MS", 5000, 0, 600000, &wait_ms, error, sizeof error) ||
        !config_integer("BAOVE_CPU_THREADS", online > 0 ? online : 2, 1, 256, &cpu_threads,
                        error, sizeof error) ||
        !config_integer("BAOVE_CPU_WAIT_MS", 1000, 0, 60000, &cpu_wait_ms, error,
                        sizeof error) ||
        !config_integer("BAOVE_READ_WAIT_MS", 1000, 0, 60000, &read_wait_ms, error,
                        sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return false;
    }
    const char *statements = config_string("BAOVE_DATABASE_STATEMENTS", "auto");
    if (!db_parse_statement_mode(statements, &settings->statements)) {
        log_message(LOG_ERROR, "BAOVE_DATABASE_STATEMENTS must be auto, prepared or unnamed, "
                               "not \"%s\"", statements);
        return false;
    }
    settings->connections = (unsigned)connections;
    settings->wait_ms = (unsigned)wait_ms;
    settings->cpu_threads = (unsigned)cpu_threads;
    settings->cpu_wait_ms = (unsigned)cpu_wait_ms;
    settings->read_wait_ms = (unsigned)read_wait_ms;
    return true;
}

/* Connections cost a descriptor each: allow as many as the system lets
 * this process have, rather than the shell's customary 1024. */
static void raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int main(void)
{
    log_init("baove-api");
    char error[256];
    if (!clock_init(error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    if (!webhook_sealing_init(error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    if (!webhook_sealing_enabled())
        log_event(LOG_WARN, "webhook_secrets_unsealed",
                  json_pack("{s:s}", "detail",
                            "BAOVE_SECRETS_KEY_FILE is not set: new webhook secrets are stored "
                            "as they are"));
    raise_descriptor_limit();
    struct server_settings settings;
    if (!load_settings(&settings))
        return 2;
    char database_url[CONFIG_DATABASE_URL_SIZE];
    if (config_database_url(database_url) == CONFIG_DATABASE_NONE) {
        log_message(LOG_ERROR, "DATABASE_URL is too long, or the embedded cluster's path is");
        return 2;
    }
    struct database_settings database;
    if (!load_database_settings(&database))
        return 2;
    /* Half of the request threads at most, by default: bulk pulls of the
     * feed never leave the API without threads for everyone else. */
    long long max_streams;
    unsigned half_the_threads = database.connections > 1 ? database.connections / 2 : 1;
    if (!config_integer("BAOVE_HTTP_MAX_STREAMS", half_the_threads, 1, 100000, &max_streams,
                        error, sizeof error)) {
        log_message(LOG_ERROR, "%s", error);
        return 2;
    }
    settings.max_streams = (unsigned)max_streams;
    /* The standby's pool is as large as the primary's: a worker thread may
     * hold one of each (a standby's read, then its audit entry on the
     * primary), so neither pool can run dry while a thread waits on the other. */
    const char *read_url = config_string("BAOVE_READ_DATABASE_URL", "");
    pool_primary = pool_create("primary", database_url, database.statements,
                               database.connections, database.wait_ms);
    if (read_url[0] != '\0')
        pool_replica = pool_create("replica", read_url, database.statements,
                                   database.connections, database.wait_ms);
    replica_configure(database.read_wait_ms);
    if (!auth_init() || pool_primary == NULL || (read_url[0] != '\0' && pool_replica == NULL)) {
        log_message(LOG_ERROR, "initialisation failed");
        return 1;
    }
    /* Block the stop signals in every thread (the pool inherits this mask)
     * and take them synchronously here: no work in signal handlers. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    settings.workers = database.connections;
    settings.worker_wait_ms = database.wait_ms;
    settings.cpu_workers = database.cpu_threads;
    settings.cpu_wait_ms = database.cpu_wait_ms;
    struct MHD_Daemon *daemon = server_start(&settings);
    if (daemon == NULL)
        return 1;
    log_event(LOG_INFO, "listening",
              json_pack("{s:s, s:i, s:i, s:b, s:i, s:s}", "address", settings.address, "port",
                        (int)settings.port, "database_connections", (int)database.connections,
                        "read_replica", pool_replica != NULL,
                        "schema_version", BAOVE_SCHEMA_VERSION, "version", BAOVE_VERSION));
    int received = 0;
    sigwait(&stop_signals, &received);
    log_event(LOG_INFO, "stopping", json_pack("{s:s}", "signal", strsignal(received)));
    server_stop(daemon, SHUTDOWN_GRACE_SECONDS);
    pool_destroy(pool_replica);
    pool_destroy(pool_primary);
    log_event(LOG_INFO, "stopped", NULL);
    return 0;
}
