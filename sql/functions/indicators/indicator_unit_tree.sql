-- Ancestor-descendant pairs (each unit with itself too) of the units valid
-- on a day: what a unit's figures roll up from.
CREATE OR REPLACE FUNCTION indicator_unit_tree(on_date date)
    RETURNS TABLE (ancestor_id bigint, unit_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH RECURSIVE valid AS MATERIALIZED (
        SELECT u.id, u.parent_id FROM units u
         WHERE u.valid_from <= on_date AND (u.valid_to IS NULL OR u.valid_to >= on_date)
    ), tree AS (
        SELECT v.id AS ancestor_id, v.id AS unit_id FROM valid v
        UNION ALL
        SELECT tree.ancestor_id, v.id FROM tree JOIN valid v ON v.parent_id = tree.unit_id
    )
    SELECT tree.ancestor_id, tree.unit_id FROM tree
    $$;
