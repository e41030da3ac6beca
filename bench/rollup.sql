-- The yardstick of bench/rollup.sh: one hand-written SELECT computing the
-- same figures as rollup_indicators() (migration 0008) for every unit and
-- period, with none of its bookkeeping: no JSON items, no targets or
-- statuses, no comparison with the latest snapshots, nothing written.  One
-- wide row per (period, unit), summed up the tree of units valid at each
-- period's end; the outer SELECT folds them into totals so that psql does
-- not pay for printing 40 000 rows, and so that the rollup's snapshots can be
-- checked against the same totals.  :'now' is the rollup's "now".
WITH RECURSIVE periods AS MATERIALIZED (
    SELECT p.year::text AS key, make_date(p.year, 1, 1) AS starts_on,
           make_date(p.year, 12, 31) AS ends_on FROM plans p
    UNION ALL
    SELECT p.year::text || 'S1', make_date(p.year, 1, 1), make_date(p.year, 6, 30) FROM plans p
    UNION ALL
    (SELECT DISTINCT ON (r.covers_to) to_char(r.covers_to, 'YYYY-MM-DD'), r.covers_from,
            r.covers_to FROM report_periods r ORDER BY r.covers_to, r.covers_from)
), valid AS MATERIALIZED (
    SELECT p.key, u.id, u.parent_id FROM periods p JOIN units u
      ON u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
), tree AS (
    SELECT v.key, v.id AS ancestor_id, v.id AS unit_id FROM valid v
    UNION ALL
    SELECT t.key, t.ancestor_id, v.id FROM tree t
      JOIN valid v ON v.key = t.key AND v.parent_id = t.unit_id
), counted AS (
    -- Children at each period end, with their circumstances and risks.
    SELECT p.key, p.starts_on, p.ends_on, c.id, c.unit_id
      FROM children c JOIN periods p
        ON c.registered_on <= p.ends_on AND c.date_of_birth > (p.ends_on - interval '16 years')::date
     WHERE c.deleted_at IS NULL
), csc AS (
    SELECT p.key, cc.child_id, array_agg(DISTINCT cc."group") AS groups
      FROM child_circumstances cc JOIN periods p
        ON cc.since <= p.ends_on AND (cc.until IS NULL OR cc.until >= p.ends_on)
     GROUP BY p.key, cc.child_id
), supported AS (
    SELECT DISTINCT p.key, s.child_id FROM child_supports s
      JOIN periods p ON s.provided_on BETWEEN p.starts_on AND p.ends_on
), risky AS (
    SELECT DISTINCT p.key, r.child_id FROM child_risks r JOIN periods p
        ON r.since <= p.ends_on AND (r.until IS NULL OR r.until >= p.ends_on)
), registry AS (
    SELECT c.key, c.unit_id, count(*) AS children_total,
           count(csc.groups) AS csc_total,
           count(csc.groups) FILTER (WHERE s.child_id IS NOT NULL) AS csc_supported,
           count(r.child_id) AS at_risk_total,
           count(*) FILTER (WHERE 'a' = ANY (csc.groups)) AS group_a,
           count(*) FILTER (WHERE 'b' = ANY (csc.groups)) AS group_b,
           count(*) FILTER (WHERE 'c' = ANY (csc.groups)) AS group_c,
           count(*) FILTER (WHERE 'd' = ANY (csc.groups)) AS group_d,
           count(*) FILTER (WHERE 'đ' = ANY (csc.groups)) AS group_dd,
           count(*) FILTER (WHERE 'e' = ANY (csc.groups)) AS group_e,
           count(*) FILTER (WHERE 'g' = ANY (csc.groups)) AS group_g,
           count(*) FILTER (WHERE 'h' = ANY (csc.groups)) AS group_h,
           count(*) FILTER (WHERE 'i' = ANY (csc.groups)) AS group_i,
           count(*) FILTER (WHERE 'k' = ANY (csc.groups)) AS group_k,
           count(*) FILTER (WHERE 'l' = ANY (csc.groups)) AS group_l,
           count(*) FILTER (WHERE 'm' = ANY (csc.groups)) AS group_m,
           count(*) FILTER (WHERE 'n' = ANY (csc.groups)) AS group_n,
           count(*) FILTER (WHERE 'o' = ANY (csc.groups)) AS group_o
      FROM counted c
      LEFT JOIN csc ON csc.key = c.key AND csc.child_id = c.id
      LEFT JOIN supported s ON s.key = c.key AND s.child_id = c.id AND csc.groups IS NOT NULL
      LEFT JOIN risky r ON r.key = c.key AND r.child_id = c.id
     GROUP BY c.key, c.unit_id
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
    SELECT coalesce(r.key, k.key, a.key) AS key, coalesce(r.unit_id, k.unit_id, a.unit_id) AS unit_id,
           r.children_total, r.csc_total, r.csc_supported, r.at_risk_total,
           r.group_a + r.group_b + r.group_c + r.group_d + r.group_dd + r.group_e + r.group_g
           + r.group_h + r.group_i + r.group_k + r.group_l + r.group_m + r.group_n
           + r.group_o AS group_memberships,
           k.cases_opened, k.cases_closed, k.cases_open, k.emergency_cases,
           k.emergency_decided, k.emergency_met, k.plan_decided, k.plan_met,
           a.abused_children, a.abused_male, a.abused_0_5, a.abused_6_10,
           ac.violence + ac.sexual_abuse + ac.exploitation + ac.trafficking + ac.neglect
           + ac.abandonment AS abuse_concerns
      FROM registry r
      FULL JOIN case_counts k ON k.key = r.key AND k.unit_id = r.unit_id
      FULL JOIN abuse_counts a ON a.key = coalesce(r.key, k.key)
                              AND a.unit_id = coalesce(r.unit_id, k.unit_id)
      LEFT JOIN abuse_concerns ac ON ac.key = a.key AND ac.unit_id = a.unit_id
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
       sum(cases_open) AS cases_open, sum(abused_children) AS abused_children
  FROM rolled;
