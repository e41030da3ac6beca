-- Rolled-up raw figures of every unit that has any: the dense figures in the
-- order of indicator_figure_names() and the sparse breakdown ({"csc_group:a":
-- 3, "abused_sex:male": 1, …}, zeros left out).  Figure names:
-- children_total, csc_total, csc_supported, csc_group:<key>, at_risk_total,
-- abused_children, abused_sex:<sex>, abused_age:<0_5|6_10|11_15>,
-- abused_concern:<concern>, cases_opened, cases_closed, cases_open,
-- emergency_cases, emergency_deadlines_decided, emergency_deadlines_met,
-- plan_deadlines_decided, plan_deadlines_met, fund_target_vnd,
-- fund_pledged_vnd, fund_raised_vnd.
-- Records count in the unit they belonged to at the period's end
-- (record_unit_on): a period keeps its figures after `units apply` moved
-- them to a reorganisation's successors.
-- only_unit / only_period (NULL: all) restrict the output; `now` decides
-- which deadlines are still pending.
-- Shape (0011, wide; 0008's was long, one row per figure): each pass over a
-- table yields one row per (period, unit of the record) with its own
-- columns, the passes are stacked (UNION ALL, the other columns NULL) and
-- summed up the tree column by column, one join and one hash aggregate for
-- all of them.  Only the breakdowns (a few rows per unit) are rolled up
-- long.  See bench/README.md, "The indicator rollup".
CREATE OR REPLACE FUNCTION indicator_figures(only_unit bigint, only_period text, now timestamptz)
    RETURNS TABLE (period text, unit_id bigint, figures bigint[], breakdown jsonb)
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
    ), moved AS MATERIALIZED (
        -- Records that moved after a reorganisation: their unit at a
        -- period's end (record_unit_on) may be outside today's leaves.
        SELECT DISTINCT m.record_id FROM record_unit_moves m
    ), moved_unit AS MATERIALIZED (
        -- A moved record's unit at each period's end: the unit it left by
        -- its first move after that end (record_unit_on, as a join; called
        -- once per record and period it took nine tenths of a rollup).
        -- Records missing here are counted in their current unit.
        SELECT DISTINCT ON (p.key, m.record_id) p.key, m.record_id, m.from_unit_id AS unit_id
          FROM record_unit_moves m JOIN periods p ON m.effective_on > p.ends_on
         ORDER BY p.key, m.record_id, m.effective_on
    ), children_counted AS (
        SELECT p.key, coalesce(mu.unit_id, c.unit_id) AS unit_id, count(*) AS children_total
          FROM children c JOIN periods p
            ON c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = c.id
         WHERE c.deleted_at IS NULL
           AND (only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l) OR c.id IN (SELECT m.record_id FROM moved m))
         GROUP BY 1, 2
    ), csc AS MATERIALIZED (
        SELECT p.key, coalesce(mu.unit_id, c.unit_id) AS unit_id, c.id AS child_id,
               array_agg(DISTINCT cc."group") AS groups,
               EXISTS (SELECT 1 FROM child_supports s
                        WHERE s.child_id = c.id
                          AND s.provided_on BETWEEN p.starts_on AND p.ends_on) AS supported
          FROM child_circumstances cc
          JOIN periods p ON cc.since <= p.ends_on AND (cc.until IS NULL OR cc.until >= p.ends_on)
          JOIN children c ON c.id = cc.child_id AND c.deleted_at IS NULL
                         AND c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = c.id
         WHERE only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l)
            OR c.id IN (SELECT m.record_id FROM moved m)
         GROUP BY p.key, p.starts_on, p.ends_on, 2, c.id
    ), csc_counted AS (
        SELECT key, unit_id, count(*) AS csc_total,
               count(*) FILTER (WHERE supported) AS csc_supported
          FROM csc GROUP BY key, unit_id
    ), at_risk AS (
        SELECT p.key, coalesce(mu.unit_id, c.unit_id) AS unit_id,
               count(DISTINCT c.id) AS at_risk_total
          FROM child_risks r
          JOIN periods p ON r.since <= p.ends_on AND (r.until IS NULL OR r.until >= p.ends_on)
          JOIN children c ON c.id = r.child_id AND c.deleted_at IS NULL
                         AND c.registered_on <= p.ends_on AND c.date_of_birth > p.born_by
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = c.id
         WHERE only_unit IS NULL OR c.unit_id IN (SELECT l.unit_id FROM leaves l)
            OR c.id IN (SELECT m.record_id FROM moved m)
         GROUP BY 1, 2
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
            OR k.id IN (SELECT m.record_id FROM moved m)
    ), case_counted AS (
        SELECT p.key, coalesce(mu.unit_id, k.unit_id) AS unit_id,
               count(*) FILTER (WHERE k.received_on >= p.starts_on) AS cases_opened,
               count(*) FILTER (WHERE k.closed_on BETWEEN p.starts_on AND p.ends_on)
                 AS cases_closed,
               count(*) FILTER (WHERE k.closed_on IS NULL OR k.closed_on > p.ends_on)
                 AS cases_open,
               count(*) FILTER (WHERE k.received_on >= p.starts_on AND k.serious)
                 AS emergency_cases
          FROM case_facts k JOIN periods p ON k.received_on <= p.ends_on
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = k.id
         GROUP BY 1, 2
    ), deadline_counted AS (
        SELECT p.key, coalesce(mu.unit_id, k.unit_id) AS unit_id,
               count(*) FILTER (WHERE d.kind = 'emergency'
                                  AND deadline_state(d.due_at, d.met_at, now) = 'met')
                 AS emergency_met,
               count(*) FILTER (WHERE d.kind = 'emergency'
                                  AND deadline_state(d.due_at, d.met_at, now) <> 'pending')
                 AS emergency_decided,
               count(*) FILTER (WHERE d.kind = 'plan_submission'
                                  AND deadline_state(d.due_at, d.met_at, now) = 'met')
                 AS plan_met,
               count(*) FILTER (WHERE d.kind = 'plan_submission'
                                  AND deadline_state(d.due_at, d.met_at, now) <> 'pending')
                 AS plan_decided
          FROM case_deadlines d
          JOIN case_facts k ON k.id = d.case_id
          JOIN periods p ON (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                            BETWEEN p.starts_on AND p.ends_on
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = k.id
         WHERE d.kind IN ('emergency', 'plan_submission')
         GROUP BY 1, 2
    ), abuse_cases AS MATERIALIZED (
        SELECT p.key, k.id, coalesce(mu.unit_id, k.unit_id) AS unit_id, k.child_id,
               k.received_at, k.sex,
               extract(year FROM age(k.received_on, k.date_of_birth))::integer AS age,
               k.concerns
          FROM case_facts k JOIN periods p ON k.received_on BETWEEN p.starts_on AND p.ends_on
          LEFT JOIN moved_unit mu ON mu.key = p.key AND mu.record_id = k.id
         WHERE k.concerns && ARRAY['violence', 'sexual_abuse', 'exploitation', 'trafficking',
                                   'neglect', 'abandonment']
           AND k.date_of_birth > (k.received_on - interval '16 years')::date
    ), abused AS MATERIALIZED (
        SELECT DISTINCT ON (a.key, a.child_id) a.key, a.child_id, a.unit_id, a.sex, a.age
          FROM abuse_cases a ORDER BY a.key, a.child_id, a.received_at, a.id
    ), abused_counted AS (
        SELECT a.key, a.unit_id, count(*) AS abused_children FROM abused a GROUP BY a.key, a.unit_id
    ), fund AS (
        -- The fund's own books of each unit (a district has its own too),
        -- for the plan year up to the period end.  Books are kept by the
        -- unit that kept them, not moved (units_apply): those of a unit that
        -- ended before the period's end (a reorganisation within the year)
        -- count for its whole successor, or for the successors' parent when
        -- it was split (money cannot be divided by hamlet), or the year's
        -- figures would lose what it raised before it ended.
        SELECT p.key, coalesce(m.unit_id, f.unit_id) AS unit_id, f.target_vnd, f.pledged_vnd,
               f.raised_vnd
          FROM periods p
         CROSS JOIN LATERAL fund_unit_figures(p.year, p.ends_on) f
          LEFT JOIN LATERAL (
               SELECT coalesce(min(s.successor_id) FILTER (WHERE s.kind = 'whole'),
                               (SELECT u.parent_id FROM units u
                                 WHERE u.id = min(s.successor_id))) AS unit_id
                 FROM unit_successions s
                WHERE s.predecessor_id = f.unit_id AND s.effective_on <= p.ends_on
               HAVING count(*) > 0) m ON true
         WHERE only_unit IS NULL
            OR coalesce(m.unit_id, f.unit_id) IN (SELECT l.unit_id FROM leaves l)
    ), leaf_figures (key, unit_id, children_total, csc_total, csc_supported, at_risk_total,
                     abused_children, cases_opened, cases_closed, cases_open, emergency_cases,
                     emergency_met, emergency_decided, plan_met, plan_decided, fund_target_vnd,
                     fund_pledged_vnd, fund_raised_vnd) AS (
        SELECT key, unit_id, children_total, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint
          FROM children_counted
        UNION ALL
        SELECT key, unit_id, NULL, csc_total, csc_supported, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM csc_counted
        UNION ALL
        SELECT key, unit_id, NULL, NULL, NULL, at_risk_total, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM at_risk
        UNION ALL
        SELECT key, unit_id, NULL, NULL, NULL, NULL, abused_children, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM abused_counted
        UNION ALL
        SELECT key, unit_id, NULL, NULL, NULL, NULL, NULL, cases_opened, cases_closed,
               cases_open, emergency_cases, NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM case_counted
        UNION ALL
        SELECT key, unit_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               emergency_met, emergency_decided, plan_met, plan_decided, NULL, NULL, NULL
          FROM deadline_counted
        UNION ALL
        SELECT key, unit_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, target_vnd, pledged_vnd, raised_vnd
          FROM fund
    ), rolled AS (
        SELECT f.key, t.ancestor_id,
               ARRAY[coalesce(sum(f.children_total), 0), coalesce(sum(f.csc_total), 0),
                     coalesce(sum(f.csc_supported), 0), coalesce(sum(f.at_risk_total), 0),
                     coalesce(sum(f.abused_children), 0), coalesce(sum(f.cases_opened), 0),
                     coalesce(sum(f.cases_closed), 0), coalesce(sum(f.cases_open), 0),
                     coalesce(sum(f.emergency_cases), 0), coalesce(sum(f.emergency_met), 0),
                     coalesce(sum(f.emergency_decided), 0), coalesce(sum(f.plan_met), 0),
                     coalesce(sum(f.plan_decided), 0), coalesce(sum(f.fund_target_vnd), 0),
                     coalesce(sum(f.fund_pledged_vnd), 0), coalesce(sum(f.fund_raised_vnd), 0)
                    ]::bigint[] AS figures
          FROM leaf_figures f JOIN tree t ON t.key = f.key AND t.unit_id = f.unit_id
         GROUP BY f.key, t.ancestor_id
    ), leaf_breakdown AS (
        SELECT csc.key, csc.unit_id, 'csc_group:' || g.key AS figure, count(*) AS amount
          FROM csc CROSS JOIN LATERAL unnest(csc.groups) g (key)
         GROUP BY csc.key, csc.unit_id, g.key
        UNION ALL
        SELECT a.key, a.unit_id, f.figure, count(*)
          FROM abused a
         CROSS JOIN LATERAL (VALUES ('abused_sex:' || a.sex),
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
    ), breakdown_rolled AS (
        SELECT x.key, x.ancestor_id, jsonb_object_agg(x.figure, x.amount) AS breakdown
          FROM (SELECT f.key, t.ancestor_id, f.figure, sum(f.amount)::bigint AS amount
                  FROM leaf_breakdown f JOIN tree t ON t.key = f.key AND t.unit_id = f.unit_id
                 GROUP BY f.key, t.ancestor_id, f.figure) x
         GROUP BY x.key, x.ancestor_id
    )
    SELECT r.key, r.ancestor_id, r.figures, coalesce(b.breakdown, '{}')
      FROM rolled r
      LEFT JOIN breakdown_rolled b ON b.key = r.key AND b.ancestor_id = r.ancestor_id
    $$;
