/* What the handlers of the child protection fund share (fund.c; then
 * books.c: donors and pledges; money.c: payments and disbursements;
 * summary.c: targets, summary, disclosure).
 *
 * Every fund record belongs to the unit whose books it is in; the caller's
 * scope applies through row-level security (scope_set) as in the
 * registry, and a record outside it does not exist (404).  Reads and writes
 * are audited; writes go to the change feed as `fund` entries. */
#ifndef BAOVE_FUND_H
#define BAOVE_FUND_H

#include <stdbool.h>

#include "auth.h"
#include "json.h"
#include "operation/lifecycle.h"

/* The largest amount of one entry, in đồng (10^12).  With it, the sum of
 * one pledge's instalments (at most FUND_MAX_INSTALMENTS) fits a long long,
 * and SQL sums over many entries are taken as numeric. */
#define FUND_MAX_AMOUNT 1000000000000LL
#define FUND_MAX_INSTALMENTS 60
#define FUND_FIRST_YEAR 2000
#define FUND_LAST_YEAR 2100

/* What ?year= and ?status= mean for a kind of fund record (fund_list). */
struct fund_filters {
    const char *year_filter;   /* SQL condition on r for ?year= ($3), or NULL */
    const char *status_filter; /* SQL condition on r for ?status= ($4), or NULL */
    const char *const *statuses; /* the values ?status= accepts (NULL-terminated) */
};

extern const struct resource fund_donors, fund_pledges, fund_payments, fund_disbursements;
/* Mobilisation targets, written by PUT /v1/fund/targets and by a plan's
 * fund_targets (api/reporting/plans.c). */
extern const struct resource fund_targets;
extern const struct fund_filters fund_donor_filters, fund_pledge_filters, fund_payment_filters,
    fund_disbursement_filters;

/* The unit of a write: a unit valid today inside the caller's scope, or 0
 * after refusing 422 on /unit (-1 on failure). */
long long fund_resolve_unit(struct operation *operation, const char *code,
                            enum db_outcome *outcome);

/* Whether the id names a record of `table` the caller can see (row-level
 * security decides); 404 "No such <what>." when it does not.  True when the
 * id is NULL (nothing named) or visible. */
bool fund_require_visible(struct operation *operation, const char *table, const char *id,
                          const char *what, enum db_outcome *outcome);

/* Whether the id names a child the caller can see (404 "No such child."
 * otherwise) registered in the unit of the books, or in a unit under it
 * today (422 on `pointer` otherwise).  True when the id is NULL. */
bool fund_require_child_of(struct operation *operation, long long unit_id, const char *child_id,
                           const char *pointer, enum db_outcome *outcome);

/* GET the list: ?unit= (the unit's subtree), ?year=, ?status=, ?cursor=,
 * ?limit=; ordered by id (audited with the ids returned). */
void fund_list(struct request *request, const struct resource *resource,
               const struct fund_filters *filters);

/* A date member not after today; adds an error otherwise. */
void fund_check_not_future(const json_t *body, const char *name, json_t *errors);

/* A date member that gives an entry its year (a payment's received_on, a
 * disbursement's disbursed_on): in the years FUND_FIRST_YEAR to
 * FUND_LAST_YEAR and not after today; adds an error otherwise. */
void fund_check_entry_date(const json_t *body, const char *name, json_t *errors);

/* Checks an earmark object {child_id} or {purpose} at pointer. */
void fund_check_earmark(const json_t *earmark, const char *pointer, json_t *errors);

/* The year of a YYYY-MM-DD date member. */
int fund_year_of(const json_t *body, const char *name);

#endif
