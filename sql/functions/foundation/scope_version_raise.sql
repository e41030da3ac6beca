-- Trigger function (migration 0022, per statement on units,
-- unit_successions and schema_objects): raises scope_version, so that no
-- session uses a scope it kept from before the change (scope_enter()).
-- SECURITY DEFINER: whoever may change those tables raises the version,
-- which only the owner may write.
CREATE OR REPLACE FUNCTION scope_version_raise() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
BEGIN
    UPDATE scope_version SET version = version + 1;
    RETURN NULL;
END
$$;
