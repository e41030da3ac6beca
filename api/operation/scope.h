/* The caller's scope inside a transaction: who may see which unit.
 *
 * A principal's scope is its unit and every unit below it in today's tree.
 * scope_set() hands it to PostgreSQL transaction-locally, where row-level
 * security enforces it on every table of personal data; the lookups below
 * answer "is this unit the caller's?" with the same rule. */
#ifndef BAOVE_SCOPE_H
#define BAOVE_SCOPE_H

#include "operation/operation.h"

/* Sets the principal's unit and today's date for row-level security, once
 * the database has verified that the request's token is, at this moment,
 * valid and still that principal's with that role and unit (scope_enter():
 * SQLSTATE OPERATION_PRINCIPAL_REFUSED otherwise, which operation_failed()
 * turns into request->principal_stale).  The first statement of every
 * transaction of a request. */
bool scope_set(struct operation *operation, enum db_outcome *outcome);

/* The id of the commune-level unit with this code valid on `on` (a date)
 * inside the caller's scope, 0 when there is none, -1 on failure. */
long long scope_commune_id(struct operation *operation, const char *code, const char *on,
                           enum db_outcome *outcome);

/* The id of any unit with this code valid today inside the caller's scope,
 * 0 when there is none, -1 on failure. */
long long scope_unit_id(struct operation *operation, const char *code,
                        enum db_outcome *outcome);

/* The same in the tree valid on `on` (a date): a period's units are those
 * of its cut-off (2020 in the 2020 tree after the reorganisation of 2025). */
long long scope_unit_id_on(struct operation *operation, const char *code, const char *on,
                           enum db_outcome *outcome);

/* A list's ?unit= filter: the unit's id, 0 without a filter, or -1 when the
 * transaction must end: a failure, or a unit outside the scope, refused 404
 * as an absent record would be. */
long long scope_list_unit(struct operation *operation, const char *code,
                          enum db_outcome *outcome);

#endif
