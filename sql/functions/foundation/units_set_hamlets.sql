-- `baove-admin units hamlets`: records which hamlets (ấp, khóm) of a unit
-- split on `on_date` go to one of its parts, as the resolution of the
-- reorganisation lists them (the seed does not: the text must be read, not
-- guessed).  The part's list is replaced by `hamlet_names` as written;
-- they are compared folded with the records' hamlets ("Ấp Phú Hòa" = "ap phu hoa")
-- by succession_target, so `units apply` moves those records on its next
-- run.  Refused (SQLSTATE 22023, with the reason) when there is no such
-- part, a hamlet is blank or named twice, or another part of the same split
-- already lists it.  Audited as the administrator.  Returns the part.
CREATE OR REPLACE FUNCTION units_set_hamlets(predecessor_code text, successor_code text,
                                             on_date date, hamlet_names text[], now timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    part unit_successions;
    clash text;
BEGIN
    SELECT s.* INTO part
      FROM unit_successions s
      JOIN units old ON old.id = s.predecessor_id
      JOIN units new ON new.id = s.successor_id
     WHERE old.code = predecessor_code AND new.code = successor_code
       AND s.effective_on = on_date;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no succession from % to % on %', predecessor_code, successor_code,
              on_date USING ERRCODE = '22023';
    END IF;
    IF part.kind <> 'part' THEN
        RAISE EXCEPTION 'the succession from % to % on % is whole: all of % went to %',
              predecessor_code, successor_code, on_date, predecessor_code, successor_code
              USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(hamlet_names), 0) = 0
       OR EXISTS (SELECT FROM unnest(hamlet_names) h WHERE btrim(coalesce(h, '')) = '') THEN
        RAISE EXCEPTION 'name at least one hamlet, none blank' USING ERRCODE = '22023';
    END IF;
    SELECT min(h) INTO clash FROM unnest(hamlet_names) h
     GROUP BY search_fold(h) HAVING count(*) > 1 LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'the hamlet "%" is named twice', clash USING ERRCODE = '22023';
    END IF;
    SELECT format('"%s" already goes to %s', h, u.code) INTO clash
      FROM unit_successions other
      JOIN units u ON u.id = other.successor_id
     CROSS JOIN unnest(hamlet_names) h
     WHERE other.predecessor_id = part.predecessor_id AND other.effective_on = on_date
       AND other.successor_id <> part.successor_id
       AND search_fold(h) IN (SELECT search_fold(x) FROM unnest(other.hamlets) x)
     ORDER BY h LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'the hamlet %', clash USING ERRCODE = '22023';
    END IF;

    UPDATE unit_successions s SET hamlets = hamlet_names
     WHERE s.predecessor_id = part.predecessor_id AND s.successor_id = part.successor_id;
    INSERT INTO audit_log (at, actor, role, action, resource_type, unit_id, request_id, outcome)
    VALUES (now, 'baove-admin', 'admin', 'update', 'unit_successions', part.successor_id,
            format('units hamlets --from %s --to %s --on %s', predecessor_code, successor_code,
                   on_date), 'success');
    RETURN jsonb_build_object('from', predecessor_code, 'to', successor_code,
                              'on', on_date, 'kind', 'part', 'hamlets', to_jsonb(hamlet_names));
END
$$;
REVOKE EXECUTE ON FUNCTION units_set_hamlets(text, text, date, text[], timestamptz) FROM PUBLIC;
