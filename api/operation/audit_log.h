/* The audit trail (audit_log): every read and write of a child, its
 * records, a case, the fund's books and the reporting cycle, and every
 * refusal of such a request.  The application role may only append. */
#ifndef BAOVE_AUDIT_LOG_H
#define BAOVE_AUDIT_LOG_H

#include <libpq-fe.h>
#include <stdbool.h>

struct request;

/* Appends an entry on `connection` for the request's principal.  ids is a
 * PostgreSQL uuid[] literal ("{…}") or NULL; unit_id 0 means none.  Inside
 * the operation's transaction for a success; on its own (autocommit) for a
 * refusal, after the rollback, so that denied attempts are kept too. */
bool audit_log_append(PGconn *connection, const struct request *request, const char *action,
                      const char *resource_type, const char *ids, long long unit_id,
                      const char *outcome);

/* Records an attempt answered without a committed write of its own — a
 * refusal (403/404/412/428/422) or an idempotent replay — after the
 * request's transaction ended, on the request's connection if it has one.
 * id is the record's id when it is a UUID (ignored otherwise). */
void audit_log_refusal(struct request *request, const char *action, const char *resource_type,
                       const char *id, const char *outcome);

#endif
