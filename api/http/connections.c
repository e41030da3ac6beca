#include "http/connections.h"

#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "http/proxies.h"
#include "log.h"

struct tracked {
    struct tracked *next, *previous;
    MHD_socket socket;
    char address[64];
    bool over_limit;
    bool receiving;         /* a request is (or may be) arriving */
    int64_t deadline_us;    /* monotonic: it must be received by then */
};

/* The open connections: global because libmicrohttpd's callbacks and the
 * watchdog share them; under connections_lock.  A socket is shut down only
 * under the lock while its connection is listed, and the daemon unlists it
 * (NOTIFY_CLOSED) before it closes the socket: never someone else's. */
static pthread_mutex_t connections_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watchdog_wake;
static struct tracked *listed;
static unsigned listed_count;
static bool stopping;
static struct connection_limits limits;    /* constant once started */
static pthread_t watchdog;
static bool watchdog_started;

static struct log_rate refusal_lines = LOG_RATE_INITIALIZER;
static struct log_rate cut_lines = LOG_RATE_INITIALIZER;
#define REFUSAL_LOG_INTERVAL_US (10 * 1000000LL)

#define WATCHDOG_PERIOD_MS 250

static void log_rated(struct log_rate *rate, const char *event, const char *address)
{
    unsigned suppressed;
    if (log_rate_allow(rate, REFUSAL_LOG_INTERVAL_US, &suppressed))
        log_event(LOG_WARN, event, json_pack("{s:s, s:i, s:i}", "address", address,
                                             "similar_not_logged", (int)suppressed,
                                             "connections", (int)listed_count));
}

/* Shuts the sockets of requests past their deadline; the daemon then sees
 * the connection end and closes it. */
static void cut_overdue(void)
{
    int64_t now = clock_monotonic_us();
    for (struct tracked *at = listed; at != NULL; at = at->next) {
        if (at->receiving && now > at->deadline_us) {
            at->receiving = false;
            shutdown(at->socket, SHUT_RDWR);
            log_rated(&cut_lines, "request_deadline_passed", at->address);
        }
    }
}

static void *watch(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&connections_lock);
    while (!stopping) {
        cut_overdue();
        struct timespec due;
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&watchdog_wake, &connections_lock, &due);
    }
    pthread_mutex_unlock(&connections_lock);
    return NULL;
}

bool connections_start(const struct connection_limits *given)
{
    limits = *given;
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&watchdog_wake, &attributes) == 0;
    pthread_condattr_destroy(&attributes);
    watchdog_started = ok && pthread_create(&watchdog, NULL, watch, NULL) == 0;
    return watchdog_started;
}

void connections_stop(void)
{
    pthread_mutex_lock(&connections_lock);
    stopping = true;
    pthread_cond_signal(&watchdog_wake);
    pthread_mutex_unlock(&connections_lock);
    if (watchdog_started)
        pthread_join(watchdog, NULL);
    watchdog_started = false;
}

static unsigned count_from(const char *address)
{
    unsigned count = 0;
    for (struct tracked *at = listed; at != NULL; at = at->next)
        count += strcmp(at->address, address) == 0;
    return count;
}

void connections_peer_address(struct MHD_Connection *connection, char *out, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "unknown");
    if (info == NULL || info->client_addr == NULL)
        return;
    socklen_t length = info->client_addr->sa_family == AF_INET6
                           ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    getnameinfo(info->client_addr, length, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST);
}

static struct tracked *track(struct MHD_Connection *connection)
{
    struct tracked *entry = calloc(1, sizeof *entry);
    const union MHD_ConnectionInfo *socket =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (entry == NULL || socket == NULL) {
        free(entry);
        return NULL;
    }
    entry->socket = socket->connect_fd;
    connections_peer_address(connection, entry->address, sizeof entry->address);
    entry->receiving = true;
    entry->deadline_us = clock_monotonic_us() + (int64_t)limits.request_deadline_s * 1000000;
    pthread_mutex_lock(&connections_lock);
    entry->over_limit = listed_count >= limits.max_connections ||
                        (!proxies_trusted(entry->address) &&
                         count_from(entry->address) >= limits.max_per_address);
    entry->next = listed;
    if (listed != NULL)
        listed->previous = entry;
    listed = entry;
    listed_count++;
    pthread_mutex_unlock(&connections_lock);
    if (entry->over_limit)
        log_rated(&refusal_lines, "connection_over_limit", entry->address);
    return entry;
}

static void untrack(struct tracked *entry)
{
    pthread_mutex_lock(&connections_lock);
    if (entry->previous != NULL)
        entry->previous->next = entry->next;
    else
        listed = entry->next;
    if (entry->next != NULL)
        entry->next->previous = entry->previous;
    listed_count--;
    pthread_mutex_unlock(&connections_lock);
    free(entry);
}

void connections_notify(void *closure, struct MHD_Connection *connection,
                        void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    (void)closure;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        *socket_context = track(connection);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL)
        untrack(*socket_context);
}

static struct tracked *tracked_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

void connections_request_received(struct MHD_Connection *connection)
{
    struct tracked *entry = tracked_of(connection);
    if (entry == NULL)
        return;
    pthread_mutex_lock(&connections_lock);
    entry->receiving = false;
    pthread_mutex_unlock(&connections_lock);
}

void connections_request_answered(struct MHD_Connection *connection)
{
    struct tracked *entry = tracked_of(connection);
    if (entry == NULL)
        return;
    pthread_mutex_lock(&connections_lock);
    entry->receiving = true;
    entry->deadline_us = clock_monotonic_us() +
                         (int64_t)(limits.idle_timeout_s + limits.request_deadline_s) * 1000000;
    pthread_mutex_unlock(&connections_lock);
}

bool connections_over_limit(struct MHD_Connection *connection)
{
    struct tracked *entry = tracked_of(connection);
    return entry != NULL && entry->over_limit;
}
