#include "database.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "metrics.h"

/* Written once by database_init() before the server starts; read-only after. */
static const char *database_url;
static pthread_key_t connection_key;

static void close_connection(void *connection)
{
    PQfinish(connection);
}

bool database_init(const char *url)
{
    database_url = url;
    return pthread_key_create(&connection_key, close_connection) == 0;
}

void database_discard(void)
{
    PGconn *connection = pthread_getspecific(connection_key);
    if (connection != NULL) {
        PQfinish(connection);
        pthread_setspecific(connection_key, NULL);
    }
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

PGconn *database_connection(void)
{
    PGconn *connection = pthread_getspecific(connection_key);
    if (connection != NULL && still_alive(connection))
        return connection;
    if (connection != NULL) {
        log_event(LOG_WARN, "database_reconnect",
                  json_pack("{s:s}", "reason", "connection lost or left mid-transaction"));
        database_discard();
    }
    char error[512];
    connection = db_connect(database_url, "baove-api", error, sizeof error);
    if (connection == NULL) {
        metrics_database_error();
        log_event(LOG_ERROR, "database_unreachable", json_pack("{s:s}", "error", error));
        return NULL;
    }
    if (!db_prepare_statements(connection))
        log_event(LOG_WARN, "statement_cache_unavailable", NULL);
    pthread_setspecific(connection_key, connection);
    return connection;
}
