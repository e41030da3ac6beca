-- Where a record of `predecessor` goes under the successions effective on
-- `on_date`: the one successor of a whole succession, or, for a split, the
-- part whose hamlets hold the record's hamlet (compared folded: "Ấp Phú
-- Lợi" = "ap phu loi").  NULL when the unit does not end then, when a
-- split has no hamlet rule for it, or when the record has no hamlet.
CREATE OR REPLACE FUNCTION succession_target(predecessor bigint, hamlet text, on_date date)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT s.successor_id FROM unit_successions s
     WHERE s.predecessor_id = predecessor AND s.effective_on = on_date
       AND ((s.kind = 'whole'
             AND NOT EXISTS (SELECT 1 FROM unit_successions other
                              WHERE other.predecessor_id = predecessor
                                AND other.effective_on = on_date
                                AND other.successor_id <> s.successor_id))
            OR (s.kind = 'part' AND hamlet IS NOT NULL
                AND search_fold(hamlet) IN (SELECT search_fold(h) FROM unnest(s.hamlets) h)))
     ORDER BY s.successor_id
     LIMIT 1
    $$;
