-- The API's representation of a child, in one place: GET, lists, write
-- responses and the change feed all use it.  `today` is the caller's "now"
-- in Asia/Ho_Chi_Minh (BAOVE_NOW in tests), for age and active consents.
-- SECURITY INVOKER (the default): row-level security applies inside.
--
-- PL/pgSQL (0010), not LANGUAGE sql: a sql function that cannot be inlined
-- (a scalar function with sub-queries) is parsed and planned again on every
-- call, row-level-security policies included; PL/pgSQL keeps the plans of
-- its statements for the session, and the API's connections are
-- long-lived (1.1 ms per call before, 0.4–0.5 ms after, on 20 000 demo
-- children).  As SECURITY DEFINER it would be faster still, but its
-- sub-queries would then skip row-level security, which stays the second
-- line of defence.
--
-- plan_cache_mode = force_generic_plan: PL/pgSQL keeps one plan per
-- statement and, like any plan cache, re-decides between a generic plan and
-- custom ones (planned for each call's values) when the statistics change.
-- After an ANALYZE of children in a lived-in database every pooled session
-- went over to custom plans, one planning per call (issue 16: 2 517 plans for
-- 2 517 calls, throughput 0.52 x for over ten minutes).  The statement looks
-- up one child by its key, where a generic plan is always right.  Measured
-- with pgbench on 100 000 + 60 000 children (4 clients, the statement of a
-- GET): custom plans 1 650 tps, the default 5 500-6 700, this setting
-- 5 400-6 600.  Set on the function, it travels with every call, through any
-- pooler, and touches no other statement.
CREATE OR REPLACE FUNCTION child_document(child children, today date) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET plan_cache_mode = force_generic_plan
    AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
            'id', child.id,
            'unit', (SELECT code FROM units WHERE units.id = child.unit_id),
            'hamlet', child.hamlet,
            'full_name', child.full_name,
            'sex', child.sex,
            'date_of_birth', child.date_of_birth,
            'ethnicity', child.ethnicity,
            'address', child.address,
            'household_head', child.household_head,
            'guardians', child.guardians,
            'household_poverty_status', child.household_poverty_status,
            'school_status', child.school_status,
            'notes', child.notes,
            'registered_on', child.registered_on,
            'age', extract(year FROM age(today, child.date_of_birth))::integer,
            'under_16', age(today, child.date_of_birth) < interval '16 years',
            'consent', (
                SELECT json_build_object(
                    'child_consent_required', age(today, child.date_of_birth) >= interval '7 years',
                    'child_consented', coalesce(bool_or(given_by = 'child'), false),
                    'parent_or_guardian_consented',
                        coalesce(bool_or(given_by IN ('parent', 'guardian')), false),
                    'legal_bases', coalesce(json_agg(DISTINCT legal_basis), '[]'::json),
                    'complete', coalesce(bool_or(legal_basis <> 'consent'), false)
                                OR (coalesce(bool_or(given_by IN ('parent', 'guardian')), false)
                                    AND (age(today, child.date_of_birth) < interval '7 years'
                                         OR coalesce(bool_or(given_by = 'child'), false))))
                  FROM child_consents consent
                 WHERE consent.child_id = child.id AND consent.given_on <= today
                   AND (consent.withdrawn_on IS NULL OR consent.withdrawn_on > today)),
            'version', child.version,
            'created_at', rfc3339(child.created_at),
            'updated_at', rfc3339(child.updated_at))
    );
END
$$;
GRANT EXECUTE ON FUNCTION child_document(children, date) TO baove_app;
