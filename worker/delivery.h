/* Delivery of the notification outbox: signed webhooks and e-mail, sent with
 * libcurl's multi interface driven by the worker's libuv loop (one poll
 * handle per socket libcurl opens, one timer for libcurl's timeouts; no
 * threads).  Its own database connection (pgloop) claims due notifications
 * with FOR UPDATE SKIP LOCKED under a lease, so several workers never send
 * one notification at the same time, and records each outcome.
 *
 * Webhooks (Standard Webhooks): headers webhook-id (the notification's id,
 * stable across retries), webhook-timestamp and webhook-signature; 15 s per
 * attempt; redirects never followed; https only (http too for hosts in
 * BAOVE_WEBHOOK_ALLOW_HOSTS); the address connected to is checked against
 * private ranges at every attempt.  2xx: delivered.  410: the channel is
 * disabled.  Anything else: retried after a backoff with full jitter
 * (BAOVE_DELIVERY_RETRY_BASE_SECONDS doubling up to
 * BAOVE_DELIVERY_RETRY_MAX_SECONDS) until BAOVE_DELIVERY_GIVE_UP after the
 * notification was written, then dead.  Claims, leases, renewal, backoff
 * and dead-lettering are the queue core's (queue.h); what is left here is
 * the sending.
 *
 * E-mail: SMTP to BAOVE_SMTP_URL (e.g. smtp://relay:25) from
 * BAOVE_SMTP_FROM, a UTF-8 text message with the Vietnamese text and the
 * English one. */
#ifndef BAOVE_WORKER_DELIVERY_H
#define BAOVE_WORKER_DELIVERY_H

#include <stdbool.h>
#include <uv.h>

#include "queue.h"

struct delivery;

/* Starts delivering on the loop (connects, listens for wake-ups, polls
 * every poll_seconds).  identity names this worker in leases; settings are
 * the outbox's lease, backoff and give-up (BAOVE_DELIVERY_*).  NULL when
 * out of memory or libcurl cannot start. */
struct delivery *delivery_start(uv_loop_t *loop, const char *url, const char *identity,
                                const struct queue_settings *settings, long long poll_seconds);

/* --once: sends everything due at "now" (including what becomes due while
 * draining, e.g. nothing retried later than now), then calls
 * drained(context) once nothing is due and nothing is in flight. */
void delivery_drain(struct delivery *delivery, void (*drained)(void *context), void *context);

/* Stops: aborts sends in flight (their leases expire and another attempt
 * sends them later), closes every handle; frees itself once closed. */
void delivery_stop(struct delivery *delivery);

#endif
