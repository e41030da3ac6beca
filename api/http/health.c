/* Liveness, readiness and metrics: what an orchestrator and Prometheus ask. */
#include "http/pool.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "http/handlers.h"
#include "http/metrics.h"
#include "http/replica.h"

void handle_healthz(struct request *request)
{
    reply_json(request, 200, json_pack("{s:s}", "status", "ok"));
}

/* Names why the readiness query failed: the connection, a missing schema,
 * or else the server's own words (a pooler that loses prepared statements,
 * a role without privileges…), never a guess. */
static void not_ready_because(struct request *request, PGconn *connection,
                              const PGresult *result)
{
    const char *state = db_sqlstate(result);
    if (db_connection_lost(connection, result)) {
        pool_discard(pool_primary, connection);
        request->database = NULL;
        reply_problem(request, PROBLEM_NOT_READY, "The database connection was lost.");
    } else if (strcmp(state, "42P01") == 0) {
        reply_problem(request, PROBLEM_NOT_READY,
                      "The schema is not installed: run baove-admin migrate.");
    } else {
        const char *primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        char message[256];
        snprintf(message, sizeof message, "%s", primary != NULL ? primary : "no message");
        reply_problem(request, PROBLEM_NOT_READY,
                      "The readiness query failed (SQLSTATE %s): %s%s", state, message,
                      strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0
                          ? " (a transaction pooler in front of the database? set "
                            "BAOVE_DATABASE_STATEMENTS=unnamed)"
                          : "");
    }
}

/* Ready means: the database answers, and every migration this build knows
 * is applied (an older schema would break handlers in odd ways). */
void handle_readyz(struct request *request)
{
    enum pool_failure failure;
    PGconn *connection = pool_acquire(pool_primary, &failure);
    if (connection == NULL) {
        reply_problem(request, PROBLEM_NOT_READY,
                      failure == POOL_BUSY ? "Every database connection is busy."
                                               : "The database cannot be reached.");
        return;
    }
    request->database = connection; /* given back after the handler */
    PGresult *result = db_query(connection,
                                "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL);
    if (!db_ok(result)) {
        not_ready_because(request, connection, result);
        PQclear(result);
        return;
    }
    long long version = db_integer(result, 0, 0);
    PQclear(result);
    if (version < BAOVE_SCHEMA_VERSION) {
        reply_problem(request, PROBLEM_NOT_READY,
                      "Schema migrations are pending: the database is at version %lld, this "
                      "build needs %d. Run baove-admin migrate.", version, BAOVE_SCHEMA_VERSION);
        return;
    }
    json_t *ready = json_pack("{s:s, s:s, s:I, s:i}", "status", "ready", "database", "ok",
                              "schema_version", version, "expected_schema_version",
                              BAOVE_SCHEMA_VERSION);
    /* A standby that is down does not make the service unready: its reads
     * go to the primary.  It is reported, with how far behind it is. */
    json_t *replica = replica_readiness(connection);
    if (replica != NULL)
        json_object_set_new(ready, "replica", replica);
    reply_json(request, 200, ready);
}

void handle_metrics(struct request *request)
{
    size_t length;
    /* The queue depth comes from the database; without one (busy or down)
     * the other metrics are still worth serving. */
    enum pool_failure failure;
    request->database = pool_acquire(pool_primary, &failure); /* given back after the handler */
    char *text = metrics_render(&length, request->database);
    if (text == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory rendering metrics.");
        return;
    }
    reply_text(request, 200, "text/plain; version=0.0.4; charset=utf-8", text, length);
}
