/* The test's own webhook receiver (libmicrohttpd, in the test process) and
 * SMTP sink (a small SMTP server on a thread of the test process), so that
 * integration tests see exactly what baove-worker delivers. */
#ifndef BAOVE_TEST_RECEIVER_H
#define BAOVE_TEST_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>

#define RECEIVER_MAX_REQUESTS 512
#define RECEIVER_MAX_SCRIPTED 16

struct received_webhook {
    char path[128];
    char id[64];         /* webhook-id */
    char timestamp[32];  /* webhook-timestamp */
    char signature[128]; /* webhook-signature */
    char *body;          /* owned */
    unsigned answered;   /* the status the receiver answered */
};

/* Starts the receiver on 127.0.0.1 (a free port); false on failure. */
bool receiver_start(int *port);
void receiver_stop(void);

/* The next requests to `path` are answered with these statuses, in order
 * (then 200 again). */
void receiver_script(const char *path, const unsigned *statuses, size_t count);

/* Every request takes this long to answer (to overlap concurrent senders). */
void receiver_set_delay_ms(unsigned milliseconds);

/* How many requests arrived so far, and the i-th one (stable until stop). */
size_t receiver_count(void);
const struct received_webhook *receiver_get(size_t index);

/* Starts the SMTP sink on 127.0.0.1 (a free port). */
bool smtp_sink_start(int *port);
void smtp_sink_stop(void);
/* Messages received so far: recipient and the DATA (owned by the sink). */
size_t smtp_sink_count(void);
const char *smtp_sink_recipient(size_t index);
const char *smtp_sink_message(size_t index);

#endif
