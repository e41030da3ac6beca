-- The unit a plan of `plan_year` means by a code: the one with that code
-- valid during the year (codes are reused after mergers; in a year of a
-- reorganisation, the newer unit).  NULL when there is none.
CREATE OR REPLACE FUNCTION plan_year_unit(unit_code text, plan_year smallint) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT u.id FROM units u
     WHERE u.code = unit_code AND u.valid_from <= make_date(plan_year, 12, 31)
       AND (u.valid_to IS NULL OR u.valid_to >= make_date(plan_year, 1, 1))
     ORDER BY u.valid_from DESC LIMIT 1
    $$;
GRANT EXECUTE ON FUNCTION plan_year_unit(text, smallint) TO baove_app;
