-- The worker spaces the jobs that writes call for by the last job of the
-- same kind (sql/functions/jobs/job_enqueue_after_change.sql): when it last
-- started, and how long the last successful one took.  Without an index on
-- the kind, both lookups read every job kept (30 days by default,
-- prune_jobs: a rollup a minute is 43 200 of them) each time a burst of
-- writes is noticed.  With these, each is one descent of an index.
CREATE INDEX jobs_kind_started ON jobs (kind, started_at);
CREATE INDEX jobs_kind_succeeded ON jobs (kind, finished_at) WHERE status = 'succeeded';
