-- 0007: reporting periods of a plan year.  Communes send a 6-month report
-- (báo cáo sơ kết 6 tháng) before 13/5 and an annual report (báo cáo tổng
-- kết năm) before 12/11.  A report covers covers_from..covers_to (the
-- cut-off date, configurable); indicator rollups compute a snapshot for
-- every period's cut-off, which is what a submitted report freezes.
CREATE TABLE report_periods (
    key         text PRIMARY KEY CHECK (key ~ '^[0-9]{4}(S1)?$'),  -- "2020S1", "2020"
    year        smallint NOT NULL REFERENCES plans (year),
    kind        text NOT NULL CHECK (kind IN ('semiannual', 'annual')),
    covers_from date NOT NULL,
    covers_to   date NOT NULL,  -- the cut-off date: data up to this day is reported
    due_on      date NOT NULL,  -- reports are on time when submitted before this day ends
    version     bigint NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (covers_from <= covers_to),
    CHECK (key = year::text || CASE kind WHEN 'semiannual' THEN 'S1' ELSE '' END),
    CHECK (extract(year FROM covers_from) = year AND extract(year FROM covers_to) = year)
);

GRANT SELECT, INSERT, UPDATE ON report_periods TO baove_app;
