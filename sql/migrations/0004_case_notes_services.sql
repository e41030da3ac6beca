-- 0004: what a case accumulates besides its steps: confidential case notes,
-- the services of its plan (a delivered service is also a support of the
-- child: one source of truth for the "93 % supported" indicator), and cases
-- in the change feed.

CREATE TABLE case_notes (
    id         uuid PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases (id),
    author     text NOT NULL,
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 8000),
    created_at timestamptz NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, created_at);

CREATE TABLE case_services (
    id              uuid PRIMARY KEY,
    case_id         uuid NOT NULL REFERENCES cases (id),
    measure         text NOT NULL CHECK (measure IN ('medical_care', 'psychological_therapy',
                        'safe_shelter', 'alternative_care', 'parent_counselling', 'legal_aid',
                        'education_support', 'material_aid', 'vocational_training', 'other')),
    provider_sector text NOT NULL CHECK (provider_sector IN ('labour', 'health', 'education',
                        'justice', 'police', 'union', 'ngo', 'other')),
    responsible     text NOT NULL CHECK (length(responsible) BETWEEN 1 AND 200),
    planned_on      date NOT NULL,
    delivered_on    date,
    status          text NOT NULL CHECK (status IN ('planned', 'delivered', 'cancelled')),
    note            text CHECK (length(note) <= 4000),
    support_id      uuid REFERENCES child_supports (id),  -- the support a delivery created
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((status = 'delivered') = (delivered_on IS NOT NULL))
);
CREATE INDEX case_services_case ON case_services (case_id);

-- A support that a delivered case service created points back to both.
ALTER TABLE child_supports ADD COLUMN case_id uuid REFERENCES cases (id),
                           ADD COLUMN case_service_id uuid;

ALTER TABLE case_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY case_notes_in_scope ON case_notes USING (case_id IN (SELECT id FROM cases));
ALTER TABLE case_services ENABLE ROW LEVEL SECURITY;
CREATE POLICY case_services_in_scope ON case_services USING (case_id IN (SELECT id FROM cases));

ALTER TABLE change_log DROP CONSTRAINT change_log_resource_type_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_resource_type_check
    CHECK (resource_type IN ('children', 'circumstances', 'risks', 'supports', 'cases'));

GRANT SELECT, INSERT ON case_notes TO baove_app;
GRANT SELECT, INSERT, UPDATE ON case_services TO baove_app;

-- The case representation now lists its services.
CREATE OR REPLACE FUNCTION case_document(c cases, now timestamptz, with_confidential boolean)
    RETURNS json LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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
    $$;
