-- 0018: administrative reorganisations as data (sắp xếp đơn vị hành chính).
-- A succession moves a unit's area to a successor on `effective_on`, wholly
-- or in part; for a part, `hamlets` lists the hamlets (ấp, khóm) that go to
-- this successor, and a part without hamlets is known to exist but not yet
-- which hamlets it holds (records there stay put until it is filled in).
ALTER TABLE unit_successions
    ADD COLUMN kind text NOT NULL DEFAULT 'whole' CHECK (kind IN ('whole', 'part')),
    ADD COLUMN hamlets text[] CHECK (hamlets IS NULL OR kind = 'part');

-- Each move of a record to another unit by `baove-admin units apply`: the
-- record's unit history.  A period that ended before `effective_on` counts
-- the record in `from_unit_id` (record_unit_on), so reports about the old
-- tree do not change when records move to the new one.
CREATE TABLE record_unit_moves (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_type text NOT NULL CHECK (resource_type IN ('children', 'cases')),
    record_id     uuid NOT NULL,
    from_unit_id  bigint NOT NULL REFERENCES units (id),
    to_unit_id    bigint NOT NULL REFERENCES units (id),
    effective_on  date NOT NULL,
    moved_at      timestamptz NOT NULL,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),  -- the run that moved it
    UNIQUE (record_id, effective_on)
);

-- A province officer (cán bộ cấp tỉnh) sees the whole province: after
-- 1/7/2025 communes report to the province directly.
ALTER TABLE principals DROP CONSTRAINT principals_role_check;
ALTER TABLE principals ADD CONSTRAINT principals_role_check
    CHECK (role IN ('admin', 'district_officer', 'province_officer', 'commune_officer',
                    'commune_chair', 'collaborator', 'viewer', 'sync_client'));

GRANT SELECT ON record_unit_moves TO baove_app;
