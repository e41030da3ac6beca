-- The API's representation of a case.  with_confidential: the reporter's
-- identity, only for the roles that may see it.
--
-- The representation lists the case's deadlines and the services of its
-- plan (0004).  PL/pgSQL for the same reason as child_document (0010), and
-- generic plans only for the same reason as child_document.
CREATE OR REPLACE FUNCTION case_document(c cases, now timestamptz, with_confidential boolean)
    RETURNS json LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET plan_cache_mode = force_generic_plan
    AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
            'id', c.id,
            'child_id', c.child_id,
            'unit', (SELECT code FROM units WHERE units.id = c.unit_id),
            'received_at', rfc3339(c.received_at),
            'source', c.source,
            'reporter', CASE WHEN with_confidential THEN c.reporter END,
            'concerns', to_json(c.concerns),
            'summary', c.summary,
            'status', c.status,
            'assigned_to', (SELECT username FROM principals WHERE principals.id = c.assigned_to),
            'serious_risk', c.serious_risk,
            'emergency', coalesce(c.serious_risk, false),
            'forms', c.forms,
            'closed_reason', c.closed_reason,
            'deadlines', (SELECT coalesce(json_agg(json_build_object(
                              'kind', d.kind, 'due_at', rfc3339(d.due_at),
                              'met_at', rfc3339(d.met_at),
                              'state', deadline_state(d.due_at, d.met_at, now))
                              ORDER BY d.due_at), '[]')
                            FROM case_deadlines d WHERE d.case_id = c.id),
            'services', (SELECT coalesce(json_agg(json_build_object(
                              'id', s.id, 'measure', s.measure,
                              'provider_sector', s.provider_sector, 'responsible', s.responsible,
                              'planned_on', s.planned_on, 'delivered_on', s.delivered_on,
                              'status', s.status, 'note', s.note, 'support_id', s.support_id,
                              'version', s.version) ORDER BY s.created_at, s.id), '[]')
                            FROM case_services s WHERE s.case_id = c.id),
            'version', c.version,
            'created_at', rfc3339(c.created_at),
            'updated_at', rfc3339(c.updated_at))
    );
END
$$;
GRANT EXECUTE ON FUNCTION case_document(cases, timestamptz, boolean) TO baove_app;
