-- The API's representation of a disbursement.
CREATE OR REPLACE FUNCTION fund_disbursement_document(disbursement fund_disbursements) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', disbursement.id,
        'unit', (SELECT code FROM units WHERE units.id = disbursement.unit_id),
        'year', disbursement.year,
        'amount_vnd', disbursement.amount_vnd,
        'disbursed_on', disbursement.disbursed_on,
        'decision_no', disbursement.decision_no,
        'purpose', disbursement.purpose,
        'child_id', disbursement.child_id,
        'earmarked', disbursement.earmarked,
        'in_kind', disbursement.in_kind,
        'note', disbursement.note,
        'created_at', rfc3339(disbursement.created_at))
    $$;
GRANT EXECUTE ON FUNCTION fund_disbursement_document(fund_disbursements) TO baove_app;
