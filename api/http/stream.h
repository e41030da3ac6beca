/* A reply streamed while it is produced (a bulk pull of the change feed as
 * NDJSON), with flat memory whatever its size.
 *
 * The producer is a request thread: it reads pages from PostgreSQL and
 * writes them here, waiting while the buffer is full.  libmicrohttpd's
 * thread takes the bytes out through stream_read(), its content-reader
 * callback, which never waits: when the buffer is empty it suspends the
 * connection, and the producer resumes it with the next bytes.  So the
 * event loop never blocks on PostgreSQL, and memory is the buffer plus the
 * page being produced, however long the pull.
 *
 * Two holders: the producer and the connection.  Either may end first (the
 * client may go away mid-pull: stream_write then returns false); whoever
 * releases last frees the stream. */
#ifndef BAOVE_STREAM_H
#define BAOVE_STREAM_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stream;

/* A stream for a reply on this connection, held twice; NULL when out of
 * memory. */
struct stream *stream_open(struct MHD_Connection *connection);

/* The producer: appends bytes, waiting while the buffer is full.  False
 * once the connection is gone (stop producing). */
bool stream_write(struct stream *stream, const char *data, size_t length);

/* The producer: no more bytes.  `complete` false ends the reply with an
 * error (the connection is closed before its end, so that the client sees
 * a truncated reply rather than a short one). */
void stream_finish(struct stream *stream, bool complete);

/* libmicrohttpd's content reader (MHD_ContentReaderCallback). */
ssize_t stream_read(void *stream, uint64_t position, char *buffer, size_t max);

/* One holder lets go (the producer after stream_finish, or the connection
 * when its request ends); true when it was the last and the stream is
 * freed. */
bool stream_release(struct stream *stream);

#endif
