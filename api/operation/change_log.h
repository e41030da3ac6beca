/* The change feed (change_log, served by GET /v1/changes): one entry per
 * committed write of a record other systems synchronise, in the write's own
 * transaction, so the feed never shows what did not happen. */
#ifndef BAOVE_CHANGE_LOG_H
#define BAOVE_CHANGE_LOG_H

#include "operation/operation.h"

/* One feed entry. */
struct change {
    const char *resource_type;  /* change_log.resource_type */
    const char *resource_id;
    const char *child_id;       /* the child it hangs off, or NULL (the fund's) */
    const char *operation;      /* create, update, delete */
    long long version;
    const char *record;         /* the record as the API shows it; NULL: a tombstone */
    long long unit_id;          /* 0: the child's current unit (then child_id is required) */
    long long previous_unit_id; /* the unit before, when it moved; 0 otherwise */
};

bool change_log_append(struct operation *operation, const struct change *change,
                       enum db_outcome *outcome);

#endif
