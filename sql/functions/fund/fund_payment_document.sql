-- The API's representation of a payment, its void (voided_on, void_reason,
-- 0012) included.
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
GRANT EXECUTE ON FUNCTION fund_payment_document(fund_payments) TO baove_app;
