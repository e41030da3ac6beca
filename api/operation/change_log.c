#include "operation/change_log.h"

bool change_log_append(struct operation *operation, const struct change *change,
                       enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, change->resource_type);
    db_param_text(&params, change->resource_id);
    db_param_text(&params, change->child_id);
    db_param_text(&params, change->operation);
    db_param_integer(&params, change->version);
    db_param_text(&params, change->record);
    db_param_id(&params, change->previous_unit_id);
    db_param_id(&params, change->unit_id);
    db_param_instant(&params, clock_now_us()); /* recorded_at: retention (0006) */
    /* The child's unit is read back here rather than passed in, so the log
     * always names the unit the child is in after this transaction.  A
     * record that names its own unit (a case: its commune; the fund's
     * records) is logged whether or not the writer can see the child: a
     * case transferred to another commune is worked there while its child
     * stays registered, out of that commune's sight. */
    return operation_command(
        operation,
        "INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, "
        "previous_unit_id, operation, version, record, recorded_at) "
        "SELECT $1, $2::uuid, $3::uuid, coalesce($8::bigint, c.unit_id), "
        "       nullif($7::bigint, coalesce($8::bigint, c.unit_id)), $4, $5, $6::jsonb, $9 "
        "  FROM (SELECT 1) one LEFT JOIN children c ON c.id = $3::uuid "
        " WHERE c.id IS NOT NULL OR $8::bigint IS NOT NULL",
        &params, outcome);
}
