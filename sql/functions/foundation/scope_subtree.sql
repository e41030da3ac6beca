-- What a principal rooted at `root` sees of the tree valid on `on_date`,
-- judged by today's tree: the root's subtree on that date, and the units
-- its area came from (unit_successions, followed back from the root and
-- every unit under it today) with their subtrees as they stood (at most on
-- the day they ended).  So after the 2025 reorganisation a province
-- officer of 82 sees the 2020 tree of Đồng Tháp 87, a commune sees the
-- records of the communes it was made of, and 2020 indicators stay
-- reachable.  With no successions this is unit_subtree(root, on_date).
--
-- Every query behind row-level security calls this once (scope_units()),
-- so it is on the path of every request.  PL/pgSQL, not LANGUAGE sql: a sql
-- function that is not inlined (this one must not be: see ROWS below) is
-- parsed and planned again on every call, and that was 45 % of
-- PostgreSQL's CPU on a GET of a child (issue 16, perf on 100 000 demo
-- children); PL/pgSQL keeps the statement's plan for the session.
-- jit off, ROWS 20: the planner's estimate of the recursive subtrees under
-- a lateral join is millions of rows, which made PostgreSQL JIT-compile
-- every query behind row-level security (about 0.7 s each) for a few dozen
-- units; callers plan around a small function scan.
CREATE OR REPLACE FUNCTION scope_subtree(root bigint, today date, on_date date)
    RETURNS TABLE (id bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20
    SET jit = off
    AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE lineage AS (
        SELECT s.predecessor_id AS unit_id FROM unit_successions s
         WHERE s.successor_id = root
            OR s.successor_id IN (SELECT c.id FROM unit_subtree(root, today) c)
        UNION
        SELECT s.predecessor_id FROM unit_successions s JOIN lineage l ON s.successor_id = l.unit_id
    )
    SELECT t.id FROM unit_subtree(root, on_date) t
    UNION
    SELECT t.id FROM lineage l JOIN units u ON u.id = l.unit_id
     CROSS JOIN LATERAL unit_subtree(l.unit_id, least(on_date, coalesce(u.valid_to, on_date))) t;
END
$$;
GRANT EXECUTE ON FUNCTION scope_subtree(bigint, date, date) TO baove_app;
