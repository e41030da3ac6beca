-- A pledge's or payment's earmark as the API shows it: {"child_id": …},
-- {"purpose": …}, or null for the general pool.
CREATE OR REPLACE FUNCTION fund_earmark(child_id uuid, purpose text) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN child_id IS NOT NULL THEN json_build_object('child_id', child_id)
                WHEN purpose IS NOT NULL THEN json_build_object('purpose', purpose) END
    $$;
GRANT EXECUTE ON FUNCTION fund_earmark(uuid, text) TO baove_app;
