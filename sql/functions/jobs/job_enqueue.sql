-- Queues a job (or finds the one already waiting under the same key) and
-- wakes the workers.  Returns the job's id.  Used by the API (e.g. POST
-- /v1/indicators/recompute), by triggers, and by the worker's schedules.
-- A waiting job asked for sooner starts sooner: the worker spaces the
-- rollups that writes trigger (run_at up to a minute ahead), and an
-- operator's recompute or a schedule's slot must not wait for that.  A
-- failed job keeps its retry time (its backoff).
CREATE OR REPLACE FUNCTION job_enqueue(job_kind text, job_unique_key text, job_payload jsonb,
                            job_run_at timestamptz, job_created_at timestamptz)
    RETURNS uuid LANGUAGE plpgsql
    AS $$
DECLARE
    job_id uuid;
BEGIN
    INSERT INTO jobs (kind, unique_key, payload, run_at, created_at)
    VALUES (job_kind, job_unique_key, coalesce(job_payload, '{}'), job_run_at, job_created_at)
    ON CONFLICT (unique_key) WHERE status IN ('queued', 'failed')
    DO UPDATE SET run_at = EXCLUDED.run_at
       WHERE jobs.status = 'queued' AND EXCLUDED.run_at < jobs.run_at
    RETURNING id INTO job_id;
    IF job_id IS NULL THEN
        SELECT id INTO job_id FROM jobs
         WHERE unique_key = job_unique_key AND status IN ('queued', 'failed');
    END IF;
    PERFORM pg_notify('baove_worker', 'job');
    RETURN job_id;
END
$$;
GRANT EXECUTE ON FUNCTION job_enqueue(text, text, jsonb, timestamptz, timestamptz) TO baove_app;
