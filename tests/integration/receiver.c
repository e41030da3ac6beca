#include "receiver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- webhook receiver ------------------------------------------------------ */

/* The receiver's state: written by libmicrohttpd's thread, read by the test,
 * always under `lock`. */
static struct {
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    struct received_webhook requests[RECEIVER_MAX_REQUESTS];
    size_t count;
    char scripted_path[128];
    unsigned scripted[RECEIVER_MAX_SCRIPTED];
    size_t scripted_count;
    unsigned delay_ms;
} receiver = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct upload {
    char *data;
    size_t length;
};

static void copy_header(struct MHD_Connection *connection, const char *name, char *out,
                        size_t size)
{
    const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    snprintf(out, size, "%s", value != NULL ? value : "");
}

static unsigned next_status(const char *path)
{
    if (receiver.scripted_count == 0 || strcmp(path, receiver.scripted_path) != 0)
        return 200;
    unsigned status = receiver.scripted[0];
    memmove(receiver.scripted, receiver.scripted + 1,
            (receiver.scripted_count - 1) * sizeof receiver.scripted[0]);
    receiver.scripted_count--;
    return status;
}

static enum MHD_Result answer(void *closure, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
    (void)closure;
    (void)method;
    (void)version;
    struct upload *upload = *state;
    if (upload == NULL) {
        *state = calloc(1, sizeof *upload);
        return *state != NULL ? MHD_YES : MHD_NO;
    }
    if (*data_size > 0) {
        char *longer = realloc(upload->data, upload->length + *data_size + 1);
        if (longer == NULL)
            return MHD_NO;
        upload->data = longer;
        memcpy(upload->data + upload->length, data, *data_size);
        upload->length += *data_size;
        upload->data[upload->length] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&receiver.lock);
    unsigned status = next_status(url);
    unsigned delay = receiver.delay_ms;
    if (receiver.count < RECEIVER_MAX_REQUESTS) {
        struct received_webhook *request = &receiver.requests[receiver.count++];
        snprintf(request->path, sizeof request->path, "%s", url);
        copy_header(connection, "webhook-id", request->id, sizeof request->id);
        copy_header(connection, "webhook-timestamp", request->timestamp,
                    sizeof request->timestamp);
        copy_header(connection, "webhook-signature", request->signature,
                    sizeof request->signature);
        request->body = upload->data != NULL ? upload->data : strdup("");
        upload->data = NULL;
        request->answered = status;
    }
    pthread_mutex_unlock(&receiver.lock);
    if (delay > 0) {
        struct timespec pause = {delay / 1000, (long)(delay % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static void completed(void *closure, struct MHD_Connection *connection, void **state,
                      enum MHD_RequestTerminationCode code)
{
    (void)closure;
    (void)connection;
    (void)code;
    struct upload *upload = *state;
    if (upload != NULL) {
        free(upload->data);
        free(upload);
    }
    *state = NULL;
}

bool receiver_start(int *port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    receiver.daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, answer,
        NULL, MHD_OPTION_SOCK_ADDR, &address, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_END);
    if (receiver.daemon == NULL)
        return false;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(receiver.daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    *port = info != NULL ? info->port : 0;
    return *port > 0;
}

void receiver_stop(void)
{
    if (receiver.daemon != NULL)
        MHD_stop_daemon(receiver.daemon);
    receiver.daemon = NULL;
    for (size_t i = 0; i < receiver.count; i++)
        free(receiver.requests[i].body);
    receiver.count = 0;
}

void receiver_script(const char *path, const unsigned *statuses, size_t count)
{
    pthread_mutex_lock(&receiver.lock);
    snprintf(receiver.scripted_path, sizeof receiver.scripted_path, "%s", path);
    receiver.scripted_count = count < RECEIVER_MAX_SCRIPTED ? count : RECEIVER_MAX_SCRIPTED;
    memcpy(receiver.scripted, statuses, receiver.scripted_count * sizeof *statuses);
    pthread_mutex_unlock(&receiver.lock);
}

void receiver_set_delay_ms(unsigned milliseconds)
{
    pthread_mutex_lock(&receiver.lock);
    receiver.delay_ms = milliseconds;
    pthread_mutex_unlock(&receiver.lock);
}

size_t receiver_count(void)
{
    pthread_mutex_lock(&receiver.lock);
    size_t count = receiver.count;
    pthread_mutex_unlock(&receiver.lock);
    return count;
}

const struct received_webhook *receiver_get(size_t index)
{
    return index < receiver_count() ? &receiver.requests[index] : NULL;
}

/* ---- SMTP sink --------------------------------------------------------------- */

#define SMTP_MAX_MESSAGES 256

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    int listener;
    bool running;
    char *recipients[SMTP_MAX_MESSAGES];
    char *messages[SMTP_MAX_MESSAGES];
    size_t count;
} sink = {.lock = PTHREAD_MUTEX_INITIALIZER, .listener = -1};

static void smtp_reply(int client, const char *line)
{
    if (write(client, line, strlen(line)) < 0)
        return;
}

/* Reads one CRLF-terminated line (without it) into line; false at EOF. */
static bool smtp_line(int client, char *buffer, size_t *buffered, char *line, size_t size)
{
    for (;;) {
        char *end = memmem(buffer, *buffered, "\r\n", 2);
        if (end != NULL) {
            size_t length = (size_t)(end - buffer);
            snprintf(line, size, "%.*s", (int)length, buffer);
            memmove(buffer, end + 2, *buffered - length - 2);
            *buffered -= length + 2;
            return true;
        }
        if (*buffered >= 65536)
            return false;
        ssize_t got = read(client, buffer + *buffered, 65536 - *buffered);
        if (got <= 0)
            return false;
        *buffered += (size_t)got;
    }
}

static void smtp_session(int client)
{
    char *buffer = malloc(65536);
    char line[2048], recipient[512] = "";
    size_t buffered = 0;
    smtp_reply(client, "220 sink ESMTP\r\n");
    while (buffer != NULL && smtp_line(client, buffer, &buffered, line, sizeof line)) {
        if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
            smtp_reply(client, "250-sink\r\n250 8BITMIME\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            snprintf(recipient, sizeof recipient, "%.*s", (int)sizeof recipient - 1, line + 8);
            smtp_reply(client, "250 OK\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            smtp_reply(client, "354 go ahead\r\n");
            size_t capacity = 4096, length = 0;
            char *message = malloc(capacity);
            while (message != NULL && smtp_line(client, buffer, &buffered, line, sizeof line) &&
                   strcmp(line, ".") != 0) {
                size_t add = strlen(line) + 2;
                if (length + add + 1 > capacity) {
                    char *longer = realloc(message, capacity *= 2);
                    if (longer == NULL)
                        break;
                    message = longer;
                }
                length += (size_t)sprintf(message + length, "%s\r\n", line);
            }
            pthread_mutex_lock(&sink.lock);
            if (message != NULL && sink.count < SMTP_MAX_MESSAGES) {
                sink.recipients[sink.count] = strdup(recipient);
                sink.messages[sink.count++] = message;
                message = NULL;
            }
            pthread_mutex_unlock(&sink.lock);
            free(message);
            smtp_reply(client, "250 queued\r\n");
        } else if (strncasecmp(line, "QUIT", 4) == 0) {
            smtp_reply(client, "221 bye\r\n");
            break;
        } else {
            smtp_reply(client, "250 OK\r\n");
        }
    }
    free(buffer);
    close(client);
}

static void *smtp_client(void *client)
{
    smtp_session((int)(intptr_t)client);
    return NULL;
}

/* A thread per session: libcurl keeps connections open between messages,
 * and sends several at once. */
static void *smtp_serve(void *unused)
{
    (void)unused;
    for (;;) {
        int client = accept(sink.listener, NULL, NULL);
        if (client < 0)
            break;
        pthread_t thread;
        if (pthread_create(&thread, NULL, smtp_client, (void *)(intptr_t)client) == 0)
            pthread_detach(thread);
        else
            close(client);
    }
    return NULL;
}

bool smtp_sink_start(int *port)
{
    sink.listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (sink.listener < 0 || bind(sink.listener, (struct sockaddr *)&address, length) != 0 ||
        listen(sink.listener, 16) != 0 ||
        getsockname(sink.listener, (struct sockaddr *)&address, &length) != 0)
        return false;
    *port = ntohs(address.sin_port);
    sink.running = pthread_create(&sink.thread, NULL, smtp_serve, NULL) == 0;
    return sink.running;
}

void smtp_sink_stop(void)
{
    if (sink.listener >= 0) {
        shutdown(sink.listener, SHUT_RDWR);
        close(sink.listener);
    }
    if (sink.running)
        pthread_join(sink.thread, NULL);
    sink.running = false;
    for (size_t i = 0; i < sink.count; i++) {
        free(sink.recipients[i]);
        free(sink.messages[i]);
    }
    sink.count = 0;
}

size_t smtp_sink_count(void)
{
    pthread_mutex_lock(&sink.lock);
    size_t count = sink.count;
    pthread_mutex_unlock(&sink.lock);
    return count;
}

const char *smtp_sink_recipient(size_t index)
{
    return index < smtp_sink_count() ? sink.recipients[index] : NULL;
}

const char *smtp_sink_message(size_t index)
{
    return index < smtp_sink_count() ? sink.messages[index] : NULL;
}
