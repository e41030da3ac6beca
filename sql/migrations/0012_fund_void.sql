-- 0012: voiding a payment entered by mistake (hủy phiếu thu).  Bookkeeping
-- practice: nothing is deleted and the receipt number stays used; the
-- payment is stamped voided_on / void_reason and from then on counts
-- nowhere: not in the pledge's instalments, not raised, not in any pool's
-- balance, not in the public statement.
--
-- A voided payment keeps the applied_vnd / overpaid_vnd it had when it was
-- voided (what it did while it counted); every sum below leaves it out.

ALTER TABLE fund_payments
    ADD COLUMN voided_on date,
    ADD COLUMN void_reason text CHECK (length(void_reason) BETWEEN 1 AND 1000),
    ADD CONSTRAINT fund_payments_void_reasoned CHECK ((voided_on IS NULL) = (void_reason IS NULL));

-- Only what a void and a re-allocation change (never the amount, the date
-- or the receipt).
GRANT UPDATE (voided_on, void_reason, version, applied_vnd, overpaid_vnd) ON fund_payments
    TO baove_app;

-- ---- allocation: one place for it ---------------------------------------------

-- Applies one payment to its pledge's open instalments, oldest due first,
-- and stores what it applied and what exceeded them.  The payment path
-- calls it for a new payment (instalments already paid by earlier payments
-- stay as they are); fund_reallocate_pledge calls it for every payment
-- that still counts.  Running totals stay within the pledge's amount
-- (≤ 10^12) plus one payment (≤ 10^12): bigint is safe.  Returns applied.
CREATE FUNCTION fund_apply_payment(payment uuid) RETURNS bigint
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

-- Re-allocates a pledge from scratch: every instalment's paid_vnd back to
-- 0, then every payment that still counts applied again, oldest first
-- (received_on, created_at, id).  A payment whose applied/overpaid figures
-- change gets a new version; their ids are returned (for the change feed).
-- The caller holds the pledge's row lock (as the payment path does).
CREATE FUNCTION fund_reallocate_pledge(pledge uuid) RETURNS SETOF uuid
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $$
DECLARE
    payment record;
    applied bigint;
BEGIN
    UPDATE fund_instalments i SET paid_vnd = 0 WHERE i.pledge_id = pledge AND i.paid_vnd <> 0;
    FOR payment IN SELECT p.id, p.applied_vnd FROM fund_payments p
                    WHERE p.pledge_id = pledge AND p.voided_on IS NULL
                    ORDER BY p.received_on, p.created_at, p.id LOOP
        applied := fund_apply_payment(payment.id);
        IF applied <> payment.applied_vnd THEN
            UPDATE fund_payments p SET version = p.version + 1 WHERE p.id = payment.id;
            RETURN NEXT payment.id;
        END IF;
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION fund_apply_payment(uuid), fund_reallocate_pledge(uuid) TO baove_app;

-- ---- the sums leave voided payments out ------------------------------------

CREATE OR REPLACE FUNCTION fund_pledge_document(pledge fund_pledges, today date) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', pledge.id,
        'donor_id', pledge.donor_id,
        'unit', (SELECT code FROM units WHERE units.id = pledge.unit_id),
        'year', pledge.year,
        'amount_vnd', pledge.amount_vnd,
        'pledged_on', pledge.pledged_on,
        'earmark', fund_earmark(pledge.earmark_child_id, pledge.earmark_purpose),
        'note', pledge.note,
        'instalments', (SELECT coalesce(json_agg(json_build_object(
                            'due_on', i.due_on, 'amount_vnd', i.amount_vnd,
                            'paid_vnd', i.paid_vnd,
                            'status', CASE WHEN i.paid_vnd = i.amount_vnd THEN 'paid'
                                           WHEN i.due_on < today THEN 'overdue'
                                           ELSE 'open' END)
                            ORDER BY i.due_on, i.id), '[]')
                          FROM fund_instalments i WHERE i.pledge_id = pledge.id),
        'paid_vnd', (SELECT coalesce(sum(i.paid_vnd), 0)::bigint
                       FROM fund_instalments i WHERE i.pledge_id = pledge.id),
        'outstanding_vnd', CASE WHEN pledge.cancelled_on IS NOT NULL THEN 0 ELSE
                           (SELECT coalesce(sum(i.amount_vnd - i.paid_vnd), 0)::bigint
                              FROM fund_instalments i WHERE i.pledge_id = pledge.id) END,
        'overpaid_vnd', (SELECT coalesce(sum(p.overpaid_vnd), 0)::bigint
                           FROM fund_payments p
                          WHERE p.pledge_id = pledge.id AND p.voided_on IS NULL),
        'status', fund_pledge_status(pledge, today),
        'cancelled_on', pledge.cancelled_on,
        'cancel_reason', pledge.cancel_reason,
        'version', pledge.version,
        'created_at', rfc3339(pledge.created_at),
        'updated_at', rfc3339(pledge.updated_at))
    $$;

CREATE OR REPLACE FUNCTION fund_payment_document(payment fund_payments) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', payment.id,
        'pledge_id', payment.pledge_id,
        'donor_id', payment.donor_id,
        'unit', (SELECT code FROM units WHERE units.id = payment.unit_id),
        'year', payment.year,
        'amount_vnd', payment.amount_vnd,
        'applied_vnd', payment.applied_vnd,
        'overpaid_vnd', payment.overpaid_vnd,
        'received_on', payment.received_on,
        'method', payment.method,
        'in_kind_description', payment.in_kind_description,
        'receipt_no', payment.receipt_no,
        'earmark', fund_earmark(payment.earmark_child_id, payment.earmark_purpose),
        'note', payment.note,
        'voided_on', payment.voided_on,
        'void_reason', payment.void_reason,
        'created_at', rfc3339(payment.created_at))
    $$;

CREATE OR REPLACE FUNCTION fund_pool_balance(pool_unit bigint, pool_child uuid,
                                             pool_purpose text, pool_in_kind boolean)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT ((SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p
              WHERE p.unit_id = pool_unit AND p.voided_on IS NULL
                AND p.earmark_child_id IS NOT DISTINCT FROM pool_child
                AND p.earmark_purpose IS NOT DISTINCT FROM pool_purpose
                AND (p.method = 'in_kind') = pool_in_kind)
          - (SELECT coalesce(sum(d.amount_vnd), 0) FROM fund_disbursements d
              WHERE d.unit_id = pool_unit
                AND d.earmarked = (pool_child IS NOT NULL OR pool_purpose IS NOT NULL)
                AND (pool_child IS NULL OR d.child_id = pool_child)
                AND (pool_purpose IS NULL
                     OR (d.child_id IS NULL AND d.purpose = pool_purpose))
                AND d.in_kind = pool_in_kind))::bigint
    $$;

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

-- fund_instalments_due reads only the instalments, which a void
-- re-allocates: it needs no change.
