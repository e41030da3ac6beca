-- Job function (kind case_deadline_alerts, every 15 minutes): to the
-- commune's channels, an emergency deadline 6 h and 1 h before it passes,
-- a plan submission or approval due tomorrow (Asia/Ho_Chi_Minh), and any
-- deadline missed.  The message carries the case id, the kind of deadline
-- and when it is due: never a child's name or the case's details.
--
-- Each alert is said once per deadline as it is due: its key names the due
-- time, so a deadline set again (a re-plan starts the plan approval and
-- review clocks again, api/cases/deadlines.c) is alerted again.  Keys
-- written before they named it (case:<id>:<kind>:<alert>:<channel>) still
-- count for the same due time, read back from the message.
CREATE OR REPLACE FUNCTION case_deadline_alerts(payload jsonb, now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    alert record;
    messages integer := 0;
BEGIN
    FOR alert IN
        WITH open_deadlines AS (
            SELECT d.case_id, d.kind, d.due_at, c.unit_id
              FROM case_deadlines d JOIN cases c ON c.id = d.case_id
             WHERE d.met_at IS NULL AND c.status <> 'closed')
        SELECT o.*, a.alert FROM open_deadlines o
          CROSS JOIN LATERAL (VALUES
              (CASE WHEN o.due_at <= now THEN 'missed' END),
              (CASE WHEN o.kind = 'emergency' AND o.due_at > now
                         AND o.due_at - interval '1 hour' <= now THEN 'due_in_1h' END),
              (CASE WHEN o.kind = 'emergency' AND o.due_at - interval '1 hour' > now
                         AND o.due_at - interval '6 hours' <= now THEN 'due_in_6h' END),
              (CASE WHEN o.kind IN ('plan_submission', 'plan_approval') AND o.due_at > now
                         AND (o.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = today + 1
                    THEN 'due_tomorrow' END)) a (alert)
         WHERE a.alert IS NOT NULL
    LOOP
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM notification_channels c
              JOIN notifications n
                ON n.dedup_key = format('case:%s:%s:%s:%s', alert.case_id, alert.kind,
                                        alert.alert, c.id)
             WHERE c.unit_id = alert.unit_id
               AND n.payload -> 'data' ->> 'due_at' = rfc3339(alert.due_at));
        messages := messages + notify_unit(
            alert.unit_id, 'case.deadline',
            format('case:%s:%s:%s:%s', alert.case_id, alert.kind, alert.alert,
                   extract(epoch FROM alert.due_at)::bigint),
            jsonb_build_object(
                'type', 'case.deadline',
                'timestamp', rfc3339(now),
                'data', jsonb_build_object(
                    'case_id', alert.case_id, 'deadline', alert.kind,
                    'due_at', rfc3339(alert.due_at), 'alert', alert.alert,
                    'subject', format('[Baove] Hồ sơ %s: %s', alert.case_id,
                                      CASE alert.alert WHEN 'missed' THEN 'đã quá hạn'
                                                       ELSE 'sắp đến hạn' END),
                    'text', format('Hồ sơ %s: thời hạn %s %s lúc %s.', alert.case_id,
                                   CASE alert.kind
                                       WHEN 'emergency' THEN 'can thiệp khẩn cấp'
                                       WHEN 'plan_submission' THEN 'trình kế hoạch hỗ trợ'
                                       WHEN 'plan_approval' THEN 'phê duyệt kế hoạch'
                                       ELSE 'rà soát' END,
                                   CASE alert.alert WHEN 'missed' THEN 'đã quá hạn'
                                                    ELSE 'đến hạn' END,
                                   to_char(alert.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh',
                                           'HH24:MI DD/MM/YYYY')),
                    'text_en', format('Case %s: the %s deadline %s at %s.', alert.case_id,
                                      replace(alert.kind, '_', ' '),
                                      CASE alert.alert WHEN 'missed' THEN 'was missed'
                                                       ELSE 'is due' END,
                                      rfc3339(alert.due_at)))),
            now);
    END LOOP;
    RETURN jsonb_build_object('notifications', messages);
END
$$;
GRANT EXECUTE ON FUNCTION case_deadline_alerts(jsonb, timestamptz) TO baove_app;
