-- The units with a threshold of their own for a plan target
-- (plan_unit_targets), as the API writes them: [{unit, numerator,
-- denominator}] by code.  With `valid_on`, only units still valid that day
-- (plan_carry_forward leaves out those that ended); NULL for all
-- (plan_document).
CREATE OR REPLACE FUNCTION plan_target_units(plan_year smallint, target_code text,
                                             valid_on date)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('unit', u.code, 'numerator', o.numerator,
                                                 'denominator', o.denominator)
                              ORDER BY u.code), '[]')
      FROM plan_unit_targets o JOIN units u ON u.id = o.unit_id
     WHERE o.year = plan_year AND o.code = target_code
       AND (valid_on IS NULL OR u.valid_to IS NULL OR u.valid_to >= valid_on)
    $$;
GRANT EXECUTE ON FUNCTION plan_target_units(smallint, text, date) TO baove_app;
