-- 0008: indicator rollups.  For every unit (commune, district, province) valid
-- at a period's end and every period of a plan year, the plan's indicators
-- are computed from the registry and the cases, kept as snapshots, and
-- served by GET /v1/indicators.  The job `rollup_indicators` (the worker)
-- calls rollup_indicators(); a submitted report freezes indicator_snapshot().
--
-- Periods of a plan year Y (table plans):
--   'Y'          Y-01-01 .. Y-12-31 (the plan year)
--   'YS1'        Y-01-01 .. Y-06-30 (the first half-year)
--   'YYYY-MM-DD' each report period's cut-off (report_periods.covers_to),
--                covering covers_from .. covers_to: the figures a report of
--                that period freezes.
--
-- The indicators (exact: integers; rates are numerator/denominator with a
-- per-mille value rounded half up; status is decided on the exact fraction):
--   children_total      children registered (registered_on <= end), not
--                       deleted, under 16 at the period end (born after
--                       end - 16 years: the 16th birthday ends childhood).
--                       The registry records no deaths: a child who died is
--                       deleted from it.
--   csc_total           those children with at least one special circumstance
--                       (Law on Children Art. 10) in force at the period end
--                       (since <= end, until NULL or >= end).  A child in two
--                       groups counts once; breakdown.group counts children
--                       per group a..o (a child in two groups is in both).
--   csc_rate            csc_total / children_total; target plan_targets
--                       'csc_rate' (2020: < 3 %).
--   csc_supported       csc_total children with at least one support
--                       provided within the period (start <= provided_on <= end).
--   csc_supported_rate  csc_supported / csc_total; target 'csc_supported_rate'
--                       (2020: >= 93 %).
--   at_risk_total       children_total children with a risk in force at the
--                       period end (whether or not they are also CSC).
--   abused_children     children with a case received in the period (local
--                       date) naming an abuse concern (Law on Children Art.
--                       4.8: violence, sexual_abuse, exploitation, trafficking,
--                       neglect, abandonment), under 16 on the day the case
--                       was received; each child once, in the unit of its
--                       first such case of the period.  breakdown: sex, age
--                       group on that day (0_5, 6_10, 11_15) and concern (a
--                       child counts under each abuse concern of its cases of
--                       the period, so concerns may add up to more).
--   cases_opened        cases received in the period (local date of received_at).
--   cases_closed        cases closed in the period (local date of the step to
--                       'closed').
--   cases_open          cases received by the period end and not closed by it.
--   emergency_cases     cases received in the period whose initial assessment
--                       found a serious risk (emergency measures due in 12 h).
--   emergency_deadline_met_rate   emergency deadlines (12 h, Decree 56 Art.
--                       25) due in the period and decided at "now" (met, or
--                       missed: met late or not met and past due): met on time
--                       / decided.  No target in the plan.
--   plan_on_time_rate   plan-submission deadlines (5 working days after the
--                       detailed assessment) due in the period and decided:
--                       submitted on time / decided.  No target in the plan.
-- Cases and deadlines belong to the case's unit (the commune managing it); a
-- deleted child's records count nowhere.  Figures use everything recorded
-- up to the computation, so a late entry about a past period changes that
-- period's figures (a submitted report keeps the ones it froze).
--
-- Status (status is NULL when the plan sets no target for the indicator):
--   no_data   the rate's denominator is 0;
--   met / not_met   the period has ended (its end is before "today", the
--             local date of the rollup's "now"): the exact fraction against
--             the target;
--   on_track  the period has not ended and: for a ceiling (lt, le) the
--             figure is within it now; for a floor (ge, gt) the figure meets
--             the target pro rata of the days elapsed (start .. today,
--             inclusive, out of the period's days): numerator/denominator
--             cmp target * elapsed/length.  Otherwise not_met.
--
-- Rolling up: figures are computed once per table, grouped by the unit the
-- record belongs to (communes), then summed up the tree of units valid at
-- the period end (unit_subtree semantics: a unit and its descendants valid
-- on that day).  Counts are summed and rates recomputed from the summed
-- numerators and denominators, never averaged.

-- The periods, with the day before which a child must be born to be under
-- 16 at the period end.  Two report periods with the same cut-off make one
-- period (the wider coverage).
CREATE FUNCTION indicator_periods()
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

-- Ancestor-descendant pairs (each unit with itself too) of the units valid
-- on a day: what a unit's figures roll up from.
CREATE FUNCTION indicator_unit_tree(on_date date)
    RETURNS TABLE (ancestor_id bigint, unit_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH RECURSIVE valid AS MATERIALIZED (
        SELECT u.id, u.parent_id FROM units u
         WHERE u.valid_from <= on_date AND (u.valid_to IS NULL OR u.valid_to >= on_date)
    ), tree AS (
        SELECT v.id AS ancestor_id, v.id AS unit_id FROM valid v
        UNION ALL
        SELECT tree.ancestor_id, v.id FROM tree JOIN valid v ON v.parent_id = tree.unit_id
    )
    SELECT tree.ancestor_id, tree.unit_id FROM tree
    $$;

-- Rolled-up raw figures, long format: one row per (period, unit, figure)
-- that is not zero.  Figure names: children_total, csc_total, csc_supported,
-- csc_group:<key>, at_risk_total, abused_children, abused_sex:<sex>,
-- abused_age:<0_5|6_10|11_15>, abused_concern:<concern>, cases_opened,
-- cases_closed, cases_open, emergency_cases, emergency_deadlines_decided,
-- emergency_deadlines_met, plan_deadlines_decided, plan_deadlines_met.
-- only_unit / only_period (NULL: all) restrict the output; `now` decides
-- which deadlines are still pending.  One pass per table, grouped by the
-- record's unit, then one join with the tree.
CREATE FUNCTION indicator_figures(only_unit bigint, only_period text, now timestamptz)
    RETURNS TABLE (period text, unit_id bigint, figure text, amount bigint)
    LANGUAGE sql STABLE
    AS $$
    WITH periods AS MATERIALIZED (
        SELECT p.key, p.starts_on, p.ends_on, (p.ends_on - interval '16 years')::date AS born_by
          FROM indicator_periods() p
         WHERE only_period IS NULL OR p.key = only_period
    ), tree AS MATERIALIZED (
        SELECT p.key, t.ancestor_id, t.unit_id
          FROM periods p CROSS JOIN LATERAL indicator_unit_tree(p.ends_on) t
         WHERE only_unit IS NULL OR t.ancestor_id = only_unit
    ), leaves AS MATERIALIZED (
        SELECT DISTINCT t.unit_id FROM tree t
    ), children_counted AS (
        SELECT p.key, c.unit_id, 'children_total' AS figure, count(*) AS amount
          FROM children c JOIN periods p
            ON c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
         WHERE c.deleted_at IS NULL
           AND (only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l))
         GROUP BY p.key, c.unit_id
    ), csc AS MATERIALIZED (
        SELECT p.key, c.unit_id, c.id AS child_id,
               array_agg(DISTINCT cc."group") AS groups,
               EXISTS (SELECT 1 FROM child_supports s
                        WHERE s.child_id = c.id
                          AND s.provided_on BETWEEN p.starts_on AND p.ends_on) AS supported
          FROM child_circumstances cc
          JOIN periods p ON cc.since <= p.ends_on AND (cc.until IS NULL OR cc.until >= p.ends_on)
          JOIN children c ON c.id = cc.child_id AND c.deleted_at IS NULL
                         AND c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
         WHERE only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l)
         GROUP BY p.key, p.starts_on, p.ends_on, c.unit_id, c.id
    ), csc_counted AS (
        SELECT x.key, x.unit_id, f.figure, f.amount
          FROM (SELECT key, unit_id, count(*) AS total, count(*) FILTER (WHERE supported) AS supp
                  FROM csc GROUP BY key, unit_id) x
         CROSS JOIN LATERAL (VALUES ('csc_total', x.total), ('csc_supported', x.supp)) f (figure, amount)
        UNION ALL
        SELECT csc.key, csc.unit_id, 'csc_group:' || g.key, count(*)
          FROM csc CROSS JOIN LATERAL unnest(csc.groups) g (key)
         GROUP BY csc.key, csc.unit_id, g.key
    ), at_risk AS (
        SELECT p.key, c.unit_id, 'at_risk_total', count(DISTINCT c.id)
          FROM child_risks r
          JOIN periods p ON r.since <= p.ends_on AND (r.until IS NULL OR r.until >= p.ends_on)
          JOIN children c ON c.id = r.child_id AND c.deleted_at IS NULL
                         AND c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
         WHERE only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l)
         GROUP BY p.key, c.unit_id
    ), case_facts AS MATERIALIZED (
        SELECT k.id, k.unit_id, k.child_id, k.received_at, k.concerns,
               coalesce(k.serious_risk, false) AS serious,
               (k.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
               (SELECT (max(h.at) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date FROM case_history h
                 WHERE h.case_id = k.id AND h.to_status = 'closed' AND k.status = 'closed')
                 AS closed_on,
               c.sex, c.date_of_birth
          FROM cases k JOIN children c ON c.id = k.child_id AND c.deleted_at IS NULL
         WHERE only_unit IS NULL OR k.unit_id IN (SELECT l.unit_id FROM leaves l)
    ), case_counted AS (
        SELECT x.key, x.unit_id, f.figure, f.amount
          FROM (SELECT p.key, k.unit_id,
                       count(*) FILTER (WHERE k.received_on >= p.starts_on) AS opened,
                       count(*) FILTER (WHERE k.closed_on BETWEEN p.starts_on AND p.ends_on)
                         AS closed,
                       count(*) FILTER (WHERE k.closed_on IS NULL OR k.closed_on > p.ends_on)
                         AS open,
                       count(*) FILTER (WHERE k.received_on >= p.starts_on AND k.serious)
                         AS emergency
                  FROM case_facts k JOIN periods p ON k.received_on <= p.ends_on
                 GROUP BY p.key, k.unit_id) x
         CROSS JOIN LATERAL (VALUES ('cases_opened', x.opened), ('cases_closed', x.closed),
                                    ('cases_open', x.open), ('emergency_cases', x.emergency))
                 f (figure, amount)
    ), deadline_counted AS (
        SELECT x.key, x.unit_id, f.figure, f.amount
          FROM (SELECT p.key, k.unit_id, d.kind,
                       count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, now) <> 'pending')
                         AS decided,
                       count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, now) = 'met')
                         AS met
                  FROM case_deadlines d
                  JOIN case_facts k ON k.id = d.case_id
                  JOIN periods p ON (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                                    BETWEEN p.starts_on AND p.ends_on
                 WHERE d.kind IN ('emergency', 'plan_submission')
                 GROUP BY p.key, k.unit_id, d.kind) x
         CROSS JOIN LATERAL (VALUES
                 (CASE x.kind WHEN 'emergency' THEN 'emergency' ELSE 'plan' END
                  || '_deadlines_decided', x.decided),
                 (CASE x.kind WHEN 'emergency' THEN 'emergency' ELSE 'plan' END
                  || '_deadlines_met', x.met)) f (figure, amount)
    ), abuse_cases AS MATERIALIZED (
        SELECT p.key, k.id, k.unit_id, k.child_id, k.received_at, k.sex,
               extract(year FROM age(k.received_on, k.date_of_birth))::integer AS age,
               k.concerns
          FROM case_facts k JOIN periods p ON k.received_on BETWEEN p.starts_on AND p.ends_on
         WHERE k.concerns && ARRAY['violence', 'sexual_abuse', 'exploitation', 'trafficking',
                                   'neglect', 'abandonment']
           AND k.date_of_birth > (k.received_on - interval '16 years')::date
    ), abused AS MATERIALIZED (
        SELECT DISTINCT ON (a.key, a.child_id) a.key, a.child_id, a.unit_id, a.sex, a.age
          FROM abuse_cases a ORDER BY a.key, a.child_id, a.received_at, a.id
    ), abuse_counted AS (
        SELECT a.key, a.unit_id, f.figure, count(*)
          FROM abused a
         CROSS JOIN LATERAL (VALUES ('abused_children'), ('abused_sex:' || a.sex),
                                    ('abused_age:' || CASE WHEN a.age <= 5 THEN '0_5'
                                                           WHEN a.age <= 10 THEN '6_10'
                                                           ELSE '11_15' END)) f (figure)
         GROUP BY a.key, a.unit_id, f.figure
        UNION ALL
        SELECT a.key, a.unit_id, 'abused_concern:' || x.concern, count(DISTINCT a.child_id)
          FROM abused a
          JOIN abuse_cases c ON c.key = a.key AND c.child_id = a.child_id
         CROSS JOIN LATERAL unnest(c.concerns) x (concern)
         WHERE x.concern IN ('violence', 'sexual_abuse', 'exploitation', 'trafficking',
                             'neglect', 'abandonment')
         GROUP BY a.key, a.unit_id, x.concern
    ), leaf_figures AS (
        SELECT * FROM children_counted
        UNION ALL SELECT * FROM csc_counted
        UNION ALL SELECT * FROM at_risk
        UNION ALL SELECT * FROM case_counted
        UNION ALL SELECT * FROM deadline_counted
        UNION ALL SELECT * FROM abuse_counted
    )
    SELECT f.key, t.ancestor_id, f.figure, sum(f.amount)::bigint
      FROM leaf_figures f JOIN tree t ON t.key = f.key AND t.unit_id = f.unit_id
     WHERE f.amount <> 0
     GROUP BY f.key, t.ancestor_id, f.figure
    $$;

-- One item of GET /v1/indicators.  scale: 'count' (value = numerator,
-- denominator null), 'per_mille' (value = round half up of 1000 *
-- numerator / denominator, null when the denominator is 0).  The target is
-- comparator, target_numerator / target_denominator (all null: no target);
-- `elapsed` of the period's `length` days have passed on the rollup's day,
-- `ended` when the period ended before it.  The status is decided exactly,
-- by cross-multiplying (numeric: no overflow), as the header says.  One
-- SELECT of expressions, STABLE like jsonb_build_object: the planner inlines
-- it, so a rollup of 40 000 snapshots builds its items without a function
-- call per item.
CREATE FUNCTION indicator_item(code text, scale text, numerator bigint, denominator bigint,
                               comparator text, target_numerator bigint,
                               target_denominator bigint, elapsed integer, length integer,
                               ended boolean, breakdown jsonb)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object(
        'code', code, 'scale', scale, 'numerator', numerator, 'denominator', denominator,
        'value', CASE WHEN scale <> 'per_mille' THEN numerator
                      WHEN denominator > 0 THEN (2000 * numerator + denominator) / (2 * denominator)
                 END,
        'target', CASE WHEN comparator IS NOT NULL THEN jsonb_build_object(
                      'comparator', comparator, 'numerator', target_numerator,
                      'denominator', target_denominator,
                      'value', CASE WHEN scale = 'per_mille'
                                    THEN (2000 * target_numerator + target_denominator)
                                         / (2 * target_denominator)
                                    ELSE target_numerator / target_denominator END) END,
        'status', CASE
            WHEN comparator IS NULL THEN NULL
            WHEN coalesce(denominator, 1) = 0 THEN 'no_data'
            -- A ceiling, or any target once the period has ended: compare now.
            WHEN ended OR comparator IN ('lt', 'le') THEN
                 CASE WHEN CASE comparator
                          WHEN 'lt' THEN numerator::numeric * target_denominator
                                         < target_numerator::numeric * coalesce(denominator, 1)
                          WHEN 'le' THEN numerator::numeric * target_denominator
                                         <= target_numerator::numeric * coalesce(denominator, 1)
                          WHEN 'ge' THEN numerator::numeric * target_denominator
                                         >= target_numerator::numeric * coalesce(denominator, 1)
                          ELSE numerator::numeric * target_denominator
                               > target_numerator::numeric * coalesce(denominator, 1) END
                      THEN CASE WHEN ended THEN 'met' ELSE 'on_track' END
                      ELSE 'not_met' END
            -- A floor while the period runs: against the target pro rata.
            WHEN CASE comparator
                     WHEN 'ge' THEN numerator::numeric * target_denominator * length
                                    >= target_numerator::numeric * coalesce(denominator, 1) * elapsed
                     ELSE numerator::numeric * target_denominator * length
                          > target_numerator::numeric * coalesce(denominator, 1) * elapsed END
                 THEN 'on_track'
            ELSE 'not_met' END)
        || CASE WHEN breakdown IS NOT NULL THEN jsonb_build_object('breakdown', breakdown)
                ELSE '{}'::jsonb END
    $$;

-- Snapshots: insert-only history, one row per (unit, period) each time its
-- items (or the period's dates) differ from the latest; items exactly as
-- GET /v1/indicators shows them.
CREATE TABLE indicator_snapshots (
    unit_id     bigint NOT NULL REFERENCES units (id),
    period      text NOT NULL,
    computed_at timestamptz NOT NULL,  -- the rollup that found these figures
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    items       jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    PRIMARY KEY (unit_id, period, computed_at)
);

-- The latest snapshot of each (unit, period) and the last rollup that
-- confirmed it unchanged.  A rollup that finds the same figures bumps
-- checked_at here (a narrow row) instead of writing another snapshot, so
-- history grows only when figures change.
CREATE TABLE indicator_checks (
    unit_id     bigint NOT NULL REFERENCES units (id),
    period      text NOT NULL,
    computed_at timestamptz NOT NULL,
    checked_at  timestamptz NOT NULL,
    PRIMARY KEY (unit_id, period),
    FOREIGN KEY (unit_id, period, computed_at)
        REFERENCES indicator_snapshots (unit_id, period, computed_at)
);

-- The job: recomputes every unit and period (payload {}), or one unit and
-- period ({"unit": "<code>", "period": "<key>"}, the unit valid at the
-- period end), and writes what changed.  Serialised by a transaction lock,
-- so two workers running it at once write one after the other.  Returns
-- {units, periods, snapshots_written}.  `now` is the worker's clock.
CREATE FUNCTION rollup_indicators(payload jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
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
        SELECT p.key, p.starts_on, p.ends_on, p.ends_on < today AS ended,
               p.ends_on - p.starts_on + 1 AS length,
               greatest(0, least(today, p.ends_on) - p.starts_on + 1) AS elapsed,
               csc.comparator AS csc_comparator, csc.numerator AS csc_numerator,
               csc.denominator AS csc_denominator,
               supported.comparator AS supported_comparator,
               supported.numerator AS supported_numerator,
               supported.denominator AS supported_denominator
          FROM indicator_periods() p
          LEFT JOIN plan_targets csc ON csc.year = p.year AND csc.code = 'csc_rate'
          LEFT JOIN plan_targets supported
                 ON supported.year = p.year AND supported.code = 'csc_supported_rate'
         WHERE only_period IS NULL OR p.key = only_period
    ), units_of_period AS MATERIALIZED (
        SELECT p.key, t.ancestor_id AS unit_id
          FROM periods p CROSS JOIN LATERAL indicator_unit_tree(p.ends_on) t
         WHERE t.ancestor_id = t.unit_id AND (only_unit IS NULL OR t.unit_id = only_unit)
    ), figures AS MATERIALIZED (
        SELECT * FROM indicator_figures(only_unit, only_period, now)
    ), wide AS (
        -- Every unit of every period, with its figures (0 when absent).
        SELECT u.key, u.unit_id,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'children_total'), 0)::bigint AS children,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'csc_total'), 0)::bigint AS csc,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'csc_supported'), 0)::bigint AS supported,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'at_risk_total'), 0)::bigint AS at_risk,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'abused_children'), 0)::bigint AS abused,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'cases_opened'), 0)::bigint AS opened,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'cases_closed'), 0)::bigint AS closed,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'cases_open'), 0)::bigint AS open,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'emergency_cases'), 0)::bigint
                 AS emergency,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'emergency_deadlines_met'), 0)::bigint
                 AS emergency_met,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'emergency_deadlines_decided'), 0)::bigint
                 AS emergency_decided,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'plan_deadlines_met'), 0)::bigint
                 AS plan_met,
               coalesce(sum(f.amount) FILTER (WHERE f.figure = 'plan_deadlines_decided'), 0)::bigint
                 AS plan_decided
          FROM units_of_period u
          LEFT JOIN figures f ON f.period = u.key AND f.unit_id = u.unit_id
         GROUP BY u.key, u.unit_id
    ), breakdowns AS (
        -- Every key of every breakdown listed, zeros included.
        SELECT u.key, u.unit_id,
               jsonb_object_agg(k.key, coalesce(f.amount, 0))
                 FILTER (WHERE k.dimension = 'group') AS by_group,
               jsonb_object_agg(k.key, coalesce(f.amount, 0))
                 FILTER (WHERE k.dimension = 'sex') AS by_sex,
               jsonb_object_agg(k.key, coalesce(f.amount, 0))
                 FILTER (WHERE k.dimension = 'age_group') AS by_age,
               jsonb_object_agg(k.key, coalesce(f.amount, 0))
                 FILTER (WHERE k.dimension = 'concern') AS by_concern
          FROM units_of_period u
         CROSS JOIN (SELECT 'group' AS dimension, g.key, 'csc_group:' || g.key AS figure
                       FROM circumstance_groups g
                     UNION ALL
                     SELECT v.dimension, v.key, v.prefix || v.key
                       FROM (VALUES ('sex', 'male', 'abused_sex:'),
                                    ('sex', 'female', 'abused_sex:'),
                                    ('age_group', '0_5', 'abused_age:'),
                                    ('age_group', '6_10', 'abused_age:'),
                                    ('age_group', '11_15', 'abused_age:'),
                                    ('concern', 'violence', 'abused_concern:'),
                                    ('concern', 'sexual_abuse', 'abused_concern:'),
                                    ('concern', 'exploitation', 'abused_concern:'),
                                    ('concern', 'trafficking', 'abused_concern:'),
                                    ('concern', 'neglect', 'abused_concern:'),
                                    ('concern', 'abandonment', 'abused_concern:'))
                            v (dimension, key, prefix)) k
          LEFT JOIN figures f
                 ON f.period = u.key AND f.unit_id = u.unit_id AND f.figure = k.figure
         GROUP BY u.key, u.unit_id
    ), fresh AS MATERIALIZED (
        SELECT w.unit_id, p.key AS period, p.starts_on, p.ends_on, jsonb_build_array(
            indicator_item('children_total', 'count', w.children, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('csc_total', 'count', w.csc, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended,
                           jsonb_build_object('group', coalesce(b.by_group, '{}'))),
            indicator_item('csc_rate', 'per_mille', w.csc, w.children, p.csc_comparator,
                           p.csc_numerator, p.csc_denominator, p.elapsed, p.length, p.ended,
                           NULL),
            indicator_item('csc_supported', 'count', w.supported, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('csc_supported_rate', 'per_mille', w.supported, w.csc,
                           p.supported_comparator, p.supported_numerator,
                           p.supported_denominator, p.elapsed, p.length, p.ended, NULL),
            indicator_item('at_risk_total', 'count', w.at_risk, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('abused_children', 'count', w.abused, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended,
                           jsonb_build_object('sex', b.by_sex, 'age_group', b.by_age,
                                              'concern', b.by_concern)),
            indicator_item('cases_opened', 'count', w.opened, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('cases_closed', 'count', w.closed, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('cases_open', 'count', w.open, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('emergency_cases', 'count', w.emergency, NULL, NULL, NULL, NULL,
                           p.elapsed, p.length, p.ended, NULL),
            indicator_item('emergency_deadline_met_rate', 'per_mille', w.emergency_met,
                           w.emergency_decided, NULL, NULL, NULL, p.elapsed, p.length, p.ended,
                           NULL),
            indicator_item('plan_on_time_rate', 'per_mille', w.plan_met, w.plan_decided,
                           NULL, NULL, NULL, p.elapsed, p.length, p.ended, NULL)) AS items
          FROM wide w
          JOIN periods p ON p.key = w.key
          JOIN breakdowns b ON b.key = w.key AND b.unit_id = w.unit_id
    ), compared AS MATERIALIZED (
        SELECT f.*, k.computed_at AS latest_at,
               s.items IS NULL OR s.items <> f.items OR s.starts_on <> f.starts_on
                 OR s.ends_on <> f.ends_on AS changed
          FROM fresh f
          LEFT JOIN indicator_checks k ON k.unit_id = f.unit_id AND k.period = f.period
          LEFT JOIN indicator_snapshots s
                 ON s.unit_id = k.unit_id AND s.period = k.period AND s.computed_at = k.computed_at
    ), written AS (
        INSERT INTO indicator_snapshots (unit_id, period, computed_at, starts_on, ends_on, items)
        SELECT c.unit_id, c.period, now, c.starts_on, c.ends_on, c.items
          FROM compared c WHERE c.changed
        -- The same "now" twice (a fixed BAOVE_NOW): the newer figures win.
        ON CONFLICT (unit_id, period, computed_at) DO UPDATE
           SET starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, items = EXCLUDED.items
        RETURNING 1
    ), checked AS (
        -- The foreign key to the snapshot is checked at the end of the
        -- statement, once `written` has inserted it.
        INSERT INTO indicator_checks (unit_id, period, computed_at, checked_at)
        SELECT c.unit_id, c.period, CASE WHEN c.changed THEN now ELSE c.latest_at END, now
          FROM compared c
        ON CONFLICT (unit_id, period) DO UPDATE
           SET computed_at = EXCLUDED.computed_at, checked_at = EXCLUDED.checked_at
        RETURNING 1
    )
    SELECT jsonb_build_object('units', (SELECT count(DISTINCT c.unit_id) FROM compared c),
                              'periods', (SELECT count(DISTINCT c.period) FROM compared c),
                              'snapshots_written', (SELECT count(*) FROM written),
                              'checked', (SELECT count(*) FROM checked))
      INTO summary;
    RETURN summary;
END
$$;

-- The latest snapshot of a unit and period exactly as GET /v1/indicators
-- shows it, or NULL when there is none yet: what a submitted report freezes.
CREATE FUNCTION indicator_snapshot(unit_id bigint, period text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT jsonb_build_object(
        'unit', u.code, 'period', s.period, 'starts_on', s.starts_on, 'ends_on', s.ends_on,
        'computed_at', rfc3339(s.computed_at), 'checked_at', rfc3339(k.checked_at),
        'items', s.items)
      FROM indicator_checks k
      JOIN indicator_snapshots s
        ON s.unit_id = k.unit_id AND s.period = k.period AND s.computed_at = k.computed_at
      JOIN units u ON u.id = k.unit_id
     WHERE k.unit_id = indicator_snapshot.unit_id AND k.period = indicator_snapshot.period
    $$;

-- Any write to the registry or the cases appends to change_log: wake the
-- workers, which debounce these into a rollup.  Once per statement, not per
-- row (a demo batch inserts hundreds of thousands).
CREATE FUNCTION indicators_notify_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('baove_worker', 'changed');
    RETURN NULL;
END
$$;
CREATE TRIGGER change_log_wakes_workers AFTER INSERT ON change_log
    FOR EACH STATEMENT EXECUTE FUNCTION indicators_notify_change();

-- The worker rolls up every 10 minutes (and after writes, debounced, under
-- the same unique key, so the two never queue twice).
INSERT INTO schedules (name, job_kind, every) VALUES
    ('rollup_indicators', 'rollup_indicators', interval '10 minutes');

GRANT SELECT ON indicator_snapshots, indicator_checks TO baove_app;
GRANT EXECUTE ON FUNCTION rollup_indicators(jsonb, timestamptz),
                          indicator_snapshot(bigint, text), indicator_periods()
    TO baove_app;
REVOKE EXECUTE ON FUNCTION rollup_indicators(jsonb, timestamptz) FROM PUBLIC;
