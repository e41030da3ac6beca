-- 0006: the worker's job queue and schedules.
--
-- Several workers (and several APIs) share one database; nothing may run
-- twice.  A job is claimed with FOR UPDATE SKIP LOCKED and held by a lease
-- (lease_expires_at) that its worker renews while it runs; a job whose lease
-- expired (its worker was killed) is claimed again by another worker.
-- Schedules fire by a compare-and-set on next_run_at.
--
-- "Now" is never the database's now() in job code: the worker passes its
-- clock (BAOVE_NOW in tests and demos) as a parameter.

CREATE TABLE jobs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- One logical job: at most one job per key waits to run (see the index
    -- below); NULL for jobs that may be queued any number of times.
    unique_key       text CHECK (length(unique_key) <= 200),
    payload          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),
    run_at           timestamptz NOT NULL,  -- not before (also: retry time when failed)
    leased_by        text,                  -- the worker holding a running job
    lease_expires_at timestamptz,
    last_error       text,
    result           jsonb,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);
-- The same work is never waiting twice: enqueueing a key that is already
-- queued (or failed, waiting for its retry) returns the waiting job.  A
-- running job does not count, so a change made while a rollup runs still
-- gets a rollup after it.
CREATE UNIQUE INDEX jobs_one_waiting_per_key ON jobs (unique_key)
    WHERE status IN ('queued', 'failed');
-- One logical job never runs twice at once: a worker claims a waiting job
-- only when no job with its key runs, and this index makes two workers
-- claiming at the same moment collide (the loser retries) instead of both
-- running it.
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (unique_key) WHERE status = 'running';
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'failed');
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_list ON jobs (created_at DESC, id);
CREATE INDEX jobs_status ON jobs (status);

-- Queues a job (or finds the one already waiting under the same key) and
-- wakes the workers.  Returns the job's id.  Used by the API (e.g. POST
-- /v1/indicators/recompute), by triggers, and by the worker's schedules.
CREATE FUNCTION job_enqueue(job_kind text, job_unique_key text, job_payload jsonb,
                            job_run_at timestamptz, job_created_at timestamptz)
    RETURNS uuid LANGUAGE plpgsql
    AS $$
DECLARE
    job_id uuid;
BEGIN
    INSERT INTO jobs (kind, unique_key, payload, run_at, created_at)
    VALUES (job_kind, job_unique_key, coalesce(job_payload, '{}'), job_run_at, job_created_at)
    ON CONFLICT (unique_key) WHERE status IN ('queued', 'failed') DO NOTHING
    RETURNING id INTO job_id;
    IF job_id IS NULL THEN
        SELECT id INTO job_id FROM jobs
         WHERE unique_key = job_unique_key AND status IN ('queued', 'failed');
    END IF;
    PERFORM pg_notify('baove_worker', 'job');
    RETURN job_id;
END
$$;

-- Recurring work.  A worker fires a schedule only by moving next_run_at
-- forward with a compare-and-set (UPDATE … WHERE next_run_at = <what it
-- read>), so two workers never both fire one slot; after downtime the next
-- slot is computed from "now", so a schedule catches up once, not once per
-- missed slot.  Either a fixed interval, or a daily local time in
-- Asia/Ho_Chi_Minh.
CREATE TABLE schedules (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    job_kind    text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    every       interval CHECK (every >= interval '1 second'),
    daily_at    time,                       -- local time in Asia/Ho_Chi_Minh
    next_run_at timestamptz,                -- NULL: due at the first look
    last_run_at timestamptz,
    enabled     boolean NOT NULL DEFAULT true,
    CHECK ((every IS NULL) <> (daily_at IS NULL))
);

-- Seeded schedules: housekeeping once a day in the small hours (local).
INSERT INTO schedules (name, job_kind, daily_at) VALUES
    ('prune_change_log', 'prune_change_log', '02:00'),
    ('prune_jobs', 'prune_jobs', '02:30');

-- The change log's rows carry when they were written (the API's clock), so
-- they can be pruned by age.  Rows written before this column existed get
-- the migration's time.
ALTER TABLE change_log ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX change_log_recorded ON change_log (recorded_at);

-- Job prune_change_log: deletes the change log older than the retention
-- (payload.retention_seconds; the worker fills it from
-- BAOVE_CHANGE_LOG_RETENTION, 90 days) and moves the horizon past it, so
-- GET /v1/changes answers 410 to cursors from before (readers resync).
-- Whole transactions are pruned, up to the newest one holding an expired
-- row, and the horizon is set one past it: a cursor inside a pruned
-- transaction may have missed some of its rows, so it expires too.
CREATE FUNCTION prune_change_log(payload jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    cutoff timestamptz := now - coalesce((payload->>'retention_seconds')::bigint, 7776000)
                                * interval '1 second';
    boundary xid8;
    deleted bigint := 0;
    horizon xid8;
BEGIN
    SELECT transaction_id INTO boundary FROM change_log WHERE recorded_at < cutoff
     ORDER BY transaction_id DESC LIMIT 1;
    IF boundary IS NOT NULL THEN
        DELETE FROM change_log WHERE transaction_id <= boundary;
        GET DIAGNOSTICS deleted = ROW_COUNT;
        UPDATE change_log_horizon
           SET pruned_through = greatest(pruned_through,
                                         ((boundary::text)::numeric + 1)::text::xid8);
    END IF;
    SELECT pruned_through INTO horizon FROM change_log_horizon;
    RETURN jsonb_build_object('deleted', deleted, 'cutoff', cutoff,
                              'pruned_through', horizon::text);
END
$$;

-- Job prune_jobs: deletes finished jobs (succeeded, dead) older than the
-- retention (payload.retention_days, 30).
CREATE FUNCTION prune_jobs(payload jsonb, now timestamptz)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    cutoff timestamptz := now - coalesce((payload->>'retention_days')::integer, 30)
                                * interval '1 day';
    deleted bigint;
BEGIN
    DELETE FROM jobs WHERE status IN ('succeeded', 'dead') AND finished_at < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN jsonb_build_object('deleted', deleted, 'cutoff', cutoff);
END
$$;

REVOKE ALL ON FUNCTION prune_change_log(jsonb, timestamptz), prune_jobs(jsonb, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_change_log(jsonb, timestamptz), prune_jobs(jsonb, timestamptz)
    TO baove_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO baove_app;
GRANT SELECT, UPDATE ON schedules TO baove_app;
GRANT EXECUTE ON FUNCTION job_enqueue(text, text, jsonb, timestamptz, timestamptz) TO baove_app;
