#include "http/stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* What may wait between the producer and the socket: with libmicrohttpd's
 * own buffer, all that a streamed reply holds in memory besides the page
 * being produced. */
#define STREAM_BUFFER_SIZE (256u * 1024)

struct stream {
    pthread_mutex_t lock;  /* guards everything below but connection */
    pthread_cond_t drained; /* room was made, or the connection went */
    struct MHD_Connection *connection;
    char buffer[STREAM_BUFFER_SIZE]; /* a ring: `length` bytes from `start` */
    size_t start, length;
    bool waiting;          /* the reader suspended the connection: resume it */
    bool finished, complete;
    bool closed;           /* a holder let go: the producer stops */
    int holders;
};

struct stream *stream_open(struct MHD_Connection *connection)
{
    struct stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL)
        return NULL;
    if (pthread_mutex_init(&stream->lock, NULL) != 0) {
        free(stream);
        return NULL;
    }
    if (pthread_cond_init(&stream->drained, NULL) != 0) {
        pthread_mutex_destroy(&stream->lock);
        free(stream);
        return NULL;
    }
    stream->connection = connection;
    stream->holders = 2;
    return stream;
}

/* The lock is held. */
static void wake_reader(struct stream *stream)
{
    if (stream->waiting) {
        stream->waiting = false;
        MHD_resume_connection(stream->connection);
    }
}

bool stream_write(struct stream *stream, const char *data, size_t length)
{
    pthread_mutex_lock(&stream->lock);
    while (length > 0 && !stream->closed) {
        while (stream->length == STREAM_BUFFER_SIZE && !stream->closed)
            pthread_cond_wait(&stream->drained, &stream->lock);
        size_t end = (stream->start + stream->length) % STREAM_BUFFER_SIZE;
        size_t room = STREAM_BUFFER_SIZE - stream->length;
        size_t contiguous = end >= stream->start ? STREAM_BUFFER_SIZE - end : room;
        size_t part = length < contiguous ? length : contiguous;
        if (stream->closed)
            break;
        memcpy(stream->buffer + end, data, part);
        stream->length += part;
        data += part;
        length -= part;
        wake_reader(stream);
    }
    bool open = !stream->closed;
    pthread_mutex_unlock(&stream->lock);
    return open;
}

void stream_finish(struct stream *stream, bool complete)
{
    pthread_mutex_lock(&stream->lock);
    stream->finished = true;
    stream->complete = complete;
    wake_reader(stream);
    pthread_mutex_unlock(&stream->lock);
}

ssize_t stream_read(void *context, uint64_t position, char *buffer, size_t max)
{
    (void)position;
    struct stream *stream = context;
    pthread_mutex_lock(&stream->lock);
    ssize_t result;
    if (stream->length > 0) {
        size_t contiguous = STREAM_BUFFER_SIZE - stream->start;
        size_t count = stream->length < max ? stream->length : max;
        size_t first = count < contiguous ? count : contiguous;
        memcpy(buffer, stream->buffer + stream->start, first);
        memcpy(buffer + first, stream->buffer, count - first);
        stream->start = (stream->start + count) % STREAM_BUFFER_SIZE;
        stream->length -= count;
        pthread_cond_signal(&stream->drained);
        result = (ssize_t)count;
    } else if (stream->finished) {
        result = stream->complete ? MHD_CONTENT_READER_END_OF_STREAM
                                  : MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        /* Nothing yet: wait off the event loop (returning 0 without
         * suspending would spin). */
        stream->waiting = true;
        MHD_suspend_connection(stream->connection);
        result = 0;
    }
    pthread_mutex_unlock(&stream->lock);
    return result;
}

bool stream_release(struct stream *stream)
{
    pthread_mutex_lock(&stream->lock);
    stream->closed = true;
    pthread_cond_broadcast(&stream->drained);
    bool last = --stream->holders == 0;
    pthread_mutex_unlock(&stream->lock);
    if (last) {
        pthread_cond_destroy(&stream->drained);
        pthread_mutex_destroy(&stream->lock);
        free(stream);
    }
    return last;
}
