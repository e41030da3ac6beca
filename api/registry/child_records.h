/* What other domains do with the records about a child through the
 * registry's own code: case services deliver supports (Decree 56/2017,
 * Art. 30), so a delivered service is a support like any other — checked
 * by the same rules, written by the same statements, in the change feed and
 * the audit trail the same way. */
#ifndef BAOVE_CHILD_RECORDS_H
#define BAOVE_CHILD_RECORDS_H

#include <jansson.h>

#include "auth.h"
#include "db.h"
#include "operation/lifecycle.h"

/* Where a support came from: the case and its service, or NULLs. */
struct support_origin {
    const char *case_id;
    const char *case_service_id;
};

/* Creates a support of child_id in the caller's operation (its transaction
 * and scope): checks `support` as POST …/supports does (filling in its
 * defaults), inserts it, appends its feed entry and its audit entry
 * ({support, child}).  Writes the new support's id into id_out.  A refusal
 * (422) is recorded in the operation and returned as DB_ROLLBACK. */
enum db_outcome support_create(struct operation *operation, const char *child_id,
                               json_t *support, const struct support_origin *origin,
                               char id_out[AUTH_UUID_SIZE]);

/* Applies `changes` (a JSON Merge Patch) to the support support_id of
 * child_id, locked, as PATCH …/supports/{id} does: checked, written, in the
 * feed and audited — unless the support already says all that, when
 * nothing is written at all. */
enum db_outcome support_update(struct operation *operation, const char *child_id,
                               const char *support_id, const json_t *changes);

#endif
