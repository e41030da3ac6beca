-- A transfer moves a case to another commune, not its child's registration
-- (api/cases/assignment.c), so the commune now working the case cannot see
-- the child.  Yet a service it delivers is a support of that child
-- (api/cases/services.c): this admits the child's unit to the caller's
-- scope for the rest of the transaction, so that the registry's own code
-- writes the support, its feed entry (in the child's commune) and its
-- audit entry as for any child.  The caller narrows the scope back right
-- after, with set_config('baove.scope_units', <what this returned>, true).
--
-- Only for a case in the caller's scope whose child is not: returns the
-- scope setting as it was ('' when unset), or NULL when nothing changed.
--
-- SECURITY DEFINER: it reads the child's unit, which the caller cannot.
CREATE OR REPLACE FUNCTION case_child_scope_widen(case_id uuid)
    RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    scope constant bigint[] := scope_unit_ids();
    was constant text := coalesce(current_setting('baove.scope_units', true), '');
    child_unit bigint;
BEGIN
    SELECT ch.unit_id INTO child_unit
      FROM cases c JOIN children ch ON ch.id = c.child_id
     WHERE c.id = case_child_scope_widen.case_id AND c.unit_id = ANY (scope)
       AND NOT ch.unit_id = ANY (scope);
    IF child_unit IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('baove.scope_units', scope_key() || (scope || child_unit)::text, true);
    RETURN was;
END
$$;
REVOKE EXECUTE ON FUNCTION case_child_scope_widen(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION case_child_scope_widen(uuid) TO baove_app;
