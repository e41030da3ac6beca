-- pgbench script: the least SQL a PUT /v1/children/{id} that creates a child
-- needs, in one round trip (bench/run.sh, scenario B's "least SQL" column:
-- the physical limit the API is measured against).
--
-- What a create must do, and nothing more: check the token and scope the
-- transaction (one call, scope_enter(), as in get_child_least.sql), insert the child
-- into a commune in scope, append its change-log entry carrying the
-- document, write the audit entry, commit.  The existence check that the
-- API's locked read makes is the INSERT's ON CONFLICT; the unit lookup is a
-- subquery of the INSERT.  One pipeline flight, one round trip.
--
-- Variables as in put_child.sql.  Run with -M prepared.

\set k random(1, 4611686018427387904)

\startpipeline
BEGIN ISOLATION LEVEL READ COMMITTED;

SELECT scope_enter(:token_hash, :principal_id, :role, :scope_unit, :now, :today);

WITH input AS (SELECT * FROM jsonb_populate_record(NULL::children, :document::jsonb)),
written AS (INSERT INTO children (id, unit_id, hamlet, full_name, search_name,
    sex, date_of_birth, ethnicity, address, household_head, guardians,
    household_poverty_status, school_status, notes, registered_on, version,
    created_at, updated_at)
  SELECT md5('baove-bench-' || :run || '-' || :k)::uuid,
    (SELECT u.id FROM units u WHERE u.code = :unit
        AND u.kind IN ('commune', 'township', 'ward')
        AND u.valid_from <= :registered_on
        AND (u.valid_to IS NULL OR u.valid_to >= :registered_on)
        AND u.id IN (SELECT id FROM scope_units())),
    hamlet, full_name, search_fold(full_name), sex, date_of_birth, ethnicity, address,
    household_head, coalesce(guardians, '[]'), coalesce(household_poverty_status, 'none'),
    school_status, notes, registered_on, 1, :now, :now FROM input
  ON CONFLICT (id) DO NOTHING RETURNING *),
documented AS (SELECT w.id, w.unit_id, w.version, child_document(w, :today) AS document
                 FROM written w),
logged AS (INSERT INTO change_log (resource_type, resource_id, child_id, unit_id,
                                   previous_unit_id, operation, version, record)
           SELECT :resource_type, d.id, d.id, d.unit_id, NULL, :action_create, d.version,
                  d.document::jsonb FROM documented d),
audited AS (INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type,
                                   resource_ids, unit_id, request_id, outcome)
            SELECT :now, :principal_id, :username, :role, :action_create, :resource_type,
                   ARRAY[d.id], d.unit_id, :request_id, :outcome FROM documented d)
SELECT d.version, d.document::text FROM documented d;

COMMIT;
\endpipeline
