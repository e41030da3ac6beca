-- Plan 2020, section III.9: 6-month report before 13/5, annual report
-- before 12/11.  Cut-offs: the end of the month before the due date (the
-- plan names none; district officers change them with PUT
-- /v1/report-periods/{key}).  Re-seeding keeps edits: only missing rows
-- are inserted.
INSERT INTO report_periods (key, year, kind, covers_from, covers_to, due_on) VALUES
    ('2020S1', 2020, 'semiannual', '2020-01-01', '2020-04-30', '2020-05-13'),
    ('2020',   2020, 'annual',     '2020-01-01', '2020-10-31', '2020-11-12')
ON CONFLICT (key) DO NOTHING;
