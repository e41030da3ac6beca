-- 0015: the working-day calendar of any year.  By default the API computes
-- a year's days off (common/working_calendar.c: Labour Code 2019 Art. 112,
-- the lunar dates at UTC+07:00).  A year listed in calendar_years follows
-- the Prime Minister's decision instead: its days off are exactly its rows
-- of public_holidays and its make-up working days (ngày làm bù) those of
-- calendar_working_days, written by PUT /v1/calendar/{year}.
CREATE TABLE calendar_years (
    year       smallint PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    decision   text NOT NULL CHECK (length(decision) BETWEEN 1 AND 300),
    version    bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendar_working_days (
    day  date PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    CHECK (extract(isodow FROM day) IN (6, 7))
);

-- The years already stored (2020, seeded from the decision of that year).
INSERT INTO calendar_years (year, decision)
SELECT DISTINCT extract(year FROM day)::smallint, 'as seeded' FROM public_holidays;

GRANT SELECT, INSERT, UPDATE ON calendar_years TO baove_app;
GRANT SELECT, INSERT, DELETE ON public_holidays, calendar_working_days TO baove_app;
