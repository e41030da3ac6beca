-- Re-allocates a pledge from scratch: every instalment's paid_vnd back to
-- 0, then every payment that still counts applied again, oldest first
-- (received_on, created_at, id).  A payment whose applied/overpaid figures
-- change gets a new version; their ids are returned (for the change feed).
-- The caller holds the pledge's row lock (as the payment path does).
CREATE OR REPLACE FUNCTION fund_reallocate_pledge(pledge uuid) RETURNS SETOF uuid
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
GRANT EXECUTE ON FUNCTION fund_reallocate_pledge(uuid) TO baove_app;
