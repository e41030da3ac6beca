-- Job function (kind fund_instalment_reminders, daily at 07:00): pledge
-- instalments falling due within 7 days, and overdue ones, to the receiving
-- unit's channels — once as "due soon" and once as "overdue" per instalment,
-- ever.  The message names the pledge, the instalment and the amount still
-- open, never the donor.  Reads the fund through fund_instalments_due()
-- (0005), which bypasses row-level security for the worker.
CREATE OR REPLACE FUNCTION fund_instalment_reminders(payload jsonb, now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    due record;
    state text;
    open_vnd bigint;
    amount_text text;
    messages integer := 0;
BEGIN
    FOR due IN SELECT * FROM fund_instalments_due(today, 7) LOOP
        state := CASE WHEN due.due_on < today THEN 'overdue' ELSE 'due_soon' END;
        open_vnd := due.amount_vnd - due.paid_vnd;
        -- 3.000.000 đồng: Vietnamese digit grouping.
        amount_text := replace(to_char(open_vnd, 'FM999,999,999,999,999'), ',', '.');
        messages := messages + notify_unit(
            due.unit_id, 'fund.instalment',
            format('fund:%s:%s', due.instalment_id, state),
            jsonb_build_object(
                'type', 'fund.instalment',
                'timestamp', rfc3339(now),
                'data', jsonb_build_object(
                    'pledge_id', due.pledge_id, 'instalment_id', due.instalment_id,
                    'due_on', due.due_on::text, 'amount_vnd', due.amount_vnd,
                    'paid_vnd', due.paid_vnd, 'open_vnd', open_vnd, 'state', state,
                    'days_left', greatest(due.due_on - today, 0),
                    'days_overdue', greatest(today - due.due_on, 0),
                    'subject', format('[Baove] Khoản vận động đến hạn %s', date_vi(due.due_on)),
                    'text', format('Đợt đóng góp của cam kết %s %s ngày %s: còn %s đồng chưa thu.',
                                   due.pledge_id,
                                   CASE state WHEN 'overdue' THEN 'đã quá hạn từ'
                                              ELSE 'đến hạn' END,
                                   date_vi(due.due_on), amount_text),
                    'text_en', format('An instalment of pledge %s %s %s: %s VND still open.',
                                      due.pledge_id,
                                      CASE state WHEN 'overdue' THEN 'was due on'
                                                 ELSE 'is due on' END,
                                      due.due_on, open_vnd))),
            now);
    END LOOP;
    RETURN jsonb_build_object('notifications', messages);
END
$$;
GRANT EXECUTE ON FUNCTION fund_instalment_reminders(jsonb, timestamptz) TO baove_app;
