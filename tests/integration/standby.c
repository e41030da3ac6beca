#include "standby.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

bool standby_ctl(const struct test_standby *standby, const char *action, const char *argument,
                 char *out, size_t size)
{
    char directory[1100], port[40];
    snprintf(directory, sizeof directory, "BAOVE_PG_DIR=%s", standby->directory);
    snprintf(port, sizeof port, "BAOVE_PG_PORT=%s", standby->port);
    const char *env[] = {directory, port, NULL};
    return harness_pg_ctl(env, action, argument, out, size);
}

bool standby_superuser_url(const struct test_standby *standby, const char *database_name,
                           char *out, size_t size)
{
    char admin_url[512];
    if (!standby_ctl(standby, "admin-url", database_name, admin_url, sizeof admin_url))
        return false;
    char *user = strstr(admin_url, "user=baove_owner");
    if (user == NULL)
        return false;
    int length = snprintf(out, size, "%.*suser=postgres%s", (int)(user - admin_url), admin_url,
                          user + strlen("user=baove_owner"));
    return length > 0 && (size_t)length < size;
}

bool standby_build(struct test_standby *standby, const char *suffix)
{
    snprintf(standby->directory, sizeof standby->directory, "%s-%s",
             harness_env("BAOVE_PG_DIR"), suffix);
    const char *fixed_port = getenv("BAOVE_TEST_STANDBY_PORT");
    for (int attempt = 0; attempt < 3; attempt++) {
        snprintf(standby->port, sizeof standby->port, "%d",
                 fixed_port != NULL ? atoi(fixed_port) : harness_free_port());
        const char *argv[] = {"/bin/bash", harness_env("BAOVE_TEST_PG_CTL"), "standby",
                              standby->directory, standby->port, NULL};
        if (harness_run(argv, NULL, NULL, NULL) == 0)
            return true;
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
    return false;
}

/* ---- read-replica mode ----------------------------------------------------- */

/* The standby of this test program in read-replica mode, and the latest
 * position a request must see.  Global because the harness is one client
 * per program; the position is under a lock since a test may call the API
 * from several threads. */
static struct test_standby replica;
static bool replica_built;
static pthread_mutex_t position_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t latest_position;

bool read_replica_enabled(void)
{
    const char *mode = getenv("BAOVE_TEST_READ_REPLICA");
    return mode != NULL && strcmp(mode, "1") == 0;
}

/* "16/B374D848" as a number; 0 when it is not one. */
static uint64_t position_value(const char *text)
{
    unsigned high, low;
    char end;
    if (text == NULL || sscanf(text, "%x/%x%c", &high, &low, &end) != 2)
        return 0;
    return (uint64_t)high << 32 | low;
}

void read_replica_note(const char *position)
{
    uint64_t value = position_value(position);
    pthread_mutex_lock(&position_lock);
    if (value > latest_position)
        latest_position = value;
    pthread_mutex_unlock(&position_lock);
}

void read_replica_header(char *out, size_t size)
{
    pthread_mutex_lock(&position_lock);
    uint64_t value = latest_position;
    pthread_mutex_unlock(&position_lock);
    if (value == 0)
        snprintf(out, size, "%s", "");
    else
        snprintf(out, size, "Baove-Consistent-After: %" PRIX64 "/%" PRIX64, value >> 32,
                 value & 0xFFFFFFFFu);
}

bool read_replica_attach(struct test_database *database)
{
    char suffix[80];
    snprintf(suffix, sizeof suffix, "replica-%s", database->name);
    if (!replica_built && !(replica_built = standby_build(&replica, suffix)))
        return false;
    if (!standby_ctl(&replica, "url", database->name, database->read_url,
                     sizeof database->read_url))
        return false;
    /* What migrate and seed wrote: the API reads it from the standby too. */
    char *position = harness_sql(database->admin_url, "SELECT pg_current_wal_insert_lsn()");
    read_replica_note(position);
    bool known = position != NULL;
    free(position);
    return known;
}

/* The count of baove_replica_reads_total{served_by, reason} in metrics. */
static long reads_of(const char *metrics, const char *served_by, const char *reason)
{
    char series[160];
    snprintf(series, sizeof series, "baove_replica_reads_total{served_by=\"%s\",reason=\"%s\"} ",
             served_by, reason);
    const char *line = strstr(metrics, series);
    return line != NULL ? atol(line + strlen(series)) : 0;
}

bool read_replica_served(const struct test_process *api)
{
    struct http_response *metrics = http_get(api, "/metrics", NULL);
    const char *body = metrics->status == 200 ? metrics->body : "";
    long served = reads_of(body, "replica", "caught_up");
    fprintf(stderr,
            "harness: reads marked for the standby: %ld served by it; by the primary %ld "
            "(standby behind), %ld (unreachable), %ld (failed there)\n",
            served, reads_of(body, "primary", "behind"), reads_of(body, "primary", "unreachable"),
            reads_of(body, "primary", "failed"));
    http_free(metrics);
    return served > 0;
}

bool read_replica_replay(const struct test_database *database, bool paused)
{
    if (!read_replica_enabled())
        return true;
    char url[512];
    if (!replica_built || !standby_superuser_url(&replica, database->name, url, sizeof url))
        return false;
    char *done = harness_sql(url, paused ? "SELECT pg_wal_replay_pause()"
                                         : "SELECT pg_wal_replay_resume()");
    free(done);
    return done != NULL;
}

void read_replica_finish(void)
{
    if (replica_built)
        standby_ctl(&replica, "destroy", NULL, NULL, 0);
    replica_built = false;
}
