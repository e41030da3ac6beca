-- Queues a job that data changes call for (the worker, after its debounce;
-- worker/control.c), spaced so that the writers who caused it do not pay
-- for it: a rollup is a full pass over the data (seconds of a core at
-- 100 000 children, tens of seconds at a million) that competes with them.
-- It starts no sooner than
--   * min_interval_seconds after the last job of its kind started, and
--   * the last successful one's duration x (100 / busy_percent - 1) after
--     it finished, so that these jobs keep a core busy busy_percent of the
--     time at most, however long they grow with the registry.
-- Later changes find the job waiting (the unique key) and ride along; the
-- last change of a burst is covered, since the waiting job starts after
-- it.  Several workers compute the same run_at; one job is kept.  Returns
-- the job's id.
CREATE OR REPLACE FUNCTION job_enqueue_after_change(job_kind text, now timestamptz,
                                                    min_interval_seconds integer,
                                                    busy_percent integer)
    RETURNS uuid LANGUAGE sql
    AS $$
    SELECT job_enqueue(job_kind, job_kind, '{}',
                       greatest(now,
                                (SELECT max(j.started_at) FROM jobs j WHERE j.kind = job_kind)
                                + make_interval(secs => min_interval_seconds),
                                (SELECT j.finished_at + (j.finished_at - j.started_at)
                                                        * (100.0 / busy_percent - 1)
                                   FROM jobs j
                                  WHERE j.kind = job_kind AND j.status = 'succeeded'
                                  ORDER BY j.finished_at DESC LIMIT 1)),
                       now)
    $$;
GRANT EXECUTE ON FUNCTION job_enqueue_after_change(text, timestamptz, integer, integer)
    TO baove_app;
