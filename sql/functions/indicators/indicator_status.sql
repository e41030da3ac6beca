-- The status of a figure against its target (see the header of migration
-- 0008_indicators.sql), decided exactly by cross-multiplying (numeric: no
-- overflow).  `elapsed` of the period's `length` days have passed on the
-- rollup's day; `ended` when the period ended before it.  One expression:
-- the planner inlines it.
CREATE OR REPLACE FUNCTION indicator_status(numerator bigint, denominator bigint, comparator text,
                                 target_numerator bigint, target_denominator bigint,
                                 elapsed integer, length integer, ended boolean)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN comparator IS NULL THEN NULL
        WHEN denominator = 0 THEN 'no_data'
        -- A ceiling, or any target once the period has ended: compare now.
        WHEN ended OR comparator IN ('lt', 'le') THEN
             CASE WHEN CASE comparator
                      WHEN 'lt' THEN numerator::numeric * target_denominator
                                     < target_numerator::numeric * denominator
                      WHEN 'le' THEN numerator::numeric * target_denominator
                                     <= target_numerator::numeric * denominator
                      WHEN 'ge' THEN numerator::numeric * target_denominator
                                     >= target_numerator::numeric * denominator
                      ELSE numerator::numeric * target_denominator
                           > target_numerator::numeric * denominator END
                  THEN CASE WHEN ended THEN 'met' ELSE 'on_track' END
                  ELSE 'not_met' END
        -- A floor while the period runs: against the target pro rata.
        WHEN CASE comparator
                 WHEN 'ge' THEN numerator::numeric * target_denominator * length
                                >= target_numerator::numeric * denominator * elapsed
                 ELSE numerator::numeric * target_denominator * length
                      > target_numerator::numeric * denominator * elapsed END
             THEN 'on_track'
        ELSE 'not_met' END
    $$;
