-- 0009: commune reports, notification channels, the notification outbox and
-- the reminders that fill it.
--
-- A commune's report for a period moves draft → submitted → (returned →
-- submitted)* → accepted.  Submitting freezes the commune's indicator
-- snapshot for the period's cut-off into the report.  Notifications are
-- outbox rows written in the same transaction as what causes them; the
-- worker delivers them (webhooks signed per Standard Webhooks, e-mail over
-- SMTP).  "Now" is always a parameter (the caller's clock, BAOVE_NOW in
-- tests), never the database's now().

CREATE TABLE reports (
    id              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), -- for the audit log
    period_key      text NOT NULL REFERENCES report_periods (key),
    unit_id         bigint NOT NULL REFERENCES units (id),
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'submitted', 'returned', 'accepted')),
    -- kết quả, khó khăn/vướng mắc, đề xuất
    narrative       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(narrative) = 'object'),
    -- counts of activities (gifts, forums, Month of Action events)
    activities      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(activities) = 'object'),
    indicators      jsonb,          -- frozen at the last submission
    submitted_at    timestamptz,    -- the last submission
    first_submitted_at timestamptz,
    on_time         boolean,        -- of the last submission
    submissions     integer NOT NULL DEFAULT 0 CHECK (submissions >= 0),
    returned_reason text CHECK (length(returned_reason) <= 2000),
    returned_at     timestamptz,
    accepted_at     timestamptz,
    reviewed_by     text,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (period_key, unit_id),
    CHECK ((status = 'draft') = (submitted_at IS NULL)),
    CHECK ((submitted_at IS NULL) = (on_time IS NULL))
);
CREATE INDEX reports_unit ON reports (unit_id);

-- A commune sees its own reports, the district all of its communes'.
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY reports_in_scope ON reports
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));

-- The API's representation of a report, in one place.
CREATE FUNCTION report_document(report reports) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'period', report.period_key,
        'unit', u.code,
        'unit_name', u.name,
        'status', report.status,
        'narrative', report.narrative,
        'activities', report.activities,
        'indicators', report.indicators,
        'submitted_at', rfc3339(report.submitted_at),
        'on_time', report.on_time,
        'submissions', report.submissions,
        'returned_reason', report.returned_reason,
        'returned_at', rfc3339(report.returned_at),
        'accepted_at', rfc3339(report.accepted_at),
        'reviewed_by', report.reviewed_by,
        'version', report.version,
        'updated_at', rfc3339(report.updated_at))
      FROM units u WHERE u.id = report.unit_id
    $$;

CREATE FUNCTION report_period_document(period report_periods) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'key', period.key, 'year', period.year, 'kind', period.kind,
        'covers_from', period.covers_from::text, 'covers_to', period.covers_to::text,
        'due_on', period.due_on::text, 'version', period.version)
    $$;

-- The communes (communes, townships, wards) under a unit valid on a day:
-- the reports a period expects.
CREATE FUNCTION expected_communes(root bigint, on_day date)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT u.id, u.code, u.name, u.parent_id FROM unit_subtree(root, on_day) s
      JOIN units u ON u.id = s.id
     WHERE u.kind IN ('commune', 'township', 'ward')
    $$;

-- ---- notification channels ------------------------------------------------

CREATE TABLE notification_channels (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    unit_id         bigint NOT NULL REFERENCES units (id),
    name            text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    kind            text NOT NULL CHECK (kind IN ('webhook', 'email')),
    url             text CHECK (length(url) <= 2000),
    address         text CHECK (length(address) <= 254),
    -- The webhook signing secret ("whsec_" + base64 of 32 random bytes).
    -- Shown once, when the channel is created; only the worker reads it.
    secret          text,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (unit_id, name),
    CHECK ((kind = 'webhook') = (url IS NOT NULL AND secret IS NOT NULL)),
    CHECK ((kind = 'email') = (address IS NOT NULL))
);

-- ---- the outbox -------------------------------------------------------------

-- One row per message per channel.  The id is the webhook-id: stable
-- across retries, so receivers deduplicate on it.  dedup_key makes every
-- cause write its message at most once, ever.
CREATE TABLE notifications (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    unit_id          bigint NOT NULL REFERENCES units (id),     -- the channel's unit
    channel_id       uuid REFERENCES notification_channels (id) ON DELETE SET NULL,
    kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z_.]{0,62}$'),
    payload          jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed', 'dead', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    -- A worker sending it holds it until lease_expires_at; a lease that
    -- ran out (the worker died mid-send) lets another worker claim it.
    leased_by        text,
    lease_expires_at timestamptz,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    dedup_key        text NOT NULL UNIQUE CHECK (length(dedup_key) <= 300)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX notifications_list ON notifications (unit_id, created_at DESC, id);

-- Writes one message to every enabled channel of a unit.  Returns how many
-- rows were written (0 when the unit has no channel, or the message was
-- already written under the same key).
CREATE FUNCTION notify_unit(target_unit bigint, message_kind text, message_key text,
                            message jsonb, at timestamptz)
    RETURNS integer LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $$
DECLARE
    written integer;
BEGIN
    INSERT INTO notifications (unit_id, channel_id, kind, payload, next_attempt_at,
                               created_at, dedup_key)
    SELECT target_unit, c.id, message_kind, message, at, at, message_key || ':' || c.id
      FROM notification_channels c
     WHERE c.unit_id = target_unit AND c.enabled
    ON CONFLICT (dedup_key) DO NOTHING;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 THEN
        PERFORM pg_notify('baove_worker', 'notification');
    END IF;
    RETURN written;
END
$$;

-- ---- report reminders -------------------------------------------------------

-- Offsets in days relative to the due date, per period kind.
CREATE TABLE report_reminder_rules (
    period_kind text NOT NULL CHECK (period_kind IN ('semiannual', 'annual')),
    offset_days integer NOT NULL CHECK (offset_days BETWEEN -90 AND 90),
    PRIMARY KEY (period_kind, offset_days)
);
INSERT INTO report_reminder_rules (period_kind, offset_days)
SELECT kind, offset_days
  FROM unnest(ARRAY['semiannual', 'annual']) kind,
       unnest(ARRAY[-14, -7, -3, -1, 0, 1, 3, 7]) offset_days;

-- Each (period, unit, offset) reminded at most once, ever — whether or
-- not the unit had a channel then.
CREATE TABLE report_reminders (
    period_key  text NOT NULL REFERENCES report_periods (key),
    unit_id     bigint NOT NULL REFERENCES units (id),
    offset_days integer NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (period_key, unit_id, offset_days)
);

-- dd/mm/yyyy, as Vietnamese forms write dates.
CREATE FUNCTION date_vi(day date) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(day, 'DD/MM/YYYY') $$;

-- The reminder message: Vietnamese text for people, an English field for
-- other systems, and the facts as data.
CREATE FUNCTION report_reminder_message(period report_periods, commune_code text,
                                        commune_name text, offset_days integer,
                                        at timestamptz)
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
            'subject', format('[Baove] %s %s: %s', report_name, commune_name, state_vi),
            'text', format('%s của %s (kỳ %s đến %s) hạn nộp ngày %s: %s. '
                           'Nộp báo cáo trên hệ thống Baove: /v1/reports/%s/%s.',
                           report_name, commune_name, date_vi(period.covers_from),
                           date_vi(period.covers_to), date_vi(period.due_on), state_vi,
                           period.key, commune_code),
            'text_en', format('%s of %s (%s to %s) is due on %s: %s. '
                              'Submit it in Baove: /v1/reports/%s/%s.',
                              report_name_en, commune_name, period.covers_from,
                              period.covers_to, period.due_on, state_en,
                              period.key, commune_code)))
      FROM (SELECT CASE period.kind WHEN 'semiannual' THEN 'Báo cáo sơ kết 6 tháng năm '
                                    ELSE 'Báo cáo tổng kết năm ' END || period.year
                       AS report_name,
                   CASE period.kind WHEN 'semiannual' THEN 'The 6-month report for '
                                    ELSE 'The annual report for ' END || period.year
                       AS report_name_en,
                   CASE WHEN offset_days < 0 THEN format('còn %s ngày', -offset_days)
                        WHEN offset_days = 0 THEN 'hôm nay là hạn cuối'
                        ELSE format('đã quá hạn %s ngày', offset_days) END AS state_vi,
                   CASE WHEN offset_days < 0 THEN format('%s days left', -offset_days)
                        WHEN offset_days = 0 THEN 'today is the last day'
                        ELSE format('%s days overdue', offset_days) END AS state_en) texts
    $$;

-- Job function (kind report_reminders, daily at 07:00): for every period,
-- the most recent offset reached today; each commune that has not
-- submitted and was not reminded at that offset or a later one gets the
-- reminder on its channels (before the due date) and also on its
-- district's (after it).  A period whose last offset passed more than a
-- day ago is left alone: a worker started late stays silent about it.
CREATE FUNCTION report_reminders(payload jsonb, now timestamptz) RETURNS jsonb
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
            message := report_reminder_message(period, commune.code, commune.name, reached,
                                               now);
            message_key := format('report:%s:%s:%s', period.key, commune.code, reached);
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

-- Job function (kind case_deadline_alerts, every 15 minutes): to the
-- commune's channels, an emergency deadline 6 h and 1 h before it passes,
-- a plan submission or approval due tomorrow (Asia/Ho_Chi_Minh), and any
-- deadline missed.  The message carries the case id, the kind of deadline
-- and when it is due: never a child's name or the case's details.
CREATE FUNCTION case_deadline_alerts(payload jsonb, now timestamptz) RETURNS jsonb
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
        messages := messages + notify_unit(
            alert.unit_id, 'case.deadline',
            format('case:%s:%s:%s', alert.case_id, alert.kind, alert.alert),
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

-- Job function (kind fund_instalment_reminders, daily at 07:00): pledge
-- instalments falling due within 7 days, and overdue ones, to the receiving
-- unit's channels — once as "due soon" and once as "overdue" per instalment,
-- ever.  The message names the pledge, the instalment and the amount still
-- open, never the donor.  Reads the fund through fund_instalments_due()
-- (0005), which bypasses row-level security for the worker.
CREATE FUNCTION fund_instalment_reminders(payload jsonb, now timestamptz) RETURNS jsonb
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

-- The daily reminder run at 07:00 in Asia/Ho_Chi_Minh; case alerts every
-- 15 minutes so that the 6 h and 1 h emergency alerts fall in time.
INSERT INTO schedules (name, job_kind, daily_at) VALUES
    ('report_reminders', 'report_reminders', '07:00'),
    ('fund_instalment_reminders', 'fund_instalment_reminders', '07:00');
INSERT INTO schedules (name, job_kind, every) VALUES
    ('case_deadline_alerts', 'case_deadline_alerts', interval '15 minutes');

GRANT SELECT, INSERT, UPDATE ON reports TO baove_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_channels TO baove_app;
GRANT SELECT, INSERT, UPDATE ON notifications TO baove_app;
GRANT SELECT ON report_reminder_rules, report_reminders TO baove_app;
GRANT EXECUTE ON FUNCTION report_reminders(jsonb, timestamptz),
                          case_deadline_alerts(jsonb, timestamptz),
                          fund_instalment_reminders(jsonb, timestamptz),
                          report_document(reports), report_period_document(report_periods),
                          expected_communes(bigint, date), date_vi(date) TO baove_app;
REVOKE EXECUTE ON FUNCTION notify_unit(bigint, text, text, jsonb, timestamptz) FROM PUBLIC;
