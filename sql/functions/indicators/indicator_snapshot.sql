-- The latest snapshot of a unit and period exactly as GET /v1/indicators
-- shows it, or NULL when there is none yet: what a submitted report freezes.
CREATE OR REPLACE FUNCTION indicator_snapshot(unit_id bigint, period text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT indicator_document(s, indicator_checked_at(s.unit_id, s.period, s.computed_at))
      FROM indicator_snapshots s
     WHERE s.unit_id = indicator_snapshot.unit_id AND s.period = indicator_snapshot.period
     ORDER BY s.computed_at DESC LIMIT 1
    $$;
GRANT EXECUTE ON FUNCTION indicator_snapshot(bigint, text) TO baove_app;
