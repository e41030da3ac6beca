-- The API's representation of a plan year (GET/PUT /v1/plans/{year}): the
-- plan, its indicator targets (each with its per-unit overrides), the
-- fund's targets per unit and the year's
-- report periods; carried_forward_from, the year the yearly job copied it
-- from, until an officer writes it.
CREATE OR REPLACE FUNCTION plan_document(plan plans) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'year', plan.year, 'title', plan.title, 'reference', plan.reference,
        'unit', (SELECT u.code FROM units u WHERE u.id = plan.unit_id),
        'targets', coalesce((SELECT json_agg(json_build_object(
                       'code', t.code, 'comparator', t.comparator, 'numerator', t.numerator,
                       'denominator', t.denominator, 'description', t.description,
                       'units', plan_target_units(t.year, t.code, NULL))
                       ORDER BY t.code)
                     FROM plan_targets t WHERE t.year = plan.year), '[]'),
        'fund_targets', coalesce((SELECT json_agg(json_build_object(
                            'unit', u.code, 'amount_vnd', f.amount_vnd) ORDER BY u.code)
                          FROM fund_targets f JOIN units u ON u.id = f.unit_id
                         WHERE f.year = plan.year), '[]'),
        'report_periods', coalesce((SELECT json_agg(report_period_document(r) ORDER BY r.due_on)
                              FROM report_periods r WHERE r.year = plan.year), '[]'),
        'carried_forward_from', plan.carried_forward_from,
        'version', plan.version, 'updated_at', rfc3339(plan.updated_at))
    $$;
GRANT EXECUTE ON FUNCTION plan_document(plans) TO baove_app;
