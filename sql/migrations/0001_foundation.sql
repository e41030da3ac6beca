-- 0001: administrative units, principals and credentials, reference data
-- of the plan.  Applied by `baove-admin migrate` as the owner role inside
-- one transaction; the application role (baove_app) gets only the rights
-- it needs, and no DDL.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'baove_app') THEN
        -- Normally created by scripts/pg.sh or the compose init script; a
        -- bare role keeps the grants below valid on any other server.
        CREATE ROLE baove_app NOLOGIN;
    END IF;
END
$$;

-- Instants leave the database as RFC 3339 text in the district's time
-- zone: Asia/Ho_Chi_Minh has been UTC+07:00 without DST since 1975.
CREATE FUNCTION rfc3339(instant timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(instant AT TIME ZONE 'Asia/Ho_Chi_Minh',
                         'YYYY-MM-DD"T"HH24:MI:SS') || '+07:00' $$;

-- Administrative units (GSO codes).  A code alone never identifies a unit:
-- codes are reused after mergers, so a unit is a code with a validity
-- interval [valid_from, valid_to] (valid_to inclusive, NULL = still valid).
CREATE TABLE units (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]{2,5}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('province', 'district', 'city', 'town',
                                               'commune', 'township', 'ward')),
    parent_id   bigint REFERENCES units (id),
    valid_from  date NOT NULL,
    valid_to    date CHECK (valid_to IS NULL OR valid_to >= valid_from),
    UNIQUE (code, valid_from)
);
CREATE INDEX units_parent ON units (parent_id);

-- Mergers and splits: one row per (predecessor, successor) pair, so one
-- unit can split into several and several can merge into one.
CREATE TABLE unit_successions (
    predecessor_id bigint NOT NULL REFERENCES units (id),
    successor_id   bigint NOT NULL REFERENCES units (id),
    effective_on   date NOT NULL,
    note           text,
    PRIMARY KEY (predecessor_id, successor_id)
);

-- The unit and all its descendants in the tree valid on a date.
CREATE FUNCTION unit_subtree(root_id bigint, on_date date) RETURNS TABLE (id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH RECURSIVE tree AS (
        SELECT u.id FROM units u
         WHERE u.id = root_id
           AND u.valid_from <= on_date AND (u.valid_to IS NULL OR u.valid_to >= on_date)
        UNION ALL
        SELECT child.id FROM units child JOIN tree ON child.parent_id = tree.id
         WHERE child.valid_from <= on_date
           AND (child.valid_to IS NULL OR child.valid_to >= on_date)
    )
    SELECT tree.id FROM tree
    $$;

-- Who may call the API: people (kind 'user', with a password) and machine
-- clients (kind 'client', API keys only, e.g. the provincial database).
-- Every principal has a role and a scope: a unit and everything under it.
CREATE TABLE principals (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL CHECK (kind IN ('user', 'client')),
    username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    password_hash text CHECK (password_hash IS NULL OR kind = 'user'),
    role          text NOT NULL CHECK (role IN ('admin', 'district_officer',
                      'commune_officer', 'commune_chair', 'collaborator', 'viewer',
                      'sync_client')),
    unit_id       bigint NOT NULL REFERENCES units (id),
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX principals_username ON principals (lower(username));

-- Bearer credentials.  Only the SHA-256 of a token is stored, so a copy of
-- the database does not hand out working tokens.
CREATE TABLE access_tokens (
    token_hash   text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    principal_id uuid NOT NULL REFERENCES principals (id),
    kind         text NOT NULL CHECK (kind IN ('session', 'api_key')),
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CHECK (kind = 'api_key' OR expires_at IS NOT NULL)
);
CREATE INDEX access_tokens_principal ON access_tokens (principal_id);

-- Failed sign-ins, per subject ("user:<name>" or "address:<ip>"), for
-- throttling across every API process.  Rows older than the window are
-- deleted as new ones arrive.
CREATE TABLE login_failures (
    subject   text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, failed_at);

-- Law on Children 2016, Art. 10: the fourteen groups of children in special
-- circumstances, keyed by their legal letter (no f, j; "đ" after "d").
CREATE TABLE circumstance_groups (
    key      text PRIMARY KEY,
    position smallint NOT NULL UNIQUE,
    label_vi text NOT NULL,
    label_en text NOT NULL
);

-- A year's child protection plan and its targets.  Rates are exact
-- fractions (numerator/denominator) compared with `comparator`.
CREATE TABLE plans (
    year      smallint PRIMARY KEY,
    title     text NOT NULL,
    reference text NOT NULL,
    unit_id   bigint NOT NULL REFERENCES units (id)
);

CREATE TABLE plan_targets (
    year        smallint NOT NULL REFERENCES plans (year),
    code        text NOT NULL,
    comparator  text NOT NULL CHECK (comparator IN ('lt', 'le', 'ge', 'gt')),
    numerator   bigint NOT NULL,
    denominator bigint NOT NULL CHECK (denominator > 0),
    description text NOT NULL,
    PRIMARY KEY (year, code)
);

-- Fund mobilisation targets (chỉ tiêu vận động) per unit and year, in whole đồng.
CREATE TABLE fund_targets (
    year       smallint NOT NULL,
    unit_id    bigint NOT NULL REFERENCES units (id),
    amount_vnd bigint NOT NULL CHECK (amount_vnd >= 0 AND amount_vnd <= 1000000000000),
    PRIMARY KEY (year, unit_id)
);

-- Public holidays, as data per year: working-day deadlines skip them.
CREATE TABLE public_holidays (
    day     date PRIMARY KEY,
    name_vi text NOT NULL,
    name_en text NOT NULL
);

GRANT USAGE ON SCHEMA public TO baove_app;
GRANT SELECT ON schema_migrations TO baove_app;
GRANT SELECT ON units, unit_successions, circumstance_groups, plans, plan_targets,
                fund_targets, public_holidays, principals TO baove_app;
GRANT SELECT, INSERT, UPDATE ON access_tokens TO baove_app;
GRANT SELECT, INSERT, DELETE ON login_failures TO baove_app;
GRANT EXECUTE ON FUNCTION rfc3339(timestamptz), unit_subtree(bigint, date) TO baove_app;
