-- Job prune_change_log: deletes the change log older than the retention
-- (payload.retention_seconds; the worker fills it from
-- BAOVE_CHANGE_LOG_RETENTION, 90 days) and moves the horizon past it, so
-- GET /v1/changes answers 410 to cursors from before (readers resync).
-- Whole transactions are pruned, up to the newest one holding an expired
-- row, and the horizon is set one past it: a cursor inside a pruned
-- transaction may have missed some of its rows, so it expires too.
CREATE OR REPLACE FUNCTION prune_change_log(payload jsonb, now timestamptz)
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
REVOKE ALL ON FUNCTION prune_change_log(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_change_log(jsonb, timestamptz) TO baove_app;
