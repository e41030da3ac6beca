-- The unit and all its descendants in the tree valid on a date.
CREATE OR REPLACE FUNCTION unit_subtree(root_id bigint, on_date date) RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH RECURSIVE tree AS (
        SELECT u.id FROM units u
         WHERE u.id = root_id
           AND u.valid_from <= on_date AND (u.valid_to IS NULL OR u.valid_to >= on_date)
        UNION ALL
        SELECT child.id FROM units child JOIN tree ON child.parent_id = tree.id
         WHERE child.valid_from <= on_date
           AND (child.valid_to IS NULL OR child.valid_to >= on_date)
    )
    SELECT tree.id FROM tree
    $$;
GRANT EXECUTE ON FUNCTION unit_subtree(bigint, date) TO baove_app;
