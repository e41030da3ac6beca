-- How far the change log has come: the last id its identity handed out (0
-- before the first).  The worker polls it to notice writes and roll up
-- after them.  It used to be woken by a NOTIFY from every writing
-- transaction, but PostgreSQL serialises the commits of notifying
-- transactions (PreCommit_Notify holds one lock per cluster through the WAL
-- flush), so every create waited for every other create's fsync (issue 16:
-- migration 0021 removed that trigger).  Reading a sequence takes no lock
-- and needs no row-level scope; SECURITY DEFINER because the sequence is the
-- table owner's.
CREATE OR REPLACE FUNCTION change_log_position() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('public.change_log', 'id')), 0)
    $$;
