-- The yearly job's second half (report_periods_job, daily): on and after 1/12
-- of a year (the local date of `now`) the plan of next year, before that the
-- plan of this year (a December run missed), is carried forward from the
-- plan of the year before it when it does not exist: the same targets (with the units' own), fund targets and
-- planning unit, written by plan_put() like any plan, marked
-- carried_forward_from until an officer PUTs it, and audited as the worker.
-- Its report periods come from the rules, so reminders fire with no hand
-- work.  Units that end before the new year are left out (a code reused by
-- a successor is not guessed at).  Idempotent: a year that has a plan is
-- never touched.  Returns {year, from} once written, {} when there was
-- nothing to do, {year, from, problems} when plan_put refused (the planning
-- unit itself ended: an officer must write that year's plan).
CREATE OR REPLACE FUNCTION plan_carry_forward(now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    new_year smallint := extract(year FROM today)::smallint
                         + CASE WHEN extract(month FROM today) = 12 THEN 1 ELSE 0 END;
    previous plans;
    first_day date;
    plan jsonb;
    problems jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM plans p WHERE p.year = new_year) THEN
        RETURN '{}';
    END IF;
    SELECT * INTO previous FROM plans p WHERE p.year = new_year - 1;
    IF NOT FOUND THEN
        RETURN '{}';
    END IF;
    first_day := make_date(new_year, 1, 1);
    -- The plan as the API reads it, less what the new year does not keep.
    SELECT jsonb_build_object(
        'title', regexp_replace(previous.title, previous.year::text, new_year::text, 'g'),
        'reference', left(format('Chuyển tiếp từ %s', previous.reference), 100),
        'unit', d -> 'unit',
        'carried_forward_from', previous.year,
        'targets', (SELECT coalesce(jsonb_agg(t || jsonb_build_object(
                               'units', plan_target_units(previous.year, t ->> 'code',
                                                          first_day))), '[]')
                      FROM jsonb_array_elements(d -> 'targets') t),
        'fund_targets', (SELECT coalesce(jsonb_agg(f), '[]')
                           FROM jsonb_array_elements(d -> 'fund_targets') f
                          WHERE f ->> 'unit' IN (
                                SELECT u.code FROM fund_targets k JOIN units u ON u.id = k.unit_id
                                 WHERE k.year = previous.year
                                   AND (u.valid_to IS NULL OR u.valid_to >= first_day))))
      INTO plan
      FROM (SELECT plan_document(previous)::jsonb AS d) document;
    problems := plan_put(new_year, plan, now);
    IF jsonb_array_length(problems) > 0 THEN
        RETURN jsonb_build_object('year', new_year, 'from', previous.year, 'problems', problems);
    END IF;
    INSERT INTO audit_log (at, actor, role, action, resource_type, unit_id, request_id, outcome)
    SELECT now, 'baove-worker', 'system', 'create', 'plans', p.unit_id,
           'job:report_periods_from_rules', 'success'
      FROM plans p WHERE p.year = new_year;
    RETURN jsonb_build_object('year', new_year, 'from', previous.year);
END
$$;
GRANT EXECUTE ON FUNCTION plan_carry_forward(timestamptz) TO baove_app;
