-- Every key of a breakdown, zeros included, from a sparse breakdown.
CREATE OR REPLACE FUNCTION indicator_breakdown(sparse jsonb, prefix text, keys text[])
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(jsonb_object_agg(k.key, coalesce((sparse ->> (prefix || k.key))::bigint, 0)),
                    '{}')
      FROM unnest(keys) k (key)
    $$;
