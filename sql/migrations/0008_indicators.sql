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
--   fund_target_vnd     the fund's mobilisation target of the plan year
--                       (fund_targets) in the unit's own books and those of the
--                       units below it (a district has books of its own).
--   fund_pledged_vnd    pledges of the year made by the period end and not
--                       cancelled by then; fund_raised_vnd: payments of the
--                       year received by then (fund_unit_figures(), the fund's
--                       own definition: cash and valued goods).  Year to date
--                       at the period end, whatever the period's start.
--   fund_raised_rate    fund_raised_vnd / fund_target_vnd.  Both have the
--                       target as theirs (>= 100 %) when it is not 0; their
--                       status is measured over the plan year (the target is
--                       a year's): on_track pro rata of the year's days up to
--                       the period end (or the rollup's day), met / not_met
--                       once the year has ended.
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
-- emergency_deadlines_met, plan_deadlines_decided, plan_deadlines_met,
-- fund_target_vnd, fund_pledged_vnd, fund_raised_vnd.
-- only_unit / only_period (NULL: all) restrict the output; `now` decides
-- which deadlines are still pending.  One pass per table, grouped by the
-- record's unit, then one join with the tree.
CREATE FUNCTION indicator_figures(only_unit bigint, only_period text, now timestamptz)
    RETURNS TABLE (period text, unit_id bigint, figure text, amount bigint)
    LANGUAGE sql STABLE
    AS $$
    WITH periods AS MATERIALIZED (
        SELECT p.key, p.year, p.starts_on, p.ends_on,
               (p.ends_on - interval '16 years')::date AS born_by
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
    ), fund AS (
        -- The fund's own books of each unit (a district has its own too),
        -- for the plan year up to the period end.
        SELECT p.key, f.unit_id, x.figure, x.amount
          FROM periods p
         CROSS JOIN LATERAL fund_unit_figures(p.year, p.ends_on) f
         CROSS JOIN LATERAL (VALUES ('fund_target_vnd', f.target_vnd),
                                    ('fund_pledged_vnd', f.pledged_vnd),
                                    ('fund_raised_vnd', f.raised_vnd)) x (figure, amount)
         WHERE only_unit IS NULL OR f.unit_id IN (SELECT l.unit_id FROM leaves l)
    ), leaf_figures AS (
        SELECT * FROM children_counted
        UNION ALL SELECT * FROM csc_counted
        UNION ALL SELECT * FROM at_risk
        UNION ALL SELECT * FROM case_counted
        UNION ALL SELECT * FROM deadline_counted
        UNION ALL SELECT * FROM abuse_counted
        UNION ALL SELECT * FROM fund
    )
    SELECT f.key, t.ancestor_id, f.figure, sum(f.amount)::bigint
      FROM leaf_figures f JOIN tree t ON t.key = f.key AND t.unit_id = f.unit_id
     WHERE f.amount <> 0
     GROUP BY f.key, t.ancestor_id, f.figure
    $$;

-- The status of a figure against its target (see the header), decided
-- exactly by cross-multiplying (numeric: no overflow).  `elapsed` of the
-- period's `length` days have passed on the rollup's day; `ended` when the
-- period ended before it.  One expression: the planner inlines it.
CREATE FUNCTION indicator_status(numerator bigint, denominator bigint, comparator text,
                                 target_numerator bigint, target_denominator bigint,
                                 elapsed integer, length integer, ended boolean)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN comparator IS NULL THEN NULL
        WHEN denominator = 0 THEN 'no_data'
        -- A ceiling, or any target once the period has ended: compare now.
        WHEN ended OR comparator IN ('lt', 'le') THEN
             CASE WHEN CASE comparator
                      WHEN 'lt' THEN numerator::numeric * target_denominator
                                     < target_numerator::numeric * denominator
                      WHEN 'le' THEN numerator::numeric * target_denominator
                                     <= target_numerator::numeric * denominator
                      WHEN 'ge' THEN numerator::numeric * target_denominator
                                     >= target_numerator::numeric * denominator
                      ELSE numerator::numeric * target_denominator
                           > target_numerator::numeric * denominator END
                  THEN CASE WHEN ended THEN 'met' ELSE 'on_track' END
                  ELSE 'not_met' END
        -- A floor while the period runs: against the target pro rata.
        WHEN CASE comparator
                 WHEN 'ge' THEN numerator::numeric * target_denominator * length
                                >= target_numerator::numeric * denominator * elapsed
                 ELSE numerator::numeric * target_denominator * length
                      > target_numerator::numeric * denominator * elapsed END
             THEN 'on_track'
        ELSE 'not_met' END
    $$;

-- The order of the figures in indicator_snapshots.figures.
CREATE FUNCTION indicator_figure_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['children_total', 'csc_total', 'csc_supported', 'at_risk_total',
                       'abused_children', 'cases_opened', 'cases_closed', 'cases_open',
                       'emergency_cases', 'emergency_deadlines_met',
                       'emergency_deadlines_decided', 'plan_deadlines_met',
                       'plan_deadlines_decided', 'fund_target_vnd', 'fund_pledged_vnd',
                       'fund_raised_vnd'] $$;

-- Snapshots: insert-only history, one row per (unit, period) each time its
-- figures, statuses, targets or the period's dates differ from the latest.
-- Compact on purpose (a rollup writes 40 000 of them on a large registry):
-- the figures as an array in the order of indicator_figure_names(), the
-- breakdowns sparse ({"csc_group:a": 3, "abused_sex:male": 1, …}, zeros
-- left out), the status of each item in the order of GET /v1/indicators,
-- and the targets of the period's plan year.  indicator_document() turns a
-- row into what GET /v1/indicators shows.
CREATE TABLE indicator_snapshots (
    unit_id     bigint NOT NULL REFERENCES units (id),
    period      text NOT NULL,
    computed_at timestamptz NOT NULL,  -- the rollup that found these figures
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    figures     bigint[] NOT NULL,
    breakdown   jsonb NOT NULL CHECK (jsonb_typeof(breakdown) = 'object'),
    statuses    text[] NOT NULL,
    targets     jsonb NOT NULL CHECK (jsonb_typeof(targets) = 'object'),
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

-- One item of GET /v1/indicators.  scale: 'count' (value = numerator,
-- denominator null), 'per_mille' (value = round half up of 1000 *
-- numerator / denominator, null when the denominator is 0).  target:
-- {comparator, numerator, denominator} or null; its value is put on the
-- indicator's scale.
CREATE FUNCTION indicator_item(code text, scale text, numerator bigint, denominator bigint,
                               target jsonb, status text, breakdown jsonb)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object(
        'code', code, 'scale', scale, 'numerator', numerator, 'denominator', denominator,
        'value', CASE WHEN scale <> 'per_mille' THEN numerator
                      WHEN denominator > 0 THEN (2000 * numerator + denominator) / (2 * denominator)
                 END,
        'target', CASE WHEN target IS NOT NULL THEN target || jsonb_build_object(
                      'value', CASE WHEN scale = 'per_mille'
                                    THEN (2000 * (target ->> 'numerator')::bigint
                                          + (target ->> 'denominator')::bigint)
                                         / (2 * (target ->> 'denominator')::bigint)
                                    ELSE (target ->> 'numerator')::bigint
                                         / (target ->> 'denominator')::bigint END) END,
        'status', status)
        || CASE WHEN breakdown IS NOT NULL THEN jsonb_build_object('breakdown', breakdown)
                ELSE '{}'::jsonb END
    $$;

-- Every key of a breakdown, zeros included, from a sparse breakdown.
CREATE FUNCTION indicator_breakdown(sparse jsonb, prefix text, keys text[])
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(jsonb_object_agg(k.key, coalesce((sparse ->> (prefix || k.key))::bigint, 0)),
                    '{}')
      FROM unnest(keys) k (key)
    $$;

-- A snapshot as GET /v1/indicators shows it: the items in a fixed order.
CREATE FUNCTION indicator_document(snapshot indicator_snapshots, checked_at timestamptz)
    RETURNS jsonb LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'unit', (SELECT u.code FROM units u WHERE u.id = snapshot.unit_id),
        'period', snapshot.period, 'starts_on', snapshot.starts_on,
        'ends_on', snapshot.ends_on, 'computed_at', rfc3339(snapshot.computed_at),
        'checked_at', rfc3339(checked_at),
        'items', jsonb_build_array(
            indicator_item('children_total', 'count', f[1], NULL, NULL, s[1], NULL),
            indicator_item('csc_total', 'count', f[2], NULL, NULL, s[2],
                           jsonb_build_object('group', indicator_breakdown(
                               snapshot.breakdown, 'csc_group:',
                               ARRAY(SELECT g.key FROM circumstance_groups g
                                      ORDER BY g.position)))),
            indicator_item('csc_rate', 'per_mille', f[2], f[1], t -> 'csc_rate', s[3], NULL),
            indicator_item('csc_supported', 'count', f[3], NULL, NULL, s[4], NULL),
            indicator_item('csc_supported_rate', 'per_mille', f[3], f[2],
                           t -> 'csc_supported_rate', s[5], NULL),
            indicator_item('at_risk_total', 'count', f[4], NULL, NULL, s[6], NULL),
            indicator_item('abused_children', 'count', f[5], NULL, NULL, s[7],
                           jsonb_build_object(
                               'sex', indicator_breakdown(snapshot.breakdown, 'abused_sex:',
                                                          ARRAY['male', 'female']),
                               'age_group', indicator_breakdown(snapshot.breakdown, 'abused_age:',
                                                                ARRAY['0_5', '6_10', '11_15']),
                               'concern', indicator_breakdown(snapshot.breakdown,
                                                              'abused_concern:',
                                                              ARRAY['violence', 'sexual_abuse',
                                                                    'exploitation', 'trafficking',
                                                                    'neglect', 'abandonment']))),
            indicator_item('cases_opened', 'count', f[6], NULL, NULL, s[8], NULL),
            indicator_item('cases_closed', 'count', f[7], NULL, NULL, s[9], NULL),
            indicator_item('cases_open', 'count', f[8], NULL, NULL, s[10], NULL),
            indicator_item('emergency_cases', 'count', f[9], NULL, NULL, s[11], NULL),
            indicator_item('emergency_deadline_met_rate', 'per_mille', f[10], f[11], NULL, s[12],
                           NULL),
            indicator_item('plan_on_time_rate', 'per_mille', f[12], f[13], NULL, s[13], NULL),
            indicator_item('fund_target_vnd', 'vnd', f[14], NULL, NULL, s[14], NULL),
            indicator_item('fund_pledged_vnd', 'vnd', f[15], NULL, NULL, s[15], NULL),
            indicator_item('fund_raised_vnd', 'vnd', f[16], NULL,
                           CASE WHEN f[14] > 0 THEN jsonb_build_object(
                               'comparator', 'ge', 'numerator', f[14], 'denominator', 1) END,
                           s[16], NULL),
            indicator_item('fund_raised_rate', 'per_mille', f[16], f[14],
                           CASE WHEN f[14] > 0 THEN jsonb_build_object(
                               'comparator', 'ge', 'numerator', 1, 'denominator', 1) END,
                           s[17], NULL)))
      FROM (SELECT snapshot.figures AS f, snapshot.statuses AS s, snapshot.targets AS t) x
    $$;

-- The job: recomputes every unit and period (payload {}), or one unit and
-- period ({"unit": "<code>", "period": "<key>"}, the unit valid at the
-- period end), and writes what changed.  Serialised by a transaction lock,
-- so two workers running it at once write one after the other.  Returns
-- {units, periods, snapshots_written, checked}.  `now` is the worker's clock.
-- No JSON is built here (only compact rows): 40 000 documents would cost
-- about as much as the figures themselves.
CREATE FUNCTION rollup_indicators(payload jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    -- The planner's estimates of this statement are far too high (it cannot
    -- see through the period joins), which switches JIT compilation on: 3 s
    -- of compiling for a statement that runs in a few.
    SET jit = off
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
        SELECT p.key, t.ancestor_id AS unit_id
          FROM periods p CROSS JOIN LATERAL indicator_unit_tree(p.ends_on) t
         WHERE t.ancestor_id = t.unit_id AND (only_unit IS NULL OR t.unit_id = only_unit)
    ), figures AS MATERIALIZED (
        SELECT f.period, f.unit_id, f.figure, f.amount,
               array_position(indicator_figure_names(), f.figure) AS position
          FROM indicator_figures(only_unit, only_period, now) f
    ), wide AS (
        -- The figures of each unit that has any, dense (positions of
        -- indicator_figure_names()); the breakdowns sparse.
        SELECT f.period, f.unit_id,
               ARRAY[
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 1), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 2), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 3), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 4), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 5), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 6), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 7), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 8), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 9), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 10), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 11), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 12), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 13), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 14), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 15), 0)::bigint,
                     coalesce(sum(f.amount) FILTER (WHERE f.position = 16), 0)::bigint] AS figures,
               coalesce(jsonb_object_agg(f.figure, f.amount) FILTER (WHERE f.position IS NULL),
                        '{}') AS breakdown
          FROM figures f GROUP BY f.period, f.unit_id
    ), fresh AS MATERIALIZED (
        SELECT u.unit_id, p.key AS period, p.starts_on, p.ends_on, x.figures,
               coalesce(w.breakdown, '{}') AS breakdown, p.targets,
               ARRAY[NULL, NULL,
                     indicator_status(x.figures[2], x.figures[1], p.csc_comparator,
                                      p.csc_numerator, p.csc_denominator, p.elapsed, p.length,
                                      p.ended),
                     NULL,
                     indicator_status(x.figures[3], x.figures[2], p.supported_comparator,
                                      p.supported_numerator, p.supported_denominator,
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
          LEFT JOIN wide w ON w.period = u.key AND w.unit_id = u.unit_id
         CROSS JOIN LATERAL (SELECT coalesce(w.figures, array_fill(0::bigint, ARRAY[16]))
                               AS figures) x
    ), compared AS MATERIALIZED (
        SELECT f.*, k.computed_at AS latest_at,
               s.figures IS NULL OR s.figures <> f.figures OR s.breakdown <> f.breakdown
                 OR s.statuses IS DISTINCT FROM f.statuses OR s.targets <> f.targets
                 OR s.starts_on <> f.starts_on OR s.ends_on <> f.ends_on AS changed
          FROM fresh f
          LEFT JOIN indicator_checks k ON k.unit_id = f.unit_id AND k.period = f.period
          LEFT JOIN indicator_snapshots s
                 ON s.unit_id = k.unit_id AND s.period = k.period AND s.computed_at = k.computed_at
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
    SELECT indicator_document(s, k.checked_at)
      FROM indicator_checks k
      JOIN indicator_snapshots s
        ON s.unit_id = k.unit_id AND s.period = k.period AND s.computed_at = k.computed_at
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
                          indicator_snapshot(bigint, text), indicator_periods(),
                          indicator_document(indicator_snapshots, timestamptz)
    TO baove_app;
REVOKE EXECUTE ON FUNCTION rollup_indicators(jsonb, timestamptz) FROM PUBLIC;
