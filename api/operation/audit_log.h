/* The audit trail (audit_log): every read and write of a child, its
 * records, a case, the fund's books and the reporting cycle, and every
 * refusal of such a request.  The application role may only append. */
#ifndef BAOVE_AUDIT_LOG_H
#define BAOVE_AUDIT_LOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"

struct request;

/* Appends an entry on `connection` for the request's principal.  ids is a
 * PostgreSQL uuid[] literal ("{…}") or NULL; unit_id 0 means none.  Inside
 * the operation's transaction for a success; on its own (autocommit) for a
 * refusal, after the rollback, so that denied attempts are kept too. */
bool audit_log_append(PGconn *connection, const struct request *request, const char *action,
                      const char *resource_type, const char *ids, long long unit_id,
                      const char *outcome);

/* The statement of one entry, as audit_log_append() writes it, for a
 * caller that sends it its own way; its parameters fill params (which it
 * initialises). */
const char *audit_log_entry(struct db_params *params, const struct request *request,
                            const char *action, const char *resource_type, const char *ids,
                            long long unit_id, const char *outcome);

/* The success entry of a read, as a data-modifying WITH clause named
 * `audited` for the read's own statement: one entry for each row of rows
 * (SQL text, a constant of the caller: "record WHERE NOT deleted"), in that
 * row's unit_id.  Its parameters are appended to params.  The entry is
 * written by the statement that hands the record out, so nothing is read
 * unaudited and a read needs no statement of its own.  False when out
 * did not hold it. */
bool audit_log_read_clause(char *out, size_t size, struct db_params *params,
                           const struct request *request, const char *action,
                           const char *resource_type, const char *ids, const char *rows);

/* Records an attempt answered without a committed write of its own — a
 * refusal (403/404/412/428/422) or an idempotent replay — after the
 * request's transaction ended, on the request's connection if it has one.
 * id is the record's id when it is a UUID (ignored otherwise). */
void audit_log_refusal(struct request *request, const char *action, const char *resource_type,
                       const char *id, const char *outcome);

#endif
