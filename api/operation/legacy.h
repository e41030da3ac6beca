/* What every handler of personal data shares: the caller's scope inside a
 * transaction (for row-level security), the audit log, optimistic
 * concurrency (ETag / If-Match), idempotent creates, and the change log. */
#ifndef BAOVE_REGISTRY_H
#define BAOVE_REGISTRY_H

#include <stdbool.h>

#include "clock.h"
#include "db.h"
#include "http/server.h"

/* Runs a statement inside a transaction body.  On failure answers the
 * request (unless the failure is retryable) and sets *outcome to what the
 * body should return (DB_RETRY or DB_FAILED); returns NULL then. */
PGresult *registry_query(struct request *request, const char *sql,
                         const struct db_params *params, enum db_outcome *outcome);

/* Sets the caller's scope for row-level security, transaction-locally: the
 * principal's unit and today's date.  First statement of every transaction
 * that touches personal data. */
bool scope_enter(struct request *request, enum db_outcome *outcome);

/* The id of the commune-level unit with this code valid on `on` and inside
 * the caller's scope (today's tree), or 0 when there is none. */
long long scope_commune(struct request *request, const char *code, const char *on,
                        enum db_outcome *outcome);

/* The id of any unit with this code valid today inside the caller's scope,
 * or 0. */
long long scope_unit(struct request *request, const char *code, enum db_outcome *outcome);

/* A list's ?unit= filter: the unit's id (0 without a filter), or -1 when
 * the transaction must end: a failure, or a unit outside the scope, which
 * is answered 404 (*not_found set) as an absent record would be. */
long long scope_list_filter(struct request *request, const char *code, bool *not_found,
                            enum db_outcome *outcome);

/* The path parameter `name` as a UUID in canonical lower case (as the
 * database prints it, for Location and audit), or NULL after answering 404
 * ("No such <what>.") when it is not a UUID. */
const char *request_uuid_param(struct request *request, const char *name, const char *what);

/* Today in Asia/Ho_Chi_Minh as YYYY-MM-DD. */
void registry_today(char out[CLOCK_DATE_SIZE]);

/* Appends an audit entry.  ids is a PostgreSQL array literal of uuids
 * ("{…}") or NULL; unit_id 0 means none.  Inside the request's transaction
 * for successful operations; after a rollback (autocommit) for refusals, so
 * that denied attempts are recorded too.  Returns false on failure. */
bool audit_write(struct request *request, const char *action, const char *resource_type,
                 const char *ids, long long unit_id, const char *outcome);

/* Records an attempt answered without a committed write of its own — a
 * refusal (403/404/412/428/422) or an idempotent replay — in its own
 * statement, after the request's transaction ended. */
void audit_refusal(struct request *request, const char *action, const char *resource_type,
                   const char *id, const char *outcome);

/* Parses If-Match.  Returns the version, 0 when the header is absent, -1
 * when it is malformed (answered 412 then is the caller's choice). */
long long request_if_match(const struct request *request);

/* Answers an operation on a record (or a list) once its transaction is
 * over.  After a commit with a document: the document (ownership taken,
 * *document set to NULL) with status, its version as ETag (when > 0) and,
 * for a 201, the Location (when not NULL).  Otherwise a 500, unless the
 * operation already answered (a refusal, a 503).  Refusals are audited by
 * the caller. */
void reply_record(struct request *request, enum db_outcome outcome, char **document,
                  unsigned status, long long version, const char *location);


enum idempotency {
    IDEMPOTENCY_NO_KEY,  /* no Idempotency-Key: proceed */
    IDEMPOTENCY_NEW,     /* a new key: proceed, then idempotency_store() */
    IDEMPOTENCY_ANSWERED /* replayed, refused or failed: the request is answered */
};

/* Checks the Idempotency-Key of a create inside its transaction: replays the
 * stored response of the same request, refuses another request under the
 * same key (422) and one still in flight (409). */
enum idempotency idempotency_begin(struct request *request, enum db_outcome *outcome);

/* Stores the response of a new key, in the same transaction as the write. */
bool idempotency_store(struct request *request, unsigned status, const char *body,
                       const char *location, enum db_outcome *outcome);

/* Appends to the change log: the record as the API shows it (NULL for a
 * delete tombstone), with its unit (0: the child's current unit) and, when
 * it moved, its unit before (0 otherwise).  child_id is NULL for records
 * that hang off no child (the fund's); unit_id is required then. */
bool change_record(struct request *request, const char *resource_type,
                   const char *resource_id, const char *child_id, const char *operation,
                   long long version, const char *record, long long unit_id,
                   long long previous_unit_id, enum db_outcome *outcome);

#endif
