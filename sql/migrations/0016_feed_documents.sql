-- 0016: what synchronisation needs beyond the change log (issue 13).
--
-- feed_documents holds, for every live record in the feed, its current entry:
-- the last record the change log carried for it, with the unit whose scope
-- it is in.  A client without a cursor (or told to resynchronise by a 410)
-- pages through it as a snapshot before it follows the log (docs/sync.md).
-- It is kept by a trigger on change_log, in the writing transaction, so it
-- never disagrees with the log; nothing else writes it.
CREATE TABLE feed_documents (
    resource_type text NOT NULL,
    resource_id   uuid NOT NULL,
    child_id      uuid,
    unit_id       bigint NOT NULL REFERENCES units (id),
    version       bigint NOT NULL,
    record        text NOT NULL,    -- JSON text, sent to clients as it is
    PRIMARY KEY (resource_type, resource_id)
);
CREATE INDEX feed_documents_child ON feed_documents (child_id) WHERE child_id IS NOT NULL;
ALTER TABLE feed_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY feed_documents_in_scope ON feed_documents
    USING (unit_id IN (SELECT id FROM scope_units()));
GRANT SELECT ON feed_documents TO baove_app;

-- This database's identity, carried in every cursor of the feed: a cursor
-- that another database (or a copy restored under a new identity) gave out
-- is refused with 400 instead of silently answering nothing.
CREATE TABLE database_identity (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id        uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO database_identity DEFAULT VALUES;
GRANT SELECT ON database_identity TO baove_app;

-- The records already written: each as its entry would carry it today.
INSERT INTO feed_documents (resource_type, resource_id, child_id, unit_id, version, record)
SELECT 'children', c.id, c.id, c.unit_id, c.version, child_document(c, current_date)::text
  FROM children c WHERE c.deleted_at IS NULL;
INSERT INTO feed_documents (resource_type, resource_id, child_id, unit_id, version, record)
SELECT kind, r.id, r.child_id, c.unit_id, r.version,
       ((r.row - 'created_at' - 'updated_at')
        || jsonb_build_object('created_at', rfc3339(r.created_at),
                              'updated_at', rfc3339(r.updated_at)))::text
  FROM (SELECT 'circumstances' AS kind, x.id, x.child_id, x.version, x.created_at, x.updated_at,
               to_jsonb(x) AS row FROM child_circumstances x
        UNION ALL
        SELECT 'risks', x.id, x.child_id, x.version, x.created_at, x.updated_at, to_jsonb(x)
          FROM child_risks x
        UNION ALL
        SELECT 'supports', x.id, x.child_id, x.version, x.created_at, x.updated_at, to_jsonb(x)
          FROM child_supports x) r
  JOIN children c ON c.id = r.child_id AND c.deleted_at IS NULL;
INSERT INTO feed_documents (resource_type, resource_id, child_id, unit_id, version, record)
SELECT 'cases', k.id, k.child_id, k.unit_id, k.version, case_document(k, now(), false)::text
  FROM cases k;
-- The fund's records (and targets, which have no row id of their own): the
-- last entry the log still holds for each.
INSERT INTO feed_documents (resource_type, resource_id, child_id, unit_id, version, record)
SELECT 'fund', l.resource_id, NULL, l.unit_id, l.version, l.record::text
  FROM (SELECT DISTINCT ON (resource_id) * FROM change_log WHERE resource_type = 'fund'
         ORDER BY resource_id, transaction_id DESC, id DESC) l
 WHERE l.operation <> 'delete' AND l.record IS NOT NULL;

-- The trigger's function is defined in functions/registry/feed_documents_follow.sql,
-- loaded after the migrations in the same transaction; this placeholder
-- only lets the trigger be bound here.
CREATE FUNCTION feed_documents_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER change_log_keeps_feed_documents AFTER INSERT ON change_log
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION feed_documents_follow();
