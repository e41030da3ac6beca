-- Job function (kind report_periods_from_rules, daily at 01:00): every plan
-- year has its report periods, whichever path wrote the plan, so the
-- reminders of a new year fire with no hand work once its plan exists.
-- Returns {"created": n}.
CREATE OR REPLACE FUNCTION report_periods_job(payload jsonb, now timestamptz) RETURNS jsonb
    LANGUAGE sql
    AS $$
    SELECT jsonb_build_object('created', coalesce(sum(report_periods_from_rules(p.year)), 0))
      FROM plans p
    $$;
GRANT EXECUTE ON FUNCTION report_periods_job(jsonb, timestamptz) TO baove_app;
