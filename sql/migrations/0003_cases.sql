-- 0003: case management (Decree 56/2017/NĐ-CP, Arts. 25–32): one child's
-- protection process from the first report to closure, its append-only
-- history, its legal deadlines, the services of its plan, and case notes.

CREATE TABLE cases (
    id            uuid PRIMARY KEY,
    child_id      uuid NOT NULL REFERENCES children (id),
    unit_id       bigint NOT NULL REFERENCES units (id),  -- the commune managing the case
    received_at   timestamptz NOT NULL,
    source        text NOT NULL CHECK (source IN ('hotline_111', 'police', 'school',
                      'health_facility', 'community', 'family', 'self', 'other')),
    reporter      jsonb,                                  -- confidential: name, relation, phone
    concerns      text[] NOT NULL CHECK (cardinality(concerns) > 0 AND concerns <@ ARRAY[
                      'violence', 'sexual_abuse', 'exploitation', 'trafficking', 'neglect',
                      'abandonment', 'other']),
    summary       text NOT NULL CHECK (length(summary) BETWEEN 1 AND 4000),
    status        text NOT NULL CHECK (status IN ('received', 'initial_assessed',
                      'emergency_applied', 'detailed_assessed', 'plan_submitted',
                      'plan_approved', 'in_progress', 'reviewed', 'closed')),
    assigned_to   uuid REFERENCES principals (id),
    serious_risk  boolean,                                -- from the initial assessment
    forms         jsonb NOT NULL DEFAULT '{}',            -- the current form of each step
    closed_reason text CHECK (closed_reason IN ('safe_and_stable', 'unfounded', 'duplicate',
                      'moved', 'turned_16', 'deceased', 'other')),
    version       bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX cases_unit ON cases (unit_id, id);
CREATE INDEX cases_child ON cases (child_id);

-- Every transition and change, never updated: who, when, from, to, note.
CREATE TABLE case_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases (id),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('received', 'transition', 'updated',
                                                'assigned', 'transferred')),
    from_status text,
    to_status   text,
    note        text,
    details     jsonb
);
CREATE INDEX case_history_case ON case_history (case_id, id);

-- Legal deadlines: `due_at` as computed when the step that starts the clock
-- happened; `met_at` when the step that stops it happened.
CREATE TABLE case_deadlines (
    case_id uuid NOT NULL REFERENCES cases (id),
    kind    text NOT NULL CHECK (kind IN ('emergency', 'plan_submission', 'plan_approval',
                                          'review')),
    due_at  timestamptz NOT NULL,
    met_at  timestamptz,
    PRIMARY KEY (case_id, kind)
);
CREATE INDEX case_deadlines_open ON case_deadlines (due_at) WHERE met_at IS NULL;

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY cases_in_scope ON cases
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));
ALTER TABLE case_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY case_history_in_scope ON case_history
    USING (case_id IN (SELECT id FROM cases));
ALTER TABLE case_deadlines ENABLE ROW LEVEL SECURITY;
CREATE POLICY case_deadlines_in_scope ON case_deadlines
    USING (case_id IN (SELECT id FROM cases));

GRANT SELECT, INSERT, UPDATE ON cases, case_deadlines TO baove_app;
GRANT SELECT, INSERT ON case_history TO baove_app;

-- The deadline's state at `now`: met on time, missed (late or not met and
-- past due), or pending.
CREATE FUNCTION deadline_state(due_at timestamptz, met_at timestamptz, now timestamptz)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN met_at IS NOT NULL AND met_at <= due_at THEN 'met'
                      WHEN met_at IS NOT NULL OR now > due_at THEN 'missed'
                      ELSE 'pending' END $$;

-- The API's representation of a case.  with_confidential: the reporter's
-- identity, only for the roles that may see it.
CREATE FUNCTION case_document(c cases, now timestamptz, with_confidential boolean)
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
        'version', c.version,
        'created_at', rfc3339(c.created_at),
        'updated_at', rfc3339(c.updated_at))
    $$;
GRANT EXECUTE ON FUNCTION deadline_state(timestamptz, timestamptz, timestamptz),
                          case_document(cases, timestamptz, boolean) TO baove_app;
