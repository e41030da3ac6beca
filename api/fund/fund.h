/* What the handlers of the child protection fund share (fund.c; then
 * fund_books.c: donors and pledges; fund_money.c: payments and
 * disbursements; fund_summary.c: targets, summary, disclosure).
 *
 * Every fund record belongs to the unit whose books it is in; the caller's
 * scope applies through row-level security (scope_enter) as in the
 * registry, and a record outside it does not exist (404).  Reads and writes
 * are audited; writes go to the change feed as `fund` entries. */
#ifndef BAOVE_FUND_H
#define BAOVE_FUND_H

#include <stdbool.h>

#include "auth.h"
#include "json.h"
#include "operation/legacy.h"

/* The largest amount of one entry, in đồng (10^12).  With it, the sum of
 * one pledge's instalments (at most FUND_MAX_INSTALMENTS) fits a long long,
 * and SQL sums over many entries are taken as numeric. */
#define FUND_MAX_AMOUNT 1000000000000LL
#define FUND_MAX_INSTALMENTS 60
#define FUND_FIRST_YEAR 2000
#define FUND_LAST_YEAR 2100

/* One kind of fund record: where it lives and how it is shown. */
struct fund_resource {
    const char *kind;          /* "donor": the feed record's kind, messages */
    const char *table;         /* SQL table, aliased r in the statements */
    const char *document;      /* SQL expression of the representation of r; $1 is today */
    const char *audit_type;    /* audit_log resource_type */
    const char *path;          /* "/v1/fund/donors" */
    const char *year_filter;   /* SQL condition on r for ?year= ($2), or NULL */
    const char *status_filter; /* SQL condition on r for ?status= ($3), or NULL */
    const char *const *statuses; /* the values ?status= accepts (NULL-terminated) */
};

extern const struct fund_resource fund_donors, fund_pledges, fund_payments,
    fund_disbursements;

/* One request on one fund record, through its transaction. */
struct fund_operation {
    struct request *request;
    const struct fund_resource *resource;
    const char *id;            /* the record's id (path, or new_id on a create) */
    json_t *body;
    long long if_match;        /* 0 when absent */
    unsigned status;           /* of the answer on success */
    char *document;            /* the representation to answer with (owned) */
    long long version;
    long long unit_id;
    const char *refusal;       /* audit outcome of a refusal, NULL otherwise */
    char new_id[AUTH_UUID_SIZE];
};

/* Answers a problem, remembers the refusal for the audit, and returns
 * DB_ROLLBACK. */
enum db_outcome fund_refuse(struct fund_operation *operation, enum problem_type type,
                            const char *refusal, const char *detail);

/* Answers 422 with these errors (taken) and returns DB_ROLLBACK. */
enum db_outcome fund_refuse_invalid(struct fund_operation *operation, json_t *errors,
                                    const char *detail);

/* Reads the record's representation, version and unit (locking the row when
 * `lock`); false without answering when it is not visible. */
bool fund_read(struct fund_operation *operation, bool lock, bool *found,
               enum db_outcome *outcome);

/* The unit of a write: a unit valid today inside the caller's scope, or 0
 * after answering 422 on /unit. */
long long fund_resolve_unit(struct fund_operation *operation, const char *code,
                            enum db_outcome *outcome);

/* Whether the id names a record of `table` the caller can see. */
bool fund_visible(struct fund_operation *operation, const char *table, const char *id,
                  bool *visible, enum db_outcome *outcome);

/* After a write: reads the representation back, appends the change feed
 * entry and the audit entry. */
bool fund_written(struct fund_operation *operation, const char *change,
                  enum db_outcome *outcome);

/* Stores the answer of a create under its Idempotency-Key (when it had one). */
bool fund_remember(struct fund_operation *operation, enum idempotency idempotency,
                   enum db_outcome *outcome);

/* 428 without If-Match; 412 with the current record (read by fund_read)
 * when it is stale.  True when the version matches. */
bool fund_precondition(struct fund_operation *operation, enum db_outcome *outcome);

/* Enters the scope and reads (and locks) the record of operation->id:
 * false when the transaction must end, after a 404 when it is not visible. */
bool fund_enter_record(struct fund_operation *operation, bool lock, enum db_outcome *outcome);

/* Sends the answer of a finished transaction and audits a refusal. */
void fund_answer(struct fund_operation *operation, enum db_outcome outcome,
                 const char *action);

/* Runs a create: checks the body against its fields first (422), then runs
 * body_function in a transaction that has entered the scope and checked the
 * Idempotency-Key. */
void fund_create(struct request *request, const struct fund_resource *resource,
                 json_t *(*check)(json_t *body),
                 enum db_outcome (*insert)(struct fund_operation *operation,
                                           enum idempotency idempotency));

/* Runs an update of an existing record (PATCH, cancel, void): the path's id
 * and If-Match, the body checked against fields first (422, audited; none
 * checked when fields is NULL), then update in a transaction. */
void fund_update(struct request *request, const struct fund_resource *resource,
                 const struct json_field *fields, size_t field_count,
                 const char *invalid_detail, enum db_outcome (*update)(PGconn *, void *));

/* GET one record (audited). */
void fund_get(struct request *request, const struct fund_resource *resource);

/* GET the list: ?unit= (the unit's subtree), ?year=, ?status=, ?cursor=,
 * ?limit=; ordered by id (audited with the ids returned). */
void fund_list(struct request *request, const struct fund_resource *resource);

/* A date member not after today; adds an error otherwise. */
void fund_check_not_future(const json_t *body, const char *name, json_t *errors);

/* Checks an earmark object {child_id} or {purpose} at pointer. */
void fund_check_earmark(const json_t *earmark, const char *pointer, json_t *errors);

/* The year of a YYYY-MM-DD date member. */
int fund_year_of(const json_t *body, const char *name);

#endif
