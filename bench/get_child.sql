-- pgbench script: the statements baove-api runs for one
-- GET /v1/children/{id} (bench/run.sh, scenario A), in order, with the same
-- parameters.  Run with -M prepared: the API keeps a named prepared
-- statement per statement text on every connection (common/db.c).
--
--   (api/http/authentication.c api_authenticate: no statement, the token
--   being in the principal cache, as it is from a client's second request)
--   common/db.c                db_transaction: BEGIN ISOLATION LEVEL READ COMMITTED
--   api/operation/scope.c      scope_set: scope_enter(), which verifies the
--                              token, then the transaction's scope
--                              for row-level security
--   api/operation/operation.c  operation_read_audited: the child and
--                              child_document(), with the read's audit entry
--                              written by the same statement (a WITH clause,
--                              api/operation/audit_log.c audit_log_read_clause)
--   common/db.c                COMMIT
--
-- The API sends all four in one pipeline flight (libpq pipeline mode,
-- db_query_committing): one round trip; pgbench here waits for each
-- statement: four round trips to the API's one.  bench/get_child_least.sql
-- is the same transaction in one flight.
--
-- Variables from bench/run.sh (-D): token_hash (SHA-256 of the bearer
-- token), now (an instant, formatted as common/clock.c formats them), today
-- (the Asia/Ho_Chi_Minh date), principal_id, username, role, scope_unit (the
-- principal's unit id), request_id, children (N), and the constant texts the
-- API also binds as parameters (action_read, resource_type, outcome).
--
-- Two differences from the API, both negligible: the API sends the child's
-- id as a parameter, while pgbench cannot compute an md5 client-side, so the
-- id is the expression admin/demo.c derives demo child g's id with (md5 of
-- 'baove-demo-child-' || g with the UUID version and variant bits set),
-- which the planner folds to a constant as it does the API's parameter.

\set g random(1, :children)

BEGIN ISOLATION LEVEL READ COMMITTED;

SELECT scope_enter(:token_hash, :principal_id, :role, :scope_unit, :now, :today);

WITH record AS (
  SELECT c.version, c.unit_id, c.deleted_at IS NOT NULL AS deleted,
         child_document(c, :today)::text AS document
    FROM children c
   WHERE c.id = (left(md5('baove-demo-child-' || :g), 12) || '4'
                 || substr(md5('baove-demo-child-' || :g), 14, 3)
                 || translate(substr(md5('baove-demo-child-' || :g), 17, 1),
                              '0123456789abcdef', '89ab89ab89ab89ab')
                 || substr(md5('baove-demo-child-' || :g), 18))::uuid),
audited AS (
  INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type, resource_ids,
                         request_id, unit_id, outcome)
  SELECT :now, :principal_id, :username, :role, :action_read, :resource_type,
         ARRAY[(left(md5('baove-demo-child-' || :g), 12) || '4'
                || substr(md5('baove-demo-child-' || :g), 14, 3)
                || translate(substr(md5('baove-demo-child-' || :g), 17, 1),
                             '0123456789abcdef', '89ab89ab89ab89ab')
                || substr(md5('baove-demo-child-' || :g), 18))::uuid],
         :request_id, unit_id, :outcome FROM record WHERE NOT deleted)
SELECT version, unit_id, deleted, document FROM record;

COMMIT;
