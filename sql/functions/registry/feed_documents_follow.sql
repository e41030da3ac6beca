-- Keeps feed_documents (0016) equal to the last entry of each record in
-- change_log, in the writing transaction: a statement-level trigger over
-- the rows a statement appended, set-based, because the demo loader
-- appends hundreds of thousands at once.
--
-- Two consequences for the records hanging off a child (circumstances,
-- risks, supports, whose scope is the child's unit):
-- - a child that moves: each record is logged again under the new unit
--   (previous_unit_id the old one), so a reader of the new commune receives
--   them and a reader of the old one gets their scope exits;
-- - a child deleted: each record is logged as deleted, since none of them
--   can be read any more.
-- Cases have a unit of their own and are not touched.
--
-- SECURITY DEFINER: it mirrors what the caller has just logged, which
-- row-level security already allowed; the caller's scope must not hide the
-- records of a child it moves out of it.
CREATE OR REPLACE FUNCTION feed_documents_follow() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    -- A later transaction (a higher id) already wrote one of these records
    -- and committed: this entry, of an older state, would be delivered after
    -- it (0027).  A stored id this cluster has not given out yet comes from
    -- another history (a logical copy) and is not compared.
    IF EXISTS (SELECT 1 FROM added a JOIN feed_documents f
                 ON f.resource_type = a.resource_type AND f.resource_id = a.resource_id
                WHERE f.transaction_id > a.transaction_id
                  AND f.transaction_id < pg_snapshot_xmax(pg_current_snapshot())) THEN
        RAISE EXCEPTION 'a later transaction changed this record first; retry'
            USING ERRCODE = 'serialization_failure';
    END IF;
    WITH latest AS (
        SELECT DISTINCT ON (resource_type, resource_id) *
          FROM added ORDER BY resource_type, resource_id, transaction_id DESC, id DESC),
    removed AS (
        DELETE FROM feed_documents f USING latest l
         WHERE l.operation = 'delete'
           AND f.resource_type = l.resource_type AND f.resource_id = l.resource_id)
    INSERT INTO feed_documents AS f (resource_type, resource_id, child_id, unit_id, version,
                                     record, transaction_id)
    SELECT l.resource_type, l.resource_id, l.child_id, l.unit_id, l.version, l.record::text,
           l.transaction_id
      FROM latest l WHERE l.operation <> 'delete' AND l.record IS NOT NULL
    ON CONFLICT (resource_type, resource_id) DO UPDATE
       SET child_id = excluded.child_id, unit_id = excluded.unit_id,
           version = excluded.version, record = excluded.record,
           transaction_id = excluded.transaction_id;

    -- A statement trigger fires even for no rows: only a child deleted or
    -- moved appends again, which is what ends the recursion.
    IF NOT EXISTS (SELECT 1 FROM added WHERE resource_type = 'children'
                      AND (operation = 'delete' OR previous_unit_id IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    -- The same for the records a moved or deleted child takes with it.
    IF EXISTS (SELECT 1 FROM added a JOIN feed_documents f ON f.child_id = a.resource_id
                WHERE a.resource_type = 'children'
                  AND f.resource_type IN ('circumstances', 'risks', 'supports')
                  AND f.transaction_id > a.transaction_id
                  AND f.transaction_id < pg_snapshot_xmax(pg_current_snapshot())) THEN
        RAISE EXCEPTION 'a later transaction changed a record of this child first; retry'
            USING ERRCODE = 'serialization_failure';
    END IF;
    WITH child AS (
        SELECT DISTINCT ON (resource_id) *
          FROM added WHERE resource_type = 'children'
         ORDER BY resource_id, transaction_id DESC, id DESC),
    gone AS (
        DELETE FROM feed_documents f USING child c
         WHERE c.operation = 'delete' AND f.child_id = c.resource_id
           AND f.resource_type IN ('circumstances', 'risks', 'supports')
        RETURNING f.resource_type, f.resource_id, f.child_id, c.unit_id, NULL::bigint AS previous,
                  'delete' AS operation, f.version, NULL::jsonb AS record, c.recorded_at),
    moved AS (
        UPDATE feed_documents f SET unit_id = c.unit_id, transaction_id = c.transaction_id
          FROM child c
         WHERE c.operation <> 'delete' AND c.previous_unit_id IS NOT NULL
           AND f.child_id = c.resource_id
           AND f.resource_type IN ('circumstances', 'risks', 'supports')
        RETURNING f.resource_type, f.resource_id, f.child_id, c.unit_id, c.previous_unit_id,
                  'update' AS operation, f.version, f.record::jsonb, c.recorded_at)
    INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, previous_unit_id,
                            operation, version, record, recorded_at)
    SELECT * FROM gone UNION ALL SELECT * FROM moved;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION feed_documents_follow() FROM PUBLIC;
