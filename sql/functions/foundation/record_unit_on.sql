-- The unit a child or case belonged to on a date, from its unit history
-- (record_unit_moves, written by `baove-admin units apply`): the unit it
-- left by the first move after that date, else its current unit.  Reports
-- and indicators of a period count records here, so a period of the old
-- tree keeps its figures after the records moved to the new one.
CREATE OR REPLACE FUNCTION record_unit_on(record uuid, current_unit bigint, on_date date)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT m.from_unit_id FROM record_unit_moves m
                      WHERE m.record_id = record AND m.effective_on > on_date
                      ORDER BY m.effective_on LIMIT 1),
                    current_unit)
    $$;
GRANT EXECUTE ON FUNCTION record_unit_on(uuid, bigint, date) TO baove_app;
