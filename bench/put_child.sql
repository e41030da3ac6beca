-- pgbench script: the statements baove-api runs for one
-- PUT /v1/children/{id} that creates a child (bench/run.sh, scenario B), in
-- order, with the same parameters.  Run with -M prepared (see get_child.sql).
--
--   (api/http/authentication.c api_authenticate: no statement, the token
--   being in the principal cache, as it is from a client's second request)
--   common/db.c                db_transaction: BEGIN ISOLATION LEVEL READ COMMITTED
--   api/operation/scope.c      scope_set: scope_enter(), which verifies the
--                              token, then the transaction's scope
--   api/operation/operation.c  operation_read (locking): the child, FOR UPDATE
--                              (absent: this is a create)
--   api/operation/scope.c      scope_commune_id (through resolve_unit in
--                              api/registry/children.c): the body's unit, a
--                              commune valid on registered_on and in scope
--   api/registry/children.c    write_child: the INSERT from jsonb_populate_record,
--                              returning the version and child_document()
--   api/operation/change_log.c change_log_append: the change-log entry with
--                              that document
--   api/operation/audit_log.c  audit_log_append: the audit entry of the create
--   common/db.c                COMMIT
--
-- Variables from bench/run.sh (-D): as in get_child.sql, plus unit (the
-- body's unit code), registered_on, document (the body as the API
-- re-serialises it: the text bench/put_child.lua sends), run (a per-run
-- prefix) and action_create.  The unit id, the version and the document
-- come back from the statements through \gset and go into the next ones,
-- as in the API.
--
-- The id: the API takes the client's UUID (wrk sends random version 4
-- UUIDs) and binds it as a parameter; here it is
-- md5('baove-bench-' || run || '-' || k)::uuid for a random 62-bit k,
-- written into each statement that uses it and folded to a constant by the
-- planner.  (A SELECT gen_random_uuid() \gset would add a round trip that
-- the API does not make.)  change_record binds two NULLs for a child's
-- create (no explicit unit, no previous unit); pgbench cannot bind NULL, so
-- they are written as NULL, which the planner folds just as it folds the
-- API's NULL parameters.

\set k random(1, 4611686018427387904)

BEGIN ISOLATION LEVEL READ COMMITTED;

SELECT scope_enter(:token_hash, :principal_id, :role, :scope_unit, :now, :today);

SELECT c.version, c.unit_id, c.deleted_at IS NOT NULL,
       child_document(c, :today)::text
  FROM children c WHERE c.id = md5('baove-bench-' || :run || '-' || :k)::uuid FOR UPDATE;

SELECT u.id FROM units u WHERE u.code = :unit
   AND u.kind IN ('commune', 'township', 'ward')
   AND u.valid_from <= :registered_on
   AND (u.valid_to IS NULL OR u.valid_to >= :registered_on)
   AND u.id IN (SELECT id FROM scope_units()) \gset

WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, :document::jsonb)),
written AS (INSERT INTO children (id, unit_id, hamlet, full_name, search_name,
    sex, date_of_birth, ethnicity, address, household_head, guardians,
    household_poverty_status, school_status, notes, registered_on, version,
    created_at, updated_at)
  SELECT md5('baove-bench-' || :run || '-' || :k)::uuid, :id, hamlet, full_name,
    search_fold(full_name), sex, date_of_birth, ethnicity, address, household_head,
    coalesce(guardians, '[]'), coalesce(household_poverty_status, 'none'), school_status,
    notes, registered_on, 1, :now, :now FROM input
  ON CONFLICT (id) DO NOTHING RETURNING *)
SELECT w.version, child_document(w, :today)::text FROM written w \gset

INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, previous_unit_id,
                        operation, version, record)
SELECT :resource_type, md5('baove-bench-' || :run || '-' || :k)::uuid,
       md5('baove-bench-' || :run || '-' || :k)::uuid, coalesce(NULL::bigint, c.unit_id),
       nullif(NULL::bigint, coalesce(NULL::bigint, c.unit_id)), :action_create, :version,
       :child_document::jsonb
  FROM children c WHERE c.id = md5('baove-bench-' || :run || '-' || :k)::uuid;

INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type, resource_ids,
                       unit_id, request_id, outcome)
VALUES (:now, :principal_id, :username, :role, :action_create, :resource_type,
        ARRAY[md5('baove-bench-' || :run || '-' || :k)::uuid], :id, :request_id, :outcome);

COMMIT;
