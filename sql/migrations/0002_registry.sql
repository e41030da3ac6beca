-- 0002: the child registry: children and what is recorded about them
-- (special circumstances, risks, supports, consents), with row-level
-- security by administrative scope, the audit log, the change log that
-- feeds other systems, and stored responses for idempotent retries.

-- unaccent and pg_trgm are trusted extensions (PostgreSQL 13+): the
-- database owner may create them.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Folds a name for search: lower case, Vietnamese diacritics removed
-- ("Nguyễn Văn Ân" → "nguyen van an"; đ → d).  unaccent() is only STABLE
-- because its dictionary could change; naming the dictionary makes this
-- safe to declare IMMUTABLE and to index.
CREATE FUNCTION search_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

-- The caller's scope for row-level security, set transaction-locally by the
-- API (set_config(..., true)) before it touches personal data: the root unit
-- and the date of the tree.  Unset means no rows at all.
CREATE FUNCTION scope_units() RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT s.id FROM unit_subtree(nullif(current_setting('baove.scope_unit', true), '')::bigint,
                                  coalesce(nullif(current_setting('baove.scope_on', true), '')::date,
                                           current_date)) s
    $$;

CREATE TABLE children (
    id                       uuid PRIMARY KEY,
    unit_id                  bigint NOT NULL REFERENCES units (id),
    hamlet                   text CHECK (length(hamlet) <= 200),           -- ấp / khóm
    full_name                text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    search_name              text NOT NULL,
    sex                      text NOT NULL CHECK (sex IN ('male', 'female')),
    date_of_birth            date NOT NULL,
    ethnicity                text CHECK (length(ethnicity) <= 100),
    address                  text CHECK (length(address) <= 500),
    household_head           text CHECK (length(household_head) <= 200),
    guardians                jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(guardians) = 'array'),
    household_poverty_status text NOT NULL DEFAULT 'none'
                             CHECK (household_poverty_status IN ('none', 'near_poor', 'poor')),
    school_status            text CHECK (length(school_status) <= 100),
    notes                    text CHECK (length(notes) <= 4000),
    registered_on            date NOT NULL,
    version                  bigint NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    deleted_at               timestamptz,
    CHECK (date_of_birth <= registered_on)
);
CREATE INDEX children_unit ON children (unit_id, id) WHERE deleted_at IS NULL;
CREATE INDEX children_search ON children USING gin (search_name gin_trgm_ops);
CREATE INDEX children_updated ON children (updated_at, id);

-- Special circumstances (Law on Children Art. 10): history is kept; a child
-- may be in several groups at once.
CREATE TABLE circumstance_subgroups (
    group_key text NOT NULL REFERENCES circumstance_groups (key),
    key       text NOT NULL,
    label_vi  text NOT NULL,
    label_en  text NOT NULL,
    PRIMARY KEY (group_key, key)
);

CREATE TABLE child_circumstances (
    id         uuid PRIMARY KEY,
    child_id   uuid NOT NULL REFERENCES children (id),
    "group"    text NOT NULL REFERENCES circumstance_groups (key),
    subgroup   text,
    since      date NOT NULL,
    until      date,
    note       text CHECK (length(note) <= 4000),
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (until IS NULL OR until >= since),
    FOREIGN KEY ("group", subgroup) REFERENCES circumstance_subgroups (group_key, key)
);
CREATE INDEX child_circumstances_child ON child_circumstances (child_id);

-- Risk of falling into special circumstances: no single legal list, so the
-- categories are data.
CREATE TABLE risk_categories (
    key      text PRIMARY KEY,
    label_vi text NOT NULL,
    label_en text NOT NULL
);

CREATE TABLE child_risks (
    id         uuid PRIMARY KEY,
    child_id   uuid NOT NULL REFERENCES children (id),
    category   text NOT NULL REFERENCES risk_categories (key),
    since      date NOT NULL,
    until      date,
    note       text CHECK (length(note) <= 4000),
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (until IS NULL OR until >= since)
);
CREATE INDEX child_risks_child ON child_risks (child_id);

-- Supports given to a child: the record behind "93 % of CSC supported".
CREATE TABLE support_kinds (
    key      text PRIMARY KEY,
    label_vi text NOT NULL,
    label_en text NOT NULL
);

CREATE TABLE child_supports (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL REFERENCES children (id),
    kind            text NOT NULL REFERENCES support_kinds (key),
    level           text NOT NULL CHECK (level IN ('prevention', 'support', 'intervention')),
    provider_sector text NOT NULL CHECK (provider_sector IN ('labour', 'health', 'education',
                        'justice', 'police', 'union', 'ngo', 'other')),
    provided_on     date NOT NULL,
    value_vnd       bigint CHECK (value_vnd > 0 AND value_vnd <= 1000000000000),
    funded_by_fund  boolean NOT NULL DEFAULT false,
    note            text CHECK (length(note) <= 4000),
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX child_supports_child ON child_supports (child_id, provided_on);

-- Consent to processing (Decree 13/2023 Art. 20): a child aged 7 or more
-- consents alongside the parent or guardian; the legal basis is recorded.
CREATE TABLE child_consents (
    id           uuid PRIMARY KEY,
    child_id     uuid NOT NULL REFERENCES children (id),
    given_by     text NOT NULL CHECK (given_by IN ('child', 'parent', 'guardian')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    scope        text NOT NULL CHECK (length(scope) BETWEEN 1 AND 1000),
    given_on     date NOT NULL,
    withdrawn_on date,
    legal_basis  text NOT NULL CHECK (legal_basis IN ('consent', 'statutory_duty',
                                                      'vital_interest')),
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CHECK (withdrawn_on IS NULL OR withdrawn_on >= given_on)
);
CREATE INDEX child_consents_child ON child_consents (child_id);

-- Row-level security: the second line of defence behind the API's own
-- scope checks.  A child is visible only inside the transaction's scope;
-- what hangs off a child is visible only when the child is.
ALTER TABLE children ENABLE ROW LEVEL SECURITY;
CREATE POLICY children_in_scope ON children
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));

ALTER TABLE child_circumstances ENABLE ROW LEVEL SECURITY;
CREATE POLICY circumstances_in_scope ON child_circumstances
    USING (child_id IN (SELECT id FROM children));
ALTER TABLE child_risks ENABLE ROW LEVEL SECURITY;
CREATE POLICY risks_in_scope ON child_risks
    USING (child_id IN (SELECT id FROM children));
ALTER TABLE child_supports ENABLE ROW LEVEL SECURITY;
CREATE POLICY supports_in_scope ON child_supports
    USING (child_id IN (SELECT id FROM children));
ALTER TABLE child_consents ENABLE ROW LEVEL SECURITY;
CREATE POLICY consents_in_scope ON child_consents
    USING (child_id IN (SELECT id FROM children));

-- The audit log: append-only for the application role (no UPDATE or DELETE
-- is granted, and a trigger refuses them even for other roles).
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_id      uuid,
    actor         text NOT NULL,
    role          text NOT NULL,
    action        text NOT NULL CHECK (action IN ('read', 'list', 'create', 'update',
                                                  'delete', 'denied')),
    resource_type text NOT NULL,
    resource_ids  uuid[] NOT NULL DEFAULT '{}',
    unit_id       bigint REFERENCES units (id),
    request_id    text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('success', 'denied', 'not_found',
                                                   'invalid', 'conflict'))
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_resources ON audit_log USING gin (resource_ids);
CREATE INDEX audit_log_at ON audit_log (at, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The change log behind GET /v1/changes.  Rows are stamped with the writing
-- transaction's id; readers only take transactions older than the oldest
-- one still running (pg_snapshot_xmin), so a transaction that commits late
-- is never skipped.  unit_id is the child's unit after the change and
-- previous_unit_id its unit before, when it moved: a reader who could see
-- the old unit but not the new one gets a scope exit.
CREATE TABLE change_log (
    transaction_id   xid8 NOT NULL DEFAULT pg_current_xact_id(),
    id               bigint GENERATED ALWAYS AS IDENTITY,
    resource_type    text NOT NULL CHECK (resource_type IN ('children', 'circumstances',
                                                            'risks', 'supports')),
    resource_id      uuid NOT NULL,
    child_id         uuid NOT NULL,
    unit_id          bigint NOT NULL REFERENCES units (id),
    previous_unit_id bigint REFERENCES units (id),
    operation        text NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
    version          bigint NOT NULL,
    record           jsonb,
    PRIMARY KEY (transaction_id, id)
);
CREATE INDEX change_log_units ON change_log (unit_id, transaction_id, id);
ALTER TABLE change_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY change_log_in_scope ON change_log
    USING (unit_id IN (SELECT id FROM scope_units())
           OR previous_unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (true);

-- Cursors from before this point were pruned: such readers must resync.
CREATE TABLE change_log_horizon (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through xid8 NOT NULL
);
INSERT INTO change_log_horizon (pruned_through) VALUES ('0');

-- Stored responses of create requests that carried an Idempotency-Key,
-- written in the same transaction as the record they created.
CREATE TABLE idempotency_keys (
    principal_id  uuid NOT NULL REFERENCES principals (id),
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash  text NOT NULL,
    status        integer NOT NULL,
    response_body text NOT NULL,
    location      text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

GRANT SELECT ON circumstance_subgroups, risk_categories, support_kinds TO baove_app;
GRANT SELECT, INSERT, UPDATE ON children, child_circumstances, child_risks, child_supports,
                                child_consents TO baove_app;
GRANT SELECT, INSERT ON audit_log, change_log TO baove_app;
GRANT SELECT ON change_log_horizon TO baove_app;
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO baove_app;
GRANT EXECUTE ON FUNCTION search_fold(text), scope_units() TO baove_app;

-- The API's representation of a child, in one place: GET, lists, write
-- responses and the change feed all use it.  `today` is the caller's "now"
-- in Asia/Ho_Chi_Minh (BAOVE_NOW in tests), for age and active consents.
-- SECURITY INVOKER (the default): row-level security applies inside.
CREATE FUNCTION child_document(child children, today date) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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
    $$;
GRANT EXECUTE ON FUNCTION child_document(children, date) TO baove_app;
