-- Applies the successions effective on `on_date` to the live records
-- (`baove-admin units apply --on DATE`; the caller holds one transaction):
-- children (not deleted) and their cases of every unit that ends move to
-- the successor (succession_target: by hamlet for a split); each move is
-- kept in record_unit_moves (the unit history that keeps old periods'
-- figures), in the change feed (unit and previous unit: scope exits and
-- entries), in the case's history and in the audit log.  Principals of a
-- unit with one whole successor move with it; others stay and are told at
-- sign-in.  Fund books stay with the unit that kept them: receipts are
-- numbered per unit and year and a book is closed, not carried over.
-- Idempotent: a second run finds nothing left to move and says so.
CREATE OR REPLACE FUNCTION units_apply(on_date date, now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    request text := 'units apply --on ' || on_date;
BEGIN
    IF on_date > today THEN
        RAISE EXCEPTION 'the successions of % are not in force on %', on_date, today
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unit_successions WHERE effective_on = on_date) THEN
        RAISE EXCEPTION 'no succession is effective on %', on_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('units_apply', 0));

    INSERT INTO record_unit_moves (resource_type, record_id, from_unit_id, to_unit_id,
                                   effective_on, moved_at)
    SELECT 'children', c.id, c.unit_id, succession_target(c.unit_id, c.hamlet, on_date),
           on_date, now
      FROM children c
     WHERE c.deleted_at IS NULL AND succession_target(c.unit_id, c.hamlet, on_date) IS NOT NULL
    UNION ALL
    SELECT 'cases', k.id, k.unit_id, succession_target(k.unit_id, h.hamlet, on_date),
           on_date, now
      FROM cases k JOIN children c ON c.id = k.child_id
           -- The child's hamlet is the case's only while the case is in the
           -- child's commune: a case transferred elsewhere is not routed by a
           -- hamlet of another commune (a split leaves it, reported).
           CROSS JOIN LATERAL (SELECT CASE WHEN k.unit_id = c.unit_id THEN c.hamlet END
                                          AS hamlet) h
     WHERE succession_target(k.unit_id, h.hamlet, on_date) IS NOT NULL
    ON CONFLICT (record_id, effective_on) DO NOTHING;

    UPDATE children c SET unit_id = m.to_unit_id, version = c.version + 1, updated_at = now
      FROM record_unit_moves m
     WHERE m.transaction_id = pg_current_xact_id() AND m.resource_type = 'children'
       AND m.record_id = c.id;
    UPDATE cases k SET unit_id = m.to_unit_id, version = k.version + 1, updated_at = now
      FROM record_unit_moves m
     WHERE m.transaction_id = pg_current_xact_id() AND m.resource_type = 'cases'
       AND m.record_id = k.id;
    INSERT INTO case_history (case_id, at, actor, action, note, details)
    SELECT m.record_id, now, 'baove-admin', 'transferred', request,
           jsonb_build_object('from', (SELECT code FROM units WHERE id = m.from_unit_id),
                              'to', (SELECT code FROM units WHERE id = m.to_unit_id))
      FROM record_unit_moves m
     WHERE m.transaction_id = pg_current_xact_id() AND m.resource_type = 'cases';

    INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, previous_unit_id,
                            operation, version, record, recorded_at)
    SELECT 'children', c.id, c.id, c.unit_id, m.from_unit_id, 'update', c.version,
           child_document(c, today)::jsonb, now
      FROM record_unit_moves m JOIN children c ON c.id = m.record_id
     WHERE m.transaction_id = pg_current_xact_id() AND m.resource_type = 'children'
    UNION ALL
    SELECT 'cases', k.id, k.child_id, k.unit_id, m.from_unit_id, 'update', k.version,
           case_document(k, now, false)::jsonb, now
      FROM record_unit_moves m JOIN cases k ON k.id = m.record_id
     WHERE m.transaction_id = pg_current_xact_id() AND m.resource_type = 'cases';

    INSERT INTO audit_log (at, actor, role, action, resource_type, resource_ids, unit_id,
                           request_id, outcome)
    SELECT now, 'baove-admin', 'admin', 'update', m.resource_type, array_agg(m.record_id),
           m.to_unit_id, request, 'success'
      FROM record_unit_moves m WHERE m.transaction_id = pg_current_xact_id()
     GROUP BY m.resource_type, m.to_unit_id;

    RETURN units_apply_report(on_date, now, request);
END
$$;
