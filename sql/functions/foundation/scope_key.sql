-- The scope the units kept in baove.scope_units were worked out for: the
-- root and date as set now ("<root>@<date>="), so that scope_unit_ids() can
-- tell units scope_enter() kept from those of a scope set since.
CREATE OR REPLACE FUNCTION scope_key() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(current_setting('baove.scope_unit', true), '') || '@'
           || coalesce(current_setting('baove.scope_on', true), '') || '='
    $$;
GRANT EXECUTE ON FUNCTION scope_key() TO baove_app;
