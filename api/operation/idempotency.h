/* Idempotent creates (Idempotency-Key): a client that retries a create
 * after a lost answer gets the first answer again instead of a second
 * record.  Keys are per principal and kept 30 days (field devices may be
 * offline that long). */
#ifndef BAOVE_IDEMPOTENCY_H
#define BAOVE_IDEMPOTENCY_H

#include "operation/operation.h"

/* Checks the create's Idempotency-Key inside its transaction and sets
 * operation->idempotency.  A stored answer to the same request is taken as
 * the operation's answer (REPLAYED, DB_ROLLBACK); another request under the
 * same key is refused 422, one still in flight 409, a malformed key 400.
 * False when the transaction must end. */
bool idempotency_check(struct operation *operation, enum db_outcome *outcome);

/* Stores the answer of a new key, in the same transaction as the write. */
bool idempotency_remember(struct operation *operation, enum db_outcome *outcome);

#endif
