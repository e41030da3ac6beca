-- 0013: what `baove-admin migrate` loaded from sql/functions/.
--
-- Functions (and trigger functions) live in sql/functions/<domain>/<name>.sql,
-- one object per file, and are (re)loaded by every `migrate` after the
-- pending migrations, in the same transaction (see sql/README.md).  This
-- table records the SHA-256 of each file as last loaded, so that `migrate`
-- can say which files are new or changed since, and notice files removed.
-- Only the owner role reads and writes it: nothing is granted to baove_app.
CREATE TABLE schema_objects (
    path      text PRIMARY KEY CHECK (path ~ '^[A-Za-z0-9_./-]+\.sql$'),  -- under sql/functions/
    checksum  text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    loaded_at timestamptz NOT NULL      -- when this checksum was first loaded
);
