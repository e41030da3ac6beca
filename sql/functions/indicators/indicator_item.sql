-- One item of GET /v1/indicators.  scale: 'count' (value = numerator,
-- denominator null), 'per_mille' (value = round half up of 1000 *
-- numerator / denominator, null when the denominator is 0).  target:
-- {comparator, numerator, denominator} or null; its value is put on the
-- indicator's scale.
CREATE OR REPLACE FUNCTION indicator_item(code text, scale text, numerator bigint, denominator bigint,
                               target jsonb, status text, breakdown jsonb)
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object(
        'code', code, 'scale', scale, 'numerator', numerator, 'denominator', denominator,
        'value', CASE WHEN scale <> 'per_mille' THEN numerator
                      WHEN denominator > 0 THEN (2000 * numerator + denominator) / (2 * denominator)
                 END,
        'target', CASE WHEN target IS NOT NULL THEN target || jsonb_build_object(
                      'value', CASE WHEN scale = 'per_mille'
                                    THEN (2000 * (target ->> 'numerator')::bigint
                                          + (target ->> 'denominator')::bigint)
                                         / (2 * (target ->> 'denominator')::bigint)
                                    ELSE (target ->> 'numerator')::bigint
                                         / (target ->> 'denominator')::bigint END) END,
        'status', status)
        || CASE WHEN breakdown IS NOT NULL THEN jsonb_build_object('breakdown', breakdown)
                ELSE '{}'::jsonb END
    $$;
