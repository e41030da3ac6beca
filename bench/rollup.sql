-- The yardstick of bench/rollup.sh: one hand-written SELECT computing the
-- same figures as rollup_indicators() (migration 0008) for every unit and
-- period, with none of its bookkeeping: no JSON items, no targets or
-- statuses, no comparison with the latest snapshots, nothing written.  One
-- wide row per (period, unit), summed up the tree of units valid at each
-- period's end; the outer SELECT folds them into totals so that psql does
-- not pay for printing 40 000 rows, and so that the rollup's snapshots can be
-- checked against the same totals.  :'now' is the rollup's "now".
WITH RECURSIVE periods AS MATERIALIZED (
    SELECT p.year::text AS key, p.year, make_date(p.year, 1, 1) AS starts_on,
           make_date(p.year, 12, 31) AS ends_on FROM plans p
    UNION ALL
    SELECT p.year::text || 'S1', p.year, make_date(p.year, 1, 1), make_date(p.year, 6, 30)
      FROM plans p
    UNION ALL
    (SELECT DISTINCT ON (r.covers_to) to_char(r.covers_to, 'YYYY-MM-DD'), r.year, r.covers_from,
            r.covers_to FROM report_periods r ORDER BY r.covers_to, r.covers_from)
), valid AS MATERIALIZED (
    SELECT p.key, u.id, u.parent_id FROM periods p JOIN units u
      ON u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
), tree AS (
    SELECT v.key, v.id AS ancestor_id, v.id AS unit_id FROM valid v
    UNION ALL
    SELECT t.key, t.ancestor_id, v.id FROM tree t
      JOIN valid v ON v.key = t.key AND v.parent_id = t.unit_id
), children_counts AS (
    -- One pass over the children per period end.
    SELECT p.key, c.unit_id, count(*) AS children_total
      FROM children c JOIN periods p
        ON c.registered_on <= p.ends_on AND c.date_of_birth > (p.ends_on - interval '16 years')::date
     WHERE c.deleted_at IS NULL
     GROUP BY p.key, c.unit_id
), csc AS (
    -- Children in special circumstances at each period end, with their
    -- groups and whether they were supported in the period.
    SELECT p.key, c.unit_id, c.id, array_agg(DISTINCT cc."group") AS groups,
           EXISTS (SELECT 1 FROM child_supports s WHERE s.child_id = c.id
                      AND s.provided_on BETWEEN p.starts_on AND p.ends_on) AS supported
      FROM child_circumstances cc
      JOIN periods p ON cc.since <= p.ends_on AND (cc.until IS NULL OR cc.until >= p.ends_on)
      JOIN children c ON c.id = cc.child_id AND c.deleted_at IS NULL
                     AND c.registered_on <= p.ends_on
                     AND c.date_of_birth > (p.ends_on - interval '16 years')::date
     GROUP BY p.key, p.starts_on, p.ends_on, c.unit_id, c.id
), csc_counts AS (
    SELECT key, unit_id, count(*) AS csc_total, count(*) FILTER (WHERE supported) AS csc_supported,
           sum(cardinality(groups)) AS group_memberships
      FROM csc GROUP BY key, unit_id
), risk_counts AS (
    SELECT p.key, c.unit_id, count(DISTINCT c.id) AS at_risk_total
      FROM child_risks r JOIN periods p
        ON r.since <= p.ends_on AND (r.until IS NULL OR r.until >= p.ends_on)
      JOIN children c ON c.id = r.child_id AND c.deleted_at IS NULL
                     AND c.registered_on <= p.ends_on
                     AND c.date_of_birth > (p.ends_on - interval '16 years')::date
     GROUP BY p.key, c.unit_id
), case_rows AS (
    SELECT k.id, k.unit_id, k.child_id, k.received_at, k.concerns, ch.sex, ch.date_of_birth,
           coalesce(k.serious_risk, false) AS serious,
           (k.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
           CASE WHEN k.status = 'closed'
                THEN (SELECT (max(h.at) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                        FROM case_history h WHERE h.case_id = k.id AND h.to_status = 'closed')
           END AS closed_on
      FROM cases k JOIN children ch ON ch.id = k.child_id AND ch.deleted_at IS NULL
), case_counts AS (
    SELECT p.key, k.unit_id,
           count(*) FILTER (WHERE k.received_on >= p.starts_on) AS cases_opened,
           count(*) FILTER (WHERE k.closed_on BETWEEN p.starts_on AND p.ends_on) AS cases_closed,
           count(*) FILTER (WHERE k.closed_on IS NULL OR k.closed_on > p.ends_on) AS cases_open,
           count(*) FILTER (WHERE k.received_on >= p.starts_on AND k.serious) AS emergency_cases,
           sum((SELECT count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, :'now') <> 'pending')
                  FROM case_deadlines d WHERE d.case_id = k.id AND d.kind = 'emergency'
                   AND (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       BETWEEN p.starts_on AND p.ends_on)) AS emergency_decided,
           sum((SELECT count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, :'now') = 'met')
                  FROM case_deadlines d WHERE d.case_id = k.id AND d.kind = 'emergency'
                   AND (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       BETWEEN p.starts_on AND p.ends_on)) AS emergency_met,
           sum((SELECT count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, :'now') <> 'pending')
                  FROM case_deadlines d WHERE d.case_id = k.id AND d.kind = 'plan_submission'
                   AND (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       BETWEEN p.starts_on AND p.ends_on)) AS plan_decided,
           sum((SELECT count(*) FILTER (WHERE deadline_state(d.due_at, d.met_at, :'now') = 'met')
                  FROM case_deadlines d WHERE d.case_id = k.id AND d.kind = 'plan_submission'
                   AND (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       BETWEEN p.starts_on AND p.ends_on)) AS plan_met
      FROM case_rows k JOIN periods p ON k.received_on <= p.ends_on
     GROUP BY p.key, k.unit_id
), abused AS (
    SELECT DISTINCT ON (p.key, k.child_id) p.key, k.child_id, k.unit_id, k.sex,
           extract(year FROM age(k.received_on, k.date_of_birth)) AS age
      FROM case_rows k JOIN periods p ON k.received_on BETWEEN p.starts_on AND p.ends_on
     WHERE k.concerns && ARRAY['violence', 'sexual_abuse', 'exploitation', 'trafficking',
                               'neglect', 'abandonment']
       AND k.date_of_birth > (k.received_on - interval '16 years')::date
     ORDER BY p.key, k.child_id, k.received_at, k.id
), abuse_counts AS (
    SELECT a.key, a.unit_id, count(*) AS abused_children,
           count(*) FILTER (WHERE a.sex = 'male') AS abused_male,
           count(*) FILTER (WHERE a.age <= 5) AS abused_0_5,
           count(*) FILTER (WHERE a.age BETWEEN 6 AND 10) AS abused_6_10
      FROM abused a GROUP BY a.key, a.unit_id
), abuse_concerns AS (
    -- Each abuse concern of the child's cases of the period.
    SELECT a.key, a.unit_id,
           count(DISTINCT a.child_id) FILTER (WHERE 'violence' = ANY (k.concerns)) AS violence,
           count(DISTINCT a.child_id) FILTER (WHERE 'sexual_abuse' = ANY (k.concerns)) AS sexual_abuse,
           count(DISTINCT a.child_id) FILTER (WHERE 'exploitation' = ANY (k.concerns)) AS exploitation,
           count(DISTINCT a.child_id) FILTER (WHERE 'trafficking' = ANY (k.concerns)) AS trafficking,
           count(DISTINCT a.child_id) FILTER (WHERE 'neglect' = ANY (k.concerns)) AS neglect,
           count(DISTINCT a.child_id) FILTER (WHERE 'abandonment' = ANY (k.concerns)) AS abandonment
      FROM abused a JOIN periods p ON p.key = a.key
      JOIN case_rows k ON k.child_id = a.child_id
                      AND k.received_on BETWEEN p.starts_on AND p.ends_on
                      AND k.date_of_birth > (k.received_on - interval '16 years')::date
     GROUP BY a.key, a.unit_id
), leaves AS (
    SELECT key, unit_id, children_total, NULL::bigint AS csc_total, NULL::bigint AS csc_supported,
           NULL::bigint AS at_risk_total, NULL::bigint AS group_memberships,
           NULL::bigint AS cases_opened, NULL::bigint AS cases_closed, NULL::bigint AS cases_open,
           NULL::bigint AS emergency_cases, NULL::bigint AS emergency_decided,
           NULL::bigint AS emergency_met, NULL::bigint AS plan_decided, NULL::bigint AS plan_met,
           NULL::bigint AS abused_children, NULL::bigint AS abused_male,
           NULL::bigint AS abused_0_5, NULL::bigint AS abused_6_10, NULL::bigint AS abuse_concerns
      FROM children_counts
    UNION ALL
    SELECT key, unit_id, NULL, csc_total, csc_supported, NULL, group_memberships,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM csc_counts
    UNION ALL
    SELECT key, unit_id, NULL, NULL, NULL, at_risk_total, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM risk_counts
    UNION ALL
    SELECT key, unit_id, NULL, NULL, NULL, NULL, NULL, cases_opened, cases_closed, cases_open,
           emergency_cases, emergency_decided, emergency_met, plan_decided, plan_met,
           NULL, NULL, NULL, NULL, NULL
      FROM case_counts
    UNION ALL
    SELECT a.key, a.unit_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, a.abused_children, a.abused_male, a.abused_0_5, a.abused_6_10,
           ac.violence + ac.sexual_abuse + ac.exploitation + ac.trafficking + ac.neglect
           + ac.abandonment
      FROM abuse_counts a
      LEFT JOIN abuse_concerns ac ON ac.key = a.key AND ac.unit_id = a.unit_id
), fund_counts AS (
    -- Each unit's own books, the plan year to date at the period end.
    SELECT p.key, b.unit_id, sum(b.target) AS target, sum(b.pledged) AS pledged,
           sum(b.raised) AS raised
      FROM periods p
     CROSS JOIN LATERAL (
           SELECT t.unit_id, t.amount_vnd AS target, 0 AS pledged, 0 AS raised
             FROM fund_targets t WHERE t.year = p.year
           UNION ALL
           SELECT f.unit_id, 0, f.amount_vnd, 0 FROM fund_pledges f
            WHERE f.year = p.year AND f.pledged_on <= p.ends_on
              AND (f.cancelled_on IS NULL OR f.cancelled_on > p.ends_on)
           UNION ALL
           SELECT f.unit_id, 0, 0, f.amount_vnd FROM fund_payments f
            WHERE f.year = p.year AND f.received_on <= p.ends_on) b
     GROUP BY p.key, b.unit_id
), fund_rolled AS (
    SELECT t.key, t.ancestor_id, sum(f.target) AS target, sum(f.pledged) AS pledged,
           sum(f.raised) AS raised
      FROM tree t JOIN fund_counts f ON f.key = t.key AND f.unit_id = t.unit_id
     GROUP BY t.key, t.ancestor_id
), rolled AS (
    SELECT t.key, t.ancestor_id,
           coalesce(sum(l.children_total), 0) AS children_total,
           coalesce(sum(l.csc_total), 0) AS csc_total,
           coalesce(sum(l.csc_supported), 0) AS csc_supported,
           coalesce(sum(l.at_risk_total), 0) AS at_risk_total,
           coalesce(sum(l.group_memberships), 0) AS group_memberships,
           coalesce(sum(l.cases_opened), 0) AS cases_opened,
           coalesce(sum(l.cases_open), 0) AS cases_open,
           coalesce(sum(l.emergency_met), 0) AS emergency_met,
           coalesce(sum(l.plan_met), 0) AS plan_met,
           coalesce(sum(l.abused_children), 0) AS abused_children
      FROM tree t LEFT JOIN leaves l ON l.key = t.key AND l.unit_id = t.unit_id
     GROUP BY t.key, t.ancestor_id
)
SELECT count(*) AS snapshots, sum(children_total) AS children_total, sum(csc_total) AS csc_total,
       sum(csc_supported) AS csc_supported, sum(at_risk_total) AS at_risk_total,
       sum(group_memberships) AS group_memberships, sum(cases_opened) AS cases_opened,
       sum(cases_open) AS cases_open, sum(abused_children) AS abused_children,
       (SELECT sum(target) FROM fund_rolled) AS fund_target,
       (SELECT sum(raised) FROM fund_rolled) AS fund_raised
  FROM rolled;
