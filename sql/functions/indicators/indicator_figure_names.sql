-- The order of the figures in indicator_snapshots.figures.
CREATE OR REPLACE FUNCTION indicator_figure_names() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['children_total', 'csc_total', 'csc_supported', 'at_risk_total',
                       'abused_children', 'cases_opened', 'cases_closed', 'cases_open',
                       'emergency_cases', 'emergency_deadlines_met',
                       'emergency_deadlines_decided', 'plan_deadlines_met',
                       'plan_deadlines_decided', 'fund_target_vnd', 'fund_pledged_vnd',
                       'fund_raised_vnd'] $$;
