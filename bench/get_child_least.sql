-- pgbench script: the least SQL a GET /v1/children/{id} needs, in the
-- fewest round trips the protocol allows (bench/run.sh, scenario A's
-- "least SQL" column: the physical limit the API is measured against).
--
-- What a read must do, and nothing more: check the bearer token, scope the
-- transaction to the principal's unit (row-level security), read the stored
-- child document, and write its audit entry in the same transaction (here
-- in the same statement).  The token check is part of the scope
-- (scope_enter() refuses a token not valid now, as it does for the API),
-- and the whole transaction is one pipeline flight: one round trip, where
-- the API waits for the record before it audits it.
--
-- Variables as in get_child.sql.  Run with -M prepared (pipelines need the
-- extended protocol).

\set g random(1, :children)

\startpipeline
BEGIN ISOLATION LEVEL READ COMMITTED;

SELECT scope_enter(:token_hash, :principal_id, :role, :scope_unit, :now, :today);

WITH read AS (
  SELECT c.id, c.version, c.unit_id, c.deleted_at IS NOT NULL AS deleted,
         child_document(c, :today)::text AS document
    FROM children c
   WHERE c.id = (left(md5('baove-demo-child-' || :g), 12) || '4'
               || substr(md5('baove-demo-child-' || :g), 14, 3)
               || translate(substr(md5('baove-demo-child-' || :g), 17, 1),
                            '0123456789abcdef', '89ab89ab89ab89ab')
               || substr(md5('baove-demo-child-' || :g), 18))::uuid),
audited AS (
  INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type, resource_ids,
                         unit_id, request_id, outcome)
  SELECT :now, :principal_id, :username, :role, :action_read, :resource_type, ARRAY[r.id],
         r.unit_id, :request_id, :outcome FROM read r)
SELECT version, unit_id, deleted, document FROM read;

COMMIT;
\endpipeline
