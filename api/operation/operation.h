/* One request lifecycle for every operation on records of personal data,
 * the fund and the reporting cycle.
 *
 *     handler (api/<domain>/)        describes: resource, steps, domain state
 *        |
 *     operation_run()                before the transaction: the body's check (422)
 *        |  BEGIN ------------------------------------------------------------.
 *        |  scope          scope_enter(): RLS scope, transaction-local         |
 *        |  idempotency    Idempotency-Key: replay, 409, 422, or a new id     |
 *        |  locked read    the record as the caller sees it (404 outside)     |  retried
 *        |  precondition   If-Match: 428 without, 412 with `current`          |  whole on
 *        |  write          the domain's step (steps->write)                   |  40001 /
 *        |  change log     the feed entry (resource->feed_type)               |  40P01
 *        |  audit          the success entry                                  |
 *        |  remember       the answer under its Idempotency-Key               |
 *        |  COMMIT --------------------------------------------------------------'
 *     operation_answer()             the document with ETag/Location, or the
 *                                    refusal as a problem (audited after the
 *                                    rollback), or 500/503
 *
 * Domain functions take the operation (and through it the transaction's
 * connection, operation->connection) and return an outcome; they never write
 * HTTP replies.  A refusal is recorded with operation_refuse*() and answered
 * here, once, the same way for every resource.  See docs/lifecycle.md. */
#ifndef BAOVE_OPERATION_H
#define BAOVE_OPERATION_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "auth.h"
#include "clock.h"
#include "db.h"
#include "problem.h"

struct request;
struct operation;

/* A kind of record: what the lifecycle needs to know to read, log and
 * audit it.  Constant descriptions in the domains' files: table names and
 * expressions are spliced into SQL text, so they never come from a request;
 * values always travel as parameters. */
struct resource {
    const char *name;        /* singular, for messages: "child", "donor" */
    const char *table;       /* its table, aliased r in statements */
    /* SQL expression of r's representation; t.today is today's date. */
    const char *document;
    /* SQL expression of the unit whose scope r is in; NULL: r.unit_id. */
    const char *unit;
    const char *audit_type;  /* audit_log.resource_type */
    /* change_log.resource_type of its feed entries; NULL: not in the feed. */
    const char *feed_type;
    /* When set, the feed entry's record is {"kind": feed_kind, "document": …}
     * (the fund's entries share one feed type); otherwise the document. */
    const char *feed_kind;
    /* SQL condition on r true for a deleted record (a tombstone, 404);
     * NULL: records are never deleted. */
    const char *deleted;
    /* Its records are children: a record's own id is the child's (feed and
     * audit entries name it). */
    bool is_child;
    /* Where a record lives: "%s" is its id (Location of a 201). */
    const char *path;
    /* Reads the record (locking it when `lock`) into operation->found,
     * version, unit_id and document; NULL: by r.id = operation->id. */
    bool (*read)(struct operation *operation, bool lock, enum db_outcome *outcome);
    /* Writes the Location of a record; NULL: path with the id. */
    void (*locate)(const struct operation *operation, char *out, size_t size);
};

/* What one kind of request does, in the lifecycle's order. */
struct operation_steps {
    const char *action;      /* audit action: read, list, create, update, delete */
    /* Creates a record: an Idempotency-Key is honoured and a new id drawn. */
    bool creates;
    /* A write of an existing record that honours an Idempotency-Key too
     * (a phone's PUT or PATCH retried after a lost answer is replayed,
     * not refused 412), checked before the record is read. */
    bool remembers;
    /* Reads the record of operation->id first (locked when it writes);
     * absent, deleted or out of scope is 404 unless may_be_absent. */
    bool reads_record;
    bool may_be_absent;
    /* The record is read without a lock even for a write: the write step
     * takes its locks itself, in an order of its own (a payment's pledge
     * before the payment). */
    bool reads_unlocked;
    /* The request has a JSON body (400/415 when it is not an object). */
    bool reads_body;
    /* Requires If-Match with the record's version (428/412). */
    bool requires_if_match;
    /* Checks operation->body before any transaction (and may fill in
     * defaults); returns the errors (an array, taken; empty when valid).
     * NULL: none. */
    json_t *(*check)(struct operation *operation);
    const char *invalid_detail; /* the 422's detail: "The child is invalid." */
    /* The domain's work inside the transaction.  It leaves the record's
     * representation in operation->document (with version and unit_id) —
     * from RETURNING, or operation_read() again — or refuses.  NULL: a read. */
    enum db_outcome (*write)(struct operation *operation);
    /* A read that is more than the record by id (a list, a history): leaves
     * the answer in operation->document and what it handed out in
     * operation->audit_ids (and unit_id), audited as `action`.  NULL: the
     * record read is the answer. */
    enum db_outcome (*query)(struct operation *operation);
    /* The feed's operation of a successful write (create, update, delete);
     * NULL: the write step logs itself, or nothing goes to the feed. */
    const char *change;
    unsigned status;         /* of a successful answer: 200, 201, 204 */
    /* For what is not personal data (the reporting cycle, reference data,
     * the job queue), where only writes are audited: quiet_read leaves a
     * read's or a list's success out of the audit log, quiet_refusals every
     * refusal.  A write's success is always audited. */
    bool quiet_read;
    bool quiet_refusals;
    /* A read a hot standby may serve (BAOVE_READ_DATABASE_URL: the feed,
     * lists, indicators, report summaries, exports; docs/scaling.md): it
     * runs there when the standby is caught up with the client's
     * Baove-Consistent-After, and its audit entry is written on the primary
     * before the answer leaves.  Never set on a write. */
    bool replica;
};

/* A refusal: recorded by a domain function, answered by the lifecycle. */
struct operation_problem {
    bool set;
    enum problem_type type;
    char detail[512];
    json_t *errors;          /* per-field errors (owned), or NULL */
    json_t *members;         /* extension members such as `current` (owned), or NULL */
    const char *audit_outcome; /* not_found, conflict, invalid…; NULL: not audited */
    long long etag;          /* the version to send as ETag with it, or 0 */
    bool connection_lost;    /* the database went away: 503, the connection dropped */
};

/* One request's operation.  Lives on the handler's stack for the request;
 * owns document and the problem's JSON (operation_answer frees them). */
struct operation {
    /* Read-only here (principal, headers, body), but for the principal's
     * verification: principal_unverified, principal_stale. */
    struct request *request;
    const struct resource *resource;
    const struct operation_steps *steps;
    const char *id;          /* the record's id (the path's, or new_id) */
    const char *parent_id;   /* the record it hangs off (a child), or NULL */
    /* The child the record is about: feed entries and audit entries name it
     * (set by the domain; the child's own id for a child), or NULL. */
    const char *child_id;
    json_t *body;            /* the request's JSON body (not owned), or NULL */
    long long if_match;      /* 0 without If-Match, -1 when malformed */
    void *domain;            /* the domain's own state for this request */

    PGconn *connection;      /* the transaction's, during it */
    enum idempotency_key {
        IDEMPOTENCY_KEY_NONE,    /* no Idempotency-Key */
        IDEMPOTENCY_KEY_NEW,     /* a new key: the answer is stored with the write */
        IDEMPOTENCY_KEY_REPLAYED /* the stored answer is given again */
    } idempotency;

    /* The record as last read or written. */
    bool found;
    bool deleted;
    long long version;
    long long unit_id;
    long long previous_unit_id; /* a write that moved it: the unit before */
    char *document;          /* its representation (JSON text, owned) */
    char *feed_record;       /* the feed's record when it differs (owned), or NULL */
    char *audit_ids;         /* a list's ids as a uuid[] literal (owned), or NULL */

    const char *change;      /* the feed's operation: steps->change unless the write
                              * decides (a PUT that creates or replaces) */
    unsigned status;         /* the answer's status, on success */
    /* The read runs on the hot standby (steps->replica). */
    bool on_replica;
    /* The read's audit entry was written with it (operation_read_audited). */
    bool audited;
    /* The standby has not reached what the request names (a feed cursor's
     * position): the domain returns DB_ROLLBACK and the read runs again on
     * the primary (operation_replica_behind). */
    bool replica_behind;
    /* After a write, with a standby configured: the primary's WAL position
     * after COMMIT, answered as Baove-Consistent-After; or "". */
    char consistent_after[40];
    char location[256];      /* a 201's Location (or a replay's), or "" */
    struct operation_problem problem;
    char new_id[AUTH_UUID_SIZE];
};

/* Frees a recorded refusal's JSON and forgets it. */
void operation_clear_problem(struct operation_problem *problem);

/* ---- steps for domain functions ---------------------------------------- */

/* Runs a statement in the operation's transaction.  NULL on failure, with
 * *outcome DB_RETRY (serialization failure, deadlock) or DB_FAILED (the
 * failure recorded: 500, or 503 when the connection was lost). */
PGresult *operation_query(struct operation *operation, const char *sql,
                          const struct db_params *params, enum db_outcome *outcome);

/* Runs a statement whose result is only success or failure (set_config, an
 * INSERT without RETURNING), or queues it to travel with the transaction's
 * next statement or COMMIT in the same round trip (db_defer): its failure
 * is then that statement's.  False, with *outcome as operation_query's,
 * when it ran now and failed. */
bool operation_command(struct operation *operation, const char *sql,
                       const struct db_params *params, enum db_outcome *outcome);

/* operation_command for the transaction's last statement, sent at once
 * with what was deferred and the COMMIT (db_query_committing): one round
 * trip, and a deferred statement's failure (scope_enter() refusing the
 * principal) is judged as operation_query judges this one's. */
bool operation_command_committing(struct operation *operation, const char *sql,
                                  const struct db_params *params, enum db_outcome *outcome);

/* Runs a statement whose first value (JSON text) is the answer, kept as
 * the operation's document. */
enum db_outcome operation_query_document(struct operation *operation, const char *sql,
                                         const struct db_params *params);

/* Records the refusal a database failure of this class means (a lost
 * connection in a write: the outcome is unknown). */
void operation_refuse_failure(struct operation *operation, enum db_failure failure);

/* What scope_enter() raises for a token not valid now for the principal
 * the request was authenticated as (sql/functions/foundation/scope_enter.sql). */
#define OPERATION_PRINCIPAL_REFUSED "BV401"

/* Records a database failure of a statement the domain ran itself (with
 * db_query) and returns DB_RETRY or DB_FAILED.  OPERATION_PRINCIPAL_REFUSED
 * is no refusal: it sets request->principal_stale (dispatch authenticates
 * the request again and runs it once more) and returns DB_ROLLBACK; on the
 * hot standby it gives the read to the primary. */
enum db_outcome operation_failed(struct operation *operation, const char *what,
                                 const PGresult *result);

/* On the hot standby, the request names something it has not replayed yet:
 * gives the read to the primary instead (never an empty or wrong answer).
 * Returns DB_ROLLBACK. */
enum db_outcome operation_replica_behind(struct operation *operation);

/* Records a refusal; returns DB_ROLLBACK.  detail is a printf format. */
enum db_outcome operation_refuse(struct operation *operation, enum problem_type type,
                                 const char *audit_outcome, const char *detail, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a 422 with these per-field errors (taken); returns DB_ROLLBACK. */
enum db_outcome operation_refuse_invalid(struct operation *operation, json_t *errors,
                                         const char *detail);

/* Records a refusal with extension members (taken); returns DB_ROLLBACK. */
enum db_outcome operation_refuse_with(struct operation *operation, enum problem_type type,
                                      const char *audit_outcome, json_t *members,
                                      const char *detail);

/* Reads the record of operation->id by the resource's description (or its
 * read hook), locking it when `lock`. */
bool operation_read(struct operation *operation, bool lock, enum db_outcome *outcome);

/* Runs a record's read (a resource's read hook): when it finds a row, takes
 * its column 0 as the version and column `document_column` as the
 * representation.  Returns the result for the hook's other columns (the
 * caller clears it), or NULL with *outcome set on failure. */
PGresult *operation_query_record(struct operation *operation, const char *sql,
                                 const struct db_params *params, int document_column,
                                 enum db_outcome *outcome);

/* Reads the record of operation->id, unlocked, for a read that hands it
 * out: the same statement writes its success entry in the audit log (as
 * action, naming ids, a uuid[] literal) when the record is there and not
 * deleted, and travels with the COMMIT — the read's one round trip
 * (db_query_committing).  Sets operation->audited when it wrote the entry;
 * a read hook's resource, or a read on the standby, is read as
 * operation_read() does and audited after. */
bool operation_read_audited(struct operation *operation, const char *action, const char *ids,
                            enum db_outcome *outcome);

/* 428 without If-Match; 412 with the record read in `current` when stale.
 * True when the version matches. */
bool operation_precondition(struct operation *operation, enum db_outcome *outcome);

/* Keeps a representation (copied) as the operation's document. */
bool operation_keep_document(struct operation *operation, const char *document);

/* Keeps a JSON value (taken) as the operation's document, written as
 * reply_json writes it (compact, in member order).  False when out of memory
 * or value is NULL. */
bool operation_keep_json(struct operation *operation, json_t *value);

/* Keeps {"items": <items, JSON text>, "next_cursor": <next_cursor or null>}
 * as the answer of a list built in SQL. */
bool operation_keep_items(struct operation *operation, const char *items,
                          const char *next_cursor);

/* Keeps a list built in SQL as one row of (items, next cursor or NULL,
 * the listed ids as a uuid[] text for the audit): the answer and the
 * audit's ids, replacing those of an attempt that was retried. */
bool operation_keep_list(struct operation *operation, const PGresult *result);

/* Keeps a page of a list as the answer: rows of (id, document) in id order,
 * one more than `limit` when there are more.  The answer is
 * {"items": [...], "next_cursor": <the last id, or null>}; the ids handed out
 * are kept for the audit entry. */
bool operation_keep_page(struct operation *operation, const PGresult *result, long long limit);

/* The path parameter `name` as a UUID in canonical lower case, or NULL. */
const char *operation_uuid_param(struct request *request, const char *name);

/* Today in Asia/Ho_Chi_Minh as YYYY-MM-DD (by BAOVE_NOW or the clock). */
void operation_today(char out[CLOCK_DATE_SIZE]);

#endif
