-- The units in the caller's scope, as an array: what scope_units() returns
-- row by row.  The units scope_enter() kept for this transaction when they
-- are still those of the scope set now (scope_key()); otherwise, for a
-- caller that set baove.scope_unit and baove.scope_on itself, or changed
-- one since, worked out again.  Unset means no units.  Reads settings only,
-- so it is parallel safe (a parallel worker gets the leader's settings).
-- Only the application role's own settings feed it: row-level security is
-- the second line of defence against a query that forgot its scope, not
-- against that role.
CREATE OR REPLACE FUNCTION scope_unit_ids() RETURNS bigint[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
DECLARE
    key constant text := scope_key();
    kept constant text := current_setting('baove.scope_units', true);
BEGIN
    IF kept IS NOT NULL AND left(kept, length(key)) = key THEN
        RETURN coalesce(nullif(substr(kept, length(key) + 1), '')::bigint[], '{}');
    END IF;
    RETURN ARRAY(
        SELECT s.id
          FROM (SELECT coalesce(nullif(current_setting('baove.scope_on', true), '')::date,
                                current_date) AS on_date) d,
               scope_subtree(nullif(current_setting('baove.scope_unit', true), '')::bigint,
                             d.on_date, d.on_date) s);
END
$$;
GRANT EXECUTE ON FUNCTION scope_unit_ids() TO baove_app;
