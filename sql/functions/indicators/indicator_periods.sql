-- The periods, with the day before which a child must be born to be under
-- 16 at the period end.  Two report periods with the same cut-off make one
-- period (the wider coverage).
CREATE OR REPLACE FUNCTION indicator_periods()
    RETURNS TABLE (key text, year smallint, starts_on date, ends_on date)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT p.year::text, p.year, make_date(p.year, 1, 1), make_date(p.year, 12, 31) FROM plans p
    UNION ALL
    SELECT p.year::text || 'S1', p.year, make_date(p.year, 1, 1), make_date(p.year, 6, 30)
      FROM plans p
    UNION ALL
    (SELECT DISTINCT ON (r.covers_to) to_char(r.covers_to, 'YYYY-MM-DD'), r.year, r.covers_from,
            r.covers_to
       FROM report_periods r ORDER BY r.covers_to, r.covers_from)
    $$;
GRANT EXECUTE ON FUNCTION indicator_periods() TO baove_app;
