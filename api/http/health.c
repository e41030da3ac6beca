/* Liveness, readiness and metrics: what an orchestrator and Prometheus ask. */
#include "http/pool.h"
#include "db.h"
#include "http/handlers.h"
#include "http/metrics.h"

void handle_healthz(struct request *request)
{
    reply_json(request, 200, json_pack("{s:s}", "status", "ok"));
}

/* Ready means: the database answers, and every migration this build knows
 * is applied (an older schema would break handlers in odd ways). */
void handle_readyz(struct request *request)
{
    enum pool_failure failure;
    PGconn *connection = pool_acquire(&failure);
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
        bool lost = db_connection_lost(connection, result);
        PQclear(result);
        if (lost) {
            pool_discard(connection);
            request->database = NULL;
        }
        reply_problem(request, PROBLEM_NOT_READY,
                      lost ? "The database connection was lost." : "The schema is not installed.");
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
    reply_json(request, 200,
               json_pack("{s:s, s:s, s:I, s:i}", "status", "ready", "database", "ok",
                         "schema_version", version, "expected_schema_version",
                         BAOVE_SCHEMA_VERSION));
}

void handle_metrics(struct request *request)
{
    size_t length;
    /* The queue depth comes from the database; without one (busy or down)
     * the other metrics are still worth serving. */
    enum pool_failure failure;
    request->database = pool_acquire(&failure); /* given back after the handler */
    char *text = metrics_render(&length, request->database);
    if (text == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory rendering metrics.");
        return;
    }
    reply_text(request, 200, "text/plain; version=0.0.4; charset=utf-8", text, length);
}
