-- pending (nothing paid, nothing late), in_progress (something paid),
-- completed (all paid), overdue (an instalment past due and unpaid on
-- `today`, the district's date), cancelled.
CREATE OR REPLACE FUNCTION fund_pledge_status(pledge fund_pledges, today date) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN pledge.cancelled_on IS NOT NULL THEN 'cancelled'
        WHEN bool_and(i.paid_vnd = i.amount_vnd) THEN 'completed'
        WHEN bool_or(i.paid_vnd < i.amount_vnd AND i.due_on < today) THEN 'overdue'
        WHEN bool_or(i.paid_vnd > 0) THEN 'in_progress'
        ELSE 'pending' END
      FROM fund_instalments i WHERE i.pledge_id = pledge.id
    $$;
GRANT EXECUTE ON FUNCTION fund_pledge_status(fund_pledges, date) TO baove_app;
