-- The reminder message: Vietnamese text for people, an English field for
-- other systems, and the facts as data. `link` is where people submit the
-- report in the front-end (BAOVE_APP_URL, filled in by report_reminders), or
-- NULL when none is configured; the API path is data (`submit_path`), never
-- part of the text.
-- The signature gained `link`: the old one goes, on databases that had it.
DROP FUNCTION IF EXISTS report_reminder_message(report_periods, text, text, integer, timestamptz);
CREATE OR REPLACE FUNCTION report_reminder_message(period report_periods, commune_code text,
                                        commune_name text, offset_days integer,
                                        at timestamptz, link text)
    RETURNS jsonb LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'type', 'report.reminder',
        'timestamp', rfc3339(at),
        'data', jsonb_build_object(
            'period', period.key,
            'period_kind', period.kind,
            'unit', commune_code,
            'unit_name', commune_name,
            'due_on', period.due_on::text,
            'offset_days', offset_days,
            'days_left', greatest(-offset_days, 0),
            'days_overdue', greatest(offset_days, 0),
            'submit_path', '/v1/reports/' || period.key || '/' || commune_code || '/submit',
            'link', link,
            'subject', format('[Baove] %s %s: %s', report_name, commune_name, state_vi),
            'text', format('%s của %s (kỳ %s đến %s) hạn nộp ngày %s: %s. '
                           'Nộp báo cáo trên hệ thống Baove%s.',
                           report_name, commune_name, date_vi(period.covers_from),
                           date_vi(period.covers_to), date_vi(period.due_on), state_vi,
                           coalesce(': ' || link, '')),
            'text_en', format('%s of %s (%s to %s) is due on %s: %s. '
                              'Submit it in Baove%s.',
                              report_name_en, commune_name, period.covers_from,
                              period.covers_to, period.due_on, state_en,
                              coalesce(': ' || link, ''))))
      FROM (SELECT CASE period.kind WHEN 'semiannual' THEN 'Báo cáo sơ kết 6 tháng năm '
                                    ELSE 'Báo cáo tổng kết năm ' END || period.year
                       AS report_name,
                   CASE period.kind WHEN 'semiannual' THEN 'The 6-month report for '
                                    ELSE 'The annual report for ' END || period.year
                       AS report_name_en,
                   CASE WHEN offset_days < 0 THEN format('còn %s ngày', -offset_days)
                        WHEN offset_days = 0 THEN 'hôm nay là hạn cuối'
                        ELSE format('đã quá hạn %s ngày', offset_days) END AS state_vi,
                   CASE WHEN offset_days = -1 THEN '1 day left'
                        WHEN offset_days < 0 THEN format('%s days left', -offset_days)
                        WHEN offset_days = 0 THEN 'today is the last day'
                        WHEN offset_days = 1 THEN '1 day overdue'
                        ELSE format('%s days overdue', offset_days) END AS state_en) texts
    $$;
