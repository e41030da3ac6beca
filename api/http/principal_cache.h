/* The principals of recently seen bearer tokens, so that a request whose
 * principal is known needs no round trip to PostgreSQL before its
 * transaction (issue 16).
 *
 * A principal found here is a claim, not a verdict: the request is marked
 * principal_unverified, and the first statement of its transaction,
 * scope_enter() (sql/functions/foundation/scope_enter.sql), refuses to
 * enter the scope unless the token is valid at that moment and still that
 * principal's with that role and unit.  Anything that uses the database
 * outside that transaction looks the token up first (request_database()).
 * A refused principal is forgotten here and the request authenticated again
 * from scratch (docs/lifecycle.md, "Authentication"). */
#ifndef BAOVE_PRINCIPAL_CACHE_H
#define BAOVE_PRINCIPAL_CACHE_H

#include <stdbool.h>

#include "http/request.h"

/* How long an entry is used after the lookup that stored it. */
#define PRINCIPAL_CACHE_MAX_AGE_US (5 * 60 * 1000000LL)

/* The principal last stored for this token hash, into *principal (its
 * token_hash included); false when there is none younger than the maximum
 * age. */
bool principal_cache_find(const char *token_hash, struct principal *principal);

/* Remembers the principal a database lookup found for principal->token_hash. */
void principal_cache_store(const struct principal *principal);

/* Forgets the principal of this token hash (revoked, or refused in flight). */
void principal_cache_forget(const char *token_hash);

#endif
