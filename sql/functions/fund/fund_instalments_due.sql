-- Instalments for reminders: unpaid, of pledges not cancelled, due on or
-- before as_of + within_days (so overdue ones too).  SECURITY DEFINER: the
-- worker has no scope, and row-level security would hide every row.  No
-- personal data beyond ids: the job reads the donor through its own means.
CREATE OR REPLACE FUNCTION fund_instalments_due(as_of date, within_days integer)
    RETURNS TABLE (instalment_id bigint, pledge_id uuid, unit_id bigint, donor_id uuid,
                   due_on date, amount_vnd bigint, paid_vnd bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT i.id, i.pledge_id, p.unit_id, p.donor_id, i.due_on, i.amount_vnd, i.paid_vnd
      FROM fund_instalments i JOIN fund_pledges p ON p.id = i.pledge_id
     WHERE i.paid_vnd < i.amount_vnd AND p.cancelled_on IS NULL
       AND i.due_on <= as_of + within_days
     ORDER BY i.due_on, i.id
    $$;
REVOKE ALL ON FUNCTION fund_instalments_due(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fund_instalments_due(date, integer) TO baove_app;
