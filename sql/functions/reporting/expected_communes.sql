-- The communes (communes, townships, wards) under a unit valid on a day:
-- the reports a period expects.
CREATE OR REPLACE FUNCTION expected_communes(root bigint, on_day date)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT u.id, u.code, u.name, u.parent_id FROM unit_subtree(root, on_day) s
      JOIN units u ON u.id = s.id
     WHERE u.kind IN ('commune', 'township', 'ward')
    $$;
GRANT EXECUTE ON FUNCTION expected_communes(bigint, date) TO baove_app;
