/* Reads from a hot standby (BAOVE_READ_DATABASE_URL, docs/scaling.md).
 *
 * Reads marked `replica` in their operation_steps (the feed, lists,
 * indicators, report summaries, exports) run on a streaming standby when
 * one is configured, reachable and caught up with what the client has
 * written: a write's answer carries the primary's WAL position after its
 * COMMIT in Baove-Consistent-After; a read that sends it back waits
 * (bounded, BAOVE_READ_WAIT_MS) until the standby has replayed that far, or
 * else runs on the primary.  A standby that is down or lost costs nothing
 * but the fallback: reads go to the primary, never a 5xx. */
#ifndef BAOVE_API_REPLICA_H
#define BAOVE_API_REPLICA_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

struct request;

/* The header a write answers with and a read may send back. */
#define REPLICA_CONSISTENT_AFTER "Baove-Consistent-After"
#define REPLICA_POSITION_SIZE 40 /* "XXXXXXXX/XXXXXXXX" and then some */

/* Why a read marked for the standby ran on the primary instead. */
enum replica_fallback {
    REPLICA_UNREACHABLE, /* not connected, or every connection busy */
    REPLICA_BEHIND,      /* not caught up with the client's position in time */
    REPLICA_FAILED       /* the read failed there (lost, cancelled by recovery) */
};

/* How long a read waits for the standby to replay a client's position. */
void replica_configure(unsigned wait_ms);

/* The standby's connection for this request's read (kept in
 * request->read_database until the request ends), caught up with its
 * Baove-Consistent-After; NULL when the read must run on the primary (no
 * standby, unreachable, behind: counted and, on a change, logged). */
PGconn *replica_connection(struct request *request);

/* Gives the request's standby connection back after a failed read, which
 * then runs on the primary: discarded when lost. */
void replica_fall_back(struct request *request, enum replica_fallback why);

/* The primary's WAL position now, after a COMMIT on connection: what a
 * read must have replayed to see it.  False (out left "") when it cannot
 * be read; the write stands all the same. */
bool replica_commit_position(PGconn *connection, char out[REPLICA_POSITION_SIZE]);

/* The standby's state for /readyz: {"status": "streaming"|"unreachable"|
 * "not_a_standby", "replayed": LSN, "lag_bytes": n}, measured against the
 * primary's position on primary (may be NULL); NULL without a standby. */
json_t *replica_readiness(PGconn *primary);

#endif
