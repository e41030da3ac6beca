-- The version of what a principal's scope is worked out from: the units,
-- their successions, and the functions that walk them (the schema_objects
-- records `baove-admin migrate` keeps of sql/functions).  scope_enter()
-- keeps the units of recent scopes in its session under this version, and
-- a statement that changes any of those three tables raises it, in the
-- same transaction, so a kept scope is never used after the tree it came
-- from has changed (issue 16: working the scope out was the largest part
-- of what a read cost PostgreSQL).
CREATE TABLE scope_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint NOT NULL
);
INSERT INTO scope_version (version) VALUES (1);
GRANT SELECT ON scope_version TO baove_app;

-- The trigger's function is defined in functions/foundation/scope_version_raise.sql,
-- loaded after the migrations in the same transaction; this placeholder
-- only lets the triggers be bound here.
CREATE FUNCTION scope_version_raise() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER units_raise_scope_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION scope_version_raise();
CREATE TRIGGER unit_successions_raise_scope_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit_successions
    FOR EACH STATEMENT EXECUTE FUNCTION scope_version_raise();
CREATE TRIGGER schema_objects_raise_scope_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schema_objects
    FOR EACH STATEMENT EXECUTE FUNCTION scope_version_raise();
