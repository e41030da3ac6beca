-- A fund target has no id of its own (its key is the year and the unit):
-- its feed and audit entries carry this UUID, derived from them, the same
-- every time.
CREATE OR REPLACE FUNCTION fund_target_id(year integer, unit_id bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT md5('fund_target:' || year || ':' || unit_id)::uuid $$;
GRANT EXECUTE ON FUNCTION fund_target_id(integer, bigint) TO baove_app;
