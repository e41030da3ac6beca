-- Job function (kind report_periods_from_rules, daily at 01:00), the yearly
-- job: from 1/12 next year's plan is carried forward from this year's when
-- no one wrote it (plan_carry_forward), and every plan year has its report
-- periods, whichever path wrote the plan, so the reminders of a new year
-- fire with no hand work.  Returns {"created": n, "carried_forward": {...}}.
CREATE OR REPLACE FUNCTION report_periods_job(payload jsonb, now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    carried jsonb := plan_carry_forward(now);
BEGIN
    RETURN jsonb_build_object(
        'created', (SELECT coalesce(sum(report_periods_from_rules(p.year)), 0) FROM plans p),
        'carried_forward', carried);
END
$$;
GRANT EXECUTE ON FUNCTION report_periods_job(jsonb, timestamptz) TO baove_app;
