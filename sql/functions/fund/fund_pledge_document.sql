-- A pledge's sums are over at most its instalments (each ≤ 10^12, their
-- total = the pledge's amount ≤ 10^12): bigint is safe.
--
-- Voided payments (0012) count nowhere in its sums.
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
GRANT EXECUTE ON FUNCTION fund_pledge_document(fund_pledges, date) TO baove_app;
