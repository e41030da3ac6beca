-- The latest snapshot of a unit and period and when a rollup last checked it
-- (its computed_at, its period's last full run or its own last single run,
-- whichever is latest).
CREATE OR REPLACE FUNCTION indicator_checked_at(unit_id bigint, period text, computed_at timestamptz)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT greatest(computed_at,
                    (SELECT r.checked_at FROM indicator_runs r
                      WHERE r.period = indicator_checked_at.period),
                    (SELECT k.checked_at FROM indicator_checks k
                      WHERE k.unit_id = indicator_checked_at.unit_id
                        AND k.period = indicator_checked_at.period))
    $$;
