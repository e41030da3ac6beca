-- The deadline's state at `now`: met on time, missed (late or not met and
-- past due), or pending.
CREATE OR REPLACE FUNCTION deadline_state(due_at timestamptz, met_at timestamptz, now timestamptz)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN met_at IS NOT NULL AND met_at <= due_at THEN 'met'
                      WHEN met_at IS NOT NULL OR now > due_at THEN 'missed'
                      ELSE 'pending' END $$;
GRANT EXECUTE ON FUNCTION deadline_state(timestamptz, timestamptz, timestamptz) TO baove_app;
