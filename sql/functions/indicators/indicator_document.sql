-- A snapshot as GET /v1/indicators shows it: the items in a fixed order.
CREATE OR REPLACE FUNCTION indicator_document(snapshot indicator_snapshots, checked_at timestamptz)
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
GRANT EXECUTE ON FUNCTION indicator_document(indicator_snapshots, timestamptz) TO baove_app;
