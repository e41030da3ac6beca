-- Job function (kind report_reminders, daily at 07:00): for every period,
-- the most recent offset reached today; each commune that has not
-- submitted and was not reminded at that offset or a later one gets the
-- reminder on its channels (before the due date) and also on those of the
-- unit it reports to in the period's tree (after it): its parent, since a
-- commune of the period's tree is one valid on its cut-off.  That is the
-- district (huyện) before 1/7/2025 and the province (82) since, when the
-- district level ended.  A period whose last offset passed more than a
-- day ago is left alone: a worker started late stays silent about it.
CREATE OR REPLACE FUNCTION report_reminders(payload jsonb, now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    period report_periods;
    reached integer;
    last_offset integer;
    commune record;
    reminded integer := 0;
    messages integer := 0;
    message jsonb;
    message_key text;
BEGIN
    FOR period IN SELECT * FROM report_periods ORDER BY due_on LOOP
        SELECT max(r.offset_days) FILTER (WHERE period.due_on + r.offset_days <= today),
               max(r.offset_days)
          INTO reached, last_offset
          FROM report_reminder_rules r WHERE r.period_kind = period.kind;
        CONTINUE WHEN reached IS NULL OR today > period.due_on + last_offset + 1;
        FOR commune IN
            SELECT u.id, u.code, u.name, u.parent_id FROM units u
             WHERE u.kind IN ('commune', 'township', 'ward')
               AND u.valid_from <= period.covers_to
               AND (u.valid_to IS NULL OR u.valid_to >= period.covers_to)
               AND NOT EXISTS (SELECT 1 FROM reports r
                                WHERE r.period_key = period.key AND r.unit_id = u.id
                                  AND r.status IN ('submitted', 'accepted'))
               AND NOT EXISTS (SELECT 1 FROM report_reminders s
                                WHERE s.period_key = period.key AND s.unit_id = u.id
                                  AND s.offset_days >= reached)
             ORDER BY u.code
        LOOP
            INSERT INTO report_reminders (period_key, unit_id, offset_days, created_at)
            VALUES (period.key, commune.id, reached, now)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;
            reminded := reminded + 1;
            -- The front-end's page of the report: the worker's BAOVE_APP_URL
            -- template (payload app_url), {period} and {unit} filled in.
            message := report_reminder_message(
                period, commune.code, commune.name, reached, now,
                replace(replace(payload ->> 'app_url', '{period}', period.key),
                        '{unit}', commune.code));
            -- The due date is in the key: a reminder forgotten when the date
            -- moved (api/reporting/report_periods.c) goes out again.
            message_key := format('report:%s:%s:%s:%s', period.key, commune.code,
                                  period.due_on, reached);
            messages := messages + notify_unit(commune.id, 'report.reminder', message_key,
                                               message, now);
            IF reached > 0 AND commune.parent_id IS NOT NULL THEN
                messages := messages + notify_unit(commune.parent_id, 'report.reminder',
                                                   message_key, message, now);
            END IF;
        END LOOP;
    END LOOP;
    RETURN jsonb_build_object('reminded', reminded, 'notifications', messages);
END
$$;
GRANT EXECUTE ON FUNCTION report_reminders(jsonb, timestamptz) TO baove_app;
