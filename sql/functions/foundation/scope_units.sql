-- The caller's scope for row-level security: the units under the root
-- unit baove.scope_unit in the tree valid on baove.scope_on, both set
-- transaction-locally by the API (scope_enter()) before it touches personal
-- data.  Unset means no rows at all.  The units a reorganisation merged
-- into the scope count too (scope_subtree).  A wrapper of scope_unit_ids()
-- (PL/pgSQL, which keeps its plans for the session) that is inlined into
-- every policy; its callers plan around a small function scan (ROWS 20).
CREATE OR REPLACE FUNCTION scope_units() RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 20
    AS $$ SELECT unnest(scope_unit_ids()) $$;
GRANT EXECUTE ON FUNCTION scope_units() TO baove_app;
