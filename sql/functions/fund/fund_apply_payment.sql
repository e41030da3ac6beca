-- Applies one payment to its pledge's open instalments, oldest due first,
-- and stores what it applied and what exceeded them.  The payment path
-- calls it for a new payment (instalments already paid by earlier payments
-- stay as they are); fund_reallocate_pledge calls it for every payment
-- that still counts.  Running totals stay within the pledge's amount
-- (≤ 10^12) plus one payment (≤ 10^12): bigint is safe.  Returns applied.
CREATE OR REPLACE FUNCTION fund_apply_payment(payment uuid) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $$
DECLARE
    paid fund_payments;
    applied bigint;
BEGIN
    SELECT * INTO STRICT paid FROM fund_payments p WHERE p.id = payment;
    IF paid.pledge_id IS NULL THEN
        RETURN 0;  -- a donation applies to nothing
    END IF;
    WITH open AS (
        SELECT i.id, i.amount_vnd - i.paid_vnd AS open_vnd,
               sum(i.amount_vnd - i.paid_vnd) OVER (ORDER BY i.due_on, i.id)
                 - (i.amount_vnd - i.paid_vnd) AS before_vnd
          FROM fund_instalments i
         WHERE i.pledge_id = paid.pledge_id AND i.paid_vnd < i.amount_vnd),
    applied_rows AS (
        UPDATE fund_instalments i
           SET paid_vnd = i.paid_vnd + least(o.open_vnd, paid.amount_vnd - o.before_vnd)
          FROM open o WHERE i.id = o.id AND o.before_vnd < paid.amount_vnd
        RETURNING least(o.open_vnd, paid.amount_vnd - o.before_vnd) AS applied_vnd)
    SELECT coalesce(sum(a.applied_vnd), 0)::bigint INTO applied FROM applied_rows a;
    UPDATE fund_payments p SET applied_vnd = applied, overpaid_vnd = paid.amount_vnd - applied
     WHERE p.id = payment;
    RETURN applied;
END
$$;
GRANT EXECUTE ON FUNCTION fund_apply_payment(uuid) TO baove_app;
