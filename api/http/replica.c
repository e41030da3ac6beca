#include "http/replica.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "http/metrics.h"
#include "http/pool.h"
#include "http/server.h"

/* Set once by main() before serving (replica_configure), read-only after. */
static unsigned replica_wait_ms;

/* Whether the last request found the standby usable: only a change is
 * logged, so that an outage is one line and not one per read.  Shared by
 * every request thread (an atomic; a race between two threads costs at
 * most a repeated line). */
enum replica_state { STATE_UNKNOWN, STATE_USABLE, STATE_UNUSABLE };
static atomic_int replica_state = STATE_UNKNOWN;

/* Polling the standby's replay position while a read waits for it. */
#define CATCH_UP_POLL_MS 5

void replica_configure(unsigned wait_ms)
{
    replica_wait_ms = wait_ms;
}

static const char *fallback_name(enum replica_fallback why)
{
    return why == REPLICA_UNREACHABLE ? "unreachable" : why == REPLICA_BEHIND ? "behind"
                                                                            : "failed";
}

/* Logs the standby's state when it changed. */
static void note_state(bool usable, enum replica_fallback why)
{
    int now = usable ? STATE_USABLE : STATE_UNUSABLE;
    if (atomic_exchange(&replica_state, now) == now)
        return;
    if (usable)
        log_event(LOG_INFO, "read_replica_usable", NULL);
    else
        log_event(LOG_WARN, "read_replica_unusable",
                  json_pack("{s:s, s:s}", "reason", fallback_name(why), "reads",
                            "served by the primary"));
}

/* "16/B374D848": the text form of a pg_lsn, checked before it travels. */
static bool is_position(const char *text)
{
    size_t high = strspn(text, "0123456789ABCDEFabcdef");
    if (high == 0 || high > 8 || text[high] != '/')
        return false;
    size_t low = strspn(text + high + 1, "0123456789ABCDEFabcdef");
    return low > 0 && low <= 8 && text[high + 1 + low] == '\0';
}

/* Whether the standby has replayed `position` (waiting up to the
 * configured bound); *lost when the connection went. */
static bool caught_up(PGconn *connection, const char *position, bool *lost)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, position);
    int64_t deadline = clock_monotonic_us() + (int64_t)replica_wait_ms * 1000;
    for (;;) {
        PGresult *result = db_query(
            connection, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)",
            &params);
        bool ok = db_ok(result), reached = ok && db_bool(result, 0, 0);
        *lost = !ok && db_connection_lost(connection, result);
        PQclear(result);
        if (reached || !ok || clock_monotonic_us() >= deadline)
            return reached;
        struct timespec pause = {0, CATCH_UP_POLL_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

PGconn *replica_connection(struct request *request)
{
    if (pool_replica == NULL)
        return NULL;
    if (request->read_database != NULL)
        return request->read_database; /* a streamed feed's later pages */
    enum pool_failure failure;
    PGconn *connection = pool_acquire(pool_replica, &failure);
    if (connection == NULL) {
        metrics_replica_read(METRICS_READ_PRIMARY_UNREACHABLE);
        note_state(false, REPLICA_UNREACHABLE);
        return NULL;
    }
    /* A malformed position cannot be waited for: the primary answers. */
    const char *position = request_header(request, REPLICA_CONSISTENT_AFTER);
    bool lost = false;
    if (position != NULL && (!is_position(position) || !caught_up(connection, position, &lost))) {
        if (lost)
            pool_discard(pool_replica, connection);
        else
            pool_release(pool_replica, connection);
        metrics_replica_read(lost ? METRICS_READ_PRIMARY_UNREACHABLE : METRICS_READ_PRIMARY_BEHIND);
        if (lost)
            note_state(false, REPLICA_UNREACHABLE);
        return NULL;
    }
    note_state(true, REPLICA_UNREACHABLE);
    request->read_database = connection;
    return connection;
}

void replica_fall_back(struct request *request, enum replica_fallback why)
{
    PGconn *connection = request->read_database;
    request->read_database = NULL;
    bool lost = connection != NULL && db_connection_lost(connection, NULL);
    if (lost)
        pool_discard(pool_replica, connection);
    else
        pool_release(pool_replica, connection);
    metrics_replica_read(why == REPLICA_BEHIND ? METRICS_READ_PRIMARY_BEHIND
                         : lost                ? METRICS_READ_PRIMARY_UNREACHABLE
                                               : METRICS_READ_PRIMARY_FAILED);
    if (why != REPLICA_BEHIND)
        note_state(false, lost ? REPLICA_UNREACHABLE : why);
}

bool replica_commit_position(PGconn *connection, char out[REPLICA_POSITION_SIZE])
{
    out[0] = '\0';
    PGresult *result = db_query(connection, "SELECT pg_current_wal_insert_lsn()::text", NULL);
    bool ok = db_ok(result) && PQntuples(result) == 1;
    if (ok)
        snprintf(out, REPLICA_POSITION_SIZE, "%s", db_text(result, 0, 0));
    else
        db_log_failure("commit position", connection, result);
    PQclear(result);
    return ok;
}

/* How far the standby is behind the primary, in bytes of WAL; -1 unknown. */
static long long lag_bytes(PGconn *primary, const char *replayed)
{
    if (primary == NULL)
        return -1;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, replayed);
    PGresult *result = db_query(
        primary, "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint",
        &params);
    long long lag = db_ok(result) ? db_integer(result, 0, 0) : -1;
    PQclear(result);
    return lag;
}

json_t *replica_readiness(PGconn *primary)
{
    if (pool_replica == NULL)
        return NULL;
    enum pool_failure failure;
    PGconn *connection = pool_acquire(pool_replica, &failure);
    if (connection == NULL)
        return json_pack("{s:s}", "status", "unreachable");
    PGresult *result = db_query(
        connection, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text", NULL);
    json_t *state;
    if (!db_ok(result)) {
        state = json_pack("{s:s}", "status", "unreachable");
    } else if (!db_bool(result, 0, 0) || db_text(result, 0, 1) == NULL) {
        state = json_pack("{s:s}", "status", "not_a_standby");
    } else {
        const char *replayed = db_text(result, 0, 1);
        long long lag = lag_bytes(primary, replayed);
        state = json_pack("{s:s, s:s}", "status", "streaming", "replayed", replayed);
        if (lag >= 0)
            json_object_set_new(state, "lag_bytes", json_integer(lag));
    }
    bool lost = !db_ok(result) && db_connection_lost(connection, result);
    PQclear(result);
    if (lost)
        pool_discard(pool_replica, connection);
    else
        pool_release(pool_replica, connection);
    return state;
}
