-- pgbench script: the least SQL a GET /v1/children/{id} needs, in the
-- fewest round trips the protocol allows (bench/run.sh, scenario A's
-- "least SQL" column: the physical limit the API is measured against).
--
-- What a read must do, and nothing more: check the bearer token, scope the
-- transaction to the principal's unit (row-level security), read the stored
-- child document, and write its audit entry in the same transaction (here
-- in the same statement).  Here
-- the token check is folded into the scope (an unknown or revoked token
-- scopes to nothing, so the read finds nothing), and the whole transaction
-- is one pipeline flight: one round trip, where the API needs a separate one
-- for the token lookup and waits for the record before it audits it.
--
-- Variables as in get_child.sql.  Run with -M prepared (pipelines need the
-- extended protocol).

\set g random(1, :children)

\startpipeline
BEGIN ISOLATION LEVEL READ COMMITTED;

SELECT scope_enter(
         (SELECT p.unit_id FROM access_tokens t JOIN principals p ON p.id = t.principal_id
           WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL
             AND (t.expires_at IS NULL OR t.expires_at > :now) AND p.disabled_at IS NULL),
         :today);

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
