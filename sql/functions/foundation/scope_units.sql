-- The caller's scope for row-level security, set transaction-locally by the
-- API (set_config(..., true)) before it touches personal data: the root unit
-- and the date of the tree.  Unset means no rows at all.  The units a
-- reorganisation merged into the scope count too (scope_subtree).
CREATE OR REPLACE FUNCTION scope_units() RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT s.id
      FROM (SELECT coalesce(nullif(current_setting('baove.scope_on', true), '')::date,
                            current_date) AS on_date) d,
           scope_subtree(nullif(current_setting('baove.scope_unit', true), '')::bigint,
                         d.on_date, d.on_date) s
    $$;
GRANT EXECUTE ON FUNCTION scope_units() TO baove_app;
