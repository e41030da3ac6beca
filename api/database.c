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

/* An idle connection has nothing to read.  If its socket is readable, the
 * server has sent something unasked (a FATAL after a restart, or EOF):
 * consume it so libpq notices a dead connection before we use it. */
static bool still_alive(PGconn *connection)
{
    if (PQstatus(connection) != CONNECTION_OK ||
        PQtransactionStatus(connection) != PQTRANS_IDLE)
        return false;
    struct pollfd descriptor = {.fd = PQsocket(connection), .events = POLLIN};
    if (descriptor.fd < 0)
        return false;
    if (poll(&descriptor, 1, 0) > 0) {
        if (!PQconsumeInput(connection))
            return false;
        PGnotify *notification;
        while ((notification = PQnotifies(connection)) != NULL)
            PQfreemem(notification);
    }
    return PQstatus(connection) == CONNECTION_OK;
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
    pthread_setspecific(connection_key, connection);
    return connection;
}
