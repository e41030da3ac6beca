-- Writers no longer wake the worker.  change_log_wakes_workers sent a NOTIFY
-- from every transaction that appended to the change log, and PostgreSQL
-- serialises the commits of notifying transactions: PreCommit_Notify takes
-- one exclusive lock per database and holds it until the commit, WAL flush
-- included, is done, so concurrent creates committed one fsync at a time
-- (measured: "Lock object" waits at COMMIT were most of a create's time
-- under 16 clients).  The worker now polls change_log_position() instead
-- (BAOVE_WORKER_POLL_SECONDS).
DROP TRIGGER change_log_wakes_workers ON change_log;
DROP FUNCTION indicators_notify_change();
