-- What `units apply` did in this transaction and what it left, for the
-- operator: records moved per unit, principals moved (whole successions
-- only, audited here), and what stays at units that ended the day before
-- `on_date`: records of a split without a hamlet rule for them, principals
-- an administrator must move (`baove-admin user move`), fund books (kept by
-- the unit that wrote them).
CREATE OR REPLACE FUNCTION units_apply_report(on_date date, now timestamptz, request text)
    RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    principals_moved jsonb;
BEGIN
    WITH moved AS (
        UPDATE principals p SET unit_id = succession_target(p.unit_id, NULL, on_date)
         WHERE succession_target(p.unit_id, NULL, on_date) IS NOT NULL
        RETURNING p.id, p.username, p.unit_id
    ), audited AS (
        INSERT INTO audit_log (at, actor, role, action, resource_type, resource_ids, unit_id,
                               request_id, outcome)
        SELECT now, 'baove-admin', 'admin', 'update', 'principals', array_agg(m.id),
               m.unit_id, request, 'success'
          FROM moved m GROUP BY m.unit_id
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('username', m.username, 'unit', u.code)
                              ORDER BY m.username), '[]')
      INTO principals_moved
      FROM moved m JOIN units u ON u.id = m.unit_id;

    RETURN jsonb_build_object(
        'on', on_date,
        'moved', (SELECT coalesce(jsonb_agg(x ORDER BY x->>'type', x->>'from', x->>'to'), '[]')
                    FROM (SELECT jsonb_build_object('type', m.resource_type,
                                                    'from', f.code, 'to', t.code,
                                                    'count', count(*)) AS x
                            FROM record_unit_moves m
                            JOIN units f ON f.id = m.from_unit_id
                            JOIN units t ON t.id = m.to_unit_id
                           WHERE m.transaction_id = pg_current_xact_id()
                           GROUP BY m.resource_type, f.code, t.code) moved),
        'principals_moved', principals_moved,
        'left', (SELECT coalesce(jsonb_agg(x ORDER BY x->>'type', x->>'unit'), '[]')
                   FROM (SELECT jsonb_build_object('type', r.kind, 'unit', u.code,
                                                   'count', count(*),
                                                   'ids', jsonb_agg(r.id ORDER BY r.id)) AS x
                           FROM units u
                           JOIN (SELECT 'children' AS kind, c.id::text AS id, c.unit_id
                                   FROM children c WHERE c.deleted_at IS NULL
                                 UNION ALL
                                 SELECT 'cases', k.id::text, k.unit_id FROM cases k
                                 UNION ALL
                                 SELECT 'principals', p.username, p.unit_id FROM principals p
                                  WHERE p.disabled_at IS NULL
                                 UNION ALL
                                 SELECT 'fund_donors', d.id::text, d.unit_id FROM fund_donors d
                                 UNION ALL
                                 SELECT 'fund_pledges', p.id::text, p.unit_id FROM fund_pledges p)
                                r ON r.unit_id = u.id
                          WHERE u.valid_to = on_date - 1
                          GROUP BY r.kind, u.code) left_behind));
END
$$;
