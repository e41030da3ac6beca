-- A plan year's report periods from report_period_rules (0014): the ones it
-- lacks are created, the ones it has (perhaps edited with PUT
-- /v1/report-periods/{key}) are kept.  Returns how many were created.
-- Called when a plan year is written (plan_put) and by the daily job
-- report_periods_job.
CREATE OR REPLACE FUNCTION report_periods_from_rules(plan_year smallint) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH created AS (
        INSERT INTO report_periods (key, year, kind, covers_from, covers_to, due_on)
        SELECT plan_year::text || CASE r.kind WHEN 'semiannual' THEN 'S1' ELSE '' END,
               plan_year, r.kind,
               make_date(plan_year, r.covers_from_month, r.covers_from_day),
               make_date(plan_year, r.cutoff_month, r.cutoff_day),
               make_date(plan_year, r.due_month, r.due_day)
          FROM report_period_rules r
        ON CONFLICT (key) DO NOTHING
        RETURNING 1)
    SELECT count(*)::integer FROM created
    $$;
GRANT EXECUTE ON FUNCTION report_periods_from_rules(smallint) TO baove_app;
