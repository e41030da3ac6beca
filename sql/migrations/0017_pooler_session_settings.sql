-- 0017: the session settings the API relies on, kept by the database itself.
--
-- The API sets TimeZone, DateStyle and IntervalStyle when it connects.
-- Behind a transaction pooler (PgBouncer in transaction mode) that SET runs
-- on whichever server session the pooler picked, and later transactions run
-- on others.  PgBouncer carries TimeZone and DateStyle from client to server
-- session, but 1.18 (Debian 12) does not carry IntervalStyle, so intervals
-- came back in the server's default style.  A per-database default reaches
-- every server session the pooler opens.  (ALTER ROLE … SET would need
-- CREATEROLE, which the owner role does not have.)
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET intervalstyle = %L', current_database(), 'iso_8601');
END
$$;
