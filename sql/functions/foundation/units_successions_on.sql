-- `baove-admin units successions --on DATE`: the successions effective on a
-- date, for the administrator who must complete them: each with its kind,
-- its hamlets (parts) and note; for a split, `unmatched_hamlets` lists the
-- hamlets of live children still in the ended unit that no part names,
-- with how many children each: the names an administrator must place with
-- `units hamlets` (taken from the records, never invented).
CREATE OR REPLACE FUNCTION units_successions_on(on_date date) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'from', old.code, 'from_name', old.name, 'to', new.code, 'to_name', new.name,
               'kind', s.kind, 'hamlets', coalesce(to_jsonb(s.hamlets), '[]'),
               'note', s.note,
               'unmatched_hamlets', CASE WHEN s.kind = 'part' THEN coalesce((
                   SELECT jsonb_agg(jsonb_build_object('hamlet', w.hamlet,
                                                       'children', w.children)
                                    ORDER BY w.hamlet)
                     FROM (SELECT c.hamlet, count(*) AS children FROM children c
                            WHERE c.unit_id = old.id AND c.deleted_at IS NULL
                              AND succession_target(old.id, c.hamlet, on_date) IS NULL
                            GROUP BY c.hamlet) w), '[]') END)
               ORDER BY old.code, new.code), '[]')
      FROM unit_successions s
      JOIN units old ON old.id = s.predecessor_id
      JOIN units new ON new.id = s.successor_id
     WHERE s.effective_on = on_date
    $$;
REVOKE EXECUTE ON FUNCTION units_successions_on(date) FROM PUBLIC;
