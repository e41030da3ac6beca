-- Writes a plan year (PUT /v1/plans/{year}, and the seed of 2020 through
-- the same function): the plan, its targets and its fund targets replaced by
-- those of `plan` (the body, already checked for shape by the API) and the
-- year's report periods created from the rules where missing.  (The API then
-- queues a rollup on its own clock, so the year's indicators appear.)  Units are codes valid during the
-- year; fund targets and a target's per-unit overrides ("units": [{unit,
-- numerator, denominator}], plan_unit_targets) must lie under the plan's
-- unit, each unit once per list (a code reused in a year of a reorganisation
-- names the unit under the plan's: plan_member_unit).  Returns the problems
-- as [{pointer, detail}] and writes nothing when there are any; [] once
-- written.  A year that has ended is closed to the API (plans.c answers 409
-- before calling this); the seed still writes 2020 here on a new database,
-- and plan_carry_forward only the current or next year.
CREATE OR REPLACE FUNCTION plan_put(plan_year smallint, plan jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql
    AS $$
DECLARE
    plan_unit bigint := plan_year_unit(plan ->> 'unit', plan_year);
    errors jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('pointer', e.pointer, 'detail', e.detail)
                              ORDER BY e.position), '[]')
      INTO errors
      FROM (SELECT 0 AS position, '/unit' AS pointer,
                   format('no unit %s in %s', plan ->> 'unit', plan_year) AS detail
             WHERE plan_unit IS NULL
            UNION ALL
            SELECT f.position, f.pointer,
                   CASE WHEN f.unit_id IS NULL
                        THEN format('no unit %s in %s', f.code, plan_year)
                        WHEN f.earlier > 1 THEN 'appears more than once'
                        ELSE format('must be %s or a unit under it', plan ->> 'unit') END
              FROM (SELECT l.position, l.pointer, l.code,
                           plan_member_unit(l.code, plan_year, plan_unit) AS unit_id,
                           count(*) OVER (PARTITION BY l.list, l.code
                                          ORDER BY l.position) AS earlier
                      FROM (-- Every unit a plan names: its fund targets', then its
                            -- targets' overrides (positions after the fund targets').
                            SELECT 'fund' AS list, t.position, t.item ->> 'unit' AS code,
                                   format('/fund_targets/%s/unit', t.position - 1) AS pointer
                              FROM jsonb_array_elements(plan -> 'fund_targets')
                                   WITH ORDINALITY t (item, position)
                            UNION ALL
                            SELECT x.item ->> 'code', 100000 * x.position + o.position,
                                   o.item ->> 'unit',
                                   format('/targets/%s/units/%s/unit', x.position - 1,
                                          o.position - 1)
                              FROM jsonb_array_elements(plan -> 'targets')
                                   WITH ORDINALITY x (item, position)
                             CROSS JOIN LATERAL jsonb_array_elements(
                                   coalesce(x.item -> 'units', '[]'))
                                   WITH ORDINALITY o (item, position)) l) f
              LEFT JOIN units u ON u.id = f.unit_id
             WHERE plan_unit IS NOT NULL
               AND (f.unit_id IS NULL OR f.earlier > 1
                    OR f.unit_id NOT IN (SELECT s.id FROM unit_subtree(
                           plan_unit, greatest(u.valid_from, make_date(plan_year, 1, 1))) s))
            ) e;
    IF jsonb_array_length(errors) > 0 THEN
        RETURN errors;
    END IF;

    -- carried_forward_from: only plan_carry_forward's body has it (the API
    -- refuses the member), so an officer's PUT clears the mark.
    INSERT INTO plans AS p (year, title, reference, unit_id, version, updated_at,
                            carried_forward_from)
    VALUES (plan_year, plan ->> 'title', plan ->> 'reference', plan_unit, 1, now,
            (plan ->> 'carried_forward_from')::smallint)
    ON CONFLICT (year) DO UPDATE
       SET title = EXCLUDED.title, reference = EXCLUDED.reference, unit_id = EXCLUDED.unit_id,
           version = p.version + 1, updated_at = EXCLUDED.updated_at,
           carried_forward_from = EXCLUDED.carried_forward_from;

    DELETE FROM plan_targets t
     WHERE t.year = plan_year
       AND t.code NOT IN (SELECT x ->> 'code' FROM jsonb_array_elements(plan -> 'targets') x);
    INSERT INTO plan_targets AS t (year, code, comparator, numerator, denominator, description)
    SELECT plan_year, x ->> 'code', x ->> 'comparator', (x ->> 'numerator')::bigint,
           (x ->> 'denominator')::bigint, x ->> 'description'
      FROM jsonb_array_elements(plan -> 'targets') x
    ON CONFLICT (year, code) DO UPDATE
       SET comparator = EXCLUDED.comparator, numerator = EXCLUDED.numerator,
           denominator = EXCLUDED.denominator, description = EXCLUDED.description;

    -- The overrides are replaced whole (a target dropped takes its own
    -- with it: ON DELETE CASCADE).
    DELETE FROM plan_unit_targets o WHERE o.year = plan_year;
    INSERT INTO plan_unit_targets (year, code, unit_id, numerator, denominator)
    SELECT plan_year, x ->> 'code', plan_member_unit(o ->> 'unit', plan_year, plan_unit),
           (o ->> 'numerator')::bigint, (o ->> 'denominator')::bigint
      FROM jsonb_array_elements(plan -> 'targets') x
     CROSS JOIN LATERAL jsonb_array_elements(coalesce(x -> 'units', '[]')) o;

    DELETE FROM fund_targets f
     WHERE f.year = plan_year
       AND f.unit_id NOT IN (SELECT plan_member_unit(x ->> 'unit', plan_year, plan_unit)
                               FROM jsonb_array_elements(plan -> 'fund_targets') x);
    INSERT INTO fund_targets AS f (year, unit_id, amount_vnd)
    SELECT plan_year, plan_member_unit(x ->> 'unit', plan_year, plan_unit), (x ->> 'amount_vnd')::bigint
      FROM jsonb_array_elements(plan -> 'fund_targets') x
    ON CONFLICT (year, unit_id) DO UPDATE
       SET amount_vnd = EXCLUDED.amount_vnd, version = f.version + 1
     WHERE f.amount_vnd <> EXCLUDED.amount_vnd;

    PERFORM report_periods_from_rules(plan_year);
    RETURN '[]';
END
$$;
GRANT EXECUTE ON FUNCTION plan_put(smallint, jsonb, timestamptz) TO baove_app;
