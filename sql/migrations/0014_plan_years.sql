-- 0014: plan years as data.  A plan year (kế hoạch năm) is written through
-- PUT /v1/plans/{year} (or plan_put() by the seed, the same path): its
-- title, its indicator targets, the fund's mobilisation targets per unit,
-- and the year's report periods, created from rules.  Plans get a version
-- for If-Match.
ALTER TABLE plans ADD COLUMN version bigint NOT NULL DEFAULT 1,
                  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The reporting cycle's rules, the same every year: the 6-month report
-- (báo cáo sơ kết 6 tháng) is due before 13/5 and the annual one (báo cáo
-- tổng kết năm) before 12/11; each covers the year from covers_from to its
-- cut-off.  A year's periods are created from these (report_periods_from_rules)
-- and are then edited per year with PUT /v1/report-periods/{key}.
CREATE TABLE report_period_rules (
    kind              text PRIMARY KEY CHECK (kind IN ('semiannual', 'annual')),
    covers_from_month smallint NOT NULL CHECK (covers_from_month BETWEEN 1 AND 12),
    covers_from_day   smallint NOT NULL CHECK (covers_from_day BETWEEN 1 AND 28),
    cutoff_month      smallint NOT NULL CHECK (cutoff_month BETWEEN 1 AND 12),
    cutoff_day        smallint NOT NULL CHECK (cutoff_day BETWEEN 1 AND 31),
    due_month         smallint NOT NULL CHECK (due_month BETWEEN 1 AND 12),
    due_day           smallint NOT NULL CHECK (due_day BETWEEN 1 AND 28),
    -- Every year has these days (no 29/2), and the report is due after its cut-off.
    CHECK (make_date(2001, cutoff_month, cutoff_day) < make_date(2001, due_month, due_day)),
    CHECK (make_date(2001, covers_from_month, covers_from_day)
           <= make_date(2001, cutoff_month, cutoff_day))
);

-- Plan 2020, section III.9; the cut-offs are the end of the month before
-- the due date (the plan names none).
INSERT INTO report_period_rules VALUES
    ('semiannual', 1, 1, 4, 30, 5, 13),
    ('annual',     1, 1, 10, 31, 11, 12);

-- The yearly job: every plan year has its periods (idempotent; it runs
-- daily so a plan written by any path gets them the next morning).
INSERT INTO schedules (name, job_kind, daily_at) VALUES
    ('report_periods_from_rules', 'report_periods_from_rules', '01:00');

GRANT SELECT ON report_period_rules TO baove_app;
GRANT INSERT, UPDATE ON plans TO baove_app;
GRANT INSERT, UPDATE, DELETE ON plan_targets TO baove_app;
GRANT DELETE ON fund_targets TO baove_app;
