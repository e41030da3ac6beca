-- 0019: a plan's rate targets per unit.  plan_targets holds the plan-wide
-- target of each rate (csc_rate, csc_supported_rate); a unit whose own
-- target differs (a commune with more poor households, say) has a row here,
-- written by plan_put() from the target's "units" member.  Indicators and
-- report summaries compare each unit with its own target, else with the
-- plan-wide one (plan_unit_target).  The comparator and the description stay
-- the plan's: a unit changes the threshold, not what is measured.  (Amounts
-- were already per unit: fund_targets.)
CREATE TABLE plan_unit_targets (
    year        smallint NOT NULL,
    code        text NOT NULL,
    unit_id     bigint NOT NULL REFERENCES units (id),
    numerator   bigint NOT NULL CHECK (numerator >= 0),
    denominator bigint NOT NULL CHECK (denominator > 0),
    PRIMARY KEY (year, code, unit_id),
    FOREIGN KEY (year, code) REFERENCES plan_targets (year, code) ON DELETE CASCADE
);

GRANT SELECT, INSERT, UPDATE, DELETE ON plan_unit_targets TO baove_app;
