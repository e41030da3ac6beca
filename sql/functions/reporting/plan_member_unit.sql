-- The unit a plan of `plan_year`, drawn up by `plan_unit`, means by a code
-- among its members (fund targets, targets' per-unit overrides): of the
-- units with that code valid during the year, the one under the plan's
-- unit.  In a year of a reorganisation a code can name two units -- a
-- commune that ended and the successor that took its code (29971, 29983
-- and 29992 on 1/7/2025) -- and plan_year_unit() picks the newer, which
-- the plan of the district that ended does not hold: its own is meant.
-- Otherwise what plan_year_unit() says (plan_put() then refuses a unit
-- that is not under the plan's).
CREATE OR REPLACE FUNCTION plan_member_unit(unit_code text, plan_year smallint,
                                            plan_unit bigint)
    RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(
        (SELECT u.id FROM units u
          WHERE u.code = unit_code AND u.valid_from <= make_date(plan_year, 12, 31)
            AND (u.valid_to IS NULL OR u.valid_to >= make_date(plan_year, 1, 1))
            AND u.id IN (SELECT s.id FROM unit_subtree(
                             plan_unit, greatest(u.valid_from, make_date(plan_year, 1, 1))) s)
          ORDER BY u.valid_from DESC LIMIT 1),
        plan_year_unit(unit_code, plan_year))
    $$;
GRANT EXECUTE ON FUNCTION plan_member_unit(text, smallint, bigint) TO baove_app;
