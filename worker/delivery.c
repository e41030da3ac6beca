#include "delivery.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "pgloop.h"
#include "queue.h"
#include "webhook.h"

#define DELIVERY_PARALLEL 8            /* sends in flight per worker */
#define DELIVERY_TIMEOUT_MS 15000L     /* per attempt */
#define MICROSECONDS 1000000LL

/* The outbox as a queue (queue.h): a notification of an enabled channel is
 * due when pending, or failed and due for its retry; it is dead once its
 * retry would come later than BAOVE_DELIVERY_GIVE_UP after it was written.
 * Claim columns: id, attempts, kind, url, address, secret, payload. */
static const struct queue_kind notifications = {
    .name = "notification",
    .table = "notifications",
    .label = "c.kind",
    .join = "JOIN notification_channels c ON c.id = q.channel_id AND c.enabled",
    .due = "q.status IN ('pending', 'failed') AND q.next_attempt_at <= $2",
    .order = "q.next_attempt_at, q.id",
    .claim_from = ", notification_channels c",
    .claim_where = "AND c.id = q.channel_id",
    .returning = ", c.url, c.address, c.secret, q.payload::text",
    .clear_holder = true,
    .retry_column = "next_attempt_at",
    .done_status = "delivered",
    .done_at_column = "delivered_at",
};

struct send;

struct delivery {
    uv_loop_t *loop;
    struct pgloop database;
    struct queue queue;     /* the notifications, on `database` */
    CURLM *multi;
    uv_timer_t curl_timer;  /* libcurl's timeout */
    uv_timer_t poll_timer;  /* look for due notifications now and then */
    char identity[128];     /* leased_by */
    char smtp_url[512];
    char smtp_from[256];
    struct send *sends;     /* owned: in flight, a list */
    int in_flight;
    int recording;          /* outcomes being written */
    bool claiming;
    bool last_claim_empty;  /* the last claim found nothing due */
    bool stopping;
    int closing;            /* handles (and the pgloop) not yet closed */
    void (*drained)(void *context);
    void *drained_context;
};

/* One attempt to send one notification. */
struct send {
    struct delivery *delivery;
    struct send *next;
    CURL *easy;
    struct queue_hold hold; /* the notification: id (the webhook-id), attempt */
    bool webhook;
    bool host_allowed;
    char *body;             /* owned: what is sent */
    size_t body_length;
    size_t body_offset;     /* e-mail upload position */
    struct curl_slist *headers;
    struct curl_slist *recipients;
    char error[CURL_ERROR_SIZE];
};

/* A socket libcurl asked us to watch. */
struct socket_watch {
    uv_poll_t poll;
    curl_socket_t socket;
    struct delivery *delivery;
};

static void claim(struct delivery *delivery);

/* ---- draining (--once) and closing ---------------------------------------- */

static void maybe_drained(struct delivery *delivery)
{
    if (delivery->drained == NULL || delivery->stopping || delivery->claiming ||
        delivery->in_flight > 0 || delivery->recording > 0)
        return;
    if (!delivery->last_claim_empty) {
        claim(delivery);
        return;
    }
    void (*drained)(void *context) = delivery->drained;
    delivery->drained = NULL;
    drained(delivery->drained_context);
}

void delivery_drain(struct delivery *delivery, void (*drained)(void *context), void *context)
{
    delivery->drained = drained;
    delivery->drained_context = context;
    delivery->last_claim_empty = false;
    maybe_drained(delivery);
}

static void release(struct delivery *delivery)
{
    if (--delivery->closing == 0) {
        curl_multi_cleanup(delivery->multi);
        free(delivery);
        curl_global_cleanup();
    }
}

static void on_handle_closed(uv_handle_t *handle)
{
    release(handle->data);
}

static void on_database_closed(struct pgloop *database)
{
    release(database->data);
}

static void on_queue_closed(struct queue *queue)
{
    release(queue->data);
}

static void send_free(struct send *send)
{
    if (send->easy != NULL) {
        curl_multi_remove_handle(send->delivery->multi, send->easy);
        curl_easy_cleanup(send->easy);
    }
    curl_slist_free_all(send->headers);
    curl_slist_free_all(send->recipients);
    free(send->body);
    free(send);
}

static void unlink_send(struct delivery *delivery, struct send *send)
{
    for (struct send **link = &delivery->sends; *link != NULL; link = &(*link)->next) {
        if (*link == send) {
            *link = send->next;
            break;
        }
    }
    queue_unhold(&delivery->queue, &send->hold);
    delivery->in_flight--;
}

void delivery_stop(struct delivery *delivery)
{
    if (delivery == NULL || delivery->stopping)
        return;
    delivery->stopping = true;
    /* Sends in flight keep their lease until it expires; then any worker
     * sends them again (receivers deduplicate on webhook-id). */
    while (delivery->sends != NULL) {
        struct send *send = delivery->sends;
        unlink_send(delivery, send);
        send_free(send);
    }
    delivery->closing = 4;
    queue_close(&delivery->queue, on_queue_closed);
    uv_timer_stop(&delivery->curl_timer);
    uv_timer_stop(&delivery->poll_timer);
    uv_close((uv_handle_t *)&delivery->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&delivery->poll_timer, on_handle_closed);
    pgloop_close(&delivery->database, on_database_closed);
}

/* ---- recording outcomes --------------------------------------------------- */

static void on_recorded(void *context, PGresult *result)
{
    struct delivery *delivery = context;
    delivery->recording--;
    if (result == NULL || !db_ok(result))
        log_event(LOG_WARN, "delivery_record_failed",
                  json_pack("{s:s}", "reason", result != NULL ? db_sqlstate(result)
                                                              : "connection lost"));
    if (delivery->stopping)
        return;
    delivery->last_claim_empty = false;
    if (delivery->drained != NULL)
        maybe_drained(delivery);
    else
        claim(delivery);
}

/* Counts an outcome being written; `queued` is what queuing it returned. */
static void recording(struct delivery *delivery, bool queued)
{
    if (queued)
        delivery->recording++;
    else
        log_event(LOG_WARN, "delivery_record_failed", json_pack("{s:s}", "reason", "not ready"));
}

/* The receiver answered 410 Gone: the endpoint is gone for good, so the
 * notification is dead and its channel disabled. */
static bool record_gone(struct send *send, const char *error)
{
    struct delivery *delivery = send->delivery;
    struct db_params params;
    queue_held_params(&delivery->queue, &send->hold, &params);
    db_param_text(&params, error);
    db_param_instant(&params, clock_now_us());
    return pgloop_query(
        &delivery->database,
        "WITH gone AS (UPDATE notifications q SET status = 'dead', last_error = $4, "
        "                     leased_by = NULL, lease_expires_at = NULL "
        "               WHERE " QUEUE_HELD " RETURNING q.channel_id) "
        "UPDATE notification_channels c SET enabled = false, "
        "       disabled_reason = 'the receiver answered 410 Gone', "
        "       version = c.version + 1, updated_at = $5 "
        "  FROM gone WHERE c.id = gone.channel_id",
        &params, on_recorded, delivery);
}

static void record_outcome(struct send *send, long status, CURLcode code)
{
    struct delivery *delivery = send->delivery;
    bool delivered = code == CURLE_OK && (!send->webhook || (status >= 200 && status < 300));
    if (delivered) {
        log_event(LOG_INFO, "notification_delivered",
                  json_pack("{s:s, s:I}", "id", send->hold.id, "attempt",
                            (json_int_t)send->hold.attempt));
        recording(delivery, queue_complete(&delivery->queue, &delivery->database, &send->hold,
                                           NULL, on_recorded, delivery));
        return;
    }
    char error[CURL_ERROR_SIZE + 64];
    if (code == CURLE_OK)
        snprintf(error, sizeof error, "the receiver answered HTTP %ld", status);
    else
        snprintf(error, sizeof error, "%s", send->error[0] != '\0' ? send->error
                                                                  : curl_easy_strerror(code));
    log_event(LOG_WARN, "notification_failed",
              json_pack("{s:s, s:I, s:s}", "id", send->hold.id, "attempt",
                        (json_int_t)send->hold.attempt, "error", error));
    if (code == CURLE_OK && status == 410)
        recording(delivery, record_gone(send, error));
    else /* retried after the backoff, or dead past BAOVE_DELIVERY_GIVE_UP */
        recording(delivery, queue_fail(&delivery->queue, &send->hold, error, on_recorded,
                                       delivery));
}

static void check_finished(struct delivery *delivery)
{
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read(delivery->multi, &left)) != NULL) {
        if (message->msg != CURLMSG_DONE)
            continue;
        struct send *send = NULL;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&send);
        long status = 0;
        curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        CURLcode code = message->data.result;
        unlink_send(delivery, send);
        record_outcome(send, status, code);
        send_free(send);
    }
}

/* ---- libcurl on libuv ------------------------------------------------------ */

static void on_socket_ready(uv_poll_t *poll, int status, int events)
{
    struct socket_watch *watch = poll->data;
    struct delivery *delivery = watch->delivery;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(delivery->multi, watch->socket, flags, &running);
    check_finished(delivery);
}

static void on_watch_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static int on_curl_socket(CURL *easy, curl_socket_t socket, int what, void *user,
                          void *socket_data)
{
    (void)easy;
    struct delivery *delivery = user;
    struct socket_watch *watch = socket_data;
    if (what == CURL_POLL_REMOVE) {
        if (watch != NULL) {
            uv_poll_stop(&watch->poll);
            uv_close((uv_handle_t *)&watch->poll, on_watch_closed);
            curl_multi_assign(delivery->multi, socket, NULL);
        }
        return 0;
    }
    if (watch == NULL) {
        watch = calloc(1, sizeof *watch);
        if (watch == NULL || uv_poll_init_socket(delivery->loop, &watch->poll, socket) != 0) {
            free(watch);
            return -1;
        }
        watch->socket = socket;
        watch->delivery = delivery;
        watch->poll.data = watch;
        curl_multi_assign(delivery->multi, socket, watch);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&watch->poll, events, on_socket_ready);
    return 0;
}

static void on_curl_timeout(uv_timer_t *timer)
{
    struct delivery *delivery = timer->data;
    int running;
    curl_multi_socket_action(delivery->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_finished(delivery);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *user)
{
    (void)multi;
    struct delivery *delivery = user;
    if (timeout_ms < 0)
        uv_timer_stop(&delivery->curl_timer);
    else
        uv_timer_start(&delivery->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- building a send ------------------------------------------------------ */

static size_t discard_response(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

/* Refuses to connect to a private address unless the host is allowed:
 * DNS may answer differently now than when the channel was saved. */
static curl_socket_t open_checked_socket(void *user, curlsocktype purpose,
                                         struct curl_sockaddr *address)
{
    (void)purpose;
    struct send *send = user;
    if (!send->host_allowed && webhook_address_private(&address->addr)) {
        snprintf(send->error, sizeof send->error,
                 "refused to connect to a private, loopback or link-local address");
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *longer = curl_slist_append(*list, line);
    if (longer == NULL)
        return false;
    *list = longer;
    return true;
}

static bool prepare_webhook(struct send *send, const char *url, const char *stored_secret,
                            const char *payload)
{
    bool https = false;
    char host[WEBHOOK_HOST_SIZE];
    if (webhook_url_host(url, &https, host) != NULL)
        return false;
    char secret[WEBHOOK_SECRET_SIZE];
    if (!webhook_secret_open(stored_secret, secret)) {
        snprintf(send->error, sizeof send->error,
                 "the channel's secret is sealed and %s",
                 webhook_sealing_enabled() ? "BAOVE_SECRETS_KEY_FILE holds another key"
                                           : "BAOVE_SECRETS_KEY_FILE is not set");
        return false;
    }
    send->host_allowed = webhook_host_allowed(host);
    send->body = strdup(payload);
    if (send->body == NULL)
        return false;
    send->body_length = strlen(send->body);
    char timestamp[24], signature[WEBHOOK_SIGNATURE_SIZE];
    snprintf(timestamp, sizeof timestamp, "%lld", (long long)(clock_now_us() / MICROSECONDS));
    bool signed_now =
        webhook_sign(secret, send->hold.id, timestamp, send->body, send->body_length, signature);
    sodium_memzero(secret, sizeof secret);
    if (!signed_now)
        return false;
    if (!add_header(&send->headers, "Content-Type", "application/json") ||
        !add_header(&send->headers, "User-Agent", "baove-worker/" BAOVE_VERSION) ||
        !add_header(&send->headers, "webhook-id", send->hold.id) ||
        !add_header(&send->headers, "webhook-timestamp", timestamp) ||
        !add_header(&send->headers, "webhook-signature", signature))
        return false;
    CURL *easy = send->easy;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, send->host_allowed ? "http,https" : "https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    /* No proxy from the environment: the address check must see the
     * receiver's own address. */
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, send->headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, send->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)send->body_length);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_response);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, send);
    return true;
}

static size_t read_message(char *buffer, size_t size, size_t count, void *user)
{
    struct send *send = user;
    size_t left = send->body_length - send->body_offset;
    size_t chunk = size * count < left ? size * count : left;
    memcpy(buffer, send->body + send->body_offset, chunk);
    send->body_offset += chunk;
    return chunk;
}

/* RFC 5322 message: UTF-8 text, the subject as an RFC 2047 encoded word. */
static char *email_message(const struct delivery *delivery, const char *id, const char *to,
                           const json_t *data)
{
    const char *subject = json_string_value(json_object_get(data, "subject"));
    const char *text = json_string_value(json_object_get(data, "text"));
    const char *text_en = json_string_value(json_object_get(data, "text_en"));
    subject = subject != NULL ? subject : "Baove";
    size_t encoded_size = sodium_base64_ENCODED_LEN(strlen(subject),
                                                    sodium_base64_VARIANT_ORIGINAL);
    char *encoded = malloc(encoded_size);
    if (encoded == NULL)
        return NULL;
    sodium_bin2base64(encoded, encoded_size, (const unsigned char *)subject, strlen(subject),
                      sodium_base64_VARIANT_ORIGINAL);
    time_t now = (time_t)(clock_now_us() / MICROSECONDS);
    struct tm utc;
    gmtime_r(&now, &utc);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    char *message = NULL;
    int length = asprintf(&message,
                          "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nMessage-ID: <%s@baove>\r\n"
                          "Subject: =?UTF-8?B?%s?=\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n\r\n%s\r\n",
                          date, delivery->smtp_from, to, id, encoded, text ? text : "",
                          text_en ? text_en : "");
    free(encoded);
    return length < 0 ? NULL : message;
}

static bool prepare_email(struct send *send, const char *address, const char *payload)
{
    struct delivery *delivery = send->delivery;
    if (delivery->smtp_url[0] == '\0') {
        snprintf(send->error, sizeof send->error, "BAOVE_SMTP_URL is not set");
        return false;
    }
    json_t *document = json_loads(payload, 0, NULL);
    send->body = email_message(delivery, send->hold.id, address,
                               json_object_get(document, "data"));
    json_decref(document);
    if (send->body == NULL)
        return false;
    send->body_length = strlen(send->body);
    char recipient[300], from[300];
    snprintf(recipient, sizeof recipient, "<%s>", address);
    snprintf(from, sizeof from, "<%s>", delivery->smtp_from);
    send->recipients = curl_slist_append(NULL, recipient);
    if (send->recipients == NULL)
        return false;
    CURL *easy = send->easy;
    curl_easy_setopt(easy, CURLOPT_URL, delivery->smtp_url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS whenever the relay offers it (smtps:// for TLS from the
     * start); credentials, if any, come in the URL. */
    curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, send->recipients);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(easy, CURLOPT_READDATA, send);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE, (long)send->body_length);
    return true;
}

/* Starts sending one claimed row: id, attempts, kind, url, address,
 * secret, payload. */
static void start_send(struct delivery *delivery, const PGresult *result, int row)
{
    struct send *send = calloc(1, sizeof *send);
    if (send == NULL)
        return; /* the lease expires and another attempt sends it */
    send->delivery = delivery;
    queue_hold(&delivery->queue, &send->hold, result, row);
    send->webhook = strcmp(send->hold.label, "webhook") == 0;
    send->easy = curl_easy_init();
    bool ready = send->easy != NULL;
    if (ready) {
        curl_easy_setopt(send->easy, CURLOPT_PRIVATE, send);
        curl_easy_setopt(send->easy, CURLOPT_ERRORBUFFER, send->error);
        curl_easy_setopt(send->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(send->easy, CURLOPT_TIMEOUT_MS, DELIVERY_TIMEOUT_MS);
        ready = send->webhook ? prepare_webhook(send, db_text(result, row, 3),
                                                db_text(result, row, 5),
                                                db_text(result, row, 6))
                              : prepare_email(send, db_text(result, row, 4),
                                              db_text(result, row, 6));
    }
    send->next = delivery->sends;
    delivery->sends = send;
    delivery->in_flight++;
    if (!ready || curl_multi_add_handle(delivery->multi, send->easy) != CURLM_OK) {
        /* Counts as a failed attempt, retried later. */
        if (send->error[0] == '\0')
            snprintf(send->error, sizeof send->error, "the message could not be prepared");
        unlink_send(delivery, send);
        record_outcome(send, 0, CURLE_FAILED_INIT);
        send_free(send);
    }
}

/* ---- claiming ----------------------------------------------------------------- */

static void on_claimed(void *context, PGresult *result)
{
    struct delivery *delivery = context;
    delivery->claiming = false;
    if (delivery->stopping)
        return;
    int rows = result != NULL && db_ok(result) ? PQntuples(result) : 0;
    if (result != NULL && !db_ok(result))
        log_event(LOG_WARN, "delivery_claim_failed",
                  json_pack("{s:s}", "sqlstate", db_sqlstate(result)));
    delivery->last_claim_empty = rows == 0 && result != NULL && db_ok(result);
    for (int row = 0; row < rows; row++)
        start_send(delivery, result, row);
    maybe_drained(delivery);
}

/* Claims due notifications of enabled channels for the free slots: each
 * is leased to this worker, on the database's clock (leases compare
 * processes, not business time), so no other worker sends it meanwhile. */
static void claim(struct delivery *delivery)
{
    if (delivery->stopping || delivery->claiming || !pgloop_ready(&delivery->database) ||
        delivery->in_flight >= DELIVERY_PARALLEL)
        return;
    delivery->claiming = queue_claim(&delivery->queue, DELIVERY_PARALLEL - delivery->in_flight,
                                     on_claimed, delivery);
}

static void on_ready(struct pgloop *database)
{
    claim(database->data);
}

static void on_lost(struct pgloop *database, const char *reason)
{
    (void)database;
    log_event(LOG_WARN, "database_lost",
              json_pack("{s:s, s:s}", "connection", "delivery", "reason", reason));
}

static void on_notified(struct pgloop *database, const char *payload)
{
    if (strcmp(payload, "notification") == 0)
        claim(database->data);
}

static void on_poll(uv_timer_t *timer)
{
    claim(timer->data);
}

struct delivery *delivery_start(uv_loop_t *loop, const char *url, const char *identity,
                                const struct queue_settings *settings, long long poll_seconds)
{
    struct delivery *delivery = calloc(1, sizeof *delivery);
    if (delivery == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(delivery);
        return NULL;
    }
    snprintf(delivery->identity, sizeof delivery->identity, "%s", identity);
    /* queue_init() puts its timer on the loop only once nothing can fail,
     * so a failure here leaves no handle to close. */
    delivery->multi = curl_multi_init();
    if (delivery->multi == NULL ||
        !queue_init(&delivery->queue, &notifications, settings, &delivery->database,
                    delivery->identity, loop)) {
        if (delivery->multi != NULL)
            curl_multi_cleanup(delivery->multi);
        free(delivery);
        curl_global_cleanup();
        return NULL;
    }
    delivery->queue.data = delivery;
    delivery->loop = loop;
    snprintf(delivery->smtp_url, sizeof delivery->smtp_url, "%s",
             config_string("BAOVE_SMTP_URL", ""));
    snprintf(delivery->smtp_from, sizeof delivery->smtp_from, "%s",
             config_string("BAOVE_SMTP_FROM", "baove@localhost"));
    curl_multi_setopt(delivery->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(delivery->multi, CURLMOPT_SOCKETDATA, delivery);
    curl_multi_setopt(delivery->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(delivery->multi, CURLMOPT_TIMERDATA, delivery);
    uv_timer_init(loop, &delivery->curl_timer);
    uv_timer_init(loop, &delivery->poll_timer);
    delivery->curl_timer.data = delivery->poll_timer.data = delivery;
    struct pgloop_callbacks callbacks = {on_ready, on_lost, on_notified};
    pgloop_init(&delivery->database, loop, url, callbacks, delivery);
    uint64_t poll_ms = (uint64_t)poll_seconds * 1000;
    uv_timer_start(&delivery->poll_timer, on_poll, poll_ms, poll_ms);
    queue_start(&delivery->queue); /* renews the leases of sends in flight */
    pgloop_start(&delivery->database);
    return delivery;
}
