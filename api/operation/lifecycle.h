/* The lifecycle's entry points: what a handler calls to run an operation,
 * and the writes a domain step records itself.  (operation.h has the
 * picture and what the steps work with.) */
#ifndef BAOVE_LIFECYCLE_H
#define BAOVE_LIFECYCLE_H

#include "operation/operation.h"

/* Reading one record by the path's id: audited, 404 outside the scope. */
extern const struct operation_steps operation_read_steps;

/* ---- the lifecycle ----------------------------------------------------- */

/* Prepares an operation for a request: the path's {id} when the steps read
 * a record (answering 404 "No such <name>." and returning false when it is
 * not a UUID), If-Match, and the body when `body` (false after answering
 * 400/415). */
bool operation_begin(struct operation *operation, struct request *request,
                     const struct resource *resource, const struct operation_steps *steps,
                     bool body);

/* The whole of a handler that needs nothing of its own: begin, run. */
void operation_handle(struct request *request, const struct resource *resource,
                      const struct operation_steps *steps);

/* Runs the steps (body check, transaction) and answers.  Frees what the
 * operation owns, but not operation->body. */
void operation_run(struct operation *operation);

/* The transaction alone (for handlers that answer in their own way, e.g.
 * CSV): runs the steps and returns the outcome; then operation_answer. */
enum db_outcome operation_execute(struct operation *operation);

/* Answers an executed operation: the document, the refusal, or a failure;
 * audits a refusal; frees document and problem. */
void operation_answer(struct operation *operation, enum db_outcome outcome);

/* After a write of the record: reads it again and appends its feed entry
 * and audit entry (`change`: create, update). */
bool operation_written(struct operation *operation, const char *change,
                       enum db_outcome *outcome);

/* Appends the feed entry and the audit entry of a write that the domain
 * records itself (a write that touches a second resource, e.g. the support
 * a case service creates). */
bool operation_record_write(struct operation *operation, const struct resource *resource,
                            const char *change, const char *id, const char *document,
                            long long version, long long unit_id, enum db_outcome *outcome);

#endif
