-- Any write to the registry or the cases appends to change_log: wake the
-- workers, which debounce these into a rollup.  Once per statement, not per
-- row (a demo batch inserts hundreds of thousands).
CREATE OR REPLACE FUNCTION indicators_notify_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('baove_worker', 'changed');
    RETURN NULL;
END
$$;
