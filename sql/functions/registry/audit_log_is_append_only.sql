-- Trigger function of audit_log_append_only (0002, BEFORE UPDATE OR DELETE
-- ON audit_log, per statement): the audit log is append-only.  The
-- application role is granted neither UPDATE nor DELETE; this refuses them
-- for every other role too (the owner included), so an entry once written
-- stays.
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
