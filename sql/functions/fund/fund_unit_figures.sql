-- Per unit, its own books only (not rolled up), for the summary and the
-- indicators: the target of the year; pledged = pledges of the year made on
-- or before as_of and not cancelled by then; raised = payments of the year
-- received on or before as_of (cash and valued goods, overpayments
-- included).  Sums as numeric (no overflow whatever the row count), cast
-- back to bigint.  SECURITY DEFINER: the indicators job reads every unit.
--
-- Voided payments (0012) are not raised.
CREATE OR REPLACE FUNCTION fund_unit_figures(year integer, as_of date)
    RETURNS TABLE (unit_id bigint, target_vnd bigint, pledged_vnd bigint, raised_vnd bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    WITH units_of_year AS (
        SELECT t.unit_id FROM fund_targets t WHERE t.year = fund_unit_figures.year
        UNION SELECT p.unit_id FROM fund_pledges p WHERE p.year = fund_unit_figures.year
        UNION SELECT p.unit_id FROM fund_payments p
               WHERE p.year = fund_unit_figures.year AND p.voided_on IS NULL)
    SELECT u.unit_id,
           coalesce((SELECT t.amount_vnd FROM fund_targets t
                      WHERE t.year = fund_unit_figures.year AND t.unit_id = u.unit_id), 0),
           (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_pledges p
             WHERE p.unit_id = u.unit_id AND p.year = fund_unit_figures.year
               AND p.pledged_on <= as_of
               AND (p.cancelled_on IS NULL OR p.cancelled_on > as_of))::bigint,
           (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p
             WHERE p.unit_id = u.unit_id AND p.year = fund_unit_figures.year
               AND p.received_on <= as_of AND p.voided_on IS NULL)::bigint
      FROM units_of_year u
    $$;
REVOKE ALL ON FUNCTION fund_unit_figures(integer, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fund_unit_figures(integer, date) TO baove_app;
