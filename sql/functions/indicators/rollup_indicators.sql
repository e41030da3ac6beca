-- The job: recomputes every unit and period (payload {}), or one unit and
-- period ({"unit": "<code>", "period": "<key>"}, the unit valid at the
-- period end), and writes what changed.  Serialised by a transaction lock,
-- so two workers running it at once write one after the other.  Returns
-- {units, periods, snapshots_written, checked}.  `now` is the worker's clock.
-- No JSON is built here (only compact rows): 40 000 documents would cost
-- about as much as the figures themselves.
--
-- Since 0011 it no longer upserts one indicator_checks row per (unit,
-- period) on a full run: the latest snapshot is the one with the newest
-- computed_at, and indicator_runs keeps, per period, the "now" of the last
-- full run (see indicator_checked_at).  A larger work_mem was measured: no
-- difference.
CREATE OR REPLACE FUNCTION rollup_indicators(payload jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    -- The planner's estimates of this statement are far too high (it cannot
    -- see through the period joins), which switches JIT compilation on: 3 s
    -- of compiling for a statement that runs in a few.
    SET jit = off
    -- A background job beside the writers: one core at most, never a
    -- parallel plan's workers as well (at 100 000 children the planner
    -- chose none; a larger registry might, and take every core from the
    -- API).  The worker also spaces the runs that writes trigger
    -- (BAOVE_WORKER_CHANGE_INTERVAL_SECONDS).
    SET max_parallel_workers_per_gather = 0
    AS $$
DECLARE
    only_period text := payload ->> 'period';
    only_unit bigint;
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    summary jsonb;
BEGIN
    IF payload ? 'unit' THEN
        IF only_period IS NULL THEN
            RAISE EXCEPTION 'rollup_indicators: a unit needs a period' USING ERRCODE = '22023';
        END IF;
        SELECT u.id INTO only_unit
          FROM units u JOIN indicator_periods() p ON p.key = only_period
         WHERE u.code = payload ->> 'unit'
           AND u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on);
        IF only_unit IS NULL THEN
            RAISE EXCEPTION 'rollup_indicators: no unit % in period %', payload ->> 'unit',
                only_period USING ERRCODE = '22023';
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('rollup_indicators', 0));

    -- Each period with the plan's targets of its year, and how far it ran.
    WITH periods AS MATERIALIZED (
        SELECT p.key, p.year, p.starts_on, p.ends_on, p.ends_on < today AS ended,
               p.ends_on - p.starts_on + 1 AS length,
               greatest(0, least(today, p.ends_on) - p.starts_on + 1) AS elapsed,
               -- The fund's target is a year's: measured over the plan year.
               make_date(p.year, 12, 31) < today AS fund_ended,
               make_date(p.year, 12, 31) - make_date(p.year, 1, 1) + 1 AS fund_length,
               greatest(0, least(today, p.ends_on) - make_date(p.year, 1, 1) + 1) AS fund_elapsed,
               csc.comparator AS csc_comparator, csc.numerator AS csc_numerator,
               csc.denominator AS csc_denominator,
               supported.comparator AS supported_comparator,
               supported.numerator AS supported_numerator,
               supported.denominator AS supported_denominator,
               jsonb_strip_nulls(jsonb_build_object(
                   'csc_rate', CASE WHEN csc.code IS NOT NULL THEN jsonb_build_object(
                       'comparator', csc.comparator, 'numerator', csc.numerator,
                       'denominator', csc.denominator) END,
                   'csc_supported_rate', CASE WHEN supported.code IS NOT NULL
                       THEN jsonb_build_object(
                       'comparator', supported.comparator, 'numerator', supported.numerator,
                       'denominator', supported.denominator) END)) AS targets
          FROM indicator_periods() p
          LEFT JOIN plan_targets csc ON csc.year = p.year AND csc.code = 'csc_rate'
          LEFT JOIN plan_targets supported
                 ON supported.year = p.year AND supported.code = 'csc_supported_rate'
         WHERE only_period IS NULL OR p.key = only_period
    ), units_of_period AS MATERIALIZED (
        -- The units valid at each period's end (0008 took them from the
        -- closure of the tree, computed again for nothing).
        SELECT p.key, u.id AS unit_id
          FROM periods p
          JOIN units u ON u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
         WHERE only_unit IS NULL OR u.id = only_unit
    ), fresh AS (
        SELECT u.unit_id, p.key AS period, p.starts_on, p.ends_on, x.figures,
               coalesce(w.breakdown, '{}') AS breakdown,
               -- A unit with its own targets (plan_unit_targets) is compared
               -- with them; the others with the plan's.
               CASE WHEN own_csc.unit_id IS NULL AND own_supported.unit_id IS NULL
                    THEN p.targets
                    ELSE p.targets || jsonb_strip_nulls(jsonb_build_object(
                        'csc_rate', CASE WHEN own_csc.unit_id IS NOT NULL
                            THEN jsonb_build_object('comparator', p.csc_comparator,
                                                    'numerator', own_csc.numerator,
                                                    'denominator', own_csc.denominator) END,
                        'csc_supported_rate', CASE WHEN own_supported.unit_id IS NOT NULL
                            THEN jsonb_build_object('comparator', p.supported_comparator,
                                                    'numerator', own_supported.numerator,
                                                    'denominator', own_supported.denominator)
                            END)) END AS targets,
               ARRAY[NULL, NULL,
                     indicator_status(x.figures[2], x.figures[1], p.csc_comparator,
                                      coalesce(own_csc.numerator, p.csc_numerator),
                                      coalesce(own_csc.denominator, p.csc_denominator),
                                      p.elapsed, p.length, p.ended),
                     NULL,
                     indicator_status(x.figures[3], x.figures[2], p.supported_comparator,
                                      coalesce(own_supported.numerator, p.supported_numerator),
                                      coalesce(own_supported.denominator,
                                               p.supported_denominator),
                                      p.elapsed, p.length, p.ended),
                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                     indicator_status(x.figures[16], 1,
                                      CASE WHEN x.figures[14] > 0 THEN 'ge' END, x.figures[14],
                                      1, p.fund_elapsed, p.fund_length, p.fund_ended),
                     indicator_status(x.figures[16], x.figures[14],
                                      CASE WHEN x.figures[14] > 0 THEN 'ge' END, 1, 1,
                                      p.fund_elapsed, p.fund_length, p.fund_ended)
                    ]::text[] AS statuses
          FROM units_of_period u
          JOIN periods p ON p.key = u.key
          LEFT JOIN indicator_figures(only_unit, only_period, now) w
                 ON w.period = u.key AND w.unit_id = u.unit_id
          LEFT JOIN plan_unit_targets own_csc
                 ON own_csc.year = p.year AND own_csc.code = 'csc_rate'
                AND own_csc.unit_id = u.unit_id
          LEFT JOIN plan_unit_targets own_supported
                 ON own_supported.year = p.year AND own_supported.code = 'csc_supported_rate'
                AND own_supported.unit_id = u.unit_id
         CROSS JOIN LATERAL (SELECT coalesce(w.figures, array_fill(0::bigint, ARRAY[16]))
                               AS figures) x
    ), compared AS MATERIALIZED (
        -- The latest snapshot: the newest computed_at (the primary key read
        -- backwards, one probe per unit and period).
        SELECT f.*,
               s.figures IS NULL OR s.figures <> f.figures OR s.breakdown <> f.breakdown
                 OR s.statuses IS DISTINCT FROM f.statuses OR s.targets <> f.targets
                 OR s.starts_on <> f.starts_on OR s.ends_on <> f.ends_on AS changed
          FROM fresh f
          LEFT JOIN LATERAL (
                SELECT s.* FROM indicator_snapshots s
                 WHERE s.unit_id = f.unit_id AND s.period = f.period
                 ORDER BY s.computed_at DESC LIMIT 1) s ON true
    ), written AS (
        INSERT INTO indicator_snapshots (unit_id, period, computed_at, starts_on, ends_on,
                                         figures, breakdown, statuses, targets)
        SELECT c.unit_id, c.period, now, c.starts_on, c.ends_on, c.figures, c.breakdown,
               c.statuses, c.targets
          FROM compared c WHERE c.changed
        -- The same "now" twice (a fixed BAOVE_NOW): the newer figures win.
        ON CONFLICT (unit_id, period, computed_at) DO UPDATE
           SET starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on,
               figures = EXCLUDED.figures, breakdown = EXCLUDED.breakdown,
               statuses = EXCLUDED.statuses, targets = EXCLUDED.targets
        RETURNING 1
    -- (A data-modifying WITH runs whether or not it is read.)
    ), run_checked AS (
        -- A full run checked every unit of its periods: one row per period.
        INSERT INTO indicator_runs (period, checked_at)
        SELECT p.key, now FROM periods p WHERE only_unit IS NULL
        ON CONFLICT (period) DO UPDATE SET checked_at = EXCLUDED.checked_at
        RETURNING 1
    ), unit_checked AS (
        -- A run of one unit and period: that unit's own row.
        INSERT INTO indicator_checks (unit_id, period, checked_at)
        SELECT c.unit_id, c.period, now FROM compared c WHERE only_unit IS NOT NULL
        ON CONFLICT (unit_id, period) DO UPDATE SET checked_at = EXCLUDED.checked_at
        RETURNING 1
    )
    SELECT jsonb_build_object('units', (SELECT count(DISTINCT c.unit_id) FROM compared c),
                              'periods', (SELECT count(DISTINCT c.period) FROM compared c),
                              'snapshots_written', (SELECT count(*) FROM written),
                              'checked', (SELECT count(*) FROM compared))
      INTO summary;
    RETURN summary;
END
$$;
GRANT EXECUTE ON FUNCTION rollup_indicators(jsonb, timestamptz) TO baove_app;
REVOKE EXECUTE ON FUNCTION rollup_indicators(jsonb, timestamptz) FROM PUBLIC;
