-- The rate target a unit is compared with in `plan_year`: its own
-- (plan_unit_targets) if the plan gives it one, else the plan-wide one
-- (plan_targets); NULL when the plan has no such target.  As jsonb
-- {comparator, numerator, denominator, scope: "unit" | "plan"}.  Used by
-- report summaries (rollup_indicators joins the same tables set-based).
CREATE OR REPLACE FUNCTION plan_unit_target(plan_year smallint, target_code text, unit bigint)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object('comparator', t.comparator,
                              'numerator', coalesce(o.numerator, t.numerator),
                              'denominator', coalesce(o.denominator, t.denominator),
                              'scope', CASE WHEN o.unit_id IS NULL THEN 'plan' ELSE 'unit' END)
      FROM plan_targets t
      LEFT JOIN plan_unit_targets o
             ON o.year = t.year AND o.code = t.code AND o.unit_id = unit
     WHERE t.year = plan_year AND t.code = target_code
    $$;
GRANT EXECUTE ON FUNCTION plan_unit_target(smallint, text, bigint) TO baove_app;
