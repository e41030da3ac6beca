-- Job prune_jobs: deletes finished jobs (succeeded, dead) older than the
-- retention (payload.retention_days, 30).
CREATE OR REPLACE FUNCTION prune_jobs(payload jsonb, now timestamptz)
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
REVOKE ALL ON FUNCTION prune_jobs(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_jobs(jsonb, timestamptz) TO baove_app;
