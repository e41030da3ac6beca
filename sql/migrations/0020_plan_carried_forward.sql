-- 0020: a plan the yearly job carried forward (plan_carry_forward): from
-- 1/12 a year with no plan for the next gets the current plan's targets as
-- next year's, so that its report periods and reminders exist without hand
-- work.  `carried_forward_from` names the year copied until an officer
-- writes the plan with PUT /v1/plans/{year} (plan_put clears it).
ALTER TABLE plans ADD COLUMN carried_forward_from smallint
    CHECK (carried_forward_from IS NULL OR carried_forward_from < year);
